//! `[grid]`, `[dynamics]`, `[initial]`, `[solver]`, `[output]` and
//! `[particles]`: where and how long the model is run, from what, with
//! which scheme, and the finite network beside it.

use super::{check_box, positive, vec_of};
use crate::error::{Error, Result};
use crate::grid::{AxisMap, Grid, MAX_DIM};
use crate::initial::{Gaussian, InitialLaw};
use crate::model::{Network, Quadrature};
use crate::particles::{Mode, ParticleOptions};
use crate::problem::{LoadedProblem, ParticlesSpec, Snapshots};
use crate::scheme::{DiffusionKind, FluxKind, SchemeKind, SchemeOptions, Splitting};

/// Cells of a grid at most (2³¹: one density of 16 GiB).
pub const MAX_CELLS: usize = 1 << 31;
/// Snapshots of a run at most.
pub const MAX_SNAPSHOTS: usize = 1_000_000;
/// Samples of an SGD batch at most.
pub const MAX_BATCH: usize = 100_000_000;

/// The largest |coordinate| of a box: beyond it, lo + i h no longer holds
/// the digits of a box's other end (a box [−10³⁰⁰, 6] ends at 0).
pub const MAX_COORDINATE: f64 = 1e8;

pub(super) fn build_grid(lp: &LoadedProblem, net: &Network) -> Result<Grid> {
    let g = &lp.problem.grid;
    let d = net.dim_theta();
    if d > MAX_DIM {
        return Err(Error::problem(
            "model",
            format!("phase-space dimension D = {d}"),
            format!("D ≤ {MAX_DIM} (D = d_x + bias + trained a)"),
        ));
    }
    let what = format!(
        "D = {d} entries, one per axis ({})",
        net.axis_names().join(", ")
    );
    for (field, len) in [
        ("grid.lo", g.lo.len()),
        ("grid.hi", g.hi.len()),
        ("grid.cells", g.cells.len()),
    ] {
        if len != d {
            return Err(Error::problem(
                field,
                format!("{len} entries"),
                what.clone(),
            ));
        }
    }
    let lo = vec_of("grid.lo", &Some(g.lo.clone()), d, "one per axis")?;
    let hi = vec_of("grid.hi", &Some(g.hi.clone()), d, "one per axis")?;
    check_box("grid", &lo, &hi)?;
    if let Some(v) = lo.iter().chain(&hi).find(|v| v.abs() > MAX_COORDINATE) {
        return Err(Error::problem(
            if lo.contains(v) { "grid.lo" } else { "grid.hi" },
            crate::error::num(*v),
            format!("coordinates of at most {} in magnitude (cells of such a box lose the digits of its smaller end)", crate::error::num(MAX_COORDINATE)),
        ));
    }
    if net.reduced.is_some() && lo[d - 1] < 0.0 {
        return Err(Error::problem(
            "grid.lo",
            format!("{lo:?}"),
            "r = |w⊥| ≥ 0 on the last axis of a reduced problem (its lo at 0 or above)",
        ));
    }
    if let Some(&n) = g
        .cells
        .iter()
        .find(|&&n| !(4..=crate::grid::MAX_AXIS_CELLS).contains(&n))
    {
        return Err(Error::problem(
            "grid.cells",
            format!("{:?} (has {n})", g.cells),
            "4 to 16384 cells per axis",
        ));
    }
    let total: f64 = g.cells.iter().map(|&n| n as f64).product();
    if total > MAX_CELLS as f64 {
        return Err(Error::problem(
            "grid.cells",
            format!("{:?} ({total:.3e} cells)", g.cells),
            format!(
                "at most {MAX_CELLS} cells in all (one density alone would need {:.0} GiB)",
                total * 8.0 / (1u64 << 30) as f64
            ),
        ));
    }
    let names = net.axis_names();
    let mut grid = Grid::new(lo.clone(), hi.clone(), g.cells.clone(), names.clone());
    for (axis, map) in &g.map {
        let field = format!("grid.map.{axis}");
        let Some(k) = names.iter().position(|n| n == axis) else {
            return Err(Error::problem(
                &field,
                format!("axis {axis:?}"),
                format!("one of this problem's axes ({})", names.join(", ")),
            ));
        };
        if *map == AxisMap::Uniform {
            continue;
        }
        let edges = map
            .edges(lo[k], hi[k], g.cells[k])
            .map_err(|(got, allowed)| Error::problem(&field, got, allowed))?;
        grid = grid.with_edges(k, edges);
    }
    Ok(grid)
}

