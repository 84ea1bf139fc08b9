//! Agreement with exact solutions and observed orders of convergence.

mod common;
use common::*;
use mfpde::grid::{restrict, Grid};
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
            // the cell-average variance exceeds the exact one by h²/12
            let h2 = s.grid.h[k].powi(2) / 12.0;
            assert!(
                (d.cov[k * 2 + k] - var[k] - h2).abs() < 5e-3,
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

#[test]
fn ornstein_uhlenbeck_l1_error_falls_at_second_order() {
    let mut errors = Vec::new();
    for n in [32, 64, 128] {
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
    assert!(p[1] >= 1.8, "observed order {p:?} from errors {errors:?}");
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
    assert!(
        p[1..].iter().all(|&o| (1.9..2.2).contains(&o)),
        "orders {p:?}"
    );
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

/// L1 errors of the advection alone at n = 32 … 256 cells per axis.
fn advection_errors(limiter: &str) -> Vec<f64> {
    // η = 0, f* = 0, λ = 1: V = −θ contracts a Gaussian exactly,
    // mean m0 e^{−t}, std s0 e^{−t}.
    let t_end = 0.3;
    let lim = format!("solver.limiter=\"{limiter}\"");
    let mut errors = Vec::new();
    for n in [32, 64, 128, 256] {
        let cells = format!("grid.cells=[{n},{n}]");
        let s = grid_setup(
            "ou_exact",
            &[
                &cells,
                &lim,
                "grid.lo=[-3.5,-2.0]",
                "grid.hi=[3.5,4.0]",
                "dynamics.noise=0.0",
                "dynamics.t_end=0.3",
                "dynamics.snapshots=2",
            ],
        );
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
    for (limiter, min_order) in [("mc", 1.8), ("minmod", 1.75), ("van_leer", 1.8)] {
        let errors = advection_errors(limiter);
        let p = orders(&errors);
        eprintln!("advection ({limiter}) L1 errors {errors:?}, orders {p:?}");
        assert!(p[2] >= min_order, "{limiter}: orders {p:?}");
    }
}

#[test]
fn nonlinear_problem_converges_under_grid_refinement() {
    // the quickstart (tanh teacher) on successively refined grids; the
    // differences of successive solutions, restricted to the coarse grid,
    // fall at the scheme's order
    let mut sols = Vec::new();
    let mut grids = Vec::new();
    for n in [32, 64, 128, 256] {
        let cells = format!("grid.cells=[{n},{n}]");
        let s = grid_setup(
            "quickstart",
            &[
                &cells,
                "grid.lo=[-4.0,-4.0]",
                "grid.hi=[4.0,4.0]",
                "dynamics.t_end=1.5",
                "dynamics.snapshots=2",
            ],
        );
        let rec = run(&s);
        sols.push(rec.densities.last().unwrap().clone());
        grids.push(s.grid.clone());
    }
    let diffs: Vec<f64> = (0..3)
        .map(|i| {
            let fine = restrict(&grids[i + 1], &sols[i + 1], 2);
            l1(&sols[i], &fine, grids[i].cell_volume())
        })
        .collect();
    let p = orders(&diffs);
    eprintln!("nonlinear successive L1 differences {diffs:?}, orders {p:?}");
    assert!(p[1] >= 1.5, "orders {p:?}");
}
