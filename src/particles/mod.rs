//! **The particle side**: the m-neuron network of MODEL.md §1 trained by
//! Euler–Maruyama on dθ_j = V(θ_j; μ^m) dt + √η dB_j (MODEL.md §3):
//!
//! ```text
//! θ_j ← θ_j + Δt V(θ_j; μ^m) + √(η Δt) ξ_j,   ξ_j ~ N(0, I)
//! ```
//!
//! with V computed from E_x by the problem's quadrature (`population`, the
//! finite-m version of the PDE's dynamics), a fresh batch of B samples of P at
//! every step (`sgd`), or the whole data set (`full_batch`).
//!
//! Reproducible to the bit: neuron j draws from its own ChaCha8 stream
//! (seed, stream j), the batches from stream u64::MAX, and f_m is summed over
//! a fixed partition of the neurons in a fixed order, so 1 or many threads
//! give identical bytes. A step costs O(m × #nodes) (or O(m × B)) and
//! allocates nothing.

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::initial::InitialLaw;
use crate::model::{dot, DataLaw, Network, Target};
use crate::problem::{LoadedProblem, ParticlesSpec};
use crate::setup::{Setup, MAX_DIM};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// How E_x in the velocity is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The problem's quadrature of P.
    Population,
    /// A fresh batch of `B` samples of P every step.
    Sgd { batch: usize },
    /// The whole data set (data.law = "dataset").
    FullBatch,
}

impl Mode {
    /// The name used in problem files and HDF5 attributes.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Population => "population",
            Mode::Sgd { .. } => "sgd",
            Mode::FullBatch => "full_batch",
        }
    }
}

/// Validated `[particles]` options.
#[derive(Debug, Clone, Copy)]
pub struct ParticleOptions {
    pub m: usize,
    pub seed: u64,
    pub dt: f64,
    pub mode: Mode,
    /// Positions stored per snapshot.
    pub store: usize,
}

impl ParticleOptions {
    /// Validate the `[particles]` section of a problem.
    pub fn from_problem(lp: &LoadedProblem) -> Result<Self> {
        let Some(p) = &lp.problem.particles else {
            return Err(Error::problem(
                "particles",
                "missing",
                "a [particles] section with m and dt",
            ));
        };
        Self::from_spec(p, &lp.problem.data.law)
    }

    /// Nodes a step evaluates every neuron at: the quadrature's, or the
    /// batch when it is larger (sgd).
    pub fn nodes_per_step(&self, nodes: usize) -> usize {
        match self.mode {
            Mode::Sgd { batch } => batch.max(nodes),
            _ => nodes,
        }
    }

    /// Refuse a step whose σ cache (m × max(#nodes, B) values) would not
    /// fit in memory.
    pub fn checked_memory(self, nodes: usize) -> Result<Self> {
        let k = self.nodes_per_step(nodes);
        let bytes = 8.0 * self.m as f64 * k as f64;
        if bytes > MAX_CACHE_BYTES {
            return Err(Error::problem(
                "particles.m",
                self.m,
                format!(
                    "m × max(#nodes, batch) = {} × {k} values of 8 bytes ({:.1} GiB) within {} GiB; use fewer neurons, nodes or a smaller batch",
                    self.m,
                    bytes / 1073741824.0,
                    MAX_CACHE_BYTES / 1073741824.0
                ),
            ));
        }
        Ok(self)
    }

    fn from_spec(p: &ParticlesSpec, law: &str) -> Result<Self> {
        if !(1..=100_000_000).contains(&p.m) {
            return Err(Error::problem("particles.m", p.m, "1 to 10⁸ neurons"));
        }
        if !(p.dt > 0.0 && p.dt.is_finite()) {
            return Err(Error::problem("particles.dt", p.dt, "a positive time step"));
        }
        let mode = match p.mode.as_str() {
            "population" => Mode::Population,
            "sgd" => match p.batch {
                Some(b) if b >= 1 => Mode::Sgd { batch: b },
                other => {
                    return Err(Error::problem(
                        "particles.batch",
                        format!("{other:?}"),
                        "a batch size B ≥ 1 for mode = \"sgd\"",
                    ))
                }
            },
            "full_batch" if law == "dataset" => Mode::FullBatch,
            "full_batch" => {
                return Err(Error::problem(
                    "particles.mode",
                    "\"full_batch\"",
                    "full_batch only with data.law = \"dataset\" (use population)",
                ))
            }
            other => {
                return Err(Error::problem(
                    "particles.mode",
                    format!("{other:?}"),
                    "one of population, sgd, full_batch",
                ))
            }
        };
        let store = p.store.unwrap_or(p.m);
        if store > p.m {
            return Err(Error::problem(
                "particles.store",
                store,
                format!("at most m = {} positions", p.m),
            ));
        }
        Ok(ParticleOptions {
            m: p.m,
            seed: p.seed,
            dt: p.dt,
            mode,
            store,
        })
    }
}

