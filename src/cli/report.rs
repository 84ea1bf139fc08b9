//! The theorems report of `pde` and `run` (`--theorems`): planned before
//! the run, replayed over the stored snapshots of a resumed run, printed and
//! written at the end.

use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::io::hdf5::Reader;
use crate::output;
use crate::setup::Setup;
use crate::solve::Observer;
use crate::theorems::{Claim, Report};
use std::path::Path;

/// The theorems report of a run, when asked (for η > 0 the Gibbs state is
/// solved for first).
pub(super) fn theorems_report(setup: &Setup, asked: bool) -> Result<Option<Report>> {
    if !asked {
        return Ok(None);
    }
    let report = Report::new(&setup.model, &setup.grid, &setup.rho0())?;
    match &report.claim {
        Claim::Gibbs(st) => out!(
            "theorem 2 (η > 0): Gibbs state solved first, F* = {:.10e} ({} Newton iterations, stationarity {:.1e})",
            st.free_energy,
            st.iterations,
            st.stationarity
        ),
        Claim::GlobalMin { best_risk } => out!(
            "theorem 1 (η = 0): ρ0 is positive on {:.1} % of the cells (min/max {:.1e}); the minimum risk is {}",
            100.0 * report.support.0,
            report.support.1,
            best_risk.map_or("not known (not a teacher of the network's units, or λ > 0)".to_string(), |b| format!("{b} (a teacher the network represents)"))
        ),
    }
    Ok(Some(report))
}

/// Print the report's summary and write /theorems into `file`.
pub(super) fn finish_report(file: &Path, report: Option<&Report>) -> Result<()> {
    let Some(r) = report else {
        return Ok(());
    };
    let last = r.rows.last().cloned().unwrap_or_default();
    match (&r.claim, r.rate()) {
        (Claim::Gibbs(_), Some(_)) if r.levelled_off() => out!(
            "theorem 2: F − F* = {:.3e} at t = {}, levelled off (less than a factor e over the later snapshots): this scheme's stationary state is not ρ* (use solver.scheme = \"sg\" for long times); L1 to ρ* {:.3e}",
            last.gap,
            last.time,
            last.l1
        ),
        (Claim::Gibbs(_), Some(fit)) => out!(
            "theorem 2: F − F* = {:.3e} at t = {}, falling like exp(−κ t), κ = {:.4} ± {:.4}; L1 to ρ* {:.3e}",
            last.gap,
            last.time,
            fit.slope,
            fit.stderr,
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
    output::write_theorems(file, r)
}

/// Feed the report the first `k` snapshots stored in a resumed file.
pub(super) fn replay(
    report: Option<&mut Report>,
    file: &Path,
    setup: &Setup,
    k: usize,
) -> Result<()> {
    let Some(report) = report else {
        return Ok(());
    };
    let r = Reader::open(file)?;
    let series = |name: &str| r.series(&format!("pde/{name}"));
    let (time, risk, free) = (series("time")?, series("risk")?, series("free_energy")?);
    let rho = r.checked_fields("pde", "density", time.len(), setup.grid.len())?;
    for i in 0..k {
        let d = Diagnostics {
            time: time[i],
            risk: risk[i],
            free_energy: free[i],
            ..Diagnostics::default()
        };
        report.snapshot(&d, &rho[i])?;
    }
    Ok(())
}
