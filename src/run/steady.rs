//! **`steady`**: the Gibbs state ρ* = exp(−2Ψ[ρ*]/η)/Z solved for directly
//! from three starting densities, stored in `/steady`. The Gibbs state is
//! unique (F_η is strictly convex), so starts that reach states apart mean
//! an iteration stopped early.

use super::{header, write_to_file, Listener};
use crate::compare::l1;
use crate::error::Result;
use crate::initial::{Gaussian, InitialLaw};
use crate::io::store::{Attr, MemoryStore, Results, Store};
use crate::setup::Setup;
use crate::steady::{GibbsSolver, Steady, SteadyOptions};
use std::path::Path;
use std::time::Instant;

/// Two starts that reach densities further apart than this (L1) are
/// reported: the Gibbs state is unique (F_η is strictly convex), so they
/// mean the iteration stopped early.
pub const SAME_STATE: f64 = 1e-6;

/// One start and where it went.
#[derive(Debug, Clone)]
pub struct Start {
    pub name: &'static str,
    pub state: Steady,
    pub seconds: f64,
    /// L1 distance of its state to the first start's.
    pub l1_to_first: f64,
}

/// What `steady` found.
#[derive(Debug, Clone)]
pub struct SteadyOutcome {
    pub starts: Vec<Start>,
    /// The largest L1 distance of a start's state to the first's.
    pub spread: f64,
    pub opts: SteadyOptions,
    /// What the states are not: a start stalled or stopped at the
    /// iteration limit, starts that reached states apart, a box that cuts
    /// the Gibbs state off (each a sentence, without "warning: ").
    pub warnings: Vec<String>,
}

impl SteadyOutcome {
    /// The Gibbs state (from ρ0).
    pub fn state(&self) -> &Steady {
        &self.starts[0].state
    }
}

/// The three starting densities: ρ0, uniform on the box, and a Gaussian
/// shifted to a corner of the box.
fn starts(setup: &Setup) -> Vec<(&'static str, Vec<f64>)> {
    let g = &setup.grid;
    let box_volume = if g.is_uniform() {
        g.len() as f64 * g.cell_volume()
    } else {
        (0..g.dim()).map(|k| g.hi[k] - g.lo[k]).product()
    };
    let uniform = vec![1.0 / box_volume; g.len()];
    let shifted = InitialLaw::Gaussian(Gaussian {
        mean: (0..g.dim())
            .map(|k| g.lo[k] + 0.7 * (g.hi[k] - g.lo[k]))
            .collect(),
        std: (0..g.dim()).map(|k| 0.1 * (g.hi[k] - g.lo[k])).collect(),
    })
    .cell_averages(g)
    .0;
    vec![
        ("ρ0", setup.rho0()),
        ("uniform", uniform),
        ("shifted Gaussian", shifted),
    ]
}

/// Solve for the Gibbs state from the three starts.
pub fn solve(
    setup: &Setup,
    opts: SteadyOptions,
    listener: &mut dyn Listener,
) -> Result<SteadyOutcome> {
    let mut solver = GibbsSolver::new(&setup.model, &setup.grid)?;
    let mut found: Vec<Start> = Vec::new();
    for (name, rho) in starts(setup) {
        let clock = Instant::now();
        let r0 = solver.residual_of(&rho);
        let state = solver.solve_with(&r0, &opts, &mut |k, e| listener.iteration(name, k, e));
        let seconds = clock.elapsed().as_secs_f64();
        let bad = crate::error::first_non_finite([
            ("F", std::slice::from_ref(&state.free_energy)),
            ("R", std::slice::from_ref(&state.risk)),
            ("the duality gap", std::slice::from_ref(&state.gap)),
            (
                "the stationarity residual",
                std::slice::from_ref(&state.stationarity),
            ),
            ("ρ*", &state.rho[..]),
        ]);
        if let Some(what) = bad {
            return Err(crate::Error::Run(format!(
                "the Gibbs iteration from {name} reached {what} after {} iterations (the target's or the data's scale overflows it)",
                state.iterations
            )));
        }
        listener.start(name, &state, seconds);
        let l1_to_first = found
            .first()
            .map_or(0.0, |f| l1(&setup.grid, &f.state.rho, &state.rho, 0.0));
        found.push(Start {
            name,
            state,
            seconds,
            l1_to_first,
        });
    }
    let spread = found.iter().map(|s| s.l1_to_first).fold(0.0, f64::max);
    let warnings = warnings(setup, &found, &opts);
    Ok(SteadyOutcome {
        starts: found,
        spread,
        opts,
        warnings,
    })
}

