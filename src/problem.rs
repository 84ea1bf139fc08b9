//! **Problem files**: the TOML a researcher writes, as serde structs, with
//! `--set section.key=value` overrides. Unknown keys are rejected. Semantic
//! checks (sizes, ranges, dimensions) live in [`crate::setup`], which turns a
//! [`Problem`] into the objects the solver runs on.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in quickstart problem, byte-identical to `grids/quickstart.toml`.
pub const QUICKSTART_TOML: &str = include_str!("../grids/quickstart.toml");

/// A whole problem file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// Optional run name (used for default output file names).
    #[serde(default)]
    pub name: Option<String>,
    pub model: ModelSpec,
    pub data: DataSpec,
    pub target: TargetSpec,
    pub dynamics: DynamicsSpec,
    pub initial: InitialSpec,
    pub grid: GridSpec,
    /// The exact reduction of docs/model.md §6 (optional): phase space (a, p, r).
    #[serde(default)]
    pub symmetry: Option<SymmetrySpec>,
    #[serde(default)]
    pub solver: SolverSpec,
    #[serde(default)]
    pub output: OutputSpec,
    /// The finite network trained on the same problem (optional).
    #[serde(default)]
    pub particles: Option<ParticlesSpec>,
}

/// `[particles]`: m neurons trained by (noisy) gradient descent or SGD.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticlesSpec {
    /// Number of neurons m.
    pub m: usize,
    /// Seed of the random streams (one per neuron, one for batches).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Euler–Maruyama step in mean-field time.
    pub dt: f64,
    /// population, sgd, full_batch.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Batch size B of `sgd`.
    #[serde(default)]
    pub batch: Option<usize>,
    /// Positions stored per snapshot (the first neurons); default all m.
    #[serde(default)]
    pub store: Option<usize>,
}

/// `[symmetry]`: the problem is invariant under the rotations of ℝᵈ that fix
/// the first k coordinate axes (U = their unit vectors), and is solved for
/// the law of (a, p, r), p = Uᵀw, r = |w⊥| (docs/model.md §6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymmetrySpec {
    /// k ∈ {0, 1, 2}: the directions the target sees.
    pub directions: usize,
    /// Nodes of the rule of ρ = |x⊥| (generalised Gauss–Laguerre).
    #[serde(default = "default_radial_nodes")]
    pub radial_nodes: usize,
    /// Nodes of the rule of the cosine t in ℝⁿ (Gauss–Jacobi).
    #[serde(default = "default_cosine_nodes")]
    pub cosine_nodes: usize,
}

/// `[model]`: the unit (activation σ, or Gaussian bumps), bias, output
/// weights, weight decay λ.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// `ridge` (σ(w·x̃), the default) or `rbf` (the bumps φ(x; y) of
    /// docs/model.md §7, with `width`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// tanh, sigmoid, erf, relu, softplus, linear, mmn_ramp, hermite (ridge
    /// units; none with `unit = "rbf"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub activation: String,
    /// s > 0, the variance of the RBF bump (`unit = "rbf"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    /// The degree k of the Hermite unit He_k/√k! (`activation = "hermite"`
    /// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degree: Option<u32>,
    /// x̃ = (x, 1) when true.
    #[serde(default)]
    pub bias: bool,
    /// Train the output weights a (axis 0 of the grid) or freeze them at `a0`.
    #[serde(default = "default_true")]
    pub train_a: bool,
    /// The frozen output weight when `train_a = false`.
    #[serde(default = "default_one")]
    pub a0: f64,
    /// λ ≥ 0.
    #[serde(default)]
    pub weight_decay: f64,
}

