//! **The d-dimensional network of a reduced problem** (docs/model.md §6): m
//! neurons θ_j = (a_j, w_j ∈ ℝᵈ), trained by Euler–Maruyama in mean-field
//! time, θ ← θ + Δt V + √(ηΔt) ξ with V_a = −g − λa, V_w = −a ∇g − λw (the
//! model's [`crate::model::Drift`]), and g, ∇g taken one of two ways:
//!
//! - `population`: the exact population gradient through the Gaussian
//!   kernel κ (erf, ReLU, linear units; one Gaussian; a teacher on U),
//!
//!   ```text
//!   g(w_j)  = (1/m) Σ_l a_l κ(|w_j|², |w_l|², w_j·w_l) − h*(w_j),
//!   h*(w)   = (1/T) Σ_i a*_i κ(|w|², |u*_i|², p·u*_i),
//!   ∇g(w_j) = (1/m) Σ_l a_l (2 ∂_q κ w_j + ∂_c κ w_l) − ∇h*(w_j),
//!   ```
//!
//!   O(m² d) per step: the Gram products W_J W_Lᵀ and the sums
//!   Σ_l (a_l/m) ∂_c κ w_l are matrix products over blocks of 64 × 256
//!   neurons;
//! - `sgd`: a fresh batch of B samples x_i ∈ ℝᵈ of P (one Gaussian, or the
//!   classes of `gaussian_scales` with their labels) at every step, any
//!   unit: Z = W Xᵀ, f_i = (1/m) Σ_j a_j σ(Z_ji), c_i = (f_i − y_i)/B,
//!   g_j = Σ_i c_i σ(Z_ji), ∇g_j = Σ_i c_i σ′(Z_ji) x_i — two matrix products,
//!   O(m B d) per step.
//!
//! Its positions are the reduced coordinates (a_j if trained, Uᵀw_j = the
//! first k coordinates of w_j, |w_j⊥|): what histograms, distances and the
//! snapshot's moments see. Its f at the reduced quadrature's nodes (and at
//! the f points) is f̄_m(x̄) = (1/m) Σ_j a_j φ(p_j, r_j; x̄), the network's
//! function averaged over the x with the same (Uᵀx, |x⊥|) (exact: that
//! average of σ(w_j·x) depends on w_j only through (p_j, r_j)) — what f_h
//! is compared with. Its risk is the network's own, ½ E_x[(f_m − f*)²] over
//! x ∈ ℝᵈ plus the weight decay: exact through κ where κ has a closed form,
//! else on [`RISK_SAMPLES`] fixed samples of P. It exceeds R at the reduced
//! empirical measure by ½ E_x[(f_m − f̄_m)²] = O(1/m), as a full-grid
//! swarm's R(μ^m) exceeds R(ρ) by its O(1/m) self-interaction.
//!
//! Reproducible to the bit on any number of threads: neuron j's initial
//! draw comes from its own ChaCha8 stream, the noise of step n from stream
//! 2⁶² + j at word 2³²·n (the swarm's streams, one neuron per block), the
//! batches from stream u64::MAX in order, the risk's samples from stream
//! u64::MAX − 1 by chunk; every sum over neurons or samples runs over fixed
//! blocks in a fixed order. A step holds O(m d) (+ O(m B) for sgd)
//! and allocates only its per-thread block scratch.

mod neurons;
mod pairs;
mod risk;

pub use risk::RISK_SAMPLES;

