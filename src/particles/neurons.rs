//! **The seam between the particle kinds**: what a run, its observers and
//! its files need of the neurons, whichever space they live in — the
//! full-grid [`Swarm`] (θ is the grid's coordinates) or the d-dimensional
//! [`WideSwarm`] of a reduced problem (θ = (a, w ∈ ℝᵈ), seen through its
//! reduced coordinates (a, Uᵀw, |w⊥|)). [`super::network`] picks the kind
//! from the model.

use super::snapshot::ParticleDiagnostics;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// The index of the first value of `s` that is not finite: a scan that
/// vectorises first (v − v is 0 for a finite v, NaN otherwise, summed in 8
/// lanes over blocks in parallel), the search only where it fails. (The
/// search alone, rayon's `position_first`, took 12 % of a quickstart
/// particle run, called after every step.)
#[allow(clippy::eq_op)] // v − v is the test: NaN for NaN and ±∞
pub(super) fn first_non_finite_value(s: &[f64]) -> Option<usize> {
    let finite = s.par_chunks(1 << 15).all(|c| {
        let mut acc = [0.0; 8];
        let mut whole = c.chunks_exact(8);
        for w in &mut whole {
            for (a, v) in acc.iter_mut().zip(w) {
                *a += v - v;
            }
        }
        for (a, v) in acc.iter_mut().zip(whole.remainder()) {
            *a += v - v;
        }
        acc.iter().all(|a| *a == 0.0)
    });
    match finite {
        true => None,
        false => s.par_iter().position_first(|v| !v.is_finite()),
    }
}

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
        let i = first_non_finite_value(s)?;
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

#[cfg(test)]
mod tests {
    /// The first value that is not finite, NaN or ±∞, found wherever it
    /// lies (in a lane, in a block's remainder, past the first block, with
    /// a later one beside it), and none in finite values up to ±f64::MAX.
    #[test]
    fn the_first_non_finite_value_is_found() {
        let n = (1 << 15) * 3 + 13;
        let mut s: Vec<f64> = (0..n).map(|i| (i as f64 - 5e4) * 1e300).collect();
        s[7] = f64::MAX;
        s[8] = -f64::MAX;
        assert_eq!(super::first_non_finite_value(&s), None);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for at in [0, 5, (1 << 15) - 1, 1 << 15, n - 1] {
                let mut t = s.clone();
                t[at] = bad;
                t[n - 2] = f64::NAN;
                assert_eq!(super::first_non_finite_value(&t), Some(at.min(n - 2)));
            }
        }
    }
}
