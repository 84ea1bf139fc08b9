//! One run over several processes: `mpirun -n N mfpde particles` (mfpde
//! built with `--features mpi`, named by MFPDE_MPI_BIN; `.ci/run` builds it
//! and runs these ignored tests) splits the network over the ranks and
//! writes the file of the run on one process, to the byte, on any number
//! of ranks; a run killed on 3 ranks and resumed on 2 equals the run that
//! was never stopped; the d-dimensional network of a reduced problem too;
//! what cannot be split is refused by name. The plain test
//! here checks that the default build does not link MPI.

mod common;
use common::{datasets, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mpi_bin() -> String {
    std::env::var("MFPDE_MPI_BIN").expect("MFPDE_MPI_BIN: mfpde built with --features mpi")
}

fn grid(name: &str) -> PathBuf {
    root().join("grids").join(format!("{name}.toml"))
}

/// `mpirun -n n` of the MPI build with `args`.
fn mpirun(n: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "-n", &n.to_string(), &mpi_bin()])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    c
}

/// The arguments of `mfpde particles` on `problem` with `sets`, into `out`.
fn particles(problem: &str, sets: &[&str], out: &Path) -> Vec<String> {
    let mut a = vec!["particles".to_string(), grid(problem).display().to_string()];
    for s in sets {
        a.extend(["--set".to_string(), s.to_string()]);
    }
    a.extend([
        "-o".into(),
        out.display().to_string(),
        "--no-plots".into(),
        "-q".into(),
    ]);
    a
}

/// `out` is the file `serial`, byte for byte (else: the datasets that
/// differ).
fn same_file(serial: &Path, out: &Path, what: &str) {
    if std::fs::read(out).unwrap() != std::fs::read(serial).unwrap() {
        let (a, b) = (datasets(serial), datasets(out));
        let differ: Vec<&String> = (a.iter().zip(&b))
            .filter(|(x, y)| x != y)
            .map(|(x, _)| &x.0)
            .collect();
        panic!("{what}: the file differs from the serial one in {differ:?}");
    }
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Short runs of the quickstart's network (m = 5000: 64 groups of 79
/// neurons, so every rank but the first starts inside a noise block of
/// 1024) and of the data set's, each mode of the issue.
const CASES: [(&str, &str, &[&str]); 5] = [
    (
        "population, folded (tanh on ±x pairs), with noise",
        "quickstart",
        &[],
    ),
    (
        "population, not folded (relu), with noise",
        "quickstart",
        &["model.activation=\"relu\""],
    ),
    (
        "sgd, B = 256, with noise",
        "quickstart",
        &["particles.mode=\"sgd\"", "particles.batch=256"],
    ),
    (
        "store < m (the checkpoint is written)",
        "quickstart",
        &["particles.store=100"],
    ),
    (
        "full_batch on a data set (labels), with noise",
        "dataset_labels",
        &["particles.m=3000"],
    ),
];

const SHORT: [&str; 3] = [
    "particles.m=5000",
    "dynamics.t_end=1",
    "dynamics.snapshots=3",
];

/// On 1, 2, 3 and 4 ranks, each case's file is the default (serial)
/// build's file, byte for byte: the same neurons, noise, batches, sums in
/// the same order, the same writes.
#[test]
#[ignore]
fn the_network_over_1_to_4_ranks_writes_the_serial_file_to_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (what, problem, extra)) in CASES.iter().enumerate() {
        let sets: Vec<&str> = SHORT.iter().chain(extra.iter()).copied().collect();
        let serial = dir.path().join(format!("c{i}_serial.h5"));
        let args = particles(problem, &sets, &serial);
        ok(
            Command::new(env!("CARGO_BIN_EXE_mfpde"))
                .args(&args)
                .output()
                .unwrap(),
            what,
        );
        for n in 1..=4 {
            let out = dir.path().join(format!("c{i}_n{n}.h5"));
            let o = ok(
                mpirun(n)
                    .args(particles(problem, &sets, &out))
                    .output()
                    .unwrap(),
                what,
            );
            assert!(o.stderr.is_empty() || !String::from_utf8_lossy(&o.stderr).contains("error"));
            same_file(&serial, &out, &format!("{what} on {n} ranks"));
        }
    }
}

