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
//! Reproducible to the bit: neuron j is drawn from ρ0 with its own ChaCha8
//! stream (seed, stream j); the noise of step n for the block b of
//! [`NOISE_BLOCK`] neurons comes from stream 2⁶² + b at word 2³²·n
//! (counter-based: no per-neuron state, so θ and n are the whole state of a
//! run); the batches come from stream u64::MAX; f_m is summed over a fixed
//! partition of the neurons in a fixed order. So 1 or many threads, and every
//! SIMD variant of the [`kernel`], give identical bytes. A step costs
//! O(m × #nodes) (or O(m × B)), holds O(m D + #nodes) memory and allocates
//! nothing.

pub mod kernel;

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::initial::InitialLaw;
use crate::model::{DataLaw, Network, Target};
use crate::problem::{LoadedProblem, ParticlesSpec};
use crate::setup::{Setup, MAX_DIM};
use kernel::{Layout, Move, Nodes, Simd};
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

/// Neurons are summed in this many fixed groups (bitwise reproducibility).
const GROUPS: usize = 64;

/// Neurons per noise stream (and per parallel task of the velocity pass).
pub const NOISE_BLOCK: usize = 1024;

/// The first noise stream (the streams below are the neurons' initial draws).
const NOISE_STREAM: u64 = 1 << 62;

/// The m-neuron network and its planned step.
pub struct Swarm {
    net: Network,
    noise: f64,
    d: usize,
    m: usize,
    mode: Mode,
    /// θ_j, row-major m × D.
    pub theta: Vec<f64>,
    /// Steps taken (the noise streams' position).
    steps: u64,
    seed: u64,
    simd: Simd,
    /// The population quadrature: x̃_q (coordinate-major, d_w × Q), ω_q,
    /// f*(x_q).
    pop_xt: Vec<f64>,
    pop_w: Vec<f64>,
    pop_y: Vec<f64>,
    /// The population nodes folded in pairs ±x̃ (odd units only).
    mirror: Option<Mirror>,
    use_mirror: bool,
    /// SGD batch: sampler, stream, x, x̃ (d_w × B), ω, y.
    sampler: DataLaw,
    data_x: Vec<f64>,
    data_y: Vec<f64>,
    target: Target,
    batch_rng: ChaCha8Rng,
    bx: Vec<f64>,
    bxt: Vec<f64>,
    bw: Vec<f64>,
    by: Vec<f64>,
    /// Scratch: per-group partial sums of f_m, then ω r at the nodes in use.
    partial: Vec<f64>,
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

/// An odd unit (tanh, erf, linear) on population nodes closed under
/// x̃ → −x̃ (a centred P without bias: Gauss–Hermite, Gauss–Legendre on a
/// symmetric box). σ(−z) = −σ(z) and σ′ is even, so f_m(−x̃) = −f_m(x̃)
/// exactly, and a pair (x̃_q, x̃_p = −x̃_q) enters g and ∇_w g through
/// c_q − c_p alone (c = ω r): one evaluation per pair instead of two.
#[derive(Debug, Clone)]
struct Mirror {
    /// A representative node q and its partner p (None when x̃_q = 0).
    pairs: Vec<(usize, Option<usize>)>,
    /// x̃ of the representatives, coordinate-major.
    xt: Vec<f64>,
}

impl Mirror {
    /// Pairs of two distinct nodes (evaluated once for both).
    fn folded(&self) -> usize {
        self.pairs.iter().filter(|p| p.1.is_some()).count()
    }

    /// The folding of a problem's population nodes, when its unit is odd
    /// and the step uses them.
    fn of(setup: &Setup, opts: &ParticleOptions, pop_xt: &[f64]) -> Option<Mirror> {
        match opts.mode {
            Mode::Sgd { .. } => None,
            _ if setup.net.activation.is_odd() => {
                Mirror::find(pop_xt, setup.quad.len(), setup.net.dim_w())
            }
            _ => None,
        }
    }

