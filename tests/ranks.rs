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
    command("particles", problem, sets, out)
}

/// The arguments of `mfpde <what>` on `problem` with `sets`, into `out`.
fn command(what: &str, problem: &str, sets: &[&str], out: &Path) -> Vec<String> {
    let mut a = vec![what.to_string(), grid(problem).display().to_string()];
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

/// Run `what` on `problem` with `sets` serially into `dir/whole.h5`, then
/// on 3 ranks into `dir/q.h5`, stopped by SIGTERM to mpirun (which passes
/// it to the ranks) after its `k`-th snapshot, and resumed on 2 ranks: the
/// uninterrupted file and the resumed one.
fn stop_on_3_resume_on_2(
    dir: &Path,
    what: &str,
    problem: &str,
    sets: &[&str],
    k: usize,
) -> (PathBuf, PathBuf) {
    let whole = dir.join("whole.h5");
    let run = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(command(what, problem, sets, &whole))
        .output();
    ok(run.unwrap(), "the uninterrupted run");
    let out = dir.join("q.h5");
    let mut args = command(what, problem, sets, &out);
    args.retain(|a| a != "-q");
    let mut run = mpirun(3);
    run.args(&args);
    common::stop_after(run, k, libc::SIGTERM);
    let running = dir.join("q.running.h5");
    assert!(
        running.exists() && !out.exists(),
        "the stopped run left its running file"
    );
    if what == "pde" {
        // the density came to rank 0 as the 3 ranks' slabs, one part each
        let f = hdf5_pure::File::open(&running).unwrap();
        let snapshots = f.group("pde/snapshots").unwrap().datasets().unwrap();
        for p in 0..3 {
            let part = format!("density_00000_part_{p:04}");
            assert!(snapshots.contains(&part), "{part} in {snapshots:?}");
        }
        assert!(
            !snapshots.iter().any(|d| d == "density_00000"),
            "{snapshots:?}"
        );
    }
    let resumed = ok(
        mpirun(2)
            .args(command(what, problem, sets, &out))
            .args(["--resume".as_ref(), out.as_os_str()])
            .output()
            .unwrap(),
        "the resumed run",
    );
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(text.contains("resuming"), "{text}");
    assert!(!running.exists());
    (whole, out)
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
    let (whole, out) = stop_on_3_resume_on_2(dir.path(), "particles", "quickstart", &sets, 4);
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
    // the grid's slabs: an implicit diffusion's lines are not split
    let mut c = mpirun(2);
    c.args(command(
        "pde",
        "quickstart",
        &["solver.diffusion=\"backward_euler\""],
        &out,
    ));
    refused(
        c,
        &["solver.diffusion", "an implicit diffusion", "spectral"],
    );
    // 8 rows of a in slabs of at least 4 (the kernel over Δt_max): 2 ranks
    let mut c = mpirun(4);
    c.args(command("pde", "quickstart", &["grid.cells=[8,8]"], &out));
    refused(c, &["mpirun -n", "at most 2 ranks", "8 rows of a"]);
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

/// The bound of a split grid PDE run against the serial one, per unit of
/// a quantity's scale, after `steps` steps. The slabs compute every cell
/// with the serial arithmetic but for the order of the first moments' sums
/// (per slab, then in rank order) and the slabs' own coordinates (lo + i h
/// from the slab's lower face; both defer Strang's trailing half diffusion
/// into the next step alike): each a few ulp, ε = 2.2e-16, of ρ per
/// operation, a few tens of operations per cell and step. A stable,
/// positive, mass-conserving step carries them on without growth, so after
/// n steps ρ differs by at most n × 50 × ε × max ρ (tests/slabs.rs holds
/// the same bound in one process, where a halo not refilled shows as
/// 1e-4). ρ0, which each rank builds on its slab from its own faces, adds
/// [`rho0_bound`].
fn slab_bound(steps: f64) -> f64 {
    steps * 50.0 * f64::EPSILON
}

/// What ρ0 built on a slab may differ by from the serial ρ0, per unit of
/// max ρ, on cells of width at least `h` and faces within `|θ| ≤ top`: a
/// face computed from the slab's lower face (lo + i h) is a few ulp of
/// |θ| off, 4 ulp(top) at most, and moves a cell's mass by that over h of
/// it; the box's mass, summed slab by slab, by a few ε more.
fn rho0_bound(h: f64, top: f64) -> f64 {
    let ulp = 2f64.powi(top.log2().floor() as i32) * f64::EPSILON;
    4.0 * ulp / h + 10.0 * f64::EPSILON
}

/// `out` against the serial file `serial` of a PDE run: the same datasets,
/// the same step counts; ρ (and its least value) within [`slab_bound`]
/// and [`rho0_bound`] of max ρ; every other number, a fixed-order sum of the cells' ρ_i |C|
/// times a weight (θ, θθᵀ, log ρ_i, σ at the nodes: at most 10² on these
/// grids, |θ| ≤ 6, |log ρ| ≤ 40), within 10² times the bound of its
/// largest (or of 1, the mass).
fn pde_agrees(serial: &Path, out: &Path, what: &str) {
    let f = |bits: &[u64]| {
        bits.iter()
            .map(|&b| f64::from_bits(b))
            .collect::<Vec<f64>>()
    };
    let (a, b) = (datasets(serial), datasets(out));
    let names = |d: &[(String, Vec<u64>)]| d.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{what}: datasets");
    let get = |name: &str| &a.iter().find(|x| x.0 == name).unwrap().1;
    let steps = f(get("/pde/steps"));
    assert_eq!(
        get("/pde/steps"),
        &b.iter().find(|x| x.0 == "/pde/steps").unwrap().1,
        "{what}: steps"
    );
    // the narrowest cell and the farthest face of the grid
    let (mut h, mut far) = (f64::INFINITY, 0.0f64);
    for (_, e) in a.iter().filter(|x| x.0.starts_with("/grid/edges_")) {
        let e = f(e);
        h = e.windows(2).map(|w| w[1] - w[0]).fold(h, f64::min);
        far = e.iter().fold(far, |m, v| m.max(v.abs()));
    }
    assert!(h > 0.0 && h.is_finite(), "{what}: the grid's edges");
    let bound = slab_bound(steps.iter().copied().fold(0.0, f64::max)) + rho0_bound(h, far.max(1.0));
    let top = f(get("/pde/density")).iter().copied().fold(0.0, f64::max);
    let mut worst: f64 = 0.0;
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if !(name.starts_with("/pde") || name.starts_with("/history")) {
            assert!(x == y, "{what}: {name} differs");
            continue;
        }
        let (x, y) = (f(x), f(y));
        let largest = x.iter().map(|v| v.abs()).fold(0.0, f64::max);
        let (scale, allowed) = match name.as_str() {
            "/pde/density" | "/pde/min_density" => (top, bound),
            _ => (largest.max(1.0), 100.0 * bound),
        };
        let diff = x
            .iter()
            .zip(&y)
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        worst = worst.max(diff / scale / bound);
        assert!(
            diff <= allowed * scale,
            "{what}: {name} differs by {diff:.3e}, above {:.3e} ({} steps)",
            allowed * scale,
            steps.last().unwrap()
        );
    }
    eprintln!("{what}: largest difference {worst:.2e} of the bound");
}

/// `mpirun -n 1..4 mfpde pde` in 2-D (quickstart: η = 0.02, the heat
/// kernel along a), 3-D (bias3d: (a, w1, w2), λ = 0.01, η = 0.05) and 4-D
/// (teacher4d): the split scheme with the spectral diffusion (by kernel
/// along a, whose half-width over Δt_max sets the halo; by kernel or DCT
/// along the w axes, which every slab holds whole). Each file follows the
/// serial one within [`slab_bound`]; on one rank it has the serial
/// numbers to the bit (the files of more ranks do not: their moments are
/// summed in another order).
#[test]
#[ignore]
fn the_grid_pde_over_1_to_4_ranks_follows_the_serial_run() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 10] = [
        (
            "2-D",
            "quickstart",
            &[
                "grid.cells=[64,48]",
                "dynamics.t_end=2",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "2-D, Lie splitting, DCT along w (gibbs: Δt = 0.5 on 384 cells of w, a kernel wider than its limit; along a the kernel's 16 rows are the halo)",
            "gibbs",
            &[
                "solver.scheme=\"split\"",
                "grid.cells=[64,384]",
                "solver.splitting=\"lie\"",
                "dynamics.t_end=5",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "3-D",
            "bias3d",
            &[
                "grid.cells=[24,16,16]",
                "dynamics.t_end=1",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "2-D, Δt_max = 500 (quickstart: the halo the advection's; along a the kernel of each Δt, wider, on pencils of whole lines)",
            "quickstart",
            &[
                "grid.cells=[64,48]",
                "solver.dt_max=500",
                "dynamics.t_end=2",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "3-D, a stretched a axis (bias3d: its heat flow on pencils)",
            "bias3d",
            &[
                "grid.cells=[24,16,16]",
                "grid.map.a={kind=\"sinh\", centre=0.0, width=1.0}",
                "dynamics.t_end=1",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "2-D sg (gibbs: Δt = 0.5, lines along a on pencils)",
            "gibbs",
            &[
                "grid.cells=[48,64]",
                "dynamics.t_end=10",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "3-D sg (bias3d)",
            "bias3d",
            &[
                "solver.scheme=\"sg\"",
                "solver.dt_max=0.05",
                "grid.cells=[24,16,16]",
                "dynamics.t_end=1",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "2-D with birth–death (quickstart, α = 1: Ψ from the summed moments, the sums of Φ̄ over the ranks)",
            "quickstart",
            &[
                "grid.cells=[64,48]",
                "dynamics.birth_death=1",
                "dynamics.t_end=2",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "2-D sg with birth–death (gibbs, α = 1)",
            "gibbs",
            &[
                "grid.cells=[48,64]",
                "dynamics.birth_death=1",
                "dynamics.t_end=10",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "4-D",
            "teacher4d",
            &[
                "grid.cells=[28,12,12,10]",
                "dynamics.t_end=0.5",
                "dynamics.snapshots=2",
            ],
        ),
    ];
    for (i, (what, problem, sets)) in cases.iter().enumerate() {
        let serial = dir.path().join(format!("p{i}_serial.h5"));
        let args = command("pde", problem, sets, &serial);
        let run = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args(&args)
            .output();
        ok(run.unwrap(), what);
        for n in 1..=4 {
            let out = dir.path().join(format!("p{i}_n{n}.h5"));
            ok(
                mpirun(n)
                    .args(command("pde", problem, sets, &out))
                    .output()
                    .unwrap(),
                what,
            );
            pde_agrees(&serial, &out, &format!("{what} on {n} ranks"));
            if n == 1 {
                // one slab, no halo: the serial arithmetic, deferred
                // diffusion and all, so the serial numbers to the bit
                let (a, b) = (datasets(&serial), datasets(&out));
                for (x, y) in a.iter().zip(&b) {
                    assert!(x == y, "{what} on 1 rank: {} differs", x.0);
                }
            }
        }
    }
}

/// A grid PDE run killed by SIGTERM on 3 ranks after its 2nd snapshot and
/// resumed on 2 follows the serial run that was never stopped (within
/// [`slab_bound`]), its snapshots before the kill kept as written.
#[test]
#[ignore]
fn a_grid_pde_killed_on_3_ranks_and_resumed_on_2_follows_the_serial_run() {
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        "grid.cells=[512,512]",
        "dynamics.t_end=10",
        "dynamics.snapshots=16",
    ];
    let (whole, out) = stop_on_3_resume_on_2(dir.path(), "pde", "quickstart", &sets, 2);
    pde_agrees(&whole, &out, "killed on 3 ranks, resumed on 2");
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
    // the report of `check --ranks n` with `set`: the numbers after `keys`
    // in the line of `line`
    let report = |set: &str, n: usize, line: &str, keys: &[&str]| -> Vec<f64> {
        let o = common::mfpde_ok([
            "check".as_ref(),
            grid("quickstart").as_os_str(),
            "--set".as_ref(),
            set.as_ref(),
            "--ranks".as_ref(),
            n.to_string().as_ref(),
        ]);
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let at = text
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} in {text}"));
        let text = &text[at..];
        let after = |key: &str| -> f64 {
            let i = text
                .find(key)
                .unwrap_or_else(|| panic!("{key:?} in {text}"))
                + key.len();
            text[i..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        keys.iter().map(|k| after(k)).collect()
    };
    let held = |n: usize| {
        let v = report(
            "particles.m=1000000",
            n,
            "the network (mpirun",
            &["rank 0 holds", "each other rank"],
        );
        (v[0], v[1])
    };
    let ((root2, other2), (_, other4)) = (held(2), held(4));
    let mib = |neurons: f64| neurons * 2.0 * 8.0 / 1048576.0;
    // printed to 0.1 MiB
    assert!((root2 - other2 - mib(1e6)).abs() <= 0.1, "{root2} {other2}");
    assert!(
        (other2 - other4 - mib(0.25e6)).abs() <= 0.1,
        "{other2} {other4}"
    );
    // the grid PDE at 512²: slabs of 512/N rows of a with halos of 17
    // rows (the kernel over Δt_max: Strang's halves merged), each side of
    // a rank between two
    let slab = |n: usize| -> (f64, f64) {
        let keys = [
            "slabs of at most",
            "halos of",
            "rank 0 holds",
            "each other rank",
        ];
        let v = report("grid.cells=[512,512]", n, "the PDE (mpirun", &keys);
        assert_eq!((v[0], v[1]), ((512 / n) as f64, 17.0));
        (v[2], v[3])
    };
    let ((root2, other2), (_, other4)) = (slab(2), slab(4));
    // per held row of 512 cells: ρ, the stage, the increments, 2 face
    // velocities, the rates (8 + D = 10 values); 2 ranks hold 256 + 17
    // rows, 4 at most 128 + 34; rank 0 adds one slab of ρ (the others'
    // come to it one at a time), and with --theorems the whole ρ and its
    // velocity at every snapshot
    let rows = |r: f64| r * 512.0 * 8.0 * 10.0 / 1048576.0;
    assert!(
        (other2 - other4 - rows(273.0 - 162.0)).abs() <= 0.1,
        "{other2} {other4}"
    );
    let whole = 512.0 * 512.0 * 8.0 / 1048576.0;
    let held = 273.0 * 512.0 * 8.0 / 1048576.0;
    assert!((root2 - other2 - held).abs() <= 0.1, "{root2} {other2}");
    let with = report(
        "grid.cells=[512,512]",
        2,
        "the PDE (mpirun",
        &["the whole grid,"],
    )[0];
    assert!(
        (with - other2 - 4.0 * whole).abs() <= 0.1,
        "{with} {other2}"
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
