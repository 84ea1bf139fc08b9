//! **The mean-field velocity** V[ρ] of MODEL.md §2 on the faces of the grid:
//! g and its gradient for a density of cell averages, turned into V by the
//! model's [`Drift`].
//!
//! ```text
//! f_h(x_q)  = Σ_i ρ_i |C| a_i σ(w_i·x̃_q)        (first moment in a → f_h)
//! r_q       = f_h(x_q) − f*(x_q)
//! g(w)      = Σ_q ω_q σ(w·x̃_q) r_q
//! G_k(w)    = Σ_q ω_q σ′(w·x̃_q) x̃_{q,k} r_q     (= ∂g/∂w_k)
//! V_a       = −g(w) − λ a,      V_{w_k} = −a G_k(w) − λ w_k
//! ```
//!
//! The data enter only through g and G on the w points, so one evaluation
//! costs O(cells + #w-points × #nodes). The tables σ(w·x̃_q) at the w centres
//! and σ′(w·x̃_q) x̃_{q,k} at the w faces are computed once, node-major so each
//! contraction is a contiguous loop. Frozen output weights (a ≡ a0) use the
//! same code with the a-axis absent.

use crate::grid::lines::par_line_blocks;
use crate::grid::{Grid, MAX_DIM};
use crate::model::{dot, Drift, MeanField};
use crate::sum::fixed_sum;
use rayon::prelude::*;

thread_local! {
    /// Per-thread face velocities of one line (the CFL rate's last axis).
    static FACES: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Block of w points one task contracts at a time.
const BLOCK: usize = 256;

/// Planned velocity evaluator with its tables and scratch.
pub struct Velocity {
    model: MeanField,
    drift: Drift,
    grid: Grid,
    /// First grid axis that is a w axis (1 when a is trained, else 0).
    wax: usize,
    /// Number of w points (cells of the w sub-grid).
    nw: usize,
    /// The w centres, row-major nw × d_w.
    centres: Vec<f64>,
    /// σ(w_c·x̃_q), node-major [q][w centre].
    sig: Vec<f64>,
    /// Per w axis k: σ′(w_f·x̃_q) x̃_{q,k}, node-major [q][w face].
    dsig: Vec<Vec<f64>>,
    /// Scratch: first moments m1 (per w point), f_h and ω r at the nodes, g,
    /// and G_k per w axis.
    m1: Vec<f64>,
    fh: Vec<f64>,
    wr: Vec<f64>,
    g: Vec<f64>,
    gk: Vec<Vec<f64>>,
    /// Per-cell CFL rates Σ_k |V_k| / h_k (scratch of `max_rate`).
    rate: Vec<f64>,
}

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
    is_a: bool,
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
            for (face, g) in out.iter_mut().zip(&self.vec[base..base + l]) {
                *face = v.w(a, *g, w);
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
            for (i, (face, g)) in out
                .iter_mut()
                .zip(&self.vec[base..base + self.n + 1])
                .enumerate()
            {
                *face = v.w(a, *g, self.grid.face(self.axis, i));
            }
        } else {
            for (i, face) in out.iter_mut().enumerate() {
                self.row(o, i, j, std::slice::from_mut(face));
            }
        }
    }
}

/// Shape of the w sub-grid with `extra` more points on w axis `k` (faces).
fn w_shape(grid: &Grid, wax: usize, face_axis: Option<usize>) -> Vec<usize> {
    (wax..grid.dim())
        .map(|ax| grid.n[ax] + usize::from(face_axis == Some(ax)))
        .collect()
}

/// w coordinates of every point of a w sub-grid (centres, or faces on one axis).
fn w_points(grid: &Grid, wax: usize, face_axis: Option<usize>) -> Vec<Vec<f64>> {
    let shape = w_shape(grid, wax, face_axis);
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    for flat in 0..total {
        let mut rem = flat;
        let mut w = vec![0.0; shape.len()];
        for j in (0..shape.len()).rev() {
            let i = rem % shape[j];
            rem /= shape[j];
            let ax = wax + j;
            w[j] = if face_axis == Some(ax) {
                grid.face(ax, i)
            } else {
                grid.centre(ax, i)
            };
        }
        out.push(w);
    }
    out
}

/// Node-major table [q][point] of `f(w_point, x̃_q)`.
fn table(
    points: &[Vec<f64>],
    xt: &[Vec<f64>],
    f: impl Fn(&[f64], &[f64]) -> f64 + Sync,
) -> Vec<f64> {
    let np = points.len();
    let mut t = vec![0.0; np * xt.len()];
    t.par_chunks_mut(np)
        .zip(xt.par_iter())
        .for_each(|(row, x)| {
            for (v, w) in row.iter_mut().zip(points) {
                *v = f(w, x);
            }
        });
    t
}

