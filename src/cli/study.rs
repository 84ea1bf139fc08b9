//! `converge` (rates in m and h, as a table, a file and a plot) and `check`.

use crate::error::Result;
use crate::problem::LoadedProblem;
use std::path::Path;
use std::time::Instant;

/// The convergence study, its table, file and plot.
pub fn run_converge(
    lp: &LoadedProblem,
    ms: &[usize],
    seeds: usize,
    cells: &[usize],
    out: &Path,
    ropts: super::RunOptions,
) -> Result<()> {
    let study = crate::run::study::Study {
        ms: ms.to_vec(),
        seeds,
        cells: cells.to_vec(),
    };
    study.prepare(lp, Some(out), ropts.force)?;
    let start = Instant::now();
    // each line says how long its own run took, then the study so far
    let mut progress = |s: &str| out!("  {s} (total {:.1} s)", start.elapsed().as_secs_f64());
    // claimed before the study, so a second study on the same path stops at once
    let (c, plots) = crate::run::write_to_file(out, ropts.plots, || study.run(lp, &mut progress))?;
    out!(
        "\ndistances at t_end against m (PDE on {}^D cells; mean ± s.e. over {seeds} seeds):",
        cells[cells.len() - 1]
    );
    out_inline!("{:>12}", "metric");
    for m in ms {
        out_inline!(" {:>19}", format!("m = {m}"));
    }
    out!(
        " {:>20} {:>10} {:>10}",
        "slope (points)",
        "floor from",
        "grid gap"
    );
    for (k, name) in c.metrics.iter().enumerate() {
        out_inline!("{name:>12}");
        for i in 0..ms.len() {
            out_inline!(
                " {:>19}",
                format!("{:.3e} ± {:.1e}", c.vs_m[k][i], c.vs_m_se[k][i])
            );
        }
        let floor = c.floor_m[k].map_or("none".to_string(), |m| format!("m = {m}"));
        let gap = if c.grid_gap[k].is_nan() {
            "—".to_string()
        } else {
            format!("{:.3e}", c.grid_gap[k])
        };
        let f = c.fit_m[k];
        out!(
            " {:>20} {floor:>10} {gap:>10}",
            format!("{:.3} ± {:.3} ({})", f.slope, f.stderr, f.points)
        );
    }
    out!("\nagainst h (particles at m = {}):", ms[ms.len() - 1]);
    out_inline!("{:>12}", "metric");
    for (n, h) in cells.iter().zip(&c.h) {
        out_inline!(" {:>19}", format!("{n} (h={h:.3})"));
    }
    out!(" {:>16}", "slope in h");
    for (k, name) in c.metrics.iter().enumerate() {
        out_inline!("{name:>12}");
        for j in 0..cells.len() {
            out_inline!(" {:>19.3e}", c.vs_h[k][j]);
        }
        out!(
            " {:>16}",
            format!("{:.3} ± {:.3}", c.fit_h[k].slope, c.fit_h[k].stderr)
        );
    }
    out!("expected: W1, SW2, f gap ∝ m^-1/2 and the risk gap ∝ 1/m until the grid's floor; a floor means the PDE grid, not m, limits the agreement");
    out!("slope against m: fitted over the m before the floor (all m when fewer than two)");
    if cells.len() > 1 {
        out!(
            "grid gap: the same distance between the PDE on {}^D and {}^D cells, the size of the grid's own error; distances against m level off near it",
            cells[cells.len() - 2],
            cells[cells.len() - 1]
        );
    }
    out!("wrote {}", out.display());
    super::wrote(&plots);
    Ok(())
}

