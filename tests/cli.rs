//! The command line on bad input: one clear error naming the field, a
//! non-zero exit, and no output file.

mod common;
use common::*;
use std::process::Command;

/// Run `mfpde pde` on the quickstart with overrides (or on `file`); return
/// (exit ok, stderr, whether the output file exists).
fn run_bad(sets: &[&str], file: Option<&std::path::Path>) -> (bool, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let problem = file
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| root().join("grids/quickstart.toml"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfpde"));
    cmd.arg("pde").arg(&problem).arg("-o").arg(&out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    (o.status.success(), stderr, out.exists())
}

#[test]
fn bad_problems_give_one_clear_error_and_no_file() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["grid.lo=[6.0,-6.0]"], "grid.lo", "lo < hi"),
        (&["grid.cells=[3,64]"], "grid.cells", "4 to"),
        (&["dynamics.noise=-0.1"], "dynamics.noise", "η ≥ 0"),
        (
            &["model.activation=\"gelu\""],
            "model.activation",
            "tanh, sigmoid",
        ),
        (&["grid.cells=[64,64,64]"], "grid.cells", "D = 2"),
        (&["model.bias=true"], "grid.lo", "D = 3"),
        (&["initial.mean=[0.0,9.0]"], "initial", "mostly inside"),
        (
            &[
                "data.law=\"dataset\"",
                "data.file=\"no/such.csv\"",
                "target.kind=\"labels\"",
            ],
            "data.file",
            "no/such.csv",
        ),
        (
            &["solver.limiter=\"superbee2\""],
            "solver.limiter",
            "minmod",
        ),
        (
            &["dynamics.snapshots=[0.0, 20.0]"],
            "dynamics.snapshots",
            "t_end",
        ),
        (&["grid.spacing=2"], "spacing", "unknown field"),
        (&["solver.table_tol=0.0"], "solver.table_tol", "(0, 1e-4]"),
        (&["solver.table_tol=0.01"], "solver.table_tol", "(0, 1e-4]"),
        (&["solver.table_tol=nan"], "solver.table_tol", "(0, 1e-4]"),
        (
            &["target.expression=\"2*tanh(x1)\""],
            "target.expression",
            "x0",
        ),
    ];
    for (sets, field, hint) in cases {
        let (ok, stderr, exists) = run_bad(sets, None);
        assert!(!ok, "{sets:?} should fail");
        assert!(
            stderr.contains(field),
            "{sets:?}: error does not name `{field}`: {stderr}"
        );
        assert!(
            stderr.contains(hint),
            "{sets:?}: error does not say `{hint}`: {stderr}"
        );
        // one error: one `error:` line; a problem error is that line alone,
        // a TOML error adds the parser's snippet below it
        let lines: Vec<&str> = stderr.trim().lines().collect();
        assert!(lines[0].starts_with("error:"), "{stderr}");
        assert_eq!(
            lines.iter().filter(|l| l.contains("error")).count(),
            1,
            "{sets:?}: more than one error: {stderr}"
        );
        if stderr.contains("invalid `") {
            assert_eq!(lines.len(), 1, "{sets:?}: {stderr}");
        }
        assert!(!exists, "{sets:?}: an output file was left behind");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_missing_problem_file_is_an_error_naming_it() {
    let (ok, stderr, exists) = run_bad(&[], Some(std::path::Path::new("no-such-problem.toml")));
    assert!(!ok && !exists);
    assert!(stderr.contains("no-such-problem.toml"), "{stderr}");
}

#[test]
fn check_prints_the_derived_sizes() {
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "check",
            root().join("grids/bias3d.toml").to_str().unwrap(),
            "--set",
            "grid.cells=[16,20,24]",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("7680 = [16, 20, 24]"), "{s}");
    assert!(s.contains("24 nodes"), "{s}");
    assert!(s.contains("(a, w1, w2)"), "{s}");
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "check",
            root().join("grids/bias3d.toml").to_str().unwrap(),
            "--set",
            "grid.cells=[2,20,24]",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn a_closed_stdout_does_not_stop_the_run_or_its_file() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("piped.h5");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .arg("pde")
        .arg(root().join("grids/quickstart.toml"))
        .arg("-o")
        .arg(&out)
        .args(["--set", "grid.cells=[32,32]", "--set", "dynamics.t_end=1.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // read the first line, then close the pipe as `mfpde … | head -1` does
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("mfpde quickstart"), "{first}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    let f = mfpde::io::hdf5::PdeFile::read(&out).unwrap();
    assert_eq!(f.status, "complete");
    assert_eq!(f.time.len(), 11);
}

#[test]
fn steady_without_noise_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.h5");
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "steady",
            root().join("grids/global_min.toml").to_str().unwrap(),
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("dynamics.noise") && stderr.contains("η > 0"),
        "{stderr}"
    );
    assert!(!out.exists());
    // and an unknown scheme names its field
    let (ok, stderr, exists) = run_bad(&["solver.scheme=\"implicit\""], None);
    assert!(
        !ok && !exists && stderr.contains("solver.scheme") && stderr.contains("sg"),
        "{stderr}"
    );
}
