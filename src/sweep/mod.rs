//! **Studies**: a family of runs as one labelled result (`mfpde sweep`).
//!
//! A study file (TOML, `grids/studies/`) names a base problem, overrides
//! for every point (`set`), axes of overrides (each a key and its values,
//! combined as a product or zipped), seeds, the command each point runs
//! and what to measure of it ([`measure`]). Each point is a run of its own
//! into its own crash-safe file (`OUT.points/pNNNNN.h5`): a rerun skips
//! the finished points and resumes the interrupted ones, and a point that
//! fails is recorded with its error while the others go on ([`local`]).
//! The points' files are then gathered into one result with a dimension
//! per axis (and `seed`), the axes' values as coordinates ([`collect`]),
//! with any measure's rate along an axis fitted ([`fits`]).

pub mod collect;
pub mod fits;
pub mod local;
pub mod measure;
pub mod study;

pub use local::{Done, Status};
pub use measure::{Kind, Measure};
pub use study::{Axis, Point, Study};

use crate::error::Result;
use std::path::Path;

/// Run a study's points into the folder beside `out` (`OUT.points/`),
/// `jobs` at once on `threads` threads in all (0: every core), and gather
/// them into `out` (claimed first: a second sweep on it stops at once);
/// `tell` hears each point as it ends. How each point went, in order.
///
/// # Errors
/// `out` cannot be claimed or written, the points' folder cannot be made,
/// or the points' files cannot be gathered (a point's own failure is
/// recorded, not an error).
pub fn sweep_to_file(
    study: &Study,
    out: &Path,
    jobs: usize,
    threads: usize,
    tell: &(dyn Fn(&Point, &Done) + Sync),
) -> Result<Vec<Done>> {
    let dir = Study::points_dir(out);
    let (done, _) = crate::run::write_to_file(out, false, || {
        let done = local::run_points(study, &study.points(), &dir, jobs, threads, tell)?;
        let results = collect::collect(study, &dir, &done)?;
        Ok((done, results))
    })?;
    Ok(done)
}

/// Run the points of task `task` of `tasks` (indices `task`, `task +
/// tasks`, …: a Slurm array task's share) into the folder beside `out`,
/// one at a time on `threads` threads; nothing is gathered.
///
/// # Errors
/// `task` not below `tasks`, or the points' folder cannot be made.
pub fn run_task(
    study: &Study,
    out: &Path,
    task: usize,
    tasks: usize,
    threads: usize,
    tell: &(dyn Fn(&Point, &Done) + Sync),
) -> Result<Vec<Done>> {
    if tasks == 0 || task >= tasks {
        return Err(crate::Error::problem(
            "--task",
            task,
            format!("a task from 0 to --tasks − 1 = {}", tasks.saturating_sub(1)),
        ));
    }
    let mine: Vec<Point> = study
        .points()
        .into_iter()
        .filter(|p| p.index % tasks == task)
        .collect();
    local::run_points(study, &mine, &Study::points_dir(out), 1, threads, tell)
}

/// Gather the points' files beside `out` into `out`, running none.
///
/// # Errors
/// A point neither complete nor failed, named; `out` cannot be written.
pub fn collect_to_file(study: &Study, out: &Path) -> Result<Vec<Done>> {
    let dir = Study::points_dir(out);
    let (done, _) = crate::run::write_to_file(out, false, || {
        let done = local::found(study, &dir)?;
        let results = collect::collect(study, &dir, &done)?;
        Ok((done, results))
    })?;
    Ok(done)
}

/// The sbatch script of a study as a Slurm job array: `tasks` array tasks
/// (each `mfpde sweep STUDY -o OUT --task $SLURM_ARRAY_TASK_ID --tasks
/// N`), `threads` CPUs each, the memory of the study's largest point (the
/// budget's estimate, with a quarter more); `exe` the mfpde binary. After
/// the array: `mfpde sweep STUDY -o OUT --collect`.
///
/// # Errors
/// `tasks` or `threads` out of range, or a point's problem refused.
pub fn slurm_script(
    study: &Study,
    study_path: &Path,
    out: &Path,
    tasks: usize,
    threads: usize,
    exe: &Path,
) -> Result<String> {
    let n = study.points().len();
    if !(1..=n).contains(&tasks) {
        return Err(crate::Error::problem(
            "--tasks",
            tasks,
            format!("1 to the number of points, {n}"),
        ));
    }
    if threads == 0 {
        return Err(crate::Error::problem(
            "--threads",
            threads,
            "at least 1 CPU per task",
        ));
    }
    let mut memory: f64 = 0.0;
    for p in study.points() {
        let lp = local::problem(study, &p)?;
        let est = crate::budget::Sizes::of(&lp).estimate(study.kind.has_seed());
        memory = memory.max(est.memory);
    }
    let mb = (1.25 * memory / 1e6).ceil().max(100.0) as u64;
    let name = study_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "study".into());
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    Ok(format!(
        "#!/bin/bash\n\
         # {n} points of `{kind}` from {study}, {per} per task (points task, task + {tasks}, …)\n\
         # written by `mfpde sweep --slurm`; submit, then gather when the array is done:\n\
         #   jid=$(sbatch --parsable {script})\n\
         #   sbatch --dependency=afterany:$jid --wrap \"{exe} sweep {study} -o {out} --collect\"\n\
         # add a --time limit for your partition; memory: the largest point's estimate + 25 %\n\
         #SBATCH --job-name=mfpde-{name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task={threads}\n\
         #SBATCH --mem={mb}M\n\
         #SBATCH --output={log}\n\
         exec {exe} sweep {study} -o {out} --task \"$SLURM_ARRAY_TASK_ID\" --tasks {tasks} --threads {threads}\n",
        kind = study.kind.name(),
        study = q(study_path),
        per = n.div_ceil(tasks),
        script = q(&out.with_extension("sbatch")),
        exe = q(exe),
        out = q(out),
        last = tasks - 1,
        log = Study::points_dir(out).join("task-%a.log").display(),
    ))
}
