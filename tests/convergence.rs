//! Agreement with exact solutions and observed orders of convergence.

mod common;
use common::*;
use mfpde::grid::Grid;
use mfpde::initial::{Gaussian, InitialLaw};
use mfpde::scheme::{make_diffusion, DiffusionKind};
use mfpde::solve::make_stepper;

/// Exact cell averages of the Gaussian N(mean, diag(var)) on `grid`
/// (renormalised to the box, as ρ0 is).
fn gaussian_cells(grid: &Grid, mean: &[f64], var: &[f64]) -> Vec<f64> {
    InitialLaw::Gaussian(Gaussian {
        mean: mean.to_vec(),
        std: var.iter().map(|v| v.sqrt()).collect(),
    })
    .cell_averages(grid)
    .0
}

/// Closed form of the Ornstein–Uhlenbeck problem (grids/ou_exact.toml):
/// mean m0 e^{−λt}, variance s0² e^{−2λt} + (η/2λ)(1 − e^{−2λt}).
fn ou_exact(t: f64, lam: f64, eta: f64, m0: &[f64], s0: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let e = (-lam * t).exp();
    let mean = m0.iter().map(|m| m * e).collect();
    let var = s0
        .iter()
        .map(|s| s * s * e * e + eta / (2.0 * lam) * (1.0 - e * e))
        .collect();
    (mean, var)
}

#[test]
fn ornstein_uhlenbeck_mean_and_covariance_match_the_closed_form() {
    let s = grid_setup("ou_exact", &[]);
    let rec = run(&s);
    for d in &rec.snapshots {
        let (mean, var) = ou_exact(d.time, 1.0, 0.5, &[0.0, 1.0], &[0.8, 0.6]);
        for k in 0..2 {
            assert!(
                (d.mean[k] - mean[k]).abs() < 5e-3,
                "t={} mean {:?} vs {mean:?}",
                d.time,
                d.mean
            );
            // stored moments carry no h²/12 (diagnostics' docs); what is
            // left is the scheme's O(h²), ≈ 1e-3 at 128² (README's limiter
            // table), a fifth of the tolerance
            assert!(
                (d.cov[k * 2 + k] - var[k]).abs() < 5e-3,
                "t={} cov {:?} vs {var:?}",
                d.time,
                d.cov
            );
        }
        assert!(d.cov[1].abs() < 1e-3);
        // f_ρ ≡ 0 by symmetry in a: the risk is the weight-decay term alone
        let wd = 0.5 * (var[0] + var[1] + mean[1] * mean[1]);
        assert!((d.risk - wd).abs() < 1e-2, "risk {} vs {wd}", d.risk);
    }
}

/// The scheme is second order in h; below 64 cells per axis the O(h³)
/// terms and the limiter's clipping at the extremum still weigh (observed
/// 1.65 from 32 to 64), so every pair from 64 on is asserted at ≥ 1.8:
/// the nominal 2 less the 0.2 such terms still take at 64–256 cells.
const SECOND_ORDER: f64 = 1.8;

#[test]
fn ornstein_uhlenbeck_l1_error_falls_at_second_order() {
    let mut errors = Vec::new();
    for n in [64, 128, 256] {
        let cells = format!("grid.cells=[{n},{n}]");
        let s = grid_setup("ou_exact", &[&cells, "dynamics.snapshots=2"]);
        let rec = run(&s);
        let (mean, var) = ou_exact(1.0, 1.0, 0.5, &[0.0, 1.0], &[0.8, 0.6]);
        let exact = gaussian_cells(&s.grid, &mean, &var);
        errors.push(l1(
            rec.densities.last().unwrap(),
            &exact,
            s.grid.cell_volume(),
        ));
    }
    let p = orders(&errors);
    eprintln!("OU L1 errors {errors:?}, orders {p:?}");
    assert!(
        p.iter().all(|&o| o >= SECOND_ORDER),
        "observed orders {p:?} from errors {errors:?}"
    );
}

#[test]
fn spectral_diffusion_alone_is_second_order_in_h() {
    // pure heat flow of a Gaussian: variance grows by 2 D t, D = η/2
    let (d, t) = (0.25, 0.8);
    let mut errors = Vec::new();
    for n in [16, 32, 64, 128] {
        let grid = Grid::new(vec![-6.0, -5.0], vec![6.0, 7.0], vec![n, n], vec![]);
        let mut rho = gaussian_cells(&grid, &[0.3, 1.0], &[0.25, 0.5]);
        let mut diff = make_diffusion(DiffusionKind::Spectral, &grid, d);
        for _ in 0..4 {
            diff.advance(&mut rho, t / 4.0);
        }
        let exact = gaussian_cells(&grid, &[0.3, 1.0], &[0.25 + 2.0 * d * t, 0.5 + 2.0 * d * t]);
        errors.push(l1(&rho, &exact, grid.cell_volume()));
    }
    let p = orders(&errors);
    eprintln!("diffusion L1 errors {errors:?}, orders {p:?}");
    // the exact discrete heat flow: only the O(h²) of the 3-point
    // Laplacian is left, so every pair is near 2 (observed 1.93–1.99)
    assert!(p.iter().all(|&o| (1.9..2.1).contains(&o)), "orders {p:?}");
}

