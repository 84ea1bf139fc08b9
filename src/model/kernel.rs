//! **Gaussian kernels and the rules of the symmetric reduction** (docs/model.md §6).
//!
//! ```text
//! κ(q, q′, c) = E[σ(X) σ(Y)],  (X, Y) centred, covariance s²[[q, c], [c, q′]]
//! K̄(p, r; p′, r′) = E_t[κ(|p|² + r², |p′|² + r′², p·p′ + r r′ t)]
//! ```
//!
//! κ is closed-form for erf (Williams' arcsine kernel), ReLU (the arc-cosine
//! kernel of degree 1), linear units and the Hermite unit He_k/√k! (a
//! polynomial, [`hermite_kappa`]), and a 2-D Gauss–Hermite sum for the
//! others. The cosine t between the orthogonal parts of two neurons in
//! ℝⁿ has density ∝ (1 − t²)^{(n−3)/2} ([`cosine_rule`], Gauss–Jacobi); the
//! radius of x⊥ ~ N(0, s² Iₙ) is s √(2u) with u ~ Gamma(n/2)
//! ([`radial_rule`], generalised Gauss–Laguerre). Both rules come from
//! gauss-quad's nodes with their weights recomputed from the orthonormal
//! three-term recurrence (Christoffel numbers), because gauss-quad scales
//! them by Γ-functions that overflow once n/2 passes ~170.

use super::data::{symmetric, Quadrature};
use super::Activation;
use gauss_quad::{GaussJacobi, GaussLaguerre};
use std::num::NonZeroUsize;

/// A rule for a probability law: (node, weight), weights summing to 1.
pub type Rule = Vec<(f64, f64)>;

/// The law of the cosine t between a fixed unit vector and a uniform one in
/// ℝⁿ, as a rule of `nodes` points exact for polynomials of degree
/// < 2·nodes: t = ±1 with weight ½ each for n = 1 (whatever `nodes`),
/// Gauss–Jacobi with α = β = (n − 3)/2 for n ≥ 2. Symmetric to the bit.
///
/// # Panics
/// If n = 0 or nodes = 0.
pub fn cosine_rule(n: usize, nodes: usize) -> Rule {
    assert!(
        n >= 1 && nodes >= 1,
        "cosine rule of n = {n}, {nodes} nodes"
    );
    if n == 1 {
        return vec![(-1.0, 0.5), (1.0, 0.5)];
    }
    let alpha = (n as f64 - 3.0) / 2.0;
    let ab = gauss_quad::FiniteAboveNegOneF64::new(alpha).expect("α > −1 for n ≥ 2");
    let rule = GaussJacobi::new(NonZeroUsize::new(nodes).expect("nodes > 0"), ab, ab);
    let x: Vec<f64> = rule.as_node_weight_pairs().iter().map(|p| p.0).collect();
    let w: Vec<f64> = rule.as_node_weight_pairs().iter().map(|p| p.1).collect();
    // the orthonormal recurrence of the normalised Jacobi measure (α = β):
    // diagonal 0, b_j² = j (j + 2α) / ((2j + 2α)² − 1) for j ≥ 1 (the j = 1
    // term is 0/0 at α = −½, where gauss-quad's own weights are finite)
    let weights = finite_normalised(&w).unwrap_or_else(|| {
        christoffel(
            &x,
            |_| 0.0,
            |j| {
                let (j, a2) = (j as f64, 2.0 * alpha);
                (j * (j + a2) / ((2.0 * j + a2).powi(2) - 1.0)).sqrt()
            },
        )
    });
    symmetric(&x.into_iter().zip(weights).collect::<Vec<_>>())
}

