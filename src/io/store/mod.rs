//! **The results store**: what a run writes, declared as data and written
//! through one interface.
//!
//! - A [`Record`] (a snapshot's diagnostics, a row of the light history, a
//!   row of distances) lists its variables itself: each [`Var`] carries its
//!   [`VarSpec`] (name, dimensions, long name, units) beside its value. So a
//!   group's layout is declared once, next to the diagnostics it comes
//!   from, and the writers, resume and the readers iterate over it.
//! - [`Dim`]s are the named dimensions (time, the grid's axes, …); their
//!   sizes and coordinates are in [`Dims`].
//! - A [`Store`] takes groups and their snapshots. [`MemoryStore`] keeps
//!   them as a [`Results`] value (the run as a value: what the library
//!   entry point returns); the HDF5 store ([`crate::io::hdf5::Hdf5Store`])
//!   appends them to a running file, crash-safe, and writes the complete
//!   file whole with dimension scales, which xarray and netCDF read as
//!   named dimensions with coordinates.
//!
//! Adding an output format is one file: a type that implements [`Store`].

mod memory;
mod value;

pub use memory::MemoryStore;
pub use value::{Attr, Group, Results, Variable};

use crate::error::{Error, Result};

/// The value of the root attribute `format` of results written now.
pub const FORMAT: &str = "mfpde-3";

/// A named dimension of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// Snapshots (or rows) in mean-field time; its coordinate is the
    /// group's `time`.
    Time,
    /// Every axis of the phase-space grid, in order (`a`, `w1`, … or `a`,
    /// `p1`, `r`); their coordinates are the cell centres.
    Grid,
    /// One entry per phase-space axis; its coordinate is the axis names.
    Axis,
    /// A second axis dimension (a covariance's columns).
    Axis2,
    /// The points x where f is stored.
    Point,
    /// The components of an input x.
    Input,
    /// The stored neurons.
    Neuron,
    /// The quadrature nodes x_q of E_x.
    Node,
    /// The sliced-W2 directions.
    Direction,
    /// The distances of a convergence study; its coordinate is their names.
    Metric,
    /// The numbers of neurons of a convergence study (coordinate `m`).
    M,
    /// The resolutions of a convergence study (coordinate `cells`).
    Resolution,
    /// The seeds of a convergence study (coordinate `seed`).
    Seed,
    /// A single value: a variable of this dimension alone is a true scalar
    /// (shape (), no dimension).
    Scalar,
}

impl Dim {
    /// The dimension's name (the grid's axes have their own: see
    /// [`Dims::names`]).
    pub fn name(self) -> &'static str {
        match self {
            Dim::Time => "time",
            Dim::Grid => "grid",
            Dim::Axis => "axis",
            Dim::Axis2 => "axis2",
            Dim::Point => "point",
            Dim::Input => "input",
            Dim::Neuron => "neuron",
            Dim::Node => "node",
            Dim::Direction => "direction",
            Dim::Metric => "metric",
            Dim::M => "m",
            Dim::Resolution => "cells",
            Dim::Seed => "seed",
            Dim::Scalar => "scalar",
        }
    }
}

/// How a variable is declared: its name in the group, its dimensions, a
/// long name (docs/model.md's symbols), its units ("" for none) and whether
/// it counts (steps, neurons, cells: stored as 64-bit integers; its values
/// are carried as f64, exact below 2⁵³).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarSpec {
    pub name: &'static str,
    pub dims: &'static [Dim],
    pub long_name: &'static str,
    pub units: &'static str,
    pub integer: bool,
}

impl VarSpec {
    /// A variable without units.
    pub const fn new(name: &'static str, dims: &'static [Dim], long_name: &'static str) -> Self {
        VarSpec {
            name,
            dims,
            long_name,
            units: "",
            integer: false,
        }
    }

    /// The same with units.
    pub const fn units(self, units: &'static str) -> Self {
        VarSpec { units, ..self }
    }

    /// The same, a count (stored as 64-bit integers).
    pub const fn count(self) -> Self {
        VarSpec {
            integer: true,
            ..self
        }
    }

    /// One number per snapshot (appended in place to a running file).
    pub fn is_series(&self) -> bool {
        self.dims == [Dim::Time]
    }
}

/// A variable's value at one snapshot (or a constant's).
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Scalar(f64),
    Array(&'a [f64]),
}

impl Value<'_> {
    /// The numbers, row-major.
    pub fn numbers(&self) -> &[f64] {
        match self {
            Value::Scalar(v) => std::slice::from_ref(v),
            Value::Array(a) => a,
        }
    }
}

/// A variable with its value.
#[derive(Debug, Clone, Copy)]
pub struct Var<'a> {
    pub spec: VarSpec,
    pub value: Value<'a>,
}

