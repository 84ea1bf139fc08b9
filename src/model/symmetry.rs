//! **The exact symmetry reduction** of docs/model.md §6: Gaussian data in ℝᵈ (or a
//! mixture of centred isotropic Gaussians), a target seen through Uᵀx and
//! |x⊥|, and ρ0 invariant under the rotations that fix U. The law of
//! (a, p, r), p = Uᵀw ∈ ℝᵏ, r = |w⊥|, then obeys a PDE in 1 + k + 1
//! dimensions for every d.
//!
//! The reduced problem is posed as an ordinary one: its "input" is
//! x̄ = (ξ, ρ) = (Uᵀx, |x⊥|) ∈ ℝᵏ × [0, ∞), its unit is the rotation
//! average
//!
//! ```text
//! φ(p, r; ξ, ρ) = E_t σ(p·ξ + r ρ t) = Σ_j ν_j σ(p·ξ + r ρ t_j)
//! ```
//!
//! over the cosine t between w⊥ and x⊥ ([`super::kernel::cosine_rule`]),
//! and E_x is a quadrature of (ξ, ρ): Gauss–Hermite in ξ times the radial
//! rule of ρ ([`super::kernel::radial_rule`]). For a rotation-invariant μ,
//! f_μ(x) = ∫ a φ(p, r; ξ, ρ) dρ̄, and then g, R and V of docs/model.md §2 computed
//! with φ and this quadrature are exactly those of §6 (K̄ is
//! E_x̄[φ(w; x̄) φ(w′; x̄)], tested against the κ route). The Itô drift
//! (η/2)(n − 1)/r on r is −∂_r U for U = −(η/2)(n − 1) ln r, which the model
//! adds to Ψ where a potential is needed (the Gibbs state, the
//! Scharfetter–Gummel scheme) and to F's entropy term.
//!
//! For ReLU and n ≥ 2 the t-average has a closed form (its kink would cost
//! a rule algebraic order): with b = rρ ≥ 0 and t₀ = −c/b,
//! E(c + bT)⁺ = c P(T > t₀) + b E[T; T > t₀], P(T > t₀) = I_{(1−t₀)/2}(α, α)
//! and E[T; T > t₀] = C_n (1 − t₀²)^α / (2α), α = (n − 1)/2,
//! C_n = Γ(n/2) / (√π Γ(α)) (the density of T is C_n (1 − t²)^{α−1}).
//! MMN's ramp is s₁ + (s₂ − s₁)/(t₂ − t₁) ((z − t₁)⁺ − (z − t₂)⁺), so its
//! average is two of these.

use super::activation::RAMP;
use super::data::Quadrature;
use super::kernel::{cosine_rule, radial_rule, Rule};
use super::special::beta_reg;
use super::Activation;

/// The reduction's sizes: input dimension d, k directions, n = d − k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reduced {
    /// d.
    pub dim: usize,
    /// k ∈ {0, 1, 2}.
    pub k: usize,
}

impl Reduced {
    /// n = d − k, the dimension of the orthogonal part.
    pub fn n(self) -> usize {
        self.dim - self.k
    }
}

/// The reduction with its cosine rule, planned once.
#[derive(Debug, Clone)]
pub struct Reduction {
    pub sizes: Reduced,
    /// {(t_j, ν_j)}: the law of the cosine in ℝⁿ.
    pub cosine: Rule,
    /// α = (n − 1)/2 and C_n of the cosine's density C_n (1 − t²)^{α−1}.
    alpha: f64,
    c_n: f64,
}

impl Reduction {
    /// The reduction of ℝᵈ with k directions, its cosine rule of
    /// `cosine_nodes` points.
    pub fn new(sizes: Reduced, cosine_nodes: usize) -> Self {
        let alpha = (sizes.n() as f64 - 1.0) / 2.0;
        Reduction {
            sizes,
            cosine: cosine_rule(sizes.n(), cosine_nodes),
            alpha,
            c_n: (libm::lgamma(alpha + 0.5) - libm::lgamma(alpha)).exp()
                / std::f64::consts::PI.sqrt(),
        }
    }

    /// E(c + bT)⁺, P(T > −c/b) = ∂/∂c and E[T; T > −c/b] = ∂/∂b, for b ≥ 0
    /// and n ≥ 2 (module docs).
    fn relu_average(&self, c: f64, b: f64) -> (f64, f64, f64) {
        let t0 = -c / b;
        if b <= 0.0 || t0.is_nan() {
            return if c > 0.0 {
                (c, 1.0, 0.0)
            } else {
                (0.0, 0.0, 0.0)
            };
        }
        if t0 <= -1.0 {
            return (c, 1.0, 0.0);
        }
        if t0 >= 1.0 {
            return (0.0, 0.0, 0.0);
        }
        let a = self.alpha;
        let above = beta_reg(a, a, 0.5 * (1.0 - t0));
        let first = self.c_n * (1.0 - t0 * t0).powf(a) / (2.0 * a);
        (c * above + b * first, above, first)
    }

