//! The curves: risk and free energy, distances over time, distances
//! against m.

use super::{draw_err, legend, Data, CURVES_SIZE};
use crate::error::Result;
use crate::io::hdf5::Reader;
use plotters::prelude::*;
use std::path::Path;

/// Log-scale line chart of named series against time.
pub(super) fn log_chart(path: &Path, title: &str, lines: &[(&str, &[f64], &[f64])]) -> Result<()> {
    let root = BitMapBackend::new(path, CURVES_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let positive = |v: &f64| *v > 0.0 && v.is_finite();
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.2.iter().cloned().filter(positive))
        .collect();
    let lo = all.iter().cloned().fold(f64::INFINITY, f64::min).min(1.0) * 0.8;
    let hi = all.iter().cloned().fold(0.0, f64::max).max(lo * 10.0) * 1.25;
    let tmax = lines
        .iter()
        .flat_map(|l| l.1.iter().cloned())
        .fold(0.0, f64::max)
        .max(1e-12);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..tmax, (lo..hi).log_scale())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("mean-field time t")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(draw_err)?;
    for (i, (label, t, v)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = t
            .iter()
            .cloned()
            .zip(v.iter().cloned())
            .filter(|p| positive(&p.1))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(draw_err)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(draw_err)
}

pub(super) fn draw_curves(data: &Data, path: &Path) -> Result<()> {
    // the history when there is one (every few steps), else the snapshots
    let (t, r, f) = if data.hist_time.len() > data.pde_time.len() {
        (&data.hist_time, &data.hist_risk, &data.hist_free_energy)
    } else {
        (&data.pde_time, &data.pde_risk, &data.free_energy)
    };
    // the free energy can be negative: it is drawn above its minimum
    let f_min = f.iter().cloned().fold(f64::INFINITY, f64::min);
    let fe: Vec<f64> = f.iter().map(|v| v - f_min).collect();
    let mut lines: Vec<(&str, &[f64], &[f64])> =
        vec![("PDE risk R_h", t, r), ("PDE F_η − min F_η", t, &fe)];
    if !data.part_time.is_empty() {
        lines.push(("particle risk R_m", &data.part_time, &data.part_risk));
    }
    log_chart(path, "risk and free energy", &lines)
}

pub(super) fn draw_distances(data: &Data, path: &Path) -> Result<()> {
    let lines: Vec<(&str, &[f64], &[f64])> = data
        .compare
        .iter()
        .map(|(n, v)| (n.as_str(), data.compare_time.as_slice(), v.as_slice()))
        .collect();
    log_chart(path, "PDE against particles", &lines)
}

pub(super) fn draw_converge(r: &Reader, path: &Path) -> Result<()> {
    let ms = r.series("converge/m")?;
    let (vs, se) = (r.series("converge/vs_m")?, r.series("converge/vs_m_se")?);
    let gaps = r.series("converge/grid_gap")?;
    let slopes = r.series("converge/slope_m")?;
    let errs = r.series("converge/slope_m_err")?;
    let names: Vec<String> = r
        .group_attr("converge", "metrics")?
        .split(',')
        .map(String::from)
        .collect();
    let nm = ms.len();
    let root = BitMapBackend::new(path, CURVES_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let pos: Vec<f64> = vs
        .iter()
        .chain(&gaps)
        .cloned()
        .filter(|v| *v > 0.0)
        .collect();
    let lo = pos.iter().cloned().fold(f64::INFINITY, f64::min) * 0.5;
    let hi = pos.iter().cloned().fold(0.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption("distances at t_end against m", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (ms[0] * 0.8..ms[nm - 1] * 1.25).log_scale(),
            (lo..hi).log_scale(),
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("neurons m")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(draw_err)?;
    for (c, name) in names.iter().enumerate() {
        let color = Palette99::pick(c).to_rgba();
        let row = &vs[c * nm..(c + 1) * nm];
        let row_se = &se[c * nm..(c + 1) * nm];
        let pts: Vec<(f64, f64)> = ms
            .iter()
            .cloned()
            .zip(row.iter().cloned())
            .filter(|p| p.1 > 0.0)
            .collect();
        let label = format!("{name}: slope {:.2} ± {:.2}", slopes[c], errs[c]);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(draw_err)?;
        chart
            .draw_series(
                ms.iter()
                    .zip(row.iter().zip(row_se))
                    .filter(|(_, (v, e))| **v - **e > 0.0)
                    .map(|(&m, (&v, &e))| {
                        PathElement::new(vec![(m, v - e), (m, v + e)], color.stroke_width(1))
                    }),
            )
            .map_err(draw_err)?;
        // the grid's own error, dashed
        if let Some(&g) = gaps.get(c).filter(|g| **g > 0.0) {
            let (x0, x1) = (ms[0] * 0.8, ms[nm - 1] * 1.25);
            let dash = (x1 / x0).powf(1.0 / 40.0);
            chart
                .draw_series((0..20).map(|i| {
                    let a = x0 * dash.powi(2 * i);
                    PathElement::new(vec![(a, g), (a * dash, g)], color.stroke_width(1))
                }))
                .map_err(draw_err)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    root.present().map_err(draw_err)
}

/// The theorems report: the distances to the Gibbs state (or the risk gap)
/// and the stationarity residual against time.
pub(super) fn draw_theorems(r: &Reader, names: &[String], path: &Path) -> Result<()> {
    let t = r.series("theorems/time")?;
    let gap_means = r.group_attr("theorems", "gap")?;
    let stat_means = r.group_attr("theorems", "stationarity")?;
    let theorem = r.group_attr("theorems", "theorem")?;
    let mut lines: Vec<(String, Vec<f64>)> = vec![
        (gap_means, r.series("theorems/gap")?),
        (
            format!("stationarity: {stat_means}"),
            r.series("theorems/stationarity")?,
        ),
    ];
    if r.has("theorems/l1") {
        lines.push(("L1 to ρ*".into(), r.series("theorems/l1")?));
        let w1 = r.rows("theorems", "w1", t.len())?;
        for (k, n) in names.iter().enumerate() {
            lines.push((
                format!("W1({n}) to ρ*"),
                w1.iter().map(|row| row[k]).collect(),
            ));
        }
    } else {
        lines.push(("risk R(ρ_t)".into(), r.series("theorems/risk")?));
    }
    let refs: Vec<(&str, &[f64], &[f64])> = lines
        .iter()
        .map(|(n, v)| (n.as_str(), t.as_slice(), v.as_slice()))
        .collect();
    log_chart(path, &format!("theorem {theorem}"), &refs)
}
