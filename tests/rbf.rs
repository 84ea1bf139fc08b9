//! Gaussian RBF units (docs/model.md §7) on Rotskoff's problem
//! (grids/rbf_rotskoff.toml): the closed forms against the solver's
//! quadrature on the whole line, the PDE's order in h, propagation of chaos,
//! and the bad initialisation with and without birth–death.

mod common;

use common::{assert_rate_m_half, chaos_w1, grid_setup, orders_in_h, refused, run};
use mfpde::model::rbf::{half_norm_sq, Rbf};
use mfpde::model::Target;

/// A smooth ρ0 for the orders: c ~ N(0, 1), y ~ N(0, 1) (the showcase's
/// uniform y has jumps, which hold any scheme to first order in L1).
const SMOOTH: [&str; 3] = [
    "initial.kind=\"gaussian\"",
    "initial.mean=[0.0,0.0]",
    "initial.std=[1.0,1.0]",
];

/// The bad initialisation of the notebook: y0 ~ N(−2, 0.1²).
const BAD: [&str; 3] = [
    "initial.kind=\"gaussian\"",
    "initial.mean=[0.0,-2.0]",
    "initial.std=[1.0,0.1]",
];

/// The data risk of atoms (c_i, y_i): the solver's (its quadrature of
/// f = Σ c_i φ(·; y_i)), and the closed form
/// ½ Σ c_i c_j K(y_i, y_j) − Σ c_i F(y_i) + ½∫f*².
fn risks_of_atoms(
    m: &mfpde::model::MeanField,
    unit: Rbf,
    bumps: &[mfpde::model::Bump],
    atoms: &[(f64, Vec<f64>)],
) -> (f64, f64) {
    let f: Vec<f64> = (0..m.quad.len())
        .map(|q| m.f_of(m.quad.node(q), atoms.iter().map(|(c, y)| (*c, &y[..]))))
        .collect();
    let mut exact = half_norm_sq(bumps);
    for (ci, yi) in atoms {
        exact -= ci * unit.f_star_moment(bumps, yi);
        for (cj, yj) in atoms {
            exact += 0.5 * ci * cj * unit.k(yi, yj);
        }
    }
    (m.data_risk(&f), exact)
}

/// The solver's risk of atoms (c_i, y_i) on the whole line — its
/// Gauss–Legendre rule on the box cut at e^{−40} — against the closed form
/// R = ½ Σ c_i c_j K(y_i, y_j) − Σ c_i F(y_i) + ½∫f*², to 1e-13; and at
/// t = 0 (E c = 0, so f_h = 0 to round-off) the PDE's risk is ½∫f*² =
/// 0.068868 of docs/model.md §7.
#[test]
fn the_solvers_risk_is_the_closed_form_on_the_whole_line() {
    let s = grid_setup(
        "rbf_rotskoff",
        &["dynamics.t_end=0.01", "dynamics.snapshots=2"],
    );
    let m = &s.model;
    let Target::Bumps(bumps) = &m.target else {
        panic!("a target of bumps")
    };
    let unit = Rbf { variance: 0.5 };
    assert_eq!(m.net.rbf, Some(unit));
    let atoms: Vec<(f64, Vec<f64>)> = [(0.7, -2.3), (-1.2, 0.1), (0.4, 1.9), (0.25, 3.5)]
        .iter()
        .map(|&(c, y)| (c, vec![y]))
        .collect();
    let (r, exact) = risks_of_atoms(m, unit, bumps, &atoms);
    assert!((r - exact).abs() < 1e-13, "{r} vs {exact}");
    let rec = run(&s);
    let r0 = rec.snapshots[0].risk;
    assert!((r0 - half_norm_sq(bumps)).abs() < 1e-13, "{r0}");
    assert!((r0 - 0.068868).abs() < 5e-7);
}