/// `mpirun -n N mfpde run` (the PDE on rank 0, the network over every
/// rank, compared at each snapshot) on 1, 2 and 3 ranks writes the serial
/// file, byte for byte: /pde, /history, /particles and /compare.
#[test]
#[ignore]
fn run_side_by_side_over_1_to_3_ranks_writes_the_serial_file_to_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &Path| {
        let mut a = particles("quickstart", &SHORT, out);
        a[0] = "run".into();
        a
    };
    let serial = dir.path().join("serial.h5");
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(args(&serial))
        .output();
    ok(o.unwrap(), "the serial run");
    for n in 1..=3 {
        let out = dir.path().join(format!("n{n}.h5"));
        let o = ok(mpirun(n).args(args(&out)).output().unwrap(), "run");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(&format!("the network over {n} ranks")),
            "{text}"
        );
        same_file(&serial, &out, &format!("run on {n} ranks"));
    }
}

/// A run on 3 ranks stopped (SIGTERM to mpirun) after its 4th snapshot,
/// resumed on 2 ranks, has every dataset of the run on one process that
/// was never stopped.
#[test]
#[ignore]
fn killed_on_3_ranks_and_resumed_on_2_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        "particles.m=100000",
        "dynamics.t_end=3",
        "dynamics.snapshots=16",
        "particles.store=1000",
    ];
    let whole = dir.path().join("whole.h5");
    let args = particles("quickstart", &sets, &whole);
    ok(
        Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args(&args)
            .output()
            .unwrap(),
        "the uninterrupted run",
    );
    let out = dir.path().join("q.h5");
    let mut args = particles("quickstart", &sets, &out);
    args.retain(|a| a != "-q");
    // SIGTERM to mpirun: it passes it to the ranks and waits for them
    let mut run = mpirun(3);
    run.args(&args);
    common::stop_after(run, 4, libc::SIGTERM);
    let running = dir.path().join("q.running.h5");
    assert!(
        running.exists() && !out.exists(),
        "the stopped run left its running file"
    );
    let resumed = ok(
        mpirun(2)
            .args(particles("quickstart", &sets, &out))
            .args(["--resume".as_ref(), out.as_os_str()])
            .output()
            .unwrap(),
        "the resumed run",
    );
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(text.contains("resuming"), "{text}");
    assert!(!running.exists());
    let (a, b) = (datasets(&whole), datasets(&out));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x == y, "{} differs from the uninterrupted run", x.0);
    }
}

/// What is not split over ranks is refused by name, on every rank, with a
/// non-zero exit and no file.
#[test]
#[ignore]
fn what_is_not_split_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.h5");
    let refused = |mut c: Command, says: &[&str]| {
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{err}");
        for s in says {
            assert!(err.contains(s), "{s:?} not in: {err}");
        }
        assert!(!out.exists());
    };
    // m = 3: three groups of one neuron, so at most 3 ranks
    let mut c = mpirun(4);
    c.args(particles("quickstart", &["particles.m=3"], &out));
    refused(c, &["mpirun -n", "at most 3 ranks", "particles.m = 3"]);
    let mut c = mpirun(2);
    c.args([
        "pde".as_ref(),
        grid("quickstart").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    refused(c, &["mpirun -n", "one process for `pde`"]);
    // the d-dimensional network: blocks of 64 neurons, so at most 2 ranks
    let mut c = mpirun(3);
    c.args(particles("single_index", &["particles.m=100"], &out));
    refused(c, &["mpirun -n", "at most 2 ranks", "groups of 64"]);
}

/// The d-dimensional network of a reduced problem (single_index: erf units
/// in ℝ¹⁰⁰, m = 1000, 16 blocks of 64) on 1, 2 and 3 ranks writes the
/// serial file, byte for byte: sgd (rows exchanged at snapshots, the
/// blocks' partial f every step), population (rows exchanged every step,
/// the Gram products of a rank's row blocks against all), and tanh units,
/// whose risk is sampled (each rank its share of the chunks).
#[test]
#[ignore]
fn the_network_in_r_d_over_1_to_3_ranks_writes_the_serial_file_to_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let short = [
        "particles.m=1000",
        "dynamics.t_end=0.3",
        "dynamics.snapshots=3",
    ];
    let sgd = ["particles.mode=\"sgd\"", "particles.batch=128"];
    let tanh = ["model.activation=\"tanh\"", sgd[0], sgd[1]];
    let cases: [(&str, &[&str]); 3] = [
        ("population", &[]),
        ("sgd, B = 128", &sgd),
        (
            "sgd, tanh units (the risk sampled, in chunks over the ranks)",
            &tanh,
        ),
    ];
    for (i, (what, extra)) in cases.iter().enumerate() {
        let sets: Vec<&str> = short.iter().chain(extra.iter()).copied().collect();
        let serial = dir.path().join(format!("w{i}_serial.h5"));
        let args = particles("single_index", &sets, &serial);
        let run = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args(&args)
            .output();
        ok(run.unwrap(), what);
        for n in 1..=3 {
            let out = dir.path().join(format!("w{i}_n{n}.h5"));
            let args = particles("single_index", &sets, &out);
            ok(mpirun(n).args(args).output().unwrap(), what);
            same_file(&serial, &out, &format!("{what} on {n} ranks"));
        }
    }
}

