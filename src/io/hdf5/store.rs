//! **The HDF5 store**: a run's results appended to a running file as it
//! goes, crash-safe, then written once as the complete file.
//!
//! - [`Hdf5Store::create`] writes the running file whole (root attributes,
//!   grid) and renames it into place.
//! - Each snapshot is one commit: its series grow in place, its arrays are
//!   added as `<group>/snapshots/<name>_NNNNN` (an array given in parts,
//!   [`Store::append_parts`], as `<name>_NNNNN_part_PPPP`, each part in a
//!   commit of its own before the snapshot's), the rows of the light
//!   history kept since the last snapshot go into the same commit, and so
//!   does the state a run continues from when its snapshot does not hold it
//!   (`<group>/checkpoint/theta_<k mod 2>`: two slots, so that the previous
//!   snapshot's survives a run killed between two groups' commits). A killed
//!   run leaves a readable file with `status = "running"`.
//! - [`Hdf5Store::reopen`] continues a running file after its first k
//!   snapshots, each group cut back to them.
//! - [`Store::complete`] reads the running file back through the groups'
//!   layouts (what each group declared) and writes the complete file once,
//!   with named dimensions ([`super::netcdf`]), over the running file: its
//!   snapshot arrays streamed from the running file a block of rows at a
//!   time ([`Completion`]).

use super::file::open_rw;
use super::group::{
    append_series, part_name, put_array, snapshot_held, snapshot_name, truncate, truncate_rows,
};
use super::netcdf::{SnapshotRows, Source, ROWS_BYTES};
use crate::error::{Error, Result};
use crate::io::store::{Attr, Group, Header, Parts, Results, Store, Var, VarSpec};
use hdf5_pure::{AttrValue, File};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a group's state is kept at snapshot `k` when its snapshots do not
/// hold it.
pub fn checkpoint_name(group: &str, k: usize) -> String {
    format!("{group}/checkpoint/theta_{}", k % 2)
}

/// How a group is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Snapshots,
    Rows,
    Whole,
}

/// What the store knows of a group: enough to read it back whole.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    kind: Kind,
    attrs: Vec<(String, Attr)>,
    constants: Vec<VarSpec>,
    record: Vec<VarSpec>,
    /// Snapshots (or rows) written.
    count: usize,
}

/// A group's layout, as [`Hdf5Store::reopen`] needs it: the specs of its
/// snapshots (or rows), from an empty record of the group.
#[derive(Debug, Clone)]
pub struct Layout {
    pub group: &'static str,
    pub record: Vec<VarSpec>,
    /// A group of rows in time (the light history), cut back by time
    /// rather than by snapshot.
    pub rows: bool,
}

/// Results appended to a running HDF5 file.
pub struct Hdf5Store {
    path: PathBuf,
    header: Header,
    entries: Vec<Entry>,
    /// Rows given since the last commit: (group, specs, one vector per row).
    pending: Vec<(String, Vec<VarSpec>, Vec<Vec<f64>>)>,
    completion: Completion,
}

/// How the complete file gets a running file's snapshot arrays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Completion {
    /// Read back in blocks of rows of about `block_bytes` while the file
    /// is written (at least one row per block).
    Streamed { block_bytes: u64 },
    /// Read into memory whole first.
    Whole,
}

fn to_attr(a: &Attr) -> AttrValue {
    match a {
        Attr::Str(s) => AttrValue::String(s.clone()),
        Attr::F64(v) => AttrValue::F64(*v),
        Attr::U64(v) => AttrValue::U64(*v),
    }
}

