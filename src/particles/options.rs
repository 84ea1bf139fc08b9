//! **Options of a particle run** (`[particles]`, validated in
//! [`crate::setup`]).

/// How E_x in the velocity is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The problem's quadrature of P.
    Population,
    /// A fresh batch of `B` samples of P every step.
    Sgd { batch: usize },
    /// The whole data set (data.law = "dataset").
    FullBatch,
}

impl Mode {
    /// The name used in problem files and HDF5 attributes.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Population => "population",
            Mode::Sgd { .. } => "sgd",
            Mode::FullBatch => "full_batch",
        }
    }
}

/// The m-neuron network's run: size, seed, step, mode, what is stored.
#[derive(Debug, Clone, Copy)]
pub struct ParticleOptions {
    pub m: usize,
    pub seed: u64,
    pub dt: f64,
    pub mode: Mode,
    /// Positions stored per snapshot.
    pub store: usize,
}

impl ParticleOptions {
    /// Nodes a step evaluates every neuron at: the quadrature's, or the
    /// batch when it is larger (sgd).
    pub fn nodes_per_step(&self, nodes: usize) -> usize {
        match self.mode {
            Mode::Sgd { batch } => batch.max(nodes),
            _ => nodes,
        }
    }
}
