//! **The lecture's two theorems as a report** (`mfpde pde|run --theorems`,
//! stored under `/theorems`), docs/model.md §4:
//!
//! - Theorem 2 (η > 0): ρ_t converges to the Gibbs state ρ* (found first by
//!   [`crate::steady`]). Reported at each snapshot: L1(ρ_t, ρ*), the exact
//!   W1 of each marginal, F_η(ρ_t) − F_η(ρ*) and its exponential rate κ (a
//!   least-squares line through log(F − F*) against t over the later half
//!   of the snapshots above round-off), converged in Δt: the run driver
//!   repeats the PDE at Δt/2 ([`Report::shadow`]) and κ is extrapolated to
//!   Δt → 0 at the scheme's order ([`Rate`]); sg's first-order steps alone
//!   put κ 4 % low at Δt = 0.5 on `grids/gibbs.toml` at η = 0.01.
//! - Theorem 1 (η = 0): from a ρ0 of full support, a limit of ρ_t minimises
//!   R; for a teacher the network represents (a `teacher` target of the
//!   same units, λ = 0) the minimum is 0. Reported: R(ρ_t) − R_min (R_min =
//!   0 there, unknown otherwise) and the support of ρ0 on the grid.
//! - Both: a stationarity residual over time: for η > 0 the spread of
//!   log ρ + 2Ψ[ρ]/η over the support (0 exactly on a Gibbs state); for
//!   η = 0 the dissipation ∫ |∇Ψ[ρ]|² ρ = −dR/dt, which vanishes where the
//!   flow can stop.

use crate::compare::{marginal, w1_cells};
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::fit::{fit_line, Fit};
use crate::grid::Grid;
use crate::io::store::{Attr, Dim, Var, VarSpec};
use crate::model::{MeanField, Target};
use crate::solve::Observer;
use crate::steady::{stationarity, GibbsSolver, Steady, SteadyOptions};
use crate::sum::fixed_sum;
use crate::velocity::Velocity;

/// Which theorem a run illustrates.
#[derive(Debug, Clone)]
pub enum Claim {
    /// η > 0: convergence to the Gibbs state.
    Gibbs(Box<Steady>),
    /// η = 0: the risk against its minimum (when known: 0 for a teacher the
    /// network represents).
    GlobalMin { best_risk: Option<f64> },
}

/// One snapshot of the report.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub time: f64,
    /// L1(ρ_t, ρ*) (η > 0; NaN for η = 0).
    pub l1: f64,
    /// W1 of each marginal to ρ* (η > 0; empty for η = 0).
    pub w1: Vec<f64>,
    /// F(ρ_t) − F(ρ*) (η > 0), or R(ρ_t) − R_min (η = 0; NaN when R_min
    /// is unknown).
    pub gap: f64,
    pub risk: f64,
    /// The stationarity residual (module docs).
    pub stationarity: f64,
    /// With birth–death (α > 0): its share of −dF_η/dt, α ∫ (Φ − Φ̄)² ρ
    /// (docs/model.md §8; NaN without).
    pub reaction: f64,
}

/// Computes the report at each snapshot of a PDE run.
pub struct Report {
    pub claim: Claim,
    grid: Grid,
    vel: Velocity,
    psi: Vec<f64>,
    faces: Vec<Vec<f64>>,
    pub rows: Vec<Row>,
    /// Fraction of cells where ρ0 > 0, and min ρ0 / max ρ0 on the grid.
    pub support: (f64, f64),
    /// The rows of the same run at Δt/2 and the scheme's order in Δt,
    /// once [`Report::set_half_step`] has them.
    half: Option<(Vec<Row>, u32)>,
}

/// The exponential rate κ of F − F* ∝ e^{−κt} as reported.
///
/// With a run at Δt/2 (order p in Δt), κ is Richardson's extrapolation
/// κ_R = (2^p κ_{Δt/2} − κ_Δt)/(2^p − 1), and its uncertainty is the fits'
/// standard errors carried through it plus |κ_R − κ_{Δt/2}|: the size of
/// the correction, which bounds what is left of the Δt error once the steps
/// are in the asymptotic range (the remainder is O(Δt^{p+1}), the
/// correction O(Δt^p)). Without one it is the fit at the run's steps, with
/// the fit's standard error alone — which says nothing of Δt.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub value: f64,
    pub uncertainty: f64,
    /// The fit at the run's steps.
    pub at_dt: Fit,
    /// The fit at Δt/2 and the order p, when the run at Δt/2 gave one.
    pub at_half_dt: Option<(Fit, u32)>,
}