/// The largest σ cache a step may hold (m × max(#nodes, B) f64).
pub const MAX_CACHE_BYTES: f64 = 8.0 * 1073741824.0;

/// Neurons are summed in this many fixed groups (bitwise reproducibility).
const GROUPS: usize = 64;

/// The m-neuron network and its planned step.
pub struct Swarm {
    net: Network,
    noise: f64,
    d: usize,
    m: usize,
    mode: Mode,
    /// θ_j, row-major m × D.
    pub theta: Vec<f64>,
    rngs: Vec<ChaCha8Rng>,
    /// The population quadrature: x̃_q (Q × d_w), ω_q, f*(x_q).
    pop_xt: Vec<f64>,
    pop_w: Vec<f64>,
    pop_y: Vec<f64>,
    /// SGD batch: sampler, stream, x, x̃, ω, y.
    sampler: DataLaw,
    data_x: Vec<f64>,
    data_y: Vec<f64>,
    target: Target,
    batch_rng: ChaCha8Rng,
    bx: Vec<f64>,
    bxt: Vec<f64>,
    bw: Vec<f64>,
    by: Vec<f64>,
    /// Scratch: per-group partial sums, ω r at the nodes in use, and
    /// σ(w_j·x̃_q) of the current step (m × max(Q, B)), shared by the f_m
    /// pass and the velocity pass.
    partial: Vec<f64>,
    sig: Vec<f64>,
    wr: Vec<f64>,
}

/// Draw one θ from the initial law.
fn sample_initial(law: &InitialLaw, rng: &mut ChaCha8Rng, out: &mut [f64]) {
    let gauss = |g: &crate::initial::Gaussian, rng: &mut ChaCha8Rng, out: &mut [f64]| {
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
        InitialLaw::Mixture(cs) => {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut pick = cs.len() - 1;
            for (i, (w, _)) in cs.iter().enumerate() {
                acc += w;
                if u < acc {
                    pick = i;
                    break;
                }
            }
            gauss(&cs[pick].1, rng, out);
        }
    }
}

/// The stream of neuron j.
fn neuron_rng(seed: u64, j: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(j as u64);
    r
}

impl Swarm {
    /// m iid neurons from ρ0, with the step planned.
    pub fn new(setup: &Setup, opts: &ParticleOptions) -> Self {
        let net = setup.net;
        let d = net.dim_theta();
        let dw = net.dim_w();
        let mut theta = vec![0.0; opts.m * d];
        let mut rngs: Vec<ChaCha8Rng> = (0..opts.m).map(|j| neuron_rng(opts.seed, j)).collect();
        theta
            .par_chunks_mut(d)
            .zip(rngs.par_iter_mut())
            .for_each(|(th, rng)| sample_initial(&setup.initial, rng, th));
        let q = setup.quad.len();
        let mut pop_xt = vec![0.0; q * dw];
        for i in 0..q {
            net.augment(setup.quad.node(i), &mut pop_xt[i * dw..(i + 1) * dw]);
        }
        let b = match opts.mode {
            Mode::Sgd { batch } => batch,
            _ => 0,
        };
        let mut batch_rng = ChaCha8Rng::seed_from_u64(opts.seed);
        batch_rng.set_stream(u64::MAX);
        Swarm {
            net,
            noise: setup.noise,
            d,
            m: opts.m,
            mode: opts.mode,
            theta,
            rngs,
            pop_xt,
            pop_w: setup.quad.weights.clone(),
            pop_y: setup.fstar.clone(),
            sampler: setup.data_law.clone(),
            data_x: setup.quad.nodes.clone(),
            data_y: setup.fstar.clone(),
            target: setup.target.clone(),
            batch_rng,
            bx: vec![0.0; b * net.dim_x],
            bxt: vec![0.0; b * dw],
            bw: vec![1.0 / b.max(1) as f64; b],
            by: vec![0.0; b],
            partial: vec![0.0; GROUPS * q.max(b)],
            sig: vec![0.0; opts.m * q.max(b)],
            wr: vec![0.0; q.max(b)],
        }
    }

    /// Number of neurons.
    pub fn m(&self) -> usize {
        self.m
    }

    /// D.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// a_j: the first coordinate, or a0 when frozen.
    #[inline]
    fn a_of(net: &Network, th: &[f64]) -> f64 {
        net.frozen_a.unwrap_or(th[0])
    }

