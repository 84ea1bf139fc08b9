//! **Birth–death of neurons** (docs/model.md §8): the networks' side of
//! the PDE's reaction term −α (Φ − Φ̄) ρ, at η = 0 where Φ = Ψ.
//!
//! After each step every neuron j has an event with probability
//! 1 − e^{−α |Φ_j − Φ̄| Δt}, Φ̄ the neurons' mean: one above the mean dies
//! and takes the place of a copy of a uniformly chosen neuron; one below it
//! duplicates, its copy replacing a uniformly chosen neuron. m stays fixed,
//! and the generator is −α(Φ − Φ̄)μ + α(∫(Φ − Φ̄)dμ)μ = −α(Φ − Φ̄)μ: the
//! PDE's term, to first order in Δt (as the Euler step).
//!
//! Reproducible on any thread count: Φ_j is computed per neuron with the
//! nodes in order; the draws (whether an event, and the partner) come from
//! keyed counter-based streams, one per block of neurons and step; the
//! events are applied in the neurons' order, each from the positions before
//! any of them.

use crate::model::MeanField;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The first stream of the events' draws (the neurons' initial draws are
/// streams below m, the noise's from 2⁶²).
const JUMP_STREAM: u64 = 1 << 61;

/// Neurons per stream of events.
const JUMP_BLOCK: usize = 1024;

/// The draws of block b at step n: stream 2⁶¹ + b from word 2³²·n.
fn jump_rng(seed: u64, b: usize, step: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(JUMP_STREAM + b as u64);
    r.set_word_pos(u128::from(step) << 32);
    r
}

/// Ψ(θ_j) = a_j g(w_j) + (λ/2)|θ_j|², g(w) = Σ_q c_q σ(w·x̃_q) (or the
/// bump φ(x_q; w) of RBF units), for every
/// neuron of `theta` (m × D) with `c` the weighted residuals ω_q r_q at the
/// nodes x̃_q, `xt` coordinate-major (d_w × Q).
pub(super) fn potentials(
    model: &MeanField,
    theta: &[f64],
    d: usize,
    xt: &[f64],
    c: &[f64],
) -> Vec<f64> {
    let net = model.net;
    let (wax, dw, q) = (net.w_axis(), net.dim_w(), c.len());
    theta
        .par_chunks(d)
        .with_min_len(256)
        .map(|th| {
            let w = &th[wax..];
            let mut g = 0.0;
            let mut x = [0.0; crate::grid::MAX_DIM];
            for (k, ck) in c.iter().enumerate() {
                for (i, xi) in x.iter_mut().enumerate().take(dw) {
                    *xi = xt[i * q + k];
                }
                g += ck * net.unit(&w[..dw], &x[..dw]);
            }
            let a = net.frozen_a.unwrap_or(th[0]);
            let theta_sq: f64 = th.iter().map(|t| t * t).sum();
            model.psi(a, g, theta_sq)
        })
        .collect()
}

/// One step `step` of birth–death of length `dt` at rate `alpha` for the
/// neurons `theta` (m × D) of potentials `phi`: the events drawn and
/// applied (module docs). The number of events.
pub(super) fn jump(
    theta: &mut [f64],
    d: usize,
    phi: &[f64],
    alpha: f64,
    dt: f64,
    (seed, step): (u64, u64),
) -> usize {
    let m = phi.len();
    let mean = phi.iter().sum::<f64>() / m as f64;
    // (event, partner) per neuron, block by block from the block's stream
    let draws: Vec<(bool, usize)> = phi
        .par_chunks(JUMP_BLOCK)
        .enumerate()
        .flat_map_iter(|(b, block)| {
            let mut rng = jump_rng(seed, b, step);
            block
                .iter()
                .map(|p| {
                    let u: f64 = rng.random();
                    let partner = rng.random_range(0..m);
                    let rate = alpha * (p - mean).abs();
                    (u < -(-rate * dt).exp_m1(), partner)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let old = theta.to_vec();
    let mut events = 0;
    for (j, &(event, k)) in draws.iter().enumerate() {
        if !event {
            continue;
        }
        events += 1;
        // above the mean: j dies, a copy of k in its place; below: j's copy
        // in k's place
        let (to, from) = if phi[j] > mean { (j, k) } else { (k, j) };
        theta[to * d..(to + 1) * d].copy_from_slice(&old[from * d..(from + 1) * d]);
    }
    events
}