    /// Whether φ of `act` is the closed form (ReLU and MMN's ramp, n ≥ 2).
    #[inline]
    fn closed(&self, act: Activation) -> bool {
        matches!(act, Activation::Relu | Activation::MmnRamp) && self.sizes.n() >= 2
    }

    /// E σ(c + bT), ∂/∂c and ∂/∂b for a piecewise-linear unit (ReLU, ramp).
    fn piecewise_average(&self, act: Activation, c: f64, b: f64) -> (f64, f64, f64) {
        if act == Activation::Relu {
            return self.relu_average(c, b);
        }
        let [t1, t2, s1, s2] = RAMP;
        let k = (s2 - s1) / (t2 - t1);
        let (u, du_c, du_b) = self.relu_average(c - t1, b);
        let (v, dv_c, dv_b) = self.relu_average(c - t2, b);
        (s1 + k * (u - v), k * (du_c - dv_c), k * (du_b - dv_b))
    }

    /// The unit's argument c + b t: (c, b) = (p·ξ, rρ) for w = (p, r),
    /// x̄ = (ξ, ρ).
    #[inline]
    fn argument(&self, w: &[f64], x: &[f64]) -> (f64, f64) {
        let k = self.sizes.k;
        let lin: f64 = w[..k].iter().zip(&x[..k]).map(|(a, b)| a * b).sum();
        (lin, w[k] * x[k])
    }

    /// φ(p, r; ξ, ρ) for w = (p, r), x̄ = (ξ, ρ).
    #[inline]
    pub fn unit(&self, act: Activation, w: &[f64], x: &[f64]) -> f64 {
        let mut out = [0.0];
        self.run(act, None, x, w, &mut out);
        out[0]
    }

    /// ∂φ/∂w_i: Σ_j ν_j σ′(p·ξ + r ρ t_j) ξ_i (i < k), Σ_j ν_j σ′(·) ρ t_j (i = k).
    #[inline]
    pub fn dunit(&self, act: Activation, w: &[f64], x: &[f64], i: usize) -> f64 {
        let mut out = [0.0];
        self.run(act, Some(i), x, w, &mut out);
        out[0]
    }

    /// φ (`i` = None) or ∂φ/∂w_i at a run of points w (row-major, k + 1
    /// numbers each) and one node x̄: out[e] for the e-th point. The
    /// cosine rule's sum runs outside and the points inside, so that the
    /// compiler vectorises the unit over the points (where the caller is
    /// compiled for a [`crate::simd::Simd`] variant); each entry is still
    /// summed in the rule's order, so a run gives the bits of one entry at
    /// a time ([`Reduction::unit`] and [`Reduction::dunit`] are runs of
    /// one).
    #[inline(always)]
    pub fn run(
        &self,
        act: Activation,
        i: Option<usize>,
        x: &[f64],
        points: &[f64],
        out: &mut [f64],
    ) {
        let dw = self.sizes.k + 1;
        if self.closed(act) {
            let k = self.sizes.k;
            for (o, w) in out.iter_mut().zip(points.chunks_exact(dw)) {
                let (lin, b) = self.argument(w, x);
                let (v, dc, db) = self.piecewise_average(act, lin, b);
                *o = match i {
                    None => v,
                    Some(i) if i < k => x[i] * dc,
                    Some(_) => x[k] * db,
                };
            }
            return;
        }
        // the activation chosen outside the loops, so that σ inlines
        macro_rules! by_unit {
            ($d:literal) => {
                match act {
                    Activation::Tanh => self.sum_run(i, x, points, out, Of::<$d>(Activation::Tanh)),
                    Activation::Sigmoid => {
                        self.sum_run(i, x, points, out, Of::<$d>(Activation::Sigmoid))
                    }
                    Activation::Erf => self.sum_run(i, x, points, out, Of::<$d>(Activation::Erf)),
                    a => self.sum_run(i, x, points, out, Of::<$d>(a)),
                }
            };
        }
        match i {
            None => by_unit!(false),
            Some(_) => by_unit!(true),
        }
    }

