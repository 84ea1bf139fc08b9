//! **The crate's error type.** Every failure a user can cause names the field,
//! the value and what is allowed; the binary prints it and exits non-zero.

use std::fmt;

/// The first of named values that is not finite, as "name = value" (a
/// guard's message: a diagnostic that overflowed, or a NaN).
pub fn first_non_finite<'a>(
    values: impl IntoIterator<Item = (&'a str, &'a [f64])>,
) -> Option<String> {
    values.into_iter().find_map(|(name, v)| {
        v.iter()
            .find(|x| !x.is_finite())
            .map(|x| format!("{name} = {x}"))
    })
}

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
    /// A run stopped by a guard (NaN, a negative density, a collapsing Δt,
    /// a step budget): what, where and when.
    Run(String),
    /// A run stopped because its caller asked (Ctrl-C in Python, a
    /// progress callback that raised): where, and where its running file
    /// is (it stays, resumable).
    Interrupted(String),
}

impl Error {
    /// Shorthand for [`Error::Problem`] (a numeric value of extreme size is
    /// shown in scientific notation).
    pub fn problem(
        field: impl Into<String>,
        value: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        let value = value.to_string();
        let value = match value.parse::<f64>() {
            Ok(x) if value.len() > 16 => num(x),
            _ => value,
        };
        Error::Problem {
            field: field.into(),
            value,
            allowed: allowed.into(),
        }
    }

    /// The same error with every mention of `from` (a temporary file)
    /// replaced by `to` (the user's path).
    pub fn renamed(self, from: &std::path::Path, to: &std::path::Path) -> Self {
        let (f, t) = (from.display().to_string(), to.display().to_string());
        let fix = |s: String| s.replace(&f, &t);
        match self {
            Error::Io { path, message } => Error::Io {
                path: fix(path),
                message: fix(message),
            },
            Error::Hdf5(m) => Error::Hdf5(fix(m)),
            Error::Run(m) => Error::Run(fix(m)),
            Error::Interrupted(m) => Error::Interrupted(fix(m)),
            other => other,
        }
    }

    /// The same error with a sentence added.
    pub fn note(self, text: &str) -> Self {
        match self {
            Error::Run(m) => Error::Run(format!("{m}; {text}")),
            Error::Io { path, message } => Error::Io {
                path,
                message: format!("{message}; {text}"),
            },
            Error::Hdf5(m) => Error::Hdf5(format!("{m}; {text}")),
            Error::Interrupted(m) => Error::Interrupted(format!("{m}; {text}")),
            other => other,
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
            Error::Run(m) => write!(f, "the run stopped: {m}"),
            Error::Interrupted(m) => write!(f, "interrupted: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<hdf5_pure::Error> for Error {
    fn from(e: hdf5_pure::Error) -> Self {
        Error::Hdf5(e.to_string())
    }
}

/// A number for a message: as written when it is of moderate size, else in
/// scientific notation (1e300, not three hundred digits).
pub fn num(x: f64) -> String {
    if x == 0.0 || (1e-4..1e7).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// A number to five significant digits, as [`num`] shows it (0.1 for
/// 0.09999999999999998).
pub fn sig(x: f64) -> String {
    num(format!("{x:.4e}").parse().unwrap_or(x))
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
