//! Property test of the command line on hostile input (proptest, a bounded
//! number of cases so that it runs in CI): mutated problem files, random
//! `--set` overrides and damaged results files for `plot`. Each case must end
//! in a valid run or a clear error — exit status 0 or 2, an `error:` line,
//! never a panic, an abort (a signal) or a hang (a time limit per case).

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a case may take: the problems are small, so a case that runs
/// longer is stuck.
const LIMIT: Duration = Duration::from_secs(30);

/// Run mfpde with `args`; return (exit code, stderr) or fail the case on a
/// panic, a signal or the time limit.
fn run_case(args: &[String]) -> std::result::Result<(i32, String), TestCaseError> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestCaseError::fail(format!(
                "hang: mfpde {args:?} ran over {LIMIT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let Some(code) = status.code() else {
        return Err(TestCaseError::fail(format!(
            "killed by a signal (abort?): mfpde {args:?}\n{err}"
        )));
    };
    prop_assert!(
        !err.contains("panicked"),
        "panic: mfpde {:?}\n{}",
        args,
        err
    );
    prop_assert!(
        code == 0 || code == 2,
        "exit {} for mfpde {:?}\n{}",
        code,
        args,
        err
    );
    if code == 2 {
        prop_assert!(
            err.contains("error:"),
            "no error line: mfpde {:?}\n{}",
            args,
            err
        );
    }
    Ok((code, err))
}

/// Values a mutation puts in place of another.
fn hostile_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    prop_oneof![
        Just(V::Float(f64::NAN)),
        Just(V::Float(f64::INFINITY)),
        Just(V::Float(1e300)),
        Just(V::Float(-1e300)),
        Just(V::Float(1e-300)),
        Just(V::Float(0.0)),
        Just(V::Float(-1.0)),
        Just(V::Integer(0)),
        Just(V::Integer(-7)),
        Just(V::Integer(1 << 40)),
        Just(V::Integer(3)),
        Just(V::String(String::new())),
        Just(V::String("../../x".into())),
        Just(V::String("x0^x0^x0".into())),
        Just(V::String("-x0^2 + 1e3*x0".into())),
        Just(V::Boolean(true)),
        Just(V::Array(vec![])),
        Just(V::Array(vec![V::Integer(4); 5])),
        Just(V::Array(vec![V::Float(1e300), V::Float(-1e300)])),
        (-1e3f64..1e3).prop_map(V::Float),
        (1i64..300).prop_map(V::Integer),
    ]
}

/// Every key path of a table (`section.key`).
fn paths(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in t {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let toml::Value::Table(sub) = v {
            paths(sub, &p, out);
        }
        out.push(p);
    }
}

fn set_path(t: &mut toml::Table, path: &str, v: Option<toml::Value>) {
    let keys: Vec<&str> = path.split('.').collect();
    let mut cur = t;
    for k in &keys[..keys.len() - 1] {
        match cur.get_mut(*k) {
            Some(toml::Value::Table(sub)) => cur = sub,
            _ => return,
        }
    }
    let last = keys[keys.len() - 1].to_string();
    match v {
        Some(v) => {
            cur.insert(last, v);
        }
        None => {
            cur.remove(&last);
        }
    }
}

/// A grid file shortened (small grid, short run, few neurons), so that a
/// mutation that stays valid runs quickly.
fn shortened(name: &str) -> toml::Table {
    let text = std::fs::read_to_string(root().join("grids").join(name)).unwrap();
    let mut t: toml::Table = text.parse().unwrap();
    let d = t["grid"]["cells"].as_array().unwrap().len();
    set_path(
        &mut t,
        "grid.cells",
        Some(toml::Value::Array(vec![toml::Value::Integer(12); d])),
    );
    set_path(&mut t, "dynamics.t_end", Some(toml::Value::Float(0.05)));
    set_path(&mut t, "dynamics.snapshots", Some(toml::Value::Integer(2)));
    if t.contains_key("particles") {
        set_path(&mut t, "particles.m", Some(toml::Value::Integer(200)));
        set_path(&mut t, "particles.dt", Some(toml::Value::Float(0.01)));
    }
    t
}

