//! **Where a run writes, safely.** A run never writes its target directly:
//!
//! - it claims the target first: a new path or a regular file (not a
//!   directory, device or link), and an exclusive lock on `OUT.h5.lock`
//!   beside it (std's `File::try_lock`), so a second run on the same path
//!   stops at once;
//! - it writes `OUT.running.h5` beside the target, and renames it over the
//!   target only when the run is complete: until then an earlier file at the
//!   target is untouched;
//! - a run that fails (an I/O error, a full disk) removes its running file;
//!   a run stopped by a guard (NaN, a collapsing Δt) keeps what it wrote as
//!   `OUT.failed.h5` with `status = "failed"`; a run that is killed leaves
//!   `OUT.running.h5` (readable, `status = "running"`), which the next run on
//!   that target reports instead of overwriting (resume it, or remove it).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// A claimed output path.
#[derive(Debug)]
pub struct Target {
    path: PathBuf,
    running: PathBuf,
    lock_path: PathBuf,
    lock: File,
    /// Continuing an interrupted run: its file is never removed.
    resumed: bool,
}

/// `dir/stem.<tag>.h5` beside `path` (`stem` without the `.h5`).
pub fn sibling(path: &Path, tag: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.{tag}.h5"))
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    }
}

/// True when `file` is still the one at `path` (not unlinked or replaced).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl Target {
    /// Claim `path` for a new run.
    ///
    /// # Errors
    /// When `path` is not a regular file or a new path, another run holds
    /// its lock, or an interrupted run's `OUT.running.h5` is still there.
    pub fn claim(path: &Path) -> Result<Self> {
        Self::claim_with(path, false)
    }

    /// Claim `path` to continue the interrupted run in its running file.
    pub fn claim_resumed(path: &Path) -> Result<Self> {
        Self::claim_with(path, true)
    }

    fn claim_with(path: &Path, resume: bool) -> Result<Self> {
        if path.as_os_str().is_empty() || path.file_name().is_none() {
            return Err(Error::Io {
                path: path.display().to_string(),
                message: "not a file path".into(),
            });
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    message: "exists and is not a regular file (a directory, device or link): choose another output path".into(),
                })
            }
            _ => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create the folder", e))?;
        }
        let lock_path = path.with_file_name(format!(
            "{}.lock",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, "cannot open the lock file", e))?;
        match lock.try_lock() {
            // a finished run removes the lock file after unlocking it; if
            // this file was unlinked meanwhile, the lock guards nothing
            Ok(()) if !same_file(&lock, &lock_path) => return Self::claim_with(path, resume),
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    message: format!(
                        "another mfpde run is writing it (it holds {}); wait for it or choose another output path",
                        lock_path.display()
                    ),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&lock_path, "cannot lock", e)),
        }
        let target = Target {
            path: path.to_path_buf(),
            running: sibling(path, "running"),
            lock_path,
            lock,
            resumed: resume,
        };
        // from here an error drops the target, and with it the lock file
        if !resume && target.running.exists() {
            return Err(Error::Io {
                path: path.display().to_string(),
                message: format!(
                    "{} holds an interrupted run (status \"running\"): continue it with --resume {}, or remove it",
                    target.running.display(),
                    path.display()
                ),
            });
        }
        if resume && !target.running.exists() {
            return Err(Error::Io {
                path: target.running.display().to_string(),
                message: "no interrupted run to resume here".into(),
            });
        }
        Ok(target)
    }

    /// The user's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file the run writes until it is complete.
    pub fn running(&self) -> &Path {
        &self.running
    }

    /// The run is complete: its file replaces the target.
    pub fn commit(self) -> Result<()> {
        std::fs::rename(&self.running, &self.path)
            .map_err(|e| io_err(&self.path, "cannot move the finished file into place", e))?;
        self.release();
        Ok(())
    }

    /// The run failed with `err`: a stopped run (a guard) keeps its file as
    /// `OUT.failed.h5`; any other failure removes it, unless it is an
    /// interrupted run being resumed (its snapshots stay, to resume again).
    /// The target is left as it was. Returns the error naming the user's
    /// paths.
    pub fn abandon(self, err: Error) -> Error {
        let err = err.renamed(&self.running, &self.path);
        let err = match &err {
            Error::Run(reason) if self.running.exists() => {
                let _ = super::hdf5::mark_failed(&self.running, reason);
                let failed = sibling(&self.path, "failed");
                match std::fs::rename(&self.running, &failed) {
                    Ok(()) => err.note(&format!(
                        "the snapshots written so far are in {} (status \"failed\")",
                        failed.display()
                    )),
                    Err(_) => err,
                }
            }
            _ if self.resumed => err.note(&format!(
                "the interrupted run is still in {}",
                self.running.display()
            )),
            _ => {
                let _ = std::fs::remove_file(&self.running);
                err
            }
        };
        // temporaries of the HDF5 writer beside the running file
        let _ = std::fs::remove_file(self.running.with_extension("h5.partial"));
        self.release();
        err
    }

    /// Remove the lock file (the lock itself goes with the file handle).
    fn release(self) {}
}

impl Drop for Target {
    /// Whatever ends the run (commit, abandon, an error before either, a
    /// panic), the lock file goes; a killed process leaves it, unlocked.
    fn drop(&mut self) {
        if same_file(&self.lock, &self.lock_path) {
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.h5");
        let t = Target::claim(&out).unwrap();
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("another mfpde run"), "{e}");
        std::fs::write(t.running(), b"x").unwrap();
        t.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"x");
        assert!(Target::claim(&out).is_ok());
    }

    #[test]
    fn directories_and_leftover_runs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = Target::claim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let out = dir.path().join("b.h5");
        std::fs::write(sibling(&out, "running"), b"partial").unwrap();
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("--resume") && e.contains("b.running.h5"), "{e}");
        assert!(Target::claim_resumed(&out).is_ok());
    }

    #[test]
    fn an_abandoned_run_leaves_the_target_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("c.h5");
        std::fs::write(&out, b"earlier").unwrap();
        let t = Target::claim(&out).unwrap();
        std::fs::write(t.running(), b"half").unwrap();
        let running = t.running().to_path_buf();
        let e = t.abandon(Error::Io {
            path: running.display().to_string(),
            message: "disk full".into(),
        });
        assert!(
            e.to_string().contains("c.h5") && !e.to_string().contains("running"),
            "{e}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"earlier");
        assert!(!running.exists());
    }
}
