//! **The particle side**: the m-neuron network of docs/model.md §1 trained by
//! Euler–Maruyama on dθ_j = V(θ_j; μ^m) dt + √η dB_j (docs/model.md §3):
//!
//! ```text
//! θ_j ← θ_j + Δt V(θ_j; μ^m) + √(η Δt) ξ_j,   ξ_j ~ N(0, I)
//! ```
//!
//! with V (the model's [`crate::model::Drift`]) computed from E_x by the
//! problem's quadrature (`population`, the finite-m version of the PDE's
//! dynamics), a fresh batch of B samples of P at every step (`sgd`), or the
//! whole data set (`full_batch`). A run needs the model, ρ0 and its
//! [`ParticleOptions`], no grid: histograms on a grid are taken by whoever
//! has one ([`histogram`]).
//!
//! Reproducible to the bit: neuron j is drawn from ρ0 with its own ChaCha8
//! stream (seed, stream j); the noise of step n for the block b of
//! [`NOISE_BLOCK`] neurons comes from stream 2⁶² + b at word 2³²·n
//! (counter-based: no per-neuron state, so θ and n are the whole state of a
//! run); the batches come from stream u64::MAX; f_m is summed over a fixed
//! partition of the neurons in a fixed order. So 1 or many threads, and every
//! SIMD variant of the [`kernel`], give identical bytes. A step costs
//! O(m × #nodes) (or O(m × B)), holds O(m D + #nodes) memory and allocates
//! nothing.
//!
//! Files: [`options`] (what a run is asked), [`neurons`] (what a run needs
//! of either kind of neurons), [`swarm`] (the neurons on the grid's
//! coordinates and their step), [`wide`] (the d-dimensional network of a
//! reduced problem), [`mirror`] (±x node pairs), [`kernel`] (the vectorised
//! loops), [`snapshot`] (what is observed), and here the run loop.

mod jumps;
pub mod kernel;
mod mirror;
pub mod neurons;
pub mod options;
pub mod snapshot;
mod split;
mod streams;
pub mod swarm;
pub mod wide;

pub use neurons::Neurons;
pub use options::{Mode, ParticleOptions};
pub use snapshot::{histogram, moments, ParticleDiagnostics, ParticleRecord};
pub use swarm::{folded_pairs, Swarm, NOISE_BLOCK};

use crate::error::Result;
use crate::grid::Grid;
use crate::initial::InitialLaw;
use crate::model::MeanField;
use wide::WideSwarm;

/// The numbers per neuron a run continues from: D, or 1 + d for the
/// d-dimensional network of a reduced problem (a is kept when frozen).
pub fn state_dim(model: &MeanField) -> usize {
    match &model.reduction {
        Some(red) => 1 + red.sizes.dim,
        None => model.dim(),
    }
}

/// How a problem's particle runs take R(μ^m) (the `/particles` attribute
/// `risk`, and `mfpde check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskMethod {
    /// The problem's quadrature of P (the full-grid swarm).
    Quadrature,
    /// The d-dimensional network's own risk, exact through the Gaussian
    /// kernel κ.
    Kernel,
    /// The d-dimensional network's own risk on fixed samples of P in ℝ^dim.
    Sampled { dim: usize },
}

impl RiskMethod {
    /// In words (as stored).
    pub fn describe(self) -> String {
        match self {
            RiskMethod::Quadrature => "1/2 sum_q w_q (f_m(x_q) - f*(x_q))^2 on the problem's quadrature of P, plus the weight decay".into(),
            RiskMethod::Kernel => "the network's own 1/2 E_x[(f_m - f*)^2] over x in R^d, exact through the Gaussian kernel kappa, plus the weight decay".into(),
            RiskMethod::Sampled { dim } => format!(
                "the network's own 1/2 E_x[(f_m - f*)^2] over x in R^{dim}, on {} fixed samples of P with the control variates 1/2 f*^2 and f_m f* (their means from the reduced quadrature), plus the weight decay; each snapshot's standard error, from its samples, is risk_se",
                wide::RISK_SAMPLES
            ),
        }
    }
}

/// How a problem's particle runs take R(μ^m).
pub fn risk_method(model: &MeanField) -> RiskMethod {
    match &model.reduction {
        None => RiskMethod::Quadrature,
        Some(_) if wide::population_refusal(model).is_none() => RiskMethod::Kernel,
        Some(red) => RiskMethod::Sampled { dim: red.sizes.dim },
    }
}

