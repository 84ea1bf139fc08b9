//! Stretched axes ([grid.map.<axis>]): exact solutions and observed orders
//! on sinh and geometric maps, the uniform map's bits, mass and positivity.

mod common;
use common::*;
use mfpde::diagnostics::centre_bias_of;
use mfpde::grid::Grid;
use mfpde::initial::{Gaussian, InitialLaw};
use mfpde::scheme::{make_diffusion, DiffusionKind};

/// The scheme's nominal order 2 less the 0.2 that the O(h³) terms and the
/// limiter's clipping at the extremum still take at 64–256 cells (the
/// uniform tests' bound, tests/convergence.rs).
const SECOND_ORDER: f64 = 1.8;

/// Exact cell averages of N(mean, diag(var)) on `grid`, renormalised to
/// the box as ρ0 is.
fn gaussian_cells(grid: &Grid, mean: &[f64], var: &[f64]) -> Vec<f64> {
    InitialLaw::Gaussian(Gaussian {
        mean: mean.to_vec(),
        std: var.iter().map(|v| v.sqrt()).collect(),
    })
    .cell_averages(grid)
    .0
}

/// OU's closed form (grids/ou_exact.toml): mean m0 e^{−λt}, variance
/// s0² e^{−2λt} + (η/2λ)(1 − e^{−2λt}).
fn ou_exact(t: f64, eta: f64) -> (Vec<f64>, Vec<f64>) {
    let e = (-t).exp();
    let (m0, s0) = ([0.0, 1.0], [0.8, 0.6]);
    let mean = m0.iter().map(|m| m * e).collect();
    let var = s0
        .iter()
        .map(|s| s * s * e * e + eta / 2.0 * (1.0 - e * e))
        .collect();
    (mean, var)
}

/// The maps the tests refine: a sinh map on w1 fine at the law's mean, and
/// a geometric map on a from its lower wall (cells 4× wider at the top).
const SINH_W: &str = "grid.map.w1={kind=\"sinh\", centre=1.0, width=0.7}";
const GEOMETRIC_A: &str = "grid.map.a={kind=\"geometric\", ratio=4.0}";

/// L1 errors of the OU problem at t = 1 against its closed form on n²
/// cells, n = 64, 128, 256, with the given overrides.
fn ou_errors(sets: &[&str]) -> Vec<f64> {
    [64, 128, 256]
        .iter()
        .map(|&n| ou_errors_at(n, sets))
        .collect()
}

/// The OU problem's L1 error at t = 1 on n² cells with the overrides.
fn ou_errors_at(n: usize, sets: &[&str]) -> f64 {
    let cells = format!("grid.cells=[{n},{n}]");
    let mut all = sets.to_vec();
    all.extend([cells.as_str(), "dynamics.snapshots=2"]);
    let s = grid_setup("ou_exact", &all);
    let rec = run(&s);
    let (mean, var) = ou_exact(1.0, 0.5);
    let exact = gaussian_cells(&s.grid, &mean, &var);
    // every step keeps the mass and ρ ≥ 0
    for (m, lo) in rec.step_mass.iter().zip(&rec.step_min) {
        assert!((m - 1.0).abs() < 1e-12, "mass {m}");
        assert!(*lo >= 0.0, "min ρ {lo}");
    }
    l1_on(&s.grid, rec.densities.last().unwrap(), &exact)
}

#[test]
fn ornstein_uhlenbeck_with_sg_is_second_order_on_stretched_axes() {
    // sg at Δt = h̄² (h̄ = 10/n, the mean width): first order in Δt, second
    // in h, both O(h²)
    let errors: Vec<f64> = [64, 128, 256]
        .iter()
        .map(|&n| {
            let dt = format!("solver.dt_max={}", (10.0 / n as f64).powi(2));
            ou_errors_at(n, &[SINH_W, GEOMETRIC_A, "solver.scheme=\"sg\"", &dt])
        })
        .collect();
    let p = orders(&errors);
    eprintln!("OU with sg on stretched axes: L1 errors {errors:?}, orders {p:?}");
    assert!(
        p.iter().all(|&o| o >= SECOND_ORDER),
        "orders {p:?} from {errors:?}"
    );
}

