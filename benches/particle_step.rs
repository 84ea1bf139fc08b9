//! One Euler–Maruyama step of the quickstart network (m = 10⁵ neurons,
//! 48 Gauss–Hermite nodes, population mode): every SIMD variant of the
//! kernel the CPU has on 1 thread, the detected one on 2, and the detected
//! one without folding the ±x node pairs (all 48 nodes). Throughput
//! is in neurons, so criterion reports neuron-steps/s.
//!
//! ```text
//! cargo bench --bench particle_step
//! python3 benches/numpy_particle_step.py     # the same step in numpy, by hand
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
    let opts = setup.particles.unwrap();
    let mut group = c.benchmark_group("particle_step");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(opts.m as u64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut swarm = pool.install(|| Swarm::new(&setup.model, &setup.initial, &opts));
        if threads == 1 {
            eprintln!("{} node pairs ±x folded", swarm.mirrored_pairs());
        }
        for simd in [Simd::Baseline, Simd::Avx2, Simd::Avx512] {
            // every variant on 1 thread; the detected one on 2
            if !simd.available() || (threads > 1 && simd != Simd::detect()) {
                continue;
            }
            swarm.set_simd(simd);
            let name = format!("m=1e5 Q=48 threads={threads} {}", simd.name());
            group.bench_function(name, |b| b.iter(|| pool.install(|| swarm.step(opts.dt))));
        }
        // all 48 nodes evaluated (what benches/numpy_particle_step.py does)
        swarm.set_simd(Simd::detect());
        swarm.use_symmetry(false);
        let name = format!("m=1e5 Q=48 threads={threads} unfolded");
        group.bench_function(name, |b| b.iter(|| pool.install(|| swarm.step(opts.dt))));
    }
    group.finish();
}

criterion_group!(benches, bench_particles);
criterion_main!(benches);