    /// The pairing of a coordinate-major d_w × k table, if it is closed
    /// under negation (exactly, as multisets).
    fn find(xt: &[f64], k: usize, dw: usize) -> Option<Mirror> {
        // + 0.0 turns −0 into 0
        let key = |i: usize| (0..dw).map(move |c| xt[c * k + i] + 0.0);
        let mut idx: Vec<usize> = (0..k).collect();
        idx.sort_by(|&i, &j| {
            key(i)
                .partial_cmp(key(j))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // negation reverses the lexicographic order
        for s in 0..k {
            if !key(idx[s]).zip(key(idx[k - 1 - s])).all(|(a, b)| a == -b) {
                return None;
            }
        }
        let pairs: Vec<(usize, Option<usize>)> = (0..k.div_ceil(2))
            .map(|s| (idx[s], (s != k - 1 - s).then_some(idx[k - 1 - s])))
            .collect();
        let h = pairs.len();
        let mut half = vec![0.0; dw * h];
        for (i, &(q, _)) in pairs.iter().enumerate() {
            for c in 0..dw {
                half[c * h + i] = xt[c * k + q];
            }
        }
        Some(Mirror { pairs, xt: half })
    }
}

/// The stream of neuron j's initial draw.
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
        theta
            .par_chunks_mut(d)
            .enumerate()
            .with_min_len(256)
            .for_each(|(j, th)| sample_initial(&setup.initial, &mut neuron_rng(opts.seed, j), th));
        let q = setup.quad.len();
        let pop_xt = population_table(setup);
        let b = match opts.mode {
            Mode::Sgd { batch } => batch,
            _ => 0,
        };
        let mirror = Mirror::of(setup, opts, &pop_xt);
        let mut batch_rng = ChaCha8Rng::seed_from_u64(opts.seed);
        batch_rng.set_stream(u64::MAX);
        Swarm {
            net,
            noise: setup.noise,
            d,
            m: opts.m,
            mode: opts.mode,
            theta,
            steps: 0,
            seed: opts.seed,
            simd: Simd::detect(),
            pop_xt,
            mirror,
            use_mirror: true,
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
            wr: vec![0.0; q.max(b)],
        }
    }

    /// The SIMD variant of the step's loops (detected; every variant gives
    /// the same bits).
    pub fn simd(&self) -> Simd {
        self.simd
    }

    /// Use another SIMD variant (it must be [`Simd::available`]).
    pub fn set_simd(&mut self, simd: Simd) {
        assert!(simd.available(), "{} is not available", simd.name());
        self.simd = simd;
    }

    /// The number of node pairs ±x̃ evaluated once each (0 when the nodes or
    /// the unit have no such symmetry, or it is switched off).
    pub fn mirrored_pairs(&self) -> usize {
        match (&self.mirror, self.use_mirror) {
            (Some(mr), true) => mr.folded(),
            _ => 0,
        }
    }

    /// Fold the population nodes in pairs when they allow it (the default),
    /// or evaluate every node (to check the folding).
    pub fn use_symmetry(&mut self, on: bool) {
        self.use_mirror = on;
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Number of neurons.
    pub fn m(&self) -> usize {
        self.m
    }

    /// D.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// f_m at nodes x̃ (d_w × K, coordinate-major), summed over fixed
    /// neuron groups in a fixed order, into `self.wr[..K]`.
    fn f_nodes(&mut self, xt: &[f64], k: usize) {
        let (net, d, m) = (self.net, self.d, self.m);
        let lay = self.layout();
        let nodes = Nodes {
            xs: xt,
            k,
            dw: net.dim_w(),
        };
        let simd = self.simd;
        // a fixed partition into groups of `gs` neurons, whatever the threads
        let gs = m.div_ceil(GROUPS);
        let groups = m.div_ceil(gs);
        self.partial[..groups * k]
            .par_chunks_mut(k)
            .zip(self.theta.par_chunks(gs * d))
            .for_each(|(part, ths)| {
                part.iter_mut().for_each(|v| *v = 0.0);
                kernel::f_pass(simd, net.activation, lay, nodes, ths, part);
            });
        for (q, o) in self.wr[..k].iter_mut().enumerate() {
            let mut s = 0.0;
            for g in 0..groups {
                s += self.partial[g * k + q];
            }
            *o = s / m as f64;
        }
    }

    fn layout(&self) -> Layout {
        Layout {
            d: self.d,
            wax: usize::from(self.net.frozen_a.is_none()),
            frozen_a: self.net.frozen_a,
        }
    }

    /// Draw the batch of this step (SGD).
    fn draw_batch(&mut self, b: usize) {
        let dx = self.net.dim_x;
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
            put_node(&self.net, x, &mut self.bxt, i, b);
        }
    }

    /// The folded population nodes, when in use.
    fn take_mirror(&mut self) -> Option<Mirror> {
        match (self.mode, self.use_mirror) {
            (Mode::Sgd { .. }, _) | (_, false) => None,
            _ => self.mirror.take(),
        }
    }

