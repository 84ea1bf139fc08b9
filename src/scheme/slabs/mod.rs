//! **The split scheme over the slabs of a grid** ([`crate::density`]): the
//! seam a run across processes steps through. Each slab advances its own
//! cells with the serial sub-steps on its local grid (interior and halo);
//! what couples the slabs is
//!
//! - the velocity, which needs the whole density only through its first
//!   moments m1(w) = Σ_a a ρ(a, w) |C|: each slab's share is summed (in slab
//!   order; an all-reduce across processes), then every slab evaluates g
//!   and G_k from the sum;
//! - the cells beside a slab's interior that a sub-step reads: MUSCL's
//!   stencil reads two rows beyond a face ([`ADVECTION_HALO`]), the heat
//!   kernel its half-width b along axis 0; halos are filled from the
//!   neighbours before each advection stage and each diffusion (in one
//!   process by [`crate::density::exchange`]);
//! - a diffusion along axis 0 that reaches further than the halos (by DCT,
//!   a kernel wider than the halo, a stretched a axis): the slabs'
//!   interiors are transposed into pencils of whole lines of a, diffused
//!   there and transposed back ([`pencil`]).
//!
//! A slab's halo rows are then recomputed with walls at the slab's edge
//! (wrong, and overwritten by the next exchange) while its interior gets
//! the serial values, up to the order of the moments' sums. The Strang
//! step's trailing half diffusion may be deferred into the next step as
//! the serial controller does ([`SlabStepper::defer_diffusion`]). Split
//! scheme, spectral diffusion and a trained a; the sg scheme over slabs is
//! [`SlabSg`] (its lines along a on the pencils).
//!
//! The same stepper runs one slab per process of a run split over ranks
//! ([`SlabStepper::on`]): the moments' shares are all-gathered and added in
//! rank order (the in-process slabs' order, so N ranks give the bits of N
//! slabs in one process), the halos are swapped with the neighbouring
//! ranks, and the CFL rate and the negativity guard's extremes are
//! gathered from every rank.

use super::advection::step::{extremes, negative_beyond_round_off, POSITIVE_CFL};
use super::advection::AdvectionStep;
use super::diffusion::SpectralDiffusion;
use super::{DiffusionKind, SchemeKind, SchemeOptions, Splitting, SubStep};
use crate::density::Density;
use crate::error::{Error, Result};
use crate::grid::{Grid, Slab};
use crate::model::MeanField;
use crate::ranks::Shared;

/// Rows of halo the advection reads: MUSCL's slope of the cell beside a
/// face reads the next cell.
pub const ADVECTION_HALO: usize = 2;

mod link;
mod pencil;
mod react;
mod sg;
use link::{Between, Link};
use pencil::AlongA;
use react::SlabReaction;
pub use sg::{refusal as sg_refusal, SlabSg};

/// One slab's sub-steps: the diffusion on its local grid, the advection on
/// the rows it reads alone (the interior and [`ADVECTION_HALO`] rows each
/// side: stepping the whole halo would be thrown away at the next fill).
struct Part {
    slab: Slab,
    /// The advection's slab, and its rows' place in the slab's values.
    moved: Slab,
    cut: std::ops::Range<usize>,
    advection: AdvectionStep,
    diffusion: SpectralDiffusion,
}

/// The advection's slab of `s`: its interior with the rows MUSCL reads.
fn moved(s: &Slab) -> (Slab, std::ops::Range<usize>) {
    let m = Slab::rows(&s.whole, s.start..s.end, ADVECTION_HALO);
    let at = (s.below - m.below) * s.row_len();
    let cut = at..at + m.local.len();
    (m, cut)
}

/// Which values the velocity is taken of.
#[derive(Clone, Copy)]
enum Of {
    Density,
    Stage,
    /// The density once the diffusion owed is paid ([`Paid`]).
    Paid,
}

