//! **The advection sub-step**: SSP-RK2 (Heun) with V[ρ] recomputed at each
//! stage, over the operator of [`super::Advection`].

use super::Advection;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::scheme::fluxes::FluxKind;
use crate::scheme::SubStep;
use crate::simd::Simd;
use crate::velocity::Velocity;

/// The CFL number up to which one of Heun's stages keeps ρ ≥ 0 (its face
/// values lie in [0, 2ρ_i]).
pub const POSITIVE_CFL: f64 = 0.5;

/// Halvings of a step whose second stage left ρ negative, at most (then
/// the controller's guard stops the run by name).
pub const MAX_HALVINGS: u32 = 20;

/// The advection sub-step: SSP-RK2 (Heun) with V[ρ] recomputed at each
/// stage, u1 = ρ + Δt A(ρ), ρ ← ½ ρ + ½ (u1 + Δt A(u1)); its stable Δt is
/// the CFL number over max_i Σ_k |V_k| / h_k of V at ρ.
///
/// Δt bounds the first stage's CFL number; the second stage's is that of V
/// at u1, which can be larger when V changes fast within the step (on a
/// polynomial unit, where the first units to escape run off: up to 14×
/// measured, on grids/info_exponent.toml with k = 3). When it exceeds
/// [`POSITIVE_CFL`] and the stage leaves a value below −1e-8 of the
/// largest (the guard's test), the step is taken again as two halves, each
/// checked alike. Elsewhere the step is unchanged, to the bit.
pub struct AdvectionStep {
    pub(super) velocity: Velocity,
    op: Advection,
    cfl: f64,
    /// Stage value and the partial sums of a stage.
    u1: Vec<f64>,
    du: Vec<f64>,
    /// ρ before a second stage that may need taking again (allocated the
    /// first time one does).
    backup: Vec<f64>,
}

impl AdvectionStep {
    /// Plan the sub-step (the velocity's tables included).
    pub fn new(model: &MeanField, grid: &Grid, flux: FluxKind, cfl: f64) -> Self {
        AdvectionStep {
            velocity: Velocity::new(model, grid),
            op: Advection::for_model(model, grid, flux),
            cfl,
            u1: vec![0.0; grid.len()],
            du: vec![0.0; grid.len()],
            backup: Vec::new(),
        }
    }
}

/// Whether ρ holds a value below −1e-8 of its largest (more than
/// round-off; the controller's guard's test) or one not finite.
pub fn below_round_off(rho: &[f64]) -> bool {
    let (lo, hi) = extremes(rho);
    negative_beyond_round_off(lo, hi)
}

/// The least and the largest of ρ (what [`below_round_off`] looks at; a
/// split grid combines its slabs' in any order).
pub fn extremes(rho: &[f64]) -> (f64, f64) {
    crate::sum::fixed_fold(
        rho,
        || (f64::INFINITY, f64::NEG_INFINITY),
        |(lo, hi), _, &r| (lo.min(r), hi.max(r)),
        |a, b| (a.0.min(b.0), a.1.max(b.1)),
    )
}

/// [`below_round_off`] of a density whose extremes are `lo` and `hi`.
pub fn negative_beyond_round_off(lo: f64, hi: f64) -> bool {
    !(lo.is_finite() && hi.is_finite()) || lo < -1e-8 * hi.max(0.0)
}

impl AdvectionStep {
    /// Heun's first stage, u1 = ρ + Δt A(ρ), with V as last evaluated (at
    /// ρ): the stage value is [`AdvectionStep::stage_value`].
    pub fn first_stage(&mut self, rho: &[f64], dt: f64) {
        self.op.stage(
            rho,
            &self.velocity,
            &mut self.du,
            &mut self.u1,
            |_, r, a| r + dt * a,
        );
    }

    /// Heun's second stage, ρ ← ½ ρ + ½ (u1 + Δt A(u1)), with V as last
    /// evaluated (at u1).
    pub fn second_stage(&mut self, rho: &mut [f64], dt: f64) {
        self.op
            .stage(&self.u1, &self.velocity, &mut self.du, rho, |r, u1, a| {
                0.5 * r + 0.5 * (u1 + dt * a)
            });
    }

    /// The first moments of the stage value's rows `rows` (a slab's share
    /// of the moments V at u1 needs; see [`Velocity::first_moments`]).
    pub fn stage_moments(&self, rows: std::ops::Range<usize>, m1: &mut [f64]) {
        self.velocity.first_moments(&self.u1, rows, None, m1);
    }

    /// The first stage's value u1 (a slab's halo rows are filled in it
    /// between the stages).
    pub fn stage_value(&mut self) -> &mut [f64] {
        &mut self.u1
    }

    /// The velocity the stages read.
    pub fn velocity(&mut self) -> &mut Velocity {
        &mut self.velocity
    }

    /// The stable Δt of the velocity last evaluated: the CFL number over the
    /// largest rate.
    pub fn dt_of_velocity(&mut self) -> f64 {
        let rate = self.velocity.max_rate();
        if rate > 0.0 {
            self.cfl / rate
        } else {
            f64::INFINITY
        }
    }
}

impl AdvectionStep {
    /// Heun's two stages from V evaluated at ρ, taken again as two halves
    /// when the second stage's CFL number exceeds [`POSITIVE_CFL`] and ρ
    /// went negative ([`AdvectionStep`]).
    fn heun(&mut self, rho: &mut [f64], dt: f64, halvings: u32) {
        self.first_stage(rho, dt);
        self.velocity.eval(&self.u1);
        let fast = halvings < MAX_HALVINGS && dt * self.velocity.max_rate() > POSITIVE_CFL;
        if fast {
            self.backup.clear();
            self.backup.extend_from_slice(rho);
        }
        self.second_stage(rho, dt);
        if fast && below_round_off(rho) {
            rho.copy_from_slice(&self.backup);
            for _ in 0..2 {
                self.velocity.eval(rho);
                self.heun(rho, dt / 2.0, halvings + 1);
            }
        }
    }
}

impl SubStep for AdvectionStep {
    fn stable_dt(&mut self, rho: &[f64]) -> f64 {
        self.velocity.eval(rho);
        self.dt_of_velocity()
    }

    fn set_simd(&mut self, simd: Simd) {
        self.op.set_simd(simd);
        self.velocity.set_simd(simd);
    }

    fn advance(&mut self, rho: &mut [f64], dt: f64) {
        assert_eq!(rho.len(), self.u1.len(), "density length against the grid");
        self.velocity.eval(rho);
        self.heun(rho, dt, 0);
    }
}
