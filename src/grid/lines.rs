//! **Line sweeps**: the lines of one axis of a grid-shaped array, handed to
//! parallel tasks in blocks of neighbouring lines.
//!
//! On axis k with n_k cells and stride s_k (the product of the later axes'
//! cells), line (o, j) holds the cells o·n_k·s_k + i·s_k + j, i = 0..n_k. A
//! block is up to `width` lines with consecutive j and the same o, so for
//! every axis but the last its cells at one i are contiguous, and a loop
//! over the block's lines vectorises. Blocks are disjoint; each parallel task
//! owns one.
//!
//! This module holds the only `unsafe` of the sweeps: tasks write their
//! blocks through one shared pointer. [`par_line_blocks`] checks the array's
//! length against the grid before it starts, and every access through a
//! [`LineBlock`] checks its cell and line against the block, so a safe
//! caller cannot touch memory outside its own block.

use super::Grid;
use rayon::prelude::*;
use std::marker::PhantomData;
use std::sync::Mutex;

/// A raw pointer that parallel tasks share; each task writes only through
/// the [`LineBlock`] it was handed, and blocks are disjoint.
#[derive(Clone, Copy)]
struct SharedPtr(*mut f64);

// SAFETY: the pointer is dereferenced only through `LineBlock`s, which
// partition the array among tasks (see `par_line_blocks`).
unsafe impl Send for SharedPtr {}
unsafe impl Sync for SharedPtr {}

impl SharedPtr {
    /// The pointer (a method, so closures capture the Send wrapper).
    #[inline(always)]
    fn get(self) -> *mut f64 {
        self.0
    }
}

/// Up to `width` neighbouring lines along one axis, owned by one task.
pub struct LineBlock<'a> {
    ptr: *mut f64,
    /// The array's length (for the debug check of every flat index).
    array_len: usize,
    /// Outer index o, first line j0, cells per line n, stride s, lines.
    o: usize,
    j0: usize,
    n: usize,
    s: usize,
    lines: usize,
    _data: PhantomData<&'a mut [f64]>,
}

impl LineBlock<'_> {
    /// Cells per line (n_k).
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for lines without cells (never on a grid).
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Lines in the block.
    #[inline(always)]
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Flat index of cell i of line l, to read other arrays of the grid's
    /// shape at the same cell.
    #[inline(always)]
    pub fn index(&self, i: usize, l: usize) -> usize {
        (self.o * self.n + i) * self.s + self.j0 + l
    }

    #[inline(always)]
    fn check(&self, i: usize, l: usize) -> usize {
        assert!(
            i < self.n && l < self.lines,
            "cell {i} of line {l} outside a block of {} lines of {} cells",
            self.lines,
            self.n
        );
        let at = self.index(i, l);
        debug_assert!(at < self.array_len);
        at
    }

    /// The value of cell i of line l.
    #[inline(always)]
    pub fn get(&self, i: usize, l: usize) -> f64 {
        let at = self.check(i, l);
        // SAFETY: `at` is a cell of this block (checked), inside the array
        // (its length was checked against the grid), and no other task
        // touches this block.
        unsafe { *self.ptr.add(at) }
    }

    /// Set cell i of line l to v.
    #[inline(always)]
    pub fn set(&mut self, i: usize, l: usize, v: f64) {
        let at = self.check(i, l);
        // SAFETY: as in `get`; `&mut self` makes the write exclusive.
        unsafe { *self.ptr.add(at) = v }
    }

    /// Add v to cell i of line l.
    #[inline(always)]
    pub fn add(&mut self, i: usize, l: usize, v: f64) {
        let at = self.check(i, l);
        // SAFETY: as in `set`.
        unsafe { *self.ptr.add(at) += v }
    }

    /// The block's outer index o and first line j0.
    #[inline(always)]
    pub fn origin(&self) -> (usize, usize) {
        (self.o, self.j0)
    }

    /// Rows i − 1 and i of the block (their cells on all its lines) as two
    /// mutable slices: a row's cells are contiguous, rows do not overlap.
    ///
    /// # Panics
    /// If i is 0 or not a cell of the lines.
    #[inline(always)]
    pub fn rows_mut(&mut self, i: usize) -> (&mut [f64], &mut [f64]) {
        assert!(
            i >= 1 && i < self.n,
            "rows {} and {i} of lines of {} cells",
            i.wrapping_sub(1),
            self.n
        );
        let (lo, hi) = (self.index(i - 1, 0), self.index(i, 0));
        debug_assert!(hi + self.lines <= self.array_len && self.lines <= self.s);
        // SAFETY: both rows are inside this block (checked), each of
        // `lines` ≤ s contiguous cells, at least s apart: disjoint, and no
        // other task touches them; `&mut self` keeps them exclusive.
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.ptr.add(lo), self.lines),
                std::slice::from_raw_parts_mut(self.ptr.add(hi), self.lines),
            )
        }
    }

    /// Row i of the block, read-only (its cells on all its lines,
    /// contiguous).
    ///
    /// # Panics
    /// If i is not a cell of the lines.
    #[inline(always)]
    pub fn row(&self, i: usize) -> &[f64] {
        assert!(i < self.n, "row {i} of lines of {} cells", self.n);
        let at = self.index(i, 0);
        debug_assert!(at + self.lines <= self.array_len && self.lines <= self.s);
        // SAFETY: `lines` ≤ s contiguous cells of this block, inside the
        // array, owned by this task; `&self` allows no write meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.add(at), self.lines) }
    }

    /// Row i of the block (its cells on all its lines, contiguous).
    ///
    /// # Panics
    /// If i is not a cell of the lines.
    #[inline(always)]
    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        assert!(i < self.n, "row {i} of lines of {} cells", self.n);
        let at = self.index(i, 0);
        debug_assert!(at + self.lines <= self.array_len && self.lines <= self.s);
        // SAFETY: `lines` ≤ s contiguous cells of this block, inside the
        // array, owned by this task; `&mut self` keeps the slice exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), self.lines) }
    }

    /// The whole line of a block of one line along the last axis (stride 1:
    /// its n cells are contiguous).
    ///
    /// # Panics
    /// If the stride is not 1.
    #[inline(always)]
    pub fn line_mut(&mut self) -> &mut [f64] {
        assert!(
            self.s == 1 && self.lines == 1,
            "a contiguous line needs stride 1"
        );
        let at = self.index(0, 0);
        debug_assert!(at + self.n <= self.array_len);
        // SAFETY: the n cells of this block's one line (stride 1), inside
        // the array (its length was checked), owned by this task alone.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), self.n) }
    }

    /// Copy line l into `out[..n]`.
    #[inline]
    pub fn read_line(&self, l: usize, out: &mut [f64]) {
        for (i, v) in out[..self.n].iter_mut().enumerate() {
            *v = self.get(i, l);
        }
    }

    /// Copy `src[..n]` into line l.
    #[inline]
    pub fn write_line(&mut self, l: usize, src: &[f64]) {
        for (i, v) in src[..self.n].iter().enumerate() {
            self.set(i, l, *v);
        }
    }
}

