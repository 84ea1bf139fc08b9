//! **HDF5 results**: the [`Hdf5Store`] (a running file appended in place by
//! the pure-Rust `hdf5-pure` crate, crash-safe), the complete file written
//! once, streamed, with named dimensions ([`netcdf`], by `hdf5-writer`), and the
//! [`Reader`] of both. A leaf: it writes and reads the groups it is handed
//! and knows nothing of the solver; the layout is declared by the records
//! of [`crate::io::store`] and described in the README.
//!
//! Crash safety: the running file is first written whole (through a
//! rename) with the problem and the grid; each snapshot then appends in
//! place (adding objects in place is crash-atomic in hdf5-pure). A killed
//! run leaves a readable file with `status = "running"`; at the end the
//! complete file replaces it whole, `status = "complete"`.

pub mod file;
pub mod group;
pub mod netcdf;
pub mod read;
pub mod store;

pub use crate::io::store::FORMAT;
pub use file::mark_failed;
pub use read::{PdeFile, Reader};
pub use store::{checkpoint_name, Completion, Hdf5Store, Layout};
