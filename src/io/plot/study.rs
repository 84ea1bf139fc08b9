//! A study's measures: each against the study's first axis, one line per
//! value of its second (the others at their first value), the mean over
//! seeds with ± one standard error.

use super::{draw_err, legend, CURVES_SIZE};
use crate::error::{Error, Result};
use crate::io::hdf5::Reader;
use plotters::prelude::*;
use std::path::Path;

/// A dimension of the collected file: its name, size and labels.
struct Dim {
    name: String,
    labels: Vec<String>,
    /// Numeric coordinates, when the axis has them.
    numbers: Option<Vec<f64>>,
}

fn dims(r: &Reader) -> Result<Vec<Dim>> {
    let names = r.group_attr("study", "dims")?;
    let mut out = Vec::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        let text = r.group_attr("study", &format!("labels_{name}"))?;
        let numbers = match text.is_empty() {
            true => r.series(&format!("study/{name}"))?,
            false => Vec::new(),
        };
        let (labels, numbers) = if !text.is_empty() {
            (text.lines().map(String::from).collect(), None)
        } else if !numbers.is_empty() {
            (
                numbers.iter().map(|v| format!("{v}")).collect(),
                Some(numbers),
            )
        } else {
            // zipped axes: `point`, sized by `failed`
            let n = r.series("study/failed")?.len();
            (
                (0..n).map(|i| i.to_string()).collect(),
                Some((0..n).map(|i| i as f64).collect()),
            )
        };
        out.push(Dim {
            name: name.to_string(),
            labels,
            numbers,
        });
    }
    Ok(out)
}

/// Mean and standard error of the finite values (NaN when none; 0 error
/// for one).
fn mean_se(v: &[f64]) -> (f64, f64) {
    let f: Vec<f64> = v.iter().cloned().filter(|x| x.is_finite()).collect();
    let n = f.len() as f64;
    if f.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = f.iter().sum::<f64>() / n;
    if f.len() < 2 {
        return (m, 0.0);
    }
    let var = f.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Draw the measure `name` of a study file into `path`.
pub(super) fn draw_study(r: &Reader, name: &str, path: &Path) -> Result<()> {
    let dims = dims(r)?;
    let values = r.series(&format!("study/{name}"))?;
    let seeds = dims
        .last()
        .filter(|d| d.name == "seed")
        .map_or(1, |d| d.labels.len());
    let axes: Vec<&Dim> = dims.iter().filter(|d| d.name != "seed").collect();
    let Some(x) = axes.first() else {
        return Err(Error::Hdf5(
            "a study without axes has nothing to plot against".into(),
        ));
    };
    let xs: Vec<f64> = x
        .numbers
        .clone()
        .unwrap_or_else(|| (0..x.labels.len()).map(|i| i as f64).collect());
    let lines = axes.get(1).map_or(1, |d| d.labels.len());
    // strides of the row-major layout [axes…, seed]
    let sizes: Vec<usize> = dims.iter().map(|d| d.labels.len()).collect();
    let stride = |k: usize| sizes[k + 1..].iter().product::<usize>();
    let mut series = Vec::new();
    for l in 0..lines {
        let pts: Vec<(f64, f64, f64)> = (0..xs.len())
            .map(|i| {
                let base = i * stride(0) + if axes.len() > 1 { l * stride(1) } else { 0 };
                let (m, se) = mean_se(&values[base..base + seeds]);
                (xs[i], m, se)
            })
            .collect();
        let label = match axes.get(1) {
            Some(d) => format!("{} = {}", d.name, d.labels[l]),
            None => name.to_string(),
        };
        series.push((label, pts));
    }
    let finite: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().flat_map(|(_, m, s)| [m - s, m + s]))
        .filter(|v| v.is_finite())
        .collect();
    let lo = finite.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = match lo < hi {
        true => (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)),
        false if lo.is_finite() => (
            lo - 0.5 * lo.abs().max(1e-12),
            lo + 0.5 * lo.abs().max(1e-12),
        ),
        false => (0.0, 1.0),
    };
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let pad = 0.05 * (x1 - x0).abs().max(1e-12);
    let rest: Vec<String> = axes
        .iter()
        .skip(2)
        .map(|d| format!("{} = {}", d.name, d.labels[0]))
        .collect();
    let caption = match (rest.is_empty(), seeds > 1) {
        (true, true) => format!("{name}: mean over {seeds} seeds ± standard error"),
        (true, false) => name.to_string(),
        (false, s) => format!(
            "{name} at {}{}",
            rest.join(", "),
            if s {
                format!(", mean over {seeds} seeds")
            } else {
                String::new()
            }
        ),
    };
    let root = BitMapBackend::new(path, CURVES_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0 - pad..x1 + pad, lo..hi)
        .map_err(draw_err)?;
    let labels = x.labels.clone();
    let numeric = x.numbers.is_some();
    chart
        .configure_mesh()
        .x_desc(x.name.as_str())
        .y_desc(name)
        .x_label_formatter(&|v| match numeric {
            true => format!("{v:.3}"),
            false => labels.get(v.round() as usize).cloned().unwrap_or_default(),
        })
        .y_label_formatter(&|v| format!("{v:.3e}"))
        .draw()
        .map_err(draw_err)?;
    for (c, (label, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(c).to_rgba();
        let line: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|p| (p.0, p.1))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(draw_err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(draw_err)?;
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| p.1.is_finite() && p.2 > 0.0)
                    .map(|&(x, m, s)| {
                        PathElement::new(vec![(x, m - s), (x, m + s)], color.stroke_width(1))
                    }),
            )
            .map_err(draw_err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(draw_err)
}

/// The measures of a study file (`/study@measures`).
pub(super) fn measures(r: &Reader) -> Result<Vec<String>> {
    Ok(r.group_attr("study", "measures")?
        .split(',')
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect())
}
