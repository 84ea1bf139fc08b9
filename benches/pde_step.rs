//! The PDE step and its parts, at 256², 512², 1024² (the quickstart), 96³
//! (bias3d) and 40⁴ (teacher4d): the velocity (g and ∇g from ρ), one
//! advection stage (the velocity and −div(ρV) on every axis), one diffusion
//! (the exact DCT heat flow), and the whole controller step (the CFL Δt and
//! a Strang step). Each runs on a thread of rayon's pool, as the controller
//! does. Throughput is in cells: criterion reports cell updates/s.
//!
//!     cargo bench --bench pde_step [-- FILTER]
//!     RAYON_NUM_THREADS=1 cargo bench --bench pde_step
//!
//! `PDE_SIZES=256` (a comma list of labels: 256, 512, 1024, 96^3, 40^4)
//! restricts the sizes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mfpde::problem::LoadedProblem;
use mfpde::scheme::{make_diffusion, Advection, DiffusionKind};
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

/// Run `f` on a thread of rayon's pool.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

fn bench_steps(c: &mut Criterion) {
    let wanted = std::env::var("PDE_SIZES").ok();
    let threads = rayon::current_num_threads();
    for (label, file, cells) in [
        ("256", "quickstart.toml", "[256,256]"),
        ("512", "quickstart.toml", "[512,512]"),
        ("1024", "quickstart.toml", "[1024,1024]"),
        ("96^3", "bias3d.toml", "[96,96,96]"),
        ("40^4", "teacher4d.toml", "[40,40,40,40]"),
    ] {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.split(',').any(|x| x == label))
        {
            continue;
        }
        let s = setup(file, cells);
        let mut group = c.benchmark_group(format!("pde {label} ({threads} threads)"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(s.grid.len() as u64));
        let mut stepper = make_stepper(&s);
        let mut rho = s.rho0();
        // a few steps first, so that ρ is not ρ0's product form
        in_pool(|| {
            for _ in 0..5 {
                let dt = stepper.stable_dt(&rho);
                stepper.step(&mut rho, dt);
            }
        });
        let mut du = vec![0.0; s.grid.len()];
        let adv = Advection::new(&s.grid, s.scheme.flux);
        group.bench_function("velocity", |b| {
            b.iter(|| in_pool(|| stepper.velocity().eval(&rho)))
        });
        group.bench_function("advection stage", |b| {
            b.iter(|| {
                in_pool(|| {
                    let vel = stepper.velocity();
                    vel.eval(&rho);
                    adv.rhs(&rho, vel, &mut du);
                })
            })
        });
        group.bench_function("cfl dt", |b| b.iter(|| in_pool(|| stepper.stable_dt(&rho))));
        let mut r1 = rho.clone();
        group.bench_function("advection sub-step", |b| {
            b.iter(|| in_pool(|| stepper.advect(&mut r1, 1e-4)))
        });
        let mut diff = make_diffusion(DiffusionKind::Spectral, &s.grid, 0.5 * s.model.noise);
        let mut r2 = rho.clone();
        group.bench_function("diffusion", |b| {
            b.iter(|| in_pool(|| diff.advance(&mut r2, 1e-3)))
        });
        group.bench_function("step", |b| {
            b.iter(|| {
                in_pool(|| {
                    let dt = stepper.stable_dt(&rho);
                    stepper.step(&mut rho, dt);
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_steps);
criterion_main!(benches);
