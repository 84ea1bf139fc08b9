//! **Least-squares lines** with the standard error of their slope: rates in
//! m and h (log-log) and exponential rates in t (log-linear).

/// A least-squares line: its slope, the slope's standard error, the points.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub slope: f64,
    /// Standard error of the slope (NaN with two points).
    pub stderr: f64,
    /// Points fitted.
    pub points: usize,
}

/// Fit log y = c + slope · log x by least squares.
pub fn fit_loglog(x: &[f64], y: &[f64]) -> Fit {
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    fit_line(&lx, &ly)
}

/// Fit y = c + slope · x by least squares.
pub fn fit_line(x: &[f64], y: &[f64]) -> Fit {
    let (lx, ly) = (x, y);
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = lx.iter().zip(ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let rss: f64 = lx
        .iter()
        .zip(ly)
        .map(|(a, b)| (b - my - slope * (a - mx)).powi(2))
        .sum();
    let stderr = if lx.len() > 2 {
        (rss / (n - 2.0) / sxx).sqrt()
    } else {
        f64::NAN
    };
    Fit {
        slope,
        stderr,
        points: lx.len(),
    }
}
