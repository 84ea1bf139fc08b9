//! `steady`: the Gibbs state from three starting points, printed. The
//! solve is [`crate::run::steady`].

use crate::error::Result;
use crate::problem::LoadedProblem;
use crate::run::steady::{steady_to_file, SAME_STATE};
use crate::run::Listener;
use crate::setup::Setup;
use crate::steady::{Method, Steady};
use std::path::Path;

/// Prints a line per start.
struct Starts;

impl Listener for Starts {
    fn start(&mut self, name: &str, st: &Steady, seconds: f64) {
        out!(
            "{name:>18} {:>6} {:>15.10e} {:>11.2e} {:>14.2e} {:>8.2}s",
            st.iterations,
            st.free_energy,
            st.gap,
            st.stationarity,
            seconds
        );
    }
}

/// Solve for the Gibbs state of a problem into `out`.
pub fn run_steady(lp: &LoadedProblem, out: &Path, method: &str) -> Result<()> {
    let setup = Setup::new(lp)?;
    let method = Method::parse(method)?;
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
        "{:>18} {:>6} {:>15} {:>11} {:>14} {:>9}",
        "start",
        "iters",
        "free_energy",
        "gap",
        "stationarity",
        "time"
    );
    let (found, plots) = steady_to_file(&setup, method, out, true, &mut Starts)?;
    for s in &found.starts[1..] {
        if s.l1_to_first > SAME_STATE {
            eprintln!(
                "warning: the start from {} reached a density at L1 distance {:.2e} from the one from ρ0 (the Gibbs state is unique: raise the iterations or lower the tolerance)",
                s.name, s.l1_to_first
            );
        }
    }
    let first = found.state();
    out!(
        "Gibbs state: F = {:.10e}, R = {:.6e}, stationarity residual {:.2e} (spread of log ρ + 2Ψ/η over the support), starts agree to L1 {:.1e}",
        first.free_energy,
        first.risk,
        first.stationarity,
        found.spread
    );
    out!("wrote {}", out.display());
    super::wrote(&plots);
    Ok(())
}