/// The law of ρ = |x⊥| for x⊥ ~ N(0, s² Iₙ): ρ = s √(2u), u ~ Gamma(n/2),
/// as a rule of `nodes` points exact for polynomials of degree < 2·nodes in
/// ρ² (generalised Gauss–Laguerre, α = n/2 − 1).
///
/// # Panics
/// If n = 0, nodes = 0 or s ≤ 0.
pub fn radial_rule(n: usize, s: f64, nodes: usize) -> Rule {
    assert!(
        n >= 1 && nodes >= 1 && s > 0.0,
        "radial rule n = {n}, s = {s}"
    );
    let alpha = n as f64 / 2.0 - 1.0;
    let a = gauss_quad::FiniteAboveNegOneF64::new(alpha).expect("α > −1 for n ≥ 1");
    let rule = GaussLaguerre::new(NonZeroUsize::new(nodes).expect("nodes > 0"), a);
    let u: Vec<f64> = rule.as_node_weight_pairs().iter().map(|p| p.0).collect();
    let w: Vec<f64> = rule.as_node_weight_pairs().iter().map(|p| p.1).collect();
    // normalised Laguerre measure: diagonal α + 1 + 2j, b_j = √(j (j + α))
    let weights = finite_normalised(&w).unwrap_or_else(|| {
        christoffel(
            &u,
            |j| alpha + 1.0 + 2.0 * j as f64,
            |j| (j as f64 * (j as f64 + alpha)).sqrt(),
        )
    });
    u.iter()
        .zip(weights)
        .map(|(u, w)| (s * (2.0 * u).sqrt(), w))
        .collect()
}

/// Weights divided by their sum, or `None` when one is not finite.
fn finite_normalised(w: &[f64]) -> Option<Vec<f64>> {
    let sum: f64 = w.iter().sum();
    (sum.is_finite() && sum > 0.0 && w.iter().all(|v| v.is_finite() && *v >= 0.0))
        .then(|| w.iter().map(|v| v / sum).collect())
}

/// Christoffel numbers λ_i = 1 / Σ_{j<N} p̂_j(x_i)² of the N-point Gauss rule
/// of a probability measure with orthonormal recurrence
/// b_{j+1} p̂_{j+1} = (x − a_j) p̂_j − b_j p̂_{j−1}, p̂_0 = 1; normalised to
/// sum 1 against round-off.
fn christoffel(x: &[f64], a: impl Fn(usize) -> f64, b: impl Fn(usize) -> f64) -> Vec<f64> {
    let n = x.len();
    let lam: Vec<f64> = x
        .iter()
        .map(|&x| {
            let (mut prev, mut cur, mut sum) = (0.0, 1.0, 1.0);
            for j in 0..n - 1 {
                let next = ((x - a(j)) * cur - b(j) * prev) / b(j + 1);
                prev = cur;
                cur = next;
                sum += cur * cur;
            }
            1.0 / sum
        })
        .collect();
    let total: f64 = lam.iter().sum();
    lam.iter().map(|l| l / total).collect()
}

/// Nodes of the 2-D Gauss–Hermite rule behind [`Kernel`] for units without
/// a closed form. While s²q, s²q′ ≤ 4 the error is below 1e-10 for sigmoid
/// and softplus and below 1e-5 for tanh, whose poles at ±iπ/2 lie closest
/// to the real axis (measured against a rule of twice the nodes: 2e-6, 7e-12,
/// 5e-12 at worst; tested); beyond, σ(X) turns steep on the rule's scale
/// and the error grows (1e-3 for tanh at s²q = 50).
const HERMITE_NODES: usize = 64;

/// The Gauss–Hermite rule of N(0, 1) with `n` nodes, as (z, weight) pairs
/// (the data module's rule, symmetric to the bit).
fn normal_rule(n: usize) -> Rule {
    let q = Quadrature::gaussian(1, 1.0, n);
    q.nodes.into_iter().zip(q.weights).collect()
}

/// κ(q, q′, c) for one unit and data scale s (docs/model.md §6).
#[derive(Debug, Clone)]
pub struct Kernel {
    pub activation: Activation,
    /// s².
    pub s2: f64,
    /// The 1-D rule for N(0, 1) (nodes z, weights), for units without a
    /// closed form.
    normal: Rule,
}

impl Kernel {
    /// The kernel of `activation` for x ~ N(0, s² I).
    pub fn new(activation: Activation, s: f64) -> Self {
        let normal = normal_rule(HERMITE_NODES);
        Kernel {
            activation,
            s2: s * s,
            normal,
        }
    }

