//! **Advection** −div(ρ V) in flux form with no-flux walls: a face flux
//! ([`super::flux`]) on every interior face, dimension by dimension
//! (unsplit: the flux differences of all axes are summed), and the SSP-RK2
//! (Heun) sub-step with V recomputed at each stage.

use super::flux::{FaceFlux, FluxFn, FluxKind};
use super::SubStep;
use crate::grid::lines::par_line_blocks;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::velocity::{FaceArray, Faces, Velocity};
use rayon::prelude::*;

/// Lines along an axis are processed in blocks of this many neighbours.
const LINE_BLOCK: usize = 64;

thread_local! {
    /// Per-thread face velocities and fluxes of one line (last axis).
    static LINE: std::cell::RefCell<(Vec<f64>, Vec<f64>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// The advection operator A(ρ) = −div(ρ V) on a fixed grid.
#[derive(Debug, Clone)]
pub struct Advection {
    grid: Grid,
    flux: FluxKind,
}

/// One axis's flux differences, generic over the flux.
struct Sweep<'a, V: Faces> {
    grid: &'a Grid,
    axis: usize,
    rho: &'a [f64],
    vel: V,
    du: &'a mut [f64],
}

impl<V: Faces> FluxFn<()> for Sweep<'_, V> {
    fn call<F: FaceFlux>(self, flux: F) {
        if self.grid.strides[self.axis] == 1 {
            self.contiguous(flux)
        } else {
            self.strided(flux)
        }
    }
}

impl<V: Faces> Sweep<'_, V> {
    /// An axis with stride > 1: blocks of up to 64 neighbouring lines, face
    /// after face, each face's work a loop over the block's lines
    /// (contiguous in memory, branch-free: it vectorises).
    fn strided<F: FaceFlux>(self, flux: F) {
        let Sweep {
            grid,
            axis,
            rho,
            vel,
            du,
        } = self;
        let inv_h = 1.0 / grid.h[axis];
        par_line_blocks(grid, axis, LINE_BLOCK, du, |out| {
            let (n, lines) = (out.len(), out.lines());
            let (o, j0) = out.origin();
            // row i of the block's lines in ρ (the same cells as in du)
            let (first, s) = (out.index(0, 0), grid.strides[axis]);
            let row = |i: usize| {
                let at = first + i * s;
                &rho[at..at + lines]
            };
            let mut v = [0.0; LINE_BLOCK];
            for i in 1..n {
                vel.row(o, i, j0, &mut v[..lines]);
                let (m2, m1, p0, p1) = (
                    row(i.saturating_sub(2)),
                    row(i - 1),
                    row(i),
                    row((i + 1).min(n - 1)),
                );
                let (lo, hi) = out.rows_mut(i);
                for l in 0..lines {
                    let f = flux.flux(v[l], [m2[l], m1[l], p0[l], p1[l]]) * inv_h;
                    lo[l] -= f;
                    hi[l] += f;
                }
            }
        });
    }

    /// The last axis (stride 1): line by line, the fluxes of all faces in one
    /// loop (vectorised), then each cell's difference.
    fn contiguous<F: FaceFlux>(self, flux: F) {
        let Sweep {
            grid,
            axis,
            rho,
            vel,
            du,
        } = self;
        let inv_h = 1.0 / grid.h[axis];
        par_line_blocks(grid, axis, 1, du, |out| {
            let n = out.len();
            let (o, _) = out.origin();
            let r = &rho[out.index(0, 0)..out.index(0, 0) + n];
            LINE.with(|cell| {
                let (v, f) = &mut *cell.borrow_mut();
                v.resize(n + 1, 0.0);
                f.resize(n + 1, 0.0);
                vel.line(o, 0, v);
                // f[i]: the flux through face i (1..n), walls repeat the cell
                for i in 1..n {
                    let s = [
                        r[i.saturating_sub(2)],
                        r[i - 1],
                        r[i],
                        r[(i + 1).min(n - 1)],
                    ];
                    f[i] = flux.flux(v[i], s) * inv_h;
                }
                // cell c gains its lower face's flux, then loses its upper's
                let line = out.line_mut();
                line[0] -= f[1];
                for c in 1..n - 1 {
                    line[c] = (line[c] + f[c]) - f[c + 1];
                }
                line[n - 1] += f[n - 1];
            });
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

    /// du = −div(ρ V) with V from the last [`Velocity::eval`] of `vel`;
    /// wall faces carry no flux.
    ///
    /// # Panics
    /// If the lengths of `rho` or `du` do not match the grid.
    pub fn rhs(&self, rho: &[f64], vel: &Velocity, du: &mut [f64]) {
        self.rhs_with(rho, du, |axis| vel.axis(axis));
    }

    /// du = −div(ρ V) with V given on the faces of every axis, each array in
    /// that axis's face layout (n_k + 1 on axis k); wall faces carry no flux
    /// whatever their value.
    ///
    /// # Panics
    /// If a length does not match the grid.
    pub fn rhs_faces(&self, rho: &[f64], faces: &[Vec<f64>], du: &mut [f64]) {
        let g = &self.grid;
        assert_eq!(faces.len(), g.dim(), "one face array per axis");
        for (k, f) in faces.iter().enumerate() {
            assert_eq!(
                f.len(),
                g.len() / g.n[k] * (g.n[k] + 1),
                "face array length of axis {k} against the grid"
            );
        }
        self.rhs_with(rho, du, |axis| FaceArray {
            values: &faces[axis],
            n: g.n[axis],
            s: g.strides[axis],
        });
    }

    fn rhs_with<'v, V: Faces + 'v>(&self, rho: &[f64], du: &mut [f64], vel: impl Fn(usize) -> V) {
        let g = &self.grid;
        assert_eq!(rho.len(), g.len(), "density length against the grid");
        assert_eq!(du.len(), g.len(), "rate length against the grid");
        du.par_iter_mut().for_each(|v| *v = 0.0);
        for axis in 0..g.dim() {
            self.flux.with(Sweep {
                grid: g,
                axis,
                rho,
                vel: vel(axis),
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
        self.velocity.eval(rho);
        self.op.rhs(rho, &self.velocity, &mut self.du);
        for ((u1, r), d) in self.u1.iter_mut().zip(rho.iter()).zip(&self.du) {
            *u1 = r + dt * d;
        }
        self.velocity.eval(&self.u1);
        self.op.rhs(&self.u1, &self.velocity, &mut self.du);
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
            adv.rhs_faces(&rho, &faces, &mut du);
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
        Advection::new(&g, FluxKind::Upwind).rhs_faces(&rho, &faces, &mut du);
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
