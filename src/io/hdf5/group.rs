//! **A group written snapshot by snapshot**: named rank-1 series appended in
//! place, named arrays added as `<group>/snapshots/<name>_NNNNN` and folded
//! into `<group>/<name>` [T, …] at the end.

use crate::error::Result;
use hdf5_pure::{AttrValue, File, MaxExtent};
use std::path::{Path, PathBuf};

/// A named array: its shape (without a leading snapshot axis) and values.
#[derive(Debug, Clone, Copy)]
pub struct Array<'a> {
    pub name: &'a str,
    pub shape: &'a [u64],
    pub data: &'a [f64],
}

impl<'a> Array<'a> {
    /// A rank-1 array of its values' length.
    pub fn vector(name: &'a str, data: &'a [f64]) -> Self {
        Array {
            name,
            shape: &[],
            data,
        }
    }

    fn write(&self, group: &hdf5_pure::Group, path: &str) -> Result<()> {
        let n = [self.data.len() as u64];
        let shape = if self.shape.is_empty() {
            &n
        } else {
            self.shape
        };
        group.create_dataset(path, |b| {
            b.with_f64_data(self.data).with_shape(shape);
        })?;
        Ok(())
    }
}

/// Create `path` as an appendable rank-1 series holding `values`.
fn create_series(root: &hdf5_pure::Group, path: &str, values: &[f64]) -> Result<()> {
    root.create_dataset(path, |b| {
        b.with_f64_data(values)
            .with_shape(&[values.len() as u64])
            .with_maxshape(&[MaxExtent::Unlimited])
            .with_chunks(&[64]);
    })?;
    Ok(())
}

/// Append `values` to the rank-1 series at `path`, creating it when `new`.
pub fn append_series(file: &File, path: &str, values: &[f64], new: bool) -> Result<()> {
    if new {
        create_series(&file.root(), path, values)
    } else {
        file.dataset(path)?.append_staged(|a| {
            a.append_f64(values);
        })?;
        Ok(())
    }
}

/// Writes one group of a results file snapshot by snapshot.
pub struct GroupWriter {
    path: PathBuf,
    group: String,
    /// The arrays' names and shapes (from the first snapshot).
    arrays: Vec<(String, Vec<u64>)>,
    snapshots: usize,
    /// Folded already (a resumed run found the group finished).
    finished: bool,
}

impl GroupWriter {
    /// Add group `group` to the file at `path`, with its attributes and its
    /// constant arrays, in one commit.
    pub fn add(
        path: &Path,
        group: &str,
        attrs: &[(&str, AttrValue)],
        constants: &[Array],
    ) -> Result<Self> {
        let file = File::open_rw(path)?;
        let g = file.root().create_group(group)?;
        g.create_group("snapshots")?;
        for (name, value) in attrs {
            g.set_attr(name, value.clone())?;
        }
        for a in constants {
            a.write(&g, a.name)?;
        }
        file.commit()?;
        file.close()?;
        Ok(GroupWriter {
            path: path.to_path_buf(),
            group: group.to_string(),
            arrays: Vec::new(),
            snapshots: 0,
            finished: false,
        })
    }

    /// Continue writing group `group` of the file at `path` after its first
    /// `done` snapshots, with its arrays' names and shapes; a group already
    /// folded (its arrays under `<group>/<name>`) is not folded again.
    pub fn reopen(
        path: &Path,
        group: &str,
        done: usize,
        arrays: Vec<(String, Vec<u64>)>,
    ) -> Result<Self> {
        let file = File::open(path)?;
        let finished = arrays
            .first()
            .is_some_and(|(name, _)| file.dataset(&format!("{group}/{name}")).is_ok());
        Ok(GroupWriter {
            path: path.to_path_buf(),
            group: group.to_string(),
            arrays,
            snapshots: done,
            finished,
        })
    }

    /// Snapshots written.
    pub fn snapshots(&self) -> usize {
        self.snapshots
    }

