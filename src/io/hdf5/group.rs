//! **A running file's groups**, as the HDF5 store keeps them: rank-1
//! series appended in place (chunked, unlimited), and each snapshot's
//! arrays as datasets of their own, `<group>/snapshots/<name>_NNNNN`, or
//! in parts of rows `<name>_NNNNN_part_PPPP` (adding objects in place is
//! crash-atomic in hdf5-pure).

use super::file::open_rw;
use crate::error::Result;
use hdf5_pure::{File, MaxExtent};
use std::path::Path;

/// Create `path` as an appendable rank-1 series holding `values`.
pub fn create_series(root: &hdf5_pure::Group, path: &str, values: &[f64]) -> Result<()> {
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

/// Add the array `data` of `shape` at `path` (in the open session).
pub fn put_array(root: &hdf5_pure::Group, path: &str, shape: &[u64], data: &[f64]) -> Result<()> {
    root.create_dataset(path, |b| {
        b.with_f64_data(data).with_shape(shape);
    })
    .map_err(|e| {
        crate::Error::Hdf5(format!(
            "{path} (shape {shape:?}, {} values): {e}",
            data.len()
        ))
    })?;
    Ok(())
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
    let file = open_rw(path)?;
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
        // a snapshot written in parts may have stopped part-way: its parts
        // go as the whole snapshots after it
        let mut i = keep;
        loop {
            let held = snapshot_datasets(&file, group, name, i);
            if held.is_empty() {
                break;
            }
            for d in held {
                root.delete(&d)?;
            }
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
/// the rows whose time is at most `until`; returns the rows kept.
pub fn truncate_rows(path: &Path, group: &str, names: &[&str], until: f64) -> Result<usize> {
    let file = open_rw(path)?;
    let Ok(time) = file
        .dataset(&format!("{group}/time"))
        .and_then(|d| d.read_f64())
    else {
        file.close()?;
        return Ok(0);
    };
    let keep = time.iter().take_while(|t| **t <= until).count();
    file.close()?;
    truncate(path, group, names, &[], keep)?;
    Ok(keep)
}

/// The name of snapshot i of array `name` in a running file's group.
pub fn snapshot_name(name: &str, i: usize) -> String {
    format!("snapshots/{name}_{i:05}")
}

/// The name of part p of snapshot i of array `name`, when the snapshot is
/// written in parts (rows of its first axis in order: a run split over
/// ranks writes each rank's slab as it arrives).
pub fn part_name(name: &str, i: usize, p: usize) -> String {
    format!("snapshots/{name}_{i:05}_part_{p:04}")
}

/// The datasets that hold snapshot i of array `name` of `group`, in order:
/// the snapshot's own, or its parts (none when it is not written).
pub fn snapshot_datasets(file: &File, group: &str, name: &str, i: usize) -> Vec<String> {
    let whole = format!("{group}/{}", snapshot_name(name, i));
    if file.dataset(&whole).is_ok() {
        return vec![whole];
    }
    (0..)
        .map(|p| format!("{group}/{}", part_name(name, i, p)))
        .take_while(|d| file.dataset(d).is_ok())
        .collect()
}

/// [`snapshot_datasets`], or the message naming the snapshot when the file
/// holds neither it nor its parts.
pub fn snapshot_held(
    file: &File,
    group: &str,
    name: &str,
    i: usize,
) -> std::result::Result<Vec<String>, String> {
    let held = snapshot_datasets(file, group, name, i);
    if held.is_empty() {
        let p = format!("{group}/{}", snapshot_name(name, i));
        return Err(format!("no {p} (nor its parts)"));
    }
    Ok(held)
}