/// V of the density with the owed diffusion E = E_a ⊗ E_w applied, without
/// applying it (as the whole grid's `Owed`): m1[E ρ] = E_w m1_ã[ρ], the
/// slabs' moments weighted by ã = E_a a, summed, then diffused on the w
/// sub-grid.
struct Paid {
    on_a: SpectralDiffusion,
    on_w: SpectralDiffusion,
    /// The whole a axis's centres, and ã.
    a_centres: Vec<f64>,
    a_weights: Vec<f64>,
}

/// One step of the split scheme over neighbouring slabs of a grid.
pub struct SlabStepper {
    /// The slabs this process steps (one, over ranks), and their geometry.
    parts: Vec<Part>,
    local: Vec<Slab>,
    local_moved: Vec<Slab>,
    /// How the slabs are coupled: in this process, or over ranks.
    link: Link,
    splitting: Splitting,
    d: f64,
    cfl: f64,
    dt_max: f64,
    /// The diffusion owed (the last Strang step's trailing half) when it is
    /// deferred, merged into the next step's leading half.
    owed: Option<f64>,
    /// How V of the paid density is taken (while deferring).
    paid: Option<Paid>,
    /// The whole grid's first moments, and one slab's share.
    m1: Vec<f64>,
    share: Vec<f64>,
    /// The heat flow along a on pencils of whole lines, planned at the
    /// first diffusion whose kernel reaches beyond the halos.
    along: Option<AlongA>,
    /// Birth–death, when α > 0.
    reaction: Option<SlabReaction>,
}

impl SlabStepper {
    /// Plan the step of `model` over `slabs` (consecutive, covering the
    /// grid) with the options of `[solver]`, every slab in this process.
    ///
    /// # Errors
    /// What [`SlabStepper::refusal`] refuses.
    pub fn new(model: &MeanField, slabs: &[Slab], opts: &SchemeOptions) -> Result<Self> {
        Self::refusal(model, slabs, opts)?;
        Ok(Self::build(model, slabs, opts, Link::Local))
    }

    /// The step of rank r's slab `slabs[r]` of a run split over `ranks`
    /// (one slab per rank, in rank order); every rank calls each method at
    /// once.
    ///
    /// # Errors
    /// What [`SlabStepper::refusal`] refuses, or not one slab per rank.
    pub fn on(
        model: &MeanField,
        slabs: &[Slab],
        opts: &SchemeOptions,
        ranks: Shared,
    ) -> Result<Self> {
        Self::refusal(model, slabs, opts)?;
        if slabs.len() != ranks.size() {
            return Err(Error::Run(format!(
                "{} slabs for {} ranks: one each",
                slabs.len(),
                ranks.size()
            )));
        }
        let nw = slabs[0].row_len();
        let mine = std::slice::from_ref(&slabs[ranks.rank()]);
        let link = Link::Ranks(Box::new(Between {
            geometry: slabs.to_vec(),
            moved: slabs.iter().map(|s| moved(s).0).collect(),
            every: vec![0.0; nw * slabs.len()],
            counts: vec![nw; slabs.len()],
            pairs: vec![0.0; slabs.len()],
            ones: vec![1; slabs.len()],
            to_below: Vec::new(),
            to_above: Vec::new(),
            ranks,
        }));
        Ok(Self::build(model, mine, opts, link))
    }

