//! **Plots** (PNG, drawn by plotters into a bitmap with a font compiled into
//! the binary: no system font or library is needed), redrawn from an HDF5
//! file by `mfpde plot`. For a file `OUT.h5`:
//!
//! - `OUT_density.png` (1500 × 1000): the PDE density (top) beside the
//!   particle histogram (bottom) at the first, middle and last snapshot, on
//!   the plane of axes 0 and 1 (for D > 2 their 2-D marginals);
//! - `OUT_density.gif` (550 × 500 per panel): the same fields animated, one
//!   frame per snapshot, PDE density beside particle histogram, each panel
//!   coloured to its own maximum;
//! - `OUT_marginals.png` (500·D × 450): the one-dimensional marginals at the
//!   last snapshot, PDE (line) and particles (points);
//! - `OUT_curves.png` (900 × 600): risk and free energy of the PDE and the
//!   particles' risk against mean-field time;
//! - `OUT_distances.png` (900 × 600): L1, W1 per axis, sliced W2, risk and
//!   function gaps over time.
//!
//! - `OUT_converge.png` (900 × 600): for a `mfpde converge` file, each
//!   distance against m (mean over seeds, ± one standard error) with its
//!   fitted log-log slope in the legend, and dashed at its level the same
//!   distance between the PDE on the two finest grids (the grid's floor).
//!
//! The figures present in the file are drawn: a PDE-only file gives density
//! (and its animation) and curves.

use crate::error::{Error, Result};
use hdf5_pure::File;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Sizes of the figures, in pixels.
pub const DENSITY_SIZE: (u32, u32) = (1500, 1000);
pub const CURVES_SIZE: (u32, u32) = (900, 600);
pub const MARGINAL_SIZE: (u32, u32) = (500, 450);
/// One panel of the animation; the GIF is a row of them (PDE, particles).
pub const ANIMATION_PANEL: (u32, u32) = (550, 500);
/// Time each frame of the animation is shown.
pub const ANIMATION_DELAY_MS: u32 = 600;

static FONT: Once = Once::new();

/// Register the embedded font (Hack, from epaint_default_fonts) once.
fn register_font() {
    FONT.call_once(|| {
        for family in ["sans-serif", "monospace", "serif"] {
            plotters::style::register_font(
                family,
                FontStyle::Normal,
                epaint_default_fonts::HACK_REGULAR,
            )
            .unwrap_or_else(|_| panic!("the embedded font parses"));
        }
    });
}

fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        path: "plot".into(),
        message: e.to_string(),
    }
}

/// The legend of a chart's labelled series, boxed, at `pos`.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, pos: SeriesLabelPosition) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)
}

/// What the plots read from a results file.
struct Data {
    edges: Vec<Vec<f64>>,
    names: Vec<String>,
    pde_time: Vec<f64>,
    density: Vec<Vec<f64>>,
    pde_risk: Vec<f64>,
    free_energy: Vec<f64>,
    /// The light history (every few steps), for smoother curves.
    hist_time: Vec<f64>,
    hist_risk: Vec<f64>,
    hist_free_energy: Vec<f64>,
    part_time: Vec<f64>,
    histogram: Vec<Vec<f64>>,
    part_risk: Vec<f64>,
    compare: Vec<(String, Vec<f64>)>,
    compare_time: Vec<f64>,
}

/// Rows of a [T, …] dataset, from `<group>/<name>` or, in an interrupted
/// file, from `<group>/snapshots/<name>_NNNNN`.
fn stack(file: &File, group: &str, name: &str, t: usize) -> Result<Vec<Vec<f64>>> {
    if let Ok(ds) = file.dataset(&format!("{group}/{name}")) {
        let all = ds.read_f64()?;
        let row = all.len() / t.max(1);
        return Ok(all.chunks(row.max(1)).map(<[f64]>::to_vec).collect());
    }
    (0..t)
        .map(|i| {
            Ok(file
                .dataset(&format!("{group}/snapshots/{name}_{i:05}"))?
                .read_f64()?)
        })
        .collect()
}

