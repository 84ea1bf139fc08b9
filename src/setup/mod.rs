//! **From problem file to solver inputs**: every semantic check of a problem
//! (one clear error naming the field, the value and what is allowed) and the
//! construction of the model, grid, ρ0, schedule, scheme and particle
//! options. [`model`] checks `[model]`, `[data]` and `[target]`; [`run`]
//! checks `[grid]`, `[dynamics]`, `[initial]`, `[solver]`, `[output]` and
//! `[particles]`.

mod model;
mod run;

use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::initial::InitialLaw;
use crate::model::MeanField;
use crate::particles::ParticleOptions;
use crate::problem::LoadedProblem;
use crate::scheme::SchemeOptions;

/// Below this fraction of ρ0 inside the box the problem is refused.
pub const MIN_BOX_MASS: f64 = 0.5;

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Setup {
    pub name: String,
    /// The problem TOML after overrides (stored in every output file).
    pub problem_toml: String,
    /// Network, data, f*, λ, η: the mathematics (MODEL.md §2).
    pub model: MeanField,
    /// The box Ω and its cells.
    pub grid: Grid,
    /// ρ0.
    pub initial: InitialLaw,
    /// Mass of ρ0 inside the box before renormalisation.
    pub box_mass: f64,
    pub t_end: f64,
    pub snapshot_times: Vec<f64>,
    pub scheme: SchemeOptions,
    /// Points x where f is stored at every snapshot (each of length d_x).
    pub f_points: Vec<Vec<f64>>,
    /// The finite network, when the problem has a `[particles]` section.
    pub particles: Option<ParticleOptions>,
}

impl Setup {
    /// Validate a loaded problem and build the solver inputs.
    pub fn new(lp: &LoadedProblem) -> Result<Self> {
        let model = model::build(lp)?;
        let grid = run::build_grid(lp, &model.net)?;
        let (t_end, snapshot_times) = run::build_dynamics(lp)?;
        let initial = run::build_initial(lp, &model.net)?;
        let scheme = run::build_scheme(lp)?;
        let f_points = run::build_f_points(lp, &model.quad)?;
        let box_mass: f64 = initial.cell_masses(&grid).iter().sum();
        if box_mass.is_nan() || box_mass < MIN_BOX_MASS {
            return Err(Error::problem(
                "initial",
                format!("a law with {:.3} of its mass inside the grid box", box_mass),
                format!(
                    "an initial law mostly inside grid.lo..grid.hi (at least {MIN_BOX_MASS}); widen the box or move the law"
                ),
            ));
        }
        let particles = match &lp.problem.particles {
            Some(spec) => {
                let o = run::build_particles(spec, &lp.problem.data.law)?;
                if model.reduction.is_some() {
                    crate::particles::wide::check(&model, &initial, o.mode)?;
                }
                let steps = t_end / o.dt;
                if steps > scheme.max_steps as f64 {
                    return Err(Error::problem(
                        "particles.dt",
                        o.dt,
                        format!(
                            "a step giving at most solver.max_steps = {} steps to t_end = {} (this one gives {steps:.3e})",
                            scheme.max_steps,
                            crate::error::num(t_end)
                        ),
                    ));
                }
                Some(o)
            }
            None => None,
        };
        Ok(Setup {
            name: lp.name(),
            problem_toml: lp.toml.clone(),
            model,
            grid,
            initial,
            box_mass,
            t_end,
            snapshot_times,
            scheme,
            f_points,
            particles,
        })
    }

    /// ρ0 as cell averages of mass 1.
    pub fn rho0(&self) -> Vec<f64> {
        self.initial.cell_averages(&self.grid).0
    }

    /// The `[particles]` options, or an error naming the missing section.
    pub fn particle_options(&self) -> Result<ParticleOptions> {
        self.particles.ok_or_else(|| {
            Error::problem(
                "particles",
                "missing",
                "a [particles] section with m and dt",
            )
        })
    }
}

pub(crate) fn vec_of(
    field: &str,
    v: &Option<Vec<f64>>,
    len: usize,
    what: &str,
) -> Result<Vec<f64>> {
    match v {
        None => Err(Error::problem(
            field,
            "missing",
            format!("{len} numbers ({what})"),
        )),
        Some(v) if v.len() != len => Err(Error::problem(
            field,
            format!("{v:?}"),
            format!("{len} numbers ({what})"),
        )),
        Some(v) if v.iter().any(|x| !x.is_finite()) => {
            Err(Error::problem(field, format!("{v:?}"), "finite numbers"))
        }
        Some(v) => Ok(v.clone()),
    }
}

pub(crate) fn check_box(prefix: &str, lo: &[f64], hi: &[f64]) -> Result<()> {
    for k in 0..lo.len() {
        if lo[k] >= hi[k] {
            return Err(Error::problem(
                format!("{prefix}.lo"),
                format!("{:?} with {prefix}.hi = {:?}", lo, hi),
                format!("lo < hi on every axis (axis {k}: {} ≥ {})", lo[k], hi[k]),
            ));
        }
    }
    Ok(())
}

pub(crate) fn positive(field: &str, v: &[f64]) -> Result<()> {
    if v.iter().any(|&s| s <= 0.0 || !s.is_finite()) {
        return Err(Error::problem(field, format!("{v:?}"), "positive numbers"));
    }
    Ok(())
}
