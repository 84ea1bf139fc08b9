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
//!   process by [`crate::density::exchange`]).
//!
//! A slab's halo rows are then recomputed with walls at the slab's edge
//! (wrong, and overwritten by the next exchange) while its interior gets
//! the serial values, up to the order of the moments' sums. The Strang
//! step's trailing half diffusion is not deferred here. Split scheme,
//! spectral diffusion (by kernel along axis 0) and a trained a only.

use super::advection::step::{below_round_off, POSITIVE_CFL};
use super::advection::AdvectionStep;
use super::diffusion::SpectralDiffusion;
use super::{DiffusionKind, SchemeKind, SchemeOptions, Splitting, SubStep};
use crate::density::{exchange, Density};
use crate::error::{Error, Result};
use crate::grid::Slab;
use crate::model::MeanField;

/// Rows of halo the advection reads: MUSCL's slope of the cell beside a
/// face reads the next cell.
pub const ADVECTION_HALO: usize = 2;

/// One slab's sub-steps, planned on its local grid.
struct Part {
    slab: Slab,
    advection: AdvectionStep,
    diffusion: SpectralDiffusion,
}

/// Which values the velocity is taken of.
#[derive(Clone, Copy)]
enum Of {
    Density,
    Stage,
}

/// One step of the split scheme over neighbouring slabs of a grid.
pub struct SlabStepper {
    parts: Vec<Part>,
    splitting: Splitting,
    d: f64,
    cfl: f64,
    dt_max: f64,
    /// The whole grid's first moments, and one slab's share.
    m1: Vec<f64>,
    share: Vec<f64>,
}

impl SlabStepper {
    /// Plan the step of `model` over `slabs` (consecutive, covering the
    /// grid) with the options of `[solver]`.
    ///
    /// # Errors
    /// For what slabs do not split (by field name): the sg scheme, an
    /// implicit diffusion, a frozen a, a 1-D grid, a halo shallower than
    /// the advection reads.
    pub fn new(model: &MeanField, slabs: &[Slab], opts: &SchemeOptions) -> Result<Self> {
        let refuse =
            |field: &str, value: &str, allowed: &str| Err(Error::problem(field, value, allowed));
        if opts.kind != SchemeKind::Split {
            return refuse(
                "solver.scheme",
                "sg",
                "split, for slabs (sg solves along every line)",
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
        let d = 0.5 * model.noise;
        let nw = slabs[0].row_len();
        Ok(SlabStepper {
            parts: slabs
                .iter()
                .map(|s| Part {
                    slab: s.clone(),
                    advection: AdvectionStep::new(model, &s.local, opts.flux, opts.cfl),
                    diffusion: SpectralDiffusion::new(&s.local, d),
                })
                .collect(),
            splitting: opts.splitting,
            d,
            cfl: opts.cfl,
            dt_max: opts.dt_max,
            m1: vec![0.0; nw],
            share: vec![0.0; nw],
        })
    }

    /// V of the whole grid's density (or stage value) in every slab: the
    /// slabs' shares of the first moments summed in slab order.
    fn velocity(&mut self, of: Of, slabs: &[Density]) {
        self.m1.fill(0.0);
        for (p, d) in self.parts.iter_mut().zip(slabs) {
            let rows = p.slab.interior();
            match of {
                Of::Density => {
                    let vel = p.advection.velocity();
                    vel.first_moments(&d.values, rows, None, &mut self.share)
                }
                Of::Stage => p.advection.stage_moments(rows, &mut self.share),
            }
            for (m, s) in self.m1.iter_mut().zip(&self.share) {
                *m += s;
            }
        }
        for p in &mut self.parts {
            p.advection.velocity().eval_moments(&self.m1);
        }
    }

    /// The largest CFL rate over the slabs' interiors, of the velocity last
    /// evaluated.
    fn interior_rate(&mut self) -> f64 {
        self.parts
            .iter_mut()
            .map(|p| {
                let rows = p.slab.interior();
                p.advection.velocity().max_rate_rows(rows)
            })
            .fold(0.0, f64::max)
    }

    /// The largest stable step: the CFL number over the largest rate of any
    /// slab's interior, capped by `dt_max`.
    pub fn stable_dt(&mut self, slabs: &[Density]) -> f64 {
        self.velocity(Of::Density, slabs);
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
        Density::exchange(slabs);
        self.velocity(Of::Density, slabs);
        for (p, d) in self.parts.iter_mut().zip(slabs.iter()) {
            p.advection.first_stage(&d.values, dt);
        }
        let geometry: Vec<Slab> = self.parts.iter().map(|p| p.slab.clone()).collect();
        let mut stages: Vec<&mut [f64]> = self
            .parts
            .iter_mut()
            .map(|p| p.advection.stage_value())
            .collect();
        exchange(&geometry, &mut stages);
        self.velocity(Of::Stage, slabs);
        let rate = self.interior_rate();
        let fast = halvings < super::advection::step::MAX_HALVINGS && dt * rate > POSITIVE_CFL;
        let backup: Vec<Vec<f64>> = match fast {
            true => slabs.iter().map(|d| d.values.clone()).collect(),
            false => Vec::new(),
        };
        for (p, d) in self.parts.iter_mut().zip(slabs.iter_mut()) {
            p.advection.second_stage(&mut d.values, dt);
        }
        let negative = fast && {
            let interiors: Vec<f64> = slabs
                .iter()
                .flat_map(|d| d.values[d.slab.interior_cells()].iter().copied())
                .collect();
            below_round_off(&interiors)
        };
        if negative {
            for (d, b) in slabs.iter_mut().zip(backup) {
                d.values = b;
            }
            self.advect_halving(slabs, dt / 2.0, halvings + 1);
            self.advect_halving(slabs, dt / 2.0, halvings + 1);
        }
    }

    /// The exact heat flow over `dt`, halos filled first.
    ///
    /// # Errors
    /// When the heat kernel along axis 0 reaches further than a halo, or
    /// the axis is diffused by DCT (a kernel wider than the limit).
    fn diffuse(&mut self, slabs: &mut [Density], dt: f64) -> Result<()> {
        if self.d == 0.0 || dt == 0.0 {
            return Ok(());
        }
        for p in &mut self.parts {
            let s = &p.slab;
            let halo = match (s.start > 0, s.end < s.whole.n[0]) {
                (true, true) => s.below.min(s.above),
                (true, false) => s.below,
                (false, true) => s.above,
                (false, false) => usize::MAX,
            };
            match p.diffusion.kernel_half_width(0, dt) {
                Some(b) if b <= halo => {}
                reach => {
                    return Err(Error::Run(format!(
                        "the diffusion over Δt = {dt:.3e} reaches {} rows of axis 0, beyond a slab's halo of {halo}",
                        reach.map_or("every".to_string(), |b| b.to_string())
                    )))
                }
            }
        }
        Density::exchange(slabs);
        for (p, d) in self.parts.iter_mut().zip(slabs.iter_mut()) {
            p.diffusion.advance(&mut d.values, dt);
        }
        Ok(())
    }

    /// One step of length `dt` of every slab (their interiors; halos are
    /// stale afterwards).
    ///
    /// # Errors
    /// What [`SlabStepper::diffuse`] refuses.
    pub fn step(&mut self, slabs: &mut [Density], dt: f64) -> Result<()> {
        match self.splitting {
            Splitting::Strang => {
                self.diffuse(slabs, 0.5 * dt)?;
                self.advect(slabs, dt);
                self.diffuse(slabs, 0.5 * dt)
            }
            Splitting::Lie => {
                self.advect(slabs, dt);
                self.diffuse(slabs, dt)
            }
        }
    }
}
