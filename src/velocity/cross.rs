//! **Cross approximation** of a table with complete pivoting: Gaussian
//! elimination stopped when every entry of the residual is below a
//! tolerance (`solver.table_tol`, default [`ACA_TOL`]) of the table's
//! largest (the residual is kept, so this is exact, not an estimate), its
//! crosses taken in blocks between passes over the whole residual. Used
//! by [`super::table::Table::planned`].

use crate::simd::Simd;
use rayon::prelude::*;

/// The largest entry of the residual T − Σ a_k b_kᵀ, relative to the
/// largest entry of T, by default: `solver.table_tol`'s default (tested
/// against the whole tables: tests/low_rank.rs).
pub const ACA_TOL: f64 = crate::problem::TABLE_TOL;

/// Crosses a block takes between two passes over the whole residual.
pub(crate) const BLOCK_CROSSES: usize = 32;

/// Rows a block takes its crosses from: those whose residual was largest
/// at the last pass.
pub(crate) const CANDIDATES: usize = 4 * BLOCK_CROSSES;

/// The largest |entry| of a row (its index and value; the first among
/// equals; NaN is passed over): the largest |entry| in 8 lanes (a loop the
/// compiler vectorises), then the first entry that reaches it.
#[inline(always)]
fn row_max(row: &[f64]) -> (usize, f64) {
    let mut lanes = [0.0f64; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (m, v) in lanes.iter_mut().zip(c) {
            *m = m.max(v.abs());
        }
    }
    let top = tail
        .iter()
        .fold(lanes.iter().fold(0.0f64, |a, b| a.max(*b)), |a, v| {
            a.max(v.abs())
        });
    match row.iter().position(|v| v.abs() == top) {
        Some(i) if top > 0.0 => (i, row[i]),
        _ => (0, 0.0),
    }
}

/// The largest of rows' maxima (row, column, value; the first among
/// equals in row order).
fn pick(maxes: impl Iterator<Item = (usize, f64)>) -> (usize, usize, f64) {
    maxes
        .enumerate()
        .fold((0, 0, 0.0f64), |(qi, pj, m), (q, (p, v))| {
            if v.abs() > m.abs() {
                (q, p, v)
            } else {
                (qi, pj, m)
            }
        })
}

/// Rows of the residual a task of [`subtract_block`] takes together (each
/// row of b read once for all of them), and the columns of one tile.
const PASS_ROWS: usize = 4;
const PASS_COLS: usize = 256;

/// r[q] −= Σ_l a[k0 + l][q] b[l] for every row q, l in order at each entry
/// (the bits of one cross at a time), and each row's largest entry again.
fn subtract_block(
    r: &mut [f64],
    maxes: &mut [(usize, f64)],
    (a, nq): (&[f64], usize),
    (b, np): (&[f64], usize),
    k0: usize,
) {
    let simd = Simd::detect();
    r.par_chunks_mut(PASS_ROWS * np)
        .zip(maxes.par_chunks_mut(PASS_ROWS))
        .enumerate()
        .for_each(|(g, (rows, mx))| {
            crate::simd_run!(simd, {
                let q0 = g * PASS_ROWS;
                for c0 in (0..np).step_by(PASS_COLS) {
                    let c1 = (c0 + PASS_COLS).min(np);
                    for (l, bl) in b.chunks_exact(np).enumerate() {
                        let bl = &bl[c0..c1];
                        for (i, row) in rows.chunks_exact_mut(np).enumerate() {
                            let aq = a[(k0 + l) * nq + q0 + i];
                            for (v, bp) in row[c0..c1].iter_mut().zip(bl) {
                                *v -= aq * bp;
                            }
                        }
                    }
                }
                for (row, m) in rows.chunks_exact(np).zip(mx.iter_mut()) {
                    *m = row_max(row);
                }
            })
        });
}

/// Cross approximation with complete pivoting of the whole table `r`
/// (`nq` × `np`, node-major; overwritten by the residual): (rank, a (rank × Q), b (rank × np)) with
/// |T − Σ_k a_k b_kᵀ| ≤ `tol` max|T| at every entry (the residual is
/// kept, so this is its exact maximum, not an estimate), or `None` when that
/// needs more than `max_rank` crosses.
///
/// Each cross is the residual's column and row through its largest entry
/// (the first in row-major order among equals), taken in blocks: a block
/// keeps the [`CANDIDATES`] rows whose residual was largest at the last
/// pass and takes up to [`BLOCK_CROSSES`] crosses through their largest
/// entry, while it is not below the largest of the other rows at that
/// pass; then one pass subtracts the block's crosses from the whole
/// residual, in order at each entry (the bits of one cross at a time), and
/// finds every row's largest entry again. The first cross of a block is
/// the whole residual's largest, so every block takes one; and the last
/// pass's maximum is the stopping rule's. The same bits on any thread
/// count.
#[allow(clippy::type_complexity)]
pub fn cross(
    mut r: Vec<f64>,
    nq: usize,
    np: usize,
    max_rank: usize,
    tol: f64,
) -> Option<(usize, Vec<f64>, Vec<f64>)> {
    let mut maxes: Vec<(usize, f64)> = r.par_chunks(np).map(row_max).collect();
    let bound = tol * pick(maxes.iter().copied()).2.abs();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut rank = 0;
    let mut order: Vec<usize> = (0..nq).collect();
    while pick(maxes.iter().copied()).2.abs() > bound {
        // the candidates, in row order, and the largest row left out
        order.sort_unstable_by(|&i, &j| {
            maxes[j]
                .1
                .abs()
                .total_cmp(&maxes[i].1.abs())
                .then(i.cmp(&j))
        });
        let nc = CANDIDATES.min(nq);
        let mut cand = order[..nc].to_vec();
        cand.sort_unstable();
        let outside = order.get(nc).map_or(0.0, |&q| maxes[q].1.abs());
        let mut s: Vec<f64> = cand
            .iter()
            .flat_map(|&q| r[q * np..(q + 1) * np].iter().copied())
            .collect();
        let mut smax: Vec<(usize, f64)> = s.par_chunks(np).map(row_max).collect();
        let k0 = rank;
        while rank - k0 < BLOCK_CROSSES {
            let (ci, pj, piv) = pick(smax.iter().copied());
            if piv.abs() <= bound || (rank > k0 && piv.abs() < outside) {
                break;
            }
            if rank == max_rank {
                return None;
            }
            // the residual's column pj: the last pass's, less this block's
            // crosses (in order at each entry)
            let mut ak: Vec<f64> = (0..nq).map(|q| r[q * np + pj]).collect();
            for l in k0..rank {
                let bl = b[l * np + pj];
                for (v, al) in ak.iter_mut().zip(&a[l * nq..(l + 1) * nq]) {
                    *v -= al * bl;
                }
            }
            let bk: Vec<f64> = s[ci * np..(ci + 1) * np].iter().map(|v| v / piv).collect();
            s.par_chunks_mut(np)
                .zip(smax.par_iter_mut())
                .zip(cand.par_iter())
                .for_each(|((row, mx), &q)| {
                    let aq = ak[q];
                    for (v, bp) in row.iter_mut().zip(&bk) {
                        *v -= aq * bp;
                    }
                    *mx = row_max(row);
                });
            a.extend_from_slice(&ak);
            b.extend_from_slice(&bk);
            rank += 1;
        }
        subtract_block(&mut r, &mut maxes, (&a, nq), (&b[k0 * np..], np), k0);
    }
    Some((rank, a, b))
}
