//! **The d-dimensional network's own risk**, ½ E_x[(f_m(x) − f*(x))²] over
//! x ∈ ℝᵈ: exact through κ where it has a closed form, else on fixed
//! samples of P; and f_m at given points.

use super::{draw_samples, population_refusal, view, view_mut, WideSwarm};
use ndarray::linalg::general_mat_mul;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Samples of P a snapshot's risk is estimated on where κ has no closed
/// form, in chunks of [`RISK_CHUNK`]. The estimate's standard error is
/// computed from the samples themselves at every snapshot (`risk_se` in
/// `/particles`); the control variates of [`WideSwarm::sampled_data_risk`]
/// take out the spread of f*'s own tails, which alone was ~3 % of R for
/// f* = x₀² − 1.
pub const RISK_SAMPLES: usize = 1 << 14;
const RISK_CHUNK: usize = 512;

/// Sums over samples of (e, c₁, c₂) and of their products: what the
/// control-variate estimate needs, added chunk by chunk in a fixed order.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sums {
    n: f64,
    /// Σ e, Σ c₁, Σ c₂.
    s: [f64; 3],
    /// Σ of the products, row-major 3 × 3.
    p: [[f64; 3]; 3],
}

/// The numbers of a [`Sums`] (n, 3 sums, 9 products).
const SUMS: usize = 13;

impl Sums {
    /// Its numbers in a row (to send them).
    fn flat(&self) -> [f64; SUMS] {
        let mut out = [0.0; SUMS];
        out[0] = self.n;
        out[1..4].copy_from_slice(&self.s);
        for (i, row) in self.p.iter().enumerate() {
            out[4 + 3 * i..7 + 3 * i].copy_from_slice(row);
        }
        out
    }

    /// From [`Sums::flat`]'s numbers.
    fn from_flat(v: &[f64]) -> Sums {
        let mut s = Sums {
            n: v[0],
            ..Sums::default()
        };
        s.s.copy_from_slice(&v[1..4]);
        for (i, row) in s.p.iter_mut().enumerate() {
            row.copy_from_slice(&v[4 + 3 * i..7 + 3 * i]);
        }
        s
    }

    fn add(&mut self, v: [f64; 3]) {
        self.n += 1.0;
        for i in 0..3 {
            self.s[i] += v[i];
            for j in 0..3 {
                self.p[i][j] += v[i] * v[j];
            }
        }
    }

    fn merge(mut self, o: &Sums) -> Sums {
        self.n += o.n;
        for i in 0..3 {
            self.s[i] += o.s[i];
            for j in 0..3 {
                self.p[i][j] += o.p[i][j];
            }
        }
        self
    }

    /// The regression estimate of E e with controls c of known means
    /// `known`, and its standard error (residual spread over √N): ē −
    /// β·(c̄ − E c), β the least-squares fit of e on c (a control whose
    /// spread is round-off, or that the other explains, is left out).
    fn estimate(&self, known: [f64; 2]) -> (f64, f64) {
        let n = self.n;
        let mean = self.s.map(|v| v / n);
        let cov = |i: usize, j: usize| self.p[i][j] / n - mean[i] * mean[j];
        let mut beta = [0.0; 2];
        let mut used: Vec<usize> = Vec::new();
        // the controls' covariance, and theirs with e
        let a = [[cov(1, 1), cov(1, 2)], [cov(2, 1), cov(2, 2)]];
        let b = [cov(0, 1), cov(0, 2)];
        for i in 0..2 {
            // the spread of c_i left after the controls already used
            let mut left = a[i][i];
            for &u in &used {
                left -= a[i][u] * a[i][u] / a[u][u];
            }
            if left > 1e-12 * a[i][i] && a[i][i] > 0.0 {
                used.push(i);
            }
        }
        match used[..] {
            [i] => beta[i] = b[i] / a[i][i],
            [_, _] => {
                let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
                beta[0] = (b[0] * a[1][1] - b[1] * a[0][1]) / det;
                beta[1] = (b[1] * a[0][0] - b[0] * a[1][0]) / det;
            }
            _ => {}
        }
        let est = mean[0] - beta[0] * (mean[1] - known[0]) - beta[1] * (mean[2] - known[1]);
        // Var(e − β·c) = Var e − 2 β·Cov(c, e) + βᵀ Cov(c) β
        let var = cov(0, 0) - 2.0 * (beta[0] * b[0] + beta[1] * b[1])
            + beta[0] * beta[0] * a[0][0]
            + 2.0 * beta[0] * beta[1] * a[0][1]
            + beta[1] * beta[1] * a[1][1];
        // the residual's unbiased variance var·N/(N − 1 − controls), over N
        let dof = n - 1.0 - used.len() as f64;
        (est, (var.max(0.0) / dof).sqrt())
    }
}

impl WideSwarm {
    /// The data part of the network's own risk, ½ E_x[(f_m(x) − f*(x))²]
    /// over x ∈ ℝᵈ, and its standard error: exact through κ where it has a
    /// closed form (one Gaussian, a teacher, erf/ReLU/linear; standard error
    /// 0), else [`WideSwarm::sampled_data_risk`] (`f_nodes`: f̄_m at the
    /// reduced quadrature's nodes, its control variate's known mean).
    pub fn data_risk(&mut self, f_nodes: &[f64]) -> (f64, f64) {
        match self.every_g() {
            Some(g) => self.exact_data_risk(&g),
            None => self.sampled_data_risk(f_nodes),
        }
    }

