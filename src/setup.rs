//! **From problem file to solver inputs**: every semantic check of a problem
//! (one clear error naming the field, the value and what is allowed) and the
//! construction of grid, network, quadrature, target and ρ0.

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::initial::{Gaussian, InitialLaw};
use crate::model::{Activation, DataLaw, DataSet, Network, Quadrature, Target};
use crate::particles::ParticleOptions;
use crate::problem::{LoadedProblem, Snapshots};
use crate::scheme::{DiffusionKind, Limiter, SchemeOptions};

/// Largest phase-space dimension of the grid solver.
pub const MAX_DIM: usize = 4;
/// Below this fraction of ρ0 inside the box the problem is refused.
pub const MIN_BOX_MASS: f64 = 0.5;

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Setup {
    pub name: String,
    /// The problem TOML after overrides (stored in every output file).
    pub problem_toml: String,
    pub net: Network,
    pub quad: Quadrature,
    /// P itself, for sampling batches.
    pub data_law: DataLaw,
    pub target: Target,
    /// f* at the quadrature nodes.
    pub fstar: Vec<f64>,
    /// η.
    pub noise: f64,
    pub t_end: f64,
    pub snapshot_times: Vec<f64>,
    pub initial: InitialLaw,
    pub grid: Grid,
    pub scheme: SchemeOptions,
    /// Points x where f_h is stored at every snapshot (each of length d_x).
    pub f_points: Vec<Vec<f64>>,
    /// Mass of ρ0 inside the box before renormalisation.
    pub box_mass: f64,
    /// The finite network, when the problem has a `[particles]` section.
    pub particles: Option<ParticleOptions>,
}

fn vec_of(field: &str, v: &Option<Vec<f64>>, len: usize, what: &str) -> Result<Vec<f64>> {
    match v {
        None => Err(Error::problem(
            field,
            "missing",
            format!("{len} numbers ({what})"),
        )),
        Some(v) if v.len() != len => Err(Error::problem(
            field,
            format!("{v:?}"),
            format!("{len} numbers ({what})"),
        )),
        Some(v) if v.iter().any(|x| !x.is_finite()) => {
            Err(Error::problem(field, format!("{v:?}"), "finite numbers"))
        }
        Some(v) => Ok(v.clone()),
    }
}

fn check_box(prefix: &str, lo: &[f64], hi: &[f64]) -> Result<()> {
    for k in 0..lo.len() {
        if lo[k] >= hi[k] {
            return Err(Error::problem(
                format!("{prefix}.lo"),
                format!("{:?} with {prefix}.hi = {:?}", lo, hi),
                format!("lo < hi on every axis (axis {k}: {} ≥ {})", lo[k], hi[k]),
            ));
        }
    }
    Ok(())
}

fn positive(field: &str, v: &[f64]) -> Result<()> {
    if v.iter().any(|&s| s <= 0.0 || !s.is_finite()) {
        return Err(Error::problem(field, format!("{v:?}"), "positive numbers"));
    }
    Ok(())
}

