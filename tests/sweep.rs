//! Studies (issue 23, run on this machine): `mfpde sweep` gives the same
//! collected file whatever `--jobs`, each measure equals its point's own
//! file, a killed sweep rerun runs only what is missing and equals the
//! uninterrupted one, and a failing point is recorded while the others
//! complete.

mod common;
use common::*;
use mfpde::io::hdf5::read::Reader;
use std::path::{Path, PathBuf};
use std::process::Command;

const SMALL: &str = "grids/studies/small.toml";

/// The variables of the collected file's `/study`, in order.
const VARS: [&str; 13] = [
    "noise",
    "seed",
    "risk",
    "particle_risk",
    "free_energy",
    "time_below_0.8",
    "w1_a",
    "w1_w1",
    "risk_gap",
    "time",
    "risk_over_time",
    "l1_over_time",
    "failed",
];

fn sweep(study: &Path, out: &Path, jobs: usize) -> std::process::Output {
    sweep_ok(study, out, jobs)
}

/// `mfpde sweep STUDY --collect -o OUT`, then OUT is `whole` to the bit.
fn collect_same(study: &Path, out: &Path, whole: &Path) {
    mfpde_ok([
        "sweep".as_ref(),
        study.as_os_str(),
        "--collect".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_same(whole, out);
}

/// `/study/<name>`'s numbers.
fn read(file: &Path, name: &str) -> Vec<f64> {
    study_series(file, name)
}

/// Every numeric variable of two collected files, to the bit.
fn assert_same(a: &Path, b: &Path) {
    for name in VARS {
        let (x, y) = (read(a, name), read(b, name));
        assert!(!x.is_empty(), "{name} is stored");
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&x),
            bits(&y),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// Each point's measure equals its own file, at its place in the
/// collected arrays: [noise 3, unit 2, seed 2], row-major.
#[test]
fn jobs_agree_to_the_bit_and_each_measure_is_its_points() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.h5"), dir.path().join("two.h5"));
    sweep(&root().join(SMALL), &one, 1);
    sweep(&root().join(SMALL), &two, 2);
    assert_same(&one, &two);
    assert_eq!(read(&one, "noise"), [0.0, 0.01, 0.05]);
    assert_eq!(read(&one, "seed"), [0.0, 1.0]);
    let risk = read(&one, "risk");
    let prisk = read(&one, "particle_risk");
    let w1a = read(&one, "w1_w1");
    let curve = read(&one, "risk_over_time");
    let below = read(&one, "time_below_0.8");
    assert_eq!(risk.len(), 12);
    assert!(read(&one, "failed").iter().all(|f| *f == 0.0));
    let points = dir.path().join("one.points");
    for i in 0..12 {
        let r = Reader::open(&points.join(format!("p{i:05}.h5"))).unwrap();
        let pde = r.series("pde/risk").unwrap();
        let time = r.series("pde/time").unwrap();
        assert_eq!(risk[i], pde[pde.len() - 1], "point {i}");
        assert_eq!(&curve[3 * i..3 * i + 3], &pde[..], "point {i}");
        let net = r.series("particles/risk").unwrap();
        assert_eq!(prisk[i], net[net.len() - 1], "point {i}");
        let w1 = r.series("compare/w1").unwrap();
        assert_eq!(
            w1a[i],
            w1[w1.len() - 1],
            "point {i}: the w1 marginal's, last row"
        );
        // the first crossing of 0.8, linear between the rows of the
        // snapshots and of the light history, merged in time order
        let mut rows: Vec<(f64, f64)> = time.iter().copied().zip(pde.iter().copied()).collect();
        let (ht, hr) = (
            r.series("history/time").unwrap(),
            r.series("history/risk").unwrap(),
        );
        assert!(ht.len() > time.len(), "point {i}: the history is finer");
        rows.extend(ht.into_iter().zip(hr));
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.dedup_by(|later, earlier| later.0 == earlier.0);
        let k = rows.iter().position(|x| x.1 <= 0.8);
        match k {
            None => assert!(below[i].is_nan()),
            Some(0) => assert_eq!(below[i], rows[0].0),
            Some(k) => {
                let ((t0, r0), (t1, r1)) = (rows[k - 1], rows[k]);
                let f = (r0 - 0.8) / (r0 - r1);
                assert_eq!(below[i], t0 + f * (t1 - t0));
            }
        }
        // the point's problem is the base with its overrides
        let problem = r.root_attr("problem").unwrap();
        let noise = [0.0, 0.01, 0.05][i / 4];
        let unit = ["tanh", "erf"][(i / 2) % 2];
        assert!(
            problem.contains(&format!("noise = {noise}")),
            "{i}: {problem}"
        );
        assert!(problem.contains(&format!("activation = \"{unit}\"")), "{i}");
        assert!(problem.contains(&format!("seed = {}", i % 2)), "{i}");
    }
    // [[fits]]: the risk's slope in the noise for each unit, of the seed
    // means, least squares with its standard error
    let (slope, se) = (
        read(&one, "fit_risk_noise"),
        read(&one, "fit_risk_noise_se"),
    );
    assert_eq!((slope.len(), se.len()), (2, 2));
    for u in 0..2 {
        let mean: Vec<f64> = (0..3)
            .map(|n| (risk[4 * n + 2 * u] + risk[4 * n + 2 * u + 1]) / 2.0)
            .collect();
        let fit = mfpde::fit::fit_line(&[0.0, 0.01, 0.05], &mean);
        assert_eq!((slope[u], se[u]), (fit.slope, fit.stderr), "unit {u}");
    }
    // `mfpde plot`: a figure per measure, against noise, a line per unit
    let plot = mfpde_ok(["plot".as_ref(), one.as_os_str()]);
    let text = String::from_utf8_lossy(&plot.stdout);
    for m in [
        "risk",
        "particle_risk",
        "free_energy",
        "time_below_0.8",
        "w1_a",
        "w1_w1",
        "risk_gap",
    ] {
        let png = dir.path().join(format!("one_{m}.png"));
        assert!(text.contains(&png.display().to_string()), "{m}: {text}");
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{m}"
        );
    }
    // xarray: the axes as labelled coordinates, a measure selected by them
    if let Some(py) = python_with(&["xarray", "h5netcdf"]) {
        let script = format!(
            r#"
import h5py, xarray as xr
ds = xr.open_datatree("{one}", engine="h5netcdf")["study"].to_dataset()
assert ds.risk.dims == ("noise", "unit", "seed"), ds.risk.dims
assert list(ds.unit.values) == ["tanh", "erf"], ds.unit.values
assert list(ds.noise.values) == [0.0, 0.01, 0.05]
assert ds.risk_over_time.dims == ("noise", "unit", "seed", "time")
with h5py.File("{points}/p00007.h5") as f:
    own = f["pde/risk"][-1]
assert float(ds.risk.sel(noise=0.01, unit="erf", seed=1)) == own
print("labels ok")
"#,
            one = one.display(),
            points = points.display()
        );
        let out = Command::new(py).args(["-c", &script]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A Python with these modules (MFPDE_PYTHON, else python3), or None;
/// MFPDE_REQUIRE_XARRAY=1 makes its absence a failure.
fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let py = PathBuf::from(std::env::var("MFPDE_PYTHON").unwrap_or_else(|_| "python3".into()));
    let ok = Command::new(&py)
        .args(["-c", &format!("import {}", modules.join(", "))])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("MFPDE_REQUIRE_XARRAY").is_ok_and(|v| v == "1") {
        panic!(
            "MFPDE_REQUIRE_XARRAY=1 but {} cannot import {modules:?}",
            py.display()
        );
    }
    ok.then_some(py)
}

/// A sweep killed (SIGKILL) after some points, rerun: the points complete
/// before the kill are kept (the same inode, untouched), the rest run (an
/// interrupted one resumed), and the collected file equals an
/// uninterrupted sweep's.
#[test]
fn a_killed_sweep_rerun_runs_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.h5");
    sweep(&root().join(SMALL), &whole, 1);
    let out = dir.path().join("cut.h5");
    let points = dir.path().join("cut.points");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(["sweep", root().join(SMALL).to_str().unwrap(), "-q", "-o"])
        .arg(&out)
        .spawn()
        .unwrap();
    let complete = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        v.retain(|f| {
            let name = f.file_name().unwrap().to_str().unwrap();
            name.len() == "p00000.h5".len() && name.ends_with(".h5")
        });
        v.sort();
        v
    };
    let start = std::time::Instant::now();
    while complete(&points).len() < 4 {
        assert!(start.elapsed().as_secs() < 120, "no 4 points within 120 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed sweep leaves no collected file");
    let before = complete(&points);
    assert!(before.len() < 12, "killed before the end");
    use std::os::unix::fs::MetadataExt;
    let ids: Vec<(u64, i64)> = before
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).unwrap();
            (m.ino(), m.mtime_nsec())
        })
        .collect();
    let rerun = mfpde_ok([
        "sweep".as_ref(),
        root().join(SMALL).as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&rerun.stdout);
    let kept = text
        .lines()
        .filter(|l| l.contains("kept (complete)"))
        .count();
    assert_eq!(kept, before.len(), "{text}");
    for (f, id) in before.iter().zip(&ids) {
        let m = std::fs::metadata(f).unwrap();
        assert_eq!((m.ino(), m.mtime_nsec()), *id, "{} untouched", f.display());
    }
    assert_same(&whole, &out);
}

