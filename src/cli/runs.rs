//! The runs `pde`, `particles` and `run` (side by side): what they print.
//! The run itself is [`crate::run::run_to_file`].

use super::progress::Progress;
use super::{wrote, RunOptions};
use crate::compare::{CompareRow, DISTANCES};
use crate::diagnostics::Diagnostics;
use crate::error::{num, Result};
use crate::grid::Grid;
use crate::particles::ParticleDiagnostics;
use crate::problem::LoadedProblem;
use crate::run::{run_to_file, run_to_file_on, Command, Listener, Options, Outcome};
use crate::setup::Setup;
use crate::solve::{self, HistoryRecord};
use std::path::Path;
use std::time::Instant;

/// Prints a run's notes, its table (a line per snapshot, not with
/// `--quiet`, headed before the first) and its progress.
struct Printer {
    command: Command,
    quiet: bool,
    headed: bool,
    header: String,
    progress: Option<Progress>,
}

impl Printer {
    fn new(setup: &Setup, command: Command, quiet: bool) -> Self {
        let header = match command {
            Command::Pde => format!(
                "{:>8} {:>17} {:>12} {:>12} {:>12} {:>11}",
                "t", "mass", "risk", "free_energy", "boundary", "min_density"
            ),
            Command::Particles => format!("{:>8} {:>12} {:>10}", "t", "risk", "outside"),
            Command::Run => compare_header(&setup.grid),
        };
        Printer {
            command,
            quiet,
            headed: false,
            header,
            progress: (command != Command::Particles).then(|| Progress::new(setup.t_end, quiet)),
        }
    }

    /// A line of the table (the header first).
    fn row(&mut self, line: String) {
        if self.quiet {
            return;
        }
        if !self.headed {
            out!("{}", self.header);
            self.headed = true;
        }
        out!("{line}");
    }
}

impl Listener for Printer {
    fn note(&mut self, text: &str) {
        if text.starts_with("warning: ") {
            eprintln!("{text}");
        } else {
            out!("{text}");
        }
    }

    fn step(&mut self, t: f64, dt: f64) {
        if let Some(p) = self.progress.as_mut() {
            p.step(t, dt);
        }
    }

    fn history(&mut self, rec: &HistoryRecord) {
        if let Some(p) = self.progress.as_mut() {
            p.risk(rec.risk);
        }
    }

    fn pde(&mut self, d: &Diagnostics) {
        if self.command == Command::Pde {
            self.row(format!(
                "{:>8.3} {:>17.14} {:>12.6e} {:>12.6e} {:>12.4e} {:>11.3e}",
                d.time, d.mass, d.risk, d.free_energy, d.boundary_mass, d.min_density
            ));
        }
    }

    fn particles(&mut self, d: &ParticleDiagnostics) {
        if self.command == Command::Particles {
            self.row(format!(
                "{:>8.3} {:>12.6e} {:>10.3e}",
                d.time, d.risk, d.outside
            ));
        }
    }

    fn compare(&mut self, r: &CompareRow) {
        let values: Vec<String> = r.flat().iter().map(|v| format!("{v:>9.3e}")).collect();
        self.row(format!(
            "{:>7.3} {:>11.5e} {:>11.5e} {}",
            r.time,
            r.pde_risk,
            r.particle_risk,
            values.join(" ")
        ));
    }

    fn finish(&mut self) {
        Progress::clear();
    }
}