impl Setup {
    /// Validate a loaded problem and build the solver inputs.
    pub fn new(lp: &LoadedProblem) -> Result<Self> {
        let p = &lp.problem;
        let activation = Activation::parse(&p.model.activation)?;
        if !(p.model.weight_decay >= 0.0 && p.model.weight_decay.is_finite()) {
            return Err(Error::problem(
                "model.weight_decay",
                p.model.weight_decay,
                "λ ≥ 0",
            ));
        }
        if !p.model.a0.is_finite() {
            return Err(Error::problem("model.a0", p.model.a0, "a finite number"));
        }
        let (quad, data_law, dataset) = build_data(lp)?;
        let net = Network {
            activation,
            bias: p.model.bias,
            frozen_a: (!p.model.train_a).then_some(p.model.a0),
            weight_decay: p.model.weight_decay,
            dim_x: quad.dim,
        };
        let target = build_target(lp, &net, dataset)?;
        let fstar = target.at_nodes(&net, &quad)?;
        let d = net.dim_theta();
        let grid = build_grid(lp, &net)?;
        let (noise, t_end, snapshot_times) = build_dynamics(lp)?;
        let initial = build_initial(lp, d)?;
        let scheme = build_scheme(lp)?;
        let f_points = build_f_points(lp, &quad)?;
        let box_mass: f64 = initial.cell_masses(&grid).iter().sum();
        if box_mass.is_nan() || box_mass < MIN_BOX_MASS {
            return Err(Error::problem(
                "initial",
                format!("a law with {:.3} of its mass inside the grid box", box_mass),
                format!(
                    "an initial law mostly inside grid.lo..grid.hi (at least {MIN_BOX_MASS}); widen the box or move the law"
                ),
            ));
        }
        Ok(Setup {
            name: lp.name(),
            problem_toml: lp.toml.clone(),
            net,
            quad,
            data_law,
            target,
            fstar,
            noise,
            t_end,
            snapshot_times,
            initial,
            grid,
            scheme,
            f_points,
            box_mass,
            particles: match &lp.problem.particles {
                Some(_) => Some(ParticleOptions::from_problem(lp)?),
                None => None,
            },
        })
    }

    /// ρ0 as cell averages of mass 1.
    pub fn rho0(&self) -> Vec<f64> {
        self.initial.cell_averages(&self.grid).0
    }
}

fn build_data(lp: &LoadedProblem) -> Result<(Quadrature, DataLaw, Option<DataSet>)> {
    let d = &lp.problem.data;
    let nodes = || -> Result<usize> {
        match d.nodes {
            Some(n) if (1..=256).contains(&n) => Ok(n),
            Some(n) => Err(Error::problem(
                "data.nodes",
                n,
                "1 to 256 nodes per dimension",
            )),
            None => Err(Error::problem(
                "data.nodes",
                "missing",
                "1 to 256 nodes per dimension",
            )),
        }
    };
    let dim = || -> Result<usize> {
        match d.dim {
            Some(n) if (1..=3).contains(&n) => Ok(n),
            Some(n) => Err(Error::problem("data.dim", n, "d_x from 1 to 3")),
            None => Err(Error::problem("data.dim", "missing", "d_x from 1 to 3")),
        }
    };
    match d.law.as_str() {
        "gaussian" => {
            let s = d.std.unwrap_or(1.0);
            if !(s > 0.0 && s.is_finite()) {
                return Err(Error::problem("data.std", s, "s > 0"));
            }
            Ok((
                Quadrature::gaussian(dim()?, s, nodes()?),
                DataLaw::Gaussian { std: s },
                None,
            ))
        }
        "uniform" => {
            let n = dim()?;
            let lo = vec_of("data.lo", &d.lo, n, "one per input dimension")?;
            let hi = vec_of("data.hi", &d.hi, n, "one per input dimension")?;
            check_box("data", &lo, &hi)?;
            Ok((
                Quadrature::uniform(&lo, &hi, nodes()?),
                DataLaw::Uniform { lo, hi },
                None,
            ))
        }
        "dataset" => {
            let Some(file) = &d.file else {
                return Err(Error::problem("data.file", "missing", "a CSV file x0,…,y"));
            };
            let path = lp.base_dir.join(file);
            let ds = DataSet::read_csv(&path)?;
            if !(1..=3).contains(&ds.dim) {
                return Err(Error::problem(
                    "data.file",
                    format!("{} input columns", ds.dim),
                    "1 to 3 input columns before the label",
                ));
            }
            if let Some(n) = d.dim {
                if n != ds.dim {
                    return Err(Error::problem(
                        "data.dim",
                        n,
                        format!("the data file's {} input columns", ds.dim),
                    ));
                }
            }
            Ok((
                Quadrature::samples(ds.dim, ds.x.clone()),
                DataLaw::Samples,
                Some(ds),
            ))
        }
        other => Err(Error::problem(
            "data.law",
            format!("{other:?}"),
            "one of gaussian, uniform, dataset",
        )),
    }
}