impl<'a> Var<'a> {
    pub fn scalar(spec: VarSpec, v: f64) -> Self {
        Var {
            spec,
            value: Value::Scalar(v),
        }
    }

    pub fn array(spec: VarSpec, a: &'a [f64]) -> Self {
        Var {
            spec,
            value: Value::Array(a),
        }
    }
}

/// What a run appends to a group at each snapshot (or row): every
/// variable of the group, with its spec, whatever the values (an empty
/// record lists the same specs: that is how resume and readers learn a
/// group's layout).
pub trait Record {
    /// The group it is written to.
    fn group(&self) -> &'static str;
    /// Its variables, in the order they are stored.
    fn vars(&self) -> Vec<Var<'_>>;
    /// The specs of its variables.
    fn specs(&self) -> Vec<VarSpec> {
        self.vars().iter().map(|v| v.spec).collect()
    }
}

/// One axis of the phase-space grid: its name and its n + 1 edges.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    pub name: String,
    pub edges: Vec<f64>,
}

impl GridAxis {
    /// The cell centres (midpoints of the edges).
    pub fn centres(&self) -> Vec<f64> {
        self.edges.windows(2).map(|e| 0.5 * (e[0] + e[1])).collect()
    }
}

/// The dimensions of a results file: the grid's axes with their edges, and
/// the sizes (and coordinate labels) of the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dims {
    pub grid: Vec<GridAxis>,
    pub point: usize,
    pub input: usize,
    pub neuron: usize,
    pub node: usize,
    pub direction: usize,
    /// The metric names of a convergence study.
    pub metrics: Vec<String>,
    pub m: usize,
    pub resolutions: usize,
    pub seeds: usize,
    /// Text coordinates of other dimensions (a study's axes whose values
    /// are not numbers): the dimension's name and its labels.
    pub labels: Vec<(String, Vec<String>)>,
}

impl Dims {
    /// The names of `dims`, the grid's axes expanded.
    pub fn names(&self, dims: &[Dim]) -> Vec<String> {
        let mut out = Vec::new();
        for d in dims {
            match d {
                Dim::Grid => out.extend(self.grid.iter().map(|a| a.name.clone())),
                Dim::Scalar => {}
                d => out.push(d.name().to_string()),
            }
        }
        out
    }

    /// The size of a dimension other than [`Dim::Grid`] and [`Dim::Time`].
    fn size(&self, d: Dim) -> usize {
        match d {
            Dim::Axis | Dim::Axis2 => self.grid.len(),
            Dim::Point => self.point,
            Dim::Input => self.input,
            Dim::Neuron => self.neuron,
            Dim::Node => self.node,
            Dim::Direction => self.direction,
            Dim::Metric => self.metrics.len(),
            Dim::M => self.m,
            Dim::Resolution => self.resolutions,
            Dim::Seed => self.seeds,
            Dim::Time | Dim::Grid | Dim::Scalar => 0,
        }
    }

    /// The shape of a variable declared `spec` holding `len` numbers: the
    /// grid's axes expanded, [`Dim::Time`] whatever the numbers leave.
    ///
    /// # Errors
    /// When `len` does not fit the declared dimensions.
    pub fn shape(&self, spec: &VarSpec, len: usize) -> Result<Vec<usize>> {
        let mut shape = Vec::new();
        let mut time_at = None;
        for d in spec.dims {
            match d {
                Dim::Grid => shape.extend(self.grid.iter().map(|a| a.edges.len() - 1)),
                Dim::Time => {
                    time_at = Some(shape.len());
                    shape.push(0);
                }
                Dim::Scalar => {}
                d => shape.push(self.size(*d)),
            }
        }
        let rest: usize = (0..shape.len())
            .filter(|i| Some(*i) != time_at)
            .map(|i| shape[i])
            .product();
        let fits = match time_at {
            Some(i) if rest > 0 => {
                shape[i] = len / rest;
                len.is_multiple_of(rest)
            }
            Some(_) => len == 0,
            None => rest == len,
        };
        if !fits {
            return Err(Error::Hdf5(format!(
                "{} holds {len} numbers, which do not fit its dimensions {:?} (sizes {shape:?})",
                spec.name,
                self.names(spec.dims)
            )));
        }
        Ok(shape)
    }
}

/// What every results file carries from the start: the problem it came
/// from (and its data set's digest) and its dimensions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// The problem TOML (after overrides).
    pub problem: String,
    /// The SHA-256 of the problem's data file, hex (root attribute
    /// [`DATA_DIGEST`]; none without a data file).
    pub data_digest: Option<String>,
    pub dims: Dims,
}

/// The root attribute naming the SHA-256 of the problem's data file.
pub const DATA_DIGEST: &str = "data_sha256";

