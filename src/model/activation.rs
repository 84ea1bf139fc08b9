//! **Activations** σ and their derivatives σ′.
//!
//! Besides the usual units, the normalised Hermite unit
//! σ_k(z) = He_k(z)/√k! (`activation = "hermite"`, `degree = k`): its only
//! Hermite coefficient is the k-th, so it has information exponent k against
//! a single-index target and E[σ_k(Z)²] = 1 for Z ~ N(0, 1) (docs/model.md
//! §6a).

use crate::error::{Error, Result};

/// The activation σ of the hidden units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Tanh,
    Sigmoid,
    Erf,
    Relu,
    Softplus,
    Linear,
    /// Mei–Montanari–Nguyen's ramp: s₁ for t ≤ t₁, s₂ for t ≥ t₂, linear
    /// between, with (t₁, t₂, s₁, s₂) = (0.5, 1.5, −2.5, 7.5) ([`RAMP`]).
    MmnRamp,
    /// He_k(z)/√k!, the probabilists' Hermite polynomial of degree k
    /// (1 ≤ k ≤ [`MAX_HERMITE_DEGREE`]).
    Hermite(u8),
}

/// The largest `model.degree` of the Hermite unit: at k = 12 its closed-form
/// κ's terms reach k!/((k−2i)! 4^i i!²) ≈ 10² times (s²q)^k, and a grid of
/// |w| ≤ 3 already spans σ values of 10⁵; higher degrees are not a problem
/// anyone poses on a grid.
pub const MAX_HERMITE_DEGREE: u32 = 12;

/// The knots (t₁, t₂) and levels (s₁, s₂) of [`Activation::MmnRamp`].
pub const RAMP: [f64; 4] = [0.5, 1.5, -2.5, 7.5];

/// Every unit by its name in `model.activation`.
const NAMED: [(&str, Activation); 7] = [
    ("tanh", Activation::Tanh),
    ("sigmoid", Activation::Sigmoid),
    ("erf", Activation::Erf),
    ("relu", Activation::Relu),
    ("softplus", Activation::Softplus),
    ("linear", Activation::Linear),
    ("mmn_ramp", Activation::MmnRamp),
];

/// The names accepted in `model.activation`.
pub const ACTIVATION_NAMES: &str =
    "tanh, sigmoid, erf, relu, softplus, linear, mmn_ramp, hermite (with model.degree)";

impl Activation {
    /// Parse `model.activation`, and `model.degree` (the Hermite unit's k,
    /// required by it and refused by every other unit).
    pub fn parse(name: &str, degree: Option<u32>) -> Result<Self> {
        if name == "hermite" {
            return match degree {
                Some(k) if (1..=MAX_HERMITE_DEGREE).contains(&k) => {
                    Ok(Activation::Hermite(k as u8))
                }
                Some(k) => Err(Error::problem(
                    "model.degree",
                    k,
                    format!("1 to {MAX_HERMITE_DEGREE} (the Hermite unit's degree k)"),
                )),
                None => Err(Error::problem(
                    "model.degree",
                    "missing",
                    "the degree k of activation = \"hermite\" (He_k(z)/√k!), 1 to 12",
                )),
            };
        }
        let act = NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
            .ok_or_else(|| {
                Error::problem(
                    "model.activation",
                    format!("{name:?}"),
                    format!("one of {ACTIVATION_NAMES}"),
                )
            })?;
        match degree {
            Some(k) => Err(Error::problem(
                "model.degree",
                k,
                format!("no degree for activation = {name:?} (only for \"hermite\")"),
            )),
            None => Ok(act),
        }
    }

