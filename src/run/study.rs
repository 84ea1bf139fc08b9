//! **A convergence study as a run** (`mfpde converge`, `mfpde.converge`
//! from Python): its arguments checked, its budget, and its results.

use crate::converge::Converged;
use crate::error::{Error, Result};
use crate::io::store::Results;
use crate::problem::LoadedProblem;
use crate::setup::Setup;
use std::path::Path;

/// What a study is asked: the numbers of neurons, the seeds per m, and the
/// resolutions (cells on every axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    pub ms: Vec<usize>,
    pub seeds: usize,
    pub cells: Vec<usize>,
}

impl Study {
    /// Refuse what cannot be a study, naming the argument (`--m`, `--seeds`,
    /// `--cells`: the CLI's; `m`, `seeds`, `cells` from Python).
    ///
    /// # Errors
    /// The first argument out of its range.
    pub fn check(&self) -> Result<()> {
        let (ms, cells) = (&self.ms, &self.cells);
        let check = |field: &str, ok: bool, v: String, allowed: &str| match ok {
            true => Ok(()),
            false => Err(Error::problem(field, v, allowed)),
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
            self.seeds >= 2,
            self.seeds.to_string(),
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
        )
    }

    /// Check the study, its budget (its largest runs: the finest grid, the
    /// most neurons; against `out`'s disk when given, unless `force`) and
    /// the problem's network.
    ///
    /// # Errors
    /// What [`Study::check`], the budget or the problem refuse.
    pub fn prepare(&self, lp: &LoadedProblem, out: Option<&Path>, force: bool) -> Result<()> {
        self.check()?;
        let est = crate::budget::converge_estimate(lp, &self.ms, &self.cells)?;
        crate::budget::check(&est, out, force)?;
        Setup::new(lp)?.particle_options()?;
        Ok(())
    }

    /// Run the study (`progress` told of each run as it finishes): the
    /// numbers and the results (`/converge`, on the finest grid).
    ///
    /// # Errors
    /// What a run of it meets.
    pub fn run(
        &self,
        lp: &LoadedProblem,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(Converged, Results)> {
        let finest = self.cells[self.cells.len() - 1];
        let list = vec![finest.to_string(); lp.problem.grid.cells.len()].join(",");
        let fine = Setup::new(&LoadedProblem::from_str(
            &lp.toml,
            &[format!("grid.cells=[{list}]")],
            &lp.base_dir,
        )?)?;
        let c = crate::converge::converge(lp, &self.ms, self.seeds, &self.cells, progress)?;
        let results = super::converge_results(&fine, &c)?;
        Ok((c, results))
    }
}