    /// f_m at nodes x̃ (K × d_w), summed over fixed neuron groups in a fixed
    /// order, into `self.wr[..K]`.
    fn f_nodes(&mut self, xt: &[f64], k: usize) {
        let (net, d, m) = (self.net, self.d, self.m);
        let dw = net.dim_w();
        let wax = usize::from(net.frozen_a.is_none());
        // a fixed partition into groups of `gs` neurons, whatever the threads
        let gs = m.div_ceil(GROUPS);
        let groups = m.div_ceil(gs);
        let kmax = self.wr.len();
        self.partial[..groups * k]
            .par_chunks_mut(k)
            .zip(self.theta.par_chunks(gs * d))
            .zip(self.sig.par_chunks_mut(gs * kmax))
            .for_each(|((part, ths), sig)| {
                part.iter_mut().for_each(|v| *v = 0.0);
                for (th, srow) in ths.chunks(d).zip(sig.chunks_mut(kmax)) {
                    let a = Self::a_of(&net, th);
                    let w = &th[wax..];
                    // three simple passes over the row, so σ vectorises
                    for (sq, x) in srow[..k].iter_mut().zip(xt.chunks(dw)) {
                        *sq = dot(w, x);
                    }
                    net.activation.sigma_in_place(&mut srow[..k]);
                    for (p, sq) in part.iter_mut().zip(&srow[..k]) {
                        *p += a * sq;
                    }
                }
            });
        for (q, o) in self.wr[..k].iter_mut().enumerate() {
            let mut s = 0.0;
            for g in 0..groups {
                s += self.partial[g * k + q];
            }
            *o = s / m as f64;
        }
    }

    /// Draw the batch of this step (SGD).
    fn draw_batch(&mut self, b: usize) {
        let (dx, dw) = (self.net.dim_x, self.net.dim_w());
        let rng = &mut self.batch_rng;
        for i in 0..b {
            let x = &mut self.bx[i * dx..(i + 1) * dx];
            match &self.sampler {
                DataLaw::Gaussian { std } => {
                    for v in x.iter_mut() {
                        let z: f64 = rng.sample(StandardNormal);
                        *v = std * z;
                    }
                }
                DataLaw::Uniform { lo, hi } => {
                    for (k, v) in x.iter_mut().enumerate() {
                        *v = lo[k] + (hi[k] - lo[k]) * rng.random::<f64>();
                    }
                }
                DataLaw::Samples => {
                    let n = self.data_y.len();
                    let idx = ((rng.random::<f64>() * n as f64) as usize).min(n - 1);
                    x.copy_from_slice(&self.data_x[idx * dx..(idx + 1) * dx]);
                    self.by[i] = self.data_y[idx];
                }
            }
            if !matches!(self.sampler, DataLaw::Samples) {
                self.by[i] = self.target.eval(&self.net, x).unwrap_or(0.0);
            }
            self.net.augment(x, &mut self.bxt[i * dw..(i + 1) * dw]);
        }
    }

    /// One Euler–Maruyama step of length `dt`.
    pub fn step(&mut self, dt: f64) {
        // the nodes of this step: population quadrature, or a fresh batch
        let (xt, w, y, k) = match self.mode {
            Mode::Sgd { batch } => {
                self.draw_batch(batch);
                (
                    std::mem::take(&mut self.bxt),
                    std::mem::take(&mut self.bw),
                    std::mem::take(&mut self.by),
                    batch,
                )
            }
            _ => {
                let k = self.pop_w.len();
                (
                    std::mem::take(&mut self.pop_xt),
                    std::mem::take(&mut self.pop_w),
                    std::mem::take(&mut self.pop_y),
                    k,
                )
            }
        };
        self.f_nodes(&xt, k);
        for q in 0..k {
            self.wr[q] = w[q] * (self.wr[q] - y[q]);
        }
        self.move_neurons(&xt, k, dt);
        match self.mode {
            Mode::Sgd { .. } => {
                self.bxt = xt;
                self.bw = w;
                self.by = y;
            }
            _ => {
                self.pop_xt = xt;
                self.pop_w = w;
                self.pop_y = y;
            }
        }
    }

