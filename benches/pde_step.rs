//! The PDE step and its parts, at 256², 512², 1024² (the quickstart), 96³
//! (bias3d) and 40⁴ (teacher4d): the velocity (g and ∇g from ρ), one
//! advection stage (the velocity and −div(ρV) on every axis), the CFL Δt,
//! one advection sub-step, one half diffusion (the exact heat flow at the
//! half step the CFL rule gives, by kernel and by DCT), and the whole
//! controller step (the CFL Δt and a Strang step, its trailing half
//! diffusion deferred to the next step as the controller does; and with
//! both half diffusions). The iterations run on a
//! thread of rayon's pool, as the controller's time loop does. Throughput is
//! in cells: criterion reports cell updates/s.
//!
//!     cargo bench --bench pde_step [-- FILTER]
//!     RAYON_NUM_THREADS=1 cargo bench --bench pde_step
//!
//! `PDE_SIZES=256` (a comma list of labels: 256, 512, 1024, 96^3, 40^4,
//! 40^4f — teacher4d with `solver.tables = "on_the_fly"`, run only when
//! named, 64^4 — teacher4d on 64⁴ cells, only when named, 256s — the
//! quickstart at 256² on sinh-stretched axes) restricts the sizes.
//!
//! The reduced PDE of docs/model.md §6 (grids/single_index.toml, (a, p, r) on
//! 64 × 64 × 48 cells, 1 536 nodes of (Uᵀx, |x⊥|)) at d = 40 and d = 1000:
//! planning (the tables of the cosine-averaged unit) and one controller
//! step, under `reduced d=…` (`PDE_SIZES=reduced` selects only these).

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Bencher, BenchmarkGroup, Criterion, Throughput};
use mfpde::problem::LoadedProblem;
use mfpde::scheme::{Advection, SpectralDiffusion, Stepper, SubStep};
use mfpde::setup::Setup;
use mfpde::solve::make_stepper;
use std::path::Path;
use std::time::{Duration, Instant};

fn setup_with(file: &str, sets: &[String]) -> Setup {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("grids")
        .join(file);
    let lp = LoadedProblem::from_file(&path, sets).unwrap();
    Setup::new(&lp).unwrap()
}

/// The controller's step ("step"): the CFL Δt and a Strang step, the
/// trailing half diffusion merged into the next step's leading half (where
/// the scheme allows it); settled and back to undeferred after.
fn bench_controller_step(
    group: &mut BenchmarkGroup<'_, WallTime>,
    stepper: &mut Stepper,
    rho: &mut [f64],
) {
    stepper.defer_diffusion(true);
    group.bench_function("step", |b| {
        pooled(b, || {
            let dt = stepper.stable_dt(rho);
            stepper.step(rho, dt);
        })
    });
    stepper.flush(rho);
    stepper.defer_diffusion(false);
}

/// The reduced PDE at d = 40 and 1000: the same grid and rules (the cost of
/// a step does not depend on d), s_w scaled so that r ≈ 3 in both; and at
/// d = 40 with `solver.tables = "low_rank"`.
fn bench_reduced(c: &mut Criterion) {
    let wanted = std::env::var("PDE_SIZES").ok();
    if wanted
        .as_ref()
        .is_some_and(|w| !w.split(',').any(|x| x == "reduced"))
    {
        return;
    }
    let threads = rayon::current_num_threads();
    for (d, tables) in [(40usize, "whole"), (1000, "whole"), (40, "low_rank")] {
        let s_w = 3.0 / ((d - 1) as f64).sqrt();
        let sets = vec![
            format!("data.dim={d}"),
            format!("initial.std=[0.5, {s_w}]"),
            "grid.cells=[64,64,48]".to_string(),
            format!("solver.tables=\"{tables}\""),
        ];
        let s = setup_with("single_index.toml", &sets);
        let name = match tables {
            "whole" => format!("reduced d={d} ({threads} threads)"),
            _ => format!("reduced d={d} {tables} ({threads} threads)"),
        };
        let mut group = c.benchmark_group(name);
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(s.grid.len() as u64));
        group.bench_function("plan (tables)", |b| {
            pooled(b, || {
                std::hint::black_box(make_stepper(&s));
            })
        });
        let mut stepper = make_stepper(&s);
        let mut rho = s.rho0();
        bench_controller_step(&mut group, &mut stepper, &mut rho);
        group.finish();
    }
}

/// Run `f` on a thread of rayon's pool.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Time `f`, the iterations run on a thread of rayon's pool as the
/// controller's time loop does (no wake-up of the pool per iteration).
fn pooled(b: &mut Bencher<'_>, mut f: impl FnMut() + Send) {
    b.iter_custom(|iters| {
        in_pool(|| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed()
        })
    });
}

/// The problem's stepper and ρ after five steps, so that ρ is not ρ0's
/// product form.
fn warmed(s: &Setup) -> (Stepper, Vec<f64>) {
    let mut stepper = make_stepper(s);
    let mut rho = s.rho0();
    in_pool(|| {
        for _ in 0..5 {
            let dt = stepper.stable_dt(&rho);
            stepper.step(&mut rho, dt);
        }
    });
    (stepper, rho)
}

