//! **A run as a value**: one driver for the runs of a problem — the PDE
//! (`pde`), the network (`particles`), both side by side (`run`), and the
//! Gibbs state ([`steady`]) — that owns the run's life cycle: claim the
//! output, create its store (or cut an interrupted one back and continue
//! it), wire the observers, replay the theorems report, mark the results
//! complete and move them into place.
//!
//! Two entry points: [`run`] keeps the results in memory and returns them
//! as a value ([`Results`]: what a notebook or a sweep asks for);
//! [`run_to_file`] writes them to a file, crash-safe, and continues an
//! interrupted one. The command line only parses and prints: what a run
//! reports as it goes reaches it through a [`Listener`].

mod begin;
pub mod check;
mod ranked;
mod rate;
pub mod resume;
mod sinks;
pub mod slabs;
pub mod steady;
pub mod study;
mod whole;

use crate::compare::{self, CompareRow, DIRECTIONS, DISTANCES, SW2_DIRECTIONS};
use crate::diagnostics::{Diagnostics, PdeRecord};
use crate::error::{Error, Result};
use crate::io::hdf5::{Hdf5Store, Layout};
use crate::io::store::{
    Attr, Dim, Dims, GridAxis, Header, MemoryStore, Record, Results, Store, Var, VarSpec,
};
use crate::io::target::Target;
use crate::particles::{
    self, Mode, ParticleDiagnostics, ParticleOptions, ParticleRecord, ParticleSummary,
};
use crate::ranks::Shared;
use crate::setup::Setup;
use crate::side_by_side::{run_side_by_side, Start, Times};
use crate::solve::{HistoryRecord, Observer, RunSummary};
use crate::theorems::{Claim, Report};
use begin::Begin;
pub use ranked::{check_split, follow, run_to_file_on};
use sinks::{CompareOut, ParticlesOut, PdeOut, Sink};
use std::path::Path;
pub use whole::{converge_results, settle, write_to_file};

/// Which run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// The PDE alone (`/pde`, `/history`).
    Pde,
    /// The network alone (`/particles`).
    Particles,
    /// Both side by side, compared at every snapshot (`/pde`, `/history`,
    /// `/particles`, `/compare`).
    Run,
}

impl Command {
    /// Whether it solves the PDE.
    pub fn pde(self) -> bool {
        matches!(self, Command::Pde | Command::Run)
    }

    /// Whether it trains the network.
    pub fn particles(self) -> bool {
        matches!(self, Command::Particles | Command::Run)
    }
}

/// What is asked of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub command: Command,
    /// Also the lecture's theorems report (`/theorems`; with η > 0 the
    /// Gibbs state is solved for first, into `/gibbs`).
    pub theorems: bool,
    /// Draw the file's figures beside it ([`run_to_file`]; the lock on the
    /// target is held until they are written).
    pub plots: bool,
}

