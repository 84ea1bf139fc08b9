//! `steady`: the Gibbs state from three starting points, printed and
//! written to /steady.

use super::{plot, settle};
use crate::compare::l1;
use crate::error::Result;
use crate::initial::{Gaussian, InitialLaw};
use crate::output;
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use crate::steady::{GibbsSolver, Method, Steady, SteadyOptions};
use std::path::Path;
use std::time::Instant;

/// Two starts that reach densities further apart than this (L1) are
/// reported: the Gibbs state is unique (F_η is strictly convex), so they
/// mean the iteration stopped early.
const SAME_STATE: f64 = 1e-6;

/// The three starting densities: ρ0, uniform on the box, and a Gaussian
/// shifted to a corner of the box.
fn starts(setup: &Setup) -> Vec<(&'static str, Vec<f64>)> {
    let g = &setup.grid;
    let uniform = vec![1.0 / (g.len() as f64 * g.cell_volume()); g.len()];
    let shifted = InitialLaw::Gaussian(Gaussian {
        mean: (0..g.dim())
            .map(|k| g.lo[k] + 0.7 * (g.hi[k] - g.lo[k]))
            .collect(),
        std: (0..g.dim()).map(|k| 0.1 * (g.hi[k] - g.lo[k])).collect(),
    })
    .cell_averages(g)
    .0;
    vec![
        ("ρ0", setup.rho0()),
        ("uniform", uniform),
        ("shifted Gaussian", shifted),
    ]
}

/// Solve for the Gibbs state of a problem into `out`.
pub fn run_steady(lp: &LoadedProblem, out: &Path, method: &str) -> Result<()> {
    let setup = Setup::new(lp)?;
    let opts = SteadyOptions {
        method: Method::parse(method)?,
        ..SteadyOptions::default()
    };
    let (model, g) = (&setup.model, &setup.grid);
    let mut solver = GibbsSolver::new(model, g)?;
    let target = crate::io::target::Target::claim(out)?;
    out!(
        "mfpde {} steady: D = {} ({}), {} cells, {} nodes, η = {}, λ = {}; {} method",
        setup.name,
        g.dim(),
        g.names.join(", "),
        g.len(),
        model.quad.len(),
        model.noise,
        model.weight_decay,
        method
    );
    if model.weight_decay == 0.0 {
        out!("note: λ = 0, so only the box confines the Gibbs state: it depends on grid.lo and grid.hi");
    }
    out!(
        "{:>18} {:>6} {:>15} {:>11} {:>14} {:>9}",
        "start",
        "iters",
        "free_energy",
        "gap",
        "stationarity",
        "time"
    );
    let mut found: Vec<(&str, Steady)> = Vec::new();
    for (name, rho) in starts(&setup) {
        let clock = Instant::now();
        let r0 = solver.residual_of(&rho);
        let st = solver.solve(&r0, &opts);
        out!(
            "{name:>18} {:>6} {:>15.10e} {:>11.2e} {:>14.2e} {:>8.2}s",
            st.iterations,
            st.free_energy,
            st.gap,
            st.stationarity,
            clock.elapsed().as_secs_f64()
        );
        found.push((name, st));
    }
    let first = &found[0].1;
    let mut spread: f64 = 0.0;
    for (name, st) in &found[1..] {
        let d = l1(g, &first.rho, &st.rho, 0.0);
        spread = spread.max(d);
        if d > SAME_STATE {
            eprintln!(
                "warning: the start from {name} reached a density at L1 distance {d:.2e} from the one from ρ0 (the Gibbs state is unique: raise the iterations or lower the tolerance)"
            );
        }
    }
    out!(
        "Gibbs state: F = {:.10e}, R = {:.6e}, stationarity residual {:.2e} (spread of log ρ + 2Ψ/η over the support), starts agree to L1 {spread:.1e}",
        first.free_energy,
        first.risk,
        first.stationarity
    );
    let written = output::write_steady(target.running(), &setup, first, &opts, spread);
    settle(target, written)?;
    out!("wrote {}", out.display());
    plot(out)
}
