//! A planned step allocates nothing: the PDE's `Stepper::step` (with its
//! CFL Δt) and the network's `Swarm::step`, counted by a global allocator
//! that counts every allocation of every thread (rayon's workers included).
//! One test in this file, so no other test allocates while it counts.

mod common;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Run `f` on a thread of rayon's pool. Called from outside the pool, each
/// parallel loop is injected into rayon's global queue, a list of blocks of
/// 63 slots: one block is allocated per 63 calls (measured: 1 or 2 per 5
/// PDE steps). That is rayon's, not the step's; inside the pool the loops
/// go to the worker's own deque, which does not allocate once warm.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Allocations made by `f`.
fn allocations(mut f: impl FnMut()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn planned_steps_allocate_nothing() {
    // PDE: every diffusion kind, both splittings, both fluxes, a frozen a,
    // and the sg scheme with long steps
    for (name, sets) in [
        ("quickstart", vec!["grid.cells=[48,40]"]),
        (
            "quickstart",
            vec![
                "grid.cells=[48,40]",
                "solver.splitting=\"lie\"",
                "solver.flux=\"upwind\"",
                "solver.diffusion=\"backward_euler\"",
            ],
        ),
        (
            "frozen_relu",
            vec!["grid.cells=[32,32]", "solver.diffusion=\"crank_nicolson\""],
        ),
        ("bias3d", vec!["grid.cells=[12,10,14]"]),
        ("gibbs", vec!["grid.cells=[40,48]", "solver.dt_max=2.0"]),
        // stretched axes: the split scheme (each Δt rebuilds the heat
        // matrices), Crank–Nicolson, and sg
        (
            "quickstart",
            vec![
                "grid.cells=[48,40]",
                "grid.map.a={kind=\"geometric\", ratio=3.0}",
                "grid.map.w1={kind=\"sinh\", centre=0.0, width=1.0}",
            ],
        ),
        (
            "quickstart",
            vec![
                "grid.cells=[48,40]",
                "grid.map.w1={kind=\"sinh\", centre=0.0, width=1.0}",
                "solver.diffusion=\"crank_nicolson\"",
            ],
        ),
        (
            "gibbs",
            vec![
                "grid.cells=[40,48]",
                "solver.dt_max=2.0",
                "grid.map.a={kind=\"sinh\", centre=0.0, width=1.0}",
            ],
        ),
    ] {
        let s = grid_setup(name, &sets);
        let mut stepper = mfpde::solve::make_stepper(&s);
        let mut rho = s.rho0();
        // the first step touches rayon's pool and the DCT factors' cache,
        // inside the pool as the counted ones (its workers' deques and
        // per-thread scratch warm on the same pattern: taken outside, one
        // run in some 20 counted an allocation)
        in_pool(|| {
            let dt = stepper.stable_dt(&rho);
            stepper.step(&mut rho, dt);
        });
        let n = in_pool(|| {
            allocations(|| {
                for _ in 0..5 {
                    let dt = stepper.stable_dt(&rho);
                    stepper.step(&mut rho, dt);
                }
            })
        });
        assert_eq!(n, 0, "{name} {sets:?}: {n} allocations in 5 PDE steps");
    }
    // particles: population with folded pairs, unfolded, sgd, a data set
    for (name, sets, fold) in [
        ("quickstart", vec!["particles.m=3000"], true),
        ("quickstart", vec!["particles.m=3000"], false),
        ("frozen_relu", vec!["particles.m=3000"], true),
        ("dataset_labels", vec!["particles.m=3000"], true),
    ] {
        let s = grid_setup(name, &sets);
        let o = s.particles.unwrap();
        let mut sw = swarm(&s, &o);
        sw.use_symmetry(fold);
        in_pool(|| sw.step(o.dt));
        let n = in_pool(|| {
            allocations(|| {
                for _ in 0..5 {
                    sw.step(o.dt);
                }
            })
        });
        assert_eq!(
            n, 0,
            "{name} (fold {fold}): {n} allocations in 5 particle steps"
        );
    }
    // and the counter does count
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}