/// What a run reports as it goes. Every method does nothing unless
/// overridden.
pub trait Listener: Send {
    /// A line of news (the theorems report planned, a run resumed).
    fn note(&mut self, _text: &str) {}
    /// After every PDE step: its time and Δt.
    fn step(&mut self, _t: f64, _dt: f64) {}
    /// A row of the PDE's light history.
    fn history(&mut self, _rec: &HistoryRecord) {}
    /// A PDE snapshot, written.
    fn pde(&mut self, _d: &Diagnostics) {}
    /// A particle snapshot, written.
    fn particles(&mut self, _d: &ParticleDiagnostics) {}
    /// A row of distances, written.
    fn compare(&mut self, _row: &CompareRow) {}
    /// An iteration of `steady`'s start `name`, with its residual.
    fn iteration(&mut self, _name: &str, _iteration: usize, _residual: f64) {}
    /// A start of `steady` has converged (or stopped: see its `stop`).
    fn start(&mut self, _name: &str, _state: &crate::steady::Steady, _seconds: f64) {}
    /// The run is over (its results are about to be completed).
    fn finish(&mut self) {}
    /// Asked after every PDE step and every particle snapshot: true stops
    /// the run there with [`crate::Error::Interrupted`] (a file run keeps
    /// its running file, resumable).
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// A listener that hears nothing.
pub struct Silent;

impl Listener for Silent {}

/// What a finished run returns besides its results.
#[derive(Default)]
pub struct Outcome {
    pub pde: Option<RunSummary>,
    pub particles: Option<ParticleSummary>,
    /// The distances at each snapshot (`run`).
    pub rows: Vec<CompareRow>,
    /// Where the time of a side-by-side run went.
    pub times: Option<Times>,
    pub report: Option<Report>,
    /// Snapshots a resumed run found done (0 for a fresh run).
    pub resumed_after: usize,
    /// The figures drawn beside the file.
    pub plots: Vec<std::path::PathBuf>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("pde", &self.pde.as_ref().map(|s| s.steps))
            .field("particles", &self.particles.as_ref().map(|s| s.steps))
            .field("rows", &self.rows.len())
            .field("report", &self.report.as_ref().map(|r| r.rows.len()))
            .field("resumed_after", &self.resumed_after)
            .finish()
    }
}

/// The results' header of a setup: its problem and dimensions.
pub fn header(setup: &Setup) -> Header {
    let g = &setup.grid;
    Header {
        problem: setup.problem_toml.clone(),
        data_digest: setup.data_digest.clone(),
        dims: Dims {
            grid: (0..g.dim())
                .map(|k| GridAxis {
                    name: g.names[k].clone(),
                    edges: g.edges(k),
                })
                .collect(),
            point: setup.f_points.len(),
            input: setup.model.net.dim_x,
            neuron: setup.particles.map_or(0, |o| o.store),
            node: setup.model.quad.len(),
            direction: compare::directions(g.dim(), SW2_DIRECTIONS).len(),
            ..Dims::default()
        },
    }
}

/// Whether a particle run keeps a checkpoint: when fewer positions than
/// neurons are stored, or the positions are not the state (the
/// d-dimensional network of a reduced problem: (a, w ∈ ℝᵈ) behind its
/// (a, p, r)).
pub fn checkpoints(setup: &Setup, opts: &ParticleOptions) -> bool {
    opts.store < opts.m || particles::state_dim(&setup.model) != setup.model.dim()
}

const F_POINTS: VarSpec = VarSpec::new(
    "f_points",
    &[Dim::Point, Dim::Input],
    "points x where f is stored",
);
const F_TARGET: VarSpec =
    VarSpec::new("f_target", &[Dim::Point], "f* at f_points (NaN for labels)");

/// `/particles`' attributes: m, seed, dt, mode, risk (how R(μ^m) is
/// taken), and batch for sgd.
fn particle_attrs(setup: &Setup, o: &ParticleOptions) -> Vec<(&'static str, Attr)> {
    let mut attrs = vec![
        ("m", Attr::U64(o.m as u64)),
        ("seed", Attr::U64(o.seed)),
        ("dt", Attr::F64(o.dt)),
        ("mode", Attr::Str(o.mode.name().into())),
        (
            "risk",
            Attr::Str(particles::risk_method(&setup.model).describe()),
        ),
    ];
    if let Mode::Sgd { batch } = o.mode {
        attrs.push(("batch", Attr::U64(batch as u64)));
    }
    attrs
}

