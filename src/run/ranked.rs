//! **A run split over ranks** (`mpirun -n N mfpde particles|run`): rank 0
//! runs [`run_to_file_on`] — the file's whole life cycle, as
//! [`run_to_file`] — while the others [`follow`], taking their share of
//! every step and snapshot and writing nothing. Rank 0 sends them how many
//! snapshots a resumed file holds (and, through the network's restore,
//! their neurons); every other exchange is inside the network's step and
//! diagnostics ([`crate::particles`]).

use super::{to_file, Begin, Command, Listener, Options, Outcome};
use crate::error::Result;
use crate::particles;
use crate::ranks::Shared;
use crate::setup::Setup;
use std::path::Path;

/// [`run_to_file`] on rank 0 of a run split over `ranks` (`mpirun -n N mfpde
/// particles|run`): the others call [`follow`] at the same time. Rank 0
/// writes the file, the same bytes as the run on one process; in `run` it
/// also solves the PDE, alone, while the network's steps are shared.
///
/// # Errors
/// Those of [`run_to_file`], and a command or network not split yet, by
/// name. After an error the caller stops every rank (the others wait in a
/// collective).
pub fn run_to_file_on(
    setup: &Setup,
    opts: Options,
    out: &Path,
    resume: bool,
    listener: &mut dyn Listener,
    ranks: &Shared,
) -> Result<Outcome> {
    check_split(setup, opts.command, ranks)?;
    to_file(setup, opts, out, resume, listener, Some(ranks))
}

/// Refuse, by name, a run that is not split over ranks yet (every rank
/// alike: call it on each before any other collective).
///
/// # Errors
/// [`Error::Problem`] naming `mpirun -n`.
pub fn check_split(setup: &Setup, command: Command, ranks: &Shared) -> Result<()> {
    super::check::refusal(setup, command.particles(), Some(ranks))?;
    if command == Command::Pde {
        return super::slabs::plan(setup, ranks.size()).map(drop);
    }
    // refused alike on every rank, before any collective
    let o = setup.particle_options()?;
    particles::split_refusal(&setup.model, o.m, ranks.size())
}

/// What a rank other than 0 does in a run split over `ranks`: its share of
/// every step and snapshot of [`run_to_file_on`], writing nothing.
///
/// # Errors
/// Those of [`run_to_file_on`] (the same on every rank), and a neuron that
/// stops being finite.
pub fn follow(setup: &Setup, command: Command, ranks: &Shared) -> Result<()> {
    check_split(setup, command, ranks)?;
    let mut k = [0u64];
    ranks.broadcast(&mut k);
    if k[0] == NOTHING_TO_RUN {
        return Ok(());
    }
    let k = k[0] as usize;
    if command == Command::Pde {
        // rank 0 sends the slab, the time and the steps of snapshot k
        return super::slabs::solve_on(setup, ranks, None, &mut []).map(drop);
    }
    let o = setup.particle_options()?;
    // the network's share (in `run` rank 0 alone solves the PDE)
    let begin = Begin::fresh(setup, Command::Particles, Some(ranks))?;
    let mut swarm = begin.swarm.expect("neurons for a particle run");
    let t = match k {
        0 => 0.0,
        k => {
            swarm.restore(&[], 0, 0);
            setup.snapshot_times[k - 1]
        }
    };
    let times = &setup.snapshot_times;
    particles::run_from(
        &mut *swarm,
        o.dt,
        times,
        (t, k),
        &setup.f_points,
        &setup.grid,
        &mut [],
    )
    .map(drop)
}

/// What rank 0 sends the others in place of the snapshots done when the
/// run is already finished.
pub(super) const NOTHING_TO_RUN: u64 = u64::MAX;
