//! **One run over several processes** (`mpirun -n N`): the few collective
//! operations a run split over ranks needs, as a trait the numerics call
//! without knowing MPI. The MPI implementation ([`mpi`], with `--features
//! mpi`) is the only one; a run without ranks passes `None` and takes its
//! serial path, untouched.
//!
//! Every reduction a split run makes is a gather in rank order followed by
//! the same fixed-order sum as the serial code's, never an MPI reduction
//! (whose order is the library's): that is what gives the same bits on any
//! number of ranks.

#[cfg(feature = "mpi")]
pub mod mpi;

use std::sync::Arc;

/// The collectives of a run split over ranks. Every rank calls each of them
/// in the same order; `counts[r]` is the length of rank r's part.
pub trait Ranks: Send + Sync {
    /// This process's rank (0 writes the files).
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `local` in rank order, into `all` on every rank.
    fn all_gather(&self, local: &[f64], counts: &[usize], all: &mut [f64]);
    /// Every rank's `local` in rank order, into `all` on rank 0 (`all` is
    /// not touched elsewhere).
    fn gather(&self, local: &[f64], counts: &[usize], all: &mut [f64]);
    /// Rank 0's `all`, cut by `counts`, into each rank's `local`.
    fn scatter(&self, all: &[f64], counts: &[usize], local: &mut [f64]);
    /// Every rank sends `send[r]` (its parts, cut by `send_counts`, in rank
    /// order) to rank r, and receives every rank's part for it into `recv`
    /// (cut by `recv_counts`, in rank order): a transpose of blocks.
    fn all_to_all(
        &self,
        send: &[f64],
        send_counts: &[usize],
        recv: &mut [f64],
        recv_counts: &[usize],
    );
    /// Rank 0's `values` onto every rank.
    fn broadcast(&self, values: &mut [u64]);
    /// The least of every rank's `value`.
    fn min(&self, value: u64) -> u64;
    /// Swap with the neighbouring ranks of a line (0, 1, …, N − 1): this
    /// rank's `to_below` arrives in rank r − 1's `from_above`, its
    /// `to_above` in rank r + 1's `from_below` (the slices at the line's
    /// ends are empty and unused). Every rank calls it at once.
    fn swap_neighbours(
        &self,
        to_below: &[f64],
        to_above: &[f64],
        from_below: &mut [f64],
        from_above: &mut [f64],
    );
}

/// A shared handle on the ranks of a run.
pub type Shared = Arc<dyn Ranks>;

/// Cut `n` items into `parts` contiguous runs as even as can be (the first
/// `n % parts` one longer): the start of each run, and `n` last.
pub fn even_cuts(n: usize, parts: usize) -> Vec<usize> {
    let (q, r) = (n / parts, n % parts);
    let mut cuts = vec![0];
    for p in 0..parts {
        cuts.push(cuts[p] + q + usize::from(p < r));
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_cuts_cover_every_item_once_and_differ_by_one_at_most() {
        for n in [1, 7, 64, 100] {
            for parts in 1..=n.min(9) {
                let c = even_cuts(n, parts);
                assert_eq!((c[0], c[parts]), (0, n));
                let lens: Vec<usize> = c.windows(2).map(|w| w[1] - w[0]).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(*lo >= 1 && hi - lo <= 1, "{n} in {parts}: {lens:?}");
            }
        }
    }
}