/// The default build does not depend on the `mpi` crate (nor so on
/// libmpi): `cargo tree` of its normal dependencies has no `mpi`.
#[test]
fn the_default_build_does_not_link_mpi() {
    let o = Command::new(env!("CARGO"))
        .args(["tree", "-e", "normal", "--prefix", "none", "-p", "mfpde"])
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("ndarray"),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mpi: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mpi ") || l.starts_with("mpi-sys "))
        .collect();
    assert!(mpi.is_empty(), "the default build depends on {mpi:?}");
    // and with the feature it does: the check can fail
    let o = Command::new(env!("CARGO"))
        .args(["tree", "-e", "normal", "--prefix", "none", "-p", "mfpde"])
        .args(["--features", "mpi"])
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.lines().any(|l| l.starts_with("mpi ")), "{text}");
}

/// `mfpde check --ranks N` (the default build: no MPI needed) reports what
/// a rank holds: θ's share falls as 1/N (m/2 − m/4 neurons of D = 2 between
/// 2 and 4 ranks: 3.81 MiB at m = 10⁶), rank 0 holds every neuron besides
/// (m D 8 bytes = 15.26 MiB); a split the network cannot take is refused
/// by name.
#[test]
fn check_ranks_reports_what_each_rank_holds() {
    let held = |n: usize| -> (f64, f64) {
        let o = common::mfpde_ok([
            "check".as_ref(),
            grid("quickstart").as_os_str(),
            "--set".as_ref(),
            "particles.m=1000000".as_ref(),
            "--ranks".as_ref(),
            n.to_string().as_ref(),
        ]);
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let after = |key: &str| -> f64 {
            let i = text
                .find(key)
                .unwrap_or_else(|| panic!("{key:?} in {text}"))
                + key.len();
            let word = text[i..].split_whitespace().next().unwrap();
            word.parse().unwrap()
        };
        (after("rank 0 holds"), after("each other rank"))
    };
    let ((root2, other2), (_, other4)) = (held(2), held(4));
    let mib = |neurons: f64| neurons * 2.0 * 8.0 / 1048576.0;
    // printed to 0.1 MiB
    assert!((root2 - other2 - mib(1e6)).abs() <= 0.1, "{root2} {other2}");
    assert!(
        (other2 - other4 - mib(0.25e6)).abs() <= 0.1,
        "{other2} {other4}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(["check".as_ref(), grid("quickstart").as_os_str()])
        .args(["--set", "particles.m=50", "--ranks", "100"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("`mpirun -n` = 100")
            && err.contains("at most 50 ranks"),
        "{err}"
    );
}

/// Under Slurm (`srun --mpi=pmix -n 2`, on the one-node cluster `.ci/run`
/// starts with `.ci/slurm.sh`): the ranks are Slurm's tasks, and the file
/// is the serial one, byte for byte.
#[test]
#[ignore]
fn srun_splits_the_network_as_mpirun_does() {
    let dir = tempfile::tempdir().unwrap();
    let (serial, out) = (dir.path().join("serial.h5"), dir.path().join("srun.h5"));
    let args = particles("quickstart", &SHORT, &serial);
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(&args)
        .output();
    ok(o.unwrap(), "the serial run");
    let o = Command::new("srun")
        .args(["--mpi=pmix", "-n", "2", &mpi_bin()])
        .args(particles("quickstart", &SHORT, &out))
        .output()
        .unwrap();
    let o = ok(o, "srun -n 2");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("over 2 ranks"), "{text}");
    same_file(&serial, &out, "srun -n 2");
}
