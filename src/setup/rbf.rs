//! The checks of a problem with Gaussian RBF units (docs/model.md §7):
//! `model.unit = "rbf"` with its `width`, `data.law = "lebesgue"` on a box
//! or the whole line, and a target of Gaussian bumps.

use super::{check_box, vec_of};
use crate::error::{Error, Result};
use crate::model::rbf::{nodes_for, whole_line_box};
use crate::model::{Activation, Bump, DataLaw, Quadrature, Rbf, Target};
use crate::problem::LoadedProblem;

/// Nodes per dimension of a Lebesgue rule at most (a 2-D rule is their
/// square, and the grid's tables are #y points × #nodes).
pub const MAX_LEBESGUE_NODES: usize = 1024;

/// The unit of `[model]`: an activation (ridge units), or RBF bumps of
/// variance `width`. RBF units take no activation, no degree, no bias and no
/// `[symmetry]`, and their data law is Lebesgue measure.
pub(super) fn unit(lp: &LoadedProblem) -> Result<(Activation, Option<Rbf>)> {
    let m = &lp.problem.model;
    match m.unit.as_deref().unwrap_or("ridge") {
        "ridge" => {
            if let Some(w) = m.width {
                return Err(Error::problem(
                    "model.width",
                    w,
                    "no width for ridge units (only with model.unit = \"rbf\")",
                ));
            }
            if lp.problem.data.law == "lebesgue" {
                return Err(Error::problem(
                    "data.law",
                    "\"lebesgue\" with ridge units",
                    "lebesgue only with model.unit = \"rbf\" (a ridge unit's risk over the \
                     line is infinite; on a box, law = \"uniform\" is the same up to its volume)",
                ));
            }
            Ok((Activation::parse(&m.activation, m.degree)?, None))
        }
        "rbf" => {
            let s = m.width.ok_or_else(|| {
                Error::problem("model.width", "missing", "s > 0, the variance of the bump")
            })?;
            if !(s > 0.0 && s.is_finite()) {
                return Err(Error::problem(
                    "model.width",
                    s,
                    "s > 0, the variance of the bump",
                ));
            }
            let refuse = |field: &str, value: String, allowed: &str| {
                Err(Error::problem(field, value, allowed))
            };
            if !m.activation.is_empty() {
                return refuse(
                    "model.activation",
                    format!("{:?} with unit = \"rbf\"", m.activation),
                    "no activation for RBF units (φ(x; y) is the Gaussian bump)",
                );
            }
            if let Some(k) = m.degree {
                return refuse("model.degree", k.to_string(), "no degree for RBF units");
            }
            if m.bias {
                return refuse("model.bias", "true".into(), "false for RBF units");
            }
            if lp.problem.symmetry.is_some() {
                return refuse(
                    "symmetry",
                    "a [symmetry] section with unit = \"rbf\"".into(),
                    "no [symmetry] for RBF units (the reduction is for σ(w·x) on Gaussian data)",
                );
            }
            if lp.problem.data.law != "lebesgue" {
                return refuse(
                    "data.law",
                    format!("{:?} with unit = \"rbf\"", lp.problem.data.law),
                    "lebesgue (docs/model.md §7: R = ½∫(f − f*)² dx)",
                );
            }
            // the activation is never read for RBF units
            Ok((Activation::Linear, Some(Rbf { variance: s })))
        }
        other => Err(Error::problem(
            "model.unit",
            format!("{other:?}"),
            "ridge (σ(w·x̃)) or rbf (Gaussian bumps)",
        )),
    }
}

/// The rows of `target.bumps`, checked: (b, y_1, …, y_d, v) with v > 0.
pub(super) fn bumps(lp: &LoadedProblem, dim: usize) -> Result<Vec<Bump>> {
    let rows = lp.problem.target.bumps.clone().unwrap_or_default();
    let what = || {
        format!(
            "rows of {} finite numbers [b, y_1, …, y_{dim}, v], v > 0",
            dim + 2
        )
    };
    if rows.is_empty() {
        return Err(Error::problem("target.bumps", "missing", what()));
    }
    rows.iter()
        .map(|r| match r.as_slice() {
            [b, y @ .., v] if y.len() == dim && r.iter().all(|x| x.is_finite()) && *v > 0.0 => {
                Ok(Bump {
                    weight: *b,
                    centre: y.to_vec(),
                    variance: *v,
                })
            }
            _ => Err(Error::problem("target.bumps", format!("{r:?}"), what())),
        })
        .collect()
}