use super::options::{Mode, ParticleOptions};
use super::split::Part;
use super::streams::neuron_rng;
use crate::error::{Error, Result};
use crate::initial::InitialLaw;
use crate::model::kernel::Kernel;
use crate::model::{Activation, DataLaw, MeanField, Target};
use crate::ranks::Shared;
use crate::simd::Simd;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Neurons per row block of the products (and per fixed partial sum; a
/// rank of a split network holds whole blocks).
pub(crate) const ROWS: usize = 64;
/// Neurons per column block of the population's Gram products.
const COLS: usize = 256;

/// The d-dimensional network of a reduced problem.
pub struct WideSwarm {
    model: MeanField,
    d: usize,
    k: usize,
    m: usize,
    trained: bool,
    mode: Mode,
    kernel: Kernel,
    /// The variant of the erf unit's pair loop ([`pairs`]; the same bits in
    /// every one).
    simd: Simd,
    /// Teacher units (a*, u* ∈ ℝᵏ) (population).
    teacher: Vec<(f64, Vec<f64>)>,
    /// (a_j, w_j), row-major m × (1 + d) (a_j = a0 when frozen). Split
    /// over ranks, a rank steps its neurons `own`; the others' rows are
    /// current after every step (population) or at a snapshot (sgd).
    theta: Vec<f64>,
    own: std::ops::Range<usize>,
    part: Option<Part>,
    /// The reduced coordinates, m × D.
    pos: Vec<f64>,
    seed: u64,
    steps: u64,
    batch_rng: ChaCha8Rng,
    /// Scratch of a step: (g_j, ∇g_j) of the neurons `own` × (1 + d); per
    /// neuron κ's factor of |w_j|² and a_j/m (population);
    /// the batch x (B × d), y, Z and σ(Z) (`own` × B) and the own blocks'
    /// partial f (sgd).
    grad: Vec<f64>,
    fac: Vec<f64>,
    am: Vec<f64>,
    bx: Vec<f64>,
    by: Vec<f64>,
    z: Vec<f64>,
    sz: Vec<f64>,
    partial: Vec<f64>,
}

/// The rows j0.. of a row-major matrix of `rows` × `cols` values stored
/// with row stride `stride` from `data[0]`.
fn view(data: &[f64], rows: usize, cols: usize, stride: usize) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((rows, cols).strides((stride, 1)), data).expect("a strided block")
}

fn view_mut(data: &mut [f64], rows: usize, cols: usize, stride: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((rows, cols).strides((stride, 1)), data).expect("a strided block")
}

/// Why a reduced problem's network cannot take the population gradient
/// (`None` when it can): κ in closed form needs one Gaussian, a teacher and
/// an erf, ReLU or linear unit.
pub fn population_refusal(model: &MeanField) -> Option<Error> {
    let why = |value: String, what: &str| {
        Some(Error::problem(
            "particles.mode",
            format!("\"population\" with {value}"),
            format!("{what}, for the d-dimensional network's exact population gradient through κ (or mode = \"sgd\")"),
        ))
    };
    let DataLaw::Gaussian { std } = model.data_law else {
        return why("data.law = \"gaussian_scales\"".into(), "one Gaussian");
    };
    if Kernel::new(model.net.activation, std)
        .kappa_grad(1.0, 1.0, 0.5)
        .is_none()
    {
        return why(
            format!("model.activation = \"{}\"", model.net.activation.name()),
            "erf, relu or linear (units whose Gaussian kernel has a closed form)",
        );
    }
    if !matches!(model.target, Target::Teacher(_)) {
        return why("a target other than a teacher".into(), "a teacher on Uᵀx");
    }
    None
}

/// What the d-dimensional network needs of a problem: a reduction, ρ0
/// given in ℝᵈ (`isotropic`), and a mode it can take — not `full_batch`
/// (no data set), not `population` where [`population_refusal`] says why.
///
/// # Errors
/// The first of these that fails, naming the field.
pub fn check(model: &MeanField, initial: &InitialLaw, mode: Mode) -> Result<()> {
    if model.reduction.is_none() {
        return Err(Error::problem(
            "symmetry",
            "missing",
            "a reduced problem (a [symmetry] section)",
        ));
    }
    if !matches!(initial, InitialLaw::Isotropic { .. }) {
        return Err(Error::problem(
            "initial.kind",
            "a law on (a, p, r) with [particles] and [symmetry]",
            "\"isotropic\" (the law of (a, w ∈ ℝᵈ) the d-dimensional network is drawn from)",
        ));
    }
    match mode {
        Mode::Population => population_refusal(model).map_or(Ok(()), Err),
        Mode::Sgd { .. } => Ok(()),
        Mode::FullBatch => Err(Error::problem(
            "particles.mode",
            "\"full_batch\" with [symmetry]",
            "population or sgd (a reduced problem has no data set)",
        )),
    }
}

/// The reduced coordinates (a if `trained`, Uᵀw, |w⊥|) of θ = (a, w).
fn reduce_row(th: &[f64], k: usize, trained: bool, p: &mut [f64]) {
    let mut i = 0;
    if trained {
        p[0] = th[0];
        i = 1;
    }
    p[i..i + k].copy_from_slice(&th[1..1 + k]);
    p[i + k] = th[1 + k..].iter().map(|x| x * x).sum::<f64>().sqrt();
}