/// The neurons of a problem: the d-dimensional network when it is reduced,
/// the swarm on the grid's coordinates otherwise.
///
/// # Errors
/// What [`WideSwarm::new`] refuses (by field name).
pub fn network(
    model: &MeanField,
    initial: &InitialLaw,
    opts: &ParticleOptions,
) -> Result<Box<dyn Neurons>> {
    network_on(model, initial, opts, None)
}

/// [`network`], split over `ranks` when given (see [`Swarm::on`] and
/// [`WideSwarm::on`]).
///
/// # Errors
/// What [`WideSwarm::on`] and [`Swarm::on`] refuse, by name.
pub fn network_on(
    model: &MeanField,
    initial: &InitialLaw,
    opts: &ParticleOptions,
    ranks: Option<crate::ranks::Shared>,
) -> Result<Box<dyn Neurons>> {
    birth_death_refusal(model, ranks.as_ref().map_or(1, |r| r.size()))?;
    Ok(match model.reduction {
        Some(_) => Box::new(WideSwarm::on(model, initial, opts, ranks)?),
        None => Box::new(Swarm::on(model, initial, opts, ranks)?),
    })
}

/// Why the network of `model` cannot take its birth–death (docs/model.md
/// §8) on `ranks` processes, by name: η > 0 (a finite network has no
/// log ρ at its neurons), the d-dimensional network of a reduced problem,
/// or a swarm split over ranks (its events copy neurons across them).
///
/// # Errors
/// [`crate::Error::Problem`] naming `dynamics.birth_death`.
pub fn birth_death_refusal(model: &MeanField, ranks: usize) -> Result<()> {
    let alpha = model.birth_death;
    let why = if alpha == 0.0 {
        return Ok(());
    } else if model.reduction.is_some() {
        "0 for the d-dimensional network of a reduced problem (its birth–death is not built); `mfpde pde` solves the PDE with it"
    } else if model.noise > 0.0 {
        "0 for the networks with noise (η > 0): their Φ needs log ρ at each neuron, which a finite network does not have; `mfpde pde` solves the PDE with it"
    } else if ranks > 1 {
        "0 for a network over MPI ranks (its events copy neurons across them: not built); one process takes it"
    } else {
        return Ok(());
    };
    Err(crate::Error::problem("dynamics.birth_death", alpha, why))
}

/// Why the network of `model` with m neurons cannot be split over `ranks`
/// ranks, by name: more ranks than the neuron groups its sums run over
/// (the swarm's 64 groups, the d-dimensional network's blocks of
/// [`wide::ROWS`]).
///
/// # Errors
/// [`crate::Error::Problem`] naming `mpirun -n`.
pub fn split_refusal(model: &MeanField, m: usize, ranks: usize) -> Result<()> {
    let group = match model.reduction {
        Some(_) => wide::ROWS,
        None => swarm::groups_of(m).0,
    };
    split::refusal(m, group, ranks).map_or(Ok(()), Err)
}

/// What one rank of a network split over ranks holds and sends, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankLoad {
    /// Rank 0's memory for the network (it also gathers every θ at a
    /// snapshot, and holds the file's buffers).
    pub root: f64,
    /// Each other rank's (the largest share).
    pub other: f64,
    /// Sent by the rank with the largest share per step (each rank
    /// receives the others' parts of the same exchange).
    pub step_sent: f64,
    /// Sent by that rank per snapshot (θ to rank 0, or its rows).
    pub snapshot_sent: f64,
}

