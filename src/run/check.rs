//! **What a problem will be** (`mfpde check`, `Problem.check()` from
//! Python): validated, with its derived sizes, as a value.

use crate::budget;
use crate::diagnostics;
use crate::error::{Error, Result};
use crate::particles;
use crate::problem::LoadedProblem;
use crate::ranks::Shared;
use crate::setup::Setup;
use crate::solve;

/// What a run cannot take, by name: birth–death in a network that has
/// none ([`particles::birth_death_refusal`]: η > 0, the d-dimensional
/// network, a network over `ranks`).
///
/// # Errors
/// [`Error::Problem`] naming `dynamics.birth_death`.
pub fn refusal(setup: &Setup, networks: bool, ranks: Option<&Shared>) -> Result<()> {
    match networks {
        true => particles::birth_death_refusal(&setup.model, ranks.map_or(1, |r| r.size())),
        false => Ok(()),
    }
}

/// The largest root-mean-square target over P not warned about: units of
/// O(1) output weights fit targets of O(1).
pub const TARGET_SCALE_WARNING: f64 = 100.0;

/// A warning about a target whose scale is far from the data's and the
/// units' (`None` when its root-mean-square over P is at most
/// [`TARGET_SCALE_WARNING`]).
pub fn target_scale_warning(setup: &Setup) -> Option<String> {
    let m = &setup.model;
    let ms: f64 = (m.quad.weights.iter())
        .zip(&m.fstar)
        .map(|(w, f)| w * f * f)
        .sum();
    (ms.sqrt() > TARGET_SCALE_WARNING).then(|| {
        format!(
            "the target's root-mean-square over P is {:.3e}, far above the O(1) the units reach (R(0) ≈ {:.3e}; in a reduced problem rperp = |x⊥| is about √(d − k))",
            ms.sqrt(),
            0.5 * ms
        )
    })
}

/// The axes along which ρ0 spans fewer than two cells per standard
/// deviation (`grid::fit`): its moments and early dynamics there are the
/// grid's.
pub fn unresolved_rho0(setup: &Setup) -> Vec<String> {
    let g = &setup.grid;
    crate::grid::fit::unresolved(g, &setup.initial.spreads(g.dim()), "ρ0")
}

/// What a run of `command` on `setup` should be told that is not an error:
/// crank_nicolson diffusion (can make ρ negative), a target far from O(1),
/// ρ0 narrower than two cells along an axis (these not for a particle run
/// alone), sg for `run` (the networks would be
/// compared with a transient that lags the PDE's).
pub fn warnings(setup: &Setup, command: super::Command) -> Vec<String> {
    use super::Command;
    let mut out = Vec::new();
    if command != Command::Particles {
        if setup.scheme.diffusion == crate::scheme::DiffusionKind::CrankNicolson {
            out.push("crank_nicolson diffusion can make ρ negative for Δt η/2 > h²; backward_euler or spectral stay positive".to_string());
        }
        out.extend(target_scale_warning(setup));
        out.extend(unresolved_rho0(setup));
    }
    if command == Command::Run && setup.scheme.kind == crate::scheme::SchemeKind::Sg {
        out.push("solver.scheme = \"sg\" is first order in time: the networks are compared with its transient, which lags the PDE's (use solver.scheme = \"split\" for `run`; sg is for long times and the Gibbs state)".to_string());
    }
    out
}

/// The symmetry reduction of a problem, as `check` states it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReductionFigures {
    /// d, the input dimension.
    pub dim: usize,
    /// k, the directions the target sees.
    pub k: usize,
    /// n = d − k.
    pub n: usize,
    /// Nodes of the cosine rule.
    pub cosine_nodes: usize,
    /// (η/2)(n − 1), the coefficient of the Itô drift 1/r.
    pub ito: f64,
    /// Parameters per neuron of the d-dimensional network.
    pub parameters: usize,
}

