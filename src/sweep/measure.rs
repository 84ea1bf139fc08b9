//! **What a study measures of each point**, read back from the point's
//! complete file (so a skipped point is measured as a fresh one):
//!
//! | name | what | commands |
//! | --- | --- | --- |
//! | `risk` | R at t_end (the PDE's; the network's for `particles`; R(ρ*) for `steady`) | all |
//! | `free_energy`, `entropy` | F_η and the entropy term at t_end (of ρ* for `steady`) | pde, run, steady |
//! | `particle_risk` | R(μ^m) at t_end | particles, run |
//! | `time_below(L)` | the first time R ≤ L, linear between the rows of the snapshots and (PDE) of `/history` merged; NaN when it never is | pde, particles, run |
//! | `l1`, `sw2`, `risk_gap`, `f_gap`, `w1` | the distances at t_end (`w1`: one measure per axis, `w1_<axis>`) | run |
//! | `gap` | F − F* (η > 0) or R − R_min (η = 0) at t_end, from the theorems report (run with it) | pde, run |
//!
//! Curves (`curves = [...]`) are the same quantities at every snapshot
//! (`risk`, `free_energy`, `entropy`, `particle_risk`, `l1`, `sw2`,
//! `risk_gap`, `f_gap`, `gap`), on the points' common snapshot times.

use crate::error::{Error, Result};
use crate::io::hdf5::read::Reader;
use crate::run::Command;

/// What a point runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Run(Command),
    Steady,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Run(Command::Pde) => "pde",
            Kind::Run(Command::Particles) => "particles",
            Kind::Run(Command::Run) => "run",
            Kind::Steady => "steady",
        }
    }

    /// The group whose `risk` is the point's risk.
    pub fn risk_group(self) -> &'static str {
        match self {
            Kind::Run(Command::Particles) => "particles",
            Kind::Steady => "steady",
            Kind::Run(_) => "pde",
        }
    }

    /// Whether a point trains a network (and so has a seed).
    pub fn has_seed(self) -> bool {
        matches!(self, Kind::Run(Command::Particles | Command::Run))
    }
}

/// One measure (or curve) of a study.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// `group/name`'s last value (or its series, for a curve).
    Last {
        name: &'static str,
        group: &'static str,
        var: &'static str,
    },
    /// The first time the risk falls to `level`.
    TimeBelow { level: f64 },
    /// W1 of each marginal at t_end: one value per axis.
    W1,
}

const DISTANCES: [&str; 4] = ["l1", "sw2", "risk_gap", "f_gap"];

impl Measure {
    /// A measure's text (`risk`, `time_below(0.5)`) for points running
    /// `kind`; `curve`: as a curve over time. The error is what is allowed.
    pub fn parse(text: &str, kind: Kind, curve: bool) -> std::result::Result<Self, String> {
        let pde = matches!(kind, Kind::Run(Command::Pde | Command::Run));
        let steady = kind == Kind::Steady;
        let nets = matches!(kind, Kind::Run(Command::Particles | Command::Run));
        let run = kind == Kind::Run(Command::Run);
        let only = |ok: bool, m: Measure, who: &str| match ok {
            true => Ok(m),
            false => Err(format!(
                "a measure of {who}, not of `{}` points",
                kind.name()
            )),
        };
        if curve && steady {
            return Err("no curve: a steady state has no time".into());
        }
        let last = |name, group, var| Measure::Last { name, group, var };
        match text.trim() {
            "risk" => Ok(last("risk", kind.risk_group(), "risk")),
            "free_energy" => only(pde || steady, last("free_energy", group(kind), "free_energy"), "pde, run or steady"),
            "entropy" => only(pde || steady, last("entropy", group(kind), "entropy"), "pde, run or steady"),
            "particle_risk" => only(nets, last("particle_risk", "particles", "risk"), "particles or run"),
            "gap" => only(pde, last("gap", "theorems", "gap"), "pde or run"),
            "w1" if !curve => only(run, Measure::W1, "run"),
            d if DISTANCES.contains(&d) => {
                let name = DISTANCES.iter().find(|n| **n == d).expect("listed");
                only(run, last(name, "compare", name), "run")
            }
            t if t.starts_with("time_below(") && t.ends_with(')') && !curve && !steady => {
                let level: f64 = t["time_below(".len()..t.len() - 1]
                    .trim()
                    .parse()
                    .map_err(|_| "time_below(L) with L a number".to_string())?;
                match level.is_finite() {
                    true => Ok(Measure::TimeBelow { level }),
                    false => Err("time_below(L) with L a finite number".into()),
                }
            }
            _ => Err(format!(
                "one of {} for `{}` points (README, \"Studies\")",
                match curve {
                    true => "risk, free_energy, entropy, particle_risk, gap, l1, sw2, risk_gap, f_gap",
                    false => "risk, free_energy, entropy, particle_risk, time_below(L), gap, l1, sw2, risk_gap, f_gap, w1",
                },
                kind.name()
            )),
        }
    }

    /// Whether the points must run the theorems report.
    pub fn needs_theorems(&self) -> bool {
        matches!(
            self,
            Measure::Last {
                group: "theorems",
                ..
            }
        )
    }

    /// The names of the values it gives (`w1`: one per axis).
    pub fn names(&self, axes: &[String]) -> Vec<String> {
        match self {
            Measure::Last { name, .. } => vec![name.to_string()],
            Measure::TimeBelow { level } => vec![format!("time_below_{level}")],
            Measure::W1 => axes.iter().map(|a| format!("w1_{a}")).collect(),
        }
    }

