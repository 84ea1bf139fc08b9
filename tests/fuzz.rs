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

// ---- the second hostile round (issue 19): inputs ----

/// `mfpde ARGS` through [`run_case`] (exit 0 or 2, never a panic, a signal
/// or a hang), asserting the code, that stderr names `want`, and the time.
fn refused(args: &[&str], want: &[&str], within: Duration) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let clock = Instant::now();
    let (code, err) = run_case(&args).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 2, "{args:?} should be refused:\n{err}");
    for w in want {
        assert!(err.contains(w), "{args:?}: {err} (wants {w:?})");
    }
    assert!(
        clock.elapsed() < within,
        "{args:?} took {:?}",
        clock.elapsed()
    );
}

fn g(name: &str) -> String {
    root()
        .join(format!("grids/{name}.toml"))
        .display()
        .to_string()
}

/// Items 4–6, 11, 13, 16, 17: each hostile value is refused by name, with
/// exit 2, quickly, and nothing marked complete.
#[test]
fn hostile_values_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.h5");
    let out = out.to_str().unwrap();
    let q = g("quickstart");
    let (gibbs, si, t4) = (g("gibbs"), g("single_index"), g("teacher4d"));
    let second = Duration::from_secs(5);
    let small = [
        "--set",
        "grid.cells=[32,32]",
        "--set",
        "dynamics.t_end=1",
        "--set",
        "particles.m=1000",
    ];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // 4: the network's risk overflows
        (
            vec![
                "particles",
                &q,
                "-o",
                out,
                "--set",
                "target.expression=\"1e160*tanh(x0)\"",
            ],
            vec!["not finite", "risk"],
        ),
        // 5: the Gibbs iteration overflows
        (
            vec![
                "steady",
                &gibbs,
                "-o",
                out,
                "--set",
                "grid.cells=[32,32]",
                "--set",
                "target.expression=\"1e160*tanh(x0)\"",
            ],
            vec!["F = inf"],
        ),
        // 6: Euler's step of the weight decay, and a noise wider than the box
        (
            vec![
                "run",
                &q,
                "-o",
                out,
                "--set",
                "model.weight_decay=300",
                "--set",
                "particles.dt=0.01",
            ],
            vec!["particles.dt", "λΔt"],
        ),
        (
            vec!["run", &q, "-o", out, "--set", "dynamics.noise=1e300"],
            vec!["dynamics.noise", "√(η Δt)"],
        ),
        // 13: what check predicts, refused before running
        (
            vec!["pde", &q, "-o", out, "--set", "solver.dt_max=1e-8"],
            vec!["max_steps"],
        ),
        (
            vec!["pde", &q, "-o", out, "--set", "model.weight_decay=1e6"],
            vec!["Δt"],
        ),
        (
            vec!["pde", &q, "-o", out, "--set", "grid.lo=[-1e6,-6]"],
            vec!["grid.cells", "one cell of axis a"],
        ),
        // 16: input that would change silently
        (
            vec!["particles", &q, "-o", out, "--set", "particles.dt=1e300"],
            vec!["particles.dt", "between snapshots"],
        ),
        (
            vec!["pde", &q, "-o", out, "--set", "dynamics.snapshots=[0.3]"],
            vec!["dynamics.snapshots", "t_end itself"],
        ),
        (
            vec!["check", &si, "--set", "symmetry.cosine_nodes=1"],
            vec!["symmetry.cosine_nodes"],
        ),
        // 17: named by their range, not by memory or another key
        (
            vec!["check", &q, "--set", "data.dim=100000"],
            vec!["`data.dim`"],
        ),
        (
            vec!["check", &si, "--set", "symmetry.radial_nodes=1000000"],
            vec!["`symmetry.radial_nodes`"],
        ),
        (
            vec![
                "check",
                &q,
                "--set",
                "particles.batch=10000000000",
                "--set",
                "particles.mode=\"sgd\"",
            ],
            vec!["`particles.batch`", "10000000000"],
        ),
        (
            vec!["check", &q, "--set", "particles.mode=\"sgd\""],
            vec!["`particles.batch` = missing"],
        ),
        (
            vec!["check", &q, "--set", "particles.seed=9223372036854775808"],
            vec!["`particles.seed`", "2^63"],
        ),
        (vec!["pde", &q, "-o", "/proc/x.h5"], vec!["`-o`", "/proc"]),
        (
            vec!["check", &q, "--set", "grid.lo=[-1e300,-6]"],
            vec!["`grid.lo`", "at most"],
        ),
        // 12: budgets and capped reads
        (
            vec!["converge", &q, "-o", out, "--m", "100,10000000000"],
            vec!["`--m`"],
        ),
        (
            // 16384⁴ cells: beyond any machine's memory (16384² is 2 GiB
            // a copy, which a large machine holds)
            vec!["converge", &t4, "-o", out, "--cells", "4,16384"],
            vec!["grid.cells", "GiB"],
        ),
        (vec!["check", "/dev/zero"], vec!["`problem`", "device"]),
        (
            vec![
                "check",
                &q,
                "--set",
                "data.law=\"dataset\"",
                "--set",
                "data.file=\"/dev/zero\"",
                "--set",
                "target.kind=\"labels\"",
            ],
            vec!["`data.file`", "device"],
        ),
    ];
    for (args, want) in cases {
        let mut a = args.clone();
        if a[0] != "check" && !a.contains(&"--cells") {
            a.extend_from_slice(&small);
        }
        refused(&a, &want, second);
        assert!(!Path::new(out).exists(), "{args:?} left a complete file");
    }
    // item 17: the box's mass is not misreported
    let (_, err) = run_case(&[
        "check".into(),
        q.clone(),
        "--set".into(),
        "grid.lo=[-1e300,-6]".into(),
    ])
    .unwrap();
    assert!(!err.contains("0.500 of its mass"), "{err}");
}

