//! **Finishing a file**: moving a claimed target's file into place (or
//! abandoning it), and results made in memory written whole.

use crate::error::Result;
use crate::io::store::Results;
use crate::io::target::Target;
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