/// Add the groups a command writes snapshot by snapshot, with their
/// attributes and constants.
fn declare(sink: &Sink, setup: &Setup, command: Command) -> Result<()> {
    let points: Vec<f64> = setup.f_points.iter().flatten().copied().collect();
    let target: Vec<f64> = (setup.f_points.iter())
        .map(|x| setup.model.target_at(x).unwrap_or(f64::NAN))
        .collect();
    let f = [Var::array(F_POINTS, &points), Var::array(F_TARGET, &target)];
    let dirs: Vec<f64> = compare::directions(setup.grid.dim(), SW2_DIRECTIONS).concat();
    let join = |f: fn(&compare::Distance) -> &'static str| {
        Attr::Str(DISTANCES.iter().map(f).collect::<Vec<_>>().join(","))
    };
    sink.store(|s| {
        if command.pde() {
            s.add_group(pde_group(), &[], &f)?;
        }
        if command.particles() {
            let o = setup.particle_options()?;
            s.add_group(particle_group(), &particle_attrs(setup, &o), &f)?;
        }
        if command == Command::Run {
            // what the networks are compared with: sg's transient lags the
            // PDE's (first order in time), split's follows it
            let scheme = match setup.scheme.kind {
                crate::scheme::SchemeKind::Split => "split: the PDE's transient (second order in time with Strang splitting)",
                crate::scheme::SchemeKind::Sg => "sg: first order in time, its transient lags the PDE's (the distances carry that lag; use split for a run)",
            };
            let attrs = [
                ("metrics", join(|d| d.key)),
                ("labels", join(|d| d.label)),
                ("pde_scheme", Attr::Str(scheme.into())),
            ];
            s.add_group(
                CompareRow::default().group(),
                &attrs,
                &[Var::array(DIRECTIONS, &dirs)],
            )?;
        }
        Ok(())
    })
}

fn pde_group() -> &'static str {
    PdeRecord {
        diag: &Diagnostics::default(),
        rho: &[],
    }
    .group()
}

fn particle_group() -> &'static str {
    ParticleRecord {
        diag: &ParticleDiagnostics::default(),
        positions: &[],
    }
    .group()
}

/// The layouts of the groups a command writes as it goes (what a resumed
/// file is cut back on).
pub fn layouts(command: Command) -> Vec<Layout> {
    let (d, pd) = (Diagnostics::default(), ParticleDiagnostics::default());
    let layout = |r: &dyn Record, rows: bool| Layout {
        group: r.group(),
        record: r.specs(),
        rows,
    };
    let mut out = Vec::new();
    if command.pde() {
        out.push(layout(&PdeRecord { diag: &d, rho: &[] }, false));
        out.push(layout(&HistoryRecord::default(), true));
    }
    if command.particles() {
        out.push(layout(
            &ParticleRecord {
                diag: &pd,
                positions: &[],
            },
            false,
        ));
    }
    if command == Command::Run {
        out.push(layout(&CompareRow::default(), false));
    }
    out
}

