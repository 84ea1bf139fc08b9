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
use crate::io::store::DATA_DIGEST;
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

    /// Refuse a file whose groups are not those the command writes: one
    /// missing cannot be continued, and one more would be left behind,
    /// incomplete, in a file marked complete (a file of `mfpde run` is
    /// continued by `mfpde run`).
    pub fn check(&self, path: &Path, command: Command) -> Result<()> {
        let has = (
            self.pde.is_some(),
            self.particles.is_some(),
            self.compare.is_some(),
        );
        let wants = match command {
            Command::Pde => (true, false, false),
            Command::Particles => (false, true, false),
            Command::Run => (true, true, true),
        };
        if has == wants {
            return Ok(());
        }
        let writer = match has {
            (true, false, false) => "`mfpde pde`",
            (false, true, false) => "`mfpde particles`",
            (true, true, true) => "`mfpde run`",
            _ => "no command (its groups are /pde, /particles and /compare in another mix)",
        };
        let name = |c: Command| match c {
            Command::Pde => "`mfpde pde`",
            Command::Particles => "`mfpde particles`",
            Command::Run => "`mfpde run`",
        };
        Err(Error::problem(
            "--resume",
            path.display(),
            format!(
                "an interrupted run of {}: this file was written by {writer}; continue it with that command",
                name(command)
            ),
        ))
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
        r.has(g)
            .then(|| r.series(&format!("{g}/time")).map(|t| t.len()).unwrap_or(0))
    };
    let found = Found {
        pde: count("pde"),
        particles: count("particles"),
        compare: count("compare"),
    };
    Ok((r, found))
}

/// Check an interrupted file before continuing it with `command`, and
/// return the snapshots every group holds: the same problem and data set,
/// the groups the command writes and no other, and in each group every
/// series as long as its times (or one longer: a group killed between its
/// series is not possible, a group one snapshot ahead of another is),
/// times the problem's snapshot times, steps that never fall.
///
/// # Errors
/// Naming the first thing that does not hold.
pub fn check(path: &Path, setup: &Setup, command: Command) -> Result<usize> {
    let (r, found) = open(path, &setup.problem_toml)?;
    found.check(path, command)?;
    let stored = r.root_attr(DATA_DIGEST)?;
    let now = setup.data_digest.clone().unwrap_or_default();
    if stored != now {
        return Err(Error::problem(
            "--resume",
            path.display(),
            "a run of the same data set: data.file's content has changed since the run began (its SHA-256 differs)",
        ));
    }
    for layout in super::layouts(command) {
        let g = layout.group;
        if !r.has(g) || layout.rows {
            continue;
        }
        let times = r.series(&format!("{g}/time"))?;
        for spec in layout.record.iter().filter(|s| s.is_series()) {
            let n = r.series(&format!("{g}/{}", spec.name))?.len();
            if n != times.len() {
                return Err(r.bad(format!(
                    "{g}/{} holds {n} values where {g}/time holds {}: not a file an mfpde run wrote",
                    spec.name,
                    times.len()
                )));
            }
        }
        let want = &setup.snapshot_times;
        if times.len() > want.len() || times[..] != want[..times.len()] {
            return Err(r.bad(format!(
                "{g}/time is not the problem's snapshot times {:?}…",
                &want[..want.len().min(4)]
            )));
        }
        let steps = r.series(&format!("{g}/steps"))?;
        let integral = |v: &f64| *v >= 0.0 && v.fract() == 0.0;
        if !steps.iter().all(integral) || !steps.windows(2).all(|w| w[1] >= w[0]) {
            return Err(r.bad(format!(
                "{g}/steps are not a count of steps that never falls"
            )));
        }
    }
    Ok(found.common())
}

/// The PDE's state after its first `k ≥ 1` snapshots.
pub fn pde_state(r: &Reader, setup: &Setup, k: usize) -> Result<RunState> {
    let (times, mut state) = pde_point(r, k)?;
    state.rho = r.checked_field("pde", "density", times, k - 1, setup.grid.len())?;
    Ok(state)
}

/// The PDE's time and steps after its first `k ≥ 1` snapshots, without
/// its density (a run split over ranks reads it slab by slab), and the
/// snapshots the file holds.
pub fn pde_point(r: &Reader, k: usize) -> Result<(usize, RunState)> {
    let times = r.series("pde/time")?;
    let steps = r.series("pde/steps")?;
    if k == 0 || times.len() < k || steps.len() < k {
        return Err(r.bad("no complete PDE snapshot to continue from"));
    }
    let state = RunState {
        rho: Vec::new(),
        t: times[k - 1],
        steps: steps[k - 1] as usize,
        next_snapshot: k,
    };
    Ok((times.len(), state))
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
        r.row("particles", "positions", steps.len(), k - 1)?
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