/// Samples of P in ℝᵈ into `x` (n × d) and `y` (n): x = s_c z (class c by
/// the inversion of its probabilities), y its label or f*(Uᵀx, |x⊥|).
fn draw_samples(
    model: &MeanField,
    (d, k): (usize, usize),
    rng: &mut ChaCha8Rng,
    x: &mut [f64],
    y: &mut [f64],
) {
    let mut xbar = [0.0; 3];
    for (xi, yi) in x.chunks_mut(d).zip(y.iter_mut()) {
        let label = model
            .data_law
            .label(model.data_law.draw(rng, &model.quad, xi));
        *yi = match label {
            Some(l) => l,
            None => {
                xbar[..k].copy_from_slice(&xi[..k]);
                xbar[k] = xi[k..].iter().map(|v| v * v).sum::<f64>().sqrt();
                model.target_at(&xbar[..k + 1]).unwrap_or(0.0)
            }
        };
    }
}

impl WideSwarm {
    /// m neurons of ρ0 (an `isotropic` law) in ℝᵈ, from `opts.seed`, with
    /// the step of `opts.mode`.
    ///
    /// # Errors
    /// What [`check`] refuses.
    pub fn new(model: &MeanField, initial: &InitialLaw, opts: &ParticleOptions) -> Result<Self> {
        Self::on(model, initial, opts, None)
    }

    /// [`WideSwarm::new`], split over `ranks` when given: a rank steps its
    /// blocks of [`ROWS`] neurons, holds every neuron's θ, and sends its
    /// rows to the others after every step (population: every g_j needs
    /// every w_l) or at a snapshot (sgd, whose rows meet only through the
    /// blocks' partial f at the batch, gathered every step). The sums run
    /// over the same blocks in the same order as on one process: the same
    /// bits.
    ///
    /// # Errors
    /// What [`check`] and [`Part::new`] refuse.
    pub fn on(
        model: &MeanField,
        initial: &InitialLaw,
        opts: &ParticleOptions,
        ranks: Option<Shared>,
    ) -> Result<Self> {
        check(model, initial, opts.mode)?;
        let part = ranks.map(|r| Part::new(r, opts.m, ROWS)).transpose()?;
        let own = part.as_ref().map_or((0, opts.m), Part::neurons);
        let own = own.0..own.1;
        let n_own = own.len();
        let (Some(red), InitialLaw::Isotropic { head, w_std, .. }) = (&model.reduction, initial)
        else {
            unreachable!("check refuses the others");
        };
        let batch = match opts.mode {
            Mode::Sgd { batch } => batch,
            _ => 0,
        };
        let std = match &model.data_law {
            DataLaw::Gaussian { std } => *std,
            _ => 1.0,
        };
        let (d, k, m) = (red.sizes.dim, red.sizes.k, opts.m);
        let frozen_a = model.net.frozen_a;
        let wax = model.net.w_axis();
        let mut theta = vec![0.0; m * (1 + d)];
        theta[own.start * (1 + d)..own.end * (1 + d)]
            .par_chunks_mut(1 + d)
            .enumerate()
            .with_min_len(64)
            .for_each(|(i, th)| {
                let mut rng = neuron_rng(opts.seed, own.start + i);
                let mut z = || -> f64 { rng.sample(StandardNormal) };
                th[0] = match frozen_a {
                    Some(a0) => a0,
                    None => head.mean[0] + head.std[0] * z(),
                };
                for (i, wi) in th[1..].iter_mut().enumerate() {
                    let mean = if i < k { head.mean[wax + i] } else { 0.0 };
                    *wi = mean + w_std * z();
                }
            });
        let teacher = match &model.target {
            Target::Teacher(rows) => rows.iter().map(|r| (r[0], r[1..].to_vec())).collect(),
            _ => Vec::new(),
        };
        let mut batch_rng = ChaCha8Rng::seed_from_u64(opts.seed);
        batch_rng.set_stream(u64::MAX);
        let dim = k + 1 + wax;
        let mut wide = WideSwarm {
            model: model.clone(),
            d,
            k,
            m,
            trained: frozen_a.is_none(),
            mode: opts.mode,
            kernel: Kernel::new(model.net.activation, std),
            simd: Simd::detect(),
            teacher,
            theta,
            own,
            part,
            pos: vec![0.0; m * dim],
            seed: opts.seed,
            steps: 0,
            batch_rng,
            grad: vec![0.0; n_own * (1 + d)],
            fac: vec![0.0; m],
            am: vec![0.0; m],
            bx: vec![0.0; batch * d],
            by: vec![0.0; batch],
            z: vec![0.0; n_own * batch],
            sz: vec![0.0; n_own * batch],
            partial: vec![0.0; n_own.div_ceil(ROWS) * batch],
        };
        wide.share_rows();
        wide.refresh_positions();
        Ok(wide)
    }

