//! **The complete file, written once**, with named dimensions: every
//! variable carries HDF5 dimension scales (the `DIMENSION_LIST` and
//! `REFERENCE_LIST` attributes of the HDF5 Dimension Scale specification,
//! which netCDF-4 is built on), so `xarray.open_datatree(file,
//! engine="h5netcdf")` and netCDF-C open it with named dimensions and
//! coordinates, and h5py reads it as before.
//!
//! Written by the pure-Rust `hdf5-writer` crate: `hdf5-pure` 0.47, which
//! writes the running file, has no attribute whose datatype holds object
//! references (its `AttrValue` has no such variant), and its in-place
//! commits relocate object headers without repointing variable-length
//! references (its guide, "Editing", says so of `DIMENSION_LIST`), so
//! dimension scales written in place would go stale. A complete file is
//! never edited again, so it is written whole, once.
//!
//! Per group, each dimension a variable uses is a dataset of that group:
//! the variable of the same name when it is one-dimensional on it (`time`,
//! `m`, `cells`: a coordinate variable), else a coordinate written here (a
//! grid axis's cell centres, the axis names, the metric names), else a
//! netCDF "dimension but not a variable". The grid's edges stay in
//! `/grid/edges_<k>`, each its own coordinate.
//!
//! The file is streamed, not built in memory: the headers are planned
//! from the shapes, then each variable's numbers are written in address
//! order by a [`Source`], from memory or, for a running file's snapshots,
//! read back block by block from that file ([`SnapshotRows`]). So
//! completing a run holds one block of one array beside the run's small
//! variables, not the file (mfpde's vendored `hdf5-writer` has
//! `streamed_data` for this: `vendor/hdf5-writer/MFPDE.md`).

