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
//!   last snapshot, PDE (line) and particles (points), with the PDE's at
//!   the earlier snapshots as thin lighter lines (the law over time);
//! - `OUT_over_time.png` (400·S × 300·D, S ≤ 4 snapshots): for a file
//!   with both the PDE and the particles (`mfpde run`), the law over time —
//!   per axis and shown snapshot, the PDE's marginal (line) over the
//!   particles' histogram in bins of several cells;
//! - `OUT_curves.png` (900 × 600): risk and free energy of the PDE and the
//!   particles' risk against mean-field time;
//! - `OUT_distances.png` (900 × 600): L1, W1 per axis, sliced W2, risk and
//!   function gaps over time.
//!
//! - `OUT_theorems.png` (900 × 600): with `--theorems`, the distance to the
//!   Gibbs state (L1, W1 per axis, F − F*) or the risk against its minimum,
//!   and the stationarity residual, against mean-field time;
//! - `OUT_steady.png` (700 × 600): for a `mfpde steady` file, the Gibbs
//!   state on the plane of axes 0 and 1;
//! - `OUT_converge.png` (900 × 600): for a `mfpde converge` file, each
//!   distance against m (mean over seeds, ± one standard error) with its
//!   fitted log-log slope in the legend, and dashed at its level the same
//!   distance between the PDE on the two finest grids (the grid's floor).
//!
//! - `OUT_<measure>.png` (900 × 600): for a `mfpde sweep` file, each
//!   measure against the study's first axis, a line per value of its
//!   second, the mean over seeds ± one standard error.
//!
//! The figures present in the file are drawn: a PDE-only file gives density
//! (and its animation) and curves.

mod curves;
mod fields;
mod study;

use super::hdf5::{PdeFile, Reader};
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Sizes of the figures, in pixels.
pub const DENSITY_SIZE: (u32, u32) = (1500, 1000);
/// The Gibbs state of a `steady` file.
pub const STEADY_SIZE: (u32, u32) = (700, 600);
pub const CURVES_SIZE: (u32, u32) = (900, 600);
pub const MARGINAL_SIZE: (u32, u32) = (500, 450);
/// One panel of the over-time figure (a snapshot's marginal on one axis),
/// at most this many snapshots (columns), particle bins per axis.
pub const OVER_TIME_PANEL: (u32, u32) = (400, 300);
pub const OVER_TIME_COLUMNS: usize = 4;
pub const OVER_TIME_BINS: usize = 40;
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

/// Draw a figure into a fresh temporary file beside `path`, then rename it
/// over `path`: a link at `path` is replaced, never written through, and no
/// reader sees half a figure.
fn write_whole(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().to_string());
    let (stem, ext) = (
        path.file_stem().map(|s| s.to_string_lossy().to_string()),
        path.extension().map(|s| s.to_string_lossy().to_string()),
    );
    let (Some(stem), Some(ext), Some(_)) = (stem, ext, name(path)) else {
        return Err(draw_err(format!(
            "{}: not a figure's file name",
            path.display()
        )));
    };
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{stem}.{}-{n}.part.{ext}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let drawn = draw(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot move the figure into place: {e}"),
        })
    });
    if drawn.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    drawn
}

pub(super) fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        path: "plot".into(),
        message: e.to_string(),
    }
}

