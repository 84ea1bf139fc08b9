//! **The data law P and its quadrature** {(x_q, ω_q)}: Gauss–Hermite for
//! Gaussian P, Gauss–Legendre for uniform P (tensor products in d_x > 1), the
//! plain average for a data set (docs/model.md §5). The PDE solver and the particle
//! simulator share this rule.

use crate::error::{Error, Result};
use gauss_quad::{GaussHermite, GaussLegendre};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use std::num::NonZeroUsize;
use std::path::Path;

/// The law P of the inputs, for sampling (SGD).
#[derive(Debug, Clone)]
pub enum DataLaw {
    /// N(0, std² I).
    Gaussian { std: f64 },
    /// Uniform on Π [lo_k, hi_k].
    Uniform { lo: Vec<f64>, hi: Vec<f64> },
    /// The samples of a data set (the quadrature's nodes).
    Samples,
    /// Lebesgue measure on the box Π [lo_k, hi_k] (docs/model.md §7: "E_x"
    /// is ∫ dx, of mass Π (hi_k − lo_k)); on the whole line, the box that
    /// holds the integrals to round-off ([`super::rbf::whole_line_box`]).
    Lebesgue { lo: Vec<f64>, hi: Vec<f64> },
    /// Class c with probability weights_c has x ~ N(0, scales_c² I) and,
    /// when labels are given, the label labels_c.
    GaussianScales {
        scales: Vec<f64>,
        weights: Vec<f64>,
        labels: Option<Vec<f64>>,
    },
}

/// What one draw of x from P picked besides x: the class of a mixture of
/// scales, the sample of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawn {
    /// x drawn from a law without classes.
    Plain,
    /// x drawn from class c of [`DataLaw::GaussianScales`].
    Class(usize),
    /// x is sample i of the data set (a node of its quadrature).
    Sample(usize),
}

impl DataLaw {
    /// The law's total mass: 1 for a probability law, the box's volume for
    /// Lebesgue measure (a batch of B draws then weighs mass/B each).
    pub fn mass(&self) -> f64 {
        match self {
            DataLaw::Lebesgue { lo, hi } => lo.iter().zip(hi).map(|(l, h)| h - l).product(),
            _ => 1.0,
        }
    }

    /// Draw one x from P into `x` (d_x numbers), from `rng` in a fixed
    /// order: the class (or sample) first, then the coordinates. A data
    /// set's samples are the nodes of `quad`.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R, quad: &Quadrature, x: &mut [f64]) -> Drawn {
        let normal = |rng: &mut R, x: &mut [f64], scale: f64| {
            for v in x.iter_mut() {
                let z: f64 = rng.sample(StandardNormal);
                *v = scale * z;
            }
        };
        match self {
            DataLaw::Gaussian { std } => {
                normal(rng, x, *std);
                Drawn::Plain
            }
            DataLaw::Uniform { lo, hi } | DataLaw::Lebesgue { lo, hi } => {
                for (k, v) in x.iter_mut().enumerate() {
                    *v = lo[k] + (hi[k] - lo[k]) * rng.random::<f64>();
                }
                Drawn::Plain
            }
            DataLaw::Samples => {
                let n = quad.len();
                let i = ((rng.random::<f64>() * n as f64) as usize).min(n - 1);
                x.copy_from_slice(quad.node(i));
                Drawn::Sample(i)
            }
            DataLaw::GaussianScales {
                scales, weights, ..
            } => {
                let c = by_inversion(weights.iter().copied(), rng.random());
                normal(rng, x, scales[c]);
                Drawn::Class(c)
            }
        }
    }

    /// The label of a draw, when the law gives one (a class's label).
    pub fn label(&self, drawn: Drawn) -> Option<f64> {
        match (self, drawn) {
            (
                DataLaw::GaussianScales {
                    labels: Some(y), ..
                },
                Drawn::Class(c),
            ) => Some(y[c]),
            _ => None,
        }
    }
}

/// The index drawn by inverting the cumulative weights at u ∈ [0, 1): the
/// first i with u < w₀ + … + w_i, the last when round-off leaves the sum
/// short of u (a mixture's component, a data class).
pub fn by_inversion(weights: impl IntoIterator<Item = f64>, u: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (i, w) in weights.into_iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
        last = i;
    }
    last
}

/// A quadrature of P: `q` nodes x_q ∈ R^{d_x} (row-major, `q × dim`) with
/// weights ω_q summing to 1 (to the box's volume for Lebesgue measure).
#[derive(Debug, Clone)]
pub struct Quadrature {
    pub dim: usize,
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

impl Quadrature {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Node `q` as a slice of length `dim`.
    pub fn node(&self, q: usize) -> &[f64] {
        &self.nodes[q * self.dim..(q + 1) * self.dim]
    }

