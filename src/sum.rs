//! **Sums with the same bits on any number of threads.** rayon's own
//! reductions split the work where threads steal it, so a floating-point
//! sum changes in its last bits from run to run. Here the items are cut
//! into fixed blocks, each block is folded in order (blocks in parallel),
//! and the block results are combined in order.

use rayon::prelude::*;

/// Items per block.
pub const BLOCK: usize = 4096;

/// Fold `items` into an `S`: `fold(acc, index, item)` over each block of
/// [`BLOCK`] items in order, from `zero()`, then `add` the blocks in order.
pub fn fixed_fold<T: Sync, S: Send + Clone>(
    items: &[T],
    zero: impl Fn() -> S + Sync,
    fold: impl Fn(S, usize, &T) -> S + Sync,
    add: impl Fn(S, S) -> S,
) -> S {
    fixed_fold_into(items, zero, fold, add, &mut Vec::new())
}

/// [`fixed_fold`] with the block results in `parts`, which allocates only
/// when it must grow (a planned caller keeps it between calls).
pub fn fixed_fold_into<T: Sync, S: Send + Clone>(
    items: &[T],
    zero: impl Fn() -> S + Sync,
    fold: impl Fn(S, usize, &T) -> S + Sync,
    add: impl Fn(S, S) -> S,
    parts: &mut Vec<S>,
) -> S {
    parts.resize(items.len().div_ceil(BLOCK), zero());
    parts
        .par_iter_mut()
        .zip(items.par_chunks(BLOCK))
        .enumerate()
        .for_each(|(b, (part, chunk))| {
            *part = chunk
                .iter()
                .enumerate()
                .fold(zero(), |acc, (i, x)| fold(acc, b * BLOCK + i, x));
        });
    parts.iter().cloned().fold(zero(), add)
}

/// Σ_i f(i, x_i) in a fixed order.
pub fn fixed_sum<T: Sync>(items: &[T], f: impl Fn(usize, &T) -> f64 + Sync) -> f64 {
    fixed_fold(items, || 0.0, |acc, i, x| acc + f(i, x), |a, b| a + b)
}

/// Σ_p a_p b_p over 8 lanes (p mod 8), the lanes then summed in a fixed
/// tree: the same bits for every SIMD variant and thread count, and a loop
/// that vectorises (a single running sum would be one long chain of
/// dependent adds). `a` in f64 or f32 (widened exactly: the low-rank
/// tables' smallest crosses).
#[inline(always)]
pub fn lane_dot<T: Copy + Into<f64>>(a: &[T], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (ca, ra) = a[..n].as_chunks::<8>();
    let (cb, rb) = b[..n].as_chunks::<8>();
    let mut lanes = [0.0f64; 8];
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l].into() * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        lanes[l] += (*x).into() * y;
    }
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
        + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bits_on_one_or_two_threads() {
        let x: Vec<f64> = (0..50_000)
            .map(|i| (i as f64 * 0.37).sin() * 1e-3)
            .collect();
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| fixed_sum(&x, |i, v| v * i as f64))
        };
        let one = on(1);
        for _ in 0..5 {
            assert_eq!(on(2).to_bits(), one.to_bits());
        }
        let plain: f64 = x.iter().enumerate().map(|(i, v)| v * i as f64).sum();
        assert!((one - plain).abs() < 1e-9 * plain.abs());
    }
}