const FILES: [&str; 6] = [
    "quickstart.toml",
    "bias3d.toml",
    "frozen_relu.toml",
    "dataset_labels.toml",
    "gibbs.toml",
    "global_min.toml",
];

proptest! {
    #![proptest_config(Config { cases: 40, failure_persistence: None, ..Config::default() })]

    /// A grid file with up to three keys replaced by hostile values or
    /// removed: `mfpde run` on it (check, PDE, particles, comparison,
    /// plots) ends in a result or a clear error.
    #[test]
    fn mutated_problem_files(file in 0..FILES.len(), edits in prop::collection::vec((any::<prop::sample::Index>(), prop::option::of(hostile_value())), 1..4)) {
        let mut t = shortened(FILES[file]);
        for (which, value) in edits {
            let mut all = Vec::new();
            paths(&t, "", &mut all);
            let path = which.get(&all).clone();
            set_path(&mut t, &path, value);
        }
        let dir = tempfile::tempdir().unwrap();
        let problem = dir.path().join("p.toml");
        std::fs::write(&problem, toml::to_string(&t).unwrap_or_default()).unwrap();
        // the data set's file is relative to the problem file
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::copy(root().join("grids/data/parity.csv"), dir.path().join("data/parity.csv")).unwrap();
        let out = dir.path().join("o.h5");
        run_case(&["run".into(), problem.display().to_string(), "-q".into(), "-o".into(), out.display().to_string()])?;
    }

    /// A problem text cut or with bytes put in: a parse error or a run.
    #[test]
    fn damaged_problem_text(file in 0..FILES.len(), at in any::<prop::sample::Index>(), insert in "[ -~\\n]{0,12}", cut in any::<bool>()) {
        let mut text = toml::to_string(&shortened(FILES[file])).unwrap();
        let i = at.index(text.len() + 1);
        let i = (0..=i).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        if cut {
            text.truncate(i);
        } else {
            text.insert_str(i, &insert);
        }
        let dir = tempfile::tempdir().unwrap();
        let problem = dir.path().join("p.toml");
        std::fs::write(&problem, text).unwrap();
        run_case(&["check".into(), problem.display().to_string()])?;
    }

    /// Random `--set` overrides on the quickstart (shortened).
    #[test]
    fn random_overrides(key in "(grid|model|data|target|dynamics|initial|solver|particles|output|name|zz)(\\.[a-z_]{1,12}){0,2}", value in "[ -~\\n\u{e9}\u{3b7}]{0,16}") {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.h5");
        let mut args: Vec<String> = vec!["pde".into(), root().join("grids/quickstart.toml").display().to_string(), "-q".into(), "-o".into(), out.display().to_string()];
        for s in ["grid.cells=[12,12]", "dynamics.t_end=0.05", "dynamics.snapshots=2"] {
            args.extend(["--set".into(), s.into()]);
        }
        args.extend(["--set".into(), format!("{key}={value}")]);
        run_case(&args)?;
    }
}

/// A small results file of each kind, written once.
fn results_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for (cmd, name) in [
        ("run", "quickstart"),
        ("steady", "gibbs"),
        ("particles", "quickstart"),
    ] {
        let out = dir.join(format!("{cmd}.h5"));
        let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args([
                cmd,
                root().join(format!("grids/{name}.toml")).to_str().unwrap(),
                "-q",
                "-o",
            ])
            .arg(&out)
            .args([
                "--set",
                "grid.cells=[12,12]",
                "--set",
                "dynamics.t_end=0.05",
                "--set",
                "dynamics.snapshots=3",
                "--set",
                "particles.m=200",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(std::fs::read(&out).unwrap());
    }
    files
}

#[test]
fn damaged_results_files_for_plot() {
    let dir = tempfile::tempdir().unwrap();
    let files = results_files(dir.path());
    let mut runner = proptest::test_runner::TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..files.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        prop::option::of(any::<prop::sample::Index>()),
    );
    runner
        .run(&strategy, |(which, flips, cut)| {
            let mut bytes = files[which].clone();
            for (at, x) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= x | 1;
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len()));
            }
            let p = dir.path().join("damaged.h5");
            std::fs::write(&p, &bytes).unwrap();
            run_case(&["plot".into(), p.display().to_string()])?;
            Ok(())
        })
        .unwrap();
}
