//! Slabs, the seam of a run split across processes: a stepper over slabs
//! of one grid (halo rows filled from the neighbours), run in one process,
//! gives the serial run's density to round-off.
//!
//! Tolerance: the slabs compute every cell with the serial arithmetic but
//! for the order of the sums of the first moments (per slab, then across
//! slabs) and the local grid's coordinates (lo + i h from the slab's own
//! lower face); each is a few ulp, ε ≈ 2.2e-16 relative, of a quantity of
//! the density's size, per step. A stable, positive, mass-conserving step
//! carries earlier perturbations forward without growth, so after n steps
//! the difference is at most about n × (a few tens of operations per cell)
//! × ε × max ρ: 20 × 50 × 2.2e-16 ≈ 2e-13 of max ρ. The bound asserted is
//! 1e-12 of max ρ; a halo not refilled shows as 1e-4 and more (checked).

mod common;
use common::*;
use mfpde::density::Density;
use mfpde::grid::Slab;
use mfpde::scheme::slabs::SlabSg;
use mfpde::scheme::{SlabStepper, Stepper};

/// The serial run and the slab run of `steps` steps (the serial Δt), and
/// the largest difference of their densities relative to max ρ.
fn slabs_against_serial(name: &str, sets: &[&str], parts: usize, halo: usize, steps: usize) -> f64 {
    slabs_against(name, sets, parts, Some(halo), steps)
}

/// [`slabs_against_serial`] with `halo` rows, or (None) with each Strang
/// step's trailing half diffusion deferred into the next step on both
/// sides (the serial controller's way; Δt then from V of the density once
/// the owed diffusion is paid) and the halo [`SlabStepper::halo`] gives
/// for it; the debt settled at the end.
fn slabs_against(
    name: &str,
    sets: &[&str],
    parts: usize,
    halo: Option<usize>,
    steps: usize,
) -> f64 {
    let s = grid_setup(name, sets);
    let mut serial = Stepper::new(&s.model, &s.grid, &s.scheme);
    let mut rho = s.rho0();
    let deferred = halo.is_none();
    let halo = halo.unwrap_or_else(|| SlabStepper::halo(&s.model, &s.grid, &s.scheme, true));
    let mut slabs = Density::split(&s.grid, &rho, parts, halo);
    let geometry: Vec<Slab> = slabs.iter().map(|d| d.slab.clone()).collect();
    let mut stepper = SlabStepper::new(&s.model, &geometry, &s.scheme).unwrap();
    if deferred {
        assert!(serial.defer_diffusion(true) && stepper.defer_diffusion());
    }
    for k in 0..steps {
        if deferred && k == steps / 2 {
            // a settled copy is the flushed density, and leaves the slabs owing
            let before = slabs.clone();
            let copy = Density::gather(&stepper.settled(&slabs));
            let mut owed = rho.clone();
            serial.apply_owed(&mut owed);
            let top = owed.iter().cloned().fold(0.0, f64::max);
            let diff = owed
                .iter()
                .zip(&copy)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(diff <= 1e-12 * top, "{name}: settled copy {diff:e}");
            assert_eq!(slabs, before, "{name}: the slabs still owe");
        }
        let dt = serial.stable_dt(&rho);
        // the slabs' stable Δt: the same largest rate, over every interior
        let dt_slabs = stepper.stable_dt(&slabs);
        assert!(
            (dt - dt_slabs).abs() <= 1e-12 * dt,
            "{name}: Δt {dt} vs {dt_slabs}"
        );
        serial.step(&mut rho, dt);
        stepper.step(&mut slabs, dt);
    }
    if deferred {
        serial.flush(&mut rho);
        stepper.flush(&mut slabs);
    }
    differs(name, &s.grid, &rho, &slabs)
}

/// The slabs' density against the serial `rho`: the same mass (to
/// round-off), positive (to round-off), and their largest difference
/// relative to max ρ.
fn differs(name: &str, grid: &mfpde::grid::Grid, rho: &[f64], slabs: &[Density]) -> f64 {
    let got = Density::gather(slabs);
    let top = rho.iter().cloned().fold(0.0, f64::max);
    let vol = grid.cell_volume();
    let (m_serial, m_slabs) = (rho.iter().sum::<f64>() * vol, got.iter().sum::<f64>() * vol);
    assert!(
        (m_serial - m_slabs).abs() < 1e-13,
        "{name}: mass {m_serial} vs {m_slabs}"
    );
    assert!(got.iter().all(|&v| v >= -1e-14 * top), "{name}: positivity");
    rho.iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / top
}

