//! **The controller**: runs the time loop of the PDE from ρ0 to t_end, picks
//! Δt from the CFL number, lands exactly on every snapshot time, and hands
//! snapshots, the light history and every step to observers (HDF5 output is
//! one observer among others).

use crate::diagnostics::{self, Diagnostics};
use crate::error::{Error, Result};
use crate::io::store::{Dim, Parts, Record, Var, VarSpec};
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
    /// A snapshot's row, from its diagnostics (nothing recomputed) and the
    /// step that reached it.
    pub fn of(last: &Diagnostics, dt: f64) -> Self {
        HistoryRecord {
            time: last.time,
            risk: last.risk,
            free_energy: last.free_energy,
            mass: last.mass,
            dt,
        }
    }
}

impl Record for HistoryRecord {
    /// The light history is a group of its own (`/history`): its rows have
    /// their own times, which a child of `/pde` could not have beside the
    /// snapshots' `time` coordinate (xarray's groups inherit coordinates).
    fn group(&self) -> &'static str {
        "history"
    }

    fn vars(&self) -> Vec<Var<'_>> {
        const T: &[Dim] = &[Dim::Time];
        let s = |name, long_name, v| Var::scalar(VarSpec::new(name, T, long_name), v);
        vec![
            s("time", "mean-field time t", self.time),
            s("risk", "risk R_h", self.risk),
            s("free_energy", "free energy F_η", self.free_energy),
            s("mass", "mass M", self.mass),
            s("dt", "the step Δt that reached this row", self.dt),
        ]
    }
}

/// Receives what the controller produces. Every method may fail (e.g. a
/// full disk); the run then stops with that error.
pub trait Observer: Send {
    /// At each snapshot time, with the density there.
    fn snapshot(&mut self, diag: &Diagnostics, rho: &[f64]) -> Result<()>;
    /// Whether this observer takes a snapshot's density in parts
    /// ([`Observer::snapshot_parts`]): a run split over ranks whose
    /// observers all do never gathers its density whole.
    fn takes_parts(&self) -> bool {
        false
    }
    /// At each snapshot time, with the density in parts (rows of a, in
    /// order: each rank's slab). By default they are joined and given to
    /// [`Observer::snapshot`].
    fn snapshot_parts(&mut self, diag: &Diagnostics, rho: &mut dyn Parts) -> Result<()> {
        let whole = rho.gather()?;
        self.snapshot(diag, &whole)
    }
    /// Every `history_every` steps (and at snapshots).
    fn history(&mut self, _rec: &HistoryRecord) -> Result<()> {
        Ok(())
    }
    /// After every step, with the new time and the density as the scheme
    /// holds it: with Strang splitting of the exact diffusion the step's
    /// trailing half diffusion is deferred to the next step (merged with
    /// its leading half; see [`Stepper::defer_diffusion`]) and applied at
    /// snapshots, so this is the density before it (mass and positivity
    /// hold for it as for the complete one). Empty in a run split over
    /// ranks, which gathers ρ for history rows and snapshots only.
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
    /// The final ρ (empty from a run split over ranks whose snapshots
    /// went to rank 0 in slabs).
    pub rho: Vec<f64>,
    /// The largest boundary mass of the snapshots (warned about above
    /// [`BOUNDARY_WARNING`]).
    pub max_boundary_mass: f64,
}

/// Plan the stepper of a setup.
pub fn make_stepper(setup: &Setup) -> Stepper {
    Stepper::new(&setup.model, &setup.grid, &setup.scheme)
}

/// Steps below this fraction of t_end stop the run: a Δt that small means
/// a velocity the grid cannot follow (weight decay, data or a teacher at an
/// extreme scale), and the run would not end.
pub const DT_FLOOR: f64 = 1e-9;

/// A snapshot whose outermost layer of cells holds more than this share of
/// the mass is warned about (once): the no-flux walls distort the solution.
pub const BOUNDARY_WARNING: f64 = 1e-3;

/// Where a run is: what continues it exactly (the next steps depend on ρ
/// and t alone, the history's rows on the step count).
#[derive(Debug, Clone)]
pub struct RunState {
    pub rho: Vec<f64>,
    pub t: f64,
    /// Steps taken.
    pub steps: usize,
    /// Index of the next snapshot time.
    pub next_snapshot: usize,
}

impl RunState {
    /// The start: ρ0 at t = 0.
    pub fn start(rho0: Vec<f64>) -> Self {
        RunState {
            rho: rho0,
            t: 0.0,
            steps: 0,
            next_snapshot: 0,
        }
    }
}

/// Solve the PDE of `setup` from ρ0, reporting to `observers`.
pub fn solve(setup: &Setup, observers: &mut [&mut dyn Observer]) -> Result<RunSummary> {
    let mut stepper = make_stepper(setup);
    solve_from(
        setup,
        &mut stepper,
        RunState::start(setup.rho0()),
        observers,
    )
}

/// A fault of a density: NaN or ±∞ anywhere, or a value below −1e-8 of
/// its largest (more than round-off; with crank_nicolson diffusion, which
/// may be negative by design, only the first).
pub fn density_fault(rho: &[f64], allow_negative: bool) -> Option<String> {
    fault_of(density_extremes(rho), allow_negative)
}

