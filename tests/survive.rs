//! Runs that survive: no result lost (a killed or failed rerun, two runs on
//! one path), no silent NaN or endless run (guards), budgets refused before
//! anything is allocated, resumed runs identical to uninterrupted ones, and
//! `mfpde plot` on hostile files.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mfpde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mfpde"))
}

fn grid(name: &str) -> PathBuf {
    root().join("grids").join(format!("{name}.toml"))
}

fn status(path: &Path) -> String {
    let f = hdf5_pure::File::open(path).unwrap();
    let attrs = f.root().attrs().unwrap();
    let status = attrs.get("status");
    match status.and_then(|a| a.as_str()) {
        // a complete file's variable-length string, read back with its NUL
        Some(s) => s.trim_end_matches('\0').to_string(),
        None => format!("{status:?}"),
    }
}

const SLOW: [&str; 6] = [
    "--set",
    "grid.cells=[128,128]",
    "--set",
    "dynamics.snapshots=21",
    "--set",
    "dynamics.t_end=4.0",
];

#[test]
fn a_complete_file_survives_a_killed_and_a_failed_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.h5");
    let run = |extra: &[&str]| {
        let mut c = mfpde();
        c.arg("pde")
            .arg(grid("quickstart"))
            .arg("-o")
            .arg(&out)
            .args(SLOW)
            .args(extra);
        c
    };
    assert!(run(&["-q"]).status().unwrap().success());
    let before = datasets(&out);
    // a rerun killed at its 5th snapshot: the target is untouched, the
    // partial run is kept under a name that says so, and reported
    stop_after(run(&[]), 5, libc::SIGKILL);
    assert_eq!(datasets(&out), before);
    let running = dir.path().join("q.running.h5");
    assert_eq!(status(&running), "running");
    let o = run(&["-q"]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("q.running.h5") && err.contains("--resume"),
        "{err}"
    );
    std::fs::remove_file(&running).unwrap();
    // a rerun that fails (Δt collapses): the target is untouched, what the
    // run wrote is kept as q.failed.h5, marked failed, and the error names
    // the user's path
    let o = run(&["-q", "--set", "model.weight_decay=1e300"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Δt") && err.contains("q.failed.h5") && !err.contains("running"),
        "{err}"
    );
    assert_eq!(datasets(&out), before);
    assert_eq!(status(&dir.path().join("q.failed.h5")), "failed");
    assert_eq!(status(&out), "complete");
    assert!(!dir.path().join("q.h5.lock").exists());
}

#[test]
fn a_second_run_on_the_same_path_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.h5");
    let mut first = mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .arg("-o")
        .arg(&out)
        .args(SLOW)
        .arg("-q")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // wait for the first run to hold its lock
    let lock = dir.path().join("w.h5.lock");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let clock = Instant::now();
    let o = mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .arg("-o")
        .arg(&out)
        .args(SLOW)
        .output()
        .unwrap();
    assert!(clock.elapsed() < Duration::from_secs(5));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another mfpde run"), "{err}");
    assert!(first.wait().unwrap().success());
    assert_eq!(status(&out), "complete");
    let f = mfpde::io::hdf5::PdeFile::read(&out).unwrap();
    assert_eq!(f.time.len(), 21);
}

