//! **Resuming an interrupted run** (`--resume`): an interrupted file holds
//! every snapshot its groups committed, and a snapshot is all a run needs to
//! continue exactly: the density and the step count (the PDE's next steps
//! depend on ρ and t alone), and the neurons with their steps taken and the
//! batch stream's position (the particles' noise is counter-based). The
//! continued run therefore writes the same values as one never interrupted.
//!
//! A run killed between its groups' commits leaves `/pde` one snapshot ahead
//! of `/particles` or `/compare`; every group is cut back to the snapshots
//! all of them hold ([`crate::io::hdf5::Hdf5Store::reopen`]).

use super::Command;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use crate::io::hdf5::{checkpoint_name, Reader};
use crate::particles::ParticleOptions;
use crate::setup::Setup;
use crate::solve::{Observer, RunState};
use crate::theorems::Report;
use std::path::Path;

/// The snapshots each group of an interrupted file holds (None: no group).
#[derive(Debug, Clone, Copy, Default)]
pub struct Found {
    pub pde: Option<usize>,
    pub particles: Option<usize>,
    pub compare: Option<usize>,
}

impl Found {
    /// The snapshots every present group holds.
    pub fn common(&self) -> usize {
        [self.pde, self.particles, self.compare]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(0)
    }

    /// Refuse a file that lacks a group the command continues.
    pub fn check(&self, path: &Path, command: Command) -> Result<()> {
        let missing = match command {
            Command::Pde => self.pde.is_none().then_some("no /pde group to continue"),
            Command::Particles => self
                .particles
                .is_none()
                .then_some("no /particles group to continue"),
            Command::Run => {
                (self.pde.is_none() || self.particles.is_none() || self.compare.is_none())
                    .then_some("not a file of `mfpde run` (it needs /pde, /particles and /compare)")
            }
        };
        match missing {
            Some(what) => Err(Error::Hdf5(format!("{}: holds {what}", path.display()))),
            None => Ok(()),
        }
    }
}

/// The first key whose value differs between two TOML tables, with both
/// values ("missing" where one has none).
fn first_difference(
    a: &toml::Table,
    b: &toml::Table,
    prefix: &str,
) -> Option<(String, String, String)> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (a.get(k), b.get(k)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
                if let Some(d) = first_difference(x, y, &path) {
                    return Some(d);
                }
            }
            (x, y) if x != y => {
                let show =
                    |v: Option<&toml::Value>| v.map_or("missing".to_string(), |v| v.to_string());
                return Some((path, show(x), show(y)));
            }
            _ => {}
        }
    }
    None
}

/// Open an interrupted file of the same problem (with its overrides) and
/// say what it holds.
///
/// # Errors
/// When the file is not an interrupted mfpde file, or its problem differs
/// (naming the first differing key).
pub fn open(path: &Path, problem_toml: &str) -> Result<(Reader, Found)> {
    let r = Reader::open(path)?;
    r.check_format()?;
    if r.root_attr("format")? != crate::io::store::FORMAT {
        return Err(r.bad(format!(
            "it was written in the earlier format {:?}: `mfpde plot` reads it, but a run cannot continue it (start the run again)",
            r.root_attr("format")?
        )));
    }
    let status = r.root_attr("status")?;
    if status != "running" {
        return Err(r.bad(format!(
            "its status is {status:?}, not \"running\": there is nothing to resume"
        )));
    }
    let parse = |t: &str| {
        t.parse::<toml::Table>()
            .map_err(|e| r.bad(format!("its problem does not parse: {e}")))
    };
    let (stored, now) = (parse(&r.root_attr("problem")?)?, parse(problem_toml)?);
    if let Some((key, was, is)) = first_difference(&stored, &now, "") {
        return Err(Error::problem(
            "--resume",
            path.display(),
            format!("a run of the same problem: `{key}` is {was} in the file and {is} now"),
        ));
    }
    let count = |g: &str| -> Option<usize> {
        r.has(&format!("{g}/time"))
            .then(|| r.series(&format!("{g}/time")).map(|t| t.len()).unwrap_or(0))
    };
    let found = Found {
        pde: count("pde"),
        particles: count("particles"),
        compare: count("compare"),
    };
    Ok((r, found))
}

/// The PDE's state after its first `k ≥ 1` snapshots.
pub fn pde_state(r: &Reader, setup: &Setup, k: usize) -> Result<RunState> {
    let times = r.series("pde/time")?;
    let steps = r.series("pde/steps")?;
    if k == 0 || times.len() < k || steps.len() < k {
        return Err(r.bad("no complete PDE snapshot to continue from"));
    }
    let rho = r.checked_fields("pde", "density", times.len(), setup.grid.len())?;
    Ok(RunState {
        rho: rho[k - 1].clone(),
        t: times[k - 1],
        steps: steps[k - 1] as usize,
        next_snapshot: k,
    })
}

/// The particles' state after their first `k ≥ 1` snapshots: the neurons'
/// whole state (m × [`crate::particles::state_dim`]), the steps taken and
/// the batch stream's word position.
pub fn particle_state(
    r: &Reader,
    setup: &Setup,
    opts: &ParticleOptions,
    k: usize,
) -> Result<(Vec<f64>, u64, u128)> {
    let steps = r.series("particles/steps")?;
    let words = r.series("particles/batch_word")?;
    if k == 0 || steps.len() < k || words.len() < k {
        return Err(r.bad("no complete particle snapshot to continue from"));
    }
    let d = crate::particles::state_dim(&setup.model);
    let theta = if !super::checkpoints(setup, opts) {
        let rows = r.rows("particles", "positions", steps.len())?;
        rows[k - 1].clone()
    } else {
        r.series(&checkpoint_name("particles", k - 1))?
    };
    if theta.len() != opts.m * d || theta.iter().any(|v| !v.is_finite()) {
        return Err(r.bad(format!(
            "the neurons of snapshot {} are not m × {d} = {} finite values",
            k - 1,
            opts.m * d
        )));
    }
    Ok((theta, steps[k - 1] as u64, words[k - 1] as u128))
}

/// Feed the theorems report the first `k` snapshots stored in the
/// interrupted file.
pub fn replay(report: &mut Report, file: &Path, setup: &Setup, k: usize) -> Result<()> {
    let r = Reader::open(file)?;
    let series = |name: &str| r.series(&format!("pde/{name}"));
    let (time, risk, free) = (series("time")?, series("risk")?, series("free_energy")?);
    let rho = r.checked_fields("pde", "density", time.len(), setup.grid.len())?;
    for i in 0..k {
        let d = Diagnostics {
            time: time[i],
            risk: risk[i],
            free_energy: free[i],
            ..Diagnostics::default()
        };
        report.snapshot(&d, &rho[i])?;
    }
    Ok(())
}