impl Rate {
    /// How the rate was found (`/theorems` attribute `rate_method`).
    pub fn method(&self) -> String {
        match self.at_half_dt {
            Some((_, p)) => format!(
                "converged in the time step: fits at dt and dt/2 extrapolated to dt -> 0 (Richardson, order {p} in dt); rate_err = the fits' standard errors through it + |rate - rate_half_dt|"
            ),
            None => "the fit at the run's steps (no run at dt/2 gave a rate): its standard error alone, not the time step's error".into(),
        }
    }
}

/// A teacher of the network's own units that it represents exactly: a
/// `teacher` target (same σ, bias, units), trained a (or a* = a0 for every
/// unit when a is frozen), no weight decay, and every unit inside the box.
fn represents(model: &MeanField, grid: &Grid) -> bool {
    let Target::Teacher(units) = &model.target else {
        return false;
    };
    if model.weight_decay != 0.0 {
        return false;
    }
    units.iter().all(|u| {
        let theta: Vec<f64> = match model.net.frozen_a {
            None => u.clone(),
            Some(a0) if u[0] == a0 => u[1..].to_vec(),
            Some(_) => return false,
        };
        theta
            .iter()
            .enumerate()
            .all(|(k, t)| (grid.lo[k]..=grid.hi[k]).contains(t))
    })
}

impl Report {
    /// Plan the report of a run of `model` on `grid` from `rho0`: for η > 0
    /// the Gibbs state is solved for first.
    pub fn new(model: &MeanField, grid: &Grid, rho0: &[f64]) -> Result<Self> {
        let claim = if model.noise > 0.0 {
            let mut solver = GibbsSolver::new(model, grid)?;
            let r0 = solver.residual_of(rho0);
            Claim::Gibbs(Box::new(solver.solve(&r0, &SteadyOptions::default())))
        } else {
            Claim::GlobalMin {
                best_risk: represents(model, grid).then_some(0.0),
            }
        };
        let top = rho0.iter().cloned().fold(0.0, f64::max);
        let positive = rho0.iter().filter(|r| **r > 0.0).count();
        let low = rho0.iter().cloned().fold(f64::INFINITY, f64::min);
        Ok(Report {
            claim,
            grid: grid.clone(),
            vel: Velocity::new(model, grid),
            psi: vec![0.0; grid.len()],
            faces: Vec::new(),
            rows: Vec::new(),
            support: (positive as f64 / rho0.len() as f64, low / top),
            half: None,
        })
    }

    /// A report of the same claim (of `model`'s run) with no rows: what
    /// observes the run at Δt/2 (its rows are then given to
    /// [`Report::set_half_step`]).
    pub fn shadow(&self, model: &MeanField) -> Report {
        Report {
            claim: self.claim.clone(),
            grid: self.grid.clone(),
            vel: Velocity::new(model, &self.grid),
            psi: vec![0.0; self.grid.len()],
            faces: Vec::new(),
            rows: Vec::new(),
            support: self.support,
            half: None,
        }
    }

    /// The rows of the same run at Δt/2 (a [`Report::shadow`]'s) and the
    /// scheme's order in Δt: [`Report::rate`] is then converged in Δt.
    pub fn set_half_step(&mut self, rows: Vec<Row>, order: u32) {
        self.half = Some((rows, order));
    }

