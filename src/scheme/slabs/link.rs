//! How the slabs of [`super::SlabStepper`] are coupled: copies in one
//! process, or messages between ranks (one slab each).

use crate::density::exchange;
use crate::grid::Slab;
use crate::ranks::Shared;

/// The slabs' couplings: copies and sums in one process, or messages and
/// gathers between ranks (one slab each).
pub(super) enum Link {
    Local,
    Ranks(Box<Between>),
}

/// What the slabs of a run over ranks exchange through.
pub(super) struct Between {
    pub(super) ranks: Shared,
    /// Every rank's slab, and its advection's, in rank order.
    pub(super) geometry: Vec<Slab>,
    pub(super) moved: Vec<Slab>,
    /// Every rank's share of the moments; the lengths gathered.
    pub(super) every: Vec<f64>,
    pub(super) counts: Vec<usize>,
    /// One value of every rank (the CFL rate, an extreme), and the
    /// lengths gathered.
    pub(super) pairs: Vec<f64>,
    pub(super) ones: Vec<usize>,
    /// The rows sent to the neighbours below and above.
    pub(super) to_below: Vec<f64>,
    pub(super) to_above: Vec<f64>,
}

impl Link {
    /// Fill the halos of this process's slabs `local` (the advection's
    /// when `advected`) of `values`: in one process every halo row, between
    /// ranks only the `depth` rows beside the interior that the next
    /// sub-step reads.
    pub(super) fn fill<'v>(
        &mut self,
        local: &[Slab],
        advected: bool,
        values: impl Iterator<Item = &'v mut [f64]>,
        depth: usize,
    ) {
        let Link::Ranks(between) = self else {
            let mut all: Vec<&mut [f64]> = values.collect();
            return exchange(local, &mut all);
        };
        let Between {
            ranks,
            geometry,
            moved,
            to_below,
            to_above,
            ..
        } = &mut **between;
        let mut values = values;
        let v = values.next().expect("a rank's one slab");
        let geometry = if advected { moved } else { geometry };
        let r = ranks.rank();
        let s = &geometry[r];
        let (row, rows) = (s.row_len(), s.end - s.start);
        let (first, last) = (s.below * row, (s.below + rows) * row);
        // what the neighbours' halos read: the rows of this interior beside them
        let down = r.checked_sub(1).map_or(0, |b| geometry[b].above.min(depth)) * row;
        let up = geometry.get(r + 1).map_or(0, |a| a.below.min(depth)) * row;
        to_below.clear();
        to_below.extend_from_slice(&v[first..first + down]);
        to_above.clear();
        to_above.extend_from_slice(&v[last - up..last]);
        let (below, rest) = v.split_at_mut(first);
        let above = &mut rest[last - first..];
        let (nb, na) = (s.below.min(depth) * row, s.above.min(depth) * row);
        let below_len = below.len();
        ranks.swap_neighbours(
            to_below,
            to_above,
            &mut below[below_len - nb..],
            &mut above[..na],
        );
    }
}
