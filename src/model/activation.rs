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
}

/// The names accepted in `model.activation`.
pub const ACTIVATION_NAMES: &str = "tanh, sigmoid, erf, relu, softplus, linear";

impl Activation {
    /// Parse `model.activation`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "erf" => Activation::Erf,
            "relu" => Activation::Relu,
            "softplus" => Activation::Softplus,
            "linear" => Activation::Linear,
            _ => {
                return Err(Error::problem(
                    "model.activation",
                    format!("{name:?}"),
                    format!("one of {ACTIVATION_NAMES}"),
                ))
            }
        })
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
        }
    }

    /// z ← σ(z) over a slice (one loop per activation, so it vectorises).
    pub fn sigma_in_place(self, zs: &mut [f64]) {
        match self {
            Activation::Tanh => zs.iter_mut().for_each(|z| *z = tanh(*z)),
            _ => zs.iter_mut().for_each(|z| *z = self.sigma(*z)),
        }
    }

    /// Given s_q = σ(z_q) and weights c_q: returns Σ_q s_q c_q and leaves
    /// σ′(z_q) c_q in `s`. σ′ comes from σ where it is a function of it
    /// (tanh, sigmoid); otherwise from `z(q)`.
    pub fn weighted_derivative(self, s: &mut [f64], c: &[f64], z: impl Fn(usize) -> f64) -> f64 {
        let mut g = 0.0;
        match self {
            Activation::Tanh => {
                for (sq, &cq) in s.iter_mut().zip(c) {
                    g += *sq * cq;
                    *sq = (1.0 - *sq * *sq) * cq;
                }
            }
            Activation::Sigmoid => {
                for (sq, &cq) in s.iter_mut().zip(c) {
                    g += *sq * cq;
                    *sq = *sq * (1.0 - *sq) * cq;
                }
            }
            _ => {
                for (q, (sq, &cq)) in s.iter_mut().zip(c).enumerate() {
                    g += *sq * cq;
                    *sq = self.dsigma(z(q)) * cq;
                }
            }
        }
        g
    }
}

/// tanh through one exponential: (1 − e)/(1 + e) with e = exp(−2|z|).
/// Absolute error below 3e-16 everywhere (the relative error grows only as
/// |z| → 0, where the value itself is tiny); much cheaper than the C
/// library's tanh in the O(m × #nodes) particle step.
#[inline]
pub fn tanh(z: f64) -> f64 {
    let e = (-2.0 * z.abs()).exp();
    ((1.0 - e) / (1.0 + e)).copysign(z)
}

#[inline]
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
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
        ] {
            for &z in &[-3.1, -0.7, 0.3, 1.9, 25.0, -40.0] {
                let h = 1e-6;
                let fd = (act.sigma(z + h) - act.sigma(z - h)) / (2.0 * h);
                assert!(
                    (fd - act.dsigma(z)).abs() < 1e-7,
                    "{act:?} at {z}: {fd} vs {}",
                    act.dsigma(z)
                );
                assert!(act.sigma(z).is_finite());
                let mut s = [act.sigma(z)];
                let g = act.weighted_derivative(&mut s, &[2.0], |_| z);
                assert_eq!(g, 2.0 * act.sigma(z));
                assert!((s[0] - 2.0 * act.dsigma(z)).abs() < 1e-15);
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
    fn unknown_activation_names_the_field() {
        let e = Activation::parse("gelu").unwrap_err();
        assert_eq!(e.field(), Some("model.activation"));
        assert!(e.to_string().contains("gelu"));
    }
}
