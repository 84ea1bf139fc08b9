//! The particle side: exact laws, the finite-m risk bias, agreement with the
//! PDE, SGD → population, bitwise reproducibility, weak order of Euler–Maruyama.

mod common;
use common::*;
use mfpde::model::Quadrature;
use mfpde::particles::{self, ParticleOptions};
use mfpde::setup::Setup;

fn opts(s: &Setup) -> ParticleOptions {
    s.particles.expect("problem has [particles]")
}

/// The OU problem of grids/ou_exact.toml with a `[particles]` section.
fn ou() -> Setup {
    grid_setup(
        "ou_exact",
        &[
            "particles.m=20000",
            "particles.dt=0.005",
            "particles.seed=7",
        ],
    )
}

#[test]
fn ornstein_uhlenbeck_sample_moments_are_within_four_standard_errors() {
    let s = ou();
    let o = opts(&s);
    let summary = train(&s, &o, &mut []).1;
    let d = &summary.last;
    assert_eq!(d.time, 1.0);
    let m = o.m as f64;
    let e = (-1.0f64).exp();
    for (k, (m0, s0)) in [(0.0, 0.8), (1.0, 0.6)].into_iter().enumerate() {
        let mean = m0 * e;
        let var: f64 = s0 * s0 * e * e + 0.25 * (1.0 - e * e);
        let se_mean = (var / m).sqrt();
        let se_var = var * (2.0 / (m - 1.0)).sqrt();
        assert!(
            (d.mean[k] - mean).abs() < 4.0 * se_mean,
            "axis {k}: mean {} vs {mean} ± {se_mean}",
            d.mean[k]
        );
        assert!(
            (d.cov[k * 2 + k] - var).abs() < 4.0 * se_var,
            "axis {k}: var {} vs {var} ± {se_var}",
            d.cov[k * 2 + k]
        );
    }
    let se_cov = (d.cov[0] * d.cov[3] / m).sqrt();
    assert!(d.cov[1].abs() < 4.0 * se_cov, "cov {} ± {se_cov}", d.cov[1]);
}

/// E_x Var_{θ∼ρ0}[a σ(w·x)] for ρ0 = N(0, sa²) × N(mw, sw²), x ~ N(0, 1),
/// by Gauss–Hermite in x, a and w (σ = tanh, no bias).
fn finite_m_variance(sa: f64, mw: f64, sw: f64) -> f64 {
    let qx = Quadrature::gaussian(1, 1.0, 60);
    let qw = Quadrature::gaussian(1, sw, 60);
    (0..qx.len())
        .map(|i| {
            let x = qx.nodes[i];
            let (mut e1, mut e2) = (0.0, 0.0);
            for j in 0..qw.len() {
                let s = ((mw + qw.nodes[j]) * x).tanh();
                e1 += qw.weights[j] * s;
                e2 += qw.weights[j] * s * s;
            }
            // E[a] = 0: Var = E[a²] E[σ²] − (E[a] E[σ])² = sa² E[σ²]
            let _ = e1;
            qx.weights[i] * sa * sa * e2
        })
        .sum()
}

#[test]
fn risk_at_time_zero_has_the_exact_finite_m_bias() {
    // f* = 0 and E[a] = 0: R(ρ0) = 0 and E R(μ^m_0) = (1/2m) E_x Var[a σ(w x)]
    let m = 50;
    let seeds = 400;
    let mut vals = Vec::new();
    for seed in 0..seeds {
        let seed_s = format!("particles.seed={seed}");
        let m_s = format!("particles.m={m}");
        let s = grid_setup(
            "ou_exact",
            &[
                &m_s,
                &seed_s,
                "particles.dt=0.01",
                "model.weight_decay=0.0",
                "initial.mean=[0.0,0.5]",
                "data.nodes=40",
            ],
        );
        let mut sw = swarm(&s, &opts(&s));
        vals.push(sw.risk());
    }
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let se = sd / n.sqrt();
    let bias = finite_m_variance(0.8, 0.5, 0.6) / (2.0 * m as f64);
    eprintln!("R(μ^m_0) mean {mean:.5e} ± {se:.1e}, exact bias {bias:.5e}");
    assert!((mean - bias).abs() < 2.0 * se, "{mean} vs {bias} ± {se}");
    assert!(se < 0.1 * bias, "the test resolves the bias");
}

