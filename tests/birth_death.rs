//! Birth–death on the grid (docs/model.md §8): ∂_t ρ gains
//! −α (Φ − ∫Φρ) ρ, Φ = Ψ + (η/2) log ρ, as a reaction sub-step exact for
//! frozen Ψ with Ψ at its midpoint (src/scheme/reaction.rs, whose unit
//! tests hold it against the exact flow). Here: the schemes keep their
//! orders with it, mass and positivity hold, and the Gibbs state is the
//! same with and without it while it is approached faster.

mod common;
use common::*;
use mfpde::model::MeanField;
use mfpde::run::{self, Command as Run, Options, Silent};
use mfpde::scheme::reaction::Reaction;
use mfpde::steady::{GibbsSolver, SteadyOptions};
use mfpde::velocity::Velocity;

/// Strang's composition ½D ½R A ½R ½D of second-order parts is second
/// order in Δt, Lie's A R D first: fixed steps on a 48² grid against the
/// same grid at Δt/64 (what is left is the time error), α = 2 so that the
/// reaction moves a fifth of the mass by t = 0.4.
#[test]
fn strang_with_birth_death_is_second_order_in_time_and_lie_first() {
    let run_with = |splitting: &str, dt: f64| {
        let sets = ["grid.cells=[48,48]", "dynamics.birth_death=2"];
        let (rec, s) = fixed_steps("quickstart", &sets, splitting, dt);
        let n = rec.history.len();
        let mass: Vec<f64> = rec.history.iter().map(|h| h.mass).collect();
        // each sub-step conserves the sum in exact arithmetic (the
        // reaction renormalises to it); in floating point each of the
        // step's three kinds of pass moves it by at most its rounding,
        // n_cells ε M: so |M − M0| ≤ 3 n_steps n_cells ε (a leak of the
        // reaction's normalisation would be 1e-2)
        let drift = mass.iter().map(|m| (m - mass[0]).abs()).fold(0.0, f64::max);
        let bound = 3.0 * n as f64 * 2304.0 * f64::EPSILON;
        assert!(drift <= bound, "mass drifts by {drift:e} > {bound:e}");
        (rec.densities.last().unwrap().clone(), s.grid.cell_volume())
    };
    let (reference, vol) = run_with("strang", 0.02 / 64.0);
    assert!(reference.iter().all(|&v| v >= 0.0), "positivity");
    // and it moved: without birth–death the density is elsewhere
    let s = grid_setup(
        "quickstart",
        &[
            "grid.cells=[48,48]",
            "dynamics.t_end=0.4",
            "dynamics.snapshots=2",
        ],
    );
    let without = run(&s).densities.last().unwrap().clone();
    let moved = l1(&without, &reference, vol);
    assert!(moved > 1e-2, "birth–death moved {moved:e} of the mass");
    assert_splitting_orders("with birth–death", |splitting, dt| {
        l1(&run_with(splitting, dt).0, &reference, vol)
    });
}

/// Successive refinements 64² … 512² of quickstart with α = 1 to t = 1.5:
/// the differences of successive solutions (restricted to the coarser
/// grid) fall at order ≥ 1.8, every pair (the reaction is pointwise, so
/// the scheme's second order in h is kept).
#[test]
fn birth_death_converges_at_second_order_in_h() {
    let p = orders_in_h(
        "birth–death",
        "quickstart",
        &[
            "dynamics.birth_death=1",
            "grid.lo=[-4.0,-4.0]",
            "grid.hi=[4.0,4.0]",
            "dynamics.t_end=1.5",
            "dynamics.snapshots=2",
        ],
    );
    assert!(p.iter().all(|&o| o >= 1.8), "orders {p:?}");
}

