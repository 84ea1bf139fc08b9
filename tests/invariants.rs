//! Pinned invariants over whole runs: mass to round-off, positivity at every
//! step, the free energy never increasing (η > 0), the risk never increasing
//! (η = λ = 0).

mod common;
use common::*;
use mfpde::diagnostics::PdeRecord;
use mfpde::io::store::Record;

fn assert_mass_conserved(name: &str, rec: &Recorder) {
    let m0 = rec.snapshots[0].mass;
    assert!((m0 - 1.0).abs() < 1e-12, "{name}: initial mass {m0}");
    for (i, m) in rec.step_mass.iter().enumerate() {
        assert!(
            (m - m0).abs() < 1e-12 * m0,
            "{name}: mass {m} after step {i}, started {m0}"
        );
    }
}

#[test]
fn mass_is_conserved_to_round_off_in_2d() {
    let s = grid_setup(
        "quickstart",
        &[
            "grid.cells=[96,96]",
            "dynamics.t_end=4.0",
            "dynamics.snapshots=3",
        ],
    );
    let rec = run(&s);
    assert!(rec.step_mass.len() > 100);
    assert_mass_conserved("2-D", &rec);
}

#[test]
fn mass_is_conserved_to_round_off_in_3d() {
    let s = grid_setup(
        "bias3d",
        &[
            "grid.cells=[24,24,24]",
            "dynamics.t_end=2.0",
            "dynamics.snapshots=2",
        ],
    );
    let rec = run(&s);
    assert_mass_conserved("3-D", &rec);
}

#[test]
fn mass_is_conserved_to_round_off_in_4d() {
    let s = grid_setup(
        "teacher4d",
        &[
            "grid.cells=[12,12,12,12]",
            "dynamics.t_end=1.0",
            "dynamics.snapshots=2",
        ],
    );
    let rec = run(&s);
    assert_mass_conserved("4-D", &rec);
}

#[test]
fn mass_is_conserved_with_implicit_diffusion_and_frozen_a() {
    let s = grid_setup(
        "frozen_relu",
        &[
            "grid.cells=[48,48]",
            "solver.diffusion=\"backward_euler\"",
            "dynamics.t_end=1.0",
            "dynamics.snapshots=2",
        ],
    );
    let rec = run(&s);
    assert_mass_conserved("frozen a, backward Euler", &rec);
}

#[test]
fn density_stays_nonnegative_at_every_step_with_the_default_cfl() {
    // sharp initial data (a narrow mixture) and small noise stress the limiter
    for (name, sets) in [
        (
            "quickstart",
            vec![
                "grid.cells=[96,96]",
                "dynamics.t_end=4.0",
                "dynamics.noise=0.0",
            ],
        ),
        (
            "frozen_relu",
            vec![
                "grid.cells=[64,64]",
                "dynamics.t_end=2.0",
                "dynamics.noise=0.0",
                "dynamics.snapshots=2",
            ],
        ),
        (
            "bias3d",
            vec!["grid.cells=[24,24,24]", "dynamics.t_end=1.0"],
        ),
    ] {
        let s = grid_setup(name, &sets);
        assert_eq!(s.scheme.cfl, 0.5);
        let rec = run(&s);
        let worst = rec.step_min.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(worst >= -1e-14, "{name}: min ρ = {worst}");
    }
}

#[test]
fn free_energy_never_increases_with_noise() {
    let s = grid_setup(
        "quickstart",
        &[
            "grid.cells=[64,64]",
            "dynamics.t_end=6.0",
            "dynamics.noise=0.1",
            "solver.history_every=1",
        ],
    );
    let rec = run(&s);
    let tol = 1e-10;
    let f: Vec<f64> = rec.history.iter().map(|h| h.free_energy).collect();
    assert!(f.len() > 50);
    for w in f.windows(2) {
        assert!(
            w[1] <= w[0] + tol,
            "free energy rose from {} to {}",
            w[0],
            w[1]
        );
    }
    assert!(f[f.len() - 1] < f[0] - 0.1, "and it does decrease");
}

#[test]
fn risk_never_increases_without_noise_or_weight_decay() {
    for name in ["quickstart", "frozen_relu"] {
        let s = grid_setup(
            name,
            &[
                "grid.cells=[64,64]",
                "dynamics.t_end=3.0",
                "dynamics.snapshots=2",
                "dynamics.noise=0.0",
                "model.weight_decay=0.0",
                "solver.history_every=1",
            ],
        );
        let rec = run(&s);
        let r: Vec<f64> = rec.history.iter().map(|h| h.risk).collect();
        for w in r.windows(2) {
            assert!(
                w[1] <= w[0] + 1e-12,
                "{name}: risk rose from {} to {}",
                w[0],
                w[1]
            );
        }
        assert!(r[r.len() - 1] < 0.8 * r[0], "{name}: and it does decrease");
    }
}