/// Item 3: a CSV's first row is data unless it is names only; a BOM is not
/// a header; rows are never dropped in silence. Huge row counts are read
/// under a memory limit (or refused by the budget), never aborted.
#[test]
fn data_files_with_boms_typos_and_many_rows() {
    let dir = tempfile::tempdir().unwrap();
    let problem = |csv: &str| {
        let p = dir.path().join(format!("{csv}.toml"));
        let text = std::fs::read_to_string(root().join("grids/dataset_labels.toml"))
            .unwrap()
            .replace("data/parity.csv", &format!("{csv}.csv"));
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    std::fs::write(
        dir.path().join("bom.csv"),
        "\u{feff}1,0.5\n2,0.25\n3,0.125\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(["check", &problem("bom")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("quadrature    3 nodes"), "{text}");
    std::fs::write(dir.path().join("typo.csv"), "1,O.5\n2,0.25\n3,0.125\n").unwrap();
    refused(
        &["check", &problem("typo")],
        &["`data.file`", "line 1", "\"O.5\""],
        Duration::from_secs(5),
    );
    // 2·10⁶ rows: the budget counts them as nodes; under 2 GiB of address
    // space the run is refused or runs, never aborts
    let mut big = String::from("x0,y\n");
    for i in 0..2_000_000u32 {
        let x = -2.0 + 4.0 * (i as f64) / 2e6;
        big.push_str(&format!("{x:.6},{}\n", if x > 0.0 { 1 } else { 0 }));
    }
    std::fs::write(dir.path().join("big.csv"), big).unwrap();
    let o = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ulimit -v 2097152; exec {} check {} --set grid.cells=[16,16]",
                env!("CARGO_BIN_EXE_mfpde"),
                problem("big")
            ),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
}

/// Item 11: generated expressions up to 10⁵ deep and long are refused by
/// name (or, finite but huge, by the first-step guard) or evaluated, never
/// overflowing the stack.
#[test]
fn deep_and_long_generated_expressions() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let wrap = prop::sample::select(vec![
        ("(", ")"),
        ("-(", ")"),
        ("sin(", ")"),
        ("max(1,", ")"),
        ("2^", ""),
    ]);
    let strategy = (
        wrap,
        1usize..100_000,
        prop::sample::select(vec!["+", "*", "^"]),
        1usize..50_000,
    );
    runner
        .run(&strategy, |((open, close), depth, op, terms)| {
            let deep = format!("{}x0{}", open.repeat(depth), close.repeat(depth));
            let long = vec!["x0"; terms].join(op);
            for text in [deep, long] {
                // too long for one argument: in the problem file
                let mut t: toml::Table = std::fs::read_to_string(g("quickstart"))
                    .unwrap()
                    .parse()
                    .unwrap();
                let mut target = toml::Table::new();
                target.insert("kind".into(), "expression".into());
                target.insert("expression".into(), text.into());
                t.insert("target".into(), toml::Value::Table(target));
                let p = dir.path().join("deep.toml");
                std::fs::write(&p, toml::to_string(&t).unwrap()).unwrap();
                let args: Vec<String> = vec!["check".into(), p.display().to_string()];
                let (code, err) = run_case(&args)?;
                // a finite but huge f* (x0^35 over Gauss–Hermite nodes up
                // to 9.5: 1e34) is refused by the controller's first-step
                // guard, which `check` runs: a clear refusal too
                prop_assert!(
                    code == 0
                        || err.contains("target.expression")
                        || err.contains("it would stop at its first step"),
                    "{err}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// Item 12: a results file declaring a density far larger than its bytes is
/// refused by `plot` before anything is allocated for it.
#[test]
fn results_files_declaring_more_than_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = hdf5_pure::FileBuilder::new();
    fb.set_attr("format", hdf5_pure::AttrValue::String("mfpde-2".into()));
    fb.set_attr("status", hdf5_pure::AttrValue::String("complete".into()));
    let edges: Vec<f64> = (0..1_001).map(f64::from).collect();
    let mut grid = fb.create_group("grid");
    grid.create_dataset("edges_0").with_f64_data(&edges);
    grid.create_dataset("edges_1").with_f64_data(&edges);
    fb.add_group(grid.finish());
    let mut pde = fb.create_group("pde");
    pde.create_dataset("time")
        .with_f64_data(&[0.0, 1.0, 2.0, 3.0, 4.0]);
    // 40 MB of zeros, deflated to a few kB: a shape far beyond the bytes
    // (mfpde never compresses: a reader that trusted the shape would
    // allocate what it declares; at (5, 10⁴, 10⁴), 4 GB)
    pde.create_dataset("density")
        .with_f64_data(&vec![0.0; 5 * 1000 * 1000])
        .with_shape(&[5, 1000, 1000])
        .with_chunks(&[1, 1000, 1000])
        .with_deflate(9);
    fb.add_group(pde.finish());
    let bytes = fb.finish().unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.len() < 1_000_000, "{} bytes", bytes.len());
    let p = dir.path().join("crafted.h5");
    std::fs::write(&p, bytes).unwrap();
    refused(
        &["plot", p.to_str().unwrap()],
        &["crafted.h5", "declares"],
        Duration::from_secs(5),
    );
}