/// `[data]`: the law P of x and its quadrature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// gaussian, gaussian_scales, uniform, dataset, lebesgue (RBF units:
    /// Lebesgue measure on the box lo..hi, or on the whole line without it).
    pub law: String,
    /// d_x (gaussian, uniform); a data set's dimension comes from its columns.
    #[serde(default)]
    pub dim: Option<usize>,
    /// s of N(0, s² I).
    #[serde(default)]
    pub std: Option<f64>,
    /// The box of the uniform law.
    #[serde(default)]
    pub lo: Option<Vec<f64>>,
    #[serde(default)]
    pub hi: Option<Vec<f64>>,
    /// Quadrature nodes per dimension.
    #[serde(default)]
    pub nodes: Option<usize>,
    /// CSV data file (columns x0, …, x_{d−1}, y), relative to the problem file.
    #[serde(default)]
    pub file: Option<String>,
    /// `gaussian_scales`: class c has x ~ N(0, scales_c² I) and label labels_c.
    #[serde(default)]
    pub scales: Option<Vec<f64>>,
    #[serde(default)]
    pub labels: Option<Vec<f64>>,
    /// `gaussian_scales`: the class probabilities (default equal).
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
}

/// `[target]`: f*.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// teacher, expression, labels, bumps.
    pub kind: String,
    /// Gaussian bumps, rows (b, y_1, …, y_d, v): f*(x) = Σ b N(x; y, v I).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bumps: Option<Vec<Vec<f64>>>,
    /// Teacher units, rows (a*, w*_1, …, w*_{d_w}); f*(x) = (1/k) Σ a* σ(w*·x̃).
    #[serde(default)]
    pub teacher: Option<Vec<Vec<f64>>>,
    /// Expression in x0, x1, …, e.g. `2*tanh(1.5*x0)`.
    #[serde(default)]
    pub expression: Option<String>,
}

/// Snapshot times: a count (evenly spaced from 0 to t_end) or a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Snapshots {
    Count(usize),
    Times(Vec<f64>),
}

/// `[dynamics]`: noise η, birth–death α, end time, snapshots.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicsSpec {
    /// η ≥ 0.
    #[serde(default)]
    pub noise: f64,
    /// α ≥ 0: the rate of birth–death (docs/model.md §8); 0, none.
    #[serde(default)]
    pub birth_death: f64,
    /// End time in mean-field time.
    pub t_end: f64,
    pub snapshots: Snapshots,
}

/// One Gaussian component of a mixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub weight: f64,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// `[initial]`: ρ0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialSpec {
    /// gaussian, uniform, mixture, isotropic, product.
    pub kind: String,
    /// `product`: the law of each axis, "gaussian" (its mean and std taken
    /// in turn from `mean`, `std`) or "uniform" (from `lo`, `hi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laws: Option<Vec<String>>,
    #[serde(default)]
    pub mean: Option<Vec<f64>>,
    #[serde(default)]
    pub std: Option<Vec<f64>>,
    #[serde(default)]
    pub lo: Option<Vec<f64>>,
    #[serde(default)]
    pub hi: Option<Vec<f64>>,
    #[serde(default)]
    pub components: Option<Vec<Component>>,
}

/// `[grid]`: the box Ω and its cells; axis 0 is a when a is trained.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub cells: Vec<usize>,
    /// `[grid.map.<axis>]`: stretched axes by name (the others uniform).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub map: std::collections::BTreeMap<String, crate::grid::AxisMap>,
}

