//! The factors of MUSCL's sweep along a stretched axis.

use crate::grid::Grid;

/// The factors of a stretched axis's sweep, per cell i: its width h_i, and the
/// weights of MUSCL's differences, min(1, h_i/δ) with δ the distance to the
/// neighbour's centre (1 toward a wall). The limited slope (times h_i) is
/// then limiter(Δ− w−, Δ+ w+): h_i times the gradient to O(h²) on a smooth
/// map, and the weights ≤ 1 keep a TVD limiter's face values in
/// [0, 2ρ_i], so ρ ≥ 0 holds at Σ_k |V_k| Δt / h_{k,i} ≤ ½ as on uniform
/// cells.
#[derive(Debug, Clone)]
pub(super) struct AxisFactors {
    /// The axis (its widths: flux differences are divided by them, as a
    /// multiplication by a rounded 1/h would bias every step's mass the
    /// same way).
    pub(super) stretch: std::sync::Arc<crate::grid::Stretch>,
    pub(super) dm: Vec<f64>,
    pub(super) dp: Vec<f64>,
}

impl AxisFactors {
    /// The cells' widths.
    pub(super) fn widths(&self) -> &[f64] {
        &self.stretch.widths
    }

    /// The width of cell i.
    #[inline(always)]
    pub(super) fn w(&self, i: usize) -> f64 {
        self.stretch.widths[i]
    }

    pub(super) fn new(grid: &Grid, k: usize) -> Option<Self> {
        let s = grid.stretch[k].as_ref()?;
        let (c, w, n) = (&s.centres, &s.widths, grid.n[k]);
        let weight = |i: usize, j: Option<usize>| match j {
            Some(j) => (w[i] / (c[i] - c[j]).abs()).min(1.0),
            None => 1.0,
        };
        Some(AxisFactors {
            stretch: std::sync::Arc::clone(s),
            dm: (0..n).map(|i| weight(i, i.checked_sub(1))).collect(),
            dp: (0..n)
                .map(|i| weight(i, (i + 1 < n).then_some(i + 1)))
                .collect(),
        })
    }
}
