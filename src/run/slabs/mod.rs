//! **The grid PDE split over ranks** (`mpirun -n N mfpde pde`): the grid
//! is cut into slabs of rows of a (axis 0), one per rank, each held with
//! the halo rows its sub-steps read ([`SlabStepper::halo`]); every rank
//! steps its slab: the split scheme by [`SlabStepper::on`] (the moments'
//! shares all-gathered and added in rank order, halos swapped with the
//! neighbours, Δt the largest rate of any rank, a diffusion along a wider
//! than the halo on pencils of whole lines by an all-to-all), sg by
//! [`SlabSg`] (no halo; its lines along a on the pencils). History rows
//! are sums over the slabs, and so are a snapshot's diagnostics; its
//! density goes to rank 0's observers one slab at a time, each written as
//! it comes ([`parts`]), unless an observer needs it whole (the
//! theorems' report): then rank 0 gathers the interiors and takes the
//! diagnostics with the serial code. Either way the file is the serial
//! run's layout.
//!
//! The steps are the in-process slabs' to the bit (N ranks, N slabs),
//! and with Strang's trailing half diffusion deferred into the next step
//! as the serial controller's (Δt from the density once it is paid). On
//! one rank they are the serial run's bits; on more they differ by the
//! order of the moments' sums and the slabs' own coordinates, a few ulp of
//! ρ per step (`tests/slabs.rs`, `tests/ranks.rs`).

mod parts;
mod start;

use crate::density::Density;
use crate::diagnostics;
use crate::error::{Error, Result};
use crate::grid::Slab;
use crate::ranks::Shared;
use crate::scheme::slabs::{self, SlabSg, ADVECTION_HALO};
use crate::scheme::{SchemeKind, SlabStepper};
use crate::setup::Setup;
use crate::solve::{self, HistoryRecord, Observer, RunState, RunSummary};
use crate::velocity::Velocity;
use start::Origin;
use std::path::Path;

/// The slabs of `setup`'s grid over `size` ranks, one each: with the
/// halo the split scheme's sub-steps read ([`SlabStepper::halo`]), none
/// for sg.
///
/// # Errors
/// What the slabs cannot step (an implicit diffusion, a frozen a), and
/// more ranks than slabs of a halo's depth or than columns of the pencils,
/// by name.
pub fn plan(setup: &Setup, size: usize) -> Result<Vec<Slab>> {
    let grid = &setup.grid;
    let (model, opts) = (&setup.model, &setup.scheme);
    let halo = match opts.kind {
        SchemeKind::Sg => {
            slabs::sg_refusal(model, grid)?;
            0
        }
        SchemeKind::Split => {
            // the refusals that need no slab first: they say why
            SlabStepper::refusal(model, &[Slab::whole(grid)], opts)?;
            SlabStepper::halo(model, grid, opts, true)
        }
    };
    let (n0, nw) = (grid.n[0], grid.len() / grid.n[0]);
    let most = (n0 / halo.max(1)).min(nw).max(1);
    if size > most {
        return Err(Error::problem(
            "mpirun -n",
            size,
            format!(
                "at most {most} ranks for `pde` on this grid: its {n0} rows of a in slabs of at least {} rows (the halo the sub-steps read), and its {nw} w points in pencils of at least one",
                halo.max(1)
            ),
        ));
    }
    let slabs = Slab::split(grid, size, halo);
    if opts.kind == SchemeKind::Split {
        SlabStepper::refusal(model, &slabs, opts)?;
    }
    Ok(slabs)
}

/// The step over the slabs: the split scheme's or sg's.
enum Steps {
    Split(Box<SlabStepper>),
    Sg(Box<SlabSg>),
}

impl Steps {
    fn stable_dt(&mut self, slabs: &[Density]) -> f64 {
        match self {
            Steps::Split(s) => s.stable_dt(slabs),
            Steps::Sg(s) => s.stable_dt(),
        }
    }

    fn step(&mut self, slabs: &mut [Density], dt: f64) {
        match self {
            Steps::Split(s) => s.step(slabs, dt),
            Steps::Sg(s) => s.step(slabs, dt),
        }
    }

    /// The slabs with any diffusion owed applied (copies).
    fn settled(&mut self, slabs: &[Density]) -> Vec<Density> {
        match self {
            Steps::Split(s) => s.settled(slabs),
            Steps::Sg(_) => slabs.to_vec(),
        }
    }

    fn flush(&mut self, slabs: &mut [Density]) {
        if let Steps::Split(s) = self {
            s.flush(slabs);
        }
    }

    fn f_nodes_of(&mut self, slabs: &[Density]) -> &[f64] {
        match self {
            Steps::Split(s) => s.f_nodes_of(slabs),
            Steps::Sg(s) => s.f_nodes_of(slabs),
        }
    }

