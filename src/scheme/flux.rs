//! **Face fluxes** of the finite-volume advection: the one small function
//! through which a scheme's physics enters the sweep (as a Riemann solver
//! does in Clawpack). The sweep in [`super::advection`] hands a flux, for
//! each interior face, the face velocity and the four cells around it; the
//! flux returns ρV through that face.
//!
//! Adding a flux is one new file with a type implementing [`FaceFlux`] and
//! its name in [`FluxKind::parse`] (see [`super::upwind`]).

use super::upwind::Upwind;
use crate::error::{Error, Result};

/// A numerical flux through the face between cells i − 1 and i of a line.
pub trait FaceFlux: Copy + Send + Sync {
    /// The flux ρV through the face, from the face velocity `v` and the
    /// cells `s = [ρ_{i−2}, ρ_{i−1}, ρ_i, ρ_{i+1}]`; beyond a wall the wall
    /// cell is repeated (so one-sided differences there vanish).
    fn flux(self, v: f64, s: [f64; 4]) -> f64;
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
        if dm * dp <= 0.0 {
            return 0.0;
        }
        match self {
            Limiter::Minmod => {
                if dm.abs() < dp.abs() {
                    dm
                } else {
                    dp
                }
            }
            Limiter::Mc => {
                let c = 0.5 * (dm + dp);
                let m = (2.0 * dm.abs()).min(2.0 * dp.abs()).min(c.abs());
                m.copysign(dm)
            }
            Limiter::VanLeer => 2.0 * dm * dp / (dm + dp),
        }
    }
}

/// MUSCL: the upwind cell's linear reconstruction at the face, its slope
/// limited (zero in the cells at the walls), times V. Second order on smooth
/// data; with forward-Euler stages and Σ_k |V_k| Δt / h_k ≤ ½ every stage
/// keeps ρ ≥ 0 (a TVD limiter keeps face values in [0, 2ρ_i]).
#[derive(Debug, Clone, Copy)]
pub struct Muscl(pub Limiter);

impl FaceFlux for Muscl {
    #[inline(always)]
    fn flux(self, v: f64, s: [f64; 4]) -> f64 {
        let face = if v > 0.0 {
            s[1] + 0.5 * self.0.slope(s[1] - s[0], s[2] - s[1])
        } else {
            s[2] - 0.5 * self.0.slope(s[2] - s[1], s[3] - s[2])
        };
        v * face
    }
}

/// The face flux of `[solver]`: `flux` with, for MUSCL, its `limiter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FluxKind {
    Muscl(Limiter),
    Upwind,
}

impl FluxKind {
    /// Parse `solver.flux` (and `solver.limiter`, which MUSCL uses).
    pub fn parse(flux: &str, limiter: &str) -> Result<Self> {
        let limiter = Limiter::parse(limiter)?;
        match flux {
            "muscl" => Ok(FluxKind::Muscl(limiter)),
            "upwind" => Ok(FluxKind::Upwind),
            _ => Err(Error::problem(
                "solver.flux",
                format!("{flux:?}"),
                "one of muscl (second order, with solver.limiter), upwind (first order)",
            )),
        }
    }

    /// Call `f` with the flux as a concrete type (one monomorphised sweep
    /// per flux).
    #[inline]
    pub fn with<R>(self, f: impl FluxFn<R>) -> R {
        match self {
            FluxKind::Muscl(l) => f.call(Muscl(l)),
            FluxKind::Upwind => f.call(Upwind),
        }
    }
}

/// A computation generic over the face flux (see [`FluxKind::with`]).
pub trait FluxFn<R> {
    fn call<F: FaceFlux>(self, flux: F) -> R;
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

    /// On linear data MUSCL takes the exact face value; at a wall (the wall
    /// cell repeated) the slope is 0.
    #[test]
    fn muscl_reconstructs_linear_data_exactly_and_is_flat_at_walls() {
        for lim in [Limiter::Minmod, Limiter::Mc, Limiter::VanLeer] {
            let s = [1.0, 2.0, 3.0, 4.0];
            assert_eq!(Muscl(lim).flux(2.0, s), 2.0 * 2.5);
            assert_eq!(Muscl(lim).flux(-2.0, s), -2.0 * 2.5);
            assert_eq!(Muscl(lim).flux(1.0, [2.0, 2.0, 3.0, 4.0]), 2.0);
            assert_eq!(Muscl(lim).flux(-1.0, [1.0, 2.0, 3.0, 3.0]), -3.0);
        }
    }

    #[test]
    fn flux_names_are_parsed() {
        assert_eq!(
            FluxKind::parse("muscl", "mc").unwrap(),
            FluxKind::Muscl(Limiter::Mc)
        );
        assert_eq!(
            FluxKind::parse("upwind", "minmod").unwrap(),
            FluxKind::Upwind
        );
        let e = FluxKind::parse("weno", "minmod").unwrap_err();
        assert_eq!(e.field(), Some("solver.flux"));
    }
}