fn bench_steps(c: &mut Criterion) {
    let wanted = std::env::var("PDE_SIZES").ok();
    let threads = rayon::current_num_threads();
    if wanted.as_deref() == Some("reduced") {
        return;
    }
    for (label, file, cells) in [
        ("256", "quickstart.toml", "[256,256]"),
        ("512", "quickstart.toml", "[512,512]"),
        ("1024", "quickstart.toml", "[1024,1024]"),
        ("96^3", "bias3d.toml", "[96,96,96]"),
        ("40^4", "teacher4d.toml", "[40,40,40,40]"),
        ("40^4f", "teacher4d.toml", "[40,40,40,40]"),
        ("64^4", "teacher4d.toml", "[64,64,64,64]"),
    ] {
        // 40^4f and 64^4 (0.85 GB of tables) only when asked for by name
        let asked = |w: &String| w.split(',').any(|x| x == label);
        let by_name = label.ends_with('f') || label == "64^4";
        if wanted.as_ref().map_or(by_name, |w| !asked(w)) {
            continue;
        }
        let mut sets = vec![format!("grid.cells={cells}")];
        if label.ends_with('f') {
            sets.push("solver.tables=\"on_the_fly\"".into());
        }
        let s = setup_with(file, &sets);
        let mut group = c.benchmark_group(format!("pde {label} ({threads} threads)"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(s.grid.len() as u64));
        let (mut stepper, mut rho) = warmed(&s);
        let mut du = vec![0.0; s.grid.len()];
        let adv = Advection::new(&s.grid, s.scheme.flux);
        // the Strang step's half diffusion at the step the CFL rule takes
        let half_dt = 0.5 * in_pool(|| stepper.stable_dt(&rho));
        group.bench_function("velocity", |b| pooled(b, || stepper.velocity().eval(&rho)));
        group.bench_function("advection stage", |b| {
            pooled(b, || {
                let vel = stepper.velocity();
                vel.eval(&rho);
                adv.rhs(&rho, vel, &mut du);
            })
        });
        group.bench_function("cfl dt", |b| {
            pooled(b, || {
                std::hint::black_box(stepper.stable_dt(&rho));
            })
        });
        let mut r1 = rho.clone();
        group.bench_function("advection sub-step", |b| {
            pooled(b, || stepper.advect(&mut r1, 1e-4))
        });
        let d = 0.5 * s.model.noise;
        let mut diff = SpectralDiffusion::new(&s.grid, d);
        let mut r2 = rho.clone();
        group.bench_function("half diffusion (kernel)", |b| {
            pooled(b, || diff.advance(&mut r2, half_dt))
        });
        diff.set_kernel_limit(0);
        group.bench_function("half diffusion (DCT)", |b| {
            pooled(b, || diff.advance(&mut r2, half_dt))
        });
        group.bench_function("step, both half diffusions", |b| {
            pooled(b, || {
                let dt = stepper.stable_dt(&rho);
                stepper.step(&mut rho, dt);
            })
        });
        bench_controller_step(&mut group, &mut stepper, &mut rho);
        group.finish();
    }
}

/// The quickstart at 256² with both axes sinh-stretched (README, "Stretched
/// axes") against the same cells uniform (`PDE_SIZES=256,256s`): the
/// advection on each cell's width, the stretched axes' banded heat flow at
/// a fixed Δt (its matrices built) and at a new Δt every call (rebuilt, as
/// a CFL step changes), and the whole step.
fn bench_stretched(c: &mut Criterion) {
    let wanted = std::env::var("PDE_SIZES").ok();
    if wanted
        .as_ref()
        .is_some_and(|w| !w.split(',').any(|x| x == "256s"))
    {
        return;
    }
    let threads = rayon::current_num_threads();
    let s = setup_with(
        "quickstart.toml",
        &[
            "grid.cells=[256,256]".to_string(),
            "grid.map.a={kind=\"sinh\", centre=0.0, width=0.5}".to_string(),
            "grid.map.w1={kind=\"sinh\", centre=0.0, width=0.5}".to_string(),
        ],
    );
    let mut group = c.benchmark_group(format!("pde 256 stretched ({threads} threads)"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(s.grid.len() as u64));
    let (mut stepper, mut rho) = warmed(&s);
    let mut du = vec![0.0; s.grid.len()];
    let adv = Advection::new(&s.grid, s.scheme.flux);
    let half_dt = 0.5 * in_pool(|| stepper.stable_dt(&rho));
    group.bench_function("advection stage", |b| {
        pooled(b, || {
            let vel = stepper.velocity();
            vel.eval(&rho);
            adv.rhs(&rho, vel, &mut du);
        })
    });
    let d = 0.5 * s.model.noise;
    let mut diff = SpectralDiffusion::new(&s.grid, d);
    let mut r2 = rho.clone();
    group.bench_function("half diffusion (banded, built)", |b| {
        pooled(b, || diff.advance(&mut r2, half_dt))
    });
    let mut k = 0u32;
    group.bench_function("half diffusion (banded, rebuilt)", |b| {
        pooled(b, || {
            k += 1;
            diff.advance(&mut r2, half_dt * (1.0 + 1e-9 * f64::from(k % 2)))
        })
    });
    group.bench_function("step, both half diffusions", |b| {
        pooled(b, || {
            let dt = stepper.stable_dt(&rho);
            stepper.step(&mut rho, dt);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_steps, bench_reduced, bench_stretched);
criterion_main!(benches);
