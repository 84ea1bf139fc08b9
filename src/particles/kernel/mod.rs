//! The O(m × K) loops of a particle step: the f_m pass (Σ_j a_j σ(w_j·x̃_q)
//! into per-group partial sums) and the velocity pass (g, ∇_w g and the
//! Euler–Maruyama update of each neuron).
//!
//! Both are written as plain loops over tiles of nodes that the compiler
//! vectorises: σ is branch-free for tanh and sigmoid (one polynomial
//! exponential, [`crate::model::activation::exp_neg`]; where σ is kept,
//! the exponentials in a loop of their own, the division in another), and
//! the sums over nodes run in [`LANES`] fixed lanes. Each pass is compiled
//! three times — baseline x86-64 (SSE2), AVX2 and AVX-512 — and the widest
//! the CPU has is taken at run time ([`Simd::detect`]). The AVX2 and
//! AVX-512 variants fuse their multiply–adds (the exponential, the sums
//! over nodes, the update), the baseline does not: AVX2 and AVX-512 compute
//! the same bits, the baseline differs from them by round-off (a few 1e-16
//! in σ, tested). There is no reassociation, and a neuron's sums do not
//! depend on which thread takes it, so the bits never depend on the thread
//! count.
//!
//! Where σ′ is a function of σ (tanh, sigmoid, the Gaussian bump) the f_m
//! pass keeps σ at every (neuron, node) pair and the velocity pass reads it
//! back ([`keeps_sigma`]: 8 m K bytes, 19 MB for the quickstart's folded
//! pairs, at most [`SIGMA_BYTES`] a rank); a write and a read per pair cost
//! less than the exponential and its division again, even from DRAM at
//! m = 10⁶ (BENCHMARKS.md). Beyond the cap, and for other units, σ is
//! evaluated again in the velocity pass; the bits are the same either way.

use crate::grid::MAX_DIM;
use crate::model::activation::{self, Activation};
use crate::model::{Drift, Rbf, UnitKind};
pub use crate::simd::Simd;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Nodes per tile.
const TILE: usize = 64;
/// (neuron, node) pairs evaluated in one loop: enough independent vectors
/// to hide the latency of the exponential's polynomial, small enough for L1.
const BUF: usize = 1024;
/// Neurons per block at most (bounds the per-neuron accumulators).
const MAX_BLOCK: usize = 64;
/// Independent partial sums per reduction over nodes (one vector register
/// of AVX-512, two of AVX2); node q goes to lane q mod LANES.
pub const LANES: usize = 8;

/// The nodes of a step, coordinate-major: x̃_{q,c} at `xs[c * k + q]`.
#[derive(Debug, Clone, Copy)]
pub struct Nodes<'a> {
    pub xs: &'a [f64],
    pub k: usize,
    pub dw: usize,
}

/// Where a neuron keeps its parameters: θ = (a, w) with `wax = 1`, or θ = w
/// with a frozen at `frozen_a`.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub d: usize,
    pub wax: usize,
    pub frozen_a: Option<f64>,
}

/// The constants of one Euler–Maruyama update: c_q = ω_q r_q (r = f_m −
/// f*), the model's drift V (with λ), the step and the noise amplitude
/// √(η Δt).
#[derive(Debug, Clone, Copy)]
pub struct Update<'a> {
    pub c: &'a [f64],
    pub drift: Drift,
    pub dt: f64,
    pub amp: f64,
}

