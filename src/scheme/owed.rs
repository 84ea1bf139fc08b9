//! **The deferred half diffusion** of a Strang step, in one place: the
//! trailing half diffusion of a step held back and applied together with
//! the next step's leading half as one diffusion of the summed duration
//! (the exact heat flow is a semigroup, D(s) D(t) = D(s + t) up to
//! round-off), so a step costs one diffusion instead of two. The
//! controller settles the debt at every snapshot ([`super::Stepper::flush`]).

use super::diffusion::SpectralDiffusion;
use super::SubStep;
use crate::grid::Grid;
use crate::velocity::Velocity;

/// What is owed, and what V of the density once it is paid needs.
pub(super) struct Owed {
    /// The duration owed (0: none).
    pub time: f64,
    /// The exact heat flow on the a axis alone and on the w sub-grid.
    pub on_a: SpectralDiffusion,
    pub on_w: SpectralDiffusion,
    /// The a centres, and ã = E_a(time) a.
    a_centres: Vec<f64>,
    a_weights: Vec<f64>,
    /// The first moments of the density once paid.
    m1: Vec<f64>,
    /// Whether the controller asked for it.
    pub active: bool,
}

impl Owed {
    /// Nothing owed yet, on `grid` (a trained a: axis 0) with D = `d`.
    pub fn new(grid: &Grid, d: f64) -> Self {
        Owed {
            time: 0.0,
            on_a: SpectralDiffusion::new(&grid.sub(0..1), d),
            on_w: SpectralDiffusion::new(&grid.sub(1..grid.dim()), d),
            a_centres: (0..grid.n[0]).map(|i| grid.centre(0, i)).collect(),
            a_weights: vec![0.0; grid.n[0]],
            m1: vec![0.0; grid.len() / grid.n[0]],
            active: false,
        }
    }

    /// V[E ρ] for the diffusion E = E_a ⊗ E_w owed to ρ, without applying
    /// it: with a trained a, V depends on ρ only through its first moments
    /// m1, and m1[E ρ] = E_w m1_ã[ρ], the first moments weighted by
    /// ã = E_a a (E_a is symmetric) then diffused on the w sub-grid. Equal
    /// to [`Velocity::eval`] of E ρ up to round-off.
    pub fn velocity_of(&mut self, vel: &mut Velocity, rho: &[f64]) {
        self.a_weights.copy_from_slice(&self.a_centres);
        self.on_a.advance(&mut self.a_weights, self.time);
        let rows = 0..self.a_centres.len();
        vel.first_moments(rho, rows, Some(&self.a_weights), &mut self.m1);
        self.on_w.advance(&mut self.m1, self.time);
        vel.eval_moments(&self.m1);
    }
}
