//! **Running a study's points** on this machine, `jobs` at a time, the
//! cores divided between them. Each point is a run of its own into its own
//! crash-safe file: a complete file of the same problem is kept (skipped),
//! an interrupted one (`pNNNNN.running.h5`) is resumed, a missing one is
//! run; a point whose run fails is recorded with its error and the others
//! go on.

use super::measure::Kind;
use super::study::{Point, Study};
use crate::error::{Error, Result};
use crate::io::hdf5::read::Reader;
use crate::io::target::sibling;
use crate::problem::LoadedProblem;
use crate::run::{self, Options, Silent};
use crate::setup::Setup;
use crate::steady::{GibbsSolver, SteadyOptions};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How a point went.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Its complete file was there already.
    Kept,
    /// Run now (fresh, or `resumed` from its running file).
    Ran { resumed: bool },
    /// Its run failed: the error.
    Failed(String),
}

/// A point and how it went.
#[derive(Debug, Clone)]
pub struct Done {
    pub index: usize,
    pub status: Status,
    pub seconds: f64,
}

/// The point's problem (the base, the study's `set`, the point's overrides).
///
/// # Errors
/// What the problem refuses.
pub fn problem(study: &Study, p: &Point) -> Result<LoadedProblem> {
    LoadedProblem::from_str(&study.base.toml, &p.overrides, &study.base.base_dir)
}

/// Whether `file` is complete, and of `lp` (a complete file of another
/// problem is refused: the study changed under its points).
fn kept(file: &Path, lp: &LoadedProblem) -> Result<bool> {
    if !file.exists() {
        return Ok(false);
    }
    let r = Reader::open(file)?;
    if r.root_attr("status")? != "complete" {
        return Ok(false);
    }
    if r.root_attr("problem")? != lp.toml {
        return Err(Error::Io {
            path: file.display().to_string(),
            message: "is a complete run of another problem than this point's (the study changed): remove the points' folder, or write the study elsewhere".into(),
        });
    }
    Ok(true)
}

/// `pNNNNN.error.txt` beside a point's file: the error of its last run.
pub fn error_file(file: &Path) -> std::path::PathBuf {
    file.with_extension("error.txt")
}

/// How each point stands on disk, without running any: complete (and of
/// its problem), or failed (its `pNNNNN.error.txt`).
///
/// # Errors
/// Points neither complete nor failed (not run, or interrupted), named.
pub fn found(study: &Study, dir: &Path) -> Result<Vec<Done>> {
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for p in study.points() {
        let file = Study::point_file(dir, &p);
        let status = if kept(&file, &problem(study, &p)?)? {
            Status::Kept
        } else if let Ok(e) = std::fs::read_to_string(error_file(&file)) {
            Status::Failed(e)
        } else {
            missing.push(format!("p{:05} ({})", p.index, p.label));
            continue;
        };
        done.push(Done {
            index: p.index,
            status,
            seconds: 0.0,
        });
    }
    match missing.is_empty() {
        true => Ok(done),
        false => Err(Error::Run(format!(
            "{} of {} points are not finished in {}: {}{} (run their tasks, or the sweep, again)",
            missing.len(),
            study.points().len(),
            dir.display(),
            missing[..missing.len().min(5)].join(", "),
            if missing.len() > 5 { ", …" } else { "" }
        ))),
    }
}

/// Run one point into `file` (`threads` of the pool it runs in).
fn run_point(study: &Study, p: &Point, file: &Path) -> Result<Status> {
    let lp = problem(study, p)?;
    if kept(file, &lp)? {
        return Ok(Status::Kept);
    }
    let resumed = sibling(file, "running").exists();
    let setup = Setup::new(&lp)?;
    match study.kind {
        Kind::Run(command) => {
            let opts = Options {
                command,
                theorems: study.theorems(),
                plots: false,
            };
            run::run_to_file(&setup, opts, file, resumed, &mut Silent)?;
        }
        Kind::Steady => {
            GibbsSolver::check(&setup.model)?;
            run::steady::steady_to_file(
                &setup,
                SteadyOptions::default(),
                file,
                false,
                &mut Silent,
            )?;
        }
    }
    Ok(Status::Ran { resumed })
}

/// Run the points `which` of `study` into `dir`, `jobs` at once, each on
/// `threads / jobs` threads (at least 1; `threads` 0: every core);
/// `tell` hears each point as it ends. The result is in point order.
///
/// # Errors
/// The points' folder cannot be made. A point's own failure is its
/// [`Status::Failed`], not an error.
pub fn run_points(
    study: &Study,
    which: &[Point],
    dir: &Path,
    jobs: usize,
    threads: usize,
    tell: &(dyn Fn(&Point, &Done) + Sync),
) -> Result<Vec<Done>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        message: format!("cannot make the points' folder: {e}"),
    })?;
    let cores = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let jobs = jobs.clamp(1, which.len().max(1));
    let each = (cores / jobs).max(1);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Done>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(each).build();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = which.get(i) else { break };
                    let file = Study::point_file(dir, p);
                    let clock = Instant::now();
                    let status = match &pool {
                        Ok(pool) => pool.install(|| run_point(study, p, &file)),
                        Err(e) => Err(Error::Run(format!("cannot start {each} threads: {e}"))),
                    }
                    .unwrap_or_else(|e| Status::Failed(e.to_string()));
                    // the error beside the point's file, for a later
                    // `--collect` (gone once the point succeeds)
                    let note = error_file(&file);
                    match &status {
                        Status::Failed(e) => {
                            let _ = std::fs::write(&note, e);
                        }
                        _ => {
                            let _ = std::fs::remove_file(&note);
                        }
                    }
                    let d = Done {
                        index: p.index,
                        status,
                        seconds: clock.elapsed().as_secs_f64(),
                    };
                    tell(p, &d);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push(d);
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|d| d.index);
    Ok(done)
}
