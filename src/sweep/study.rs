//! **A study file** and its points (module docs of [`crate::sweep`]).

use super::fits::{FitSpec, Scale};
use super::measure::{Kind, Measure};
use crate::error::{Error, Result};
use crate::problem::LoadedProblem;
use crate::run::Command;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The most points a study may have.
pub const MAX_POINTS: usize = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisFile {
    key: String,
    #[serde(default)]
    name: Option<String>,
    values: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FitFile {
    measure: String,
    against: String,
    #[serde(default)]
    scale: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    base: String,
    command: String,
    #[serde(default)]
    combine: Option<String>,
    #[serde(default)]
    seeds: Option<usize>,
    #[serde(default)]
    set: toml::Table,
    #[serde(default)]
    axes: Vec<AxisFile>,
    measures: Vec<String>,
    #[serde(default)]
    curves: Vec<String>,
    #[serde(default)]
    fits: Vec<FitFile>,
}

/// One axis of a study: the override key, the dimension's name and the
/// values (as TOML).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub key: String,
    pub name: String,
    pub values: Vec<toml::Value>,
}

impl Axis {
    /// The values as numbers, when they all are.
    pub fn numbers(&self) -> Option<Vec<f64>> {
        self.values
            .iter()
            .map(|v| match v {
                toml::Value::Integer(i) => Some(*i as f64),
                toml::Value::Float(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    /// The values as labels (TOML text; strings without their quotes).
    pub fn labels(&self) -> Vec<String> {
        self.values.iter().map(label).collect()
    }
}

fn label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A study, checked.
#[derive(Debug, Clone)]
pub struct Study {
    /// The study file's text and folder.
    pub text: String,
    pub dir: PathBuf,
    /// The base problem with the study's `set`.
    pub base: LoadedProblem,
    /// The base's overrides (`key=value`).
    pub set: Vec<String>,
    pub kind: Kind,
    /// Zipped axes (one dimension, `point`) or their product.
    pub zip: bool,
    pub axes: Vec<Axis>,
    /// Seeds 0..seeds of `particles.seed` (1: the base's seed, no `seed`
    /// dimension).
    pub seeds: Option<usize>,
    pub measures: Vec<Measure>,
    pub curves: Vec<Measure>,
    /// Measures fitted against an axis (`[[fits]]`, [`super::fits`]).
    pub fits: Vec<FitSpec>,
}

/// One point: its index, its place on each axis (and seed), and its
/// overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub index: usize,
    /// Index along each dimension of the result (the axes, or `point` for
    /// zipped axes; then the seed).
    pub at: Vec<usize>,
    pub overrides: Vec<String>,
    /// "noise = 0.01, seed = 1".
    pub label: String,
}

fn bad(field: impl Into<String>, value: impl std::fmt::Display, allowed: &str) -> Error {
    Error::problem(field.into(), value, allowed)
}

/// `[[fits]]`, checked: a product study, a numeric axis of it, a measure it
/// takes (`w1_<phase axis>` for `w1`), a known scale.
fn check_fits(
    fits: Vec<FitFile>,
    zip: bool,
    axes: &[Axis],
    measures: &[Measure],
) -> Result<Vec<FitSpec>> {
    let mut out = Vec::new();
    for (i, f) in fits.into_iter().enumerate() {
        if zip {
            return Err(bad(
                format!("fits[{i}]"),
                &f.measure,
                "fits along an axis of combine = \"product\" (zipped axes share one dimension, point)",
            ));
        }
        let numeric: Vec<&str> = axes
            .iter()
            .filter(|a| a.numbers().is_some())
            .map(|a| a.name.as_str())
            .collect();
        let axis = axes
            .iter()
            .position(|a| a.name == f.against && a.numbers().is_some())
            .ok_or_else(|| {
                bad(
                    format!("fits[{i}].against"),
                    &f.against,
                    &format!("a numeric axis: {}", numeric.join(", ")),
                )
            })?;
        let names: Vec<String> = measures.iter().flat_map(|m| m.names(&[])).collect();
        let w1 = measures.contains(&Measure::W1) && f.measure.starts_with("w1_");
        if !w1 && !names.contains(&f.measure) {
            return Err(bad(
                format!("fits[{i}].measure"),
                &f.measure,
                &format!(
                    "a measure of the study: {}{}",
                    names.join(", "),
                    if measures.contains(&Measure::W1) {
                        ", w1_<axis>"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let scale = f.scale.as_deref().unwrap_or("loglog");
        let scale = Scale::parse(scale)
            .ok_or_else(|| bad(format!("fits[{i}].scale"), scale, "loglog, log or linear"))?;
        out.push(FitSpec {
            measure: f.measure,
            axis,
            scale,
        });
    }
    Ok(out)
}

impl Study {
    /// Read and check a study file.
    ///
    /// # Errors
    /// A field out of range, naming it; the base problem's own errors.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("reading the study: {e}"),
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::from_str(&text, &dir)
    }

    /// A study from its text, paths relative to `dir`.
    ///
    /// # Errors
    /// As [`Study::from_file`].
    pub fn from_str(text: &str, dir: &Path) -> Result<Self> {
        let f: StudyFile = toml::from_str(text).map_err(|e| Error::Parse(format!("study: {e}")))?;
        let kind = match f.command.as_str() {
            "pde" => Kind::Run(Command::Pde),
            "particles" => Kind::Run(Command::Particles),
            "run" => Kind::Run(Command::Run),
            "steady" => Kind::Steady,
            c => return Err(bad("command", c, "pde, particles, run or steady")),
        };
        let zip = match f.combine.as_deref().unwrap_or("product") {
            "product" => false,
            "zip" => true,
            c => return Err(bad("combine", c, "product or zip")),
        };
        let set: Vec<String> = f.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let base = LoadedProblem::from_file(&dir.join(&f.base), &set)?;
        let mut axes = Vec::new();
        for (i, a) in f.axes.into_iter().enumerate() {
            if a.values.is_empty() {
                return Err(bad(format!("axes[{i}].values"), "[]", "at least one value"));
            }
            let name = a
                .name
                .unwrap_or_else(|| a.key.rsplit('.').next().unwrap_or(&a.key).to_string());
            let reserved = ["seed", "time", "point", "failed", "axis"];
            if reserved.contains(&name.as_str()) || axes.iter().any(|b: &Axis| b.name == name) {
                return Err(bad(
                    format!("axes[{i}].name"),
                    &name,
                    "a name of its own for each axis (not seed, time, point, failed or axis)",
                ));
            }
            axes.push(Axis {
                key: a.key,
                name,
                values: a.values,
            });
        }
        if zip
            && axes
                .windows(2)
                .any(|w| w[0].values.len() != w[1].values.len())
        {
            let lens: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
            return Err(bad(
                "axes",
                format!("{lens:?} values"),
                "as many values on every axis when combine = \"zip\"",
            ));
        }
        if let Some(s) = f.seeds {
            if !kind.has_seed() || !(1..=10_000).contains(&s) {
                return Err(bad(
                    "seeds",
                    s,
                    "1 to 10000, for a command that trains networks (particles, run)",
                ));
            }
        }
        let parse = |field: &str, list: &[String], curve: bool| -> Result<Vec<Measure>> {
            list.iter()
                .enumerate()
                .map(|(i, m)| {
                    Measure::parse(m, kind, curve)
                        .map_err(|why| bad(format!("{field}[{i}]"), m, &why))
                })
                .collect()
        };
        let measures = parse("measures", &f.measures, false)?;
        let curves = parse("curves", &f.curves, true)?;
        if measures.is_empty() && curves.is_empty() {
            return Err(bad("measures", "[]", "at least one measure or curve"));
        }
        let fits = check_fits(f.fits, zip, &axes, &measures)?;
        let study = Study {
            text: text.to_string(),
            dir: dir.to_path_buf(),
            base,
            set,
            kind,
            zip,
            axes,
            seeds: f.seeds,
            measures,
            curves,
            fits,
        };
        let n = study.shape().iter().product::<usize>();
        if n > MAX_POINTS {
            return Err(bad("axes", format!("{n} points"), "at most 100000 points"));
        }
        // every point must parse, its keys known and its sizes in range,
        // before anything runs (a value its run refuses fails that point)
        for p in study.points() {
            LoadedProblem::from_str(&study.base.toml, &p.overrides, &study.base.base_dir)
                .and_then(|lp| crate::setup::check_ranges(&lp))
                .map_err(|e| Error::Parse(format!("study point {} ({}): {e}", p.index, p.label)))?;
        }
        Ok(study)
    }

    /// Whether theorems must run (a measure of the theorems' gap).
    pub fn theorems(&self) -> bool {
        self.measures
            .iter()
            .chain(&self.curves)
            .any(|m| m.needs_theorems())
    }

    /// The result's dimension names: the axes (or `point`), then `seed`.
    pub fn dims(&self) -> Vec<String> {
        let mut d: Vec<String> = match self.zip {
            true if !self.axes.is_empty() => vec!["point".into()],
            true => Vec::new(),
            false => self.axes.iter().map(|a| a.name.clone()).collect(),
        };
        if self.seeds.is_some() {
            d.push("seed".into());
        }
        d
    }

    /// The result's shape (as [`Study::dims`]).
    pub fn shape(&self) -> Vec<usize> {
        let mut s: Vec<usize> = match self.zip {
            true if !self.axes.is_empty() => vec![self.axes[0].values.len()],
            true => Vec::new(),
            false => self.axes.iter().map(|a| a.values.len()).collect(),
        };
        if let Some(n) = self.seeds {
            s.push(n);
        }
        s
    }

    /// The points, row-major over [`Study::dims`] (the last varies fastest).
    pub fn points(&self) -> Vec<Point> {
        let shape = self.shape();
        let total: usize = shape.iter().product();
        (0..total)
            .map(|index| {
                let mut at = vec![0; shape.len()];
                let mut rest = index;
                for k in (0..shape.len()).rev() {
                    at[k] = rest % shape[k];
                    rest /= shape[k];
                }
                let mut overrides = Vec::new();
                let mut parts = Vec::new();
                for (k, a) in self.axes.iter().enumerate() {
                    let i = if self.zip { at[0] } else { at[k] };
                    overrides.push(format!("{}={}", a.key, a.values[i]));
                    parts.push(format!("{} = {}", a.name, label(&a.values[i])));
                }
                if self.seeds.is_some() {
                    let s = at[shape.len() - 1];
                    overrides.push(format!("particles.seed={s}"));
                    parts.push(format!("seed = {s}"));
                }
                Point {
                    index,
                    at,
                    overrides,
                    label: parts.join(", "),
                }
            })
            .collect()
    }

    /// The folder of the points' files beside the collected file `out`.
    pub fn points_dir(out: &Path) -> PathBuf {
        let stem = out
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        out.with_file_name(format!("{stem}.points"))
    }

    /// A point's file in `dir`.
    pub fn point_file(dir: &Path, p: &Point) -> PathBuf {
        dir.join(format!("p{:05}.h5", p.index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(extra: &str) -> Result<Study> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("grids/studies");
        Study::from_str(
            &format!(
                "base = \"../quickstart.toml\"\ncommand = \"run\"\nmeasures = [\"risk\"]\n{extra}"
            ),
            &dir,
        )
    }

    #[test]
    fn points_are_the_product_row_major_with_the_seed_last() {
        let s = study(
            "seeds = 2\n[[axes]]\nkey = \"dynamics.noise\"\nvalues = [0.0, 0.01, 0.02]\n[[axes]]\nkey = \"model.activation\"\nname = \"unit\"\nvalues = [\"tanh\", \"erf\"]\n",
        )
        .unwrap();
        assert_eq!(s.dims(), ["noise", "unit", "seed"]);
        assert_eq!(s.shape(), [3, 2, 2]);
        let p = s.points();
        assert_eq!(p.len(), 12);
        assert_eq!(p[5].at, [1, 0, 1]);
        assert_eq!(
            p[5].overrides,
            [
                "dynamics.noise=0.01",
                "model.activation=\"tanh\"",
                "particles.seed=1"
            ]
        );
        assert_eq!(p[5].label, "noise = 0.01, unit = tanh, seed = 1");
    }

    #[test]
    fn zipped_axes_share_one_dimension_and_bad_fields_are_named() {
        let s = study(
            "combine = \"zip\"\n[[axes]]\nkey = \"dynamics.noise\"\nvalues = [0.0, 0.01]\n[[axes]]\nkey = \"model.weight_decay\"\nvalues = [0.1, 0.2]\n",
        )
        .unwrap();
        assert_eq!(s.dims(), ["point"]);
        assert_eq!(
            s.points()[1].overrides,
            ["dynamics.noise=0.01", "model.weight_decay=0.2"]
        );
        for (extra, field) in [
            ("combine = \"zip\"\n[[axes]]\nkey = \"dynamics.noise\"\nvalues = [0.0]\n[[axes]]\nkey = \"model.weight_decay\"\nvalues = [0.1, 0.2]\n", "axes"),
            ("seeds = 0\n", "seeds"),
            ("[[axes]]\nkey = \"dynamics.noise\"\nname = \"seed\"\nvalues = [0.0]\n", "axes[0].name"),
            ("[[axes]]\nkey = \"dynamics.noise\"\nvalues = []\n", "axes[0].values"),
            ("[[axes]]\nkey = \"dynamics.nois\"\nvalues = [0.1]\n", "nois"),
            ("curves = [\"time_below(0.5)\"]\n", "curves[0]"),
        ] {
            let e = study(extra).unwrap_err().to_string();
            assert!(e.contains(field), "{extra}: {e}");
        }
    }
}
