//! **Advection** −div(ρ V) in flux form with no-flux walls: a face flux
//! ([`super::flux`]) on every interior face, dimension by dimension
//! (unsplit: the flux differences of all axes are summed), and the SSP-RK2
//! (Heun) sub-step with V recomputed at each stage.
//!
//! The sweeps are laid out for the machine: every axis but the last is
//! swept in blocks of up to 64 neighbouring lines, a face at a time, so each
//! operation is a loop over contiguous memory; the last axis line by line.
//! Each cell's slope is computed once, every face's flux branch-free (both
//! reconstructions, the upwind one selected), V on a face from g or G_k when
//! the sweep reaches it. The last axis's sweep finishes the stage: it writes
//! the stage value (ρ + Δt A(ρ), or the Heun average) instead of A(ρ), so a
//! stage is one pass per axis. Every loop runs in the CPU's widest
//! [`Simd`] variant, with the same bits in all of them.

mod factors;
pub mod step;

use factors::AxisFactors;

pub use step::AdvectionStep;

use super::flux::FaceFlux;
use super::fluxes::{FluxFn, FluxKind};
use crate::grid::lines::par_line_blocks;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::scratch::Scratch;
use crate::simd::Simd;
use crate::velocity::{FaceArray, Faces, Velocity};
use rayon::prelude::*;

/// Lines along an axis are processed in blocks of this many neighbours.
const LINE_BLOCK: usize = 64;

/// Lines of the last axis (n cells each) one task sweeps: about 4096 cells,
/// so a task's set-up is paid on enough work.
pub fn lines_per_task(n: usize) -> usize {
    (4096 / n.max(1)).max(1)
}

/// Per-thread buffers of one line of the last axis: face velocities and
/// fluxes (n + 1), slopes and the rate (n).
struct LineBuffers {
    v: Vec<f64>,
    f: Vec<f64>,
    slope: Vec<f64>,
    rate: Vec<f64>,
}

impl LineBuffers {
    fn new(n: usize) -> Self {
        LineBuffers {
            v: vec![0.0; n + 1],
            f: vec![0.0; n + 1],
            slope: vec![0.0; n],
            rate: vec![0.0; n],
        }
    }
}

/// The advection operator A(ρ) = −div(ρ V) on a fixed grid.
#[derive(Debug)]
pub struct Advection {
    grid: Grid,
    flux: FluxKind,
    simd: Simd,
    /// MUSCL's ghost beyond the last axis's lower wall is −ρ₀ instead of ρ₀:
    /// for the r = 0 wall of a reduced problem with n even, where
    /// ρ̄ = r^{n−1} u(r²) is odd in r (docs/model.md §6). The slope of the wall
    /// cell then sees ρ̄ ∝ r; with the even ghost it is 0, the face value
    /// half of ρ̄'s, and the Itô drift (η/2)(n − 1)/h times that error is an
    /// O(1) flux error at the first face (measured for n = 2: E[r²]'s error
    /// 7e-5 → 4e-6 at 256 cells).
    odd_lower: bool,
    /// Per axis, its stretched cells' factors (None: uniform).
    factors: Vec<Option<AxisFactors>>,
    /// Per-thread buffers of one line of the last axis.
    lines: Scratch<LineBuffers>,
}

/// Where the last axis's sweep finds the other axes' flux differences.
#[derive(Clone, Copy)]
enum Partial<'a> {
    /// None (a 1-D grid).
    Zero,
    /// In this array.
    In(&'a [f64]),
    /// In the output array itself.
    Out,
}

/// One axis before the last: its flux differences into `du` (written when
/// `first`, else added), generic over the flux.
struct Strided<'a, V: Faces> {
    grid: &'a Grid,
    factors: Option<&'a AxisFactors>,
    axis: usize,
    first: bool,
    src: &'a [f64],
    vel: V,
    du: &'a mut [f64],
    simd: Simd,
}

/// The last axis: its flux differences added to the partial sum of the
/// others, and `out[c] ← stage(out[c], src[c], A_c)` written.
struct Last<'a, V: Faces, S: Fn(f64, f64, f64) -> f64 + Sync> {
    grid: &'a Grid,
    factors: Option<&'a AxisFactors>,
    src: &'a [f64],
    vel: V,
    partial: Partial<'a>,
    out: &'a mut [f64],
    stage: S,
    simd: Simd,
    buffers: &'a Scratch<LineBuffers>,
    /// The lower wall of the last axis mirrors ρ oddly (see
    /// [`Advection::odd_lower_wall`]).
    odd_lower: bool,
}

