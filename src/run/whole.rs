//! **Finishing a file**: moving a claimed target's file into place (or
//! abandoning it), and results made in memory written whole (a
//! convergence study's among them).

use crate::error::Result;
use crate::io::store::{MemoryStore, Results, Store, Var};
use crate::io::target::Target;
use crate::setup::Setup;
use std::path::Path;

/// Move a claimed target's file into place when `result` is Ok (and draw
/// its figures, `plots`, before the lock goes), else abandon it (the
/// target is left as it was).
pub fn settle<T>(
    mut target: Target,
    result: Result<T>,
    plots: bool,
) -> Result<(T, Option<Vec<std::path::PathBuf>>)> {
    match result {
        Ok(v) => {
            target.commit()?;
            let drawn = match plots {
                true => Some(crate::io::plot::plot_file(target.path())?),
                false => None,
            };
            drop(target);
            Ok((v, drawn))
        }
        Err(e) => Err(target.abandon(e)),
    }
}

/// Write results made in memory to `out` whole (claimed first, so a
/// second run on the same path stops at once; `make` runs after the
/// claim), and draw its figures when `plots`.
pub fn write_to_file<T>(
    out: &Path,
    plots: bool,
    make: impl FnOnce() -> Result<(T, Results)>,
) -> Result<(T, Vec<std::path::PathBuf>)> {
    let target = Target::claim(out)?;
    let result = make().and_then(|(v, results)| {
        crate::io::hdf5::netcdf::write(target.running(), results)?;
        Ok(v)
    });
    let (v, drawn) = settle(target, result, plots)?;
    Ok((v, drawn.unwrap_or_default()))
}

/// The results of a convergence study, on the problem and its finest grid
/// (`fine`): `/converge`, its dimensions `metric`, `m` and `cells`.
pub fn converge_results(fine: &Setup, c: &crate::converge::Converged) -> Result<Results> {
    let mut h = super::header(fine);
    h.dims.metrics = c.metrics.clone();
    h.dims.m = c.ms.len();
    h.dims.resolutions = c.cells.len();
    h.dims.seeds = c.seeds;
    let mut store = MemoryStore::new(&h);
    let columns = c.columns();
    let vars: Vec<Var> = columns.iter().map(|(s, v)| Var::array(*s, v)).collect();
    store.add_whole("converge", &c.attrs(), &vars)?;
    store.complete()?;
    Ok(store.into_results())
}
