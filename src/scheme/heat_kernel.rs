//! **The discrete heat flow as a short kernel.** exp(r L), L the unit
//! 3-point Laplacian with no-flux (Neumann) walls on n cells and r = Δt D /
//! h², is the same operator [`super::diffusion::SpectralDiffusion`] applies
//! by DCT, written in space:
//!
//! - On the infinite lattice exp(r L) is convolution with K(k) = e^{−2r}
//!   I_k(2r) (I_k the modified Bessel function): the law at time r of a
//!   continuous-time random walk jumping ±1 at rate 1 each way. K is
//!   positive, symmetric and sums to 1.
//! - The walls are the method of images: the even reflection of a line
//!   about its two end faces (ρ_{−1−i} = ρ_i, ρ_{n+i} = ρ_{n−1−i}) is a
//!   sequence on which the lattice L acts as the Neumann L does, so
//!   exp(r L_N) ρ is the lattice flow of the reflected line, read on 0..n.
//!
//! K decays faster than geometrically (K(k) ≈ r^k / k! for k ≫ r), so it is
//! cut at the first b whose tail 2 Σ_{k>b} K(k) is below 2⁻⁵⁶ (an eighth of
//! the unit round-off): the cut changes each value by less than round-off
//! of the largest. The kept weights are scaled to sum to 1, so mass is
//! conserved to round-off, and they are positive, so ρ stays positive
//! exactly. At the quickstart's steps (r ≈ 0.01–0.05) b is 6 to 8: 2b + 1
//! multiply-adds per cell and axis against two DCTs of the line.

/// The tail left out, relative to the kernel's total (2⁻⁵⁶).
pub const TAIL: f64 = 1.0 / (1u64 << 56) as f64;

/// The largest r the kernel is built for (e^{2r} stays far from overflow).
const R_MAX: f64 = 200.0;

/// The half-width b and weights K(0..=b) of exp(r L), cut at [`TAIL`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatKernel {
    /// K(0), K(1), …, K(b), scaled so K(0) + 2 Σ_{k≥1} K(k) = 1.
    pub weights: Vec<f64>,
}

impl HeatKernel {
    /// The kernel of exp(r L) when its half-width at round-off is at most
    /// `max_half` (None otherwise, or when r is not finite and ≥ 0 or above
    /// 200).
    pub fn new(r: f64, max_half: usize) -> Option<Self> {
        let mut k = HeatKernel {
            weights: Vec::new(),
        };
        k.set(r, max_half, &mut Vec::new()).then_some(k)
    }

    /// Scratch a kernel of half-width up to `max_half` needs (so that
    /// [`HeatKernel::set`] allocates nothing).
    pub fn with_capacity(max_half: usize) -> (Self, Vec<f64>) {
        let k = HeatKernel {
            weights: Vec::with_capacity(max_half + 1),
        };
        (k, Vec::with_capacity(max_half + 41))
    }

    /// Make this the kernel of exp(r L), as [`HeatKernel::new`]; false (and
    /// the weights left empty) when there is none. `scratch` holds the
    /// weights before the cut.
    pub fn set(&mut self, r: f64, max_half: usize, scratch: &mut Vec<f64>) -> bool {
        self.weights.clear();
        if !(0.0..=R_MAX).contains(&r) {
            return false;
        }
        // K(k) = e^{−2r} Σ_j r^{2j+k} / (j! (j+k)!), every term positive;
        // far enough to see the tail beyond max_half vanish
        let kmax = max_half + 40;
        let scale = (-2.0 * r).exp();
        let mut lead = 1.0; // r^k / k!
        let k_of = scratch;
        k_of.clear();
        for k in 0..=kmax {
            if k > 0 {
                lead *= r / k as f64;
            }
            let (mut term, mut sum) = (lead, lead);
            let mut j = 0usize;
            // terms rise while (j + 1)(j + k + 1) < r², then fall faster
            // than geometrically: stop when one is below 2⁻⁶⁰ of the sum
            while term > 0.0 {
                j += 1;
                term *= r * r / (j as f64 * (j + k) as f64);
                sum += term;
                if term < sum * (1.0 / (1u64 << 60) as f64) && (j * (j + k)) as f64 > r * r {
                    break;
                }
            }
            k_of.push(scale * sum);
        }
        // tails from the top, smallest first: tail[b] = 2 Σ_{k>b} K(k)
        let total = k_of[0] + 2.0 * k_of[1..].iter().sum::<f64>();
        let mut tail = 0.0;
        let mut b = 0;
        for k in (0..kmax).rev() {
            tail += 2.0 * k_of[k + 1];
            if tail > TAIL * total {
                b = k + 1;
                break;
            }
        }
        if b > max_half || tail_beyond(k_of, r) > TAIL * total {
            return false;
        }
        self.weights.extend_from_slice(&k_of[..=b]);
        let kept = self.weights[0] + 2.0 * self.weights[1..].iter().sum::<f64>();
        self.weights.iter_mut().for_each(|w| *w /= kept);
        true
    }

