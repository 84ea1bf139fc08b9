//! **The PDE and the network side by side** (`mfpde run`): the PDE drives;
//! at each of its snapshots the m-neuron network of the same problem is
//! advanced to the same time and the distances of [`crate::compare`] are
//! taken. What is seen goes to three kinds of observers: the PDE's
//! ([`Observer`]), the particles' ([`ParticleObserver`]) and the
//! distances' ([`CompareObserver`]).

use crate::compare::{self, CellOrders, CompareObserver, CompareRow, Context, Measure, Side};
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::particles::{self, Neurons, ParticleObserver, ParticleOptions};
use crate::setup::Setup;
use crate::solve::{self, Observer, RunState};
use std::time::{Duration, Instant};

/// Where the wall-clock time of a side-by-side run went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Times {
    /// The whole run, files included.
    pub total: Duration,
    /// Particle steps.
    pub particles: Duration,
    /// Particle diagnostics (histogram, f_m) and the distances.
    pub compare: Duration,
    /// Particle and comparison observers (output); the PDE's own output is
    /// in [`Times::pde`].
    pub write: Duration,
}

impl Times {
    /// The PDE: its steps, diagnostics and output (the rest of the total).
    pub fn pde(&self) -> Duration {
        self.total
            .saturating_sub(self.particles + self.compare + self.write)
    }
}

/// What a side-by-side run returns.
#[derive(Debug, Clone)]
pub struct SideBySide {
    pub rows: Vec<CompareRow>,
    pub times: Times,
}

/// Follows the PDE's snapshots with the particles and compares.
struct Follower<'a, 'o> {
    setup: &'a Setup,
    dt: f64,
    swarm: Box<dyn Neurons>,
    t: f64,
    dirs: Vec<Vec<f64>>,
    /// The grid's cell centres in order along `dirs`, found at the first
    /// snapshot.
    orders: CellOrders,
    particle_observers: &'o mut [&'o mut dyn ParticleObserver],
    compare_observers: &'o mut [&'o mut dyn CompareObserver],
    rows: Vec<CompareRow>,
    times: Times,
}

impl Observer for Follower<'_, '_> {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let clock = Instant::now();
        self.swarm.advance(&mut self.t, d.time, self.dt)?;
        self.times.particles += clock.elapsed();
        let clock = Instant::now();
        let s = self.setup;
        let pd = particles::observe(&mut *self.swarm, d.time, &s.f_points, &s.grid)?;
        let theta = self.swarm.positions();
        let ctx = Context {
            weights: &s.model.quad.weights,
            dirs: &self.dirs,
            orders: &self.orders,
        };
        let pde = Side {
            measure: Measure::Density { grid: &s.grid, rho },
            f_nodes: &d.f_nodes,
            risk: d.risk,
        };
        let net = Side {
            measure: Measure::Neurons {
                theta,
                hist: &pd.histogram,
                outside: pd.outside,
            },
            f_nodes: &pd.f_nodes,
            risk: pd.risk,
        };
        let row = compare::compare(&ctx, &pde, &net, d.time);
        if let Some(what) = crate::error::first_non_finite(row.named().map(|(d, v)| (d.key, v))) {
            return Err(crate::Error::Run(format!(
                "at t = {}: the distance {what} between the PDE and the network is not finite",
                d.time
            )));
        }
        self.times.compare += clock.elapsed();
        let clock = Instant::now();
        for o in self.particle_observers.iter_mut() {
            o.snapshot(&pd, &*self.swarm)?;
        }
        for o in self.compare_observers.iter_mut() {
            o.row(&row)?;
        }
        self.times.write += clock.elapsed();
        self.rows.push(row);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let clock = Instant::now();
        for o in self.particle_observers.iter_mut() {
            o.finish()?;
        }
        for o in self.compare_observers.iter_mut() {
            o.finish()?;
        }
        self.times.write += clock.elapsed();
        Ok(())
    }
}

/// Where a side-by-side run starts: the PDE's state, the neurons and their
/// time.
pub struct Start {
    pub pde: RunState,
    pub swarm: Box<dyn Neurons>,
    pub t_particles: f64,
}

impl Start {
    /// ρ0 and fresh neurons at t = 0.
    ///
    /// # Errors
    /// What [`particles::network`] refuses.
    pub fn fresh(setup: &Setup, opts: &ParticleOptions) -> Result<Self> {
        Ok(Start {
            pde: RunState::start(setup.rho0()),
            swarm: particles::network(&setup.model, &setup.initial, opts)?,
            t_particles: 0.0,
        })
    }
}

/// Solve the PDE of `setup` and train its network side by side from
/// `start`, reporting to the observers of each kind; return the distances
/// and where the time went.
pub fn run_side_by_side<'o>(
    setup: &Setup,
    opts: &ParticleOptions,
    start: Start,
    pde_observers: &mut [&mut dyn Observer],
    particle_observers: &'o mut [&'o mut dyn ParticleObserver],
    compare_observers: &'o mut [&'o mut dyn CompareObserver],
) -> Result<SideBySide> {
    let clock = Instant::now();
    let mut follower = Follower {
        setup,
        dt: opts.dt,
        swarm: start.swarm,
        t: start.t_particles,
        dirs: compare::directions(setup.grid.dim(), compare::SW2_DIRECTIONS),
        orders: CellOrders::default(),
        particle_observers,
        compare_observers,
        rows: Vec::new(),
        times: Times::default(),
    };
    {
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        for o in pde_observers.iter_mut() {
            observers.push(&mut **o);
        }
        observers.push(&mut follower);
        let mut stepper = solve::make_stepper(setup);
        solve::solve_from(setup, &mut stepper, start.pde, &mut observers)?;
    }
    let mut times = follower.times;
    times.total = clock.elapsed();
    Ok(SideBySide {
        rows: follower.rows,
        times,
    })
}
