//! **A slab of a grid**: the cells of some rows of axis 0 (its interior),
//! with rows of its neighbours beside them (its halo) — the piece of a
//! density one process steps when a grid is split across processes. Axis 0
//! is the outermost (row-major), so a row is a contiguous run of cells and
//! a halo is filled by copying whole rows. The serial grid is the one slab
//! without a halo.

use super::Grid;
use std::ops::Range;

/// Rows `start..end` of axis 0 of `whole`, held with `below` and `above`
/// more rows of the neighbours (fewer at the box's walls).
#[derive(Debug, Clone, PartialEq)]
pub struct Slab {
    pub whole: Grid,
    pub start: usize,
    pub end: usize,
    pub below: usize,
    pub above: usize,
    /// The rows held (halo and interior) as a grid of their own, with the
    /// whole grid's cell widths and coordinates.
    pub local: Grid,
}

impl Slab {
    /// The whole grid as one slab (no halo).
    pub fn whole(grid: &Grid) -> Self {
        Self::rows(grid, 0..grid.n[0], 0)
    }

    /// Rows `interior` of axis 0 with up to `halo` rows each side.
    ///
    /// # Panics
    /// If `interior` is empty or beyond the grid.
    pub fn rows(grid: &Grid, interior: Range<usize>, halo: usize) -> Self {
        assert!(
            interior.start < interior.end && interior.end <= grid.n[0],
            "rows {interior:?} of {}",
            grid.n[0]
        );
        let below = halo.min(interior.start);
        let above = halo.min(grid.n[0] - interior.end);
        let held = interior.start - below..interior.end + above;
        Slab {
            whole: grid.clone(),
            start: interior.start,
            end: interior.end,
            below,
            above,
            local: grid.rows(held),
        }
    }

    /// The grid split into `parts` slabs of as equal a number of rows as
    /// can be (the first ones one longer), each with a halo of `halo` rows.
    ///
    /// # Panics
    /// If a slab would have fewer rows than its neighbours' halos read
    /// (`halo`), or there are more parts than rows.
    pub fn split(grid: &Grid, parts: usize, halo: usize) -> Vec<Self> {
        let n = grid.n[0];
        assert!(parts >= 1 && parts <= n, "{parts} slabs of {n} rows");
        let (base, extra) = (n / parts, n % parts);
        assert!(
            parts == 1 || base >= halo,
            "slabs of {base} rows cannot fill a halo of {halo}"
        );
        let mut start = 0;
        (0..parts)
            .map(|p| {
                let rows = base + usize::from(p < extra);
                let s = Self::rows(grid, start..start + rows, halo);
                start += rows;
                s
            })
            .collect()
    }

    /// The interior's rows in the local grid.
    pub fn interior(&self) -> Range<usize> {
        self.below..self.below + (self.end - self.start)
    }

    /// Cells per row (the cells of the axes after axis 0).
    pub fn row_len(&self) -> usize {
        self.whole.len() / self.whole.n[0]
    }

    /// The interior's cells in the local layout.
    pub fn interior_cells(&self) -> Range<usize> {
        let (r, i) = (self.row_len(), self.interior());
        i.start * r..i.end * r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_cover_the_rows_once_with_clipped_halos() {
        let g = Grid::new(vec![-1.0, 0.0], vec![1.0, 3.0], vec![10, 3], vec![]);
        let slabs = Slab::split(&g, 3, 2);
        let rows: Vec<(usize, usize)> = slabs.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(rows, [(0, 4), (4, 7), (7, 10)]);
        assert_eq!((slabs[0].below, slabs[0].above), (0, 2));
        assert_eq!((slabs[1].below, slabs[1].above), (2, 2));
        assert_eq!((slabs[2].below, slabs[2].above), (2, 0));
        let l = &slabs[1].local;
        assert_eq!(l.n, vec![7, 3]);
        assert_eq!(l.h, g.h);
        // the local cells are the whole grid's, rows 2..9
        for i in 0..7 {
            assert!((l.centre(0, i) - g.centre(0, i + 2)).abs() < 1e-15);
        }
        assert_eq!(slabs[1].interior(), 2..5);
        assert_eq!(slabs[1].interior_cells(), 6..15);
        assert_eq!(Slab::whole(&g).local, g);
    }
}
