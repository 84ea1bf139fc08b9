//! **Activations** σ and their derivatives σ′.

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
}

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
pub const ACTIVATION_NAMES: &str = "tanh, sigmoid, erf, relu, softplus, linear, mmn_ramp";

impl Activation {
    /// Parse `model.activation`.
    pub fn parse(name: &str) -> Result<Self> {
        NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
            .ok_or_else(|| {
                Error::problem(
                    "model.activation",
                    format!("{name:?}"),
                    format!("one of {ACTIVATION_NAMES}"),
                )
            })
    }

    /// Its name in `model.activation`.
    pub fn name(self) -> &'static str {
        NAMED
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |&(n, _)| n)
    }

    /// σ(−z) = −σ(z) (tanh, erf, linear).
    pub fn is_odd(self) -> bool {
        matches!(
            self,
            Activation::Tanh | Activation::Erf | Activation::Linear
        )
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
            Activation::Erf => std::f64::consts::FRAC_2_SQRT_PI * (-z * z).exp(),
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
        }
    }
}

/// e^x for x ≤ 0, branch-free so that loops over it vectorise: arguments
/// below −708 are clamped (e^−708 ≈ 3e-308, the smallest normal range; no
/// subnormals), x = n ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite, ln 2
/// split in two), e^r by its Taylor polynomial of degree 13 (truncation
/// below 5e-18 relative), 2^n put into the exponent bits. Relative error a
/// few 1e-16 (tested against the C library). No FMA, so every vector width
/// gives the same bits; [`exp_neg_with`]`::<true>` is the same with fused
/// multiply–adds.
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

/// [`exp_neg`], its Horner steps fused when `FUSED` (half the operations;
/// the result differs from the unfused one by round-off, a few 1e-16).
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
    let k = x * LOG2E + ROUND;
    let n = k - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = C[13];
    for c in C[..13].iter().rev() {
        p = madd::<FUSED>(p, r, *c);
    }
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
        ] {
            for &z in &[-3.1, -0.7, 0.3, 0.8, 1.2, 1.9, 25.0, -40.0] {
                let h = 1e-6;
                let fd = (act.sigma(z + h) - act.sigma(z - h)) / (2.0 * h);
                assert!(
                    (fd - act.dsigma(z)).abs() < 1e-7,
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
        let e = Activation::parse("gelu").unwrap_err();
        assert_eq!(e.field(), Some("model.activation"));
        assert!(e.to_string().contains("gelu"));
    }
}
