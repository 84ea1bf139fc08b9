//! **What is observed of the neurons** (docs/model.md §5): a snapshot's
//! diagnostics and how they are stored, their mean and covariance, and
//! their histogram on a grid.

use crate::grid::Grid;
use crate::io::store::{Dim, Record, Var, VarSpec};

/// What is stored at a particle snapshot.
#[derive(Debug, Clone, Default)]
pub struct ParticleDiagnostics {
    pub time: f64,
    /// R(μ^m) with the problem's quadrature, plus (λ/2)(1/m) Σ |θ_j|².
    pub risk: f64,
    /// The standard error of `risk` where it is estimated on samples (the
    /// d-dimensional network's own risk where κ has no closed form; from
    /// the samples themselves), 0 where it is exact.
    pub risk_se: f64,
    /// f_m at the problem's quadrature nodes.
    pub f_nodes: Vec<f64>,
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
    /// f_m at the evaluation points.
    pub f_values: Vec<f64>,
    /// Steps taken (the noise streams' position) and the SGD batch
    /// stream's word position: with θ, what continues the run exactly.
    pub steps: u64,
    pub batch_word: u128,
    /// The histogram H on the problem's grid and the fraction of neurons
    /// outside its box ([`histogram`], taken once per snapshot by
    /// [`super::observe`]).
    pub histogram: Vec<f64>,
    pub outside: f64,
}

/// A particle snapshot as it is stored in `/particles`: the diagnostics and
/// the stored positions (the first `particles.store` neurons, m × D).
#[derive(Debug, Clone, Copy)]
pub struct ParticleRecord<'a> {
    pub diag: &'a ParticleDiagnostics,
    pub positions: &'a [f64],
}

impl Record for ParticleRecord<'_> {
    fn group(&self) -> &'static str {
        "particles"
    }

    fn vars(&self) -> Vec<Var<'_>> {
        const T: &[Dim] = &[Dim::Time];
        let d = self.diag;
        let s = |name, long_name, v| Var::scalar(VarSpec::new(name, T, long_name), v);
        let a = |name, dims, long_name, v| Var::array(VarSpec::new(name, dims, long_name), v);
        vec![
            s("time", "mean-field time t", d.time),
            s("risk", "risk R(μ^m) of the network", d.risk),
            s(
                "risk_se",
                "standard error of risk (0 where it is exact)",
                d.risk_se,
            ),
            s(
                "outside",
                "fraction of the neurons outside the grid's box",
                d.outside,
            ),
            Var::scalar(
                VarSpec::new("steps", T, "particle steps taken").count(),
                d.steps as f64,
            ),
            Var::scalar(
                VarSpec::new("batch_word", T, "the SGD batch stream's word position").count(),
                d.batch_word as f64,
            ),
            a(
                "positions",
                &[Dim::Time, Dim::Neuron, Dim::Axis],
                "neurons θ_j in the grid's coordinates",
                self.positions,
            ),
            a(
                "histogram",
                &[Dim::Time, Dim::Grid],
                "histogram H_i = #{j : θ_j ∈ C_i} / (m |C|)",
                &d.histogram,
            ),
            a(
                "f_values",
                &[Dim::Time, Dim::Point],
                "f_m at f_points",
                &d.f_values,
            ),
            a("mean", &[Dim::Time, Dim::Axis], "mean of θ_j", &d.mean),
            a(
                "cov",
                &[Dim::Time, Dim::Axis, Dim::Axis2],
                "covariance of θ_j",
                &d.cov,
            ),
        ]
    }
}

/// The mean and covariance (row-major D × D, 1/m normalised) of m points
/// in ℝ^D given row-major.
pub fn moments(theta: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (theta.len() / d) as f64;
    let mut mean = vec![0.0; d];
    for th in theta.chunks(d) {
        for (mk, t) in mean.iter_mut().zip(th) {
            *mk += t / m;
        }
    }
    let mut cov = vec![0.0; d * d];
    for th in theta.chunks(d) {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += (th[i] - mean[i]) * (th[j] - mean[j]) / m;
            }
        }
    }
    (mean, cov)
}

/// H_i = #{j : θ_j ∈ C_i} / (m |C|) and the fraction of neurons outside the
/// box.
pub fn histogram(grid: &Grid, theta: &[f64], d: usize) -> (Vec<f64>, f64) {
    let m = theta.len() / d;
    let mut h = vec![0.0; grid.len()];
    let mut outside = 0usize;
    let unit = 1.0 / (m as f64 * grid.cell_volume());
    let uniform = grid.is_uniform();
    'neurons: for th in theta.chunks(d) {
        let mut flat = 0;
        for (k, t) in th.iter().enumerate() {
            let i = if grid.stretch[k].is_none() {
                let x = (t - grid.lo[k]) / grid.h[k];
                if !(0.0..grid.n[k] as f64).contains(&x) {
                    outside += 1;
                    continue 'neurons;
                }
                (x as usize).min(grid.n[k] - 1)
            } else {
                match grid.cell_of(k, *t).filter(|_| *t < grid.hi[k]) {
                    Some(i) => i,
                    None => {
                        outside += 1;
                        continue 'neurons;
                    }
                }
            };
            flat += i * grid.strides[k];
        }
        h[flat] += if uniform {
            unit
        } else {
            1.0 / (m as f64 * grid.volume_at(flat))
        };
    }
    (h, outside as f64 / m as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_cells_and_outside() {
        let g = Grid::new(vec![0.0, 0.0], vec![2.0, 1.0], vec![4, 2], vec![]);
        // cells are 0.5 × 0.5; four neurons inside, one outside
        let theta = [0.1, 0.1, 0.6, 0.9, 0.7, 0.6, 1.99, 0.0, 2.5, 0.5];
        let (h, out) = histogram(&g, &theta, 2);
        assert_eq!(out, 0.2);
        let unit = 1.0 / (5.0 * 0.25);
        assert_eq!(h[0], unit); // (0, 0)
        assert_eq!(h[3], 2.0 * unit); // (1, 1)
        assert_eq!(h[6], unit); // (3, 0)
        let mass: f64 = h.iter().sum::<f64>() * 0.25;
        assert!((mass + out - 1.0).abs() < 1e-15);
    }
}