impl<V: Faces> FluxFn<()> for Strided<'_, V> {
    fn call<F: FaceFlux>(self, flux: F) {
        let Strided {
            grid,
            factors,
            axis,
            first,
            src,
            vel,
            du,
            simd,
        } = self;
        let inv_h = 1.0 / grid.h[axis];
        let s = grid.strides[axis];
        par_line_blocks(grid, axis, LINE_BLOCK, du, |out| {
            crate::simd_run!(simd, {
                let (n, lines) = (out.len(), out.lines());
                let (o, j0) = out.origin();
                // row i of the block's lines in src (the same cells as in du)
                let first_cell = out.index(0, 0);
                let row = |i: usize| &src[first_cell + i * s..][..lines];
                let mut v = [0.0; LINE_BLOCK];
                // slopes of rows i − 1 and i; the wall rows' are 0
                let mut below = [0.0; LINE_BLOCK];
                let mut here = [0.0; LINE_BLOCK];
                if first {
                    out.row_mut(0).fill(0.0);
                }
                for i in 1..n {
                    let (rm, r0) = (row(i - 1), row(i));
                    // the row's difference weights (1 on uniform cells: the
                    // same bits) and the widths either side of its faces
                    let (wm, wp, w_lo, w_hi) = match factors {
                        None => (1.0, 1.0, 0.0, 0.0),
                        Some(f) => (f.dm[i], f.dp[i], f.w(i - 1), f.w(i)),
                    };
                    if F::SLOPES {
                        if i + 1 < n {
                            let rp = row(i + 1);
                            for (((h, &a), &b), &c) in here.iter_mut().zip(rm).zip(r0).zip(rp) {
                                *h = flux.slope((b - a) * wm, (c - b) * wp);
                            }
                        } else {
                            here[..lines].fill(0.0);
                        }
                    }
                    let v = &mut v[..lines];
                    vel.row(o, i, j0, v);
                    let (lo, hi) = out.rows_mut(i);
                    let faces = v.iter().zip(rm).zip(below.iter()).zip(r0).zip(here.iter());
                    let f =
                        |((((&v, &a), &sa), &b), &sb): FaceIn<'_>| flux_at(flux, v, a, sa, b, sb);
                    match (first, factors.is_some()) {
                        (true, false) => {
                            for ((face, lo), hi) in faces.zip(lo.iter_mut()).zip(hi.iter_mut()) {
                                let f = f(face) * inv_h;
                                *lo -= f;
                                *hi = 0.0 + f;
                            }
                        }
                        (false, false) => {
                            for ((face, lo), hi) in faces.zip(lo.iter_mut()).zip(hi.iter_mut()) {
                                let f = f(face) * inv_h;
                                *lo -= f;
                                *hi += f;
                            }
                        }
                        (true, true) => {
                            for ((face, lo), hi) in faces.zip(lo.iter_mut()).zip(hi.iter_mut()) {
                                let f = f(face);
                                *lo -= f / w_lo;
                                *hi = 0.0 + f / w_hi;
                            }
                        }
                        (false, true) => {
                            for ((face, lo), hi) in faces.zip(lo.iter_mut()).zip(hi.iter_mut()) {
                                let f = f(face);
                                *lo -= f / w_lo;
                                *hi += f / w_hi;
                            }
                        }
                    }
                    std::mem::swap(&mut below, &mut here);
                }
            })
        });
    }
}

/// A face's inputs as the sweeps zip them: v, the cell below and its slope,
/// the cell above and its slope.
type FaceIn<'a> = ((((&'a f64, &'a f64), &'a f64), &'a f64), &'a f64);

/// The flux through a face from v, the cells below and above it and their
/// slopes (unused without slopes).
#[inline(always)]
fn flux_at<F: FaceFlux>(flux: F, v: f64, rm: f64, sm: f64, r0: f64, s0: f64) -> f64 {
    if F::SLOPES {
        flux.face(v, rm + 0.5 * sm, r0 - 0.5 * s0)
    } else {
        flux.face(v, rm, r0)
    }
}