/// Where a line's cells are in the whole array: cell i at `first + i ·
/// stride`.
#[derive(Debug, Clone, Copy)]
pub struct LineIndex {
    pub first: usize,
    pub stride: usize,
}

impl LineIndex {
    /// Flat index of cell i of the line.
    #[inline(always)]
    pub fn at(self, i: usize) -> usize {
        self.first + i * self.stride
    }
}

/// Per-thread line buffers of a [`LineSweeper`], allocated once.
pub struct LineScratch {
    /// The line being swept (taken out while the closure runs).
    pub line: Vec<f64>,
    /// Scratch of at least the longest line (or the DCT's scratch).
    pub work: Vec<f64>,
    pub extra: Vec<f64>,
    pub more: Vec<f64>,
}

/// Lines per task of a [`LineSweeper`].
const SWEEP_BLOCK: usize = 16;

/// Line sweeps with per-thread scratch: each line along an axis is copied
/// into a contiguous buffer, handed to a closure with the scratch and where
/// the line lies, and copied back.
pub struct LineSweeper {
    grid: Grid,
    pool: Vec<Mutex<LineScratch>>,
}

impl LineSweeper {
    /// Plan the scratch: the longest line, and `work_len` for `work`.
    pub fn new(grid: &Grid, work_len: usize) -> Self {
        Self::longest(grid, *grid.n.iter().max().unwrap_or(&1), work_len)
    }

    /// [`LineSweeper::new`] for sweeps along axes of at most `nmax` cells
    /// only (a pencil of whole columns swept along its axis 0 alone).
    pub fn longest(grid: &Grid, nmax: usize, work_len: usize) -> Self {
        let threads = rayon::current_num_threads() + 1;
        let pool = (0..threads)
            .map(|_| {
                Mutex::new(LineScratch {
                    line: vec![0.0; nmax],
                    work: vec![0.0; work_len.max(nmax)],
                    extra: vec![0.0; nmax],
                    more: vec![0.0; nmax],
                })
            })
            .collect();
        LineSweeper {
            grid: grid.clone(),
            pool,
        }
    }

