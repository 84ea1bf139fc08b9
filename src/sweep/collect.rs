//! **One labelled result** of a study's points: group `/study` with a
//! dimension per axis (or `point` for zipped axes) and `seed`, each axis's
//! values as its coordinate (numbers, or text labels), every measure on
//! those dimensions, every curve on them and `time`, and `failed` (1 where
//! a point's run failed; its error in `/study@errors`). `/study@dims`
//! lists the dimensions in order, `/study@labels_<axis>` a text axis's
//! labels, one per line (for readers without string datasets).

use super::local::{Done, Status};
use super::measure::Measure;
use super::study::Study;
use crate::error::{Error, Result};
use crate::io::hdf5::read::Reader;
use crate::io::store::{Attr, Dims, Group, Header, Results, Variable};
use std::path::Path;

fn var(name: &str, dims: &[String], shape: &[usize], data: Vec<f64>, long_name: &str) -> Variable {
    Variable {
        name: name.to_string(),
        dims: dims.to_vec(),
        shape: shape.to_vec(),
        data,
        long_name: long_name.to_string(),
        units: String::new(),
        integer: false,
    }
}

/// The measures' names and how to take them, the per-axis `w1` expanded.
fn columns<'a>(study: &'a Study, axes: &[String]) -> Vec<(String, &'a Measure)> {
    study
        .measures
        .iter()
        .flat_map(|m| m.names(axes).into_iter().map(move |n| (n, m)))
        .collect()
}