    /// Tensor product of a one-dimensional rule (nodes, weights) in `dim`
    /// dimensions.
    fn tensor(dim: usize, x1: &[f64], w1: &[f64]) -> Self {
        let n = x1.len();
        let total = n.pow(dim as u32);
        let mut nodes = Vec::with_capacity(total * dim);
        let mut weights = Vec::with_capacity(total);
        for flat in 0..total {
            let mut rem = flat;
            let mut w = 1.0;
            let start = nodes.len();
            nodes.resize(start + dim, 0.0);
            for k in (0..dim).rev() {
                let i = rem % n;
                rem /= n;
                nodes[start + k] = x1[i];
                w *= w1[i];
            }
            weights.push(w);
        }
        Quadrature {
            dim,
            nodes,
            weights,
        }
    }

    /// Gauss–Hermite rule for N(0, s² I) in `dim` dimensions with `n` nodes
    /// per dimension: x = √2 s ξ, ω = w / √π.
    pub fn gaussian(dim: usize, std: f64, n: usize) -> Self {
        let rule = GaussHermite::new(NonZeroUsize::new(n).expect("n > 0"));
        let (x, w): (Vec<f64>, Vec<f64>) = symmetric(rule.as_node_weight_pairs())
            .iter()
            .map(|&(xi, wi)| {
                (
                    std::f64::consts::SQRT_2 * std * xi,
                    wi / std::f64::consts::PI.sqrt(),
                )
            })
            .unzip();
        Self::tensor(dim, &x, &w)
    }

    /// Gauss–Legendre rule for the uniform law on Π [lo_k, hi_k].
    pub fn uniform(lo: &[f64], hi: &[f64], n: usize) -> Self {
        let rule = GaussLegendre::new(NonZeroUsize::new(n).expect("n > 0"));
        let pairs = symmetric(rule.as_node_weight_pairs());
        let xi: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let wi: Vec<f64> = pairs.iter().map(|p| 0.5 * p.1).collect();
        let mut q = Self::tensor(lo.len(), &xi, &wi);
        // map [-1, 1]^d to the box
        for (i, x) in q.nodes.iter_mut().enumerate() {
            let k = i % lo.len();
            *x = 0.5 * (lo[k] + hi[k]) + 0.5 * (hi[k] - lo[k]) * *x;
        }
        q
    }

    /// Gauss–Legendre rule for Lebesgue measure on Π [lo_k, hi_k]: the
    /// uniform law's rule with weights times the box's volume.
    pub fn lebesgue(lo: &[f64], hi: &[f64], n: usize) -> Self {
        let mut q = Self::uniform(lo, hi, n);
        let vol: f64 = lo.iter().zip(hi).map(|(l, h)| h - l).product();
        q.weights.iter_mut().for_each(|w| *w *= vol);
        q
    }

    /// The rules `parts` joined, rule c's weights times `probs[c]`.
    pub fn union(parts: &[Quadrature], probs: &[f64]) -> Self {
        let dim = parts[0].dim;
        let mut out = Quadrature {
            dim,
            nodes: Vec::new(),
            weights: Vec::new(),
        };
        for (q, &p) in parts.iter().zip(probs) {
            assert_eq!(q.dim, dim, "rules of one dimension");
            out.nodes.extend_from_slice(&q.nodes);
            out.weights.extend(q.weights.iter().map(|w| w * p));
        }
        out
    }

