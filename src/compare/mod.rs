//! **Distances between two representations of μ_t** (docs/model.md §5): a PDE
//! density against the m-neuron network, or against the PDE on a finer
//! grid (the grid's own error). [`DISTANCES`] is the one table of them:
//! each has its name (the `/compare` dataset, the `converge` metric), its
//! label and how it is computed; the HDF5 writer, `converge`, the plots and
//! the h5py check iterate over it (through the names stored in the file).
//!
//! - `l1`: Σ_i |ρ_i − H_i| |C| plus the mass outside the box (against a
//!   finer grid: after exact restriction, NaN when the cells do not nest);
//! - `w1`: the exact 1-Wasserstein distance of each one-dimensional marginal;
//! - `sw2`: the sliced 2-Wasserstein distance over [`SW2_DIRECTIONS`] fixed
//!   directions, a density as atoms at the cell centres;
//! - `risk_gap`: |R_a − R_b|;
//! - `f_gap`: ‖f_a − f_b‖_{L²(P)} with the quadrature.

pub mod distance;
pub mod sliced;

pub use distance::{cell_masses, density_cloud, l1, l2_gap, marginal, w1_cells, w1_marginal};
pub use sliced::{
    directions, sliced_w2, sliced_w2_of, w2_squared_1d, Atoms, CellOrders, ORDER_BYTES,
};

use crate::error::Result;
use crate::grid::Grid;
use crate::io::store::{Dim, Record, Var, VarSpec};

/// Directions of the sliced W2 (stored in `/compare/directions`).
pub const SW2_DIRECTIONS: usize = 64;

/// A measure on phase space as a distance sees it.
#[derive(Debug, Clone, Copy)]
pub enum Measure<'a> {
    /// Cell averages ρ on a grid.
    Density { grid: &'a Grid, rho: &'a [f64] },
    /// Neurons (m × D, row-major) with their histogram on the grid of the
    /// density they are compared with, and the fraction outside its box.
    Neurons {
        theta: &'a [f64],
        hist: &'a [f64],
        outside: f64,
    },
}

/// One side of a comparison: its measure, f at the quadrature nodes, its
/// risk.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub measure: Measure<'a>,
    pub f_nodes: &'a [f64],
    pub risk: f64,
}

/// What the distances use besides the two sides.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The quadrature weights ω_q of E_x (for the L²(P) gap).
    pub weights: &'a [f64],
    /// The sliced-W2 directions (unit vectors in R^D).
    pub dirs: &'a [Vec<f64>],
    /// The densities' cell orders along `dirs`, kept across comparisons.
    pub orders: &'a CellOrders,
}

/// A distance of docs/model.md §5 between side `a`, always a density, and side
/// `b`: neurons, or a density on a grid whose cells nest in a's.
pub struct Distance {
    /// Its name: the `/compare` dataset and, per axis as `<key>_<axis>`, the
    /// `converge` metric.
    pub key: &'static str,
    /// Its name in plots.
    pub label: &'static str,
    /// What it is, in words (the files' `long_name`).
    pub long_name: &'static str,
    /// One value per phase-space axis (else one value).
    pub per_axis: bool,
    /// Compute it.
    pub eval: fn(&Context, &Side, &Side) -> Vec<f64>,
}

/// Every distance, in the order they are stored, printed and plotted.
pub const DISTANCES: &[Distance] = &[
    Distance {
        key: "l1",
        long_name: "L1 = Σ |ρ_i − H_i| |C| plus the mass outside the box",
        label: "L1",
        per_axis: false,
        eval: eval_l1,
    },
    Distance {
        key: "w1",
        long_name: "exact W1 of each one-dimensional marginal",
        label: "W1",
        per_axis: true,
        eval: eval_w1,
    },
    Distance {
        key: "sw2",
        long_name: "sliced 2-Wasserstein distance over fixed directions",
        label: "SW2",
        per_axis: false,
        eval: eval_sw2,
    },
    Distance {
        key: "risk_gap",
        long_name: "risk gap |R_h − R_m|",
        label: "risk gap",
        per_axis: false,
        eval: |_, a, b| vec![(a.risk - b.risk).abs()],
    },
    Distance {
        key: "f_gap",
        long_name: "function gap ‖f_h − f_m‖ in L²(P)",
        label: "f gap",
        per_axis: false,
        eval: |c, a, b| vec![l2_gap(c.weights, a.f_nodes, b.f_nodes)],
    },
];