    /// The half-width b.
    pub fn half_width(&self) -> usize {
        self.weights.len() - 1
    }
}

/// A bound on 2 Σ_{k>kmax} K(k), the weights not computed, from the last
/// one: K(k+1)/K(k) = I_{k+1}(2r)/I_k(2r) < r/(k+1), a geometric tail of
/// ratio q = r/(kmax+1) when q < ½ (∞ otherwise).
fn tail_beyond(k_of: &[f64], r: f64) -> f64 {
    let kmax = k_of.len() - 1;
    let q = r / (kmax + 1) as f64;
    if q < 0.5 {
        2.0 * k_of[kmax] * q / (1.0 - q)
    } else {
        f64::INFINITY
    }
}

/// `out[l] = K(0) src[c + l] + Σ_{m=1}^{b} K(m) (src[c + l − m·step] +
/// src[c + l + m·step])` for the 16 lanes l: the kernel applied to 16
/// neighbouring cells whose neighbours along the axis are `step` apart in
/// `src` (16 for a block of 16 lines stored row by row, 1 along one
/// padded line). The terms of even m (with K(0)) and of odd m are summed
/// apart, each in increasing m, then added: two chains of dependent adds
/// instead of one. The order is the same for every cell, whatever the
/// layout, so every cell's value is the same bits on every axis, thread
/// count and SIMD variant.
#[inline(always)]
pub fn apply16(w: &[f64], src: &[f64], c: usize, step: usize, out: &mut [f64; 16]) {
    let b = w.len() - 1;
    // the cells the 16 lanes read, checked once; local accumulators (no
    // store can alias the loads), so the lanes stay in vector registers
    let win = &src[c - b * step..c + b * step + 16];
    let centre: &[f64; 16] = win[b * step..b * step + 16].try_into().expect("16 lanes");
    let (mut even, mut odd) = ([0.0; 16], [0.0; 16]);
    for (a, x) in even.iter_mut().zip(centre) {
        *a = w[0] * x;
    }
    #[inline(always)]
    fn add(acc: &mut [f64; 16], km: f64, lo: &[f64; 16], hi: &[f64; 16]) {
        for l in 0..16 {
            acc[l] += km * (lo[l] + hi[l]);
        }
    }
    // m = 1, 2, 3, …: odd into one sum, even into the other
    macro_rules! alternate {
        ($terms:expr) => {{
            let mut terms = $terms;
            loop {
                let Some((km, lo, hi)) = terms.next() else {
                    break;
                };
                add(&mut odd, km, lo, hi);
                let Some((km, lo, hi)) = terms.next() else {
                    break;
                };
                add(&mut even, km, lo, hi);
            }
        }};
    }
    match step {
        // rows of 16 lanes: neighbour m is row b ∓ m of the window
        16 => {
            let (rows, _) = win.as_chunks::<16>();
            let pairs = rows[..b].iter().rev().zip(&rows[b + 1..]);
            alternate!(pairs.zip(&w[1..]).map(|((lo, hi), &km)| (km, lo, hi)));
        }
        // one padded line: neighbour m is the window at b ∓ m
        1 => {
            let lows = win[..b + 15].windows(16).rev();
            let highs = win[b + 1..].windows(16);
            alternate!(lows.zip(highs).zip(&w[1..]).map(|((lo, hi), &km)| {
                let lo: &[f64; 16] = lo.try_into().expect("16 lanes");
                let hi: &[f64; 16] = hi.try_into().expect("16 lanes");
                (km, lo, hi)
            }));
        }
        _ => {
            alternate!(w.iter().enumerate().skip(1).map(|(m, &km)| {
                let lo: &[f64; 16] = win[(b - m) * step..(b - m) * step + 16]
                    .try_into()
                    .expect("16 lanes");
                let hi: &[f64; 16] = win[(b + m) * step..(b + m) * step + 16]
                    .try_into()
                    .expect("16 lanes");
                (km, lo, hi)
            }));
        }
    }
    for ((o, e), d) in out.iter_mut().zip(&even).zip(&odd) {
        *o = e + d;
    }
}

