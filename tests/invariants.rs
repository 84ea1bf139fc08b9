//! Pinned invariants over whole runs: mass to round-off, positivity at every
//! step, the free energy never increasing (η > 0), the risk never increasing
//! (η = λ = 0).

mod common;
use common::*;

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
            for (d, rho) in rec.snapshots.iter().zip(&rec.densities) {
                let scalars = d.series().map(|(_, v)| v);
                let all = scalars
                    .iter()
                    .chain(&d.mean)
                    .chain(&d.cov)
                    .chain(&d.f_values);
                bits.extend(all.chain(rho).map(|v| v.to_bits()));
            }
            bits.extend(
                rec.history
                    .iter()
                    .flat_map(|h| h.series().map(|(_, v)| v.to_bits())),
            );
            bits
        };
        assert_eq!(on(1), on(2), "{name}");
    }
}
