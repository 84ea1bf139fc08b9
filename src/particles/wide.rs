//! **The d-dimensional network of a reduced problem** (MODEL.md §6): m
//! neurons θ_j = (a_j, w_j ∈ ℝᵈ), trained on the population risk by
//! Euler–Maruyama in mean-field time, the exact population gradient through
//! the Gaussian kernel κ (O(m² d) per step, after the Gram matrix):
//!
//! ```text
//! g(w_j)   = (1/m) Σ_l a_l κ(|w_j|², |w_l|², w_j·w_l) − h*(w_j),
//! h*(w)    = (1/T) Σ_i a*_i κ(|w|², |u*_i|², p·u*_i)           (teacher on U),
//! ∇g(w_j)  = (1/m) Σ_l a_l (2 ∂_q κ w_j + ∂_c κ w_l) − ∇h*(w_j),
//! V_a = −g − λa,  V_w = −a ∇g − λw,   θ ← θ + Δt V + √(ηΔt) ξ,
//! ```
//!
//! for units whose κ has a closed form (erf, ReLU, linear), Gaussian data
//! and a teacher target. Its reduced coordinates (a_j, Uᵀw_j, |w_j⊥|) are
//! what is compared with the reduced PDE. Neuron j's initial draw comes
//! from its own ChaCha8 stream, the noise of step n from stream 2⁶² + j at
//! word 2³²·n (the swarm's streams, one neuron per block): the same bits on
//! any number of threads. A step allocates nothing.
//!
//! Not yet wired to `mfpde particles`/`run` (they hold the full-grid
//! [`super::Swarm`]); the library and its tests come first.

use super::swarm::{neuron_rng, noise_rng};
use crate::error::{Error, Result};
use crate::initial::InitialLaw;
use crate::model::kernel::Kernel;
use crate::model::{DataLaw, MeanField, Target};
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// The d-dimensional network of a reduced problem.
#[derive(Debug, Clone)]
pub struct WideSwarm {
    kernel: Kernel,
    d: usize,
    k: usize,
    m: usize,
    frozen_a: Option<f64>,
    weight_decay: f64,
    noise: f64,
    /// Teacher units (a*, u* ∈ ℝᵏ).
    teacher: Vec<(f64, Vec<f64>)>,
    /// a_j (trained) or a0 for every j (frozen).
    pub a: Vec<f64>,
    /// w_j, row-major m × d.
    pub w: Vec<f64>,
    seed: u64,
    steps: u64,
    /// Scratch of a step: |w_j|², g(w_j) and ∇g(w_j) (m × d).
    q: Vec<f64>,
    g: Vec<f64>,
    dg: Vec<f64>,
}

impl WideSwarm {
    /// m neurons of ρ0 (an `isotropic` law) in ℝᵈ, from `seed`. Refused,
    /// naming the field, when the problem is not reduced, its data are not
    /// one Gaussian, its target is not a teacher or its unit has no
    /// closed-form κ.
    pub fn new(model: &MeanField, initial: &InitialLaw, m: usize, seed: u64) -> Result<Self> {
        let Some(red) = &model.reduction else {
            return Err(Error::problem(
                "symmetry",
                "missing",
                "a reduced problem (a [symmetry] section)",
            ));
        };
        let DataLaw::Gaussian { std } = model.data_law else {
            return Err(Error::problem(
                "data.law",
                "not gaussian",
                "gaussian data for the d-dimensional network's population gradient",
            ));
        };
        let kernel = Kernel::new(model.net.activation, std);
        if kernel.kappa_grad(1.0, 1.0, 0.5).is_none() {
            return Err(Error::problem(
                "model.activation",
                format!("{:?}", model.net.activation),
                "erf, relu or linear (units whose Gaussian kernel has a closed form)",
            ));
        }
        let Target::Teacher(rows) = &model.target else {
            return Err(Error::problem(
                "target.kind",
                "not teacher",
                "a teacher on Uᵀx for the d-dimensional network's population gradient",
            ));
        };
        let InitialLaw::Isotropic { head, w_std, .. } = initial else {
            return Err(Error::problem(
                "initial.kind",
                "not isotropic",
                "isotropic: the law of w ∈ ℝᵈ",
            ));
        };
        let (d, k) = (red.sizes.dim, red.sizes.k);
        let frozen_a = model.net.frozen_a;
        let wax = usize::from(frozen_a.is_none());
        let mut a = vec![frozen_a.unwrap_or(0.0); m];
        let mut w = vec![0.0; m * d];
        a.par_iter_mut()
            .zip(w.par_chunks_mut(d))
            .enumerate()
            .for_each(|(j, (aj, wj))| {
                let mut rng = neuron_rng(seed, j);
                let mut z = || -> f64 { rng.sample(StandardNormal) };
                if frozen_a.is_none() {
                    *aj = head.mean[0] + head.std[0] * z();
                }
                for (i, wi) in wj.iter_mut().enumerate() {
                    let mean = if i < k { head.mean[wax + i] } else { 0.0 };
                    *wi = mean + w_std * z();
                }
            });
        Ok(WideSwarm {
            kernel,
            d,
            k,
            m,
            frozen_a,
            weight_decay: model.weight_decay,
            noise: model.noise,
            teacher: rows.iter().map(|r| (r[0], r[1..].to_vec())).collect(),
            a,
            w,
            seed,
            steps: 0,
            q: vec![0.0; m],
            g: vec![0.0; m],
            dg: vec![0.0; m * d],
        })
    }

