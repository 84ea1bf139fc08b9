//! Every problem in grids/ is validated and run with a shortened end time.

mod common;
use common::*;
use mfpde::io::hdf5::PdeFile;
use mfpde::problem::{LoadedProblem, QUICKSTART_TOML};
use std::process::Command;

#[test]
fn every_grid_file_validates_and_runs_shortened() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("grids")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        seen += 1;
        let check = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&check.stderr)
        );
        let out = dir.path().join("out.h5");
        let run = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .arg("pde")
            .arg(&path)
            .arg("-o")
            .arg(&out)
            .args([
                "--set",
                "dynamics.t_end=0.1",
                "--set",
                "dynamics.snapshots=2",
            ])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&run.stderr)
        );
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
    assert!(seen >= 5, "only {seen} grid files");
}

#[test]
fn the_built_in_quickstart_is_grids_quickstart() {
    let file = std::fs::read_to_string(root().join("grids/quickstart.toml")).unwrap();
    assert_eq!(file, QUICKSTART_TOML);
    let s = LoadedProblem::quickstart(&[]).unwrap();
    let p = &s.problem;
    assert_eq!(p.model.activation, "tanh");
    assert!(!p.model.bias && p.model.train_a);
    assert_eq!(p.data.nodes, Some(48));
    assert_eq!(p.dynamics.noise, 0.02);
    assert_eq!(p.grid.cells, vec![256, 256]);
    assert_eq!(p.initial.std, Some(vec![0.5, 1.0]));
}
