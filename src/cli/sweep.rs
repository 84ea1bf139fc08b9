//! `mfpde sweep`: a study's points, a line each as they end, and the
//! collected file.

use crate::error::{Error, Result};
use crate::sweep::{
    collect_to_file, run_task, slurm_script, sweep_to_file, Done, Point, Status, Study,
};
use std::path::{Path, PathBuf};

/// Where the collected file goes: `-o`, else `output/<study file stem>.h5`.
fn output(study: &Path, out: Option<PathBuf>) -> PathBuf {
    out.unwrap_or_else(|| {
        let stem = study
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "study".into());
        PathBuf::from("output").join(format!("{stem}.h5"))
    })
}

/// How a sweep runs.
pub enum How {
    /// Every point here, this many at once, then gather.
    Local(usize),
    /// Task I's points (of N, default one per point), nothing gathered.
    Task(usize, Option<usize>),
    /// Gather only.
    Collect,
    /// Write the sbatch script (N tasks, default one per point).
    Slurm(Option<usize>),
}

/// Run the study at `path` into `out` as `how` says.
pub fn run_sweep(
    path: &Path,
    out: Option<PathBuf>,
    how: How,
    threads: usize,
    quiet: bool,
) -> Result<()> {
    let study = Study::from_file(path)?;
    let out = output(path, out);
    let n = study.points().len();
    let jobs = match how {
        How::Local(j) => j,
        _ => 1,
    };
    let points = study.points();
    let dims: Vec<String> = study
        .dims()
        .iter()
        .zip(study.shape())
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    if let How::Slurm(tasks) = how {
        let exe = std::env::current_exe().map_err(|e| Error::Io {
            path: "mfpde".into(),
            message: format!("cannot find the running binary: {e}"),
        })?;
        let study_path = path.canonicalize().unwrap_or(path.to_path_buf());
        let out = std::path::absolute(&out).unwrap_or(out.clone());
        let text = slurm_script(
            &study,
            &study_path,
            &out,
            tasks.unwrap_or(n),
            threads.max(1),
            &exe,
        )?;
        let dir = Study::points_dir(&out);
        let script = out.with_extension("sbatch");
        let io = |p: &Path, e: std::io::Error| Error::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        std::fs::write(&script, text).map_err(|e| io(&script, e))?;
        out!(
            "wrote {} ({} tasks for {n} points); submit it, then gather:\n  jid=$(sbatch --parsable {})\n  sbatch --dependency=afterany:$jid --wrap \"{} sweep {} -o {} --collect\"",
            script.display(),
            tasks.unwrap_or(n),
            script.display(),
            exe.display(),
            study_path.display(),
            out.display()
        );
        return Ok(());
    }
    if !quiet {
        out!(
            "study {}: {} points of `{}` ({}), {} at once; points in {}",
            path.display(),
            points.len(),
            study.kind.name(),
            dims.join(" × "),
            jobs.max(1),
            Study::points_dir(&out).display()
        );
    }
    let tell = |p: &Point, d: &Done| {
        if quiet {
            return;
        }
        let what = match &d.status {
            Status::Kept => "kept (complete)".to_string(),
            Status::Ran { resumed: false } => "ran".to_string(),
            Status::Ran { resumed: true } => "resumed".to_string(),
            Status::Failed(e) => format!("FAILED: {e}"),
        };
        out!(
            "  p{:05} {:<40} {what} ({:.1} s)",
            p.index,
            p.label,
            d.seconds
        );
    };
    #[cfg(feature = "mpi")]
    if let How::Local(_) = how {
        if let Some(done) = under_mpi(&study, &out, threads, &tell)? {
            return summary(&out, &done);
        }
    }
    let done = match how {
        How::Task(i, tasks) => {
            let done = run_task(&study, &out, i, tasks.unwrap_or(n), threads, &tell)?;
            let failed = done
                .iter()
                .filter(|d| matches!(d.status, Status::Failed(_)))
                .count();
            out!(
                "task {i}: {} points, {failed} failed (in {}; gather with --collect)",
                done.len(),
                Study::points_dir(&out).display()
            );
            return Ok(());
        }
        How::Collect => collect_to_file(&study, &out)?,
        _ => sweep_to_file(&study, &out, jobs, threads, &tell)?,
    };
    summary(&out, &done)
}

/// The warning for points whose runs failed (none when `failed` is 0).
fn warn_failed(failed: usize, points: usize) {
    if failed > 0 {
        eprintln!(
            "warning: {failed} of {points} points failed; their measures are NaN, /study/failed marks them and /study@errors has each error"
        );
    }
}

/// The sweep's last lines: how its points went, and a warning for failed ones.
fn summary(out: &Path, done: &[Done]) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let count = |f: fn(&Status) -> bool| done.iter().filter(|d| f(&d.status)).count();
    let failed = count(|s| matches!(s, Status::Failed(_)));
    out!(
        "{} points: {} ran, {} resumed, {} kept, {failed} failed; wrote {}",
        done.len(),
        count(|s| matches!(s, Status::Ran { resumed: false })),
        count(|s| matches!(s, Status::Ran { resumed: true })),
        count(|s| *s == Status::Kept),
        out.display()
    );
    warn_failed(failed, done.len());
    Ok(())
}

/// Under `mpirun -n N` (N > 1; built with `--features mpi`): rank r runs
/// the points r, r + N, … (as `--task r --tasks N`), on its share of the
/// node's cores unless `--threads` says otherwise; after a barrier rank 0
/// gathers them into `out` and the others return no points. `None` when
/// not started by mpirun, or on one rank (then the sweep runs as usual).
#[cfg(feature = "mpi")]
fn under_mpi(
    study: &Study,
    out: &Path,
    threads: usize,
    tell: &(dyn Fn(&Point, &Done) + Sync),
) -> Result<Option<Vec<Done>>> {
    use mpi::traits::*;
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    if var("OMPI_COMM_WORLD_SIZE").or(var("PMI_SIZE")).unwrap_or(1) < 2 {
        return Ok(None);
    }
    let universe =
        mpi::initialize().ok_or_else(|| Error::Run("MPI was initialised already".into()))?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let threads = match threads {
        0 => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores / var("OMPI_COMM_WORLD_LOCAL_SIZE").unwrap_or(size).max(1)).max(1)
        }
        t => t,
    };
    // a rank that fails still reaches the barrier: rank 0's gathering then
    // names its points as not finished
    let mine = run_task(study, out, rank, size, threads, tell);
    if let Err(e) = &mine {
        eprintln!("error: rank {rank} of {size}: {e}");
    }
    world.barrier();
    if rank > 0 {
        return mine.map(|_| Some(Vec::new()));
    }
    let done = collect_to_file(study, out)?;
    let failed = done
        .iter()
        .filter(|d| matches!(d.status, Status::Failed(_)))
        .count();
    out!(
        "{} points over {size} ranks, {failed} failed; wrote {}",
        done.len(),
        out.display()
    );
    warn_failed(failed, done.len());
    Ok(Some(Vec::new()))
}
