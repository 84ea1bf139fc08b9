//! **A results file's lifecycle**: created whole with its root attributes
//! and grid, marked complete and compacted at the end.

use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, File, FileBuilder};
use std::path::Path;

/// The value of the root attribute `format`.
pub const FORMAT: &str = "mfpde-1";

/// What every results file carries from the start.
#[derive(Debug, Clone)]
pub struct FileHeader<'a> {
    /// The problem TOML the results came from.
    pub problem: &'a str,
    /// The grid's edges per axis, with the axis names.
    pub edges: Vec<Vec<f64>>,
    pub axis_names: &'a [String],
}

/// An I/O error naming its path.
pub fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Create a results file: root attributes (`format`, `version`, `problem`,
/// `status = "running"`, `time_scale`) and `/grid/edges_<k>` with attribute
/// `name`, written whole and renamed into place.
pub fn create_file(path: &Path, header: &FileHeader) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let mut fb = FileBuilder::new();
    fb.set_attr("format", AttrValue::String(FORMAT.into()));
    fb.set_attr(
        "version",
        AttrValue::String(env!("CARGO_PKG_VERSION").into()),
    );
    fb.set_attr("problem", AttrValue::String(header.problem.to_string()));
    fb.set_attr("status", AttrValue::String("running".into()));
    fb.set_attr("time_scale", AttrValue::String("mean-field time t".into()));
    let mut g = fb.create_group("grid");
    for (k, (edges, name)) in header.edges.iter().zip(header.axis_names).enumerate() {
        g.create_dataset(&format!("edges_{k}"))
            .with_f64_data(edges)
            .set_attr("name", AttrValue::String(name.clone()));
    }
    fb.add_group(g.finish());
    let bytes = fb.finish().map_err(|e| Error::Hdf5(e.to_string()))?;
    let tmp = path.with_extension("h5.partial");
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    Ok(())
}

/// Set the root attribute `status` to `complete` (every group is finished),
/// then rewrite the file compactly (the space of the folded snapshot
/// datasets is dropped) through a temporary file and a rename, so the
/// complete file is never half-written.
pub fn mark_complete(path: &Path) -> Result<()> {
    let file = File::open_rw(path)?;
    file.root()
        .set_attr("status", AttrValue::String("complete".into()))?;
    file.commit()?;
    file.close()?;
    let tmp = path.with_extension("h5.partial");
    hdf5_pure::repack(path, &tmp, &hdf5_pure::RepackOptions::new())?;
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
