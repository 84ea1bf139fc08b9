//! **A running file's life cycle**: created whole with its root attributes
//! and grid, marked failed when a guard stops its run. (A complete file is
//! written whole by [`super::netcdf`].)

use crate::error::{Error, Result};
use crate::io::store::{Attr, Header, Results};
use hdf5_pure::{AttrValue, File, FileBuilder};
use std::path::Path;

/// An I/O error naming its path.
pub fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Create a running file: the root attributes of [`Results::new`]
/// (`format`, `version`, `problem`, `status = "running"`, `time_scale`) and
/// `/grid/edges_<k>` with attribute `name`, written whole and renamed into
/// place.
pub fn create_file(path: &Path, header: &Header) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let mut fb = FileBuilder::new();
    for (name, value) in Results::new(header).attrs {
        if let Attr::Str(s) = value {
            fb.set_attr(&name, AttrValue::String(s));
        }
    }
    let mut g = fb.create_group("grid");
    for (k, axis) in header.dims.grid.iter().enumerate() {
        g.create_dataset(&format!("edges_{k}"))
            .with_f64_data(&axis.edges)
            .set_attr("name", AttrValue::String(axis.name.clone()));
    }
    fb.add_group(g.finish());
    let bytes = fb.finish().map_err(|e| Error::Hdf5(e.to_string()))?;
    let tmp = path.with_extension("h5.partial");
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    Ok(())
}

/// Set the root attribute `status` to `failed`, with the reason in the root
/// attribute `failure` (the snapshots written so far stay readable).
pub fn mark_failed(path: &Path, reason: &str) -> Result<()> {
    let file = File::open_rw(path)?;
    let root = file.root();
    root.set_attr("status", AttrValue::String("failed".into()))?;
    root.set_attr("failure", AttrValue::String(reason.into()))?;
    file.commit()?;
    file.close()?;
    Ok(())
}