/// `[solver]`: scheme choices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    /// split (advection and diffusion), sg (Scharfetter–Gummel, implicit).
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Courant number; ≤ 0.5 keeps ρ ≥ 0.
    #[serde(default = "default_cfl")]
    pub cfl: f64,
    /// The advection's face flux: muscl, upwind.
    #[serde(default = "default_flux")]
    pub flux: String,
    /// MUSCL's limiter: minmod, mc, van_leer.
    #[serde(default = "default_limiter")]
    pub limiter: String,
    /// spectral, backward_euler, crank_nicolson.
    #[serde(default = "default_diffusion")]
    pub diffusion: String,
    /// How advection and diffusion are joined: strang, lie.
    #[serde(default = "default_splitting")]
    pub splitting: String,
    /// Largest time step (mean-field time).
    #[serde(default = "default_dt_max")]
    pub dt_max: f64,
    /// Record the light history every this many steps.
    #[serde(default = "default_history_every")]
    pub history_every: usize,
    /// Steps at most: the run stops beyond (a budget against runaway runs).
    #[serde(default = "default_max_steps")]
    pub max_steps: usize,
    /// The velocity's tables: whole, low_rank (a cross approximation to
    /// `table_tol` of each table's largest entry, rows weighted by √ω_q:
    /// fewer operations per step, a longer plan), or on_the_fly (not stored:
    /// the whole tables' bits, a unit evaluation per entry per
    /// contraction, for grids whose tables would not fit in memory).
    /// Unset: low_rank for a reduced problem (`[symmetry]`), else whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<String>,
    /// The low-rank tables' tolerance: every entry of each √ω_q-weighted
    /// table within `table_tol` of its largest entry, so |Δg| ≤ table_tol
    /// max|√ω T| Σ_q √ω_q |r_q| at every w point (∇_w g the same way). In
    /// (0, 1e-4]; default 1e-10 (a lower rank than at 1e-12, so a faster
    /// step: README, "Low-rank tables").
    #[serde(default = "default_table_tol")]
    pub table_tol: f64,
}

/// `solver.table_tol`'s default (the velocity's `ACA_TOL`).
pub const TABLE_TOL: f64 = 1e-10;

/// The loosest `solver.table_tol` accepted.
pub const MAX_TABLE_TOL: f64 = 1e-4;

fn default_table_tol() -> f64 {
    TABLE_TOL
}

impl Default for SolverSpec {
    fn default() -> Self {
        SolverSpec {
            scheme: default_scheme(),
            cfl: default_cfl(),
            flux: default_flux(),
            limiter: default_limiter(),
            diffusion: default_diffusion(),
            splitting: default_splitting(),
            dt_max: default_dt_max(),
            history_every: default_history_every(),
            max_steps: default_max_steps(),
            tables: None,
            table_tol: default_table_tol(),
        }
    }
}

/// `[output]`: where f_h is evaluated.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Evaluation points x (each of length d_x). Default: 101 points on a line
    /// through the data (the x0 axis in d_x = 1, the diagonal otherwise).
    #[serde(default)]
    pub f_points: Option<Vec<Vec<f64>>>,
}

fn default_radial_nodes() -> usize {
    24
}
fn default_cosine_nodes() -> usize {
    32
}
fn default_seed() -> u64 {
    1
}
fn default_mode() -> String {
    "population".into()
}
fn default_true() -> bool {
    true
}
fn default_one() -> f64 {
    1.0
}
fn default_cfl() -> f64 {
    0.5
}
fn default_scheme() -> String {
    "split".into()
}
fn default_flux() -> String {
    "muscl".into()
}
fn default_splitting() -> String {
    "strang".into()
}
fn default_limiter() -> String {
    "van_leer".into()
}
fn default_diffusion() -> String {
    "spectral".into()
}
fn default_dt_max() -> f64 {
    0.05
}
fn default_history_every() -> usize {
    10
}
fn default_max_steps() -> usize {
    10_000_000
}

/// A problem as loaded: the parsed struct, its canonical TOML (after
/// overrides; stored in every output file) and the folder relative paths in it
/// are resolved against.
#[derive(Debug, Clone)]
pub struct LoadedProblem {
    pub problem: Problem,
    pub toml: String,
    pub base_dir: PathBuf,
}

