//! `steady`: the Gibbs state from three starting points, printed. The
//! solve is [`crate::run::steady`].

use super::RunOptions;
use crate::error::Result;
use crate::problem::LoadedProblem;
use crate::run::steady::steady_to_file;
use crate::run::Listener;
use crate::setup::Setup;
use crate::steady::{Method, Steady, SteadyOptions};
use std::path::Path;

/// Prints a line per start, and the iterations as they go.
struct Starts {
    progress: crate::cli::progress::Progress,
}

impl Listener for Starts {
    fn iteration(&mut self, name: &str, k: usize, residual: f64) {
        self.progress.note(&format!(
            "start {name}: iteration {k}, residual {residual:.3e}"
        ));
    }

    fn start(&mut self, name: &str, st: &Steady, seconds: f64) {
        out!(
            "{name:>18} {:>6} {:>15.10e} {:>11.2e} {:>14.2e} {:>8.2}s  {}",
            st.iterations,
            st.point_free_energy(),
            st.gap,
            st.stationarity,
            seconds,
            st.stop.name()
        );
    }
}

/// Solve for the Gibbs state of a problem into `out`.
pub fn run_steady(
    lp: &LoadedProblem,
    out: &Path,
    (method, tol): (&str, f64),
    ropts: RunOptions,
) -> Result<()> {
    let plots = ropts.plots;
    let method = Method::parse(method)?;
    if !(tol > 0.0 && tol < 1.0) {
        return Err(crate::Error::problem(
            "--tol",
            tol,
            "a relative tolerance in (0, 1), e.g. 1e-12",
        ));
    }
    let setup = Setup::new(lp)?;
    let (model, g) = (&setup.model, &setup.grid);
    crate::steady::GibbsSolver::check(model)?;
    out!(
        "mfpde {} steady: D = {} ({}), {} cells, {} nodes, η = {}, λ = {}; {} method",
        setup.name,
        g.dim(),
        g.names.join(", "),
        g.len(),
        model.quad.len(),
        model.noise,
        model.weight_decay,
        method.name()
    );
    if model.weight_decay == 0.0 {
        out!("note: λ = 0, so only the box confines the Gibbs state: it depends on grid.lo and grid.hi");
    }
    out!(
        "{:>18} {:>6} {:>15} {:>11} {:>14} {:>9}  stop",
        "start",
        "iters",
        "free_energy",
        "gap",
        "stationarity",
        "time"
    );
    let mut listener = Starts {
        progress: crate::cli::progress::Progress::new(1.0, ropts.quiet),
    };
    let opts = SteadyOptions {
        method,
        tol,
        ..SteadyOptions::default()
    };
    let (found, plots) = steady_to_file(&setup, opts, out, plots, &mut listener)?;
    drop(listener);
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    let first = found.state();
    out!(
        "Gibbs state: F = {:.10e}, R = {:.6e} (of the point values ρ*_i, as stored), stationarity residual {:.2e} (spread of log ρ + 2Ψ/η over the support), starts agree to L1 {:.1e}",
        first.point_free_energy(),
        first.point_risk(),
        first.stationarity,
        found.spread
    );
    out!("wrote {}", out.display());
    super::wrote(&plots);
    Ok(())
}