/// The reaction sub-step of ρ* = the self-consistent discrete Gibbs state
/// (GibbsSolver, to its stationarity 1e-10) changes it by no more than that
/// stationarity allows: Φ is constant on ρ* up to it.
#[test]
fn the_reaction_keeps_the_gibbs_state() {
    let s = grid_setup("gibbs", &["grid.cells=[48,40]", "dynamics.birth_death=3"]);
    let mut solver = GibbsSolver::new(&s.model, &s.grid).unwrap();
    let r0 = solver.residual_of(&s.rho0());
    let st = solver.solve(&r0, &SteadyOptions::default());
    let model: &MeanField = &s.model;
    let mut vel = Velocity::new(model, &s.grid);
    let mut reaction = Reaction::new(model, &s.grid);
    let mut rho = st.rho.clone();
    reaction.advance(&mut vel, &mut rho, 5.0);
    let vol = s.grid.cell_volume();
    let moved = l1(&rho, &st.rho, vol);
    // |Δρ| ≤ κ |Φ − Φ̄| ρ with |Φ − Φ̄| ≤ (η/2) × the stationarity spread
    // (of log ρ + 2Ψ/η): κ ≤ 2/η, so L1 ≤ the spread
    assert!(
        moved <= st.stationarity.max(1e-13),
        "moved {moved:e}, stationarity {:e}",
        st.stationarity
    );
}

/// With η > 0 and α > 0 the run reaches the Gibbs state of α = 0 (birth–
/// death does not move the minimiser), and F − F* falls faster: the rates
/// of the theorems report (converged in Δt, with their uncertainties) on
/// gibbs.toml (sg, η = λ = 0.1, Δt = 0.5, t = 60), measured 0.27 ± 0.01
/// at α = 0 and 0.38 ± 0.01 at α = 1.
#[test]
fn birth_death_reaches_the_same_gibbs_state_faster() {
    let report = |alpha: f64| {
        let s = grid_setup(
            "gibbs",
            &[
                &format!("dynamics.birth_death={alpha}"),
                "grid.cells=[96,96]",
            ],
        );
        let opts = Options {
            command: Run::Pde,
            theorems: true,
            plots: false,
        };
        let (outcome, _) = run::run(&s, opts, &mut Silent).unwrap();
        outcome.report.unwrap()
    };
    let (without, with) = (report(0.0), report(1.0));
    let last = |r: &mfpde::theorems::Report| r.rows.last().unwrap().l1;
    let (k0, k1) = (without.rate().unwrap(), with.rate().unwrap());
    eprintln!(
        "α = 0: κ = {:.4} ± {:.4}, L1 to ρ* {:.2e}; α = 1: κ = {:.4} ± {:.4}, L1 to ρ* {:.2e}",
        k0.value,
        k0.uncertainty,
        last(&without),
        k1.value,
        k1.uncertainty,
        last(&with)
    );
    // the same ρ* (the report's, solved once per run: the same problem)
    let (a, b) = match (&without.claim, &with.claim) {
        (mfpde::theorems::Claim::Gibbs(a), mfpde::theorems::Claim::Gibbs(b)) => (a, b),
        _ => panic!("η > 0: a Gibbs claim"),
    };
    assert_eq!(a.rho, b.rho, "the Gibbs state does not depend on α");
    // reached: closer to ρ* at the end than without, and within e^{−κt}
    // of where it started
    assert!(last(&with) < last(&without));
    assert!(last(&with) < 1e-4, "L1 to ρ* {:e}", last(&with));
    // faster beyond both rates' uncertainties
    assert!(
        k1.value - k1.uncertainty > k0.value + k0.uncertainty,
        "{k1:?} against {k0:?}"
    );
    // the report's α ∫ (Φ − Φ̄)² ρ: NaN without, ≥ 0 with, and falling
    // as ρ* (where Φ is constant) is approached
    assert!(without.rows.iter().all(|x| x.reaction.is_nan()));
    let r: Vec<f64> = with.rows.iter().map(|x| x.reaction).collect();
    assert!(r.iter().all(|&v| v >= 0.0), "{r:?}");
    assert!(r[r.len() - 1] < 1e-6 * r[1], "{r:?}");
    // sg's halvings keep F_η from rising with the reaction in the step
    for r in [&without, &with] {
        let gaps: Vec<f64> = r.rows.iter().map(|x| x.gap).collect();
        assert!(
            gaps.windows(2).all(|w| w[1] <= w[0] + 1e-13),
            "F − F* rose: {gaps:?}"
        );
    }
}