    /// f_h at `points` of the density of the last [`Steps::f_nodes_of`].
    fn f_at_points(&mut self, points: &[Vec<f64>]) -> Vec<f64> {
        match self {
            Steps::Split(s) => s.f_at_points(points),
            Steps::Sg(s) => s.f_at_points(points),
        }
    }
}

/// The PDE alone from `state`: split over `ranks` when given (this is rank
/// 0; the others [`solve_on`] with no state), else in this process.
///
/// # Errors
/// Those of [`solve_on`] and [`solve::solve_from`].
pub(super) fn solve_pde(
    setup: &Setup,
    state: RunState,
    file: Option<&Path>,
    observers: &mut [&mut dyn Observer],
    ranks: Option<&Shared>,
) -> Result<RunSummary> {
    match ranks {
        Some(r) => {
            let summary = solve_on(setup, r, Some((state, file)), observers)?;
            Ok(summary.expect("rank 0's summary"))
        }
        None => {
            let mut stepper = solve::make_stepper(setup);
            solve::solve_from(setup, &mut stepper, state, observers)
        }
    }
}

/// The lengths of the slabs' interiors and of their held rows.
fn lengths(slabs: &[Slab]) -> (Vec<usize>, Vec<usize>) {
    let inner = slabs.iter().map(|s| s.interior_cells().len()).collect();
    let held = slabs.iter().map(|s| s.local.len()).collect();
    (inner, held)
}

/// Solve the PDE of `setup` over `ranks`, every rank at once: rank 0 from
/// `state` (ignored elsewhere: a state whose ρ is empty is ρ0 at t = 0,
/// built slab by slab, or with the running file's path its snapshot there,
/// read slab by slab) and with the `observers` (the others pass
/// none); its summary on rank 0 (with the whole final ρ when the observers
/// took the snapshots whole, else none), None elsewhere.
///
/// # Errors
/// Those of [`solve::solve_from`] (Δt below the floor, too many steps, a
/// density fault: the same on every rank), what [`plan`] refuses, and an
/// observer's on rank 0 (the caller then stops every rank).
pub fn solve_on(
    setup: &Setup,
    ranks: &Shared,
    state: Option<(RunState, Option<&Path>)>,
    observers: &mut [&mut dyn Observer],
) -> Result<Option<RunSummary>> {
    // on a thread of rayon's pool, as the serial loop (its parallel loops
    // then start on it rather than being handed over and waited for)
    rayon::scope(|_| slab_loop(setup, ranks, state, observers))
}

