//! **Input and output**: HDF5 results and PNG plots.

pub mod hdf5;
pub mod plot;