/// How many values of ρ are not finite, its least and its largest (what
/// [`density_fault`] looks at; a split grid combines its slabs').
pub fn density_extremes(rho: &[f64]) -> (usize, f64, f64) {
    crate::sum::fixed_fold(
        rho,
        || (0usize, f64::INFINITY, f64::NEG_INFINITY),
        |(n, lo, hi), _, &r| (n + usize::from(!r.is_finite()), lo.min(r), hi.max(r)),
        |a, b| (a.0 + b.0, a.1.min(b.1), a.2.max(b.2)),
    )
}

/// [`density_fault`] of a density of [`density_extremes`] `(bad, lo, hi)`.
pub fn fault_of((bad, lo, hi): (usize, f64, f64), allow_negative: bool) -> Option<String> {
    if bad > 0 {
        return Some(format!("the density has {bad} NaN or infinite values"));
    }
    if !allow_negative && lo < -1e-8 * hi.max(0.0) {
        return Some(format!(
            "the density went negative (min {lo:.3e}, max {hi:.3e}): solver.cfl ≤ 0.5 keeps it positive"
        ));
    }
    None
}

/// Where a run is at a snapshot: its time, the steps taken, the last Δt.
#[derive(Debug, Clone, Copy)]
pub struct Reached {
    pub t: f64,
    pub steps: usize,
    pub last_dt: f64,
}

/// A snapshot of ρ (the whole grid's) reached `at`: its diagnostics (`vel`
/// re-evaluated at ρ), checked finite, the boundary warned about, its
/// history row and the snapshot handed to `observers`.
///
/// # Errors
/// A diagnostic not finite, or an observer's.
pub fn snapshot(
    setup: &Setup,
    at: Reached,
    vel: &mut crate::velocity::Velocity,
    rho: &[f64],
    max_boundary: &mut f64,
    observers: &mut [&mut dyn Observer],
) -> Result<Diagnostics> {
    let Reached { t, steps, last_dt } = at;
    let mut last = diagnostics::compute(t, &setup.grid, vel, rho, &setup.f_points);
    last.steps = steps;
    refuse_faults(&last, steps)?;
    warn_boundary(setup, &last, rho, *max_boundary);
    *max_boundary = max_boundary.max(last.boundary_mass);
    let rec = HistoryRecord::of(&last, last_dt);
    for o in observers.iter_mut() {
        o.history(&rec)?;
        o.snapshot(&last, rho)?;
    }
    Ok(last)
}

/// Stop at a snapshot (`last`, after `steps` steps) whose diagnostics are
/// not all finite.
///
/// # Errors
/// [`Error::Run`] naming the first that is not.
pub fn refuse_faults(last: &Diagnostics, steps: usize) -> Result<()> {
    match last.fault() {
        Some(what) => Err(Error::Run(format!(
            "at t = {}, step {steps}: {what}, not finite (the target's or the data's scale overflows the diagnostics)",
            last.time
        ))),
        None => Ok(()),
    }
}

/// Warn (once: `max_boundary` is the largest boundary mass of the run's
/// earlier snapshots) when a snapshot's outermost cells hold more than
/// [`BOUNDARY_WARNING`] of the mass.
pub fn warn_boundary(setup: &Setup, last: &Diagnostics, rho: &[f64], max_boundary: f64) {
    if warns(last, max_boundary) {
        let grid = &setup.grid;
        let open = diagnostics::open_side(grid, setup.model.reduction.is_some());
        warn_walls(last, &crate::grid::fit::boundary_advice(grid, rho, open));
    }
}

/// Whether [`warn_boundary`] warns of the snapshot `last`.
pub fn warns(last: &Diagnostics, max_boundary: f64) -> bool {
    last.boundary_mass > BOUNDARY_WARNING && max_boundary <= BOUNDARY_WARNING
}

/// [`warn_boundary`]'s warning, with the walls' `advice`.
pub fn warn_walls(last: &Diagnostics, advice: &str) {
    eprintln!(
        "warning: at t = {} the outermost cells hold {:.2e} of the mass (above {BOUNDARY_WARNING}), and the walls distort ρ: {advice}",
        last.time, last.boundary_mass,
    );
}

/// The step from t towards the snapshot at `ts` of a stable `dt`, and
/// whether it lands there: exactly on the snapshot, avoiding a sliver of a
/// last step (two halves instead).
pub fn towards(dt: f64, t: f64, ts: f64) -> (f64, bool) {
    if t + dt >= ts {
        (ts - t, true)
    } else if t + 1.5 * dt > ts {
        (0.5 * (ts - t), false)
    } else {
        (dt, false)
    }
}

