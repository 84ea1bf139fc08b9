//! The sliced 2-Wasserstein distance (docs/model.md §5): the mean over
//! fixed directions u of W2²(u#μ, u#ν), each a one-dimensional transport
//! between the two sides' atoms sorted by their projections on u.
//!
//! A density's atoms are its cell centres, and they do not move: their
//! order along each direction is found once per grid ([`CellOrder`]) and
//! kept for every later comparison on that grid ([`CellOrders`], within
//! [`ORDER_BYTES`]). A snapshot then only gathers the cells' masses in that
//! order, and sorts the neurons' projections alone.

use crate::grid::Grid;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

/// `count` fixed unit directions in R^D (deterministic; D = 1: just +1).
pub fn directions(d: usize, count: usize) -> Vec<Vec<f64>> {
    if d == 1 {
        return vec![vec![1.0]];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x005e_edd1);
    (0..count)
        .map(|_| {
            let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        })
        .collect()
}

/// W2² between two weighted one-dimensional measures (values, weights),
/// each sorted by value in place; weights are normalised.
pub fn w2_squared_1d(a: &mut [(f64, f64)], b: &mut [(f64, f64)]) -> f64 {
    a.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    b.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    w2_squared_sorted(a, b)
}

/// W2² between two weighted one-dimensional measures (values, weights),
/// each already sorted by value; weights are normalised.
pub fn w2_squared_sorted(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    let ta: f64 = a.iter().map(|p| p.1).sum();
    let tb: f64 = b.iter().map(|p| p.1).sum();
    let (mut i, mut j) = (0, 0);
    let (mut ra, mut rb) = (a[0].1 / ta, b[0].1 / tb); // mass left in the current atoms
    let mut s = 0.0;
    while i < a.len() && j < b.len() {
        let t = ra.min(rb);
        s += t * (a[i].0 - b[j].0).powi(2);
        ra -= t;
        rb -= t;
        if ra <= 1e-15 {
            i += 1;
            if i < a.len() {
                ra += a[i].1 / ta;
            }
        }
        if rb <= 1e-15 {
            j += 1;
            if j < b.len() {
                rb += b[j].1 / tb;
            }
        }
    }
    s
}

/// u·x.
fn project(x: &[f64], u: &[f64]) -> f64 {
    x.iter().zip(u).map(|(a, b)| a * b).sum()
}

/// An integer whose order is `x`'s [`f64::total_cmp`] order: the sign bit
/// flipped for x ≥ +0, every bit for x ≤ −0.
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    b ^ ((((b as i64) >> 63) as u64) | (1 << 63))
}

/// The f64 of a [`key`].
fn value(k: u64) -> f64 {
    let b = if k >> 63 == 1 { k ^ (1 << 63) } else { !k };
    f64::from_bits(b)
}

/// Bytes of cell orders a [`CellOrders`] keeps at most (the quickstart's
/// 256² cells along 64 directions take 48 MiB); beyond them a density's
/// cell centres are sorted again at every comparison.
pub const ORDER_BYTES: usize = 64 << 20;

/// A grid's cell centres sorted along each direction: per direction, the
/// projections in increasing order (ties by cell index) and the flat cells
/// in that order.
#[derive(Debug)]
pub struct CellOrder {
    dirs: Vec<Vec<f64>>,
    projections: Vec<Vec<f64>>,
    cells: Vec<Vec<u32>>,
}

impl CellOrder {
    /// The order of `grid`'s cell centres along each of `dirs` (the
    /// directions in parallel).
    ///
    /// # Panics
    /// If the grid has 2³² cells or more.
    pub fn new(grid: &Grid, dirs: &[Vec<f64>]) -> Self {
        let d = grid.dim();
        let n = u32::try_from(grid.len()).expect("a grid of fewer than 2^32 cells");
        let mut centres = vec![0.0; grid.len() * d];
        for (flat, p) in centres.chunks_mut(d).enumerate() {
            grid.centre_of(flat, p);
        }
        let (projections, cells) = dirs
            .par_iter()
            .map(|u| {
                let mut by: Vec<(f64, u32)> = centres
                    .chunks(d)
                    .zip(0..n)
                    .map(|(x, i)| (project(x, u), i))
                    .collect();
                by.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                by.into_iter().unzip()
            })
            .unzip();
        CellOrder {
            dirs: dirs.to_vec(),
            projections,
            cells,
        }
    }

