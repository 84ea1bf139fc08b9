//! **Gaussian RBF units** (docs/model.md §7, Rotskoff–Vanden-Eijnden):
//! φ(x; y) = (2π s)^{−d/2} exp(−|x − y|²/(2s)), a bump of variance s centred
//! at y, with output weight c, under Lebesgue measure on ℝ^d (or a box).
//!
//! The solver takes E_x as a quadrature like every other law
//! ([`super::Quadrature::lebesgue`]); the closed forms here, for a target of
//! Gaussian bumps f* = Σ_k b_k N(x; y_k, s_k),
//!
//! ```text
//! F(y)    = ∫ f* φ(·; y)      = Σ_k b_k N(y − y_k; 0, s_k + s)
//! K(y, z) = ∫ φ(·; y) φ(·; z) = N(y − z; 0, 2s)
//! ½∫f*²   = ½ Σ_{k,l} b_k b_l N(y_k − y_l; 0, s_k + s_l)
//! ```
//!
//! are what it is checked against, and what chooses the quadrature's
//! interval on the whole line ([`whole_line_box`]).

/// N(z; 0, v I) in `d` dimensions, from |z|².
#[inline]
pub fn normal_density(z_sq: f64, v: f64, d: usize) -> f64 {
    (2.0 * std::f64::consts::PI * v).powf(-0.5 * d as f64) * (-0.5 * z_sq / v).exp()
}

fn dist_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The unit φ(x; y) of variance s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rbf {
    /// s > 0: the bump's variance (`model.width`).
    pub variance: f64,
}

impl Rbf {
    /// (2π s)^{−d/2}, φ's peak in `d` dimensions.
    #[inline]
    pub fn peak(self, d: usize) -> f64 {
        (2.0 * std::f64::consts::PI * self.variance).powf(-0.5 * d as f64)
    }

    /// φ(x; y).
    #[inline]
    pub fn phi(self, y: &[f64], x: &[f64]) -> f64 {
        normal_density(dist_sq(x, y), self.variance, x.len())
    }

    /// ∂φ(x; y)/∂y_k = φ (x_k − y_k)/s.
    #[inline]
    pub fn dphi(self, y: &[f64], x: &[f64], k: usize) -> f64 {
        self.phi(y, x) * (x[k] - y[k]) / self.variance
    }

    /// K(y, z) = ∫ φ(x; y) φ(x; z) dx = N(y − z; 0, 2s) on the whole space.
    pub fn k(self, y: &[f64], z: &[f64]) -> f64 {
        normal_density(dist_sq(y, z), 2.0 * self.variance, y.len())
    }

    /// F(y) = ∫ f*(x) φ(x; y) dx = Σ_k b_k N(y − y_k; 0, s_k + s) for f* of
    /// `bumps`, on the whole space.
    pub fn f_star_moment(self, bumps: &[Bump], y: &[f64]) -> f64 {
        bumps
            .iter()
            .map(|b| {
                b.weight
                    * normal_density(dist_sq(y, &b.centre), b.variance + self.variance, y.len())
            })
            .sum()
    }
}

/// One Gaussian bump b N(x; y, v I) of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct Bump {
    pub weight: f64,
    pub centre: Vec<f64>,
    pub variance: f64,
}

/// f*(x) = Σ_k b_k N(x; y_k, s_k).
pub fn bumps_at(bumps: &[Bump], x: &[f64]) -> f64 {
    bumps
        .iter()
        .map(|b| b.weight * normal_density(dist_sq(x, &b.centre), b.variance, x.len()))
        .sum()
}

/// ½∫f*² = ½ Σ_{k,l} b_k b_l N(y_k − y_l; 0, s_k + s_l) on the whole space.
pub fn half_norm_sq(bumps: &[Bump]) -> f64 {
    let mut s = 0.0;
    for a in bumps {
        for b in bumps {
            s += a.weight
                * b.weight
                * normal_density(
                    dist_sq(&a.centre, &b.centre),
                    a.variance + b.variance,
                    a.centre.len(),
                );
        }
    }
    0.5 * s
}

/// The decay, in units of the exponent, at which the whole line is cut:
/// every integrand of R, g and ∇g carries a factor φ(x; y) with y in the
/// grid's box (or a bump of f*), and beyond the margin √(2 v T) of every
/// such centre that factor is below e^{−T} of its peak: e^{−40} = 4e-18,
/// under the round-off of a sum of order-one terms.
pub const WHOLE_LINE_DECAY: f64 = 40.0;