/// σ and σ′ inside the loops, and the multiply–add of the variant
/// (`FUSED`: one rounding; compiled only where the CPU has FMA). A ridge
/// unit's argument is z = w·x̃ and ∂g/∂w_k = Σ_q σ′(z_q) c_q x̃_{q,k}; a
/// Gaussian bump's ([`Bump`]) is z = |x − y|², and the same sum with
/// σ′ = φ/s gives ∂g/∂y_k once y_k g/s is taken off ([`Unit::grad`]).
trait Unit: Copy {
    /// Whether σ′ comes from σ alone ([`Unit::ds`] ignores z), so that the
    /// velocity pass can take σ from the f_m pass's cache.
    const FROM_S: bool = true;
    /// z over one tile of nodes.
    #[inline(always)]
    fn tile(self, w: &[f64], nodes: Nodes, q0: usize, z: &mut [f64]) {
        tile_z(self, w, nodes, q0, z)
    }
    fn s(self, z: f64) -> f64;
    /// σ in two loops: `pre` (the exponential), then `finish` (the rest),
    /// so that each loop's chain is short (one loop of the whole σ was
    /// bound by its latency). `finish(z, pre(z))` is `s(z)` to the bit.
    #[inline(always)]
    fn pre(self, z: f64) -> f64 {
        self.s(z)
    }
    /// σ(z) from p = `pre(z)`.
    #[inline(always)]
    fn finish(self, _z: f64, p: f64) -> f64 {
        p
    }
    /// σ′(z) given s = σ(z).
    fn ds(self, z: f64, s: f64) -> f64;
    /// ∂g/∂w_k from `sum` = Σ_q σ′ c_q x̃_{q,k}, w_k and g: the sum itself
    /// for a ridge unit.
    #[inline(always)]
    fn grad(self, sum: f64, _w_k: f64, _g: f64) -> f64 {
        sum
    }
    /// a b + c.
    fn madd(self, a: f64, b: f64, c: f64) -> f64;
}

/// The Gaussian bump φ(x; y) = peak e^{−|x − y|²/(2s)} (docs/model.md §7):
/// ∂φ/∂y = φ (x − y)/s, so ∇_y g = Σ_q (φ_q/s) c_q x_q − y g/s.
#[derive(Clone, Copy)]
struct Bump<const FUSED: bool> {
    peak: f64,
    /// −1/(2s).
    neg_half_inv: f64,
    /// 1/s.
    inv: f64,
}

impl<const FUSED: bool> Bump<FUSED> {
    fn new(u: Rbf, dw: usize) -> Self {
        Bump {
            peak: u.peak(dw),
            neg_half_inv: -0.5 / u.variance,
            inv: 1.0 / u.variance,
        }
    }
}

impl<const FUSED: bool> Unit for Bump<FUSED> {
    /// z_i = |x_{q0+i} − y|².
    #[inline(always)]
    fn tile(self, w: &[f64], nodes: Nodes, q0: usize, z: &mut [f64]) {
        let (k, l) = (nodes.k, z.len());
        let w0 = w[0];
        for (zi, x) in z.iter_mut().zip(&nodes.xs[q0..q0 + l]) {
            let e = x - w0;
            *zi = e * e;
        }
        for (c, &wc) in w.iter().enumerate().take(nodes.dw).skip(1) {
            for (zi, x) in z.iter_mut().zip(&nodes.xs[c * k + q0..c * k + q0 + l]) {
                let e = x - wc;
                *zi = self.madd(e, e, *zi);
            }
        }
    }
    #[inline(always)]
    fn s(self, z: f64) -> f64 {
        self.peak * activation::exp_neg_with::<FUSED>(self.neg_half_inv * z)
    }
    #[inline(always)]
    fn ds(self, _z: f64, s: f64) -> f64 {
        s * self.inv
    }
    #[inline(always)]
    fn grad(self, sum: f64, w_k: f64, g: f64) -> f64 {
        sum - w_k * g * self.inv
    }
    #[inline(always)]
    fn madd(self, a: f64, b: f64, c: f64) -> f64 {
        activation::madd::<FUSED>(a, b, c)
    }
}

#[derive(Clone, Copy)]
struct Tanh<const FUSED: bool>;

impl<const FUSED: bool> Unit for Tanh<FUSED> {
    #[inline(always)]
    fn s(self, z: f64) -> f64 {
        activation::tanh_with::<FUSED>(z)
    }
    #[inline(always)]
    fn pre(self, z: f64) -> f64 {
        activation::exp_neg_with::<FUSED>(-2.0 * z.abs())
    }
    #[inline(always)]
    fn finish(self, z: f64, e: f64) -> f64 {
        ((1.0 - e) / (1.0 + e)).copysign(z)
    }
    #[inline(always)]
    fn ds(self, _z: f64, s: f64) -> f64 {
        1.0 - s * s
    }
    #[inline(always)]
    fn madd(self, a: f64, b: f64, c: f64) -> f64 {
        activation::madd::<FUSED>(a, b, c)
    }
}