/// Successive refinements 64² … 512² of the RBF PDE to t = 2 from a smooth
/// ρ0: the L1 differences of successive solutions fall at order ≥ 1.8, every
/// pair (MUSCL's second order in h, the issue's bound).
#[test]
fn the_rbf_pde_converges_at_second_order_in_h() {
    let mut sets = SMOOTH.to_vec();
    sets.extend(["dynamics.t_end=2", "dynamics.snapshots=2"]);
    let p = orders_in_h("rbf", "rbf_rotskoff", &sets);
    assert!(p.iter().all(|&o| o >= 1.8), "orders {p:?}");
}

/// Propagation of chaos with RBF units: the W1 distance between the
/// networks' marginals (the bump kernel of src/particles/kernel.rs) and the
/// PDE's at t = 2, averaged over seeds 60… (10, 5 and 2 of them), falls like
/// m^{-1/2} over m = 10², 10³, 10⁴: the fitted slope lies in [−0.7, −0.35]
/// on each axis, the band of tests/compare.rs. The grid's and the Euler
/// step's errors stay below the m = 10⁴ distance (256², h = 0.04 with a
/// second-order scheme; Δt = 0.005).
#[test]
fn rbf_networks_follow_the_pde_at_rate_m_to_the_minus_half() {
    let mut sets = SMOOTH.to_vec();
    sets.extend(["dynamics.t_end=2", "dynamics.snapshots=2"]);
    let s = grid_setup("rbf_rotskoff", &sets);
    let rho = run(&s).densities.last().unwrap().clone();
    let w1 = chaos_w1(&s, &rho, 2.0, 0.005, 60);
    for (k, w) in w1.iter().enumerate() {
        assert_rate_m_half(&format!("rbf, axis {}", s.grid.names[k]), w);
    }
}

/// R at t = 30 of the bad initialisation on n × n cells, and its grid error
/// bound |R_n − R_{n/2}| (the scheme converges in h, so the finer
/// solution's error is below the difference of the two).
fn bad_risk(alpha: f64, n: usize) -> (f64, f64) {
    let risk_at = |n: usize| {
        let a = format!("dynamics.birth_death={alpha}");
        let c = format!("grid.cells=[{n},{n}]");
        let mut sets = BAD.to_vec();
        sets.extend([a.as_str(), c.as_str()]);
        run(&grid_setup("rbf_rotskoff", &sets))
            .snapshots
            .last()
            .unwrap()
            .risk
    };
    let (fine, coarse) = (risk_at(n), risk_at(n / 2));
    (fine, (fine - coarse).abs())
}

/// The bad initialisation (y0 ~ N(−2, 0.1²)): transport alone leaves R at
/// t = 30 above a level that birth–death at α = 5 goes below, with the two
/// separated by more than both grid errors (measured at 256²: 1.482e-2
/// against 1.373e-2). Birth–death reaches the plateau of the bumps its mass
/// can reach (at −2 and 0) and stops there: the mass near y = +2 is e^{−80}
/// of ρ0 (README "RBF units").
#[test]
fn birth_death_takes_the_bad_initialisation_lower() {
    let (without, e0) = bad_risk(0.0, 256);
    let (with, e1) = bad_risk(5.0, 256);
    eprintln!("bad initialisation at t = 30: R = {without:.4e} ± {e0:.1e} without, {with:.4e} ± {e1:.1e} with α = 5");
    assert!(
        without - e0 > with + e1,
        "{without} ± {e0} vs {with} ± {e1}"
    );
}

/// Bad RBF input is refused by name, exit non-zero, no file.
#[test]
fn rbf_problems_are_checked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.h5");
    for (set, field) in [
        ("model.activation=\"tanh\"", "model.activation"),
        ("model.width=-1", "model.width"),
        ("model.bias=true", "model.bias"),
        ("model.unit=\"bump\"", "model.unit"),
        ("target.bumps=[[1.0,0.0]]", "target.bumps"),
        ("target.kind=\"expression\"", "data.lo"),
        ("initial.laws=[\"gaussian\"]", "initial.laws"),
        ("data.dim=3", "data.dim"),
    ] {
        let err = refused(
            &["pde", "grids/rbf_rotskoff.toml", "--no-plots", "--set", set],
            &out,
        );
        assert!(err.contains(field), "{set}: {err}");
    }
    // ridge units take no Lebesgue measure
    let err = refused(
        &[
            "pde",
            "grids/quickstart.toml",
            "--set",
            "data.law=\"lebesgue\"",
        ],
        &out,
    );
    assert!(err.contains("data.law"), "{err}");
}