    /// Why `model` cannot be stepped over `slabs` by the split scheme, by
    /// field name: the sg scheme (that is [`SlabSg`]), an implicit
    /// diffusion, a frozen a, a 1-D grid, a halo shallower than the
    /// advection reads.
    ///
    /// # Errors
    /// [`Error::Problem`] or [`Error::Run`] (the halo) saying which.
    pub fn refusal(model: &MeanField, slabs: &[Slab], opts: &SchemeOptions) -> Result<()> {
        let refuse =
            |field: &str, value: &str, allowed: &str| Err(Error::problem(field, value, allowed));
        if opts.kind != SchemeKind::Split {
            return refuse(
                "solver.scheme",
                "sg",
                "split, for this stepper (sg over slabs is SlabSg)",
            );
        }
        if opts.diffusion != DiffusionKind::Spectral {
            return refuse(
                "solver.diffusion",
                "an implicit diffusion",
                "spectral, for slabs (its kernel reaches a few rows)",
            );
        }
        if model.net.frozen_a.is_some() || slabs[0].whole.dim() < 2 {
            return refuse(
                "model.train_a",
                "false (or a 1-D grid)",
                "a trained a and w axes: slabs split the a axis",
            );
        }
        for s in slabs {
            let shallow = (s.start > 0 && s.below < ADVECTION_HALO)
                || (s.end < s.whole.n[0] && s.above < ADVECTION_HALO);
            if shallow {
                return Err(Error::Run(format!(
                    "a slab of rows {}..{} has a halo of {} below and {} above: the advection reads {ADVECTION_HALO}",
                    s.start, s.end, s.below, s.above
                )));
            }
        }
        Ok(())
    }

    /// The halo rows a slab of `grid` needs for every step the run can
    /// take: what the advection reads, and the heat kernel's half-width
    /// along axis 0 over the longest diffusion (Δt_max, halved by Strang
    /// unless its trailing half is `deferred` and merged with the next
    /// step's leading one: [`SlabStepper::defer_diffusion`]). When axis 0
    /// is diffused by DCT over it (a kernel wider than its limit, or a
    /// stretched a axis), the diffusion along a goes on pencils of whole
    /// lines ([`pencil`]) and the halo is the advection's.
    pub fn halo(model: &MeanField, grid: &Grid, opts: &SchemeOptions, deferred: bool) -> usize {
        let d = 0.5 * model.noise;
        if d == 0.0 {
            return ADVECTION_HALO;
        }
        let dt = match (opts.splitting, deferred) {
            (Splitting::Strang, false) => 0.5 * opts.dt_max,
            _ => opts.dt_max,
        };
        SpectralDiffusion::new(grid, d)
            .kernel_half_width(0, dt)
            .map_or(ADVECTION_HALO, |b| b.max(ADVECTION_HALO))
    }

    /// Whether the diffusion along a goes on pencils of whole lines at
    /// Δt_max (a DCT or a stretched a axis: wider than any halo planned).
    pub fn along_a_on_pencils(model: &MeanField, grid: &Grid, opts: &SchemeOptions) -> bool {
        let d = 0.5 * model.noise;
        d > 0.0
            && SpectralDiffusion::new(grid, d)
                .kernel_half_width(0, opts.dt_max)
                .is_none()
    }

    fn build(model: &MeanField, slabs: &[Slab], opts: &SchemeOptions, link: Link) -> Self {
        let d = 0.5 * model.noise;
        let nw = slabs[0].row_len();
        let size = match &link {
            Link::Local => 1,
            Link::Ranks(b) => b.ranks.size(),
        };
        let reaction = (model.birth_death > 0.0).then(|| SlabReaction::new(model, slabs, size));
        SlabStepper {
            parts: slabs
                .iter()
                .map(|s| {
                    let (m, cut) = moved(s);
                    Part {
                        slab: s.clone(),
                        advection: AdvectionStep::new(model, &m.local, opts.flux, opts.cfl),
                        diffusion: SpectralDiffusion::new(&s.local, d),
                        moved: m,
                        cut,
                    }
                })
                .collect(),
            local: slabs.to_vec(),
            local_moved: slabs.iter().map(|s| moved(s).0).collect(),
            link,
            splitting: opts.splitting,
            d,
            cfl: opts.cfl,
            dt_max: opts.dt_max,
            owed: None,
            paid: None,
            m1: vec![0.0; nw],
            share: vec![0.0; nw],
            along: None,
            reaction,
        }
    }

    /// The largest of every rank's `x` (this process's, in one).
    fn widest(&mut self, x: f64) -> f64 {
        match &mut self.link {
            Link::Local => x,
            Link::Ranks(b) => {
                b.ranks.all_gather(&[x], &b.ones, &mut b.pairs);
                b.pairs.iter().copied().fold(x, f64::max)
            }
        }
    }

