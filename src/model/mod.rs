//! **The two-layer network model** of docs/model.md §1–2: activation, data law and
//! quadrature, target f*, and [`MeanField`], the one home of f, R, F, Ψ and V.

pub mod activation;
pub mod data;
pub mod expr;
pub mod kernel;
pub mod mean_field;
pub mod rbf;
pub mod special;
pub mod symmetry;

pub use activation::Activation;
pub use data::{DataLaw, DataSet, Quadrature};
pub use mean_field::{Drift, MeanField, Tables};
pub use rbf::{Bump, Rbf};
pub use symmetry::{Reduced, Reduction};

use crate::error::{Error, Result};
use expr::Expr;

/// The network's fixed structure: σ, bias, output weights, input dimension.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    pub activation: Activation,
    /// x̃ = (x, 1) when true.
    pub bias: bool,
    /// `None` when a is trained (axis 0 of phase space), `Some(a0)` when frozen.
    pub frozen_a: Option<f64>,
    /// d_x: the length of an input as the model sees it; for a reduced
    /// problem, x̄ = (Uᵀx, |x⊥|) of length k + 1 (docs/model.md §6).
    pub dim_x: usize,
    /// The symmetry reduction's sizes (d, k), when the problem is reduced:
    /// phase space is then (a, p_1, …, p_k, r).
    pub reduced: Option<Reduced>,
    /// `Some`: the units are the Gaussian bumps φ(x; w) of docs/model.md §7
    /// (w = y their centres, no bias), and `activation` is not used.
    pub rbf: Option<Rbf>,
}

impl Network {
    /// d_w = d_x + [bias].
    pub fn dim_w(&self) -> usize {
        self.dim_x + usize::from(self.bias)
    }

    /// The first w axis of phase space, the offset of w in θ: 1 when a is
    /// trained (axis 0), 0 when it is frozen.
    pub fn w_axis(&self) -> usize {
        usize::from(self.frozen_a.is_none())
    }

    /// Phase-space dimension D = 1 + d_w (trained a) or d_w (frozen a).
    pub fn dim_theta(&self) -> usize {
        self.dim_w() + self.w_axis()
    }

    /// The unit at an augmented input x̃: σ(w·x̃), or φ(x; w) for RBF units.
    #[inline]
    pub fn unit(&self, w: &[f64], xt: &[f64]) -> f64 {
        match self.rbf {
            Some(u) => u.phi(w, xt),
            None => self.activation.sigma(dot(w, xt)),
        }
    }

    /// ∂/∂w_k of [`Network::unit`]: σ′(w·x̃) x̃_k, or ∂φ/∂y_k.
    #[inline]
    pub fn dunit(&self, w: &[f64], xt: &[f64], k: usize) -> f64 {
        match self.rbf {
            Some(u) => u.dphi(w, xt, k),
            None => self.activation.dsigma(dot(w, xt)) * xt[k],
        }
    }

    /// The unit as the vectorised loops pick it.
    pub fn kind(&self) -> UnitKind {
        match self.rbf {
            Some(u) => UnitKind::Rbf(u, self.dim_x),
            None => UnitKind::Ridge(self.activation),
        }
    }

    /// The unit's name as the problem file gives it: the activation, or
    /// `rbf`.
    pub fn unit_name(&self) -> &'static str {
        match self.rbf {
            Some(_) => "rbf",
            None => self.activation.name(),
        }
    }

    /// x̃ for an input x, written into `out` (length d_w).
    #[inline]
    pub fn augment(&self, x: &[f64], out: &mut [f64]) {
        out[..self.dim_x].copy_from_slice(x);
        if self.bias {
            out[self.dim_x] = 1.0;
        }
    }

    /// The names of the phase-space axes: `a`, `w1`, `w2`, … (docs/model.md §5);
    /// `a`, `p1`, …, `pk`, `r` for a reduced problem (§6); `c`, `y` (or `c`,
    /// `y1`, `y2`) for RBF units (§7).
    pub fn axis_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.rbf.is_some() {
            if self.frozen_a.is_none() {
                names.push("c".to_string());
            }
            match self.dim_x {
                1 => names.push("y".to_string()),
                d => names.extend((1..=d).map(|k| format!("y{k}"))),
            }
            return names;
        }
        if self.frozen_a.is_none() {
            names.push("a".to_string());
        }
        match self.reduced {
            Some(red) => {
                names.extend((1..=red.k).map(|k| format!("p{k}")));
                names.push("r".to_string());
            }
            None => names.extend((1..=self.dim_w()).map(|k| format!("w{k}"))),
        }
        names
    }
}