#[test]
fn a_nan_stops_the_run_with_a_readable_failed_file() {
    use mfpde::diagnostics::{Diagnostics, PdeRecord};
    use mfpde::io::hdf5::Hdf5Store;
    use mfpde::io::store::{Record, Store};
    use mfpde::io::target::Target;
    use mfpde::solve::{solve_from, Observer, RunState};
    // a NaN in the density (as a data set or a scale could make it)
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.h5");
    let s = grid_setup(
        "quickstart",
        &[
            "grid.cells=[32,32]",
            "dynamics.t_end=0.5",
            "dynamics.snapshots=3",
        ],
    );
    // the PDE's snapshots written to the store as the driver does
    struct Writer(Hdf5Store);
    impl Observer for Writer {
        fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> mfpde::Result<()> {
            let r = PdeRecord { diag: d, rho };
            self.0.append(r.group(), &r.vars(), None)
        }
    }
    let target = Target::claim(&out).unwrap();
    let file = target.running().to_path_buf();
    let mut store = Hdf5Store::create(&file, &mfpde::run::header(&s)).unwrap();
    store.add_group("pde", &[], &[]).unwrap();
    let mut writer = Writer(store);
    let mut rho = s.rho0();
    rho[100] = f64::NAN;
    let mut stepper = mfpde::solve::make_stepper(&s);
    let err = solve_from(&s, &mut stepper, RunState::start(rho), &mut [&mut writer]).unwrap_err();
    let err = target.abandon(err).to_string();
    assert!(
        err.contains("NaN") && err.contains("step 0") && err.contains("n.failed.h5"),
        "{err}"
    );
    let failed = dir.path().join("n.failed.h5");
    assert_eq!(status(&failed), "failed");
    assert!(!out.exists() && !file.exists());
    let f = mfpde::io::hdf5::Reader::open(&failed).unwrap();
    assert!(f.root_attr("failure").unwrap().contains("NaN"));
    // refused before its first snapshot: the density is checked at the start
    assert!(f.series("pde/time").unwrap().is_empty());
    // and the particles: a step far too long for the OU velocity (λΔt = 50)
    // is refused up front, naming the step; nothing is written
    let o = mfpde()
        .arg("particles")
        .arg(grid("ou_exact"))
        .arg("-o")
        .arg(dir.path().join("p.h5"))
        .args([
            "--set",
            "particles.dt=50",
            "--set",
            "dynamics.t_end=20000",
            "--set",
            "particles.m=100",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("particles.dt") && err.contains("λΔt"), "{err}");
    assert!(!dir.path().join("p.h5").exists() && !dir.path().join("p.failed.h5").exists());
    // a target whose scale overflows the network's risk: stopped at its
    // first snapshot, the failed file kept (it stored risk inf, then NaN,
    // marked complete, before)
    let o = mfpde()
        .arg("particles")
        .arg(grid("quickstart"))
        .arg("-o")
        .arg(dir.path().join("p.h5"))
        .args(["--set", "target.expression=\"1e160*tanh(x0)\""])
        .args(["--set", "particles.m=1000", "--set", "dynamics.t_end=1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not finite") && err.contains("risk"), "{err}");
    assert_eq!(status(&dir.path().join("p.failed.h5")), "failed");
}

#[test]
fn an_oversize_grid_is_refused_in_under_a_second_without_allocating() {
    // under a 1 GiB address-space limit: a 400⁴ grid (2.6e10 cells) that
    // allocated anything of its size would abort, not answer by name
    let clock = Instant::now();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1048576; exec {} check {} --set grid.cells=[400,400,400,400]",
            env!("CARGO_BIN_EXE_mfpde"),
            grid("teacher4d").display()
        ))
        .output()
        .unwrap();
    assert!(
        clock.elapsed() < Duration::from_secs(1),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("grid.cells") && err.contains("GiB"), "{err}");
}

/// Run `command` on `problem` twice into a temporary folder: once whole,
/// once killed at snapshot `k` and resumed; every dataset must agree to
/// the bit.
fn resumed_equals_uninterrupted(command: &str, problem: &str, sets: &[&str], k: usize) {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &Path, extra: &[&str]| {
        let mut c = mfpde();
        c.arg(command).arg(grid(problem)).arg("-o").arg(out);
        for s in sets {
            c.args(["--set", s]);
        }
        c.args(extra);
        c
    };
    let (whole, part) = (dir.path().join("whole.h5"), dir.path().join("part.h5"));
    assert!(run(&whole, &["-q"]).status().unwrap().success());
    stop_after(run(&part, &[]), k, libc::SIGKILL);
    let o = run(&part, &["--resume", part.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("after snapshot {k} ")));
    let (a, b) = (datasets(&whole), datasets(&part));
    assert_eq!(
        a.len(),
        b.len(),
        "{command}: datasets {:?} vs {:?}",
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            va == vb,
            "{command}: {na} differs after resuming at snapshot {k}"
        );
    }
}

/// A snapshot index in 1..n from the clock (a different one each run).
fn some_snapshot(n: usize) -> usize {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    1 + ns % (n - 1)
}

#[test]
fn a_resumed_pde_run_is_identical_to_an_uninterrupted_one() {
    let k = some_snapshot(20);
    eprintln!("killed at snapshot {k}");
    resumed_equals_uninterrupted(
        "pde",
        "gibbs",
        &[
            "grid.cells=[96,96]",
            "dynamics.snapshots=21",
            "dynamics.t_end=6.0",
            "solver.scheme=\"split\"",
        ],
        k,
    );
}

