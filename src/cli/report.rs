//! What `pde` and `run` print of the theorems report (`--theorems`).

use crate::theorems::{Claim, Report};

/// Print the report's summary.
pub(super) fn print_report(r: &Report) {
    let last = r.rows.last().cloned().unwrap_or_default();
    match (&r.claim, r.rate()) {
        (Claim::Gibbs(_), Some(_)) if r.levelled_off() => out!(
            "theorem 2: F − F* = {:.3e} at t = {}, levelled off (less than a factor e over the later snapshots): this scheme's stationary state is not ρ* (use solver.scheme = \"sg\" for long times); L1 to ρ* {:.3e}",
            last.gap,
            last.time,
            last.l1
        ),
        (Claim::Gibbs(_), Some(rate)) => out!(
            "theorem 2: F − F* = {:.3e} at t = {}, falling like exp(−κ t), κ = {:.4} ± {:.4} ({}); L1 to ρ* {:.3e}",
            last.gap,
            last.time,
            rate.value,
            rate.uncertainty,
            match rate.at_half_dt {
                Some((h, p)) => format!(
                    "converged in Δt: {:.4} at the run's Δt, {:.4} at Δt/2, extrapolated at order {p}",
                    rate.at_dt.slope, h.slope
                ),
                None => "the fit at the run's steps alone: its Δt error is not in the ±".into(),
            },
            last.l1
        ),
        (Claim::Gibbs(_), None) => out!(
            "theorem 2: F − F* = {:.3e} at t = {} (too few snapshots above round-off for a rate); L1 to ρ* {:.3e}",
            last.gap,
            last.time,
            last.l1
        ),
        (Claim::GlobalMin { .. }, _) => out!(
            "theorem 1: R = {:.3e} at t = {} (R(ρ0) = {:.3e}); dissipation ∫|∇Ψ|²ρ = {:.3e}",
            last.risk,
            last.time,
            r.rows.first().map_or(f64::NAN, |f| f.risk),
            last.stationarity
        ),
    }
}
