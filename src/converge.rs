//! **Rates in m and h**: particle runs over m and seeds, PDE runs over
//! resolutions, each distance of docs/model.md §5 at t_end against m (PDE on the
//! finest grid) and against h (particles at the largest m), with fitted
//! log-log slopes, their standard errors, and where a floor starts.
//!
//! Expected (docs/model.md §4): W1, sliced W2 and the f gap ∝ m^{-1/2} and the
//! risk gap's bias ∝ 1/m, until the grid's own error is reached; from there
//! on the distance stops falling with m, and [`Converged::floor_m`] says from
//! which m. [`Converged::grid_gap`] measures that floor directly: the same
//! distance between the PDE solutions on the two finest grids.

use crate::compare::{self, directions, CellOrders, Context, Measure, Side, SW2_DIRECTIONS};
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::io::store::{Attr, Dim, VarSpec};
use crate::particles::{self, histogram};
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::solve::{self, Observer};

pub use crate::fit::{fit_loglog, Fit};

/// The first m at which a distance has reached the grid's floor: it is no
/// larger than the grid gap (the same distance between the two finest PDE
/// solutions; NaN disables this test), or it no longer falls (local slope
/// from the previous m above −0.25, where −0.5 is expected).
pub fn floor_start(ms: &[f64], d: &[f64], grid_gap: f64) -> Option<f64> {
    let flat = |i: usize| i > 0 && (d[i] / d[i - 1]).ln() / (ms[i] / ms[i - 1]).ln() > -0.25;
    (0..ms.len())
        .find(|&i| d[i] <= grid_gap || flat(i))
        .map(|i| ms[i])
}

/// Everything `mfpde converge` reports.
#[derive(Debug, Clone)]
pub struct Converged {
    pub ms: Vec<usize>,
    pub seeds: usize,
    pub cells: Vec<usize>,
    /// Metric names: l1, w1_<axis>…, sw2, risk_gap, f_gap.
    pub metrics: Vec<String>,
    /// [metric][m]: mean over seeds, and its standard error.
    pub vs_m: Vec<Vec<f64>>,
    pub vs_m_se: Vec<Vec<f64>>,
    /// The seeds (`particles.seed` + 0, 1, …).
    pub seed_values: Vec<u64>,
    /// [metric, m, seed] row-major: each seed's distance (the samples of
    /// `vs_m`).
    pub by_seed: Vec<f64>,
    /// [m, seed]: the signed risk difference R(μ^m) − R_h (the finest
    /// grid's): its mean is the 1/m bias, its spread the m^{-1/2}
    /// fluctuation, which `risk_gap` = |R(μ^m) − R_h| mixes.
    pub risk_diff: Vec<f64>,
    /// [metric][resolution]: PDE at that resolution against the particles at
    /// the largest m (mean over seeds).
    pub vs_h: Vec<Vec<f64>>,
    /// Cell widths h (of axis 0) of the resolutions.
    pub h: Vec<f64>,
    /// [metric]: the slope against m over the m before the floor (all m
    /// when fewer than two come before it).
    pub fit_m: Vec<Fit>,
    pub fit_h: Vec<Fit>,
    pub floor_m: Vec<Option<f64>>,
    /// [metric]: the distance between the PDE on the two finest grids (the
    /// grid's own error; NaN with one resolution, and L1 when the cells do
    /// not nest).
    pub grid_gap: Vec<f64>,
}

/// The final snapshot of a PDE run: ρ, f_h at the nodes, R_h.
#[derive(Default)]
struct FinalDensity {
    rho: Vec<f64>,
    f_nodes: Vec<f64>,
    risk: f64,
}

impl Observer for FinalDensity {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        self.rho = rho.to_vec();
        self.f_nodes = d.f_nodes.clone();
        self.risk = d.risk;
        Ok(())
    }
}

impl FinalDensity {
    /// As a side of a comparison, on its grid.
    fn side<'a>(&'a self, grid: &'a crate::grid::Grid) -> Side<'a> {
        Side {
            measure: Measure::Density {
                grid,
                rho: &self.rho,
            },
            f_nodes: &self.f_nodes,
            risk: self.risk,
        }
    }
}

