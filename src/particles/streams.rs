//! **The swarm's random streams**: each neuron's initial draw from ρ0 on a
//! stream of its own, and the noise of each step and block of neurons at a
//! fixed word of its stream, so that the draws never depend on the threads
//! or the ranks.

use crate::initial::{AxisLaw, Gaussian, InitialLaw};
use crate::model::data::by_inversion;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The first noise stream (the streams below are the neurons' initial draws).
const NOISE_STREAM: u64 = 1 << 62;

/// Draw one θ from the initial law.
pub(super) fn sample_initial(law: &InitialLaw, rng: &mut ChaCha8Rng, out: &mut [f64]) {
    let gauss = |g: &Gaussian, rng: &mut ChaCha8Rng, out: &mut [f64]| {
        for (k, o) in out.iter_mut().enumerate() {
            let z: f64 = rng.sample(StandardNormal);
            *o = g.mean[k] + g.std[k] * z;
        }
    };
    match law {
        InitialLaw::Gaussian(g) => gauss(g, rng, out),
        InitialLaw::Uniform { lo, hi } => {
            for (k, o) in out.iter_mut().enumerate() {
                *o = lo[k] + (hi[k] - lo[k]) * rng.random::<f64>();
            }
        }
        InitialLaw::Product(axes) => {
            for (o, ax) in out.iter_mut().zip(axes) {
                *o = match *ax {
                    AxisLaw::Normal { mean, std } => {
                        mean + std * rng.sample::<f64, _>(StandardNormal)
                    }
                    AxisLaw::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
                };
            }
        }
        InitialLaw::Mixture(cs) => {
            let pick = by_inversion(cs.iter().map(|c| c.0), rng.random());
            gauss(&cs[pick].1, rng, out);
        }
        InitialLaw::Isotropic { head, w_std, n } => {
            // (a, p) Gaussian, r = s_w |z| for z ~ N(0, Iₙ)
            let last = out.len() - 1;
            gauss(head, rng, &mut out[..last]);
            let sq: f64 = (0..*n)
                .map(|_| {
                    let z: f64 = rng.sample(StandardNormal);
                    z * z
                })
                .sum();
            out[last] = w_std * sq.sqrt();
        }
    }
}

/// The stream of neuron j's initial draw.
pub(super) fn neuron_rng(seed: u64, j: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(j as u64);
    r
}

/// The noise of step n for neuron block b: stream 2⁶² + b from word 2³²·n.
/// A block draws at most a few NOISE_BLOCK·D words per step, far from 2³².
pub(super) fn noise_rng(seed: u64, b: usize, step: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(NOISE_STREAM + b as u64);
    r.set_word_pos(u128::from(step) << 32);
    r
}
