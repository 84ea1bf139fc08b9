//! **Diffusion along a stretched axis**: the Neumann Laplacian of cell
//! averages on cells of widths h_i, with centres c_i,
//!
//! ```text
//! (L ρ)_i = [ (ρ_{i+1} − ρ_i)/δ_{i+½} − (ρ_i − ρ_{i−1})/δ_{i−½} ] / h_i,
//! δ_{i+½} = c_{i+1} − c_i,  no flux through the walls,
//! ```
//!
//! second order on a smooth map (uniform cells: the 3-point Laplacian).
//! L = H⁻¹ A with A symmetric, so S = H^{−½} A H^{−½} = Q Λ Qᵀ (a symmetric
//! tridiagonal eigenproblem, nalgebra's `SymmetricEigen`, solved once per
//! axis) gives the exact heat flow
//!
//! ```text
//! exp(Δt D L) = H^{−½} Q e^{Δt D Λ} Qᵀ H^{½},
//! ```
//!
//! built as one n × n matrix per Δt and applied to every line. It conserves
//! Σ_i h_i ρ_i (the mass) and is entrywise ≥ 0 (L's off-diagonal entries
//! are ≥ 0); the round-off negatives of the product are set to 0 and each
//! column rescaled to conserve its mass exactly, so ρ ≥ 0 at every step.
//! The θ-schemes solve the same L by a tridiagonal (Thomas) sweep.

use nalgebra::{DMatrix, SymmetricEigen};

/// The planned heat flow of one stretched axis.
#[derive(Debug, Clone)]
pub struct StretchedHeat {
    n: usize,
    /// H^{−½} Q, row-major n × n.
    left: Vec<f64>,
    /// H^{½} Q (the transpose of Qᵀ H^{½}), row-major n × n: row j is
    /// column j of Qᵀ H^{½}.
    right: Vec<f64>,
    /// Scratch: row i of H^{−½} Q e^{tΛ}.
    scaled: Vec<f64>,
    /// The eigenvalues of L (≤ 0; one is 0).
    lambda: Vec<f64>,
    widths: Vec<f64>,
    /// The three diagonals of L: below, on, above.
    lower: Vec<f64>,
    diag: Vec<f64>,
    upper: Vec<f64>,
    /// exp(Δt D L) for the Δt D of `at`, row-major, nonzero in each row's
    /// band only.
    pub(super) matrix: Vec<f64>,
    /// Per row, the band of columns it holds.
    band: Vec<(usize, usize)>,
    /// e^{t λ_m} of the last [`StretchedHeat::set`].
    decay: Vec<f64>,
    at: f64,
}

/// Two entries of exp(t L) in a row below this fraction of the row's
/// diagonal end the row's band: the kernel's reach at round-off (half the
/// unit round-off of the largest value; an eigenvector sum of n terms is
/// not more exact than that anyway), as the uniform axes' short kernel
/// ([`super::heat_kernel`]).
const BAND_CUT: f64 = 0.5 * f64::EPSILON;