/// A point whose run a guard stops (a target of scale 1e160: the
/// network's risk overflows at its first step) is recorded — `failed` = 1,
/// NaN measures, its error in `/study@errors`, its snapshots in
/// `pNNNNN.failed.h5` — and the other point completes; the sweep exits 0
/// with a warning. A text axis is labelled by its values.
#[test]
fn a_failing_point_is_recorded_and_the_others_complete() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("fail.toml");
    std::fs::write(
        &study,
        format!(
            r#"base = "{}"
command = "particles"
measures = ["risk"]
[set]
"target.kind" = "expression"
"dynamics.t_end" = 0.2
"dynamics.snapshots" = 2
"particles.m" = 500
[[axes]]
key = "target.expression"
values = ["tanh(x0)", "1e160*tanh(x0)"]
"#,
            root().join("grids/quickstart.toml").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("fail.h5");
    let o = mfpde_ok([
        "sweep".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 of 2 points failed"), "{err}");
    assert_eq!(read(&out, "failed"), [0.0, 1.0]);
    let risk = read(&out, "risk");
    assert!(risk[0].is_finite() && risk[1].is_nan(), "{risk:?}");
    let errors = Reader::open(&out)
        .unwrap()
        .group_attr("study", "errors")
        .unwrap();
    assert!(
        errors.starts_with("p00001 (expression = 1e160*tanh(x0))"),
        "{errors}"
    );
    assert!(errors.contains("not finite"), "{errors}");
    assert!(dir.path().join("fail.points/p00001.failed.h5").exists());
    if let Some(py) = python_with(&["xarray", "h5netcdf"]) {
        let script = format!(
            r#"
import xarray as xr
ds = xr.open_datatree("{}", engine="h5netcdf")["study"].to_dataset()
assert list(ds.expression.values) == ["tanh(x0)", "1e160*tanh(x0)"], ds.expression.values
assert int(ds.failed.sel(expression="1e160*tanh(x0)")) == 1
"#,
            out.display()
        );
        let o = Command::new(py).args(["-c", &script]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Dealt to tasks (a Slurm array's way): `--collect` before every task has
/// run names what is missing; after, it equals the local sweep to the bit.
/// `--slurm` writes an sbatch array script whose tasks, run as Slurm runs
/// them (bash, with SLURM_ARRAY_TASK_ID set), give the same file again.
#[test]
fn tasks_and_the_slurm_script_give_the_local_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let study = root().join(SMALL);
    let whole = dir.path().join("whole.h5");
    sweep(&study, &whole, 2);
    let out = dir.path().join("tasks.h5");
    let task = |i: usize| {
        mfpde_ok([
            "sweep".as_ref(),
            study.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            "--task".as_ref(),
            i.to_string().as_ref(),
            "--tasks".as_ref(),
            "3".as_ref(),
        ])
    };
    task(0);
    task(2);
    let early = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(["sweep", study.to_str().unwrap(), "--collect", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&early.stderr);
    assert!(
        !early.status.success() && err.contains("4 of 12 points are not finished"),
        "{err}"
    );
    assert!(err.contains("p00001") && !out.exists(), "{err}");
    task(1);
    collect_same(&study, &out, &whole);

    let out = dir.path().join("slurm.h5");
    mfpde_ok([
        "sweep".as_ref(),
        study.as_os_str(),
        "--slurm".as_ref(),
        "--tasks".as_ref(),
        "4".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let script = std::fs::read_to_string(dir.path().join("slurm.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-3",
        "#SBATCH --cpus-per-task=1",
        "--tasks 4",
    ] {
        assert!(script.contains(line), "{line}: {script}");
    }
    let mem: u64 = script
        .lines()
        .find_map(|l| {
            l.strip_prefix("#SBATCH --mem=")?
                .strip_suffix('M')?
                .parse()
                .ok()
        })
        .expect("a --mem line");
    assert!((100..100_000).contains(&mem), "{mem} MB for a 32² point");
    for i in 0..4 {
        let o = Command::new("bash")
            .arg(dir.path().join("slurm.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "task {i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    collect_same(&study, &out, &whole);
}

/// Under a real Slurm cluster (started by `.ci/run`; ignored by plain
/// `cargo test`): the `--slurm` script submitted with `sbatch --wait` as
/// a 4-task array, then `--collect`, equals the local sweep to the bit.
#[test]
#[ignore]
fn a_slurm_job_array_gives_the_local_sweep() {
    let ok = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no Slurm cluster answers sinfo (.ci/run starts one: .ci/slurm.sh)"
    );
    // Slurm's tasks write into the folder, so not under a private /tmp
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let study = root().join(SMALL);
    let whole = dir.path().join("whole.h5");
    sweep(&study, &whole, 2);
    let out = dir.path().join("slurm.h5");
    mfpde_ok([
        "sweep".as_ref(),
        study.as_os_str(),
        "--slurm".as_ref(),
        "--tasks".as_ref(),
        "4".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let o = Command::new("sbatch")
        .args(["--wait", "--parsable"])
        .arg(dir.path().join("slurm.sbatch"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sbatch: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let logs: Vec<String> = (0..4)
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("slurm.points/task-{i}.log")))
                .unwrap_or_default()
        })
        .collect();
    for (i, log) in logs.iter().enumerate() {
        assert!(
            log.contains(&format!("task {i}: 3 points, 0 failed")),
            "task {i}'s log: {log}"
        );
    }
    collect_same(&study, &out, &whole);
}

/// Under `mpirun -n 3` (the binary built with `--features mpi`, named by
/// MFPDE_MPI_BIN; `.ci/run` builds it and runs this ignored test): the
/// points dealt to the ranks, gathered by rank 0, equal the local sweep to
/// the bit.
#[test]
#[ignore]
fn mpirun_gives_the_local_sweep() {
    let bin =
        std::env::var("MFPDE_MPI_BIN").expect("MFPDE_MPI_BIN: mfpde built with --features mpi");
    let dir = tempfile::tempdir().unwrap();
    let study = root().join(SMALL);
    let whole = dir.path().join("whole.h5");
    sweep(&study, &whole, 2);
    let out = dir.path().join("mpi.h5");
    let o = Command::new("mpirun")
        .args(["--oversubscribe", "-n", "3", &bin, "sweep"])
        .arg(&study)
        .arg("-o")
        .arg(&out)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("12 points over 3 ranks, 0 failed"), "{text}");
    assert_same(&whole, &out);
}