/// The box [lo − δ, hi + δ] per axis that holds ∫ over ℝ^d to
/// e^{−[`WHOLE_LINE_DECAY`]}: `lo`/`hi` span the centres (the grid's y box and
/// the target's bumps), δ = √(2 v_max T) with v_max the widest variance.
pub fn whole_line_box(lo: &[f64], hi: &[f64], v_max: f64) -> (Vec<f64>, Vec<f64>) {
    let delta = (2.0 * v_max * WHOLE_LINE_DECAY).sqrt();
    (
        lo.iter().map(|l| l - delta).collect(),
        hi.iter().map(|h| h + delta).collect(),
    )
}

/// Gauss–Legendre nodes per axis that integrate the products of two bumps
/// of variance ≥ `v_min` over an interval of length `len` to round-off: the
/// product has standard deviation σ = √(v_min/2), and 2 nodes per σ plus 16
/// resolve it (tested against the closed forms: below 1e-14 with this
/// count, above 1e-9 with half of it).
pub fn nodes_for(len: f64, v_min: f64) -> usize {
    let sigma = (0.5 * v_min).sqrt();
    (2.0 * len / sigma).ceil() as usize + 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Quadrature;

    /// The notebook's target (docs/model.md §7).
    pub fn rotskoff() -> Vec<Bump> {
        [(-2.0, 0.5, 1.0), (0.0, 1.0, -2.0), (2.0, 0.5, 1.0)]
            .iter()
            .map(|&(y, v, b)| Bump {
                weight: b / 3.0,
                centre: vec![y],
                variance: v,
            })
            .collect()
    }

    /// F, K and ½∫f*² in closed form against Gauss–Legendre on the box
    /// [`whole_line_box`] with [`nodes_for`] nodes: to 1e-14 (the cut is
    /// e^{−40} ≈ 4e-18 of a peak; the rule is exact to round-off). Half the
    /// nodes leave an error above 1e-9: the count is not loose by much.
    #[test]
    fn closed_forms_match_a_fine_quadrature_on_the_line() {
        let bumps = rotskoff();
        let unit = Rbf { variance: 0.5 };
        assert!((half_norm_sq(&bumps) - 0.068868).abs() < 5e-7);
        let (lo, hi) = whole_line_box(&[-4.0], &[4.0], 1.0);
        let n = nodes_for(hi[0] - lo[0], 0.5);
        let check = |n: usize| -> f64 {
            let q = Quadrature::lebesgue(&lo, &hi, n);
            let int = |f: &dyn Fn(&[f64]) -> f64| -> f64 {
                (0..q.len()).map(|i| q.weights[i] * f(q.node(i))).sum()
            };
            let mut err: f64 =
                (0.5 * int(&|x| bumps_at(&bumps, x).powi(2)) - half_norm_sq(&bumps)).abs();
            for y in [-4.0, -1.3, 0.0, 2.2, 4.0] {
                let f = int(&|x| bumps_at(&bumps, x) * unit.phi(&[y], x));
                err = err.max((f - unit.f_star_moment(&bumps, &[y])).abs());
                for z in [-3.7, 0.4, 3.9] {
                    let k = int(&|x| unit.phi(&[y], x) * unit.phi(&[z], x));
                    err = err.max((k - unit.k(&[y], &[z])).abs());
                }
            }
            err
        };
        let e = check(n);
        assert!(e < 1e-14, "{n} nodes: {e:e}");
        assert!(check(n / 2) > 1e-9, "half the nodes should not suffice");
    }

    /// ∂φ/∂y_k against central differences, in 2-D.
    #[test]
    fn the_derivative_is_the_gradient_in_y() {
        let u = Rbf { variance: 0.7 };
        let (y, x) = ([0.3, -0.5], [1.1, 0.2]);
        let h = 1e-6;
        for k in 0..2 {
            let (mut p, mut m) = (y, y);
            p[k] += h;
            m[k] -= h;
            let fd = (u.phi(&p, &x) - u.phi(&m, &x)) / (2.0 * h);
            assert!((fd - u.dphi(&y, &x, k)).abs() < 1e-9);
        }
        assert!((u.phi(&y, &y) - u.peak(2)).abs() < 1e-16);
    }
}