fn eval_l1(_: &Context, a: &Side, b: &Side) -> Vec<f64> {
    let v = match (a.measure, b.measure) {
        (Measure::Density { grid, rho }, Measure::Neurons { hist, outside, .. }) => {
            l1(grid, rho, hist, outside)
        }
        (Measure::Density { grid: gc, rho: rc }, Measure::Density { grid: gf, rho: rf }) => {
            let d = gc.dim();
            let factor = gf.n[0] / gc.n[0];
            if (0..d).all(|k| gc.n[k] * factor == gf.n[k]) {
                let r = crate::grid::restrict(gf, rf, factor);
                crate::compare::distance::l1(gc, rc, &r, 0.0)
            } else {
                f64::NAN
            }
        }
        _ => f64::NAN,
    };
    vec![v]
}

fn eval_w1(_: &Context, a: &Side, b: &Side) -> Vec<f64> {
    let Measure::Density { grid, rho } = a.measure else {
        return Vec::new();
    };
    let d = grid.dim();
    (0..d)
        .map(|k| {
            let masses = marginal(grid, rho, k);
            match b.measure {
                Measure::Neurons { theta, .. } => {
                    let mut coords: Vec<f64> = theta.chunks(d).map(|t| t[k]).collect();
                    w1_marginal(&grid.edges(k), &masses, &mut coords)
                }
                Measure::Density { grid: gb, rho: rb } => {
                    w1_cells(&grid.edges(k), &masses, &gb.edges(k), &marginal(gb, rb, k))
                }
            }
        })
        .collect()
}

/// A measure as the sliced W2's atoms: a density's cell centres (in their
/// kept order when it fits) with masses ρ_i |C_i|, or neurons of weight
/// 1/m.
fn atoms<'a>(c: &Context, m: &Measure<'a>, d: usize) -> Atoms<'a> {
    match *m {
        Measure::Density { grid, rho } => match c.orders.of(grid, c.dirs) {
            Some(order) => Atoms::Cells {
                order,
                masses: cell_masses(grid, rho),
            },
            None => {
                let (points, weights) = density_cloud(grid, rho);
                Atoms::Points {
                    d,
                    points: points.into(),
                    weights: weights.into(),
                }
            }
        },
        Measure::Neurons { theta, .. } => Atoms::Equal { d, points: theta },
    }
}

fn eval_sw2(c: &Context, a: &Side, b: &Side) -> Vec<f64> {
    let Some(d) = c.dirs.first().map(Vec::len) else {
        return vec![f64::NAN];
    };
    let (a, b) = (atoms(c, &a.measure, d), atoms(c, &b.measure, d));
    vec![sliced_w2_of(&a, &b, c.dirs)]
}

/// The distances between two sides at one time.
#[derive(Debug, Clone, Default)]
pub struct CompareRow {
    pub time: f64,
    /// The risk of side a (the PDE) and of side b (the particles).
    pub pde_risk: f64,
    pub particle_risk: f64,
    /// The values of each entry of [`DISTANCES`], in its order.
    values: Vec<Vec<f64>>,
}

impl CompareRow {
    /// Each distance with its values.
    pub fn named(&self) -> impl Iterator<Item = (&'static Distance, &[f64])> {
        DISTANCES.iter().zip(self.values.iter().map(Vec::as_slice))
    }

    /// The values of the distance named `key`.
    ///
    /// # Panics
    /// If no distance has that name.
    pub fn get(&self, key: &str) -> &[f64] {
        self.named()
            .find(|(d, _)| d.key == key)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no distance named {key}"))
    }

    /// Every value, per-axis distances expanded, in the order of
    /// [`metric_names`].
    pub fn flat(&self) -> Vec<f64> {
        self.values.concat()
    }
}

/// The metric names of [`CompareRow::flat`]: each distance's key, a
/// per-axis one as `<key>_<axis name>`.
pub fn metric_names(axis_names: &[String]) -> Vec<String> {
    DISTANCES
        .iter()
        .flat_map(|d| {
            if d.per_axis {
                axis_names
                    .iter()
                    .map(|n| format!("{}_{n}", d.key))
                    .collect()
            } else {
                vec![d.key.to_string()]
            }
        })
        .collect()
}

impl Record for CompareRow {
    fn group(&self) -> &'static str {
        "compare"
    }

    /// `time`, each distance of [`DISTANCES`] under its key (per axis
    /// [time, axis]), and both risks.
    fn vars(&self) -> Vec<Var<'_>> {
        const T: &[Dim] = &[Dim::Time];
        const PER_AXIS: &[Dim] = &[Dim::Time, Dim::Axis];
        let mut out = vec![Var::scalar(
            VarSpec::new("time", T, "mean-field time t"),
            self.time,
        )];
        for (i, d) in DISTANCES.iter().enumerate() {
            let dims = if d.per_axis { PER_AXIS } else { T };
            let v = self.values.get(i).map_or(&[][..], Vec::as_slice);
            out.push(Var::array(VarSpec::new(d.key, dims, d.long_name), v));
        }
        let s = |name, long_name, v| Var::scalar(VarSpec::new(name, T, long_name), v);
        out.push(s("pde_risk", "risk R_h of the PDE", self.pde_risk));
        out.push(s(
            "particle_risk",
            "risk R(μ^m) of the network",
            self.particle_risk,
        ));
        out
    }
}