/// t_end and the snapshot times (η is the model's).
pub(super) fn build_dynamics(lp: &LoadedProblem) -> Result<(f64, Vec<f64>)> {
    let dy = &lp.problem.dynamics;
    if !(dy.t_end > 0.0 && dy.t_end.is_finite()) {
        return Err(Error::problem(
            "dynamics.t_end",
            dy.t_end,
            "a positive end time",
        ));
    }
    let times = match &dy.snapshots {
        Snapshots::Count(n) if *n > MAX_SNAPSHOTS => {
            return Err(Error::problem(
                "dynamics.snapshots",
                n,
                format!("at most {MAX_SNAPSHOTS} snapshots (each stores the whole density)"),
            ))
        }
        Snapshots::Count(n) if *n >= 2 => (0..*n)
            .map(|i| dy.t_end * i as f64 / (*n - 1) as f64)
            .collect(),
        Snapshots::Count(n) => {
            return Err(Error::problem(
                "dynamics.snapshots",
                n,
                "a count ≥ 2 or a list of times",
            ))
        }
        Snapshots::Times(ts) => {
            let ok = !ts.is_empty()
                && ts.windows(2).all(|w| w[0] < w[1])
                && ts.iter().all(|&t| (0.0..=dy.t_end).contains(&t))
                && ts.last() == Some(&dy.t_end);
            if !ok {
                return Err(Error::problem(
                    "dynamics.snapshots",
                    format!("{ts:?}"),
                    format!(
                        "increasing times in [0, t_end = {}], the last t_end itself (a run ends at its last snapshot)",
                        crate::error::num(dy.t_end)
                    ),
                ));
            }
            ts.clone()
        }
    };
    Ok((dy.t_end, times))
}

pub(super) fn build_initial(lp: &LoadedProblem, net: &Network) -> Result<InitialLaw> {
    let d = net.dim_theta();
    let i = &lp.problem.initial;
    let gaussian =
        |prefix: &str, mean: &Option<Vec<f64>>, std: &Option<Vec<f64>>| -> Result<Gaussian> {
            let mean = vec_of(
                &format!("{prefix}.mean"),
                mean,
                d,
                "one per phase-space axis",
            )?;
            let std = vec_of(&format!("{prefix}.std"), std, d, "one per phase-space axis")?;
            positive(&format!("{prefix}.std"), &std)?;
            Ok(Gaussian { mean, std })
        };
    match i.kind.as_str() {
        "gaussian" => Ok(InitialLaw::Gaussian(gaussian("initial", &i.mean, &i.std)?)),
        "uniform" => {
            let lo = vec_of("initial.lo", &i.lo, d, "one per phase-space axis")?;
            let hi = vec_of("initial.hi", &i.hi, d, "one per phase-space axis")?;
            check_box("initial", &lo, &hi)?;
            Ok(InitialLaw::Uniform { lo, hi })
        }
        "mixture" => {
            let cs = i.components.clone().unwrap_or_default();
            if cs.is_empty() || cs.iter().any(|c| c.weight.is_nan() || c.weight <= 0.0) {
                return Err(Error::problem(
                    "initial.components",
                    format!("{} components", cs.len()),
                    "one or more components with weight > 0",
                ));
            }
            let total: f64 = cs.iter().map(|c| c.weight).sum();
            cs.iter()
                .map(|c| {
                    let g = gaussian(
                        "initial.components",
                        &Some(c.mean.clone()),
                        &Some(c.std.clone()),
                    )?;
                    Ok((c.weight / total, g))
                })
                .collect::<Result<Vec<_>>>()
                .map(InitialLaw::Mixture)
        }
        "product" => product(i, d),
        "isotropic" => {
            let Some(red) = net.reduced else {
                return Err(Error::problem(
                    "initial.kind",
                    "\"isotropic\" without [symmetry]",
                    "isotropic only for a reduced problem (give a [symmetry] section)",
                ));
            };
            // a ~ N(mean_a, std_a²) when trained, w ~ N(U m_p, s_w² I_d):
            // mean = [mean_a, m_p] (D − 1 entries), std = [std_a, s_w]
            let trained = net.frozen_a.is_none();
            let head_len = d - 1;
            let mean = match &i.mean {
                None if head_len == 0 => Vec::new(),
                m => vec_of(
                    "initial.mean",
                    m,
                    head_len,
                    "the mean of a (if trained), then of p = Uᵀw",
                )?,
            };
            let std = vec_of(
                "initial.std",
                &i.std,
                1 + usize::from(trained),
                "the std of a (if trained), then s_w of w ~ N(U m_p, s_w² I_d)",
            )?;
            positive("initial.std", &std)?;
            let w_std = std[std.len() - 1];
            let mut head_std = vec![w_std; head_len];
            if trained {
                head_std[0] = std[0];
            }
            Ok(InitialLaw::Isotropic {
                head: Gaussian {
                    mean,
                    std: head_std,
                },
                w_std,
                n: red.n(),
            })
        }
        other => Err(Error::problem(
            "initial.kind",
            format!("{other:?}"),
            "one of gaussian, uniform, mixture, isotropic, product",
        )),
    }
}

