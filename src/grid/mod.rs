//! **The phase-space grid**: a box Ω = Π_k [lo_k, hi_k] with n_k cells on
//! axis k, row-major (the last axis varies fastest). Geometry only: a density
//! is a grid plus a vector of cell averages.

pub mod fit;
pub mod lines;
pub mod map;
pub mod slab;

pub use map::{AxisMap, Stretch};
pub use slab::Slab;

use ndarray::{ArrayViewD, IxDyn};
use std::sync::Arc;

/// Largest phase-space dimension D of a grid.
pub const MAX_DIM: usize = 4;

/// Most cells on one axis.
pub const MAX_AXIS_CELLS: usize = 1 << 14;

/// A Cartesian grid in D = 1..4 dimensions: uniform cells on each axis, or
/// stretched ones ([`map`]) on some.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub n: Vec<usize>,
    /// Cell widths h_k: the mean width (hi − lo)/n on a stretched axis.
    pub h: Vec<f64>,
    /// Per axis, its stretched geometry (None: uniform cells of width h_k).
    pub stretch: Vec<Option<Arc<Stretch>>>,
    /// Row-major strides.
    pub strides: Vec<usize>,
    /// Axis names (`a`, `w1`, …).
    pub names: Vec<String>,
}

impl Grid {
    /// A grid; the caller has checked lo < hi and n ≥ 1.
    pub fn new(lo: Vec<f64>, hi: Vec<f64>, n: Vec<usize>, names: Vec<String>) -> Self {
        let h = (0..n.len())
            .map(|k| (hi[k] - lo[k]) / n[k] as f64)
            .collect();
        let mut strides = vec![1; n.len()];
        for k in (0..n.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * n[k + 1];
        }
        let d = n.len();
        Grid {
            lo,
            hi,
            n,
            h,
            strides,
            names,
            stretch: vec![None; d],
        }
    }

    /// This grid with axis `k` on the given n_k + 1 edges (from lo_k to
    /// hi_k, increasing: see [`AxisMap::edges`]).
    ///
    /// # Panics
    /// If the edges are not n_k + 1 from lo_k to hi_k.
    pub fn with_edges(mut self, k: usize, edges: Vec<f64>) -> Grid {
        assert!(
            edges.len() == self.n[k] + 1
                && edges[0] == self.lo[k]
                && edges[self.n[k]] == self.hi[k],
            "edges of axis {k}"
        );
        self.stretch[k] = Some(Arc::new(Stretch::from_edges(edges)));
        self
    }

    /// The grid of some of the axes (same bounds, cells, maps and names).
    pub fn sub(&self, axes: std::ops::Range<usize>) -> Grid {
        let mut g = Grid::new(
            self.lo[axes.clone()].to_vec(),
            self.hi[axes.clone()].to_vec(),
            self.n[axes.clone()].to_vec(),
            self.names
                .get(axes.clone())
                .map_or_else(Vec::new, <[String]>::to_vec),
        );
        g.stretch = self.stretch[axes].to_vec();
        g
    }

    /// Rows `rows` of axis 0 as a grid of their own: the same cell widths
    /// (not recomputed from the bounds) and names.
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Grid {
        let mut g = self.clone();
        g.lo[0] = self.face(0, rows.start);
        g.hi[0] = self.face(0, rows.end);
        g.n[0] = rows.len();
        if rows == (0..self.n[0]) {
            return self.clone();
        }
        if let Some(s) = &self.stretch[0] {
            g.stretch[0] = Some(Arc::new(s.slice(rows)));
        }
        g
    }

    /// True when every axis has cells of one width.
    pub fn is_uniform(&self) -> bool {
        self.stretch.iter().all(Option::is_none)
    }

    /// The width of cell `i` of axis `k`.
    #[inline]
    pub fn width(&self, k: usize, i: usize) -> f64 {
        match &self.stretch[k] {
            Some(s) => s.widths[i],
            None => self.h[k],
        }
    }

    /// The n_k cell widths of axis `k`.
    pub fn widths(&self, k: usize) -> Vec<f64> {
        match &self.stretch[k] {
            Some(s) => s.widths.clone(),
            None => vec![self.h[k]; self.n[k]],
        }
    }