    /// Split over ranks: every rank's own rows of θ to every rank.
    fn share_rows(&mut self) {
        if let Some(p) = self.part.as_mut() {
            p.all_rows(&mut self.theta, 1 + self.d);
        }
    }

    /// The phase-space dimension D of the positions.
    fn dim(&self) -> usize {
        self.pos.len() / self.m
    }

    /// The reduced coordinates of θ into `pos`.
    fn refresh_positions(&mut self) {
        let (d, k, trained) = (self.d, self.k, self.trained);
        let dim = self.dim();
        self.pos
            .par_chunks_mut(dim)
            .zip(self.theta.par_chunks(1 + d))
            .with_min_len(64)
            .for_each(|(p, th)| reduce_row(th, k, trained, p));
    }

    /// (g_j, ∇g_j) of the neurons `rows` (whole blocks) into `grad`: the
    /// exact population gradient through κ; g_j only `with_g` (V_a and the
    /// risk need it, a step with a frozen is spared κ itself).
    fn population_gradients(&mut self, with_g: bool, rows: std::ops::Range<usize>) {
        let (d, k, m) = (self.d, self.k, self.m);
        let s = 1 + d;
        self.grad.resize(rows.len() * s, 0.0);
        for ((f, am), th) in self
            .fac
            .iter_mut()
            .zip(&mut self.am)
            .zip(self.theta.chunks(s))
        {
            *f = self.kernel.factor(th[1..].iter().map(|x| x * x).sum());
            *am = th[0] / m as f64;
        }
        let inv_t = 1.0 / self.teacher.len().max(1) as f64;
        let (fac, am, theta) = (&self.fac, &self.am, &self.theta);
        let (kernel, teacher) = (&self.kernel, &self.teacher);
        let (simd, erf) = (self.simd, kernel.activation == Activation::Erf);
        let w = &theta[1..];
        let first = rows.start;
        self.grad
            .par_chunks_mut(ROWS * s)
            .enumerate()
            .for_each_init(
                || {
                    (
                        vec![0.0; ROWS * COLS],
                        vec![0.0; ROWS * COLS],
                        vec![0.0; 2 * COLS],
                    )
                },
                |(cbuf, kbuf, scratch), (b, out)| {
                    let j0 = first + b * ROWS;
                    let rows = out.len() / s;
                    out.fill(0.0);
                    let wj = view(&w[j0 * s..], rows, d, s);
                    // g_j and the coefficients of w_j, summed over column blocks
                    let (mut gs, mut own) = ([0.0; ROWS], [0.0; ROWS]);
                    for l0 in (0..m).step_by(COLS) {
                        let cols = COLS.min(m - l0);
                        let wl = view(&w[l0 * s..], cols, d, s);
                        let mut c = view_mut(&mut cbuf[..rows * cols], rows, cols, cols);
                        general_mat_mul(1.0, &wj, &wl.t(), 0.0, &mut c);
                        let (fl, al) = (&fac[l0..l0 + cols], &am[l0..l0 + cols]);
                        let (gram, coef) = (&cbuf[..rows * cols], &mut kbuf[..rows * cols]);
                        if erf {
                            let cs = pairs::Columns {
                                s2: kernel.s2,
                                f: fl,
                                a: al,
                            };
                            let sums = (&mut gs[..rows], &mut own[..rows]);
                            let fj = &fac[j0..j0 + rows];
                            pairs::erf_tile(simd, with_g, cs, fj, gram, coef, sums, scratch);
                        } else {
                            for jj in 0..rows {
                                let fj = fac[j0 + jj];
                                let (mut g, mut o) = (0.0, 0.0);
                                let row = jj * cols..(jj + 1) * cols;
                                for (((kb, &c), &f), &a) in
                                    coef[row.clone()].iter_mut().zip(&gram[row]).zip(fl).zip(al)
                                {
                                    let (kv, kq, kc) = if with_g {
                                        kernel.kappa_grad_with(fj, f, c)
                                    } else {
                                        kernel.dkappa_with(fj, f, c).map(|(dq, dc)| (0.0, dq, dc))
                                    }
                                    .expect("closed form");
                                    g += a * kv;
                                    o += 2.0 * a * kq;
                                    *kb = a * kc;
                                }
                                gs[jj] += g;
                                own[jj] += o;
                            }
                        }
                        let coef = view(&kbuf[..rows * cols], rows, cols, cols);
                        let mut dg = view_mut(&mut out[1..], rows, d, s);
                        general_mat_mul(1.0, &coef, &wl, 1.0, &mut dg);
                    }
                    for jj in 0..rows {
                        let j = j0 + jj;
                        let wj = &w[j * s..j * s + d];
                        let o = &mut out[jj * s..(jj + 1) * s];
                        o[0] = gs[jj];
                        let mut own = own[jj];
                        for (a_star, u) in teacher {
                            let c: f64 = wj[..k].iter().zip(u).map(|(x, y)| x * y).sum();
                            let uu: f64 = u.iter().map(|x| x * x).sum();
                            let (kv, kq, kc) = kernel
                                .kappa_grad_with(fac[j], kernel.factor(uu), c)
                                .expect("closed form");
                            let at = a_star * inv_t;
                            o[0] -= at * kv;
                            own -= 2.0 * at * kq;
                            for (v, x) in o[1..1 + k].iter_mut().zip(u) {
                                *v -= at * kc * x;
                            }
                        }
                        for (v, x) in o[1..].iter_mut().zip(wj) {
                            *v += own * x;
                        }
                    }
                },
            );
    }

