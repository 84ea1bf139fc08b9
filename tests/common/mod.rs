//! Helpers shared by the integration tests.
#![allow(dead_code)]

use mfpde::diagnostics::Diagnostics;
use mfpde::problem::LoadedProblem;
use mfpde::setup::Setup;
use mfpde::solve::{HistoryRecord, Observer};
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the mfpde binary with `args`; panic with its stderr unless it exits 0.
pub fn mfpde_ok<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(&args)
        .output()
        .expect("mfpde starts");
    assert!(
        out.status.success(),
        "mfpde {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The problem files in grids/.
pub fn grid_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("grids"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .collect();
    files.sort();
    files
}

/// A grid file with overrides, validated.
pub fn grid_setup(name: &str, sets: &[&str]) -> Setup {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let path = root().join("grids").join(format!("{name}.toml"));
    let lp = LoadedProblem::from_file(&path, &sets).expect("problem loads");
    Setup::new(&lp).expect("problem is valid")
}

/// A problem text with overrides, validated.
pub fn text_setup(text: &str, sets: &[&str]) -> Setup {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let lp = LoadedProblem::from_str(text, &sets, Path::new(".")).expect("problem loads");
    Setup::new(&lp).expect("problem is valid")
}

/// Records everything the controller reports.
#[derive(Default)]
pub struct Recorder {
    pub snapshots: Vec<Diagnostics>,
    pub densities: Vec<Vec<f64>>,
    pub history: Vec<HistoryRecord>,
    /// min ρ and mass after every step.
    pub step_min: Vec<f64>,
    pub step_mass: Vec<f64>,
    pub cell_volume: f64,
    /// Each cell's volume, on a stretched grid.
    pub volumes: Option<Vec<f64>>,
}

impl Observer for Recorder {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> mfpde::Result<()> {
        self.snapshots.push(d.clone());
        self.densities.push(rho.to_vec());
        Ok(())
    }
    fn history(&mut self, rec: &HistoryRecord) -> mfpde::Result<()> {
        self.history.push(*rec);
        Ok(())
    }
    fn step(&mut self, _t: f64, _dt: f64, rho: &[f64]) -> mfpde::Result<()> {
        self.step_min
            .push(rho.iter().cloned().fold(f64::INFINITY, f64::min));
        let mass = match &self.volumes {
            None => rho.iter().sum::<f64>() * self.cell_volume,
            Some(v) => rho.iter().zip(v).map(|(r, v)| r * v).sum(),
        };
        self.step_mass.push(mass);
        Ok(())
    }
}

/// Solve and record.
pub fn run(setup: &Setup) -> Recorder {
    let mut rec = Recorder {
        cell_volume: setup.grid.cell_volume(),
        volumes: (!setup.grid.is_uniform()).then(|| {
            (0..setup.grid.len())
                .map(|i| setup.grid.volume_at(i))
                .collect()
        }),
        ..Default::default()
    };
    mfpde::solve::solve(setup, &mut [&mut rec]).expect("run succeeds");
    rec
}

/// L1 distance Σ |a − b| |C|.
pub fn l1(a: &[f64], b: &[f64], vol: f64) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * vol
}

/// The r = 0 wall problem (tests/reduction.rs): linear units in d = 2,
/// k = 0, a frozen a = 1, so r is an Ornstein–Uhlenbeck radius with
/// E[r²](t) = 2 s_w² e^{−2t} + η (1 − e^{−2t}), on r ∈ [0, 4].
pub fn r0_wall_problem(s_w: f64, eta: f64) -> String {
    format!(
        r#"
[model]
activation = "linear"
weight_decay = 1.0
train_a = false
[data]
law = "gaussian"
dim = 2
nodes = 2
[symmetry]
directions = 0
radial_nodes = 2
cosine_nodes = 2
[target]
kind = "expression"
expression = "0"
[dynamics]
noise = {eta}
t_end = 1.0
snapshots = 2
[initial]
kind = "isotropic"
std = [{s_w}]
[grid]
lo = [0.0]
hi = [4.0]
cells = [64]
"#
    )
}

