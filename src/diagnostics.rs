//! **Diagnostics** of a density, named as docs/model.md §5: mass, risk R_h,
//! entropy term, free energy, boundary mass, min ρ, mean and covariance of θ,
//! f_h at evaluation points.
//!
//! Moments are those of the smooth density whose cell averages are ρ_i. For
//! it, Σ_i ρ_i φ(θ_i) |C| = ∫ ρ φ + (1/24) Σ_k h_k² ∫ ρ ∂_k²φ + O(h⁴)
//! (midpoint rule on each cell, Euler–Maclaurin; the boundary terms vanish
//! with ρ at the walls). So the mean and the mixed moments at the centres
//! are unbiased, while each ∫ θ_k² ρ carries + h_k²/12 · M: it is taken off
//! the covariance and the weight-decay part of R (the same for every ρ of a
//! run's mass, so the free energy's changes are untouched). The data part of
//! R uses f_h at the nodes as V does (the scheme's own quadrature).

use crate::grid::{Grid, MAX_DIM};
use crate::io::store::{Dim, Record, Var, VarSpec};
use crate::model::MeanField;
use crate::sum::{fixed_fold_into, fixed_sum};
use crate::velocity::Velocity;

/// Everything stored at a snapshot.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// Mean-field time t.
    pub time: f64,
    /// M = Σ ρ_i |C|.
    pub mass: f64,
    /// R_h = ½ Σ_q ω_q r_q² + (λ/2) (Σ_i ρ_i |θ_i|² |C| − M Σ_k h_k²/12).
    pub risk: f64,
    /// The entropy term (η/2) Σ_i ρ_i log ρ_i |C| (0 log 0 = 0); for a
    /// reduced problem (η/2) Σ_i ρ_i (log ρ_i − (n − 1) log r_i) |C| (docs/model.md §6).
    pub entropy: f64,
    /// F_η = R_h + entropy term.
    pub free_energy: f64,
    /// Mass in the outermost layer of cells (for a reduced problem not the
    /// cells at r = 0, a symmetry boundary, not a wall of the box).
    pub boundary_mass: f64,
    /// min_i ρ_i.
    pub min_density: f64,
    /// ∫ θ ρ / M (D entries).
    pub mean: Vec<f64>,
    /// Covariance of θ under ρ / M (D × D, row-major; h_k²/12 taken off the
    /// diagonal, see the module's docs).
    pub cov: Vec<f64>,
    /// f_h at the evaluation points.
    pub f_values: Vec<f64>,
    /// f_h at the quadrature nodes x_q.
    pub f_nodes: Vec<f64>,
    /// Steps taken to reach `time` (set by the controller).
    pub steps: usize,
}

impl Diagnostics {
    /// The first stored diagnostic that is not finite, named.
    pub fn fault(&self) -> Option<String> {
        crate::error::first_non_finite([
            ("the risk R_h", std::slice::from_ref(&self.risk)),
            ("the entropy term", std::slice::from_ref(&self.entropy)),
            (
                "the free energy F_η",
                std::slice::from_ref(&self.free_energy),
            ),
            ("the mean of θ", &self.mean[..]),
            ("the covariance of θ", &self.cov[..]),
            ("f_h at an f point", &self.f_values[..]),
        ])
    }
}

/// A PDE snapshot as it is stored in `/pde`: the diagnostics and the
/// density. Its variables are the group's layout.
#[derive(Debug, Clone, Copy)]
pub struct PdeRecord<'a> {
    pub diag: &'a Diagnostics,
    pub rho: &'a [f64],
}

const T: &[Dim] = &[Dim::Time];

impl Record for PdeRecord<'_> {
    fn group(&self) -> &'static str {
        "pde"
    }

    fn vars(&self) -> Vec<Var<'_>> {
        let d = self.diag;
        let s = |name, long_name, v| Var::scalar(VarSpec::new(name, T, long_name), v);
        vec![
            s("time", "mean-field time t", d.time),
            s("mass", "mass M = Σ ρ_i |C|", d.mass),
            s("risk", "risk R_h", d.risk),
            s("entropy", "entropy term (η/2) Σ ρ_i log ρ_i |C|", d.entropy),
            s(
                "free_energy",
                "free energy F_η = R_h + entropy term",
                d.free_energy,
            ),
            s(
                "boundary_mass",
                "mass in the outermost layer of cells",
                d.boundary_mass,
            ),
            s("min_density", "min_i ρ_i", d.min_density),
            Var::scalar(
                VarSpec::new("steps", T, "time steps taken").count(),
                d.steps as f64,
            ),
            Var::array(
                VarSpec::new(
                    "density",
                    &[Dim::Time, Dim::Grid],
                    "density ρ_i (cell averages)",
                ),
                self.rho,
            ),
            Var::array(
                VarSpec::new("f_values", &[Dim::Time, Dim::Point], "f_h at f_points"),
                &d.f_values,
            ),
            Var::array(
                VarSpec::new("mean", &[Dim::Time, Dim::Axis], "mean of θ under ρ"),
                &d.mean,
            ),
            Var::array(
                VarSpec::new(
                    "cov",
                    &[Dim::Time, Dim::Axis, Dim::Axis2],
                    "covariance of θ under ρ",
                ),
                &d.cov,
            ),
        ]
    }
}

