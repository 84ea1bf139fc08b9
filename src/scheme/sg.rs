//! **Scharfetter–Gummel** (exponential fitting, Chang–Cooper): drift and
//! diffusion in one face flux, equilibrium-exact, with an implicit,
//! dimension-split step (`solver.scheme = "sg"`).
//!
//! The PDE in gradient form is ∂_t ρ = div(ρ ∇Ψ + D ∇ρ), D = η/2, Ψ = Ψ[ρ]
//! of docs/model.md §2 at the cell centres. On a face between cells L and R of
//! axis k, with ΔΨ = Ψ_R − Ψ_L, the flux that is exact for a constant flux
//! along the segment with Ψ linear on it is
//!
//! ```text
//! J = (D/h) [B(ΔΨ/D) ρ_L − B(−ΔΨ/D) ρ_R],     B(x) = x / (e^x − 1),
//! ```
//!
//! which vanishes exactly when ρ_R/ρ_L = e^{−ΔΨ/D}: on the discrete Gibbs
//! state ρ_i ∝ exp(−2Ψ_i/η). For D → 0 it is the upwind flux of V = −ΔΨ/h.
//!
//! A step of length Δt freezes Ψ at the step's start and applies, axis
//! after axis, backward Euler (I − Δt L_k) ρ ← ρ with L_k the flux
//! differences along k: a tridiagonal M-matrix whose columns sum to one, so
//! every sweep is positive and conserves mass, and its inverse is a Markov
//! operator that keeps the Gibbs state of the frozen Ψ. The relative entropy
//! to that state, hence the free energy with Ψ frozen, does not increase;
//! what freezing Ψ leaves out is ½ Σ_q ω_q (δf_q)² ≥ 0, so a step whose free
//! energy F_η rises (a step too long for the coupling through f) is undone
//! and taken as two halves, until F_η does not rise (beyond round-off).
//! Fixed points are exactly the discrete self-consistent Gibbs states, for
//! any Δt. The step is first order in Δt and second order in h.
//!
//! With birth–death (α > 0) each implicit sub-step is followed by the
//! reaction sub-step ([`super::reaction`]) over the same Δt, inside the
//! F_η check (the pair is undone and halved when F_η rises). On a discrete
//! self-consistent Gibbs state Φ = Ψ + (η/2) log ρ is the same in every
//! cell, so the reaction leaves it unchanged: those states stay fixed
//! points of the pair, exactly, for any Δt and α (a composition keeps
//! every common fixed point). The pair stays first order in Δt.

use super::reaction::Reaction;
use super::SubStep;
use crate::diagnostics::{self, Sums};
use crate::grid::lines::{LineIndex, LineSweeper};
use crate::grid::Grid;
use crate::model::MeanField;
use crate::velocity::Velocity;

/// The backward-Euler sweep (I − Δt L_k) ρ ← ρ along `axis` of the
/// sweeper's grid, every line with its potential `psi` (of the grid's
/// layout) and D = `d`.
pub fn implicit_sweep(
    sweeper: &LineSweeper,
    axis: usize,
    rho: &mut [f64],
    psi: &[f64],
    dt: f64,
    d: f64,
) {
    let grid = sweeper.grid();
    let c = dt / (grid.h[axis] * grid.h[axis]);
    let stretch = grid.stretch[axis].as_deref();
    sweeper.sweep(axis, rho, |line, sc, at: LineIndex| {
        let n = line.len();
        for (i, p) in sc.more[..n].iter_mut().enumerate() {
            *p = psi[at.at(i)];
        }
        let (lower, diag) = sc.work.split_at_mut(n);
        let m = &mut sc.extra[..n];
        match stretch {
            None => implicit_line(line, &sc.more[..n], c, d, lower, diag, m),
            Some(s) => implicit_line_stretched(line, &sc.more[..n], dt, d, s, lower, diag, m),
        }
    });
}

/// B(x) = x / (e^x − 1), B(0) = 1 (exact to round-off near 0 through
/// expm1; B(x) → 0 for x → ∞ and → −x for x → −∞).
#[inline]
pub fn bernoulli(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        x / x.exp_m1()
    }
}

