//! One Euler–Maruyama step of the quickstart network (48 Gauss–Hermite
//! nodes, population mode) at m = 10⁴, 10⁵ and 10⁶ neurons on 1 and 2
//! threads; at m = 10⁵ also every SIMD variant of the kernel the CPU has on
//! 1 thread, and the step without folding the ±x node pairs (all 48 nodes).
//! Throughput is in neurons, so criterion reports neuron-steps/s.
//! `PARTICLE_SIZES=1e5` (a comma list) restricts the sizes. Also the
//! d-dimensional network of a reduced problem (`particles::wide`, population
//! through κ) at m = 1000, d = 40 and 1000 (`PARTICLE_WIDE=0` skips it;
//! `PARTICLE_WIDE_M=10000 PARTICLE_WIDE_D=40` sets m and one d).
//!
//! ```text
//! cargo bench --bench particle_step
//! python3 benches/numpy_particle_step.py       # the same step in numpy, by hand
//! python3 benches/peers/jax_particle_step.py   # and jitted in JAX
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mfpde::particles::kernel::Simd;
use mfpde::particles::{Mode, Neurons, ParticleOptions, Swarm};
use mfpde::problem::LoadedProblem;
use mfpde::setup::Setup;
use std::time::Duration;

fn bench_particles(c: &mut Criterion) {
    let lp = LoadedProblem::quickstart(&[]).unwrap();
    let setup = Setup::new(&lp).unwrap();
    let base = setup.particles.unwrap();
    let sizes: Vec<usize> = std::env::var("PARTICLE_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .map(|m| m.parse::<f64>().unwrap() as usize)
                .collect()
        })
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    for m in sizes {
        let opts = mfpde::particles::ParticleOptions { m, ..base };
        let mut group = c.benchmark_group(format!("particle_step m={m:.0e}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(if m > 100_000 { 12 } else { 5 }))
            .throughput(Throughput::Elements(m as u64));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut swarm = pool.install(|| Swarm::new(&setup.model, &setup.initial, &opts));
            for simd in [Simd::Baseline, Simd::Avx2, Simd::Avx512] {
                // at m = 10⁵ every variant on 1 thread; else the detected one
                let every = m == 100_000 && threads == 1;
                if !simd.available() || (!every && simd != Simd::detect()) {
                    continue;
                }
                swarm.set_simd(simd);
                let name = format!("{threads} threads {}", simd.name());
                group.bench_function(name, |b| b.iter(|| pool.install(|| swarm.step(opts.dt))));
            }
            // all 48 nodes evaluated (what the unfolded peers do)
            if m == 100_000 {
                swarm.set_simd(Simd::detect());
                swarm.use_symmetry(false);
                let name = format!("{threads} threads unfolded");
                group.bench_function(name, |b| b.iter(|| pool.install(|| swarm.step(opts.dt))));
            }
        }
        group.finish();
    }
}

/// The d-dimensional network of a reduced problem (grids/single_index.toml,
/// erf): the population gradient through κ (O(m² d)) and an sgd step with
/// B = 1000 (O(m B d)), at m = 1000, d = 40 and 1000 (`PARTICLE_WIDE=0`
/// skips it; `PARTICLE_WIDE_M` and `PARTICLE_WIDE_D` choose m and one d).
fn bench_wide(c: &mut Criterion) {
    if std::env::var("PARTICLE_WIDE").as_deref() == Ok("0") {
        return;
    }
    let threads = rayon::current_num_threads();
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let m = var("PARTICLE_WIDE_M").unwrap_or(1000);
    let dims = var("PARTICLE_WIDE_D").map_or(vec![40, 1000], |d| vec![d]);
    for d in dims {
        let s_w = 3.0 / ((d - 1) as f64).sqrt();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("grids/single_index.toml");
        let sets = vec![format!("data.dim={d}"), format!("initial.std=[0.5, {s_w}]")];
        let lp = LoadedProblem::from_file(&path, &sets).unwrap();
        let s = Setup::new(&lp).unwrap();
        let mut group = c.benchmark_group(format!("wide network d={d} ({threads} threads)"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(m as u64));
        for (name, mode) in [
            (format!("population step, m = {m}"), Mode::Population),
            (
                format!("sgd step, m = {m}, B = 1000"),
                Mode::Sgd { batch: 1000 },
            ),
        ] {
            let opts = ParticleOptions {
                m,
                seed: 1,
                dt: 1e-3,
                mode,
                store: m,
            };
            let mut wide =
                mfpde::particles::wide::WideSwarm::new(&s.model, &s.initial, &opts).unwrap();
            group.bench_function(name, |b| b.iter(|| wide.step(1e-3)));
        }
        group.finish();
    }
}

criterion_group!(benches, bench_particles, bench_wide);
criterion_main!(benches);
