//! **The Gibbs state directly** (`mfpde steady`): for η > 0 the stationary
//! density of the PDE minimises F_η and solves ρ* = exp(−2Ψ[ρ*]/η)/Z
//! (docs/model.md §3, Theorem 2). On the grid, with Ψ_i at the cell centres,
//! this is the fixed point the `sg` scheme keeps exactly.
//!
//! Ψ depends on ρ only through the residual r_q = f_ρ(x_q) − f*(x_q) at the
//! Q nodes, so the fixed point is posed on r ∈ ℝ^Q. It is the maximiser of
//! the concave dual of F_η (ρ ↦ F_η is strictly convex; ½ ω r² is the
//! conjugate of the quadratic risk):
//!
//! ```text
//! D(r) = −(η/2) log Z(r) − Σ_q ω_q r_q f*_q − ½ Σ_q ω_q r_q²,
//! Z(r) = Σ_i exp(−2Ψ_i(r)/η) |C|,   Ψ_i(r) = a_i g_r(w_i) + (λ/2)|θ_i|²,
//! ∇D = ω ∘ (f_{ρ(r)} − f* − r),  ∇²D = −W − (2/η) W C W,
//! ```
//!
//! C the covariance of a σ(w·x̃_q) under ρ(r). Newton's method with a
//! backtracking line search on D converges from any start. It stops when
//! the fixed-point residual max_q |f_{ρ(r)}(x_q) − f*_q − r_q| is at most
//! `tol` times the scale of f* and r (an absolute stop can lie below the
//! round-off of a large grid's sums); when the residual has not fallen to
//! a new low for [`SteadyOptions::stall`] iterations (round-off reached
//! first: [`Stop::Stalled`]); or at `max_iterations`. How it stopped is
//! reported. F_η(ρ(r)) − D(r) ≥ 0, the duality gap (zero only at the
//! solution, quadratic in the error of r), certifies the result.
//!
//! The discrete Gibbs state is a state of point values: ρ*_i ∝
//! exp(−2Ψ(θ_i)/η) at the cell centres. Its risk and free energy are stored
//! as the centre sums ([`Steady::point_risk`]), which converge faster than
//! O(h²); a transient's diagnostics take h²/12 off the centre sums of its
//! cell averages (crate::diagnostics), and the theorems report compares
//! with ρ* in that convention ([`Steady::risk`], [`Steady::free_energy`]). A damped fixed-point iteration r ← r + β (f − f* − r) is
//! kept for comparison (`--method picard`); README, "The Gibbs state",
//! gives the measurement that chose Newton.

use crate::diagnostics;
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::io::store::{Dim, Var, VarSpec};
use crate::model::MeanField;
use crate::velocity::Velocity;
use rayon::prelude::*;

/// How the fixed point is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Newton on the dual with a line search (quadratic convergence).
    Newton,
    /// r ← r + β (f_{ρ(r)} − f* − r), β = ½ (linear convergence).
    Picard,
}

impl Method {
    /// Its name (`--method`, the `/steady` attribute `method`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Newton => "newton",
            Method::Picard => "picard",
        }
    }

    /// Parse `--method`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "newton" => Ok(Method::Newton),
            "picard" => Ok(Method::Picard),
            _ => Err(Error::problem(
                "--method",
                format!("{s:?}"),
                "newton (the default) or picard",
            )),
        }
    }
}

/// Stopping rule and limits.
#[derive(Debug, Clone, Copy)]
pub struct SteadyOptions {
    pub method: Method,
    /// Stop when max_q |f_{ρ(r)}(x_q) − f*_q − r_q| ≤ `tol` times the scale
    /// max(1, max_q |f*_q|, max_q |r_q|).
    pub tol: f64,
    /// Stop as stalled when the residual has not reached a new low for this
    /// many iterations.
    pub stall: usize,
    pub max_iterations: usize,
}

impl Default for SteadyOptions {
    fn default() -> Self {
        SteadyOptions {
            method: Method::Newton,
            tol: 1e-12,
            stall: 20,
            max_iterations: 2000,
        }
    }
}