    /// One Euler–Maruyama step of length `dt`.
    pub fn step(&mut self, dt: f64) {
        if let Some(mr) = self.take_mirror() {
            // f_m at the representatives; c at the pair folded into one
            let h = mr.pairs.len();
            self.f_nodes(&mr.xt, h);
            for (i, &(q, p)) in mr.pairs.iter().enumerate() {
                let f = self.wr[i];
                let mut c = self.pop_w[q] * (f - self.pop_y[q]);
                if let Some(p) = p {
                    c -= self.pop_w[p] * (-f - self.pop_y[p]);
                }
                self.wr[i] = c;
            }
            self.move_neurons(&mr.xt, h, dt);
            self.steps += 1;
            self.mirror = Some(mr);
            return;
        }
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
        self.steps += 1;
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
        let lay = self.layout();
        let nodes = Nodes {
            xs: xt,
            k,
            dw: net.dim_w(),
        };
        let mv = Move {
            c: &self.wr[..k],
            lam: net.weight_decay,
            dt,
            amp: (self.noise * dt).sqrt(),
        };
        let (simd, seed, step) = (self.simd, self.seed, self.steps);
        self.theta
            .par_chunks_mut(NOISE_BLOCK * self.d)
            .enumerate()
            .for_each(|(b, ths)| {
                let mut rng = noise_rng(seed, b, step);
                kernel::move_pass(simd, net.activation, lay, nodes, mv, ths, &mut rng);
            });
    }
}

/// x̃ of the population nodes, coordinate-major (d_w × Q).
fn population_table(setup: &Setup) -> Vec<f64> {
    let q = setup.quad.len();
    let mut t = vec![0.0; q * setup.net.dim_w()];
    for i in 0..q {
        put_node(&setup.net, setup.quad.node(i), &mut t, i, q);
    }
    t
}

/// How many ±x node pairs a run of `opts` on `setup` evaluates once each
/// (see [`Swarm::mirrored_pairs`]), without building the swarm.
pub fn folded_pairs(setup: &Setup, opts: &ParticleOptions) -> usize {
    Mirror::of(setup, opts, &population_table(setup)).map_or(0, |mr| mr.folded())
}

/// x̃ of node i (of n) into column i of a coordinate-major d_w × n table.
fn put_node(net: &Network, x: &[f64], table: &mut [f64], i: usize, n: usize) {
    let mut xt = [0.0; MAX_DIM];
    let dw = net.dim_w();
    net.augment(x, &mut xt[..dw]);
    for (c, v) in xt[..dw].iter().enumerate() {
        table[c * n + i] = *v;
    }
}

/// The noise of step n for neuron block b: stream 2⁶² + b from word 2³²·n.
/// A block draws at most a few NOISE_BLOCK·D words per step, far from 2³².
fn noise_rng(seed: u64, b: usize, step: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(NOISE_STREAM + b as u64);
    r.set_word_pos(u128::from(step) << 32);
    r
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
    /// f_m(x) = (1/m) Σ_j a_j σ(w_j·x̃) at any points x, through the same
    /// vectorised pass (and fixed-order sums) as a step; the scratch grows
    /// when there are more points than nodes.
    pub fn f_values(&mut self, points: &[Vec<f64>]) -> Vec<f64> {
        let e = points.len();
        if e == 0 {
            return Vec::new();
        }
        let mut table = vec![0.0; e * self.net.dim_w()];
        for (i, x) in points.iter().enumerate() {
            put_node(&self.net, x, &mut table, i, e);
        }
        if self.wr.len() < e {
            self.wr.resize(e, 0.0);
            self.partial.resize(GROUPS * e, 0.0);
        }
        self.f_nodes(&table, e);
        self.wr[..e].to_vec()
    }

    /// f_m at the problem's quadrature nodes.
    pub fn f_nodes_population(&mut self) -> Vec<f64> {
        if let Some(mr) = self.take_mirror() {
            self.f_nodes(&mr.xt, mr.pairs.len());
            let mut f = vec![0.0; self.pop_w.len()];
            for (i, &(q, p)) in mr.pairs.iter().enumerate() {
                f[q] = self.wr[i];
                if let Some(p) = p {
                    f[p] = -self.wr[i];
                }
            }
            self.mirror = Some(mr);
            return f;
        }
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
            f_values: self.f_values(f_points),
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