/// Run the study. `progress` is told of each run as it finishes.
pub fn converge(
    lp: &LoadedProblem,
    ms: &[usize],
    seeds: usize,
    cells: &[usize],
    progress: &mut dyn FnMut(&str),
) -> Result<Converged> {
    let base = Setup::new(lp)?;
    let d = base.grid.dim();
    // PDE at every resolution, final time only
    let mut pdes = Vec::new();
    for &n in cells {
        let list = vec![n.to_string(); d].join(",");
        let sets = [
            format!("grid.cells=[{list}]"),
            "dynamics.snapshots=2".to_string(),
        ];
        let l = LoadedProblem::from_str(&lp.toml, &sets, &lp.base_dir)?;
        let s = Setup::new(&l)?;
        let mut last = FinalDensity::default();
        let started = std::time::Instant::now();
        solve::solve(&s, &mut [&mut last])?;
        progress(&format!(
            "PDE {n}^{d}: R = {:.5e} in {:.1} s",
            last.risk,
            started.elapsed().as_secs_f64()
        ));
        pdes.push((s, last));
    }
    let (fine, fine_last) = pdes.last().expect("at least one resolution");
    let opts0 = fine.particle_options()?;
    let dirs = directions(d, SW2_DIRECTIONS);
    let orders = CellOrders::default();
    let ctx = Context {
        weights: &fine.model.quad.weights,
        dirs: &dirs,
        orders: &orders,
    };
    let metrics = compare::metric_names(&fine.grid.names);
    let k = metrics.len();
    let grid_gap = match pdes.len() {
        1 => vec![f64::NAN; k],
        n => {
            let (coarse, cl) = &pdes[n - 2];
            let (a, b) = (cl.side(&coarse.grid), fine_last.side(&fine.grid));
            compare::compare(&ctx, &a, &b, fine.t_end).flat()
        }
    };
    let mut vs_m = vec![vec![0.0; ms.len()]; k];
    let mut vs_m_se = vec![vec![0.0; ms.len()]; k];
    let mut vs_h = vec![vec![0.0; cells.len()]; k];
    let mut by_seed = vec![0.0; k * ms.len() * seeds];
    let mut risk_diff = Vec::with_capacity(ms.len() * seeds);
    for (i, &m) in ms.iter().enumerate() {
        let started = std::time::Instant::now();
        let mut samples = vec![Vec::new(); k];
        for seed in 0..seeds {
            let mut o = opts0;
            o.m = m;
            o.store = m;
            o.seed = opts0.seed + seed as u64;
            let mut sw = particles::network(&fine.model, &fine.initial, &o)?;
            let times = &fine.snapshot_times;
            let sum = particles::run(&mut *sw, o.dt, times, &[], &fine.grid, &mut [])?;
            // against the PDE on every resolution (the finest for vs_m)
            for (j, (s, last)) in pdes.iter().enumerate() {
                if j + 1 < pdes.len() && i + 1 < ms.len() {
                    continue;
                }
                let theta = sw.positions();
                let (hist, outside) = histogram(&s.grid, theta, d);
                let net = Side {
                    measure: Measure::Neurons {
                        theta,
                        hist: &hist,
                        outside,
                    },
                    f_nodes: &sum.last.f_nodes,
                    risk: sum.last.risk,
                };
                let row = compare::compare(&ctx, &last.side(&s.grid), &net, s.t_end).flat();
                if j + 1 == pdes.len() {
                    for (c, (smp, v)) in samples.iter_mut().zip(&row).enumerate() {
                        smp.push(*v);
                        by_seed[(c * ms.len() + i) * seeds + seed] = *v;
                    }
                    risk_diff.push(sum.last.risk - last.risk);
                }
                // the largest m also against every resolution
                if i + 1 == ms.len() {
                    for (c, v) in row.into_iter().enumerate() {
                        vs_h[c][j] += v / seeds as f64;
                    }
                }
            }
        }
        for c in 0..k {
            let n = samples[c].len() as f64;
            let mean = samples[c].iter().sum::<f64>() / n;
            let var =
                samples[c].iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            vs_m[c][i] = mean;
            vs_m_se[c][i] = (var / n).sqrt();
        }
        progress(&format!(
            "particles m = {m}: {seeds} seeds in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    let mf: Vec<f64> = ms.iter().map(|&m| m as f64).collect();
    let h: Vec<f64> = pdes.iter().map(|(s, _)| s.grid.h[0]).collect();
    // a fit needs two points and positive distances
    let fit = |x: &[f64], y: &[f64]| -> Fit {
        if x.len() > 1 && y.iter().all(|&v| v > 0.0) {
            fit_loglog(x, y)
        } else {
            Fit {
                slope: f64::NAN,
                stderr: f64::NAN,
                points: 0,
            }
        }
    };
    let floor_m: Vec<Option<f64>> = vs_m
        .iter()
        .zip(&grid_gap)
        .map(|(y, &g)| floor_start(&mf, y, g))
        .collect();
    // against m: the rate before the floor
    let fit_m = vs_m
        .iter()
        .zip(&floor_m)
        .map(|(y, floor)| {
            let before = floor.map_or(mf.len(), |f| mf.iter().take_while(|&&m| m < f).count());
            let n = if before >= 2 { before } else { mf.len() };
            fit(&mf[..n], &y[..n])
        })
        .collect();
    Ok(Converged {
        fit_m,
        fit_h: vs_h.iter().map(|y| fit(&h, y)).collect(),
        floor_m,
        grid_gap,
        ms: ms.to_vec(),
        seeds,
        cells: cells.to_vec(),
        metrics,
        vs_m,
        vs_m_se,
        seed_values: (0..seeds as u64).map(|s| opts0.seed + s).collect(),
        by_seed,
        risk_diff,
        vs_h,
        h,
    })
}

impl Converged {
    /// `/converge` as it is stored: `m` [M], `cells`, `h` [H], `seed` [S],
    /// `vs_m`, `vs_m_se` [K, M], `by_seed` [K, M, S], `risk_diff` [M, S],
    /// `vs_h` [K, H], and per metric `grid_gap`,
    /// `slope_m_points` (the m fitted: those before the floor), `slope_m`,
    /// `slope_m_err`, `slope_h`, `slope_h_err`, `floor_m` (NaN: no floor);
    /// the dimension `metric`'s names are [`Converged::metrics`].
    pub fn columns(&self) -> Vec<(VarSpec, Vec<f64>)> {
        const K: &[Dim] = &[Dim::Metric];
        let per_metric = |f: &dyn Fn(usize) -> f64| (0..self.metrics.len()).map(f).collect();
        let v = VarSpec::new;
        vec![
            (
                v("m", &[Dim::M], "numbers of neurons").count(),
                self.ms.iter().map(|&m| m as f64).collect(),
            ),
            (
                v("cells", &[Dim::Resolution], "cells per axis of the PDE").count(),
                self.cells.iter().map(|&n| n as f64).collect(),
            ),
            (
                v("h", &[Dim::Resolution], "cell width h of axis 0"),
                self.h.clone(),
            ),
            (
                v(
                    "vs_m",
                    &[Dim::Metric, Dim::M],
                    "distance at t_end against m (mean over seeds)",
                ),
                self.vs_m.concat(),
            ),
            (
                v("vs_m_se", &[Dim::Metric, Dim::M], "standard error of vs_m"),
                self.vs_m_se.concat(),
            ),
            (
                v("seed", &[Dim::Seed], "the network's seeds").count(),
                self.seed_values.iter().map(|&s| s as f64).collect(),
            ),
            (
                v(
                    "by_seed",
                    &[Dim::Metric, Dim::M, Dim::Seed],
                    "distance at t_end of each seed (the samples of vs_m)",
                ),
                self.by_seed.clone(),
            ),
            (
                v(
                    "risk_diff",
                    &[Dim::M, Dim::Seed],
                    "signed risk difference R(μ^m) − R_h of each seed (mean: the 1/m bias)",
                ),
                self.risk_diff.clone(),
            ),
            (
                v(
                    "vs_h",
                    &[Dim::Metric, Dim::Resolution],
                    "distance at t_end against h",
                ),
                self.vs_h.concat(),
            ),
            (
                v(
                    "grid_gap",
                    K,
                    "distance between the PDE on the two finest grids",
                ),
                self.grid_gap.clone(),
            ),
            (
                v(
                    "slope_m_points",
                    K,
                    "the m the slope against m is fitted over",
                )
                .count(),
                per_metric(&|i| self.fit_m[i].points as f64),
            ),
            (
                v("slope_m", K, "log-log slope against m"),
                per_metric(&|i| self.fit_m[i].slope),
            ),
            (
                v("slope_m_err", K, "standard error of slope_m"),
                per_metric(&|i| self.fit_m[i].stderr),
            ),
            (
                v("slope_h", K, "log-log slope against h"),
                per_metric(&|i| self.fit_h[i].slope),
            ),
            (
                v("slope_h_err", K, "standard error of slope_h"),
                per_metric(&|i| self.fit_h[i].stderr),
            ),
            (
                v(
                    "floor_m",
                    K,
                    "the m from which the grid's floor is reached (NaN: none)",
                ),
                per_metric(&|i| self.floor_m[i].unwrap_or(f64::NAN)),
            ),
        ]
    }

    /// `/converge`'s attributes: `metrics` (comma separated) and `seeds`.
    pub fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("metrics", Attr::Str(self.metrics.join(","))),
            ("seeds", Attr::U64(self.seeds as u64)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loglog_fit_recovers_a_power_law_and_its_error() {
        let x = [100.0, 1000.0, 10000.0, 100000.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(-0.5)).collect();
        let f = fit_loglog(&x, &y);
        assert!((f.slope + 0.5).abs() < 1e-12 && f.stderr < 1e-12);
        let noisy = [y[0] * 1.1, y[1] * 0.9, y[2] * 1.1, y[3] * 0.9];
        assert!(fit_loglog(&x, &noisy).stderr > 0.01);
    }

    #[test]
    fn a_floor_is_found_where_the_decay_stops() {
        let ms = [1e2, 1e3, 1e4, 1e5];
        let nan = f64::NAN;
        assert_eq!(floor_start(&ms, &[0.1, 0.031, 0.01, 0.0032], nan), None);
        assert_eq!(
            floor_start(&ms, &[0.1, 0.031, 0.012, 0.011], nan),
            Some(1e5)
        );
        assert_eq!(floor_start(&ms, &[0.1, 0.09, 0.012, 0.011], nan), Some(1e3));
        // still falling, but already at the grid's own error
        assert_eq!(
            floor_start(&ms, &[0.1, 0.031, 0.01, 0.0032], 0.005),
            Some(1e5)
        );
        assert_eq!(
            floor_start(&ms, &[0.1, 0.031, 0.01, 0.0032], 0.01),
            Some(1e4)
        );
    }
}