    /// The grid it sweeps.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Apply `f(line, scratch, where)` to every line of `data` along `axis`.
    ///
    /// # Panics
    /// As [`par_line_blocks`].
    pub fn sweep<F>(&self, axis: usize, data: &mut [f64], f: F)
    where
        F: Fn(&mut [f64], &mut LineScratch, LineIndex) + Sync,
    {
        let pool = &self.pool;
        let stride = self.grid.strides[axis];
        par_line_blocks(&self.grid, axis, SWEEP_BLOCK, data, |block| {
            let slot = rayon::current_thread_index().unwrap_or(0) % pool.len();
            let mut guard = pool[slot].lock().expect("scratch lock");
            let sc = &mut *guard;
            let n = block.len();
            for l in 0..block.lines() {
                let mut line = std::mem::take(&mut sc.line);
                block.read_line(l, &mut line);
                let at = LineIndex {
                    first: block.index(0, l),
                    stride,
                };
                f(&mut line[..n], sc, at);
                block.write_line(l, &line);
                sc.line = line;
            }
        });
    }
}

/// Run `f` on every block of up to `width` neighbouring lines along `axis`
/// of `data`, blocks in parallel.
///
/// # Panics
/// If `data` does not have the grid's length, `axis` is not an axis of the
/// grid, or `width` is 0.
pub fn par_line_blocks<F>(grid: &Grid, axis: usize, width: usize, data: &mut [f64], f: F)
where
    F: Fn(&mut LineBlock<'_>) + Sync + Send,
{
    assert_eq!(data.len(), grid.len(), "array length against the grid");
    assert!(axis < grid.dim(), "axis {axis} of a {}-D grid", grid.dim());
    assert!(width > 0, "blocks of at least one line");
    let (n, s) = (grid.n[axis], grid.strides[axis]);
    let outer = grid.len() / (n * s);
    let blocks = s.div_ceil(width);
    let len = data.len();
    let ptr = SharedPtr(data.as_mut_ptr());
    (0..outer * blocks).into_par_iter().for_each(|task| {
        let (o, b) = (task / blocks, task % blocks);
        let j0 = b * width;
        let mut block = LineBlock {
            ptr: ptr.get(),
            array_len: len,
            o,
            j0,
            n,
            s,
            lines: width.min(s - j0),
            _data: PhantomData,
        };
        f(&mut block);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell is visited exactly once, through the line it lies on.
    #[test]
    fn blocks_partition_the_array_along_every_axis() {
        let g = Grid::new(vec![0.0; 3], vec![1.0; 3], vec![5, 3, 7], vec![]);
        for axis in 0..3 {
            for width in [1, 2, 64] {
                let mut data = vec![0.0; g.len()];
                par_line_blocks(&g, axis, width, &mut data, |b| {
                    for l in 0..b.lines() {
                        for i in 0..b.len() {
                            let at = b.index(i, l);
                            let mut idx = [0; 3];
                            g.unravel(at, &mut idx);
                            assert_eq!(idx[axis], i);
                            b.add(i, l, 1.0 + at as f64);
                        }
                    }
                });
                for (at, v) in data.iter().enumerate() {
                    assert_eq!(*v, 1.0 + at as f64, "axis {axis} width {width}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "array length against the grid")]
    fn a_short_array_is_refused() {
        let g = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![4, 4], vec![]);
        par_line_blocks(&g, 0, 4, &mut [0.0; 15], |_| {});
    }

    #[test]
    fn rows_and_lines_are_the_cells_they_name() {
        let g = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![5, 6], vec![]);
        let mut data: Vec<f64> = (0..30).map(|i| i as f64).collect();
        par_line_blocks(&g, 0, 4, &mut data, |b| {
            let (o, j0) = b.origin();
            assert_eq!(o, 0);
            let l = b.lines();
            let (lo, hi) = b.rows_mut(2);
            assert_eq!(lo[0], (6 + j0) as f64);
            assert_eq!(hi.len(), l);
            hi[0] += 100.0;
        });
        assert_eq!(data[12], 112.0);
        par_line_blocks(&g, 1, 4, &mut data, |b| {
            let (o, _) = b.origin();
            assert_eq!(b.line_mut()[0], if o == 2 { 112.0 } else { (6 * o) as f64 });
        });
    }

    #[test]
    #[should_panic(expected = "outside a block")]
    fn a_cell_outside_the_block_is_refused() {
        let g = Grid::new(vec![0.0; 2], vec![1.0; 2], vec![4, 4], vec![]);
        par_line_blocks(&g, 0, 2, &mut [0.0; 16], |b| b.set(0, 2, 1.0));
    }
}