impl<V: Faces, S: Fn(f64, f64, f64) -> f64 + Sync> FluxFn<()> for Last<'_, V, S> {
    fn call<F: FaceFlux>(self, flux: F) {
        let Last {
            grid,
            factors,
            src,
            vel,
            partial,
            out,
            stage,
            simd,
            buffers,
            odd_lower,
        } = self;
        let axis = grid.dim() - 1;
        let inv_h = 1.0 / grid.h[axis];
        let n = grid.n[axis];
        assert_eq!(out.len(), grid.len(), "array length against the grid");
        let per_task = lines_per_task(n);
        out.par_chunks_mut(n * per_task)
            .enumerate()
            .for_each(|(t, lines)| {
                buffers.with(|b| {
                    crate::simd_run!(simd, {
                        for (k, line) in lines.chunks_exact_mut(n).enumerate() {
                            let o = t * per_task + k;
                            let at = o * n;
                            let r = &src[at..at + n];
                            let LineBuffers { v, f, slope, rate } = &mut *b;
                            let (v, f, slope, rate) = (
                                &mut v[..n + 1],
                                &mut f[..n + 1],
                                &mut slope[..n],
                                &mut rate[..n],
                            );
                            vel.line(o, 0, v);
                            if let (true, Some(fac)) = (F::SLOPES, factors) {
                                // a stretched axis: the differences weighted
                                slope[0] = if odd_lower && n >= 2 {
                                    flux.slope(2.0 * r[0] * fac.dm[0], (r[1] - r[0]) * fac.dp[0])
                                } else {
                                    0.0
                                };
                                slope[n - 1] = 0.0;
                                for i in 1..n.saturating_sub(1) {
                                    slope[i] = flux.slope(
                                        (r[i] - r[i - 1]) * fac.dm[i],
                                        (r[i + 1] - r[i]) * fac.dp[i],
                                    );
                                }
                            } else if F::SLOPES {
                                // beyond the lower wall: ρ itself (slope 0), or
                                // −ρ (an odd density: the slope from 2ρ₀ and ρ₁ − ρ₀)
                                slope[0] = if odd_lower && n >= 2 {
                                    flux.slope(2.0 * r[0], r[1] - r[0])
                                } else {
                                    0.0
                                };
                                slope[n - 1] = 0.0;
                                if n >= 3 {
                                    let cells = r.iter().zip(&r[1..]).zip(&r[2..]);
                                    for (s, ((&a, &b), &c)) in slope[1..n - 1].iter_mut().zip(cells)
                                    {
                                        *s = flux.slope(b - a, c - b);
                                    }
                                }
                            }
                            // f[i]: the flux through face i; the walls carry none
                            f[0] = 0.0;
                            f[n] = 0.0;
                            let faces = v[1..n]
                                .iter()
                                .zip(&r[..n - 1])
                                .zip(&slope[..n - 1])
                                .zip(&r[1..])
                                .zip(&slope[1..]);
                            // on a stretched axis the raw flux, divided by each
                            // cell's width below
                            let inv = if factors.is_some() { 1.0 } else { inv_h };
                            for (f, ((((&v, &a), &sa), &b), &sb)) in f[1..n].iter_mut().zip(faces) {
                                *f = flux_at(flux, v, a, sa, b, sb) * inv;
                            }
                            if let Some(fac) = factors {
                                // (f_lo − f_hi)/h_i, then the other axes' sum added
                                let lower_upper = f[..n].iter().zip(&f[1..]);
                                for ((a, (&fl, &fu)), w) in
                                    rate.iter_mut().zip(lower_upper).zip(fac.widths())
                                {
                                    *a = (fl - fu) / w;
                                }
                                match partial {
                                    Partial::Zero => {}
                                    Partial::In(du) => {
                                        for (a, &d) in rate.iter_mut().zip(&du[at..at + n]) {
                                            *a += d;
                                        }
                                    }
                                    Partial::Out => {
                                        for (a, &d) in rate.iter_mut().zip(line.iter()) {
                                            *a += d;
                                        }
                                    }
                                }
                                for ((x, &src), &a) in line.iter_mut().zip(r).zip(rate.iter()) {
                                    *x = stage(*x, src, a);
                                }
                                continue;
                            }
                            // A_c: the other axes' sum, plus the lower face's flux,
                            // minus the upper's
                            let lower_upper = f[..n].iter().zip(&f[1..]);
                            match partial {
                                Partial::Zero => {
                                    for (a, (&fl, &fu)) in rate.iter_mut().zip(lower_upper) {
                                        *a = (0.0 + fl) - fu;
                                    }
                                }
                                Partial::In(du) => {
                                    let du = &du[at..at + n];
                                    for ((a, &d), (&fl, &fu)) in
                                        rate.iter_mut().zip(du).zip(lower_upper)
                                    {
                                        *a = (d + fl) - fu;
                                    }
                                }
                                Partial::Out => {
                                    for ((a, &d), (&fl, &fu)) in
                                        rate.iter_mut().zip(line.iter()).zip(lower_upper)
                                    {
                                        *a = (d + fl) - fu;
                                    }
                                }
                            }
                            for ((x, &src), &a) in line.iter_mut().zip(r).zip(rate.iter()) {
                                *x = stage(*x, src, a);
                            }
                        }
                    })
                })
            });
    }
}