fn series(file: &File, path: &str) -> Vec<f64> {
    file.dataset(path)
        .and_then(|d| d.read_f64())
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<Data> {
    let pde = super::hdf5::PdeFile::read(path)?;
    let file = File::open(path)?;
    let part_time = series(&file, "particles/time");
    let histogram = if part_time.is_empty() {
        Vec::new()
    } else {
        stack(&file, "particles", "histogram", part_time.len())?
    };
    let compare_time = series(&file, "compare/time");
    let mut compare = Vec::new();
    if !compare_time.is_empty() {
        compare.push(("L1".to_string(), series(&file, "compare/l1")));
        let w1 = stack(&file, "compare", "w1", compare_time.len())?;
        for (k, n) in pde.axis_names.iter().enumerate() {
            compare.push((format!("W1({n})"), w1.iter().map(|r| r[k]).collect()));
        }
        compare.push(("SW2".to_string(), series(&file, "compare/sw2")));
        compare.push(("risk gap".to_string(), series(&file, "compare/risk_gap")));
        compare.push(("f gap".to_string(), series(&file, "compare/f_gap")));
    }
    Ok(Data {
        part_risk: series(&file, "particles/risk"),
        edges: pde.edges,
        names: pde.axis_names,
        pde_time: pde.time,
        density: pde.density,
        pde_risk: pde.risk,
        free_energy: pde.free_energy,
        hist_time: pde.history_time,
        hist_risk: pde.history_risk,
        hist_free_energy: pde.history_free_energy,
        part_time,
        histogram,
        compare,
        compare_time,
    })
}

/// The density of the marginal on axes (0, 1) (or axis 0 alone when D = 1).
fn plane(edges: &[Vec<f64>], rho: &[f64]) -> Vec<f64> {
    let n: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    if n.len() <= 2 {
        return rho.to_vec();
    }
    let rest: usize = n[2..].iter().product();
    let vol: f64 = edges[2..].iter().map(|e| e[1] - e[0]).product();
    rho.chunks(rest)
        .map(|c| c.iter().sum::<f64>() * vol)
        .collect()
}

/// Draw every figure the file holds; returns the PNG paths.
pub fn plot_file(path: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    let data = read(path)?;
    let stem = path.with_extension("");
    let name = |suffix: &str| PathBuf::from(format!("{}_{suffix}.png", stem.display()));
    let mut out = Vec::new();
    let has_fields = !data.density.is_empty() || !data.histogram.is_empty();
    if data.edges.len() >= 2 && has_fields {
        let p = name("density");
        draw_density(&data, &p)?;
        out.push(p);
        let p = PathBuf::from(format!("{}_density.gif", stem.display()));
        draw_animation(&data, &p)?;
        out.push(p);
    }
    if has_fields {
        let p = name("marginals");
        draw_marginals(&data, &p)?;
        out.push(p);
    }
    if !data.pde_time.is_empty() || !data.part_time.is_empty() {
        let p = name("curves");
        draw_curves(&data, &p)?;
        out.push(p);
    }
    if !data.compare.is_empty() {
        let p = name("distances");
        draw_distances(&data, &p)?;
        out.push(p);
    }
    let file = File::open(path)?;
    if file.dataset("converge/m").is_ok() {
        let p = name("converge");
        draw_converge(&file, &p)?;
        out.push(p);
    }
    Ok(out)
}

/// A row of the density figure: label, fields per snapshot, their times.
type Row<'a> = (&'a str, &'a Vec<Vec<f64>>, &'a Vec<f64>);

/// The PDE density and the particle histogram, whichever the file holds.
fn density_rows(data: &Data) -> Vec<Row<'_>> {
    let mut rows: Vec<Row> = Vec::new();
    if !data.density.is_empty() {
        rows.push(("PDE ρ", &data.density, &data.pde_time));
    }
    if !data.histogram.is_empty() {
        rows.push(("particles H", &data.histogram, &data.part_time));
    }
    rows
}

/// One field on the plane of axes 0 and 1, colour scaled to its maximum.
fn draw_plane<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    data: &Data,
    title: String,
    field: &[f64],
) -> Result<()> {
    let field = plane(&data.edges, field);
    let vmax = field.iter().cloned().fold(1e-300, f64::max);
    let (e0, e1) = (&data.edges[0], &data.edges[1]);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(e0[0]..e0[e0.len() - 1], e1[0]..e1[e1.len() - 1])
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(data.names[0].as_str())
        .y_desc(data.names[1].as_str())
        .draw()
        .map_err(draw_err)?;
    let n1 = e1.len() - 1;
    chart
        .draw_series(field.iter().enumerate().map(|(f, &v)| {
            let (i0, i1) = (f / n1, f % n1);
            let col = ViridisRGB::get_color((v / vmax).clamp(0.0, 1.0));
            Rectangle::new([(e0[i0], e1[i1]), (e0[i0 + 1], e1[i1 + 1])], col.filled())
        }))
        .map_err(draw_err)?;
    Ok(())
}

