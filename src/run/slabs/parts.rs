//! **A split density's snapshot without its whole grid on rank 0**: the
//! diagnostics from each slab's cell sums (added in rank order) and f_h
//! from the summed first moments, and the density handed to rank 0's
//! observers as its slabs, each sent to rank 0 in turn and written as it
//! comes ([`crate::io::store::Store::append_parts`]). Rank 0 holds its own
//! slab, one slab received, the grid's marginals when a wall is warned
//! about, and never the whole ρ.

use crate::density::Density;
use crate::diagnostics::{self, Diagnostics};
use crate::error::{Error, Result};
use crate::grid::{fit, Slab};
use crate::io::store::Parts;
use crate::ranks::Shared;
use crate::setup::Setup;
use crate::solve::{self, HistoryRecord, Observer, Reached};

/// What every rank brings to a split snapshot.
pub(super) struct Split<'a> {
    pub ranks: &'a Shared,
    pub geometry: &'a [Slab],
    /// This rank's slab.
    pub mine: &'a Density,
    /// f_h at the nodes and at the f points of the whole density.
    pub f_nodes: &'a [f64],
    pub f_values: Vec<f64>,
}

/// The snapshot at `at` of a density split over ranks, every rank at once:
/// its diagnostics (rank 0's; default elsewhere), its history row and the
/// density given to each of rank 0's `observers` in parts (the others pass
/// none), as [`solve::snapshot`] does with the whole density.
///
/// # Errors
/// A diagnostic that is not finite, and an observer's, on rank 0 (the
/// caller then stops every rank).
pub(super) fn snapshot(
    setup: &Setup,
    split: Split,
    at: Reached,
    passes: usize,
    max_boundary: &mut f64,
    observers: &mut [&mut dyn Observer],
) -> Result<Diagnostics> {
    let Split {
        ranks,
        geometry,
        mine,
        f_nodes,
        f_values,
    } = split;
    let grid = &setup.grid;
    let (r, n) = (ranks.rank(), ranks.size());
    let root = r == 0;
    let s = &geometry[r];
    let rows = grid.rows(s.start..s.end);
    let reduced = setup.model.reduction.is_some();
    let walls = [s.start == 0, s.end == grid.n[0]];
    let local = diagnostics::slab_sums(&rows, mine.interior(), reduced, walls);
    let mut all = vec![0.0; if root { n * local.len() } else { 0 }];
    ranks.gather(&local, &vec![local.len(); n], &mut all);
    let Reached { t, steps, last_dt } = at;
    let mut last = Diagnostics::default();
    let mut warn = [0u64];
    if root {
        last = diagnostics::from_slab_sums(t, grid, &setup.model, &all, f_nodes, f_values);
        last.steps = steps;
        solve::refuse_faults(&last, steps)?;
        warn[0] = u64::from(solve::warns(&last, *max_boundary));
        *max_boundary = max_boundary.max(last.boundary_mass);
    }
    ranks.broadcast(&mut warn);
    if warn[0] == 1 {
        let advice = walls_advice(setup, ranks, geometry, &rows, mine.interior());
        if let Some(advice) = advice {
            solve::warn_walls(&last, &advice);
        }
    }
    let rec = HistoryRecord::of(&last, last_dt);
    let inner: Vec<usize> = geometry.iter().map(|s| s.interior_cells().len()).collect();
    if !root {
        for _ in 0..passes {
            send(ranks, mine.interior(), &inner);
        }
        return Ok(last);
    }
    let mut buffer = Vec::new();
    for o in observers.iter_mut() {
        o.history(&rec)?;
        let mut parts = FromRanks {
            ranks,
            own: mine.interior(),
            inner: &inner,
            buffer: &mut buffer,
            sent: false,
        };
        let written = o.snapshot_parts(&last, &mut parts);
        if !parts.sent {
            // an observer that failed before it read: the others have sent
            parts.each(&mut |_| Ok(()))?;
        }
        written?;
    }
    Ok(last)
}

/// The advice on the walls from the whole grid's marginals (rank 0's;
/// None elsewhere): each rank's of its slab, its rows of a in rank order,
/// the other axes' added in rank order.
fn walls_advice(
    setup: &Setup,
    ranks: &Shared,
    geometry: &[Slab],
    rows: &crate::grid::Grid,
    rho: &[f64],
) -> Option<String> {
    let grid = &setup.grid;
    let rest: usize = grid.n[1..].iter().sum();
    let local: Vec<f64> = fit::marginals(rows, rho).concat();
    let counts: Vec<usize> = geometry.iter().map(|s| s.end - s.start + rest).collect();
    let root = ranks.rank() == 0;
    let mut all = vec![0.0; if root { counts.iter().sum() } else { 0 }];
    ranks.gather(&local, &counts, &mut all);
    if !root {
        return None;
    }
    let mut m: Vec<Vec<f64>> = grid.n.iter().map(|&k| vec![0.0; k]).collect();
    let mut at = 0;
    for (s, &c) in geometry.iter().zip(&counts) {
        let part = &all[at..at + c];
        let (a, mut others) = part.split_at(s.end - s.start);
        m[0][s.start..s.end].copy_from_slice(a);
        for mk in &mut m[1..] {
            let (this, next) = others.split_at(mk.len());
            mk.iter_mut().zip(this).for_each(|(x, y)| *x += y);
            others = next;
        }
        at += c;
    }
    let open = diagnostics::open_side(grid, setup.model.reduction.is_some());
    Some(fit::wall_advice(
        grid,
        &fit::wall_masses(&m, open),
        &fit::spreads(grid, &m),
    ))
}

/// The counts of one rank's part alone: `inner[p]` at p, 0 elsewhere.
pub(super) fn alone(inner: &[usize], p: usize) -> Vec<usize> {
    (0..inner.len())
        .map(|q| if q == p { inner[p] } else { 0 })
        .collect()
}

/// A rank's side of one handing over: each rank's slab to rank 0 in turn
/// (this one's `own` at its turn).
fn send(ranks: &Shared, own: &[f64], inner: &[usize]) {
    let r = ranks.rank();
    for p in 1..inner.len() {
        let part = if p == r { own } else { &[][..] };
        ranks.gather(part, &alone(inner, p), &mut []);
    }
}

/// Rank 0's side: its own slab, then every other rank's as it arrives.
struct FromRanks<'a> {
    ranks: &'a Shared,
    own: &'a [f64],
    inner: &'a [usize],
    buffer: &'a mut Vec<f64>,
    /// Whether the slabs were handed over (they are sent once).
    sent: bool,
}

impl Parts for FromRanks<'_> {
    fn len(&self) -> usize {
        self.inner.iter().sum()
    }

    fn each(&mut self, each: &mut dyn FnMut(&[f64]) -> Result<()>) -> Result<()> {
        if self.sent {
            return Err(Error::Run(
                "a split density's slabs are handed over once per observer".into(),
            ));
        }
        self.sent = true;
        // every slab is received even after a failed part: the ranks send
        // them all
        let mut result = each(self.own);
        for p in 1..self.inner.len() {
            self.buffer.resize(self.inner[p], 0.0);
            self.ranks
                .gather(&[], &alone(self.inner, p), &mut self.buffer[..]);
            if result.is_ok() {
                result = each(&self.buffer[..]);
            }
        }
        result
    }
}
