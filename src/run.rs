//! **The main job**: the PDE and the m-neuron network on the same problem,
//! compared snapshot by snapshot. The PDE drives; at each of its snapshots
//! the particles are advanced to the same time, written, and the distances of
//! MODEL.md §5 computed and written (`/pde`, `/particles`, `/compare` of one
//! file).

use crate::compare::{self, CompareRow};
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::io::hdf5::{self, CompareWriter, ParticleWriter, PdeWriter};
use crate::particles::{ParticleObserver, ParticleOptions, Swarm};
use crate::setup::Setup;
use crate::solve::{self, Observer};
use std::path::Path;
use std::time::{Duration, Instant};

/// Directions of the sliced W2 (stored in `/compare/directions`).
pub const SW2_DIRECTIONS: usize = 64;

/// Follows the PDE's snapshots with the particles and compares.
struct Joint<'a> {
    setup: &'a Setup,
    opts: ParticleOptions,
    swarm: Swarm,
    t: f64,
    dirs: Vec<Vec<f64>>,
    particles: Option<ParticleWriter>,
    compare: Option<CompareWriter>,
    rows: Vec<CompareRow>,
    on_row: &'a mut dyn FnMut(&CompareRow),
    times: Times,
}

/// Where the wall-clock time of a joint run went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Times {
    /// The whole run, files included.
    pub total: Duration,
    /// Particle steps.
    pub particles: Duration,
    /// Particle diagnostics (histogram, f_m) and the distances.
    pub compare: Duration,
    /// Particle and comparison output (the PDE's own output is in `pde`).
    pub write: Duration,
}

impl Times {
    /// The PDE: its steps, diagnostics and output (the rest of the total).
    pub fn pde(&self) -> Duration {
        self.total
            .saturating_sub(self.particles + self.compare + self.write)
    }
}

/// What a joint run returns.
#[derive(Debug, Clone)]
pub struct JointRun {
    pub rows: Vec<CompareRow>,
    pub times: Times,
}

impl Observer for Joint<'_> {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        // whole steps of dt, the last one shortened to land on the PDE's time
        let clock = Instant::now();
        while self.t < d.time {
            let lands = self.t + self.opts.dt >= d.time * (1.0 - 1e-12);
            let dt = if lands { d.time - self.t } else { self.opts.dt };
            self.swarm.step(dt);
            self.t = if lands { d.time } else { self.t + dt };
        }
        self.times.particles += clock.elapsed();
        let clock = Instant::now();
        let s = self.setup;
        let pd = self.swarm.diagnostics(d.time, &s.grid, &s.f_points);
        let row = compare::compare(
            &s.grid,
            &s.quad.weights,
            &self.dirs,
            (rho, &d.f_nodes, d.risk),
            &self.swarm.theta,
            (&pd.histogram, pd.outside),
            &pd.f_nodes,
            pd.risk,
            d.time,
        );
        self.times.compare += clock.elapsed();
        let clock = Instant::now();
        if let Some(w) = self.particles.as_mut() {
            w.snapshot(&pd, &self.swarm.theta)?;
        }
        if let Some(w) = self.compare.as_mut() {
            w.snapshot(&row)?;
        }
        self.times.write += clock.elapsed();
        (self.on_row)(&row);
        self.rows.push(row);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let clock = Instant::now();
        if let Some(w) = self.particles.as_mut() {
            w.finish()?;
        }
        if let Some(w) = self.compare.as_mut() {
            w.finish()?;
        }
        self.times.write += clock.elapsed();
        Ok(())
    }
}

/// Solve the PDE and train the network of `setup` side by side; write all
/// three groups to `out` when given; call `on_row` at every snapshot; return
/// the distances and where the time went.
pub fn run_joint(
    setup: &Setup,
    opts: &ParticleOptions,
    out: Option<&Path>,
    extra: &mut [&mut dyn Observer],
    on_row: &mut dyn FnMut(&CompareRow),
) -> Result<JointRun> {
    let start = Instant::now();
    let dirs = compare::directions(setup.grid.dim(), SW2_DIRECTIONS);
    let mut pde_writer = None;
    let (mut particles, mut compare) = (None, None);
    if let Some(path) = out {
        hdf5::create_file(path, setup)?;
        pde_writer = Some(PdeWriter::add(path, setup)?);
        particles = Some(ParticleWriter::add(path, setup, opts)?);
        compare = Some(CompareWriter::add(path, setup.grid.dim(), &dirs)?);
    }
    let mut joint = Joint {
        setup,
        opts: *opts,
        swarm: Swarm::new(setup, opts),
        t: 0.0,
        dirs,
        particles,
        compare,
        rows: Vec::new(),
        on_row,
        times: Times::default(),
    };
    {
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        if let Some(w) = pde_writer.as_mut() {
            observers.push(w);
        }
        observers.push(&mut joint);
        for o in extra.iter_mut() {
            observers.push(&mut **o);
        }
        solve::solve(setup, &mut observers)?;
    }
    if let Some(path) = out {
        hdf5::mark_complete(path)?;
    }
    let mut times = joint.times;
    times.total = start.elapsed();
    Ok(JointRun {
        rows: joint.rows,
        times,
    })
}