/// Why the controller would stop before a step of `dt` after `steps`
/// steps: Δt below [`DT_FLOOR`]·t_end (or NaN), or `solver.max_steps`
/// reached. `mfpde check` asks the same of the first step.
pub fn step_fault(setup: &Setup, dt: f64, steps: usize) -> Option<String> {
    let floor = DT_FLOOR * setup.t_end;
    if dt.is_nan() || dt < floor {
        return Some(format!("Δt = {dt:.3e} is below {DT_FLOOR:e}·t_end = {floor:.3e}: the velocity is too fast for the grid (check the scales of λ, the data and the target)"));
    }
    if steps >= setup.scheme.max_steps {
        return Some(format!(
            "{steps} steps reached solver.max_steps before t_end = {}",
            setup.t_end
        ));
    }
    None
}

/// Why a run would not end, judged from one step: its Δt below the floor
/// ([`step_fault`]), or more steps than `solver.max_steps` to t_end at this
/// Δt (`steps` taken so far at time t).
pub fn projection_fault(setup: &Setup, dt: f64, t: f64, steps: usize) -> Option<String> {
    if let Some(why) = step_fault(setup, dt, steps) {
        return Some(why);
    }
    let more = (setup.t_end - t) / dt;
    if steps as f64 + more > setup.scheme.max_steps as f64 {
        return Some(format!(
            "at Δt = {dt:.3e} it would need about {more:.3e} more steps to t_end = {}, above solver.max_steps = {} (check the scales of λ, the data and the target, or solver.dt_max)",
            setup.t_end, setup.scheme.max_steps
        ));
    }
    None
}

/// Solve from a run state with a planned stepper, stopping with
/// [`Error::Run`](crate::Error::Run) when Δt collapses below
/// [`DT_FLOOR`]·t_end, the steps exceed `solver.max_steps`, or the density
/// faults ([`density_fault`]).
pub fn solve_from(
    setup: &Setup,
    stepper: &mut Stepper,
    state: RunState,
    observers: &mut [&mut dyn Observer],
) -> Result<RunSummary> {
    // the time loop runs on a thread of rayon's pool: each parallel loop of
    // a step then starts on it, instead of being handed to the pool and
    // waited for (a wake-up and a sleep per loop, 15 % of a 256² step)
    let out = rayon::scope(|_| time_loop(setup, stepper, state, observers));
    // a run stopped early leaves its held density behind: owe nothing
    stepper.forget_owed();
    out
}

fn time_loop(
    setup: &Setup,
    stepper: &mut Stepper,
    state: RunState,
    observers: &mut [&mut dyn Observer],
) -> Result<RunSummary> {
    let grid = &setup.grid;
    let RunState {
        mut rho,
        mut t,
        mut steps,
        next_snapshot,
    } = state;
    let mut first_dt = f64::NAN;
    let mut last = Diagnostics::default();
    let mut last_dt = 0.0;
    let mut max_boundary: f64 = 0.0;
    let allow_negative = setup.scheme.diffusion == crate::scheme::DiffusionKind::CrankNicolson;
    // each step's trailing half diffusion merged into the next step's
    // leading half; a history row looks at a diffused copy (so the run does
    // not depend on history_every), a snapshot settles the debt
    let mut settled = if stepper.defer_diffusion(true) {
        vec![0.0; rho.len()]
    } else {
        Vec::new()
    };
    let mut history = |stepper: &mut Stepper, rho: &[f64], t: f64, dt: f64| {
        let rho = if stepper.owed() > 0.0 {
            settled.copy_from_slice(rho);
            stepper.apply_owed(&mut settled);
            &settled[..]
        } else {
            rho
        };
        let (risk, _, free_energy) = diagnostics::energies(grid, stepper.velocity(), rho);
        HistoryRecord {
            time: t,
            risk,
            free_energy,
            mass: diagnostics::mass(grid, rho),
            dt,
        }
    };
    let stop = |what: String, t: f64, steps: usize| {
        Error::Run(format!("at t = {t}, step {steps}: {what}"))
    };
    if let Some(fault) = density_fault(&rho, allow_negative) {
        return Err(stop(fault, t, steps));
    }
    // what `mfpde check` predicts from the first step, refused up front
    let dt0 = stepper.stable_dt(&rho);
    if let Some(why) = projection_fault(setup, dt0, t, steps) {
        return Err(stop(why, t, steps));
    }
    for &ts in &setup.snapshot_times[next_snapshot.min(setup.snapshot_times.len())..] {
        while t < ts {
            let dt = stepper.stable_dt(&rho);
            if let Some(why) = step_fault(setup, dt, steps) {
                return Err(stop(why, t, steps));
            }
            let (dt, lands) = towards(dt, t, ts);
            stepper.step(&mut rho, dt);
            t = if lands { ts } else { t + dt };
            steps += 1;
            last_dt = dt;
            if first_dt.is_nan() {
                first_dt = dt;
            }
            if let Some(fault) = density_fault(&rho, allow_negative) {
                return Err(stop(fault, t, steps));
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
        stepper.flush(&mut rho);
        let at = Reached { t, steps, last_dt };
        last = snapshot(
            setup,
            at,
            stepper.velocity(),
            &rho,
            &mut max_boundary,
            observers,
        )?;
    }
    stepper.flush(&mut rho);
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(RunSummary {
        steps,
        first_dt,
        last,
        rho,
        max_boundary_mass: max_boundary,
    })
}