#[test]
fn a_pde_run_gives_the_same_bits_on_one_or_two_threads() {
    // every reduction is in a fixed order (mfpde::sum), every sweep writes
    // each cell from one task: the density and every diagnostic agree to
    // the bit whatever the threads
    for (name, cells) in [
        ("bias3d", "grid.cells=[20,16,24]"),
        ("quickstart", "grid.cells=[64,48]"),
    ] {
        let sets = [
            cells,
            "dynamics.t_end=0.3",
            "dynamics.snapshots=3",
            "solver.history_every=1",
        ];
        let s = grid_setup(name, &sets);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let rec = pool.install(|| run(&s));
            let mut bits: Vec<u64> = Vec::new();
            // every stored number: the records' variables
            let numbers = |r: &dyn Record| -> Vec<u64> {
                r.vars()
                    .iter()
                    .flat_map(|v| v.value.numbers().iter().map(|x| x.to_bits()))
                    .collect()
            };
            for (d, rho) in rec.snapshots.iter().zip(&rec.densities) {
                bits.extend(numbers(&PdeRecord { diag: d, rho }));
            }
            for h in &rec.history {
                bits.extend(numbers(h));
            }
            bits
        };
        assert_eq!(on(1), on(2), "{name}");
    }
}

#[test]
fn every_simd_variant_gives_the_same_bits() {
    // no FMA and no reassociation in any loop: baseline, AVX2 and AVX-512
    // compute the same PDE run to the bit (2-D and 3-D, every flux)
    use mfpde::simd::Simd;
    use mfpde::solve::{make_stepper, solve_from, RunState};
    for (name, sets) in [
        ("quickstart", vec!["grid.cells=[40,36]"]),
        (
            "quickstart",
            vec![
                "grid.cells=[40,36]",
                "solver.limiter=\"mc\"",
                "model.weight_decay=0.1",
            ],
        ),
        (
            "bias3d",
            vec!["grid.cells=[12,10,14]", "solver.limiter=\"minmod\""],
        ),
        (
            "frozen_relu",
            vec!["grid.cells=[24,20]", "solver.flux=\"upwind\""],
        ),
    ] {
        let mut sets = sets.clone();
        sets.extend(["dynamics.t_end=0.3", "dynamics.snapshots=3"]);
        let s = grid_setup(name, &sets);
        let bits = |simd: Simd| {
            let mut stepper = make_stepper(&s);
            stepper.set_simd(simd);
            let mut rec = Recorder::default();
            let out = solve_from(&s, &mut stepper, RunState::start(s.rho0()), &mut [&mut rec])
                .expect("run succeeds");
            let mut bits: Vec<u64> = out.rho.iter().map(|v| v.to_bits()).collect();
            bits.extend(rec.history.iter().map(|h| h.risk.to_bits()));
            bits
        };
        let base = bits(Simd::Baseline);
        for simd in Simd::all_available() {
            assert!(
                bits(simd) == base,
                "{name} {sets:?}: {} differs",
                simd.name()
            );
        }
    }
}

#[test]
fn a_deferred_half_diffusion_changes_nothing_but_round_off() {
    // N Strang steps with each trailing half diffusion merged into the next
    // step's leading half, then settled, against N complete steps of the
    // same Δt: D(s)D(t) = D(s + t), so the densities agree to round-off
    // (each step's operators are contractions in the max norm; N steps
    // accumulate at most N·few ulps). The CFL Δt from the held density and
    // the owed flow's moments equals the Δt of the settled density.
    for (name, cells) in [
        ("quickstart", "grid.cells=[64,48]"),
        ("bias3d", "grid.cells=[16,12,20]"),
    ] {
        let s = grid_setup(name, &[cells]);
        let mut plain = mfpde::solve::make_stepper(&s);
        let mut merged = mfpde::solve::make_stepper(&s);
        assert!(merged.defer_diffusion(true), "{name}: deferral applies");
        let (mut a, mut b) = (s.rho0(), s.rho0());
        let n = 20;
        let top = a.iter().cloned().fold(0.0, f64::max);
        for step in 0..n {
            let dt = plain.stable_dt(&a);
            let dt_held = merged.stable_dt(&b);
            assert!(
                (dt - dt_held).abs() <= 1e-13 * dt,
                "{name} step {step}: Δt {dt} vs {dt_held}"
            );
            plain.step(&mut a, dt);
            merged.step(&mut b, dt);
            assert_eq!(merged.owed(), 0.5 * dt);
        }
        merged.flush(&mut b);
        assert_eq!(merged.owed(), 0.0);
        let gap = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            gap <= 8.0 * n as f64 * f64::EPSILON * top,
            "{name}: {gap:e} after {n} steps"
        );
        assert!(
            gap > 0.0,
            "{name}: the merged steps are a different computation"
        );
    }
}

#[test]
fn history_rows_do_not_change_the_run() {
    // a history row looks at a settled copy; the held density and so every
    // snapshot are the same bits whatever solver.history_every is
    let snap = |every: &str| {
        let s = grid_setup(
            "quickstart",
            &[
                "grid.cells=[48,40]",
                "dynamics.t_end=0.5",
                "dynamics.snapshots=3",
                every,
            ],
        );
        let rec = run(&s);
        rec.densities
            .iter()
            .flatten()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert!(snap("solver.history_every=1") == snap("solver.history_every=7"));
}