    /// θ_j ← θ_j + Δt V(θ_j) + √(η Δt) ξ_j, with ω r in `self.wr`.
    fn move_neurons(&mut self, xt: &[f64], k: usize, dt: f64) {
        let net = self.net;
        let (d, dw) = (self.d, net.dim_w());
        let wax = usize::from(net.frozen_a.is_none());
        let lam = net.weight_decay;
        let amp = (self.noise * dt).sqrt();
        let wr = &self.wr[..k];
        let kmax = self.wr.len();
        self.theta
            .par_chunks_mut(d)
            .zip(self.rngs.par_iter_mut())
            .zip(self.sig.par_chunks_mut(kmax))
            .with_min_len(256)
            .for_each(|((th, rng), srow)| {
                let a = Self::a_of(&net, th);
                let w = &th[wax..];
                // σ from the f_m pass at the same positions: g = Σ_q σ_q c_q,
                // and the row becomes σ′_q c_q, so ∇g is a plain dot per axis
                let srow = &mut srow[..k];
                let g = net
                    .activation
                    .weighted_derivative(srow, wr, |q| dot(w, &xt[q * dw..(q + 1) * dw]));
                let mut gw = [0.0; MAX_DIM];
                for (j, gj) in gw[..dw].iter_mut().enumerate() {
                    *gj = srow
                        .iter()
                        .zip(xt[j..].iter().step_by(dw))
                        .map(|(t, x)| t * x)
                        .sum();
                }
                let mut v = [0.0; MAX_DIM];
                if wax == 1 {
                    v[0] = -g - lam * th[0];
                }
                for k in 0..dw {
                    v[wax + k] = -a * gw[k] - lam * th[wax + k];
                }
                for (t, vk) in th.iter_mut().zip(&v) {
                    let xi: f64 = if amp > 0.0 {
                        rng.sample(StandardNormal)
                    } else {
                        0.0
                    };
                    *t += dt * vk + amp * xi;
                }
            });
    }
}

/// What is stored at a particle snapshot (MODEL.md §5).
#[derive(Debug, Clone, Default)]
pub struct ParticleDiagnostics {
    pub time: f64,
    /// R(μ^m) with the problem's quadrature, plus (λ/2)(1/m) Σ |θ_j|².
    pub risk: f64,
    /// f_m at the problem's quadrature nodes.
    pub f_nodes: Vec<f64>,
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
    pub f_values: Vec<f64>,
    /// H_i = #{j : θ_j ∈ C_i} / (m |C|) on the problem's grid.
    pub histogram: Vec<f64>,
    /// Fraction of neurons outside the box.
    pub outside: f64,
}

impl Swarm {
    /// f_m(x) = (1/m) Σ_j a_j σ(w_j·x̃) at one point (fixed-order sum).
    pub fn f_at(&self, x: &[f64]) -> f64 {
        let net = self.net;
        let mut xt = [0.0; MAX_DIM];
        net.augment(x, &mut xt);
        let xt = &xt[..net.dim_w()];
        let wax = usize::from(net.frozen_a.is_none());
        let s: f64 = self
            .theta
            .chunks(self.d)
            .map(|th| Self::a_of(&net, th) * net.activation.sigma(dot(&th[wax..], xt)))
            .sum();
        s / self.m as f64
    }

    /// f_m at the problem's quadrature nodes.
    pub fn f_nodes_population(&mut self) -> Vec<f64> {
        let xt = std::mem::take(&mut self.pop_xt);
        let k = self.pop_w.len();
        self.f_nodes(&xt, k);
        self.pop_xt = xt;
        self.wr[..k].to_vec()
    }

    /// R(μ^m) = ½ Σ_q ω_q (f_m(x_q) − f*(x_q))² + (λ/2)(1/m) Σ_j |θ_j|².
    pub fn risk(&mut self) -> f64 {
        let f = self.f_nodes_population();
        self.risk_from(&f)
    }

    /// The risk given f_m at the population nodes.
    fn risk_from(&self, f: &[f64]) -> f64 {
        let data: f64 = (0..f.len())
            .map(|q| 0.5 * self.pop_w[q] * (f[q] - self.pop_y[q]).powi(2))
            .sum();
        let th2: f64 = self.theta.iter().map(|t| t * t).sum::<f64>() / self.m as f64;
        data + 0.5 * self.net.weight_decay * th2
    }

    /// All snapshot diagnostics at time t.
    pub fn diagnostics(
        &mut self,
        t: f64,
        grid: &Grid,
        f_points: &[Vec<f64>],
    ) -> ParticleDiagnostics {
        let d = self.d;
        let m = self.m as f64;
        let mut mean = vec![0.0; d];
        for th in self.theta.chunks(d) {
            for (mk, t) in mean.iter_mut().zip(th) {
                *mk += t / m;
            }
        }
        let mut cov = vec![0.0; d * d];
        for th in self.theta.chunks(d) {
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += (th[i] - mean[i]) * (th[j] - mean[j]) / m;
                }
            }
        }
        let (histogram, outside) = histogram(grid, &self.theta, d);
        let f_nodes = self.f_nodes_population();
        ParticleDiagnostics {
            time: t,
            risk: self.risk_from(&f_nodes),
            f_nodes,
            mean,
            cov,
            f_values: f_points.iter().map(|x| self.f_at(x)).collect(),
            histogram,
            outside,
        }
    }
}

