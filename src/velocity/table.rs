//! The velocity's tables T[q][p] = f(w_p, x̃_q) (node-major), whole or in
//! low rank.
//!
//! A reduced problem's unit φ(p, r; ξ, ρ) is smooth in both (p, r) and
//! (ξ, ρ), so its tables, 3 072 w points × 1 536 nodes on
//! grids/single_index.toml, are of low numerical rank. Cross approximation
//! with complete pivoting (Gaussian elimination stopped early; its crosses
//! taken in blocks between passes over the table, [`cross`]) builds
//! T ≈ Σ_k a_k b_kᵀ from the whole table, until every entry of the residual
//! is below 3/4 of a tolerance (`solver.table_tol`, default [`ACA_TOL`]) of
//! the largest entry of T; the smallest crosses are then stored in f32, as
//! many as move no entry by more than the last quarter ([`narrow_tail`]):
//! a bound on each entry, so |Δg(w)| ≤ tol max|T| Σ_q |ω_q r_q|. It is
//! kept only when its k (Q + #points) values are [`LOW_RANK_GAIN`] times
//! fewer than the whole table's Q × #points. The contractions, which read
//! them, are memory-bound, so the f32 crosses (about three quarters of
//! them on grids/single_index.toml) save bytes where the time goes. Sums
//! run in fixed orders, in f64: the same bits on any thread count.
//!
//! Or not stored at all ([`Table::on_the_fly`]): each contraction evaluates
//! T[q][p] again, in the whole table's order, so it gives the whole
//! table's bits without its Q × #points × 8 bytes (6.7 GB for a 128⁴ grid
//! with 100 nodes), at the cost of a unit evaluation per entry per
//! contraction.

use super::cross::cross;
pub use super::cross::ACA_TOL;
use crate::scratch::Scratch;
use crate::simd::Simd;
use crate::sum::lane_dot;
use rayon::prelude::*;
use std::sync::Arc;

/// The largest block of points one task contracts at a time: a row's
/// run of 8 KB, long enough for the prefetcher (the 40⁴ velocity took
/// 15–16 ms in blocks of 256 points, 12–13 ms in blocks of 1 024).
const BLOCK: usize = 1024;

/// The smallest block (a contraction of fewer points is one task).
const MIN_BLOCK: usize = 256;

/// The block for `n` points: [`BLOCK`], or down to [`MIN_BLOCK`] so that
/// each thread has about 4 blocks. A point's sums run in the same order
/// whatever its block, so this moves no bit.
fn block_for(n: usize) -> usize {
    (n / (4 * rayon::current_num_threads())).clamp(MIN_BLOCK, BLOCK)
}

/// The factor by which a low-rank table must be smaller than the whole
/// one to be kept.
pub const LOW_RANK_GAIN: usize = 2;

/// The share of a low-rank table's tolerance left to the rounding of its
/// crosses stored in f32 ([`narrow_tail`]); the residual takes the rest.
pub const NARROW_SHARE: f64 = 0.25;

/// Each block of `$out` in parallel, zeroed, then `$body` with the block
/// (`$chunk`) and its first point (`$p0`), inside the SIMD variant (a
/// macro, not a function taking a closure: the body is then compiled with
/// the variant's features, which a closure from outside was not — 4 %
/// slower on the 40⁴ velocity).
macro_rules! by_blocks {
    ($out:expr, $simd:expr, |$p0:ident, $chunk:ident| $body:block) => {{
        let block = block_for($out.len());
        $out.par_chunks_mut(block)
            .enumerate()
            .for_each(|(blk, $chunk)| {
                crate::simd_run!($simd, {
                    $chunk.fill(0.0);
                    let $p0 = blk * block;
                    $body
                })
            })
    }};
}

/// A table evaluated on the fly, a run of entries at a time:
/// `f(x̃_q, points, out)` sets out[i] = f(w_i, x̃_q) for the points w_i
/// (row-major, `out.len()` of them) — one dynamic call per run, the unit
/// inlined in its loop.
pub type Entry = Arc<dyn Fn(&[f64], &[f64], &mut [f64]) + Send + Sync>;

/// An [`Entry`] from a function of one point and one node.
pub fn entry(dw: usize, f: impl Fn(&[f64], &[f64]) -> f64 + Send + Sync + 'static) -> Entry {
    Arc::new(move |x, points, out| {
        for (o, w) in out.iter_mut().zip(points.chunks_exact(dw.max(1))) {
            *o = f(w, x);
        }
    })
}

