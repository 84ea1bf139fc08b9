//! The runs: `pde`, `particles` and `run` (side by side), with their printed
//! lines.

use super::{into_target, plot};
use crate::compare::{self, CompareObserver, CompareRow, DISTANCES};
use crate::diagnostics::Diagnostics;
use crate::error::{num, Result};
use crate::grid::Grid;
use crate::output::{self, CompareOutput, ParticleOutput, PdeOutput};
use crate::particles::{self, ParticleDiagnostics, ParticleObserver, Swarm};
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::side_by_side::run_side_by_side;
use crate::solve::{self, Observer};
use crate::theorems::{Claim, Report};
use std::path::Path;
use std::time::Instant;

/// Prints a line per snapshot.
struct Printer;

impl Observer for Printer {
    fn snapshot(&mut self, d: &Diagnostics, _rho: &[f64]) -> Result<()> {
        out!(
            "{:>8.3} {:>17.14} {:>12.6e} {:>12.6e} {:>12.4e} {:>11.3e}",
            d.time,
            d.mass,
            d.risk,
            d.free_energy,
            d.boundary_mass,
            d.min_density
        );
        Ok(())
    }
}

/// Validate a problem, warning about choices that are allowed but risky.
pub(super) fn setup_of(lp: &LoadedProblem) -> Result<Setup> {
    let setup = Setup::new(lp)?;
    if setup.scheme.diffusion == crate::scheme::DiffusionKind::CrankNicolson {
        eprintln!("warning: crank_nicolson diffusion can make ρ negative for Δt η/2 > h²; backward_euler or spectral stay positive");
    }
    Ok(setup)
}

/// The first line of a run: problem, grid, nodes, η, λ, t_end.
fn describe(setup: &Setup) -> String {
    let g = &setup.grid;
    format!(
        "mfpde {}: D = {} ({}), {} cells, {} nodes, η = {}, λ = {}, t_end = {}",
        setup.name,
        g.dim(),
        g.names.join(", "),
        g.len(),
        setup.model.quad.len(),
        num(setup.model.noise),
        num(setup.model.weight_decay),
        num(setup.t_end)
    )
}

/// Solve a problem into `out`, printing a short summary.
pub fn run_pde(lp: &LoadedProblem, out: &Path, theorems: bool) -> Result<()> {
    let setup = setup_of(lp)?;
    let g = &setup.grid;
    out!("{}", describe(&setup));
    let mut report = theorems_report(&setup, theorems)?;
    out!(
        "{:>8} {:>17} {:>12} {:>12} {:>12} {:>11}",
        "t",
        "mass",
        "risk",
        "free_energy",
        "boundary",
        "min_density"
    );
    let start = Instant::now();
    let summary = into_target(out, |file| {
        output::create(file, &setup)?;
        let mut writer = PdeOutput::add(file, &setup)?;
        let mut printer = Printer;
        let summary = match report.as_mut() {
            Some(r) => solve::solve(&setup, &mut [&mut printer, &mut writer, r])?,
            None => solve::solve(&setup, &mut [&mut printer, &mut writer])?,
        };
        finish_report(file, report.as_ref())?;
        crate::io::hdf5::mark_complete(file)?;
        Ok(summary)
    })?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "{} steps in {:.2} s ({:.3} ms/step, {:.3e} cell updates/s); mean θ = {:?}",
        summary.steps,
        secs,
        1e3 * secs / summary.steps.max(1) as f64,
        summary.steps as f64 * g.len() as f64 / secs,
        summary
            .last
            .mean
            .iter()
            .map(|m| (m * 1e4).round() / 1e4)
            .collect::<Vec<_>>()
    );
    if summary.max_boundary_mass > solve::BOUNDARY_WARNING {
        out!(
            "boundary: up to {:.2e} of the mass in the outermost cells (the box is too small; /pde/boundary_mass)",
            summary.max_boundary_mass
        );
    }
    out!("wrote {}", out.display());
    plot(out)
}

/// The theorems report of a run, when asked (for η > 0 the Gibbs state is
/// solved for first).
fn theorems_report(setup: &Setup, asked: bool) -> Result<Option<Report>> {
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
fn finish_report(file: &Path, report: Option<&Report>) -> Result<()> {
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

/// Prints a line per particle snapshot (with the fraction of neurons
/// outside the grid's box).
struct ParticlePrinter<'a>(&'a Grid);

impl ParticleObserver for ParticlePrinter<'_> {
    fn snapshot(&mut self, d: &ParticleDiagnostics, theta: &[f64]) -> Result<()> {
        let (_, outside) = particles::histogram(self.0, theta, d.mean.len());
        out!("{:>8.3} {:>12.6e} {:>10.3e}", d.time, d.risk, outside);
        Ok(())
    }
}

