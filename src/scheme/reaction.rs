//! **Birth–death** (docs/model.md §8): the reaction sub-step of
//!
//! ```text
//! ∂_t ρ = −α (Φ − Φ̄) ρ,   Φ = Ψ + (η/2) log ρ,   Φ̄ = ∫ Φ ρ / ∫ ρ,
//! ```
//!
//! which moves mass from where Φ = δF_η/δρ is high to where it is low.
//!
//! With Ψ frozen the flow is solved exactly: log ρ obeys a linear equation,
//! d/dt log ρ = −(αη/2) log ρ − α Ψ + c(t), whose solution is
//!
//! ```text
//! ρ(t) ∝ ρ(0) exp(−κ(t) (Φ(0) − Φ̄(0))),   κ(t) = (1 − e^{−αηt/2}) / (η/2)
//! ```
//!
//! (κ = αt at η = 0: there Φ = Ψ is frozen too, and this is the exact
//! exponential ρ e^{−αΔt(Φ − Φ̄)}), renormalised to the mass it had: mass is
//! conserved to round-off and ρ stays positive, for any Δt. Ψ depends on ρ
//! through g; the sub-step takes Ψ at the midpoint (an exact half step with
//! Ψ of the start, then the whole step from the start with Ψ of that
//! midpoint): second order in Δt, so Strang's composition stays second
//! order.
//!
//! On the discrete Gibbs state ρ_i ∝ exp(−2Ψ_i/η) (with Ψ of itself) Φ is
//! the same in every cell, so the sub-step leaves it exactly where it is:
//! birth–death keeps the stationary state of the split and the sg schemes.

use crate::diagnostics;
use crate::grid::Grid;
use crate::model::MeanField;
use crate::sum::fixed_sum;
use crate::velocity::Velocity;
use rayon::prelude::*;

/// The reaction sub-step on a grid, planned once.
pub struct Reaction {
    grid: Grid,
    /// α > 0, and η.
    alpha: f64,
    noise: f64,
    psi: Vec<f64>,
    phi: Vec<f64>,
    start: Vec<f64>,
    /// Per cell, Ψ less a g(w): (λ/2)|θ|² and the Itô potential; and a.
    base: Vec<f64>,
    a: Vec<f64>,
}

/// κ(Δt) = (1 − e^{−αηΔt/2}) / (η/2), αΔt at η = 0: the weight of Φ − Φ̄ in
/// the exact flow with Ψ frozen.
pub fn kappa(alpha: f64, noise: f64, dt: f64) -> f64 {
    if noise > 0.0 {
        -(-0.5 * alpha * noise * dt).exp_m1() / (0.5 * noise)
    } else {
        alpha * dt
    }
}

/// Φ_i = Ψ_i + (η/2) log ρ_i where ρ_i > 0 (a cell without mass has none
/// to move).
#[inline]
fn phi_of(psi: f64, rho: f64, noise: f64) -> f64 {
    if noise > 0.0 {
        psi + 0.5 * noise * rho.ln()
    } else {
        psi
    }
}

/// ρ ← ρ e^{−κ (Φ − Φ̄)}, renormalised to its mass, with Φ of `psi` and ρ
/// itself: the exact flow over the Δt of κ with Ψ frozen at `psi`. Cells
/// with ρ_i ≤ 0 (none, or round-off below it) are left as they are. `phi`
/// is scratch of the grid's length. The sums are in a fixed order (the same
/// bits on any number of threads). A density in slabs takes the same three
/// stages with its sums added over the slabs between them.
pub fn frozen_step(
    grid: &Grid,
    rho: &mut [f64],
    psi: &[f64],
    noise: f64,
    kappa: f64,
    phi: &mut [f64],
) {
    let [mass, weighted] = phi_sums(grid, rho, psi, noise, phi);
    if mass <= 0.0 || kappa == 0.0 {
        return;
    }
    exponentiate(rho, phi, kappa, weighted / mass);
    let after = diagnostics::mass(grid, rho);
    rescale(rho, mass / after);
}

/// Φ into `phi` (0 where ρ_i ≤ 0), and the sums of Φ̄: the mass
/// Σ ρ_i |C_i| and Σ Φ_i ρ_i |C_i| (fixed order).
pub fn phi_sums(grid: &Grid, rho: &[f64], psi: &[f64], noise: f64, phi: &mut [f64]) -> [f64; 2] {
    let uniform = grid.is_uniform();
    let vol = |i: usize| match uniform {
        true => grid.cell_volume(),
        false => grid.volume_at(i),
    };
    phi.par_iter_mut()
        .zip(rho.par_iter())
        .zip(psi.par_iter())
        .with_min_len(4096)
        .for_each(|((f, &r), &p)| *f = if r > 0.0 { phi_of(p, r, noise) } else { 0.0 });
    let weighted = fixed_sum(rho, |i, &r| match r > 0.0 {
        true => phi[i] * r * vol(i),
        false => 0.0,
    });
    [diagnostics::mass(grid, rho), weighted]
}