#[test]
fn a_resumed_particle_run_is_identical_to_an_uninterrupted_one() {
    // sgd (a batch stream) with fewer positions stored than neurons (the
    // θ checkpoints)
    let k = some_snapshot(20);
    eprintln!("killed at snapshot {k}");
    resumed_equals_uninterrupted(
        "particles",
        "quickstart",
        &[
            "dynamics.snapshots=21",
            "dynamics.t_end=2.0",
            "particles.m=30000",
            "particles.store=100",
            "particles.mode=\"sgd\"",
            "particles.batch=64",
        ],
        k,
    );
}

#[test]
fn a_resumed_side_by_side_run_is_identical_to_an_uninterrupted_one() {
    let k = some_snapshot(10);
    eprintln!("killed at snapshot {k}");
    resumed_equals_uninterrupted(
        "run",
        "quickstart",
        &[
            "grid.cells=[64,64]",
            "dynamics.snapshots=11",
            "dynamics.t_end=1.0",
            "particles.m=20000",
        ],
        k,
    );
}

#[test]
fn a_resumed_run_of_the_d_dimensional_network_is_identical_to_an_uninterrupted_one() {
    // MMN's problem: neurons in R^40 (their state (a, w) in the checkpoint,
    // not the stored r = |w|), sgd's batch stream, and noise (its streams
    // at the resumed step count)
    let k = some_snapshot(10);
    eprintln!("killed at snapshot {k}");
    resumed_equals_uninterrupted(
        "run",
        "mmn_isotropic",
        &[
            "dynamics.snapshots=11",
            "dynamics.t_end=1.0",
            "dynamics.noise=0.01",
            "particles.m=500",
            "particles.batch=200",
        ],
        k,
    );
}

#[test]
fn resuming_another_problem_is_refused_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.h5");
    let base = |c: &mut Command| {
        c.arg("pde")
            .arg(grid("quickstart"))
            .arg("-o")
            .arg(&out)
            .args(SLOW);
    };
    let mut c = mfpde();
    base(&mut c);
    stop_after(c, 3, libc::SIGKILL);
    let mut c = mfpde();
    base(&mut c);
    let o = c
        .args(["--set", "dynamics.noise=0.05", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("dynamics.noise") && err.contains("0.02") && err.contains("0.05"),
        "{err}"
    );
    assert_eq!(status(&dir.path().join("r.running.h5")), "running");
}

#[test]
fn groups_one_snapshot_apart_are_cut_back_and_resumed_exactly() {
    // n = 1: /pde has its first snapshot, no other group any: nothing to
    // continue from, the run starts again (found killing sweeps)
    for n in [1, 4] {
        die_after_pde_snapshot_and_resume(n);
    }
}

fn die_after_pde_snapshot_and_resume(n: usize) {
    use mfpde::io::hdf5::Hdf5Store;
    use mfpde::run::{self, Command, Options, Silent};
    let sets = [
        "grid.cells=[48,48]",
        "dynamics.snapshots=8",
        "dynamics.t_end=0.7",
        "particles.m=5000",
    ];
    let s = grid_setup("quickstart", &sets);
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("cut.running.h5");
    // a run that dies after /pde committed its 4th snapshot and before the
    // particles and the distances did
    let mut store = die_after(
        Hdf5Store::create(&part, &run::header(&s)).unwrap(),
        "pde",
        n,
    );
    let opts = Options {
        command: Command::Run,
        theorems: false,
        plots: false,
    };
    let err = run::run_into(&s, opts, &mut store, &mut Silent);
    assert!(err.is_err());
    let r = mfpde::io::hdf5::Reader::open(&part).unwrap();
    assert_eq!(r.series("pde/time").unwrap().len(), n);
    assert_eq!(r.series("compare/time").unwrap().len(), n - 1);
    drop(r);
    // resume through the command line, and compare with a whole run
    let target = dir.path().join("cut.h5");
    let mut args: Vec<String> = vec![
        "run".into(),
        grid("quickstart").display().to_string(),
        "-q".into(),
    ];
    for x in sets {
        args.extend(["--set".into(), x.into()]);
    }
    let o = mfpde()
        .args(&args)
        .arg("--resume")
        .arg(&target)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    assert_eq!(said.contains("started again"), n == 1, "{said}");
    let whole = dir.path().join("whole.h5");
    assert!(mfpde()
        .args(&args)
        .arg("-o")
        .arg(&whole)
        .status()
        .unwrap()
        .success());
    assert_eq!(datasets(&target), datasets(&whole));
}