    /// V of the whole grid's density (or stage value) in every slab: the
    /// slabs' shares of the first moments summed in slab order.
    fn velocity(&mut self, of: Of, slabs: &[Density]) {
        self.m1.fill(0.0);
        for (p, d) in self.parts.iter_mut().zip(slabs) {
            // the advection's rows of the slab: its grid is the velocity's
            let (rows, values) = (p.moved.interior(), &d.values[p.cut.clone()]);
            match of {
                Of::Density => {
                    let vel = p.advection.velocity();
                    vel.first_moments(values, rows, None, &mut self.share)
                }
                Of::Stage => p.advection.stage_moments(rows, &mut self.share),
                Of::Paid => {
                    let paid = self.paid.as_ref().expect("deferring");
                    let w = &paid.a_weights[p.moved.start - p.moved.below..];
                    let vel = p.advection.velocity();
                    vel.first_moments(values, rows, Some(w), &mut self.share)
                }
            }
            for (m, s) in self.m1.iter_mut().zip(&self.share) {
                *m += s;
            }
        }
        if let Link::Ranks(b) = &mut self.link {
            let Between {
                ranks,
                every,
                counts,
                ..
            } = &mut **b;
            // every rank's share (its one slab's), added in rank order
            ranks.all_gather(&self.m1, counts, every);
            self.m1.fill(0.0);
            for share in every.chunks_exact(self.m1.len()) {
                for (m, s) in self.m1.iter_mut().zip(share) {
                    *m += s;
                }
            }
        }
        if let (Of::Paid, Some(paid), Some(owed)) = (of, self.paid.as_mut(), self.owed) {
            paid.on_w.advance(&mut self.m1, owed);
        }
        for p in &mut self.parts {
            p.advection.velocity().eval_moments(&self.m1);
        }
    }

    /// The largest CFL rate over the slabs' interiors, of the velocity last
    /// evaluated.
    fn interior_rate(&mut self) -> f64 {
        let here = self
            .parts
            .iter_mut()
            .map(|p| {
                let rows = p.moved.interior();
                p.advection.velocity().max_rate_rows(rows)
            })
            .fold(0.0, f64::max);
        self.widest(here)
    }

    /// The largest stable step: the CFL number over the largest rate of any
    /// slab's interior, capped by `dt_max`; with a diffusion owed, of the
    /// density once it is paid ([`Paid`]), as the whole grid's stepper.
    pub fn stable_dt(&mut self, slabs: &[Density]) -> f64 {
        match (self.owed, self.paid.as_mut()) {
            (Some(owed), Some(paid)) if owed > 0.0 => {
                paid.a_weights.copy_from_slice(&paid.a_centres);
                paid.on_a.advance(&mut paid.a_weights, owed);
                self.velocity(Of::Paid, slabs);
            }
            _ => self.velocity(Of::Density, slabs),
        }
        let rate = self.interior_rate();
        let adv = if rate > 0.0 {
            self.cfl / rate
        } else {
            f64::INFINITY
        };
        self.dt_max.min(adv)
    }

    /// The advection sub-step: Heun's two stages, halos filled before each;
    /// taken again as two halves when the second stage's CFL number exceeds
    /// [`POSITIVE_CFL`] and ρ went negative, as the whole grid's
    /// [`AdvectionStep`] does (the same bits).
    fn advect(&mut self, slabs: &mut [Density], dt: f64) {
        self.advect_halving(slabs, dt, 0);
    }

