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

use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
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

/// Writes the PDE results of one run as it goes.
pub struct PdeWriter {
    path: PathBuf,
    shape: Vec<u64>,
    dims: (usize, usize),
    snapshots: usize,
    history: Vec<HistoryRecord>,
    history_written: bool,
}

fn unlimited(b: &mut hdf5_pure::DatasetBuilder, values: &[f64]) {
    b.with_f64_data(values)
        .with_shape(&[values.len() as u64])
        .with_maxshape(&[MaxExtent::Unlimited])
        .with_chunks(&[64]);
}

impl PdeWriter {
    /// Create the file with its root attributes, grid and evaluation points.
    pub fn create(path: &Path, setup: &Setup) -> Result<Self> {
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
        let mut p = fb.create_group("pde");
        let dx = setup.net.dim_x;
        let pts: Vec<f64> = setup.f_points.iter().flatten().copied().collect();
        p.create_dataset("f_points")
            .with_f64_data(&pts)
            .with_shape(&[setup.f_points.len() as u64, dx as u64]);
        let targets: Vec<f64> = setup
            .f_points
            .iter()
            .map(|x| setup.target.eval(&setup.net, x).unwrap_or(f64::NAN))
            .collect();
        p.create_dataset("f_target").with_f64_data(&targets);
        let snaps = p.create_group("snapshots");
        p.add_group(snaps.finish());
        let h = p.create_group("history");
        p.add_group(h.finish());
        fb.add_group(p.finish());
        let bytes = fb.finish().map_err(|e| Error::Hdf5(e.to_string()))?;
        // write whole, then rename: never a half-written file under `path`
        let tmp = path.with_extension("h5.partial");
        std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
        Ok(PdeWriter {
            path: path.to_path_buf(),
            shape: grid.n.iter().map(|&n| n as u64).collect(),
            dims: (grid.dim(), setup.f_points.len()),
            snapshots: 0,
            history: Vec::new(),
            history_written: false,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn flush_history(&mut self, file: &File) -> Result<()> {
        if self.history.is_empty() {
            return Ok(());
        }
        let root = file.root();
        for (c, name) in HISTORY.iter().enumerate() {
            let vals: Vec<f64> = self.history.iter().map(|h| history_values(h)[c]).collect();
            let path = format!("pde/history/{name}");
            if self.history_written {
                file.dataset(&path)?.append_staged(|a| {
                    a.append_f64(&vals);
                })?;
            } else {
                root.create_dataset(&path, |b| unlimited(b, &vals))?;
            }
        }
        self.history_written = true;
        self.history.clear();
        Ok(())
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn snap_name(kind: &str, i: usize) -> String {
    format!("pde/snapshots/{kind}_{i:05}")
}

impl Observer for PdeWriter {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let file = File::open_rw(&self.path)?;
        let root = file.root();
        let vals = series_values(d);
        for (c, name) in SERIES.iter().enumerate() {
            let path = format!("pde/{name}");
            if self.snapshots == 0 {
                root.create_dataset(&path, |b| unlimited(b, &vals[c..c + 1]))?;
            } else {
                file.dataset(&path)?.append_staged(|a| {
                    a.append_f64(&vals[c..c + 1]);
                })?;
            }
        }
        let i = self.snapshots;
        let shape = self.shape.clone();
        root.create_dataset(&snap_name("density", i), |b| {
            b.with_f64_data(rho).with_shape(&shape);
        })?;
        root.create_dataset(&snap_name("f_values", i), |b| {
            b.with_f64_data(&d.f_values);
        })?;
        root.create_dataset(&snap_name("mean", i), |b| {
            b.with_f64_data(&d.mean);
        })?;
        root.create_dataset(&snap_name("cov", i), |b| {
            b.with_f64_data(&d.cov);
        })?;
        self.flush_history(&file)?;
        file.commit()?;
        file.close()?;
        self.snapshots += 1;
        Ok(())
    }

    fn history(&mut self, rec: &HistoryRecord) -> Result<()> {
        self.history.push(*rec);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let file = File::open_rw(&self.path)?;
        self.flush_history(&file)?;
        let t = self.snapshots;
        let (d, e) = self.dims;
        let gather = |kind: &str| -> Result<Vec<f64>> {
            let mut all = Vec::new();
            for i in 0..t {
                all.extend(file.dataset(&snap_name(kind, i))?.read_f64()?);
            }
            Ok(all)
        };
        let density = gather("density")?;
        let f_values = gather("f_values")?;
        let mean = gather("mean")?;
        let cov = gather("cov")?;
        let root = file.root();
        let mut shape = vec![t as u64];
        shape.extend(&self.shape);
        let (t, d, e) = (t as u64, d as u64, e as u64);
        root.create_dataset("pde/density", |b| {
            b.with_f64_data(&density).with_shape(&shape);
        })?;
        root.create_dataset("pde/f_values", |b| {
            b.with_f64_data(&f_values).with_shape(&[t, e]);
        })?;
        root.create_dataset("pde/mean", |b| {
            b.with_f64_data(&mean).with_shape(&[t, d]);
        })?;
        root.create_dataset("pde/cov", |b| {
            b.with_f64_data(&cov).with_shape(&[t, d, d]);
        })?;
        root.delete("pde/snapshots")?;
        root.set_attr("status", AttrValue::String("complete".into()))?;
        file.commit()?;
        file.close()?;
        Ok(())
    }
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
                .map(|i| Ok(file.dataset(&snap_name("density", i))?.read_f64()?))
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