/// SGD on Lebesgue measure is unbiased: a batch of B uniform draws on the
/// box weighs its volume L over B each, so the mean one-step displacement
/// over 400 batch streams (seeds 1…400, the same 8 neurons restored in
/// each) equals the population step's on the box's Gauss–Legendre rule
/// within 4 standard errors, per coordinate. A weight of 1/B would shrink it
/// by L ≈ 26; the population step is more than 10 standard errors from 0 on
/// some coordinate, so that fails.
#[test]
fn sgd_on_lebesgue_measure_is_unbiased() {
    use mfpde::particles::{Mode, ParticleOptions, Swarm};
    let s = grid_setup("rbf_rotskoff", &[]);
    let opts = |seed: u64, mode: Mode| ParticleOptions {
        m: 8,
        seed,
        dt: 0.5,
        mode,
        store: 8,
    };
    let mut pop = Swarm::new(&s.model, &s.initial, &opts(1, Mode::Population));
    let theta0 = pop.every_theta().to_vec();
    pop.step(0.5);
    let want: Vec<f64> = pop
        .every_theta()
        .iter()
        .zip(&theta0)
        .map(|(a, b)| a - b)
        .collect();
    let n = 400;
    let (mut sum, mut sq) = (vec![0.0; want.len()], vec![0.0; want.len()]);
    for seed in 1..=n {
        let mut sgd = Swarm::new(&s.model, &s.initial, &opts(seed, Mode::Sgd { batch: 64 }));
        let word = sgd.batch_word();
        sgd.restore(&theta0, 0, word);
        sgd.step(0.5);
        for (k, (a, b)) in sgd.every_theta().iter().zip(&theta0).enumerate() {
            sum[k] += a - b;
            sq[k] += (a - b) * (a - b);
        }
    }
    let nf = n as f64;
    let mut power: f64 = 0.0;
    for k in 0..want.len() {
        let mean = sum[k] / nf;
        let se = ((sq[k] / nf - mean * mean) / (nf - 1.0)).sqrt();
        assert!(
            (mean - want[k]).abs() < 4.0 * se,
            "coordinate {k}: {mean} vs {} (se {se})",
            want[k]
        );
        power = power.max(want[k].abs() / se);
    }
    assert!(
        power > 10.0,
        "the test cannot tell the weights apart: {power}"
    );
}

/// In ℝ² (phase space (c, y1, y2)): the solver's risk of atoms on the
/// whole plane — the tensor Gauss–Legendre rule on the cut box — against
/// the closed form, to 1e-13, and the axes are named c, y1, y2.
#[test]
fn the_plane_risk_is_the_closed_form_too() {
    let text = r#"
name = "rbf2"
[model]
unit = "rbf"
width = 0.5
[data]
law = "lebesgue"
dim = 2
[target]
kind = "bumps"
bumps = [[1.0, -1.0, 0.0, 0.5], [-1.0, 1.0, 0.5, 0.7]]
[dynamics]
t_end = 1.0
snapshots = 2
[initial]
kind = "gaussian"
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
[grid]
lo = [-5.0, -4.0, -4.0]
hi = [5.0, 4.0, 4.0]
cells = [8, 8, 8]
"#;
    let s = common::text_setup(text, &[]);
    let m = &s.model;
    let Target::Bumps(bumps) = &m.target else {
        panic!("a target of bumps")
    };
    assert_eq!(s.grid.names, ["c", "y1", "y2"]);
    let unit = Rbf { variance: 0.5 };
    let atoms: Vec<(f64, Vec<f64>)> = [(0.7, [-2.3, 0.4]), (-1.2, [0.1, -1.5]), (0.4, [1.9, 2.2])]
        .iter()
        .map(|&(c, y)| (c, y.to_vec()))
        .collect();
    let (r, exact) = risks_of_atoms(m, unit, bumps, &atoms);
    assert!((r - exact).abs() < 1e-13, "{r} vs {exact}");
}