    fn advect_halving(&mut self, slabs: &mut [Density], dt: f64, halvings: u32) {
        self.fill_halos(slabs, ADVECTION_HALO);
        self.velocity(Of::Density, slabs);
        for (p, d) in self.parts.iter_mut().zip(slabs.iter()) {
            p.advection.first_stage(&d.values[p.cut.clone()], dt);
        }
        let stages = self.parts.iter_mut().map(|p| p.advection.stage_value());
        self.link
            .fill(&self.local_moved, true, stages, ADVECTION_HALO);
        self.velocity(Of::Stage, slabs);
        let rate = self.interior_rate();
        let fast = halvings < super::advection::step::MAX_HALVINGS && dt * rate > POSITIVE_CFL;
        let backup: Vec<Vec<f64>> = match fast {
            true => slabs.iter().map(|d| d.values.clone()).collect(),
            false => Vec::new(),
        };
        for (p, d) in self.parts.iter_mut().zip(slabs.iter_mut()) {
            p.advection.second_stage(&mut d.values[p.cut.clone()], dt);
        }
        let negative = fast && {
            let (lo, hi) = slabs
                .iter()
                .map(|d| extremes(d.interior()))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |a, b| {
                    (a.0.min(b.0), a.1.max(b.1))
                });
            // the least is the largest of the negated
            let lo = -self.widest(-lo);
            negative_beyond_round_off(lo, self.widest(hi))
        };
        if negative {
            for (d, b) in slabs.iter_mut().zip(backup) {
                d.values = b;
            }
            self.advect_halving(slabs, dt / 2.0, halvings + 1);
            self.advect_halving(slabs, dt / 2.0, halvings + 1);
        }
    }

    /// Fill the `depth` rows of halo beside the interiors of this
    /// process's slabs of ρ (all of them within one process).
    fn fill_halos(&mut self, slabs: &mut [Density], depth: usize) {
        let values = slabs.iter_mut().map(|d| &mut d.values[..]);
        self.link.fill(&self.local, false, values, depth);
    }

    /// The exact heat flow over `dt`: by the heat kernel along a when it
    /// reaches no further than the halos (filled first), else along a on
    /// pencils of whole lines ([`AlongA`]) and then along the w axes in
    /// the slabs (the serial axis order).
    fn diffuse(&mut self, slabs: &mut [Density], dt: f64) {
        if self.d == 0.0 || dt == 0.0 {
            return;
        }
        let n0 = self.parts[0].slab.whole.n[0];
        if let [p] = &mut self.parts[..] {
            if p.slab.start == 0 && p.slab.end == n0 {
                // one slab of the whole grid: the serial step
                return p.diffusion.advance(&mut slabs[0].values, dt);
            }
        }
        // whether the kernel reaches beyond a halo on any rank (the same Δt
        // and h everywhere: the same reach)
        let mut beyond = false;
        let mut reach_rows = 0;
        for p in &mut self.parts {
            let s = &p.slab;
            let halo = match (s.start > 0, s.end < n0) {
                (true, true) => s.below.min(s.above),
                (true, false) => s.below,
                (false, true) => s.above,
                (false, false) => usize::MAX,
            };
            match p.diffusion.kernel_half_width(0, dt) {
                Some(b) if b <= halo => reach_rows = reach_rows.max(b),
                _ => beyond = true,
            }
        }
        if self.widest(f64::from(u8::from(beyond))) == 0.0 {
            self.fill_halos(slabs, reach_rows);
            for (p, d) in self.parts.iter_mut().zip(slabs.iter_mut()) {
                p.diffusion.advance(&mut d.values, dt);
            }
            return;
        }
        let ranks = match &self.link {
            Link::Local => None,
            Link::Ranks(b) => Some(b.ranks.as_ref()),
        };
        let along = self.along.get_or_insert_with(|| {
            let every = match &self.link {
                Link::Local => &self.local,
                Link::Ranks(b) => &b.geometry,
            };
            AlongA::new(every, ranks, self.d)
        });
        along.advance(ranks, slabs, dt);
        let dim = self.parts[0].slab.whole.dim();
        for (p, d) in self.parts.iter_mut().zip(slabs.iter_mut()) {
            p.diffusion.advance_axes(&mut d.values, dt, 1..dim);
        }
    }

    /// One step of length `dt` of every slab (their interiors; halos are
    /// stale afterwards), in the whole grid's order of sub-steps (with
    /// birth–death, ½ reaction each side of the advection; after it with
    /// Lie).
    pub fn step(&mut self, slabs: &mut [Density], dt: f64) {
        match (self.splitting, self.owed) {
            (Splitting::Strang, owed) => {
                self.diffuse(slabs, owed.unwrap_or(0.0) + 0.5 * dt);
                self.react(slabs, 0.5 * dt);
                self.advect(slabs, dt);
                self.react(slabs, 0.5 * dt);
                match owed {
                    Some(_) => self.owed = Some(0.5 * dt),
                    None => self.diffuse(slabs, 0.5 * dt),
                }
            }
            (Splitting::Lie, _) => {
                self.advect(slabs, dt);
                self.react(slabs, dt);
                self.diffuse(slabs, dt);
            }
        }
    }

    /// Birth–death over `dt` (none without it, or at Δt = 0): Ψ from the
    /// moments summed over the slabs and ranks.
    fn react(&mut self, slabs: &mut [Density], dt: f64) {
        if dt == 0.0 {
            return;
        }
        let Some(mut r) = self.reaction.take() else {
            return;
        };
        let ranks = match &self.link {
            Link::Local => None,
            Link::Ranks(b) => Some(b.ranks.clone()),
        };
        r.advance(ranks.as_deref(), slabs, dt, &mut |s, g| {
            self.velocity(Of::Density, s);
            g.copy_from_slice(self.parts[0].advection.velocity().g());
        });
        self.reaction = Some(r);
    }

    /// Defer each Strang step's trailing half diffusion, merged with the
    /// next step's leading half (one diffusion per step instead of two;
    /// the exact heat flows compose, so the same density to round-off):
    /// the slabs then owe it until [`SlabStepper::flush`]. With noise and
    /// Strang only; whether it is on. The halo must be
    /// [`SlabStepper::halo`]'s for a deferred diffusion.
    pub fn defer_diffusion(&mut self) -> bool {
        let on = self.splitting == Splitting::Strang && self.d > 0.0;
        self.owed = on.then_some(self.owed.unwrap_or(0.0));
        if on && self.paid.is_none() {
            let grid = &self.parts[0].slab.whole;
            let a_centres: Vec<f64> = (0..grid.n[0]).map(|i| grid.centre(0, i)).collect();
            self.paid = Some(Paid {
                on_a: SpectralDiffusion::new(&grid.sub(0..1), self.d),
                on_w: SpectralDiffusion::new(&grid.sub(1..grid.dim()), self.d),
                a_weights: vec![0.0; a_centres.len()],
                a_centres,
            });
        }
        on
    }

    /// Apply the diffusion owed to the slabs.
    pub fn flush(&mut self, slabs: &mut [Density]) {
        if let Some(owed) = self.owed.filter(|&o| o > 0.0) {
            self.diffuse(slabs, owed);
            self.owed = Some(0.0);
        }
    }

    /// The slabs with the owed diffusion applied, on copies (the slabs
    /// themselves go on owing it: a history row does not change the run).
    pub fn settled(&mut self, slabs: &[Density]) -> Vec<Density> {
        let mut copies = slabs.to_vec();
        if let Some(owed) = self.owed.filter(|&o| o > 0.0) {
            self.diffuse(&mut copies, owed);
        }
        copies
    }

    /// f_h at the nodes of the whole density `slabs` are the slabs of (its
    /// moments summed over the slabs, and over the ranks in rank order).
    pub fn f_nodes_of(&mut self, slabs: &[Density]) -> &[f64] {
        self.velocity(Of::Density, slabs);
        self.parts[0].advection.velocity().f_nodes()
    }

    /// f_h at `points` of the density of the last [`Self::f_nodes_of`].
    pub fn f_at_points(&mut self, points: &[Vec<f64>]) -> Vec<f64> {
        self.parts[0].advection.velocity().f_at_points(points)
    }
}
