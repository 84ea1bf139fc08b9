//! **The flux registry**: the face flux `[solver]` names (`flux`, and
//! `limiter` for MUSCL), and the one place that turns it into a concrete
//! type for the sweeps ([`FluxKind::with`]: one monomorphised sweep per
//! flux).

use super::flux::{FaceFlux, Limiter, McSlope, MinmodSlope, Muscl, VanLeerSlope};
use super::upwind::Upwind;
use crate::error::{Error, Result};

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
            FluxKind::Muscl(Limiter::Minmod) => f.call(Muscl(MinmodSlope)),
            FluxKind::Muscl(Limiter::Mc) => f.call(Muscl(McSlope)),
            FluxKind::Muscl(Limiter::VanLeer) => f.call(Muscl(VanLeerSlope)),
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

    /// On linear data MUSCL takes the exact face value; at a wall (the wall
    /// cell repeated) the slope is 0.
    #[test]
    fn muscl_reconstructs_linear_data_exactly_and_is_flat_at_walls() {
        for lim in [Limiter::Minmod, Limiter::Mc, Limiter::VanLeer] {
            let s = [1.0, 2.0, 3.0, 4.0];
            FluxKind::Muscl(lim).with(Check(s));
        }
        struct Check([f64; 4]);
        impl FluxFn<()> for Check {
            fn call<F: FaceFlux>(self, f: F) {
                let s = self.0;
                assert_eq!(f.flux(2.0, s), 2.0 * 2.5);
                assert_eq!(f.flux(-2.0, s), -2.0 * 2.5);
                assert_eq!(f.flux(1.0, [2.0, 2.0, 3.0, 4.0]), 2.0);
                assert_eq!(f.flux(-1.0, [1.0, 2.0, 3.0, 3.0]), -3.0);
            }
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