/// The network of `model` with `opts` split over `n` ranks (`mpirun -n n`):
/// what each rank holds and sends.
///
/// # Errors
/// What [`split_refusal`] refuses.
pub fn rank_load(model: &MeanField, opts: &ParticleOptions, n: usize) -> Result<RankLoad> {
    split_refusal(model, opts.m, n)?;
    let m = opts.m as f64;
    let word = 8.0;
    Ok(match &model.reduction {
        None => {
            let dd = model.net.dim_theta() as f64;
            let (gs, groups) = swarm::groups_of(opts.m);
            let share = (groups.div_ceil(n) * gs).min(opts.m) as f64;
            let pairs = folded_pairs(model, opts);
            let k = match pairs {
                0 => opts.nodes_per_step(model.quad.len()),
                h => h,
            } as f64;
            let q = opts.nodes_per_step(model.quad.len()) as f64;
            // θ, the groups' partials (own and all), x̃ of the nodes
            let base = share * dd
                + 2.0 * swarm::GROUPS as f64 * q
                + groups as f64 * k
                + (model.net.dim_w() as f64 + 1.0) * q;
            RankLoad {
                root: word * (base + m * dd),
                other: word * base,
                step_sent: word * groups.div_ceil(n) as f64 * k,
                snapshot_sent: word * share * dd,
            }
        }
        Some(red) => {
            let (d, dim) = (red.sizes.dim as f64, model.dim() as f64);
            let blocks = opts.m.div_ceil(wide::ROWS);
            let share = (blocks.div_ceil(n) * wide::ROWS).min(opts.m) as f64;
            let b = match opts.mode {
                Mode::Sgd { batch } => batch as f64,
                _ => 0.0,
            };
            // every θ, positions, κ's factors and a/m; own gradients, Z, σ(Z)
            let base = m * (1.0 + d)
                + m * dim
                + 2.0 * m
                + share * (1.0 + d)
                + 2.0 * share * b
                + blocks as f64 * b;
            let (step, snap) = match opts.mode {
                Mode::Population => (share * (1.0 + d), 0.0),
                _ => (blocks.div_ceil(n) as f64 * b, share * (1.0 + d)),
            };
            RankLoad {
                // the exact risk's gradients of every neuron, at a snapshot
                root: word * (base + m * (1.0 + d)),
                other: word * base,
                step_sent: word * step,
                snapshot_sent: word * snap,
            }
        }
    })
}

/// Receives particle snapshots.
pub trait ParticleObserver: Send {
    /// At each snapshot time, with the diagnostics (the histogram on the
    /// problem's grid among them) and the neurons (their positions m × D,
    /// and the state a run continues from).
    fn snapshot(&mut self, diag: &ParticleDiagnostics, neurons: &dyn Neurons) -> Result<()>;
    /// When the run has reached its last snapshot.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What a finished particle run reports.
#[derive(Debug, Clone)]
pub struct ParticleSummary {
    pub steps: usize,
    pub last: ParticleDiagnostics,
}

/// The neurons' diagnostics at time t (f_m at `f_points`) with their
/// histogram on `grid`: everything a particle snapshot stores, taken once.
///
/// # Errors
/// [`crate::Error::Run`] when a diagnostic is not finite (the network's
/// f_m or risk overflowed: a target or a scale far out of range), naming it.
pub fn observe(
    neurons: &mut dyn Neurons,
    t: f64,
    f_points: &[Vec<f64>],
    grid: &Grid,
) -> Result<ParticleDiagnostics> {
    let mut d = neurons.diagnostics(t, f_points);
    let (h, outside) = histogram(grid, neurons.positions(), grid.dim());
    d.histogram = h;
    d.outside = outside;
    let bad = crate::error::first_non_finite([
        ("the network's risk R(μ^m)", std::slice::from_ref(&d.risk)),
        ("f_m at a quadrature node", &d.f_nodes[..]),
        ("f_m at an f point", &d.f_values[..]),
        ("the neurons' mean", &d.mean[..]),
        ("the neurons' covariance", &d.cov[..]),
    ]);
    match bad {
        Some(what) => Err(crate::Error::Run(format!(
            "at t = {t}, particle step {}: {what}, not finite (the target's or the data's scale overflows the network's diagnostics)",
            d.steps
        ))),
        None => Ok(d),
    }
}

/// Train the neurons from t = 0 with steps of `dt`, landing exactly on every
/// snapshot time; f_m is observed at `f_points`, the histogram on `grid`.
pub fn run(
    swarm: &mut dyn Neurons,
    dt: f64,
    times: &[f64],
    f_points: &[Vec<f64>],
    grid: &Grid,
    observers: &mut [&mut dyn ParticleObserver],
) -> Result<ParticleSummary> {
    run_from(swarm, dt, times, (0.0, 0), f_points, grid, observers)
}

/// [`run`] from time `start.0`, before snapshot `start.1` (a resumed run).
pub fn run_from(
    swarm: &mut dyn Neurons,
    dt: f64,
    times: &[f64],
    start: (f64, usize),
    f_points: &[Vec<f64>],
    grid: &Grid,
    observers: &mut [&mut dyn ParticleObserver],
) -> Result<ParticleSummary> {
    let mut t = start.0;
    let mut steps = 0;
    let mut last = ParticleDiagnostics::default();
    for &ts in &times[start.1.min(times.len())..] {
        steps += swarm.advance(&mut t, ts, dt)?;
        last = observe(swarm, t, f_points, grid)?;
        for o in observers.iter_mut() {
            o.snapshot(&last, &*swarm)?;
        }
    }
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(ParticleSummary { steps, last })
}
