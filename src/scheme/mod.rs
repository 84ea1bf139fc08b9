//! **Schemes** for ∂_t ρ = −div(ρ V[ρ]) + (η/2) Δρ, built from swappable
//! sub-steps joined by a splitting:
//!
//! - advection ([`advection`]): a face flux ([`flux`]: MUSCL with a
//!   limiter, or first-order [`upwind`]) swept over every axis, SSP-RK2 in
//!   time with V recomputed at each stage;
//! - diffusion ([`diffusion`]): the exact discrete heat flow (DCT) or a
//!   θ-scheme;
//! - splitting (`solver.splitting`): Strang (½ diffusion, advection, ½
//!   diffusion; second order) or Lie (advection, diffusion; first order);
//! - or, with `solver.scheme = "sg"`, one equilibrium-exact implicit step
//!   ([`sg`]: Scharfetter–Gummel fluxes, drift and diffusion together).
//!
//! A step over the slabs of a grid (the seam of a run across processes)
//! is [`slabs`]: the same sub-steps on each slab, coupled through the
//! velocity's first moments and the halo rows. The deferred half diffusion
//! of a Strang step has its home in `owed`.
//!
//! Each sub-step reports the largest Δt it takes ([`SubStep::stable_dt`]);
//! the [`Stepper`] offers the smallest, capped by `dt_max`. It is planned
//! once and allocates nothing per step. The one `unsafe` of the sweeps is in
//! [`crate::grid::lines`].

pub mod advection;
pub mod diffusion;
pub mod flux;
pub mod fluxes;
pub mod heat_kernel;
mod owed;
pub mod reaction;
pub mod sg;
pub mod slabs;
pub mod stretched_heat;
pub mod upwind;

use crate::simd::Simd;
pub use advection::{Advection, AdvectionStep};
pub use diffusion::{make_diffusion, DiffusionKind, SpectralDiffusion};
pub use flux::{FaceFlux, Limiter};
pub use fluxes::FluxKind;
use owed::Owed;
use reaction::Reaction;
pub use sg::SgStep;
pub use slabs::SlabStepper;

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::model::MeanField;
use crate::velocity::Velocity;

/// One part of a split time step: ρ ← S(Δt) ρ.
pub trait SubStep: Send {
    /// The largest Δt one [`SubStep::advance`] may take from ρ (∞ when any
    /// step is stable).
    fn stable_dt(&mut self, rho: &[f64]) -> f64;
    /// Advance ρ by Δt.
    fn advance(&mut self, rho: &mut [f64], dt: f64);
    /// Run its loops in another SIMD variant (it must be
    /// [`Simd::available`]); the bits do not change.
    fn set_simd(&mut self, _simd: Simd) {}
}

/// How the sub-steps are joined into one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Splitting {
    /// ½ diffusion, advection, ½ diffusion: second order in Δt.
    Strang,
    /// Advection, then diffusion: first order in Δt.
    Lie,
}

impl Splitting {
    /// Parse `solver.splitting`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "strang" => Ok(Splitting::Strang),
            "lie" => Ok(Splitting::Lie),
            _ => Err(Error::problem(
                "solver.splitting",
                format!("{s:?}"),
                "one of strang (second order), lie (first order)",
            )),
        }
    }

    /// The fraction of the step Δt one diffusion sub-step takes.
    fn diffusion_share(self) -> f64 {
        match self {
            Splitting::Strang => 0.5,
            Splitting::Lie => 1.0,
        }
    }
}

/// Which scheme (`solver.scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeKind {
    /// Advection and diffusion split: MUSCL + SSP-RK2, DCT diffusion. For
    /// transients (second order in Δt with Strang).
    Split,
    /// Scharfetter–Gummel, implicit and dimension-split: the Gibbs state
    /// exactly, large steps, F_η never rising. For long times.
    Sg,
}

impl SchemeKind {
    /// Parse `solver.scheme`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "split" => Ok(SchemeKind::Split),
            "sg" => Ok(SchemeKind::Sg),
            _ => Err(Error::problem(
                "solver.scheme",
                format!("{s:?}"),
                "one of split (advection and diffusion split; transients), sg (Scharfetter–Gummel, implicit; long times)",
            )),
        }
    }
}