fn slab_loop(
    setup: &Setup,
    ranks: &Shared,
    state: Option<(RunState, Option<&Path>)>,
    observers: &mut [&mut dyn Observer],
) -> Result<Option<RunSummary>> {
    let (state, file) = match state {
        Some((st, file)) => (Some(st), file),
        None => (None, None),
    };
    let geometry = plan(setup, ranks.size())?;
    let (grid, r) = (&setup.grid, ranks.rank());
    let root = r == 0;
    let (inner, held) = lengths(&geometry);
    // the snapshots' density goes to rank 0's observers in parts (once to
    // each) when they all take it so; else it is gathered whole
    let passes = match observers.iter().all(|o| o.takes_parts()) {
        true => observers.len(),
        false => 0,
    };
    let mut head = [0u64; 5];
    if let (true, Some(st)) = (root, &state) {
        head = [
            st.t.to_bits(),
            st.steps as u64,
            st.next_snapshot as u64,
            passes as u64,
            Origin::of(Some(st), file) as u64,
        ];
    }
    ranks.broadcast(&mut head);
    let (mut t, mut steps) = (f64::from_bits(head[0]), head[1] as usize);
    let next_snapshot = head[2] as usize;
    let passes = head[3] as usize;
    let origin = Origin::from_number(head[4]);
    // each rank's held rows of ρ: ρ0 built by each rank from the law, or
    // sent by rank 0 one rank at a time (from a state it holds whole, or
    // read from the running file slab by slab)
    let values = start::first_slab(setup, ranks, &geometry, origin, state.as_ref(), file)?;
    drop(state);
    assert_eq!(values.len(), held[r], "a slab's held rows");
    let mut mine = vec![Density {
        slab: geometry[r].clone(),
        values,
    }];
    let mut stepper = match setup.scheme.kind {
        SchemeKind::Sg => Steps::Sg(Box::new(SlabSg::new(
            &setup.model,
            &geometry,
            setup.scheme.dt_max,
            Some(ranks.clone()),
        ))),
        SchemeKind::Split => {
            let mut s = SlabStepper::on(&setup.model, &geometry, &setup.scheme, ranks.clone())?;
            // each Strang step's trailing half diffusion merged into the
            // next step's leading half, as the serial controller does; a
            // history row looks at a settled copy, a snapshot settles the
            // debt
            s.defer_diffusion();
            Steps::Split(Box::new(s))
        }
    };
    // this slab's interior rows of the whole grid; every rank's history sums
    let s = &geometry[r];
    let rows = grid.rows(s.start..s.end);
    let reduced = setup.model.reduction.is_some();
    let (fours, mut all_sums) = (vec![4; ranks.size()], vec![0.0; 4 * ranks.size()]);
    // rank 0's whole grid, gathered for snapshots when its observers take
    // no parts
    let whole_on_root = root && passes == 0;
    let mut whole = vec![0.0; if whole_on_root { grid.len() } else { 0 }];
    let mut vel = whole_on_root.then(|| Velocity::new(&setup.model, grid));
    let gather = |mine: &[Density], whole: &mut [f64]| {
        ranks.gather(mine[0].interior(), &inner, whole);
    };
    let stop = |what: String, t: f64, steps: usize| {
        Error::Run(format!("at t = {t}, step {steps}: {what}"))
    };
    let (threes, mut all) = (vec![3; ranks.size()], vec![0.0; 3 * ranks.size()]);
    let mut fault = |mine: &[Density]| {
        let (bad, lo, hi) = solve::density_extremes(mine[0].interior());
        ranks.all_gather(&[bad as f64, lo, hi], &threes, &mut all);
        let e = all
            .chunks_exact(3)
            .fold((0, f64::INFINITY, f64::NEG_INFINITY), |e, c| {
                (e.0 + c[0] as usize, e.1.min(c[1]), e.2.max(c[2]))
            });
        solve::fault_of(e, false)
    };
    if let Some(why) = fault(&mine) {
        return Err(stop(why, t, steps));
    }
    let dt0 = stepper.stable_dt(&mine);
    if let Some(why) = solve::projection_fault(setup, dt0, t, steps) {
        return Err(stop(why, t, steps));
    }
    let (mut first_dt, mut last_dt) = (f64::NAN, 0.0);
    let mut last = diagnostics::Diagnostics::default();
    let mut max_boundary: f64 = 0.0;
    let times = &setup.snapshot_times;
    for &ts in &times[next_snapshot.min(times.len())..] {
        while t < ts {
            let dt = stepper.stable_dt(&mine);
            if let Some(why) = solve::step_fault(setup, dt, steps) {
                return Err(stop(why, t, steps));
            }
            let (dt, lands) = solve::towards(dt, t, ts);
            stepper.step(&mut mine, dt);
            t = if lands { ts } else { t + dt };
            steps += 1;
            last_dt = dt;
            if first_dt.is_nan() {
                first_dt = dt;
            }
            if let Some(why) = fault(&mine) {
                return Err(stop(why, t, steps));
            }
            for o in observers.iter_mut() {
                o.step(t, dt, &[])?;
            }
            if steps.is_multiple_of(setup.scheme.history_every) && t < ts {
                // the energies as sums over the slabs (of a settled copy)
                let copies = stepper.settled(&mine);
                let local = diagnostics::history_sums(&rows, copies[0].interior(), reduced);
                ranks.all_gather(&local, &fours, &mut all_sums);
                let mut sums = [0.0; 4];
                for part in all_sums.chunks_exact(4) {
                    for (s, p) in sums.iter_mut().zip(part) {
                        *s += p;
                    }
                }
                let f_nodes = stepper.f_nodes_of(&copies);
                let (risk, _, free_energy) = diagnostics::energies_of(&setup.model, f_nodes, &sums);
                let rec = HistoryRecord {
                    time: t,
                    risk,
                    free_energy,
                    mass: sums[0],
                    dt,
                };
                for o in observers.iter_mut() {
                    o.history(&rec)?;
                }
            }
        }
        stepper.flush(&mut mine);
        let at = solve::Reached { t, steps, last_dt };
        if passes > 0 {
            let f_nodes = stepper.f_nodes_of(&mine).to_vec();
            let split = parts::Split {
                ranks,
                geometry: &geometry,
                f_nodes: &f_nodes,
                f_values: stepper.f_at_points(&setup.f_points),
                mine: &mine[0],
            };
            last = parts::snapshot(setup, split, at, passes, &mut max_boundary, observers)?;
            continue;
        }
        gather(&mine, &mut whole);
        let Some(vel) = vel.as_mut() else { continue };
        last = solve::snapshot(setup, at, vel, &whole, &mut max_boundary, observers)?;
    }
    if next_snapshot >= times.len() && passes == 0 {
        // nothing left to run (a finished run resumed): ρ as it was sent;
        // otherwise the last snapshot's gather is the final ρ
        gather(&mine, &mut whole);
    }
    for o in observers.iter_mut() {
        o.finish()?;
    }
    Ok(root.then_some(RunSummary {
        steps,
        first_dt,
        last,
        rho: whole,
        max_boundary_mass: max_boundary,
    }))
}