/// Cell sums needed by the diagnostics, in one parallel pass (in a fixed
/// order: the same bits on any number of threads).
#[derive(Clone, Copy)]
pub struct Sums {
    mass: f64,
    theta2: f64,
    ent: f64,
    /// Σ ρ_i log θ_{i,D−1} |C| (reduced problems: the last axis is r > 0).
    log_r: f64,
    boundary: f64,
    min: f64,
    m1: [f64; MAX_DIM],
    m2: [[f64; MAX_DIM]; MAX_DIM],
    /// Per stretched axis k, Σ ρ_i |C_i| h_{k,i}²/12 (0 on uniform axes).
    bias: [f64; MAX_DIM],
}

impl Sums {
    /// What the centre sum of θ_k² exceeds ∫ ρ θ_k² by.
    fn m2_bias(&self, grid: &Grid, k: usize) -> f64 {
        if grid.stretch[k].is_some() {
            self.bias[k]
        } else {
            self.mass * grid.h[k] * grid.h[k] / 12.0
        }
    }

    fn zero() -> Self {
        Sums {
            mass: 0.0,
            theta2: 0.0,
            ent: 0.0,
            log_r: 0.0,
            boundary: 0.0,
            min: f64::INFINITY,
            m1: [0.0; MAX_DIM],
            m2: [[0.0; MAX_DIM]; MAX_DIM],
            bias: [0.0; MAX_DIM],
        }
    }

    fn add(mut self, o: Sums) -> Sums {
        self.mass += o.mass;
        self.theta2 += o.theta2;
        self.ent += o.ent;
        self.log_r += o.log_r;
        self.boundary += o.boundary;
        self.min = self.min.min(o.min);
        for i in 0..MAX_DIM {
            self.m1[i] += o.m1[i];
            self.bias[i] += o.bias[i];
            for j in 0..MAX_DIM {
                self.m2[i][j] += o.m2[i][j];
            }
        }
        self
    }
}

fn cell_sums(grid: &Grid, rho: &[f64], log_r: bool) -> Sums {
    cell_sums_into(grid, rho, log_r, &mut Vec::new())
}

/// [`cell_sums`] with its block results in `parts` (no allocation once it
/// has grown); Σ ρ log r |C| over the last axis when `log_r`.
fn cell_sums_into(grid: &Grid, rho: &[f64], log_r: bool, parts: &mut Vec<Sums>) -> Sums {
    debiased(grid, centre_sums(grid, rho, log_r, [true; 2], parts))
}

/// The centre sums `s` of `grid` with the centre bias taken off θ's second
/// moments.
fn debiased(grid: &Grid, mut s: Sums) -> Sums {
    // Σ ρ_i θ_{i,k}² |C| exceeds ∫ ρ θ_k² by M h_k²/12 (module docs); on a
    // stretched axis by Σ_i ρ_i |C_i| h_{k,i}²/12, summed with the moments
    for k in 0..grid.dim() {
        let b = if grid.stretch[k].is_some() {
            s.bias[k]
        } else {
            s.mass * grid.h[k] * grid.h[k] / 12.0
        };
        s.m2[k][k] -= b;
    }
    if grid.is_uniform() {
        s.theta2 -= s.mass * centre_bias(grid);
    } else {
        s.theta2 -= (0..grid.dim()).map(|k| s.m2_bias(grid, k)).sum::<f64>();
    }
    s
}

/// Σ_k h_k²/12: what the centre sum Σ_i ρ_i |θ_i|² |C| of a density of mass
/// 1 exceeds ∫ |θ|² ρ by (module docs).
pub fn centre_bias(grid: &Grid) -> f64 {
    grid.h.iter().map(|h| h * h / 12.0).sum()
}

/// Σ_i ρ_i |C_i| Σ_k h_{k,i}²/12: what the centre sum Σ_i ρ_i |θ_i|² |C_i|
/// exceeds ∫ |θ|² ρ by, cell by cell (on uniform cells M [`centre_bias`]).
pub fn centre_bias_of(grid: &Grid, rho: &[f64]) -> f64 {
    let d = grid.dim();
    fixed_sum(rho, |flat, r| {
        let mut idx = [0usize; MAX_DIM];
        grid.unravel(flat, &mut idx[..d]);
        let b: f64 = (0..d).map(|k| grid.width(k, idx[k]).powi(2) / 12.0).sum();
        r * grid.volume_of(&idx[..d]) * b
    })
}