/// Train the network of a problem's `[particles]` section into `out`.
pub fn run_particles(lp: &LoadedProblem, out: &Path) -> Result<()> {
    let setup = Setup::new(lp)?;
    let opts = setup.particle_options()?;
    out!(
        "mfpde {} particles: m = {}, dt = {}, mode = {}, seed = {}, D = {}, η = {}",
        setup.name,
        opts.m,
        opts.dt,
        opts.mode.name(),
        opts.seed,
        setup.grid.dim(),
        setup.model.noise
    );
    out!("{:>8} {:>12} {:>10}", "t", "risk", "outside");
    let start = Instant::now();
    let summary = into_target(out, |file| {
        let mut writer = ParticleOutput::create(file, &setup, &opts)?;
        let mut swarm = Swarm::new(&setup.model, &setup.initial, &opts);
        particles::run(
            &mut swarm,
            opts.dt,
            &setup.snapshot_times,
            &setup.f_points,
            &mut [&mut ParticlePrinter(&setup.grid), &mut writer],
        )
    })?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "{} steps in {:.2} s ({:.3e} neuron-steps/s)",
        summary.steps,
        secs,
        summary.steps as f64 * opts.m as f64 / secs
    );
    out!("wrote {}", out.display());
    plot(out)
}

/// Prints a line per snapshot of a side-by-side run: the risks and every
/// distance.
struct ComparePrinter;

impl ComparePrinter {
    fn header(grid: &Grid) -> String {
        let mut h = format!("{:>7} {:>11} {:>11}", "t", "R_pde", "R_particles");
        for d in DISTANCES {
            if d.per_axis {
                for n in &grid.names {
                    h += &format!(" {:>9}", format!("{}({n})", d.label));
                }
            } else {
                h += &format!(" {:>9}", d.label);
            }
        }
        h
    }
}

impl CompareObserver for ComparePrinter {
    fn row(&mut self, r: &CompareRow) -> Result<()> {
        let values: Vec<String> = r.flat().iter().map(|v| format!("{v:>9.3e}")).collect();
        out!(
            "{:>7.3} {:>11.5e} {:>11.5e} {}",
            r.time,
            r.pde_risk,
            r.particle_risk,
            values.join(" ")
        );
        Ok(())
    }
}

/// The PDE and the particles side by side into `out`, with the comparison
/// table.
pub fn run_compare(lp: &LoadedProblem, out: &Path, theorems: bool) -> Result<()> {
    let setup = setup_of(lp)?;
    let opts = setup.particle_options()?;
    let g = &setup.grid;
    let mut report = theorems_report(&setup, theorems)?;
    out!(
        "{}; m = {} neurons, dt = {}, {} mode",
        describe(&setup),
        opts.m,
        opts.dt,
        opts.mode.name()
    );
    out!("{}", ComparePrinter::header(g));
    let start = Instant::now();
    let run = into_target(out, |file| {
        output::create(file, &setup)?;
        let mut pde = PdeOutput::add(file, &setup)?;
        let mut net = ParticleOutput::add(file, &setup, &opts)?;
        let dirs = compare::directions(g.dim(), compare::SW2_DIRECTIONS);
        let mut distances = CompareOutput::add(file, g.dim(), &dirs)?;
        let mut pde_observers: Vec<&mut dyn Observer> = vec![&mut pde];
        if let Some(r) = report.as_mut() {
            pde_observers.push(r);
        }
        let run = run_side_by_side(
            &setup,
            &opts,
            &mut pde_observers,
            &mut [&mut net],
            &mut [&mut distances, &mut ComparePrinter],
        )?;
        finish_report(file, report.as_ref())?;
        crate::io::hdf5::mark_complete(file)?;
        Ok(run)
    })?;
    let tm = run.times;
    out!(
        "{:.1} s (PDE {:.1} s, particles {:.1} s, distances {:.1} s, particle and distance output {:.1} s); wrote {}",
        start.elapsed().as_secs_f64(),
        tm.pde().as_secs_f64(),
        tm.particles.as_secs_f64(),
        tm.compare.as_secs_f64(),
        tm.write.as_secs_f64(),
        out.display()
    );
    plot(out)
}