#[derive(Clone, Copy)]
struct Sigmoid<const FUSED: bool>;

impl<const FUSED: bool> Unit for Sigmoid<FUSED> {
    #[inline(always)]
    fn s(self, z: f64) -> f64 {
        activation::sigmoid_with::<FUSED>(z)
    }
    #[inline(always)]
    fn pre(self, z: f64) -> f64 {
        activation::exp_neg_with::<FUSED>(-z.abs())
    }
    #[inline(always)]
    fn finish(self, z: f64, e: f64) -> f64 {
        let num = if z >= 0.0 { 1.0 } else { e };
        num / (1.0 + e)
    }
    #[inline(always)]
    fn ds(self, _z: f64, s: f64) -> f64 {
        s * (1.0 - s)
    }
    #[inline(always)]
    fn madd(self, a: f64, b: f64, c: f64) -> f64 {
        activation::madd::<FUSED>(a, b, c)
    }
}

/// Any other activation through its scalar σ and σ′.
#[derive(Clone, Copy)]
struct ScalarUnit<const FUSED: bool>(Activation);

impl<const FUSED: bool> Unit for ScalarUnit<FUSED> {
    const FROM_S: bool = false;
    #[inline(always)]
    fn s(self, z: f64) -> f64 {
        self.0.sigma(z)
    }
    #[inline(always)]
    fn ds(self, z: f64, _s: f64) -> f64 {
        self.0.dsigma(z)
    }
    #[inline(always)]
    fn madd(self, a: f64, b: f64, c: f64) -> f64 {
        activation::madd::<FUSED>(a, b, c)
    }
}

/// z_i = w·x̃_{q0+i} over one tile.
#[inline(always)]
fn tile_z<U: Unit>(u: U, w: &[f64], nodes: Nodes, q0: usize, z: &mut [f64]) {
    let (k, l) = (nodes.k, z.len());
    let w0 = w[0];
    for (zi, x) in z.iter_mut().zip(&nodes.xs[q0..q0 + l]) {
        *zi = w0 * x;
    }
    for (c, &wc) in w.iter().enumerate().take(nodes.dw).skip(1) {
        for (zi, x) in z.iter_mut().zip(&nodes.xs[c * k + q0..c * k + q0 + l]) {
            *zi = u.madd(wc, *x, *zi);
        }
    }
}

/// acc_{i mod LANES} += a_i b_i.
#[inline(always)]
fn lanes_dot<U: Unit>(u: U, acc: &mut [f64; LANES], a: &[f64], b: &[f64]) {
    // a local copy stays in a register (the sums through memory were bound
    // by store-to-load forwarding)
    let mut s = *acc;
    let (mut ca, mut cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            s[l] = u.madd(x[l], y[l], s[l]);
        }
    }
    for (l, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        s[l] = u.madd(*x, *y, s[l]);
    }
    *acc = s;
}

/// The lanes summed in a fixed order.
#[inline(always)]
fn lanes_sum(acc: &[f64; LANES]) -> f64 {
    let (a, b) = acc.split_at(LANES / 2);
    a.iter().zip(b).map(|(x, y)| x + y).sum()
}

