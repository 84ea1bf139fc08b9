//! **Diffusion** ∂_t ρ = D Δρ with D = η/2 and no-flux walls, on cell
//! averages with the standard 3-point Neumann Laplacian L_h.
//!
//! - [`SpectralDiffusion`]: the exact solution exp(Δt D L_h) of the discrete
//!   heat equation, axis by axis (the axes commute), applied on each axis
//!   one of two ways that agree to round-off:
//!   - as a short positive kernel with reflections at the walls
//!     ([`super::heat_kernel`]) when its half-width at round-off is at most
//!     [`KERNEL_MAX_HALF`] (and n): 2b + 1 multiply-adds per cell, b = 6–8
//!     at the quickstart's steps;
//!   - otherwise by DCT: L_h is diagonal in the DCT-II basis with
//!     eigenvalues −(4/h²) sin²(π m / 2n); rustdct's DCT-III∘DCT-II is n/2
//!     times the identity, hence the factor 2/n. Mode 0 is untouched.
//!
//!   Either way mass is conserved to round-off and exp(Δt D L_h) is a
//!   positive operator.
//!
//!   A stretched axis ([`crate::grid::map`]) takes the exact flow of its own
//!   Laplacian through that Laplacian's eigenvectors
//!   ([`super::stretched_heat`]).
//! - [`ImplicitDiffusion`]: θ-scheme by tridiagonal sweeps, backward Euler
//!   (θ = 1, positive at any step) or Crank–Nicolson (θ = ½, second order in
//!   time but negative values for Δt D / h² > 1).

use super::heat_kernel::{apply16, reflect, HeatKernel};
use super::stretched_heat::StretchedHeat;
use super::SubStep;
use crate::error::{Error, Result};
use crate::grid::lines::{par_line_blocks, LineSweeper};
use crate::grid::Grid;
use crate::scratch::Scratch;
use crate::simd::Simd;
use rayon::prelude::*;
use rustdct::{DctPlanner, TransformType2And3};
use std::sync::Arc;

/// Which diffusion solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffusionKind {
    Spectral,
    BackwardEuler,
    CrankNicolson,
}

impl DiffusionKind {
    /// Parse `solver.diffusion`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "spectral" => Ok(DiffusionKind::Spectral),
            "backward_euler" => Ok(DiffusionKind::BackwardEuler),
            "crank_nicolson" => Ok(DiffusionKind::CrankNicolson),
            _ => Err(Error::problem(
                "solver.diffusion",
                format!("{s:?}"),
                "one of spectral, backward_euler, crank_nicolson",
            )),
        }
    }
}

/// Build the diffusion sub-step of a kind for coefficient `d` = η/2: ρ ←
/// S(Δt) ρ, approximating exp(Δt D Δ); every kind is stable at any Δt.
pub fn make_diffusion(kind: DiffusionKind, grid: &Grid, d: f64) -> Box<dyn SubStep> {
    match kind {
        DiffusionKind::Spectral => Box::new(SpectralDiffusion::new(grid, d)),
        DiffusionKind::BackwardEuler => Box::new(ImplicitDiffusion::new(grid, d, 1.0)),
        DiffusionKind::CrankNicolson => Box::new(ImplicitDiffusion::new(grid, d, 0.5)),
    }
}

/// The longest kernel half-width used before the DCT takes over (a kernel
/// costs about 2b + 1 multiply-adds per cell, a DCT round trip of a line
/// about as much as b = 40 at n = 256; measured in BENCHMARKS.md).
pub const KERNEL_MAX_HALF: usize = 48;

/// Exact discrete heat flow, by kernel or DCT per axis, planned once per
/// grid.
pub struct SpectralDiffusion {
    sweeper: LineSweeper,
    d: f64,
    simd: Simd,
    plans: Vec<Arc<dyn TransformType2And3<f64>>>,
    /// Per axis, for the Δt of `factor_dt`: the kernel of exp(Δt D L_h)
    /// (when `by_kernel`), or else exp(Δt D λ_m) · 2/n for the DCT.
    kernels: Vec<HeatKernel>,
    by_kernel: Vec<bool>,
    kernel_scratch: Vec<f64>,
    /// Per-thread padded rows of one kernel sweep.
    padded: Scratch<Vec<f64>>,
    /// The longest kernel half-width used (0: every axis by DCT).
    max_half: usize,
    factors: Vec<Vec<f64>>,
    factor_dt: f64,
    /// Per stretched axis, its planned heat flow ([`super::stretched_heat`]).
    stretched: Vec<Option<StretchedHeat>>,
    /// The axes planned (every one but for [`SpectralDiffusion::on_axes`]).
    planned: std::ops::Range<usize>,
}