/// A run killed after its running file was complete and before its move
/// into place (found killing sweeps): `--resume` moves it into place, the
/// same bytes, and says so; it is not refused, nor run again.
#[test]
fn a_finished_run_killed_before_its_move_is_moved_by_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("done.h5");
    let args = [
        "--set",
        "grid.cells=[32,32]",
        "--set",
        "dynamics.t_end=0.5",
        "-q",
        "--no-plots",
    ];
    let o = mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let bytes = std::fs::read(&out).unwrap();
    let running = dir.path().join("done.running.h5");
    std::fs::rename(&out, &running).unwrap();
    let o = mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .args(args)
        .arg("--resume")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("held the finished run"));
    assert!(!running.exists());
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    // of another problem: refused, naming --resume
    std::fs::rename(&out, &running).unwrap();
    let o = mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .args(args)
        .args(["--set", "dynamics.noise=0.5", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
}

#[test]
fn plot_answers_hostile_files_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.h5");
    assert!(mfpde()
        .arg("pde")
        .arg(grid("quickstart"))
        .arg("-o")
        .arg(&good)
        .args([
            "-q",
            "--set",
            "grid.cells=[16,16]",
            "--set",
            "dynamics.t_end=0.2",
            "--set",
            "dynamics.snapshots=3"
        ])
        .status()
        .unwrap()
        .success());
    let bytes = std::fs::read(&good).unwrap();
    let mut hostile: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", bytes[..bytes.len() / 3].to_vec()),
        ("empty", Vec::new()),
        ("not hdf5", b"just some text\n".to_vec()),
    ];
    // bytes flipped inside the file: whatever the reader makes of them
    for (i, at) in [bytes.len() / 5, bytes.len() / 2, 4 * bytes.len() / 5]
        .iter()
        .enumerate()
    {
        let mut b = bytes.clone();
        for v in &mut b[*at..(*at + 64).min(bytes.len())] {
            *v ^= 0x5a;
        }
        hostile.push((["flipped1", "flipped2", "flipped3"][i], b));
    }
    // well-formed HDF5 of the wrong content, written with our own writer
    let other = {
        let mut fb = hdf5_pure::FileBuilder::new();
        fb.create_dataset("x").with_f64_data(&[1.0, 2.0]);
        fb.finish().unwrap()
    };
    hostile.push(("another program's", other));
    let rewritten = |edit: &dyn Fn(&hdf5_pure::File)| {
        let p = dir.path().join("edit.h5");
        std::fs::write(&p, &bytes).unwrap();
        let f = hdf5_pure::File::open_rw(&p).unwrap();
        edit(&f);
        f.commit().unwrap();
        f.close().unwrap();
        std::fs::read(&p).unwrap()
    };
    let replace = |path: &'static str, values: Vec<f64>, shape: Vec<u64>| {
        rewritten(&move |f: &hdf5_pure::File| {
            f.root().delete(path).unwrap();
            f.root()
                .create_dataset(path, |b| {
                    b.with_f64_data(&values).with_shape(&shape);
                })
                .unwrap();
        })
    };
    let mut nan = vec![0.1; 3 * 256];
    nan[300] = f64::NAN;
    hostile.push(("NaN density", replace("pde/density", nan, vec![3, 16, 16])));
    hostile.push((
        "density of the wrong size",
        replace("pde/density", vec![0.1; 3 * 128], vec![3, 8, 16]),
    ));
    hostile.push((
        "decreasing edges",
        replace(
            "grid/edges_0",
            (0..17).map(|i| -(i as f64)).collect(),
            vec![17],
        ),
    ));
    hostile.push((
        "NaN time",
        replace("pde/time", vec![0.0, f64::NAN, 0.2], vec![3]),
    ));
    for (what, content) in hostile {
        let p = dir.path().join("hostile.h5");
        std::fs::write(&p, &content).unwrap();
        let o = mfpde().arg("plot").arg(&p).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{what}: {err}");
        // flipped bytes may land in values that stay finite: a valid plot
        // of garbage is the one other answer allowed
        if what.starts_with("flipped") && o.status.success() {
            continue;
        }
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.starts_with("error:") && err.contains("hostile.h5"),
            "{what}: {err}"
        );
    }
}