    /// κ(q, q′, c) = E[σ(X) σ(Y)], Cov(X, Y) = s²[[q, c], [c, q′]]
    /// (c² ≤ q q′ up to round-off).
    pub fn kappa(&self, q: f64, q2: f64, c: f64) -> f64 {
        if let Some((k, _, _)) = self.kappa_grad(q, q2, c) {
            return k;
        }
        // a 2-D Gauss–Hermite rule: X = √Σ₁₁ z₁,
        // Y = (Σ₁₂/√Σ₁₁) z₁ + √(Σ₂₂ − Σ₁₂²/Σ₁₁) z₂
        let (x, y, xy) = (self.s2 * q, self.s2 * q2, self.s2 * c);
        let act = self.activation;
        let sx = x.sqrt();
        let (b1, b2) = if sx > 0.0 {
            let b1 = xy / sx;
            (b1, (y - b1 * b1).max(0.0).sqrt())
        } else {
            (0.0, y.sqrt())
        };
        let mut sum = 0.0;
        for &(z1, w1) in &self.normal {
            let sx1 = act.sigma(sx * z1);
            let mut inner = 0.0;
            for &(z2, w2) in &self.normal {
                inner += w2 * act.sigma(b1 * z1 + b2 * z2);
            }
            sum += w1 * sx1 * inner;
        }
        sum
    }

    /// What the closed forms need of one argument q alone, computed once
    /// per neuron where κ is taken over many pairs (a Gram matrix):
    /// 1/√(1 + 2s²q) for erf, √(s²q) for ReLU, s²q − 1 for the Hermite
    /// unit, 0 otherwise.
    #[inline]
    pub fn factor(&self, q: f64) -> f64 {
        match self.activation {
            Activation::Erf => 1.0 / (1.0 + 2.0 * self.s2 * q).sqrt(),
            Activation::Relu => (self.s2 * q).sqrt(),
            Activation::Hermite(_) => self.s2 * q - 1.0,
            _ => 0.0,
        }
    }

    /// (κ, ∂κ/∂q, ∂κ/∂c) at (q, q′, c), for the units with a closed form
    /// (erf, ReLU, linear); `None` for the others.
    pub fn kappa_grad(&self, q: f64, q2: f64, c: f64) -> Option<(f64, f64, f64)> {
        self.kappa_grad_with(self.factor(q), self.factor(q2), c)
    }

    /// [`Kernel::kappa_grad`] from the [`Kernel::factor`]s f, f′ of q and q′
    /// and c.
    #[inline]
    pub fn kappa_grad_with(&self, f: f64, f2: f64, c: f64) -> Option<(f64, f64, f64)> {
        self.closed(f, f2, c, true)
    }

    /// (∂κ/∂q, ∂κ/∂c) alone from the factors and c: what a step with the
    /// output weights frozen needs (for erf, no asin).
    #[inline]
    pub fn dkappa_with(&self, f: f64, f2: f64, c: f64) -> Option<(f64, f64)> {
        self.closed(f, f2, c, false).map(|(_, dq, dc)| (dq, dc))
    }

    /// The closed forms themselves: (κ, ∂κ/∂q, ∂κ/∂c), κ only when `value`
    /// (0 otherwise, where it costs a function call).
    #[inline(always)]
    fn closed(&self, f: f64, f2: f64, c: f64, value: bool) -> Option<(f64, f64, f64)> {
        let (s2, pi) = (self.s2, std::f64::consts::PI);
        let xy = s2 * c;
        match self.activation {
            Activation::Linear => Some((xy, 0.0, s2)),
            Activation::Erf => {
                // Williams (1997): z = 2Σ₁₂/√((1 + 2Σ₁₁)(1 + 2Σ₂₂)), κ = (2/π) asin z
                let z = (2.0 * xy * f * f2).clamp(-1.0, 1.0);
                let dk = std::f64::consts::FRAC_2_PI / (1.0 - z * z).max(1e-300).sqrt();
                Some((
                    if value {
                        std::f64::consts::FRAC_2_PI * z.asin()
                    } else {
                        0.0
                    },
                    -dk * z * s2 * f * f,
                    dk * 2.0 * s2 * f * f2,
                ))
            }
            Activation::Relu => {
                // Cho & Saul (2009), degree 1: κ = √(XY) J(φ)/2π,
                // J = sin φ + (π − φ) cos φ; ∂κ/∂C = (π − φ)/2π,
                // ∂κ/∂X = √(Y/X) sin φ / 4π
                let n = f * f2;
                if n == 0.0 {
                    return Some((0.0, 0.0, 0.0));
                }
                let cos = (xy / n).clamp(-1.0, 1.0);
                let (phi, sin) = (cos.acos(), (1.0 - cos * cos).sqrt());
                Some((
                    n / (2.0 * pi) * (sin + (pi - phi) * cos),
                    s2 * (f2 / f) * sin / (4.0 * pi),
                    s2 * (pi - phi) / (2.0 * pi),
                ))
            }
            Activation::Hermite(k) => {
                let (v, dq, dc) = hermite_kappa(k, f, f2, xy);
                Some((v, s2 * dq, s2 * dc))
            }
            _ => None,
        }
    }

