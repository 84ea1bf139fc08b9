//! **First-order upwind flux**: the upwind cell's average times V. Positive
//! for Σ_k |V_k| Δt / h_k ≤ 1 with forward-Euler stages, first order in h,
//! and more diffusive than MUSCL; a reference for the sweep and for
//! schemes, chosen by `solver.flux = "upwind"`.

use super::flux::FaceFlux;

/// ρ_upwind V: ρ_{i−1} V when V > 0, else ρ_i V.
#[derive(Debug, Clone, Copy)]
pub struct Upwind;

impl FaceFlux for Upwind {
    const SLOPES: bool = false;

    #[inline(always)]
    fn slope(self, _dm: f64, _dp: f64) -> f64 {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_upwind_cell() {
        let s = [9.0, 2.0, 3.0, 9.0];
        assert_eq!(Upwind.flux(0.5, s), 1.0);
        assert_eq!(Upwind.flux(-0.5, s), -1.5);
        assert_eq!(Upwind.flux(0.0, s), 0.0);
    }
}