    /// ∫ |∇Ψ[ρ]|² ρ = Σ_i ρ_i |V_i|² |C|, V at the centre as the mean of its
    /// two faces on each axis.
    fn dissipation(&mut self, rho: &[f64]) -> f64 {
        let grid = &self.grid;
        self.vel.eval(rho);
        self.faces.clear();
        for k in 0..grid.dim() {
            self.faces.push(self.vel.face_values(k));
        }
        let faces = &self.faces;
        let (vol, uniform) = (grid.cell_volume(), grid.is_uniform());
        let d = grid.dim();
        fixed_sum(rho, |flat, r| {
            let mut v2 = 0.0;
            for (k, f) in faces.iter().enumerate().take(d) {
                let (n, s) = (grid.n[k], grid.strides[k]);
                let (o, i, j) = (flat / (n * s), (flat / s) % n, flat % s);
                let lo = (o * (n + 1) + i) * s + j;
                let v = 0.5 * (f[lo] + f[lo + s]);
                v2 += v * v;
            }
            r * v2 * if uniform { vol } else { grid.volume_at(flat) }
        })
    }

    /// True when F − F* (η > 0) falls by less than a factor e over the
    /// window of [`Report::fit`]: it has levelled off, the scheme's own
    /// stationary state is not ρ* (the split scheme's fixed point depends on
    /// Δt and h; sg's is ρ*).
    pub fn levelled_off(&self) -> bool {
        let (Some(fit), Some(pts)) = (self.fit(), self.fitted(&self.rows)) else {
            return false;
        };
        fit.slope * (pts[pts.len() - 1].time - pts[0].time) < 1.0
    }

    /// The rows a rate is fitted over: the later half of those where F − F*
    /// is above 1e-11 (1 + |F*|) (round-off below), at least 3.
    fn fitted<'a>(&self, rows: &'a [Row]) -> Option<Vec<&'a Row>> {
        let Claim::Gibbs(st) = &self.claim else {
            return None;
        };
        let floor = 1e-11 * (1.0 + st.free_energy.abs());
        let pts: Vec<&Row> = rows.iter().filter(|r| r.gap > floor).collect();
        let later = pts[pts.len() / 2..].to_vec();
        (later.len() >= 3).then_some(later)
    }

    /// κ fitted to rows: −slope of log(F − F*) against t over
    /// [`Report::fitted`].
    fn fit_of(&self, rows: &[Row]) -> Option<Fit> {
        let later = self.fitted(rows)?;
        // log(F − F*) = c − κ t
        let x: Vec<f64> = later.iter().map(|r| r.time).collect();
        let y: Vec<f64> = later.iter().map(|r| r.gap.ln()).collect();
        let f = fit_line(&x, &y);
        Some(Fit {
            slope: -f.slope,
            ..f
        })
    }

    /// The exponential rate of F − F* (η > 0) fitted at the run's own
    /// steps.
    pub fn fit(&self) -> Option<Fit> {
        self.fit_of(&self.rows)
    }

    /// The rate of F − F* (η > 0) as reported: converged in Δt when the
    /// run at Δt/2 is in ([`Rate`]).
    pub fn rate(&self) -> Option<Rate> {
        let at_dt = self.fit()?;
        let half = self
            .half
            .as_ref()
            .and_then(|(rows, p)| Some((self.fit_of(rows)?, *p)));
        Some(match half {
            Some((h, p)) => {
                let q = f64::from(1u32 << p);
                let value = (q * h.slope - at_dt.slope) / (q - 1.0);
                let se = (q * h.stderr).hypot(at_dt.stderr) / (q - 1.0);
                Rate {
                    value,
                    uncertainty: se + (value - h.slope).abs(),
                    at_dt,
                    at_half_dt: Some((h, p)),
                }
            }
            None => Rate {
                value: at_dt.slope,
                uncertainty: at_dt.stderr,
                at_dt,
                at_half_dt: None,
            },
        })
    }
}

/// The report's rows as columns (what `/theorems` stores).
#[derive(Debug, Clone, Default)]
pub struct Columns {
    time: Vec<f64>,
    risk: Vec<f64>,
    gap: Vec<f64>,
    stationarity: Vec<f64>,
    l1: Vec<f64>,
    /// [T, D] row-major.
    w1: Vec<f64>,
    /// α ∫ (Φ − Φ̄)² ρ, when the run has birth–death.
    reaction: Option<Vec<f64>>,
}

