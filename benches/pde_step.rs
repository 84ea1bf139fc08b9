//! Time of one controller step (CFL Δt + Strang step: half diffusion, SSP-RK2
//! advection with two velocity evaluations, half diffusion) at 256², 96³ and
//! 40⁴ cells. Throughput is in cells, so criterion reports cell updates/s.
//!
//!     cargo bench --bench pde_step

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mfpde::problem::LoadedProblem;
use mfpde::setup::Setup;
use mfpde::solve::make_stepper;
use std::path::Path;
use std::time::Duration;

fn setup(file: &str, cells: &str) -> Setup {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("grids")
        .join(file);
    let lp = LoadedProblem::from_file(&path, &[format!("grid.cells={cells}")]).unwrap();
    Setup::new(&lp).unwrap()
}

fn bench_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("pde_step");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (label, file, cells) in [
        ("256^2 quickstart", "quickstart.toml", "[256,256]"),
        ("96^3 bias3d", "bias3d.toml", "[96,96,96]"),
        ("40^4 teacher4d", "teacher4d.toml", "[40,40,40,40]"),
    ] {
        let s = setup(file, cells);
        let mut stepper = make_stepper(&s);
        let mut rho = s.rho0();
        group.throughput(Throughput::Elements(s.grid.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                let dt = stepper.stable_dt(&rho);
                stepper.step(&mut rho, dt);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_steps);
criterion_main!(benches);