/// The network of a problem's `[particles]`, as `check` states it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleFigures {
    pub m: usize,
    pub dt: f64,
    pub mode: String,
    /// Steps to t_end.
    pub steps: f64,
    /// Bytes of the positions (m × D).
    pub positions_bytes: f64,
    /// How R(μ^m) is taken.
    pub risk: String,
    /// What a step costs, in words.
    pub step: String,
}

/// A valid problem's derived sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub name: String,
    /// The phase-space axes (D of them).
    pub axes: Vec<String>,
    pub cells: Vec<usize>,
    /// Quadrature nodes of E_x.
    pub nodes: usize,
    /// d_x (of a full-grid problem; the reduced input's length otherwise).
    pub dim_x: usize,
    pub reduction: Option<ReductionFigures>,
    /// w points: cell centres and faces.
    pub w_centres: usize,
    pub w_faces: usize,
    /// The stretched axes, each as "name: kind, cells from … to … wide".
    pub stretched: Vec<String>,
    /// Estimated bytes of memory and of the results file.
    pub memory_bytes: f64,
    pub disk_bytes: f64,
    /// The first step Δt and the steps to t_end at it.
    pub first_dt: f64,
    pub cfl: f64,
    pub steps: f64,
    pub snapshots: usize,
    /// Mass of ρ0 inside the box, its outermost layer's, and R(ρ0).
    pub box_mass: f64,
    pub boundary_mass: f64,
    pub risk0: f64,
    pub particles: Option<ParticleFigures>,
    /// What the problem runs into that is not an error.
    pub warnings: Vec<String>,
}

/// Each stretched axis as "name: kind, cells from … to … wide".
fn stretched(lp: &LoadedProblem, g: &crate::grid::Grid) -> Vec<String> {
    use crate::grid::AxisMap;
    (0..g.dim())
        .filter_map(|k| {
            let s = g.stretch[k].as_ref()?;
            let kind = match lp.problem.grid.map.get(&g.names[k])? {
                AxisMap::Uniform => return None,
                AxisMap::Sinh { centre, width } => format!("sinh about {centre} (width {width})"),
                AxisMap::Geometric { ratio, from } => {
                    format!("geometric from {from} (ratio {ratio})")
                }
                AxisMap::Edges { .. } => "given edges".to_string(),
            };
            let lo = s.widths.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = s.widths.iter().copied().fold(0.0, f64::max);
            Some(format!(
                "{}: {kind}, cells {} to {} wide",
                g.names[k],
                crate::error::sig(lo),
                crate::error::sig(hi)
            ))
        })
        .collect()
}

/// What each rank of the problem's network holds and sends when a run is
/// split over `ranks` ranks (`mfpde check --ranks N`).
///
/// # Errors
/// The problem's, a problem without `[particles]`, and a split the network
/// cannot take (by name).
pub fn rank_load(lp: &LoadedProblem, ranks: usize) -> Result<particles::RankLoad> {
    let setup = Setup::new(lp)?;
    let o = setup.particle_options()?;
    particles::rank_load(&setup.model, &o, ranks)
}

/// What each rank of the problem's grid PDE holds and sends when it is
/// split over `ranks` ranks (`mfpde check --ranks N`).
///
/// # Errors
/// The problem's, and a split the grid cannot take (by name).
pub fn pde_rank_load(lp: &LoadedProblem, ranks: usize) -> Result<super::slabs::SlabLoad> {
    let setup = Setup::new(lp)?;
    let sizes = crate::budget::Sizes::of(lp);
    let grid = 8.0 * sizes.cells * (8.0 + sizes.dim as f64);
    let tables = (sizes.estimate(false).memory - grid).max(0.0);
    super::slabs::slab_load(&setup, ranks, tables)
}