/// The warnings of [`SteadyOutcome::warnings`].
fn warnings(setup: &Setup, found: &[Start], opts: &SteadyOptions) -> Vec<String> {
    use crate::steady::Stop;
    let tol = opts.tol;
    let mut out = Vec::new();
    for s in found {
        let st = &s.state;
        match st.stop {
            Stop::Converged => {}
            Stop::Stalled => out.push(format!(
                "the start from {} stalled: its fixed-point residual {:.2e} fell no further over its last {} iterations (of {}), above --tol {tol:e} times the scale of f* and r — round-off reached first; its state is not certified at that tolerance (raise --tol)",
                s.name, st.fixed_point_residual, opts.stall, st.iterations
            )),
            Stop::IterationLimit => out.push(format!(
                "the start from {} stopped at the iteration limit ({} iterations), residual {:.2e} above --tol {tol:e} times the scale of f* and r: its state is not certified",
                s.name, st.iterations, st.fixed_point_residual
            )),
        }
    }
    for s in found.iter().skip(1) {
        if s.l1_to_first > SAME_STATE {
            out.push(format!(
                "the start from {} reached a density at L1 distance {:.2e} from the one from ρ0 (the Gibbs state is unique: raise the iterations or lower the tolerance)",
                s.name, s.l1_to_first
            ));
        }
    }
    if let Some(first) = found.first() {
        let st = &first.state;
        if st.boundary_mass > crate::solve::BOUNDARY_WARNING {
            let g = &setup.grid;
            let open = crate::diagnostics::open_side(g, setup.model.reduction.is_some());
            out.push(format!(
                "the Gibbs state's outermost cells hold {:.2e} of its mass (above {}; /steady/boundary_mass), so the walls cut it off and its R and F are the box's: {}",
                st.boundary_mass,
                crate::solve::BOUNDARY_WARNING,
                crate::grid::fit::boundary_advice(g, &st.rho, open)
            ));
        }
    }
    out
}

/// The results of a steady state: `/steady` with attributes `method` and
/// `tolerance`.
pub fn results(setup: &Setup, outcome: &SteadyOutcome) -> Result<Results> {
    let mut store = MemoryStore::new(&header(setup));
    let stops: Vec<&str> = outcome.starts.iter().map(|s| s.state.stop.name()).collect();
    let attrs = [
        ("method", Attr::Str(outcome.opts.method.name().into())),
        ("tolerance", Attr::F64(outcome.opts.tol)),
        ("stopped", Attr::Str(outcome.state().stop.name().into())),
        ("starts_stopped", Attr::Str(stops.join(","))),
        (
            "convention",
            Attr::Str("risk and free_energy of the point values rho*_i at the cell centres (not the h^2/12 correction of a transient's cell averages)".into()),
        ),
    ];
    store.add_whole("steady", &attrs, &outcome.state().vars(outcome.spread))?;
    store.complete()?;
    Ok(store.into_results())
}

/// Solve for the Gibbs state into memory.
pub fn steady(
    setup: &Setup,
    opts: SteadyOptions,
    listener: &mut dyn Listener,
) -> Result<(SteadyOutcome, Results)> {
    let outcome = solve(setup, opts, listener)?;
    let results = results(setup, &outcome)?;
    Ok((outcome, results))
}

/// Solve for the Gibbs state into the file `out`, and draw its figure
/// when `plots`: the outcome and the figures.
pub fn steady_to_file(
    setup: &Setup,
    opts: SteadyOptions,
    out: &Path,
    plots: bool,
    listener: &mut dyn Listener,
) -> Result<(SteadyOutcome, Vec<std::path::PathBuf>)> {
    write_to_file(out, plots, || steady(setup, opts, listener))
}