/// The legend of a chart's labelled series, boxed, at `pos`.
pub(super) fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<()>
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
pub(super) struct Data {
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

/// The distances of `/compare`: each per-axis one as one line per axis,
/// named by the file's `metrics` and `labels` attributes.
fn read_compare(r: &Reader, names: &[String], t: usize) -> Result<Vec<(String, Vec<f64>)>> {
    let keys = r.group_attr("compare", "metrics")?;
    let labels = r.group_attr("compare", "labels")?;
    let mut out = Vec::new();
    for (key, label) in keys.split(',').zip(labels.split(',')) {
        let path = format!("compare/{key}");
        if r.shape(&path).map(|s| s.len()).unwrap_or(0) > 1 {
            let rows = r.rows("compare", key, t)?;
            for (k, n) in names.iter().enumerate() {
                out.push((
                    format!("{label}({n})"),
                    rows.iter().map(|row| row[k]).collect(),
                ));
            }
        } else {
            out.push((label.to_string(), r.checked_series(&path, t)?));
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Data> {
    let pde = PdeFile::read(path)?;
    let r = Reader::open(path)?;
    let part_time = r.checked_times("particles/time")?;
    let cells: usize = pde.edges.iter().map(|e| e.len() - 1).product();
    let histogram = if part_time.is_empty() {
        Vec::new()
    } else {
        r.checked_fields("particles", "histogram", part_time.len(), cells)?
    };
    let compare_time = r.checked_times("compare/time")?;
    let compare = if compare_time.is_empty() {
        Vec::new()
    } else {
        read_compare(&r, &pde.axis_names, compare_time.len())?
    };
    Ok(Data {
        part_risk: r.checked_series("particles/risk", part_time.len())?,
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

/// Draw every figure the file holds; returns the PNG paths. A file that is
/// not an mfpde results file, or whose grid, times or fields are malformed,
/// is an error naming what is wrong; so is a file the HDF5 reader itself
/// cannot parse (its panics are caught and turned into errors).
pub fn plot_file(path: &Path) -> Result<Vec<PathBuf>> {
    crate::io::guarded(path, || plot_checked(path))
}

fn plot_checked(path: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    if Reader::open(path)?.has("study/failed") {
        return plot_study(path);
    }
    let data = read(path)?;
    if data.pde_time.is_empty()
        && data.part_time.is_empty()
        && !Reader::open(path)?.has("steady/density")
        && !Reader::open(path)?.has("converge/m")
    {
        return Err(Error::Hdf5(format!(
            "{}: holds no snapshots to plot (no /pde, /particles, /steady or /converge)",
            path.display()
        )));
    }
    let stem = path.with_extension("");
    let name = |suffix: &str| PathBuf::from(format!("{}_{suffix}.png", stem.display()));
    let mut out = Vec::new();
    let has_fields = !data.density.is_empty() || !data.histogram.is_empty();
    if data.edges.len() >= 2 && has_fields {
        let p = name("density");
        write_whole(&p, |t| fields::draw_density(&data, t))?;
        out.push(p);
        let p = PathBuf::from(format!("{}_density.gif", stem.display()));
        write_whole(&p, |t| fields::draw_animation(&data, t))?;
        out.push(p);
    }
    if has_fields {
        let p = name("marginals");
        write_whole(&p, |t| fields::draw_marginals(&data, t))?;
        out.push(p);
    }
    if !data.density.is_empty() && !data.histogram.is_empty() {
        let p = name("over_time");
        write_whole(&p, |t| fields::draw_over_time(&data, t))?;
        out.push(p);
    }
    if !data.pde_time.is_empty() || !data.part_time.is_empty() {
        let p = name("curves");
        write_whole(&p, |t| curves::draw_curves(&data, t))?;
        out.push(p);
    }
    if !data.compare.is_empty() {
        let p = name("distances");
        write_whole(&p, |t| curves::draw_distances(&data, t))?;
        out.push(p);
    }
    let r = Reader::open(path)?;
    if r.has("converge/m") {
        let p = name("converge");
        write_whole(&p, |t| curves::draw_converge(&r, t))?;
        out.push(p);
    }
    if r.has("theorems/time") {
        let p = name("theorems");
        write_whole(&p, |t| curves::draw_theorems(&r, &data.names, t))?;
        out.push(p);
    }
    if r.has("steady/density") && data.edges.len() >= 2 {
        let p = name("steady");
        write_whole(&p, |t| {
            fields::draw_steady(&data, &r.series("steady/density")?, t)
        })?;
        out.push(p);
    }
    Ok(out)
}

/// A study file's figures: `OUT_<measure>.png` for each measure.
fn plot_study(path: &Path) -> Result<Vec<PathBuf>> {
    let r = Reader::open(path)?;
    let stem = path.with_extension("");
    let mut out = Vec::new();
    for m in study::measures(&r)? {
        let p = PathBuf::from(format!("{}_{m}.png", stem.display()));
        write_whole(&p, |t| study::draw_study(&r, &m, t))?;
        out.push(p);
    }
    Ok(out)
}

/// A log-scale chart (CURVES_SIZE) of named series (label, t, values)
/// against mean-field time, for figures that combine several files (the
/// README's scheme comparison).
pub fn log_curves(path: &Path, title: &str, lines: &[(&str, &[f64], &[f64])]) -> Result<()> {
    register_font();
    curves::log_chart(path, title, lines)
}