impl Report {
    /// The rows as columns.
    pub fn columns(&self) -> Columns {
        let col = |f: fn(&Row) -> f64| -> Vec<f64> { self.rows.iter().map(f).collect() };
        Columns {
            time: col(|x| x.time),
            risk: col(|x| x.risk),
            gap: col(|x| x.gap),
            stationarity: col(|x| x.stationarity),
            l1: col(|x| x.l1),
            w1: self.rows.iter().flat_map(|x| x.w1.clone()).collect(),
            reaction: (self.vel.model().birth_death > 0.0).then(|| col(|x| x.reaction)),
        }
    }

    /// `/theorems`' attributes: `theorem`, `gap` and `stationarity` (what
    /// they measure), `rate`, `rate_err`, `rate_method` (κ of F − F* ∝
    /// e^{−κt} as [`Rate`] reports it; NaN without one), `rate_dt`,
    /// `rate_dt_err` (the fit at the run's steps), `rate_half_dt`,
    /// `rate_half_dt_err` (at Δt/2; NaN without that run), `time_order`,
    /// `levelled_off` (1 when F − F* fell by less than a factor e over the
    /// fit), `steady_free_energy`, `best_risk` (NaN when unknown),
    /// `birth_death` (α), `support_fraction`, `support_min_ratio` (of ρ0 on
    /// the grid).
    pub fn attrs(&self) -> Vec<(&'static str, Attr)> {
        let rate = self.rate();
        let half = rate.and_then(|r| r.at_half_dt);
        let (theorem, gap_means, stat_means, steady_f, best) = match &self.claim {
            Claim::Gibbs(st) => (
                "2: η > 0, Gibbs state",
                "F(ρ_t) − F(ρ*)",
                "spread of log ρ + 2Ψ/η over the support",
                st.free_energy,
                f64::NAN,
            ),
            Claim::GlobalMin { best_risk } => (
                "1: η = 0, global minimum",
                "R(ρ_t) − R_min",
                "∫ |∇Ψ|² ρ",
                f64::NAN,
                best_risk.unwrap_or(f64::NAN),
            ),
        };
        let s = |v: &str| Attr::Str(v.to_string());
        vec![
            ("theorem", s(theorem)),
            ("gap", s(gap_means)),
            ("stationarity", s(stat_means)),
            ("rate", Attr::F64(rate.map_or(f64::NAN, |r| r.value))),
            (
                "rate_err",
                Attr::F64(rate.map_or(f64::NAN, |r| r.uncertainty)),
            ),
            (
                "rate_method",
                s(&rate.map_or(
                    "no rate (η = 0, or too few snapshots above round-off)".into(),
                    |r| r.method(),
                )),
            ),
            (
                "rate_dt",
                Attr::F64(rate.map_or(f64::NAN, |r| r.at_dt.slope)),
            ),
            (
                "rate_dt_err",
                Attr::F64(rate.map_or(f64::NAN, |r| r.at_dt.stderr)),
            ),
            (
                "rate_half_dt",
                Attr::F64(half.map_or(f64::NAN, |h| h.0.slope)),
            ),
            (
                "rate_half_dt_err",
                Attr::F64(half.map_or(f64::NAN, |h| h.0.stderr)),
            ),
            ("time_order", Attr::U64(half.map_or(0, |h| u64::from(h.1)))),
            ("levelled_off", Attr::U64(u64::from(self.levelled_off()))),
            ("steady_free_energy", Attr::F64(steady_f)),
            (
                "gibbs_boundary_mass",
                Attr::F64(match &self.claim {
                    Claim::Gibbs(st) => st.boundary_mass,
                    Claim::GlobalMin { .. } => f64::NAN,
                }),
            ),
            ("best_risk", Attr::F64(best)),
            ("birth_death", Attr::F64(self.vel.model().birth_death)),
            ("support_fraction", Attr::F64(self.support.0)),
            ("support_min_ratio", Attr::F64(self.support.1)),
        ]
    }

    /// The Gibbs state ρ* the report measures against (η > 0), stored as
    /// `/gibbs/density` (a group of its own: `/theorems` has a `w1`, which
    /// cannot also be the name of the axis w1 there).
    pub fn gibbs(&self) -> Option<Var<'_>> {
        match &self.claim {
            Claim::Gibbs(st) => Some(Var::array(
                VarSpec::new("density", &[Dim::Grid], "Gibbs state ρ* (cell averages)"),
                &st.rho,
            )),
            Claim::GlobalMin { .. } => None,
        }
    }
}

