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
//! Each sub-step reports the largest Δt it takes ([`SubStep::stable_dt`]);
//! the [`Stepper`] offers the smallest, capped by `dt_max`. It is planned
//! once and allocates nothing per step. The one `unsafe` of the sweeps is in
//! [`crate::grid::lines`].

pub mod advection;
pub mod diffusion;
pub mod flux;
pub mod sg;
pub mod upwind;

pub use advection::{Advection, AdvectionStep};
pub use diffusion::{make_diffusion, DiffusionKind};
pub use flux::{FaceFlux, FluxKind, Limiter};
pub use sg::SgStep;

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

/// The parts of a step.
enum Parts {
    Split {
        advection: AdvectionStep,
        diffusion: Box<dyn SubStep>,
        splitting: Splitting,
    },
    Sg(SgStep),
}

/// One time step of the mean-field PDE, planned once.
pub struct Stepper {
    parts: Parts,
    dt_max: f64,
}

impl Stepper {
    /// Plan a stepper for the model (with its noise η) on `grid`.
    pub fn new(model: &MeanField, grid: &Grid, opts: &SchemeOptions) -> Self {
        let parts = match opts.kind {
            SchemeKind::Split => Parts::Split {
                advection: AdvectionStep::new(model, grid, opts.flux, opts.cfl),
                diffusion: make_diffusion(opts.diffusion, grid, 0.5 * model.noise),
                splitting: opts.splitting,
            },
            SchemeKind::Sg => Parts::Sg(SgStep::new(model, grid)),
        };
        Stepper {
            parts,
            dt_max: opts.dt_max,
        }
    }

    /// The velocity evaluator (its tables serve the diagnostics too).
    pub fn velocity(&mut self) -> &mut Velocity {
        match &mut self.parts {
            Parts::Split { advection, .. } => &mut advection.velocity,
            Parts::Sg(sg) => &mut sg.velocity,
        }
    }

    /// The largest step from ρ: the smallest of the sub-steps' stable Δt
    /// (each over its share of the step) and `dt_max`.
    pub fn stable_dt(&mut self, rho: &[f64]) -> f64 {
        match &mut self.parts {
            Parts::Split {
                advection,
                diffusion,
                splitting,
            } => {
                let share = splitting.diffusion_share();
                self.dt_max
                    .min(advection.stable_dt(rho))
                    .min(diffusion.stable_dt(rho) / share)
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

    /// One step of the scheme.
    pub fn step(&mut self, rho: &mut [f64], dt: f64) {
        match &mut self.parts {
            Parts::Split {
                advection,
                diffusion,
                splitting: Splitting::Strang,
            } => {
                diffusion.advance(rho, 0.5 * dt);
                advection.advance(rho, dt);
                diffusion.advance(rho, 0.5 * dt);
            }
            Parts::Split {
                advection,
                diffusion,
                splitting: Splitting::Lie,
            } => {
                advection.advance(rho, dt);
                diffusion.advance(rho, dt);
            }
            Parts::Sg(sg) => sg.advance(rho, dt),
        }
    }
}
