//! **The mean-field model of docs/model.md §2**, the one home of its symbols:
//!
//! ```text
//! f_μ(x)  = ∫ a σ(w·x̃) μ(dθ)                      (MeanField::unit, MeanField::f_of)
//! r_μ(x)  = f_μ(x) − f*(x)                         (MeanField::weighted_residual: ω_q r_q)
//! R(μ)    = ½ E_x[r_μ²] + (λ/2) ∫|θ|² μ(dθ)         (data_risk + decay_risk = risk)
//! F_η(μ)  = R(μ) + (η/2) ∫ μ log μ dθ              (entropy_term, free_energy)
//! g_μ(w)  = E_x[σ(w·x̃) r_μ(x)]
//! Ψ(θ; μ) = a g_μ(w) + (λ/2)|θ|²                   (psi)
//! V(θ; μ) = −∇_θ Ψ = (−g_μ(w) − λa, −a ∇_w g_μ(w) − λw)   (Drift)
//! ```
//!
//! E_x is the problem's quadrature {(x_q, ω_q)}. For a reduced problem
//! (docs/model.md §6, [`super::symmetry`]) the unit σ(w·x̃) is the rotation
//! average φ(p, r; ξ, ρ), x_q are nodes of (Uᵀx, |x⊥|), and the Itô drift
//! (η/2)(n − 1)/r on r is −∂_r U of U = −(η/2)(n − 1) ln r
//! ([`MeanField::ito_potential`]), which joins Ψ in the Gibbs state and
//! the F of the files: F = R + (η/2)(∫ρ̄ log ρ̄ − (n − 1)∫ρ̄ log r). How g and ∇_w g are
//! evaluated depends on the representation of μ (cell averages on a grid in
//! [`crate::velocity`], neurons in [`crate::particles`]); what is done with
//! them is defined here, once.

use super::{DataLaw, Network, Quadrature, Reduction, Target};
use crate::error::Result;

/// The network, the data (P, its quadrature, f*), weight decay λ and noise η.
#[derive(Debug, Clone)]
pub struct MeanField {
    pub net: Network,
    /// E_x as nodes x_q and weights ω_q.
    pub quad: Quadrature,
    /// P itself, for sampling batches (SGD).
    pub data_law: DataLaw,
    pub target: Target,
    /// f*(x_q) at the quadrature nodes.
    pub fstar: Vec<f64>,
    /// λ ≥ 0.
    pub weight_decay: f64,
    /// η ≥ 0.
    pub noise: f64,
    /// α ≥ 0: the rate of birth–death (docs/model.md §8), 0 without.
    pub birth_death: f64,
    /// The symmetry reduction, when the problem is reduced (docs/model.md §6).
    pub reduction: Option<Reduction>,
    /// How the velocity holds its tables of E_x (`solver.tables`,
    /// [`crate::velocity::table`]): how, not what, is computed.
    pub tables: Tables,
}

/// How the velocity holds its tables σ(w·x̃_q) (`solver.tables`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Tables {
    /// Stored whole: #nodes × #w points.
    #[default]
    Whole,
    /// In low rank where that is 2× smaller: every entry of each
    /// √ω-weighted table within `tol` of its largest (`solver.table_tol`).
    LowRank { tol: f64 },
    /// Not stored: evaluated in every contraction (the whole tables' bits).
    OnTheFly,
}

/// V(θ; μ) = −∇_θ Ψ(θ; μ) from g_μ(w) and ∇_w g_μ(w): the drift of every
/// representation of μ (grid faces, neurons). A `Copy` value, so the
/// vectorised particle loops take it by value.
#[derive(Debug, Clone, Copy)]
pub struct Drift {
    /// λ.
    pub weight_decay: f64,
    /// (η/2)(n − 1): the Itô drift's coefficient on r (0 unless reduced).
    pub ito: f64,
}

impl Drift {
    /// V_a = −g(w) − λ a.
    #[inline(always)]
    pub fn a(self, a: f64, g: f64) -> f64 {
        -g - self.weight_decay * a
    }

    /// V_{w_k} = −a ∂g/∂w_k − λ w_k.
    #[inline(always)]
    pub fn w(self, a: f64, dg: f64, w: f64) -> f64 {
        -a * dg - self.weight_decay * w
    }

    /// The Itô drift (η/2)(n − 1)/r of a reduced problem's r axis, 0 at
    /// r = 0 (a wall face carries no flux) and when n = 1 or η = 0.
    #[inline(always)]
    pub fn ito_at(self, r: f64) -> f64 {
        if self.ito != 0.0 && r > 0.0 {
            self.ito / r
        } else {
            0.0
        }
    }
}

