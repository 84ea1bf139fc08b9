//! **The swarm**: m neurons θ_j and their planned Euler–Maruyama step.

use super::jumps;
use super::kernel::{self, Layout, Nodes, Simd, Update};
use super::mirror::Mirror;
use super::options::{Mode, ParticleOptions};
use super::snapshot::{moments, ParticleDiagnostics};
use super::split::Part;
use super::streams::{neuron_rng, noise_rng, sample_initial};
use crate::error::Result;
use crate::grid::MAX_DIM;
use crate::initial::InitialLaw;
use crate::model::data::Drawn;
use crate::model::{MeanField, Network};
use crate::ranks::Shared;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::iter::Either;
use rayon::prelude::*;

/// Neurons are summed in this many fixed groups (bitwise reproducibility).
pub(super) const GROUPS: usize = 64;

/// Neurons per noise stream (and per parallel task of the velocity pass).
pub const NOISE_BLOCK: usize = 1024;

/// The m-neuron network and its planned step.
pub struct Swarm {
    pub(super) model: MeanField,
    pub(super) d: usize,
    pub(super) m: usize,
    mode: Mode,
    /// θ_j, row-major m × D (this rank's neurons, from `start`, when the
    /// swarm is split over ranks).
    pub theta: Vec<f64>,
    /// The global index of `theta`'s first neuron (0 unless split).
    start: usize,
    /// This rank's share, when the swarm is split over ranks.
    part: Option<Part>,
    /// Steps taken (the noise streams' position).
    steps: u64,
    seed: u64,
    simd: Simd,
    /// x̃ of the population nodes (coordinate-major, d_w × Q).
    pub(super) pop_xt: Vec<f64>,
    /// The population nodes folded in pairs ±x̃ (odd units only).
    pub(super) mirror: Option<Mirror>,
    use_mirror: bool,
    /// SGD batch: stream, x, x̃ (d_w × B), y.
    batch_rng: ChaCha8Rng,
    bx: Vec<f64>,
    bxt: Vec<f64>,
    by: Vec<f64>,
    /// Scratch: per-group partial sums of f_m, then ω r at the nodes in use.
    pub(super) partial: Vec<f64>,
    pub(super) wr: Vec<f64>,
    /// σ at this rank's (neuron, node) pairs of the step's f_m pass, for
    /// its velocity pass ([`kernel::keeps_sigma`]), at `sigma_k` nodes (0:
    /// none kept since the last move).
    sigma: Vec<f64>,
    sigma_k: usize,
}

/// x̃ of node i (of n) into column i of a coordinate-major d_w × n table.
pub(super) fn put_node(net: &Network, x: &[f64], table: &mut [f64], i: usize, n: usize) {
    let mut xt = [0.0; MAX_DIM];
    let dw = net.dim_w();
    net.augment(x, &mut xt[..dw]);
    for (c, v) in xt[..dw].iter().enumerate() {
        table[c * n + i] = *v;
    }
}

/// x̃ of the population nodes, coordinate-major (d_w × Q).
fn population_table(model: &MeanField) -> Vec<f64> {
    let q = model.quad.len();
    let mut t = vec![0.0; q * model.net.dim_w()];
    for i in 0..q {
        put_node(&model.net, model.quad.node(i), &mut t, i, q);
    }
    t
}

/// How many ±x node pairs a run of `opts` on `model` evaluates once each
/// (see [`Swarm::mirrored_pairs`]), without building the swarm.
pub fn folded_pairs(model: &MeanField, opts: &ParticleOptions) -> usize {
    Mirror::of(model, opts.mode, &population_table(model)).map_or(0, |mr| mr.folded())
}

/// Neurons per fixed group of f_m's sums, and the number of groups, for m
/// neurons.
pub(super) fn groups_of(m: usize) -> (usize, usize) {
    let gs = m.div_ceil(GROUPS).max(1);
    (gs, m.div_ceil(gs))
}