/// part_q += Σ_{j in group} a_j σ(w_j·x̃_q); σ(w_j·x̃_q) also into
/// `cache[j k + q]` when it is not empty and the unit's σ′ comes from σ.
#[inline(always)]
fn f_body<U: Unit>(
    u: U,
    lay: Layout,
    nodes: Nodes,
    thetas: &[f64],
    part: &mut [f64],
    cache: &mut [f64],
) {
    let (d, k) = (lay.d, nodes.k);
    let keep = U::FROM_S && !cache.is_empty();
    let mut zbuf = [0.0; BUF];
    for q0 in (0..k).step_by(TILE) {
        let l = TILE.min(k - q0);
        let pt = &mut part[q0..q0 + l];
        let n = block_len(l);
        for (b, block) in thetas.chunks(n * d).enumerate() {
            let z = &mut zbuf[..block.len() / d * l];
            for (th, zj) in block.chunks_exact(d).zip(z.chunks_exact_mut(l)) {
                u.tile(&th[lay.wax..], nodes, q0, zj);
            }
            // one long loop over (neuron, node): many independent vectors,
            // into the cache itself where the block's rows are whole there
            let s: &[f64] = if keep && l == k {
                let kept = &mut cache[b * n * k..][..z.len()];
                for (o, zi) in kept.iter_mut().zip(z.iter()) {
                    *o = u.pre(*zi);
                }
                for (o, zi) in kept.iter_mut().zip(z.iter()) {
                    *o = u.finish(*zi, *o);
                }
                kept
            } else {
                for zi in z.iter_mut() {
                    *zi = u.s(*zi);
                }
                if keep {
                    for (j, sj) in z.chunks_exact(l).enumerate() {
                        let at = (b * n + j) * k + q0;
                        cache[at..at + l].copy_from_slice(sj);
                    }
                }
                z
            };
            // part_q += a_j s_jq, neurons in order, LANES nodes at a time
            // held in registers (not stored back after every neuron)
            for (c0, pc) in (0..l).step_by(LANES).zip(pt.chunks_mut(LANES)) {
                let mut acc = [0.0; LANES];
                let w = pc.len();
                acc[..w].copy_from_slice(pc);
                for (th, sj) in block.chunks_exact(d).zip(s.chunks_exact(l)) {
                    let a = lay.frozen_a.unwrap_or(th[0]);
                    if w == LANES {
                        let sc = &sj[c0..c0 + LANES];
                        for i in 0..LANES {
                            acc[i] = u.madd(a, sc[i], acc[i]);
                        }
                    } else {
                        for (ac, s) in acc.iter_mut().zip(&sj[c0..c0 + w]) {
                            *ac = u.madd(a, *s, *ac);
                        }
                    }
                }
                pc.copy_from_slice(&acc[..w]);
            }
        }
    }
}

/// Neurons evaluated together on a tile of `l` nodes.
#[inline(always)]
fn block_len(l: usize) -> usize {
    (BUF / l.max(1)).min(MAX_BLOCK)
}

/// θ_j ← θ_j + Δt V(θ_j) + √(η Δt) ξ_j for every neuron of a block, the
/// ξ_j drawn in order from `rng`; σ from `cache` (as [`f_body`] left it at
/// these θ and nodes) when it is not empty and σ′ comes from σ, else
/// evaluated again.
#[inline(always)]
fn move_body<U: Unit>(
    u: U,
    lay: Layout,
    nodes: Nodes,
    up: Update,
    thetas: &mut [f64],
    rng: &mut ChaCha8Rng,
    cache: &[f64],
) {
    let (d, dw, k) = (lay.d, nodes.dw, nodes.k);
    let cached = U::FROM_S && !cache.is_empty();
    let mut zbuf = [0.0; BUF];
    let mut sbuf = [0.0; BUF];
    let mut cx = [[0.0; TILE]; MAX_DIM];
    let mut g = [[0.0; LANES]; MAX_BLOCK];
    let mut gw = [[[0.0; LANES]; MAX_DIM]; MAX_BLOCK];
    let per = block_len(TILE.min(k));
    for (b, block) in thetas.chunks_mut(per * d).enumerate() {
        let n = block.len() / d;
        g[..n].iter_mut().for_each(|v| *v = [0.0; LANES]);
        for v in &mut gw[..n] {
            v[..dw].fill([0.0; LANES]);
        }
        for q0 in (0..k).step_by(TILE) {
            let l = TILE.min(k - q0);
            let c = &up.c[q0..q0 + l];
            for (ck, cxk) in cx.iter_mut().enumerate().take(dw) {
                let xk = &nodes.xs[ck * k + q0..ck * k + q0 + l];
                for ((o, cq), xq) in cxk.iter_mut().zip(c).zip(xk) {
                    *o = cq * xq;
                }
            }
            if cached {
                // g_j and ∇g_j in one loop over the kept row of σ: σ′ from
                // σ as it is read, the sums in registers
                for j in 0..n {
                    let at = (b * per + j) * k + q0;
                    kept_sums(u, dw, &cache[at..at + l], c, &cx, &mut g[j], &mut gw[j]);
                }
                continue;
            }
            let (z, s) = (&mut zbuf[..n * l], &mut sbuf[..n * l]);
            for (th, zj) in block.chunks_exact(d).zip(z.chunks_exact_mut(l)) {
                u.tile(&th[lay.wax..], nodes, q0, zj);
            }
            // s ← σ(z), z ← σ′(z) over every (neuron, node) of the block
            for (zi, si) in z.iter_mut().zip(s.iter_mut()) {
                *si = u.s(*zi);
                *zi = u.ds(*zi, *si);
            }
            // g_j += Σ_q σ c_q, ∇g_j += Σ_q σ′ c_q x̃_q
            for j in 0..n {
                let sj = &s[j * l..(j + 1) * l];
                let dj = &z[j * l..(j + 1) * l];
                lanes_dot(u, &mut g[j], sj, c);
                for (acc, cxk) in gw[j].iter_mut().zip(&cx).take(dw) {
                    lanes_dot(u, acc, dj, &cxk[..l]);
                }
            }
        }
        // V = (−g − λa, −a ∇_w g − λw) from the old θ, then the step
        for (j, th) in block.chunks_exact_mut(d).enumerate() {
            let a = lay.frozen_a.unwrap_or(th[0]);
            let mut v = [0.0; MAX_DIM];
            if lay.wax == 1 {
                v[0] = up.drift.a(th[0], lanes_sum(&g[j]));
            }
            let gj = lanes_sum(&g[j]);
            for kk in 0..dw {
                let wk = th[lay.wax + kk];
                v[lay.wax + kk] = up.drift.w(a, u.grad(lanes_sum(&gw[j][kk]), wk, gj), wk);
            }
            for (t, vk) in th.iter_mut().zip(&v) {
                let xi: f64 = if up.amp > 0.0 {
                    rng.sample(StandardNormal)
                } else {
                    0.0
                };
                *t += u.madd(up.dt, *vk, up.amp * xi);
            }
        }
    }
}