/// How an iteration stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The residual fell below the tolerance.
    Converged,
    /// The residual stopped falling (round-off, or a problem the iteration
    /// cannot improve) before the tolerance.
    Stalled,
    /// `max_iterations` ran out.
    IterationLimit,
}

impl Stop {
    /// In words (the `/steady` attribute `stopped`).
    pub fn name(self) -> &'static str {
        match self {
            Stop::Converged => "converged",
            Stop::Stalled => "stalled",
            Stop::IterationLimit => "iteration limit",
        }
    }
}

/// The discrete Gibbs state and how well it solves its equation.
#[derive(Debug, Clone)]
pub struct Steady {
    /// ρ*: cell averages of mass 1.
    pub rho: Vec<f64>,
    /// r_q = f_{ρ*}(x_q) − f*(x_q).
    pub residual_nodes: Vec<f64>,
    pub risk: f64,
    pub entropy: f64,
    pub free_energy: f64,
    /// F_η(ρ(r)) − D(r) ≥ 0 at the last iterate (round-off can make it
    /// a few 1e-15 negative).
    pub gap: f64,
    /// max_q |f_{ρ(r)}(x_q) − f*_q − r_q| at the last iterate.
    pub fixed_point_residual: f64,
    /// Spread of log ρ_i + 2Ψ[ρ]_i/η over the support (0 for a Gibbs state).
    pub stationarity: f64,
    pub iterations: usize,
    /// How the iteration stopped.
    pub stop: Stop,
    /// The stored risk's h²/12 shift: the centre sum (point values) is
    /// `risk + shift`.
    pub shift: f64,
    /// The mass of ρ* in the outermost cells (r = 0 of a reduced problem
    /// not a wall): above [`crate::solve::BOUNDARY_WARNING`] the box cuts
    /// the Gibbs state off.
    pub boundary_mass: f64,
}

impl Steady {
    /// R(ρ*) as the centre sum of the point values ρ*_i (what `/steady`
    /// stores).
    pub fn point_risk(&self) -> f64 {
        self.risk + self.shift
    }

    /// F_η(ρ*) as the centre sum of the point values.
    pub fn point_free_energy(&self) -> f64 {
        self.free_energy + self.shift
    }

    /// `/steady` as it is stored: ρ*, the residual r_q at the nodes, and
    /// the scalars, with `starts_l1`, the largest L1 distance between the
    /// states reached from different starts.
    pub fn vars(&self, starts_l1: f64) -> Vec<Var<'_>> {
        const S: &[Dim] = &[Dim::Scalar];
        let s = |name, long_name, v| Var::scalar(VarSpec::new(name, S, long_name), v);
        vec![
            Var::array(
                VarSpec::new("density", &[Dim::Grid], "Gibbs state ρ* (cell averages)"),
                &self.rho,
            ),
            Var::array(
                VarSpec::new(
                    "r_nodes",
                    &[Dim::Node],
                    "residual r_q = f_ρ*(x_q) − f*(x_q) at the quadrature nodes",
                ),
                &self.residual_nodes,
            ),
            s(
                "risk",
                "risk R(ρ*) of the point values ρ*_i",
                self.point_risk(),
            ),
            s("entropy", "entropy term of ρ*", self.entropy),
            s(
                "free_energy",
                "free energy F_η(ρ*) of the point values ρ*_i",
                self.point_free_energy(),
            ),
            s(
                "residual",
                "stationarity residual: spread of log ρ + 2Ψ/η over the support",
                self.stationarity,
            ),
            Var::scalar(
                VarSpec::new("iterations", S, "iterations").count(),
                self.iterations as f64,
            ),
            s("gap", "duality gap F_η − D", self.gap),
            s(
                "boundary_mass",
                "mass of ρ* in the outermost cells",
                self.boundary_mass,
            ),
            s(
                "starts_l1",
                "largest L1 distance between the states reached from the starts",
                starts_l1,
            ),
        ]
    }
}