/// `mfpde sweep STUDY -o OUT --jobs J`, which must succeed.
pub fn sweep_ok(study: &Path, out: &Path, jobs: usize) -> std::process::Output {
    mfpde_ok([
        "sweep".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--jobs".as_ref(),
        jobs.to_string().as_ref(),
    ])
}

/// `/study/<name>`'s numbers in a collected study file.
pub fn study_series(file: &Path, name: &str) -> Vec<f64> {
    mfpde::io::hdf5::read::Reader::open(file)
        .unwrap()
        .series(&format!("study/{name}"))
        .unwrap()
}

/// L1 distance Σ |a − b| |C_i| on any grid (stretched or not).
pub fn l1_on(grid: &mfpde::grid::Grid, a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(i, (x, y))| (x - y).abs() * grid.volume_at(i))
        .sum()
}

/// Observed orders log2(e_k / e_{k+1}) of errors at successive halvings of h.
pub fn orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// The swarm of a setup's problem with particle options `o`.
pub fn swarm(s: &Setup, o: &mfpde::particles::ParticleOptions) -> mfpde::particles::Swarm {
    mfpde::particles::Swarm::new(&s.model, &s.initial, o)
}

/// Train a swarm through the setup's snapshot times with step `o.dt`.
pub fn run_swarm(
    s: &Setup,
    o: &mfpde::particles::ParticleOptions,
    sw: &mut mfpde::particles::Swarm,
    observers: &mut [&mut dyn mfpde::particles::ParticleObserver],
) -> mfpde::particles::ParticleSummary {
    mfpde::particles::run(sw, o.dt, &s.snapshot_times, &s.f_points, &s.grid, observers)
        .expect("particle run succeeds")
}

/// A new swarm of `s` trained with `o`.
pub fn train(
    s: &Setup,
    o: &mfpde::particles::ParticleOptions,
    observers: &mut [&mut dyn mfpde::particles::ParticleObserver],
) -> (mfpde::particles::Swarm, mfpde::particles::ParticleSummary) {
    let mut sw = swarm(s, o);
    let sum = run_swarm(s, o, &mut sw, observers);
    (sw, sum)
}