pub(super) fn build_scheme(lp: &LoadedProblem) -> Result<SchemeOptions> {
    let s = &lp.problem.solver;
    if !(s.cfl > 0.0 && s.cfl <= 1.0) {
        return Err(Error::problem(
            "solver.cfl",
            s.cfl,
            "0 < cfl ≤ 1 (≤ 0.5 keeps ρ ≥ 0)",
        ));
    }
    if !(s.dt_max > 0.0 && s.dt_max.is_finite()) {
        return Err(Error::problem(
            "solver.dt_max",
            s.dt_max,
            "a positive time step",
        ));
    }
    if s.history_every == 0 {
        return Err(Error::problem(
            "solver.history_every",
            0,
            "a step count ≥ 1",
        ));
    }
    if s.max_steps == 0 {
        return Err(Error::problem("solver.max_steps", 0, "a step count ≥ 1"));
    }
    Ok(SchemeOptions {
        max_steps: s.max_steps,
        kind: SchemeKind::parse(&s.scheme)?,
        cfl: s.cfl,
        flux: FluxKind::parse(&s.flux, &s.limiter)?,
        diffusion: DiffusionKind::parse(&s.diffusion)?,
        splitting: Splitting::parse(&s.splitting)?,
        dt_max: s.dt_max,
        history_every: s.history_every,
    })
}

pub(super) fn build_f_points(lp: &LoadedProblem, quad: &Quadrature) -> Result<Vec<Vec<f64>>> {
    let dx = quad.dim;
    if let Some(pts) = &lp.problem.output.f_points {
        if pts.is_empty()
            || pts
                .iter()
                .any(|p| p.len() != dx || p.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::problem(
                "output.f_points",
                format!("{} points", pts.len()),
                format!("a non-empty list of points with d_x = {dx} coordinates each"),
            ));
        }
        return Ok(pts.clone());
    }
    if let Some(sym) = &lp.problem.symmetry {
        // x̄ = (Uᵀx, |x⊥|): along x0 = u₁·x from −3s to 3s at |x⊥| = s√n
        // (k ≥ 1), along |x| from 0 to s(√n + 4) (k = 0); s the largest scale
        let d = &lp.problem.data;
        let s = d
            .scales
            .as_ref()
            .and_then(|v| v.iter().copied().reduce(f64::max))
            .or(d.std)
            .unwrap_or(1.0);
        let k = sym.directions;
        let n = (d.dim.unwrap_or(1) - k) as f64;
        return Ok((0..101)
            .map(|i| {
                let t = i as f64 / 100.0;
                let mut x = vec![0.0; k + 1];
                if k == 0 {
                    x[0] = s * (n.sqrt() + 4.0) * t;
                } else {
                    x[0] = s * (6.0 * t - 3.0);
                    x[k] = s * n.sqrt();
                }
                x
            })
            .collect());
    }
    // 101 points on a line through the data: along x0 in d_x = 1, the
    // diagonal otherwise, spanning the nodes' range in the first coordinate.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for q in 0..quad.len() {
        lo = lo.min(quad.node(q)[0]);
        hi = hi.max(quad.node(q)[0]);
    }
    let (lo, hi) = if lp.problem.data.law == "gaussian" {
        let s = lp.problem.data.std.unwrap_or(1.0);
        (-3.0 * s, 3.0 * s)
    } else {
        (lo, hi)
    };
    Ok((0..101)
        .map(|i| {
            let t = lo + (hi - lo) * i as f64 / 100.0;
            vec![t; dx]
        })
        .collect())
}

