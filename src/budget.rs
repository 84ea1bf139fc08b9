//! **Budgets up front**: the memory a run will hold and the disk it will
//! write, from a problem's numbers alone (nothing is allocated to find out),
//! checked against the machine before the run starts.
//!
//! Memory counts every buffer of the size of the grid ([`grid_copies`]:
//! the density, its RK2 stage and sums, the diffused copy a history row
//! reads, the backup of a stage taken again, the bytes of a snapshot being
//! written; sg's Ψ and start; the reaction's), the velocity's σ tables
//! (#nodes × (#w-centres + #w-faces); none with `solver.tables =
//! "on_the_fly"`), the particles (m × D, the per-group sums, the
//! SGD batch; for a reduced problem's d-dimensional network m × (1 + d)
//! for θ, its gradient and checkpoint, and sgd's m × B Z and σ(Z)) and
//! the quadrature. Disk counts what the file will hold: per
//! snapshot the density, f values and moments, the stored positions and the
//! histogram (memory counts the file only as a block of rows: the complete
//! file is streamed from the running one). Both are refused above what the
//! machine has (MemAvailable in
//! /proc/meminfo; the free space at the output's folder), naming the numbers
//! and the keys that change them; `--force` runs anyway.

use crate::error::{Error, Result};
use crate::particles::kernel::SIGMA_BYTES;
use crate::problem::{LoadedProblem, Snapshots};
use std::path::Path;

/// The sizes of a problem, in counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sizes {
    pub dim: usize,
    pub cells: f64,
    pub nodes: f64,
    pub w_centres: f64,
    pub w_faces: f64,
    pub snapshots: f64,
    pub f_points: f64,
    /// Neurons, stored positions, the SGD batch (0 without particles).
    pub m: f64,
    pub store: f64,
    pub batch: f64,
    /// d of a reduced problem's d-dimensional network (0 otherwise).
    pub wide: f64,
    /// The runs of a convergence study (no snapshots kept, no file of
    /// them).
    pub study: bool,
    /// Copies of the grid the scheme holds ([`grid_copies`]).
    pub copies: f64,
    /// The tables are evaluated on the fly, not stored.
    pub lazy_tables: bool,
    /// The network's step keeps σ at its (neuron, node) pairs between its
    /// two passes (tanh, sigmoid, bumps: [`crate::particles::kernel::keeps_sigma`]).
    pub sigma_kept: bool,
    /// Its nodes fold in ±x pairs: tanh without bias, on one centred
    /// Gaussian or its classes, not sgd.
    pub sigma_folds: bool,
}

/// The buffers of the size of the grid a run holds at its peak: the
/// density, the RK2 stage and its sums, the diffused copy a history row
/// reads when the trailing half diffusion is deferred, the backup of a
/// stage taken again, and the bytes of a snapshot while it is written (6);
/// sg's density, Ψ, start, backup and snapshot (5); birth–death's reaction
/// adds its rates, Ψ, Φ and start and the base it is planned from (5).
/// Measured by valgrind's massif on grids/teacher4d.toml at 32⁴: five
/// copies of ρ at the peak of a run whose stage was never taken again.
pub fn grid_copies(scheme: &str, birth_death: bool) -> f64 {
    let scheme = if scheme == "sg" { 5.0 } else { 6.0 };
    scheme + if birth_death { 5.0 } else { 0.0 }
}

/// Bytes of memory and of disk, and the key behind the largest part of
/// each.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    pub memory: f64,
    pub disk: f64,
    pub memory_key: &'static str,
    pub disk_key: &'static str,
}