/// The coefficients (c_L, c_R) of the flux h J = c_L ρ_L − c_R ρ_R through a
/// face with potential jump ΔΨ = Ψ_R − Ψ_L and diffusion D:
/// c_L = D B(ΔΨ/D), c_R = D B(−ΔΨ/D); for D = 0, the upwind (max(−ΔΨ, 0),
/// max(ΔΨ, 0)).
#[inline]
pub fn coefficients(dpsi: f64, d: f64) -> (f64, f64) {
    if d > 0.0 {
        let x = dpsi / d;
        (d * bernoulli(x), d * bernoulli(-x))
    } else {
        ((-dpsi).max(0.0), dpsi.max(0.0))
    }
}

/// Solve (I − Δt L) u_new = u on one line in place, L the SG flux
/// differences with potential `psi` along the line, `c` = Δt / h², `d` = D,
/// walls without flux. `cl`, `cr`, `m` are scratch of the line's length.
///
/// The matrix M = I + c A has unit column sums (A is a generator: mass
/// moves, none is made) and non-positive off-diagonals. Thomas's algorithm
/// computes the pivots as m_i = M_ii − M_{i,i−1} M_{i−1,i} / m_{i−1}, a
/// difference of numbers of size c that loses c·1e-16 of relative accuracy
/// at long steps. Here each pivot is built from its column's slack instead,
/// t_i = m_i − |M_{i+1,i}| = 1 + |M_{i−1,i}| t_{i−1} / m_{i−1} (t_0 = 1),
/// the way the GTH algorithm solves Markov chains: every operation adds
/// non-negative numbers, so the result is positive and accurate to a few
/// ulps whatever Δt (mass to ~n·1e-16, the Gibbs state kept likewise).
pub fn implicit_line(
    u: &mut [f64],
    psi: &[f64],
    c: f64,
    d: f64,
    cl: &mut [f64],
    cr: &mut [f64],
    m: &mut [f64],
) {
    let n = u.len();
    assert!(psi.len() == n && cl.len() >= n && cr.len() >= n && m.len() >= n);
    // face i + 1/2: c·cl_i leaves cell i to the right, c·cr_i leaves cell
    // i + 1 to the left (none through the walls)
    for i in 0..n - 1 {
        let (l, r) = coefficients(psi[i + 1] - psi[i], d);
        cl[i] = c * l;
        cr[i] = c * r;
    }
    cl[n - 1] = 0.0;
    cr[n - 1] = 0.0;
    solve_generator(u, cl, cr, m);
}

/// [`implicit_line`] on a stretched axis: the same step on the cell masses
/// μ_i = h_i u_i, whose matrix has unit column sums again, with the face
/// fluxes over the centres' distances δ: c·cl_i = Δt D B(ΔΨ/D)/(δ h_i)
/// leaves cell i to the right, c·cr_i = Δt D B(−ΔΨ/D)/(δ h_{i+1}) cell
/// i + 1 to the left. It vanishes on the same Gibbs state
/// u_{i+1}/u_i = e^{−ΔΨ/D}.
#[allow(clippy::too_many_arguments)]
pub fn implicit_line_stretched(
    u: &mut [f64],
    psi: &[f64],
    dt: f64,
    d: f64,
    stretch: &crate::grid::Stretch,
    cl: &mut [f64],
    cr: &mut [f64],
    m: &mut [f64],
) {
    let n = u.len();
    let (w, c) = (&stretch.widths, &stretch.centres);
    assert!(psi.len() == n && w.len() == n && cl.len() >= n && cr.len() >= n && m.len() >= n);
    for i in 0..n - 1 {
        let (l, r) = coefficients(psi[i + 1] - psi[i], d);
        let k = dt / (c[i + 1] - c[i]);
        cl[i] = k * l / w[i];
        cr[i] = k * r / w[i + 1];
    }
    cl[n - 1] = 0.0;
    cr[n - 1] = 0.0;
    u.iter_mut().zip(w).for_each(|(u, w)| *u *= w);
    solve_generator(u, cl, cr, m);
    u.iter_mut().zip(w).for_each(|(u, w)| *u /= w);
}