/// The axis whose lower side is not a wall: r = 0 of a reduced problem
/// (`reduced`) is its symmetry boundary, so only the other walls count.
pub fn open_side(grid: &Grid, reduced: bool) -> Option<usize> {
    let d = grid.dim();
    (reduced && grid.face(d - 1, 0) == 0.0).then_some(d - 1)
}

/// Whether the cell `idx` is in the outermost layer of the box: of
/// `grid`, but for the sides of a whose `walls` are false (a slab's rows
/// that border another slab) and the lower side of `open`.
fn on_wall(grid: &Grid, idx: &[usize], open: Option<usize>, walls: [bool; 2]) -> bool {
    idx.iter().zip(&grid.n).enumerate().any(|(k, (&i, &n))| {
        let [lo, hi] = if k == 0 { walls } else { [true; 2] };
        (lo && i == 0 && open != Some(k)) || (hi && i + 1 == n)
    })
}

/// The sums at the cell centres; `walls`: whether the first and last rows
/// of a are the box's (see [`on_wall`]).
fn centre_sums(
    grid: &Grid,
    rho: &[f64],
    log_r: bool,
    walls: [bool; 2],
    parts: &mut Vec<Sums>,
) -> Sums {
    let d = grid.dim();
    let vol = grid.cell_volume();
    let uniform = grid.is_uniform();
    let open = open_side(grid, log_r);
    fixed_fold_into(
        rho,
        Sums::zero,
        |mut s, flat, &r| {
            let mut idx = [0usize; MAX_DIM];
            grid.unravel(flat, &mut idx[..d]);
            let m = if uniform {
                r * vol
            } else {
                let m = r * grid.volume_of(&idx[..d]);
                for (k, (b, &i)) in s.bias.iter_mut().zip(&idx[..d]).enumerate() {
                    if let Some(st) = &grid.stretch[k] {
                        let w = st.widths[i];
                        *b += m * w * w / 12.0;
                    }
                }
                m
            };
            let mut th = [0.0; MAX_DIM];
            grid.centre_of(flat, &mut th[..d]);
            s.mass += m;
            s.min = s.min.min(r);
            if r > 0.0 {
                s.ent += m * r.ln();
                if log_r {
                    s.log_r += m * th[d - 1].ln();
                }
            }
            if on_wall(grid, &idx[..d], open, walls) {
                s.boundary += m;
            }
            for i in 0..d {
                s.theta2 += m * th[i] * th[i];
                s.m1[i] += m * th[i];
                for j in 0..d {
                    s.m2[i][j] += m * th[i] * th[j];
                }
            }
            s
        },
        Sums::add,
        parts,
    )
}

/// Mass M = Σ ρ_i |C|.
pub fn mass(grid: &Grid, rho: &[f64]) -> f64 {
    if grid.is_uniform() {
        fixed_sum(rho, |_, r| *r) * grid.cell_volume()
    } else {
        fixed_sum(rho, |i, r| *r * grid.volume_at(i))
    }
}

/// What the light history needs of a slab's interior `rho` on `rows` (the
/// whole grid's rows of the slab, [`Grid::rows`]): its mass (as [`mass`]),
/// Σ ρ_i |θ_i|² |C| less its centre bias, and the entropy's sums. A split
/// density adds its slabs' in a fixed order; one slab of the whole grid
/// gives the bits of [`energies`]' own sums.
pub fn history_sums(rows: &Grid, rho: &[f64], reduced: bool) -> [f64; 4] {
    let s = cell_sums(rows, rho, reduced);
    [mass(rows, rho), s.theta2, s.ent, s.log_r]
}

/// Risk, entropy term and free energy from f_h at the nodes (of the
/// density's velocity) and the density's [`history_sums`], as [`energies`].
pub fn energies_of(model: &MeanField, f_nodes: &[f64], sums: &[f64; 4]) -> (f64, f64, f64) {
    let risk = model.risk(f_nodes, sums[1]);
    let ent = model.entropy_term(sums[2], sums[3]);
    (risk, ent, model.free_energy(risk, ent))
}

/// Risk, entropy term and free energy of ρ without the snapshot extras (for
/// the light history). `vel` is re-evaluated at ρ.
pub fn energies(grid: &Grid, vel: &mut Velocity, rho: &[f64]) -> (f64, f64, f64) {
    energies_with(grid, vel, rho, &mut Vec::new())
}

/// [`energies`] with the sums' block results in `parts`, which a planned
/// caller keeps between calls (no allocation).
pub fn energies_with(
    grid: &Grid,
    vel: &mut Velocity,
    rho: &[f64],
    parts: &mut Vec<Sums>,
) -> (f64, f64, f64) {
    energies_and_shift(grid, vel, rho, parts).0
}