    /// Its name in `model.activation`.
    pub fn name(self) -> &'static str {
        if let Activation::Hermite(_) = self {
            return "hermite";
        }
        NAMED
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |&(n, _)| n)
    }

    /// σ(−z) = −σ(z) (tanh, erf, linear, Hermite of odd degree).
    pub fn is_odd(self) -> bool {
        match self {
            Activation::Hermite(k) => k % 2 == 1,
            _ => matches!(
                self,
                Activation::Tanh | Activation::Erf | Activation::Linear
            ),
        }
    }

    /// σ(z).
    #[inline]
    pub fn sigma(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => tanh(z),
            Activation::Sigmoid => sigmoid(z),
            Activation::Erf => libm::erf(z),
            Activation::Relu => z.max(0.0),
            // log(1 + e^z) without overflow
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Linear => z,
            Activation::MmnRamp => {
                let [t1, t2, s1, s2] = RAMP;
                s1 + (s2 - s1) * ((z - t1) / (t2 - t1)).clamp(0.0, 1.0)
            }
            Activation::Hermite(k) => hermite(k, z)[1] * INV_SQRT_FACTORIAL[k as usize],
        }
    }

    /// σ′(z).
    #[inline]
    pub fn dsigma(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => {
                let t = tanh(z);
                1.0 - t * t
            }
            Activation::Sigmoid => {
                let s = sigmoid(z);
                s * (1.0 - s)
            }
            Activation::Erf => std::f64::consts::FRAC_2_SQRT_PI * exp_neg(-z * z),
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Softplus => sigmoid(z),
            Activation::Linear => 1.0,
            Activation::MmnRamp => {
                let [t1, t2, s1, s2] = RAMP;
                if z > t1 && z < t2 {
                    (s2 - s1) / (t2 - t1)
                } else {
                    0.0
                }
            }
            // He_k′ = k He_{k−1}
            Activation::Hermite(k) => {
                f64::from(k) * hermite(k, z)[0] * INV_SQRT_FACTORIAL[k as usize]
            }
        }
    }
}

/// 1/√k! for k ≤ [`MAX_HERMITE_DEGREE`], correctly rounded (tested against
/// the square root of k!).
const INV_SQRT_FACTORIAL: [f64; MAX_HERMITE_DEGREE as usize + 1] = [
    1.0,
    1.0,
    std::f64::consts::FRAC_1_SQRT_2,
    0.408248290463863,
    0.2041241452319315,
    0.09128709291752768,
    0.037267799624996496,
    0.014085904245475277,
    0.004980119205559973,
    0.0016600397351866577,
    0.00052495065695726,
    0.00015827857841616382,
    4.569108992776174e-05,
];

/// (He_{k−1}(z), He_k(z)) by the three-term recurrence
/// He_{n+1} = z He_n − n He_{n−1} (He_{−1} = 0, He_0 = 1).
#[inline]
pub fn hermite(k: u8, z: f64) -> [f64; 2] {
    let (mut prev, mut cur) = (0.0, 1.0);
    for n in 0..k {
        let next = z * cur - f64::from(n) * prev;
        prev = cur;
        cur = next;
    }
    [prev, cur]
}

/// e^x for x ≤ 0, branch-free so that loops over it vectorise: arguments
/// below −708 are clamped (e^−708 ≈ 3e-308, the smallest normal range; no
/// subnormals), x = n ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite, ln 2
/// split in two), e^r by its Taylor polynomial of degree 13 (truncation
/// below 5e-18 relative), 2^n put into the exponent bits. Relative error a
/// few 1e-16 (tested against the C library). No FMA, so every vector width
/// gives the same bits; [`exp_neg_with`]`::<true>` evaluates the same
/// polynomial with fused multiply–adds.
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    exp_neg_with::<false>(x)
}

/// a b + c, fused (one rounding) when `FUSED`, else two roundings. Fused is
/// fast only where the caller is compiled with FMA (the AVX2 and AVX-512
/// variants of [`crate::simd`]); elsewhere it is the C library's `fma`.
#[inline(always)]
pub fn madd<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// [`exp_neg`], or with `FUSED` its polynomial by fused multiply–adds in
/// Estrin's scheme: 16 operations in a chain of 6 instead of Horner's 13
/// in a chain of 13, which took the network's step from 7.9 to 5.2 ms
/// (BENCHMARKS.md). The result differs from the unfused one by round-off
/// (both within 2.3e-16 relative of the C library's over [−708, 0],
/// tested at 3e-16).
#[inline(always)]
pub fn exp_neg_with<const FUSED: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: LN2_HI has 32 significant bits, so n·LN2_HI
    // is exact for |n| < 2^20; LN2_LO = ln 2 − LN2_HI
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // adding 1.5·2^52 rounds to an integer and leaves it in the low bits
    const ROUND: f64 = 6755399441055744.0;
    const C: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let x = x.max(-708.0);
    let k = madd::<FUSED>(x, LOG2E, ROUND);
    let n = k - ROUND;
    // n·LN2_HI is exact, so x − n·LN2_HI is too, fused or not
    let r = madd::<FUSED>(-n, LN2_LO, madd::<FUSED>(-n, LN2_HI, x));
    let p = if FUSED {
        // Estrin's scheme for the tail C_2 + C_3 r + … + C_13 r^11 (a
        // chain of 4 multiply–adds, not Horner's 13, so that a loop over
        // it is bound by throughput, not latency), then 1 + (r + r² tail)
        // as Horner's last two steps round
        let m = |a: f64, b: f64, c: f64| a.mul_add(b, c);
        let r2 = r * r;
        let r4 = r2 * r2;
        let r8 = r4 * r4;
        let p0 = m(C[3], r, C[2]);
        let p1 = m(C[5], r, C[4]);
        let p2 = m(C[7], r, C[6]);
        let p3 = m(C[9], r, C[8]);
        let p4 = m(C[11], r, C[10]);
        let p5 = m(C[13], r, C[12]);
        let q0 = m(p1, r2, p0);
        let q1 = m(p3, r2, p2);
        let q2 = m(p5, r2, p4);
        let tail = m(q2, r8, m(q1, r4, q0));
        m(r2, tail, r) + 1.0
    } else {
        let mut p = C[13];
        for c in C[..13].iter().rev() {
            p = madd::<FUSED>(p, r, *c);
        }
        p
    };
    // the low 12 bits of k hold n mod 4096; n + 1023 ∈ [2, 1023] is the
    // biased exponent of 2^n
    let scale = f64::from_bits(k.to_bits().wrapping_add(1023) << 52);
    p * scale
}