#[test]
fn population_mode_follows_the_pde_risk_curve() {
    // Tolerance: R_m − R = −E_x[r δf] + ½ E_x δf², δf = f_m − f_ρ with
    // Var δf(x) ≤ E_ρ[a²]/m (|tanh| ≤ 1), so by Cauchy–Schwarz the
    // fluctuation is at most √(2 R E[a²] / m) (+ E[a²]/2m); we allow 4 of
    // those, plus Euler–Maruyama's O(Δt) bias, bounded by Δt × the largest
    // |dR/dt| (≈ 0.6 here), plus the PDE's own grid error (1e-3 at 128²).
    let s = grid_setup(
        "quickstart",
        &[
            "grid.cells=[128,128]",
            "dynamics.t_end=2.0",
            "dynamics.snapshots=5",
            "particles.m=20000",
            "particles.dt=0.01",
        ],
    );
    let pde = run(&s);
    let o = opts(&s);
    struct Keep(Vec<f64>);
    impl particles::ParticleObserver for Keep {
        fn snapshot(
            &mut self,
            d: &particles::ParticleDiagnostics,
            _n: &dyn particles::Neurons,
        ) -> mfpde::Result<()> {
            self.0.push(d.risk);
            Ok(())
        }
    }
    let mut keep = Keep(Vec::new());
    train(&s, &o, &mut [&mut keep]);
    for (d, rm) in pde.snapshots.iter().zip(&keep.0) {
        let a2 = d.cov[0] + d.mean[0] * d.mean[0];
        let m = o.m as f64;
        let tol = 4.0 * ((2.0 * d.risk * a2 / m).sqrt() + a2 / (2.0 * m)) + o.dt * 0.6 + 1e-3;
        eprintln!(
            "t = {}: PDE {:.5} particles {:.5} tol {:.4}",
            d.time, d.risk, rm, tol
        );
        assert!(
            (d.risk - rm).abs() < tol,
            "t = {}: {} vs {rm} (tol {tol})",
            d.time,
            d.risk
        );
    }
    assert!(keep.0[4] < 0.5 * keep.0[0], "and the risk does fall");
}

#[test]
fn sgd_converges_to_population_as_the_batch_grows() {
    let base = [
        "dynamics.t_end=1.0",
        "dynamics.snapshots=2",
        "particles.m=2000",
        "particles.dt=0.01",
        "particles.seed=3",
    ];
    let final_theta = |extra: &[&str]| {
        let mut sets = base.to_vec();
        sets.extend_from_slice(extra);
        let s = grid_setup("quickstart", &sets);
        let mut sw = swarm(&s, &opts(&s));
        run_swarm(&s, &opts(&s), &mut sw, &mut []);
        sw.theta.clone()
    };
    let pop = final_theta(&[]);
    let mut dists = Vec::new();
    for b in [16, 256, 4096] {
        let bs = format!("particles.batch={b}");
        let sgd = final_theta(&["particles.mode=\"sgd\"", &bs]);
        let d = (pop
            .iter()
            .zip(&sgd)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            / pop.len() as f64)
            .sqrt();
        dists.push(d);
    }
    eprintln!("rms |θ_sgd − θ_pop| for B = 16, 256, 4096: {dists:?}");
    // batch noise ∝ B^{-1/2}: each 16× larger batch cuts it by about 4
    assert!(
        dists[1] < dists[0] / 2.5 && dists[2] < dists[1] / 2.5,
        "{dists:?}"
    );
}

#[test]
fn same_seed_gives_identical_bytes_on_one_or_two_threads() {
    let s = grid_setup(
        "quickstart",
        &[
            "dynamics.t_end=0.1",
            "dynamics.snapshots=2",
            "particles.m=3000",
            "particles.dt=0.01",
        ],
    );
    let run_on = |threads: usize, seed: u64| {
        let mut o = opts(&s);
        o.seed = seed;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut sw = swarm(&s, &o);
            run_swarm(&s, &o, &mut sw, &mut []);
            sw.theta.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
        })
    };
    let one = run_on(1, 1);
    let two = run_on(2, 1);
    assert_eq!(one, two, "1 and 2 threads differ");
    let other = run_on(2, 2);
    let same = one.iter().zip(&other).filter(|(a, b)| a == b).count();
    assert_eq!(same, 0, "a different seed must give different positions");
}