/// The exact solution of grids/linear_gaussian.toml (λ, η from the file):
/// mean μ = (μ_a, μ_w) and covariance Σ of the Gaussian ρ_t from
/// μ' = −A μ, Σ' = −A Σ − Σ A + η I, A = [[λ, k], [k, λ]],
/// k = Σ_aw + μ_a μ_w − 1, by RK4 with 20 000 steps per unit time (error
/// far below the grids' O(h²)).
pub fn linear_gaussian_moments(
    t: f64,
    lam: f64,
    eta: f64,
    mu0: [f64; 2],
    var0: [f64; 2],
) -> ([f64; 2], [f64; 3]) {
    // y = (μ_a, μ_w, Σ_aa, Σ_aw, Σ_ww)
    let rhs = |y: [f64; 5]| -> [f64; 5] {
        let k = y[3] + y[0] * y[1] - 1.0;
        let (saa, saw, sww) = (y[2], y[3], y[4]);
        [
            -(lam * y[0] + k * y[1]),
            -(k * y[0] + lam * y[1]),
            -2.0 * (lam * saa + k * saw) + eta,
            -(lam * saw + k * sww) - (k * saa + lam * saw),
            -2.0 * (k * saw + lam * sww) + eta,
        ]
    };
    let mut y = [mu0[0], mu0[1], var0[0], 0.0, var0[1]];
    let n = (20_000.0 * t).ceil().max(1.0) as usize;
    let h = t / n as f64;
    let add =
        |y: [f64; 5], k: [f64; 5], c: f64| -> [f64; 5] { std::array::from_fn(|i| y[i] + c * k[i]) };
    for _ in 0..n {
        let k1 = rhs(y);
        let k2 = rhs(add(y, k1, h / 2.0));
        let k3 = rhs(add(y, k2, h / 2.0));
        let k4 = rhs(add(y, k3, h));
        y = std::array::from_fn(|i| y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
    }
    ([y[0], y[1]], [y[2], y[3], y[4]])
}

/// The Gibbs state of grids/linear_gaussian.toml: centred, covariance
/// (η/2) A*⁻¹ with k* the root in (−λ, λ) of k³ + k² − (λ² + η/2) k − λ² = 0
/// (by bisection; the cubic is positive at −λ… and changes sign once there
/// for the file's λ, η). Returns [Σ_aa, Σ_aw, Σ_ww].
pub fn linear_gaussian_gibbs(lam: f64, eta: f64) -> [f64; 3] {
    let p = |k: f64| k * k * k + k * k - (lam * lam + 0.5 * eta) * k - lam * lam;
    let (mut lo, mut hi) = (-lam * (1.0 - 1e-12), lam * (1.0 - 1e-12));
    assert!(p(lo) * p(hi) < 0.0, "one root in (−λ, λ)");
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if p(lo) * p(mid) <= 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let k = 0.5 * (lo + hi);
    let c = 0.5 * eta / (lam * lam - k * k);
    [c * lam, -c * k, c * lam]
}

/// Exact cell averages of the Gaussian N(mean, cov) on a 2-D grid, by a
/// tensor Gauss–Legendre rule of 6 × 6 points per cell (for a correlated
/// Gaussian; error far below the grid's).
pub fn gaussian2_cells(grid: &mfpde::grid::Grid, mean: [f64; 2], cov: [f64; 3]) -> Vec<f64> {
    let det = cov[0] * cov[2] - cov[1] * cov[1];
    let (ia, ib, ic) = (cov[2] / det, -cov[1] / det, cov[0] / det);
    let norm = 1.0 / (2.0 * std::f64::consts::PI * det.sqrt());
    let pdf = |a: f64, w: f64| {
        let (x, y) = (a - mean[0], w - mean[1]);
        norm * (-0.5 * (ia * x * x + 2.0 * ib * x * y + ic * y * y)).exp()
    };
    let gl = mfpde::model::Quadrature::uniform(&[-0.5], &[0.5], 6);
    let (n0, n1) = (grid.n[0], grid.n[1]);
    let mut out = vec![0.0; n0 * n1];
    for i in 0..n0 {
        for j in 0..n1 {
            let (ca, cw) = (grid.centre(0, i), grid.centre(1, j));
            let mut s = 0.0;
            for p in 0..gl.len() {
                for q in 0..gl.len() {
                    let (u, v) = (
                        gl.nodes[p] * grid.width(0, i),
                        gl.nodes[q] * grid.width(1, j),
                    );
                    s += gl.weights[p] * gl.weights[q] * pdf(ca + u, cw + v);
                }
            }
            out[i * n1 + j] = s;
        }
    }
    out
}

/// A store that hands every call to `inner` but `append`, which goes to
/// the test's `append` with `inner` (a kill, a density in parts).
pub struct Around<S, F> {
    pub inner: S,
    pub append: F,
}

impl<S, F> mfpde::io::store::Store for Around<S, F>
where
    S: mfpde::io::store::Store,
    F: FnMut(&mut S, &str, &[mfpde::io::store::Var], Option<&[f64]>) -> mfpde::Result<()> + Send,
{
    fn add_group(
        &mut self,
        group: &str,
        attrs: &[(&str, mfpde::io::store::Attr)],
        constants: &[mfpde::io::store::Var],
    ) -> mfpde::Result<()> {
        self.inner.add_group(group, attrs, constants)
    }

    fn append(
        &mut self,
        group: &str,
        vars: &[mfpde::io::store::Var],
        state: Option<&[f64]>,
    ) -> mfpde::Result<()> {
        (self.append)(&mut self.inner, group, vars, state)
    }

    fn append_rows(
        &mut self,
        group: &str,
        rows: &[Vec<mfpde::io::store::Var>],
    ) -> mfpde::Result<()> {
        self.inner.append_rows(group, rows)
    }

    fn add_whole(
        &mut self,
        group: &str,
        attrs: &[(&str, mfpde::io::store::Attr)],
        vars: &[mfpde::io::store::Var],
    ) -> mfpde::Result<()> {
        self.inner.add_whole(group, attrs, vars)
    }

    fn complete(&mut self) -> mfpde::Result<()> {
        self.inner.complete()
    }
}

/// A store that stops the run (as a kill would) right after `group`'s
/// `n`-th snapshot is written.
pub fn die_after<S: mfpde::io::store::Store>(
    inner: S,
    group: &'static str,
    n: usize,
) -> impl mfpde::io::store::Store {
    let mut seen = 0;
    let append =
        move |s: &mut S, g: &str, vars: &[mfpde::io::store::Var], state: Option<&[f64]>| {
            s.append(g, vars, state)?;
            if g == group {
                seen += 1;
                if seen == n {
                    return Err(mfpde::Error::Hdf5("simulated kill".into()));
                }
            }
            Ok(())
        };
    Around { inner, append }
}

/// Every dataset of an HDF5 file by path, as f64 bits.
pub fn datasets(path: &Path) -> Vec<(String, Vec<u64>)> {
    fn walk(g: &hdf5_pure::Group, prefix: &str, out: &mut Vec<(String, Vec<u64>)>) {
        for name in g.datasets().unwrap() {
            let ds = g.dataset(&name).unwrap();
            // numbers by their bits; a coordinate of labels by its text
            let bits = match ds.read_f64() {
                Ok(v) => v.iter().map(|v| v.to_bits()).collect(),
                Err(_) => ds
                    .read_vlen_strings(Default::default())
                    .unwrap()
                    .concat()
                    .bytes()
                    .map(u64::from)
                    .collect(),
            };
            out.push((format!("{prefix}/{name}"), bits));
        }
        for name in g.groups().unwrap() {
            walk(&g.group(&name).unwrap(), &format!("{prefix}/{name}"), out);
        }
    }
    let f = hdf5_pure::File::open(path).unwrap();
    let mut out = Vec::new();
    walk(&f.root(), "", &mut out);
    out.sort();
    out
}

/// Spawn a run, wait for its `k`-th printed snapshot line (the writer
/// commits a snapshot before it is printed), then send it `signal` and
/// wait for it to end.
pub fn stop_after(mut cmd: std::process::Command, k: usize, signal: i32) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        // a snapshot row starts with its time
        let line = line.unwrap();
        if (line.trim_start().chars().next()).is_some_and(|c| c.is_ascii_digit()) {
            seen += 1;
            if seen == k {
                break;
            }
        }
    }
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    child.wait().unwrap();
    assert_eq!(seen, k, "the run ended before snapshot {k}");
}

