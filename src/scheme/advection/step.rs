//! **The advection sub-step**: SSP-RK2 (Heun) with V[ρ] recomputed at each
//! stage, over the operator of [`super::Advection`].

use super::Advection;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::scheme::fluxes::FluxKind;
use crate::scheme::SubStep;
use crate::simd::Simd;
use crate::velocity::Velocity;

/// The advection sub-step: SSP-RK2 (Heun) with V[ρ] recomputed at each
/// stage, u1 = ρ + Δt A(ρ), ρ ← ½ ρ + ½ (u1 + Δt A(u1)); its stable Δt is
/// the CFL number over max_i Σ_k |V_k| / h_k.
pub struct AdvectionStep {
    pub(super) velocity: Velocity,
    op: Advection,
    cfl: f64,
    /// Stage value and the partial sums of a stage.
    u1: Vec<f64>,
    du: Vec<f64>,
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
        }
    }
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
        self.first_stage(rho, dt);
        self.velocity.eval(&self.u1);
        self.second_stage(rho, dt);
    }
}