/// Validate a problem (its ranges, its budget unless `force`, its setup, its
/// first step) and derive its sizes.
///
/// # Errors
/// The first field out of range or invalid, the budget's refusal, or a
/// first step the controller would refuse.
pub fn check(lp: &LoadedProblem, force: bool) -> Result<Figures> {
    crate::setup::check_ranges(lp)?;
    let est = budget::Sizes::of(lp).estimate(lp.problem.particles.is_some());
    budget::check(&est, None, force)?;
    let setup = Setup::new(lp)?;
    let g = &setup.grid;
    let q = setup.model.quad.len();
    let wax = setup.model.net.w_axis();
    let nw: usize = g.n[wax..].iter().product();
    let nwf: usize = (wax..g.dim()).map(|ax| nw / g.n[ax] * (g.n[ax] + 1)).sum();
    let rho0 = setup.rho0();
    let mut stepper = solve::make_stepper(&setup);
    let dt = stepper.stable_dt(&rho0);
    // what the controller refuses before its first step
    if let Some(why) = solve::projection_fault(&setup, dt, 0.0, 0) {
        return Err(Error::Run(format!(
            "it would stop at its first step: {why}"
        )));
    }
    let d0 = diagnostics::compute(0.0, g, stepper.velocity(), &rho0, &[]);
    let reduction = setup.model.reduction.as_ref().map(|red| ReductionFigures {
        dim: red.sizes.dim,
        k: red.sizes.k,
        n: red.sizes.n(),
        cosine_nodes: red.cosine.len(),
        ito: setup.model.ito(),
        parameters: red.sizes.dim + wax,
    });
    let particles = setup.particles.map(|o| {
        let step = match (&setup.model.reduction, o.mode) {
            (Some(red), particles::Mode::Sgd { batch }) => format!(
                "neurons in R^{d} seen through their reduced coordinates; B = {batch} fresh samples in R^{d}, O(m B d) = {:.1e} flops",
                4.0 * o.m as f64 * batch as f64 * red.sizes.dim as f64,
                d = red.sizes.dim
            ),
            (Some(red), _) => format!(
                "neurons in R^{d} seen through their reduced coordinates; the exact population gradient through kappa, O(m^2 d) = {:.1e} flops",
                4.0 * (o.m as f64).powi(2) * red.sizes.dim as f64,
                d = red.sizes.dim
            ),
            (None, _) => {
                let pairs = particles::folded_pairs(&setup.model, &o);
                format!(
                    "{} nodes{}, {} loops",
                    o.nodes_per_step(q),
                    if pairs > 0 {
                        format!(" ({pairs} pairs ±x folded)")
                    } else {
                        String::new()
                    },
                    particles::kernel::Simd::detect().name()
                )
            }
        };
        ParticleFigures {
            m: o.m,
            dt: o.dt,
            mode: o.mode.name().to_string(),
            steps: (setup.t_end / o.dt).ceil(),
            positions_bytes: 8.0 * (o.m * g.dim()) as f64,
            risk: particles::risk_method(&setup.model).describe(),
            step,
        }
    });
    Ok(Figures {
        name: setup.name.clone(),
        axes: g.names.clone(),
        cells: g.n.clone(),
        nodes: q,
        dim_x: setup.model.net.dim_x,
        reduction,
        w_centres: nw,
        w_faces: nwf,
        stretched: stretched(lp, g),
        memory_bytes: est.memory,
        disk_bytes: est.disk,
        first_dt: dt,
        cfl: setup.scheme.cfl,
        steps: (setup.t_end / dt).ceil(),
        snapshots: setup.snapshot_times.len(),
        box_mass: setup.box_mass,
        boundary_mass: d0.boundary_mass,
        risk0: d0.risk,
        particles,
        warnings: {
            let mut w: Vec<String> = target_scale_warning(&setup).into_iter().collect();
            w.extend(unresolved_rho0(&setup));
            if d0.boundary_mass > solve::BOUNDARY_WARNING {
                let open = diagnostics::open_side(g, setup.model.reduction.is_some());
                w.push(format!(
                    "ρ0's outermost cells hold {:.2e} of its mass (above {}): {}",
                    d0.boundary_mass,
                    solve::BOUNDARY_WARNING,
                    crate::grid::fit::boundary_advice(g, &rho0, open)
                ));
            }
            w
        },
    })
}