impl Advection {
    /// Plan the operator.
    pub fn new(grid: &Grid, flux: FluxKind) -> Self {
        Advection {
            grid: grid.clone(),
            flux,
            simd: Simd::detect(),
            lines: Scratch::new(|| LineBuffers::new(grid.n[grid.dim() - 1])),
            odd_lower: false,
            factors: (0..grid.dim()).map(|k| AxisFactors::new(grid, k)).collect(),
        }
    }

    /// The operator of a model: with the odd ghost at r = 0 for a reduced
    /// problem whose n is even and whose r axis starts at 0.
    pub fn for_model(model: &MeanField, grid: &Grid, flux: FluxKind) -> Self {
        let last = grid.dim() - 1;
        let odd = model
            .reduction
            .as_ref()
            .is_some_and(|r| r.sizes.n() % 2 == 0)
            && grid.face(last, 0) == 0.0;
        Advection {
            odd_lower: odd,
            ..Advection::new(grid, flux)
        }
    }

    /// Whether the last axis's lower wall mirrors ρ oddly.
    pub fn odd_lower_wall(&self) -> bool {
        self.odd_lower
    }

    /// Use another SIMD variant (it must be [`Simd::available`]).
    pub fn set_simd(&mut self, simd: Simd) {
        assert!(simd.available(), "{} is not available", simd.name());
        self.simd = simd;
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

    /// The flux differences of every axis but the last into `du`.
    fn strided_axes<V: Faces>(&self, src: &[f64], du: &mut [f64], vel: impl Fn(usize) -> V) {
        let g = &self.grid;
        for axis in 0..g.dim() - 1 {
            self.flux.with(Strided {
                grid: g,
                factors: self.factors[axis].as_ref(),
                axis,
                first: axis == 0,
                src,
                vel: vel(axis),
                du: &mut *du,
                simd: self.simd,
            });
        }
    }

    fn rhs_with<V: Faces>(&self, rho: &[f64], du: &mut [f64], vel: impl Fn(usize) -> V) {
        let g = &self.grid;
        assert_eq!(rho.len(), g.len(), "density length against the grid");
        assert_eq!(du.len(), g.len(), "rate length against the grid");
        let last = g.dim() - 1;
        self.strided_axes(rho, du, &vel);
        self.flux.with(Last {
            grid: g,
            factors: self.factors[last].as_ref(),
            src: rho,
            vel: vel(last),
            partial: if last == 0 {
                Partial::Zero
            } else {
                Partial::Out
            },
            out: du,
            stage: |_, _, a| a,
            simd: self.simd,
            buffers: &self.lines,
            odd_lower: self.odd_lower,
        });
    }

    /// One stage: `out[c] ← stage(out[c], src[c], A(src)_c)` with V from the
    /// last [`Velocity::eval`] of `vel`, `du` holding the partial sums of
    /// the axes before the last.
    pub(super) fn stage(
        &self,
        src: &[f64],
        vel: &Velocity,
        du: &mut [f64],
        out: &mut [f64],
        stage: impl Fn(f64, f64, f64) -> f64 + Sync,
    ) {
        let g = &self.grid;
        let last = g.dim() - 1;
        self.strided_axes(src, du, |axis| vel.axis(axis));
        self.flux.with(Last {
            grid: g,
            factors: self.factors[last].as_ref(),
            src,
            vel: vel.axis(last),
            partial: if last == 0 {
                Partial::Zero
            } else {
                Partial::In(du)
            },
            out,
            stage,
            simd: self.simd,
            buffers: &self.lines,
            odd_lower: self.odd_lower,
        });
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
