//! **Rates from a study**: a measure's seed mean fitted against a numeric
//! axis of a product study by least squares (`[[fits]]`), what `mfpde
//! converge` reports for m, for any axis: `scale = "loglog"` fits
//! ln y = c + slope · ln x (a rate: −½ for W1 in m), `"log"` y against ln x,
//! `"linear"` y against x. One fit for each combination of the other axes'
//! values; the slope and its standard error (from the residuals, NaN with two
//! points) are `/study/fit_<measure>_<axis>` and `…_se` on the other axes'
//! dimensions. Points whose measure is NaN (failed, or never below a level)
//! or, for logarithms, not positive are left out.

use crate::fit::{fit_line, Fit};

/// How the measure and the axis enter the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    LogLog,
    Log,
    Linear,
}

impl Scale {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "loglog" => Some(Scale::LogLog),
            "log" => Some(Scale::Log),
            "linear" => Some(Scale::Linear),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::LogLog => "loglog",
            Scale::Log => "log",
            Scale::Linear => "linear",
        }
    }

    fn line(self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x, y) = match self {
            Scale::LogLog => (x.ln(), y.ln()),
            Scale::Log => (x.ln(), y),
            Scale::Linear => (x, y),
        };
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }
}

/// One `[[fits]]` entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSpec {
    /// A measure's name in the collected file (`w1_a`, `time_below_0.25`).
    pub measure: String,
    /// The axis (its index among the study's axes) the measure is fitted
    /// against.
    pub axis: usize,
    pub scale: Scale,
}

/// The fits of one measure: slopes and standard errors, row-major over
/// `shape` with the axis `axis` and the seed dimension removed.
///
/// `values` is row-major over `shape` (the study's dimensions, the seed
/// last when `seeded`); `x` the axis's values.
pub fn fit_measure(
    values: &[f64],
    shape: &[usize],
    seeded: bool,
    axis: usize,
    x: &[f64],
    scale: Scale,
) -> (Vec<f64>, Vec<f64>) {
    let seeds = if seeded { shape[shape.len() - 1] } else { 1 };
    let axes = &shape[..shape.len() - usize::from(seeded)];
    // strides of the axes in `values`
    let mut stride = vec![seeds; axes.len()];
    for i in (0..axes.len().saturating_sub(1)).rev() {
        stride[i] = stride[i + 1] * axes[i + 1];
    }
    let others: Vec<usize> = (0..axes.len()).filter(|&i| i != axis).collect();
    let lines: usize = others.iter().map(|&i| axes[i]).product();
    let (mut slopes, mut errors) = (Vec::with_capacity(lines), Vec::with_capacity(lines));
    for l in 0..lines {
        // the offset of this combination of the other axes
        let (mut rest, mut base) = (l, 0);
        for &i in others.iter().rev() {
            base += (rest % axes[i]) * stride[i];
            rest /= axes[i];
        }
        let (mut lx, mut ly) = (Vec::new(), Vec::new());
        for (j, &xj) in x.iter().enumerate() {
            let at = base + j * stride[axis];
            let mean = values[at..at + seeds].iter().sum::<f64>() / seeds as f64;
            if let Some((a, b)) = scale.line(xj, mean) {
                lx.push(a);
                ly.push(b);
            }
        }
        let Fit { slope, stderr, .. } = match lx.len() {
            0 | 1 => Fit {
                slope: f64::NAN,
                stderr: f64::NAN,
                points: lx.len(),
            },
            _ => fit_line(&lx, &ly),
        };
        slopes.push(slope);
        errors.push(stderr);
    }
    (slopes, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = 3 m^{−½} (1 + seed noise that averages out) on a product
    /// m × unit × seed: the slope −½ on every unit, exactly; a NaN point is
    /// left out, and a line with one point left has no slope.
    #[test]
    fn a_rate_is_fitted_per_line_of_the_other_axes() {
        let m = [100.0f64, 1000.0, 10000.0];
        let (units, seeds) = (2, 2);
        let mut v = Vec::new();
        for &mi in &m {
            for u in 0..units {
                for s in 0..seeds {
                    let noise = if s == 0 { 1.1 } else { 0.9 };
                    v.push((3.0 + u as f64) * mi.powf(-0.5) * noise);
                }
            }
        }
        let (slope, se) = fit_measure(&v, &[3, units, seeds], true, 0, &m, Scale::LogLog);
        for (s, e) in slope.iter().zip(&se) {
            assert!((s + 0.5).abs() < 1e-12 && *e < 1e-12, "{s} ± {e}");
        }
        // against the second axis (the unit), per m: y = (3 + u) c, linear
        // slope c in the unit
        let (slope, se) = fit_measure(&v, &[3, units, seeds], true, 1, &[0.0, 1.0], Scale::Linear);
        for (i, s) in slope.iter().enumerate() {
            assert!((s - m[i].powf(-0.5)).abs() < 1e-12);
            assert!(se[i].is_nan(), "two points: no standard error");
        }
        let mut gaps = v.clone();
        gaps[0] = f64::NAN;
        gaps[1] = f64::NAN;
        let (slope, _) = fit_measure(&gaps, &[3, units, seeds], true, 0, &m, Scale::LogLog);
        assert!((slope[0] + 0.5).abs() < 1e-12 && (slope[1] + 0.5).abs() < 1e-12);
        let (slope, _) = fit_measure(&[1.0, f64::NAN], &[2], false, 0, &[1.0, 2.0], Scale::Log);
        assert!(slope[0].is_nan());
    }
}
