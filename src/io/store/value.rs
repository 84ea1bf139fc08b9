//! **Results as a value**: groups of named variables, each with its
//! dimension names, shape and numbers — the same groups and names as the
//! HDF5 file, so that a run in memory and a run on disk are one thing.

use super::{Dims, Header, DATA_DIGEST, FORMAT};

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Str(String),
    F64(f64),
    U64(u64),
}

impl Attr {
    /// The text of a string attribute (empty for a number).
    pub fn text(&self) -> &str {
        match self {
            Attr::Str(s) => s,
            _ => "",
        }
    }

    /// The number of a numeric attribute (NaN for a string).
    pub fn number(&self) -> f64 {
        match self {
            Attr::F64(v) => *v,
            Attr::U64(v) => *v as f64,
            Attr::Str(_) => f64::NAN,
        }
    }
}

/// A variable: its dimension names (the grid's axes by their own names),
/// its shape and its numbers, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub dims: Vec<String>,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub long_name: String,
    pub units: String,
    /// A count: stored as 64-bit integers.
    pub integer: bool,
}

/// A group of variables (`pde`, `particles`, `compare`, `history`, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// Its path from the root, without a leading `/`.
    pub path: String,
    pub attrs: Vec<(String, Attr)>,
    pub vars: Vec<Variable>,
}

impl Group {
    /// The variable called `name`.
    pub fn var(&self, name: &str) -> Option<&Variable> {
        self.vars.iter().find(|v| v.name == name)
    }

    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}

/// Everything a run wrote: the root attributes (`format`, `version`,
/// `problem`, `status`, `time_scale`), the grid and the other dimensions,
/// and the groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub attrs: Vec<(String, Attr)>,
    pub dims: Dims,
    pub groups: Vec<Group>,
}

impl Results {
    /// Results of `header` with no group yet, status `running`.
    pub fn new(header: &Header) -> Self {
        let s = |v: &str| Attr::Str(v.to_string());
        let mut attrs = vec![
            ("format".into(), s(FORMAT)),
            ("version".into(), s(env!("CARGO_PKG_VERSION"))),
            ("problem".into(), s(&header.problem)),
            ("status".into(), s("running")),
            ("time_scale".into(), s("mean-field time t")),
        ];
        if let Some(d) = &header.data_digest {
            attrs.push((DATA_DIGEST.into(), s(d)));
        }
        Results {
            attrs,
            dims: header.dims.clone(),
            groups: Vec::new(),
        }
    }

    /// The group at `path`.
    pub fn group(&self, path: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.path == path)
    }

    /// The group at `path`, to change it.
    pub fn group_mut(&mut self, path: &str) -> Option<&mut Group> {
        self.groups.iter_mut().find(|g| g.path == path)
    }

    /// The variable `name` of group `path`.
    pub fn var(&self, path: &str, name: &str) -> Option<&Variable> {
        self.group(path).and_then(|g| g.var(name))
    }

    /// The root attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Set the root attribute `name`.
    pub fn set_attr(&mut self, name: &str, value: Attr) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name.to_string(), value)),
        }
    }
}