// ---- the second hostile round (issue 19): each numbered item ----

/// `mfpde ARGS`, its exit code and stderr.
fn run_args(args: &[&str]) -> (Option<i32>, String) {
    let o = mfpde().args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A short quickstart run's arguments into `out` (command first).
fn short(command: &str, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec![
        command.into(),
        grid("quickstart").display().to_string(),
        "-q".into(),
        "-o".into(),
        out.display().to_string(),
    ];
    for s in [
        "grid.cells=[32,32]",
        "dynamics.t_end=0.2",
        "dynamics.snapshots=3",
        "particles.m=500",
    ] {
        a.extend(["--set".into(), s.into()]);
    }
    a
}

fn run_ok(args: &[String]) {
    let o = mfpde().args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn args_of(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Item 1: a figure's path that is a link is replaced by the figure; the
/// link's target is untouched. Item 17: a figure that cannot be put in
/// place is an error in words, not a Debug dump.
#[test]
fn figures_never_write_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, b"keep me").unwrap();
    let out = dir.path().join("x.h5");
    for fig in ["x_density.png", "x_curves.png", "x_density.gif"] {
        std::os::unix::fs::symlink(&precious, dir.path().join(fig)).unwrap();
    }
    run_ok(&short("pde", &out));
    assert_eq!(std::fs::read(&precious).unwrap(), b"keep me");
    for fig in ["x_density.png", "x_curves.png", "x_density.gif"] {
        let m = std::fs::symlink_metadata(dir.path().join(fig)).unwrap();
        assert!(m.file_type().is_file(), "{fig} is a figure now");
    }
    // no temporary left behind
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // a folder where a figure goes: named, in words
    let out = dir.path().join("y.h5");
    std::fs::create_dir(dir.path().join("y_curves.png")).unwrap();
    let (code, err) = run_args(&args_of(&short("pde", &out)));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("y_curves.png") && !err.contains("Os {"),
        "{err}"
    );
}

/// Item 2: a target that exists must be an mfpde results file.
#[test]
fn a_problem_or_data_file_is_never_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("quickstart.toml");
    std::fs::copy(grid("quickstart"), &problem).unwrap();
    let before = std::fs::read(&problem).unwrap();
    let (code, err) = run_args(&args_of(&short("pde", &problem)));
    assert_eq!(code, Some(2));
    assert!(err.contains("`-o`") && err.contains(".h5"), "{err}");
    let disguised = dir.path().join("parity.h5");
    std::fs::copy(root().join("grids/data/parity.csv"), &disguised).unwrap();
    let (code, err) = run_args(&args_of(&short("pde", &disguised)));
    assert_eq!(code, Some(2));
    assert!(err.contains("not an mfpde results file"), "{err}");
    assert_eq!(std::fs::read(&problem).unwrap(), before);
    assert_eq!(
        std::fs::read(&disguised).unwrap(),
        std::fs::read(root().join("grids/data/parity.csv")).unwrap()
    );
    // an earlier results file is replaced
    let out = dir.path().join("r.h5");
    run_ok(&short("pde", &out));
    run_ok(&short("pde", &out));
}

/// A running file `file` of `command` on `problem` that died after its
/// `n`-th PDE (or particle) snapshot.
fn interrupted(file: &Path, command: mfpde::run::Command, setup: &mfpde::setup::Setup, n: usize) {
    use mfpde::io::hdf5::Hdf5Store;
    use mfpde::run::{self, Options, Silent};
    let group = match command {
        mfpde::run::Command::Particles => "particles",
        _ => "pde",
    };
    let mut store = die_after(
        Hdf5Store::create(file, &run::header(setup)).unwrap(),
        group,
        n,
    );
    let opts = Options {
        command,
        theorems: false,
        plots: false,
    };
    assert!(run::run_into(setup, opts, &mut store, &mut Silent).is_err());
}

const CUT: [&str; 4] = [
    "grid.cells=[32,32]",
    "dynamics.t_end=0.5",
    "dynamics.snapshots=6",
    "particles.m=500",
];