impl MeanField {
    /// The model of a network on data P with quadrature `quad`, target f*,
    /// λ and η. Fails when f* is not finite at a node.
    pub fn new(
        net: Network,
        quad: Quadrature,
        data_law: DataLaw,
        target: Target,
        weight_decay: f64,
        noise: f64,
    ) -> Result<Self> {
        let fstar = target.at_nodes(&net, &quad)?;
        Ok(MeanField {
            net,
            quad,
            data_law,
            target,
            fstar,
            weight_decay,
            noise,
            birth_death: 0.0,
            reduction: None,
            tables: Tables::Whole,
        })
    }

    /// The same model posed on the reduced coordinates of docs/model.md §6: the
    /// quadrature must be one of x̄ = (Uᵀx, |x⊥|) ([`Reduction::quadrature`]).
    pub fn reduced(mut self, reduction: Reduction) -> Self {
        self.net.reduced = Some(reduction.sizes);
        self.reduction = Some(reduction);
        self
    }

    /// (η/2)(n − 1), the coefficient of the Itô drift on r (0 unless reduced).
    pub fn ito(&self) -> f64 {
        match &self.reduction {
            Some(r) => 0.5 * self.noise * (r.sizes.n() as f64 - 1.0),
            None => 0.0,
        }
    }

    /// U(r) = −(η/2)(n − 1) ln r: V_r's Itô term is −∂_r U, the Gibbs state
    /// is ∝ exp(−2(Ψ + U)/η) = r^{n−1} e^{−2Ψ/η}. 0 unless reduced.
    #[inline]
    pub fn ito_potential(&self, r: f64) -> f64 {
        let c = self.ito();
        if c == 0.0 {
            0.0
        } else {
            -c * r.ln()
        }
    }

    /// The unit at an augmented input x̃: σ(w·x̃), φ(w; x̄) when reduced, or
    /// the bump φ(x; y) of RBF units (docs/model.md §7).
    #[inline]
    pub fn unit_xt(&self, w: &[f64], xt: &[f64]) -> f64 {
        match &self.reduction {
            Some(red) => red.unit(self.net.activation, w, xt),
            None => self.net.unit(w, xt),
        }
    }

    /// ∂/∂w_k of [`MeanField::unit_xt`]: σ′(w·x̃) x̃_k, or ∂φ/∂w_k.
    #[inline]
    pub fn dunit_xt(&self, w: &[f64], xt: &[f64], k: usize) -> f64 {
        match &self.reduction {
            Some(red) => red.dunit(self.net.activation, w, xt, k),
            None => self.net.dunit(w, xt, k),
        }
    }

    /// The phase-space dimension D.
    pub fn dim(&self) -> usize {
        self.net.dim_theta()
    }

    /// The unit σ(w·x̃) at an input x (not augmented).
    pub fn unit(&self, w: &[f64], x: &[f64]) -> f64 {
        let mut xt = [0.0; 8];
        let dw = self.net.dim_w();
        self.net.augment(x, &mut xt[..dw]);
        self.unit_xt(w, &xt[..dw])
    }