    /// Number of neurons.
    pub fn m(&self) -> usize {
        self.m
    }

    /// The reduced coordinates (a_j if trained, Uᵀw_j, |w_j⊥|), m × D.
    pub fn reduced(&self) -> Vec<f64> {
        let (d, k) = (self.d, self.k);
        let mut out = Vec::with_capacity(self.m * (k + 2));
        for (aj, wj) in self.a.iter().zip(self.w.chunks(d)) {
            if self.frozen_a.is_none() {
                out.push(*aj);
            }
            out.extend_from_slice(&wj[..k]);
            out.push(wj[k..].iter().map(|x| x * x).sum::<f64>().sqrt());
        }
        out
    }

    /// g(w_j) and ∇g(w_j) of every neuron into `self.g` and `self.dg`: the
    /// exact population gradient.
    fn gradients(&mut self) {
        let (d, k, m) = (self.d, self.k, self.m);
        for (qj, w) in self.q.iter_mut().zip(self.w.chunks(d)) {
            *qj = w.iter().map(|x| x * x).sum();
        }
        let inv_t = 1.0 / self.teacher.len() as f64;
        let (q, w, a) = (&self.q, &self.w, &self.a);
        let (kernel, teacher) = (&self.kernel, &self.teacher);
        self.g
            .par_iter_mut()
            .zip(self.dg.par_chunks_mut(d))
            .enumerate()
            .for_each(|(j, (gj, dgj))| {
                *gj = 0.0;
                dgj.fill(0.0);
                let wj = &w[j * d..(j + 1) * d];
                let mut own = 0.0; // the coefficient of w_j
                for l in 0..m {
                    let wl = &w[l * d..(l + 1) * d];
                    let c: f64 = wj.iter().zip(wl).map(|(x, y)| x * y).sum();
                    let (kv, kq, kc) = kernel.kappa_grad(q[j], q[l], c).expect("closed form");
                    let al = a[l] / m as f64;
                    *gj += al * kv;
                    own += 2.0 * al * kq;
                    for (o, x) in dgj.iter_mut().zip(wl) {
                        *o += al * kc * x;
                    }
                }
                for (a_star, u) in teacher {
                    let c: f64 = wj[..k].iter().zip(u).map(|(x, y)| x * y).sum();
                    let uu: f64 = u.iter().map(|x| x * x).sum();
                    let (kv, kq, kc) = kernel.kappa_grad(q[j], uu, c).expect("closed form");
                    let at = a_star * inv_t;
                    *gj -= at * kv;
                    own -= 2.0 * at * kq;
                    for (o, x) in dgj[..k].iter_mut().zip(u) {
                        *o -= at * kc * x;
                    }
                }
                for (o, x) in dgj.iter_mut().zip(wj) {
                    *o += own * x;
                }
            });
    }

    /// One Euler–Maruyama step of Δt.
    pub fn step(&mut self, dt: f64) {
        self.gradients();
        let (g, dg) = (&self.g, &self.dg);
        let (d, lam, trained) = (self.d, self.weight_decay, self.frozen_a.is_none());
        let amp = (self.noise * dt).sqrt();
        let (seed, step) = (self.seed, self.steps);
        self.a
            .par_iter_mut()
            .zip(self.w.par_chunks_mut(d))
            .enumerate()
            .for_each(|(j, (aj, wj))| {
                let mut rng = noise_rng(seed, j, step);
                let mut xi = || -> f64 {
                    if amp > 0.0 {
                        amp * rng.sample::<f64, _>(StandardNormal)
                    } else {
                        0.0
                    }
                };
                let a = *aj;
                for (wi, dgi) in wj.iter_mut().zip(&dg[j * d..(j + 1) * d]) {
                    *wi += dt * (-a * dgi - lam * *wi) + xi();
                }
                if trained {
                    *aj += dt * (-g[j] - lam * a) + xi();
                }
            });
        self.steps += 1;
    }
}