/// `mfpde COMMAND quickstart --resume OUT` with CUT's overrides.
fn resume(command: &str, problem: &Path, out: &Path) -> (Option<i32>, String) {
    let mut args: Vec<String> = vec![
        command.into(),
        problem.display().to_string(),
        "-q".into(),
        "--resume".into(),
        out.display().to_string(),
    ];
    for s in CUT {
        args.extend(["--set".into(), s.into()]);
    }
    run_args(&args_of(&args))
}

/// Item 7: a file of `mfpde run` is continued by `run` only.
#[test]
fn a_run_file_is_not_completed_by_another_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.h5");
    let s = grid_setup("quickstart", &CUT);
    interrupted(
        &dir.path().join("r.running.h5"),
        mfpde::run::Command::Run,
        &s,
        3,
    );
    for command in ["pde", "particles"] {
        let (code, err) = resume(command, &grid("quickstart"), &out);
        assert_eq!(code, Some(2), "{command}");
        assert!(
            err.contains("mfpde run") && err.contains("--resume"),
            "{err}"
        );
        assert!(!out.exists());
    }
    let (code, err) = resume("run", &grid("quickstart"), &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(status(&out), "complete");
}

/// Item 8: an edited data set is not resumed.
#[test]
fn a_run_on_an_edited_data_set_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let csv = dir.path().join("data/parity.csv");
    std::fs::copy(root().join("grids/data/parity.csv"), &csv).unwrap();
    let problem = dir.path().join("labels.toml");
    std::fs::copy(grid("dataset_labels"), &problem).unwrap();
    let sets: Vec<String> = CUT.iter().map(|s| s.to_string()).collect();
    let lp = mfpde::problem::LoadedProblem::from_file(&problem, &sets).unwrap();
    let s = mfpde::setup::Setup::new(&lp).unwrap();
    let out = dir.path().join("d.h5");
    interrupted(
        &dir.path().join("d.running.h5"),
        mfpde::run::Command::Pde,
        &s,
        2,
    );
    // the labels edited: the same rows, another y in the last one
    let text = std::fs::read_to_string(&csv).unwrap();
    let edited: String = text.replacen(",0.399329\n", ",0.5\n", 1);
    assert_ne!(edited, text);
    std::fs::write(&csv, edited).unwrap();
    let (code, err) = resume("pde", &problem, &out);
    assert_eq!(code, Some(2));
    assert!(err.contains("data set") && err.contains("SHA-256"), "{err}");
    std::fs::write(&csv, text).unwrap();
    let (code, err) = resume("pde", &problem, &out);
    assert_eq!(code, Some(0), "{err}");
}

