//! **The complete file, written whole**, with named dimensions: every
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

use crate::error::{Error, Result};
use crate::io::store::{Attr, Group, Results};
use hdf5_writer::{AttributeBuilder as A, DatasetBuilder as D, Hdf5Builder, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;

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

/// A variable's numbers as the dataset's little-endian bytes, the numbers
/// dropped (so a file's data is held once, not twice, while it is planned).
fn f64_bytes(data: Vec<f64>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 * data.len());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// A count's numbers as 64-bit integers' little-endian bytes.
fn i64_bytes(data: Vec<f64>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 * data.len());
    for v in data {
        bytes.extend_from_slice(&(v as i64).to_le_bytes());
    }
    bytes
}

/// The complete file's bytes. The results are consumed variable by
/// variable: the peak is the planned data and the encoded file, about
/// twice the file's size.
pub fn encode(mut r: Results) -> Result<Vec<u8>> {
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
            let mut d = match v.integer {
                true => D::typed::<i64>(&path, shape).raw_data(i64_bytes(v.data)),
                false => D::typed::<f64>(&path, shape).raw_data(f64_bytes(v.data)),
            };
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
    b.into_plan()
        .and_then(|p| p.encode(WriteOptions::default()))
        .map_err(h5)
}

/// Write `r` whole to `path`: first to `path.partial`, then renamed into
/// place, so the file at `path` is never half-written.
pub fn write(path: &Path, r: Results) -> Result<()> {
    let bytes = encode(r)?;
    let tmp = path.with_extension("h5.partial");
    std::fs::write(&tmp, bytes).map_err(|e| super::file::io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| super::file::io_err(path, e))
}
