//! The distances' building blocks: L1 of cell averages, exact W1 of
//! one-dimensional marginals (cells against cells or points), sliced W2 of
//! weighted clouds, the L²(P) gap of two functions at the nodes.

use crate::grid::Grid;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// L1 = Σ_i |ρ_i − H_i| |C| + (fraction of particles outside the box).
pub fn l1(grid: &Grid, rho: &[f64], hist: &[f64], outside: f64) -> f64 {
    if !grid.is_uniform() {
        let s: f64 = (rho.iter().zip(hist).enumerate())
            .map(|(i, (a, b))| (a - b).abs() * grid.volume_at(i))
            .sum();
        return s + outside;
    }
    let s: f64 = rho.iter().zip(hist).map(|(a, b)| (a - b).abs()).sum();
    s * grid.cell_volume() + outside
}

/// Cell masses of the marginal of ρ on axis k (Σ over the other axes of ρ_i |C|).
pub fn marginal(grid: &Grid, rho: &[f64], k: usize) -> Vec<f64> {
    let (n, s) = (grid.n[k], grid.strides[k]);
    let vol = grid.cell_volume();
    let mut out = vec![0.0; n];
    let uniform = grid.is_uniform();
    for (flat, r) in rho.iter().enumerate() {
        out[(flat / s) % n] += r * if uniform { vol } else { grid.volume_at(flat) };
    }
    out
}

/// ∫_u^v |F(x) − g| dx for F linear from `fu` at u to `fv` at v.
fn abs_linear(u: f64, v: f64, fu: f64, fv: f64, g: f64) -> f64 {
    let (a, b) = (fu - g, fv - g);
    let w = v - u;
    if a * b >= 0.0 {
        0.5 * (a.abs() + b.abs()) * w
    } else {
        // the line crosses g: two triangles
        0.5 * (a * a + b * b) / (a.abs() + b.abs()) * w
    }
}

/// The CDF of a piecewise-uniform measure (cell masses on uniform edges),
/// normalised to total mass 1: linear between edges.
struct CellCdf<'a> {
    edges: &'a [f64],
    cdf: Vec<f64>,
}

impl<'a> CellCdf<'a> {
    fn new(edges: &'a [f64], masses: &[f64]) -> Self {
        let total: f64 = masses.iter().sum();
        let mut cdf = Vec::with_capacity(edges.len());
        let mut acc = 0.0;
        cdf.push(0.0);
        for p in masses {
            acc += p / total;
            cdf.push(acc);
        }
        CellCdf { edges, cdf }
    }

    fn at(&self, x: f64) -> f64 {
        let e = self.edges;
        if x <= e[0] {
            return 0.0;
        }
        if x >= e[e.len() - 1] {
            return 1.0;
        }
        let h = e[1] - e[0];
        let i = (((x - e[0]) / h) as usize).min(e.len() - 2);
        let c = &self.cdf;
        c[i] + (c[i + 1] - c[i]) * (x - e[i]) / (e[i + 1] - e[i])
    }
}

/// Exact W1 = ∫ |F_a − F_b| dx between two piecewise-uniform measures (cell
/// masses on their own uniform edges, each normalised): both CDFs are linear
/// between consecutive points of the merged edges.
pub fn w1_cells(ea: &[f64], ma: &[f64], eb: &[f64], mb: &[f64]) -> f64 {
    let (fa, fb) = (CellCdf::new(ea, ma), CellCdf::new(eb, mb));
    let mut bp: Vec<f64> = ea.iter().chain(eb).copied().collect();
    bp.sort_unstable_by(f64::total_cmp);
    bp.windows(2)
        .filter(|p| p[1] > p[0])
        .map(|p| {
            let (u, v) = (p[0], p[1]);
            abs_linear(u, v, fa.at(u) - fb.at(u), fa.at(v) - fb.at(v), 0.0)
        })
        .sum()
}

/// Exact W1 = ∫ |F_ρ − F_m| dx between the piecewise-uniform measure with
/// cell masses `masses` on `edges` (total normalised to 1) and the empirical
/// measure of `points` (sorted in place).
pub fn w1_marginal(edges: &[f64], masses: &[f64], points: &mut [f64]) -> f64 {
    points.sort_unstable_by(f64::total_cmp);
    let m = points.len() as f64;
    let f_rho = CellCdf::new(edges, masses);
    // breakpoints: every edge and every particle, merged
    let mut bp: Vec<f64> = edges.iter().chain(points.iter()).copied().collect();
    bp.sort_unstable_by(f64::total_cmp);
    let mut below = 0usize; // particles ≤ current left breakpoint
    let mut w = 0.0;
    for pair in bp.windows(2) {
        let (u, v) = (pair[0], pair[1]);
        while below < points.len() && points[below] <= u {
            below += 1;
        }
        if v > u {
            w += abs_linear(u, v, f_rho.at(u), f_rho.at(v), below as f64 / m);
        }
    }
    w
}

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