#[test]
fn two_slabs_step_as_the_whole_grid_in_2d_and_3d() {
    // quickstart (η = 0.02): the heat kernel along a reaches a few rows
    let d2 = slabs_against_serial("quickstart", &["grid.cells=[48,40]"], 2, 6, 20);
    assert!(d2 < 1e-12, "2-D: {d2:e}");
    // bias3d (a, w1, w2), η = 0.05, λ = 0.01
    let d3 = slabs_against_serial("bias3d", &["grid.cells=[20,16,18]"], 2, 6, 20);
    assert!(d3 < 1e-12, "3-D: {d3:e}");
    // three slabs, one of them with neighbours on both sides
    let d3 = slabs_against_serial("bias3d", &["grid.cells=[24,16,18]"], 3, 6, 20);
    assert!(d3 < 1e-12, "3-D, three slabs: {d3:e}");
    eprintln!("largest difference relative to max ρ: 2-D {d2:.1e}, 3-D {d3:.1e}");
}

/// With the serial controller's deferred diffusion on both sides (one
/// merged diffusion per step, Δt from the density once paid): the same
/// bound, in 2-D and 3-D, 2 and 3 slabs.
#[test]
fn slabs_deferring_their_half_diffusion_step_as_the_whole_grid() {
    let d2 = slabs_against("quickstart", &["grid.cells=[48,40]"], 2, None, 20);
    assert!(d2 < 1e-12, "2-D: {d2:e}");
    let d3 = slabs_against("bias3d", &["grid.cells=[36,16,18]"], 3, None, 20);
    assert!(d3 < 1e-12, "3-D, three slabs: {d3:e}");
    eprintln!("deferred: largest difference relative to max ρ: 2-D {d2:.1e}, 3-D {d3:.1e}");
}

#[test]
fn a_slab_whose_halo_is_not_refilled_departs_from_the_serial_run() {
    // the same run, but the slabs never see their neighbours' updates: the
    // cells beside the cut drift from the serial ones, far beyond round-off
    let s = grid_setup("quickstart", &["grid.cells=[48,40]"]);
    let mut serial = Stepper::new(&s.model, &s.grid, &s.scheme);
    let mut rho = s.rho0();
    let slabs = Density::split(&s.grid, &rho, 2, 6);
    let geometry: Vec<Slab> = slabs.iter().map(|d| d.slab.clone()).collect();
    // each slab stepped alone: its held rows as a grid of their own, walls
    // at the cut
    let mut alone: Vec<(SlabStepper, Vec<Density>)> = slabs
        .into_iter()
        .map(|d| {
            let own = Slab::whole(&d.slab.local);
            let st = SlabStepper::new(&s.model, std::slice::from_ref(&own), &s.scheme).unwrap();
            (st, vec![Density::whole(&own.local, d.values)])
        })
        .collect();
    for _ in 0..20 {
        let dt = serial.stable_dt(&rho);
        serial.step(&mut rho, dt);
        for (st, d) in &mut alone {
            st.step(d, dt);
        }
    }
    let mut got = Vec::new();
    for ((_, d), g) in alone.iter().zip(&geometry) {
        got.extend_from_slice(&d[0].values[g.interior_cells()]);
    }
    let top = rho.iter().cloned().fold(0.0, f64::max);
    let diff = rho
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / top;
    assert!(diff > 1e-6, "{diff:e}");
}

