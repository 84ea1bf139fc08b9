//! **Where a run writes, safely.** A run never writes its target directly:
//!
//! - it claims the target first: a path ending in `.h5`, new or an mfpde
//!   results file already (not a directory, device, link or any other
//!   file), and an exclusive lock on `OUT.h5.lock` beside it (std's
//!   `File::try_lock`), held until the run's last figure is written, so a
//!   second run on the same path stops at once;
//! - it writes `OUT.running.h5` beside the target, and renames it over the
//!   target only when the run is complete: until then an earlier file at the
//!   target is untouched;
//! - a run that fails (an I/O error, a full disk) removes its running file;
//!   a run stopped by a guard (NaN, a collapsing Δt) keeps what it wrote as
//!   `OUT.failed.h5` with `status = "failed"`; a run that is killed leaves
//!   `OUT.running.h5` (readable, `status = "running"`), which the next run on
//!   that target reports instead of overwriting (resume it, or remove it);
//!   one that holds no snapshot yet (killed while starting) is restarted,
//!   with a note, since nothing of it can be lost; one killed after its
//!   running file was complete, before it was moved into place, is moved
//!   into place by the next claim (a resume then has nothing left to do:
//!   [`Target::finished`]).

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
    /// What the claim did that the user should hear of.
    notes: Vec<String>,
    /// The claim found the run finished (its complete running file, moved
    /// into place now): a resume has nothing to do.
    finished: bool,
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
        if path.extension().and_then(|e| e.to_str()) != Some("h5") {
            return Err(Error::problem(
                if resume { "--resume" } else { "-o" },
                path.display(),
                "a results file name ending in .h5 (OUT.h5; its lock is OUT.h5.lock and its interrupted run OUT.running.h5)",
            ));
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    message: "exists and is not a regular file (a directory, device or link): choose another output path".into(),
                })
            }
            Ok(_) => results_file(path)?,
            Err(_) => {}
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
        let mut target = Target {
            path: path.to_path_buf(),
            running: sibling(path, "running"),
            lock_path,
            lock,
            resumed: resume,
            notes: Vec::new(),
            finished: false,
        };
        // from here an error drops the target, and with it the lock file
        match running_file(&target.running)? {
            Leftover::Complete => {
                std::fs::rename(&target.running, &target.path).map_err(|e| {
                    io_err(&target.path, "cannot move the finished run's file into place", e)
                })?;
                target.notes.push(format!(
                    "{} held the finished run, killed before its move into place: moved to {}",
                    target.running.display(),
                    target.path.display()
                ));
                target.finished = resume;
                Ok(target)
            }
            Leftover::None if resume => Err(Error::Io {
                path: target.running.display().to_string(),
                message: "no interrupted run to resume here".into(),
            }),
            Leftover::None => Ok(target),
            Leftover::Empty => {
                std::fs::remove_file(&target.running)
                    .map_err(|e| io_err(&target.running, "cannot remove", e))?;
                target.notes.push(format!(
                    "{} held a run interrupted before its first snapshot: started again",
                    target.running.display()
                ));
                target.resumed = false;
                Ok(target)
            }
            Leftover::Snapshots if resume => Ok(target),
            Leftover::Snapshots => Err(Error::Io {
                path: path.display().to_string(),
                message: format!(
                    "{} holds an interrupted run (status \"running\"): continue it with --resume {}, or remove it",
                    target.running.display(),
                    path.display()
                ),
            }),
        }
    }

    /// Whether the claim found the run to resume finished (and moved it
    /// into place): nothing is left to run.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Whether an interrupted run is continued (false when there was none
    /// with a snapshot to continue: the run starts afresh).
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// What the claim did that the user should hear of (a leftover with no
    /// snapshot, removed).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The user's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file the run writes until it is complete.
    pub fn running(&self) -> &Path {
        &self.running
    }

    /// The run is complete: its file replaces the target. The lock is held
    /// until the target is dropped (after the run's figures are written).
    pub fn commit(&mut self) -> Result<()> {
        std::fs::rename(&self.running, &self.path)
            .map_err(|e| io_err(&self.path, "cannot move the finished file into place", e))
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
            // asked to stop: the running file stays, to be resumed
            Error::Interrupted(_) if self.running.exists() => err.note(&format!(
                "the run so far is in {} (status \"running\"): --resume (resume=True from Python) continues it",
                self.running.display()
            )),
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
        err
    }
}

/// What an existing running file beside a target holds.
enum Leftover {
    None,
    /// An interrupted run with no snapshot in any group.
    Empty,
    /// A finished run's complete file, not yet moved into place.
    Complete,
    Snapshots,
}

