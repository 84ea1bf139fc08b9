//! **From problem file to solver inputs**: every semantic check of a problem
//! (one clear error naming the field, the value and what is allowed) and the
//! construction of the model, grid, ρ0, schedule, scheme and particle
//! options. [`model`] checks `[model]`, `[data]` and `[target]`; [`run`]
//! checks `[grid]`, `[dynamics]`, `[initial]`, `[solver]`, `[output]` and
//! `[particles]`.

mod model;
mod rbf;
mod run;

pub use rbf::lebesgue_nodes;

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
    /// Network, data, f*, λ, η: the mathematics (docs/model.md §2).
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
    /// The SHA-256 of the data file, hex, when the data are a file (stored
    /// in the results, checked on `--resume`).
    pub data_digest: Option<String>,
}

/// The ranges of the keys that size a run (dimensions, node and neuron
/// counts), checked before anything is sized by them: a value out of range
/// is named as such, not as the memory it would take.
///
/// # Errors
/// The first key out of its range, by name.
pub fn check_ranges(lp: &LoadedProblem) -> Result<()> {
    let p = &lp.problem;
    match (&p.symmetry, p.data.dim) {
        (Some(s), _) => model::check_symmetry_sizes(s, &p.model.activation)?,
        (None, Some(d)) if !(1..=3).contains(&d) => {
            return Err(Error::problem(
                "data.dim",
                d,
                "1 to 3 inputs (D = d_x + bias + trained a ≤ 4 on a grid; [symmetry] takes d up to 10⁴)",
            ))
        }
        _ => {}
    }
    if let Some(n) = p.data.nodes.filter(|n| !(1..=256).contains(n)) {
        return Err(Error::problem(
            "data.nodes",
            n,
            "1 to 256 nodes per dimension",
        ));
    }
    if let Some(q) = &p.particles {
        if !(1..=100_000_000).contains(&q.m) {
            return Err(Error::problem("particles.m", q.m, "1 to 10⁸ neurons"));
        }
        if let Some(b) = q.batch.filter(|b| !(1..=run::MAX_BATCH).contains(b)) {
            return Err(Error::problem(
                "particles.batch",
                b,
                "a batch size 1 ≤ B ≤ 10⁸",
            ));
        }
    }
    Ok(())
}

impl Setup {
    /// Validate a loaded problem and build the solver inputs.
    pub fn new(lp: &LoadedProblem) -> Result<Self> {
        check_ranges(lp)?;
        let model = model::build(lp)?;
        let grid = run::build_grid(lp, &model.net)?;
        let (t_end, snapshot_times) = run::build_dynamics(lp)?;
        let initial = run::build_initial(lp, &model.net)?;
        let scheme = run::build_scheme(lp)?;
        let f_points = run::build_f_points(lp, &model.quad)?;
        // from the axes' masses: no array of the grid's cells (a grid split
        // over ranks is never whole anywhere)
        let (marginals, box_mass) = initial.marginal_masses(&grid);
        if box_mass.is_nan() || box_mass < MIN_BOX_MASS {
            return Err(Error::problem(
                "initial",
                format!("a law with {:.3} of its mass inside the grid box", box_mass),
                format!(
                    "an initial law mostly inside grid.lo..grid.hi (at least {MIN_BOX_MASS}); widen the box or move the law"
                ),
            ));
        }
        coarse_cells(&grid, &marginals, box_mass)?;
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
            data_digest: model::data_digest(lp)?,
        })
    }

    /// ρ0 as cell averages of mass 1.
    pub fn rho0(&self) -> Vec<f64> {
        self.initial.cell_averages(&self.grid).0
    }

    /// The `[particles]` options for a run of the network, or an error
    /// naming the missing section or a step the network cannot take
    /// ([`check_step`]).
    pub fn particle_options(&self) -> Result<ParticleOptions> {
        let o = self.particles.ok_or_else(|| {
            Error::problem(
                "particles",
                "missing",
                "a [particles] section with m and dt",
            )
        })?;
        check_step(&o, &self.model, &self.grid, &self.snapshot_times)?;
        Ok(o)
    }
}

/// The largest share of ρ0 one cell of an axis may hold: beyond it the law
/// lies within a cell of that axis, and nothing of its shape is resolved.
pub const MAX_CELL_SHARE: f64 = 0.9;

/// Refuse cells too coarse for ρ0: on some axis one cell holds more than
/// [`MAX_CELL_SHARE`] of the mass inside the box (ρ0's cell masses'
/// `marginals`).
fn coarse_cells(grid: &Grid, marginals: &[Vec<f64>], box_mass: f64) -> Result<()> {
    for (k, marginal) in marginals.iter().enumerate() {
        let (at, top) = marginal
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |b, (i, m)| if m > b.1 { (i, m) } else { b });
        if top > MAX_CELL_SHARE * box_mass {
            return Err(Error::problem(
                "grid.cells",
                format!("{:?}", grid.n),
                format!(
                    "cells fine enough for the initial law: one cell of axis {} ({} wide) holds {:.1} % of ρ0 (at most {:.0} %); take more cells or a smaller box on that axis",
                    grid.names.get(k).map_or("?", String::as_str),
                    crate::error::sig(grid.width(k, at)),
                    100.0 * top / box_mass,
                    100.0 * MAX_CELL_SHARE
                ),
            ));
        }
    }
    Ok(())
}

/// Refuse a particle step that would change silently or diverge: longer
/// than the time between two snapshots (the steps would be shortened to
/// land on them while `dt` says otherwise), λΔt ≥ 2 (Euler's step of the
/// weight decay, θ ← (1 − λΔt)θ, then grows), or a step whose noise
/// √(ηΔt) is wider than the grid's box (every neuron leaves it at once).
fn check_step(o: &ParticleOptions, model: &MeanField, grid: &Grid, times: &[f64]) -> Result<()> {
    let gap = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if o.dt > gap * (1.0 + 1e-9) {
        return Err(Error::problem(
            "particles.dt",
            o.dt,
            format!(
                "a step no longer than the time between snapshots, {} (the steps land on every snapshot)",
                crate::error::sig(gap)
            ),
        ));
    }
    let decay = model.weight_decay * o.dt;
    if decay >= 2.0 {
        return Err(Error::problem(
            "particles.dt",
            o.dt,
            format!(
                "a step with λΔt < 2 (λ = {}: Euler's step of the weight decay, θ ← (1 − λΔt)θ, grows without bound at λΔt = {}; take Δt < {})",
                crate::error::sig(model.weight_decay),
                crate::error::sig(decay),
                crate::error::sig(2.0 / model.weight_decay)
            ),
        ));
    }
    let kick = (model.noise * o.dt).sqrt();
    let width = (0..grid.dim())
        .map(|k| grid.hi[k] - grid.lo[k])
        .fold(f64::INFINITY, f64::min);
    if kick > width {
        return Err(Error::problem(
            "dynamics.noise",
            model.noise,
            format!(
                "a noise whose step √(η Δt) (= {} at particles.dt = {}) is smaller than the grid's box ({} wide): the neurons would leave it in one step",
                crate::error::sig(kick),
                o.dt,
                crate::error::sig(width)
            ),
        ));
    }
    Ok(())
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