/// The heat flows of a grid's stretched axes.
fn plan_stretched(grid: &Grid) -> Vec<Option<StretchedHeat>> {
    grid.stretch
        .iter()
        .map(|s| s.as_ref().map(|s| StretchedHeat::new(&s.edges)))
        .collect()
}

impl SpectralDiffusion {
    /// Plan the DCTs of every axis.
    pub fn new(grid: &Grid, d: f64) -> Self {
        Self::on_axes(grid, d, 0..grid.dim())
    }

    /// Plan the heat flow along `axes` of `grid` alone (the others are not
    /// diffused, nor planned: a pencil of whole columns diffused along its
    /// axis 0 only).
    pub fn on_axes(grid: &Grid, d: f64, axes: std::ops::Range<usize>) -> Self {
        let mut planner = DctPlanner::new();
        let n_of = |k: usize| if axes.contains(&k) { grid.n[k] } else { 1 };
        let plans: Vec<Arc<dyn TransformType2And3<f64>>> = (0..grid.dim())
            .map(|k| planner.plan_dct2(n_of(k)))
            .collect();
        let work = plans.iter().map(|p| p.get_scratch_len()).max().unwrap_or(0);
        let longest = (0..grid.dim()).map(n_of).max().unwrap_or(1);
        SpectralDiffusion {
            sweeper: LineSweeper::longest(grid, longest, work),
            d,
            simd: Simd::detect(),
            plans,
            kernels: (0..grid.dim())
                .map(|_| HeatKernel::with_capacity(KERNEL_MAX_HALF).0)
                .collect(),
            by_kernel: vec![false; grid.dim()],
            kernel_scratch: HeatKernel::with_capacity(KERNEL_MAX_HALF).1,
            padded: Scratch::new(move || {
                Vec::with_capacity((longest + 2 * KERNEL_MAX_HALF) * 16 + 16)
            }),
            max_half: KERNEL_MAX_HALF,
            factors: (0..grid.dim()).map(|k| vec![0.0; n_of(k)]).collect(),
            factor_dt: f64::NAN,
            stretched: plan_stretched(grid),
            planned: axes,
        }
    }

    /// Use kernels up to this half-width (0: every axis by DCT, as the tests
    /// and benches compare).
    pub fn set_kernel_limit(&mut self, max_half: usize) {
        self.max_half = max_half;
        for k in &mut self.kernels {
            k.weights.reserve(max_half + 1);
        }
        self.kernel_scratch.reserve(max_half + 41);
        self.factor_dt = f64::NAN;
    }

    /// The half-width of the heat kernel of `axis` over `dt`, or None when
    /// that axis is diffused by DCT (its kernel would be wider than the
    /// limit or the axis): how far a diffusion reaches along the axis.
    pub fn kernel_half_width(&mut self, axis: usize, dt: f64) -> Option<usize> {
        self.set_factors(dt);
        self.by_kernel[axis].then(|| self.kernels[axis].half_width())
    }

    fn set_factors(&mut self, dt: f64) {
        if dt == self.factor_dt {
            return;
        }
        let g = self.sweeper.grid();
        for (k, f) in self.factors.iter_mut().enumerate() {
            if !self.planned.contains(&k) {
                continue;
            }
            if let Some(sh) = &mut self.stretched[k] {
                sh.set(dt * self.d);
                self.by_kernel[k] = false;
                continue;
            }
            let n = g.n[k];
            let h2 = g.h[k] * g.h[k];
            let r = dt * self.d / h2;
            self.by_kernel[k] =
                self.kernels[k].set(r, self.max_half.min(n), &mut self.kernel_scratch);
            if self.by_kernel[k] {
                continue;
            }
            for (m, v) in f.iter_mut().enumerate() {
                let s = (std::f64::consts::PI * m as f64 / (2.0 * n as f64)).sin();
                *v = (-dt * self.d * 4.0 * s * s / h2).exp() * 2.0 / n as f64;
            }
        }
        self.factor_dt = dt;
    }
}