/// The state of one iterate r: ρ(r), f at the nodes, the dual and the
/// free energy (stored convention).
struct Iterate {
    rho: Vec<f64>,
    f: Vec<f64>,
    dual: f64,
    free_energy: f64,
    risk: f64,
    entropy: f64,
    /// The risk's h²/12 shift at this ρ (a constant on uniform cells).
    shift: f64,
}

/// The solver's tables and scratch.
pub struct GibbsSolver<'a> {
    model: &'a MeanField,
    grid: &'a Grid,
    vel: Velocity,
    psi: Vec<f64>,
    /// The stored free energy is the centre-sum one minus this constant
    /// (diagnostics' h²/12 of the weight-decay part).
    shift: f64,
}

impl<'a> GibbsSolver<'a> {
    /// Plan the solver (the σ table at the w centres).
    ///
    /// # Errors
    /// For η = 0: there is no Gibbs state.
    pub fn new(model: &'a MeanField, grid: &'a Grid) -> Result<Self> {
        Self::check(model)?;
        Ok(GibbsSolver {
            model,
            grid,
            vel: Velocity::new(model, grid),
            psi: vec![0.0; grid.len()],
            shift: 0.5 * model.weight_decay * diagnostics::centre_bias(grid),
        })
    }

    /// Refuse a model without a Gibbs state (η = 0), by name.
    pub fn check(model: &MeanField) -> Result<()> {
        if model.noise <= 0.0 {
            return Err(Error::problem(
                "dynamics.noise",
                model.noise,
                "η > 0: the Gibbs state ρ* ∝ exp(−2Ψ/η) needs noise (for η = 0, run `mfpde pde`: Theorem 1 is about the flow itself)",
            ));
        }
        Ok(())
    }

    /// The residual r = f_ρ − f* of a density (a starting point).
    pub fn residual_of(&mut self, rho: &[f64]) -> Vec<f64> {
        self.vel.eval_f(rho);
        let f = self.vel.f_nodes();
        f.iter()
            .zip(&self.model.fstar)
            .map(|(f, y)| f - y)
            .collect()
    }

    /// ρ(r) and everything D and F need.
    fn iterate(&mut self, r: &[f64]) -> Iterate {
        let (m, grid) = (self.model, self.grid);
        let wr: Vec<f64> = r.iter().zip(&m.quad.weights).map(|(r, w)| r * w).collect();
        self.vel.g_of_residual(&wr);
        self.vel.psi_cells(&mut self.psi);
        let scale = -2.0 / m.noise;
        let top = self
            .psi
            .par_iter()
            .map(|p| scale * p)
            .reduce(|| f64::NEG_INFINITY, f64::max);
        let mut rho: Vec<f64> = self
            .psi
            .par_iter()
            .map(|p| (scale * p - top).exp())
            .collect();
        let z = if grid.is_uniform() {
            crate::sum::fixed_sum(&rho, |_, v| *v) * grid.cell_volume()
        } else {
            crate::sum::fixed_sum(&rho, |i, v| *v * grid.volume_at(i))
        };
        rho.par_iter_mut().for_each(|v| *v /= z);
        let log_z = top + z.ln();
        let dual = -0.5 * m.noise * log_z
            - r.iter()
                .zip(&m.fstar)
                .zip(&m.quad.weights)
                .map(|((r, y), w)| w * r * y + 0.5 * w * r * r)
                .sum::<f64>();
        let (risk, entropy, free_energy) = diagnostics::energies(grid, &mut self.vel, &rho);
        let shift = if grid.is_uniform() {
            self.shift
        } else {
            0.5 * m.weight_decay * diagnostics::centre_bias_of(grid, &rho)
        };
        Iterate {
            shift,
            f: self.vel.f_nodes().to_vec(),
            rho,
            dual,
            free_energy,
            risk,
            entropy,
        }
    }

