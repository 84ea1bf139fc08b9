//! **V on the faces of one axis**, computed when the sweeps ask from g (the
//! a axis) or G_k (w axis k) and the model's [`Drift`]: no array of face
//! velocities is stored.

use super::Velocity;
use crate::grid::Grid;
use crate::model::Drift;

/// V_k on the faces of one axis, computed when asked from g (the a axis) or
/// G_k (w axis k) and the model's [`Drift`]: no array of face velocities is
/// stored. The face layout is the cell layout with n_k + 1 on axis k; a
/// line (o, j) runs along the axis, o over the axes before it, j after.
#[derive(Clone, Copy)]
pub struct AxisVelocity<'a> {
    drift: Drift,
    grid: &'a Grid,
    axis: usize,
    /// g (the a axis) or G_k (a w axis) on the w sub-grid's faces.
    vec: &'a [f64],
    /// The n + 1 face coordinates of the axis.
    faces: &'a [f64],
    is_a: bool,
    /// The r axis of a reduced problem: V carries the Itô drift.
    is_r: bool,
    frozen_a: Option<f64>,
    /// Π of the cells of the w axes before `axis` (o = a index · ow + o_w).
    ow: usize,
    n: usize,
    s: usize,
}

/// A source of face velocities on one axis, read by the advection sweeps:
/// the face layout is the cell layout with n + 1 on the axis; a line (o, j)
/// runs along the axis, o over the axes before it, j over those after.
pub trait Faces: Sync {
    /// V at face i (0..=n) of the lines (o, j0 .. j0 + out.len()).
    fn row(&self, o: usize, i: usize, j0: usize, out: &mut [f64]);
    /// V at faces 0..=n of the line (o, j), into `out[..n + 1]`.
    fn line(&self, o: usize, j: usize, out: &mut [f64]);
}

/// Face velocities given as an array in the face layout of one axis (n
/// cells on it, stride s): for tests and for schemes that hold V on faces.
#[derive(Clone, Copy)]
pub struct FaceArray<'a> {
    /// The array, outer × (n + 1) × s.
    pub values: &'a [f64],
    /// Cells on the axis.
    pub n: usize,
    /// The axis's stride in the cell layout.
    pub s: usize,
}

impl Faces for FaceArray<'_> {
    #[inline(always)]
    fn row(&self, o: usize, i: usize, j0: usize, out: &mut [f64]) {
        let at = (o * (self.n + 1) + i) * self.s + j0;
        out.copy_from_slice(&self.values[at..at + out.len()]);
    }

    #[inline]
    fn line(&self, o: usize, j: usize, out: &mut [f64]) {
        for (i, face) in out[..self.n + 1].iter_mut().enumerate() {
            *face = self.values[(o * (self.n + 1) + i) * self.s + j];
        }
    }
}

impl Faces for AxisVelocity<'_> {
    #[inline(always)]
    fn row(&self, o: usize, i: usize, j0: usize, out: &mut [f64]) {
        AxisVelocity::row(self, o, i, j0, out)
    }

    #[inline]
    fn line(&self, o: usize, j: usize, out: &mut [f64]) {
        AxisVelocity::line(self, o, j, out)
    }
}

impl AxisVelocity<'_> {
    /// V at face i (0..=n) of the lines (o, j0 .. j0 + out.len()).
    #[inline(always)]
    pub fn row(&self, o: usize, i: usize, j0: usize, out: &mut [f64]) {
        let v = self.drift;
        if self.is_a {
            // V_a = −g(w) − λ a_face, j the w point
            let a = self.grid.face(0, i);
            let l = out.len();
            for (face, g) in out.iter_mut().zip(&self.vec[j0..j0 + l]) {
                *face = v.a(a, *g);
            }
        } else {
            // V_{w_k} = −a G_k(w_face) − λ w_face
            let a = self
                .frozen_a
                .unwrap_or_else(|| self.grid.centre(0, o / self.ow));
            let w = self.grid.face(self.axis, i);
            let base = ((o % self.ow) * (self.n + 1) + i) * self.s + j0;
            let l = out.len();
            let ito = if self.is_r { v.ito_at(w) } else { 0.0 };
            for (face, g) in out.iter_mut().zip(&self.vec[base..base + l]) {
                *face = v.w(a, *g, w) + ito;
            }
        }
    }

    /// V at faces 0..=n of the line (o, j), into `out[..n + 1]`.
    #[inline]
    pub fn line(&self, o: usize, j: usize, out: &mut [f64]) {
        let out = &mut out[..self.n + 1];
        if !self.is_a && self.s == 1 {
            // contiguous in i on the last axis
            let v = self.drift;
            let a = self
                .frozen_a
                .unwrap_or_else(|| self.grid.centre(0, o / self.ow));
            let base = (o % self.ow) * (self.n + 1) + j;
            let g = &self.vec[base..base + self.n + 1];
            for ((face, g), w) in out.iter_mut().zip(g).zip(self.faces) {
                *face = v.w(a, *g, *w);
            }
            if self.is_r {
                for (face, w) in out.iter_mut().zip(self.faces) {
                    *face += v.ito_at(*w);
                }
            }
        } else {
            for (i, face) in out.iter_mut().enumerate() {
                self.row(o, i, j, std::slice::from_mut(face));
            }
        }
    }
}

impl Velocity {
    /// V on the faces of `axis` from the last [`Velocity::eval`].
    pub fn axis(&self, axis: usize) -> AxisVelocity<'_> {
        let grid = &self.grid;
        let is_a = axis < self.wax;
        let ow = (self.wax..axis).map(|m| grid.n[m]).product();
        AxisVelocity {
            drift: self.drift,
            grid,
            axis,
            vec: if is_a {
                &self.g
            } else {
                &self.gk[axis - self.wax]
            },
            faces: &self.edges[axis],
            is_a,
            is_r: self.model.net.reduced.is_some() && axis + 1 == grid.dim(),
            frozen_a: self.model.net.frozen_a,
            ow,
            n: grid.n[axis],
            s: grid.strides[axis],
        }
    }

    /// V on every face of `axis` as an array (the face layout), from the
    /// last [`Velocity::eval`]: for tests and reports, not the step.
    pub fn face_values(&self, axis: usize) -> Vec<f64> {
        let grid = &self.grid;
        let (n, s) = (grid.n[axis], grid.strides[axis]);
        let outer = grid.len() / (n * s);
        let v = self.axis(axis);
        let mut out = vec![0.0; outer * (n + 1) * s];
        for o in 0..outer {
            for i in 0..=n {
                let at = (o * (n + 1) + i) * s;
                v.row(o, i, 0, &mut out[at..at + s]);
            }
        }
        out
    }
}