impl Hdf5Store {
    /// Create the running file at `path` (problem, grid), status `running`.
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        super::file::create_file(path, header)?;
        Ok(Hdf5Store {
            path: path.to_path_buf(),
            header: header.clone(),
            entries: Vec::new(),
            pending: Vec::new(),
            completion: Completion::Streamed {
                block_bytes: ROWS_BYTES,
            },
        })
    }

    /// Continue the running file at `path` after its first `keep`
    /// snapshots: every group of `layouts` is cut back to them (a group of
    /// rows to the rows up to time `until`), and a group added again
    /// ([`Store::add_group`]) is taken as it is.
    pub fn reopen(
        path: &Path,
        header: &Header,
        layouts: &[Layout],
        keep: usize,
        until: f64,
    ) -> Result<Self> {
        let mut entries = Vec::new();
        let file = File::open_streaming(path)?;
        let present: Vec<bool> = layouts
            .iter()
            .map(|l| file.group(l.group).is_ok())
            .collect();
        file.close()?;
        for (l, _) in layouts.iter().zip(present).filter(|(_, p)| *p) {
            let series: Vec<&str> = names(&l.record, true);
            let count = if l.rows {
                truncate_rows(path, l.group, &series, until)?
            } else {
                truncate(path, l.group, &series, &names(&l.record, false), keep)?;
                keep
            };
            entries.push(Entry {
                path: l.group.to_string(),
                kind: if l.rows { Kind::Rows } else { Kind::Snapshots },
                attrs: Vec::new(),
                constants: Vec::new(),
                record: l.record.clone(),
                count,
            });
        }
        Ok(Hdf5Store {
            path: path.to_path_buf(),
            header: header.clone(),
            entries,
            pending: Vec::new(),
            completion: Completion::Streamed {
                block_bytes: ROWS_BYTES,
            },
        })
    }

    /// The running file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn entry(&mut self, group: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.path == group)
    }

    /// The snapshot shape of an array (without its time axis).
    fn snapshot_shape(&self, var: &Var) -> Result<Vec<u64>> {
        let n = var.value.numbers().len();
        let shape = self.header.dims.shape(&var.spec, n)?;
        Ok(shape[1..].iter().map(|&s| s as u64).collect())
    }

    /// Write the rows kept since the last commit (in `file`'s session).
    fn flush_rows(&mut self, file: &File) -> Result<()> {
        for (group, specs, rows) in std::mem::take(&mut self.pending) {
            let first = self.entry(&group).map_or(0, |e| e.count);
            if first == 0 && file.group(&group).is_err() {
                file.root().create_group(&group)?;
            }
            for (c, spec) in specs.iter().enumerate() {
                let vals: Vec<f64> = rows.iter().map(|r| r[c]).collect();
                append_series(file, &format!("{group}/{}", spec.name), &vals, first == 0)?;
            }
            if let Some(e) = self.entry(&group) {
                e.count += rows.len();
            }
        }
        Ok(())
    }

    /// Read group `e` back from the running file: its series and constants
    /// whole; each snapshot array as its shape and, in `streamed`, the
    /// source that reads its snapshots back in blocks when the complete
    /// file is written (or whole, when `streamed` is `None`).
    fn read_group(
        &self,
        file: &File,
        e: &Entry,
        mut streamed: Option<(&mut BTreeMap<String, Source>, u64)>,
    ) -> Result<Group> {
        let dims = &self.header.dims;
        let read = |name: &str| -> Result<Vec<f64>> {
            Ok(file.dataset(&format!("{}/{name}", e.path))?.read_f64()?)
        };
        let mut vars = Vec::new();
        let fields = e.constants.len();
        for (i, spec) in e.constants.iter().chain(&e.record).enumerate() {
            let snapshots = e.kind == Kind::Snapshots && i >= fields && !spec.is_series();
            let mut v = match (snapshots, streamed.as_mut()) {
                (true, Some((streamed, block_bytes))) => {
                    // each snapshot's dataset, or its parts, in order
                    let mut datasets = Vec::new();
                    let mut numbers = 0u64;
                    for k in 0..e.count {
                        let held =
                            snapshot_held(file, &e.path, spec.name, k).map_err(Error::Hdf5)?;
                        for d in &held {
                            numbers += file.dataset(d)?.shape()?.iter().product::<u64>();
                        }
                        datasets.extend(held);
                    }
                    let source = SnapshotRows {
                        file: self.path.clone(),
                        datasets,
                        integer: spec.integer,
                        block_bytes: *block_bytes,
                    };
                    streamed.insert(format!("{}/{}", e.path, spec.name), Arc::new(source));
                    crate::io::store::declared(dims, spec, numbers as usize)?
                }
                (true, None) => {
                    let mut all = Vec::new();
                    for k in 0..e.count {
                        for d in snapshot_held(file, &e.path, spec.name, k).map_err(Error::Hdf5)? {
                            all.extend(file.dataset(&d)?.read_f64()?);
                        }
                    }
                    crate::io::store::variable(dims, &Var::array(*spec, &all))?
                }
                (false, _) => {
                    crate::io::store::variable(dims, &Var::array(*spec, &read(spec.name)?))?
                }
            };
            if e.kind != Kind::Whole
                && i >= fields
                && spec.dims.first() == Some(&crate::io::store::Dim::Time)
            {
                v.shape[0] = e.count;
            }
            vars.push(v);
        }
        Ok(Group {
            path: e.path.clone(),
            attrs: e.attrs.clone(),
            vars,
        })
    }
}

