//! Every public entry that writes through the sweeps' shared pointers, or
//! reads a density, checks its lengths: a wrong length is a panic with a
//! message, never memory outside the array.

mod common;
use common::*;
use mfpde::scheme::{make_diffusion, DiffusionKind};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let p = r.expect_err("a wrong length must panic");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn wrong_lengths_panic_with_a_message() {
    let s = grid_setup("quickstart", &["grid.cells=[16,12]"]);
    let short = vec![0.1; s.grid.len() - 3];
    let long = vec![0.1; s.grid.len() + 5];
    for rho in [&short, &long] {
        let mut stepper = mfpde::solve::make_stepper(&s);
        let m = panic_message(|| stepper.step(&mut rho.clone(), 0.01));
        assert!(m.contains("length"), "step: {m}");
        let m = panic_message(|| {
            stepper.stable_dt(rho);
        });
        assert!(m.contains("length"), "stable_dt: {m}");
        for kind in [
            DiffusionKind::Spectral,
            DiffusionKind::BackwardEuler,
            DiffusionKind::CrankNicolson,
        ] {
            let mut d = make_diffusion(kind, &s.grid, 0.1);
            let m = panic_message(|| d.advance(&mut rho.clone(), 0.1));
            assert!(m.contains("length"), "{kind:?}: {m}");
        }
        let mut sg = mfpde::scheme::SgStep::new(&s.model, &s.grid);
        let m = panic_message(|| sg.fill_psi(rho));
        assert!(m.contains("length"), "sg: {m}");
        let adv = mfpde::scheme::Advection::new(&s.grid, mfpde::scheme::FluxKind::Upwind);
        let faces = vec![vec![0.0; 17 * 12], vec![0.0; 16 * 13]];
        let m = panic_message(|| adv.rhs_faces(rho, &faces, &mut vec![0.0; s.grid.len()]));
        assert!(!m.is_empty(), "rhs: {m}");
    }
    let o = s.particles.unwrap();
    let mut sw = swarm(
        &s,
        &mfpde::particles::ParticleOptions {
            m: 50,
            store: 50,
            ..o
        },
    );
    let m = panic_message(|| sw.restore(&[0.0; 7], 0, 0));
    assert!(m.contains("θ"), "restore: {m}");
}