/// What a table evaluated on the fly holds: its points and nodes, its
/// entry, and a row of scratch per thread.
#[derive(Clone)]
pub struct Lazy {
    /// Points, `np` × `dw` row-major; nodes `q` × `dw`.
    points: Vec<f64>,
    nodes: Vec<f64>,
    dw: usize,
    f: Entry,
    rows: Arc<Scratch<Vec<f64>>>,
}

impl std::fmt::Debug for Lazy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lazy({} points)", self.points.len() / self.dw.max(1))
    }
}

impl Lazy {
    /// out[i] = T[q][p0 + i].
    #[inline]
    fn run(&self, q: usize, p0: usize, out: &mut [f64]) {
        let dw = self.dw;
        (self.f)(
            &self.nodes[q * dw..(q + 1) * dw],
            &self.points[p0 * dw..(p0 + out.len()) * dw],
            out,
        )
    }
}

/// A table of `q` nodes × `np` points.
#[derive(Debug, Clone)]
pub enum Table {
    /// Not stored: each entry evaluated when a contraction needs it.
    OnTheFly { q: usize, np: usize, lazy: Lazy },
    /// Node-major: T[q][p] at `q * np + p`.
    Whole { q: usize, np: usize, t: Vec<f64> },
    /// s_q T[q][p] = Σ_k a[k][q] b[k][p], `a` k × Q and `b` k × np
    /// row-major, with the rows scaled by s_q = √ω_q (the error that
    /// matters is in Σ_q T[q][p] ω_q r_q and in Σ_q ω_q f_q², not at the
    /// nodes of negligible weight); scratch for the contractions. The
    /// first `wide` crosses are in `a` and `b` (f64), the others, the
    /// smallest, in `a32` and `b32` (f32: [`narrow_tail`]).
    LowRank {
        q: usize,
        np: usize,
        rank: usize,
        wide: usize,
        a: Vec<f64>,
        b: Vec<f64>,
        a32: Vec<f32>,
        b32: Vec<f32>,
        s: Vec<f64>,
        scratch_q: Vec<f64>,
        scratch_k: Vec<f64>,
        /// max |s_q T[q][p]| and max |T[q][p]|: the error bounds' scales.
        scaled_max: f64,
        max: f64,
    },
}

impl Table {
    /// The whole table of `f(point_p, x̃_q)`, a node's row in one run.
    pub fn whole(points: &[Vec<f64>], xt: &[Vec<f64>], f: &Entry) -> Self {
        let np = points.len();
        let flat = points.concat();
        let mut t = vec![0.0; np * xt.len()];
        t.par_chunks_mut(np)
            .zip(xt.par_iter())
            .for_each(|(row, x)| f(x, &flat, row));
        Table::Whole { q: xt.len(), np, t }
    }

    /// The table of `f(point_p, x̃_q)`, not stored: evaluated in every
    /// contraction, in the whole table's order (the same bits).
    pub fn on_the_fly(points: &[Vec<f64>], xt: &[Vec<f64>], f: Entry) -> Self {
        let np = points.len();
        let dw = xt.first().map_or(0, Vec::len);
        Table::OnTheFly {
            q: xt.len(),
            np,
            lazy: Lazy {
                points: points.concat(),
                nodes: xt.concat(),
                dw,
                f,
                rows: Arc::new(Scratch::new(|| vec![0.0; np])),
            },
        }
    }

