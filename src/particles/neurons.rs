//! **The seam between the particle kinds**: what a run, its observers and
//! its files need of the neurons, whichever space they live in — the
//! full-grid [`Swarm`] (θ is the grid's coordinates) or the d-dimensional
//! [`WideSwarm`] of a reduced problem (θ = (a, w ∈ ℝᵈ), seen through its
//! reduced coordinates (a, Uᵀw, |w⊥|)). [`super::network`] picks the kind
//! from the model.

use super::snapshot::ParticleDiagnostics;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// The neurons of a particle run.
pub trait Neurons: Send {
    /// Number of neurons.
    fn m(&self) -> usize;
    /// Steps taken (the noise streams' position).
    fn steps(&self) -> u64;
    /// The SGD batch stream's word position.
    fn batch_word(&self) -> u128;
    /// One Euler–Maruyama step of length `dt`.
    fn step(&mut self, dt: f64);
    /// The neurons in the problem's phase-space coordinates (the grid's
    /// axes), row-major m × D: what histograms and distances are taken of.
    fn positions(&self) -> &[f64];
    /// What a run continues from, row-major m × [`state_dim`]: θ itself, or
    /// (a_j, w_j ∈ ℝᵈ) for the d-dimensional network.
    fn state(&self) -> &[f64];
    /// Continue a run from a stored state, its steps taken and batch
    /// stream position.
    ///
    /// # Panics
    /// If `state` is not m × [`state_dim`].
    fn restore(&mut self, state: &[f64], steps: u64, batch_word: u128);
    /// All snapshot diagnostics at time t, f_m at `f_points`.
    fn diagnostics(&mut self, t: f64, f_points: &[Vec<f64>]) -> ParticleDiagnostics;

    /// The first neuron whose state is not finite, with its position (the
    /// position is empty where this process does not hold it: a swarm
    /// split over ranks, where every rank calls this at once).
    fn first_non_finite(&self) -> Option<(usize, Vec<f64>)> {
        let s = self.state();
        let i = s.par_iter().position_first(|v| !v.is_finite())?;
        let j = i / (s.len() / self.m());
        let d = self.positions().len() / self.m();
        Some((j, self.positions()[j * d..(j + 1) * d].to_vec()))
    }

    /// Whole steps of `dt` from time `t` to `until`, the last one shortened
    /// to land on it; `t` becomes `until`. Returns the steps taken.
    ///
    /// # Errors
    /// [`Error::Run`] when a neuron's parameters stop being finite (the
    /// step is too long for the velocity, or the problem's scales overflow).
    fn advance(&mut self, t: &mut f64, until: f64, dt: f64) -> Result<usize> {
        let mut steps = 0;
        while *t < until {
            let lands = *t + dt >= until * (1.0 - 1e-12);
            let h = if lands { until - *t } else { dt };
            self.step(h);
            *t = if lands { until } else { *t + h };
            steps += 1;
            if let Some((j, theta)) = self.first_non_finite() {
                let has = match theta.is_empty() {
                    true => "has a θ".to_string(),
                    false => format!("has θ = {theta:?},"),
                };
                return Err(Error::Run(format!(
                    "at t = {}, particle step {}: neuron {j} {has} not finite (particles.dt = {dt} is too long for its velocity)",
                    *t,
                    self.steps(),
                )));
            }
        }
        Ok(steps)
    }
}
