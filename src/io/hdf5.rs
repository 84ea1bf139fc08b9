//! **HDF5 results**, written with the pure-Rust `hdf5-pure` crate.
//!
//! Layout (format `mfpde-1`):
//!
//! ```text
//! /                 attrs format = "mfpde-1", version, problem (TOML), status
//! /grid/edges_<k>   f64 [n_k + 1], attr name = "a" | "w1" | …
//! /pde/time, mass, risk, entropy, free_energy, boundary_mass, min_density   [T]
//! /pde/density      [T, n_0, …, n_{D−1}]   cell averages ρ_i
//! /pde/f_values     [T, E]   f_h at /pde/f_points [E, d_x]
//! /pde/mean [T, D], /pde/cov [T, D, D]
//! /pde/history/time, risk, free_energy, mass, dt
//! /particles        attrs m, seed, dt, mode (and batch for sgd)
//! /particles/time, risk, outside   [T]
//! /particles/positions [T, m_saved, D], histogram [T, n_0, …], f_values [T, E],
//!            mean [T, D], cov [T, D, D], f_points [E, d_x]
//! /compare/time, l1, sw2, risk_gap, f_gap, pde_risk, particle_risk   [T]
//! /compare/w1 [T, D], /compare/directions [L, D]
//! ```
//!
//! Crash safety: the file is first written whole (atomically, through a
//! rename) with the grid and the problem; each snapshot then appends in place
//! to the rank-1 series and adds its rank-≥2 arrays as datasets of their own
//! under `/pde/snapshots/` (adding objects in place is crash-atomic in
//! hdf5-pure). At the end they are folded into `/pde/density` etc. and the
//! root attribute `status` turns from `running` to `complete`. A killed run
//! leaves a readable file with `status = running`; [`PdeFile::read`] accepts
//! both forms.

use crate::compare::CompareRow;
use crate::converge::Converged;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use crate::particles::{Mode, ParticleDiagnostics, ParticleObserver, ParticleOptions};
use crate::setup::Setup;
use crate::solve::{HistoryRecord, Observer};
use hdf5_pure::{AttrValue, File, FileBuilder, MaxExtent};
use std::path::{Path, PathBuf};

/// The value of the root attribute `format`.
pub const FORMAT: &str = "mfpde-1";
/// The rank-1 series of `/pde`, one value per snapshot.
pub const SERIES: [&str; 7] = [
    "time",
    "mass",
    "risk",
    "entropy",
    "free_energy",
    "boundary_mass",
    "min_density",
];
/// The series of `/pde/history`.
pub const HISTORY: [&str; 5] = ["time", "risk", "free_energy", "mass", "dt"];

fn series_values(d: &Diagnostics) -> [f64; 7] {
    [
        d.time,
        d.mass,
        d.risk,
        d.entropy,
        d.free_energy,
        d.boundary_mass,
        d.min_density,
    ]
}

fn history_values(h: &HistoryRecord) -> [f64; 5] {
    [h.time, h.risk, h.free_energy, h.mass, h.dt]
}

