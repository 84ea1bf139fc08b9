//! **Command line**: `mfpde pde`, `mfpde particles`, `mfpde check`, and `mfpde` alone (the
//! built-in quickstart into `output/quickstart.h5`).

use crate::compare::{self, CompareObserver, CompareRow, DISTANCES};
use crate::diagnostics::{self, Diagnostics};
use crate::error::Result;
use crate::grid::Grid;
use crate::output::{self, CompareOutput, ParticleOutput, PdeOutput};
use crate::particles::{self, ParticleDiagnostics, ParticleObserver, Swarm};
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::side_by_side::run_side_by_side;
use crate::solve::{self, Observer};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// println! that ignores a closed stdout (`mfpde | head` must not panic; the
/// run and its files go on).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// print! that ignores a closed stdout.
macro_rules! out_inline {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

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
}

impl ProblemArgs {
    /// The problem with its overrides, and the output path (default
    /// `output/<name><suffix>.h5`).
    fn load(&self, suffix: &str) -> Result<(LoadedProblem, PathBuf)> {
        let lp = LoadedProblem::from_file(&self.problem, &self.set)?;
        let out = self
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("output/{}{suffix}.h5", lp.name())));
        Ok((lp, out))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve the PDE, train the network of [particles] and compare them
    /// snapshot by snapshot (HDF5 groups /pde, /particles, /compare).
    Run(ProblemArgs),
    /// Solve the mean-field PDE of a problem file and write HDF5.
    Pde(ProblemArgs),
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
    /// Validate a problem file and print its derived sizes.
    Check {
        /// Problem file (TOML).
        problem: PathBuf,
        /// Override an entry: section.key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

/// Run the command line; the binary prints the error and exits non-zero.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            let lp = LoadedProblem::quickstart(&[])?;
            run_compare(&lp, Path::new("output/quickstart.h5"))
        }
        Some(Command::Run(args)) => {
            let (lp, out) = args.load("")?;
            run_compare(&lp, &out)
        }
        Some(Command::Pde(args)) => {
            let (lp, out) = args.load("")?;
            run_pde(&lp, &out)
        }
        Some(Command::Particles(args)) => {
            let (lp, out) = args.load("_particles")?;
            run_particles(&lp, &out)
        }
        Some(Command::Plot { file }) => plot(&file),
        Some(Command::Converge {
            args,
            m,
            seeds,
            cells,
        }) => {
            let (lp, out) = args.load("_converge")?;
            run_converge(&lp, &m, seeds, &cells, &out)
        }
        Some(Command::Check { problem, set }) => {
            let lp = LoadedProblem::from_file(&problem, &set)?;
            check(&lp)
        }
    }
}

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
fn setup_of(lp: &LoadedProblem) -> Result<Setup> {
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
        setup.model.noise,
        setup.model.weight_decay,
        setup.t_end
    )
}

