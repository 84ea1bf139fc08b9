//! **mfpde** solves the mean-field PDE of two-layer neural networks,
//!
//! ```text
//! ∂_t ρ = −div(ρ V[ρ]) + (η/2) Δρ,
//! ```
//!
//! on an (a, w) grid with the conventions of docs/model.md: f_μ(x) = ∫ a σ(w·x̃) μ,
//! R(μ) = ½ E_x[(f_μ − f*)²] + (λ/2) ∫|θ|² μ, V = −∇_θ δR/δμ, mean-field time t.
//!
//! Modules, in the order data flows through them (each imports only those
//! before it; [`error`] and [`io`] are leaves): [`problem`] (TOML files),
//! [`setup`] (validation), [`model`] ([`model::MeanField`], the one home of
//! f, R, F, Ψ and V), [`grid`] (and its slabs), [`density`] (cell averages
//! on a grid or a slab), [`initial`] (ρ0 cell averages), [`velocity`]
//! (V[ρ] on faces), [`scheme`] (advection, diffusion, splitting),
//! [`diagnostics`], [`solve`] (time loop and observers), [`particles`] (the
//! m-neuron network; split over processes through [`ranks`]), [`compare`] (distances), [`side_by_side`] (PDE and
//! network together), [`converge`] (rates in m and h), [`run`] (a run's
//! life cycle, in memory or into a file: the library's entry point),
//! [`cli`]; [`io`] holds the results store, writes and reads HDF5 and draws
//! plots.
//!
//! ```no_run
//! // a problem in, its results out, as a value (the groups of the file)
//! let lp = mfpde::problem::LoadedProblem::quickstart(&["particles.m=1000".into()])?;
//! let setup = mfpde::setup::Setup::new(&lp)?;
//! let opts = mfpde::run::Options { command: mfpde::run::Command::Run, theorems: false, plots: false };
//! let (_, results) = mfpde::run::run(&setup, opts, &mut mfpde::run::Silent)?;
//! let rho = results.var("pde", "density").unwrap();
//! assert_eq!(rho.dims[0], "time");
//! # Ok::<(), mfpde::Error>(())
//! ```

pub mod budget;
pub mod cli;
pub mod compare;
pub mod converge;
pub mod density;
pub mod diagnostics;
pub mod error;
pub mod files;
pub mod fit;
pub mod grid;
pub mod initial;
pub mod io;
pub mod model;
pub mod particles;
pub mod problem;
pub mod ranks;
pub mod run;
pub mod scheme;
pub mod scratch;
pub mod setup;
pub mod side_by_side;
pub mod simd;
pub mod solve;
pub mod steady;
pub mod sum;
pub mod sweep;
pub mod theorems;
pub mod velocity;

pub use error::{Error, Result};
