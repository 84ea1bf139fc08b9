//! **A split grid PDE's first ρ, without the whole grid anywhere**: every
//! rank builds its slab's rows of ρ0 from the law (the box's mass from the
//! slabs' sums, added in rank order), or rank 0 sends each rank its rows,
//! one rank at a time, of a state it holds whole or reads from a running
//! file's snapshot (its dataset or the parts of any number of ranks).

use crate::error::{Error, Result};
use crate::grid::Slab;
use crate::io::hdf5::Reader;
use crate::ranks::Shared;
use crate::setup::Setup;
use crate::solve::RunState;
use std::path::Path;

/// Where rank 0 takes the first ρ from (sent to the others as a number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Origin {
    /// A state it holds whole.
    Whole = 0,
    /// Snapshot `next_snapshot − 1` of the running file.
    File = 1,
    /// ρ0, built by every rank for its own slab.
    Law = 2,
}

impl Origin {
    /// The origin of rank 0's `state` and running `file` (the other ranks
    /// take rank 0's).
    pub fn of(state: Option<&RunState>, file: Option<&Path>) -> Self {
        match (state, file) {
            (Some(st), _) if !st.rho.is_empty() => Origin::Whole,
            (Some(_), Some(_)) => Origin::File,
            _ => Origin::Law,
        }
    }

    /// From the number rank 0 sent.
    pub fn from_number(n: u64) -> Self {
        match n {
            0 => Origin::Whole,
            1 => Origin::File,
            _ => Origin::Law,
        }
    }
}

/// This rank's held rows of the first ρ, every rank at once (`state` and
/// `file` rank 0's).
///
/// # Errors
/// On rank 0, a snapshot that cannot be read or is not finite (the caller
/// then stops every rank).
pub(super) fn first_slab(
    setup: &Setup,
    ranks: &Shared,
    geometry: &[Slab],
    origin: Origin,
    state: Option<&RunState>,
    file: Option<&Path>,
) -> Result<Vec<f64>> {
    let r = ranks.rank();
    if origin == Origin::Law {
        return Ok(law_slab(setup, ranks, &geometry[r]));
    }
    let held: Vec<usize> = geometry.iter().map(|s| s.local.len()).collect();
    let mut mine = vec![0.0; held[r]];
    let reader = match (r, origin, file) {
        (0, Origin::File, Some(f)) => Some(Reader::open(f)?),
        _ => None,
    };
    let row = geometry[0].row_len();
    for (p, s) in geometry.iter().enumerate() {
        let rows = s.start - s.below..s.end + s.above;
        let read;
        let from = match (r, state, &reader) {
            (0, Some(st), None) => &st.rho[rows.start * row..rows.end * row],
            (0, Some(st), Some(reader)) => {
                let k = st.next_snapshot - 1;
                read = reader.unfinished_rows("pde", "density", k, rows, row)?;
                if let Some(v) = read.iter().find(|v| !v.is_finite()) {
                    return Err(reader.bad(format!("pde/density holds {v} at snapshot {k}")));
                }
                &read[..]
            }
            (0, None, _) => return Err(Error::Run("rank 0 has no state to send".into())),
            _ => &[][..],
        };
        let to = if p == r { &mut mine[..] } else { &mut [][..] };
        ranks.scatter(from, &super::parts::alone(&held, p), to);
    }
    Ok(mine)
}

/// Slab `s`'s held rows of ρ0: its cells' masses, as cell averages of the
/// mass in the whole box (the slabs' interiors' sums, added in rank
/// order). On one rank the whole grid's ρ0 to the bit.
fn law_slab(setup: &Setup, ranks: &Shared, s: &Slab) -> Vec<f64> {
    let masses = setup.initial.cell_masses(&s.local);
    let local: f64 = masses[s.interior_cells()].iter().sum();
    let n = ranks.size();
    let mut all = vec![0.0; n];
    ranks.all_gather(&[local], &vec![1; n], &mut all);
    let inside = all[1..].iter().fold(all[0], |a, b| a + b);
    crate::initial::averages(&s.local, masses, inside)
}
