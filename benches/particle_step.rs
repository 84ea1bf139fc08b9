//! One Euler–Maruyama step of the quickstart network (48 Gauss–Hermite
//! nodes, population mode) at m = 10⁴, 10⁵ and 10⁶ neurons on 1 and 2
//! threads; at m = 10⁵ also every SIMD variant of the kernel the CPU has on
//! 1 thread, and the step without folding the ±x node pairs (all 48 nodes).
//! Throughput is in neurons, so criterion reports neuron-steps/s.
//! `PARTICLE_SIZES=1e5` (a comma list) restricts the sizes.
//!
//! ```text
//! cargo bench --bench particle_step
//! python3 benches/numpy_particle_step.py       # the same step in numpy, by hand
//! python3 benches/peers/jax_particle_step.py   # and jitted in JAX
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mfpde::particles::kernel::Simd;
use mfpde::particles::Swarm;
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

criterion_group!(benches, bench_particles);
criterion_main!(benches);