/// Solve (I + A) x = u in place for the generator A of the face rates
/// `cl` (rightward out of cell i) and `cr` (leftward out of cell i + 1),
/// by GTH pivots (see [`implicit_line`]).
fn solve_generator(u: &mut [f64], cl: &[f64], cr: &[f64], m: &mut [f64]) {
    let n = u.len();
    // forward: pivots from the column slack t, right-hand side d'
    let mut t = 1.0;
    m[0] = t + cl[0];
    u[0] /= m[0];
    for i in 1..n {
        t = 1.0 + cr[i - 1] * t / m[i - 1];
        m[i] = t + cl[i];
        u[i] = (u[i] + cl[i - 1] * u[i - 1]) / m[i];
    }
    // back: x_i = d'_i + (c cr_i / m_i) x_{i+1}
    for i in (0..n - 1).rev() {
        u[i] += cr[i] / m[i] * u[i + 1];
    }
}

/// Halvings of a step before it is taken whatever its free energy (never
/// reached in the tests; a step then still is positive and conservative).
const MAX_HALVINGS: u32 = 40;

/// The SG step, planned once: the velocity's tables (for g), Ψ at the cells,
/// line scratch, the state at the step's start (to undo a step).
pub struct SgStep {
    pub(super) velocity: Velocity,
    grid: Grid,
    sweeper: LineSweeper,
    /// D = η/2.
    d: f64,
    psi: Vec<f64>,
    start: Vec<f64>,
    parts: Vec<Sums>,
    /// Sub-steps taken after a halving, since planning.
    halvings: usize,
    /// Birth–death after each implicit sub-step, when α > 0.
    reaction: Option<Reaction>,
}

impl SgStep {
    /// Plan the step for the model (η) on `grid`.
    pub fn new(model: &MeanField, grid: &Grid) -> Self {
        SgStep {
            velocity: Velocity::new(model, grid),
            grid: grid.clone(),
            // work holds two lines: the sub- and the main diagonal
            sweeper: LineSweeper::new(grid, 2 * grid.n.iter().max().unwrap_or(&1)),
            d: 0.5 * model.noise,
            psi: vec![0.0; grid.len()],
            start: vec![0.0; grid.len()],
            parts: Vec::new(),
            halvings: 0,
            reaction: (model.birth_death > 0.0).then(|| Reaction::new(model, grid)),
        }
    }

    /// Steps that were halved because F_η rose (a long step's coupling).
    pub fn halvings(&self) -> usize {
        self.halvings
    }

    /// Ψ_i = a_i g(w_i) + (λ/2)|θ_i|² at every cell centre, g from ρ.
    pub fn fill_psi(&mut self, rho: &[f64]) {
        self.velocity.eval_g(rho);
        self.velocity.psi_cells(&mut self.psi);
    }

    /// Ψ at the cell centres (after [`SgStep::fill_psi`]).
    pub fn psi(&self) -> &[f64] {
        &self.psi
    }

    /// One implicit sweep per axis with the current Ψ.
    pub fn frozen_step(&mut self, rho: &mut [f64], dt: f64) {
        for k in 0..self.grid.dim() {
            implicit_sweep(&self.sweeper, k, rho, &self.psi, dt, self.d);
        }
    }

    /// F_η in the centre-sum convention whose minimiser is the point-value
    /// Gibbs state the step keeps. On uniform cells the stored F differs
    /// from it by a constant (M Σ_k h_k²/12 times λ/2), so the stored F
    /// serves; on stretched cells that shift depends on ρ
    /// ([`diagnostics::centre_bias_of`]) and is added back.
    fn free_energy(&mut self, rho: &[f64]) -> f64 {
        let (e, shift) =
            diagnostics::energies_and_shift(&self.grid, &mut self.velocity, rho, &mut self.parts);
        if self.grid.is_uniform() {
            e.2
        } else {
            e.2 + shift
        }
    }
}

impl SubStep for SgStep {
    /// Implicit: any step is stable.
    fn stable_dt(&mut self, _rho: &[f64]) -> f64 {
        f64::INFINITY
    }

    fn advance(&mut self, rho: &mut [f64], dt: f64) {
        let f = self.free_energy(rho);
        self.halvings += halving_steps(dt, f, |act| match act {
            Act::Take(h) => {
                self.start.copy_from_slice(rho);
                self.fill_psi(rho);
                self.frozen_step(rho, h);
                if let Some(r) = &mut self.reaction {
                    r.advance(&mut self.velocity, rho, h);
                }
                self.free_energy(rho)
            }
            Act::Undo => {
                rho.copy_from_slice(&self.start);
                0.0
            }
        });
    }
}