/// The sum of named parts, and the name of the largest.
fn total(parts: &[(&'static str, f64)]) -> (f64, &'static str) {
    let sum = parts.iter().map(|p| p.1).sum();
    let key = parts
        .iter()
        .fold(("grid.cells", f64::NEG_INFINITY), |a, p| {
            if p.1 > a.1 {
                *p
            } else {
                a
            }
        })
        .0;
    (sum, key)
}

impl Sizes {
    /// The sizes of a problem as written (before any check: values that
    /// make no sense give sizes of 0 and are refused by the setup).
    pub fn of(lp: &LoadedProblem) -> Self {
        let p = &lp.problem;
        let dim = p.grid.cells.len();
        let cells: f64 = p.grid.cells.iter().map(|&n| n as f64).product();
        let wax = usize::from(p.model.train_a).min(dim);
        let w: Vec<f64> = p.grid.cells[wax..].iter().map(|&n| n as f64).collect();
        let w_centres: f64 = w.iter().product();
        let w_faces: f64 = (0..w.len()).map(|k| w_centres / w[k] * (w[k] + 1.0)).sum();
        let dim_x = p.data.dim.unwrap_or(1) as f64;
        let classes = p.data.scales.as_ref().map_or(1, Vec::len) as f64;
        let nodes = match (p.data.law.as_str(), p.data.nodes, &p.symmetry) {
            // a data set's samples are its nodes: the file's data lines
            ("dataset", _, _) => data_rows(lp),
            // a reduced problem's nodes are (Uᵀx, |x⊥|): nodes^k × radial
            // (k beyond 2 is refused by the setup, which names it)
            (_, Some(n), Some(s)) => {
                classes * (n as f64).powi(s.directions.min(2) as i32) * s.radial_nodes as f64
            }
            (_, Some(n), None) => classes * (n as f64).powf(dim_x),
            // RBF units on Lebesgue measure: the derived count
            ("lebesgue", None, None) => {
                crate::setup::lebesgue_nodes(lp).map_or(0.0, |n| (n as f64).powf(dim_x))
            }
            _ => 0.0,
        };
        let snapshots = match &p.dynamics.snapshots {
            Snapshots::Count(n) => *n as f64,
            Snapshots::Times(t) => t.len() as f64,
        };
        let (m, store, batch) = p.particles.as_ref().map_or((0.0, 0.0, 0.0), |q| {
            (
                q.m as f64,
                q.store.unwrap_or(q.m) as f64,
                q.batch.unwrap_or(0) as f64,
            )
        });
        Sizes {
            dim,
            cells,
            nodes,
            w_centres,
            w_faces,
            snapshots,
            f_points: p.output.f_points.as_ref().map_or(101, Vec::len) as f64,
            m,
            store,
            batch,
            wide: if p.symmetry.is_some() { dim_x } else { 0.0 },
            study: false,
            copies: grid_copies(&p.solver.scheme, p.dynamics.birth_death > 0.0),
            lazy_tables: p.solver.tables.as_deref() == Some("on_the_fly"),
            sigma_kept: p.symmetry.is_none()
                && (p.model.unit.as_deref() == Some("rbf")
                    || ["tanh", "sigmoid"].contains(&p.model.activation.as_str())),
            sigma_folds: p.model.activation == "tanh"
                && !p.model.bias
                && ["gaussian", "gaussian_scales"].contains(&p.data.law.as_str()),
        }
    }

    /// What a run of the PDE (and the particles, when `with_particles`)
    /// holds and writes.
    pub fn estimate(&self, with_particles: bool) -> Estimate {
        let d = self.dim as f64;
        let (cells, q, t) = (self.cells, self.nodes, self.snapshots);
        let with = with_particles && self.m > 0.0;
        let p = |x: f64| if with { 8.0 * x } else { 0.0 };
        // σ kept between the step's passes, up to its cap (tanh without
        // bias on a centred Gaussian folds its nodes in ±x pairs)
        let pairs = if self.batch > 0.0 {
            self.batch
        } else if self.sigma_folds {
            (q / 2.0).ceil()
        } else {
            q
        };
        let sigma = match self.sigma_kept {
            true => (self.m * pairs).min(SIGMA_BYTES as f64 / 8.0),
            false => 0.0,
        };
        // the grid's copies; the σ tables (on the fly: their points and a
        // row per thread)
        let w_points = self.w_centres + self.w_faces;
        let tables = match self.lazy_tables {
            true => w_points * (d + 1.0 + rayon::current_num_threads() as f64),
            false => q * w_points,
        };
        let (run, run_key) = total(&[
            ("grid.cells", 8.0 * cells * self.copies),
            ("data.nodes", 8.0 * (tables + q * (d + 4.0))),
            // θ, and for the d-dimensional network (a, w), its gradient
            // and its two checkpoint slots' copy
            (
                "particles.m",
                p(self.m * (d + 3.0 * (1.0 + self.wide)) + cells + sigma),
            ),
            (
                "particles.batch",
                p(64.0 * q.max(self.batch)
                    + self.batch * (2.0 + d + self.wide)
                    + 2.0 * self.m * self.batch * f64::from(self.wide > 0.0)),
            ),
        ]);
        let (disk, disk_key) = total(&[
            (
                "dynamics.snapshots",
                8.0 * t * (cells + self.f_points + d + d * d + 8.0),
            ),
            (
                "particles.store",
                p(t * (self.store * d + cells + self.f_points + d + d * d)
                    + 2.0 * self.m * if self.wide > 0.0 { 1.0 + self.wide } else { d }),
            ),
        ]);
        if self.study {
            // a convergence study keeps each resolution's last density and
            // writes its table: its runs' buffers, one at a time
            return Estimate {
                memory: BASE_MEMORY + run + 8.0 * 2.0 * cells,
                disk: 1048576.0,
                memory_key: run_key,
                disk_key: "--m",
            };
        }
        // the run's buffers, or what completing the file holds once they
        // are dropped: the complete file is streamed from the running one
        // (a block of rows of one array at a time, the write buffer) beside
        // the light series, read back whole
        let largest = 8.0 * cells.max(if with { self.store * d } else { 0.0 });
        let completion = 2.0 * largest.min(ROWS_BYTES) + WRITE_BUFFER + 8.0 * t * (d * d + 8.0);
        let (memory, memory_key) = if completion > run {
            (BASE_MEMORY + completion, disk_key)
        } else {
            (BASE_MEMORY + run, run_key)
        };
        Estimate {
            memory,
            disk,
            memory_key,
            disk_key,
        }
    }
}

/// The data lines of a problem's data file (not blank, not a comment), a
/// count that streams the file: its rows, and perhaps a header (0 when it
/// cannot be read: the setup then names why).
fn data_rows(lp: &LoadedProblem) -> f64 {
    use std::io::BufRead;
    let Some(file) = &lp.problem.data.file else {
        return 0.0;
    };
    let path = lp.base_dir.join(file);
    let small = std::fs::metadata(&path)
        .is_ok_and(|m| m.is_file() && m.len() <= crate::files::MAX_DATA_BYTES);
    let Ok(f) = std::fs::File::open(&path).map(std::io::BufReader::new) else {
        return 0.0;
    };
    if !small {
        return 0.0;
    }
    f.lines()
        .map_while(|l| l.ok())
        .filter(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#')
        })
        .count() as f64
}

/// A block of rows read back from a running file while the complete file
/// is written (held twice: its raw bytes and its numbers), at most.
const ROWS_BYTES: f64 = crate::io::hdf5::netcdf::ROWS_BYTES as f64;

/// The complete file's write buffer.
const WRITE_BUFFER: f64 = 1048576.0;

/// What the binary holds whatever the problem (code, threads, tables of
/// the HDF5 crates), measured at about 10 MB.
pub const BASE_MEMORY: f64 = 16.0 * 1048576.0;

/// The estimate of a convergence study of `lp` over `ms` neurons and
/// `cells` resolutions: its largest runs, one at a time (the finest grid,
/// the most neurons), and each resolution's last density.
///
/// # Errors
/// When the largest problem does not load (an override it cannot take).
pub fn converge_estimate(lp: &LoadedProblem, ms: &[usize], cells: &[usize]) -> Result<Estimate> {
    let dim = lp.problem.grid.cells.len();
    let fine = cells.iter().copied().max().unwrap_or(1);
    let most = ms.iter().copied().max().unwrap_or(1);
    let list = vec![fine.to_string(); dim].join(",");
    let largest = LoadedProblem::from_str(
        &lp.toml,
        &[
            format!("grid.cells=[{list}]"),
            format!("particles.m={most}"),
            format!("particles.store={most}"),
        ],
        &lp.base_dir,
    )?;
    let sizes = Sizes {
        study: true,
        ..Sizes::of(&largest)
    };
    Ok(sizes.estimate(true))
}

/// MemAvailable of /proc/meminfo, in bytes (None where there is none).
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Free space for the output at `out` (its folder, or the nearest one that
/// exists), in bytes.
pub fn available_disk(out: &Path) -> Option<f64> {
    let mut dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.as_os_str().is_empty() {
        dir = ".".into();
    }
    while !dir.exists() {
        dir = dir.parent()?.to_path_buf();
        if dir.as_os_str().is_empty() {
            dir = ".".into();
        }
    }
    fs4::available_space(&dir).ok().map(|b| b as f64)
}

fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / (1u64 << 30) as f64)
}

