//! **The mean-field velocity** V[ρ] of docs/model.md §2 on the faces of the grid:
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

pub mod cross;
mod faces;
mod rate;
pub mod table;

pub use faces::{AxisVelocity, FaceArray, Faces};
use table::Table;

use crate::grid::{Grid, MAX_DIM};
use crate::model::{Drift, MeanField, Tables};
use crate::scratch::Scratch;
use crate::simd::Simd;
use crate::sum::fixed_sum;
use rayon::prelude::*;

/// The velocity's tables' entries: σ(w·x̃) (`k` = None) or σ′(w·x̃) x̃_k,
/// a run of points at one node. For a reduced unit, [`Reduction::run`]
/// compiled for this CPU's [`Simd`] (its cosine rule's sum over the points
/// in vectors); else one entry at a time. Every kind of table is built
/// from it, so whole, low-rank and on-the-fly tables share their bits.
///
/// [`Reduction::run`]: crate::model::symmetry::Reduction::run
fn entries(model: &MeanField, k: Option<usize>) -> table::Entry {
    let dw = model.net.dim_w();
    match model.reduction.clone() {
        Some(red) => {
            let (act, simd) = (model.net.activation, Simd::detect());
            std::sync::Arc::new(move |x, points, out| {
                crate::simd_run!(simd, { red.run(act, k, x, points, out) })
            })
        }
        None => {
            let net = model.net;
            match k {
                None => table::entry(dw, move |w, x| net.unit(w, x)),
                Some(k) => table::entry(dw, move |w, x| net.dunit(w, x, k)),
            }
        }
    }
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
    /// σ(w_c·x̃_q), node-major [q][w centre] (in low rank for a reduced
    /// problem: [`table`]).
    sig: Table,
    /// Per w axis k: σ′(w_f·x̃_q) x̃_{q,k}, node-major [q][w face].
    dsig: Vec<Table>,
    /// Scratch: first moments m1 (per w point), f_h and ω r at the nodes, g,
    /// and G_k per w axis.
    m1: Vec<f64>,
    fh: Vec<f64>,
    wr: Vec<f64>,
    g: Vec<f64>,
    gk: Vec<Vec<f64>>,
    /// The SIMD variant of the CFL rate's loops.
    simd: Simd,
    /// Per-thread rates and face velocities of one line (`max_rate`).
    rate_lines: Scratch<(Vec<f64>, Vec<f64>, Vec<f64>)>,
    /// Per axis, the n_k + 1 face coordinates.
    edges: Vec<Vec<f64>>,
    /// On a stretched grid, the volume of each w point's cell of the w
    /// sub-grid (None: uniform, |C| is one number).
    wvol: Option<Vec<f64>>,
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

impl Velocity {
    /// Plan the evaluator: builds the σ and σ′ tables on the fixed grid, in
    /// low rank where the model asks for it and that is smaller ([`table`]).
    pub fn new(model: &MeanField, grid: &Grid) -> Self {
        Self::planned(model, grid, model.tables)
    }

    /// [`Velocity::new`] with the whole tables, never in low rank (the
    /// reference the low-rank tables are tested against).
    pub fn with_whole_tables(model: &MeanField, grid: &Grid) -> Self {
        Self::planned(model, grid, Tables::Whole)
    }

    fn planned(model: &MeanField, grid: &Grid, tables: Tables) -> Self {
        let root_w: Vec<f64> = model.quad.weights.iter().map(|w| w.sqrt()).collect();
        let table = |points: &[Vec<f64>], xt: &[Vec<f64>], k: Option<usize>| {
            let f = entries(model, k);
            match tables {
                Tables::Whole => Table::whole(points, xt, &f),
                Tables::LowRank { tol } => Table::planned(points, xt, &f, &root_w, tol),
                Tables::OnTheFly => Table::on_the_fly(points, xt, f),
            }
        };
        let (net, quad) = (model.net, &model.quad);
        let wax = net.w_axis();
        let dw = net.dim_w();
        let xt: Vec<Vec<f64>> = (0..quad.len())
            .map(|q| {
                let mut v = vec![0.0; dw];
                net.augment(quad.node(q), &mut v);
                v
            })
            .collect();
        let centres = w_points(grid, wax, None);
        let sig = table(&centres, &xt, None);
        let mut dsig = Vec::new();
        let mut nwf = Vec::new();
        for k in 0..dw {
            let pts = w_points(grid, wax, Some(wax + k));
            nwf.push(pts.len());
            dsig.push(table(&pts, &xt, Some(k)));
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
            simd: Simd::detect(),
            rate_lines: {
                let n = grid.n[grid.dim() - 1];
                Scratch::new(|| (vec![0.0; n], vec![0.0; n + 1], vec![0.0; n + 1]))
            },
            edges: (0..grid.dim()).map(|k| grid.edges(k)).collect(),
            wvol: (!grid.is_uniform()).then(|| {
                let wg = grid.tail(wax);
                (0..wg.len()).map(|p| wg.volume_at(p)).collect()
            }),
        }
    }

    /// f_h at the nodes from ρ: first moments in a, then f_h(x_q) = Σ_w m1(w) σ(w·x̃_q).
    /// Also sets the residual weights ω_q r_q.
    ///
    /// # Panics
    /// If `rho` is not of the grid's length.
    pub fn eval_f(&mut self, rho: &[f64]) {
        self.moments(rho, None);
        self.f_from_moments();
    }

    /// m1(w) = Σ_a a ρ(a, w) |C| into the evaluator's moments (see
    /// [`Velocity::first_moments`]).
    fn moments(&mut self, rho: &[f64], a_weights: Option<&[f64]>) {
        let mut m1 = std::mem::take(&mut self.m1);
        self.first_moments(rho, 0..self.grid.n[0], a_weights, &mut m1);
        self.m1 = m1;
    }

    /// The first moments m1(w) = Σ_a a ρ(a, w) |C| over the a rows `rows`
    /// (a in order for every w; blocks of w in parallel), with
    /// `a_weights[i]` in place of the centre a_i when given; with a frozen,
    /// m1 = a0 ρ |C| (every row). The rows of a slab's interior give its
    /// share: m1 of the whole grid is the sum of its slabs' (summed in
    /// another order, so equal to round-off).
    ///
    /// # Panics
    /// If `rho` is not of the grid's length, or a is frozen and `rows` is
    /// not every row.
    pub fn first_moments(
        &self,
        rho: &[f64],
        rows: std::ops::Range<usize>,
        a_weights: Option<&[f64]>,
        m1: &mut [f64],
    ) {
        assert_eq!(
            rho.len(),
            self.grid.len(),
            "density length against the grid"
        );
        assert_eq!(m1.len(), self.nw, "one moment per w point");
        let vol = self.grid.cell_volume();
        let wvol = self.wvol.as_deref();
        let nw = self.nw;
        let simd = self.simd;
        let frozen = self.model.net.frozen_a;
        assert!(
            frozen.is_none() || rows == (0..self.grid.n[0]),
            "a frozen a has no rows to split"
        );
        let grid = &self.grid;
        m1.par_chunks_mut(BLOCK * 16)
            .enumerate()
            .for_each(|(b, m1)| {
                let p0 = b * BLOCK * 16;
                crate::simd_run!(simd, {
                    match (frozen, wvol) {
                        (Some(a0), None) => {
                            for (m, r) in m1.iter_mut().zip(&rho[p0..]) {
                                *m = a0 * r * vol;
                            }
                        }
                        (Some(a0), Some(wv)) => {
                            for ((m, r), v) in m1.iter_mut().zip(&rho[p0..]).zip(&wv[p0..]) {
                                *m = a0 * r * v;
                            }
                        }
                        (None, Some(wv)) => {
                            // |C| = h_a(i) |C_w(p)| on a stretched grid
                            m1.fill(0.0);
                            for ia in rows.clone() {
                                let a = a_weights.map_or(grid.centre(0, ia), |w| w[ia])
                                    * grid.width(0, ia);
                                let row = &rho[ia * nw + p0..];
                                for (m, r) in m1.iter_mut().zip(row) {
                                    *m += a * r;
                                }
                            }
                            for (m, v) in m1.iter_mut().zip(&wv[p0..]) {
                                *m *= v;
                            }
                        }
                        (None, None) => {
                            m1.fill(0.0);
                            for ia in rows.clone() {
                                let a = a_weights.map_or(grid.centre(0, ia), |w| w[ia]) * vol;
                                let row = &rho[ia * nw + p0..];
                                for (m, r) in m1.iter_mut().zip(row) {
                                    *m += a * r;
                                }
                            }
                        }
                    }
                })
            });
    }

    /// V from given first moments (those of every slab of a grid, summed):
    /// f_h and ω_q r_q at the nodes, g at the w centres and every G_k, as
    /// [`Velocity::eval`] of the density they are the moments of.
    ///
    /// # Panics
    /// If `m1` is not one value per w point.
    pub fn eval_moments(&mut self, m1: &[f64]) {
        self.m1.copy_from_slice(m1);
        self.f_from_moments();
        self.contract_all();
    }

    /// The first moments of the last evaluation.
    pub fn moments_of_last(&self) -> &[f64] {
        &self.m1
    }

    /// f_h at the nodes and ω_q r_q from the first moments m1.
    fn f_from_moments(&mut self) {
        self.sig.dot_rows(&self.m1, &mut self.fh, self.simd);
        for q in 0..self.fh.len() {
            self.wr[q] = self.model.weighted_residual(q, self.fh[q]);
        }
    }

    /// g(w) = Σ_q ω_q σ(w·x̃_q) r_q at every w centre for ρ (w points in the
    /// grid's order of the w axes); f_h at the nodes is left as after
    /// [`Velocity::eval_f`].
    pub fn eval_g(&mut self, rho: &[f64]) -> &[f64] {
        self.eval_f(rho);
        self.sig.contract(&self.wr, &mut self.g, self.simd);
        &self.g
    }

    /// g at every w centre (and f_h at the nodes) from given first moments
    /// (those of every slab of a grid, summed), as [`Velocity::eval_g`] of
    /// the density they are the moments of.
    ///
    /// # Panics
    /// If `m1` is not one value per w point.
    pub fn eval_g_of_moments(&mut self, m1: &[f64]) -> &[f64] {
        self.m1.copy_from_slice(m1);
        self.f_from_moments();
        self.sig.contract(&self.wr, &mut self.g, self.simd);
        &self.g
    }

    /// g at every w centre for given weighted residuals ω_q r_q (not from a
    /// density: the Gibbs solver poses its fixed point on r).
    pub fn g_of_residual(&mut self, wr: &[f64]) -> &[f64] {
        self.wr.copy_from_slice(wr);
        self.sig.contract(&self.wr, &mut self.g, self.simd);
        &self.g
    }

    /// g at every w centre from the last [`Velocity::eval_g`],
    /// [`Velocity::g_of_residual`] or [`Velocity::eval`].
    pub fn g(&self) -> &[f64] {
        &self.g
    }

    /// Ψ_i = a_i g(w_i) + (λ/2)|θ_i|² (MeanField::psi) at every cell centre,
    /// from the last g; for a reduced problem plus the Itô potential U(r_i)
    /// ([`MeanField::ito_potential`]), so that the Gibbs state and the
    /// Scharfetter–Gummel fluxes carry the r^{n−1} factor.
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
                *p = model.psi(a, g[flat % nw], theta_sq) + model.ito_potential(th[d - 1]);
            });
    }

    /// σ(w·x̃_q) at w centre p (the table the contractions use).
    #[inline]
    pub fn sigma_at(&self, q: usize, p: usize) -> f64 {
        self.sig.at(q, p)
    }

    /// The σ table and each σ′ table, in that order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        std::iter::once(&self.sig).chain(self.dsig.iter())
    }

    /// G_k = ∂g/∂w_k at the w faces of w axis k, from the last
    /// [`Velocity::eval`].
    pub fn gk(&self, k: usize) -> &[f64] {
        &self.gk[k]
    }

    /// Use another SIMD variant (it must be [`Simd::available`]).
    pub fn set_simd(&mut self, simd: Simd) {
        assert!(simd.available(), "{} is not available", simd.name());
        self.simd = simd;
    }

    /// Number of w points (centres of the w axes' cells).
    pub fn w_points(&self) -> usize {
        self.nw
    }

    /// V[ρ]: g at the w centres and G_k at the w faces of each axis, from
    /// which [`Velocity::axis`] gives V on any face.
    pub fn eval(&mut self, rho: &[f64]) {
        self.eval_f(rho);
        self.contract_all();
    }

    /// g and every G_k from the weighted residuals.
    fn contract_all(&mut self) {
        self.sig.contract(&self.wr, &mut self.g, self.simd);
        for k in 0..self.dsig.len() {
            self.dsig[k].contract(&self.wr, &mut self.gk[k], self.simd);
        }
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
            reduced: None,
            rbf: None,
        };
        let target = Target::Teacher(vec![vec![1.2, 0.9, -0.3], vec![-0.7, -1.4, 0.5]]);
        let quad = Quadrature::gaussian(1, 1.0, 7);
        MeanField::new(net, quad, DataLaw::Gaussian { std: 1.0 }, target, 0.3, 0.0).unwrap()
    }

    /// V on every face of every axis against the plain loops of docs/model.md
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

    /// The CFL rate from the two end rows of a equals the scan of every
    /// cell: Σ_k |V_k| is convex in a. Checked with weight decay (V_a
    /// changes sign inside the box), a bias (three axes), lopsided
    /// densities, and a frozen a (every cell scanned); also against the
    /// face arrays directly. Equal up to a tie's round-off: 4 ulps.
    #[test]
    fn the_rate_of_the_end_rows_is_the_rate_of_every_cell() {
        for frozen in [None, Some(0.8)] {
            let m = model(frozen);
            let d = m.dim();
            let (lo, hi) = (vec![-2.0; d], vec![2.5; d]);
            let n: Vec<usize> = [9, 7, 6][3 - d..].to_vec();
            let grid = Grid::new(lo, hi, n.clone(), vec![]);
            for seed in 0..6usize {
                let rho: Vec<f64> = (0..grid.len())
                    .map(|i| {
                        let x = ((i * 37 + seed * 101) % 23) as f64 / 23.0;
                        0.01 + x * x * (1 + seed % 3) as f64
                    })
                    .collect();
                let mut vel = Velocity::new(&m, &grid);
                vel.eval(&rho);
                let (fast, scan) = (vel.max_rate(), vel.max_rate_scan());
                assert!(
                    (fast - scan).abs() <= 4.0 * f64::EPSILON * scan,
                    "{frozen:?} seed {seed}: {fast} vs {scan}"
                );
                // the scan against the face arrays, cell by cell
                let faces: Vec<Vec<f64>> = (0..d).map(|k| vel.face_values(k)).collect();
                let mut top: f64 = 0.0;
                let mut idx = [0; 3];
                for c in 0..grid.len() {
                    grid.unravel(c, &mut idx[..d]);
                    let mut r = 0.0;
                    for k in 0..d {
                        let s = grid.strides[k];
                        let o = c / (n[k] * s);
                        let at = (o * (n[k] + 1) + idx[k]) * s + c % s;
                        r += faces[k][at].abs().max(faces[k][at + s].abs()) / grid.h[k];
                    }
                    top = top.max(r);
                }
                assert!((top - scan).abs() <= 4.0 * f64::EPSILON * scan);
            }
        }
    }
}