fn network_options(m: usize, seed: u64) -> mfpde::particles::ParticleOptions {
    mfpde::particles::ParticleOptions {
        m,
        seed,
        dt: 0.005,
        mode: mfpde::particles::Mode::Population,
        store: m,
    }
}

/// quickstart at η = 0 with birth–death at α = 1 (the networks take it at
/// η = 0 only), to t = 1.
fn network_problem() -> mfpde::setup::Setup {
    grid_setup(
        "quickstart",
        &[
            "dynamics.noise=0",
            "dynamics.birth_death=1",
            "dynamics.t_end=1",
            "dynamics.snapshots=2",
        ],
    )
}

/// Propagation of chaos with birth–death: the W1 distance between the
/// networks' marginals (the jump process of src/particles/jumps.rs after
/// each Euler step) and the PDE's with birth–death at t = 1, averaged over
/// seeds 40… (10, 5 and 2 of them), falls like m^{-1/2} over m = 10², 10³,
/// 10⁴: the fitted slope lies in [−0.7, −0.35] on each axis, as without
/// birth–death (tests/compare.rs). The other errors stay below the m = 10⁴
/// distance (≈ 1.4e-2 measured): the grid's (256², h = 0.03: W1 error
/// ~ h²) and the Euler step's with its first-order jumps (Δt t = 5e-3 with
/// constants below 1). And birth–death must matter: the PDE with it is
/// farther from the PDE without than 5 times the m = 10⁴ distance
/// (measured 0.145 and 0.114 against 0.011 and 0.015).
#[test]
fn networks_with_birth_death_follow_the_pde_at_rate_m_to_the_minus_half() {
    use mfpde::compare::{marginal, w1_cells};
    let s = network_problem();
    let rho = run(&s).densities.last().unwrap().clone();
    let w1 = chaos_w1(&s, &rho, 1.0, 0.005, 40);
    let without = grid_setup(
        "quickstart",
        &[
            "dynamics.noise=0",
            "dynamics.t_end=1",
            "dynamics.snapshots=2",
        ],
    );
    let plain = run(&without).densities.last().unwrap().clone();
    for (k, w) in w1.iter().enumerate() {
        assert_rate_m_half(&format!("birth–death, axis {}", s.grid.names[k]), w);
        // the W1 between the two PDEs' marginals
        let edges = s.grid.edges(k);
        let (with, without) = (marginal(&s.grid, &rho, k), marginal(&s.grid, &plain, k));
        let moved = w1_cells(&edges, &with, &edges, &without);
        eprintln!(
            "birth–death, axis {}: W1 to the PDE without it {moved:.3e}",
            s.grid.names[k]
        );
        assert!(moved > 5.0 * w[2], "moved {moved} vs W1 {w:?}");
    }
}

/// The jump process is the same on 1 and 2 threads, bit for bit, and it
/// happens: some neurons are exact copies of others afterwards.
#[test]
fn the_networks_birth_death_is_the_same_on_any_thread_count() {
    let s = network_problem();
    let o = network_options(3000, 7);
    let positions = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net = mfpde::particles::network(&s.model, &s.initial, &o).unwrap();
            net.advance(&mut 0.0, 0.5, o.dt).unwrap();
            net.positions().to_vec()
        })
    };
    let (one, two) = (positions(1), positions(2));
    assert!(one == two, "1 and 2 threads differ");
    let mut seen: Vec<(u64, u64)> = one
        .chunks(2)
        .map(|t| (t[0].to_bits(), t[1].to_bits()))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert!(
        seen.len() < 3000 * 9 / 10,
        "{} distinct of 3000",
        seen.len()
    );
}

/// Where the networks cannot take birth–death it is refused by name, with
/// a non-zero exit and no file: with noise (Φ needs log ρ), and for the
/// d-dimensional network of a reduced problem.
#[test]
fn the_networks_refuse_birth_death_where_they_have_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.h5");
    for (what, problem, says) in [
        ("run", "grids/quickstart.toml", "with noise"),
        ("particles", "grids/single_index.toml", "d-dimensional"),
    ] {
        let err = refused(&[what, problem, "--set", "dynamics.birth_death=1"], &out);
        assert!(
            err.contains("dynamics.birth_death") && err.contains(says),
            "{err}"
        );
    }
}