    /// The file's path.
    pub fn file_path(&self) -> &Path {
        &self.path
    }

    /// One snapshot, in one commit: a value per named series, each named
    /// array (the same names and shapes at every snapshot); `extra` may
    /// stage more edits in the same commit.
    pub fn snapshot(
        &mut self,
        series: &[(&str, f64)],
        arrays: &[Array],
        extra: impl FnOnce(&File) -> Result<()>,
    ) -> Result<()> {
        let file = File::open_rw(&self.path)?;
        for (name, v) in series {
            let path = format!("{}/{name}", self.group);
            append_series(&file, &path, &[*v], self.snapshots == 0)?;
        }
        if self.snapshots == 0 {
            self.arrays = arrays
                .iter()
                .map(|a| (a.name.to_string(), a.shape.to_vec()))
                .collect();
        }
        let root = file.root();
        for a in arrays {
            a.write(&root, &self.snapshot_path(a.name, self.snapshots))?;
        }
        extra(&file)?;
        file.commit()?;
        file.close()?;
        self.snapshots += 1;
        Ok(())
    }

    fn snapshot_path(&self, name: &str, i: usize) -> String {
        format!("{}/{}", self.group, snapshot_name(name, i))
    }

    /// Fold the snapshot arrays into `<group>/<name>` [T, …] and drop
    /// `<group>/snapshots`; `extra` may stage more edits in the same commit.
    pub fn finish(&mut self, extra: impl FnOnce(&File) -> Result<()>) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        let file = File::open_rw(&self.path)?;
        extra(&file)?;
        let root = file.root();
        for (name, shape) in &self.arrays {
            let mut all = Vec::new();
            for i in 0..self.snapshots {
                all.extend(file.dataset(&self.snapshot_path(name, i))?.read_f64()?);
            }
            let mut full = vec![self.snapshots as u64];
            if shape.is_empty() {
                full.push((all.len() / self.snapshots.max(1)) as u64);
            } else {
                full.extend(shape);
            }
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

/// Cut the snapshots of group `group` back to its first `keep`, in one
/// commit: each named rank-1 series to `keep` values, the arrays of later
/// snapshots removed. (A run killed between the commits of its groups
/// leaves one group a snapshot ahead of another.)
pub fn truncate(
    path: &Path,
    group: &str,
    series: &[&str],
    arrays: &[&str],
    keep: usize,
) -> Result<()> {
    let file = File::open_rw(path)?;
    let root = file.root();
    let mut changed = false;
    for name in series {
        let p = format!("{group}/{name}");
        let Ok(ds) = file.dataset(&p) else { continue };
        let values = ds.read_f64()?;
        if values.len() > keep {
            root.delete(&p)?;
            create_series(&root, &p, &values[..keep])?;
            changed = true;
        }
    }
    for name in arrays {
        let mut i = keep;
        while file
            .dataset(&format!("{group}/{}", snapshot_name(name, i)))
            .is_ok()
        {
            root.delete(&format!("{group}/{}", snapshot_name(name, i)))?;
            i += 1;
            changed = true;
        }
    }
    if changed {
        file.commit()?;
    }
    file.close()?;
    Ok(())
}

/// Cut the rank-1 series `group/<name>` (rows with a `group/time`) back to
/// the rows whose time is at most `until`.
pub fn truncate_rows(path: &Path, group: &str, names: &[&str], until: f64) -> Result<()> {
    let file = File::open_rw(path)?;
    let Ok(time) = file
        .dataset(&format!("{group}/time"))
        .and_then(|d| d.read_f64())
    else {
        file.close()?;
        return Ok(());
    };
    let keep = time.iter().take_while(|t| **t <= until).count();
    file.close()?;
    truncate(path, group, names, &[], keep)
}

/// The name of snapshot i of array `name` in an unfinished group.
pub fn snapshot_name(name: &str, i: usize) -> String {
    format!("snapshots/{name}_{i:05}")
}
