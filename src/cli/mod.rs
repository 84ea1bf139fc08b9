//! **Command line**: `mfpde run`, `pde`, `particles`, `steady`,
//! `converge`, `plot`, `check`, and `mfpde` alone (the built-in quickstart
//! into `output/quickstart.h5`). It parses and prints: the runs themselves
//! are [`crate::run`]'s. [`runs`] prints the runs; [`study`] the
//! convergence study and `check`.

use crate::budget;
use crate::error::Result;
use crate::problem::LoadedProblem;
use crate::run::Command as Run;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// println! that ignores a closed stdout (`mfpde | head` must not panic; the
/// run and its files go on).
macro_rules! out {
    ($($t:tt)*) => {{
        $crate::cli::progress::line(&format!($($t)*));
    }};
}

/// print! that ignores a closed stdout.
macro_rules! out_inline {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

pub mod progress;
mod report;
mod runs;
mod steady;
mod study;
mod sweep;

pub use runs::run_command;
pub use steady::run_steady;
pub use study::{check, run_converge};

/// Mean-field PDE of two-layer neural networks. Without a command, runs the
/// built-in quickstart problem (PDE, particles, comparison) into
/// output/quickstart.h5.
#[derive(Debug, Parser)]
#[command(name = "mfpde", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A problem file, where to write, and overrides.
#[derive(Debug, Args)]
pub struct ProblemArgs {
    /// Problem file (TOML).
    pub problem: PathBuf,
    /// Output file (default: output/<name>.h5; `particles` and `converge`
    /// add _particles or _converge to the name).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Override an entry: section.key=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run even when the memory or disk the run needs exceeds what the
    /// machine has.
    #[arg(long)]
    pub force: bool,
    /// No progress and no table: errors, warnings and the summary only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write no figures beside the results file.
    #[arg(long)]
    pub no_plots: bool,
    /// Continue the interrupted run of OUT.h5 (its OUT.running.h5) from its
    /// last snapshot (pde, particles, run); the problem must be the same.
    #[arg(long, value_name = "OUT.h5")]
    pub resume: Option<PathBuf>,
}

/// What a run is asked besides its problem and output.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub theorems: bool,
    pub quiet: bool,
    pub resume: bool,
    pub plots: bool,
    /// Run past the budget.
    pub force: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            theorems: false,
            quiet: false,
            resume: false,
            plots: true,
            force: false,
        }
    }
}

impl ProblemArgs {
    /// The problem with its overrides and the output path (default
    /// `output/<name><suffix>.h5`, or the resumed run's), after the budget
    /// check (with the particles when `particles`).
    fn load(&self, suffix: &str, particles: bool) -> Result<(LoadedProblem, PathBuf)> {
        let lp = LoadedProblem::from_file(&self.problem, &self.set)?;
        let resumed = self.resume.as_deref().map(resumed_target);
        if let (Some(r), Some(o)) = (&resumed, &self.output) {
            if r != o {
                return Err(crate::Error::problem(
                    "--resume",
                    r.display(),
                    format!("the same file as -o {} (or no -o)", o.display()),
                ));
            }
        }
        let out = resumed
            .or_else(|| self.output.clone())
            .unwrap_or_else(|| PathBuf::from(format!("output/{}{suffix}.h5", lp.name())));
        crate::setup::check_ranges(&lp)?;
        let est = budget::Sizes::of(&lp).estimate(particles);
        budget::check(&est, Some(&out), self.force)?;
        Ok((lp, out))
    }

    /// The run options of these arguments.
    fn options(&self, theorems: bool) -> RunOptions {
        RunOptions {
            theorems,
            quiet: self.quiet,
            resume: self.resume.is_some(),
            plots: !self.no_plots,
            force: self.force,
        }
    }

    /// Refuse `--resume` for a command that cannot continue a run.
    fn no_resume(&self, command: &str) -> Result<()> {
        match &self.resume {
            Some(p) => Err(crate::Error::problem(
                "--resume",
                p.display(),
                format!("runs of pde, particles and run (`{command}` writes its file at the end, so there is nothing to continue)"),
            )),
            None => Ok(()),
        }
    }
}