/// Gather the points' files in `dir` into one result (`done`: how each
/// point went, in point order).
///
/// # Errors
/// A complete point file that lacks what is measured, or curves whose
/// snapshot times differ between points.
pub fn collect(study: &Study, dir: &Path, done: &[Done]) -> Result<Results> {
    let points = study.points();
    let dims = study.dims();
    let shape = study.shape();
    let n = points.len();
    let phase_axes: Vec<String> = match crate::setup::Setup::new(&study.base) {
        Ok(s) => s.grid.names.clone(),
        Err(_) => Vec::new(),
    };
    let cols = columns(study, &phase_axes);
    let mut values = vec![vec![f64::NAN; n]; cols.len()];
    let mut curves: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); n]; study.curves.len()];
    let mut times: Option<(usize, Vec<f64>)> = None;
    let mut failed = vec![0.0; n];
    let mut errors = Vec::new();
    for (p, d) in points.iter().zip(done) {
        if let Status::Failed(e) = &d.status {
            failed[p.index] = 1.0;
            errors.push(format!("p{:05} ({}): {e}", p.index, p.label));
            continue;
        }
        let file = Study::point_file(dir, p);
        let r = Reader::open(&file)?;
        let at = |e: Error| Error::Hdf5(format!("{} ({}): {e}", file.display(), p.label));
        let mut k = 0;
        for m in &study.measures {
            for v in m.values(&r, study.kind, phase_axes.len()).map_err(at)? {
                values[k][p.index] = v;
                k += 1;
            }
        }
        for (c, m) in study.curves.iter().enumerate() {
            let (t, v) = m.curve(&r).map_err(at)?;
            match &times {
                None => times = Some((p.index, t)),
                Some((first, t0)) if *t0 != t => {
                    return Err(Error::Run(format!(
                        "the curves need the points' common snapshot times: point {} ({}) has {} snapshots up to {}, point {first} has {} up to {} (make dynamics.t_end and dynamics.snapshots the same for every point)",
                        p.index,
                        p.label,
                        t.len(),
                        t[t.len() - 1],
                        t0.len(),
                        t0[t0.len() - 1]
                    )))
                }
                _ => {}
            }
            curves[c][p.index] = v;
        }
    }
    let mut vars = Vec::new();
    let mut labels = Vec::new();
    // coordinates: the axes (along `point` when zipped), the seed, time
    for a in &study.axes {
        let (dim, len) = match study.zip {
            true => ("point".to_string(), a.values.len()),
            false => (a.name.clone(), a.values.len()),
        };
        let long = format!("{} (the override of each point)", a.key);
        match (a.numbers(), study.zip) {
            (Some(x), _) => vars.push(var(&a.name, &[dim], &[len], x, &long)),
            (None, false) => labels.push((a.name.clone(), a.labels())),
            // a zipped text axis: its labels in the attributes
            (None, true) => {}
        }
    }
    if let Some(s) = study.seeds {
        let mut v = var(
            "seed",
            &["seed".into()],
            &[s],
            (0..s).map(|i| i as f64).collect(),
            "particles.seed",
        );
        v.integer = true;
        vars.push(v);
    }
    for spec in &study.fits {
        let Some(c) = cols.iter().position(|(n, _)| *n == spec.measure) else {
            return Err(Error::Parse(format!(
                "fits: {} is not a measure of this study (its measures: {})",
                spec.measure,
                cols.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let axis = &study.axes[spec.axis];
        let x = axis.numbers().expect("a numeric axis (checked)");
        let (slope, se) = super::fits::fit_measure(
            &values[c],
            &shape,
            study.seeds.is_some(),
            spec.axis,
            &x,
            spec.scale,
        );
        let (fdims, fshape): (Vec<String>, Vec<usize>) = study
            .axes
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != spec.axis)
            .map(|(_, a)| (a.name.clone(), a.values.len()))
            .unzip();
        let name = format!("fit_{}_{}", spec.measure, axis.name);
        let what = format!(
            "slope of {} ({}) of the seed mean of {} against {}",
            match spec.scale {
                super::fits::Scale::LogLog => "ln y against ln x",
                super::fits::Scale::Log => "y against ln x",
                super::fits::Scale::Linear => "y against x",
            },
            spec.scale.name(),
            spec.measure,
            axis.name
        );
        vars.push(var(&name, &fdims, &fshape, slope, &what));
        vars.push(var(
            &format!("{name}_se"),
            &fdims,
            &fshape,
            se,
            &format!("standard error of the {what} (from the residuals; NaN with two points)"),
        ));
    }
    for ((name, m), data) in cols.iter().zip(values) {
        vars.push(var(name, &dims, &shape, data, &m.long_name(study.kind)));
    }
    if let Some((_, t)) = &times {
        vars.push(var(
            "time",
            &["time".into()],
            &[t.len()],
            t.clone(),
            "mean-field time t",
        ));
        let mut cdims = dims.clone();
        cdims.push("time".into());
        let mut cshape = shape.clone();
        cshape.push(t.len());
        for (m, per_point) in study.curves.iter().zip(curves) {
            let data: Vec<f64> = per_point
                .into_iter()
                .flat_map(|c| match c.is_empty() {
                    true => vec![f64::NAN; t.len()],
                    false => c,
                })
                .collect();
            let name = format!("{}_over_time", m.names(&[])[0]);
            let long = m
                .long_name(study.kind)
                .replace(" at t_end", " at each snapshot");
            vars.push(var(&name, &cdims, &cshape, data, &long));
        }
    }
    let mut f = var(
        "failed",
        &dims,
        &shape,
        failed,
        "1 where the point's run failed (its error in /study@errors)",
    );
    f.integer = true;
    vars.push(f);
    let zipped_labels: Vec<String> = study
        .axes
        .iter()
        .filter(|a| study.zip && a.numbers().is_none())
        .map(|a| format!("{}: {}", a.name, a.labels().join(", ")))
        .collect();
    let mut attrs = vec![
        ("command".to_string(), Attr::Str(study.kind.name().into())),
        ("study".to_string(), Attr::Str(study.text.clone())),
        ("points".to_string(), Attr::U64(n as u64)),
        (
            "points_folder".to_string(),
            Attr::Str(dir.display().to_string()),
        ),
        ("errors".to_string(), Attr::Str(errors.join("\n"))),
        (
            "keys".to_string(),
            Attr::Str(
                study
                    .axes
                    .iter()
                    .map(|a| format!("{} = {}", a.name, a.key))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
    ];
    attrs.push(("dims".into(), Attr::Str(dims.join(","))));
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    attrs.push(("measures".into(), Attr::Str(names.join(","))));
    for (name, l) in &labels {
        attrs.push((format!("labels_{name}"), Attr::Str(l.join("\n"))));
    }
    if !zipped_labels.is_empty() {
        attrs.push(("point_labels".into(), Attr::Str(zipped_labels.join("; "))));
    }
    let header = Header {
        problem: study.base.toml.clone(),
        data_digest: None,
        dims: Dims {
            labels,
            ..Dims::default()
        },
    };
    let mut results = Results::new(&header);
    results.groups.push(Group {
        path: "study".into(),
        attrs,
        vars,
    });
    results.set_attr("status", Attr::Str("complete".into()));
    Ok(results)
}