/// The names of the series (or of the other variables) of a record.
fn names(record: &[VarSpec], series: bool) -> Vec<&'static str> {
    record
        .iter()
        .filter(|s| s.is_series() == series)
        .map(|s| s.name)
        .collect()
}

impl Store for Hdf5Store {
    fn add_group(&mut self, group: &str, attrs: &[(&str, Attr)], constants: &[Var]) -> Result<()> {
        self.add(group, attrs, constants, Kind::Snapshots)
    }

    fn append(&mut self, group: &str, vars: &[Var], state: Option<&[f64]>) -> Result<()> {
        let record = vars.iter().map(|v| v.spec).collect();
        self.append_snapshot(group, vars, record, state)
    }

    fn append_parts(
        &mut self,
        group: &str,
        vars: &[Var],
        (at, field): (usize, VarSpec),
        parts: &mut dyn Parts,
    ) -> Result<()> {
        let k = self.count_of(group)?;
        // the field's shape: its rows are the parts' (a grid's first axis)
        let full = self.header.dims.shape(&field, parts.len())?;
        let row: usize = full[2..].iter().product::<usize>().max(1);
        let path = self.path.clone();
        let mut p = 0;
        // each part in a commit of its own: one part in memory at a time; a
        // run killed part-way leaves the snapshot's parts without its
        // series, so the snapshot is not counted, and a reopened file cuts
        // them away as a later snapshot's
        parts.each(&mut |values| {
            let mut shape = vec![(values.len() / row) as u64];
            shape.extend(full[2..].iter().map(|&n| n as u64));
            let file = open_rw(&path)?;
            put_array(
                &file.root(),
                &format!("{group}/{}", part_name(field.name, k, p)),
                &shape,
                values,
            )?;
            file.commit()?;
            file.close()?;
            p += 1;
            Ok(())
        })?;
        let mut record: Vec<VarSpec> = vars.iter().map(|v| v.spec).collect();
        record.insert(at, field);
        self.append_snapshot(group, vars, record, None)
    }

    fn append_rows(&mut self, group: &str, rows: &[Vec<Var>]) -> Result<()> {
        self.keep_rows(group, rows)
    }

    fn add_whole(&mut self, group: &str, attrs: &[(&str, Attr)], vars: &[Var]) -> Result<()> {
        self.add(group, attrs, vars, Kind::Whole)
    }

    fn complete(&mut self) -> Result<()> {
        self.write_complete()
    }
}

impl Hdf5Store {
    /// Add (or, reopened, take as it is) a group with its attributes and
    /// constants.
    fn add(
        &mut self,
        group: &str,
        attrs: &[(&str, Attr)],
        constants: &[Var],
        kind: Kind,
    ) -> Result<()> {
        let owned: Vec<(String, Attr)> = attrs
            .iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect();
        let specs: Vec<VarSpec> = constants.iter().map(|v| v.spec).collect();
        if let Some(e) = self.entry(group) {
            // a reopened group: written already
            e.attrs = owned;
            e.constants = specs;
            return Ok(());
        }
        let file = open_rw(&self.path)?;
        let g = file.root().create_group(group)?;
        if kind == Kind::Snapshots {
            g.create_group("snapshots")?;
        }
        for (name, value) in attrs {
            g.set_attr(name, to_attr(value))?;
        }
        for c in constants {
            let n = c.value.numbers();
            let shape: Vec<u64> = self
                .header
                .dims
                .shape(&c.spec, n.len())?
                .iter()
                .map(|&s| s as u64)
                .collect();
            put_array(&g, c.spec.name, &shape, n)?;
        }
        file.commit()?;
        file.close()?;
        self.entries.push(Entry {
            path: group.to_string(),
            kind,
            attrs: owned,
            constants: specs,
            record: Vec::new(),
            count: 0,
        });
        Ok(())
    }