/// The target of `--resume PATH`: PATH itself, or OUT.h5 for PATH =
/// OUT.running.h5.
fn resumed_target(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    match name.strip_suffix(".running.h5") {
        Some(stem) => path.with_file_name(format!("{stem}.h5")),
        None => path.to_path_buf(),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve the PDE, train the network of [particles] and compare them
    /// snapshot by snapshot (HDF5 groups /pde, /particles, /compare).
    Run {
        #[command(flatten)]
        args: ProblemArgs,
        /// Also report the lecture's theorems (/theorems): the distance to
        /// the Gibbs state over time (η > 0) or the risk against its minimum
        /// (η = 0).
        #[arg(long)]
        theorems: bool,
    },
    /// Solve the mean-field PDE of a problem file and write HDF5.
    Pde {
        #[command(flatten)]
        args: ProblemArgs,
        /// Also report the lecture's theorems (/theorems), as for `run`.
        #[arg(long)]
        theorems: bool,
    },
    /// Train the m-neuron network of a problem's [particles] section and write HDF5.
    Particles(ProblemArgs),
    /// Distances at t_end against m (over seeds) and h (over resolutions),
    /// with fitted log-log slopes and where the grid's floor starts.
    Converge {
        #[command(flatten)]
        args: ProblemArgs,
        /// Numbers of neurons, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100,1000,10000,100000")]
        m: Vec<usize>,
        /// Seeds per m.
        #[arg(long, default_value_t = 4)]
        seeds: usize,
        /// PDE resolutions (cells on every axis), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "64,128,256")]
        cells: Vec<usize>,
    },
    /// Redraw the plots of a results file (PNG next to it).
    Plot {
        /// An mfpde HDF5 file (finished or interrupted).
        file: PathBuf,
    },
    /// The Gibbs state ρ* = exp(−2Ψ[ρ*]/η)/Z directly (η > 0), from three
    /// starting points, into /steady.
    Steady {
        #[command(flatten)]
        args: ProblemArgs,
        /// newton (on the concave dual, the default) or picard (damped
        /// fixed point).
        #[arg(long, default_value = "newton")]
        method: String,
        /// Stop when the fixed-point residual is at most this times the
        /// scale of f* and r (a start that stalls above it, at round-off,
        /// is reported as stalled).
        #[arg(long, default_value_t = 1e-12)]
        tol: f64,
    },
    /// Run a study (a base problem, axes of overrides, seeds, measures:
    /// grids/studies/*.toml): each point into its own crash-safe file in
    /// OUT.points/ (a rerun keeps finished points and resumes interrupted
    /// ones), gathered into one labelled file (/study).
    Sweep {
        /// Study file (TOML).
        study: PathBuf,
        /// Collected file (default: output/<study file name>.h5).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Points run at once (the threads divided between them).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Threads in all (default: every core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// A line for the summary and warnings only.
        #[arg(long, short)]
        quiet: bool,
        /// Run only the points of this task (task, task + --tasks, …), one
        /// at a time, and gather nothing (a Slurm array task).
        #[arg(long, value_name = "I")]
        task: Option<usize>,
        /// The number of tasks the points are dealt to (--task, --slurm;
        /// default: one per point).
        #[arg(long, value_name = "N")]
        tasks: Option<usize>,
        /// Gather the points' files into the collected file, running none.
        #[arg(long, conflicts_with_all = ["task", "slurm"])]
        collect: bool,
        /// Write OUT.sbatch, the study as a Slurm job array (--tasks tasks,
        /// --threads CPUs each), and print how to submit and gather it.
        #[arg(long, conflicts_with = "task")]
        slurm: bool,
    },
    /// Validate a problem file and print its derived sizes.
    Check {
        /// Problem file (TOML).
        problem: PathBuf,
        /// Override an entry: section.key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Check even when the run would exceed the machine's memory or disk.
        #[arg(long)]
        force: bool,
        /// Also what each rank holds and sends when the network is split
        /// over N ranks (`mpirun -n N mfpde particles`).
        #[arg(long, value_name = "N")]
        ranks: Option<usize>,
    },
}

/// Run the command line; the binary prints the error and exits non-zero.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            let lp = LoadedProblem::quickstart(&[])?;
            let out = Path::new("output/quickstart.h5");
            let est = budget::Sizes::of(&lp).estimate(true);
            budget::check(&est, Some(out), false)?;
            run_command(&lp, Run::Run, out, RunOptions::default())
        }
        Some(Command::Run { args, theorems }) => {
            let (lp, out) = args.load("", true)?;
            run_command(&lp, Run::Run, &out, args.options(theorems))
        }
        Some(Command::Pde { args, theorems }) => {
            let (lp, out) = args.load("", false)?;
            run_command(&lp, Run::Pde, &out, args.options(theorems))
        }
        Some(Command::Particles(args)) => {
            let (lp, out) = args.load("_particles", true)?;
            run_command(&lp, Run::Particles, &out, args.options(false))
        }
        Some(Command::Plot { file }) => plot(&file),
        Some(Command::Converge {
            args,
            m,
            seeds,
            cells,
        }) => {
            args.no_resume("converge")?;
            let (lp, out) = args.load("_converge", true)?;
            run_converge(&lp, &m, seeds, &cells, &out, args.options(false))
        }
        Some(Command::Steady { args, method, tol }) => {
            args.no_resume("steady")?;
            let (lp, out) = args.load("_steady", false)?;
            run_steady(&lp, &out, (&method, tol), args.options(false))
        }
        Some(Command::Sweep {
            study,
            output,
            jobs,
            threads,
            quiet,
            task,
            tasks,
            collect,
            slurm,
        }) => {
            let how = match (task, collect, slurm) {
                (Some(i), ..) => sweep::How::Task(i, tasks),
                (None, true, _) => sweep::How::Collect,
                (None, false, true) => sweep::How::Slurm(tasks),
                _ => sweep::How::Local(jobs),
            };
            sweep::run_sweep(&study, output, how, threads, quiet)
        }
        Some(Command::Check {
            problem,
            set,
            force,
            ranks,
        }) => {
            let lp = LoadedProblem::from_file(&problem, &set)?;
            check(&lp, force, ranks)
        }
    }
}

/// Draw the plots of a results file and list them.
pub fn plot(file: &Path) -> Result<()> {
    wrote(&crate::io::plot::plot_file(file)?);
    Ok(())
}

/// List the figures a command wrote.
fn wrote(plots: &[PathBuf]) {
    for p in plots {
        out!("wrote {}", p.display());
    }
}