impl Columns {
    /// `/theorems`' variables: `time`, `risk`, `gap`, `stationarity` [T];
    /// with birth–death `reaction_dissipation` [T]; for η > 0 also `l1`
    /// [T] and `w1` [T, D] (to ρ*).
    pub fn vars(&self, gibbs: bool) -> Vec<Var<'_>> {
        const T: &[Dim] = &[Dim::Time];
        let a = |name, long_name, v| Var::array(VarSpec::new(name, T, long_name), v);
        let mut out = vec![
            a("time", "mean-field time t", &self.time[..]),
            a("risk", "risk R(ρ_t)", &self.risk),
            a(
                "gap",
                "F(ρ_t) − F(ρ*) (η > 0) or R(ρ_t) − R_min (η = 0)",
                &self.gap,
            ),
            a("stationarity", "stationarity residual", &self.stationarity),
        ];
        if let Some(r) = &self.reaction {
            out.push(a(
                "reaction_dissipation",
                "α ∫ (Φ − Φ̄)² ρ: birth–death's share of −dF_η/dt",
                r,
            ));
        }
        if gibbs {
            out.push(a("l1", "L1 distance to ρ*", &self.l1));
            out.push(Var::array(
                VarSpec::new("w1", &[Dim::Time, Dim::Axis], "W1 of each marginal to ρ*"),
                &self.w1,
            ));
        }
        out
    }
}

impl Report {
    /// α ∫ (Φ − Φ̄)² ρ, Φ = Ψ + (η/2) log ρ (NaN without birth–death).
    fn reaction_dissipation(&mut self, rho: &[f64]) -> f64 {
        let model = self.vel.model();
        let (alpha, eta) = (model.birth_death, model.noise);
        if alpha == 0.0 {
            return f64::NAN;
        }
        self.vel.eval_g(rho);
        self.vel.psi_cells(&mut self.psi);
        let grid = &self.grid;
        let vol = |i: usize| match grid.is_uniform() {
            true => grid.cell_volume(),
            false => grid.volume_at(i),
        };
        let psi = &self.psi;
        let phi = |i: usize, r: f64| match eta > 0.0 {
            true => psi[i] + 0.5 * eta * r.ln(),
            false => psi[i],
        };
        let moment = |k: i32, centre: f64| {
            fixed_sum(rho, |i, &r| match r > 0.0 {
                true => (phi(i, r) - centre).powi(k) * r * vol(i),
                false => 0.0,
            })
        };
        let mean = moment(1, 0.0) / moment(0, 0.0);
        alpha * moment(2, mean)
    }
}

impl Observer for Report {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let reaction = self.reaction_dissipation(rho);
        let grid = &self.grid;
        let row = match &self.claim {
            Claim::Gibbs(st) => Row {
                time: d.time,
                l1: crate::compare::l1(grid, rho, &st.rho, 0.0),
                w1: (0..grid.dim())
                    .map(|k| {
                        let e = grid.edges(k);
                        w1_cells(&e, &marginal(grid, rho, k), &e, &marginal(grid, &st.rho, k))
                    })
                    .collect(),
                // in the centre-sum convention, whose minimiser ρ* is: the
                // stored F's h²/12 shift is a constant on uniform cells
                // and depends on ρ on stretched ones (docs/model.md §9)
                gap: if grid.is_uniform() {
                    d.free_energy - st.free_energy
                } else {
                    let lambda = self.vel.model().weight_decay;
                    let shift = 0.5 * lambda * crate::diagnostics::centre_bias_of(grid, rho);
                    (d.free_energy + shift) - st.point_free_energy()
                },
                risk: d.risk,
                stationarity: stationarity(&mut self.vel, rho, &mut self.psi),
                reaction,
            },
            Claim::GlobalMin { best_risk } => {
                let gap = best_risk.map_or(f64::NAN, |b| d.risk - b);
                Row {
                    time: d.time,
                    l1: f64::NAN,
                    w1: Vec::new(),
                    gap,
                    risk: d.risk,
                    stationarity: self.dissipation(rho),
                    reaction,
                }
            }
        };
        self.rows.push(row);
        Ok(())
    }
}