/// ρ_i ← ρ_i e^{−κ (Φ_i − mean)} where ρ_i > 0.
pub fn exponentiate(rho: &mut [f64], phi: &[f64], kappa: f64, mean: f64) {
    rho.par_iter_mut()
        .zip(phi.par_iter())
        .with_min_len(4096)
        .for_each(|(r, &f)| {
            if *r > 0.0 {
                *r *= (-kappa * (f - mean)).exp();
            }
        });
}

/// ρ ← `scale` ρ.
pub fn rescale(rho: &mut [f64], scale: f64) {
    rho.par_iter_mut()
        .with_min_len(4096)
        .for_each(|r| *r *= scale);
}

impl Reaction {
    /// The sub-step of `model`'s rate α > 0 and noise η on `grid`.
    pub fn new(model: &MeanField, grid: &Grid) -> Self {
        let d = grid.dim();
        let (mut base, mut a) = (vec![0.0; grid.len()], vec![0.0; grid.len()]);
        let mut th = vec![0.0; d];
        for (flat, (b, ai)) in base.iter_mut().zip(&mut a).enumerate() {
            grid.centre_of(flat, &mut th);
            let theta_sq: f64 = th.iter().map(|t| t * t).sum();
            *ai = model.net.frozen_a.unwrap_or(th[0]);
            *b = model.psi(0.0, 0.0, theta_sq) + model.ito_potential(th[d - 1]);
        }
        Reaction {
            grid: grid.clone(),
            alpha: model.birth_death,
            noise: model.noise,
            psi: vec![0.0; grid.len()],
            phi: vec![0.0; grid.len()],
            start: vec![0.0; grid.len()],
            base,
            a,
        }
    }

    /// Ψ of ρ at every cell centre, a g(w) + (λ/2)|θ|² + U (as
    /// [`Velocity::psi_cells`]), into `psi`.
    fn fill_psi(&mut self, vel: &mut Velocity, rho: &[f64]) {
        let g = vel.eval_g(rho);
        self.psi_of_g(g);
    }

    /// Ψ = a g(w) + (λ/2)|θ|² + U at every cell from g at the w points.
    pub fn psi_of_g(&mut self, g: &[f64]) {
        let nw = g.len();
        let (a, base) = (&self.a, &self.base);
        self.psi
            .par_iter_mut()
            .enumerate()
            .with_min_len(4096)
            .for_each(|(i, p)| *p = a[i] * g[i % nw] + base[i]);
    }

    /// Φ of `rho` with the Ψ last filled, and the sums of Φ̄ ([`phi_sums`]).
    pub fn sums(&mut self, rho: &[f64]) -> [f64; 2] {
        phi_sums(&self.grid, rho, &self.psi, self.noise, &mut self.phi)
    }

    /// [`exponentiate`] with the Φ of the last [`Reaction::sums`].
    pub fn exponentiate(&self, rho: &mut [f64], kappa: f64, mean: f64) {
        exponentiate(rho, &self.phi, kappa, mean);
    }

    /// κ of a step of `dt` ([`kappa`]).
    pub fn kappa(&self, dt: f64) -> f64 {
        kappa(self.alpha, self.noise, dt)
    }

    /// Keep ρ (the start of a step), and put it back.
    pub fn keep(&mut self, rho: &[f64]) {
        self.start.copy_from_slice(rho);
    }
    pub fn put_back(&self, rho: &mut [f64]) {
        rho.copy_from_slice(&self.start);
    }