#[test]
fn ornstein_uhlenbeck_is_second_order_on_sinh_and_geometric_axes() {
    // both maps at once (each alone measured 2.00, 2.00 and 1.98, 1.99)
    let errors = ou_errors(&[SINH_W, GEOMETRIC_A]);
    let p = orders(&errors);
    eprintln!("OU (sinh on w1, geometric on a) L1 errors {errors:?}, orders {p:?}");
    assert!(
        p.iter().all(|&o| o >= SECOND_ORDER),
        "orders {p:?} from {errors:?}"
    );
}

#[test]
fn diffusion_alone_is_second_order_on_stretched_axes() {
    // pure heat flow of a Gaussian (variance grows by 2 D t), both axes
    // stretched, by the exact flow of the stretched Laplacian and by
    // Crank–Nicolson at a step far below its time error's reach
    let (d, t) = (0.25, 0.8);
    for kind in [DiffusionKind::Spectral, DiffusionKind::CrankNicolson] {
        let mut errors = Vec::new();
        for n in [32, 64, 128, 256] {
            let sinh = mfpde::grid::AxisMap::Sinh {
                centre: 0.3,
                width: 0.5,
            };
            let geo = mfpde::grid::AxisMap::Geometric {
                ratio: 5.0,
                from: "hi".into(),
            };
            let grid = Grid::new(vec![-6.0, -5.0], vec![6.0, 7.0], vec![n, n], vec![])
                .with_edges(0, sinh.edges(-6.0, 6.0, n).unwrap())
                .with_edges(1, geo.edges(-5.0, 7.0, n).unwrap());
            let mut rho = gaussian_cells(&grid, &[0.3, 1.0], &[0.25, 0.5]);
            let mass0 = mfpde::diagnostics::mass(&grid, &rho);
            let mut diff = make_diffusion(kind, &grid, d);
            let steps = if kind == DiffusionKind::Spectral {
                4
            } else {
                400
            };
            for _ in 0..steps {
                diff.advance(&mut rho, t / steps as f64);
            }
            assert!((mfpde::diagnostics::mass(&grid, &rho) - mass0).abs() < 1e-12);
            assert!(rho.iter().all(|&r| r >= 0.0));
            let exact =
                gaussian_cells(&grid, &[0.3, 1.0], &[0.25 + 2.0 * d * t, 0.5 + 2.0 * d * t]);
            errors.push(l1_on(&grid, &rho, &exact));
        }
        let p = orders(&errors);
        eprintln!("{kind:?} on stretched axes: L1 errors {errors:?}, orders {p:?}");
        assert!(
            p.iter().all(|&o| o >= SECOND_ORDER),
            "{kind:?}: orders {p:?} from {errors:?}"
        );
    }
}