/// Validate a `[particles]` section (`law` is `data.law`: full_batch needs a
/// data set).
pub(super) fn build_particles(p: &ParticlesSpec, law: &str) -> Result<ParticleOptions> {
    if !(1..=100_000_000).contains(&p.m) {
        return Err(Error::problem("particles.m", p.m, "1 to 10⁸ neurons"));
    }
    if !(p.dt > 0.0 && p.dt.is_finite()) {
        return Err(Error::problem("particles.dt", p.dt, "a positive time step"));
    }
    let mode = match p.mode.as_str() {
        "population" => Mode::Population,
        "sgd" => match p.batch {
            Some(b) if (1..=MAX_BATCH).contains(&b) => Mode::Sgd { batch: b },
            other => {
                return Err(Error::problem(
                    "particles.batch",
                    other.map_or("missing".to_string(), |b| b.to_string()),
                    "a batch size 1 ≤ B ≤ 10⁸ for mode = \"sgd\"",
                ))
            }
        },
        "full_batch" if law == "dataset" => Mode::FullBatch,
        "full_batch" => {
            return Err(Error::problem(
                "particles.mode",
                "\"full_batch\"",
                "full_batch only with data.law = \"dataset\" (use population)",
            ))
        }
        other => {
            return Err(Error::problem(
                "particles.mode",
                format!("{other:?}"),
                "one of population, sgd, full_batch",
            ))
        }
    };
    let store = p.store.unwrap_or(p.m);
    if store > p.m {
        return Err(Error::problem(
            "particles.store",
            store,
            format!("at most m = {} positions", p.m),
        ));
    }
    Ok(ParticleOptions {
        m: p.m,
        seed: p.seed,
        dt: p.dt,
        mode,
        store,
    })
}

/// `initial.kind = "product"`: `laws` names each axis's law; the Gaussian
/// axes take `mean` and `std` in turn, the uniform ones `lo` and `hi`.
fn product(i: &crate::problem::InitialSpec, d: usize) -> Result<InitialLaw> {
    use crate::initial::AxisLaw;
    let laws = i.laws.clone().unwrap_or_default();
    if laws.len() != d {
        return Err(Error::problem(
            "initial.laws",
            format!("{laws:?}"),
            format!("{d} entries (one per phase-space axis), each \"gaussian\" or \"uniform\""),
        ));
    }
    let count = |name: &str| laws.iter().filter(|l| *l == name).count();
    let (ng, nu) = (count("gaussian"), count("uniform"));
    if ng + nu != d {
        return Err(Error::problem(
            "initial.laws",
            format!("{laws:?}"),
            "each entry \"gaussian\" or \"uniform\"",
        ));
    }
    let of = |field: &str, v: &Option<Vec<f64>>, n: usize, what: &str| -> Result<Vec<f64>> {
        if n == 0 {
            return match v {
                None => Ok(Vec::new()),
                Some(v) => Err(Error::problem(
                    field,
                    format!("{v:?}"),
                    format!("none: no axis is {what}"),
                )),
            };
        }
        vec_of(field, v, n, &format!("one per {what} axis of initial.laws"))
    };
    let mean = of("initial.mean", &i.mean, ng, "gaussian")?;
    let std = of("initial.std", &i.std, ng, "gaussian")?;
    positive("initial.std", &std)?;
    let lo = of("initial.lo", &i.lo, nu, "uniform")?;
    let hi = of("initial.hi", &i.hi, nu, "uniform")?;
    check_box("initial", &lo, &hi)?;
    let (mut g, mut u) = (0, 0);
    let axes = laws
        .iter()
        .map(|l| {
            if l == "gaussian" {
                g += 1;
                AxisLaw::Normal {
                    mean: mean[g - 1],
                    std: std[g - 1],
                }
            } else {
                u += 1;
                AxisLaw::Uniform {
                    lo: lo[u - 1],
                    hi: hi[u - 1],
                }
            }
        })
        .collect();
    Ok(InitialLaw::Product(axes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particle_modes_validate() {
        let spec = |mode: &str, batch: Option<usize>| ParticlesSpec {
            m: 10,
            seed: 1,
            dt: 0.1,
            mode: mode.into(),
            batch,
            store: None,
        };
        assert!(build_particles(&spec("sgd", None), "gaussian").is_err());
        assert_eq!(
            build_particles(&spec("sgd", Some(8)), "gaussian")
                .unwrap()
                .mode,
            Mode::Sgd { batch: 8 }
        );
        let e = build_particles(&spec("full_batch", None), "gaussian").unwrap_err();
        assert_eq!(e.field(), Some("particles.mode"));
        assert!(build_particles(&spec("full_batch", None), "dataset").is_ok());
    }
}
