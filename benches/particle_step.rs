//! One Euler–Maruyama step of the quickstart network (m = 10⁵ neurons,
//! 48 Gauss–Hermite nodes, population mode) on 1 and 2 threads. Throughput
//! is in neurons, so criterion reports neuron-steps/s.
//!
//! ```text
//! cargo bench --bench particle_step
//! python3 benches/numpy_particle_step.py     # the same step in numpy, by hand
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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
        let mut swarm = pool.install(|| Swarm::new(&setup, &opts));
        group.bench_function(format!("m=1e5 Q=48 threads={threads}"), |b| {
            b.iter(|| pool.install(|| swarm.step(opts.dt)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_particles);
criterion_main!(benches);
