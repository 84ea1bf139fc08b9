//! The runs: `pde`, `particles` and `run` (side by side), with their printed
//! lines.

use super::progress::Progress;
use super::report::{finish_report, replay, theorems_report};
use super::{plot, settle, RunOptions};
use crate::compare::{self, CompareObserver, CompareRow, DISTANCES};
use crate::diagnostics::Diagnostics;
use crate::error::{num, Error, Result};
use crate::grid::Grid;
use crate::io::hdf5::Reader;
use crate::io::target::Target;
use crate::output::{self, resume, CompareOutput, ParticleOutput, PdeOutput};
use crate::particles::{self, Neurons, ParticleDiagnostics, ParticleObserver};
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::side_by_side::{run_side_by_side, Start};
use crate::solve::{self, Observer, RunState, RunSummary};
use std::path::Path;
use std::time::Instant;

/// Prints a line per snapshot (not with `--quiet`).
struct Printer {
    quiet: bool,
}

impl Observer for Printer {
    fn snapshot(&mut self, d: &Diagnostics, _rho: &[f64]) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
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

/// Claim `out` for a new run, or to resume its interrupted run.
fn claim(out: &Path, opts: RunOptions) -> Result<Target> {
    if opts.resume {
        Target::claim_resumed(out)
    } else {
        Target::claim(out)
    }
}

/// The interrupted file's groups, cut back to the snapshots all of them
/// hold; returns that count.
fn cut_back(file: &Path, setup: &Setup) -> Result<(resume::Found, usize)> {
    let (_, found) = resume::open(file, &setup.problem_toml)?;
    let k = found.common();
    resume::cut_back(file, &found, k, &setup.snapshot_times)?;
    out!(
        "resuming {} after snapshot {k} of {}",
        file.display(),
        setup.snapshot_times.len()
    );
    Ok((found, k))
}

/// The PDE's state after `k` stored snapshots (ρ0 for none).
fn pde_state(file: &Path, setup: &Setup, k: usize) -> Result<RunState> {
    if k == 0 {
        return Ok(RunState::start(setup.rho0()));
    }
    resume::pde_state(&Reader::open(file)?, setup, k)
}

/// Solve a problem into `out` (or continue its interrupted run), printing a
/// short summary.
pub fn run_pde(lp: &LoadedProblem, out: &Path, opts: RunOptions) -> Result<()> {
    let setup = setup_of(lp)?;
    let g = &setup.grid;
    out!("{}", describe(&setup));
    let mut report = theorems_report(&setup, opts.theorems)?;
    let target = claim(out, opts)?;
    let start = Instant::now();
    let result = (|| -> Result<RunSummary> {
        let file = target.running();
        let (mut writer, state) = if opts.resume {
            let (found, k) = cut_back(file, &setup)?;
            if found.pde.is_none() {
                return Err(Error::Hdf5(format!(
                    "{}: holds no /pde group to continue",
                    file.display()
                )));
            }
            replay(report.as_mut(), file, &setup, k)?;
            (
                PdeOutput::reopen(file, &setup, k)?,
                pde_state(file, &setup, k)?,
            )
        } else {
            output::create(file, &setup)?;
            (PdeOutput::add(file, &setup)?, RunState::start(setup.rho0()))
        };
        if !opts.quiet {
            out!(
                "{:>8} {:>17} {:>12} {:>12} {:>12} {:>11}",
                "t",
                "mass",
                "risk",
                "free_energy",
                "boundary",
                "min_density"
            );
        }
        let mut printer = Printer { quiet: opts.quiet };
        let mut progress = Progress::new(setup.t_end, opts.quiet);
        let mut stepper = solve::make_stepper(&setup);
        // the writer before the printer: a printed line is a committed snapshot
        let mut observers: Vec<&mut dyn Observer> = vec![&mut progress, &mut writer];
        if let Some(r) = report.as_mut() {
            observers.push(r);
        }
        observers.push(&mut printer);
        let summary = solve::solve_from(&setup, &mut stepper, state, &mut observers)?;
        finish_report(file, report.as_ref())?;
        crate::io::hdf5::mark_complete(file)?;
        Ok(summary)
    })();
    let summary = settle(target, result)?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "{}; mean θ = {:?}",
        pace(summary.steps, secs, g.len(), "cell updates"),
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

/// " neurons", or " neurons in R^d" for a reduced problem's network.
fn neurons(setup: &Setup) -> String {
    match &setup.model.reduction {
        Some(red) => format!(" neurons in R^{}", red.sizes.dim),
        None => " neurons".into(),
    }
}

/// Prints a line per particle snapshot (with the fraction of neurons
/// outside the grid's box; not with `--quiet`).
struct ParticlePrinter<'a>(&'a Grid, bool);

impl ParticleObserver for ParticlePrinter<'_> {
    fn snapshot(&mut self, d: &ParticleDiagnostics, neurons: &dyn Neurons) -> Result<()> {
        if self.1 {
            return Ok(());
        }
        let (_, outside) = particles::histogram(self.0, neurons.positions(), d.mean.len());
        out!("{:>8.3} {:>12.6e} {:>10.3e}", d.time, d.risk, outside);
        Ok(())
    }
}