/// Slabs whose heat kernel along a reaches beyond their halo of 2 rows
/// (Δt_max = 500: the halo planned for it is the advection's), and slabs of
/// a stretched a axis (diffused by its planned heat flow, never a
/// kernel): the diffusion along a goes on pencils of whole lines, and the
/// result is the serial run's within the same bound (a line's heat flow is
/// the serial one on the same values).
#[test]
fn slabs_diffuse_along_a_on_pencils_of_whole_lines() {
    let d2 = slabs_against(
        "quickstart",
        &["grid.cells=[48,40]", "solver.dt_max=500"],
        3,
        None,
        20,
    );
    assert!(d2 < 1e-12, "2-D, Δt_max = 500: {d2:e}");
    let d3 = slabs_against(
        "bias3d",
        &[
            "grid.cells=[24,16,18]",
            "grid.map.a={kind=\"sinh\", centre=0.0, width=1.0}",
        ],
        2,
        None,
        20,
    );
    assert!(d3 < 1e-12, "3-D, stretched a: {d3:e}");
    eprintln!("pencils: largest difference relative to max ρ: 2-D {d2:.1e}, 3-D {d3:.1e}");
}

/// The sg scheme over `parts` slabs (no halo) against the whole grid's sg
/// step, `steps` steps of Δt_max: the largest difference relative to max ρ,
/// and the slabs' halvings against the serial ones.
fn sg_slabs_against(name: &str, sets: &[&str], parts: usize, steps: usize) -> f64 {
    let mut sets = sets.to_vec();
    sets.push("solver.scheme=\"sg\"");
    let s = grid_setup(name, &sets);
    let mut serial = Stepper::new(&s.model, &s.grid, &s.scheme);
    let mut rho = s.rho0();
    let mut slabs = Density::split(&s.grid, &rho, parts, 0);
    let geometry: Vec<Slab> = slabs.iter().map(|d| d.slab.clone()).collect();
    let mut stepper = SlabSg::new(&s.model, &geometry, s.scheme.dt_max, None);
    for _ in 0..steps {
        let dt = serial.stable_dt(&rho);
        assert_eq!(dt, stepper.stable_dt(), "{name}: Δt");
        serial.step(&mut rho, dt);
        stepper.step(&mut slabs, dt);
    }
    differs(name, &s.grid, &rho, &slabs)
}

/// sg over slabs: Ψ from the summed moments, the lines along a solved on
/// pencils, the w axes in the slabs, F_η's halvings decided on sums over
/// the slabs. One slab is the serial step to the bit; 2 and 3 slabs in 2-D
/// (gibbs, η = 0.5, Δt = 0.5) and 3-D (bias3d) are within the bound of the
/// module's head (the implicit step is a Markov operator: an L1
/// contraction, so the sums' ulps do not grow).
#[test]
fn sg_over_slabs_steps_as_the_whole_grid() {
    let one = sg_slabs_against("gibbs", &["grid.cells=[40,48]"], 1, 20);
    assert_eq!(one, 0.0, "one slab: the serial bits");
    let d2 = sg_slabs_against("gibbs", &["grid.cells=[40,48]"], 3, 20);
    assert!(d2 < 1e-12, "2-D: {d2:e}");
    let d3 = sg_slabs_against(
        "bias3d",
        &["grid.cells=[20,16,18]", "solver.dt_max=0.05"],
        2,
        20,
    );
    assert!(d3 < 1e-12, "3-D: {d3:e}");
    eprintln!("sg: largest difference relative to max ρ: 2-D {d2:.1e}, 3-D {d3:.1e}");
}

/// Birth–death over slabs (its Ψ from the summed moments, its sums of Φ̄
/// and of the mass added over the slabs between its stages): the split
/// scheme on 3 slabs deferring its half diffusion, and sg on 1 (the serial
/// bits) and 3 slabs, within the bound of the module's head.
#[test]
fn slabs_take_birth_death_as_the_whole_grid() {
    let split = slabs_against(
        "quickstart",
        &["grid.cells=[48,40]", "dynamics.birth_death=1"],
        3,
        None,
        20,
    );
    assert!(split < 1e-12, "split: {split:e}");
    let sets = ["grid.cells=[40,48]", "dynamics.birth_death=1"];
    assert_eq!(sg_slabs_against("gibbs", &sets, 1, 20), 0.0, "sg, one slab");
    let sg = sg_slabs_against("gibbs", &sets, 3, 20);
    assert!(sg < 1e-12, "sg: {sg:e}");
    eprintln!("birth–death over slabs: largest difference relative to max ρ: split {split:.1e}, sg {sg:.1e}");
}