/// ρ ← the kernel `w` along `axis`, every line at once: lines of the last
/// axis one by one through a padded copy, other axes in blocks of 16 lines
/// (rows of 16 contiguous values).
fn kernel_sweep(
    grid: &Grid,
    axis: usize,
    rho: &mut [f64],
    w: &[f64],
    simd: Simd,
    padded: &Scratch<Vec<f64>>,
) {
    let b = w.len() - 1;
    if grid.strides[axis] == 1 {
        let n = grid.n[axis];
        assert_eq!(rho.len(), grid.len(), "array length against the grid");
        let per_task = super::advection::lines_per_task(n);
        rho.par_chunks_mut(n * per_task).for_each(|lines| {
            padded.with(|p| {
                // each line with b reflected cells each side, and 16 spare
                // lanes for the last chunk (within the planned capacity)
                p.resize(n + 2 * b + 16, 0.0);
                crate::simd_run!(simd, {
                    for line in lines.chunks_exact_mut(n) {
                        p[b..b + n].copy_from_slice(line);
                        for q in 0..b {
                            p[b - 1 - q] = line[q];
                            p[b + n + q] = line[n - 1 - q];
                        }
                        let full = n / 16 * 16;
                        for (c0, out) in (0..full).step_by(16).zip(line.chunks_exact_mut(16)) {
                            let out: &mut [f64; 16] = out.try_into().expect("16 lanes");
                            apply16(w, p, b + c0, 1, out);
                        }
                        if full < n {
                            let mut o = [0.0; 16];
                            apply16(w, p, b + full, 1, &mut o);
                            line[full..].copy_from_slice(&o[..n - full]);
                        }
                    }
                })
            })
        });
    } else {
        par_line_blocks(grid, axis, 16, rho, |block| {
            padded.with(|p| {
                let n = block.len();
                crate::simd_run!(simd, {
                    let lines = block.lines();
                    p.resize((n + 2 * b) * 16, 0.0);
                    if lines == 16 {
                        for (q, row) in p.chunks_exact_mut(16).enumerate() {
                            let src: &[f64; 16] =
                                block.row(reflect(q, b, n)).try_into().expect("16 lanes");
                            row.copy_from_slice(src);
                        }
                        for i in 0..n {
                            let out: &mut [f64; 16] =
                                block.row_mut(i).try_into().expect("16 lanes");
                            apply16(w, p, (b + i) * 16, 16, out);
                        }
                    } else {
                        for (q, row) in p.chunks_exact_mut(16).enumerate() {
                            row[..lines].copy_from_slice(block.row(reflect(q, b, n)));
                        }
                        let mut o = [0.0; 16];
                        for i in 0..n {
                            apply16(w, p, (b + i) * 16, 16, &mut o);
                            block.row_mut(i).copy_from_slice(&o[..lines]);
                        }
                    }
                })
            })
        });
    }
}

impl SubStep for SpectralDiffusion {
    fn stable_dt(&mut self, _rho: &[f64]) -> f64 {
        f64::INFINITY
    }

    fn set_simd(&mut self, simd: Simd) {
        assert!(simd.available(), "{} is not available", simd.name());
        self.simd = simd;
    }

    fn advance(&mut self, rho: &mut [f64], dt: f64) {
        self.advance_axes(rho, dt, self.planned.clone());
    }
}

impl SpectralDiffusion {
    /// The heat flow over `dt` along `axes` alone, in their order (the
    /// whole step [`SubStep::advance`] is every planned axis).
    ///
    /// # Panics
    /// If an axis of `axes` was not planned ([`SpectralDiffusion::on_axes`]).
    pub fn advance_axes(&mut self, rho: &mut [f64], dt: f64, axes: std::ops::Range<usize>) {
        assert!(
            axes.is_empty()
                || (self.planned.contains(&axes.start) && self.planned.contains(&(axes.end - 1))),
            "axes {axes:?} of a diffusion planned on {:?}",
            self.planned
        );
        if self.d == 0.0 || dt == 0.0 {
            return;
        }
        self.set_factors(dt);
        for k in axes {
            if let Some(sh) = &self.stretched[k] {
                self.sweeper.sweep(k, rho, |line, sc, _| {
                    let n = line.len();
                    sh.apply(line, &mut sc.work[..n]);
                });
                continue;
            }
            if self.by_kernel[k] {
                let w = &self.kernels[k].weights;
                kernel_sweep(self.sweeper.grid(), k, rho, w, self.simd, &self.padded);
                continue;
            }
            let plan = &self.plans[k];
            let fac = &self.factors[k];
            self.sweeper.sweep(k, rho, |line, sc, _| {
                let work = &mut sc.work[..plan.get_scratch_len()];
                plan.process_dct2_with_scratch(line, work);
                line.iter_mut().zip(fac).for_each(|(v, f)| *v *= f);
                plan.process_dct3_with_scratch(line, work);
            });
        }
    }
}

/// θ-scheme diffusion by tridiagonal (Thomas) sweeps, axis by axis.
pub struct ImplicitDiffusion {
    sweeper: LineSweeper,
    d: f64,
    theta: f64,
    stretched: Vec<Option<StretchedHeat>>,
}

impl ImplicitDiffusion {
    /// θ = 1: backward Euler; θ = ½: Crank–Nicolson.
    pub fn new(grid: &Grid, d: f64, theta: f64) -> Self {
        ImplicitDiffusion {
            sweeper: LineSweeper::new(grid, 0),
            d,
            theta,
            stretched: plan_stretched(grid),
        }
    }
}