/// The neurons of a run: fresh from ρ0, or those of snapshot `k` of a
/// resumed file.
fn swarm_at(
    file: &Path,
    setup: &Setup,
    opts: &crate::particles::ParticleOptions,
    k: usize,
) -> Result<Box<dyn Neurons>> {
    let mut swarm = particles::network(&setup.model, &setup.initial, opts)?;
    if k > 0 {
        let (theta, steps, word) = resume::particle_state(&Reader::open(file)?, setup, opts, k)?;
        swarm.restore(&theta, steps, word);
    }
    Ok(swarm)
}

/// Train the network of a problem's `[particles]` section into `out` (or
/// continue its interrupted run).
pub fn run_particles(lp: &LoadedProblem, out: &Path, ropts: RunOptions) -> Result<()> {
    let setup = Setup::new(lp)?;
    let opts = setup.particle_options()?;
    out!(
        "mfpde {} particles: m = {}{}, dt = {}, mode = {}, seed = {}, D = {}, η = {}",
        setup.name,
        opts.m,
        neurons(&setup),
        opts.dt,
        opts.mode.name(),
        opts.seed,
        setup.grid.dim(),
        num(setup.model.noise)
    );
    let target = claim(out, ropts)?;
    let start = Instant::now();
    let result = (|| {
        let file = target.running();
        let (mut writer, k) = if ropts.resume {
            let (found, k) = cut_back(file, &setup)?;
            if found.particles.is_none() {
                return Err(Error::Hdf5(format!(
                    "{}: holds no /particles group to continue",
                    file.display()
                )));
            }
            (ParticleOutput::reopen(file, &setup, &opts, k)?, k)
        } else {
            let mut w = ParticleOutput::create(file, &setup, &opts)?;
            w.keep_file_running();
            (w, 0)
        };
        let mut swarm = swarm_at(file, &setup, &opts, k)?;
        if !ropts.quiet {
            out!("{:>8} {:>12} {:>10}", "t", "risk", "outside");
        }
        let t0 = if k > 0 {
            setup.snapshot_times[k - 1]
        } else {
            0.0
        };
        let summary = particles::run_from(
            &mut *swarm,
            opts.dt,
            &setup.snapshot_times,
            (t0, k),
            &setup.f_points,
            &mut [&mut writer, &mut ParticlePrinter(&setup.grid, ropts.quiet)],
        )?;
        crate::io::hdf5::mark_complete(file)?;
        Ok(summary)
    })();
    let summary = settle(target, result)?;
    let secs = start.elapsed().as_secs_f64();
    out!("{}", pace(summary.steps, secs, opts.m, "neuron-steps"));
    out!("wrote {}", out.display());
    plot(out)
}