    /// g(w_j) of every neuron where κ has a closed form (`None` elsewhere),
    /// from the population gradient; split over ranks, every rank takes
    /// its own neurons' and rank 0 gathers them (the others get `None`).
    pub(super) fn every_g(&mut self) -> Option<Vec<f64>> {
        population_refusal(&self.model).is_none().then_some(())?;
        let s = 1 + self.d;
        let rows = match self.part {
            Some(_) => self.own.clone(),
            None => 0..self.m,
        };
        self.population_gradients(true, rows);
        let mine: Vec<f64> = self.grad.chunks(s).map(|g| g[0]).collect();
        match self.part.as_mut() {
            None => Some(mine),
            Some(p) => {
                p.gather(&mine, 1);
                p.root().then(|| std::mem::take(&mut p.gathered))
            }
        }
    }

    /// The exact data risk from every neuron's g(w_j) (`g`, as
    /// [`WideSwarm::every_g`] gives it): κ's closed form, standard error 0.
    pub(super) fn exact_data_risk(&self, g: &[f64]) -> (f64, f64) {
        // (1/m) Σ_j a_j g(w_j) = (1/m²) Σ_jl a_j a_l κ_jl − (1/m) Σ_j a_j h*(w_j)
        let (s, k, kernel) = (1 + self.d, self.k, &self.kernel);
        let inv_t = 1.0 / self.teacher.len() as f64;
        let mut cross = 0.0;
        let mut with_teacher = 0.0;
        for (j, th) in self.theta.chunks(s).enumerate() {
            cross += self.am[j] * g[j];
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

    /// ½ E_x[(f_m(x) − y)²] on N = [`RISK_SAMPLES`] samples x_i ∈ ℝᵈ of P,
    /// with its standard error from the samples: the mean of
    /// e_i = ½ (f_m(x_i) − y_i)² corrected by two control variates whose
    /// means the reduced quadrature gives (y depends on x only through
    /// x̄ = (Uᵀx, |x⊥|), and E[f_m(x) | x̄] = f̄_m(x̄)):
    ///
    /// ```text
    /// c₁ = ½ y²,   E c₁ = ½ Σ_q ω_q f*_q²
    /// c₂ = f_m y,  E c₂ = Σ_q ω_q f̄_m(x̄_q) f*_q      (f̄_m = `f_nodes`)
    /// R̂ = ē − β·(c̄ − E c),  β the least-squares fit of e on (c₁, c₂)
    /// ```
    ///
    /// R̂ is unbiased but for the quadrature's error in E c (β times it) and
    /// has the spread of e left after the fit: at f_m = 0 none, near f_m =
    /// f* that of the residual alone. The samples are drawn from stream
    /// u64::MAX − 1 in chunks of [`RISK_CHUNK`] (chunk c from word 2³²·c: the
    /// same samples at every snapshot and on any number of threads).
    pub fn sampled_data_risk(&self, f_nodes: &[f64]) -> (f64, f64) {
        let sums = self.chunk_sums(0..RISK_SAMPLES / RISK_CHUNK);
        self.sampled_estimate(&sums, f_nodes)
    }

    /// The sums of the sampled risk's chunks, every chunk's on rank 0 when
    /// split over ranks (each rank takes its share of the chunks; the
    /// others get an empty vector), on one process all of them.
    pub(super) fn shared_chunk_sums(&self) -> Vec<Sums> {
        let chunks = RISK_SAMPLES / RISK_CHUNK;
        let Some(p) = self.part.as_ref() else {
            return self.chunk_sums(0..chunks);
        };
        let all = p.gather_shares(chunks, SUMS, |mine| {
            self.chunk_sums(mine).iter().flat_map(Sums::flat).collect()
        });
        all.chunks(SUMS).map(Sums::from_flat).collect()
    }

    /// The control-variate estimate from the chunks' sums, added in chunk
    /// order.
    pub(super) fn sampled_estimate(&self, sums: &[Sums], f_nodes: &[f64]) -> (f64, f64) {
        let sums = sums.iter().fold(Sums::default(), |a, c| a.merge(c));
        let quad = &self.model.quad;
        let (mut half_y2, mut f_y) = (0.0, 0.0);
        for ((w, y), f) in quad.weights.iter().zip(&self.model.fstar).zip(f_nodes) {
            half_y2 += 0.5 * w * y * y;
            f_y += w * f * y;
        }
        sums.estimate([half_y2, f_y])
    }

    /// The sums of the sampled risk's chunks `chunks`, in order.
    fn chunk_sums(&self, chunks: std::ops::Range<usize>) -> Vec<Sums> {
        let (d, k, m, s) = (self.d, self.k, self.m, 1 + self.d);
        let act = self.model.net.activation;
        let w = view(&self.theta[1..], m, d, s);
        chunks
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
                let mut sums = Sums::default();
                for (fi, yi) in f.iter().zip(&y) {
                    let fm = fi / m as f64;
                    sums.add([0.5 * (fm - yi).powi(2), 0.5 * yi * yi, fm * yi]);
                }
                sums
            })
            .collect()
    }

    /// [`WideSwarm::f_at`] at `points`; split over ranks, each rank takes
    /// its share of the points and rank 0 gathers them (the others get an
    /// empty vector). Each value is the same sum as on one process.
    pub(super) fn f_shared(&self, points: &[Vec<f64>]) -> Vec<f64> {
        let Some(p) = self.part.as_ref() else {
            return self.f_at(points.par_iter().cloned());
        };
        p.gather_shares(points.len(), 1, |mine| {
            self.f_at(points[mine].par_iter().cloned())
        })
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