/// Scheme choices of `[solver]`.
#[derive(Debug, Clone, Copy)]
pub struct SchemeOptions {
    pub kind: SchemeKind,
    /// Courant number of the advection.
    pub cfl: f64,
    pub flux: FluxKind,
    pub diffusion: DiffusionKind,
    pub splitting: Splitting,
    /// Largest step.
    pub dt_max: f64,
    /// Steps between rows of the light history.
    pub history_every: usize,
    /// Steps at most (the run stops beyond).
    pub max_steps: usize,
}

impl SchemeOptions {
    /// The order in Δt of the scheme's time error: sg's implicit step 1;
    /// the split step the least of its splitting's (Strang 2, Lie 1), its
    /// advection's (SSP-RK2: 2) and its diffusion's (exact, Crank–Nicolson
    /// 2; backward Euler 1).
    pub fn time_order(&self) -> u32 {
        match self.kind {
            SchemeKind::Sg => 1,
            SchemeKind::Split => {
                let splitting = match self.splitting {
                    Splitting::Strang => 2,
                    Splitting::Lie => 1,
                };
                let diffusion = match self.diffusion {
                    DiffusionKind::BackwardEuler => 1,
                    DiffusionKind::Spectral | DiffusionKind::CrankNicolson => 2,
                };
                splitting.min(diffusion)
            }
        }
    }

    /// The same choices with every bound on the step halved (the Courant
    /// number, the largest step; twice the steps allowed): the steps of a
    /// run at Δt/2.
    pub fn half_step(&self) -> Self {
        SchemeOptions {
            cfl: 0.5 * self.cfl,
            dt_max: 0.5 * self.dt_max,
            max_steps: self.max_steps.saturating_mul(2),
            ..*self
        }
    }
}

/// The parts of a step.
enum Parts {
    Split {
        advection: AdvectionStep,
        diffusion: Box<dyn SubStep>,
        splitting: Splitting,
        /// Birth–death, when α > 0.
        reaction: Option<Reaction>,
    },
    Sg(SgStep),
}

/// One time step of the mean-field PDE, planned once.
pub struct Stepper {
    parts: Parts,
    dt_max: f64,
    /// Present when the step can defer its trailing half diffusion (Strang,
    /// exact diffusion, η > 0, a trained).
    owed: Option<Owed>,
}

impl Stepper {
    /// Plan a stepper for the model (with its noise η) on `grid`.
    pub fn new(model: &MeanField, grid: &Grid, opts: &SchemeOptions) -> Self {
        let d = 0.5 * model.noise;
        let parts = match opts.kind {
            SchemeKind::Split => Parts::Split {
                advection: AdvectionStep::new(model, grid, opts.flux, opts.cfl),
                diffusion: make_diffusion(opts.diffusion, grid, d),
                splitting: opts.splitting,
                reaction: (model.birth_death > 0.0).then(|| Reaction::new(model, grid)),
            },
            SchemeKind::Sg => Parts::Sg(SgStep::new(model, grid)),
        };
        let can_defer = opts.kind == SchemeKind::Split
            && opts.splitting == Splitting::Strang
            && opts.diffusion == DiffusionKind::Spectral
            && d > 0.0
            && model.net.frozen_a.is_none()
            && grid.dim() >= 2;
        let owed = can_defer.then(|| Owed::new(grid, d));
        Stepper {
            parts,
            dt_max: opts.dt_max,
            owed,
        }
    }

    /// Defer each step's trailing half diffusion to the next step (see
    /// [`Stepper::step`]); true when the scheme allows it (Strang splitting
    /// of the exact diffusion, η > 0, a trained). Off by default.
    ///
    /// # Panics
    /// When turned off while a diffusion is owed ([`Stepper::flush`] first).
    pub fn defer_diffusion(&mut self, on: bool) -> bool {
        match &mut self.owed {
            Some(o) => {
                assert!(on || o.time == 0.0, "flush before deferring no more");
                o.active = on;
                on
            }
            None => false,
        }
    }

    /// Stop deferring and drop what is owed (the held density is being
    /// dropped too).
    pub fn forget_owed(&mut self) {
        if let Some(o) = &mut self.owed {
            o.time = 0.0;
            o.active = false;
        }
    }

    /// The duration of diffusion owed to the density (0 unless deferring).
    pub fn owed(&self) -> f64 {
        self.owed.as_ref().map_or(0.0, |o| o.time)
    }

    /// Apply the owed diffusion to `rho` (a copy of the held density) and
    /// keep owing it: the density as it is, for a look that must not change
    /// the run.
    pub fn apply_owed(&mut self, rho: &mut [f64]) {
        let t = self.owed();
        if let (Parts::Split { diffusion, .. }, true) = (&mut self.parts, t > 0.0) {
            diffusion.advance(rho, t);
        }
    }

