//! `[model]`, `[data]`, `[target]` and `[symmetry]`: the network, P with
//! its quadrature, f*, λ and η, checked and built into the [`MeanField`]
//! (on the reduced coordinates of docs/model.md §6 when `[symmetry]` is given).

use super::{check_box, positive, vec_of};
use crate::error::{Error, Result};
use crate::model::{
    DataLaw, DataSet, MeanField, Network, Quadrature, Reduced, Reduction, Tables, Target,
};
use crate::problem::{LoadedProblem, MAX_TABLE_TOL};

/// d of a reduced problem at most.
pub const MAX_REDUCED_DIM: usize = 10_000;

/// The model of a problem (η from `[dynamics]`).
pub(super) fn build(lp: &LoadedProblem) -> Result<MeanField> {
    let p = &lp.problem;
    let (activation, rbf) = super::rbf::unit(lp)?;
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
    let noise = p.dynamics.noise;
    if !(noise >= 0.0 && noise.is_finite()) {
        return Err(Error::problem("dynamics.noise", noise, "η ≥ 0"));
    }
    let alpha = p.dynamics.birth_death;
    if !(alpha >= 0.0 && alpha.is_finite()) {
        return Err(Error::problem(
            "dynamics.birth_death",
            alpha,
            "α ≥ 0 (0: no birth–death)",
        ));
    }
    let reduction = build_symmetry(lp)?;
    let (quad, data_law, labels) = match rbf {
        Some(u) => {
            let (q, law) = super::rbf::lebesgue(lp, u)?;
            (q, law, None)
        }
        None => build_data(lp, reduction.as_ref())?,
    };
    let net = Network {
        activation,
        bias: p.model.bias,
        frozen_a: (!p.model.train_a).then_some(p.model.a0),
        dim_x: quad.dim,
        reduced: reduction.as_ref().map(|r| r.sizes),
        rbf,
    };
    let target = build_target(lp, &net, labels)?;
    let mut model = MeanField::new(net, quad, data_law, target, p.model.weight_decay, noise)?;
    model.birth_death = alpha;
    let tol = p.solver.table_tol;
    if !(tol > 0.0 && tol <= MAX_TABLE_TOL) {
        return Err(Error::problem(
            "solver.table_tol",
            tol.to_string(),
            format!("a tolerance in (0, {MAX_TABLE_TOL:e}]"),
        ));
    }
    model.tables = match p.solver.tables.as_deref() {
        // a reduced unit's tables are of low rank (README, "Low-rank
        // tables"): by default in low rank
        None if reduction.is_some() => Tables::LowRank { tol },
        None | Some("whole") => Tables::Whole,
        Some("low_rank") => Tables::LowRank { tol },
        Some("on_the_fly") => Tables::OnTheFly,
        Some(other) => {
            return Err(Error::problem(
                "solver.tables",
                format!("{other:?}"),
                "whole, low_rank or on_the_fly",
            ))
        }
    };
    Ok(match reduction {
        Some(r) => model.reduced(r),
        None => model,
    })
}

/// The least cosine nodes for a nonlinear unit: fewer leave
/// E_t σ(p·ξ + rρt) percents off for a smooth σ (1 node: the risk 27 % off
/// on single_index's problem). A linear unit's averages are polynomials of
/// low degree in t, exact from 2 nodes.
pub const MIN_COSINE_NODES: usize = 8;

/// The sizes of `[symmetry]`'s rules, in range for the unit `activation`.
pub(super) fn check_symmetry_sizes(
    s: &crate::problem::SymmetrySpec,
    activation: &str,
) -> Result<()> {
    let least = if activation == "linear" {
        2
    } else {
        MIN_COSINE_NODES
    };
    if !(1..=512).contains(&s.radial_nodes) {
        return Err(Error::problem(
            "symmetry.radial_nodes",
            s.radial_nodes,
            "1 to 512 nodes",
        ));
    }
    if !(least..=512).contains(&s.cosine_nodes) {
        return Err(Error::problem(
            "symmetry.cosine_nodes",
            s.cosine_nodes,
            format!(
                "{least} to 512 nodes for {activation} units (fewer leave the cosine average off)"
            ),
        ));
    }
    Ok(())
}