    /// K̄(p, r; p′, r′) = Σ_j ν_j κ(|p|² + r², |p′|² + r′², p·p′ + r r′ t_j)
    /// over a cosine rule {(t_j, ν_j)}.
    pub fn kbar(&self, cosine: &[(f64, f64)], p: &[f64], r: f64, p2: &[f64], r2: f64) -> f64 {
        let dot: f64 = p.iter().zip(p2).map(|(a, b)| a * b).sum();
        let q = p.iter().map(|a| a * a).sum::<f64>() + r * r;
        let q2 = p2.iter().map(|a| a * a).sum::<f64>() + r2 * r2;
        cosine
            .iter()
            .map(|&(t, nu)| nu * self.kappa(q, q2, dot + r * r2 * t))
            .sum()
    }
}

/// κ of the Hermite unit σ_k = He_k/√k! and its derivatives in (X, C):
/// for Var X = X, Var Y = Y, Cov = C, by He_k(√X z) = Σ_i X^{k/2−i}
/// (X − 1)^i C(k, 2i) (2i − 1)!! He_{k−2i}(z) and E[He_m(Z₁) He_n(Z₂)] =
/// δ_mn n! corr^n,
///
/// ```text
/// κ = Σ_{i ≤ k/2} k! / ((k − 2i)! 4^i i!²) C^{k−2i} ((X − 1)(Y − 1))^i
/// ```
///
/// from u = X − 1, u′ = Y − 1 and C: (κ, ∂κ/∂X, ∂κ/∂C). k = 1 is the linear
/// kernel C, k = 2 is C² + uu′/2.
pub fn hermite_kappa(k: u8, u: f64, u2: f64, c: f64) -> (f64, f64, f64) {
    let k = i32::from(k);
    let uu = u * u2;
    let (mut v, mut dx, mut dc) = (0.0, 0.0, 0.0);
    // coef_i = k!/((k − 2i)! 4^i i!²), by coef_{i+1}/coef_i =
    // (k − 2i)(k − 2i − 1) / (4 (i + 1)²)
    let mut coef = 1.0;
    for i in 0..=k / 2 {
        let e = k - 2 * i;
        let ci = c.powi(e);
        v += coef * ci * uu.powi(i);
        if e > 0 {
            dc += coef * f64::from(e) * c.powi(e - 1) * uu.powi(i);
        }
        if i > 0 {
            dx += coef * ci * f64::from(i) * u.powi(i - 1) * u2.powi(i);
        }
        coef *= f64::from((e) * (e - 1)) / f64::from(4 * (i + 1) * (i + 1));
    }
    (v, dx, dc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// E[t^{2k}] = (2k − 1)!! / Π_{i<k} (n + 2i) on the sphere S^{n−1}: the
    /// rule of N nodes is exact for degree < 2N, so to round-off (a few
    /// ulps times the number of terms) for every n up to 10⁴, through
    /// gauss-quad's weights (small n) and the Christoffel numbers (large n).
    #[test]
    fn the_cosine_rule_has_the_sphere_moments() {
        for n in [1usize, 2, 3, 4, 5, 10, 40, 397, 1000, 9998] {
            let rule = cosine_rule(n, 12);
            let total: f64 = rule.iter().map(|p| p.1).sum();
            assert!((total - 1.0).abs() < 1e-14, "n {n}: mass {total}");
            let mut want = 1.0;
            for k in 1..=(if n == 1 { 6 } else { 11 }) {
                want *= (2 * k - 1) as f64 / (n + 2 * k - 2) as f64;
                let got: f64 = rule.iter().map(|&(t, w)| w * t.powi(2 * k as i32)).sum();
                assert!(
                    (got - want).abs() <= 1e-13 * want,
                    "n {n}, E t^{}: {got} vs {want}",
                    2 * k
                );
            }
            for (i, &(t, w)) in rule.iter().enumerate() {
                let (t2, w2) = rule[rule.len() - 1 - i];
                assert!(t == -t2 && w == w2, "n {n}: symmetric to the bit");
            }
        }
    }

    /// The exact sphere averages E[e^{βt}] of small n: cosh β (n = 1), I₀(β)
    /// (n = 2), sinh β / β (n = 3, t uniform), 3(β cosh β − sinh β)/β³
    /// (n = 5); a 24-node rule of an analytic function is exact to round-off.
    #[test]
    fn the_cosine_rule_averages_like_the_sphere() {
        let beta: f64 = 2.7;
        // I₀ by its series
        let mut i0 = 0.0;
        let mut term = 1.0;
        for k in 0..40 {
            if k > 0 {
                term *= (beta / 2.0).powi(2) / (k * k) as f64;
            }
            i0 += term;
        }
        let exact = [
            (1, beta.cosh()),
            (2, i0),
            (3, beta.sinh() / beta),
            (5, 3.0 * (beta * beta.cosh() - beta.sinh()) / beta.powi(3)),
        ];
        for (n, want) in exact {
            let got: f64 = cosine_rule(n, 24)
                .iter()
                .map(|&(t, w)| w * (beta * t).exp())
                .sum();
            assert!((got - want).abs() < 1e-14 * want, "n {n}: {got} vs {want}");
        }
    }

    /// E[ρ^{2k}] = s^{2k} Π_{i<k} (n + 2i) for ρ = |N(0, s² Iₙ)|: exact for
    /// k < 2N in ρ², for n from 1 to 10⁴.
    #[test]
    fn the_radial_rule_has_the_chi_moments() {
        for n in [1usize, 2, 3, 38, 999, 10_000] {
            let s = 0.7;
            let rule = radial_rule(n, s, 8);
            let mut want = 1.0;
            for k in 0..12 {
                if k > 0 {
                    want *= s * s * (n + 2 * k - 2) as f64;
                }
                let got: f64 = rule.iter().map(|&(r, w)| w * r.powi(2 * k as i32)).sum();
                assert!(
                    (got - want).abs() <= 1e-12 * want,
                    "n {n}, E ρ^{}: {got} vs {want}",
                    2 * k
                );
            }
        }
    }

    /// κ against a 2-D Monte-Carlo mean of σ(X)σ(Y) (2·10⁶ pairs; the
    /// tolerance is 5 standard errors of that mean), for every unit, at
    /// positive, negative and zero correlation and unequal variances.
    #[test]
    fn kappa_matches_a_monte_carlo_average() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 2_000_000;
        let z: Vec<(f64, f64)> = (0..n)
            .map(|_| {
                (
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                )
            })
            .collect();
        let cases = [
            (1.3, 0.6, 0.5),
            (0.4, 2.0, -0.7),
            (1.0, 1.0, 0.0),
            (2.5, 0.9, 1.4),
        ];
        for act in [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Erf,
            Activation::Relu,
            Activation::Softplus,
            Activation::Linear,
            Activation::Hermite(2),
            Activation::Hermite(3),
        ] {
            let k = Kernel::new(act, 1.3);
            for &(q, q2, c) in &cases {
                let (x, y, xy) = (k.s2 * q, k.s2 * q2, k.s2 * c);
                let (sx, b1) = (x.sqrt(), xy / x.sqrt());
                let b2 = (y - b1 * b1).sqrt();
                let (mut s, mut s2) = (0.0, 0.0);
                for &(z1, z2) in &z {
                    let v = act.sigma(sx * z1) * act.sigma(b1 * z1 + b2 * z2);
                    s += v;
                    s2 += v * v;
                }
                let mean = s / n as f64;
                let se = ((s2 / n as f64 - mean * mean) / n as f64).sqrt();
                let got = k.kappa(q, q2, c);
                assert!(
                    (got - mean).abs() < 5.0 * se,
                    "{act:?} ({q}, {q2}, {c}): κ {got} vs MC {mean} ± {se}"
                );
            }
        }
    }

    /// The Hermite unit's polynomial κ against the 2-D Gauss–Hermite sum of
    /// σ(X)σ(Y), which is exact for these polynomials (64 nodes: degree
    /// 127), so the two agree to round-off, for k = 1 … 8 at unequal
    /// variances and both signs of the covariance; k = 1 is the linear
    /// kernel.
    #[test]
    fn the_hermite_kappa_is_the_gaussian_average() {
        let rule = normal_rule(HERMITE_NODES);
        for k in 1..=8u8 {
            let act = Activation::Hermite(k);
            let ker = Kernel::new(act, 1.1);
            for &(q, q2, c) in &[
                (1.3, 0.6, 0.5),
                (0.4, 2.0, -0.7),
                (0.83, 0.83, 0.2),
                (2.5, 0.9, 1.4),
            ] {
                let (x, y, xy) = (ker.s2 * q, ker.s2 * q2, ker.s2 * c);
                let (sx, b1) = (x.sqrt(), xy / x.sqrt());
                let b2 = (y - b1 * b1).sqrt();
                let (mut sum, mut scale) = (0.0, 0.0);
                for &(z1, w1) in &rule {
                    for &(z2, w2) in &rule {
                        let v = w1 * w2 * act.sigma(sx * z1) * act.sigma(b1 * z1 + b2 * z2);
                        sum += v;
                        scale += v.abs();
                    }
                }
                let got = ker.kappa(q, q2, c);
                assert!(
                    (got - sum).abs() < 1e-13 * scale,
                    "k {k} ({q}, {q2}, {c}): {got} vs {sum}"
                );
            }
        }
        let lin = Kernel::new(Activation::Linear, 1.1);
        let h1 = Kernel::new(Activation::Hermite(1), 1.1);
        assert_eq!(
            lin.kappa_grad(0.7, 1.9, -0.3),
            h1.kappa_grad(0.7, 1.9, -0.3)
        );
    }

    /// ∂κ/∂q and ∂κ/∂c of the closed forms against central differences of κ.
    #[test]
    fn the_kernel_derivatives_are_the_derivatives() {
        for act in [
            Activation::Erf,
            Activation::Relu,
            Activation::Linear,
            Activation::Hermite(1),
            Activation::Hermite(2),
            Activation::Hermite(3),
            Activation::Hermite(6),
        ] {
            let k = Kernel::new(act, 0.8);
            for &(q, q2, c) in &[(1.3, 0.6, 0.5), (0.4, 2.0, -0.7), (2.5, 0.9, 1.4)] {
                let (_, dq, dc) = k.kappa_grad(q, q2, c).unwrap();
                let h = 1e-6;
                let fq = (k.kappa(q + h, q2, c) - k.kappa(q - h, q2, c)) / (2.0 * h);
                let fc = (k.kappa(q, q2, c + h) - k.kappa(q, q2, c - h)) / (2.0 * h);
                assert!((dq - fq).abs() < 1e-8 && (dc - fc).abs() < 1e-8, "{act:?}");
                assert_eq!(k.kappa_grad(q, q2, c).unwrap().0, k.kappa(q, q2, c));
                // the derivatives alone are the same numbers
                let (f, f2) = (k.factor(q), k.factor(q2));
                assert_eq!(k.dkappa_with(f, f2, c), Some((dq, dc)));
            }
        }
        assert!(Kernel::new(Activation::Tanh, 1.0)
            .kappa_grad(1.0, 1.0, 0.5)
            .is_none());
    }

    /// The Gauss–Hermite κ of the units without a closed form against a rule
    /// of twice the nodes, over the range its docs state (s²q ≤ 4), with a
    /// near-singular covariance among the cases.
    #[test]
    fn the_hermite_kappa_is_converged() {
        for act in [Activation::Tanh, Activation::Sigmoid, Activation::Softplus] {
            let k = Kernel::new(act, 1.0);
            let mut fine = Kernel::new(act, 1.0);
            fine.normal = normal_rule(2 * HERMITE_NODES);
            for &(q, q2, c) in &[(4.0, 0.3, 0.5), (0.01, 4.0, 0.1), (2.0, 2.0, -1.99)] {
                let (a, b) = (k.kappa(q, q2, c), fine.kappa(q, q2, c));
                let bound = if act == Activation::Tanh { 1e-5 } else { 1e-10 };
                assert!(
                    (a - b).abs() < bound * (1.0 + b.abs()),
                    "{act:?} ({q}, {q2}, {c}): {a} vs {b}"
                );
            }
        }
    }
}