    /// (g_j, ∇g_j) of every neuron into `grad` from a fresh batch of B.
    fn sgd_gradients(&mut self, b: usize) {
        let (d, k) = (self.d, self.k);
        let (x, y) = (&mut self.bx[..b * d], &mut self.by[..b]);
        draw_samples(&self.model, (d, k), &mut self.batch_rng, x, y);
        let (d, m, s) = (self.d, self.m, 1 + self.d);
        self.grad.resize(self.own.len() * s, 0.0);
        let act = self.model.net.activation;
        let (theta, bx) = (&self.theta, &self.bx);
        let w = &theta[1..];
        let x = view(bx, b, d, d);
        let first = self.own.start;
        // Z = W Xᵀ by row blocks, σ(Z) beside it (one evaluation of the unit
        // per entry), and each block's Σ_j a_j σ(Z_ji)
        self.z
            .par_chunks_mut(ROWS * b)
            .zip(self.sz.par_chunks_mut(ROWS * b))
            .zip(self.partial.par_chunks_mut(b))
            .enumerate()
            .for_each(|(blk, ((zb, sb), part))| {
                let (j0, rows) = (first + blk * ROWS, zb.len() / b);
                let mut zv = view_mut(zb, rows, b, b);
                general_mat_mul(1.0, &view(&w[j0 * s..], rows, d, s), &x.t(), 0.0, &mut zv);
                part.fill(0.0);
                for jj in 0..rows {
                    let a = theta[(j0 + jj) * s];
                    let row = jj * b..(jj + 1) * b;
                    for ((p, z), sv) in part.iter_mut().zip(&zb[row.clone()]).zip(&mut sb[row]) {
                        *sv = act.sigma(*z);
                        *p += a * *sv;
                    }
                }
            });
        // c_i = (f_i − y_i)/B, the blocks summed in order
        // (into `by`: the labels are spent)
        let blocks = m.div_ceil(ROWS);
        let all = match self.part.as_mut() {
            Some(p) => p.all_partials(&self.partial, b),
            None => &self.partial,
        };
        for (i, ci) in self.by.iter_mut().enumerate() {
            let f = (0..blocks).map(|k| all[k * b + i]).sum::<f64>() / m as f64;
            *ci = MeanField::weighted_residual_of(1.0 / b as f64, f, *ci);
        }
        let c = &self.by;
        // g_j = Σ_i c_i σ(Z_ji); ∇g_J = (c ⊙ σ′(Z_J)) X
        self.z
            .par_chunks_mut(ROWS * b)
            .zip(self.sz.par_chunks(ROWS * b))
            .zip(self.grad.par_chunks_mut(ROWS * s))
            .for_each(|((zb, sb), out)| {
                let rows = zb.len() / b;
                for jj in 0..rows {
                    let row = jj * b..(jj + 1) * b;
                    let mut g = 0.0;
                    for ((z, sv), ci) in zb[row.clone()].iter_mut().zip(&sb[row]).zip(c) {
                        g += ci * sv;
                        *z = ci * act.dsigma(*z);
                    }
                    out[jj * s] = g;
                }
                let mut dg = view_mut(&mut out[1..], rows, d, s);
                general_mat_mul(1.0, &view(zb, rows, b, b), &x, 0.0, &mut dg);
            });
    }
}