/// Where a run's groups and snapshots go. Every method may fail (a full
/// disk); the run then stops with that error.
pub trait Store: Send {
    /// Add a group written snapshot by snapshot, with its attributes and
    /// its constant variables.
    fn add_group(&mut self, group: &str, attrs: &[(&str, Attr)], constants: &[Var]) -> Result<()>;
    /// Append one snapshot of `group` (every variable declared with
    /// [`Dim::Time`] first): a value per series, an array per field. `state`
    /// is what a run continues from when the snapshot does not hold it (the
    /// neurons of a network whose stored positions are not its state).
    fn append(&mut self, group: &str, vars: &[Var], state: Option<&[f64]>) -> Result<()>;
    /// Append rows to `group`, a group of series (the light history); a
    /// store may keep them until the next [`Store::append`].
    fn append_rows(&mut self, group: &str, rows: &[Vec<Var>]) -> Result<()>;
    /// Append one snapshot of `group` whose array `field` (declared
    /// between `vars[..at]` and `vars[at..]`) comes in `parts`: rows of its
    /// first axis in order, as a run split over ranks sends its slabs. A
    /// store may write each part as it comes, never holding the array whole
    /// (the HDF5 store does); this one gathers them and [`Store::append`]s.
    fn append_parts(
        &mut self,
        group: &str,
        vars: &[Var],
        (at, field): (usize, VarSpec),
        parts: &mut dyn Parts,
    ) -> Result<()> {
        let whole = parts.gather()?;
        let mut all = vars.to_vec();
        all.insert(at, Var::array(field, &whole));
        self.append(group, &all, None)
    }
    /// Add a group written at once (a study, a steady state, a report).
    fn add_whole(&mut self, group: &str, attrs: &[(&str, Attr)], vars: &[Var]) -> Result<()>;
    /// Every group is written: mark the results complete.
    fn complete(&mut self) -> Result<()>;
}

/// An array handed over in parts: rows of its first axis, in order (the
/// density of a run split over ranks, each rank's slab in rank order).
pub trait Parts {
    /// The numbers of the whole array.
    fn len(&self) -> usize;
    /// True when the array is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Call `each` with every part in order (once: the parts may come from
    /// other processes, which send each once).
    fn each(&mut self, each: &mut dyn FnMut(&[f64]) -> Result<()>) -> Result<()>;
    /// The parts joined into one array.
    fn gather(&mut self) -> Result<Vec<f64>> {
        let mut whole = Vec::with_capacity(self.len());
        self.each(&mut |p| {
            whole.extend_from_slice(p);
            Ok(())
        })?;
        Ok(whole)
    }
}

/// The variables of one snapshot group's constants, series and fields as
/// [`Variable`]s (for a store that assembles [`Results`]).
pub fn variable(dims: &Dims, var: &Var) -> Result<Variable> {
    let data = var.value.numbers();
    Ok(Variable {
        data: data.to_vec(),
        ..declared(dims, &var.spec, data.len())?
    })
}

/// The [`Variable`] `spec` declares for `len` numbers, without them (a
/// store that writes them from elsewhere).
pub fn declared(dims: &Dims, spec: &VarSpec, len: usize) -> Result<Variable> {
    Ok(Variable {
        integer: spec.integer,
        name: spec.name.to_string(),
        dims: dims.names(spec.dims),
        shape: dims.shape(spec, len)?,
        data: Vec::new(),
        long_name: spec.long_name.to_string(),
        units: spec.units.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_expand_the_grid_and_infer_time() {
        let dims = Dims {
            grid: vec![
                GridAxis {
                    name: "a".into(),
                    edges: vec![0.0, 1.0, 2.0],
                },
                GridAxis {
                    name: "w1".into(),
                    edges: vec![0.0, 0.5, 1.0, 1.5],
                },
            ],
            point: 4,
            ..Dims::default()
        };
        let field = VarSpec::new("density", &[Dim::Time, Dim::Grid], "ρ");
        assert_eq!(dims.shape(&field, 12).unwrap(), vec![2, 2, 3]);
        assert_eq!(dims.names(field.dims), vec!["time", "a", "w1"]);
        let snapshot = VarSpec::new("cov", &[Dim::Axis, Dim::Axis2], "cov");
        assert_eq!(dims.shape(&snapshot, 4).unwrap(), vec![2, 2]);
        assert!(dims.shape(&snapshot, 5).is_err());
        let rows = VarSpec::new("f_values", &[Dim::Time, Dim::Point], "f");
        assert_eq!(dims.shape(&rows, 8).unwrap(), vec![2, 4]);
        assert!(dims.shape(&rows, 6).is_err());
        assert_eq!(GridAxis::centres(&dims.grid[1]), vec![0.25, 0.75, 1.25]);
    }
}
