//! **Initial measures ρ0** and their exact cell averages: products of
//! one-dimensional cell masses (erf differences for Gaussians, overlaps for
//! boxes), never the density sampled at the centre.

use crate::grid::Grid;
use crate::model::special::gamma_pq;

/// A product Gaussian N(mean, diag(std²)).
#[derive(Debug, Clone)]
pub struct Gaussian {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// One axis of a [`InitialLaw::Product`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AxisLaw {
    /// N(mean, std²).
    Normal { mean: f64, std: f64 },
    /// Uniform on [lo, hi].
    Uniform { lo: f64, hi: f64 },
}

impl AxisLaw {
    /// P(a ≤ X ≤ b).
    pub fn interval(self, a: f64, b: f64) -> f64 {
        match self {
            AxisLaw::Normal { mean, std } => gaussian_interval(mean, std, a, b),
            AxisLaw::Uniform { lo, hi } => (b.min(hi) - a.max(lo)).max(0.0) / (hi - lo),
        }
    }

    /// The standard deviation.
    pub fn spread(self) -> f64 {
        match self {
            AxisLaw::Normal { std, .. } => std,
            AxisLaw::Uniform { lo, hi } => (hi - lo) / 12f64.sqrt(),
        }
    }
}

/// An initial law on phase space.
#[derive(Debug, Clone)]
pub enum InitialLaw {
    /// Product Gaussian.
    Gaussian(Gaussian),
    /// Uniform on Π [lo_k, hi_k].
    Uniform { lo: Vec<f64>, hi: Vec<f64> },
    /// Σ_c weight_c N(mean_c, diag(std_c²)), weights summing to 1.
    Mixture(Vec<(f64, Gaussian)>),
    /// A reduced problem's law of (a, p, r) from a ~ N, w ~ N(U m_p, s_w² I_d)
    /// (docs/model.md §6): the product Gaussian `head` on every axis but the last
    /// (a, p), and r = s_w χ_n on the last.
    Isotropic {
        head: Gaussian,
        w_std: f64,
        n: usize,
    },
    /// Independent axes, each Gaussian or uniform (e.g. Rotskoff's c ~ N(0, 1),
    /// y ~ U(−2, 2)).
    Product(Vec<AxisLaw>),
}

/// P(lo ≤ R ≤ hi) for R = s χ_n (the radius of N(0, s² Iₙ)): differences of
/// P(n/2, r²/2s²), or of Q in the upper tail.
pub fn chi_interval(n: usize, s: f64, lo: f64, hi: f64) -> f64 {
    let a = n as f64 / 2.0;
    let u = |r: f64| if r <= 0.0 { 0.0 } else { r * r / (2.0 * s * s) };
    let (plo, qlo) = gamma_pq(a, u(lo));
    let (phi, qhi) = gamma_pq(a, u(hi));
    if plo > 0.5 {
        (qlo - qhi).max(0.0)
    } else {
        (phi - plo).max(0.0)
    }
}

/// Var χ_n = n − 2 Γ((n+1)/2)² / Γ(n/2)²: from log-gamma up to n = 200
/// (there its round-off, about n·1e-16·ln Γ, is below 1e-11), and above
/// from ln Γ(x + ½) − ln Γ(x) = ½ ln x − 1/(8x) + 1/(192x³) − 1/(640x⁵) +
/// O(x⁻⁷), x = n/2, as −2x expm1(2(…)), which keeps its digits as n grows.
pub fn chi_variance(n: usize) -> f64 {
    let nf = n as f64;
    if n <= 200 {
        let ratio = (libm::lgamma((nf + 1.0) / 2.0) - libm::lgamma(nf / 2.0)).exp();
        return (nf - 2.0 * ratio * ratio).max(0.0);
    }
    let x = nf / 2.0;
    let l = -1.0 / (8.0 * x) + 1.0 / (192.0 * x.powi(3)) - 1.0 / (640.0 * x.powi(5));
    -2.0 * x * (2.0 * l).exp_m1()
}

