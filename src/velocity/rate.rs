//! **The CFL rate** of the velocity: the largest Σ_k |V_k| / h_k over the
//! cells (h_k the cell's own width on a stretched axis), what the
//! advection's stable Δt is the CFL number over.

use super::Velocity;
use rayon::prelude::*;

/// The largest value (NaN ignored, 0 for none), over 8 lanes so that the
/// loop vectorises; max is exact, so the order does not matter.
#[inline(always)]
fn lane_max(x: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (t, v) in lanes.iter_mut().zip(c) {
            *t = t.max(*v);
        }
    }
    rest.iter().chain(&lanes).fold(0.0, |t, v| t.max(*v))
}

impl Velocity {
    /// The CFL rate: the largest over cells of Σ_k max(|V_k|) / h_k, the
    /// larger |V_k| of each cell's two k-faces, from the last
    /// [`Velocity::eval`].
    ///
    /// With a trained a, V is affine in a at fixed w, so each |V_k| and their
    /// sum are convex in a: along every a-column the rate is largest in an
    /// end cell, and only the two end rows of a are scanned (the same value
    /// as a scan of every cell, [`Velocity::max_rate_scan`], up to
    /// round-off in a tie). With a frozen every cell is scanned. The axes
    /// are summed in order and max is exact, so the value does not depend
    /// on the threads.
    pub fn max_rate(&mut self) -> f64 {
        let grid = &self.grid;
        let lines = grid.len() / grid.n[grid.dim() - 1];
        // on a stretched a axis the a-rate's width varies along a column,
        // and the convexity argument fails: every cell is scanned
        if self.wax == 1 && grid.dim() > 1 && grid.stretch[0].is_none() {
            let per_row = lines / grid.n[0];
            let last_row = (grid.n[0] - 1) * per_row;
            self.rate_over((0..per_row).into_par_iter().chain(last_row..lines))
        } else {
            self.rate_over((0..lines).into_par_iter())
        }
    }

    /// The CFL rate over the cells of rows `rows` of axis 0 (a slab's
    /// interior), from the last evaluation: as [`Velocity::max_rate`], the
    /// two end rows alone with a trained a.
    pub fn max_rate_rows(&mut self, rows: std::ops::Range<usize>) -> f64 {
        let grid = &self.grid;
        let per_row = grid.len() / grid.n[grid.dim() - 1] / grid.n[0];
        let lines = rows.start * per_row..rows.end * per_row;
        if self.wax == 1 && grid.dim() > 1 && grid.stretch[0].is_none() {
            let first = lines.start..lines.start + per_row;
            let last = lines.end - per_row..lines.end;
            self.rate_over(first.into_par_iter().chain(last))
        } else {
            self.rate_over(lines.into_par_iter())
        }
    }

    /// The CFL rate by a scan of every cell (what [`Velocity::max_rate`]
    /// computes faster).
    pub fn max_rate_scan(&mut self) -> f64 {
        let lines = self.grid.len() / self.grid.n[self.grid.dim() - 1];
        self.rate_over((0..lines).into_par_iter())
    }

    /// The largest rate over the cells of the given lines of the last axis.
    fn rate_over(&self, which: impl IndexedParallelIterator<Item = usize>) -> f64 {
        let grid = &self.grid;
        let last = grid.dim() - 1;
        let n = grid.n[last];
        let simd = self.simd;
        let this = self;
        which
            .map(|line| {
                this.rate_lines.with(|b| {
                    crate::simd_run!(simd, {
                        let (rate, lo, hi) = (&mut b.0, &mut b.1, &mut b.2);
                        rate.fill(0.0);
                        let first = line * n;
                        // the axes before the last: the line's cells share
                        // o and i, and j runs over n consecutive values
                        for k in 0..last {
                            let v = this.axis(k);
                            let (nk, sk) = (grid.n[k], grid.strides[k]);
                            let (o, i, j0) = (first / (nk * sk), (first / sk) % nk, first % sk);
                            v.row(o, i, j0, &mut lo[..n]);
                            v.row(o, i + 1, j0, &mut hi[..n]);
                            let inv_h = 1.0 / grid.width(k, i);
                            for ((r, l), h) in rate.iter_mut().zip(&lo[..n]).zip(&hi[..n]) {
                                *r += l.abs().max(h.abs()) * inv_h;
                            }
                        }
                        this.axis(last).line(line, 0, lo);
                        match &grid.stretch[last] {
                            None => {
                                let inv_h = 1.0 / grid.h[last];
                                let faces = lo[..n].iter().zip(&lo[1..n + 1]);
                                for (r, (l, h)) in rate.iter_mut().zip(faces) {
                                    *r += l.abs().max(h.abs()) * inv_h;
                                }
                            }
                            Some(s) => {
                                let faces = lo[..n].iter().zip(&lo[1..n + 1]).zip(&s.widths);
                                for (r, ((l, h), w)) in rate.iter_mut().zip(faces) {
                                    *r += l.abs().max(h.abs()) / w;
                                }
                            }
                        }
                        lane_max(rate)
                    })
                })
            })
            .reduce(|| 0.0, f64::max)
    }
}