/// The directions of the sliced W2 as `/compare`'s constant.
pub const DIRECTIONS: VarSpec = VarSpec::new(
    "directions",
    &[Dim::Direction, Dim::Axis],
    "unit directions of the sliced W2",
);

/// Every distance between side `a` (a density) and side `b` at time t.
pub fn compare(ctx: &Context, a: &Side, b: &Side, time: f64) -> CompareRow {
    CompareRow {
        time,
        pde_risk: a.risk,
        particle_risk: b.risk,
        values: DISTANCES.iter().map(|d| (d.eval)(ctx, a, b)).collect(),
    }
}

/// Receives the distances of each snapshot.
pub trait CompareObserver: Send {
    /// At each snapshot.
    fn row(&mut self, row: &CompareRow) -> Result<()>;
    /// When the run has reached its last snapshot.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Side a as a density with f and risk.
    fn density<'a>(grid: &'a Grid, rho: &'a [f64], f: &'a [f64], risk: f64) -> Side<'a> {
        Side {
            measure: Measure::Density { grid, rho },
            f_nodes: f,
            risk,
        }
    }

    #[test]
    fn the_table_names_every_value_once() {
        let names = metric_names(&["a".into(), "w1".into()]);
        assert_eq!(names, ["l1", "w1_a", "w1_w1", "sw2", "risk_gap", "f_gap"]);
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 1.0], vec![2, 2], vec![]);
        let rho = [1.0; 4];
        let theta = [0.25, 0.25, 0.75, 0.75];
        let hist = [2.0, 0.0, 0.0, 2.0];
        let ctx = Context {
            weights: &[1.0],
            dirs: &directions(2, 4),
            orders: &CellOrders::default(),
        };
        let b = Side {
            measure: Measure::Neurons {
                theta: &theta,
                hist: &hist,
                outside: 0.0,
            },
            f_nodes: &[0.5],
            risk: 0.25,
        };
        let row = compare(&ctx, &density(&g, &rho, &[1.0], 1.0), &b, 2.0);
        assert_eq!(row.flat().len(), names.len());
        assert_eq!(row.get("l1"), [1.0]);
        assert_eq!(row.get("risk_gap"), [0.75]);
        assert_eq!(row.get("f_gap"), [0.5]);
        assert_eq!(row.get("w1").len(), 2);
    }

    #[test]
    fn a_fine_density_constant_on_coarse_cells_has_no_grid_gap() {
        let gc = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![2, 3], vec![]);
        let gf = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![4, 6], vec![]);
        let rc = [0.1, 0.2, 0.3, 0.4, 0.5, 0.5];
        let mut rf = vec![0.0; 24];
        let mut idx = [0; 2];
        for (i, r) in rf.iter_mut().enumerate() {
            gf.unravel(i, &mut idx);
            *r = rc[(idx[0] / 2) * 3 + idx[1] / 2];
        }
        let w = [0.5, 0.5];
        let dirs = directions(2, 8);
        let ctx = Context {
            weights: &w,
            dirs: &dirs,
            orders: &CellOrders::default(),
        };
        let row = compare(
            &ctx,
            &density(&gc, &rc, &[1.0, 2.0], 0.3),
            &density(&gf, &rf, &[1.0, 1.0], 0.1),
            1.0,
        );
        assert!(
            row.get("l1")[0] < 1e-15 && row.get("w1").iter().all(|v| *v < 1e-15),
            "{row:?}"
        );
        // cell-centre atoms 2× finer: a positive, O(h) sliced W2
        let sw2 = row.get("sw2")[0];
        assert!(sw2 > 0.0 && sw2 < 0.5, "{sw2}");
        assert!((row.get("risk_gap")[0] - 0.2).abs() < 1e-15);
        assert!((row.get("f_gap")[0] - 0.5f64.sqrt()).abs() < 1e-15);
        // cells that do not nest: no L1
        let g6 = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![3, 4], vec![]);
        let row = compare(
            &ctx,
            &density(&gc, &rc, &[1.0, 2.0], 0.3),
            &density(&g6, &[1.0; 12], &[1.0, 1.0], 0.1),
            1.0,
        );
        assert!(row.get("l1")[0].is_nan());
    }
}