/// out[p] = Σ_q table[q][p] c_q, in parallel over blocks of points.
fn contract(table: &[f64], c: &[f64], out: &mut [f64]) {
    let np = out.len();
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, chunk)| {
            chunk.iter_mut().for_each(|v| *v = 0.0);
            let p0 = b * BLOCK;
            for (q, &cq) in c.iter().enumerate() {
                let row = &table[q * np + p0..q * np + p0 + chunk.len()];
                for (v, t) in chunk.iter_mut().zip(row) {
                    *v += t * cq;
                }
            }
        });
}

impl Velocity {
    /// Plan the evaluator: builds the σ and σ′ tables on the fixed grid.
    pub fn new(model: &MeanField, grid: &Grid) -> Self {
        let (net, quad) = (model.net, &model.quad);
        let wax = usize::from(net.frozen_a.is_none());
        let dw = net.dim_w();
        let xt: Vec<Vec<f64>> = (0..quad.len())
            .map(|q| {
                let mut v = vec![0.0; dw];
                net.augment(quad.node(q), &mut v);
                v
            })
            .collect();
        let act = net.activation;
        let centres = w_points(grid, wax, None);
        let sig = table(&centres, &xt, |w, x| act.sigma(dot(w, x)));
        let mut dsig = Vec::new();
        let mut nwf = Vec::new();
        for k in 0..dw {
            let pts = w_points(grid, wax, Some(wax + k));
            nwf.push(pts.len());
            dsig.push(table(&pts, &xt, |w, x| act.dsigma(dot(w, x)) * x[k]));
        }
        let nw = centres.len();
        Velocity {
            model: model.clone(),
            drift: model.drift(),
            grid: grid.clone(),
            wax,
            nw,
            centres: centres.concat(),
            sig,
            gk: nwf.iter().map(|&n| vec![0.0; n]).collect(),
            dsig,
            m1: vec![0.0; nw],
            fh: vec![0.0; quad.len()],
            wr: vec![0.0; quad.len()],
            g: vec![0.0; nw],
            rate: vec![0.0; grid.len()],
        }
    }

    /// f_h at the nodes from ρ: first moments in a, then f_h(x_q) = Σ_w m1(w) σ(w·x̃_q).
    /// Also sets the residual weights ω_q r_q.
    ///
    /// # Panics
    /// If `rho` is not of the grid's length.
    pub fn eval_f(&mut self, rho: &[f64]) {
        assert_eq!(
            rho.len(),
            self.grid.len(),
            "density length against the grid"
        );
        let vol = self.grid.cell_volume();
        let nw = self.nw;
        match self.model.net.frozen_a {
            Some(a0) => self
                .m1
                .iter_mut()
                .zip(rho)
                .for_each(|(m, r)| *m = a0 * r * vol),
            None => {
                self.m1.iter_mut().for_each(|m| *m = 0.0);
                for ia in 0..self.grid.n[0] {
                    let a = self.grid.centre(0, ia) * vol;
                    let row = &rho[ia * nw..(ia + 1) * nw];
                    self.m1.iter_mut().zip(row).for_each(|(m, r)| *m += a * r);
                }
            }
        }
        let (sig, m1) = (&self.sig, &self.m1);
        self.fh
            .par_iter_mut()
            .enumerate()
            .for_each(|(q, f)| *f = dot(&sig[q * nw..(q + 1) * nw], m1));
        for q in 0..self.fh.len() {
            self.wr[q] = self.model.weighted_residual(q, self.fh[q]);
        }
    }

    /// g(w) = Σ_q ω_q σ(w·x̃_q) r_q at every w centre for ρ (w points in the
    /// grid's order of the w axes); f_h at the nodes is left as after
    /// [`Velocity::eval_f`].
    pub fn eval_g(&mut self, rho: &[f64]) -> &[f64] {
        self.eval_f(rho);
        contract(&self.sig, &self.wr, &mut self.g);
        &self.g
    }

    /// g at every w centre for given weighted residuals ω_q r_q (not from a
    /// density: the Gibbs solver poses its fixed point on r).
    pub fn g_of_residual(&mut self, wr: &[f64]) -> &[f64] {
        self.wr.copy_from_slice(wr);
        contract(&self.sig, &self.wr, &mut self.g);
        &self.g
    }

