//! **The particle side**: the m-neuron network of MODEL.md §1 trained by
//! Euler–Maruyama on dθ_j = V(θ_j; μ^m) dt + √η dB_j (MODEL.md §3):
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

pub mod kernel;
mod mirror;
pub mod neurons;
pub mod options;
pub mod snapshot;
pub mod swarm;
pub mod wide;

pub use neurons::{network, risk_method, state_dim, Neurons, RiskMethod};
pub use options::{Mode, ParticleOptions};
pub use snapshot::{histogram, moments, observe, ParticleDiagnostics, ParticleRecord};
pub use swarm::{folded_pairs, Swarm, NOISE_BLOCK};

use crate::error::Result;
use crate::grid::Grid;

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
        last = observe(swarm, t, f_points, grid);
        for o in observers.iter_mut() {
            o.snapshot(&last, &*swarm)?;
        }
    }
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(ParticleSummary { steps, last })
}