    /// The plain average over data points (`n × dim`, row-major).
    pub fn samples(dim: usize, points: Vec<f64>) -> Self {
        let n = points.len() / dim;
        Quadrature {
            dim,
            nodes: points,
            weights: vec![1.0 / n as f64; n],
        }
    }
}

/// A symmetric 1-D rule (Gauss–Hermite, Gauss–Legendre) made symmetric to
/// the bit: nodes sorted, ξ_i and −ξ_{n−1−i} and the two weights replaced by
/// their means, the middle node of an odd rule set to 0. The eigenvalue
/// solver leaves them symmetric only to round-off; exact symmetry makes odd
/// moments vanish exactly and lets the particle step fold ±x pairs.
pub(crate) fn symmetric(rule: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p = rule.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = p.len();
    for i in 0..n / 2 {
        let (lo, hi) = (p[i], p[n - 1 - i]);
        let x = 0.5 * (hi.0 - lo.0);
        let w = 0.5 * (hi.1 + lo.1);
        p[i] = (-x, w);
        p[n - 1 - i] = (x, w);
    }
    if n % 2 == 1 {
        p[n / 2].0 = 0.0;
    }
    p
}

/// A data set read from CSV: inputs `n × dim` and labels y.
#[derive(Debug, Clone)]
pub struct DataSet {
    pub dim: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl DataSet {
    /// Read a CSV file with columns x0, …, x_{d−1}, y (comma-separated, `#`
    /// comments, a UTF-8 byte-order mark ignored, an optional first line of
    /// column names: a line none of whose fields is a number; every other
    /// field a finite number), through the `csv` crate, capped at
    /// [`crate::files::MAX_DATA_BYTES`].
    pub fn read_csv(path: &Path) -> Result<Self> {
        let text = crate::files::read_text(path, "data.file", crate::files::MAX_DATA_BYTES)?;
        Self::parse_csv(&text, path)
    }

    fn parse_csv(text: &str, path: &Path) -> Result<Self> {
        let bad = |line: u64, why: String| {
            Error::problem(
                "data.file",
                format!("{:?} line {line}", path.display().to_string()),
                why,
            )
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .comment(Some(b'#'))
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut cols = 0;
        let mut header: Option<(u64, usize)> = None; // (line, fields)
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut first = true;
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, format!("not CSV: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            let numbers: Vec<Option<f64>> = record.iter().map(|f| f.parse::<f64>().ok()).collect();
            // a header: the first line, names only (no field a number)
            if first && numbers.iter().all(Option::is_none) {
                header = Some((line, record.len()));
                first = false;
                continue;
            }
            first = false;
            if let Some(k) = numbers.iter().position(Option::is_none) {
                return Err(bad(
                    line,
                    format!(
                        "field {} is {:?}, not a number (only a first line of names may hold words)",
                        k + 1,
                        &record[k]
                    ),
                ));
            }
            let values: Vec<f64> = numbers.into_iter().flatten().collect();
            if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(
                    line,
                    format!("field {} is {}, not a finite number", k + 1, &record[k]),
                ));
            }
            if cols == 0 {
                cols = values.len();
                if cols < 2 {
                    return Err(bad(line, "at least two columns: x0, …, y".into()));
                }
                if let Some((h, n)) = header.filter(|&(_, n)| n != cols) {
                    return Err(bad(
                        h,
                        format!("a header of {n} names over rows of {cols} numbers"),
                    ));
                }
            } else if values.len() != cols {
                return Err(bad(
                    line,
                    format!("{} fields where earlier lines have {cols}", values.len()),
                ));
            }
            x.extend_from_slice(&values[..cols - 1]);
            y.push(values[cols - 1]);
        }
        if y.is_empty() {
            return Err(bad(0, "the file holds no data rows".into()));
        }
        Ok(DataSet {
            dim: cols - 1,
            x,
            y,
        })
    }
}

/// The SHA-256 of a file's bytes, hex (a data set's identity in results).
pub fn file_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_symmetric_to_the_bit() {
        for n in [1, 2, 7, 48] {
            for q in [
                Quadrature::gaussian(1, 1.3, n),
                Quadrature::uniform(&[-2.0], &[2.0], n),
            ] {
                for i in 0..n {
                    assert_eq!(q.nodes[i], -q.nodes[n - 1 - i]);
                    assert_eq!(q.weights[i], q.weights[n - 1 - i]);
                }
                let odd: f64 = (0..n).map(|i| q.weights[i] * q.nodes[i].powi(3)).sum();
                assert!(odd.abs() < 1e-15, "{n}: {odd}");
            }
        }
    }

    #[test]
    fn gauss_hermite_reproduces_gaussian_moments() {
        let q = Quadrature::gaussian(1, 1.5, 20);
        let m = |p: i32| -> f64 {
            (0..q.len())
                .map(|i| q.weights[i] * q.nodes[i].powi(p))
                .sum()
        };
        assert!((m(0) - 1.0).abs() < 1e-13);
        assert!(m(1).abs() < 1e-13);
        assert!((m(2) - 2.25).abs() < 1e-12);
        assert!((m(4) - 3.0 * 2.25f64.powi(2)).abs() < 1e-11);
    }

    #[test]
    fn gauss_legendre_tensor_integrates_on_the_box() {
        let q = Quadrature::uniform(&[0.0, -1.0], &[2.0, 3.0], 6);
        assert_eq!(q.len(), 36);
        let e: f64 = (0..q.len())
            .map(|i| q.weights[i] * q.node(i)[0] * q.node(i)[1].powi(2))
            .sum();
        // E[x0] E[x1²] = 1 · (∫_{-1}^{3} x² dx / 4) = 28/12
        assert!((e - 28.0 / 12.0).abs() < 1e-12, "{e}");
    }
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    fn read(text: &str) -> Result<DataSet> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, text).unwrap();
        DataSet::read_csv(&p)
    }

    #[test]
    fn one_header_line_and_finite_numbers_only() {
        let d = read("# comment\nx0,y\n1,2\n3,4\n").unwrap();
        assert_eq!((d.dim, d.y.clone()), (1, vec![2.0, 4.0]));
        // a byte-order mark is not a header, and no row is dropped
        let d = read("\u{feff}1,0.5\n2,0.25\n3,0.125\n").unwrap();
        assert_eq!(d.y, vec![0.5, 0.25, 0.125]);
        let d = read("\u{feff}x0,y\n1,0.5\n").unwrap();
        assert_eq!(d.y, vec![0.5]);
        for (text, line, hint) in [
            ("x0,y\nmore,names\n1,2\n", "line 2", "words"),
            ("x0,y\n1,nan\n", "line 2", "finite"),
            ("1,2\n3,inf\n", "line 2", "finite"),
            ("a,b,c\n1,2\n", "line 1", "3 names"),
            // a typo in the first row is an error, not a header
            ("1,O.5\n2,0.25\n3,0.1\n", "line 1", "\"O.5\""),
        ] {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(hint), "{text:?}: {e}");
        }
    }
}