/// Run the command from `begin` into `store` (its groups declared here),
/// the theorems report among the PDE's observers.
fn drive(
    setup: &Setup,
    command: Command,
    store: &mut dyn Store,
    begin: Begin,
    mut report: Option<Report>,
    listener: &mut dyn Listener,
    ranks: Option<&Shared>,
) -> Result<Outcome> {
    let sink = Sink::new(store, listener);
    declare(&sink, setup, command)?;
    let mut outcome = Outcome {
        resumed_after: begin.k,
        ..Outcome::default()
    };
    let mut pde = PdeOut {
        sink: &sink,
        rows: Vec::new(),
    };
    let mut pde_observers: Vec<&mut dyn Observer> = vec![&mut pde];
    if let Some(r) = report.as_mut() {
        pde_observers.push(r);
    }
    let particle_out = |o: &ParticleOptions| ParticlesOut {
        sink: &sink,
        stored: o.store,
        checkpoint: checkpoints(setup, o),
        warned: false,
    };
    let mut pde_state = begin.pde; // moved, not copied: the grid once
    let mut state = || pde_state.take().expect("a PDE state for a PDE run");
    match command {
        Command::Pde => {
            let file = begin.pde_file.as_deref();
            outcome.pde = Some(slabs::solve_pde(
                setup,
                state(),
                file,
                &mut pde_observers,
                ranks,
            )?);
        }
        Command::Particles => {
            let o = setup.particle_options()?;
            let mut swarm = begin.swarm.expect("neurons for a particle run");
            let mut net = particle_out(&o);
            let summary = particles::run_from(
                &mut *swarm,
                o.dt,
                &setup.snapshot_times,
                (begin.t_particles, begin.k),
                &setup.f_points,
                &setup.grid,
                &mut [&mut net],
            )?;
            outcome.particles = Some(summary);
        }
        Command::Run => {
            let o = setup.particle_options()?;
            let start = Start {
                pde: state(),
                swarm: begin.swarm.expect("neurons for a side-by-side run"),
                t_particles: begin.t_particles,
            };
            let (mut net, mut distances) = (particle_out(&o), CompareOut { sink: &sink });
            let run = run_side_by_side(
                setup,
                &o,
                start,
                &mut pde_observers,
                &mut [&mut net],
                &mut [&mut distances],
            )?;
            outcome.rows = run.rows;
            outcome.times = Some(run.times);
        }
    }
    drop(pde_observers);
    if let (Some(r), true) = (report.as_mut(), command.pde()) {
        let mut converged = Ok(());
        sink.tell(|l| converged = rate::converge_in_dt(setup, r, l));
        converged?;
    }
    if let Some(r) = &report {
        let columns = r.columns();
        let gibbs = matches!(r.claim, Claim::Gibbs(_));
        sink.store(|s| {
            s.add_whole("theorems", &r.attrs(), &columns.vars(gibbs))?;
            if let Some(rho) = r.gibbs() {
                s.add_whole("gibbs", &[], &[rho])?;
            }
            Ok(())
        })?;
    }
    sink.tell(|l| l.finish());
    outcome.report = report;
    Ok(outcome)
}

/// The theorems report of a run, when asked (for η > 0 the Gibbs state is
/// solved for first).
fn theorems_report(
    setup: &Setup,
    asked: bool,
    listener: &mut dyn Listener,
) -> Result<Option<Report>> {
    if !asked {
        return Ok(None);
    }
    let report = Report::new(&setup.model, &setup.grid, &setup.rho0())?;
    listener.note(&match &report.claim {
        Claim::Gibbs(st) => format!(
            "theorem 2 (η > 0): Gibbs state solved first, F* = {:.10e} ({} Newton iterations, stationarity {:.1e})",
            st.free_energy, st.iterations, st.stationarity
        ),
        Claim::GlobalMin { best_risk } => format!(
            "theorem 1 (η = 0): ρ0 is positive on {:.1} % of the cells (min/max {:.1e}); the minimum risk is {}",
            100.0 * report.support.0,
            report.support.1,
            best_risk.map_or("not known (not a teacher of the network's units, or λ > 0)".to_string(), |b| format!("{b} (a teacher the network represents)"))
        ),
    });
    if let Claim::Gibbs(st) = &report.claim {
        if st.boundary_mass > crate::solve::BOUNDARY_WARNING {
            let g = &setup.grid;
            let open = crate::diagnostics::open_side(g, setup.model.reduction.is_some());
            listener.note(&format!(
                "warning: the Gibbs state's outermost cells hold {:.2e} of its mass (above {}; /theorems@gibbs_boundary_mass), so the walls cut it off and F* is the box's: {}",
                st.boundary_mass,
                crate::solve::BOUNDARY_WARNING,
                crate::grid::fit::boundary_advice(g, &st.rho, open)
            ));
        }
    }
    Ok(Some(report))
}

/// Run a problem in memory: its outcome and its results as a value (the
/// same groups and numbers as the file of [`run_to_file`]).
pub fn run(
    setup: &Setup,
    opts: Options,
    listener: &mut dyn Listener,
) -> Result<(Outcome, Results)> {
    let mut store = MemoryStore::new(&header(setup));
    let outcome = run_into(setup, opts, &mut store, listener)?;
    store.complete()?;
    Ok((outcome, store.into_results()))
}

