//! **Does a grid hold a density?** The mass at each wall (the outermost
//! layer of cells on each side of each axis), the spread of ρ along each
//! axis, and the advice a warning gives with them: the box is too small
//! (mass at a wall while the cells resolve ρ) or too coarse (ρ narrower
//! than [`MIN_CELLS_PER_STD`] cells along an axis, so that one outer cell
//! reaches into its bulk, or the law fits in a cell or two).

use super::Grid;

/// The fewest cells per standard deviation along an axis at which a law
/// counts as resolved: at two, the cell averages of a Gaussian keep its
/// variance to h²/12 = 2 % and its shape to a few per cent; at one, a cell
/// spans the whole bulk.
pub const MIN_CELLS_PER_STD: f64 = 2.0;

/// The mass of each axis's layers of cells: `marginals[k][i]` is the mass
/// of the cells with index i along axis k (the marginal of ρ on that axis,
/// times the cell width).
pub fn marginals(grid: &Grid, rho: &[f64]) -> Vec<Vec<f64>> {
    assert_eq!(rho.len(), grid.len(), "density length matches the grid");
    let d = grid.dim();
    let vol = grid.cell_volume();
    let uniform = grid.is_uniform();
    let mut out: Vec<Vec<f64>> = grid.n.iter().map(|&n| vec![0.0; n]).collect();
    let mut idx = vec![0usize; d];
    for (flat, &r) in rho.iter().enumerate() {
        grid.unravel(flat, &mut idx);
        let m = r * if uniform { vol } else { grid.volume_of(&idx) };
        for (k, &i) in idx.iter().enumerate() {
            out[k][i] += m;
        }
    }
    out
}

/// The mass in the outermost layer at each wall, `[lo, hi]` per axis (a
/// corner cell counts at each of its walls); `open`: an axis whose lower
/// side is not a wall (r = 0 of a reduced problem), counted 0 there.
pub fn wall_masses(marginals: &[Vec<f64>], open: Option<usize>) -> Vec<[f64; 2]> {
    marginals
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let lo = if open == Some(k) { 0.0 } else { m[0] };
            [lo, m[m.len() - 1]]
        })
        .collect()
}

/// The mass in the outermost layer of cells, each cell once (as
/// `/pde/boundary_mass`); `open` as in [`wall_masses`].
pub fn boundary_mass(grid: &Grid, rho: &[f64], open: Option<usize>) -> f64 {
    assert_eq!(rho.len(), grid.len(), "density length matches the grid");
    let mut idx = vec![0usize; grid.dim()];
    let mut sum = 0.0;
    let uniform = grid.is_uniform();
    for (flat, &r) in rho.iter().enumerate() {
        grid.unravel(flat, &mut idx);
        if grid.on_boundary_but(&idx, open) {
            sum += if uniform { r } else { r * grid.volume_of(&idx) };
        }
    }
    if uniform {
        sum * grid.cell_volume()
    } else {
        sum
    }
}

/// The standard deviation of each axis's marginal, from the cell averages:
/// the centre sum's variance less the h²/12 a cell adds (docs/model.md §5),
/// floored at 0 (a law inside one cell has spread 0 here).
pub fn spreads(grid: &Grid, marginals: &[Vec<f64>]) -> Vec<f64> {
    marginals
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let mass: f64 = m.iter().sum();
            if mass <= 0.0 {
                return 0.0;
            }
            let c = |i: usize| grid.centre(k, i);
            let mean = m.iter().enumerate().map(|(i, w)| w * c(i)).sum::<f64>() / mass;
            let var = m
                .iter()
                .enumerate()
                .map(|(i, w)| w * (c(i) - mean).powi(2))
                .sum::<f64>()
                / mass;
            // what a cell adds: h²/12, each cell's own on a stretched axis
            let cell = match &grid.stretch[k] {
                None => grid.h[k] * grid.h[k] / 12.0,
                Some(s) => {
                    let v: f64 = m.iter().zip(&s.widths).map(|(m, h)| m * h * h).sum();
                    v / (12.0 * mass)
                }
            };
            (var - cell).max(0.0).sqrt()
        })
        .collect()
}

/// The axes along which a law of standard deviations `spreads` spans fewer
/// than [`MIN_CELLS_PER_STD`] cells, each with what to do, naming the key:
/// "ρ0's standard deviation along p1 is … (0.05 cells …): refine
/// grid.cells[1] to at least …". `what` names the law. On a stretched axis
/// the finest cells are the measure (a map puts them where the law is).
pub fn unresolved(grid: &Grid, spreads: &[f64], what: &str) -> Vec<String> {
    (0..grid.dim())
        .filter(|&k| spreads[k] < MIN_CELLS_PER_STD * grid.min_width(k))
        .map(|k| {
            let (s, h) = (spreads[k], grid.min_width(k));
            let need = (MIN_CELLS_PER_STD * (grid.hi[k] - grid.lo[k]) / s).ceil();
            let name = &grid.names[k];
            let refine = if grid.stretch[k].is_some() {
                format!("refine grid.cells[{k}] or narrow the finest cells of [grid.map.{name}]")
            } else if need.is_finite() && need <= super::MAX_AXIS_CELLS as f64 {
                format!("refine grid.cells[{k}] to at least {need}, narrow grid.lo[{k}]..grid.hi[{k}], or stretch the axis ([grid.map.{name}] kind = \"sinh\", fine where the law is)")
            } else {
                format!(
                    "it would need {need:.0} uniform cells on this box, more than the {} an axis may have: stretch the axis ([grid.map.{name}] kind = \"sinh\", fine where the law is) or narrow grid.lo[{k}]..grid.hi[{k}]",
                    super::MAX_AXIS_CELLS
                )
            };
            format!(
                "{what}'s standard deviation along {name} is {s:.3e}, {cells:.2} cells of width {h:.3e} (fewer than {MIN_CELLS_PER_STD}): the grid cannot resolve it, and what depends on its shape there (its moments, the early dynamics) is the grid's, not the law's; {refine}",
                cells = s / h,
            )
        })
        .collect()
}