#[test]
fn a_uniform_map_gives_todays_bits_and_uniform_edges_agree_to_round_off() {
    // Δt fixed by dt_max below the CFL step (0.0104 here): a CFL step one
    // ulp shorter would split the snapshot intervals into one more step
    let base = [
        "grid.cells=[48,40]",
        "dynamics.snapshots=3",
        "solver.dt_max=0.005",
    ];
    let plain = run(&grid_setup("ou_exact", &base));
    // `kind = "uniform"` is today's grid
    let mut sets = base.to_vec();
    sets.extend([
        "grid.map.a={kind=\"uniform\"}",
        "grid.map.w1={kind=\"uniform\"}",
    ]);
    let uniform = run(&grid_setup("ou_exact", &sets));
    for (a, b) in plain.densities.iter().zip(&uniform.densities) {
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    // the uniform edges given outright take the stretched code path (its
    // own widths, difference weights and eigenvector diffusion): the same
    // solution, to the round-off of the operations that differ
    let edges = |lo: f64, hi: f64, n: usize| -> String {
        let e: Vec<String> = (0..=n)
            .map(|i| format!("{:?}", lo + (hi - lo) * i as f64 / n as f64))
            .collect();
        format!("[{}]", e.join(","))
    };
    let a = format!(
        "grid.map.a={{kind=\"edges\", edges={}}}",
        edges(-5.0, 5.0, 48)
    );
    let w = format!(
        "grid.map.w1={{kind=\"edges\", edges={}}}",
        edges(-4.0, 6.0, 40)
    );
    let mut sets = base.to_vec();
    sets.extend([a.as_str(), w.as_str()]);
    let s = grid_setup("ou_exact", &sets);
    assert!(!s.grid.is_uniform());
    let stretched = run(&s);
    assert_eq!(plain.densities.len(), stretched.densities.len());
    // ∫_Ω |θ|²/2 over the box, by the cells: what a density error of δ
    // per cell moves the weight-decay part of the risk by, at most
    let g = &s.grid;
    let mut th = [0.0; 2];
    let theta2: f64 = (0..g.len())
        .map(|i| {
            g.centre_of(i, &mut th);
            0.5 * (th[0] * th[0] + th[1] * th[1]) * g.volume_at(i)
        })
        .sum();
    let snaps = plain.snapshots.iter().zip(&stretched.snapshots);
    for ((a, b), (da, db)) in plain.densities.iter().zip(&stretched.densities).zip(snaps) {
        let top = a.iter().cloned().fold(0.0, f64::max);
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        // a few hundred steps of O(1) operations on values ≤ top, each
        // off by a few ulps: 1e-12 of the peak
        assert!(diff < 1e-12 * top, "max difference {diff:e} of {top}");
        // f ≡ 0 here, so the risk is the weight decay: within δ ∫|θ|²/2
        let bound = diff * theta2 + 1e-14;
        assert!(
            (da.risk - db.risk).abs() < bound,
            "{} vs {}",
            da.risk,
            db.risk
        );
        assert!((da.cov[0] - db.cov[0]).abs() < 2.0 * bound);
    }
}

/// The maps of the linear-Gaussian tests: sinh on a about the transient's
/// path, geometric on w1 from the upper wall.
const LINEAR_MAPS: [&str; 2] = [
    "grid.map.a={kind=\"sinh\", centre=0.3, width=1.2}",
    "grid.map.w1={kind=\"geometric\", ratio=3.0, from=\"hi\"}",
];

/// L1 errors of the linear-Gaussian transient at t = 3 against its closed
/// form at 64², 128², 256² on stretched axes, with the given scheme
/// overrides (`dt` sets Δt = dt · h̄², h̄ the mean width, when given).
fn linear_errors(scheme: &[&str], dt: Option<f64>) -> Vec<f64> {
    [64, 128, 256]
        .iter()
        .map(|&n| {
            let h = 8.0 / n as f64;
            let mut sets: Vec<String> = vec![
                format!("grid.cells=[{n},{n}]"),
                "dynamics.snapshots=2".into(),
            ];
            sets.extend(LINEAR_MAPS.iter().chain(scheme).map(|s| s.to_string()));
            if let Some(c) = dt {
                sets.push(format!("solver.dt_max={}", c * h * h));
            }
            let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
            let s = grid_setup("linear_gaussian", &sets);
            let rec = run(&s);
            for (m, lo) in rec.step_mass.iter().zip(&rec.step_min) {
                assert!((m - 1.0).abs() < 1e-12 && *lo >= 0.0, "mass {m}, min {lo}");
            }
            let (mean, cov) = linear_gaussian_moments(s.t_end, 1.0, 0.5, [0.5, -0.3], [0.36, 0.64]);
            l1_on(
                &s.grid,
                rec.densities.last().unwrap(),
                &gaussian2_cells(&s.grid, mean, cov),
            )
        })
        .collect()
}

#[test]
fn the_linear_gaussian_transient_is_second_order_on_stretched_axes_split_and_sg() {
    // split at its CFL step; sg at Δt = h̄² (first order in Δt, second in
    // h: both O(h²), as tests/long_time.rs on uniform cells)
    for (name, errors) in [
        ("split", linear_errors(&[], None)),
        ("sg", linear_errors(&["solver.scheme=\"sg\""], Some(1.0))),
    ] {
        let p = orders(&errors);
        eprintln!("{name} linear-Gaussian on stretched axes: L1 errors {errors:?}, orders {p:?}");
        assert!(
            p.iter().all(|&o| o >= SECOND_ORDER),
            "{name}: orders {p:?} from {errors:?}"
        );
    }
}

/// The reduced r axis of tests/reduction.rs's r = 0 wall test (linear
/// units, d = 2, n = 1: E[r²] = 2 s_w² e^{−2t} + η (1 − e^{−2t})) on a
/// geometric map fine at r = 0, where ρ̄ ∝ r and the Itô drift meets the
/// odd ghost: E[r²]'s error falls at order ≥ 1.8 from 64 to 256 cells.
#[test]
fn the_reduced_r_axis_is_second_order_on_a_geometric_map() {
    let (s_w, eta) = (0.6f64, 0.5);
    let text = r0_wall_problem(s_w, eta) + "[grid.map.r]\nkind = \"geometric\"\nratio = 6.0\n";
    let mut errors = Vec::new();
    for cells in [64, 128, 256] {
        let set = format!("grid.cells=[{cells}]");
        let s = text_setup(&text, &[&set]);
        assert!(!s.grid.is_uniform());
        let rec = run(&s);
        for (m, lo) in rec.step_mass.iter().zip(&rec.step_min) {
            assert!((m - 1.0).abs() < 1e-12 && *lo >= 0.0, "mass {m}, min {lo}");
        }
        let d = rec.snapshots.last().unwrap();
        let e = (-2.0f64 * d.time).exp();
        let want = 2.0 * s_w * s_w * e + eta * (1.0 - e);
        errors.push((d.cov[0] + d.mean[0] * d.mean[0] - want).abs());
    }
    let p = orders(&errors);
    eprintln!("geometric r axis: E[r²] errors {errors:?}, orders {p:?}");
    assert!(p.iter().all(|&o| o >= 1.8), "orders {p:?} from {errors:?}");
}

/// The escape delay of grids/he2_escape.toml (README, "Stretched axes"):
/// the escape time (the first time R ≤ 0.9) grows by the same amount from
/// d = 50 to d = 500 in the PDE on its sinh-stretched p axis as in the
/// networks (SGD, m = 1000 in ℝᵈ, 3 seeds), within two standard errors of
/// the difference: the networks' over seeds, and the PDE's grid error,
/// taken as 0.8 × the change of the delay from a grid 2/3 as fine on
/// every axis (second order: the fine grid's error is (t_fine −
/// t_coarse)/(1.5² − 1)). The uniform p axis of as many cells, where
/// ρ0's overlap spans 1.1 cells at d = 50 and 0.34 at d = 500, misses the
/// delay by more than that.
///
/// Run by CI (.ci/run), about 8 minutes on 2 cores:
/// cargo test --release --test stretched -- --ignored
#[test]
#[ignore]
fn the_escape_delay_in_d_is_the_networks_on_a_stretched_p_axis() {
    let dir = tempfile::tempdir().unwrap();
    let studies = root().join("grids").join("studies");
    let pde = dir.path().join("pde.h5");
    sweep_ok(&studies.join("he2_escape.toml"), &pde, 1);
    let coarse_study = dir.path().join("coarse.toml");
    std::fs::write(
        &coarse_study,
        format!(
            r#"base = "{}"
command = "pde"
combine = "zip"
measures = ["time_below(0.9)"]
[set]
"grid.cells" = [40, 66, 32]
[[axes]]
key = "data.dim"
values = [50, 500]
[[axes]]
key = "initial.std"
values = [[1.0, 0.141421356237], [1.0, 0.0447213595500]]
"#,
            root().join("grids").join("he2_escape.toml").display()
        ),
    )
    .unwrap();
    let coarse = dir.path().join("coarse.h5");
    sweep_ok(&coarse_study, &coarse, 1);
    let networks = dir.path().join("networks.h5");
    sweep_ok(&studies.join("he2_escape_networks.toml"), &networks, 2);

    // the PDE: points (d, p axis) = (50, sinh), (500, sinh), (50, uniform), (500, uniform)
    let t = study_series(&pde, "time_below_0.9");
    let tc = study_series(&coarse, "time_below_0.9");
    let (stretched, uniform, coarse_delay) = (t[1] - t[0], t[3] - t[2], tc[1] - tc[0]);
    let grid_error = 0.8 * (stretched - coarse_delay).abs();
    // the networks: [d][seed]
    let tn = study_series(&networks, "time_below_0.9");
    let stats = |s: &[f64]| {
        let n = s.len() as f64;
        let mean = s.iter().sum::<f64>() / n;
        let var = s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    };
    let ((m50, se50), (m500, se500)) = (stats(&tn[..3]), stats(&tn[3..]));
    let delay = m500 - m50;
    let se = (se50 * se50 + se500 * se500 + grid_error * grid_error).sqrt();
    eprintln!(
        "escape times: PDE sinh {:?} (coarse {tc:?}), uniform {:?}; networks {m50:.4} ± {se50:.4}, {m500:.4} ± {se500:.4}",
        &t[..2],
        &t[2..]
    );
    eprintln!(
        "delays: PDE sinh {stretched:.4} (grid error {grid_error:.4}), uniform {uniform:.4}, networks {delay:.4}; combined standard error {se:.4}"
    );
    assert!(
        t.iter().chain(&tc).chain(&tn).all(|v| v.is_finite()),
        "every run escapes"
    );
    assert!(
        (stretched - delay).abs() <= 2.0 * se,
        "stretched p: delay {stretched} against the networks' {delay} ± {se}"
    );
    assert!(
        delay - uniform > 2.0 * se,
        "uniform p: delay {uniform} against the networks' {delay} ± {se}"
    );
}

/// On stretched cells the discrete Gibbs state is still a state of point
/// values (sg's flux vanishes on u_{i+1}/u_i = e^{−ΔΨ/D}, whatever the
/// widths): `steady`'s ρ* and a long sg run meet, to the same tolerances as
/// on uniform cells (tests/long_time.rs), and F agrees in the centre-sum
/// convention. On the linear-Gaussian problem (one well: on gibbs.toml's
/// two, a grid not symmetric about 0 leaves the wells' populations to a
/// barrier crossing at a rate of 0.003, measured, and no long run meets
/// ρ* in a test's time).
#[test]
fn steady_and_a_long_sg_run_meet_on_stretched_axes() {
    let s = grid_setup(
        "linear_gaussian",
        &[
            "grid.cells=[64,64]",
            "grid.map.a={kind=\"sinh\", centre=0.0, width=1.5}",
            "grid.map.w1={kind=\"geometric\", ratio=3.0}",
            "dynamics.t_end=150.0",
            "dynamics.snapshots=2",
            "solver.scheme=\"sg\"",
            "solver.dt_max=1.0",
        ],
    );
    let mut solver = mfpde::steady::GibbsSolver::new(&s.model, &s.grid).unwrap();
    let r0 = solver.residual_of(&s.rho0());
    let st = solver.solve(&r0, &mfpde::steady::SteadyOptions::default());
    assert!(st.fixed_point_residual <= 1e-12, "{st:?}");
    assert!(st.stationarity < 1e-8, "stationarity {}", st.stationarity);
    let rec = run(&s);
    let rho = rec.densities.last().unwrap();
    let d = l1_on(&s.grid, rho, &st.rho);
    // F in the centre-sum convention, whose minimiser ρ* is: the stored
    // F's h²/12 shift depends on ρ on stretched cells
    let shift = |r: &[f64]| 0.5 * s.model.weight_decay * centre_bias_of(&s.grid, r);
    let df = rec.snapshots.last().unwrap().free_energy + shift(rho) - st.point_free_energy();
    eprintln!("stretched linear-Gaussian: L1(sg at t = 150, steady) = {d:e}, F − F* = {df:e}");
    assert!(d < 1e-9 && df.abs() < 1e-12, "L1 {d:e}, F − F* {df:e}");
}