    /// |C_i| of the cell at multi-index `idx`.
    #[inline]
    pub fn volume_of(&self, idx: &[usize]) -> f64 {
        if self.is_uniform() {
            return self.cell_volume();
        }
        idx.iter()
            .enumerate()
            .map(|(k, &i)| self.width(k, i))
            .product()
    }

    /// |C_i| of flat cell `flat`.
    #[inline]
    pub fn volume_at(&self, flat: usize) -> f64 {
        if self.is_uniform() {
            return self.cell_volume();
        }
        let mut idx = [0; MAX_DIM];
        self.unravel(flat, &mut idx[..self.dim()]);
        self.volume_of(&idx[..self.dim()])
    }

    /// The smallest cell width of axis `k`.
    pub fn min_width(&self, k: usize) -> f64 {
        match &self.stretch[k] {
            Some(s) => s.widths.iter().copied().fold(f64::INFINITY, f64::min),
            None => self.h[k],
        }
    }

    /// D.
    pub fn dim(&self) -> usize {
        self.n.len()
    }

    /// Total number of cells.
    pub fn len(&self) -> usize {
        self.n.iter().product()
    }

    /// True for a grid without cells (never for a validated problem).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// |C| of a uniform grid (on a stretched grid, the mean cell volume:
    /// cell integrals there take [`Grid::volume_of`]).
    pub fn cell_volume(&self) -> f64 {
        self.h.iter().product()
    }

    /// Centre coordinate of cell `i` on axis `k` (the midpoint of its edges).
    #[inline]
    pub fn centre(&self, k: usize, i: usize) -> f64 {
        match &self.stretch[k] {
            Some(s) => s.centres[i],
            None => self.lo[k] + (i as f64 + 0.5) * self.h[k],
        }
    }

    /// Coordinate of face `i` (0..=n_k) on axis `k`.
    #[inline]
    pub fn face(&self, k: usize, i: usize) -> f64 {
        match &self.stretch[k] {
            Some(s) => s.edges[i],
            None => self.lo[k] + i as f64 * self.h[k],
        }
    }

    /// The n_k + 1 edges of axis k.
    pub fn edges(&self, k: usize) -> Vec<f64> {
        (0..=self.n[k]).map(|i| self.face(k, i)).collect()
    }

    /// The cell of axis `k` holding coordinate `t` (None outside [lo, hi];
    /// hi itself is in the last cell).
    #[inline]
    pub fn cell_of(&self, k: usize, t: f64) -> Option<usize> {
        if !(self.lo[k]..=self.hi[k]).contains(&t) {
            return None;
        }
        Some(match &self.stretch[k] {
            Some(s) => s.edges.partition_point(|&e| e <= t).clamp(1, self.n[k]) - 1,
            None => (((t - self.lo[k]) / self.h[k]) as usize).min(self.n[k] - 1),
        })
    }

    /// Multi-index of flat cell `flat`, written into `idx`.
    #[inline]
    pub fn unravel(&self, mut flat: usize, idx: &mut [usize]) {
        for k in (0..self.dim()).rev() {
            idx[k] = flat % self.n[k];
            flat /= self.n[k];
        }
    }

    /// The centre θ_i of flat cell `flat`, written into `theta` (length D).
    #[inline]
    pub fn centre_of(&self, mut flat: usize, theta: &mut [f64]) {
        for k in (0..self.dim()).rev() {
            theta[k] = self.centre(k, flat % self.n[k]);
            flat /= self.n[k];
        }
    }

    /// The grid of axes `from..D` alone (the w sub-grid when `from` is the
    /// first w axis).
    pub fn tail(&self, from: usize) -> Grid {
        let mut g = Grid::new(
            self.lo[from..].to_vec(),
            self.hi[from..].to_vec(),
            self.n[from..].to_vec(),
            self.names.get(from..).unwrap_or_default().to_vec(),
        );
        g.stretch = self.stretch[from..].to_vec();
        g
    }

    /// True when the cell lies in the outermost layer of cells.
    #[inline]
    pub fn on_boundary(&self, idx: &[usize]) -> bool {
        self.on_boundary_but(idx, None)
    }