/// P(lo ≤ X ≤ hi) for X ~ N(m, s²).
pub fn gaussian_interval(m: f64, s: f64, lo: f64, hi: f64) -> f64 {
    let z = |x: f64| (x - m) / (s * std::f64::consts::SQRT_2);
    // erfc differences keep accuracy in the tails
    let (a, b) = (z(lo), z(hi));
    if a > 0.0 {
        0.5 * (libm::erfc(a) - libm::erfc(b))
    } else if b < 0.0 {
        0.5 * (libm::erfc(-b) - libm::erfc(-a))
    } else {
        0.5 * (libm::erf(b) - libm::erf(a))
    }
}

impl Gaussian {
    /// Cell masses along each axis (those of `mean`'s length; the rest empty).
    fn axis_masses(&self, grid: &Grid) -> Vec<Vec<f64>> {
        (0..grid.dim())
            .map(|k| {
                (0..grid.n[k])
                    .filter(|_| k < self.mean.len())
                    .map(|i| {
                        gaussian_interval(
                            self.mean[k],
                            self.std[k],
                            grid.face(k, i),
                            grid.face(k, i + 1),
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

/// Outer product of per-axis masses, added with weight `w` into `out`.
fn add_product(grid: &Grid, axis: &[Vec<f64>], w: f64, out: &mut [f64]) {
    let mut idx = vec![0; grid.dim()];
    for (flat, o) in out.iter_mut().enumerate() {
        grid.unravel(flat, &mut idx);
        let p: f64 = idx.iter().enumerate().map(|(k, &i)| axis[k][i]).product();
        *o += w * p;
    }
}

impl InitialLaw {
    /// The smallest standard deviation of the law along each of `dim` axes
    /// over its components (a mixture is as fine as its finest component):
    /// what the grid must resolve there ([`crate::grid::fit`]). Uniform:
    /// (hi − lo)/√12; r = s_w χ_n: s_w √(n − 2 Γ((n+1)/2)² / Γ(n/2)²).
    pub fn spreads(&self, dim: usize) -> Vec<f64> {
        let head = |g: &Gaussian| -> Vec<f64> {
            (0..dim)
                .map(|k| g.std.get(k).copied().unwrap_or(f64::INFINITY))
                .collect()
        };
        match self {
            InitialLaw::Gaussian(g) => head(g),
            InitialLaw::Mixture(cs) => cs.iter().fold(vec![f64::INFINITY; dim], |acc, (_, g)| {
                acc.iter().zip(head(g)).map(|(a, b)| a.min(b)).collect()
            }),
            InitialLaw::Uniform { lo, hi } => {
                (0..dim).map(|k| (hi[k] - lo[k]) / 12f64.sqrt()).collect()
            }
            InitialLaw::Product(axes) => axes.iter().map(|a| a.spread()).collect(),
            InitialLaw::Isotropic { head: g, w_std, n } => {
                let mut s = head(g);
                s[dim - 1] = w_std * chi_variance(*n).sqrt();
                s
            }
        }
    }

    /// The law on `grid` as a sum of products: each component's weight and
    /// its masses on the cells of every axis.
    fn components(&self, grid: &Grid) -> Vec<(f64, Vec<Vec<f64>>)> {
        let per_axis = |f: &dyn Fn(usize, f64, f64) -> f64| -> Vec<Vec<f64>> {
            (0..grid.dim())
                .map(|k| {
                    (0..grid.n[k])
                        .map(|i| f(k, grid.face(k, i), grid.face(k, i + 1)))
                        .collect()
                })
                .collect()
        };
        match self {
            InitialLaw::Gaussian(g) => vec![(1.0, g.axis_masses(grid))],
            InitialLaw::Mixture(cs) => cs.iter().map(|(w, g)| (*w, g.axis_masses(grid))).collect(),
            InitialLaw::Isotropic { head, w_std, n } => {
                let last = grid.dim() - 1;
                let mut axis = head.axis_masses(grid);
                axis[last] = (0..grid.n[last])
                    .map(|i| chi_interval(*n, *w_std, grid.face(last, i), grid.face(last, i + 1)))
                    .collect();
                vec![(1.0, axis)]
            }
            InitialLaw::Product(axes) => vec![(1.0, per_axis(&|k, a, b| axes[k].interval(a, b)))],
            InitialLaw::Uniform { lo, hi } => vec![(
                1.0,
                per_axis(&|k, a, b| (b.min(hi[k]) - a.max(lo[k])).max(0.0) / (hi[k] - lo[k])),
            )],
        }
    }

    /// Cell masses ∫_{C_i} ρ0 (their sum is the mass of ρ0 inside Ω, ≤ 1).
    pub fn cell_masses(&self, grid: &Grid) -> Vec<f64> {
        let mut out = vec![0.0; grid.len()];
        for (w, axis) in self.components(grid) {
            add_product(grid, &axis, w, &mut out);
        }
        out
    }

    /// The marginals of [`InitialLaw::cell_masses`] on each axis and their
    /// total (the mass of ρ0 inside Ω), from the axes' masses alone: no
    /// array of the grid's cells (equal to the cells' sums to round-off).
    pub fn marginal_masses(&self, grid: &Grid) -> (Vec<Vec<f64>>, f64) {
        let mut marginals: Vec<Vec<f64>> = grid.n.iter().map(|&n| vec![0.0; n]).collect();
        let mut total = 0.0;
        for (w, axis) in self.components(grid) {
            let sums: Vec<f64> = axis.iter().map(|a| a.iter().sum()).collect();
            total += w * sums.iter().product::<f64>();
            for (k, m) in marginals.iter_mut().enumerate() {
                let others: f64 = (0..sums.len())
                    .filter(|&j| j != k)
                    .map(|j| sums[j])
                    .product();
                for (m, a) in m.iter_mut().zip(&axis[k]) {
                    *m += w * a * others;
                }
            }
        }
        (marginals, total)
    }

    /// Cell averages of ρ0 restricted to Ω and renormalised to mass 1, and
    /// the mass of ρ0 that Ω holds before renormalisation.
    pub fn cell_averages(&self, grid: &Grid) -> (Vec<f64>, f64) {
        let m = self.cell_masses(grid);
        let inside: f64 = m.iter().sum();
        (averages(grid, m, inside), inside)
    }
}

/// Cell masses `m` on `grid` as cell averages of a law whose mass in the
/// whole box is `inside` (renormalised to 1): a slab's rows of ρ0 from the
/// whole grid's `inside` (its slabs' sums added), or the whole grid's.
pub fn averages(grid: &Grid, mut m: Vec<f64>, inside: f64) -> Vec<f64> {
    if grid.is_uniform() {
        let scale = 1.0 / (inside * grid.cell_volume());
        m.iter_mut().for_each(|v| *v *= scale);
    } else {
        for (i, v) in m.iter_mut().enumerate() {
            *v /= inside * grid.volume_at(i);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The marginals and the box mass from the axes' masses are those of
    /// the cells' masses summed, to round-off: each is a sum of at most
    /// 12·10·8 terms of at most 1, so within 960 ε; laws cut by the walls
    /// (mass in the box below 1), a mixture, a product of a uniform and
    /// Gaussian axes, and χ radii.
    #[test]
    fn marginal_masses_are_the_cells_marginals() {
        let grid = Grid::new(
            vec![-2.0, -2.5, 0.0],
            vec![3.0, 2.5, 3.0],
            vec![12, 10, 8],
            vec!["a".into(), "p".into(), "r".into()],
        );
        let g = |mean: [f64; 3], std: [f64; 3]| Gaussian {
            mean: mean.to_vec(),
            std: std.to_vec(),
        };
        let laws = [
            InitialLaw::Gaussian(g([0.3, -0.2, 1.0], [0.8, 1.6, 0.7])),
            InitialLaw::Mixture(vec![
                (0.3, g([-1.0, 0.0, 1.0], [0.5, 0.5, 0.5])),
                (0.7, g([1.0, 1.0, 2.0], [1.5, 0.4, 0.9])),
            ]),
            InitialLaw::Product(vec![
                AxisLaw::Uniform { lo: -1.0, hi: 4.0 },
                AxisLaw::Normal {
                    mean: 0.0,
                    std: 1.0,
                },
                AxisLaw::Normal {
                    mean: 1.5,
                    std: 2.0,
                },
            ]),
            InitialLaw::Isotropic {
                head: g([0.0, 0.5, 0.0], [1.0, 0.7, 1.0]),
                w_std: 0.6,
                n: 5,
            },
        ];
        let bound = 960.0 * f64::EPSILON;
        for law in laws {
            let cells = law.cell_masses(&grid);
            let (marginals, total) = law.marginal_masses(&grid);
            let sum: f64 = cells.iter().sum();
            assert!(
                sum < 0.999 && (total - sum).abs() <= bound,
                "{law:?}: {total} vs {sum}"
            );
            let mut idx = [0; 3];
            let mut want: Vec<Vec<f64>> = grid.n.iter().map(|&n| vec![0.0; n]).collect();
            for (flat, m) in cells.iter().enumerate() {
                grid.unravel(flat, &mut idx);
                for k in 0..3 {
                    want[k][idx[k]] += m;
                }
            }
            for (k, (m, w)) in marginals.iter().zip(&want).enumerate() {
                for (i, (a, b)) in m.iter().zip(w).enumerate() {
                    assert!(
                        (a - b).abs() <= bound,
                        "{law:?}: axis {k} cell {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// A product of Gaussian axes is the product Gaussian, and of uniform
    /// axes the uniform law, to the bit (the same per-axis masses); a mixed
    /// product's marginals are its axes' laws.
    #[test]
    fn a_product_law_is_its_axes() {
        let grid = Grid::new(
            vec![-3.0, -2.5],
            vec![3.0, 2.5],
            vec![12, 10],
            vec!["c".into(), "y".into()],
        );
        let prod = InitialLaw::Product(vec![
            AxisLaw::Normal {
                mean: 0.3,
                std: 0.8,
            },
            AxisLaw::Normal {
                mean: -0.2,
                std: 0.6,
            },
        ]);
        let gauss = InitialLaw::Gaussian(Gaussian {
            mean: vec![0.3, -0.2],
            std: vec![0.8, 0.6],
        });
        assert_eq!(prod.cell_masses(&grid), gauss.cell_masses(&grid));
        let (lo, hi) = (vec![-1.0, -2.0], vec![2.0, 0.5]);
        let prod = InitialLaw::Product(vec![
            AxisLaw::Uniform {
                lo: lo[0],
                hi: hi[0],
            },
            AxisLaw::Uniform {
                lo: lo[1],
                hi: hi[1],
            },
        ]);
        let unif = InitialLaw::Uniform { lo, hi };
        assert_eq!(prod.cell_masses(&grid), unif.cell_masses(&grid));
        // mixed: the y marginal is U(−2, 2) cut to the cells
        let mixed = InitialLaw::Product(vec![
            AxisLaw::Normal {
                mean: 0.0,
                std: 1.0,
            },
            AxisLaw::Uniform { lo: -2.0, hi: 2.0 },
        ]);
        let m = mixed.cell_masses(&grid);
        for j in 0..10 {
            let col: f64 = (0..12).map(|i| m[i * 10 + j]).sum();
            let want = gaussian_interval(0.0, 1.0, -3.0, 3.0)
                * AxisLaw::Uniform { lo: -2.0, hi: 2.0 }
                    .interval(grid.face(1, j), grid.face(1, j + 1));
            assert!((col - want).abs() < 1e-15, "{j}: {col} vs {want}");
        }
        assert_eq!(mixed.spreads(2), vec![1.0, 4.0 / 12f64.sqrt()]);
    }

    #[test]
    fn spreads_are_the_laws_standard_deviations() {
        // r = χ_1 = |N(0, 1)|: std √(1 − 2/π); χ_n → 1/√2 as n grows;
        // a mixture is as fine as its finest component
        let chi = |n: usize| {
            InitialLaw::Isotropic {
                head: Gaussian {
                    mean: vec![0.0],
                    std: vec![0.5],
                },
                w_std: 1.0,
                n,
            }
            .spreads(2)
        };
        let s1 = chi(1);
        assert_eq!(s1[0], 0.5);
        assert!((s1[1] - (1.0 - 2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-14);
        // Var χ_n = 1/2 − 1/(8n) + 1/(16n²) + O(n⁻³)
        let s = chi(10_000)[1];
        assert!((s * s - (0.5 - 1.0 / 80_000.0)).abs() < 1e-9, "{s}");
        // against mpmath at 40 digits (2x − 2 exp(2(lnΓ(x+½) − lnΓ(x)))):
        // the series' next term, 17/(14336 x⁷)·4x, is below 1e-16 at x = 100.5,
        // log-gamma's round-off (n = 200) about n·1e-16·ln Γ(100) ≈ 1e-11
        assert!((chi_variance(201) - 0.499_376_567_326_502_95).abs() < 1e-14);
        assert!((chi_variance(2000) - 0.499_937_484_379_888_43).abs() < 1e-14);
        assert!((chi_variance(200) - 0.499_373_442_438_798_6).abs() < 1e-10);
        let mix = InitialLaw::Mixture(vec![
            (
                0.5,
                Gaussian {
                    mean: vec![0.0, 0.0],
                    std: vec![1.0, 0.1],
                },
            ),
            (
                0.5,
                Gaussian {
                    mean: vec![1.0, 0.0],
                    std: vec![0.3, 2.0],
                },
            ),
        ]);
        assert_eq!(mix.spreads(2), vec![0.3, 0.1]);
        let u = InitialLaw::Uniform {
            lo: vec![0.0],
            hi: vec![12f64.sqrt()],
        };
        assert!((u.spreads(1)[0] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn gaussian_cell_masses_are_exact_and_sum_to_the_box_mass() {
        let g = Grid::new(vec![-3.0, -1.0], vec![3.0, 5.0], vec![12, 6], vec![]);
        let law = InitialLaw::Gaussian(Gaussian {
            mean: vec![0.5, 2.0],
            std: vec![1.0, 0.7],
        });
        let m = law.cell_masses(&g);
        let total: f64 = m.iter().sum();
        let want = gaussian_interval(0.5, 1.0, -3.0, 3.0) * gaussian_interval(2.0, 0.7, -1.0, 5.0);
        assert!((total - want).abs() < 1e-14);
        // one cell by brute-force midpoint integration
        let (i, j) = (7, 3);
        let f = |x: f64, y: f64| {
            (-(x - 0.5f64).powi(2) / 2.0 - (y - 2.0f64).powi(2) / (2.0 * 0.49)).exp()
                / (2.0 * std::f64::consts::PI * 0.7)
        };
        let k = 400;
        let (x0, y0) = (g.face(0, i), g.face(1, j));
        let (hx, hy) = (g.h[0] / k as f64, g.h[1] / k as f64);
        let mut s = 0.0;
        for a in 0..k {
            for b in 0..k {
                s += f(x0 + (a as f64 + 0.5) * hx, y0 + (b as f64 + 0.5) * hy) * hx * hy;
            }
        }
        assert!(
            (m[i * 6 + j] - s).abs() < 2e-6 * s,
            "{} vs {s}",
            m[i * 6 + j]
        );
    }

    /// A χ law's box mass: all of it in [0, ∞), half below the median.
    #[test]
    fn chi_intervals_hold_the_chi_law() {
        assert!((chi_interval(1000, 0.03, 0.0, 1e3) - 1.0).abs() < 1e-13);
        // Wilson–Hilferty's median of χ²_n, n(1 − 2/9n)³ (error O(n^{-3/2})
        // in probability, far below 1e-3 at n = 1000)
        let med: f64 = 0.03 * (1000.0f64 * (1.0 - 2.0 / 9000.0f64).powi(3)).sqrt();
        assert!((chi_interval(1000, 0.03, 0.0, med) - 0.5).abs() < 1e-3);
    }

    #[test]
    fn tails_use_erfc() {
        let p = gaussian_interval(0.0, 1.0, 9.0, 10.0);
        assert!(p > 1e-20 && p < 1.2e-19, "{p}");
    }
}