impl StretchedHeat {
    /// Plan the axis of these edges.
    pub fn new(edges: &[f64]) -> Self {
        let n = edges.len() - 1;
        let w: Vec<f64> = edges.windows(2).map(|e| e[1] - e[0]).collect();
        let c: Vec<f64> = edges.windows(2).map(|e| 0.5 * (e[0] + e[1])).collect();
        let inv_delta: Vec<f64> = (0..n.saturating_sub(1))
            .map(|i| 1.0 / (c[i + 1] - c[i]))
            .collect();
        let (mut lower, mut diag, mut upper) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut s = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            let below = if i > 0 { inv_delta[i - 1] } else { 0.0 };
            let above = if i + 1 < n { inv_delta[i] } else { 0.0 };
            lower[i] = below / w[i];
            upper[i] = above / w[i];
            diag[i] = -(below + above) / w[i];
            s[(i, i)] = diag[i];
            if i + 1 < n {
                let off = inv_delta[i] / (w[i] * w[i + 1]).sqrt();
                s[(i, i + 1)] = off;
                s[(i + 1, i)] = off;
            }
        }
        let eig = SymmetricEigen::new(s);
        let q = &eig.eigenvectors;
        let mut left = vec![0.0; n * n];
        let mut right = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                left[i * n + j] = q[(i, j)] / w[i].sqrt();
                right[i * n + j] = q[(i, j)] * w[i].sqrt();
            }
        }
        StretchedHeat {
            n,
            left,
            right,
            lambda: eig.eigenvalues.iter().map(|l| l.min(0.0)).collect(),
            widths: w,
            lower,
            diag,
            upper,
            matrix: vec![0.0; n * n],
            scaled: vec![0.0; n],
            band: vec![(0, n); n],
            decay: vec![0.0; n],
            at: f64::NAN,
        }
    }

    /// The eigenvalues of L.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.lambda
    }

    /// Entry (i, j) of exp(t L) from the eigenvectors, with `scaled` row i
    /// of H^{−½} Q e^{tΛ}: a contiguous dot product.
    #[inline]
    fn entry(scaled: &[f64], right: &[f64], n: usize, j: usize) -> f64 {
        crate::sum::lane_dot(scaled, &right[j * n..(j + 1) * n])
    }

    /// Build exp(t L) (t = Δt D) unless it is built already: each row
    /// outward from its diagonal until two entries in a row fall below
    /// [`BAND_CUT`] of it (O(n) per entry: O(n² b) for bands of b, O(n³)
    /// when the kernel spans the axis).
    pub fn set(&mut self, t: f64) {
        if t == self.at {
            return;
        }
        let n = self.n;
        for m in 0..n {
            self.decay[m] = (t * self.lambda[m]).exp();
        }
        self.matrix.fill(0.0);
        for i in 0..n {
            for m in 0..n {
                self.scaled[m] = self.left[i * n + m] * self.decay[m];
            }
            let (scaled, right) = (&self.scaled, &self.right);
            let row = &mut self.matrix[i * n..(i + 1) * n];
            let diag = Self::entry(scaled, right, n, i).max(0.0);
            row[i] = diag;
            let cut = BAND_CUT * diag;
            let mut reach = |cols: &mut dyn Iterator<Item = usize>| -> usize {
                let (mut last, mut small) = (i, 0);
                for j in cols {
                    let v = Self::entry(scaled, right, n, j);
                    row[j] = v.max(0.0);
                    last = j;
                    small = if v.abs() < cut { small + 1 } else { 0 };
                    if small == 2 {
                        break;
                    }
                }
                last
            };
            let lo = reach(&mut (0..i).rev());
            let hi = reach(&mut (i + 1..n));
            self.band[i] = (lo.min(i), hi.max(i) + 1);
        }
        // each column's mass Σ_i h_i E_ij = h_j exactly (round-off only)
        let mut mass = std::mem::take(&mut self.scaled);
        mass.fill(0.0);
        for (row, w) in self.matrix.chunks_exact(n).zip(&self.widths) {
            for (m, e) in mass.iter_mut().zip(row) {
                *m += w * e;
            }
        }
        for (m, w) in mass.iter_mut().zip(&self.widths) {
            *m = w / *m;
        }
        for row in self.matrix.chunks_exact_mut(n) {
            for (e, s) in row.iter_mut().zip(&mass) {
                *e *= s;
            }
        }
        self.scaled = mass;
        self.at = t;
    }

    /// line ← exp(t L) line, with `out` (n) as scratch; [`Self::set`] first.
    #[inline]
    pub fn apply(&self, line: &mut [f64], out: &mut [f64]) {
        let n = self.n;
        for (i, o) in out[..n].iter_mut().enumerate() {
            let (a, b) = self.band[i];
            let row = &self.matrix[i * n + a..i * n + b];
            *o = row.iter().zip(&line[a..b]).map(|(x, y)| x * y).sum();
        }
        line.copy_from_slice(&out[..n]);
    }

    /// Solve (I − θ t L) x = (I + (1 − θ) t L) b in place (t = Δt D), with
    /// `cp` and `rhs` (n each) as scratch: backward Euler at θ = 1,
    /// Crank–Nicolson at θ = ½.
    pub fn theta_line(&self, b: &mut [f64], t: f64, theta: f64, cp: &mut [f64], rhs: &mut [f64]) {
        let n = self.n;
        let e = (1.0 - theta) * t;
        for i in 0..n {
            let left = if i > 0 { self.lower[i] * b[i - 1] } else { 0.0 };
            let right = if i + 1 < n {
                self.upper[i] * b[i + 1]
            } else {
                0.0
            };
            rhs[i] = b[i] + e * (left + self.diag[i] * b[i] + right);
        }
        let a = |i: usize| -theta * t * self.lower[i];
        let c = |i: usize| -theta * t * self.upper[i];
        let d = |i: usize| 1.0 - theta * t * self.diag[i];
        let mut m = d(0);
        cp[0] = c(0) / m;
        rhs[0] /= m;
        for i in 1..n {
            m = d(i) - a(i) * cp[i - 1];
            cp[i] = c(i) / m;
            rhs[i] = (rhs[i] - a(i) * rhs[i - 1]) / m;
        }
        b[n - 1] = rhs[n - 1];
        for i in (0..n - 1).rev() {
            b[i] = rhs[i] - cp[i] * b[i + 1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinh_edges(n: usize) -> Vec<f64> {
        crate::grid::AxisMap::Sinh {
            centre: 0.3,
            width: 0.2,
        }
        .edges(-3.0, 4.0, n)
        .unwrap()
    }

    /// exp(t L) against many small explicit Euler steps of L itself, and
    /// its mass and positivity.
    #[test]
    fn the_heat_matrix_is_the_exact_flow_of_the_stretched_laplacian() {
        let edges = sinh_edges(24);
        let mut h = StretchedHeat::new(&edges);
        let n = 24;
        let u0: Vec<f64> = (0..n).map(|i| ((i * 7 % 5) as f64) + 0.1).collect();
        let t = 0.01;
        h.set(t);
        let mut u = u0.clone();
        h.apply(&mut u, &mut vec![0.0; n]);
        // explicit Euler with a step far below the stiffest mode's 2/|λ|
        let lmin = h.lambda.iter().copied().fold(0.0, f64::min);
        let steps = (200.0 * t * -lmin).ceil() as usize;
        let dt = t / steps as f64;
        let mut v = u0.clone();
        for _ in 0..steps {
            let old = v.clone();
            for i in 0..n {
                let l = if i > 0 { h.lower[i] * old[i - 1] } else { 0.0 };
                let r = if i + 1 < n {
                    h.upper[i] * old[i + 1]
                } else {
                    0.0
                };
                v[i] = old[i] + dt * (l + h.diag[i] * old[i] + r);
            }
        }
        // Euler's error is O(dt) of the flow: dt |λ|/2 relative, < 1/400
        for (a, b) in u.iter().zip(&v) {
            assert!((a - b).abs() < 3e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
        let mass = |x: &[f64]| x.iter().zip(&h.widths).map(|(a, w)| a * w).sum::<f64>();
        assert!((mass(&u) - mass(&u0)).abs() < 1e-13 * mass(&u0));
        assert!(u.iter().all(|&x| x >= 0.0));
        // one zero eigenvalue (the constants), the rest negative
        let zeros = h.lambda.iter().filter(|l| l.abs() < 1e-9).count();
        assert_eq!(zeros, 1);
    }

    #[test]
    fn backward_euler_on_stretched_cells_conserves_mass() {
        let edges = sinh_edges(16);
        let h = StretchedHeat::new(&edges);
        let mut b = vec![0.0; 16];
        b[3] = 2.0;
        b[12] = 1.0;
        let m0: f64 = b.iter().zip(&h.widths).map(|(a, w)| a * w).sum();
        let (mut cp, mut rhs) = (vec![0.0; 16], vec![0.0; 16]);
        h.theta_line(&mut b, 50.0, 1.0, &mut cp, &mut rhs);
        let m1: f64 = b.iter().zip(&h.widths).map(|(a, w)| a * w).sum();
        assert!((m1 - m0).abs() < 1e-12 * m0);
        assert!(b.iter().all(|&x| x >= 0.0));
    }
}
