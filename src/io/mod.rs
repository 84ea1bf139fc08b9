//! **Input and output**: HDF5 results.

pub mod hdf5;