/// The hidden unit: σ(w·x̃), or the Gaussian bump φ(x; y) (docs/model.md §7).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnitKind {
    Ridge(Activation),
    /// The bump and d_x.
    Rbf(Rbf, usize),
}

/// The target f*.
#[derive(Debug, Clone)]
pub enum Target {
    /// f*(x) = (1/k) Σ_i a*_i σ(w*_i · x̃), rows (a*, w*).
    Teacher(Vec<Vec<f64>>),
    /// f*(x) = Σ_k b_k N(x; y_k, s_k) ([`rbf::Bump`]).
    Bumps(Vec<Bump>),
    /// An expression in x0, x1, … ([`expr`]).
    Expression { text: String, expr: Box<Expr> },
    /// The labels of a data set (defined only at its samples).
    Labels(Vec<f64>),
}

impl Target {
    /// Parse an expression target in x0, …, x_{dim−1}.
    pub fn expression(text: &str, dim_x: usize) -> Result<Self> {
        Self::expression_in(text, &expr::Variables::plain(dim_x))
    }

    /// Parse an expression target in the variables `vars`.
    pub fn expression_in(text: &str, vars: &expr::Variables) -> Result<Self> {
        Ok(Target::Expression {
            text: text.to_string(),
            expr: Box::new(Expr::parse_in(text, vars)?),
        })
    }

    /// f*(x), or `None` for labels (defined only at the samples).
    pub fn eval(&self, net: &Network, x: &[f64]) -> Option<f64> {
        match self {
            Target::Teacher(units) => {
                // stack buffers: d_w ≤ 4 and d_x ≤ 3 (no allocation per sample)
                let mut xt = [0.0; 4];
                net.augment(x, &mut xt);
                let xt = &xt[..net.dim_w()];
                let s: f64 = units.iter().map(|u| u[0] * net.unit(&u[1..], xt)).sum();
                Some(s / units.len() as f64)
            }
            Target::Bumps(b) => Some(rbf::bumps_at(b, x)),
            Target::Expression { expr, .. } => Some(expr.eval(x)),
            Target::Labels(_) => None,
        }
    }

    /// f* at every node of the quadrature (labels: the labels themselves).
    pub fn at_nodes(&self, net: &Network, quad: &Quadrature) -> Result<Vec<f64>> {
        if let Target::Labels(y) = self {
            return Ok(y.clone());
        }
        (0..quad.len())
            .map(|q| {
                let x = quad.node(q);
                match self.eval(net, x) {
                    Some(v) if v.is_finite() => Ok(v),
                    _ => Err(Error::problem(
                        match self {
                            Target::Expression { .. } => "target.expression",
                            _ => "target",
                        },
                        format!("f*({x:?})"),
                        "a finite value at every quadrature node",
                    )),
                }
            })
            .collect()
    }
}

/// w · x̃.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net1() -> Network {
        Network {
            activation: Activation::Tanh,
            bias: true,
            frozen_a: None,
            dim_x: 2,
            reduced: None,
            rbf: None,
        }
    }

    #[test]
    fn expression_target_maps_variables_by_index() {
        let t = Target::expression("x1 - 2*tanh(1.5*x0)", 2).unwrap();
        let v = t.eval(&net1(), &[0.3, 4.0]).unwrap();
        assert!((v - (4.0 - 2.0 * (0.45f64).tanh())).abs() < 1e-14);
        let e = Target::expression("x2 + 1", 2).unwrap_err();
        assert_eq!(e.field(), Some("target.expression"));
    }

    #[test]
    fn teacher_is_the_mean_of_its_units_with_bias() {
        let t = Target::Teacher(vec![vec![2.0, 1.0, 0.0, 0.5], vec![-1.0, 0.0, 1.0, 0.0]]);
        let v = t.eval(&net1(), &[0.2, 0.7]).unwrap();
        let want = 0.5 * (2.0 * (0.2f64 + 0.5).tanh() - (0.7f64).tanh());
        assert!((v - want).abs() < 1e-14);
        assert_eq!(net1().axis_names(), vec!["a", "w1", "w2", "w3"]);
        assert_eq!(net1().dim_theta(), 4);
    }
}
