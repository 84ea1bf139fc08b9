//! **Advection** −div(ρ V) in flux form with no-flux walls: a face flux
//! ([`super::flux`]) on every interior face, dimension by dimension
//! (unsplit: the flux differences of all axes are summed), and the SSP-RK2
//! (Heun) sub-step with V recomputed at each stage.

use super::flux::{FaceFlux, FluxFn, FluxKind};
use super::lines::par_line_blocks;
use super::SubStep;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::velocity::Velocity;
use rayon::prelude::*;

/// Lines along an axis are processed in blocks of this many neighbours.
const LINE_BLOCK: usize = 64;

/// The advection operator A(ρ) = −div(ρ V) on a fixed grid.
#[derive(Debug, Clone)]
pub struct Advection {
    grid: Grid,
    flux: FluxKind,
}

/// One axis's flux differences, generic over the flux.
struct Sweep<'a> {
    grid: &'a Grid,
    axis: usize,
    rho: &'a [f64],
    vel: &'a [f64],
    du: &'a mut [f64],
}

impl FluxFn<()> for Sweep<'_> {
    fn call<F: FaceFlux>(self, flux: F) {
        let Sweep {
            grid,
            axis,
            rho,
            vel,
            du,
        } = self;
        let inv_h = 1.0 / grid.h[axis];
        par_line_blocks(grid, axis, LINE_BLOCK, du, |out| {
            let n = out.len();
            for i in 1..n {
                let (im2, ip1) = (i.saturating_sub(2), (i + 1).min(n - 1));
                for l in 0..out.lines() {
                    let at = |c: usize| rho[out.index(c, l)];
                    let s = [at(im2), at(i - 1), at(i), at(ip1)];
                    let f = flux.flux(vel[out.face_index(i, l)], s) * inv_h;
                    out.add(i - 1, l, -f);
                    out.add(i, l, f);
                }
            }
        });
    }
}

impl Advection {
    /// Plan the operator.
    pub fn new(grid: &Grid, flux: FluxKind) -> Self {
        Advection {
            grid: grid.clone(),
            flux,
        }
    }

    /// du = −div(ρ V): `faces[k]` holds V_k on the faces of axis k (the cell
    /// layout with n_k + 1 entries on axis k); wall faces carry no flux.
    ///
    /// # Panics
    /// If the lengths of `rho`, `du` or `faces` do not match the grid.
    pub fn rhs(&self, rho: &[f64], faces: &[Vec<f64>], du: &mut [f64]) {
        let g = &self.grid;
        assert_eq!(rho.len(), g.len());
        assert_eq!(du.len(), g.len());
        assert_eq!(faces.len(), g.dim());
        du.par_iter_mut().for_each(|v| *v = 0.0);
        for (axis, vel) in faces.iter().enumerate() {
            assert_eq!(vel.len(), g.len() / g.n[axis] * (g.n[axis] + 1));
            self.flux.with(Sweep {
                grid: g,
                axis,
                rho,
                vel,
                du: &mut *du,
            });
        }
    }
}

/// The advection sub-step: SSP-RK2 (Heun) with V[ρ] recomputed at each
/// stage, u1 = ρ + Δt A(ρ), ρ ← ½ ρ + ½ (u1 + Δt A(u1)); its stable Δt is
/// the CFL number over max_i Σ_k |V_k| / h_k.
pub struct AdvectionStep {
    pub(super) velocity: Velocity,
    op: Advection,
    cfl: f64,
    /// Stage value and right-hand side.
    u1: Vec<f64>,
    du: Vec<f64>,
}

impl AdvectionStep {
    /// Plan the sub-step (the velocity's tables included).
    pub fn new(model: &MeanField, grid: &Grid, flux: FluxKind, cfl: f64) -> Self {
        AdvectionStep {
            velocity: Velocity::new(model, grid),
            op: Advection::new(grid, flux),
            cfl,
            u1: vec![0.0; grid.len()],
            du: vec![0.0; grid.len()],
        }
    }
}

impl SubStep for AdvectionStep {
    fn stable_dt(&mut self, rho: &[f64]) -> f64 {
        self.velocity.eval(rho);
        let rate = self.velocity.max_rate();
        if rate > 0.0 {
            self.cfl / rate
        } else {
            f64::INFINITY
        }
    }

    fn advance(&mut self, rho: &mut [f64], dt: f64) {
        let faces = self.velocity.eval(rho);
        self.op.rhs(rho, faces, &mut self.du);
        for ((u1, r), d) in self.u1.iter_mut().zip(rho.iter()).zip(&self.du) {
            *u1 = r + dt * d;
        }
        let faces = self.velocity.eval(&self.u1);
        self.op.rhs(&self.u1, faces, &mut self.du);
        for ((r, u1), d) in rho.iter_mut().zip(&self.u1).zip(&self.du) {
            *r = 0.5 * *r + 0.5 * (u1 + dt * d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Limiter;

    /// Constant data: no interior flux divergence, and the total is zero
    /// (walls), for every flux.
    #[test]
    fn constant_data_has_no_interior_flux_divergence() {
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 1.0], vec![8, 6], vec![]);
        for flux in [FluxKind::Muscl(Limiter::Minmod), FluxKind::Upwind] {
            let adv = Advection::new(&g, flux);
            let rho = vec![2.0; g.len()];
            let faces = vec![vec![0.3; 9 * 6], vec![-0.7; 8 * 7]];
            let mut du = vec![0.0; g.len()];
            adv.rhs(&rho, &faces, &mut du);
            let mut idx = [0; 2];
            for (f, &d) in du.iter().enumerate() {
                g.unravel(f, &mut idx);
                if !g.on_boundary(&idx) {
                    assert!(d.abs() < 1e-13);
                }
            }
            assert!(du.iter().sum::<f64>().abs() < 1e-12);
        }
    }

    /// The sweep against a naive 1-D loop: first-order upwind fluxes with a
    /// varying velocity, on every line of both axes.
    #[test]
    fn upwind_sweep_matches_a_naive_loop() {
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![5, 4], vec![]);
        let rho: Vec<f64> = (0..20).map(|i| ((i * 7) % 11) as f64 + 0.5).collect();
        let faces = vec![
            (0..24)
                .map(|i| ((i * 5) % 7) as f64 - 3.0)
                .collect::<Vec<_>>(),
            (0..25)
                .map(|i| ((i * 3) % 5) as f64 - 2.0)
                .collect::<Vec<_>>(),
        ];
        let mut du = vec![0.0; 20];
        Advection::new(&g, FluxKind::Upwind).rhs(&rho, &faces, &mut du);
        let mut want = vec![0.0; 20];
        for i in 0..5 {
            for j in 0..4 {
                // faces of axis 0: (n0 + 1) × n1; of axis 1: n0 × (n1 + 1)
                for f in 1..5 {
                    let v = faces[0][f * 4 + j];
                    let up = if v > 0.0 {
                        rho[(f - 1) * 4 + j]
                    } else {
                        rho[f * 4 + j]
                    };
                    if f == i {
                        want[i * 4 + j] += v * up / g.h[0];
                    }
                    if f == i + 1 {
                        want[i * 4 + j] -= v * up / g.h[0];
                    }
                }
                for f in 1..4 {
                    let v = faces[1][i * 5 + f];
                    let up = if v > 0.0 {
                        rho[i * 4 + f - 1]
                    } else {
                        rho[i * 4 + f]
                    };
                    if f == j {
                        want[i * 4 + j] += v * up / g.h[1];
                    }
                    if f == j + 1 {
                        want[i * 4 + j] -= v * up / g.h[1];
                    }
                }
            }
        }
        for (a, b) in du.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