    /// Bytes of the order of `cells` cells along `dirs` directions.
    pub fn bytes(cells: usize, dirs: usize) -> usize {
        cells * dirs * (size_of::<f64>() + size_of::<u32>())
    }

    /// The atoms along direction `k` in order: (projection, mass), the
    /// cells of mass ≤ 0 left out.
    fn atoms(&self, k: usize, masses: &[f64]) -> Vec<(f64, f64)> {
        self.projections[k]
            .iter()
            .zip(&self.cells[k])
            .map(|(&p, &i)| (p, masses[i as usize]))
            .filter(|&(_, w)| w > 0.0)
            .collect()
    }
}

/// The cell orders of the grids a run compares on, found on first use and
/// kept while they fit in [`ORDER_BYTES`].
#[derive(Debug, Default)]
pub struct CellOrders(Mutex<Vec<(Grid, Arc<CellOrder>)>>);

impl CellOrders {
    /// `grid`'s order along `dirs`: the kept one, or found now; None when it
    /// would not fit beside the others kept.
    /// The order is found without the lock held (its directions run on
    /// rayon's threads, which may take other work meanwhile); of two
    /// callers that both found it, the first to keep it wins.
    pub fn of(&self, grid: &Grid, dirs: &[Vec<f64>]) -> Option<Arc<CellOrder>> {
        let kept = |orders: &[(Grid, Arc<CellOrder>)]| {
            let found = orders.iter().find(|(g, o)| g == grid && o.dirs == dirs);
            let used: usize = orders
                .iter()
                .map(|(g, o)| CellOrder::bytes(g.len(), o.dirs.len()))
                .sum();
            (found.map(|(_, o)| Arc::clone(o)), used)
        };
        let fits = |used: usize| used + CellOrder::bytes(grid.len(), dirs.len()) <= ORDER_BYTES;
        match kept(&self.0.lock().unwrap_or_else(PoisonError::into_inner)) {
            (Some(o), _) => return Some(o),
            (None, used) if !fits(used) => return None,
            (None, _) => {}
        }
        let o = Arc::new(CellOrder::new(grid, dirs));
        let mut orders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match kept(&orders) {
            (Some(first), _) => Some(first),
            (None, used) if fits(used) => {
                orders.push((grid.clone(), Arc::clone(&o)));
                Some(o)
            }
            (None, _) => Some(o),
        }
    }
}

/// One side of a sliced W2: a density's cells in their kept order with
/// their masses, points (n × D, row-major) of equal weight (neurons), or
/// points with weights.
#[derive(Debug)]
pub enum Atoms<'a> {
    Cells {
        order: Arc<CellOrder>,
        masses: Vec<f64>,
    },
    Equal {
        d: usize,
        points: &'a [f64],
    },
    Points {
        d: usize,
        points: Cow<'a, [f64]>,
        weights: Cow<'a, [f64]>,
    },
}

impl Atoms<'_> {
    /// The atoms projected on direction `k` (= `u`), sorted; weights ≤ 0
    /// left out.
    fn along(&self, k: usize, u: &[f64]) -> Vec<(f64, f64)> {
        match self {
            Atoms::Cells { order, masses } => order.atoms(k, masses),
            Atoms::Equal { d, points } => {
                // the projections sorted as integers of the same order (half
                // the time of a sort by f64::total_cmp)
                let mut keys: Vec<u64> = points.chunks(*d).map(|x| key(project(x, u))).collect();
                keys.sort_unstable();
                let w = 1.0 / keys.len() as f64;
                keys.into_iter().map(|k| (value(k), w)).collect()
            }
            Atoms::Points { d, points, weights } => {
                let mut v: Vec<(f64, f64)> = points
                    .chunks(*d)
                    .zip(weights.iter())
                    .filter(|(_, &w)| w > 0.0)
                    .map(|(x, &w)| (project(x, u), w))
                    .collect();
                v.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
                v
            }
        }
    }
}

