//! **HDF5 results**, written with the pure-Rust `hdf5-pure` crate: a leaf
//! that writes and reads groups of named arrays it is handed, and knows
//! nothing of the solver. What goes where is decided by
//! [`crate::output`]; the layout (format `mfpde-1`) is in the README.
//!
//! Crash safety: a file is first written whole (atomically, through a
//! rename) with the problem and the grid ([`file::create_file`]); each
//! snapshot then appends in place to a group's rank-1 series and adds its
//! rank-≥2 arrays as datasets of their own under `<group>/snapshots/`
//! (adding objects in place is crash-atomic in hdf5-pure;
//! [`group::GroupWriter`]). At the end they are folded into `<group>/<name>`
//! [T, …] and the root attribute `status` turns from `running` to
//! `complete` ([`file::mark_complete`]). A killed run leaves a readable file
//! with `status = running`; [`read::Reader`] reads both forms.

pub mod file;
pub mod group;
pub mod read;

pub use file::{create_file, mark_complete, mark_failed, FileHeader, FORMAT};
pub use group::{Array, GroupWriter};
pub use read::{PdeFile, Reader};