/// `[symmetry]`: k, the rules' sizes, and what the reduction needs of the
/// rest of the problem (Gaussian data without bias, 1 ≤ k + 1 ≤ d ≤ 10⁴).
fn build_symmetry(lp: &LoadedProblem) -> Result<Option<Reduction>> {
    let p = &lp.problem;
    let Some(s) = &p.symmetry else {
        return Ok(None);
    };
    if s.directions > 2 {
        return Err(Error::problem(
            "symmetry.directions",
            s.directions,
            "k = 0, 1 or 2 directions",
        ));
    }
    check_symmetry_sizes(s, &p.model.activation)?;
    if !matches!(p.data.law.as_str(), "gaussian" | "gaussian_scales") {
        return Err(Error::problem(
            "data.law",
            format!("{:?} with [symmetry]", p.data.law),
            "gaussian or gaussian_scales (the reduction needs isotropic Gaussian data)",
        ));
    }
    if p.model.bias {
        return Err(Error::problem(
            "model.bias",
            "true with [symmetry]",
            "false: the reduction needs units σ(w·x) without bias",
        ));
    }
    let k = s.directions;
    let dim = match p.data.dim {
        Some(d) if d > k && d <= MAX_REDUCED_DIM => d,
        other => {
            return Err(Error::problem(
                "data.dim",
                other.map_or("missing".to_string(), |d| d.to_string()),
                format!(
                    "d from k + 1 = {} to {MAX_REDUCED_DIM} with symmetry.directions = {k}",
                    k + 1
                ),
            ))
        }
    };
    Ok(Some(Reduction::new(Reduced { dim, k }, s.cosine_nodes)))
}

/// The SHA-256 of the problem's data file, when its data are a file.
pub(super) fn data_digest(lp: &LoadedProblem) -> Result<Option<String>> {
    let d = &lp.problem.data;
    match (d.law.as_str(), &d.file) {
        ("dataset", Some(file)) => {
            let path = lp.base_dir.join(file);
            let bytes =
                crate::files::read_capped(&path, "data.file", crate::files::MAX_DATA_BYTES)?;
            Ok(Some(crate::model::data::file_digest(&bytes)))
        }
        _ => Ok(None),
    }
}