/// The L1 differences of successive refinements of the PDE of `name` with
/// `sets` on n × n grids for each n of `cells` (each twice the last), the
/// finer restricted to the coarser, at the last snapshot.
#[allow(dead_code)]
pub fn refinement_differences(name: &str, sets: &[&str], cells: &[usize]) -> Vec<f64> {
    let mut sols = Vec::new();
    let mut grids = Vec::new();
    for n in cells {
        let c = format!("grid.cells=[{n},{n}]");
        let mut all = vec![c.as_str()];
        all.extend_from_slice(sets);
        let s = grid_setup(name, &all);
        let rec = run(&s);
        sols.push(rec.densities.last().unwrap().clone());
        grids.push(s.grid.clone());
    }
    (0..cells.len() - 1)
        .map(|i| {
            let fine = mfpde::grid::restrict(&grids[i + 1], &sols[i + 1], 2);
            l1(&sols[i], &fine, grids[i].cell_volume())
        })
        .collect()
}

/// The observed orders in h of the PDE of `name` with `sets`: the L1
/// differences of successive refinements 64² … 512²
/// ([`refinement_differences`]) and their orders, printed under `what`.
#[allow(dead_code)]
pub fn orders_in_h(what: &str, name: &str, sets: &[&str]) -> Vec<f64> {
    let diffs = refinement_differences(name, sets, &[64, 128, 256, 512]);
    let p = orders(&diffs);
    eprintln!("{what}: successive L1 differences {diffs:?}, orders {p:?}");
    p
}