/// Which wall holds the most mass, and why: too small a box (the law is
/// resolved there: widen that side) or too coarse a grid (the law spans
/// fewer than [`MIN_CELLS_PER_STD`] cells along that axis: refine it).
pub fn wall_advice(grid: &Grid, walls: &[[f64; 2]], spreads: &[f64]) -> String {
    let (mut k, mut side) = (0, 0);
    for (a, w) in walls.iter().enumerate() {
        for (s, &mass) in w.iter().enumerate() {
            if mass > walls[k][side] {
                (k, side) = (a, s);
            }
        }
    }
    let name = &grid.names[k];
    let (key, at) = match side {
        0 => ("lo", grid.lo[k]),
        _ => ("hi", grid.hi[k]),
    };
    let mass = walls[k][side];
    if spreads[k] < MIN_CELLS_PER_STD * grid.min_width(k) {
        format!(
            "the grid is too coarse along {name}: the most mass, {mass:.2e}, is in the outer cells at grid.{key}[{k}] = {at}, and ρ's standard deviation there, {s:.3e}, spans {c:.2} cells; refine grid.cells[{k}]",
            s = spreads[k],
            c = spreads[k] / grid.min_width(k)
        )
    } else {
        let dir = if side == 0 { "lower" } else { "raise" };
        format!(
            "the box is too small along {name}: the most mass, {mass:.2e}, is in the outer cells at grid.{key}[{k}] = {at}; {dir} grid.{key}[{k}]"
        )
    }
}

/// The advice for a density whose outermost cells hold too much mass: the
/// wall, and whether the box is too small or too coarse there.
pub fn boundary_advice(grid: &Grid, rho: &[f64], open: Option<usize>) -> String {
    let m = marginals(grid, rho);
    wall_advice(grid, &wall_masses(&m, open), &spreads(grid, &m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Grid {
        Grid::new(
            vec![-4.0, -4.0],
            vec![4.0, 4.0],
            vec![n, n],
            vec!["a".into(), "w1".into()],
        )
    }

    fn gaussian(g: &Grid, m: [f64; 2], s: [f64; 2]) -> Vec<f64> {
        let law = crate::initial::InitialLaw::Gaussian(crate::initial::Gaussian {
            mean: m.to_vec(),
            std: s.to_vec(),
        });
        law.cell_averages(g).0
    }

    #[test]
    fn marginals_sum_to_the_mass_and_spreads_are_the_laws() {
        let g = grid(256);
        // 7σ inside the box: the truncation is e^{-49/2}, far below the rest
        let rho = gaussian(&g, [0.5, -1.0], [0.5, 0.4]);
        let m = marginals(&g, &rho);
        for mk in &m {
            assert!((mk.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // the h²/12 correction makes the centre variance the law's to O(h⁴):
        // h = 1/32, h⁴/σ³ = 1.5e-5 at σ = 0.4
        let s = spreads(&g, &m);
        let h4 = g.h[0].powi(4);
        assert!((s[0] - 0.5).abs() < h4 / 0.5f64.powi(3), "{}", s[0]);
        assert!((s[1] - 0.4).abs() < h4 / 0.4f64.powi(3), "{}", s[1]);
    }

    #[test]
    fn advice_names_the_wall_and_the_cause() {
        // resolved, pushed against w1's upper wall: too small, raise hi[1]
        let g = grid(128);
        let rho = gaussian(&g, [0.0, 3.5], [0.5, 0.5]);
        let text = boundary_advice(&g, &rho, None);
        assert!(text.contains("too small along w1"), "{text}");
        assert!(text.contains("raise grid.hi[1]"), "{text}");
        // 4 cells of width 2 for a law of std 0.5: too coarse along both;
        // the wall with the most mass is named
        let g = grid(4);
        let rho = gaussian(&g, [-1.0, 0.0], [0.5, 0.5]);
        let text = boundary_advice(&g, &rho, None);
        assert!(text.contains("too coarse along a"), "{text}");
        assert!(text.contains("grid.lo[0]"), "{text}");
    }

    #[test]
    fn unresolved_fires_below_two_cells_only() {
        let g = grid(64); // h = 0.125
        assert!(unresolved(&g, &[0.25, 0.26], "ρ0").is_empty());
        let w = unresolved(&g, &[0.3, 0.1], "ρ0");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("along w1") && w[0].contains("grid.cells[1]"),
            "{}",
            w[0]
        );
        assert!(w[0].contains("at least 160"), "{}", w[0]);
    }
}
