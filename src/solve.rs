//! **The controller**: runs the time loop of the PDE from ρ0 to t_end, picks
//! Δt from the CFL number, lands exactly on every snapshot time, and hands
//! snapshots, the light history and every step to observers (HDF5 output is
//! one observer among others).

use crate::diagnostics::{self, Diagnostics};
use crate::error::Result;
use crate::scheme::Stepper;
use crate::setup::Setup;

/// One row of the light history, recorded every `history_every` steps.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryRecord {
    pub time: f64,
    pub risk: f64,
    pub free_energy: f64,
    pub mass: f64,
    pub dt: f64,
}

impl HistoryRecord {
    /// The row by its names in the files (`/pde/history/<name>`).
    pub fn series(&self) -> [(&'static str, f64); 5] {
        [
            ("time", self.time),
            ("risk", self.risk),
            ("free_energy", self.free_energy),
            ("mass", self.mass),
            ("dt", self.dt),
        ]
    }
}

/// Receives what the controller produces. Every method may fail (e.g. a
/// full disk); the run then stops with that error.
pub trait Observer {
    /// At each snapshot time, with the density there.
    fn snapshot(&mut self, diag: &Diagnostics, rho: &[f64]) -> Result<()>;
    /// Every `history_every` steps (and at snapshots).
    fn history(&mut self, _rec: &HistoryRecord) -> Result<()> {
        Ok(())
    }
    /// After every step, with the new time and density.
    fn step(&mut self, _t: f64, _dt: f64, _rho: &[f64]) -> Result<()> {
        Ok(())
    }
    /// When the run has reached t_end.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub steps: usize,
    pub first_dt: f64,
    pub last: Diagnostics,
    pub rho: Vec<f64>,
}

/// Plan the stepper of a setup.
pub fn make_stepper(setup: &Setup) -> Stepper {
    Stepper::new(&setup.model, &setup.grid, &setup.scheme)
}

/// Solve the PDE of `setup` from ρ0, reporting to `observers`.
pub fn solve(setup: &Setup, observers: &mut [&mut dyn Observer]) -> Result<RunSummary> {
    let mut stepper = make_stepper(setup);
    solve_with(setup, &mut stepper, setup.rho0(), observers)
}

/// Solve from a given density with a planned stepper.
pub fn solve_with(
    setup: &Setup,
    stepper: &mut Stepper,
    mut rho: Vec<f64>,
    observers: &mut [&mut dyn Observer],
) -> Result<RunSummary> {
    let grid = &setup.grid;
    let mut t = 0.0;
    let mut steps = 0usize;
    let mut first_dt = f64::NAN;
    let mut last = Diagnostics::default();
    let mut last_dt = 0.0;
    let history = |stepper: &mut Stepper, rho: &[f64], t: f64, dt: f64| {
        let (risk, _, free_energy) = diagnostics::energies(grid, stepper.velocity(), rho);
        HistoryRecord {
            time: t,
            risk,
            free_energy,
            mass: diagnostics::mass(grid, rho),
            dt,
        }
    };
    for &ts in &setup.snapshot_times {
        while t < ts {
            let mut dt = stepper.stable_dt(&rho);
            // land exactly on the snapshot; avoid a sliver of a last step
            let lands = t + dt >= ts;
            if lands {
                dt = ts - t;
            } else if t + 1.5 * dt > ts {
                dt = 0.5 * (ts - t);
            }
            stepper.step(&mut rho, dt);
            t = if lands { ts } else { t + dt };
            steps += 1;
            last_dt = dt;
            if first_dt.is_nan() {
                first_dt = dt;
            }
            for o in observers.iter_mut() {
                o.step(t, dt, &rho)?;
            }
            if steps.is_multiple_of(setup.scheme.history_every) && t < ts {
                let rec = history(stepper, &rho, t, dt);
                for o in observers.iter_mut() {
                    o.history(&rec)?;
                }
            }
        }
        last = diagnostics::compute(t, grid, stepper.velocity(), &rho, &setup.f_points);
        // the snapshot's diagnostics give its history row without recomputing
        let rec = HistoryRecord {
            time: t,
            risk: last.risk,
            free_energy: last.free_energy,
            mass: last.mass,
            dt: last_dt,
        };
        for o in observers.iter_mut() {
            o.history(&rec)?;
            o.snapshot(&last, &rho)?;
        }
    }
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(RunSummary {
        steps,
        first_dt,
        last,
        rho,
    })
}