/// The quadrature and law of `data.law = "lebesgue"` in d_x = 1 or 2
/// dimensions: Gauss–Legendre on the box lo..hi, or, with neither given, on
/// the whole line cut where every integrand is below e^{−40} of its peak
/// ([`whole_line_box`]) — which needs a target whose tails are known
/// (bumps or a teacher), and takes the centres from the grid's y box.
/// `data.nodes` defaults to the count that resolves the narrowest bump
/// product ([`nodes_for`]).
pub(super) fn lebesgue(lp: &LoadedProblem, unit: Rbf) -> Result<(Quadrature, DataLaw)> {
    let (lo, hi, n) = lebesgue_rule(lp, unit)?;
    Ok((
        Quadrature::lebesgue(&lo, &hi, n),
        DataLaw::Lebesgue { lo, hi },
    ))
}

/// The box of [`lebesgue`]'s rule and its nodes per dimension.
fn lebesgue_rule(lp: &LoadedProblem, unit: Rbf) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let p = &lp.problem;
    let d = &p.data;
    let dim = match d.dim.or(d.lo.as_ref().map(Vec::len)) {
        Some(n) if (1..=2).contains(&n) => n,
        Some(n) => return Err(Error::problem("data.dim", n, "d_x = 1 or 2 for RBF units")),
        None => {
            return Err(Error::problem(
                "data.dim",
                "missing",
                "d_x = 1 or 2 for RBF units",
            ))
        }
    };
    let target_bumps = match p.target.kind.as_str() {
        "bumps" => bumps(lp, dim)?,
        _ => Vec::new(),
    };
    let (lo, hi) = match (&d.lo, &d.hi) {
        (None, None) => {
            let (centres, v_max) = match p.target.kind.as_str() {
                "bumps" => (
                    target_bumps
                        .iter()
                        .map(|b| b.centre.clone())
                        .collect::<Vec<_>>(),
                    target_bumps
                        .iter()
                        .fold(unit.variance, |v, b| v.max(b.variance)),
                ),
                "teacher" => (
                    p.target
                        .teacher
                        .iter()
                        .flatten()
                        .map(|r| r.iter().skip(1).copied().collect())
                        .collect(),
                    unit.variance,
                ),
                other => {
                    return Err(Error::problem(
                        "data.lo",
                        format!("missing (the whole line) with target.kind = {other:?}"),
                        "a box data.lo..data.hi, or a target of bumps or a teacher \
                         (whose tails the whole line's cut is derived from)",
                    ))
                }
            };
            // the y axes of the grid: the last d_x
            let g = &p.grid;
            let tail = |v: &[f64]| v.get(v.len().saturating_sub(dim)..).unwrap_or(&[]).to_vec();
            let (mut lo, mut hi) = (tail(&g.lo), tail(&g.hi));
            if lo.len() != dim || hi.len() != dim {
                return Err(Error::problem(
                    "grid.lo",
                    format!("{:?}", g.lo),
                    "one entry per phase-space axis (the whole line's cut reads the y box)",
                ));
            }
            for c in &centres {
                for k in 0..dim.min(c.len()) {
                    lo[k] = lo[k].min(c[k]);
                    hi[k] = hi[k].max(c[k]);
                }
            }
            let (lo, hi) = whole_line_box(&lo, &hi, v_max);
            (lo, hi)
        }
        _ => {
            let lo = vec_of("data.lo", &d.lo, dim, "one per input dimension")?;
            let hi = vec_of("data.hi", &d.hi, dim, "one per input dimension")?;
            check_box("data", &lo, &hi)?;
            (lo, hi)
        }
    };
    // the narrowest product of two bumps the rule must resolve
    let v_min = target_bumps
        .iter()
        .fold(unit.variance, |v, b| v.min(b.variance));
    let widest = lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max);
    let n = match d.nodes {
        Some(n) if (1..=MAX_LEBESGUE_NODES).contains(&n) => n,
        Some(n) => {
            return Err(Error::problem(
                "data.nodes",
                n,
                format!("1 to {MAX_LEBESGUE_NODES} nodes per dimension"),
            ))
        }
        None => match nodes_for(widest, v_min) {
            n if n <= MAX_LEBESGUE_NODES => n,
            n => {
                return Err(Error::problem(
                    "data.nodes",
                    format!("missing, and the default would be {n}"),
                    format!(
                    "1 to {MAX_LEBESGUE_NODES} nodes per dimension: give a smaller box or a count"
                ),
                ))
            }
        },
    };
    Ok((lo, hi, n))
}

/// `target.kind = "bumps"` (any unit; its x has d_x entries).
pub(super) fn bumps_target(lp: &LoadedProblem, dim_x: usize) -> Result<Target> {
    Ok(Target::Bumps(bumps(lp, dim_x)?))
}

/// The nodes per dimension of a valid `data.law = "lebesgue"` problem's rule
/// (given or derived), for the budget's count before the full setup; `None`
/// when the problem is not one, or is refused.
pub fn lebesgue_nodes(lp: &LoadedProblem) -> Option<usize> {
    match unit(lp).ok()? {
        (_, Some(u)) => lebesgue_rule(lp, u).ok().map(|(_, _, n)| n),
        _ => None,
    }
}