use crate::error::{Error, Result};
use crate::io::store::{Attr, Group, Results};
use hdf5_writer::{
    AttributeBuilder as A, DataSource, DatasetBuilder as D, Hdf5Builder, WriteOptions,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `NAME` of a dimension scale that is not a netCDF variable (netCDF-C's
/// text, which h5netcdf and netCDF-C recognise), for a dimension of `len`.
fn not_a_variable(len: usize) -> String {
    format!("This is a netCDF dimension but not a netCDF variable. {len:>9}")
}

fn h5(e: impl std::fmt::Display) -> Error {
    Error::Hdf5(format!("writing the complete file: {e}"))
}

/// A text attribute: a scalar variable-length UTF-8 string, which h5py
/// reads back as `str` (netCDF: NC_STRING).
fn text(name: &str, value: impl AsRef<str>) -> Result<A> {
    A::vlen_string(name, value).map_err(h5)
}

fn attribute(name: &str, value: &Attr) -> Result<A> {
    Ok(match value {
        Attr::Str(s) => text(name, s)?,
        Attr::F64(v) => A::scalar(name, *v).map_err(h5)?,
        Attr::U64(v) => A::scalar(name, *v).map_err(h5)?,
    })
}

/// A dimension scale of a group: where it is and who uses it.
struct Scale {
    path: String,
    users: Vec<(String, u32)>,
    /// Written here (not one of the group's own variables): its values.
    made: Option<Made>,
}

enum Made {
    Numbers(Vec<f64>),
    Labels(Vec<String>),
    Blank(usize),
}

/// The coordinate a dimension has of its own, if any.
fn coordinate(r: &Results, dim: &str) -> Option<Made> {
    if let Some(axis) = r.dims.grid.iter().find(|a| a.name == dim) {
        return Some(Made::Numbers(axis.centres()));
    }
    if let Some((_, labels)) = r.dims.labels.iter().find(|(d, _)| d == dim) {
        return Some(Made::Labels(labels.clone()));
    }
    let names = || r.dims.grid.iter().map(|a| a.name.clone()).collect();
    match dim {
        "axis" | "axis2" => Some(Made::Labels(names())),
        "metric" => Some(Made::Labels(r.dims.metrics.clone())),
        _ => None,
    }
}

/// The scales of a group's dimensions, keyed by dimension name.
fn scales(r: &Results, g: &Group) -> BTreeMap<String, Scale> {
    let mut out: BTreeMap<String, Scale> = BTreeMap::new();
    for v in &g.vars {
        let own = v.dims.len() == 1 && v.dims[0] == v.name;
        for (i, dim) in v.dims.iter().enumerate() {
            let scale = out.entry(dim.clone()).or_insert_with(|| {
                let mine = g.var(dim).is_some_and(|c| c.dims == [dim.clone()]);
                Scale {
                    path: format!("{}/{dim}", g.path),
                    users: Vec::new(),
                    made: (!mine).then(|| coordinate(r, dim).unwrap_or(Made::Blank(v.shape[i]))),
                }
            });
            if !own {
                scale
                    .users
                    .push((format!("{}/{}", g.path, v.name), i as u32));
            }
        }
    }
    out
}

fn scale_attrs(mut d: D, name: &str, s: &Scale, blank: bool) -> D {
    d = d.attribute(A::fixed_string("CLASS", "DIMENSION_SCALE"));
    let label = match (&s.made, blank) {
        (Some(Made::Blank(n)), _) => not_a_variable(*n),
        _ => name.to_string(),
    };
    d = d.attribute(A::fixed_string("NAME", label));
    if !s.users.is_empty() {
        d = d.attribute(A::object_reference_list("REFERENCE_LIST", s.users.clone()));
    }
    d
}

/// A dimension's coordinate written for the group (the group has no
/// variable of its name).
fn made_dataset(r: &Results, name: &str, s: &Scale) -> Result<D> {
    let shape = |n: usize| vec![n as u64];
    let d = match s.made.as_ref().expect("a made scale") {
        Made::Numbers(v) => {
            let k = r.dims.grid.iter().position(|a| a.name == name);
            let mut d = D::typed_data(&s.path, shape(v.len()), v).map_err(h5)?;
            d = d.attribute(text("long_name", format!("cell centres of axis {name}"))?);
            if let Some(k) = k {
                d = d.attribute(text("edges", format!("/grid/edges_{k}"))?);
            }
            d
        }
        Made::Labels(l) => D::vlen_string_data(&s.path, shape(l.len()), l).map_err(h5)?,
        Made::Blank(n) => D::typed_data(&s.path, shape(*n), &vec![0f32; *n]).map_err(h5)?,
    };
    Ok(scale_attrs(d, name, s, true))
}

/// Values per block of conversion to bytes.
const BLOCK: usize = 8192;

/// Write `values` as little-endian f64, or as i64 for a count.
fn put(sink: &mut dyn Write, values: &[f64], integer: bool) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(8 * BLOCK.min(values.len()));
    for block in values.chunks(BLOCK) {
        bytes.clear();
        for &v in block {
            let b = if integer {
                (v as i64).to_le_bytes()
            } else {
                v.to_le_bytes()
            };
            bytes.extend_from_slice(&b);
        }
        sink.write_all(&bytes)?;
    }
    Ok(())
}

/// A variable's numbers held in memory.
struct Held {
    data: Vec<f64>,
    integer: bool,
}

impl DataSource for Held {
    fn write_to(&self, sink: &mut dyn Write) -> std::io::Result<()> {
        put(sink, &self.data, self.integer)
    }
}

/// A variable's numbers as a running file holds them: the datasets of its
/// snapshots, in order, each read back in blocks of rows of about
/// `block_bytes`.
pub struct SnapshotRows {
    pub file: PathBuf,
    pub datasets: Vec<String>,
    pub integer: bool,
    /// The bytes of a block of rows (at least one row is read at a time).
    pub block_bytes: u64,
}

/// The bytes of one block of rows read back from a running file, by
/// default.
pub const ROWS_BYTES: u64 = 16 << 20;

impl DataSource for SnapshotRows {
    fn write_to(&self, sink: &mut dyn Write) -> std::io::Result<()> {
        let io = |e: hdf5_pure::Error| std::io::Error::other(e.to_string());
        let file = hdf5_pure::File::open_streaming(&self.file).map_err(io)?;
        for path in &self.datasets {
            let ds = file.dataset(path).map_err(io)?;
            let shape = ds.shape().map_err(io)?;
            let Some((&rows, rest)) = shape.split_first() else {
                put(sink, &ds.read_f64().map_err(io)?, self.integer)?;
                continue;
            };
            let row: u64 = rest.iter().product::<u64>().max(1);
            let block = (self.block_bytes / (8 * row)).max(1);
            let mut start = 0;
            while start < rows {
                let n = block.min(rows - start);
                put(sink, &ds.read_f64_rows(start, n).map_err(io)?, self.integer)?;
                start += n;
            }
        }
        Ok(())
    }
}

/// Where a variable's numbers come from when the file is written.
pub type Source = Arc<dyn DataSource>;

/// The complete file's plan: the results consumed variable by variable,
/// each variable's numbers a [`Source`] (`streamed`'s, by the variable's
/// path `group/name`, else its own numbers).
fn plan(
    mut r: Results,
    mut streamed: BTreeMap<String, Source>,
) -> Result<hdf5_writer::Hdf5WritePlan> {
    let mut b = Hdf5Builder::new();
    for (name, value) in &r.attrs {
        b = b.attribute(attribute(name, value)?);
    }
    for (k, axis) in r.dims.grid.iter().enumerate() {
        let path = format!("grid/edges_{k}");
        let d = D::typed_data(&path, vec![axis.edges.len() as u64], &axis.edges)
            .map_err(h5)?
            .attribute(text("name", &axis.name)?)
            .attribute(text(
                "long_name",
                format!("cell edges of axis {}", axis.name),
            )?)
            .attribute(A::fixed_string("CLASS", "DIMENSION_SCALE"))
            .attribute(A::fixed_string("NAME", format!("edges_{k}")));
        b = b.dataset(d);
    }
    let groups = std::mem::take(&mut r.groups);
    for g in groups {
        for (name, value) in &g.attrs {
            b = b.group_attribute(&g.path, attribute(name, value)?);
        }
        let scales = scales(&r, &g);
        for (name, s) in &scales {
            if s.made.is_some() {
                b = b.dataset(made_dataset(&r, name, s)?);
            }
        }
        for v in g.vars {
            let path = format!("{}/{}", g.path, v.name);
            let shape: Vec<u64> = v.shape.iter().map(|&n| n as u64).collect();
            let source = streamed.remove(&path).unwrap_or_else(|| {
                Arc::new(Held {
                    data: v.data,
                    integer: v.integer,
                })
            });
            let mut d = match v.integer {
                true => D::typed::<i64>(&path, shape),
                false => D::typed::<f64>(&path, shape),
            }
            .streamed_data(source);
            if !v.long_name.is_empty() {
                d = d.attribute(text("long_name", &v.long_name)?);
            }
            if !v.units.is_empty() {
                d = d.attribute(text("units", &v.units)?);
            }
            if v.dims.len() == 1 && v.dims[0] == v.name {
                d = scale_attrs(d, &v.name, &scales[&v.name], false);
            } else if !v.dims.is_empty() {
                let list = v
                    .dims
                    .iter()
                    .map(|n| vec![scales[n].path.clone()])
                    .collect();
                d = d.attribute(A::vlen_object_references("DIMENSION_LIST", list));
            }
            b = b.dataset(d);
        }
    }
    b.into_plan().map_err(h5)
}

/// Write `r` to `path`: first to `path.partial`, then renamed into place,
/// so the file at `path` is never half-written.
pub fn write(path: &Path, r: Results) -> Result<()> {
    write_streamed(path, r, BTreeMap::new())
}

/// The same, the numbers of the variables named in `streamed` (by path
/// `group/name`, their shapes in `r`, their data empty) written by their
/// sources.
pub fn write_streamed(path: &Path, r: Results, streamed: BTreeMap<String, Source>) -> Result<()> {
    let plan = plan(r, streamed)?;
    let tmp = path.with_extension("h5.partial");
    let io = |e| super::file::io_err(&tmp, e);
    let written = std::fs::File::create(&tmp).map_err(io).and_then(|file| {
        let mut sink = std::io::BufWriter::with_capacity(1 << 20, file);
        plan.write_streamed(&mut sink, WriteOptions::default())
            .map_err(h5)?;
        let file = sink.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    });
    if let Err(e) = written {
        // no half-written file left beside the running one
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| super::file::io_err(path, e))
}