    /// The snapshots of `group` written so far.
    fn count_of(&mut self, group: &str) -> Result<usize> {
        self.entry(group)
            .map(|e| e.count)
            .ok_or_else(|| Error::Hdf5(format!("no group {group} to append to")))
    }

    /// One snapshot in one commit, with the rows kept since the last;
    /// `record` is the group's layout (`vars`' specs, and any array written
    /// in parts before).
    fn append_snapshot(
        &mut self,
        group: &str,
        vars: &[Var],
        record: Vec<VarSpec>,
        state: Option<&[f64]>,
    ) -> Result<()> {
        let k = self.count_of(group)?;
        let file = open_rw(&self.path)?;
        let root = file.root();
        for v in vars {
            let path = format!("{group}/{}", v.spec.name);
            if v.spec.is_series() {
                append_series(&file, &path, v.value.numbers(), k == 0)?;
            } else {
                let shape = self.snapshot_shape(v)?;
                let p = format!("{group}/{}", snapshot_name(v.spec.name, k));
                put_array(&root, &p, &shape, v.value.numbers())?;
            }
        }
        self.flush_rows(&file)?;
        if let Some(state) = state {
            // the whole state, replacing the slot's older copy in this commit
            let slot = checkpoint_name(group, k);
            if file.group(&format!("{group}/checkpoint")).is_err() {
                root.create_group(&format!("{group}/checkpoint"))?;
            }
            if file.dataset(&slot).is_ok() {
                root.delete(&slot)?;
            }
            put_array(&root, &slot, &[state.len() as u64], state)?;
        }
        file.commit()?;
        file.close()?;
        let e = self.entry(group).expect("the group exists");
        e.count += 1;
        if e.record.is_empty() {
            e.record = record;
        }
        Ok(())
    }

    /// Keep rows for the next commit.
    fn keep_rows(&mut self, group: &str, rows: &[Vec<Var>]) -> Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let specs: Vec<VarSpec> = first.iter().map(|v| v.spec).collect();
        if self.entry(group).is_none() {
            self.entries.push(Entry {
                path: group.to_string(),
                kind: Kind::Rows,
                attrs: Vec::new(),
                constants: Vec::new(),
                record: specs.clone(),
                count: 0,
            });
        }
        let values = rows
            .iter()
            .map(|r| r.iter().map(|v| v.value.numbers()[0]).collect())
            .collect();
        match self.pending.iter_mut().find(|p| p.0 == group) {
            Some(p) => p.2.extend(values),
            None => self.pending.push((group.to_string(), specs, values)),
        }
        Ok(())
    }

    /// Read the running file back and write the complete file over it:
    /// the snapshot arrays streamed from the running file, block by block
    /// (`whole`: read into memory first, the reference the streamed file
    /// is tested against).
    fn write_complete(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let file = open_rw(&self.path)?;
            self.flush_rows(&file)?;
            file.commit()?;
            file.close()?;
        }
        let file = File::open_streaming(&self.path)?;
        let mut results = Results::new(&self.header);
        let mut streamed = BTreeMap::new();
        for e in &self.entries {
            let into = match self.completion {
                Completion::Whole => None,
                Completion::Streamed { block_bytes } => Some((&mut streamed, block_bytes)),
            };
            results.groups.push(self.read_group(&file, e, into)?);
        }
        file.close()?;
        results.set_attr("status", Attr::Str("complete".into()));
        super::netcdf::write_streamed(&self.path, results, streamed)
    }

    /// How [`Store::complete`] writes the complete file: the default
    /// streams each snapshot array from the running file in blocks of
    /// [`super::netcdf::ROWS_BYTES`]; `Completion::Whole` (every array read
    /// into memory first) is the reference the streamed file is tested
    /// against.
    pub fn completion(mut self, how: Completion) -> Self {
        self.completion = how;
        self
    }
}