    /// g at every w centre from the last [`Velocity::eval_g`],
    /// [`Velocity::g_of_residual`] or [`Velocity::eval`].
    pub fn g(&self) -> &[f64] {
        &self.g
    }

    /// Ψ_i = a_i g(w_i) + (λ/2)|θ_i|² (MeanField::psi) at every cell centre,
    /// from the last g.
    ///
    /// # Panics
    /// If `psi` is not of the grid's length.
    pub fn psi_cells(&self, psi: &mut [f64]) {
        assert_eq!(psi.len(), self.grid.len());
        let (model, grid, g, nw) = (&self.model, &self.grid, &self.g, self.nw);
        let d = grid.dim();
        psi.par_iter_mut()
            .enumerate()
            .with_min_len(1024)
            .for_each(|(flat, p)| {
                let mut th = [0.0; MAX_DIM];
                grid.centre_of(flat, &mut th[..d]);
                let a = model.net.frozen_a.unwrap_or(th[0]);
                let theta_sq: f64 = th[..d].iter().map(|t| t * t).sum();
                *p = model.psi(a, g[flat % nw], theta_sq);
            });
    }

    /// σ(w·x̃_q) at w centre p (the table the contractions use).
    #[inline]
    pub fn sigma_at(&self, q: usize, p: usize) -> f64 {
        self.sig[q * self.nw + p]
    }

    /// Number of w points (centres of the w axes' cells).
    pub fn w_points(&self) -> usize {
        self.nw
    }

    /// V[ρ]: g at the w centres and G_k at the w faces of each axis, from
    /// which [`Velocity::axis`] gives V on any face.
    pub fn eval(&mut self, rho: &[f64]) {
        self.eval_g(rho);
        for k in 0..self.dsig.len() {
            contract(&self.dsig[k], &self.wr, &mut self.gk[k]);
        }
    }

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
            is_a,
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

    /// f_h at the nodes (after [`Velocity::eval_f`] or [`Velocity::eval`]).
    pub fn f_nodes(&self) -> &[f64] {
        &self.fh
    }

    /// f_h(x) = Σ_w m1(w) σ(w·x̃) at each point x, from the first moments of
    /// the last [`Velocity::eval_f`].
    pub fn f_at_points(&self, points: &[Vec<f64>]) -> Vec<f64> {
        let dw = self.model.net.dim_w();
        points
            .iter()
            .map(|x| {
                fixed_sum(&self.m1, |p, m| {
                    m * self.model.unit(&self.centres[p * dw..(p + 1) * dw], x)
                })
            })
            .collect()
    }

    /// The model V is computed for.
    pub fn model(&self) -> &MeanField {
        &self.model
    }

    /// The largest Σ_k |V_k| / h_k over cells (both faces of each cell), for
    /// the CFL condition, from the last [`Velocity::eval`] (V computed on the
    /// way, line block by line block as the sweeps do).
    pub fn max_rate(&mut self) -> f64 {
        let mut rate = std::mem::take(&mut self.rate);
        rate.par_iter_mut().for_each(|r| *r = 0.0);
        let grid = &self.grid;
        for k in 0..grid.dim() {
            let inv_h = 1.0 / grid.h[k];
            let v = self.axis(k);
            par_line_blocks(grid, k, 64, &mut rate, |out| {
                let (n, lines) = (out.len(), out.lines());
                let (o, j0) = out.origin();
                if lines == 1 && grid.strides[k] == 1 {
                    // the last axis: a line's n + 1 faces at once
                    FACES.with(|cell| {
                        let f = &mut *cell.borrow_mut();
                        f.resize(n + 1, 0.0);
                        v.line(o, 0, f);
                        for (i, r) in out.line_mut().iter_mut().enumerate() {
                            *r += f[i].abs().max(f[i + 1].abs()) * inv_h;
                        }
                    });
                    return;
                }
                let (mut below, mut above) = ([0.0; 64], [0.0; 64]);
                v.row(o, 0, j0, &mut above[..lines]);
                for i in 0..n {
                    below[..lines].copy_from_slice(&above[..lines]);
                    v.row(o, i + 1, j0, &mut above[..lines]);
                    let row = out.row_mut(i);
                    for ((r, b), a) in row.iter_mut().zip(&below).zip(&above) {
                        *r += b.abs().max(a.abs()) * inv_h;
                    }
                }
            });
        }
        let top = rate.par_iter().cloned().reduce(|| 0.0, f64::max);
        self.rate = rate;
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, DataLaw, Network, Quadrature, Target};