/// [`energies_with`] and the weight-decay part's h²/12 shift of the risk,
/// (λ/2) Σ_i ρ_i |C_i| Σ_k h_{k,i}²/12 (what the centre sums exceed the
/// stored R and F by: [`centre_bias_of`]), from the same sums.
pub fn energies_and_shift(
    grid: &Grid,
    vel: &mut Velocity,
    rho: &[f64],
    parts: &mut Vec<Sums>,
) -> ((f64, f64, f64), f64) {
    vel.eval_f(rho);
    let reduced = vel.model().reduction.is_some();
    let s = cell_sums_into(grid, rho, reduced, parts);
    let model = vel.model();
    let risk = model.risk(vel.f_nodes(), s.theta2);
    let ent = model.entropy_term(s.ent, s.log_r);
    let bias: f64 = (0..grid.dim()).map(|k| s.m2_bias(grid, k)).sum();
    (
        (risk, ent, model.free_energy(risk, ent)),
        0.5 * model.weight_decay * bias,
    )
}

/// All snapshot diagnostics of ρ at time t, f_h at `f_points`. `vel` is
/// re-evaluated at ρ.
pub fn compute(
    t: f64,
    grid: &Grid,
    vel: &mut Velocity,
    rho: &[f64],
    f_points: &[Vec<f64>],
) -> Diagnostics {
    vel.eval_f(rho);
    let s = cell_sums(grid, rho, vel.model().reduction.is_some());
    let f_values = vel.f_at_points(f_points);
    of_sums(t, grid, vel.model(), &s, vel.f_nodes(), f_values)
}

/// The numbers of a slab's [`Sums`] (interior `rho` on `rows`, the whole
/// grid's rows of the slab, [`Grid::rows`]; `walls`: whether its first and
/// last rows of a are the grid's): what a rank of a split density sends
/// for [`from_slab_sums`].
pub fn slab_sums(rows: &Grid, rho: &[f64], reduced: bool, walls: [bool; 2]) -> Vec<f64> {
    let s = centre_sums(rows, rho, reduced, walls, &mut Vec::new());
    let mut v = vec![s.mass, s.theta2, s.ent, s.log_r, s.boundary, s.min];
    v.extend(s.m1);
    v.extend(s.m2.iter().flatten());
    v.extend(s.bias);
    v
}

/// The diagnostics at time `t` of a density on `grid` split into slabs,
/// from each slab's [`slab_sums`] (`sums`, concatenated in slab order,
/// added in that order), f_h at the nodes and at the f points. One slab of
/// the whole grid gives the bits of [`compute`].
pub fn from_slab_sums(
    t: f64,
    grid: &Grid,
    model: &MeanField,
    sums: &[f64],
    f_nodes: &[f64],
    f_values: Vec<f64>,
) -> Diagnostics {
    let of = |v: &[f64]| {
        let mut s = Sums::zero();
        [s.mass, s.theta2, s.ent, s.log_r, s.boundary, s.min] = v[..6].try_into().unwrap();
        let (m1, rest) = v[6..].split_at(MAX_DIM);
        let (m2, bias) = rest.split_at(MAX_DIM * MAX_DIM);
        s.m1.copy_from_slice(m1);
        for (row, m) in s.m2.iter_mut().zip(m2.chunks_exact(MAX_DIM)) {
            row.copy_from_slice(m);
        }
        s.bias.copy_from_slice(bias);
        s
    };
    let len = 6 + 2 * MAX_DIM + MAX_DIM * MAX_DIM;
    let mut slabs = sums.chunks_exact(len).map(of);
    let first = slabs.next().expect("the sums of one slab at least");
    let s = debiased(grid, slabs.fold(first, Sums::add));
    of_sums(t, grid, model, &s, f_nodes, f_values)
}

/// The diagnostics from the (debiased) cell sums and f_h.
fn of_sums(
    t: f64,
    grid: &Grid,
    model: &MeanField,
    s: &Sums,
    f_nodes: &[f64],
    f_values: Vec<f64>,
) -> Diagnostics {
    let d = grid.dim();
    let risk = model.risk(f_nodes, s.theta2);
    let entropy = model.entropy_term(s.ent, s.log_r);
    let mean: Vec<f64> = (0..d).map(|i| s.m1[i] / s.mass).collect();
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] = s.m2[i][j] / s.mass - mean[i] * mean[j];
        }
    }
    Diagnostics {
        time: t,
        mass: s.mass,
        risk,
        entropy,
        free_energy: model.free_energy(risk, entropy),
        boundary_mass: s.boundary,
        min_density: s.min,
        mean,
        cov,
        f_values,
        f_nodes: f_nodes.to_vec(),
        steps: 0,
    }
}