/// g += Σ_q s_q c_q and ∇g_k += Σ_q σ′(s_q) cx_{k,q} over one tile's row
/// of kept σ, in one loop, each sum in the lanes of [`lanes_dot`] (node q
/// in lane q mod [`LANES`], in order), so the bits are those of σ′ stored
/// and summed in passes of their own. The d_w sums are fixed in number
/// ([`kept_sums_of`]), so that they stay in registers.
#[inline(always)]
fn kept_sums<U: Unit>(
    u: U,
    dw: usize,
    s: &[f64],
    c: &[f64],
    cx: &[[f64; TILE]; MAX_DIM],
    g: &mut [f64; LANES],
    gw: &mut [[f64; LANES]; MAX_DIM],
) {
    match dw {
        1 => kept_sums_of::<U, 1>(u, s, c, cx, g, gw),
        2 => kept_sums_of::<U, 2>(u, s, c, cx, g, gw),
        3 => kept_sums_of::<U, 3>(u, s, c, cx, g, gw),
        // d_w ≤ D ≤ MAX_DIM
        _ => kept_sums_of::<U, MAX_DIM>(u, s, c, cx, g, gw),
    }
}

/// [`kept_sums`] at d_w = `DW`.
#[inline(always)]
fn kept_sums_of<U: Unit, const DW: usize>(
    u: U,
    s: &[f64],
    c: &[f64],
    cx: &[[f64; TILE]; MAX_DIM],
    g: &mut [f64; LANES],
    gw: &mut [[f64; LANES]; MAX_DIM],
) {
    let l = s.len();
    assert!(l <= TILE && c.len() == l);
    let (mut ga, mut wa) = (*g, [[0.0; LANES]; DW]);
    wa.copy_from_slice(&gw[..DW]);
    let (sc, cc) = (s.chunks_exact(LANES), c.chunks_exact(LANES));
    let full = l - sc.remainder().len();
    for (n, (sv, cv)) in sc.zip(cc).enumerate() {
        let sv: &[f64; LANES] = sv.try_into().expect("a chunk of LANES");
        let cv: &[f64; LANES] = cv.try_into().expect("a chunk of LANES");
        let ds: [f64; LANES] = std::array::from_fn(|i| u.ds(0.0, sv[i]));
        ga = std::array::from_fn(|i| u.madd(sv[i], cv[i], ga[i]));
        for (acc, cxk) in wa.iter_mut().zip(cx) {
            let xv: &[f64; LANES] = cxk[n * LANES..][..LANES].try_into().expect("LANES");
            *acc = std::array::from_fn(|i| u.madd(ds[i], xv[i], acc[i]));
        }
    }
    for (i, q) in (full..l).enumerate() {
        ga[i] = u.madd(s[q], c[q], ga[i]);
        let ds = u.ds(0.0, s[q]);
        for (acc, cxk) in wa.iter_mut().zip(cx) {
            acc[i] = u.madd(ds, cxk[q], acc[i]);
        }
    }
    *g = ga;
    gw[..DW].copy_from_slice(&wa);
}