/// The PDE of `name` with `sets` to t = 0.4 in fixed steps `dt` (below the
/// CFL limit: asserted, every step Δt but the last two, which land on
/// t_end) with `splitting`, a history row per step.
#[allow(dead_code)]
pub fn fixed_steps(name: &str, sets: &[&str], splitting: &str, dt: f64) -> (Recorder, Setup) {
    let own = [
        "dynamics.t_end=0.4".to_string(),
        "dynamics.snapshots=2".into(),
        "solver.history_every=1".into(),
        "solver.cfl=0.9".into(),
        format!("solver.dt_max={dt}"),
        format!("solver.splitting=\"{splitting}\""),
    ];
    let mut all: Vec<&str> = own.iter().map(String::as_str).collect();
    all.extend_from_slice(sets);
    let s = grid_setup(name, &all);
    let rec = run(&s);
    // the first history row, at t = 0, has no step
    let dts: Vec<f64> = rec.history.iter().map(|h| h.dt).collect();
    let n = dts.len();
    assert!(
        dts[1..n - 2].iter().all(|h| (h - dt).abs() < 1e-12),
        "{dts:?}"
    );
    (rec, s)
}

/// Strang's L1 time errors at Δt = 0.02, 0.01, 0.005 fall at order 2 and
/// Lie's at 1 (each observed order within 10 %), `error_at(splitting, Δt)`
/// against a reference of the same grid at a far smaller Δt.
#[allow(dead_code)]
pub fn assert_splitting_orders(what: &str, error_at: impl Fn(&str, f64) -> f64) {
    for (splitting, lo, hi) in [("strang", 1.8, 2.2), ("lie", 0.9, 1.1)] {
        let errors: Vec<f64> = [0.02, 0.01, 0.005]
            .iter()
            .map(|&dt| error_at(splitting, dt))
            .collect();
        let p = orders(&errors);
        eprintln!("{what}, {splitting}: L1 time errors {errors:?}, orders {p:?}");
        assert!(
            p.iter().all(|&o| (lo..hi).contains(&o)),
            "{what}, {splitting}: {p:?}"
        );
    }
}

/// The m of the propagation-of-chaos tests, and the seeds averaged at each.
#[allow(dead_code)]
pub const CHAOS_M: [usize; 3] = [100, 1000, 10000];
#[allow(dead_code)]
pub const CHAOS_SEEDS: [u64; 3] = [10, 5, 2];

/// The mean over seeds `seed0`… of the W1 distance between the population
/// networks' marginals at t (Euler step `dt`) and those of the density
/// `rho` of `s`'s grid, per axis (2-D phase space) and m of [`CHAOS_M`].
#[allow(dead_code)]
pub fn chaos_w1(s: &Setup, rho: &[f64], t: f64, dt: f64, seed0: u64) -> [[f64; 3]; 2] {
    use mfpde::compare::{marginal, w1_marginal};
    let mut w1 = [[0.0; 3]; 2];
    for (i, (&m, &n)) in CHAOS_M.iter().zip(&CHAOS_SEEDS).enumerate() {
        for seed in 0..n {
            let o = mfpde::particles::ParticleOptions {
                m,
                seed: seed0 + seed,
                dt,
                mode: mfpde::particles::Mode::Population,
                store: m,
            };
            let mut net = mfpde::particles::network(&s.model, &s.initial, &o).unwrap();
            net.advance(&mut 0.0, t, o.dt).unwrap();
            for (k, w) in w1.iter_mut().enumerate() {
                let mut x: Vec<f64> = net.positions().chunks(2).map(|t| t[k]).collect();
                let edges = s.grid.edges(k);
                w[i] += w1_marginal(&edges, &marginal(&s.grid, rho, k), &mut x) / n as f64;
            }
        }
    }
    w1
}

/// The fitted log-log slope of `w` (one value per m of [`CHAOS_M`]) lies in
/// [−0.7, −0.35], the m^{-1/2} band of tests/compare.rs; the slope.
#[allow(dead_code)]
pub fn assert_rate_m_half(what: &str, w: &[f64; 3]) -> f64 {
    let mf: Vec<f64> = CHAOS_M.iter().map(|&m| m as f64).collect();
    let p = mfpde::converge::fit_loglog(&mf, w).slope;
    eprintln!("{what}: mean W1 {w:?}, slope {p:.3}");
    assert!((-0.7..=-0.35).contains(&p), "{what}: slope {p} from {w:?}");
    p
}

/// Run mfpde with `args` and `-o out` in the repository root: it must fail
/// and leave no file at `out`. Its standard error.
#[allow(dead_code)]
pub fn refused(args: &[&str], out: &Path) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(args)
        .arg("-o")
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{args:?} ran");
    assert!(!out.exists(), "{args:?} left {}", out.display());
    err
}