    /// [`Grid::on_boundary`] with the lower side of axis `open` not a
    /// boundary (r = 0 of a reduced problem: a symmetry boundary, not a wall).
    #[inline]
    pub fn on_boundary_but(&self, idx: &[usize], open: Option<usize>) -> bool {
        idx.iter()
            .zip(&self.n)
            .enumerate()
            .any(|(k, (&i, &n))| (i == 0 && open != Some(k)) || i + 1 == n)
    }
}

impl Grid {
    /// ρ (cell averages, row-major) as an n-dimensional view [n_0, …, n_{D−1}].
    ///
    /// # Panics
    /// If `rho.len()` is not the number of cells.
    pub fn view<'a>(&self, rho: &'a [f64]) -> ArrayViewD<'a, f64> {
        ArrayViewD::from_shape(IxDyn(&self.n), rho).expect("density length matches the grid")
    }
}

/// Average a fine density onto a grid `factor` times coarser on every axis
/// (cell averages of cell averages: exact restriction, mass-preserving).
///
/// # Panics
/// If `factor` does not divide every n_k.
pub fn restrict(fine: &Grid, rho: &[f64], factor: usize) -> Vec<f64> {
    assert!(
        fine.n.iter().all(|n| n % factor == 0),
        "factor divides the cells"
    );
    if !fine.is_uniform() {
        // cell averages weighted by the fine cells' volumes
        let coarse_n: Vec<usize> = fine.n.iter().map(|n| n / factor).collect();
        let cg = Grid::new(fine.lo.clone(), fine.hi.clone(), coarse_n, vec![]);
        let (mut mass, mut vol) = (vec![0.0; cg.len()], vec![0.0; cg.len()]);
        let d = fine.dim();
        let mut idx = [0; MAX_DIM];
        for (flat, r) in rho.iter().enumerate() {
            fine.unravel(flat, &mut idx[..d]);
            let v = fine.volume_of(&idx[..d]);
            let c = (0..d)
                .map(|k| idx[k] / factor * cg.strides[k])
                .sum::<usize>();
            mass[c] += r * v;
            vol[c] += v;
        }
        return mass.iter().zip(&vol).map(|(m, v)| m / v).collect();
    }
    let block = vec![factor; fine.dim()];
    fine.view(rho)
        .exact_chunks(IxDyn(&block))
        .into_iter()
        .map(|b| b.mean().expect("non-empty block"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_and_indexing() {
        let g = Grid::new(
            vec![-1.0, 0.0, 2.0],
            vec![1.0, 3.0, 4.0],
            vec![4, 3, 2],
            vec!["a".into(), "w1".into(), "w2".into()],
        );
        assert_eq!(g.len(), 24);
        assert_eq!(g.strides, vec![6, 2, 1]);
        assert!((g.cell_volume() - 0.5 * 1.0 * 1.0).abs() < 1e-15);
        let mut idx = [0; 3];
        g.unravel(6 * 2 + 2 + 1, &mut idx);
        assert_eq!(idx, [2, 1, 1]);
        let mut th = [0.0; 3];
        g.centre_of(6 * 2 + 2 + 1, &mut th);
        assert_eq!(th, [g.centre(0, 2), g.centre(1, 1), g.centre(2, 1)]);
        assert_eq!(g.edges(0), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert!(g.on_boundary(&[0, 1, 1]) && g.on_boundary(&[1, 1, 0]));
        let g4 = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![4, 4], vec![]);
        assert!(!g4.on_boundary(&[1, 2]) && g4.on_boundary(&[3, 2]));
    }

    #[test]
    fn restriction_preserves_mass() {
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 1.0], vec![4, 4], vec![]);
        let rho: Vec<f64> = (0..16).map(|i| i as f64).collect();
        let c = restrict(&g, &rho, 2);
        assert_eq!(c.len(), 4);
        let fine_mass: f64 = rho.iter().sum::<f64>() * g.cell_volume();
        let coarse_mass: f64 = c.iter().sum::<f64>() * 0.25;
        assert!((fine_mass - coarse_mass).abs() < 1e-12);
        assert!((c[0] - (0.0 + 1.0 + 4.0 + 5.0) / 4.0).abs() < 1e-15);
    }
}
