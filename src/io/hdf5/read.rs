//! **Reading results**, finished or interrupted: the one place that knows
//! where an unfinished group keeps its arrays.

use super::group::{snapshot_datasets, snapshot_held, snapshot_name};
use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, File};
use std::collections::HashMap;
use std::path::Path;

/// An open results file.
pub struct Reader {
    file: File,
    path: String,
    /// The file's length: no dataset mfpde writes holds more bytes (its
    /// data are not compressed), so a larger declared shape is refused
    /// before anything is allocated for it.
    len: u64,
}

/// A text attribute (a variable-length string written null-terminated
/// reads back with its NUL in hdf5-pure 0.47; h5py drops it).
fn attr_string(attrs: &HashMap<String, AttrValue>, name: &str) -> String {
    attrs
        .get(name)
        .and_then(AttrValue::as_str)
        .unwrap_or_default()
        .trim_end_matches('\0')
        .to_string()
}

impl Reader {
    /// Open a file for reading.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open_streaming(path)
            .map_err(|e| Error::Hdf5(format!("{}: {e}", path.display())))?;
        Ok(Reader {
            file,
            path: path.display().to_string(),
            len: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// The root attribute `name` as a string (empty when absent).
    pub fn root_attr(&self, name: &str) -> Result<String> {
        Ok(attr_string(&self.file.root().attrs()?, name))
    }

    /// The attribute `name` of group `group` as a string (empty when absent).
    pub fn group_attr(&self, group: &str, name: &str) -> Result<String> {
        match self.file.group(group) {
            Ok(g) => Ok(attr_string(&g.attrs()?, name)),
            Err(_) => Ok(String::new()),
        }
    }

    /// True when the dataset or group at `path` exists.
    pub fn has(&self, path: &str) -> bool {
        self.file.dataset(path).is_ok() || self.file.group(path).is_ok()
    }

    /// The values of the dataset at `path`, flattened (empty when absent).
    pub fn series(&self, path: &str) -> Result<Vec<f64>> {
        match self.file.dataset(path) {
            Ok(ds) => self.read(&ds, path),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// A dataset's numbers, refused when its declared shape holds more
    /// than the file's bytes.
    fn read(&self, ds: &hdf5_pure::Dataset, path: &str) -> Result<Vec<f64>> {
        let declared = ds
            .shape()?
            .iter()
            .try_fold(8u64, |a, &n| a.checked_mul(n))
            .unwrap_or(u64::MAX);
        if declared > self.len {
            return Err(self.bad(format!(
                "{path} declares {declared} bytes of numbers in a file of {} bytes",
                self.len
            )));
        }
        Ok(ds.read_f64()?)
    }

    /// The shape of the dataset at `path`.
    pub fn shape(&self, path: &str) -> Result<Vec<u64>> {
        Ok(self.file.dataset(path)?.shape()?)
    }

    /// The `t` rows of the array `<group>/<name>` [T, …], or of an
    /// unfinished group's `<group>/snapshots/<name>_NNNNN` (or its parts).
    pub fn rows(&self, group: &str, name: &str, t: usize) -> Result<Vec<Vec<f64>>> {
        if let Ok(ds) = self.file.dataset(&format!("{group}/{name}")) {
            let all = self.read(&ds, &format!("{group}/{name}"))?;
            let row = all.len() / t.max(1);
            if row * t != all.len() {
                return Err(Error::Hdf5(format!(
                    "{}: {group}/{name} holds {} values, not {t} rows",
                    self.path,
                    all.len()
                )));
            }
            return Ok(all.chunks(row.max(1)).map(<[f64]>::to_vec).collect());
        }
        (0..t)
            .map(|i| self.unfinished_row(group, name, i))
            .collect()
    }

    /// Row `i` of the `t` rows of [`Reader::rows`], read alone.
    pub fn row(&self, group: &str, name: &str, t: usize, i: usize) -> Result<Vec<f64>> {
        let path = format!("{group}/{name}");
        if let Ok(ds) = self.file.dataset(&path) {
            let shape = ds.shape()?;
            let row: u64 = shape.iter().skip(1).product();
            // one row of [t, …] read alone, its bytes checked as `read`'s
            if shape.first() == Some(&(t as u64)) && i < t && row.saturating_mul(8) <= self.len {
                return Ok(ds.read_f64_rows(i as u64, 1)?);
            }
            let mut rows = self.rows(group, name, t)?;
            if i >= rows.len() {
                return Err(self.bad(format!("{path} has no row {i}")));
            }
            return Ok(rows.swap_remove(i));
        }
        self.unfinished_row(group, name, i)
    }

    /// Rows `rows` of the first axis (of `row` numbers each) of snapshot
    /// `i` of an unfinished group's array, read alone from its dataset or
    /// from the parts they fall in (a slab of a density written by any
    /// number of ranks).
    pub fn unfinished_rows(
        &self,
        group: &str,
        name: &str,
        i: usize,
        rows: std::ops::Range<usize>,
        row: usize,
    ) -> Result<Vec<f64>> {
        let held = snapshot_datasets(&self.file, group, name, i);
        let mut out = Vec::with_capacity(rows.len() * row);
        let mut first = 0;
        for p in &held {
            let ds = self.file.dataset(p)?;
            let shape = ds.shape()?;
            // rows of the length asked, checked before anything is read
            if shape.iter().skip(1).product::<u64>() != row as u64 {
                return Err(self.bad(format!("{p} has shape {shape:?}, not rows of {row}")));
            }
            let n = shape.first().copied().unwrap_or(1) as usize;
            let (lo, hi) = (rows.start.max(first), rows.end.min(first + n));
            if lo < hi {
                out.extend(ds.read_f64_rows((lo - first) as u64, (hi - lo) as u64)?);
            }
            first += n;
        }
        if held.is_empty() || out.len() != rows.len() * row {
            let p = format!("{group}/{}", snapshot_name(name, i));
            return Err(self.bad(format!(
                "{p} (or its parts) holds {first} rows, not rows {rows:?} of {row} numbers"
            )));
        }
        Ok(out)
    }

    /// Snapshot `i` of an unfinished group's array: its dataset, or its
    /// parts joined.
    fn unfinished_row(&self, group: &str, name: &str, i: usize) -> Result<Vec<f64>> {
        let held = snapshot_held(&self.file, group, name, i).map_err(|m| self.bad(m))?;
        let mut row = Vec::new();
        for p in held {
            row.extend(self.read(&self.file.dataset(&p)?, &p)?);
        }
        Ok(row)
    }

    /// The grid's edges and axis names.
    pub fn grid(&self) -> Result<(Vec<Vec<f64>>, Vec<String>)> {
        let (mut edges, mut names) = (Vec::new(), Vec::new());
        for k in 0.. {
            let Ok(ds) = self.file.dataset(&format!("grid/edges_{k}")) else {
                break;
            };
            edges.push(self.read(&ds, &format!("grid/edges_{k}"))?);
            names.push(attr_string(&ds.attrs()?, "name"));
        }
        Ok((edges, names))
    }
}

/// The earlier formats, which `mfpde plot` still reads (a run cannot
/// continue them): mfpde-1 kept the light history in `/pde/history`;
/// mfpde-2 stored counts as float64, text attributes as fixed-length
/// strings (bytes in h5py) and `/steady`'s scalars with shape (1,).
pub const FORMAT_1: &str = "mfpde-1";
pub const FORMAT_2: &str = "mfpde-2";

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

impl Reader {
    /// An error about this file.
    pub fn bad(&self, what: impl std::fmt::Display) -> Error {
        Error::Hdf5(format!("{}: {what}", self.path))
    }

    /// Refuse a file that is not an mfpde results file (of this format, or
    /// of the earlier [`FORMAT_1`] or [`FORMAT_2`]).
    pub fn check_format(&self) -> Result<()> {
        let format = self.root_attr("format")?;
        if ![super::FORMAT, FORMAT_2, FORMAT_1].contains(&format.as_str()) {
            return Err(self.bad(format!(
                "not an mfpde results file (its root attribute `format` is {format:?}, not {:?})",
                super::FORMAT
            )));
        }
        Ok(())
    }

    /// The group of the light history (`/history`; `/pde/history` in
    /// [`FORMAT_1`] files).
    pub fn history_group(&self) -> Result<&'static str> {
        Ok(match self.root_attr("format")?.as_str() {
            FORMAT_1 => "pde/history",
            _ => "history",
        })
    }

    /// The grid, checked: every axis's edges finite and increasing.
    pub fn checked_grid(&self) -> Result<(Vec<Vec<f64>>, Vec<String>)> {
        let (edges, names) = self.grid()?;
        if edges.is_empty() || edges.len() > 4 {
            return Err(self.bad(format!("{} grid axes (1 to 4 expected)", edges.len())));
        }
        for (k, e) in edges.iter().enumerate() {
            let ok = e.len() >= 2
                && e.iter().all(|v| v.is_finite())
                && e.windows(2).all(|w| w[1] > w[0]);
            if !ok {
                return Err(self.bad(format!(
                    "grid/edges_{k} is not an increasing list of at least two finite edges"
                )));
            }
        }
        Ok((edges, names))
    }

    /// A series of times, checked: finite and increasing.
    pub fn checked_times(&self, path: &str) -> Result<Vec<f64>> {
        let t = self.series(path)?;
        if !t.iter().all(|v| v.is_finite()) || !t.windows(2).all(|w| w[1] > w[0]) {
            return Err(self.bad(format!("{path} is not an increasing list of finite times")));
        }
        Ok(t)
    }

    /// A series of `t` values, one per time (empty when `t` is 0 and the
    /// series is absent).
    pub fn checked_series(&self, path: &str, t: usize) -> Result<Vec<f64>> {
        let v = self.series(path)?;
        if v.len() != t {
            return Err(self.bad(format!(
                "{path} holds {} values where its group's time holds {t}",
                v.len()
            )));
        }
        Ok(v)
    }

    /// The `t` rows of a field on the grid (`cells` values each, finite).
    pub fn checked_fields(
        &self,
        group: &str,
        name: &str,
        t: usize,
        cells: usize,
    ) -> Result<Vec<Vec<f64>>> {
        let rows = self.rows(group, name, t)?;
        for (i, row) in rows.iter().enumerate() {
            self.check_field(group, name, i, row, cells)?;
        }
        Ok(rows)
    }

    /// Snapshot `i` of the `t` of [`Reader::checked_fields`], read and
    /// checked alone (a run continued from it needs no other).
    pub fn checked_field(
        &self,
        group: &str,
        name: &str,
        t: usize,
        i: usize,
        cells: usize,
    ) -> Result<Vec<f64>> {
        let row = self.row(group, name, t, i)?;
        self.check_field(group, name, i, &row, cells)?;
        Ok(row)
    }

    /// Refuse a snapshot `row` of `cells` numbers that is not.
    fn check_field(
        &self,
        group: &str,
        name: &str,
        i: usize,
        row: &[f64],
        cells: usize,
    ) -> Result<()> {
        if row.len() != cells {
            return Err(self.bad(format!(
                "{group}/{name} holds {} values at snapshot {i}, but the grid has {cells} cells",
                row.len()
            )));
        }
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(self.bad(format!("{group}/{name} holds {v} at snapshot {i}")));
        }
        Ok(())
    }
}

impl PdeFile {
    /// Read a finished or interrupted file (its `/pde` group may be absent:
    /// then the series are empty), checking its format, grid, times and
    /// densities (shape and finiteness).
    pub fn read(path: &Path) -> Result<Self> {
        let r = Reader::open(path)?;
        r.check_format()?;
        let time = r.checked_times("pde/time")?;
        let (edges, axis_names) = r.checked_grid()?;
        let cells: usize = edges.iter().map(|e| e.len() - 1).product();
        let history = r.history_group()?;
        let history_time = r.checked_times(&format!("{history}/time"))?;
        let density = if time.is_empty() {
            Vec::new()
        } else {
            r.checked_fields("pde", "density", time.len(), cells)?
        };
        Ok(PdeFile {
            format: r.root_attr("format")?,
            status: r.root_attr("status")?,
            problem: r.root_attr("problem")?,
            edges,
            axis_names,
            mass: r.checked_series("pde/mass", time.len())?,
            risk: r.checked_series("pde/risk", time.len())?,
            free_energy: r.checked_series("pde/free_energy", time.len())?,
            boundary_mass: r.checked_series("pde/boundary_mass", time.len())?,
            min_density: r.checked_series("pde/min_density", time.len())?,
            density,
            history_risk: r.checked_series(&format!("{history}/risk"), history_time.len())?,
            history_free_energy: r
                .checked_series(&format!("{history}/free_energy"), history_time.len())?,
            history_time,
            time,
        })
    }
}
