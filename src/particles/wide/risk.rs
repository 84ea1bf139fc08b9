//! **The d-dimensional network's own risk**, ½ E_x[(f_m(x) − f*(x))²] over
//! x ∈ ℝᵈ: exact through κ where it has a closed form, else on fixed
//! samples of P; and f_m at given points.

use super::{draw_samples, population_refusal, view, view_mut, WideSwarm};
use ndarray::linalg::general_mat_mul;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Samples of P a snapshot's risk is estimated on where κ has no closed
/// form (standard error about 1 % of the risk: the squared residual's
/// relative spread over √N), in chunks of [`RISK_CHUNK`].
pub const RISK_SAMPLES: usize = 1 << 14;
const RISK_CHUNK: usize = 512;

impl WideSwarm {
    /// The data part of the network's own risk, ½ E_x[(f_m(x) − f*(x))²]
    /// over x ∈ ℝᵈ: exact through κ where it has a closed form (one Gaussian,
    /// a teacher, erf/ReLU/linear), else on [`RISK_SAMPLES`] fixed samples
    /// of P (the same at every snapshot), with its standard error.
    pub fn data_risk(&mut self) -> (f64, f64) {
        if population_refusal(&self.model).is_some() {
            return self.sampled_data_risk();
        }
        // (1/m) Σ_j a_j g(w_j) = (1/m²) Σ_jl a_j a_l κ_jl − (1/m) Σ_j a_j h*(w_j)
        self.population_gradients(true);
        let (s, k, kernel) = (1 + self.d, self.k, &self.kernel);
        let inv_t = 1.0 / self.teacher.len() as f64;
        let mut cross = 0.0;
        let mut with_teacher = 0.0;
        for (j, th) in self.theta.chunks(s).enumerate() {
            cross += self.am[j] * self.grad[j * s];
            for (a_star, u) in &self.teacher {
                let c: f64 = th[1..1 + k].iter().zip(u).map(|(x, y)| x * y).sum();
                let uu: f64 = u.iter().map(|x| x * x).sum();
                let kv = kernel.kappa_grad_with(self.fac[j], kernel.factor(uu), c);
                with_teacher += self.am[j] * a_star * inv_t * kv.expect("closed form").0;
            }
        }
        // E f*² = (1/T²) Σ_ik a*_i a*_k κ(|u_i|², |u_k|², u_i·u_k)
        let mut fstar2 = 0.0;
        for (ai, ui) in &self.teacher {
            for (ak, uk) in &self.teacher {
                let dot: f64 = ui.iter().zip(uk).map(|(x, y)| x * y).sum();
                let (qi, qk) = (
                    ui.iter().map(|x| x * x).sum::<f64>(),
                    uk.iter().map(|x| x * x).sum::<f64>(),
                );
                fstar2 += ai * ak * inv_t * inv_t * kernel.kappa(qi, qk, dot);
            }
        }
        (0.5 * (cross - with_teacher + fstar2), 0.0)
    }

    /// ½ (1/N) Σ_i (f_m(x_i) − y_i)² over N = [`RISK_SAMPLES`] samples of P
    /// in ℝᵈ, drawn from stream u64::MAX − 1 in chunks of [`RISK_CHUNK`]
    /// (chunk c from word 2³²·c: the same samples at every snapshot and on
    /// any number of threads), and its standard error.
    pub fn sampled_data_risk(&self) -> (f64, f64) {
        let (d, k, m, s) = (self.d, self.k, self.m, 1 + self.d);
        let act = self.model.net.activation;
        let w = view(&self.theta[1..], m, d, s);
        let chunks: Vec<(f64, f64)> = (0..RISK_SAMPLES / RISK_CHUNK)
            .into_par_iter()
            .map(|c| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(u64::MAX - 1);
                rng.set_word_pos((c as u128) << 32);
                let (mut x, mut y) = (vec![0.0; RISK_CHUNK * d], vec![0.0; RISK_CHUNK]);
                draw_samples(&self.model, (d, k), &mut rng, &mut x, &mut y);
                let mut z = vec![0.0; m * RISK_CHUNK];
                let mut zv = view_mut(&mut z, m, RISK_CHUNK, RISK_CHUNK);
                general_mat_mul(1.0, &w, &view(&x, RISK_CHUNK, d, d).t(), 0.0, &mut zv);
                let mut f = vec![0.0; RISK_CHUNK];
                for (j, zr) in z.chunks(RISK_CHUNK).enumerate() {
                    let a = self.theta[j * s];
                    for (fi, zi) in f.iter_mut().zip(zr) {
                        *fi += a * act.sigma(*zi);
                    }
                }
                f.iter().zip(&y).fold((0.0, 0.0), |(s1, s2), (fi, yi)| {
                    let e = 0.5 * (fi / m as f64 - yi).powi(2);
                    (s1 + e, s2 + e * e)
                })
            })
            .collect();
        let n = RISK_SAMPLES as f64;
        let (s1, s2) = chunks
            .iter()
            .fold((0.0, 0.0), |(a, b), c| (a + c.0, b + c.1));
        let mean = s1 / n;
        (mean, ((s2 / n - mean * mean).max(0.0) / (n - 1.0)).sqrt())
    }

    /// f_m(x) = (1/m) Σ_j a_j φ(p_j, r_j; x̄) at reduced inputs x̄ (each
    /// summed over the neurons in order).
    pub(super) fn f_at(&self, points: impl IndexedParallelIterator<Item = Vec<f64>>) -> Vec<f64> {
        let (dim, s, wax) = (self.dim(), 1 + self.d, usize::from(self.trained));
        points
            .map(|x| {
                let mut f = 0.0;
                for (p, th) in self.pos.chunks(dim).zip(self.theta.chunks(s)) {
                    f += th[0] * self.model.unit(&p[wax..], &x);
                }
                f / self.m as f64
            })
            .collect()
    }
}