/// tanh through one exponential: (1 − e)/(1 + e) with e = exp(−2|z|).
/// Absolute error below 3e-16 everywhere (the relative error grows only as
/// |z| → 0, where the value itself is tiny); branch-free and much cheaper
/// than the C library's tanh in the O(m × #nodes) particle step.
#[inline(always)]
pub fn tanh(z: f64) -> f64 {
    tanh_with::<false>(z)
}

/// [`tanh`] through [`exp_neg_with`].
#[inline(always)]
pub fn tanh_with<const FUSED: bool>(z: f64) -> f64 {
    let e = exp_neg_with::<FUSED>(-2.0 * z.abs());
    ((1.0 - e) / (1.0 + e)).copysign(z)
}

/// 1/(1 + e^−z) through e = exp(−|z|), branch-free.
#[inline(always)]
pub fn sigmoid(z: f64) -> f64 {
    sigmoid_with::<false>(z)
}

/// [`sigmoid`] through [`exp_neg_with`].
#[inline(always)]
pub fn sigmoid_with<const FUSED: bool>(z: f64) -> f64 {
    let e = exp_neg_with::<FUSED>(-z.abs());
    let num = if z >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences() {
        for act in [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Erf,
            Activation::Relu,
            Activation::Softplus,
            Activation::Linear,
            Activation::MmnRamp,
            Activation::Hermite(1),
            Activation::Hermite(2),
            Activation::Hermite(3),
            Activation::Hermite(6),
        ] {
            for &z in &[-3.1, -0.7, 0.3, 0.8, 1.2, 1.9, 25.0, -40.0] {
                let h = 1e-6;
                let fd = (act.sigma(z + h) - act.sigma(z - h)) / (2.0 * h);
                // central differences: error h²/6 |σ‴| plus round-off
                // 1e-16 |σ|/h, relative to the polynomial's size at |z| = 40
                let scale = 1.0 + act.sigma(z).abs() + act.dsigma(z).abs();
                assert!(
                    (fd - act.dsigma(z)).abs() < 1e-7 * scale,
                    "{act:?} at {z}: {fd} vs {}",
                    act.dsigma(z)
                );
                assert!(act.sigma(z).is_finite());
            }
        }
    }

    #[test]
    fn fast_tanh_is_accurate_in_absolute_terms() {
        for i in -4000..=4000 {
            let z = i as f64 * 0.005 + 1e-3;
            assert!((tanh(z) - z.tanh()).abs() < 3e-16, "{z}");
        }
        assert_eq!(tanh(800.0), 1.0);
        assert_eq!(tanh(-800.0), -1.0);
        assert_eq!(tanh(0.0), 0.0);
    }

    #[test]
    fn branch_free_exp_matches_the_c_library() {
        // plain and fused: the bound of the doc for both
        for exp in [exp_neg_with::<false>, exp_neg_with::<true>] {
            let mut worst: f64 = 0.0;
            for i in 0..=708_000 {
                let x = (-(i as f64) * 1e-3 - 3.3e-6 * (i % 7) as f64).max(-708.0);
                let rel = (exp(x) - x.exp()).abs() / x.exp();
                worst = worst.max(rel);
            }
            assert!(worst < 3e-16, "relative error {worst:e}");
            assert_eq!(exp(0.0), 1.0);
            assert!((exp(-708.0) / (-708.0f64).exp() - 1.0).abs() < 4e-16);
            assert_eq!(exp(-1000.0), exp(-708.0));
        }
    }

    /// erf′(z) = 2/√π exp(−z²) through [`exp_neg`], against the C
    /// library's exponential of the same argument: within exp_neg's 3e-16
    /// and one rounding of each product while z² ≤ 708; beyond, both are
    /// below 4e-308.
    #[test]
    fn erf_derivative_through_the_branch_free_exp() {
        let k = std::f64::consts::FRAC_2_SQRT_PI;
        let mut worst: f64 = 0.0;
        for i in 0..=60_000 {
            let z = -30.0 + i as f64 * 1e-3 + 1.7e-7 * (i % 11) as f64;
            let (got, c) = (Activation::Erf.dsigma(z), k * (-z * z).exp());
            if z * z <= 708.0 {
                worst = worst.max((got - c).abs() / c);
            } else {
                assert!(got < 4e-308 && c < 4e-308, "{z}");
            }
        }
        assert!(worst < 3e-16 + f64::EPSILON, "relative {worst:e}");
    }

    #[test]
    fn branch_free_sigmoid_is_accurate() {
        let mut worst: f64 = 0.0;
        for i in -8000..=8000 {
            let z = i as f64 * 0.005 + 1e-3;
            let exact = 1.0 / (1.0 + (-z).exp());
            let rel = (sigmoid(z) - exact).abs() / exact;
            worst = worst.max(rel);
        }
        assert!(worst < 6e-16, "relative error {worst:e}");
        assert_eq!(sigmoid(800.0), 1.0);
        assert!(sigmoid(-800.0) < 1e-300);
    }

    #[test]
    fn unknown_activation_names_the_field() {
        let e = Activation::parse("gelu", None).unwrap_err();
        assert_eq!(e.field(), Some("model.activation"));
        assert!(e.to_string().contains("gelu"));
        for (name, degree) in [
            ("hermite", None),
            ("hermite", Some(0)),
            ("hermite", Some(13)),
            ("tanh", Some(2)),
        ] {
            let e = Activation::parse(name, degree).unwrap_err();
            assert_eq!(e.field(), Some("model.degree"), "{name} {degree:?}");
        }
        let h = Activation::parse("hermite", Some(3)).unwrap();
        assert_eq!(
            (h, h.name(), h.is_odd()),
            (Activation::Hermite(3), "hermite", true)
        );
        assert!(!Activation::Hermite(2).is_odd());
    }

    /// The table of 1/√k! is the square root of k! to round-off, and σ_k is
    /// He_k/√k! with the explicit polynomials of low degree; on a
    /// Gauss–Hermite rule exact for degree 2·12, E[σ_j σ_k] = δ_jk (the
    /// units are orthonormal in L²(N(0, 1)), so σ_k has information
    /// exponent k).
    #[test]
    fn the_hermite_units_are_orthonormal() {
        let mut fact = 1.0;
        for (k, v) in INV_SQRT_FACTORIAL.iter().enumerate() {
            if k > 0 {
                fact *= k as f64;
            }
            assert!((v * fact.sqrt() - 1.0).abs() < 3e-16, "k {k}");
        }
        for z in [-2.3, -0.4, 0.0, 0.9, 3.7] {
            let s = |k| Activation::Hermite(k).sigma(z);
            assert!((s(1) - z).abs() < 1e-15);
            assert!((s(2) - (z * z - 1.0) / 2f64.sqrt()).abs() < 1e-14);
            assert!((s(3) - (z.powi(3) - 3.0 * z) / 6f64.sqrt()).abs() < 1e-14);
            assert!((s(4) - (z.powi(4) - 6.0 * z * z + 3.0) / 24f64.sqrt()).abs() < 1e-13);
        }
        let q = crate::model::Quadrature::gaussian(1, 1.0, 20);
        for j in 1..=8u8 {
            for k in 1..=8u8 {
                let e: f64 = q
                    .nodes
                    .iter()
                    .zip(&q.weights)
                    .map(|(x, w)| {
                        w * Activation::Hermite(j).sigma(*x) * Activation::Hermite(k).sigma(*x)
                    })
                    .sum();
                let want = if j == k { 1.0 } else { 0.0 };
                assert!((e - want).abs() < 1e-12, "E σ_{j} σ_{k} = {e}");
            }
        }
    }
}