    /// f_μ(x) = Σ_i c_i σ(w_i·x̃) for a measure given as atoms (c_i, w_i),
    /// c_i the first moment in a of atom i (its mass times a, or times a0).
    pub fn f_of<'a>(&self, x: &[f64], atoms: impl Iterator<Item = (f64, &'a [f64])>) -> f64 {
        atoms.map(|(c, w)| c * self.unit(w, x)).sum()
    }

    /// ω_q r_q = ω_q (f(x_q) − f*(x_q)) at node q, given f(x_q).
    #[inline]
    pub fn weighted_residual(&self, q: usize, f: f64) -> f64 {
        Self::weighted_residual_of(self.quad.weights[q], f, self.fstar[q])
    }

    /// ω r = ω (f − y) at a sample of weight ω and target y (a batch's
    /// samples have ω = 1/B).
    #[inline]
    pub fn weighted_residual_of(weight: f64, f: f64, y: f64) -> f64 {
        weight * (f - y)
    }

    /// The data part of R: ½ E_x[(f − f*)²] = ½ Σ_q ω_q r_q², from f at the nodes.
    pub fn data_risk(&self, f_nodes: &[f64]) -> f64 {
        0.5 * f_nodes
            .iter()
            .zip(&self.fstar)
            .zip(&self.quad.weights)
            .map(|((f, y), w)| w * (f - y) * (f - y))
            .sum::<f64>()
    }

    /// The weight-decay part of R: (λ/2) ∫|θ|² μ(dθ), from ∫|θ|² μ(dθ).
    pub fn decay_risk(&self, second_moment: f64) -> f64 {
        0.5 * self.weight_decay * second_moment
    }

    /// R(μ) from f at the nodes and ∫|θ|² μ(dθ).
    pub fn risk(&self, f_nodes: &[f64], second_moment: f64) -> f64 {
        self.data_risk(f_nodes) + self.decay_risk(second_moment)
    }

    /// The entropy term (η/2) ∫ μ log μ, from ∫ μ log μ; for a reduced
    /// problem (η/2)(∫ρ̄ log ρ̄ − (n − 1)∫ρ̄ log r) (docs/model.md §6: the entropy
    /// relative to Lebesgue measure on ℝ^{1+d} up to the constant
    /// −log|S^{n−1}|), from both integrals (`mu_log_r` is unused otherwise).
    pub fn entropy_term(&self, mu_log_mu: f64, mu_log_r: f64) -> f64 {
        0.5 * self.noise * mu_log_mu - self.ito() * mu_log_r
    }

    /// F_η = R + (η/2) ∫ μ log μ, from R and the entropy term.
    pub fn free_energy(&self, risk: f64, entropy_term: f64) -> f64 {
        risk + entropy_term
    }

    /// Ψ(θ; μ) = δR/δμ(θ) = a g_μ(w) + (λ/2)|θ|², from a, g_μ(w) and |θ|².
    #[inline]
    pub fn psi(&self, a: f64, g: f64, theta_sq: f64) -> f64 {
        a * g + 0.5 * self.weight_decay * theta_sq
    }

    /// V = −∇_θ Ψ (see [`Drift`]).
    pub fn drift(&self) -> Drift {
        Drift {
            weight_decay: self.weight_decay,
            ito: self.ito(),
        }
    }

    /// f*(x) at any x (`None` for labels, defined only at the samples).
    pub fn target_at(&self, x: &[f64]) -> Option<f64> {
        self.target.eval(&self.net, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;

    fn model(lam: f64) -> MeanField {
        let net = Network {
            activation: Activation::Tanh,
            bias: true,
            frozen_a: None,
            dim_x: 1,
            reduced: None,
            rbf: None,
        };
        let quad = Quadrature::gaussian(1, 1.0, 12);
        let target = Target::Teacher(vec![vec![1.5, 0.8, -0.2]]);
        MeanField::new(net, quad, DataLaw::Gaussian { std: 1.0 }, target, lam, 0.3).unwrap()
    }

    /// Ψ's gradient is −V: central differences of θ ↦ a g(w) + (λ/2)|θ|²
    /// for a g(w) = E_x[σ(w·x̃) r(x)] with a frozen residual r.
    #[test]
    fn the_drift_is_minus_the_gradient_of_psi() {
        let m = model(0.7);
        let r: Vec<f64> = (0..m.quad.len())
            .map(|q| m.quad.node(q)[0].sin() - 0.2)
            .collect();
        let g = |w: &[f64]| -> f64 {
            (0..m.quad.len())
                .map(|q| m.quad.weights[q] * m.unit(w, m.quad.node(q)) * r[q])
                .sum()
        };
        let psi = |th: &[f64]| m.psi(th[0], g(&th[1..]), th.iter().map(|t| t * t).sum());
        let th = [0.4, -1.1, 0.6];
        let h = 1e-6;
        let grad = |k: usize| {
            let (mut p, mut q) = (th, th);
            p[k] += h;
            q[k] -= h;
            (psi(&p) - psi(&q)) / (2.0 * h)
        };
        let dg = |k: usize| {
            let (mut p, mut q) = ([th[1], th[2]], [th[1], th[2]]);
            p[k] += h;
            q[k] -= h;
            (g(&p) - g(&q)) / (2.0 * h)
        };
        let v = m.drift();
        assert!((v.a(th[0], g(&th[1..])) + grad(0)).abs() < 1e-8);
        for k in 0..2 {
            assert!((v.w(th[0], dg(k), th[1 + k]) + grad(1 + k)).abs() < 1e-8);
        }
    }

    /// R of two atoms against the definition, and F = R + (η/2)∫μ log μ.
    #[test]
    fn risk_and_free_energy_follow_the_definitions() {
        let m = model(0.5);
        let atoms = [(0.3, [1.0, 0.5]), (-0.2, [0.2, -1.0])];
        let f: Vec<f64> = (0..m.quad.len())
            .map(|q| m.f_of(m.quad.node(q), atoms.iter().map(|(c, w)| (*c, &w[..]))))
            .collect();
        let exact: f64 = (0..m.quad.len())
            .map(|q| {
                let x = m.quad.node(q)[0];
                let fx: f64 = atoms
                    .iter()
                    .map(|(c, w)| c * (w[0] * x + w[1]).tanh())
                    .sum();
                let y = 1.5 * (0.8 * x - 0.2f64).tanh();
                0.5 * m.quad.weights[q] * (fx - y).powi(2)
            })
            .sum();
        assert!((m.data_risk(&f) - exact).abs() < 1e-14);
        assert_eq!(m.risk(&f, 2.0), m.data_risk(&f) + 0.5);
        assert_eq!(m.free_energy(1.0, m.entropy_term(-2.0, 5.0)), 1.0 - 0.3);
        let c: f64 = (0..m.quad.len())
            .map(|q| m.weighted_residual(q, f[q]) * (f[q] - m.fstar[q]))
            .sum();
        assert!((0.5 * c - exact).abs() < 1e-14);
    }
}