/// Sliced W2 = (mean over directions u of W2²(u#μ, u#ν))^{1/2} between two
/// weighted clouds (points row-major n × D, weights).
pub fn sliced_w2(
    d: usize,
    pa: &[f64],
    wa: &[f64],
    pb: &[f64],
    wb: &[f64],
    dirs: &[Vec<f64>],
) -> f64 {
    let project = |p: &[f64], w: &[f64], u: &[f64]| -> Vec<(f64, f64)> {
        p.chunks(d)
            .zip(w)
            .filter(|(_, &w)| w > 0.0)
            .map(|(x, &w)| (x.iter().zip(u).map(|(a, b)| a * b).sum(), w))
            .collect()
    };
    // directions in parallel, summed in a fixed order
    let per_dir: Vec<f64> = dirs
        .par_iter()
        .map(|u| w2_squared_1d(&mut project(pa, wa, u), &mut project(pb, wb, u)))
        .collect();
    let total: f64 = per_dir.iter().sum();
    (total / dirs.len() as f64).sqrt()
}

/// The density as a weighted cloud: cell centres with masses ρ_i |C|.
pub fn density_cloud(grid: &Grid, rho: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = grid.dim();
    let mut pts = vec![0.0; rho.len() * d];
    for (flat, p) in pts.chunks_mut(d).enumerate() {
        grid.centre_of(flat, p);
    }
    let vol = grid.cell_volume();
    let uniform = grid.is_uniform();
    let masses = rho.iter().enumerate();
    (
        pts,
        masses
            .map(|(i, r)| r * if uniform { vol } else { grid.volume_at(i) })
            .collect(),
    )
}

/// ‖f − g‖_{L²(P)} with the quadrature weights ω_q.
pub fn l2_gap(weights: &[f64], f: &[f64], g: &[f64]) -> f64 {
    weights
        .iter()
        .zip(f.iter().zip(g))
        .map(|(w, (a, b))| w * (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w1_between_shifted_uniforms_is_the_shift() {
        // ρ uniform on [0, 1] (10 cells), particles ≈ uniform on [0.3, 1.3]
        let edges: Vec<f64> = (0..=10).map(|i| i as f64 * 0.1).collect();
        let masses = vec![0.1; 10];
        let m = 100_000;
        let mut pts: Vec<f64> = (0..m).map(|j| 0.3 + (j as f64 + 0.5) / m as f64).collect();
        let w = w1_marginal(&edges, &masses, &mut pts);
        assert!((w - 0.3).abs() < 1e-5, "{w}");
        // and against itself (midpoints of a fine grid) ≈ 0
        let mut same: Vec<f64> = (0..m).map(|j| (j as f64 + 0.5) / m as f64).collect();
        assert!(w1_marginal(&edges, &masses, &mut same) < 1e-5);
    }

    #[test]
    fn w1_of_a_point_mass_against_a_cell() {
        // one particle at 0 against uniform on [0, 1]: W1 = ∫ (1 − x) dx... = 1/2
        let w = w1_marginal(&[0.0, 1.0], &[1.0], &mut [0.0]);
        assert!((w - 0.5).abs() < 1e-15);
        let w = w1_marginal(&[0.0, 1.0], &[1.0], &mut [3.0]);
        assert!((w - 2.5).abs() < 1e-15);
    }

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

    #[test]
    fn l1_between_disjoint_densities_is_two() {
        let g = Grid::new(vec![0.0], vec![1.0], vec![4], vec![]);
        let rho = [2.0, 2.0, 0.0, 0.0];
        let hist = [0.0, 0.0, 2.0, 2.0];
        assert!((l1(&g, &rho, &hist, 0.0) - 2.0).abs() < 1e-15);
        // half the particles outside: the missing mass counts
        assert!((l1(&g, &rho, &[0.0, 0.0, 1.0, 1.0], 0.5) - 2.0).abs() < 1e-15);
        assert_eq!(marginal(&g, &rho, 0), vec![0.5, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn w1_between_cell_measures_is_exact() {
        let grid = |lo: f64, hi: f64, n: usize| -> Vec<f64> {
            (0..=n)
                .map(|i| lo + (hi - lo) * i as f64 / n as f64)
                .collect()
        };
        // U[0, 1] on 4 cells against U[0, 2] on 8: ∫|x − x/2| + ∫|1 − x/2| = 1/2
        let w = w1_cells(
            &grid(0.0, 1.0, 4),
            &[0.25; 4],
            &grid(0.0, 2.0, 8),
            &[0.125; 8],
        );
        assert!((w - 0.5).abs() < 1e-15, "{w}");
        // the same measure on 4 and 8 cells
        let w = w1_cells(&grid(0.0, 1.0, 4), &[1.0; 4], &grid(0.0, 1.0, 8), &[1.0; 8]);
        assert!(w < 1e-15, "{w}");
        // a shift by 0.25
        let w = w1_cells(
            &grid(0.0, 1.0, 4),
            &[1.0; 4],
            &grid(0.25, 1.25, 4),
            &[1.0; 4],
        );
        assert!((w - 0.25).abs() < 1e-15, "{w}");
    }
}