    /// F(ρ(r)) − D(r), in the centre-sum convention of the duality.
    fn gap(&self, it: &Iterate) -> f64 {
        it.free_energy + it.shift - it.dual
    }

    /// Solve from a starting residual.
    pub fn solve(&mut self, start: &[f64], opts: &SteadyOptions) -> Steady {
        self.solve_with(start, opts, &mut |_, _| {})
    }

    /// [`GibbsSolver::solve`], calling `progress` with each iteration's
    /// count and residual.
    pub fn solve_with(
        &mut self,
        start: &[f64],
        opts: &SteadyOptions,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Steady {
        let m = self.model;
        let q = m.quad.len();
        let mut r = start.to_vec();
        let mut it = self.iterate(&r);
        let mut iterations = 0;
        let residual = |it: &Iterate, r: &[f64]| -> Vec<f64> {
            (0..q).map(|k| it.f[k] - m.fstar[k] - r[k]).collect()
        };
        let sup = |e: &[f64]| e.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let (mut best, mut best_at) = (f64::INFINITY, 0);
        let stop = loop {
            // the ascent direction of D
            let e = residual(&it, &r);
            let err = sup(&e);
            progress(iterations, err);
            let scale = sup(&m.fstar).max(sup(&r)).max(1.0);
            if err <= opts.tol * scale {
                break Stop::Converged;
            }
            if err < best {
                (best, best_at) = (err, iterations);
            } else if iterations - best_at >= opts.stall {
                break Stop::Stalled;
            }
            if iterations >= opts.max_iterations {
                break Stop::IterationLimit;
            }
            iterations += 1;
            let dir = match opts.method {
                Method::Picard => e.iter().map(|v| 0.5 * v).collect(),
                Method::Newton => self.newton_direction(&it.rho, &it.f, &e),
            };
            // backtracking on D (Armijo); ∇D·dir = Σ ω e dir
            let slope: f64 = (0..q).map(|k| m.quad.weights[k] * e[k] * dir[k]).sum();
            let mut alpha = 1.0;
            loop {
                let trial: Vec<f64> = r.iter().zip(&dir).map(|(r, d)| r + alpha * d).collect();
                let next = self.iterate(&trial);
                if next.dual >= it.dual + 1e-4 * alpha * slope || alpha < 1e-12 {
                    r = trial;
                    it = next;
                    break;
                }
                alpha *= 0.5;
            }
        };
        let stationarity = stationarity(&mut self.vel, &it.rho, &mut self.psi);
        let open = crate::diagnostics::open_side(self.grid, m.reduction.is_some());
        Steady {
            boundary_mass: crate::grid::fit::boundary_mass(self.grid, &it.rho, open),
            fixed_point_residual: sup(&residual(&it, &r)),
            gap: self.gap(&it),
            residual_nodes: r,
            risk: it.risk,
            entropy: it.entropy,
            free_energy: it.free_energy,
            rho: it.rho,
            stationarity,
            iterations,
            stop,
            shift: it.shift,
        }
    }

    /// δ with (I + (2/η) C W) δ = e: the Newton step of D, W = diag(ω), C
    /// the covariance of a σ(w·x̃_q) under ρ.
    fn newton_direction(&self, rho: &[f64], f: &[f64], e: &[f64]) -> Vec<f64> {
        let (m, grid, vel) = (self.model, self.grid, &self.vel);
        let q = m.quad.len();
        let nw = vel.w_points();
        // μ2(w) = Σ_a ρ(a, w) a² |C| (a0² ρ(w) |C| when a is frozen)
        let vol = grid.cell_volume();
        let mut mu2 = vec![0.0; nw];
        match m.net.frozen_a {
            Some(a0) => mu2
                .iter_mut()
                .zip(rho)
                .enumerate()
                .for_each(|(p, (v, r))| *v = a0 * a0 * r * grid.volume_at(p)),
            None if grid.is_uniform() => {
                for ia in 0..grid.n[0] {
                    let a = grid.centre(0, ia);
                    let row = &rho[ia * nw..(ia + 1) * nw];
                    mu2.iter_mut()
                        .zip(row)
                        .for_each(|(v, r)| *v += a * a * r * vol);
                }
            }
            None => {
                for ia in 0..grid.n[0] {
                    let a = grid.centre(0, ia);
                    let row = &rho[ia * nw..(ia + 1) * nw];
                    for (p, (v, r)) in mu2.iter_mut().zip(row).enumerate() {
                        *v += a * a * r * grid.volume_at(ia * nw + p);
                    }
                }
            }
        }
        // C_kl = Σ_w μ2(w) σ_k(w) σ_l(w) − f_k f_l
        let mut c = vec![0.0; q * q];
        c.par_chunks_mut(q).enumerate().for_each(|(k, row)| {
            for (l, v) in row.iter_mut().enumerate().take(k + 1) {
                let s: f64 = (0..nw)
                    .map(|p| mu2[p] * vel.sigma_at(k, p) * vel.sigma_at(l, p))
                    .sum();
                *v = s - f[k] * f[l];
            }
        });
        // the symmetric system (W + (2/η) W C W) δ = W e
        let s = 2.0 / m.noise;
        let w = &m.quad.weights;
        let mut a = vec![0.0; q * q];
        for k in 0..q {
            for l in 0..=k {
                let v = s * w[k] * c[k * q + l] * w[l] + if k == l { w[k] } else { 0.0 };
                a[k * q + l] = v;
                a[l * q + k] = v;
            }
        }
        let b: Vec<f64> = (0..q).map(|k| w[k] * e[k]).collect();
        cholesky_solve(&mut a, q, b)
    }
}

/// Solve A x = b for a symmetric positive definite A (row-major n × n,
/// overwritten by its Cholesky factor).
///
/// # Panics
/// If A is not positive definite.
pub fn cholesky_solve(a: &mut [f64], n: usize, mut b: Vec<f64>) -> Vec<f64> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        assert!(d > 0.0, "matrix not positive definite at pivot {j}");
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut v = a[i * n + j];
            for k in 0..j {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / d;
        }
    }
    for i in 0..n {
        for k in 0..i {
            b[i] -= a[i * n + k] * b[k];
        }
        b[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            b[i] -= a[k * n + i] * b[k];
        }
        b[i] /= a[i * n + i];
    }
    b
}