/// Bytes of σ a rank keeps between the passes at most (per step it is
/// written once and read once; beyond this the velocity pass evaluates σ
/// again).
pub const SIGMA_BYTES: usize = 256 << 20;

/// Whether the step keeps σ at `pairs` (neuron, node) pairs from its f_m
/// pass for its velocity pass: for units whose σ′ comes from σ (tanh,
/// sigmoid, the Gaussian bump), within [`SIGMA_BYTES`].
pub fn keeps_sigma(unit: UnitKind, pairs: usize) -> bool {
    let from_s = match unit {
        UnitKind::Ridge(Activation::Tanh | Activation::Sigmoid) | UnitKind::Rbf(..) => true,
        UnitKind::Ridge(_) => false,
    };
    from_s && 8 * pairs <= SIGMA_BYTES
}

/// `fn $name(simd, act, args…)`: picks the unit by activation and the
/// variant by `simd`, and calls `$body` compiled for it.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident => $body:ident ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name(simd: Simd, unit: UnitKind, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2<U: Unit>(u: U, $($arg: $ty),*) {
                $body(u, $($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,fma")]
            fn avx512<U: Unit>(u: U, $($arg: $ty),*) {
                $body(u, $($arg),*)
            }
            /// `plain` for the baseline, `fused` where the CPU has FMA.
            #[allow(unused_variables, clippy::too_many_arguments)]
            fn pick<U: Unit, F: Unit>(simd: Simd, plain: U, fused: F, $($arg: $ty),*) {
                assert!(simd.available(), "{} is not available on this CPU", simd.name());
                match simd {
                    // SAFETY: the CPU has the features (asserted above).
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx2 => unsafe { avx2(fused, $($arg),*) },
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx512 => unsafe { avx512(fused, $($arg),*) },
                    _ => $body(plain, $($arg),*),
                }
            }
            match unit {
                UnitKind::Ridge(Activation::Tanh) => pick(simd, Tanh::<false>, Tanh::<true>, $($arg),*),
                UnitKind::Ridge(Activation::Sigmoid) => pick(simd, Sigmoid::<false>, Sigmoid::<true>, $($arg),*),
                UnitKind::Ridge(other) => pick(simd, ScalarUnit::<false>(other), ScalarUnit::<true>(other), $($arg),*),
                UnitKind::Rbf(u, dx) => {
                    pick(simd, Bump::<false>::new(u, dx), Bump::<true>::new(u, dx), $($arg),*)
                }
            }
        }
    };
}

dispatch!(
    /// part_q += Σ_j a_j σ(w_j·x̃_q) over the neurons in `thetas` (m_g × D),
    /// σ kept in `cache` (m_g × K, or empty: not kept).
    f_pass => f_body(lay: Layout, nodes: Nodes, thetas: &[f64], part: &mut [f64], cache: &mut [f64])
);

dispatch!(
    /// The Euler–Maruyama step of the neurons in `thetas` (m_b × D), noise
    /// from `rng` in neuron order; σ from `cache` (f_pass's at the same θ
    /// and nodes, m_b × K) unless it is empty.
    move_pass => move_body(lay: Layout, nodes: Nodes, up: Update, thetas: &mut [f64], rng: &mut ChaCha8Rng, cache: &[f64])
);

#[cfg(test)]
mod tests;