    /// Advance ρ by Δt: Ψ at the midpoint (see the module's head). `vel`
    /// is the grid's velocity evaluator (left evaluated at the midpoint).
    pub fn advance(&mut self, vel: &mut Velocity, rho: &mut [f64], dt: f64) {
        if dt == 0.0 {
            return;
        }
        self.start.copy_from_slice(rho);
        self.fill_psi(vel, rho);
        let half = kappa(self.alpha, self.noise, 0.5 * dt);
        frozen_step(&self.grid, rho, &self.psi, self.noise, half, &mut self.phi);
        self.fill_psi(vel, rho);
        rho.copy_from_slice(&self.start);
        let whole = kappa(self.alpha, self.noise, dt);
        frozen_step(&self.grid, rho, &self.psi, self.noise, whole, &mut self.phi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frozen step against the exact flow of ∂_t ρ = −α(Φ − Φ̄)ρ with Ψ
    /// frozen, integrated by many small explicit steps of log ρ, and at
    /// η = 0 against ρ e^{−αΔtΨ} normalised.
    #[test]
    fn the_frozen_step_is_the_exact_flow_with_psi_frozen() {
        let grid = Grid::new(vec![-1.0], vec![2.0], vec![30], vec!["a".into()]);
        let h = grid.cell_volume();
        let rho0: Vec<f64> = (0..30)
            .map(|i| (-(grid.centre(0, i) - 0.3).powi(2)).exp() + 0.05)
            .collect();
        let psi: Vec<f64> = (0..30).map(|i| (3.0 * grid.centre(0, i)).sin()).collect();
        let (alpha, dt) = (2.0, 0.7);
        for noise in [0.0, 0.3] {
            let mut got = rho0.clone();
            frozen_step(
                &grid,
                &mut got,
                &psi,
                noise,
                kappa(alpha, noise, dt),
                &mut vec![0.0; 30],
            );
            // the closed form ρ0^E e^{−(1−E)(2/η)Ψ} (E = e^{−αηΔt/2}),
            // normalised: a few ulps of exponents of size 10 apart
            let m0: f64 = rho0.iter().sum::<f64>() * h;
            if noise > 0.0 {
                let e_ = (-0.5 * alpha * noise * dt).exp();
                let c: Vec<f64> = (0..30)
                    .map(|i| rho0[i].powf(e_) * (-(1.0 - e_) * 2.0 / noise * psi[i]).exp())
                    .collect();
                let z: f64 = c.iter().sum::<f64>() * h / m0;
                for i in 0..30 {
                    let want = c[i] / z;
                    assert!(
                        (got[i] - want).abs() <= 1e-13 * want,
                        "closed form, cell {i}"
                    );
                }
            }
            // that it is the flow: u = log ρ, u' = −α(Ψ + (η/2)u − mean) by
            // RK4 in n = 4000 steps: its error ~ (αΔt/n)⁴ × (max|Φ| ≈ 2)⁵ ≈
            // 1e-11, round-off n ε ≈ 1e-12; asserted 1e-10
            let n = 4000;
            let tau = dt / n as f64;
            let mut u: Vec<f64> = rho0.iter().map(|r| r.ln()).collect();
            let rate = |u: &[f64]| -> Vec<f64> {
                let m: f64 = u.iter().map(|v| v.exp()).sum::<f64>() * h;
                let phis: Vec<f64> = (0..30).map(|i| psi[i] + 0.5 * noise * u[i]).collect();
                let mean: f64 = (0..30).map(|i| phis[i] * u[i].exp()).sum::<f64>() * h / m;
                phis.iter().map(|p| -alpha * (p - mean)).collect()
            };
            for _ in 0..n {
                let k1 = rate(&u);
                let s = |k: &[f64], c: f64| -> Vec<f64> {
                    u.iter().zip(k).map(|(a, b)| a + c * tau * b).collect()
                };
                let k2 = rate(&s(&k1, 0.5));
                let k3 = rate(&s(&k2, 0.5));
                let k4 = rate(&s(&k3, 1.0));
                for i in 0..30 {
                    u[i] += tau / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
            }
            let m1: f64 = got.iter().sum::<f64>() * h;
            assert!(
                (m0 - m1).abs() <= 1e-15 * m0,
                "η = {noise}: mass {m0} → {m1}"
            );
            for i in 0..30 {
                let want = u[i].exp();
                assert!(
                    (got[i] - want).abs() <= 1e-10 * want,
                    "η = {noise}, cell {i}: {} vs {want}",
                    got[i]
                );
            }
            if noise == 0.0 {
                let e: Vec<f64> = (0..30)
                    .map(|i| rho0[i] * (-alpha * dt * psi[i]).exp())
                    .collect();
                let z: f64 = e.iter().sum::<f64>() * h / m0;
                for i in 0..30 {
                    assert!((got[i] - e[i] / z).abs() <= 1e-14 * e[i] / z);
                }
            }
        }
    }

    /// On ρ ∝ e^{−2Ψ/η} the step changes nothing (Φ is constant).
    #[test]
    fn the_gibbs_state_of_psi_is_kept() {
        let grid = Grid::new(vec![0.0, 0.0], vec![1.0, 2.0], vec![8, 6], vec![]);
        let noise = 0.4;
        let psi: Vec<f64> = (0..48).map(|i| (i as f64 * 0.37).cos()).collect();
        let rho: Vec<f64> = psi.iter().map(|p| (-2.0 * p / noise).exp()).collect();
        let mut got = rho.clone();
        frozen_step(
            &grid,
            &mut got,
            &psi,
            noise,
            kappa(5.0, noise, 3.0),
            &mut vec![0.0; 48],
        );
        for (a, b) in rho.iter().zip(&got) {
            assert!((a - b).abs() <= 1e-14 * a, "{a} → {b}");
        }
    }
}