#[test]
fn euler_maruyama_has_weak_order_one() {
    // a0 = 0 frozen: f ≡ 0 and each w_j is an independent OU process
    // dw = −λ w dt + √η dB; with w̄0 = 0, E[w_T²] = v0 e^{−2λT} + (η/2λ)(1 − e^{−2λT}).
    // Its Euler–Maruyama error is noise-driven (≈ 0.12, 0.057, 0.027 at
    // Δt = 0.2, 0.1, 0.05), far above the Monte Carlo error √(2/m) ≈ 2e-3;
    // a wrong noise amplitude would leave an O(1) error and order ≈ 0.
    let text = r#"
        [model]
        activation = "tanh"
        train_a = false
        a0 = 0.0
        weight_decay = 1.0
        [data]
        law = "gaussian"
        dim = 1
        nodes = 1
        [target]
        kind = "expression"
        expression = "0"
        [dynamics]
        noise = 2.0
        t_end = 1.0
        snapshots = 2
        [initial]
        kind = "gaussian"
        mean = [0.0]
        std = [0.5]
        [grid]
        lo = [-6.0]
        hi = [6.0]
        cells = [64]
        [particles]
        m = 400000
        dt = 0.1
        seed = 11
    "#;
    let e2 = (-2.0f64).exp();
    let exact = 0.25 * e2 + 1.0 * (1.0 - e2);
    let mut errors = Vec::new();
    for dt in [0.2, 0.1, 0.05] {
        let dts = format!("particles.dt={dt}");
        let s = text_setup(text, &[&dts]);
        let o = opts(&s);
        let mut sw = swarm(&s, &o);
        run_swarm(&s, &o, &mut sw, &mut []);
        let m2 = sw.theta.iter().map(|w| w * w).sum::<f64>() / o.m as f64;
        errors.push((m2 - exact).abs());
    }
    let p = orders(&errors);
    eprintln!("EM weak errors {errors:?}, orders {p:?}");
    assert!(p.iter().all(|&o| (0.8..1.25).contains(&o)), "orders {p:?}");
}

/// Folding the ±x node pairs of an odd unit (one σ per pair) changes the
/// trajectory only at round-off, in d_x = 1 and 2; with a bias there is
/// nothing to fold. The fused SIMD variants give the same bytes, the
/// baseline the same trajectory to round-off.
#[test]
fn folded_node_pairs_and_simd_variants_change_nothing_but_round_off() {
    use mfpde::particles::kernel::Simd;
    let short = [
        "dynamics.t_end=0.5",
        "dynamics.snapshots=2",
        "particles.m=3000",
        "particles.dt=0.01",
    ];
    let plane = grid_setup("quickstart", &short);
    let mut three = short.to_vec();
    three.extend([
        "data.dim=2",
        "data.nodes=9",
        "grid.lo=[-6.0, -6.0, -6.0]",
        "grid.hi=[6.0, 6.0, 6.0]",
        "grid.cells=[8, 8, 8]",
        "initial.mean=[0.0, 0.0, 0.0]",
        "initial.std=[0.5, 1.0, 1.0]",
    ]);
    let space = grid_setup("quickstart", &three);
    for (s, pairs) in [(&plane, 24), (&space, 40)] {
        let o = opts(s);
        let run = |fold: bool, simd: Simd| {
            let mut sw = swarm(s, &o);
            sw.use_symmetry(fold);
            sw.set_simd(simd);
            run_swarm(s, &o, &mut sw, &mut []);
            (sw.mirrored_pairs(), sw.f_nodes_population(), sw.theta)
        };
        let (n, f, folded) = run(true, Simd::detect());
        assert_eq!(n, pairs, "pairs folded (Q = {})", f.len());
        let (n0, f0, plain) = run(false, Simd::detect());
        assert_eq!(n0, 0);
        let gap = folded
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(gap > 0.0 && gap < 1e-12, "positions differ by {gap:e}");
        for (a, b) in f.iter().zip(&f0) {
            assert!((a - b).abs() < 1e-13, "f_m {a} vs {b}");
        }
        // the fused variants (AVX2, AVX-512) agree to the bit; the unfused
        // baseline with them to round-off, as folding does
        let fused: Vec<_> = [Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|s| s.available())
            .map(|simd| run(true, simd).2)
            .collect();
        if let Some(first) = fused.first() {
            assert!(fused.iter().all(|t| t == first), "AVX2 and AVX-512 differ");
        }
        let base = run(true, Simd::Baseline).2;
        let gap = base
            .iter()
            .zip(&folded)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            gap < 1e-12,
            "baseline and detected variant differ by {gap:e}"
        );
    }
    let bias = grid_setup("bias3d", &short);
    assert_eq!(swarm(&bias, &opts(&bias)).mirrored_pairs(), 0);
    // f_m at arbitrary points (more of them than nodes) against a plain sum
    let mut sw = swarm(&plane, &opts(&plane));
    let points: Vec<Vec<f64>> = (0..100).map(|i| vec![i as f64 * 0.07 - 3.5]).collect();
    let f = sw.f_values(&points);
    for (x, fx) in points.iter().zip(&f) {
        let m = sw.m() as f64;
        let want: f64 = sw
            .theta
            .chunks(2)
            .map(|t| t[0] * (t[1] * x[0]).tanh())
            .sum::<f64>()
            / m;
        assert!((fx - want).abs() < 1e-14, "f_m({}) = {fx} vs {want}", x[0]);
    }
}
