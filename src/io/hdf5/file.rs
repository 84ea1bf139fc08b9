//! **A running file's life cycle**: created whole with its root attributes
//! and grid, marked failed when a guard stops its run. (A complete file is
//! written whole by [`super::netcdf`].)

use crate::error::{Error, Result};
use crate::io::store::{Attr, Header, Results};
use hdf5_pure::{AttrValue, File, FileBuilder};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long [`open_rw`] waits for another holder of the file's lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

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

/// Open a file to edit in place, waiting up to [`LOCK_WAIT`] for its lock.
///
/// hdf5-pure takes an exclusive `flock`, which belongs to the open file
/// description: a child process forked by another thread (a test, or
/// `mfpde sweep --jobs`) shares it until its `exec` closes the descriptor,
/// so a file this process has just closed can read as locked for a moment.
/// A lock still held after [`LOCK_WAIT`] is reported as hdf5-pure words it.
pub fn open_rw(path: &Path) -> Result<File> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match File::open_rw(path) {
            Err(hdf5_pure::Error::FileLocked(_)) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return Ok(other?),
        }
    }
}

/// Set the root attribute `status` to `failed`, with the reason in the root
/// attribute `failure` (the snapshots written so far stay readable).
pub fn mark_failed(path: &Path, reason: &str) -> Result<()> {
    let file = open_rw(path)?;
    let root = file.root();
    root.set_attr("status", AttrValue::String("failed".into()))?;
    root.set_attr("failure", AttrValue::String(reason.into()))?;
    file.commit()?;
    file.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small file, and a handle holding its lock on an open file
    /// description of its own.
    fn locked_file(dir: &Path) -> (std::path::PathBuf, std::fs::File) {
        let path = dir.join("f.h5");
        let mut fb = FileBuilder::new();
        fb.set_attr("status", AttrValue::String("running".into()));
        std::fs::write(&path, fb.finish().unwrap()).unwrap();
        let holder = std::fs::File::open(&path).unwrap();
        holder.try_lock().unwrap();
        (path, holder)
    }

    /// A lock held on another open file description (as a forked child
    /// holds one until its exec) and released within [`LOCK_WAIT`] is
    /// waited for, where hdf5-pure's own open refuses at once.
    #[test]
    fn a_lock_released_meanwhile_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let (path, holder) = locked_file(dir.path());
        assert!(matches!(
            File::open_rw(&path),
            Err(hdf5_pure::Error::FileLocked(_))
        ));
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(holder);
        });
        let file = open_rw(&path).expect("the lock was released within LOCK_WAIT");
        file.root()
            .set_attr("status", AttrValue::String("failed".into()))
            .unwrap();
        file.commit().unwrap();
        file.close().unwrap();
        release.join().unwrap();
        mark_failed(&path, "tested").unwrap();
    }

    /// A lock held throughout is still reported, after [`LOCK_WAIT`].
    #[test]
    fn a_lock_held_throughout_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (path, holder) = locked_file(dir.path());
        let start = Instant::now();
        let err = mark_failed(&path, "tested").unwrap_err().to_string();
        assert!(start.elapsed() >= LOCK_WAIT, "gave up before LOCK_WAIT");
        assert!(err.contains("locked"), "{err}");
        drop(holder);
    }
}