/// What each rank of the grid PDE holds and sends when it is split over
/// `n` ranks (`mfpde check --ranks N`), in bytes.
#[derive(Debug, Clone, Copy)]
pub struct SlabLoad {
    /// Halo rows each side, and the most rows of a a rank steps.
    pub halo: usize,
    pub rows: usize,
    /// Whether lines along a are solved on pencils of whole lines (sg, or
    /// a diffusion along a wider than any halo).
    pub pencils: bool,
    /// The rank with the most rows: its slab's per-cell arrays (the split
    /// scheme: ρ, Heun's stage and increments, the D face velocities, the
    /// rates, as the serial step's 8 + D per cell, and 2 more with pencils;
    /// sg: ρ, its start, Ψ, and the pencils' ρ, Ψ and buffer) and the σ
    /// tables, whole on every rank.
    pub other: f64,
    /// Rank 0: that, and one slab's held rows more (8 B × cells of a slab):
    /// the other ranks' slabs come to it one at a time at a snapshot (the
    /// diagnostics from their sums), and on resuming it reads the slabs
    /// from the running file one at a time (ρ0 each rank builds itself).
    pub root: f64,
    /// Rank 0 when an observer needs the whole density (`--theorems`'
    /// report): that, and the whole ρ it gathers at every snapshot with
    /// the whole grid's velocity (8 B × cells × (2 + D)).
    pub root_whole: f64,
    /// Sent per step by a rank between two others: to each neighbour the
    /// rows the next sub-step reads (2 for each of the advection's two
    /// stages, the kernel's half-width for the step's one diffusion,
    /// counted at Δt_max), its moments at each velocity evaluation, and on
    /// pencils its interior less its own block, out and back (sg: ρ and Ψ
    /// out, ρ back, per step not halved).
    pub step_sent: f64,
    /// Sent by it to rank 0 per snapshot (its interior).
    pub snapshot_sent: f64,
}

/// [`SlabLoad`] of `setup` over `n` ranks; `tables` are the bytes of the
/// σ tables and other per-run buffers that every rank holds whole.
///
/// # Errors
/// What [`plan`] refuses.
pub fn slab_load(setup: &Setup, n: usize, tables: f64) -> Result<SlabLoad> {
    let slabs = plan(setup, n)?;
    let g = &setup.grid;
    let (row, d) = (slabs[0].row_len() as f64, g.dim() as f64);
    let held = slabs.iter().map(|s| s.local.n[0]).max().unwrap_or(0) as f64;
    let rows = slabs.iter().map(|s| s.end - s.start).max().unwrap_or(0);
    let halo = slabs
        .iter()
        .map(|s| s.below.max(s.above))
        .max()
        .unwrap_or(0);
    let sg = setup.scheme.kind == SchemeKind::Sg;
    let pencils = n > 1 && (sg || SlabStepper::along_a_on_pencils(&setup.model, g, &setup.scheme));
    // a rank's interior less its own block of columns, in bytes
    let away = 8.0 * rows as f64 * row * (n - 1) as f64 / n as f64;
    let neighbours = (n.min(3) - 1) as f64;
    let (arrays, step_sent) = if sg {
        // three moments' gathers (F before and after, Ψ), three transposes
        (6.0, 3.0 * 8.0 * row + 3.0 * away)
    } else {
        // two advection stages, and one diffusion (Strang's halves merged)
        // of at most Δt_max: by the halo's kernel or on the pencils
        let rows_read = 2.0 * ADVECTION_HALO as f64 + if pencils { 0.0 } else { halo as f64 };
        let transposes = if pencils { 2.0 * away } else { 0.0 };
        let extra = if pencils { 2.0 } else { 0.0 };
        (
            8.0 + d + extra,
            neighbours * 8.0 * rows_read * row + 3.0 * 8.0 * row + transposes,
        )
    };
    let other = 8.0 * held * row * arrays + 8.0 * row * n as f64 + tables;
    Ok(SlabLoad {
        halo,
        rows,
        pencils,
        other,
        root: other + 8.0 * held * row,
        root_whole: other + 8.0 * g.len() as f64 * (2.0 + d),
        step_sent,
        snapshot_sent: 8.0 * rows as f64 * row,
    })
}
