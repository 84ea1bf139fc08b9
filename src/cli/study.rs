//! `converge` (rates in m and h, as a table, a file and a plot) and `check`.

use crate::diagnostics;
use crate::error::Result;
use crate::particles;
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::solve;
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
    let check = |field: &str, ok: bool, v: String, allowed: &str| {
        if ok {
            Ok(())
        } else {
            Err(crate::Error::problem(field, v, allowed))
        }
    };
    check(
        "--m",
        !ms.is_empty()
            && ms.windows(2).all(|w| w[0] < w[1])
            && ms[0] >= 2
            && ms[ms.len() - 1] <= 100_000_000,
        format!("{ms:?}"),
        "increasing numbers of neurons from 2 to 10⁸",
    )?;
    check(
        "--seeds",
        seeds >= 2,
        seeds.to_string(),
        "at least 2 seeds (for standard errors)",
    )?;
    check(
        "--cells",
        !cells.is_empty()
            && cells.windows(2).all(|w| w[0] < w[1])
            && cells[0] >= 4
            && cells[cells.len() - 1] <= 1 << 14,
        format!("{cells:?}"),
        "increasing cell counts from 4 to 16384",
    )?;
    // the budget of its largest runs: the finest grid, the most neurons
    let est = crate::budget::converge_estimate(lp, ms, cells)?;
    crate::budget::check(&est, Some(out), ropts.force)?;
    Setup::new(lp)?.particle_options()?;
    let start = Instant::now();
    // each line says how long its own run took, then the study so far
    let mut progress = |s: &str| out!("  {s} (total {:.1} s)", start.elapsed().as_secs_f64());
    let list = vec![cells[cells.len() - 1].to_string(); lp.problem.grid.cells.len()].join(",");
    let fine = Setup::new(&LoadedProblem::from_str(
        &lp.toml,
        &[format!("grid.cells=[{list}]")],
        &lp.base_dir,
    )?)?;
    // claimed before the study, so a second study on the same path stops at once
    let (c, plots) = crate::run::write_to_file(out, ropts.plots, || {
        let c = crate::converge::converge(lp, ms, seeds, cells, &mut progress)?;
        let results = crate::run::converge_results(&fine, &c)?;
        Ok((c, results))
    })?;
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
pub fn check(lp: &LoadedProblem) -> Result<()> {
    let setup = Setup::new(lp)?;
    let g = &setup.grid;
    let q = setup.model.quad.len();
    let wax = setup.model.net.w_axis();
    let nw: usize = g.n[wax..].iter().product();
    let nwf: usize = (wax..g.dim()).map(|ax| nw / g.n[ax] * (g.n[ax] + 1)).sum();
    let est = crate::budget::Sizes::of(lp).estimate(setup.particles.is_some());
    let rho0 = setup.rho0();
    let mut stepper = solve::make_stepper(&setup);
    let dt = stepper.stable_dt(&rho0);
    // what the controller refuses before its first step
    if let Some(why) = solve::projection_fault(&setup, dt, 0.0, 0) {
        return Err(crate::Error::Run(format!(
            "it would stop at its first step: {why}"
        )));
    }
    let steps = setup.t_end / dt;
    super::runs::target_scale(&setup);
    let d0 = diagnostics::compute(0.0, g, stepper.velocity(), &rho0, &[]);
    out!("problem {}: valid", setup.name);
    match &setup.model.reduction {
        Some(red) => {
            let (d, k) = (red.sizes.dim, red.sizes.k);
            out!(
                "  reduction     x in R^{d}, target through U^T x (k = {k}), rho0 invariant: the law of (a, p, r), p = U^T w, r = |w_perp| (docs/model.md §6)"
            );
            out!(
                "  phase space   D = {} ({}) for {} network parameters per neuron",
                g.dim(),
                g.names.join(", "),
                d + setup.model.net.w_axis()
            );
            out!("  cells         {} = {:?}", g.len(), g.n);
            out!(
                "  quadrature    {q} nodes of (U^T x, |x_perp|), cosine rule of {} nodes (n = {}), Ito drift (eta/2)(n - 1)/r = {:.4e}/r",
                red.cosine.len(),
                red.sizes.n(),
                setup.model.ito()
            );
        }
        None => {
            out!("  phase space   D = {} ({})", g.dim(), g.names.join(", "));
            out!("  cells         {} = {:?}", g.len(), g.n);
            out!(
                "  quadrature    {} nodes (d_x = {})",
                q,
                setup.model.net.dim_x
            );
        }
    }
    out!("  w points      {nw} centres, {nwf} faces");
    out!(
        "  memory        {:.1} MiB (grids, tables, snapshots{})",
        est.memory / 1048576.0,
        if setup.particles.is_some() {
            ", particles"
        } else {
            ""
        }
    );
    out!(
        "  disk          {:.1} MiB (the results file)",
        est.disk / 1048576.0
    );
    out!(
        "  first dt      {dt:.4e} (cfl {}; about {:.0} steps to t_end at this Δt)",
        setup.scheme.cfl,
        steps.ceil()
    );
    out!("  snapshots     {}", setup.snapshot_times.len());
    out!("  rho0 in box   {:.6}", setup.box_mass);
    out!("  boundary mass {:.3e}", d0.boundary_mass);
    out!("  risk at t=0   {:.6e}", d0.risk);
    if let Some(o) = setup.particles {
        let k = o.nodes_per_step(q);
        out!(
            "  particles     m = {}, dt = {}, {} mode, {} steps, positions {:.1} MiB",
            o.m,
            o.dt,
            o.mode.name(),
            (setup.t_end / o.dt).ceil(),
            8.0 * (o.m * g.dim()) as f64 / 1048576.0,
        );
        out!(
            "  particle risk {}",
            particles::risk_method(&setup.model).describe()
        );
        if let Some(red) = &setup.model.reduction {
            let (m, d) = (o.m as f64, red.sizes.dim as f64);
            let how = match o.mode {
                particles::Mode::Sgd { batch } => format!(
                    "B = {batch} fresh samples in R^{}, O(m B d) = {:.1e} flops",
                    red.sizes.dim,
                    4.0 * m * batch as f64 * d
                ),
                _ => format!(
                    "the exact population gradient through kappa, O(m^2 d) = {:.1e} flops",
                    4.0 * m * m * d
                ),
            };
            out!(
                "  particle step neurons in R^{} seen through their reduced coordinates; {how}",
                red.sizes.dim
            );
            return Ok(());
        }
        let pairs = particles::folded_pairs(&setup.model, &o);
        out!(
            "  particle step {k} nodes{}, {} loops",
            if pairs > 0 {
                format!(" ({pairs} pairs ±x folded)")
            } else {
                String::new()
            },
            particles::kernel::Simd::detect().name()
        );
    }
    Ok(())
}