/// Index of padded position p (cell p − b) of a line of n cells after
/// reflection about its end faces (valid for b ≤ n).
#[inline(always)]
pub fn reflect(p: usize, b: usize, n: usize) -> usize {
    if p < b {
        b - 1 - p
    } else if p - b >= n {
        2 * n - 1 - (p - b)
    } else {
        p - b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exp(r L_N) on a line by the eigen-expansion of the Neumann
    /// Laplacian: cosines cos(π m (i + ½)/n), eigenvalues −4 sin²(π m/2n).
    fn by_modes(u: &[f64], r: f64) -> Vec<f64> {
        let n = u.len();
        let pi = std::f64::consts::PI;
        let basis = |m: usize, i: usize| (pi * m as f64 * (i as f64 + 0.5) / n as f64).cos();
        let mut out = vec![0.0; n];
        for m in 0..n {
            let norm = if m == 0 {
                1.0 / n as f64
            } else {
                2.0 / n as f64
            };
            let c: f64 = (0..n).map(|i| u[i] * basis(m, i)).sum::<f64>() * norm;
            let s = (pi * m as f64 / (2.0 * n as f64)).sin();
            let f = (-4.0 * r * s * s).exp();
            for (i, o) in out.iter_mut().enumerate() {
                *o += c * f * basis(m, i);
            }
        }
        out
    }

    fn by_kernel(u: &[f64], k: &HeatKernel) -> Vec<f64> {
        let (n, b) = (u.len(), k.half_width());
        let mut p = vec![0.0; n + 2 * b + 16];
        for (q, v) in p[..n + 2 * b].iter_mut().enumerate() {
            *v = u[reflect(q, b, n)];
        }
        let mut out = vec![0.0; n];
        for c0 in (0..n).step_by(16) {
            let mut o = [0.0; 16];
            apply16(&k.weights, &p, b + c0, 1, &mut o);
            let l = 16.min(n - c0);
            out[c0..c0 + l].copy_from_slice(&o[..l]);
        }
        out
    }

    /// The kernel with reflections is exp(r L_N), to round-off of the
    /// largest value, for steps from far below to far above h²/D, on lines
    /// shorter and longer than the kernel. The bound: the cut (2⁻⁵⁶) plus
    /// the modes' own round-off, n² products of O(1) numbers summed, ≲ 20 n
    /// ulps.
    #[test]
    fn the_kernel_is_the_neumann_heat_flow() {
        for &n in &[7usize, 16, 33, 100] {
            let u: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 + 0.25).collect();
            let top = u.iter().cloned().fold(0.0, f64::max);
            for &r in &[1e-6, 0.01, 0.023, 0.3, 1.0, 4.0, 15.0] {
                let Some(k) = HeatKernel::new(r, n) else {
                    // refused only when longer than the line
                    let b = HeatKernel::new(r, 1000).unwrap().half_width();
                    assert!(b > n, "r = {r} n = {n}: no kernel, yet b = {b}");
                    continue;
                };
                let (a, want) = (by_kernel(&u, &k), by_modes(&u, r));
                let tol = 20.0 * n as f64 * f64::EPSILON * top;
                for (x, y) in a.iter().zip(&want) {
                    assert!((x - y).abs() <= tol, "n {n} r {r}: {x} vs {y}");
                }
                assert!(a.iter().all(|&v| v > 0.0));
                let (m0, m1) = (u.iter().sum::<f64>(), a.iter().sum::<f64>());
                assert!((m0 - m1).abs() <= 4.0 * n as f64 * f64::EPSILON * m0);
            }
        }
    }

    /// K(k) against the lattice identity: the weights are the law of the
    /// difference of two Poisson(r) counts, whose variance is 2r; the
    /// half-width grows like r^k/k! dictates (b = 8 at r = 0.05).
    #[test]
    fn weights_have_the_random_walk_variance_and_width() {
        for &r in &[0.01, 0.05, 0.5, 3.0, 20.0] {
            let k = HeatKernel::new(r, 400).unwrap();
            let var: f64 = 2.0
                * k.weights
                    .iter()
                    .enumerate()
                    .map(|(m, w)| (m * m) as f64 * w)
                    .sum::<f64>();
            assert!((var - 2.0 * r).abs() <= 1e-13 * (1.0 + r), "r {r}: {var}");
            let b = k.half_width();
            // the first cut weight is below the tail bound, the last kept above
            let next = (-2.0 * r).exp() * r.powi(b as i32 + 1)
                / (1..=b + 1).map(|i| i as f64).product::<f64>();
            assert!(2.0 * next <= TAIL * 1.01, "r {r}: b {b} too small");
        }
        assert_eq!(HeatKernel::new(0.05, 100).unwrap().half_width(), 8);
        assert_eq!(HeatKernel::new(0.0, 100).unwrap().weights, vec![1.0]);
        assert!(HeatKernel::new(50.0, 20).is_none());
        assert!(HeatKernel::new(f64::NAN, 20).is_none());
    }
}