/// Item 9: two runs started 0.1 to 0.5 s apart on one target: the second
/// is refused at once, and the file and figures are the first's (the lock
/// is held until the last figure is written).
#[test]
fn the_plot_race_has_one_winner() {
    for delay in [100, 300, 500] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.h5");
        let a_args = short("run", &out);
        let mut a = mfpde().args(&a_args).stdout(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let mut b_args = short("run", &out);
        b_args.extend(["--set".into(), "particles.seed=7".into()]);
        let clock = Instant::now();
        let (code, err) = run_args(&args_of(&b_args));
        let a_ok = a.wait().unwrap().success();
        assert!(a_ok);
        if code == Some(0) {
            // A was done before B began: then B's file is whole and its own
            let f = hdf5_pure::File::open(&out).unwrap();
            let p = f.root().attrs().unwrap()["problem"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(p.contains("seed = 7"), "{delay} ms");
            continue;
        }
        assert!(clock.elapsed() < Duration::from_secs(5));
        assert!(err.contains("another mfpde run"), "{delay} ms: {err}");
        // the file and the figures are A's, whole
        let f = hdf5_pure::File::open(&out).unwrap();
        let p = f.root().attrs().unwrap()["problem"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!p.contains("seed = 7"), "{delay} ms");
        for fig in ["x_density.png", "x_density.gif", "x_curves.png"] {
            assert!(dir.path().join(fig).exists(), "{fig}");
        }
        let gif = std::fs::read(dir.path().join("x_density.gif")).unwrap();
        assert_eq!(&gif[..6], b"GIF89a");
    }
}

/// Item 10: a leftover whose series were cut to other lengths, whose times
/// moved, or whose steps fall is not resumed; a linked running file is
/// refused; plot refuses series that are not as long as their times.
#[test]
fn a_tampered_leftover_is_not_resumed() {
    let edit = |file: &Path, path: &str, values: Vec<f64>| {
        let f = hdf5_pure::File::open_rw(file).unwrap();
        f.root().delete(path).unwrap();
        f.root()
            .create_dataset(path, |b| {
                b.with_f64_data(&values).with_shape(&[values.len() as u64]);
            })
            .unwrap();
        f.commit().unwrap();
        f.close().unwrap();
    };
    let s = grid_setup("quickstart", &CUT);
    for (what, path, values) in [
        ("cut", "pde/risk", vec![1.0, 0.9]),
        ("moved", "pde/time", vec![0.0, 0.15, 0.2]),
        ("steps", "pde/steps", vec![0.0, -5.0, 4.0]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let running = dir.path().join("t.running.h5");
        interrupted(&running, mfpde::run::Command::Pde, &s, 3);
        edit(&running, path, values);
        let (code, err) = resume("pde", &grid("quickstart"), &dir.path().join("t.h5"));
        assert_eq!(code, Some(2), "{what}");
        assert!(err.contains(path), "{what}: {err}");
        // and plot refuses the cut series
        if what == "cut" {
            let (code, err) = run_args(&["plot", running.to_str().unwrap()]);
            assert_eq!(code, Some(2));
            assert!(err.contains("pde/risk"), "{err}");
        }
    }
    // a running file that is a link
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("elsewhere.h5");
    interrupted(&real, mfpde::run::Command::Pde, &s, 2);
    std::os::unix::fs::symlink(&real, dir.path().join("l.running.h5")).unwrap();
    let (code, err) = resume("pde", &grid("quickstart"), &dir.path().join("l.h5"));
    assert_eq!(code, Some(2));
    assert!(err.contains("is a link"), "{err}");
    // item 17: a link to a text file is not "an interrupted run"
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello").unwrap();
    std::fs::remove_file(dir.path().join("l.running.h5")).unwrap();
    std::os::unix::fs::symlink(&text, dir.path().join("l.running.h5")).unwrap();
    let (code, err) = run_args(&args_of(&short("pde", &dir.path().join("l.h5"))));
    assert_eq!(code, Some(2));
    assert!(err.contains("not an interrupted mfpde run"), "{err}");
}

/// Item 14: a run interrupted before its first snapshot is restarted by
/// the next run, with a note, and by --resume as well.
#[test]
fn a_run_killed_before_its_first_snapshot_is_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.h5");
    let s = grid_setup("quickstart", &CUT);
    for command in ["pde", "resume"] {
        // created, a group added, no snapshot: as a SIGINT within 20 ms
        let running = dir.path().join("e.running.h5");
        let mut store =
            mfpde::io::hdf5::Hdf5Store::create(&running, &mfpde::run::header(&s)).unwrap();
        mfpde::io::store::Store::add_group(&mut store, "pde", &[], &[]).unwrap();
        let o = if command == "pde" {
            let mut a: Vec<String> = vec!["pde".into(), grid("quickstart").display().to_string()];
            a.extend(["-o".into(), out.display().to_string()]);
            for x in CUT {
                a.extend(["--set".into(), x.into()]);
            }
            mfpde().args(&a).output().unwrap()
        } else {
            let mut a: Vec<String> = vec!["pde".into(), grid("quickstart").display().to_string()];
            a.extend(["--resume".into(), out.display().to_string()]);
            for x in CUT {
                a.extend(["--set".into(), x.into()]);
            }
            mfpde().args(&a).output().unwrap()
        };
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("started again"), "{text}");
        assert_eq!(status(&out), "complete");
    }
}

/// Item 15: the lock and the running file come from one name, OUT.h5: a
/// path without .h5 is refused, so `--resume par/a` cannot enter the live
/// run of `-o par/a.h5`.
#[test]
fn the_lock_cannot_be_bypassed_by_another_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    for flag in ["-o", "--resume"] {
        let (code, err) = run_args(&[
            "pde",
            grid("quickstart").to_str().unwrap(),
            flag,
            a.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(2));
        assert!(
            err.contains(&format!("`{flag}`")) && err.contains(".h5"),
            "{err}"
        );
    }
}