/// Prints a line per snapshot of a side-by-side run: the risks and every
/// distance (not with `--quiet`).
struct ComparePrinter(bool);

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
        if self.0 {
            return Ok(());
        }
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

/// The PDE and the particles side by side into `out` (or continuing its
/// interrupted run), with the comparison table.
pub fn run_compare(lp: &LoadedProblem, out: &Path, ropts: RunOptions) -> Result<()> {
    let setup = setup_of(lp)?;
    let opts = setup.particle_options()?;
    let g = &setup.grid;
    let mut report = theorems_report(&setup, ropts.theorems)?;
    out!(
        "{}; m = {}{}, dt = {}, {} mode",
        describe(&setup),
        opts.m,
        neurons(&setup),
        opts.dt,
        opts.mode.name()
    );
    let target = claim(out, ropts)?;
    let clock = Instant::now();
    let result = (|| {
        let file = target.running();
        let dirs = compare::directions(g.dim(), compare::SW2_DIRECTIONS);
        let (mut pde, mut net, mut distances, start) = if ropts.resume {
            let (found, k) = cut_back(file, &setup)?;
            if found.pde.is_none() || found.particles.is_none() || found.compare.is_none() {
                return Err(Error::Hdf5(format!(
                    "{}: not a file of `mfpde run` (it needs /pde, /particles and /compare)",
                    file.display()
                )));
            }
            replay(report.as_mut(), file, &setup, k)?;
            let start = Start {
                pde: pde_state(file, &setup, k)?,
                swarm: swarm_at(file, &setup, &opts, k)?,
                t_particles: if k > 0 {
                    setup.snapshot_times[k - 1]
                } else {
                    0.0
                },
            };
            (
                PdeOutput::reopen(file, &setup, k)?,
                ParticleOutput::reopen(file, &setup, &opts, k)?,
                CompareOutput::reopen(file, k)?,
                start,
            )
        } else {
            output::create(file, &setup)?;
            (
                PdeOutput::add(file, &setup)?,
                ParticleOutput::add(file, &setup, &opts)?,
                CompareOutput::add(file, g.dim(), &dirs)?,
                Start::fresh(&setup, &opts)?,
            )
        };
        if !ropts.quiet {
            out!("{}", ComparePrinter::header(g));
        }
        let mut progress = Progress::new(setup.t_end, ropts.quiet);
        let mut pde_observers: Vec<&mut dyn Observer> = vec![&mut progress, &mut pde];
        if let Some(r) = report.as_mut() {
            pde_observers.push(r);
        }
        let mut printer = ComparePrinter(ropts.quiet);
        let run = run_side_by_side(
            &setup,
            &opts,
            start,
            &mut pde_observers,
            &mut [&mut net],
            &mut [&mut distances, &mut printer],
        )?;
        finish_report(file, report.as_ref())?;
        crate::io::hdf5::mark_complete(file)?;
        Ok(run)
    })();
    let run = settle(target, result)?;
    let tm = run.times;
    out!(
        "{:.1} s (PDE {:.1} s, particles {:.1} s, distances {:.1} s, particle and distance output {:.1} s); wrote {}",
        clock.elapsed().as_secs_f64(),
        tm.pde().as_secs_f64(),
        tm.particles.as_secs_f64(),
        tm.compare.as_secs_f64(),
        tm.write.as_secs_f64(),
        out.display()
    );
    plot(out)
}

/// "N steps in T s (X ms/step, Y <unit>/s)" for a run of `steps` steps over
/// `secs` seconds, each step `per_step` units of work (cells, neurons).
fn pace(steps: usize, secs: f64, per_step: usize, unit: &str) -> String {
    format!(
        "{steps} steps in {secs:.2} s ({:.3} ms/step, {:.3e} {unit}/s)",
        1e3 * secs / steps.max(1) as f64,
        steps as f64 * per_step as f64 / secs
    )
}
