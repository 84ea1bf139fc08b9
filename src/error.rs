//! **The crate's error type.** Every failure a user can cause names the field,
//! the value and what is allowed; the binary prints it and exits non-zero.

use std::fmt;

/// Errors of mfpde.
#[derive(Debug)]
pub enum Error {
    /// A problem entry is invalid: `field` (e.g. `grid.cells`), the offending
    /// `value`, and what is `allowed`.
    Problem {
        field: String,
        value: String,
        allowed: String,
    },
    /// The problem text is not valid TOML or has unknown keys.
    Parse(String),
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// The HDF5 layer refused an operation.
    Hdf5(String),
}

impl Error {
    /// Shorthand for [`Error::Problem`].
    pub fn problem(
        field: impl Into<String>,
        value: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Error::Problem {
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// The name of the offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Problem { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Problem {
                field,
                value,
                allowed,
            } => write!(f, "invalid `{field}` = {value}: {allowed}"),
            Error::Parse(m) => write!(f, "cannot parse problem: {m}"),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Hdf5(m) => write!(f, "HDF5: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<hdf5_pure::Error> for Error {
    fn from(e: hdf5_pure::Error) -> Self {
        Error::Hdf5(e.to_string())
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