/// H_i = #{j : θ_j ∈ C_i} / (m |C|) and the fraction outside the box.
pub fn histogram(grid: &Grid, theta: &[f64], d: usize) -> (Vec<f64>, f64) {
    let m = theta.len() / d;
    let mut h = vec![0.0; grid.len()];
    let mut outside = 0usize;
    let unit = 1.0 / (m as f64 * grid.cell_volume());
    'neurons: for th in theta.chunks(d) {
        let mut flat = 0;
        for (k, t) in th.iter().enumerate() {
            let x = (t - grid.lo[k]) / grid.h[k];
            if !(0.0..grid.n[k] as f64).contains(&x) {
                outside += 1;
                continue 'neurons;
            }
            flat += (x as usize).min(grid.n[k] - 1) * grid.strides[k];
        }
        h[flat] += unit;
    }
    (h, outside as f64 / m as f64)
}

/// Receives particle snapshots.
pub trait ParticleObserver {
    /// At each snapshot time, with the diagnostics and all positions (m × D).
    fn snapshot(&mut self, diag: &ParticleDiagnostics, theta: &[f64]) -> Result<()>;
    /// When the run has reached t_end.
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

/// Train the m-neuron network of `setup` from iid ρ0 samples to t_end with
/// step `opts.dt`, landing exactly on every snapshot time.
pub fn run(
    setup: &Setup,
    opts: &ParticleOptions,
    observers: &mut [&mut dyn ParticleObserver],
) -> Result<ParticleSummary> {
    let mut swarm = Swarm::new(setup, opts);
    run_with(setup, opts, &mut swarm, observers)
}

/// Run a given swarm from t = 0.
pub fn run_with(
    setup: &Setup,
    opts: &ParticleOptions,
    swarm: &mut Swarm,
    observers: &mut [&mut dyn ParticleObserver],
) -> Result<ParticleSummary> {
    let mut t = 0.0;
    let mut steps = 0;
    let mut last = ParticleDiagnostics::default();
    for &ts in &setup.snapshot_times {
        // whole steps of dt, the last one shortened to land on ts
        while t < ts {
            let lands = t + opts.dt >= ts * (1.0 - 1e-12);
            let dt = if lands { ts - t } else { opts.dt };
            swarm.step(dt);
            t = if lands { ts } else { t + dt };
            steps += 1;
        }
        last = swarm.diagnostics(t, &setup.grid, &setup.f_points);
        for o in observers.iter_mut() {
            o.snapshot(&last, &swarm.theta)?;
        }
    }
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(ParticleSummary { steps, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_cells_and_outside() {
        let g = Grid::new(vec![0.0, 0.0], vec![2.0, 1.0], vec![4, 2], vec![]);
        // cells are 0.5 × 0.5; four neurons inside, one outside
        let theta = [0.1, 0.1, 0.6, 0.9, 0.7, 0.6, 1.99, 0.0, 2.5, 0.5];
        let (h, out) = histogram(&g, &theta, 2);
        assert_eq!(out, 0.2);
        let unit = 1.0 / (5.0 * 0.25);
        assert_eq!(h[0], unit); // (0, 0)
        assert_eq!(h[3], 2.0 * unit); // (1, 1)
        assert_eq!(h[6], unit); // (3, 0)
        let mass: f64 = h.iter().sum::<f64>() * 0.25;
        assert!((mass + out - 1.0).abs() < 1e-15);
    }

    #[test]
    fn modes_validate() {
        let spec = |mode: &str, batch: Option<usize>| ParticlesSpec {
            m: 10,
            seed: 1,
            dt: 0.1,
            mode: mode.into(),
            batch,
            store: None,
        };
        assert!(ParticleOptions::from_spec(&spec("sgd", None), "gaussian").is_err());
        assert_eq!(
            ParticleOptions::from_spec(&spec("sgd", Some(8)), "gaussian")
                .unwrap()
                .mode,
            Mode::Sgd { batch: 8 }
        );
        let e = ParticleOptions::from_spec(&spec("full_batch", None), "gaussian").unwrap_err();
        assert_eq!(e.field(), Some("particles.mode"));
        assert!(ParticleOptions::from_spec(&spec("full_batch", None), "dataset").is_ok());
    }
}