/// The quadrature of P (of x̄ = (Uᵀx, |x⊥|) when reduced), the law for
/// sampling, and the labels at the nodes when the data carry labels.
fn build_data(
    lp: &LoadedProblem,
    reduction: Option<&Reduction>,
) -> Result<(Quadrature, DataLaw, Option<Vec<f64>>)> {
    let d = &lp.problem.data;
    let radial = lp.problem.symmetry.as_ref().map_or(0, |s| s.radial_nodes);
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
        if let Some(r) = reduction {
            return Ok(r.sizes.dim);
        }
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
            let quad = match reduction {
                Some(r) => r.quadrature(s, nodes()?, radial),
                None => Quadrature::gaussian(dim()?, s, nodes()?),
            };
            Ok((quad, DataLaw::Gaussian { std: s }, None))
        }
        "gaussian_scales" => {
            let c = d.scales.as_ref().map_or(0, Vec::len);
            if c == 0 {
                return Err(Error::problem(
                    "data.scales",
                    "missing",
                    "a list of class scales s_c > 0 (x ~ N(0, s_c² I) in class c)",
                ));
            }
            let scales = vec_of("data.scales", &d.scales, c, "one per class")?;
            positive("data.scales", &scales)?;
            let weights = match &d.weights {
                None => vec![1.0 / c as f64; c],
                Some(_) => {
                    let w = vec_of("data.weights", &d.weights, c, "one per class")?;
                    positive("data.weights", &w)?;
                    let sum: f64 = w.iter().sum();
                    if (sum - 1.0).abs() > 1e-9 {
                        return Err(Error::problem(
                            "data.weights",
                            format!("{w:?} (sum {sum})"),
                            "class probabilities summing to 1",
                        ));
                    }
                    w
                }
            };
            let labels =
                match &d.labels {
                    None => None,
                    Some(_) if lp.problem.target.kind != "labels" => return Err(Error::problem(
                        "data.labels",
                        format!(
                            "{:?} with target.kind = {:?}",
                            d.labels.as_deref().unwrap_or_default(),
                            lp.problem.target.kind
                        ),
                        "class labels only with target.kind = \"labels\" (else f* is the target)",
                    )),
                    Some(_) => Some(vec_of("data.labels", &d.labels, c, "one per class")?),
                };
            let (n, n_dim) = (nodes()?, dim()?);
            let parts: Vec<Quadrature> = scales
                .iter()
                .map(|&s| match reduction {
                    Some(r) => r.quadrature(s, n, radial),
                    None => Quadrature::gaussian(n_dim, s, n),
                })
                .collect();
            let quad = Quadrature::union(&parts, &weights);
            let node_labels = labels.as_ref().map(|y| {
                parts
                    .iter()
                    .zip(y)
                    .flat_map(|(q, &y)| std::iter::repeat_n(y, q.len()))
                    .collect()
            });
            Ok((
                quad,
                DataLaw::GaussianScales {
                    scales,
                    weights,
                    labels,
                },
                node_labels,
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
            let DataSet { dim, x, y } = ds;
            Ok((Quadrature::samples(dim, x), DataLaw::Samples, Some(y)))
        }
        other => Err(Error::problem(
            "data.law",
            format!("{other:?}"),
            "one of gaussian, gaussian_scales, uniform, dataset",
        )),
    }
}

fn build_target(lp: &LoadedProblem, net: &Network, labels: Option<Vec<f64>>) -> Result<Target> {
    let t = &lp.problem.target;
    // a reduced teacher's units act on Uᵀx (k entries); an expression reads
    // x0 … x_{k−1} = Uᵀx and x_k = |x⊥|
    let dim_w = net.reduced.map_or(net.dim_w(), |r| r.k);
    match t.kind.as_str() {
        "teacher" if dim_w == 0 => Err(Error::problem(
            "target.kind",
            "\"teacher\" with symmetry.directions = 0",
            "labels or an expression in x0 = |x| when k = 0",
        )),
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
                if r.len() != 1 + dim_w || r.iter().any(|x| !x.is_finite()) {
                    let what = match net.reduced {
                        Some(_) => format!(
                            "units of {} finite numbers [a*, u*] (w* = U u*, k = {dim_w})",
                            1 + dim_w
                        ),
                        None => format!(
                            "units of {} finite numbers [a*, w*] (d_w = {dim_w})",
                            1 + dim_w
                        ),
                    };
                    return Err(Error::problem("target.teacher", format!("{r:?}"), what));
                }
            }
            Ok(Target::Teacher(rows))
        }
        "bumps" if net.reduced.is_some() => Err(Error::problem(
            "target.kind",
            "\"bumps\" with [symmetry]",
            "teacher, expression or labels for a reduced problem",
        )),
        "bumps" => super::rbf::bumps_target(lp, net.dim_x),
        "expression" => match &t.expression {
            Some(e) => match net.reduced {
                Some(red) => {
                    Target::expression_in(e, &crate::model::expr::Variables::reduced(red.k))
                }
                None => Target::expression(e, net.dim_x),
            },
            None => Err(Error::problem(
                "target.expression",
                "missing",
                "an expression in x0, x1, …",
            )),
        },
        "labels" => match labels {
            Some(y) => Ok(Target::Labels(y)),
            None => Err(Error::problem(
                "target.kind",
                "\"labels\"",
                "labels only with data.law = \"dataset\", or \"gaussian_scales\" with data.labels",
            )),
        },
        other => Err(Error::problem(
            "target.kind",
            format!("{other:?}"),
            "one of teacher, expression, labels, bumps",
        )),
    }
}
