//! **Whole lines of axis 0** for slabs of rows: what a sub-step that
//! solves along every line of a needs (the DCT of a wide heat kernel, sg's
//! tridiagonal lines), where the slabs hold a few rows each. Their
//! interiors are transposed into pencils: every row of a for a block of the
//! w points (its columns), one pencil per rank by one all-to-all of blocks
//! (`MPI_Alltoallv`), or the whole grid in one process. A line of the
//! pencil holds the values the whole grid's line holds, in its order, so a
//! line operation gives the serial bits on it; transposing back is the
//! reverse all-to-all. Each rank sends and receives its interior once each
//! way (less its own block).

use crate::density::Density;
use crate::grid::{Grid, Slab};
use crate::ranks::{even_cuts, Ranks};
use crate::scheme::SpectralDiffusion;

/// The transposes between slabs of rows and pencils of columns.
pub(super) struct Pencils {
    /// Every slab's first interior row, and n0 last.
    row_cuts: Vec<usize>,
    /// Every pencil's first w point, and nw last (one pencil, every column,
    /// in one process).
    col_cuts: Vec<usize>,
    nw: usize,
    /// This process's pencil (its rank's; in one process, the whole grid):
    /// n0 × its columns, row-major.
    pub(super) grid: Grid,
    /// Which pencil is this process's.
    mine: usize,
    /// A rank's blocks out and back, and their lengths.
    buffer: Vec<f64>,
    send_counts: Vec<usize>,
    recv_counts: Vec<usize>,
}

impl Pencils {
    /// The pencils of the consecutive `slabs` covering a grid: over
    /// `ranks` one each (rank r's slab `slabs[r]`, its pencil the r-th
    /// block of columns), else one whole pencil in this process.
    pub(super) fn new(slabs: &[Slab], ranks: Option<&dyn Ranks>) -> Self {
        let whole = &slabs[0].whole;
        let (n0, nw) = (whole.n[0], slabs[0].row_len());
        let mut row_cuts: Vec<usize> = slabs.iter().map(|s| s.start).collect();
        row_cuts.push(n0);
        let (col_cuts, mine) = match ranks {
            Some(r) => (even_cuts(nw, r.size()), r.rank()),
            None => (vec![0, nw], 0),
        };
        let cols = col_cuts[mine + 1] - col_cuts[mine];
        // axis 0 as the whole grid's (widths, stretch), the columns plain
        let mut grid = Grid::new(
            vec![whole.lo[0], 0.0],
            vec![whole.hi[0], cols as f64],
            vec![n0, cols],
            vec![whole.names.first().cloned().unwrap_or_default(), "w".into()],
        );
        grid.h[0] = whole.h[0];
        grid.stretch[0] = whole.stretch[0].clone();
        let (send_counts, recv_counts, buffer) = match ranks {
            Some(_) => {
                let rows = row_cuts[mine + 1] - row_cuts[mine];
                let block = |c: &[usize], q: usize| c[q + 1] - c[q];
                let size = slabs.len();
                (
                    (0..size).map(|q| rows * block(&col_cuts, q)).collect(),
                    (0..size).map(|q| block(&row_cuts, q) * cols).collect(),
                    vec![0.0; rows * nw],
                )
            }
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        Pencils {
            row_cuts,
            col_cuts,
            nw,
            grid,
            mine,
            buffer,
            send_counts,
            recv_counts,
        }
    }

    /// The pencil's length (n0 × its columns).
    pub(super) fn len(&self) -> usize {
        self.grid.len()
    }

    /// The slabs' `interiors` (this process's, in slab order) into its
    /// `pencil`.
    pub(super) fn columns_of<'v>(
        &mut self,
        ranks: Option<&dyn Ranks>,
        interiors: impl Iterator<Item = &'v [f64]>,
        pencil: &mut [f64],
    ) {
        let nw = self.nw;
        let mut interiors = interiors;
        let Some(ranks) = ranks else {
            // one pencil of every column: the slabs' rows in turn
            let mut at = 0;
            for v in interiors {
                pencil[at..at + v.len()].copy_from_slice(v);
                at += v.len();
            }
            return;
        };
        let v = interiors.next().expect("a rank's one slab");
        self.buffer.clear();
        for c in self.col_cuts.windows(2) {
            for row in v.chunks_exact(nw) {
                self.buffer.extend_from_slice(&row[c[0]..c[1]]);
            }
        }
        // rank q's block: its rows of these columns; stacked in rank order
        // they are the pencil's rows
        ranks.all_to_all(&self.buffer, &self.send_counts, pencil, &self.recv_counts);
    }

    /// This process's `pencil` back into the slabs' `interiors`.
    pub(super) fn rows_of<'v>(
        &mut self,
        ranks: Option<&dyn Ranks>,
        pencil: &[f64],
        interiors: impl Iterator<Item = &'v mut [f64]>,
    ) {
        let nw = self.nw;
        let mut interiors = interiors;
        let Some(ranks) = ranks else {
            let mut at = 0;
            for v in interiors {
                v.copy_from_slice(&pencil[at..at + v.len()]);
                at += v.len();
            }
            return;
        };
        // the pencil's rows of rank q's slab are contiguous: its block
        let rows = self.row_cuts[self.mine + 1] - self.row_cuts[self.mine];
        self.buffer.resize(rows * nw, 0.0);
        ranks.all_to_all(
            pencil,
            &self.recv_counts,
            &mut self.buffer,
            &self.send_counts,
        );
        let v = interiors.next().expect("a rank's one slab");
        let mut at = 0;
        for c in self.col_cuts.windows(2) {
            let cols = c[1] - c[0];
            for row in v.chunks_exact_mut(nw) {
                row[c[0]..c[1]].copy_from_slice(&self.buffer[at..at + cols]);
                at += cols;
            }
        }
    }
}

/// The heat flow along a of slabs whose kernel reaches beyond their halos
/// (by DCT, or a stretched a axis): on the pencils, then transposed back.
pub(super) struct AlongA {
    pencils: Pencils,
    diffusion: SpectralDiffusion,
    values: Vec<f64>,
}

impl AlongA {
    /// Plan it for `slabs` (every slab of the grid; see [`Pencils::new`])
    /// and D = `d`.
    pub(super) fn new(slabs: &[Slab], ranks: Option<&dyn Ranks>, d: f64) -> Self {
        let pencils = Pencils::new(slabs, ranks);
        AlongA {
            diffusion: SpectralDiffusion::on_axes(&pencils.grid, d, 0..1),
            values: vec![0.0; pencils.len()],
            pencils,
        }
    }

    /// The heat flow over `dt` along axis 0 of the interiors of this
    /// process's `slabs`: the serial axis's lines, the serial bits on them.
    pub(super) fn advance(&mut self, ranks: Option<&dyn Ranks>, slabs: &mut [Density], dt: f64) {
        let rho = slabs.iter().map(Density::interior);
        self.pencils.columns_of(ranks, rho, &mut self.values);
        self.diffusion.advance_axes(&mut self.values, dt, 0..1);
        let rho = slabs.iter_mut().map(|d| {
            let cells = d.slab.interior_cells();
            &mut d.values[cells]
        });
        self.pencils.rows_of(ranks, &self.values, rho);
    }
}