/// Refuse a run whose estimate exceeds what the machine has, unless
/// `force`. `out` is the output path (None: nothing is written).
pub fn check(est: &Estimate, out: Option<&Path>, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    if let Some(avail) = available_memory() {
        if est.memory > 0.9 * avail {
            return Err(Error::problem(
                est.memory_key,
                format!("a run holding about {} of memory", gib(est.memory)),
                format!(
                    "at most 90 % of the {} available: fewer cells (grid.cells), nodes (data.nodes), snapshots (dynamics.snapshots) or neurons (particles.m, particles.batch); or --force",
                    gib(avail)
                ),
            ));
        }
    }
    if let Some(free) = out.and_then(available_disk) {
        if free == 0.0 {
            let out = out.expect("an output");
            return Err(Error::problem(
                "-o",
                out.display(),
                "a folder with free space (this one reports none: a virtual file system such as /proc, or a full disk)",
            ));
        }
        if est.disk > free {
            return Err(Error::problem(
                est.disk_key,
                format!("a file of about {}", gib(est.disk)),
                format!(
                    "at most the {} free at the output's folder: fewer snapshots (dynamics.snapshots), cells (grid.cells) or stored positions (particles.store); or --force",
                    gib(free)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quickstart_is_small_and_a_huge_grid_is_not() {
        let lp = LoadedProblem::quickstart(&[]).unwrap();
        let e = Sizes::of(&lp).estimate(true);
        // 256² cells, 11 snapshots, 10⁵ neurons stored at each: tens of MB
        assert!(e.memory > 5e6 && e.memory < 2e8, "{e:?}");
        assert!(e.disk > 2e7 && e.disk < 1e8, "{e:?}");
        let big = LoadedProblem::quickstart(&["grid.cells=[400000,400000]".into()]).unwrap();
        let e = Sizes::of(&big).estimate(false);
        assert!(e.memory > 1e12);
        assert!(check(&e, None, false).is_err() || available_memory().is_none());
        assert!(check(&e, None, true).is_ok());
    }
}