    /// [`Reduction::run`] with the unit's σ or σ′ `f`: Σ_j c_j f(p·ξ + rρ t_j)
    /// (c_j = ν_j, or ν_j t_j for ∂/∂r), times ξ_i or ρ for a derivative.
    #[inline(always)]
    fn sum_run(
        &self,
        i: Option<usize>,
        x: &[f64],
        points: &[f64],
        out: &mut [f64],
        f: impl Scalar,
    ) {
        const RUN: usize = 64;
        let k = self.sizes.k;
        for (oc, pc) in out.chunks_mut(RUN).zip(points.chunks(RUN * (k + 1))) {
            let n = oc.len();
            let (mut lin, mut b) = ([0.0; RUN], [0.0; RUN]);
            for ((l, bb), w) in lin.iter_mut().zip(b.iter_mut()).zip(pc.chunks_exact(k + 1)) {
                (*l, *bb) = self.argument(w, x);
            }
            // -0.0: the neutral element of f64's Sum, as a sum of one term at a time
            let mut acc = [-0.0f64; RUN];
            for &(t, nu) in &self.cosine {
                let c = if i == Some(k) { nu * t } else { nu };
                for ((a, l), bb) in acc[..n].iter_mut().zip(&lin[..n]).zip(&b[..n]) {
                    *a += c * f.at(l + bb * t);
                }
            }
            let scale = i.map(|i| x[i.min(k)]);
            for (o, a) in oc.iter_mut().zip(&acc) {
                *o = scale.map_or(*a, |s| s * a);
            }
        }
    }

    /// The quadrature of x̄ = (ξ, ρ) for x ~ N(0, s² I_d): Gauss–Hermite with
    /// `nodes` points per direction in ξ, the radial rule of `radial_nodes`
    /// points in ρ.
    pub fn quadrature(&self, s: f64, nodes: usize, radial_nodes: usize) -> Quadrature {
        let k = self.sizes.k;
        // k = 0: the empty product, one node of weight 1
        let xi = Quadrature::gaussian(k, s, nodes);
        let rho = radial_rule(self.sizes.n(), s, radial_nodes);
        let mut nodes_out = Vec::with_capacity(xi.len() * rho.len() * (k + 1));
        let mut weights = Vec::with_capacity(xi.len() * rho.len());
        for q in 0..xi.len() {
            let (x, w) = (xi.node(q), xi.weights[q]);
            for &(r, wr) in &rho {
                nodes_out.extend_from_slice(x);
                nodes_out.push(r);
                weights.push(w * wr);
            }
        }
        Quadrature {
            dim: k + 1,
            nodes: nodes_out,
            weights,
        }
    }
}

/// σ or σ′ at one argument, inlined into [`Reduction::run`]'s loop (a
/// method marked to inline: a closure was not always inlined).
trait Scalar {
    fn at(&self, z: f64) -> f64;
}

/// σ (`D` false) or σ′ of an activation.
struct Of<const D: bool>(Activation);