/// Refuse an existing target that is not an mfpde results file: a run
/// must not replace a problem file, a data set or anyone's file.
fn results_file(path: &Path) -> Result<()> {
    let format = super::guarded(path, || {
        super::hdf5::Reader::open(path).and_then(|r| r.root_attr("format"))
    });
    match format {
        Ok(f) if f.starts_with("mfpde-") => Ok(()),
        Ok(f) => Err(Error::Io {
            path: path.display().to_string(),
            message: format!("exists and is not an mfpde results file (its format attribute is {f:?}): choose another output path, or remove it"),
        }),
        Err(_) => Err(Error::Io {
            path: path.display().to_string(),
            message: "exists and is not an mfpde results file (not HDF5): choose another output path, or remove it".into(),
        }),
    }
}

/// What the running file at `path` holds, if there is one: refused when it
/// is a link, not a regular file, or not an interrupted mfpde run.
fn running_file(path: &Path) -> Result<Leftover> {
    let refuse = |why: &str| Error::Io {
        path: path.display().to_string(),
        message: format!("{why}: not an interrupted mfpde run; remove it"),
    };
    match std::fs::symlink_metadata(path) {
        Err(_) => return Ok(Leftover::None),
        Ok(m) if m.file_type().is_symlink() => return Err(refuse("is a link")),
        Ok(m) if !m.file_type().is_file() => return Err(refuse("is not a regular file")),
        Ok(_) => {}
    }
    let counts = super::guarded(path, || {
        let r = super::hdf5::Reader::open(path)?;
        let (format, status) = (r.root_attr("format")?, r.root_attr("status")?);
        let mut snapshots = 0;
        for g in ["pde", "particles", "compare"] {
            snapshots += r.series(&format!("{g}/time"))?.len();
        }
        Ok((format, status, snapshots))
    });
    match counts {
        Ok((f, s, _)) if f.starts_with("mfpde-") && s == "complete" => Ok(Leftover::Complete),
        Ok((f, s, n)) if f.starts_with("mfpde-") && s == "running" => Ok(if n == 0 {
            Leftover::Empty
        } else {
            Leftover::Snapshots
        }),
        Ok((f, s, _)) => Err(refuse(&format!("its format is {f:?} and its status {s:?}"))),
        Err(_) => Err(refuse("is not an HDF5 file")),
    }
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
    use crate::io::hdf5::Hdf5Store;
    use crate::io::store::{Dim, Dims, GridAxis, Header, Results, Store, Var, VarSpec};

    fn header() -> Header {
        Header {
            problem: "name = \"t\"".into(),
            data_digest: None,
            dims: Dims {
                grid: vec![GridAxis {
                    name: "a".into(),
                    edges: vec![0.0, 1.0],
                }],
                ..Dims::default()
            },
        }
    }

    /// A running file with `snapshots` PDE snapshots at `path`.
    fn running(path: &Path, snapshots: usize) {
        let mut s = Hdf5Store::create(path, &header()).unwrap();
        s.add_group("pde", &[], &[]).unwrap();
        for k in 0..snapshots {
            let t = VarSpec::new("time", &[Dim::Time], "t");
            s.append("pde", &[Var::scalar(t, k as f64)], None).unwrap();
        }
    }

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.h5");
        let mut t = Target::claim(&out).unwrap();
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("another mfpde run"), "{e}");
        crate::io::hdf5::netcdf::write(t.running(), Results::new(&header())).unwrap();
        t.commit().unwrap();
        // the lock is held until the target is dropped (the figures)
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("another mfpde run"), "{e}");
        drop(t);
        assert!(Target::claim(&out).is_ok());
    }

    #[test]
    fn targets_that_are_not_results_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("d.h5");
        std::fs::create_dir(&folder).unwrap();
        let e = Target::claim(&folder).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let toml = dir.path().join("problem.h5");
        std::fs::write(&toml, b"name = \"x\"\n").unwrap();
        let e = Target::claim(&toml).unwrap_err().to_string();
        assert!(e.contains("not an mfpde results file"), "{e}");
        let e = Target::claim(&dir.path().join("problem.toml")).unwrap_err();
        assert_eq!(e.field(), Some("-o"));
    }

    #[test]
    fn leftover_runs_are_resumed_restarted_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.h5");
        let left = sibling(&out, "running");
        std::fs::write(&left, b"partial").unwrap();
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("not an interrupted mfpde run"), "{e}");
        running(&left, 2);
        let e = Target::claim(&out).unwrap_err().to_string();
        assert!(e.contains("--resume") && e.contains("b.running.h5"), "{e}");
        assert!(Target::claim_resumed(&out).unwrap().resumed());
        // killed before its first snapshot: started again, with a note
        running(&left, 0);
        let t = Target::claim(&out).unwrap();
        assert!(!left.exists() && t.notes()[0].contains("started again"));
        drop(t);
        running(&left, 0);
        assert!(!Target::claim_resumed(&out).unwrap().resumed());
    }

    #[test]
    fn an_abandoned_run_leaves_the_target_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("c.h5");
        crate::io::hdf5::netcdf::write(&out, Results::new(&header())).unwrap();
        let earlier = std::fs::read(&out).unwrap();
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
        assert_eq!(std::fs::read(&out).unwrap(), earlier);
        assert!(!running.exists());
    }
}
