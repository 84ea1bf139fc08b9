//! **Where a run starts**: ρ0 and fresh neurons, or the state after a
//! running file's first k snapshots.

use super::{resume, Command};
use crate::error::Result;
use crate::io::hdf5::Reader;
use crate::particles::{self, Neurons};
use crate::ranks::Shared;
use crate::setup::Setup;
use crate::solve::RunState;
use std::path::{Path, PathBuf};

/// Whether the PDE of `command` is split over `ranks` (`pde`; in `run`
/// rank 0 solves it alone).
fn split(command: Command, ranks: Option<&Shared>) -> bool {
    ranks.is_some() && command == Command::Pde
}

/// Where a run starts: after its first `k` snapshots, from the PDE's
/// state and the neurons at their time.
pub(super) struct Begin {
    pub k: usize,
    pub pde: Option<RunState>,
    /// A PDE split over ranks resumed: the running file rank 0 reads each
    /// slab of its state from (the state's ρ is then empty).
    pub pde_file: Option<PathBuf>,
    pub swarm: Option<Box<dyn Neurons>>,
    pub t_particles: f64,
}

impl Begin {
    /// ρ0 and fresh neurons at t = 0 (split over `ranks` when given).
    pub fn fresh(setup: &Setup, command: Command, ranks: Option<&Shared>) -> Result<Self> {
        Ok(Begin {
            k: 0,
            // a PDE split over ranks builds ρ0 slab by slab
            pde: command.pde().then(|| match split(command, ranks) {
                true => RunState::start(Vec::new()),
                false => RunState::start(setup.rho0()),
            }),
            pde_file: None,
            swarm: match command.particles() {
                true => {
                    let o = setup.particle_options()?;
                    let (model, initial) = (&setup.model, &setup.initial);
                    Some(particles::network_on(model, initial, &o, ranks.cloned())?)
                }
                false => None,
            },
            t_particles: 0.0,
        })
    }

    /// After the first `k` snapshots of the running file `file` (split
    /// over ranks, rank 0 reads it and sends each rank its neurons).
    pub fn resumed(
        file: &Path,
        setup: &Setup,
        command: Command,
        k: usize,
        ranks: Option<&Shared>,
    ) -> Result<Self> {
        let mut b = Begin::fresh(setup, command, ranks)?;
        if k == 0 {
            return Ok(b);
        }
        let r = Reader::open(file)?;
        match (command.pde(), split(command, ranks)) {
            (true, false) => b.pde = Some(resume::pde_state(&r, setup, k)?),
            (true, true) => {
                // read slab by slab as each rank's turn comes
                b.pde = Some(resume::pde_point(&r, k)?.1);
                b.pde_file = Some(file.to_path_buf());
            }
            (false, _) => {}
        }
        if let Some(swarm) = b.swarm.as_mut() {
            let o = setup.particle_options()?;
            let (theta, steps, word) = resume::particle_state(&r, setup, &o, k)?;
            swarm.restore(&theta, steps, word);
        }
        b.k = k;
        b.t_particles = setup.snapshot_times[k - 1];
        Ok(b)
    }
}
