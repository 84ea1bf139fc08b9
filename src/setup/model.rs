//! `[model]`, `[data]` and `[target]`: the network, P with its quadrature,
//! f*, λ and η, checked and built into the [`MeanField`].

use super::{check_box, vec_of};
use crate::error::{Error, Result};
use crate::model::{Activation, DataLaw, DataSet, MeanField, Network, Quadrature, Target};
use crate::problem::LoadedProblem;

/// The model of a problem (η from `[dynamics]`).
pub(super) fn build(lp: &LoadedProblem) -> Result<MeanField> {
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
    let noise = p.dynamics.noise;
    if !(noise >= 0.0 && noise.is_finite()) {
        return Err(Error::problem("dynamics.noise", noise, "η ≥ 0"));
    }
    let (quad, data_law, dataset) = build_data(lp)?;
    let net = Network {
        activation,
        bias: p.model.bias,
        frozen_a: (!p.model.train_a).then_some(p.model.a0),
        dim_x: quad.dim,
    };
    let target = build_target(lp, &net, dataset)?;
    MeanField::new(net, quad, data_law, target, p.model.weight_decay, noise)
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