/// Validate and print the derived sizes of a problem.
pub fn check(lp: &LoadedProblem, force: bool, ranks: Option<usize>) -> Result<()> {
    let f = crate::run::check::check(lp, force)?;
    if ranks == Some(0) {
        return Err(crate::Error::problem("--ranks", 0, "1 or more ranks"));
    }
    // the network's split needs [particles]; the grid's is said or refused
    let load = match (ranks, &lp.problem.particles) {
        (Some(n), Some(_)) => Some((n, crate::run::check::rank_load(lp, n)?)),
        _ => None,
    };
    let slabs = ranks.map(|n| (n, crate::run::check::pde_rank_load(lp, n)));
    for w in &f.warnings {
        eprintln!("warning: {w}");
    }
    out!("problem {}: valid", f.name);
    let cells: usize = f.cells.iter().product();
    match &f.reduction {
        Some(red) => {
            out!(
                "  reduction     x in R^{}, target through U^T x (k = {}), rho0 invariant: the law of (a, p, r), p = U^T w, r = |w_perp| (docs/model.md §6)",
                red.dim,
                red.k
            );
            out!(
                "  phase space   D = {} ({}) for {} network parameters per neuron",
                f.axes.len(),
                f.axes.join(", "),
                red.parameters
            );
            out!("  cells         {cells} = {:?}", f.cells);
            out!(
                "  quadrature    {} nodes of (U^T x, |x_perp|), cosine rule of {} nodes (n = {}), Ito drift (eta/2)(n - 1)/r = {:.4e}/r",
                f.nodes,
                red.cosine_nodes,
                red.n,
                red.ito
            );
        }
        None => {
            out!(
                "  phase space   D = {} ({})",
                f.axes.len(),
                f.axes.join(", ")
            );
            out!("  cells         {cells} = {:?}", f.cells);
            out!("  quadrature    {} nodes (d_x = {})", f.nodes, f.dim_x);
        }
    }
    for s in &f.stretched {
        out!("  stretched     {s}");
    }
    out!(
        "  w points      {} centres, {} faces",
        f.w_centres,
        f.w_faces
    );
    out!(
        "  memory        {:.1} MiB (grids, tables, snapshots{})",
        f.memory_bytes / 1048576.0,
        if f.particles.is_some() {
            ", particles"
        } else {
            ""
        }
    );
    out!(
        "  disk          {:.1} MiB (the results file)",
        f.disk_bytes / 1048576.0
    );
    out!(
        "  first dt      {:.4e} (cfl {}; about {:.0} steps to t_end at this Δt)",
        f.first_dt,
        f.cfl,
        f.steps
    );
    out!("  snapshots     {}", f.snapshots);
    out!("  rho0 in box   {:.6}", f.box_mass);
    out!("  boundary mass {:.3e}", f.boundary_mass);
    out!("  risk at t=0   {:.6e}", f.risk0);
    if let Some(p) = &f.particles {
        out!(
            "  particles     m = {}, dt = {}, {} mode, {} steps, positions {:.1} MiB",
            p.m,
            p.dt,
            p.mode,
            p.steps,
            p.positions_bytes / 1048576.0,
        );
        out!("  particle risk {}", p.risk);
        out!("  particle step {}", p.step);
    }
    if let Some((n, l)) = load {
        let mib = |b: f64| b / 1048576.0;
        out!(
            "  over {n} ranks the network (mpirun -n {n} mfpde particles): rank 0 holds {:.1} MiB (it gathers every neuron at a snapshot), each other rank {:.1} MiB; a rank sends {:.1} KiB per step and {:.1} MiB per snapshot",
            mib(l.root),
            mib(l.other),
            l.step_sent / 1024.0,
            mib(l.snapshot_sent)
        );
    }
    if let Some((n, l)) = slabs {
        let mib = |b: f64| b / 1048576.0;
        match l {
            Ok(l) => out!(
                "  over {n} ranks the PDE (mpirun -n {n} mfpde pde): slabs of at most {} rows of a with halos of {} rows{}; rank 0 holds {:.1} MiB (one slab more: the others' slabs come to it one at a time; with --theorems, whose report gathers the whole grid, {:.1} MiB), each other rank {:.1} MiB; a rank sends {:.1} KiB per step and {:.1} MiB per snapshot (mfpde run solves the PDE on rank 0 alone)",
                l.rows,
                l.halo,
                if l.pencils { ", lines along a on pencils of whole columns (an all-to-all each way)" } else { "" },
                mib(l.root),
                mib(l.root_whole),
                mib(l.other),
                l.step_sent / 1024.0,
                mib(l.snapshot_sent)
            ),
            Err(e) => out!("  over {n} ranks the PDE is not split: {e}"),
        }
    }
    Ok(())
}
