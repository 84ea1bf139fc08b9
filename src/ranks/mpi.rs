//! [`super::Ranks`] over MPI's world communicator (Open MPI's `libmpi`
//! through the `mpi` crate; built with `--features mpi`).

use super::{Ranks, Shared};
use crate::error::{Error, Result};
use mpi::datatype::{Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::point_to_point::send_receive_into;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Threading;
use std::sync::{Arc, Mutex};

/// Whether this process was started by `mpirun` or `srun` (Open MPI's
/// or PMI's environment), so that a run should split over its ranks.
pub fn launched() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
}

/// The ranks on one node (to share its cores between them).
pub fn local_size() -> Option<usize> {
    std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// The world communicator. MPI is initialised with at least
/// `MPI_THREAD_SERIALIZED` and every call holds `lock`, so calls from any
/// thread are never concurrent: that is what makes it `Send + Sync`.
pub struct MpiRanks {
    world: SimpleCommunicator,
    lock: Mutex<()>,
    rank: usize,
    size: usize,
}

// SAFETY: MPI runs at MPI_THREAD_SERIALIZED or above (checked in `start`),
// which allows calls from any thread provided no two are concurrent; every
// method takes `lock` around its call.
unsafe impl Send for MpiRanks {}
unsafe impl Sync for MpiRanks {}

/// Initialise MPI: the universe (MPI is finalised when it is dropped) and
/// the world's ranks.
///
/// # Errors
/// [`Error::Run`] when MPI was initialised already, or gives less than
/// `MPI_THREAD_SERIALIZED`.
pub fn start() -> Result<(Universe, Shared)> {
    let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
        .ok_or_else(|| Error::Run("MPI was initialised already".into()))?;
    if threading < Threading::Serialized {
        return Err(Error::Run(format!(
            "the MPI library gives thread support {threading:?}; mfpde's threads call it one at a time, which needs MPI_THREAD_SERIALIZED"
        )));
    }
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let ranks = MpiRanks {
        world,
        lock: Mutex::new(()),
        rank,
        size,
    };
    Ok((universe, Arc::new(ranks)))
}

/// MPI's counts and displacements of parts of lengths `counts`.
fn layout(counts: &[usize]) -> (Vec<i32>, Vec<i32>) {
    let int = |n: usize| i32::try_from(n).expect("MPI counts fit in i32 (m ≤ 10⁸, D ≤ 4)");
    let mut displs = Vec::with_capacity(counts.len());
    let mut at = 0;
    for &c in counts {
        displs.push(int(at));
        at += c;
    }
    int(at);
    (counts.iter().map(|&c| int(c)).collect(), displs)
}

impl MpiRanks {
    fn hold(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Ranks for MpiRanks {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, local: &[f64], counts: &[usize], all: &mut [f64]) {
        let _held = self.hold();
        let (c, d) = layout(counts);
        let mut parts = PartitionMut::new(all, c, d);
        self.world.all_gather_varcount_into(local, &mut parts);
    }

    fn gather(&self, local: &[f64], counts: &[usize], all: &mut [f64]) {
        let _held = self.hold();
        let root = self.world.process_at_rank(0);
        if self.rank == 0 {
            let (c, d) = layout(counts);
            let mut parts = PartitionMut::new(all, c, d);
            root.gather_varcount_into_root(local, &mut parts);
        } else {
            root.gather_varcount_into(local);
        }
    }

    fn all_to_all(
        &self,
        send: &[f64],
        send_counts: &[usize],
        recv: &mut [f64],
        recv_counts: &[usize],
    ) {
        let _held = self.hold();
        let (sc, sd) = layout(send_counts);
        let (rc, rd) = layout(recv_counts);
        let sent = Partition::new(send, sc, sd);
        let mut parts = PartitionMut::new(recv, rc, rd);
        self.world.all_to_all_varcount_into(&sent, &mut parts);
    }

    fn scatter(&self, all: &[f64], counts: &[usize], local: &mut [f64]) {
        let _held = self.hold();
        let root = self.world.process_at_rank(0);
        if self.rank == 0 {
            let (c, d) = layout(counts);
            let parts = Partition::new(all, c, d);
            root.scatter_varcount_into_root(&parts, local);
        } else {
            root.scatter_varcount_into(local);
        }
    }

    fn broadcast(&self, values: &mut [u64]) {
        let _held = self.hold();
        self.world.process_at_rank(0).broadcast_into(values);
    }

    fn min(&self, value: u64) -> u64 {
        let _held = self.hold();
        let mut out = value;
        self.world
            .all_reduce_into(&value, &mut out, mpi::collective::SystemOperation::min());
        out
    }

    fn swap_neighbours(
        &self,
        to_below: &[f64],
        to_above: &[f64],
        from_below: &mut [f64],
        from_above: &mut [f64],
    ) {
        let _held = self.hold();
        let (r, n) = (self.rank, self.size);
        if n == 1 {
            return;
        }
        let at = |k: usize| self.world.process_at_rank(k as i32);
        // upwards, then downwards: each a chain ending at a rank that only
        // receives, so every blocking send is met
        if r == 0 {
            at(1).send(to_above);
        } else if r + 1 == n {
            at(r - 1).receive_into(from_below);
        } else {
            send_receive_into(to_above, &at(r + 1), from_below, &at(r - 1));
        }
        if r + 1 == n {
            at(r - 1).send(to_below);
        } else if r == 0 {
            at(1).receive_into(from_above);
        } else {
            send_receive_into(to_below, &at(r - 1), from_above, &at(r + 1));
        }
    }
}

/// Stop every rank of the job at once (a rank that failed: the others
/// would wait for it in their next collective). Exit code 2, as the
/// binary's errors.
pub fn abort() -> ! {
    SimpleCommunicator::world().abort(2)
}