/// Solve (I − θ r L) x = (I + (1 − θ) r L) b in place, L the unit-spacing
/// Neumann Laplacian, with `cp` and `rhs` as scratch.
fn theta_line(b: &mut [f64], r: f64, theta: f64, cp: &mut [f64], rhs: &mut [f64]) {
    let n = b.len();
    let e = (1.0 - theta) * r;
    for i in 0..n {
        let left = if i > 0 { b[i - 1] - b[i] } else { 0.0 };
        let right = if i + 1 < n { b[i + 1] - b[i] } else { 0.0 };
        rhs[i] = b[i] + e * (left + right);
    }
    let off = -theta * r;
    let diag = |i: usize| 1.0 + theta * r * ((i > 0) as u8 + (i + 1 < n) as u8) as f64;
    // forward elimination
    let mut m = diag(0);
    cp[0] = off / m;
    rhs[0] /= m;
    for i in 1..n {
        m = diag(i) - off * cp[i - 1];
        cp[i] = off / m;
        rhs[i] = (rhs[i] - off * rhs[i - 1]) / m;
    }
    b[n - 1] = rhs[n - 1];
    for i in (0..n - 1).rev() {
        b[i] = rhs[i] - cp[i] * b[i + 1];
    }
}

impl SubStep for ImplicitDiffusion {
    /// Stable at any step (Crank–Nicolson is not positive above Δt D/h² = 1,
    /// which `mfpde` warns about, but stays bounded).
    fn stable_dt(&mut self, _rho: &[f64]) -> f64 {
        f64::INFINITY
    }

    fn advance(&mut self, rho: &mut [f64], dt: f64) {
        if self.d == 0.0 || dt == 0.0 {
            return;
        }
        for k in 0..self.sweeper.grid().dim() {
            if let Some(sh) = &self.stretched[k] {
                let (t, theta) = (dt * self.d, self.theta);
                self.sweeper.sweep(k, rho, |line, sc, _| {
                    let n = line.len();
                    sh.theta_line(line, t, theta, &mut sc.work[..n], &mut sc.extra[..n]);
                });
                continue;
            }
            let h = self.sweeper.grid().h[k];
            let r = dt * self.d / (h * h);
            let theta = self.theta;
            self.sweeper.sweep(k, rho, |line, sc, _| {
                let n = line.len();
                theta_line(line, r, theta, &mut sc.work[..n], &mut sc.extra[..n]);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive reference: exp(t L) by many tiny explicit Euler steps.
    fn naive_heat(mut u: Vec<f64>, r_total: f64) -> Vec<f64> {
        let steps = 20000;
        let r = r_total / steps as f64;
        for _ in 0..steps {
            let old = u.clone();
            let n = u.len();
            for i in 0..n {
                let l = if i > 0 { old[i - 1] - old[i] } else { 0.0 };
                let rr = if i + 1 < n { old[i + 1] - old[i] } else { 0.0 };
                u[i] = old[i] + r * (l + rr);
            }
        }
        u
    }

    #[test]
    fn spectral_step_is_the_exact_discrete_heat_flow() {
        let g = Grid::new(vec![0.0], vec![1.0], vec![12], vec![]);
        let u0: Vec<f64> = (0..12).map(|i| ((i * 7 % 5) as f64) + 0.1).collect();
        let (d, dt) = (0.3, 0.01);
        let mut u = u0.clone();
        SpectralDiffusion::new(&g, d).advance(&mut u, dt);
        let want = naive_heat(u0.clone(), d * dt / (g.h[0] * g.h[0]));
        for (a, b) in u.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        let m0: f64 = u0.iter().sum();
        let m1: f64 = u.iter().sum();
        assert!((m0 - m1).abs() < 1e-13 * m0);
        assert!(u.iter().all(|&v| v > 0.0));
    }

    #[test]
    fn backward_euler_conserves_mass_and_stays_positive_at_huge_steps() {
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![9, 7], vec![]);
        let mut u = vec![0.0; 63];
        u[10] = 5.0;
        u[40] = 1.0;
        let mut be = ImplicitDiffusion::new(&g, 1.0, 1.0);
        be.advance(&mut u, 100.0);
        assert!((u.iter().sum::<f64>() - 6.0).abs() < 1e-12);
        assert!(u.iter().all(|&v| v >= 0.0));
        let mut cn = ImplicitDiffusion::new(&g, 1.0, 0.5);
        let mut w = vec![0.0; 63];
        w[10] = 1.0;
        cn.advance(&mut w, 10.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w.iter().any(|&v| v < 0.0), "CN oscillates at large steps");
    }
}