impl Swarm {
    /// m iid neurons from ρ0 (the law itself, not its truncation to a
    /// grid), with the step planned.
    pub fn new(model: &MeanField, initial: &InitialLaw, opts: &ParticleOptions) -> Self {
        Self::on(model, initial, opts, None).expect("a swarm on one process")
    }

    /// [`Swarm::new`], split over `ranks` when given: this rank holds its
    /// block of whole neuron groups ([`super::split`]), the same neurons
    /// as the serial swarm's.
    ///
    /// # Errors
    /// What [`Part::new`] refuses (more ranks than neuron groups).
    pub fn on(
        model: &MeanField,
        initial: &InitialLaw,
        opts: &ParticleOptions,
        ranks: Option<Shared>,
    ) -> Result<Self> {
        let net = model.net;
        let d = net.dim_theta();
        let dw = net.dim_w();
        let (gs, _) = groups_of(opts.m);
        let part = ranks.map(|r| Part::new(r, opts.m, gs)).transpose()?;
        let (start, end) = part.as_ref().map_or((0, opts.m), Part::neurons);
        let mut theta = vec![0.0; (end - start) * d];
        theta
            .par_chunks_mut(d)
            .enumerate()
            .with_min_len(256)
            .for_each(|(j, th)| sample_initial(initial, &mut neuron_rng(opts.seed, start + j), th));
        let q = model.quad.len();
        let pop_xt = population_table(model);
        let b = match opts.mode {
            Mode::Sgd { batch } => batch,
            _ => 0,
        };
        let mirror = Mirror::of(model, opts.mode, &pop_xt);
        let mut batch_rng = ChaCha8Rng::seed_from_u64(opts.seed);
        batch_rng.set_stream(u64::MAX);
        Ok(Swarm {
            model: model.clone(),
            d,
            m: opts.m,
            mode: opts.mode,
            theta,
            start,
            part,
            steps: 0,
            seed: opts.seed,
            simd: Simd::detect(),
            pop_xt,
            mirror,
            use_mirror: true,
            batch_rng,
            bx: vec![0.0; b * net.dim_x],
            bxt: vec![0.0; b * dw],
            by: vec![0.0; b],
            partial: vec![0.0; GROUPS * q.max(b)],
            wr: vec![0.0; q.max(b)],
            sigma: Vec::new(),
            sigma_k: 0,
        })
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

    /// Steps taken (the position of the noise streams).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The word position of the SGD batch stream.
    pub fn batch_word(&self) -> u128 {
        self.batch_rng.get_word_pos()
    }

    /// Continue a run: its neurons, steps taken and batch stream position
    /// (as a snapshot stored them). Split over ranks, every rank calls it
    /// at once and rank 0's arguments count (sent to the others).
    ///
    /// # Panics
    /// If `theta` is not m × D (on rank 0 when split).
    pub fn restore(&mut self, theta: &[f64], steps: u64, batch_word: u128) {
        let (steps, batch_word) = match &self.part {
            Some(p) => {
                if p.root() {
                    assert_eq!(theta.len(), self.m * self.d, "θ of m × D values");
                }
                p.scatter(theta, &mut self.theta, self.d);
                p.share_counters(steps, batch_word)
            }
            None => {
                assert_eq!(theta.len(), self.theta.len(), "θ of m × D values");
                self.theta.copy_from_slice(theta);
                (steps, batch_word)
            }
        };
        self.steps = steps;
        self.batch_rng.set_word_pos(batch_word);
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
    /// neuron groups in a fixed order, into `self.wr[..K]`; σ at the pairs
    /// kept in `sigma` for the velocity pass when `keep` and it fits.
    pub(super) fn f_nodes(&mut self, xt: &[f64], k: usize, keep: bool) {
        let (net, d, m) = (self.model.net, self.d, self.m);
        let lay = self.layout();
        let nodes = Nodes {
            xs: xt,
            k,
            dw: net.dim_w(),
        };
        let simd = self.simd;
        // a fixed partition into groups of `gs` neurons, whatever the
        // threads (and the ranks: a rank holds whole groups)
        let (gs, groups) = groups_of(m);
        let mine = self.theta.len().div_ceil(gs * d);
        let own = self.theta.len() / d;
        let keep = keep && kernel::keeps_sigma(net.kind(), own * k);
        if keep && self.sigma.len() != own * k {
            self.sigma = vec![0.0; own * k];
        }
        self.sigma_k = if keep { k } else { 0 };
        let caches = match keep {
            true => Either::Left(self.sigma.par_chunks_mut(gs * k)),
            false => Either::Right((0..mine).into_par_iter().map(|_| -> &mut [f64] { &mut [] })),
        };
        self.partial[..mine * k]
            .par_chunks_mut(k)
            .zip(self.theta.par_chunks(gs * d))
            .zip(caches)
            .for_each(|((part, ths), cache)| {
                part.iter_mut().for_each(|v| *v = 0.0);
                kernel::f_pass(simd, net.kind(), lay, nodes, ths, part, cache);
            });
        let all = match self.part.as_mut() {
            Some(p) => p.all_partials(&self.partial[..mine * k], k),
            None => &self.partial[..groups * k],
        };
        for (q, o) in self.wr[..k].iter_mut().enumerate() {
            let mut s = 0.0;
            for g in 0..groups {
                s += all[g * k + q];
            }
            *o = s / m as f64;
        }
    }

    fn layout(&self) -> Layout {
        let net = self.model.net;
        Layout {
            d: self.d,
            wax: net.w_axis(),
            frozen_a: net.frozen_a,
        }
    }

    /// Draw the batch of this step (SGD): x from P (or a sample of the data
    /// set, with replacement), y = f*(x) (or its label).
    fn draw_batch(&mut self, b: usize) {
        let model = &self.model;
        let dx = model.net.dim_x;
        let rng = &mut self.batch_rng;
        for i in 0..b {
            let x = &mut self.bx[i * dx..(i + 1) * dx];
            let drawn = model.data_law.draw(rng, &model.quad, x);
            self.by[i] = match drawn {
                Drawn::Sample(q) => model.fstar[q],
                _ => (model.data_law.label(drawn))
                    .unwrap_or_else(|| model.target_at(x).unwrap_or(0.0)),
            };
            put_node(&model.net, x, &mut self.bxt, i, b);
        }
    }

    /// The folded population nodes, when in use.
    pub(super) fn take_mirror(&mut self) -> Option<Mirror> {
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
            self.f_nodes(&mr.xt, h, true);
            for (i, &(q, p)) in mr.pairs.iter().enumerate() {
                let f = self.wr[i];
                let mut c = self.model.weighted_residual(q, f);
                if let Some(p) = p {
                    c -= self.model.weighted_residual(p, -f);
                }
                self.wr[i] = c;
            }
            self.move_neurons(&mr.xt, h, dt);
            self.mirror = Some(mr);
        } else if let Mode::Sgd { batch } = self.mode {
            // a fresh batch of B samples, each of weight 1/B (times the
            // box's volume for Lebesgue measure)
            self.draw_batch(batch);
            let xt = std::mem::take(&mut self.bxt);
            self.f_nodes(&xt, batch, true);
            let w = self.model.data_law.mass() / batch as f64;
            for (c, y) in self.wr[..batch].iter_mut().zip(&self.by) {
                *c = MeanField::weighted_residual_of(w, *c, *y);
            }
            self.move_neurons(&xt, batch, dt);
            self.bxt = xt;
        } else {
            let xt = std::mem::take(&mut self.pop_xt);
            let k = self.model.quad.len();
            self.f_nodes(&xt, k, true);
            for q in 0..k {
                self.wr[q] = self.model.weighted_residual(q, self.wr[q]);
            }
            self.move_neurons(&xt, k, dt);
            self.pop_xt = xt;
        }
        if self.model.birth_death > 0.0 {
            self.birth_death(dt);
        }
        self.steps += 1;
    }

    /// Birth–death after the move ([`jumps`]): Φ = Ψ of the moved neurons,
    /// with f_m at the problem's nodes.
    fn birth_death(&mut self, dt: f64) {
        let f = self.f_nodes_population();
        let model = &self.model;
        let c: Vec<f64> = (f.iter().enumerate())
            .map(|(q, &v)| model.weighted_residual(q, v))
            .collect();
        let phi = jumps::potentials(model, &self.theta, self.d, &self.pop_xt, &c);
        let alpha = model.birth_death;
        jumps::jump(
            &mut self.theta,
            self.d,
            &phi,
            alpha,
            dt,
            (self.seed, self.steps),
        );
    }

    /// θ_j ← θ_j + Δt V(θ_j) + √(η Δt) ξ_j, with ω r in `self.wr`.
    fn move_neurons(&mut self, xt: &[f64], k: usize, dt: f64) {
        let net = self.model.net;
        let lay = self.layout();
        let nodes = Nodes {
            xs: xt,
            k,
            dw: net.dim_w(),
        };
        let up = Update {
            c: &self.wr[..k],
            drift: self.model.drift(),
            dt,
            amp: (self.model.noise * dt).sqrt(),
        };
        let (simd, seed, step, d) = (self.simd, self.seed, self.steps, self.d);
        // the noise blocks are global: a rank whose neurons start inside
        // one draws (and drops) the noise of its first neurons
        let skip = self.start % NOISE_BLOCK;
        let head = match skip {
            0 => 0,
            s => (NOISE_BLOCK - s).min(self.theta.len() / d),
        };
        let (first, rest) = self.theta.split_at_mut(head * d);
        // σ per neuron of the f_m pass just made at these θ (0: none, the
        // slices are empty and σ is evaluated again)
        let kept = if self.sigma_k == k { k } else { 0 };
        let (s_first, s_rest) = self.sigma.split_at(head * kept);
        let (b_first, b0) = (self.start / NOISE_BLOCK, self.start.div_ceil(NOISE_BLOCK));
        let go = |b: usize, drop: usize, ths: &mut [f64], cache: &[f64]| {
            let mut rng = noise_rng(seed, b, step);
            if up.amp > 0.0 {
                for _ in 0..drop * d {
                    let _: f64 = rng.sample(StandardNormal);
                }
            }
            kernel::move_pass(simd, net.kind(), lay, nodes, up, ths, &mut rng, cache);
        };
        let cache = |i: usize| {
            let n = s_rest.len();
            &s_rest[(i * NOISE_BLOCK * kept).min(n)..((i + 1) * NOISE_BLOCK * kept).min(n)]
        };
        rayon::join(
            || {
                if head > 0 {
                    go(b_first, skip, first, s_first);
                }
            },
            || {
                rest.par_chunks_mut(NOISE_BLOCK * d)
                    .enumerate()
                    .for_each(|(i, ths)| go(b0 + i, 0, ths, cache(i)));
            },
        );
        self.sigma_k = 0;
    }
}

/// What is observed of the swarm (docs/model.md §5): its risk R(μ^m), mean,
/// covariance and f_m at points.
impl Swarm {
    /// f_m(x) = (1/m) Σ_j a_j σ(w_j·x̃) at any points x, through the same
    /// vectorised pass (and fixed-order sums) as a step; the scratch grows
    /// when there are more points than nodes.
    pub fn f_values(&mut self, points: &[Vec<f64>]) -> Vec<f64> {
        let e = points.len();
        if e == 0 {
            return Vec::new();
        }
        let mut table = vec![0.0; e * self.model.net.dim_w()];
        for (i, x) in points.iter().enumerate() {
            put_node(&self.model.net, x, &mut table, i, e);
        }
        if self.wr.len() < e {
            self.wr.resize(e, 0.0);
            self.partial.resize(GROUPS * e, 0.0);
        }
        self.f_nodes(&table, e, false);
        self.wr[..e].to_vec()
    }

