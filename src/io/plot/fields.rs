//! The fields: density beside histogram (PNG and GIF), the marginals, the
//! law over time (PDE against particle histograms), the Gibbs state.

use super::{
    draw_err, legend, Data, ANIMATION_DELAY_MS, ANIMATION_PANEL, DENSITY_SIZE, MARGINAL_SIZE,
    OVER_TIME_BINS, OVER_TIME_COLUMNS, OVER_TIME_PANEL, STEADY_SIZE,
};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// The volume of each cell of the grid of these edges, row-major (the true
/// widths of stretched axes).
fn volumes(edges: &[Vec<f64>]) -> Vec<f64> {
    edges.iter().fold(vec![1.0], |acc, e| {
        let w: Vec<f64> = e.windows(2).map(|p| p[1] - p[0]).collect();
        acc.iter()
            .flat_map(|a| w.iter().map(move |w| a * w))
            .collect()
    })
}

/// The density of the marginal on axes (0, 1) (or axis 0 alone when D = 1).
fn plane(edges: &[Vec<f64>], rho: &[f64]) -> Vec<f64> {
    let n: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    if n.len() <= 2 {
        return rho.to_vec();
    }
    let rest: usize = n[2..].iter().product();
    let vol = volumes(&edges[2..]);
    rho.chunks(rest)
        .map(|c| c.iter().zip(&vol).map(|(r, v)| r * v).sum::<f64>())
        .collect()
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

pub(super) fn draw_density(data: &Data, path: &Path) -> Result<()> {
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
/// particle histogram.
pub(super) fn draw_animation(data: &Data, path: &Path) -> Result<()> {
    let rows = density_rows(data);
    let frames = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let size = (ANIMATION_PANEL.0 * rows.len() as u32, ANIMATION_PANEL.1);
    let root = BitMapBackend::gif(path, size, ANIMATION_DELAY_MS)
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
    Ok(())
}

/// Marginal densities (per unit length) of axis k.
fn marginal_density(edges: &[Vec<f64>], rho: &[f64], k: usize) -> Vec<f64> {
    let n: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    let inner: usize = n[k + 1..].iter().product();
    let vol = volumes(edges);
    let mut out = vec![0.0; n[k]];
    for (f, (r, v)) in rho.iter().zip(&vol).enumerate() {
        out[(f / inner) % n[k]] += r * v;
    }
    for (o, e) in out.iter_mut().zip(edges[k].windows(2)) {
        *o /= e[1] - e[0];
    }
    out
}

pub(super) fn draw_marginals(data: &Data, path: &Path) -> Result<()> {
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
        // the earlier snapshots' PDE marginals, thin and lighter the earlier
        // they are: the law over time on one chart
        let earlier: Vec<Vec<f64>> = data.density[..data.density.len().saturating_sub(1)]
            .iter()
            .map(|f| marginal_density(&data.edges, f, k))
            .collect();
        let top = pm
            .iter()
            .chain(&hm)
            .chain(earlier.iter().flatten())
            .cloned()
            .fold(0.0, f64::max)
            * 1.05;
        let caption = match (earlier.len(), data.pde_time.first()) {
            (0, _) | (_, None) => format!("marginal of {}, t = {t_last:.3}", data.names[k]),
            (_, Some(t0)) => format!(
                "marginal of {}, t = {t0:.3} (light) to {t_last:.3}",
                data.names[k]
            ),
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 20))
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
        let n_early = earlier.len();
        for (i, m) in earlier.into_iter().enumerate() {
            // from pale (first snapshot) towards the last one's blue
            let s = (i + 1) as f64 / (n_early + 1) as f64;
            let c = |light: f64, full: f64| (light + (full - light) * s) as u8;
            let colour = RGBColor(c(200.0, 60.0), c(210.0, 90.0), c(245.0, 235.0));
            let series = chart
                .draw_series(LineSeries::new(centres.iter().cloned().zip(m), colour))
                .map_err(draw_err)?;
            if i == 0 {
                series
                    .label("PDE, earlier snapshots")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            }
        }
        chart
            .draw_series(LineSeries::new(
                centres.iter().cloned().zip(pm),
                BLUE.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("PDE")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        if !hm.is_empty() {
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
        }
        legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    }
    root.present().map_err(draw_err)
}

/// The Gibbs state of a `steady` file on the plane of axes 0 and 1.
pub(super) fn draw_steady(data: &Data, rho: &[f64], path: &Path) -> Result<()> {
    let root = BitMapBackend::new(path, STEADY_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    draw_plane(&root, data, "Gibbs state ρ*".to_string(), rho)?;
    root.present().map_err(draw_err)
}

/// Densities of `per` consecutive cells merged (the last group may be
/// shorter): their mass over their width, with the edges of the groups.
fn rebin(edges: &[f64], values: &[f64], per: usize) -> (Vec<f64>, Vec<f64>) {
    let mut e = Vec::new();
    let mut v = Vec::new();
    for (i, chunk) in values.chunks(per).enumerate() {
        let (a, b) = (i * per, i * per + chunk.len());
        e.push(edges[a]);
        let mass: f64 = chunk
            .iter()
            .zip(edges[a..=b].windows(2))
            .map(|(v, w)| v * (w[1] - w[0]))
            .sum();
        v.push(mass / (edges[b] - edges[a]));
    }
    e.push(edges[edges.len() - 1]);
    (e, v)
}

/// The snapshots an over-time figure shows: the first, the last and evenly
/// between, at most `most`.
fn pick(n: usize, most: usize) -> Vec<usize> {
    if n <= most {
        return (0..n).collect();
    }
    (0..most).map(|i| i * (n - 1) / (most - 1)).collect()
}

/// The law over time, PDE against particles (a side-by-side file): one
/// column per shown snapshot, one row per axis; the PDE's marginal as a
/// line on its grid, the particles' as a histogram of bins of several
/// cells (about [`OVER_TIME_BINS`] per axis), the y axis to the bins' top
/// (a PDE spike narrower than a bin is cut).
pub(super) fn draw_over_time(data: &Data, path: &Path) -> Result<()> {
    let d = data.edges.len();
    let shown = pick(
        data.density.len().min(data.histogram.len()),
        OVER_TIME_COLUMNS,
    );
    let size = (
        OVER_TIME_PANEL.0 * shown.len() as u32,
        OVER_TIME_PANEL.1 * d as u32,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let panels = root.split_evenly((d, shown.len()));
    for k in 0..d {
        let e = &data.edges[k];
        let per = (e.len() - 1).div_ceil(OVER_TIME_BINS);
        let centres: Vec<f64> = e.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        for (c, &s) in shown.iter().enumerate() {
            let pm = marginal_density(&data.edges, &data.density[s], k);
            let hm = marginal_density(&data.edges, &data.histogram[s], k);
            let (be, bins) = rebin(e, &hm, per);
            let (_, pbins) = rebin(e, &pm, per);
            let top = bins.iter().chain(&pbins).cloned().fold(0.0, f64::max) * 1.15;
            let mut chart = ChartBuilder::on(&panels[k * shown.len() + c])
                .caption(
                    format!("{}, t = {:.3}", data.names[k], data.pde_time[s]),
                    ("sans-serif", 18),
                )
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(45)
                .build_cartesian_2d(e[0]..e[e.len() - 1], 0.0..top.max(1e-12))
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(data.names[k].as_str())
                .draw()
                .map_err(draw_err)?;
            let fill = RGBColor(240, 120, 110);
            chart
                .draw_series(bins.iter().enumerate().map(|(i, &y)| {
                    Rectangle::new([(be[i], 0.0), (be[i + 1], y)], fill.mix(0.6).filled())
                }))
                .map_err(draw_err)?
                .label("particles")
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], fill.filled()));
            // one pixel wide: a thick line's miter at a spike one cell wide
            // reaches far below the axis
            let cut = pm.into_iter().map(|y| y.min(top));
            chart
                .draw_series(LineSeries::new(centres.iter().cloned().zip(cut), BLUE))
                .map_err(draw_err)?
                .label("PDE")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
            if c == 0 {
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }
    }
    root.present().map_err(draw_err)
}
