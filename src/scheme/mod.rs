//! **Schemes** for ∂_t ρ = −div(ρ V[ρ]) + (η/2) Δρ: advection (MUSCL +
//! SSP-RK2), diffusion (exact DCT or implicit), and Strang splitting joining
//! them: half diffusion, full advection, half diffusion. Each part is
//! swappable; the [`Stepper`] is planned once and allocates nothing per step.

pub mod advection;
pub mod diffusion;

pub use advection::{Advection, Limiter};
pub use diffusion::{make_diffusion, Diffusion, DiffusionKind};

use crate::grid::Grid;
use crate::model::{Network, Quadrature};
use crate::velocity::Velocity;

/// A raw pointer shared by parallel tasks that write disjoint entries (the
/// lines of one axis).
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub(crate) *mut f64);
// SAFETY: every user partitions the entries among tasks.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// The pointer (a method, so closures capture the Send wrapper).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut f64 {
        self.0
    }
}

/// Scheme choices of `[solver]`.
#[derive(Debug, Clone, Copy)]
pub struct SchemeOptions {
    pub cfl: f64,
    pub limiter: Limiter,
    pub diffusion: DiffusionKind,
    pub dt_max: f64,
    pub history_every: usize,
}

/// One time step of the mean-field PDE, planned once.
pub struct Stepper {
    pub velocity: Velocity,
    advection: Advection,
    diffusion: Box<dyn Diffusion>,
    cfl: f64,
    dt_max: f64,
    /// Stage value and right-hand side of SSP-RK2.
    u1: Vec<f64>,
    du: Vec<f64>,
}

impl Stepper {
    /// Plan a stepper for the network on `grid` with noise η.
    pub fn new(
        net: Network,
        grid: &Grid,
        quad: &Quadrature,
        fstar: &[f64],
        noise: f64,
        opts: &SchemeOptions,
    ) -> Self {
        Stepper {
            velocity: Velocity::new(net, grid, quad, fstar),
            advection: Advection::new(grid, opts.limiter),
            diffusion: make_diffusion(opts.diffusion, grid, 0.5 * noise),
            cfl: opts.cfl,
            dt_max: opts.dt_max,
            u1: vec![0.0; grid.len()],
            du: vec![0.0; grid.len()],
        }
    }

    /// The CFL time step at ρ: cfl / max_i Σ_k |V_k| / h_k, capped by dt_max.
    pub fn stable_dt(&mut self, rho: &[f64]) -> f64 {
        self.velocity.eval(rho);
        let rate = self.velocity.max_rate();
        if rate > 0.0 {
            (self.cfl / rate).min(self.dt_max)
        } else {
            self.dt_max
        }
    }

    /// SSP-RK2 (Heun) for the advection alone, V recomputed at each stage:
    /// u1 = ρ + Δt A(ρ);  ρ ← ½ ρ + ½ (u1 + Δt A(u1)).
    pub fn advect(&mut self, rho: &mut [f64], dt: f64) {
        let faces = self.velocity.eval(rho);
        self.advection.rhs(rho, faces, &mut self.du);
        for ((u1, r), d) in self.u1.iter_mut().zip(rho.iter()).zip(&self.du) {
            *u1 = r + dt * d;
        }
        let faces = self.velocity.eval(&self.u1);
        self.advection.rhs(&self.u1, faces, &mut self.du);
        for ((r, u1), d) in rho.iter_mut().zip(&self.u1).zip(&self.du) {
            *r = 0.5 * *r + 0.5 * (u1 + dt * d);
        }
    }

    /// The diffusion alone over `dt`.
    pub fn diffuse(&mut self, rho: &mut [f64], dt: f64) {
        self.diffusion.step(rho, dt);
    }

    /// One Strang step: half diffusion, advection, half diffusion.
    pub fn step(&mut self, rho: &mut [f64], dt: f64) {
        self.diffusion.step(rho, 0.5 * dt);
        self.advect(rho, dt);
        self.diffusion.step(rho, 0.5 * dt);
    }
}