fn build_target(lp: &LoadedProblem, net: &Network, ds: Option<DataSet>) -> Result<Target> {
    let t = &lp.problem.target;
    match t.kind.as_str() {
        "teacher" => {
            let rows = t.teacher.clone().unwrap_or_default();
            if rows.is_empty() {
                return Err(Error::problem(
                    "target.teacher",
                    "missing",
                    "a list of units [a*, w*_1, …, w*_{d_w}]",
                ));
            }
            for r in &rows {
                if r.len() != 1 + net.dim_w() || r.iter().any(|x| !x.is_finite()) {
                    return Err(Error::problem(
                        "target.teacher",
                        format!("{r:?}"),
                        format!(
                            "units of {} finite numbers [a*, w*] (d_w = {})",
                            1 + net.dim_w(),
                            net.dim_w()
                        ),
                    ));
                }
            }
            Ok(Target::Teacher(rows))
        }
        "expression" => match &t.expression {
            Some(e) => Target::expression(e, net.dim_x),
            None => Err(Error::problem(
                "target.expression",
                "missing",
                "an expression in x0, x1, …",
            )),
        },
        "labels" => match ds {
            Some(ds) => Ok(Target::Labels(ds.y)),
            None => Err(Error::problem(
                "target.kind",
                "\"labels\"",
                "labels only with data.law = \"dataset\"",
            )),
        },
        other => Err(Error::problem(
            "target.kind",
            format!("{other:?}"),
            "one of teacher, expression, labels",
        )),
    }
}

fn build_grid(lp: &LoadedProblem, net: &Network) -> Result<Grid> {
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
    if let Some(&n) = g.cells.iter().find(|&&n| !(4..=1 << 14).contains(&n)) {
        return Err(Error::problem(
            "grid.cells",
            format!("{:?} (has {n})", g.cells),
            "4 to 16384 cells per axis",
        ));
    }
    Ok(Grid::new(lo, hi, g.cells.clone(), net.axis_names()))
}

fn build_dynamics(lp: &LoadedProblem) -> Result<(f64, f64, Vec<f64>)> {
    let dy = &lp.problem.dynamics;
    if !(dy.noise >= 0.0 && dy.noise.is_finite()) {
        return Err(Error::problem("dynamics.noise", dy.noise, "η ≥ 0"));
    }
    if !(dy.t_end > 0.0 && dy.t_end.is_finite()) {
        return Err(Error::problem(
            "dynamics.t_end",
            dy.t_end,
            "a positive end time",
        ));
    }
    let times = match &dy.snapshots {
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
                && ts.iter().all(|&t| (0.0..=dy.t_end).contains(&t));
            if !ok {
                return Err(Error::problem(
                    "dynamics.snapshots",
                    format!("{ts:?}"),
                    format!("increasing times in [0, t_end = {}]", dy.t_end),
                ));
            }
            ts.clone()
        }
    };
    Ok((dy.noise, dy.t_end, times))
}

fn build_initial(lp: &LoadedProblem, d: usize) -> Result<InitialLaw> {
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
        other => Err(Error::problem(
            "initial.kind",
            format!("{other:?}"),
            "one of gaussian, uniform, mixture",
        )),
    }
}

fn build_scheme(lp: &LoadedProblem) -> Result<SchemeOptions> {
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
    Ok(SchemeOptions {
        cfl: s.cfl,
        limiter: Limiter::parse(&s.limiter)?,
        diffusion: DiffusionKind::parse(&s.diffusion)?,
        dt_max: s.dt_max,
        history_every: s.history_every,
    })
}

fn build_f_points(lp: &LoadedProblem, quad: &Quadrature) -> Result<Vec<Vec<f64>>> {
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