impl LoadedProblem {
    /// Parse `text`, apply `overrides` (`section.key=value`, the value read as
    /// a TOML value, else as a string) and deserialize.
    pub fn from_str(text: &str, overrides: &[String], base_dir: &Path) -> Result<Self> {
        let mut value: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::Parse(e.to_string().trim_end().to_string()))?;
        for ov in overrides {
            apply_override(&mut value, ov)?;
        }
        let toml_text = toml::to_string(&value).map_err(|e| Error::Parse(e.to_string()))?;
        // errors point into the user's own text when it is all there is;
        // with overrides they name the key (the text was rewritten)
        let problem: Problem = if overrides.is_empty() {
            toml::from_str(text).map_err(|e| Error::Parse(e.to_string().trim_end().to_string()))?
        } else {
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    Error::Parse(format!(
                        "{} (in the problem with its --set overrides)",
                        e.to_string().trim_end()
                    ))
                })?
        };
        if let Some(name) = &problem.name {
            check_name(name)?;
        }
        Ok(LoadedProblem {
            problem,
            toml: toml_text,
            base_dir: base_dir.to_path_buf(),
        })
    }

    /// Read and parse a problem file.
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = crate::files::read_text(path, "problem", crate::files::MAX_PROBLEM_BYTES)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::from_str(&text, overrides, &base)
    }

    /// The built-in quickstart problem.
    pub fn quickstart(overrides: &[String]) -> Result<Self> {
        Self::from_str(QUICKSTART_TOML, overrides, Path::new("."))
    }

    /// A short name for output files.
    pub fn name(&self) -> String {
        self.problem.name.clone().unwrap_or_else(|| "run".into())
    }
}

/// A run's name becomes a file name (`output/<name>.h5`): one plain path
/// component, no folders.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::problem(
            "name",
            format!("{name:?}"),
            "a plain file name (no folders, no control characters, at most 200 bytes); choose the folder with -o",
        ))
    }
}

/// Set `section.key[.subkey…] = value` in a TOML table.
fn apply_override(root: &mut toml::Table, ov: &str) -> Result<()> {
    let (path, raw) = ov.split_once('=').ok_or_else(|| {
        Error::problem(
            "--set",
            ov,
            "expected section.key=value, e.g. grid.cells=[64,64]",
        )
    })?;
    if ov.contains(['\n', '\r']) {
        return Err(Error::problem(
            "--set",
            format!("{ov:?}"),
            "one line: section.key=value without line breaks",
        ));
    }
    let path = path.trim();
    let raw = raw.trim();
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(Error::problem(
            "--set",
            ov,
            "expected section.key=value with non-empty names",
        ));
    }
    let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        // TOML's integers are those of i64: a larger one is not a string
        Err(_) if raw.parse::<u128>().is_ok() => {
            return Err(Error::problem(
                path,
                format!("{raw} (above 2^63 − 1)"),
                format!("an integer at most {} (TOML's largest)", i64::MAX),
            ))
        }
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let mut table = root;
    for k in &keys[..keys.len() - 1] {
        let entry = table
            .entry(k.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry.as_table_mut().ok_or_else(|| {
            Error::problem(
                "--set",
                ov,
                format!("`{k}` is not a section of the problem"),
            )
        })?;
    }
    table.insert(keys[keys.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_nested_values() {
        let p = LoadedProblem::quickstart(&[
            "grid.cells=[32, 32]".into(),
            "dynamics.noise=0.1".into(),
            "model.activation=relu".into(),
        ])
        .unwrap();
        assert_eq!(p.problem.grid.cells, vec![32, 32]);
        assert_eq!(p.problem.dynamics.noise, 0.1);
        assert_eq!(p.problem.model.activation, "relu");
        assert!(p.toml.contains("noise = 0.1"));
    }

    #[test]
    fn errors_point_into_the_users_text_and_set_takes_one_line() {
        let text = "name = \"q\"\n[model]\nactivation = \"tanh\"\nbogus = 1\n";
        let e = LoadedProblem::from_str(text, &[], Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
        let e = LoadedProblem::quickstart(&["name=\"a\nb\"".into()]).unwrap_err();
        assert_eq!(e.field(), Some("--set"));
        let e = LoadedProblem::quickstart(&["name=\"../../elsewhere/x\"".into()]).unwrap_err();
        assert_eq!(e.field(), Some("name"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = LoadedProblem::quickstart(&["grid.celss=[32,32]".into()]).unwrap_err();
        assert!(e.to_string().contains("celss"), "{e}");
    }
}