    /// Apply the owed diffusion to the held density: afterwards it is
    /// complete and nothing is owed.
    pub fn flush(&mut self, rho: &mut [f64]) {
        self.apply_owed(rho);
        if let Some(o) = &mut self.owed {
            o.time = 0.0;
        }
    }

    /// Run every loop in another SIMD variant (it must be
    /// [`Simd::available`]): for the tests that the variants agree.
    pub fn set_simd(&mut self, simd: Simd) {
        match &mut self.parts {
            Parts::Split {
                advection,
                diffusion,
                ..
            } => {
                advection.set_simd(simd);
                diffusion.set_simd(simd);
            }
            Parts::Sg(sg) => sg.velocity.set_simd(simd),
        }
        if let Some(o) = &mut self.owed {
            o.on_a.set_simd(simd);
            o.on_w.set_simd(simd);
        }
    }

    /// The velocity evaluator (its tables serve the diagnostics too).
    pub fn velocity(&mut self) -> &mut Velocity {
        match &mut self.parts {
            Parts::Split { advection, .. } => advection.velocity(),
            Parts::Sg(sg) => &mut sg.velocity,
        }
    }

    /// The largest step from ρ: the smallest of the sub-steps' stable Δt
    /// (each over its share of the step) and `dt_max`. With a diffusion
    /// owed, the advection's Δt is that of the complete density, its
    /// velocity from the first moments of the owed flow
    /// ([`Owed::velocity_of`]) without applying it.
    pub fn stable_dt(&mut self, rho: &[f64]) -> f64 {
        match &mut self.parts {
            Parts::Split {
                advection,
                diffusion,
                splitting,
                ..
            } => {
                let share = splitting.diffusion_share();
                let adv = match &mut self.owed {
                    Some(o) if o.time > 0.0 => {
                        o.velocity_of(advection.velocity(), rho);
                        advection.dt_of_velocity()
                    }
                    _ => advection.stable_dt(rho),
                };
                self.dt_max.min(adv).min(diffusion.stable_dt(rho) / share)
            }
            Parts::Sg(sg) => self.dt_max.min(sg.stable_dt(rho)),
        }
    }

    /// The advection sub-step alone over `dt`.
    ///
    /// # Panics
    /// With `solver.scheme = "sg"`, which has no advection apart.
    pub fn advect(&mut self, rho: &mut [f64], dt: f64) {
        match &mut self.parts {
            Parts::Split { advection, .. } => advection.advance(rho, dt),
            Parts::Sg(_) => panic!("the sg scheme has no advection sub-step"),
        }
    }

    /// One step of the scheme. With Strang splitting: ½ diffusion (with
    /// whatever is owed), advection, ½ diffusion — the last one owed
    /// instead when [`Stepper::defer_diffusion`] is on, so that ρ is then
    /// complete but for it ([`Stepper::flush`]). With birth–death the
    /// advection is wrapped in ½ reaction each side (a symmetric
    /// composition of second-order parts: second order); with Lie the
    /// reaction follows the advection.
    pub fn step(&mut self, rho: &mut [f64], dt: f64) {
        match &mut self.parts {
            Parts::Split {
                advection,
                diffusion,
                splitting: Splitting::Strang,
                reaction,
            } => {
                let owed = self.owed.as_mut().filter(|o| o.active);
                let before = owed.as_ref().map_or(0.0, |o| o.time);
                diffusion.advance(rho, before + 0.5 * dt);
                match reaction {
                    Some(r) => {
                        r.advance(advection.velocity(), rho, 0.5 * dt);
                        advection.advance(rho, dt);
                        r.advance(advection.velocity(), rho, 0.5 * dt);
                    }
                    None => advection.advance(rho, dt),
                }
                match owed {
                    Some(o) => o.time = 0.5 * dt,
                    None => diffusion.advance(rho, 0.5 * dt),
                }
            }
            Parts::Split {
                advection,
                diffusion,
                splitting: Splitting::Lie,
                reaction,
            } => {
                advection.advance(rho, dt);
                if let Some(r) = reaction {
                    r.advance(advection.velocity(), rho, dt);
                }
                diffusion.advance(rho, dt);
            }
            Parts::Sg(sg) => sg.advance(rho, dt),
        }
    }
}