    /// f_m at the problem's quadrature nodes.
    pub fn f_nodes_population(&mut self) -> Vec<f64> {
        if let Some(mr) = self.take_mirror() {
            self.f_nodes(&mr.xt, mr.pairs.len(), false);
            let mut f = vec![0.0; self.model.quad.len()];
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
        let k = self.model.quad.len();
        self.f_nodes(&xt, k, false);
        self.pop_xt = xt;
        self.wr[..k].to_vec()
    }

    /// (1/m) Σ_j |θ_j|², the second moment of μ^m (of θ, every neuron's).
    fn second_moment(&self, theta: &[f64]) -> f64 {
        theta.iter().map(|t| t * t).sum::<f64>() / self.m as f64
    }

    /// Every neuron's θ: this swarm's, or when split over ranks, what was
    /// gathered to rank 0 at the last snapshot (this rank's elsewhere).
    pub fn every_theta(&self) -> &[f64] {
        match &self.part {
            Some(p) if p.root() => &p.gathered,
            _ => &self.theta,
        }
    }

    /// R(μ^m) = ½ Σ_q ω_q (f_m(x_q) − f*(x_q))² + (λ/2)(1/m) Σ_j |θ_j|²
    /// (of a swarm on one process).
    pub fn risk(&mut self) -> f64 {
        let f = self.f_nodes_population();
        self.model.risk(&f, self.second_moment(&self.theta))
    }

    /// All snapshot diagnostics at time t, f_m at `f_points`. Split over
    /// ranks, every rank calls it at once; θ is gathered to rank 0, whose
    /// diagnostics are the serial swarm's (the others' are not).
    pub fn diagnostics(&mut self, t: f64, f_points: &[Vec<f64>]) -> ParticleDiagnostics {
        if let Some(p) = self.part.as_mut() {
            p.gather(&self.theta, self.d);
        }
        let theta = self.every_theta();
        let (mean, cov) = moments(theta, self.d);
        let second = self.second_moment(theta);
        let f_nodes = self.f_nodes_population();
        ParticleDiagnostics {
            time: t,
            risk: self.model.risk(&f_nodes, second),
            f_nodes,
            mean,
            cov,
            f_values: self.f_values(f_points),
            steps: self.steps(),
            batch_word: self.batch_word(),
            ..ParticleDiagnostics::default()
        }
    }
}

impl super::Neurons for Swarm {
    fn m(&self) -> usize {
        self.m
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn batch_word(&self) -> u128 {
        Swarm::batch_word(self)
    }
    fn step(&mut self, dt: f64) {
        Swarm::step(self, dt);
    }
    fn positions(&self) -> &[f64] {
        self.every_theta()
    }
    fn state(&self) -> &[f64] {
        self.every_theta()
    }
    fn first_non_finite(&self) -> Option<(usize, Vec<f64>)> {
        let d = self.d;
        let local = super::neurons::first_non_finite_value(&self.theta).map(|i| i / d);
        let j = match &self.part {
            Some(p) => p.first_bad(local.map(|j| self.start + j))?,
            None => local?,
        };
        let here = j
            .checked_sub(self.start)
            .filter(|i| i * d < self.theta.len());
        Some((
            j,
            here.map_or_else(Vec::new, |i| self.theta[i * d..(i + 1) * d].to_vec()),
        ))
    }
    fn restore(&mut self, state: &[f64], steps: u64, batch_word: u128) {
        Swarm::restore(self, state, steps, batch_word);
    }
    fn diagnostics(&mut self, t: f64, f_points: &[Vec<f64>]) -> super::ParticleDiagnostics {
        Swarm::diagnostics(self, t, f_points)
    }
}