/// Solve a problem into `out`, printing a short summary.
pub fn run_pde(lp: &LoadedProblem, out: &Path) -> Result<()> {
    let setup = setup_of(lp)?;
    let g = &setup.grid;
    out!("{}", describe(&setup));
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
    let mut writer = PdeOutput::create(out, &setup)?;
    let mut printer = Printer;
    let summary = solve::solve(&setup, &mut [&mut printer, &mut writer])?;
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
    out!("wrote {}", out.display());
    plot(out)
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
    let mut writer = ParticleOutput::create(out, &setup, &opts)?;
    let mut swarm = Swarm::new(&setup.model, &setup.initial, &opts);
    let summary = particles::run(
        &mut swarm,
        opts.dt,
        &setup.snapshot_times,
        &setup.f_points,
        &mut [&mut ParticlePrinter(&setup.grid), &mut writer],
    )?;
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
pub fn run_compare(lp: &LoadedProblem, out: &Path) -> Result<()> {
    let setup = setup_of(lp)?;
    let opts = setup.particle_options()?;
    let g = &setup.grid;
    out!(
        "{}; m = {} neurons, dt = {}, {} mode",
        describe(&setup),
        opts.m,
        opts.dt,
        opts.mode.name()
    );
    out!("{}", ComparePrinter::header(g));
    let start = Instant::now();
    output::create(out, &setup)?;
    let mut pde = PdeOutput::add(out, &setup)?;
    let mut net = ParticleOutput::add(out, &setup, &opts)?;
    let dirs = compare::directions(g.dim(), compare::SW2_DIRECTIONS);
    let mut distances = CompareOutput::add(out, g.dim(), &dirs)?;
    let run = run_side_by_side(
        &setup,
        &opts,
        &mut [&mut pde],
        &mut [&mut net],
        &mut [&mut distances, &mut ComparePrinter],
    )?;
    crate::io::hdf5::mark_complete(out)?;
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

/// The convergence study, its table, file and plot.
pub fn run_converge(
    lp: &LoadedProblem,
    ms: &[usize],
    seeds: usize,
    cells: &[usize],
    out: &Path,
) -> Result<()> {
    let check = |field: &str, ok: bool, v: String, allowed: &str| {
        if ok {
            Ok(())
        } else {
            Err(crate::Error::problem(field, v, allowed))
        }
    };
    check(
        "--m",
        !ms.is_empty() && ms.windows(2).all(|w| w[0] < w[1]) && ms[0] >= 2,
        format!("{ms:?}"),
        "increasing numbers of neurons ≥ 2",
    )?;
    check(
        "--seeds",
        seeds >= 2,
        seeds.to_string(),
        "at least 2 seeds (for standard errors)",
    )?;
    check(
        "--cells",
        !cells.is_empty() && cells.windows(2).all(|w| w[0] < w[1]),
        format!("{cells:?}"),
        "increasing cell counts",
    )?;
    Setup::new(lp)?.particle_options()?;
    let start = Instant::now();
    let mut progress = |s: &str| out!("  {s} ({:.1} s)", start.elapsed().as_secs_f64());
    let c = crate::converge::converge(lp, ms, seeds, cells, &mut progress)?;
    out!(
        "\ndistances at t_end against m (PDE on {}^D cells; mean ± s.e. over {seeds} seeds):",
        cells[cells.len() - 1]
    );
    out_inline!("{:>12}", "metric");
    for m in ms {
        out_inline!(" {:>19}", format!("m = {m}"));
    }
    out!(
        " {:>20} {:>10} {:>10}",
        "slope (points)",
        "floor from",
        "grid gap"
    );
    for (k, name) in c.metrics.iter().enumerate() {
        out_inline!("{name:>12}");
        for i in 0..ms.len() {
            out_inline!(
                " {:>19}",
                format!("{:.3e} ± {:.1e}", c.vs_m[k][i], c.vs_m_se[k][i])
            );
        }
        let floor = c.floor_m[k].map_or("none".to_string(), |m| format!("m = {m}"));
        let gap = if c.grid_gap[k].is_nan() {
            "—".to_string()
        } else {
            format!("{:.3e}", c.grid_gap[k])
        };
        let f = c.fit_m[k];
        out!(
            " {:>20} {floor:>10} {gap:>10}",
            format!("{:.3} ± {:.3} ({})", f.slope, f.stderr, f.points)
        );
    }
    out!("\nagainst h (particles at m = {}):", ms[ms.len() - 1]);
    out_inline!("{:>12}", "metric");
    for (n, h) in cells.iter().zip(&c.h) {
        out_inline!(" {:>19}", format!("{n} (h={h:.3})"));
    }
    out!(" {:>16}", "slope in h");
    for (k, name) in c.metrics.iter().enumerate() {
        out_inline!("{name:>12}");
        for j in 0..cells.len() {
            out_inline!(" {:>19.3e}", c.vs_h[k][j]);
        }
        out!(
            " {:>16}",
            format!("{:.3} ± {:.3}", c.fit_h[k].slope, c.fit_h[k].stderr)
        );
    }
    out!("expected: W1, SW2, f gap ∝ m^-1/2 and the risk gap ∝ 1/m until the grid's floor; a floor means the PDE grid, not m, limits the agreement");
    out!("slope against m: fitted over the m before the floor (all m when fewer than two)");
    if cells.len() > 1 {
        out!(
            "grid gap: the same distance between the PDE on {}^D and {}^D cells, the size of the grid's own error; distances against m level off near it",
            cells[cells.len() - 2],
            cells[cells.len() - 1]
        );
    }
    let list = vec![cells[cells.len() - 1].to_string(); Setup::new(lp)?.grid.dim()].join(",");
    let fine = Setup::new(&LoadedProblem::from_str(
        &lp.toml,
        &[format!("grid.cells=[{list}]")],
        &lp.base_dir,
    )?)?;
    output::write_converge(out, &fine, &c)?;
    out!("wrote {}", out.display());
    plot(out)
}

/// Draw the plots of a results file and list them.
pub fn plot(file: &Path) -> Result<()> {
    for p in crate::io::plot::plot_file(file)? {
        out!("wrote {}", p.display());
    }
    Ok(())
}

/// Validate and print the derived sizes of a problem.
pub fn check(lp: &LoadedProblem) -> Result<()> {
    let setup = Setup::new(lp)?;
    let g = &setup.grid;
    let q = setup.model.quad.len();
    let wax = usize::from(setup.model.net.frozen_a.is_none());
    let nw: usize = g.n[wax..].iter().product();
    let nwf: usize = (wax..g.dim()).map(|ax| nw / g.n[ax] * (g.n[ax] + 1)).sum();
    let bytes = 8 * (q * (nw + nwf) + g.len() * (4 + g.dim()));
    let rho0 = setup.rho0();
    let mut stepper = solve::make_stepper(&setup);
    let dt = stepper.stable_dt(&rho0);
    let d0 = diagnostics::compute(0.0, g, stepper.velocity(), &rho0, &[]);
    out!("problem {}: valid", setup.name);
    out!("  phase space   D = {} ({})", g.dim(), g.names.join(", "));
    out!("  cells         {} = {:?}", g.len(), g.n);
    out!(
        "  quadrature    {} nodes (d_x = {})",
        q,
        setup.model.net.dim_x
    );
    out!("  w points      {nw} centres, {nwf} faces");
    out!(
        "  memory        {:.1} MiB (tables and scratch)",
        bytes as f64 / 1048576.0
    );
    out!("  first dt      {dt:.4e} (cfl {})", setup.scheme.cfl);
    out!("  snapshots     {}", setup.snapshot_times.len());
    out!("  rho0 in box   {:.6}", setup.box_mass);
    out!("  boundary mass {:.3e}", d0.boundary_mass);
    out!("  risk at t=0   {:.6e}", d0.risk);
    if let Some(o) = setup.particles {
        let k = o.nodes_per_step(q);
        out!(
            "  particles     m = {}, dt = {}, {} mode, {} steps, positions {:.1} MiB",
            o.m,
            o.dt,
            o.mode.name(),
            (setup.t_end / o.dt).ceil(),
            8.0 * (o.m * g.dim()) as f64 / 1048576.0,
        );
        let pairs = particles::folded_pairs(&setup.model, &o);
        out!(
            "  particle step {k} nodes{}, {} loops",
            if pairs > 0 {
                format!(" ({pairs} pairs ±x folded)")
            } else {
                String::new()
            },
            particles::kernel::Simd::detect().name()
        );
    }
    Ok(())
}
