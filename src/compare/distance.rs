//! The distances' building blocks: L1 of cell averages, exact W1 of
//! one-dimensional marginals (cells against cells or points), a density as
//! a weighted cloud, the L²(P) gap of two functions at the nodes.

use crate::grid::Grid;

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

/// The cells' masses ρ_i |C_i|.
pub fn cell_masses(grid: &Grid, rho: &[f64]) -> Vec<f64> {
    let vol = grid.cell_volume();
    let uniform = grid.is_uniform();
    rho.iter()
        .enumerate()
        .map(|(i, r)| r * if uniform { vol } else { grid.volume_at(i) })
        .collect()
}

/// The density as a weighted cloud: cell centres with masses ρ_i |C_i|.
pub fn density_cloud(grid: &Grid, rho: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = grid.dim();
    let mut pts = vec![0.0; rho.len() * d];
    for (flat, p) in pts.chunks_mut(d).enumerate() {
        grid.centre_of(flat, p);
    }
    (pts, cell_masses(grid, rho))
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