/// The header of the side-by-side table: the risks and every distance.
fn compare_header(grid: &Grid) -> String {
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

/// Validate a problem for `command`, warning about choices that are
/// allowed but risky.
pub(super) fn setup_of(lp: &LoadedProblem, command: Command) -> Result<Setup> {
    let setup = Setup::new(lp)?;
    for w in crate::run::check::warnings(&setup, command) {
        eprintln!("warning: {w}");
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

/// " neurons", or " neurons in R^d" for a reduced problem's network.
fn neurons(setup: &Setup) -> String {
    match &setup.model.reduction {
        Some(red) => format!(" neurons in R^{}", red.sizes.dim),
        None => " neurons".into(),
    }
}

/// Run `command` on a problem into `out` (or continue its interrupted run),
/// printing its table and a short summary, then plot.
pub fn run_command(
    lp: &LoadedProblem,
    command: Command,
    out: &Path,
    ropts: RunOptions,
) -> Result<()> {
    #[cfg(feature = "mpi")]
    if crate::ranks::mpi::launched() {
        return on_ranks(lp, command, out, ropts);
    }
    let setup = setup_of(lp, command)?;
    run_setup(&setup, command, out, ropts, None)
}

/// Under `mpirun -n N` (or `srun`; built with `--features mpi`): the run
/// split over the ranks, on their share of the node's cores. Rank 0 prints
/// and writes; a rank that fails after the start stops them all (the
/// running file is then what a killed run leaves).
#[cfg(feature = "mpi")]
fn on_ranks(lp: &LoadedProblem, command: Command, out: &Path, ropts: RunOptions) -> Result<()> {
    use crate::ranks::mpi;
    let (_universe, ranks) = mpi::start()?;
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let here = mpi::local_size().unwrap_or(ranks.size()).max(1);
        // the global pool is unset in a fresh process; if it is set, keep it
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads((cores / here).max(1))
            .build_global();
    }
    let root = ranks.rank() == 0;
    let setup = match root {
        true => setup_of(lp, command)?,
        false => Setup::new(lp)?,
    };
    // refused on every rank alike, before any collective: each stops cleanly
    crate::run::check_split(&setup, command, &ranks)?;
    let done = match root {
        true => run_setup(&setup, command, out, ropts, Some(&ranks)),
        false => crate::run::follow(&setup, command, &ranks),
    };
    if let Err(e) = done {
        eprintln!("error: rank {} of {}: {e}", ranks.rank(), ranks.size());
        mpi::abort();
    }
    Ok(())
}

/// [`run_command`] on a validated setup (rank 0's share when split over
/// `ranks`).
fn run_setup(
    setup: &Setup,
    command: Command,
    out: &Path,
    ropts: RunOptions,
    ranks: Option<&crate::ranks::Shared>,
) -> Result<()> {
    let opts = match command {
        Command::Pde => None,
        _ => Some(setup.particle_options()?),
    };
    match (command, opts) {
        (Command::Pde, _) => out!("{}", describe(setup)),
        (Command::Particles, Some(o)) => out!(
            "mfpde {} particles: m = {}{}, dt = {}, mode = {}, seed = {}, D = {}, η = {}{}",
            setup.name,
            o.m,
            neurons(setup),
            o.dt,
            o.mode.name(),
            o.seed,
            setup.grid.dim(),
            num(setup.model.noise),
            ranks.map_or(String::new(), |r| format!(", over {} ranks", r.size()))
        ),
        (_, Some(o)) => out!(
            "{}; m = {}{}, dt = {}, {} mode{}",
            describe(setup),
            o.m,
            neurons(setup),
            o.dt,
            o.mode.name(),
            ranks.map_or(String::new(), |r| format!(
                "; the network over {} ranks, the PDE on rank 0",
                r.size()
            ))
        ),
        (_, None) => {}
    }
    let mut printer = Printer::new(setup, command, ropts.quiet);
    let clock = Instant::now();
    let options = Options {
        command,
        theorems: ropts.theorems,
        plots: ropts.plots,
    };
    let outcome = match ranks {
        Some(r) => run_to_file_on(setup, options, out, ropts.resume, &mut printer, r)?,
        None => run_to_file(setup, options, out, ropts.resume, &mut printer)?,
    };
    drop(printer);
    let secs = clock.elapsed().as_secs_f64();
    if let Some(r) = &outcome.report {
        super::report::print_report(r);
    }
    summary(setup, &outcome, secs, out);
    wrote(&outcome.plots);
    Ok(())
}

/// The run's summary lines, the last naming the file.
fn summary(setup: &Setup, outcome: &Outcome, secs: f64, out: &Path) {
    if let Some(tm) = outcome.times {
        out!(
            "{:.1} s (PDE {:.1} s, particles {:.1} s, distances {:.1} s, particle and distance output {:.1} s); wrote {}",
            secs,
            tm.pde().as_secs_f64(),
            tm.particles.as_secs_f64(),
            tm.compare.as_secs_f64(),
            tm.write.as_secs_f64(),
            out.display()
        );
        return;
    }
    if let Some(s) = &outcome.pde {
        out!(
            "{}; mean θ = {:?}",
            pace(s.steps, secs, setup.grid.len(), "cell updates"),
            s.last
                .mean
                .iter()
                .map(|m| (m * 1e4).round() / 1e4)
                .collect::<Vec<_>>()
        );
    } else if let (Some(s), Some(o)) = (&outcome.particles, setup.particles) {
        out!("{}", pace(s.steps, secs, o.m, "neuron-steps"));
    }
    if let Some(s) = &outcome.pde {
        if s.max_boundary_mass > solve::BOUNDARY_WARNING {
            out!(
                "boundary: up to {:.2e} of the mass in the outermost cells (the box is too small; /pde/boundary_mass)",
                s.max_boundary_mass
            );
        }
    }
    out!("wrote {}", out.display());
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