    /// Its long name.
    pub fn long_name(&self, kind: Kind) -> String {
        match self {
            Measure::Last { group, var, .. } => format!("/{group}/{var} at t_end"),
            Measure::TimeBelow { level } => format!(
                "first mean-field time with /{}/risk ≤ {level} (linear between snapshots; NaN: never)",
                kind.risk_group()
            ),
            Measure::W1 => "W1 of the marginal at t_end (/compare/w1)".into(),
        }
    }

    /// Its values at t_end in the point's file (as many as [`Measure::names`]).
    ///
    /// # Errors
    /// A file that lacks what it measures.
    pub fn values(&self, r: &Reader, kind: Kind, axes: usize) -> Result<Vec<f64>> {
        match self {
            Measure::Last { group, var, .. } => {
                let s = series(r, group, var)?;
                Ok(vec![s[s.len() - 1]])
            }
            Measure::TimeBelow { level } => {
                let g = kind.risk_group();
                let (mut t, mut v) = (series(r, g, "time")?, series(r, g, "risk")?);
                // the PDE's light history (every solver.history_every
                // steps) between the snapshots
                if g == "pde" && r.has("history/time") && r.has("history/risk") {
                    (t, v) = merged(
                        (&t, &v),
                        (&r.series("history/time")?, &r.series("history/risk")?),
                    );
                }
                Ok(vec![time_below(&t, &v, *level)])
            }
            Measure::W1 => {
                let w = series(r, "compare", "w1")?;
                if w.len() < axes {
                    return Err(Error::Hdf5(format!(
                        "/compare/w1 holds {} values, fewer than {axes} axes",
                        w.len()
                    )));
                }
                Ok(w[w.len() - axes..].to_vec())
            }
        }
    }

    /// Its values at every snapshot, with their times.
    ///
    /// # Errors
    /// A file that lacks it.
    pub fn curve(&self, r: &Reader) -> Result<(Vec<f64>, Vec<f64>)> {
        match self {
            Measure::Last { group, var, .. } => {
                let v = series(r, group, var)?;
                let t = series(r, group, "time")?;
                if t.len() != v.len() {
                    return Err(Error::Hdf5(format!(
                        "/{group}/time and /{group}/{var} differ in length"
                    )));
                }
                Ok((t, v))
            }
            _ => unreachable!("curves are Last measures (Measure::parse)"),
        }
    }
}

/// The group a PDE quantity of `kind` lives in.
fn group(kind: Kind) -> &'static str {
    match kind {
        Kind::Steady => "steady",
        _ => "pde",
    }
}

fn series(r: &Reader, group: &str, var: &str) -> Result<Vec<f64>> {
    let s = r.series(&format!("{group}/{var}"))?;
    match s.is_empty() {
        true => Err(Error::Hdf5(format!(
            "the point's file has no /{group}/{var}"
        ))),
        false => Ok(s),
    }
}

/// The first time `risk` falls to `level`, linear between the snapshots
/// (the first snapshot's time when it starts there; NaN when it never does).
pub fn time_below(time: &[f64], risk: &[f64], level: f64) -> f64 {
    let n = time.len().min(risk.len());
    if n == 0 {
        return f64::NAN;
    }
    if risk[0] <= level {
        return time[0];
    }
    for i in 1..n {
        if risk[i] <= level {
            let f = (risk[i - 1] - level) / (risk[i - 1] - risk[i]);
            return time[i - 1] + f * (time[i] - time[i - 1]);
        }
    }
    f64::NAN
}

/// Two series of (time, value) rows as one, in order of time (a time in
/// both once, the first series' row kept).
fn merged(a: (&[f64], &[f64]), b: (&[f64], &[f64])) -> (Vec<f64>, Vec<f64>) {
    let mut rows: Vec<(f64, f64)> = a.0.iter().copied().zip(a.1.iter().copied()).collect();
    rows.extend(b.0.iter().copied().zip(b.1.iter().copied()));
    // stable: of equal times the first series' row comes first
    rows.sort_by(|x, y| x.0.total_cmp(&y.0));
    rows.dedup_by(|later, earlier| later.0 == earlier.0);
    rows.into_iter().unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_rows_are_in_time_order_once() {
        let (t, v) = merged(
            (&[0.0, 1.0, 2.0], &[5.0, 4.0, 3.0]),
            (&[0.5, 1.0, 1.5], &[4.5, 9.0, 3.5]),
        );
        assert_eq!(t, [0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(v, [5.0, 4.5, 4.0, 3.5, 3.0]);
    }

    #[test]
    fn time_below_interpolates_and_says_never() {
        let t = [0.0, 1.0, 2.0];
        let r = [1.0, 0.6, 0.2];
        assert_eq!(time_below(&t, &r, 0.4), 1.5);
        assert_eq!(time_below(&t, &r, 2.0), 0.0);
        assert!(time_below(&t, &r, 0.1).is_nan());
    }

    #[test]
    fn measures_are_refused_where_they_mean_nothing() {
        let pde = Kind::Run(Command::Pde);
        assert!(Measure::parse("w1", pde, false).is_err());
        assert!(Measure::parse("particle_risk", Kind::Steady, false).is_err());
        assert!(Measure::parse("time_below(x)", pde, false).is_err());
        assert_eq!(
            Measure::parse("time_below(0.25)", pde, false),
            Ok(Measure::TimeBelow { level: 0.25 })
        );
        assert!(Measure::parse("gap", pde, true).unwrap().needs_theorems());
        assert!(Measure::parse("risk", Kind::Steady, true).is_err());
    }
}
