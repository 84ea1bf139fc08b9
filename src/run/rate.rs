//! **The theorems report's rate converged in Δt**: the PDE run again at
//! Δt/2 (every bound on the step halved), observed by a shadow of the
//! report, so that [`crate::theorems::Rate`] extrapolates κ to Δt → 0.

use super::Listener;
use crate::error::Result;
use crate::setup::Setup;
use crate::solve;
use crate::theorems::{Claim, Report};

/// Run `setup`'s PDE at half its steps into a shadow of `report` and hand
/// it the shadow's rows (η > 0 only: η = 0 has no rate).
///
/// # Errors
/// What the run at Δt/2 meets (a budget of steps, a density fault).
pub fn converge_in_dt(
    setup: &Setup,
    report: &mut Report,
    listener: &mut dyn Listener,
) -> Result<()> {
    if !matches!(report.claim, Claim::Gibbs(_)) {
        return Ok(());
    }
    let order = setup.scheme.time_order();
    listener.note(&format!(
        "theorem 2: the rate of F − F* converged in Δt: the PDE again at Δt/2 (solver.cfl = {}, solver.dt_max = {}), then extrapolated at order {order}",
        0.5 * setup.scheme.cfl,
        0.5 * setup.scheme.dt_max
    ));
    let half = Setup {
        scheme: setup.scheme.half_step(),
        ..setup.clone()
    };
    let mut shadow = report.shadow(&setup.model);
    solve::solve(&half, &mut [&mut shadow])?;
    report.set_half_step(shadow.rows, order);
    Ok(())
}