fn draw_density(data: &Data, path: &Path) -> Result<()> {
    let root = BitMapBackend::new(path, DENSITY_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let rows = density_rows(data);
    let t = rows[0].1.len();
    let picks = [0, t / 2, t - 1];
    let panels = root.split_evenly((rows.len(), 3));
    for (r, (label, fields, times)) in rows.iter().enumerate() {
        for (c, &i) in picks.iter().enumerate() {
            let i = i.min(fields.len() - 1);
            let title = format!("{label}, t = {:.3}", times[i]);
            draw_plane(&panels[r * 3 + c], data, title, &fields[i])?;
        }
    }
    root.present().map_err(draw_err)
}

/// The animation: one frame per snapshot, the PDE density beside the
/// particle histogram. Written to a temporary name and renamed when whole.
fn draw_animation(data: &Data, path: &Path) -> Result<()> {
    let rows = density_rows(data);
    let frames = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let tmp = path.with_extension("gif.part");
    {
        let size = (ANIMATION_PANEL.0 * rows.len() as u32, ANIMATION_PANEL.1);
        let root = BitMapBackend::gif(&tmp, size, ANIMATION_DELAY_MS)
            .map_err(draw_err)?
            .into_drawing_area();
        for i in 0..frames {
            root.fill(&WHITE).map_err(draw_err)?;
            let panels = root.split_evenly((1, rows.len()));
            for (panel, (label, fields, times)) in panels.iter().zip(&rows) {
                let i = i.min(fields.len() - 1);
                let title = format!("{label}, t = {:.3}", times[i]);
                draw_plane(panel, data, title, &fields[i])?;
            }
            root.present().map_err(draw_err)?;
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Marginal densities (per unit length) of axis k.
fn marginal_density(edges: &[Vec<f64>], rho: &[f64], k: usize) -> Vec<f64> {
    let n: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    let inner: usize = n[k + 1..].iter().product();
    let vol: f64 = edges.iter().map(|e| e[1] - e[0]).product();
    let hk = edges[k][1] - edges[k][0];
    let mut out = vec![0.0; n[k]];
    for (f, r) in rho.iter().enumerate() {
        out[(f / inner) % n[k]] += r * vol / hk;
    }
    out
}

fn draw_marginals(data: &Data, path: &Path) -> Result<()> {
    let d = data.edges.len();
    let size = (MARGINAL_SIZE.0 * d as u32, MARGINAL_SIZE.1);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let panels = root.split_evenly((1, d));
    let (rho, hist) = (data.density.last(), data.histogram.last());
    let t_last = data
        .pde_time
        .last()
        .or(data.part_time.last())
        .copied()
        .unwrap_or(0.0);
    for (k, panel) in panels.iter().enumerate() {
        let e = &data.edges[k];
        let centres: Vec<f64> = e.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let marg = |f: Option<&Vec<f64>>| {
            f.map(|f| marginal_density(&data.edges, f, k))
                .unwrap_or_default()
        };
        let (pm, hm) = (marg(rho), marg(hist));
        let top = pm.iter().chain(&hm).cloned().fold(0.0, f64::max) * 1.05;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("marginal of {}, t = {t_last:.3}", data.names[k]),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(e[0]..e[e.len() - 1], 0.0..top.max(1e-12))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(data.names[k].as_str())
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(
                centres.iter().cloned().zip(pm),
                BLUE.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("PDE")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(
                centres
                    .iter()
                    .zip(&hm)
                    .map(|(&x, &y)| Circle::new((x, y), 2, RED.filled())),
            )
            .map_err(draw_err)?
            .label("particles")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, RED.filled()));
        legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    }
    root.present().map_err(draw_err)
}

/// Log-scale line chart of named series against time.
fn log_chart(path: &Path, title: &str, lines: &[(&str, &[f64], &[f64])]) -> Result<()> {
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
    legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    root.present().map_err(draw_err)
}

fn draw_curves(data: &Data, path: &Path) -> Result<()> {
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

fn draw_distances(data: &Data, path: &Path) -> Result<()> {
    let lines: Vec<(&str, &[f64], &[f64])> = data
        .compare
        .iter()
        .map(|(n, v)| (n.as_str(), data.compare_time.as_slice(), v.as_slice()))
        .collect();
    log_chart(path, "PDE against particles", &lines)
}

fn draw_converge(file: &File, path: &Path) -> Result<()> {
    let ms = series(file, "converge/m");
    let (vs, se) = (
        series(file, "converge/vs_m"),
        series(file, "converge/vs_m_se"),
    );
    let gaps = series(file, "converge/grid_gap");
    let slopes = series(file, "converge/slope_m");
    let errs = series(file, "converge/slope_m_err");
    let names = match file.group("converge")?.attrs()?.get("metrics") {
        Some(hdf5_pure::AttrValue::String(s)) => s.split(',').map(String::from).collect::<Vec<_>>(),
        _ => Vec::new(),
    };
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