/// Cells with ρ_i at least this fraction of max ρ make up the support of
/// the stationarity residual (below it, log ρ is round-off of the tails).
pub const SUPPORT: f64 = 1e-8;

/// The stationarity residual of ρ: max − min over the support of
/// log ρ_i + 2Ψ[ρ]_i/η, which is constant (log 1/Z) exactly on a Gibbs
/// state. `psi` is scratch of the grid's length.
pub fn stationarity(vel: &mut Velocity, rho: &[f64], psi: &mut [f64]) -> f64 {
    vel.eval_g(rho);
    vel.psi_cells(psi);
    let scale = 2.0 / vel.model().noise;
    let top = rho.par_iter().cloned().reduce(|| 0.0, f64::max);
    let (lo, hi) = rho
        .par_iter()
        .zip(psi.par_iter())
        .filter(|(r, _)| **r >= SUPPORT * top && **r > 0.0)
        .map(|(r, p)| {
            let v = r.ln() + scale * p;
            (v, v)
        })
        .reduce(
            || (f64::INFINITY, f64::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
    hi - lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_spd_system() {
        let n = 5;
        // A = Bᵀ B + I
        let bm: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7) % 11) as f64 / 5.0 - 1.0)
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| bm[k * n + i] * bm[k * n + j]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let x0: Vec<f64> = (0..n).map(|i| i as f64 - 1.5).collect();
        let b: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * x0[j]).sum())
            .collect();
        let x = cholesky_solve(&mut a.clone(), n, b);
        for (u, v) in x.iter().zip(&x0) {
            assert!((u - v).abs() < 1e-12, "{u} vs {v}");
        }
    }
}