#[test]
fn backward_euler_diffusion_is_first_order_in_time() {
    let grid = Grid::new(vec![-8.0], vec![8.0], vec![400], vec![]);
    let (d, t) = (0.5, 1.0);
    let rho0 = gaussian_cells(&grid, &[0.0], &[0.3]);
    let mut exact = rho0.clone();
    make_diffusion(DiffusionKind::Spectral, &grid, d).advance(&mut exact, t);
    let mut errors = Vec::new();
    for steps in [8, 16, 32] {
        let mut rho = rho0.clone();
        let mut be = make_diffusion(DiffusionKind::BackwardEuler, &grid, d);
        for _ in 0..steps {
            be.advance(&mut rho, t / steps as f64);
        }
        errors.push(l1(&rho, &exact, grid.cell_volume()));
    }
    let p = orders(&errors);
    assert!(p.iter().all(|&o| (0.9..1.1).contains(&o)), "orders {p:?}");
}

/// L1 errors of MUSCL advection alone with a limiter at n = 64, 128, 256.
fn advection_errors(limiter: &str) -> Vec<f64> {
    advection_errors_with(&[&format!("solver.limiter=\"{limiter}\"")])
}

/// L1 errors of the advection alone at n = 64, 128, 256 cells per axis.
fn advection_errors_with(sets: &[&str]) -> Vec<f64> {
    // η = 0, f* = 0, λ = 1: V = −θ contracts a Gaussian exactly,
    // mean m0 e^{−t}, std s0 e^{−t}.
    let t_end = 0.3;
    let mut errors = Vec::new();
    for n in [64, 128, 256] {
        let cells = format!("grid.cells=[{n},{n}]");
        let mut all = sets.to_vec();
        all.extend([
            cells.as_str(),
            "grid.lo=[-3.5,-2.0]",
            "grid.hi=[3.5,4.0]",
            "dynamics.noise=0.0",
            "dynamics.t_end=0.3",
            "dynamics.snapshots=2",
        ]);
        let s = grid_setup("ou_exact", &all);
        let mut stepper = make_stepper(&s);
        let mut rho = s.rho0();
        let mut t = 0.0;
        while t < t_end {
            let dt = stepper.stable_dt(&rho).min(t_end - t);
            stepper.advect(&mut rho, dt);
            t += dt;
        }
        let (mean, var) = ou_exact(t_end, 1.0, 0.0, &[0.0, 1.0], &[0.8, 0.6]);
        let exact = gaussian_cells(&s.grid, &mean, &var);
        errors.push(l1(&rho, &exact, s.grid.cell_volume()));
    }
    errors
}

#[test]
fn advection_alone_is_second_order_on_smooth_data() {
    // minmod clips the slope hardest at the extremum and loses 0.05 more
    // there at these h (1.76 from 64 to 128 cells, 1.84 from 128 to 256)
    for (limiter, min_order) in [
        ("mc", SECOND_ORDER),
        ("minmod", SECOND_ORDER - 0.05),
        ("van_leer", SECOND_ORDER),
    ] {
        let errors = advection_errors(limiter);
        let p = orders(&errors);
        eprintln!("advection ({limiter}) L1 errors {errors:?}, orders {p:?}");
        assert!(p.iter().all(|&o| o >= min_order), "{limiter}: orders {p:?}");
    }
}

#[test]
fn first_order_upwind_advection_is_first_order() {
    // the flux seam: the same sweep with the upwind flux; its error is
    // O(h) (numerical diffusion h|V|/2), so every pair is near 1
    let errors = advection_errors_with(&["solver.flux=\"upwind\""]);
    let p = orders(&errors);
    eprintln!("advection (upwind) L1 errors {errors:?}, orders {p:?}");
    assert!(p.iter().all(|&o| (0.85..1.15).contains(&o)), "orders {p:?}");
    let muscl = advection_errors("minmod");
    assert!(
        errors[2] > 10.0 * muscl[2],
        "upwind {errors:?} vs MUSCL {muscl:?}"
    );
}

#[test]
fn nonlinear_problem_converges_under_grid_refinement() {
    // the quickstart (tanh teacher) on successively refined grids; the
    // differences of successive solutions, restricted to the coarse grid,
    // fall at the scheme's order
    let p = orders_in_h(
        "nonlinear",
        "quickstart",
        &[
            "grid.lo=[-4.0,-4.0]",
            "grid.hi=[4.0,4.0]",
            "dynamics.t_end=1.5",
            "dynamics.snapshots=2",
        ],
    );
    // with the default van Leer limiter every pair is second order
    // (observed 2.25, 2.13; minmod, which clips hardest at the extrema of
    // ρ, gave 1.74, 1.94)
    assert!(p.iter().all(|&o| o >= SECOND_ORDER), "orders {p:?}");
}

#[test]
fn strang_splitting_is_second_order_in_time_and_lie_first() {
    // the OU problem on a fixed 32² grid, fixed steps Δt below the CFL
    // limit, against the same grid's solution at Δt/16 with Strang: what
    // is left is the time error, O(Δt²) for Strang (with SSP-RK2 and exact
    // diffusion), O(Δt) for Lie (the commutator of drift and diffusion)
    let run_with = |splitting: &str, dt: f64| {
        let (rec, s) = fixed_steps("ou_exact", &["grid.cells=[32,32]"], splitting, dt);
        (rec.densities.last().unwrap().clone(), s.grid.cell_volume())
    };
    let (reference, vol) = run_with("strang", 0.02 / 64.0);
    assert_splitting_orders("OU", |splitting, dt| {
        l1(&run_with(splitting, dt).0, &reference, vol)
    });
}