fn unlimited(b: &mut hdf5_pure::DatasetBuilder, values: &[f64]) {
    b.with_f64_data(values)
        .with_shape(&[values.len() as u64])
        .with_maxshape(&[MaxExtent::Unlimited])
        .with_chunks(&[64]);
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Create a results file with its root attributes (`status = "running"`) and
/// the grid, written whole and renamed into place.
pub fn create_file(path: &Path, setup: &Setup) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let mut fb = FileBuilder::new();
    fb.set_attr("format", AttrValue::String(FORMAT.into()));
    fb.set_attr(
        "version",
        AttrValue::String(env!("CARGO_PKG_VERSION").into()),
    );
    fb.set_attr("problem", AttrValue::String(setup.problem_toml.clone()));
    fb.set_attr("status", AttrValue::String("running".into()));
    fb.set_attr("time_scale", AttrValue::String("mean-field time t".into()));
    let grid = &setup.grid;
    let mut g = fb.create_group("grid");
    for k in 0..grid.dim() {
        g.create_dataset(&format!("edges_{k}"))
            .with_f64_data(&grid.edges(k))
            .set_attr("name", AttrValue::String(grid.names[k].clone()));
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

/// Writes one group (`/pde`, `/particles`) snapshot by snapshot: rank-1
/// series appended in place, arrays added as `<group>/snapshots/<name>_NNNNN`
/// and folded into `<group>/<name>` [T, …] by [`GroupWriter::finish`].
struct GroupWriter {
    path: PathBuf,
    group: String,
    series: Vec<&'static str>,
    arrays: Vec<(&'static str, Vec<u64>)>,
    snapshots: usize,
}

impl GroupWriter {
    /// Add the group (and `init`'s datasets in it) to an existing file.
    fn add(
        path: &Path,
        group: &str,
        series: &[&'static str],
        arrays: Vec<(&'static str, Vec<u64>)>,
        init: impl FnOnce(&hdf5_pure::Group) -> Result<()>,
    ) -> Result<Self> {
        let file = File::open_rw(path)?;
        let g = file.root().create_group(group)?;
        g.create_group("snapshots")?;
        init(&g)?;
        file.commit()?;
        file.close()?;
        Ok(GroupWriter {
            path: path.to_path_buf(),
            group: group.to_string(),
            series: series.to_vec(),
            arrays,
            snapshots: 0,
        })
    }

    fn snap_name(&self, name: &str, i: usize) -> String {
        format!("{}/{}", self.group, snap_name(name, i))
    }

    /// One snapshot: a value per series, an array per array name; `extra`
    /// may stage more edits in the same commit.
    fn snapshot(
        &mut self,
        series: &[f64],
        arrays: &[&[f64]],
        extra: impl FnOnce(&File) -> Result<()>,
    ) -> Result<()> {
        let file = File::open_rw(&self.path)?;
        let root = file.root();
        for (name, v) in self.series.iter().zip(series) {
            let path = format!("{}/{name}", self.group);
            if self.snapshots == 0 {
                root.create_dataset(&path, |b| unlimited(b, &[*v]))?;
            } else {
                file.dataset(&path)?.append_staged(|a| {
                    a.append_f64(&[*v]);
                })?;
            }
        }
        for ((name, shape), data) in self.arrays.iter().zip(arrays) {
            root.create_dataset(&self.snap_name(name, self.snapshots), |b| {
                b.with_f64_data(data).with_shape(shape);
            })?;
        }
        extra(&file)?;
        file.commit()?;
        file.close()?;
        self.snapshots += 1;
        Ok(())
    }

    /// Fold the snapshot arrays into `<group>/<name>` [T, …] and drop
    /// `<group>/snapshots`.
    fn finish(&mut self, extra: impl FnOnce(&File) -> Result<()>) -> Result<()> {
        let file = File::open_rw(&self.path)?;
        extra(&file)?;
        let root = file.root();
        for (name, shape) in &self.arrays {
            let mut all = Vec::new();
            for i in 0..self.snapshots {
                all.extend(file.dataset(&self.snap_name(name, i))?.read_f64()?);
            }
            let mut full = vec![self.snapshots as u64];
            full.extend(shape);
            root.create_dataset(&format!("{}/{name}", self.group), |b| {
                b.with_f64_data(&all).with_shape(&full);
            })?;
        }
        root.delete(&format!("{}/snapshots", self.group))?;
        file.commit()?;
        file.close()?;
        Ok(())
    }
}

/// Writes the PDE results of one run as it goes (the `/pde` group).
pub struct PdeWriter {
    group: GroupWriter,
    history: Vec<HistoryRecord>,
    history_written: bool,
    owns_file: bool,
}

impl PdeWriter {
    /// Create the file (root attributes, grid) and its `/pde` group; the
    /// file is marked complete when the run finishes.
    pub fn create(path: &Path, setup: &Setup) -> Result<Self> {
        create_file(path, setup)?;
        let mut w = Self::add(path, setup)?;
        w.owns_file = true;
        Ok(w)
    }

    /// Add the `/pde` group to a file made by [`create_file`].
    pub fn add(path: &Path, setup: &Setup) -> Result<Self> {
        let (d, e) = (setup.grid.dim() as u64, setup.f_points.len() as u64);
        let arrays = vec![
            ("density", setup.grid.n.iter().map(|&n| n as u64).collect()),
            ("f_values", vec![e]),
            ("mean", vec![d]),
            ("cov", vec![d, d]),
        ];
        let group = GroupWriter::add(path, "pde", &SERIES, arrays, |g| {
            write_f_points(g, setup)?;
            g.create_group("history")?;
            Ok(())
        })?;
        Ok(PdeWriter {
            group,
            history: Vec::new(),
            history_written: false,
            owns_file: false,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.group.path
    }
}

/// `f_points` [E, d_x] and `f_target` [E] (f*, NaN for labels) into a group.
fn write_f_points(g: &hdf5_pure::Group, setup: &Setup) -> Result<()> {
    let dx = setup.net.dim_x as u64;
    let pts: Vec<f64> = setup.f_points.iter().flatten().copied().collect();
    let e = setup.f_points.len() as u64;
    g.create_dataset("f_points", |b| {
        b.with_f64_data(&pts).with_shape(&[e, dx]);
    })?;
    let targets: Vec<f64> = setup
        .f_points
        .iter()
        .map(|x| setup.target.eval(&setup.net, x).unwrap_or(f64::NAN))
        .collect();
    g.create_dataset("f_target", |b| {
        b.with_f64_data(&targets);
    })?;
    Ok(())
}

/// Append buffered history rows to `/pde/history/*` in `file`'s session.
fn flush_history(file: &File, rows: &mut Vec<HistoryRecord>, written: &mut bool) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let root = file.root();
    for (c, name) in HISTORY.iter().enumerate() {
        let vals: Vec<f64> = rows.iter().map(|h| history_values(h)[c]).collect();
        let path = format!("pde/history/{name}");
        if *written {
            file.dataset(&path)?.append_staged(|a| {
                a.append_f64(&vals);
            })?;
        } else {
            root.create_dataset(&path, |b| unlimited(b, &vals))?;
        }
    }
    *written = true;
    rows.clear();
    Ok(())
}

fn snap_name(kind: &str, i: usize) -> String {
    format!("snapshots/{kind}_{i:05}")
}

impl Observer for PdeWriter {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let (rows, written) = (&mut self.history, &mut self.history_written);
        self.group.snapshot(
            &series_values(d),
            &[rho, &d.f_values, &d.mean, &d.cov],
            |file| flush_history(file, rows, written),
        )
    }

    fn history(&mut self, rec: &HistoryRecord) -> Result<()> {
        self.history.push(*rec);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let (rows, written) = (&mut self.history, &mut self.history_written);
        self.group
            .finish(|file| flush_history(file, rows, written))?;
        if self.owns_file {
            mark_complete(&self.group.path)?;
        }
        Ok(())
    }
}

/// The rank-1 series of `/particles`.
pub const PARTICLE_SERIES: [&str; 3] = ["time", "risk", "outside"];

/// Writes the particle results of one run as it goes (the `/particles` group).
pub struct ParticleWriter {
    group: GroupWriter,
    store: usize,
    owns_file: bool,
}

impl ParticleWriter {
    /// Create the file and its `/particles` group.
    pub fn create(path: &Path, setup: &Setup, opts: &ParticleOptions) -> Result<Self> {
        create_file(path, setup)?;
        let mut w = Self::add(path, setup, opts)?;
        w.owns_file = true;
        Ok(w)
    }

    /// Add the `/particles` group (attributes m, seed, dt, mode) to a file
    /// made by [`create_file`].
    pub fn add(path: &Path, setup: &Setup, opts: &ParticleOptions) -> Result<Self> {
        let (d, e) = (setup.grid.dim() as u64, setup.f_points.len() as u64);
        let arrays = vec![
            ("positions", vec![opts.store as u64, d]),
            (
                "histogram",
                setup.grid.n.iter().map(|&n| n as u64).collect(),
            ),
            ("f_values", vec![e]),
            ("mean", vec![d]),
            ("cov", vec![d, d]),
        ];
        let group = GroupWriter::add(path, "particles", &PARTICLE_SERIES, arrays, |g| {
            g.set_attr("m", AttrValue::U64(opts.m as u64))?;
            g.set_attr("seed", AttrValue::U64(opts.seed))?;
            g.set_attr("dt", AttrValue::F64(opts.dt))?;
            g.set_attr("mode", AttrValue::String(opts.mode.name().into()))?;
            if let Mode::Sgd { batch } = opts.mode {
                g.set_attr("batch", AttrValue::U64(batch as u64))?;
            }
            write_f_points(g, setup)
        })?;
        Ok(ParticleWriter {
            group,
            store: opts.store,
            owns_file: false,
        })
    }
}

impl ParticleObserver for ParticleWriter {
    fn snapshot(&mut self, d: &ParticleDiagnostics, theta: &[f64]) -> Result<()> {
        let dim = d.mean.len();
        self.group.snapshot(
            &[d.time, d.risk, d.outside],
            &[
                &theta[..self.store * dim],
                &d.histogram,
                &d.f_values,
                &d.mean,
                &d.cov,
            ],
            |_| Ok(()),
        )
    }

    fn finish(&mut self) -> Result<()> {
        self.group.finish(|_| Ok(()))?;
        if self.owns_file {
            mark_complete(&self.group.path)?;
        }
        Ok(())
    }
}

/// The rank-1 series of `/compare`.
pub const COMPARE_SERIES: [&str; 7] = [
    "time",
    "l1",
    "sw2",
    "risk_gap",
    "f_gap",
    "pde_risk",
    "particle_risk",
];

/// Writes the distances between PDE and particles (the `/compare` group).
pub struct CompareWriter {
    group: GroupWriter,
}

impl CompareWriter {
    /// Add `/compare` (with the sliced-W2 directions [L, D]) to a file.
    pub fn add(path: &Path, d: usize, dirs: &[Vec<f64>]) -> Result<Self> {
        let flat: Vec<f64> = dirs.iter().flatten().copied().collect();
        let shape = [dirs.len() as u64, d as u64];
        let group = GroupWriter::add(
            path,
            "compare",
            &COMPARE_SERIES,
            vec![("w1", vec![d as u64])],
            |g| {
                g.create_dataset("directions", |b| {
                    b.with_f64_data(&flat).with_shape(&shape);
                })?;
                Ok(())
            },
        )?;
        Ok(CompareWriter { group })
    }

    /// One snapshot's distances.
    pub fn snapshot(&mut self, r: &CompareRow) -> Result<()> {
        self.group.snapshot(
            &[
                r.time,
                r.l1,
                r.sw2,
                r.risk_gap,
                r.f_gap,
                r.pde_risk,
                r.particle_risk,
            ],
            &[&r.w1],
            |_| Ok(()),
        )
    }

    /// Fold `/compare/w1` into [T, D].
    pub fn finish(&mut self) -> Result<()> {
        self.group.finish(|_| Ok(()))
    }
}

/// Write a convergence study: a results file (problem and finest grid) with
/// `/converge/m` [M], `cells` [H], `h` [H], `vs_m`, `vs_m_se` [K, M],
/// `vs_h` [K, H], `slope_m`, `slope_m_err`, `slope_h`, `slope_h_err`,
/// `floor_m` [K] (NaN: no floor), `slope_m_points` [K] (the m fitted: those
/// before the floor), `grid_gap` [K] (the distance between the
/// PDE on the two finest grids; NaN with one), attributes `metrics` (K names,
/// comma separated) and `seeds`.
pub fn write_converge(path: &Path, fine: &Setup, c: &Converged) -> Result<()> {
    create_file(path, fine)?;
    let file = File::open_rw(path)?;
    {
        let g = file.root().create_group("converge")?;
        g.set_attr("metrics", AttrValue::String(c.metrics.join(",")))?;
        g.set_attr("seeds", AttrValue::U64(c.seeds as u64))?;
        let put = |name: &str, data: Vec<f64>, shape: Vec<u64>| -> Result<()> {
            g.create_dataset(name, |b| {
                b.with_f64_data(&data).with_shape(&shape);
            })?;
            Ok(())
        };
        let (k, nm, nh) = (
            c.metrics.len() as u64,
            c.ms.len() as u64,
            c.cells.len() as u64,
        );
        put("m", c.ms.iter().map(|&m| m as f64).collect(), vec![nm])?;
        put(
            "cells",
            c.cells.iter().map(|&n| n as f64).collect(),
            vec![nh],
        )?;
        put("h", c.h.clone(), vec![nh])?;
        put("vs_m", c.vs_m.concat(), vec![k, nm])?;
        put("vs_m_se", c.vs_m_se.concat(), vec![k, nm])?;
        put("vs_h", c.vs_h.concat(), vec![k, nh])?;
        put("grid_gap", c.grid_gap.clone(), vec![k])?;
        put(
            "slope_m_points",
            c.fit_m.iter().map(|f| f.points as f64).collect(),
            vec![k],
        )?;
        put(
            "slope_m",
            c.fit_m.iter().map(|f| f.slope).collect(),
            vec![k],
        )?;
        put(
            "slope_m_err",
            c.fit_m.iter().map(|f| f.stderr).collect(),
            vec![k],
        )?;
        put(
            "slope_h",
            c.fit_h.iter().map(|f| f.slope).collect(),
            vec![k],
        )?;
        put(
            "slope_h_err",
            c.fit_h.iter().map(|f| f.stderr).collect(),
            vec![k],
        )?;
        put(
            "floor_m",
            c.floor_m.iter().map(|f| f.unwrap_or(f64::NAN)).collect(),
            vec![k],
        )?;
    }
    file.commit()?;
    file.close()?;
    mark_complete(path)
}

/// What a reader gets back from a PDE file, finished or interrupted.
#[derive(Debug, Clone)]
pub struct PdeFile {
    pub format: String,
    pub status: String,
    pub problem: String,
    pub edges: Vec<Vec<f64>>,
    pub axis_names: Vec<String>,
    pub time: Vec<f64>,
    pub mass: Vec<f64>,
    pub risk: Vec<f64>,
    pub free_energy: Vec<f64>,
    pub boundary_mass: Vec<f64>,
    pub min_density: Vec<f64>,
    /// One flattened density per snapshot.
    pub density: Vec<Vec<f64>>,
    pub history_time: Vec<f64>,
    pub history_risk: Vec<f64>,
    pub history_free_energy: Vec<f64>,
}

fn attr_string(attrs: &std::collections::HashMap<String, AttrValue>, name: &str) -> String {
    match attrs.get(name) {
        Some(AttrValue::String(s)) | Some(AttrValue::AsciiString(s)) => s.clone(),
        _ => String::new(),
    }
}

impl PdeFile {
    /// Read a finished or interrupted file.
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path)?;
        let attrs = file.root().attrs()?;
        let series = |name: &str| -> Result<Vec<f64>> {
            match file.dataset(&format!("pde/{name}")) {
                Ok(ds) => Ok(ds.read_f64()?),
                Err(_) => Ok(Vec::new()),
            }
        };
        let time = series("time")?;
        let mut edges = Vec::new();
        let mut axis_names = Vec::new();
        for k in 0.. {
            let Ok(ds) = file.dataset(&format!("grid/edges_{k}")) else {
                break;
            };
            edges.push(ds.read_f64()?);
            axis_names.push(attr_string(&ds.attrs()?, "name"));
        }
        let cells: usize = edges.iter().map(|e| e.len() - 1).product();
        let density = match file.dataset("pde/density") {
            Ok(ds) => ds.read_f64()?.chunks(cells).map(<[f64]>::to_vec).collect(),
            Err(_) => (0..time.len())
                .map(|i| {
                    Ok(file
                        .dataset(&format!("pde/{}", snap_name("density", i)))?
                        .read_f64()?)
                })
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(PdeFile {
            format: attr_string(&attrs, "format"),
            status: attr_string(&attrs, "status"),
            problem: attr_string(&attrs, "problem"),
            edges,
            axis_names,
            mass: series("mass")?,
            risk: series("risk")?,
            free_energy: series("free_energy")?,
            boundary_mass: series("boundary_mass")?,
            min_density: series("min_density")?,
            density,
            history_time: series("history/time")?,
            history_risk: series("history/risk")?,
            history_free_energy: series("history/free_energy")?,
            time,
        })
    }
}
