//! **The swarm split over ranks** (`mpirun -n N mfpde particles`): rank r
//! holds a contiguous block of whole neuron groups — the fixed groups f_m
//! is summed over ([`super::swarm`]) — and the neurons' global indices, so
//! that its initial draws, its noise streams and its share of every sum
//! are those of the serial run. Per step every rank sends its groups'
//! partial sums of f_m at the K nodes in use (8 K × its groups bytes) and
//! receives everyone's; each adds them in global group order, as the
//! serial code does. At a snapshot θ is gathered to rank 0, which writes
//! it. So the file is the serial file to the bit, on any number of ranks.

use crate::error::{Error, Result};
use crate::ranks::{even_cuts, Shared};

/// Why m neurons in fixed groups of `group` cannot be split over `n`
/// ranks: more ranks than groups.
pub fn refusal(m: usize, group: usize, n: usize) -> Option<Error> {
    let groups = m.div_ceil(group);
    (n > groups).then(|| {
        Error::problem(
            "mpirun -n",
            n,
            format!("at most {groups} ranks: the network's neurons (particles.m = {m}) are summed in {groups} fixed groups of {group}, and a rank holds whole groups"),
        )
    })
}

/// This rank's share of the swarm and what it exchanges.
pub struct Part {
    pub ranks: Shared,
    /// Neurons of each fixed group (the last may be short).
    group: usize,
    /// The first group of each rank, and the number of groups last.
    group_cuts: Vec<usize>,
    m: usize,
    /// Every rank's partial sums (groups × K), gathered.
    all: Vec<f64>,
    /// This rank's rows, sent by [`Part::all_rows`] (reused every step).
    send: Vec<f64>,
    /// On rank 0: every neuron's θ, gathered at the last snapshot.
    pub gathered: Vec<f64>,
}

impl Part {
    /// Deal the groups of `group` neurons (m in all) to the ranks.
    ///
    /// # Errors
    /// [`Error::Problem`] naming `mpirun -n` when there are more ranks than
    /// groups.
    pub fn new(ranks: Shared, m: usize, group: usize) -> Result<Self> {
        let n = ranks.size();
        if let Some(e) = refusal(m, group, n) {
            return Err(e);
        }
        let groups = m.div_ceil(group);
        Ok(Part {
            ranks,
            group,
            group_cuts: even_cuts(groups, n),
            m,
            all: Vec::new(),
            send: Vec::new(),
            gathered: Vec::new(),
        })
    }

    /// Whether this rank writes (rank 0).
    pub fn root(&self) -> bool {
        self.ranks.rank() == 0
    }

    /// The neurons [start, end) of rank r.
    pub fn neurons_of(&self, r: usize) -> (usize, usize) {
        let at = |g: usize| (g * self.group).min(self.m);
        (at(self.group_cuts[r]), at(self.group_cuts[r + 1]))
    }

    /// This rank's neurons [start, end).
    pub fn neurons(&self) -> (usize, usize) {
        self.neurons_of(self.ranks.rank())
    }

    /// The number of values of `per` each per neuron held by every rank.
    fn counts(&self, per: usize) -> Vec<usize> {
        (0..self.ranks.size())
            .map(|r| {
                let (a, b) = self.neurons_of(r);
                (b - a) * per
            })
            .collect()
    }

    /// Every group's partial sums at K nodes (groups × K, in global group
    /// order) from this rank's (`local`, its groups × K).
    pub fn all_partials(&mut self, local: &[f64], k: usize) -> &[f64] {
        let groups = *self.group_cuts.last().unwrap_or(&0);
        let counts: Vec<usize> = (self.group_cuts.windows(2))
            .map(|w| (w[1] - w[0]) * k)
            .collect();
        self.all.resize(groups * k, 0.0);
        self.ranks.all_gather(local, &counts, &mut self.all);
        &self.all
    }

    /// Gather every rank's θ (`local`, D per neuron) into `gathered` on
    /// rank 0.
    pub fn gather(&mut self, local: &[f64], d: usize) {
        if self.root() {
            self.gathered.resize(self.m * d, 0.0);
        }
        let counts = self.counts(d);
        self.ranks.gather(local, &counts, &mut self.gathered);
    }

    /// Every rank's rows (`per` values per neuron) of `full` (m × per,
    /// this rank's rows current) into every rank's `full`.
    pub fn all_rows(&mut self, full: &mut [f64], per: usize) {
        let (a, b) = self.neurons();
        self.send.clear();
        self.send.extend_from_slice(&full[a * per..b * per]);
        let counts = self.counts(per);
        self.ranks.all_gather(&self.send, &counts, full);
    }

    /// Items 0..n dealt to the ranks in even contiguous shares: `value`
    /// gives `per` numbers per item of this rank's share, and rank 0 gets
    /// every item's, in order (the others an empty vector).
    pub fn gather_shares(
        &self,
        n: usize,
        per: usize,
        value: impl FnOnce(std::ops::Range<usize>) -> Vec<f64>,
    ) -> Vec<f64> {
        let cuts = even_cuts(n, self.ranks.size());
        let r = self.ranks.rank();
        let mine = value(cuts[r]..cuts[r + 1]);
        let counts: Vec<usize> = cuts.windows(2).map(|w| (w[1] - w[0]) * per).collect();
        let mut all = vec![0.0; if self.root() { n * per } else { 0 }];
        self.ranks.gather(&mine, &counts, &mut all);
        all
    }

    /// Rank 0's θ of every neuron (`all`; ignored elsewhere) into each
    /// rank's `local`.
    pub fn scatter(&self, all: &[f64], local: &mut [f64], d: usize) {
        self.ranks.scatter(all, &self.counts(d), local);
    }

    /// Rank 0's steps taken and batch stream position (a restored run's)
    /// on every rank.
    pub fn share_counters(&self, steps: u64, batch_word: u128) -> (u64, u128) {
        let mut head = [steps, (batch_word >> 64) as u64, batch_word as u64];
        self.ranks.broadcast(&mut head);
        (head[0], (u128::from(head[1]) << 64) | u128::from(head[2]))
    }

    /// The first neuron over all ranks whose θ is not finite, from this
    /// rank's first (by global index).
    pub fn first_bad(&self, local: Option<usize>) -> Option<usize> {
        let j = self.ranks.min(local.map_or(u64::MAX, |j| j as u64));
        (j != u64::MAX).then_some(j as usize)
    }
}