/// The peak resident memory of `mfpde ARGS`, in bytes (the child's
/// ru_maxrss from wait4).
fn peak_rss(args: &[String]) -> f64 {
    let child = mfpde()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value of the plain C struct
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; the pointers are to
    // locals that outlive the call
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "mfpde {args:?} failed"
    );
    std::mem::forget(child);
    usage.ru_maxrss as f64 * 1024.0
}

/// Item 12: every budget within a factor 2 of the measured peak memory,
/// over runs where each part of the estimate dominates in turn: stored
/// positions (40 snapshots of 3·10⁵ neurons: the file is streamed, not
/// held, when completed and when plotted), a large CSV (its rows
/// as nodes of the σ tables), a convergence study, a 4-D grid, a 4-D grid
/// with its tables on the fly (its copies of ρ dominate), a reduced
/// problem. (Ignored by plain `cargo test`: about 30 s and 1 GB; CI runs it.)
#[test]
#[ignore]
fn budgets_are_within_twice_the_peak_memory() {
    use mfpde::budget::{converge_estimate, Sizes};
    use mfpde::problem::LoadedProblem;
    let dir = tempfile::tempdir().unwrap();
    // a data set of 2·10⁶ rows
    let mut csv = String::from("x0,y\n");
    for i in 0..2_000_000u32 {
        let x = -2.0 + 4.0 * f64::from(i) / 2e6;
        csv.push_str(&format!("{x:.6},{}\n", u8::from(x > 0.0)));
    }
    std::fs::write(dir.path().join("big.csv"), csv).unwrap();
    let labels = dir.path().join("big.toml");
    let text = std::fs::read_to_string(grid("dataset_labels"))
        .unwrap()
        .replace("data/parity.csv", "big.csv");
    std::fs::write(&labels, text).unwrap();
    let cases: Vec<(&str, PathBuf, Vec<&str>, Vec<&str>)> = vec![
        (
            "particles",
            grid("quickstart"),
            vec![
                "particles.m=300000",
                "dynamics.t_end=0.39",
                "dynamics.snapshots=40",
                "particles.dt=0.01",
                "grid.cells=[64,64]",
            ],
            vec![],
        ),
        (
            "pde",
            labels,
            vec![
                "grid.cells=[16,16]",
                "dynamics.t_end=0.05",
                "dynamics.snapshots=2",
            ],
            vec![],
        ),
        (
            "converge",
            grid("quickstart"),
            vec!["dynamics.t_end=0.1", "dynamics.snapshots=2"],
            vec!["--m", "1000,300000", "--seeds", "2", "--cells", "64,512"],
        ),
        (
            "pde",
            grid("teacher4d"),
            vec![
                "grid.cells=[28,28,28,28]",
                "dynamics.t_end=0.02",
                "dynamics.snapshots=2",
            ],
            vec![],
        ),
        (
            "pde",
            grid("teacher4d"),
            vec![
                "grid.cells=[36,36,36,36]",
                "dynamics.t_end=0.01",
                "dynamics.snapshots=2",
                "solver.tables=\"on_the_fly\"",
            ],
            vec![],
        ),
        (
            "pde",
            grid("single_index"),
            vec!["dynamics.t_end=0.02", "dynamics.snapshots=2"],
            vec![],
        ),
    ];
    let mut table = Vec::new();
    for (command, problem, sets, extra) in cases {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let lp = LoadedProblem::from_file(&problem, &sets).unwrap();
        let est = match command {
            "converge" => {
                let ms = [1000, 300000];
                converge_estimate(&lp, &ms, &[64, 512]).unwrap()
            }
            c => Sizes::of(&lp).estimate(c != "pde"),
        };
        let out = dir.path().join(format!("{command}.h5"));
        let _ = std::fs::remove_file(&out);
        let mut args: Vec<String> = vec![
            command.into(),
            problem.display().to_string(),
            "-q".into(),
            "-o".into(),
            out.display().to_string(),
        ];
        for s in &sets {
            args.extend(["--set".into(), s.clone()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let peak = peak_rss(&args);
        let ratio = est.memory / peak;
        table.push(format!(
            "{command} {}: estimate {:.0} MiB, peak {:.0} MiB, ratio {ratio:.2}",
            problem.file_stem().unwrap().to_string_lossy(),
            est.memory / 1048576.0,
            peak / 1048576.0
        ));
        assert!((0.5..=2.0).contains(&ratio), "{}", table.join("\n"));
    }
    eprintln!("{}", table.join("\n"));
}