/// What [`halving_steps`] asks of a step.
pub(crate) enum Act {
    /// Keep the density, take a frozen step of this length from it, and
    /// give F_η after it.
    Take(f64),
    /// Go back to the density kept.
    Undo,
}

/// Advance by `dt` from a density of free energy `f`: sub-steps of
/// [`Act::Take`], one whose F_η rises beyond round-off undone and taken as
/// two halves (up to [`MAX_HALVINGS`] deep), a longer one tried again after
/// each accepted halving. The halvings taken.
pub(crate) fn halving_steps(dt: f64, mut f: f64, mut step: impl FnMut(Act) -> f64) -> usize {
    let (mut left, mut h, mut halved, mut halvings) = (dt, dt, 0, 0);
    while left > 0.0 {
        h = h.min(left);
        let f1 = step(Act::Take(h));
        // round-off of F's sums: a few ulps of its largest terms
        let tol = 1e-14 * (1.0 + f.abs() + f1.abs());
        if f1 <= f + tol || halved >= MAX_HALVINGS {
            left = if h >= left { 0.0 } else { left - h };
            f = f1;
            if halved > 0 {
                // try a longer sub-step again after a halving
                h *= 2.0;
                halved -= 1;
            }
        } else {
            step(Act::Undo);
            h *= 0.5;
            halved += 1;
            halvings += 1;
        }
    }
    halvings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bernoulli_is_accurate_near_zero_and_in_the_tails() {
        for &x in &[1e-12f64, -1e-9, 1e-5, 0.3, -2.0, 40.0, -40.0] {
            let want: f64 = if x.abs() < 1e-4 {
                1.0 - x / 2.0 + x * x / 12.0
            } else {
                x / (x.exp() - 1.0)
            };
            assert!(
                (bernoulli(x) - want).abs() <= 1e-15 * want.abs().max(1.0),
                "{x}"
            );
        }
        assert_eq!(bernoulli(800.0), 0.0);
        assert_eq!(bernoulli(-800.0), 800.0);
        // B(x) − B(−x) = −x exactly in theory: the flux of ρ ∝ e^{−Ψ/D}
        for &x in &[1e-7f64, 0.5, 7.0] {
            assert!((bernoulli(x) - bernoulli(-x) + x).abs() < 1e-14);
        }
    }

    /// A frozen potential on one line: the discrete Gibbs state is kept to
    /// round-off at any step (the subtraction-free elimination), mass is
    /// kept, and any start reaches it.
    #[test]
    fn a_line_keeps_and_reaches_its_gibbs_state() {
        let n = 40;
        let psi: Vec<f64> = (0..n)
            .map(|i| ((i as f64) * 0.37).sin() * 2.0 + 0.01 * i as f64)
            .collect();
        let d = 0.35;
        let z: f64 = psi.iter().map(|p| (-p / d).exp()).sum();
        let gibbs: Vec<f64> = psi.iter().map(|p| (-p / d).exp() / z).collect();
        let (mut lo, mut di, mut up) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for (c, tol) in [(1e-3, 1e-13), (1.0, 1e-13), (1e3, 1e-13), (1e9, 1e-13)] {
            let mut u = gibbs.clone();
            implicit_line(&mut u, &psi, c, d, &mut lo, &mut di, &mut up);
            for (a, b) in u.iter().zip(&gibbs) {
                assert!((a - b).abs() < tol * b, "c = {c}: {a} vs {b}");
            }
        }
        // from a point mass: barriers of up to 4/D ≈ 11 between the wells
        // (e^11 ≈ 6e4) make it slow at small steps; steps of 10⁶ h² mix
        let mut u = vec![0.0; n];
        u[3] = 1.0;
        for _ in 0..60 {
            let before: f64 = u.iter().sum();
            implicit_line(&mut u, &psi, 1e6, d, &mut lo, &mut di, &mut up);
            assert!(u.iter().all(|v| *v >= 0.0));
            // each x_i is a few ulps off: the mass by at most 4 n ulps a step
            let after: f64 = u.iter().sum();
            assert!(
                (after - before).abs() <= 4.0 * n as f64 * f64::EPSILON,
                "{before} → {after}"
            );
        }
        for (a, b) in u.iter().zip(&gibbs) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