/// Run a problem from its start into any store made with its
/// [`header`] (the store is not completed: its owner decides).
pub fn run_into(
    setup: &Setup,
    opts: Options,
    store: &mut dyn Store,
    listener: &mut dyn Listener,
) -> Result<Outcome> {
    check::refusal(setup, opts.command.particles(), None)?;
    let report = theorems_report(setup, opts.theorems, listener)?;
    let begin = Begin::fresh(setup, opts.command, None)?;
    drive(setup, opts.command, store, begin, report, listener, None)
}

/// Run a problem into the file `out`, or (`resume`) continue the
/// interrupted run of `out` (its `OUT.running.h5`) from its last snapshot
/// all groups hold. The file is complete at `out` only when the run is;
/// see [`crate::io::target`] for what a failed or killed run leaves.
pub fn run_to_file(
    setup: &Setup,
    opts: Options,
    out: &Path,
    resume: bool,
    listener: &mut dyn Listener,
) -> Result<Outcome> {
    to_file(setup, opts, out, resume, listener, None)
}

fn to_file(
    setup: &Setup,
    opts: Options,
    out: &Path,
    resume: bool,
    listener: &mut dyn Listener,
    ranks: Option<&Shared>,
) -> Result<Outcome> {
    check::refusal(setup, opts.command.particles(), ranks)?;
    let mut report = theorems_report(setup, opts.theorems, listener)?;
    let target = match resume {
        true => Target::claim_resumed(out)?,
        false => Target::claim(out)?,
    };
    for note in target.notes() {
        listener.note(note);
    }
    if target.finished() {
        // the finished run must be this problem's, as a resumed one must
        let stored = crate::io::hdf5::Reader::open(out)?.root_attr("problem")?;
        if stored != setup.problem_toml {
            return Err(Error::problem(
                "--resume",
                out.display(),
                "a run of the same problem (the finished run moved into place is of another)",
            ));
        }
        if let Some(r) = ranks {
            r.broadcast(&mut [ranked::NOTHING_TO_RUN]);
        }
        return Ok(Outcome::default());
    }
    let resume = target.resumed();
    let result = (|| -> Result<Outcome> {
        let file = target.running();
        let header = header(setup);
        // a run killed after one group's first snapshot but before the
        // others' has no snapshot to continue from: it starts again
        let k = match resume {
            true => resume::check(file, setup, opts.command)?,
            false => 0,
        };
        if let Some(r) = ranks {
            r.broadcast(&mut [k as u64]);
        }
        if resume && k == 0 {
            listener.note(&format!(
                "{} held no snapshot that every group had written: started again",
                file.display()
            ));
        }
        let (mut store, begin) = if k > 0 {
            let times = &setup.snapshot_times;
            let until = k.checked_sub(1).map_or(f64::NEG_INFINITY, |i| times[i]);
            let store = Hdf5Store::reopen(file, &header, &layouts(opts.command), k, until)?;
            listener.note(&format!(
                "resuming {} after snapshot {k} of {}",
                file.display(),
                times.len()
            ));
            if let Some(r) = report.as_mut() {
                resume::replay(r, file, setup, k)?;
            }
            (store, Begin::resumed(file, setup, opts.command, k, ranks)?)
        } else {
            let begin = Begin::fresh(setup, opts.command, ranks)?;
            (Hdf5Store::create(file, &header)?, begin)
        };
        let outcome = drive(
            setup,
            opts.command,
            &mut store,
            begin,
            report,
            listener,
            ranks,
        )?;
        store.complete()?;
        Ok(outcome)
    })();
    let (mut outcome, plots) = settle(target, result, opts.plots)?;
    outcome.plots = plots.unwrap_or_default();
    Ok(outcome)
}