    /// A tanh student with bias (or a frozen a) against a two-unit tanh
    /// teacher, λ = 0.3, on Gauss–Hermite nodes.
    fn model(frozen_a: Option<f64>) -> MeanField {
        let net = Network {
            activation: Activation::Tanh,
            bias: true,
            frozen_a,
            dim_x: 1,
        };
        let target = Target::Teacher(vec![vec![1.2, 0.9, -0.3], vec![-0.7, -1.4, 0.5]]);
        let quad = Quadrature::gaussian(1, 1.0, 7);
        MeanField::new(net, quad, DataLaw::Gaussian { std: 1.0 }, target, 0.3, 0.0).unwrap()
    }

    /// V on every face of every axis against the plain loops of MODEL.md
    /// §2: f_h(x_q) = Σ_i ρ_i |C| a_i σ(w_i·x̃_q), r = f_h − f*, g(w) =
    /// Σ_q ω_q σ(w·x̃_q) r_q, ∂_k g(w) = Σ_q ω_q σ′(w·x̃_q) x̃_{q,k} r_q,
    /// V_a = −g(w) − λa at a-faces, V_{w_k} = −a ∂_k g(w) − λ w_k at
    /// w_k-faces (the other coordinates at cell centres).
    #[test]
    fn faces_match_the_plain_loop_formulas() {
        for frozen in [None, Some(0.8)] {
            let m = model(frozen);
            let d = m.dim();
            let (lo, hi) = (vec![-2.0; d], vec![2.5; d]);
            let n: Vec<usize> = [5, 4, 6][3 - d..].to_vec();
            let grid = Grid::new(lo, hi, n.clone(), vec![]);
            let rho: Vec<f64> = (0..grid.len())
                .map(|i| 0.1 + ((i * 37) % 23) as f64 / 23.0)
                .collect();
            let mut vel = Velocity::new(&m, &grid);
            vel.eval(&rho);
            let faces: Vec<Vec<f64>> = (0..d).map(|k| vel.face_values(k)).collect();
            let wax = usize::from(frozen.is_none());
            let xt = |q: usize| [m.quad.node(q)[0], 1.0];
            let sig = |w: &[f64], q: usize| m.net.activation.sigma(w[0] * xt(q)[0] + w[1]);
            let dsig = |w: &[f64], q: usize| m.net.activation.dsigma(w[0] * xt(q)[0] + w[1]);
            let vol = grid.cell_volume();
            let r: Vec<f64> = (0..m.quad.len())
                .map(|q| {
                    let mut f = 0.0;
                    let mut th = vec![0.0; d];
                    for (i, rho_i) in rho.iter().enumerate() {
                        grid.centre_of(i, &mut th);
                        let a = frozen.unwrap_or(th[0]);
                        f += rho_i * vol * a * sig(&th[wax..], q);
                    }
                    f - m.fstar[q]
                })
                .collect();
            let g = |w: &[f64]| -> f64 {
                (0..r.len())
                    .map(|q| m.quad.weights[q] * sig(w, q) * r[q])
                    .sum()
            };
            let dg = |w: &[f64], k: usize| -> f64 {
                (0..r.len())
                    .map(|q| m.quad.weights[q] * dsig(w, q) * xt(q)[k] * r[q])
                    .sum()
            };
            let lam = m.weight_decay;
            for (axis, v) in faces.iter().enumerate() {
                // the face layout: n with n_axis + 1 on this axis
                let mut shape = n.clone();
                shape[axis] += 1;
                assert_eq!(v.len(), shape.iter().product::<usize>());
                for (f, got) in v.iter().enumerate() {
                    let mut rem = f;
                    let mut th = vec![0.0; d];
                    for k in (0..d).rev() {
                        let i = rem % shape[k];
                        rem /= shape[k];
                        th[k] = if k == axis {
                            grid.face(k, i)
                        } else {
                            grid.centre(k, i)
                        };
                    }
                    let a = frozen.unwrap_or(th[0]);
                    let w = &th[wax..];
                    let want = if axis < wax {
                        -g(w) - lam * a
                    } else {
                        -a * dg(w, axis - wax) - lam * th[axis]
                    };
                    assert!(
                        (got - want).abs() < 1e-13,
                        "axis {axis} face {f}: {got} vs {want}"
                    );
                }
            }
            // the data risk from the same residual
            let risk: f64 = 0.5
                * (0..r.len())
                    .map(|q| m.quad.weights[q] * r[q] * r[q])
                    .sum::<f64>();
            assert!((m.data_risk(vel.f_nodes()) - risk).abs() < 1e-14);
        }
    }
}
