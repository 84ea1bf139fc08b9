//! Every problem in grids/ is validated and run with a shortened end time.

mod common;
use common::*;
use mfpde::io::hdf5::PdeFile;

#[test]
fn every_grid_file_validates_and_runs_shortened() {
    let dir = tempfile::tempdir().unwrap();
    let files = grid_files();
    for path in &files {
        mfpde_ok([std::ffi::OsStr::new("check"), path.as_os_str()]);
        let out = dir.path().join("out.h5");
        let shorten = [
            "--set",
            "dynamics.t_end=0.1",
            "--set",
            "dynamics.snapshots=2",
        ];
        let mut args = vec![
            "pde".as_ref(),
            path.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        args.extend(shorten.iter().map(std::ffi::OsStr::new));
        mfpde_ok(args);
        let f = PdeFile::read(&out).unwrap();
        assert_eq!(f.status, "complete", "{}", path.display());
        assert_eq!(f.time, vec![0.0, 0.1]);
        assert!(
            f.mass.iter().all(|m| (m - 1.0).abs() < 1e-12),
            "{}: {:?}",
            path.display(),
            f.mass
        );
        assert!(
            f.min_density.iter().all(|&m| m >= -1e-14),
            "{}: {:?}",
            path.display(),
            f.min_density
        );
        assert!(f.risk.iter().all(|r| r.is_finite()));
    }
    assert!(files.len() >= 5, "only {} grid files", files.len());
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn mfpde_run_on_every_grid_file_writes_all_datasets_and_plots() {
    use mfpde::io::plot::{
        ANIMATION_PANEL, CURVES_SIZE, DENSITY_SIZE, MARGINAL_SIZE, OVER_TIME_PANEL,
    };
    let dir = tempfile::tempdir().unwrap();
    for path in grid_files() {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = dir.path().join(format!("{stem}.h5"));
        let shorten = [
            "--set",
            "dynamics.t_end=0.1",
            "--set",
            "dynamics.snapshots=2",
            "--set",
            "particles.m=500",
        ];
        let mut args = vec![
            "run".as_ref(),
            path.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        args.extend(shorten.iter().map(std::ffi::OsStr::new));
        mfpde_ok(args);
        let file = hdf5_pure::File::open(&out).unwrap();
        let d = PdeFile::read(&out).unwrap().edges.len();
        for ds in [
            "pde/density",
            "pde/risk",
            "history/risk",
            "particles/positions",
            "particles/histogram",
            "particles/risk",
            "compare/l1",
            "compare/w1",
            "compare/sw2",
            "compare/risk_gap",
            "compare/f_gap",
            "compare/directions",
        ] {
            let shape = file
                .dataset(ds)
                .unwrap_or_else(|e| panic!("{stem}: {ds}: {e}"))
                .shape()
                .unwrap();
            assert!(shape.iter().all(|&n| n > 0), "{stem}: {ds} is empty");
        }
        let w1 = file.dataset("compare/w1").unwrap();
        assert_eq!(w1.shape().unwrap(), vec![2, d as u64]);
        // a plane needs two axes: a 1-D problem has no density figure
        assert_eq!(
            dir.path().join(format!("{stem}_density.png")).exists(),
            d >= 2,
            "{stem}"
        );
        for (suffix, size) in [
            ("density", DENSITY_SIZE),
            ("marginals", (MARGINAL_SIZE.0 * d as u32, MARGINAL_SIZE.1)),
            ("curves", CURVES_SIZE),
            ("distances", CURVES_SIZE),
            // two snapshots, a row per axis
            (
                "over_time",
                (2 * OVER_TIME_PANEL.0, d as u32 * OVER_TIME_PANEL.1),
            ),
        ] {
            if suffix == "density" && d < 2 {
                continue;
            }
            let png = dir.path().join(format!("{stem}_{suffix}.png"));
            assert!(
                std::fs::metadata(&png)
                    .map(|m| m.len() > 10_000)
                    .unwrap_or(false),
                "{}",
                png.display()
            );
            assert_eq!(png_size(&png), size, "{}", png.display());
        }
        if d < 2 {
            continue;
        }
        // the animation: a frame per snapshot, PDE beside particles, each
        // frame a picture (many colours), no partial file left
        let gif = dir.path().join(format!("{stem}_density.gif"));
        let (w, h, frames) = gif_frames(&gif);
        assert_eq!((w, h), (2 * ANIMATION_PANEL.0, ANIMATION_PANEL.1), "{stem}");
        assert_eq!(frames.len(), 2, "{stem}: frames");
        for f in &frames {
            let colours: std::collections::HashSet<&[u8]> = f.chunks(4).collect();
            assert!(colours.len() > 20, "{stem}: {} colours", colours.len());
        }
        assert!(!dir.path().join(format!("{stem}_density.gif.part")).exists());
    }
}

/// Width, height and the RGBA frames of a GIF.
fn gif_frames(path: &std::path::Path) -> (u32, u32, Vec<Vec<u8>>) {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dec = opts.read_info(file).unwrap();
    let (w, h) = (u32::from(dec.width()), u32::from(dec.height()));
    let mut frames = Vec::new();
    while let Some(f) = dec.read_next_frame().unwrap() {
        frames.push(f.buffer.to_vec());
    }
    (w, h, frames)
}

/// `mfpde` alone runs grids/quickstart.toml, and the README shows the line
/// it starts with: the real problem, sizes and particle settings.
#[test]
fn the_readme_shows_the_quickstart_that_runs() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let first_line = |args: &[&std::ffi::OsStr]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        line.trim_end().to_string()
    };
    let alone = first_line(&[]);
    let file = root().join("grids/quickstart.toml");
    let run = first_line(&["run".as_ref(), file.as_os_str()]);
    assert_eq!(alone, run);
    assert!(
        alone.contains("65536 cells") && alone.contains("m = 100000"),
        "{alone}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains(&alone), "README lacks: {alone}");
}