    /// The table with its rows scaled by `s` (s_q = √ω_q > 0) in low rank
    /// when that is [`LOW_RANK_GAIN`] times smaller than the whole one, else
    /// the whole table: each entry within `tol` of the scaled table's
    /// largest, the residual of the [`cross`] within (1 − [`NARROW_SHARE`])
    /// `tol` and the crosses stored in f32 moving it by at most the rest.
    pub fn planned(points: &[Vec<f64>], xt: &[Vec<f64>], f: &Entry, s: &[f64], tol: f64) -> Self {
        let whole = Self::whole(points, xt, f);
        let Table::Whole { q, np, t } = &whole else {
            unreachable!()
        };
        if s.iter()
            .any(|v| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
        {
            return whole;
        }
        let mut scaled = t.clone();
        scaled
            .par_chunks_mut(*np)
            .zip(s.par_iter())
            .for_each(|(row, sq)| row.iter_mut().for_each(|v| *v *= sq));
        let max_rank = q * np / (LOW_RANK_GAIN * (q + np));
        let largest = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let (scaled_max, max) = (largest(&scaled), largest(t));
        let Some((rank, mut a, mut b)) =
            cross(scaled, *q, *np, max_rank, (1.0 - NARROW_SHARE) * tol)
        else {
            return whole;
        };
        let wide = narrow_tail(&a, &b, *q, *np, NARROW_SHARE * tol * scaled_max);
        let narrow = |v: &mut Vec<f64>, n: usize| -> Vec<f32> {
            v.drain(wide * n..).map(|x| x as f32).collect()
        };
        let (a32, b32) = (narrow(&mut a, *q), narrow(&mut b, *np));
        Table::LowRank {
            q: *q,
            np: *np,
            rank,
            wide,
            a,
            b,
            a32,
            b32,
            s: s.to_vec(),
            scratch_q: vec![0.0; *q],
            scratch_k: vec![0.0; rank],
            scaled_max,
            max,
        }
    }

    /// The rank kept (`None`: the whole table).
    pub fn rank(&self) -> Option<usize> {
        match self {
            Table::Whole { .. } | Table::OnTheFly { .. } => None,
            Table::LowRank { rank, .. } => Some(*rank),
        }
    }

    /// The number of crosses stored in f32 (`None`: the whole table).
    pub fn narrow(&self) -> Option<usize> {
        match self {
            Table::Whole { .. } | Table::OnTheFly { .. } => None,
            Table::LowRank { rank, wide, .. } => Some(rank - wide),
        }
    }

    /// max |s_q T[q][p]| and max |T[q][p]| of a low-rank table: each entry
    /// of s_q T is within its tolerance (`solver.table_tol`) times the
    /// first (`None`: whole).
    pub fn scales(&self) -> Option<(f64, f64)> {
        match self {
            Table::Whole { .. } | Table::OnTheFly { .. } => None,
            Table::LowRank {
                scaled_max, max, ..
            } => Some((*scaled_max, *max)),
        }
    }

    /// T[q][p].
    #[inline]
    pub fn at(&self, q: usize, p: usize) -> f64 {
        match self {
            Table::Whole { np, t, .. } => t[q * np + p],
            Table::OnTheFly { lazy, .. } => {
                let mut v = [0.0];
                lazy.run(q, p, &mut v);
                v[0]
            }
            Table::LowRank {
                q: nq,
                np,
                rank,
                wide,
                a,
                b,
                a32,
                b32,
                s,
                ..
            } => {
                (0..*rank)
                    .map(|k| match k.checked_sub(*wide) {
                        None => a[k * nq + q] * b[k * np + p],
                        Some(j) => f64::from(a32[j * nq + q]) * f64::from(b32[j * np + p]),
                    })
                    .sum::<f64>()
                    / s[q]
            }
        }
    }

    /// out[p] = Σ_q T[q][p] c_q, in parallel over blocks of points (q, or
    /// k, in order for every point).
    pub fn contract(&mut self, c: &[f64], out: &mut [f64], simd: Simd) {
        match self {
            Table::Whole { np, t, .. } => axpy_rows((t, &[]), *np, c, out, simd),
            Table::OnTheFly { lazy, .. } => {
                // axpy_rows's order, each entry evaluated where it is read
                by_blocks!(out, simd, |p0, chunk| {
                    let mut row = [0.0; BLOCK];
                    let row = &mut row[..chunk.len()];
                    for (q, &cq) in c.iter().enumerate() {
                        lazy.run(q, p0, row);
                        add_scaled(chunk, row, cq);
                    }
                })
            }
            Table::LowRank {
                q,
                np,
                a,
                b,
                a32,
                b32,
                s,
                scratch_q,
                scratch_k,
                ..
            } => {
                // c_q / s_q, t_k = a_k · (c/s), then out = Σ_k t_k b_k
                for ((u, cq), sq) in scratch_q.iter_mut().zip(c).zip(s.iter()) {
                    *u = cq / sq;
                }
                dots((a, a32), *q, scratch_q, scratch_k, simd);
                axpy_rows((b, b32), *np, scratch_k, out, simd);
            }
        }
    }

    /// out[q] = Σ_p T[q][p] m_p.
    pub fn dot_rows(&mut self, m: &[f64], out: &mut [f64], simd: Simd) {
        match self {
            Table::Whole { np, t, .. } => {
                let (np, t) = (*np, &*t);
                out.par_iter_mut().enumerate().for_each(|(q, f)| {
                    *f = crate::simd_run!(simd, { lane_dot(&t[q * np..(q + 1) * np], m) })
                });
            }
            Table::OnTheFly { lazy, .. } => {
                // the row evaluated into this thread's scratch, then the
                // whole table's dot
                let lazy = &*lazy;
                out.par_iter_mut().enumerate().for_each(|(q, f)| {
                    lazy.rows.with(|row| {
                        lazy.run(q, 0, row);
                        *f = crate::simd_run!(simd, { lane_dot(row, m) });
                    })
                });
            }
            Table::LowRank {
                q,
                np,
                a,
                b,
                a32,
                b32,
                s,
                scratch_k,
                ..
            } => {
                dots((b, b32), *np, m, scratch_k, simd);
                axpy_rows((a, a32), *q, scratch_k, out, simd);
                for (o, sq) in out.iter_mut().zip(s.iter()) {
                    *o /= sq;
                }
            }
        }
    }
}

/// The crosses kept in f64 of a low-rank table: the first `wide` of
/// `rank`, the others stored in f32. The longest tail of crosses whose
/// rounding to f32 moves no entry of Σ_k a_k b_kᵀ by more than `budget`
/// in all, each cross by at most max|a_k − ã_k| max|b_k| + max|ã_k|
/// max|b_k − b̃_k| (the f32 values, ã and b̃, are exact in f64, so this
/// bounds what the contractions read). The crosses come largest first, so
/// the tail is the smallest ones: about three quarters of single_index's
/// at 1e-10.
fn narrow_tail(a: &[f64], b: &[f64], nq: usize, np: usize, budget: f64) -> usize {
    let rounded = |v: &[f64]| {
        v.iter().fold((0.0f64, 0.0f64, 0.0f64), |(d, m, m32), &x| {
            let y = f64::from(x as f32);
            (d.max((x - y).abs()), m.max(x.abs()), m32.max(y.abs()))
        })
    };
    let errors: Vec<f64> = a
        .par_chunks(nq.max(1))
        .zip(b.par_chunks(np.max(1)))
        .map(|(ak, bk)| {
            let ((da, _, ma32), (db, mb, _)) = (rounded(ak), rounded(bk));
            da * mb + ma32 * db
        })
        .collect();
    let (mut wide, mut moved) = (errors.len(), 0.0);
    while wide > 0 && moved + errors[wide - 1] <= budget {
        moved += errors[wide - 1];
        wide -= 1;
    }
    wide
}

/// t_k = rows_k · v for the rows (of length `n`) in f64, then those in
/// f32, in parallel over k.
fn dots(rows: (&[f64], &[f32]), n: usize, v: &[f64], t: &mut [f64], simd: Simd) {
    let wide = rows.0.len() / n.max(1);
    t.par_iter_mut().enumerate().for_each(|(k, t)| {
        *t = crate::simd_run!(simd, {
            match k.checked_sub(wide) {
                None => lane_dot(&rows.0[k * n..(k + 1) * n], v),
                Some(j) => lane_dot(&rows.1[j * n..(j + 1) * n], v),
            }
        })
    });
}

/// out[p] = Σ_r rows[r][p] c_r (rows of length `n`, r in order: those in
/// f64, then those in f32), in parallel over blocks of p.
fn axpy_rows(rows: (&[f64], &[f32]), n: usize, c: &[f64], out: &mut [f64], simd: Simd) {
    let wide = rows.0.len() / n.max(1);
    by_blocks!(out, simd, |p0, chunk| {
        let (cw, cn) = c.split_at(wide);
        let len = chunk.len();
        for (r, &cr) in cw.iter().enumerate() {
            add_scaled(chunk, &rows.0[r * n + p0..r * n + p0 + len], cr);
        }
        for (r, &cr) in cn.iter().enumerate() {
            add_scaled(chunk, &rows.1[r * n + p0..r * n + p0 + len], cr);
        }
    })
}

/// v += t c, entry by entry.
#[inline(always)]
fn add_scaled<T: Copy + Into<f64>>(v: &mut [f64], t: &[T], c: f64) {
    for (v, t) in v.iter_mut().zip(t) {
        *v += (*t).into() * c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::velocity::cross::{BLOCK_CROSSES, CANDIDATES};

    /// A smooth kernel over 400 × 300 points (entries up to 1): the cross
    /// approximation has rank below 60, some of its crosses in f32, and
    /// reproduces it to ACA_TOL at every entry (plus the round-off of a
    /// rank-k sum), and its
    /// contractions equal the whole table's within ACA_TOL Σ|c|.
    #[test]
    fn the_cross_approximation_reproduces_a_smooth_table() {
        let points: Vec<Vec<f64>> = (0..400)
            .map(|i| vec![-3.0 + 6.0 * i as f64 / 399.0, 0.5])
            .collect();
        let xt: Vec<Vec<f64>> = (0..300)
            .map(|q| vec![-2.0 + 4.0 * q as f64 / 299.0, 1.0])
            .collect();
        let f = &entry(2, |w, x| (w[0] * x[0] + w[1] * x[1]).tanh());
        let whole = Table::whole(&points, &xt, f);
        let mut whole = whole;
        let mut low = Table::planned(&points, &xt, f, &vec![1.0; 300], ACA_TOL);
        let rank = low.rank().expect("low rank");
        assert!(rank < 60, "rank {rank}");
        let narrow = low.narrow().expect("low rank");
        assert!(
            narrow > 0 && narrow < rank,
            "{narrow} of {rank} crosses in f32"
        );
        let mut worst: f64 = 0.0;
        for q in 0..300 {
            for p in 0..400 {
                worst = worst.max((low.at(q, p) - whole.at(q, p)).abs());
            }
        }
        // the residual and the f32 crosses' rounding within ACA_TOL of the
        // largest entry, and a rank-term sum's round-off
        let (smax, _) = low.scales().expect("low rank");
        let bound = (ACA_TOL + rank as f64 * f64::EPSILON) * smax;
        assert!(worst <= bound, "rank {rank}: {worst:e} > {bound:e}");
        let diff = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        };
        let l1 = |v: &[f64]| v.iter().map(|x| x.abs()).sum::<f64>();
        let c: Vec<f64> = (0..300)
            .map(|q| ((q * 7) % 13) as f64 / 13.0 - 0.5)
            .collect();
        let (mut g0, mut g1) = (vec![0.0; 400], vec![0.0; 400]);
        whole.contract(&c, &mut g0, Simd::Baseline);
        low.contract(&c, &mut g1, Simd::Baseline);
        assert!(diff(&g0, &g1) < 2.0 * ACA_TOL * l1(&c));
        let m: Vec<f64> = (0..400).map(|p| ((p * 3) % 11) as f64 / 11.0).collect();
        let (mut f0, mut f1) = (vec![0.0; 300], vec![0.0; 300]);
        whole.dot_rows(&m, &mut f0, Simd::Baseline);
        low.dot_rows(&m, &mut f1, Simd::Baseline);
        assert!(diff(&f0, &f1) < 2.0 * ACA_TOL * l1(&m));
    }

    /// The blocked cross gives the same factors on 1 and 3 threads, on a
    /// table of more rows than a block's candidates.
    #[test]
    fn the_cross_has_the_same_bits_on_any_thread_count() {
        let points: Vec<Vec<f64>> = (0..500)
            .map(|i| vec![-3.0 + 6.0 * i as f64 / 499.0, 0.7])
            .collect();
        let xt: Vec<Vec<f64>> = (0..3 * CANDIDATES)
            .map(|q| vec![-2.0 + 4.0 * q as f64 / (3 * CANDIDATES) as f64, 1.0])
            .collect();
        let f = &entry(2, |w, x| libm::erf(w[0] * x[0] + w[1] * x[1]));
        let s: Vec<f64> = (0..xt.len()).map(|q| 1.0 + (q % 5) as f64 / 7.0).collect();
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let t = Table::planned(&points, &xt, f, &s, ACA_TOL);
                let rank = t.rank().expect("low rank");
                let bits: Vec<u64> = (0..xt.len())
                    .flat_map(|q| (0..500).map(move |p| (q, p)))
                    .map(|(q, p)| t.at(q, p).to_bits())
                    .collect();
                (rank, bits)
            })
        };
        let (r1, b1) = on(1);
        let (r3, b3) = on(3);
        assert!(r1 > BLOCK_CROSSES, "rank {r1}: one block only");
        assert_eq!(r1, r3);
        assert!(b1 == b3, "the factors differ between 1 and 3 threads");
    }

    /// A table of full rank is kept whole.
    #[test]
    fn a_rough_table_stays_whole() {
        let points: Vec<Vec<f64>> = (0..64).map(|i| vec![i as f64]).collect();
        let xt: Vec<Vec<f64>> = (0..64).map(|q| vec![q as f64]).collect();
        let f = &entry(1, |w, x| if w[0] == x[0] { 1.0 } else { 0.0 });
        assert!(Table::planned(&points, &xt, f, &[1.0; 64], ACA_TOL)
            .rank()
            .is_none());
    }
}
