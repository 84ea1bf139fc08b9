//! **Face fluxes** of the finite-volume advection: the one small function
//! through which a scheme's physics enters the sweep (as a Riemann solver
//! does in Clawpack). The sweep in [`super::advection`] hands a flux, for
//! each interior face, the face velocity and the four cells around it; the
//! flux returns ρV through that face.
//!
//! Adding a flux is one new file with a type implementing [`FaceFlux`] and
//! its name in the registry, [`super::fluxes::FluxKind`] (see
//! [`super::upwind`]).

use crate::error::{Error, Result};

/// A numerical flux through the face between cells i − 1 and i of a line,
/// from a reconstruction in each cell: the cell's average plus half its
/// slope toward the face. The sweep computes each cell's slope once, then
/// every face's flux branch-free (both sides, the upwind one selected).
pub trait FaceFlux: Copy + Send + Sync {
    /// Whether the reconstruction has slopes (false: first order, the
    /// sweeps skip them).
    const SLOPES: bool;

    /// The cell's slope (times h) from its backward and forward differences
    /// Δ− = ρ_i − ρ_{i−1}, Δ+ = ρ_{i+1} − ρ_i. At a wall the missing
    /// neighbour is the cell itself, so one difference is 0.
    fn slope(self, dm: f64, dp: f64) -> f64;

    /// The flux ρV through the face from the face velocity and the values
    /// the cells below (ρ_{i−1} + σ_{i−1}/2) and above (ρ_i − σ_i/2)
    /// reconstruct there: the upwind one times v.
    #[inline(always)]
    fn face(self, v: f64, below: f64, above: f64) -> f64 {
        v * if v > 0.0 { below } else { above }
    }

    /// The flux through the face from the face velocity `v` and the cells
    /// `s = [ρ_{i−2}, ρ_{i−1}, ρ_i, ρ_{i+1}]` (beyond a wall the wall cell
    /// is repeated): the sweeps' arithmetic, one face at a time.
    #[inline(always)]
    fn flux(self, v: f64, s: [f64; 4]) -> f64 {
        if !Self::SLOPES {
            return self.face(v, s[1], s[2]);
        }
        let below = s[1] + 0.5 * self.slope(s[1] - s[0], s[2] - s[1]);
        let above = s[2] - 0.5 * self.slope(s[2] - s[1], s[3] - s[2]);
        self.face(v, below, above)
    }
}

/// Slope limiters for the MUSCL reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// minmod(Δ−, Δ+): the most diffusive.
    Minmod,
    /// Monotonized central: minmod(2Δ−, (Δ− + Δ+)/2, 2Δ+), sharper.
    Mc,
    /// van Leer's harmonic limiter, the default (chosen by measurement:
    /// README, "Choosing a limiter").
    VanLeer,
}

impl Limiter {
    /// Parse `solver.limiter`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "minmod" => Ok(Limiter::Minmod),
            "mc" => Ok(Limiter::Mc),
            "van_leer" => Ok(Limiter::VanLeer),
            _ => Err(Error::problem(
                "solver.limiter",
                format!("{s:?}"),
                "one of minmod, mc, van_leer",
            )),
        }
    }

    /// The limited slope (times h) from backward and forward differences.
    #[inline(always)]
    pub fn slope(self, dm: f64, dp: f64) -> f64 {
        match self {
            Limiter::Minmod => Muscl(MinmodSlope).slope(dm, dp),
            Limiter::Mc => Muscl(McSlope).slope(dm, dp),
            Limiter::VanLeer => Muscl(VanLeerSlope).slope(dm, dp),
        }
    }
}

/// A slope limiter as a type (one monomorphised sweep per limiter), each
/// written branch-free: both candidates computed, one selected.
pub trait Slope: Copy + Send + Sync {
    /// The limited slope; 0 unless Δ− and Δ+ have the same strict sign.
    fn slope(self, dm: f64, dp: f64) -> f64;
}

/// minmod(Δ−, Δ+).
#[derive(Debug, Clone, Copy)]
pub struct MinmodSlope;

/// minmod(2Δ−, (Δ− + Δ+)/2, 2Δ+).
#[derive(Debug, Clone, Copy)]
pub struct McSlope;

/// 2 Δ− Δ+ / (Δ− + Δ+).
#[derive(Debug, Clone, Copy)]
pub struct VanLeerSlope;

impl Slope for MinmodSlope {
    #[inline(always)]
    fn slope(self, dm: f64, dp: f64) -> f64 {
        let m = if dm.abs() < dp.abs() { dm } else { dp };
        if dm * dp <= 0.0 {
            0.0
        } else {
            m
        }
    }
}

impl Slope for McSlope {
    #[inline(always)]
    fn slope(self, dm: f64, dp: f64) -> f64 {
        let c = 0.5 * (dm + dp);
        let m = (2.0 * dm.abs()).min(2.0 * dp.abs()).min(c.abs());
        let m = m.copysign(dm);
        if dm * dp <= 0.0 {
            0.0
        } else {
            m
        }
    }
}

impl Slope for VanLeerSlope {
    #[inline(always)]
    fn slope(self, dm: f64, dp: f64) -> f64 {
        // computed in every lane; where dm + dp = 0 it is not selected
        let v = 2.0 * dm * dp / (dm + dp);
        if dm * dp <= 0.0 {
            0.0
        } else {
            v
        }
    }
}

/// MUSCL: the upwind cell's linear reconstruction at the face, its slope
/// limited (zero in the cells at the walls), times V. Second order on smooth
/// data; with forward-Euler stages and Σ_k |V_k| Δt / h_k ≤ ½ every stage
/// keeps ρ ≥ 0 (a TVD limiter keeps face values in [0, 2ρ_i]).
#[derive(Debug, Clone, Copy)]
pub struct Muscl<L>(pub L);

impl<L: Slope> FaceFlux for Muscl<L> {
    const SLOPES: bool = true;

    #[inline(always)]
    fn slope(self, dm: f64, dp: f64) -> f64 {
        self.0.slope(dm, dp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiters_are_tvd() {
        for lim in [Limiter::Minmod, Limiter::Mc, Limiter::VanLeer] {
            for &(a, b) in &[(1.0, 2.0), (2.0, 1.0), (-1.0, 3.0), (-0.5, -4.0)] {
                let s: f64 = lim.slope(a, b);
                if a * b <= 0.0 {
                    assert_eq!(s, 0.0);
                } else {
                    assert!(s.abs() <= 2.0 * f64::min(a.abs(), b.abs()) + 1e-15);
                    assert!(s * a > 0.0);
                }
            }
        }
        assert_eq!(Limiter::Minmod.slope(1.0, 2.0), 1.0);
        assert_eq!(Limiter::Mc.slope(1.0, 2.0), 1.5);
    }
}