impl<const D: bool> Scalar for Of<D> {
    #[inline(always)]
    fn at(&self, z: f64) -> f64 {
        if D {
            self.0.dsigma(z)
        } else {
            self.0.sigma(z)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernel::Kernel;

    /// The PDE's route to K̄ (the quadrature of x̄ and the unit φ:
    /// Σ_q ω_q φ(w; x̄_q) φ(w′; x̄_q)) against the κ route of docs/model.md §6
    /// (closed-form κ averaged over the cosine rule), for erf, ReLU,
    /// linear and Hermite units (degrees 2 and 3: polynomials, so both rules
    /// are exact), k = 0, 1, 2 and n from 1 to 1000. Both are rules for
    /// the same integral, so they agree to the quadratures' error: below
    /// 1e-9 for erf and linear units, and for ReLU at n ≥ 10 (measured:
    /// 1e-13), whose t-average is closed form here. At n ≤ 3 the law of t
    /// (or t = ±1 itself) leaves φ a kink in (ξ, ρ) that the Gauss rules
    /// of (ξ, ρ) integrate at algebraic order (measured 1.4e-5 at 40
    /// nodes, 7e-7 at 160): 3e-5.
    #[test]
    fn the_unit_average_reproduces_the_kernel() {
        let s = 0.9;
        for act in [
            Activation::Erf,
            Activation::Linear,
            Activation::Relu,
            Activation::Hermite(2),
            Activation::Hermite(3),
        ] {
            let kern = Kernel::new(act, s);
            for (d, k) in [(2, 1), (3, 1), (4, 2), (40, 0), (41, 1), (1000, 1)] {
                let red = Reduction::new(Reduced { dim: d, k }, 48);
                let quad = red.quadrature(s, 40, 40);
                let w1 = [0.7, -0.4, 1.1];
                let w2 = [-0.3, 0.9, 0.6];
                let (w1, w2) = (
                    [&w1[..k], &[0.8][..]].concat(),
                    [&w2[..k], &[1.3][..]].concat(),
                );
                let via_phi: f64 = (0..quad.len())
                    .map(|q| {
                        let x = quad.node(q);
                        quad.weights[q] * red.unit(act, &w1, x) * red.unit(act, &w2, x)
                    })
                    .sum();
                let via_kappa = kern.kbar(&red.cosine, &w1[..k], w1[k], &w2[..k], w2[k]);
                let tol = if act == Activation::Relu && d - k < 10 {
                    3e-5
                } else {
                    1e-9
                };
                assert!(
                    (via_phi - via_kappa).abs() < tol * (1.0 + via_kappa.abs()),
                    "{act:?} d {d} k {k}: φ route {via_phi} vs κ route {via_kappa}"
                );
            }
        }
    }

    /// ∂φ/∂w_i against central differences of φ (tanh through the rule,
    /// ReLU through its closed form at n = 2, 10 and 998).
    #[test]
    fn the_unit_gradient_is_the_derivative_of_the_unit() {
        for (act, d) in [
            (Activation::Tanh, 12),
            (Activation::Relu, 4),
            (Activation::Relu, 12),
            (Activation::Relu, 1000),
            (Activation::MmnRamp, 40),
        ] {
            let red = Reduction::new(Reduced { dim: d, k: 2 }, 16);
            let (w, x) = ([0.3, -0.8, 0.9], [1.1, 0.4, 1.5]);
            for i in 0..3 {
                let h = 1e-6;
                let (mut a, mut b) = (w, w);
                a[i] += h;
                b[i] -= h;
                let fd = (red.unit(act, &a, &x) - red.unit(act, &b, &x)) / (2.0 * h);
                let got = red.dunit(act, &w, &x, i);
                assert!(
                    (fd - got).abs() < 1e-8,
                    "{act:?} d {d} axis {i}: {got} vs {fd}"
                );
            }
        }
    }

    /// A run of points gives the bits of one point at a time (φ and each
    /// ∂φ/∂w_i), across the run's blocks and its remainder, for units
    /// through the rule and in closed form, compiled for every SIMD
    /// variant of this CPU.
    #[test]
    fn a_run_gives_the_bits_of_one_point_at_a_time() {
        let points: Vec<f64> = (0..150 * 3)
            .map(|i| ((i * 37) % 101) as f64 / 25.0 - 2.0)
            .map(|v: f64| v.abs().max(1e-3).copysign(v))
            .collect();
        for act in [
            Activation::Erf,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Relu,
        ] {
            let red = Reduction::new(Reduced { dim: 30, k: 2 }, 16);
            let x = [0.7, -1.3, 5.2];
            for i in [None, Some(0), Some(1), Some(2)] {
                let one: Vec<u64> = points
                    .chunks_exact(3)
                    .map(|w| match i {
                        None => red.unit(act, w, &x),
                        Some(i) => red.dunit(act, w, &x, i),
                    })
                    .map(f64::to_bits)
                    .collect();
                for simd in crate::simd::Simd::all_available() {
                    let mut out = vec![0.0; 150];
                    crate::simd_run!(simd, { red.run(act, i, &x, &points, &mut out) });
                    let run: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
                    assert!(run == one, "{act:?} {i:?} {simd:?}");
                }
            }
        }
    }

    /// The closed-form ReLU average against a fine cosine rule of the
    /// smooth side (t > t₀ only: no kink inside the rule's interval) —
    /// here by brute force, a 20 000-point midpoint sum of the density.
    #[test]
    fn the_relu_average_is_the_integral() {
        for d in [3usize, 4, 7, 50] {
            let red = Reduction::new(Reduced { dim: d, k: 0 }, 8);
            let n = d as f64;
            for (c, b) in [(0.3, 1.2), (-0.5, 0.9), (0.1, 0.05), (-2.0, 1.0)] {
                let steps = 20_000;
                let (mut num, mut den) = (0.0, 0.0);
                for i in 0..steps {
                    let t = -1.0 + (i as f64 + 0.5) * 2.0 / steps as f64;
                    let dens = (1.0 - t * t).powf((n - 3.0) / 2.0);
                    num += dens * (c + b * t).max(0.0);
                    den += dens;
                }
                let got = red.relu_average(c, b).0;
                // the midpoint sum's error: O(steps⁻²) on the smooth parts,
                // O(steps⁻²) at the kink too (one cell of a C⁰ integrand)
                assert!(
                    (got - num / den).abs() < 1e-7,
                    "d {d} ({c}, {b}): {got} vs {}",
                    num / den
                );
            }
        }
    }
}