/// Sliced W2 = (mean over directions u of W2²(u#μ, u#ν))^{1/2} between two
/// sides (the directions in parallel, summed in a fixed order).
pub fn sliced_w2_of(a: &Atoms, b: &Atoms, dirs: &[Vec<f64>]) -> f64 {
    let per_dir: Vec<f64> = dirs
        .par_iter()
        .enumerate()
        .map(|(k, u)| w2_squared_sorted(&a.along(k, u), &b.along(k, u)))
        .collect();
    let total: f64 = per_dir.iter().sum();
    (total / dirs.len() as f64).sqrt()
}

/// [`sliced_w2_of`] between two weighted clouds (points row-major n × D,
/// weights).
pub fn sliced_w2(
    d: usize,
    pa: &[f64],
    wa: &[f64],
    pb: &[f64],
    wb: &[f64],
    dirs: &[Vec<f64>],
) -> f64 {
    let points = |p, w| Atoms::Points {
        d,
        points: Cow::Borrowed(p),
        weights: Cow::Borrowed(w),
    };
    sliced_w2_of(&points(pa, wa), &points(pb, wb), dirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::distance::{cell_masses, density_cloud};

    #[test]
    fn sliced_w2_of_a_cloud_and_itself_is_zero_and_of_a_shift_is_its_length() {
        let pts: Vec<f64> = (0..300).map(|i| ((i * 37 % 101) as f64) / 50.0).collect();
        let w = vec![1.0; 150];
        let dirs = directions(2, 32);
        assert_eq!(sliced_w2(2, &pts, &w, &pts, &w, &dirs), 0.0);
        // a translation by s: W2 along u is |s·u|, so SW2² = mean (s·u)²
        let shifted: Vec<f64> = pts
            .chunks(2)
            .flat_map(|p| [p[0] + 0.3, p[1] - 0.4])
            .collect();
        let sw = sliced_w2(2, &pts, &w, &shifted, &w, &dirs);
        let want = (dirs
            .iter()
            .map(|u| (0.3 * u[0] - 0.4 * u[1]).powi(2))
            .sum::<f64>()
            / 32.0)
            .sqrt();
        assert!((sw - want).abs() < 1e-12, "{sw} vs {want}");
    }

    /// A density on `g` that is zero or negative on some cells.
    fn rho(g: &Grid) -> Vec<f64> {
        (0..g.len())
            .map(|i| match i % 7 {
                0 => 0.0,
                3 => -0.25,
                r => 0.5 + r as f64 * (i % 5) as f64,
            })
            .collect()
    }

    #[test]
    fn cells_in_their_kept_order_give_the_sliced_w2_of_the_cell_centres() {
        // uniform (many projections tie: cells of equal width in 2-D and
        // the direction (1, 0)) and stretched cells, against neurons
        let uniform = Grid::new(vec![-1.0, 0.0], vec![1.0, 3.0], vec![12, 10], vec![]);
        let edges = vec![0.0, 0.1, 0.3, 0.6, 1.0, 1.5, 2.0];
        let stretched =
            Grid::new(vec![0.0; 3], vec![2.0; 3], vec![6, 5, 4], vec![]).with_edges(0, edges);
        for g in [uniform, stretched] {
            let d = g.dim();
            let mut dirs = directions(d, 16);
            dirs[0] = (0..d).map(|k| f64::from(k == 0)).collect();
            let theta: Vec<f64> = (0..90 * d)
                .map(|i| ((i * 37 % 101) as f64) / 40.0 - 0.3)
                .collect();
            let r = rho(&g);
            let orders = CellOrders::default();
            let cells = || Atoms::Cells {
                order: orders.of(&g, &dirs).expect("a small grid's order is kept"),
                masses: cell_masses(&g, &r),
            };
            let neurons = Atoms::Equal { d, points: &theta };
            let (pts, w) = density_cloud(&g, &r);
            let cloud = Atoms::Points {
                d,
                points: pts.into(),
                weights: w.into(),
            };
            let weighted = Atoms::Points {
                d,
                points: theta[..].into(),
                weights: vec![1.0 / 90.0; 90].into(),
            };
            let want = sliced_w2_of(&cloud, &weighted, &dirs);
            // tied atoms may be met in another order: the merge's n + m
            // terms, each ≥ 0, then differ by round-off (≤ (n + m) ε of
            // the sum)
            let got = sliced_w2_of(&cells(), &neurons, &dirs);
            let n = g.len() + 90;
            assert!(
                (got - want).abs() <= n as f64 * f64::EPSILON * want,
                "{got} vs {want}"
            );
            assert!(want > 0.1, "{want}");
            // a density against itself: exactly 0, the kept order reused
            assert_eq!(sliced_w2_of(&cells(), &cells(), &dirs), 0.0);
        }
    }

    #[test]
    fn neurons_of_equal_weight_sort_as_weighted_points() {
        let theta = [
            0.5,
            -0.0,
            0.0,
            -1e-310,
            3.0,
            -2.0,
            0.5,
            0.0,
            f64::MIN_POSITIVE,
            1e300,
        ];
        let dirs = directions(2, 8);
        let equal = Atoms::Equal {
            d: 2,
            points: &theta,
        };
        let weighted = Atoms::Points {
            d: 2,
            points: theta[..].into(),
            weights: vec![0.2; 5].into(),
        };
        for (k, u) in dirs.iter().enumerate() {
            let (a, b) = (equal.along(k, u), weighted.along(k, u));
            let bits = |v: &[(f64, f64)]| -> Vec<(u64, u64)> {
                v.iter().map(|p| (p.0.to_bits(), p.1.to_bits())).collect()
            };
            assert_eq!(bits(&a), bits(&b));
        }
        // the keys keep f64::total_cmp's order and give back every bit
        let mut xs = [
            -f64::INFINITY,
            -1.5,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            2.0,
            f64::INFINITY,
        ];
        xs.reverse();
        let mut keys: Vec<u64> = xs.iter().map(|&x| key(x)).collect();
        keys.sort_unstable();
        let back: Vec<u64> = keys.into_iter().map(|k| value(k).to_bits()).collect();
        xs.sort_unstable_by(f64::total_cmp);
        assert_eq!(back, xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn a_grid_s_order_is_kept_once_and_only_within_its_bytes() {
        let dirs = directions(2, 64);
        let orders = CellOrders::default();
        let g = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![8, 8], vec![]);
        let first = orders.of(&g, &dirs).unwrap();
        assert!(Arc::ptr_eq(&first, &orders.of(&g, &dirs).unwrap()));
        // another grid or other directions: another order
        let g2 = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![8, 9], vec![]);
        assert!(!Arc::ptr_eq(&first, &orders.of(&g2, &dirs).unwrap()));
        assert!(!Arc::ptr_eq(&first, &orders.of(&g, &dirs[..8]).unwrap()));
        // asked for from rayon's threads at once: every caller gets the
        // same order, and one of them is kept
        let g3 = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![30, 31], vec![]);
        let all: Vec<Arc<CellOrder>> = (0..8)
            .into_par_iter()
            .map(|_| orders.of(&g3, &dirs).unwrap())
            .collect();
        let kept = orders.of(&g3, &dirs).unwrap();
        assert!(all
            .iter()
            .all(|o| o.cells == kept.cells && o.projections == kept.projections));
        assert!(all.iter().any(|o| Arc::ptr_eq(o, &kept)));
        // a grid whose order would pass ORDER_BYTES beside them: none
        let side = 1 + (ORDER_BYTES / CellOrder::bytes(1, 64)).isqrt();
        let big = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![side, side], vec![]);
        assert!(orders.of(&big, &dirs).is_none());
    }
}
