//! **Results files**: the observers that hand the PDE's, the particles' and
//! the comparison's snapshots to [`crate::io::hdf5`] as named arrays, and the
//! convergence study's file. The layout (format `mfpde-1`) is in the README.
//! [`resume`] reads an interrupted file back into the state of its run.

pub mod resume;

use crate::compare::{CompareObserver, CompareRow, DISTANCES};
use crate::converge::Converged;
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use crate::grid::Grid;
use crate::io::hdf5::{self, group::append_series, Array, FileHeader, GroupWriter};
use crate::particles::{
    histogram, Mode, Neurons, ParticleDiagnostics, ParticleObserver, ParticleOptions,
};
use crate::setup::Setup;
use crate::solve::{HistoryRecord, Observer};
use crate::steady::{Steady, SteadyOptions};
use crate::theorems::{Claim, Report};
use hdf5_pure::{AttrValue, File};
use std::path::Path;

/// Create the results file of a setup (problem, grid), status `running`.
pub fn create(path: &Path, setup: &Setup) -> Result<()> {
    let g = &setup.grid;
    hdf5::create_file(
        path,
        &FileHeader {
            problem: &setup.problem_toml,
            edges: (0..g.dim()).map(|k| g.edges(k)).collect(),
            axis_names: &g.names,
        },
    )
}

/// The grid's cells as an HDF5 shape.
fn cells(grid: &Grid) -> Vec<u64> {
    grid.n.iter().map(|&n| n as u64).collect()
}

/// `f_points` [E, d_x] and `f_target` [E] (f*, NaN for labels) of a setup.
struct FPoints {
    points: Vec<f64>,
    shape: [u64; 2],
    target: Vec<f64>,
}

impl FPoints {
    fn of(setup: &Setup) -> Self {
        FPoints {
            points: setup.f_points.iter().flatten().copied().collect(),
            shape: [setup.f_points.len() as u64, setup.model.net.dim_x as u64],
            target: setup
                .f_points
                .iter()
                .map(|x| setup.model.target_at(x).unwrap_or(f64::NAN))
                .collect(),
        }
    }

    fn arrays(&self) -> [Array<'_>; 2] {
        [
            Array {
                name: "f_points",
                shape: &self.shape,
                data: &self.points,
            },
            Array::vector("f_target", &self.target),
        ]
    }
}

/// Writes the PDE's snapshots and light history (`/pde`) as the run goes.
pub struct PdeOutput {
    group: GroupWriter,
    density_shape: Vec<u64>,
    /// History rows not yet written, and whether any were.
    history: Vec<HistoryRecord>,
    history_written: bool,
    owns_file: bool,
}

impl PdeOutput {
    /// Create the file and its `/pde` group; the file is marked complete
    /// when the run finishes.
    pub fn create(path: &Path, setup: &Setup) -> Result<Self> {
        create(path, setup)?;
        let mut w = Self::add(path, setup)?;
        w.owns_file = true;
        Ok(w)
    }

    /// Add the `/pde` group to a file made by [`create`].
    pub fn add(path: &Path, setup: &Setup) -> Result<Self> {
        let group = GroupWriter::add(path, "pde", &[], &FPoints::of(setup).arrays())?;
        let file = File::open_rw(path)?;
        file.root().create_group("pde/history")?;
        file.commit()?;
        file.close()?;
        Ok(PdeOutput {
            group,
            density_shape: cells(&setup.grid),
            history: Vec::new(),
            history_written: false,
            owns_file: false,
        })
    }

    /// Continue the `/pde` group of an interrupted file after its first
    /// `done` snapshots (its history cut back to them by [`resume`]).
    pub fn reopen(path: &Path, setup: &Setup, done: usize) -> Result<Self> {
        let d = setup.grid.dim() as u64;
        let arrays = vec![
            ("density".to_string(), cells(&setup.grid)),
            ("f_values".to_string(), vec![]),
            ("mean".to_string(), vec![d]),
            ("cov".to_string(), vec![d, d]),
        ];
        Ok(PdeOutput {
            group: GroupWriter::reopen(path, "pde", done, arrays)?,
            density_shape: cells(&setup.grid),
            history: Vec::new(),
            history_written: done > 0,
            owns_file: false,
        })
    }

    /// The names of `/pde`'s series (those a resumed file is cut back on).
    pub fn series_names() -> Vec<&'static str> {
        Diagnostics::default()
            .series()
            .iter()
            .map(|s| s.0)
            .collect()
    }
}

/// Append buffered history rows to `/pde/history/*` in `file`'s session.
fn flush_history(file: &File, rows: &mut Vec<HistoryRecord>, written: &mut bool) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    for (c, (name, _)) in first.series().iter().enumerate() {
        let vals: Vec<f64> = rows.iter().map(|h| h.series()[c].1).collect();
        append_series(file, &format!("pde/history/{name}"), &vals, !*written)?;
    }
    *written = true;
    rows.clear();
    Ok(())
}

impl Observer for PdeOutput {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let dim = [d.mean.len() as u64];
        let dd = [dim[0], dim[0]];
        let (rows, written) = (&mut self.history, &mut self.history_written);
        self.group.snapshot(
            &d.series(),
            &[
                Array {
                    name: "density",
                    shape: &self.density_shape,
                    data: rho,
                },
                Array::vector("f_values", &d.f_values),
                Array {
                    name: "mean",
                    shape: &dim,
                    data: &d.mean,
                },
                Array {
                    name: "cov",
                    shape: &dd,
                    data: &d.cov,
                },
            ],
            |file| flush_history(file, rows, written),
        )
    }

    fn history(&mut self, rec: &HistoryRecord) -> Result<()> {
        self.history.push(*rec);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let (rows, written) = (&mut self.history, &mut self.history_written);
        self.group
            .finish(|file| flush_history(file, rows, written))?;
        if self.owns_file {
            hdf5::mark_complete(self.group.file_path())?;
        }
        Ok(())
    }
}

/// Writes the particles' snapshots (`/particles`) as the run goes, with
/// their histogram on the problem's grid.
pub struct ParticleOutput {
    group: GroupWriter,
    grid: Grid,
    store: usize,
    checkpoint: bool,
    owns_file: bool,
}

/// Where the neurons' whole state is kept at each snapshot when the
/// positions do not hold it (two slots, alternating, so the previous
/// snapshot's survives a run killed between the groups' commits).
pub fn checkpoint_name(snapshot: usize) -> String {
    format!("particles/checkpoint/theta_{}", snapshot % 2)
}

/// Whether a run keeps a checkpoint: when fewer positions than neurons are
/// stored, or the positions are not the state (the d-dimensional network
/// of a reduced problem: (a, w ∈ ℝᵈ) behind its (a, p, r)).
pub fn checkpoints(setup: &Setup, opts: &ParticleOptions) -> bool {
    opts.store < opts.m || crate::particles::state_dim(&setup.model) != setup.model.dim()
}

impl ParticleOutput {
    /// Leave marking the file complete to the caller (it marks it after
    /// the run, as for a resumed file).
    pub fn keep_file_running(&mut self) {
        self.owns_file = false;
    }

    /// Create the file and its `/particles` group.
    pub fn create(path: &Path, setup: &Setup, opts: &ParticleOptions) -> Result<Self> {
        create(path, setup)?;
        let mut w = Self::add(path, setup, opts)?;
        w.owns_file = true;
        Ok(w)
    }

    /// Add the `/particles` group (attributes m, seed, dt, mode, risk (how
    /// R(μ^m) is taken), and batch for sgd) to a file made by [`create`].
    pub fn add(path: &Path, setup: &Setup, opts: &ParticleOptions) -> Result<Self> {
        let mut attrs = vec![
            ("m", AttrValue::U64(opts.m as u64)),
            ("seed", AttrValue::U64(opts.seed)),
            ("dt", AttrValue::F64(opts.dt)),
            ("mode", AttrValue::String(opts.mode.name().into())),
            (
                "risk",
                AttrValue::String(crate::particles::risk_method(&setup.model)),
            ),
        ];
        if let Mode::Sgd { batch } = opts.mode {
            attrs.push(("batch", AttrValue::U64(batch as u64)));
        }
        let group = GroupWriter::add(path, "particles", &attrs, &FPoints::of(setup).arrays())?;
        let checkpoint = checkpoints(setup, opts);
        if checkpoint {
            let file = File::open_rw(path)?;
            file.root().create_group("particles/checkpoint")?;
            file.commit()?;
            file.close()?;
        }
        Ok(ParticleOutput {
            group,
            grid: setup.grid.clone(),
            store: opts.store,
            checkpoint,
            owns_file: false,
        })
    }

    /// Continue the `/particles` group of an interrupted file after its
    /// first `done` snapshots.
    pub fn reopen(path: &Path, setup: &Setup, opts: &ParticleOptions, done: usize) -> Result<Self> {
        let d = setup.grid.dim() as u64;
        let arrays = vec![
            ("positions".to_string(), vec![opts.store as u64, d]),
            ("histogram".to_string(), cells(&setup.grid)),
            ("f_values".to_string(), vec![]),
            ("mean".to_string(), vec![]),
            ("cov".to_string(), vec![d, d]),
        ];
        Ok(ParticleOutput {
            group: GroupWriter::reopen(path, "particles", done, arrays)?,
            grid: setup.grid.clone(),
            store: opts.store,
            checkpoint: checkpoints(setup, opts),
            owns_file: false,
        })
    }

    /// The names of `/particles`' series.
    pub fn series_names() -> Vec<&'static str> {
        ParticleDiagnostics::default()
            .series(0.0)
            .iter()
            .map(|s| s.0)
            .collect()
    }
}

impl ParticleObserver for ParticleOutput {
    fn snapshot(&mut self, d: &ParticleDiagnostics, neurons: &dyn Neurons) -> Result<()> {
        let dim = d.mean.len();
        let theta = neurons.positions();
        let (hist, outside) = histogram(&self.grid, theta, dim);
        let (pos, dd) = ([self.store as u64, dim as u64], [dim as u64, dim as u64]);
        let (checkpoint, slot) = (self.checkpoint, checkpoint_name(self.group.snapshots()));
        let state = neurons.state();
        let full = [state.len() as u64];
        self.group.snapshot(
            &d.series(outside),
            &[
                Array {
                    name: "positions",
                    shape: &pos,
                    data: &theta[..self.store * dim],
                },
                Array {
                    name: "histogram",
                    shape: &cells(&self.grid),
                    data: &hist,
                },
                Array::vector("f_values", &d.f_values),
                Array::vector("mean", &d.mean),
                Array {
                    name: "cov",
                    shape: &dd,
                    data: &d.cov,
                },
            ],
            |file| {
                if checkpoint {
                    // the whole state, replacing the slot's older copy in this commit
                    let root = file.root();
                    if file.dataset(&slot).is_ok() {
                        root.delete(&slot)?;
                    }
                    root.create_dataset(&slot, |b| {
                        b.with_f64_data(state).with_shape(&full);
                    })?;
                }
                Ok(())
            },
        )
    }

    fn finish(&mut self) -> Result<()> {
        let checkpoint = self.checkpoint;
        self.group.finish(|file| {
            if checkpoint && file.group("particles/checkpoint").is_ok() {
                file.root().delete("particles/checkpoint")?;
            }
            Ok(())
        })?;
        if self.owns_file {
            hdf5::mark_complete(self.group.file_path())?;
        }
        Ok(())
    }
}

/// Writes the distances between the PDE and the particles (`/compare`):
/// `time`, `pde_risk`, `particle_risk` and each distance of
/// [`DISTANCES`] under its key ([T], or [T, D] per axis), with attributes
/// `metrics` (the keys) and `labels`, comma separated.
pub struct CompareOutput {
    group: GroupWriter,
}

impl CompareOutput {
    /// Add `/compare` (with the sliced-W2 directions [L, D]) to a file.
    pub fn add(path: &Path, d: usize, dirs: &[Vec<f64>]) -> Result<Self> {
        let flat: Vec<f64> = dirs.iter().flatten().copied().collect();
        let shape = [dirs.len() as u64, d as u64];
        let join = |f: fn(&crate::compare::Distance) -> &'static str| {
            DISTANCES.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let group = GroupWriter::add(
            path,
            "compare",
            &[
                ("metrics", AttrValue::String(join(|d| d.key))),
                ("labels", AttrValue::String(join(|d| d.label))),
            ],
            &[Array {
                name: "directions",
                shape: &shape,
                data: &flat,
            }],
        )?;
        Ok(CompareOutput { group })
    }

    /// Continue the `/compare` group of an interrupted file after its first
    /// `done` snapshots.
    pub fn reopen(path: &Path, done: usize) -> Result<Self> {
        let arrays = DISTANCES
            .iter()
            .filter(|d| d.per_axis)
            .map(|d| (d.key.to_string(), vec![]))
            .collect();
        Ok(CompareOutput {
            group: GroupWriter::reopen(path, "compare", done, arrays)?,
        })
    }

    /// The names of `/compare`'s series and per-axis arrays.
    pub fn names() -> (Vec<&'static str>, Vec<&'static str>) {
        let mut series = vec!["time"];
        series.extend(DISTANCES.iter().filter(|d| !d.per_axis).map(|d| d.key));
        series.extend(["pde_risk", "particle_risk"]);
        let arrays = DISTANCES
            .iter()
            .filter(|d| d.per_axis)
            .map(|d| d.key)
            .collect();
        (series, arrays)
    }
}

impl CompareObserver for CompareOutput {
    fn row(&mut self, r: &CompareRow) -> Result<()> {
        let mut series = vec![("time", r.time)];
        let mut arrays = Vec::new();
        for (dist, v) in r.named() {
            if dist.per_axis {
                arrays.push(Array::vector(dist.key, v));
            } else {
                series.push((dist.key, v[0]));
            }
        }
        series.extend([("pde_risk", r.pde_risk), ("particle_risk", r.particle_risk)]);
        self.group.snapshot(&series, &arrays, |_| Ok(()))
    }

    fn finish(&mut self) -> Result<()> {
        self.group.finish(|_| Ok(()))
    }
}

/// Write a convergence study: a results file (problem and finest grid) with
/// `/converge/m` [M], `cells` [H], `h` [H], `vs_m`, `vs_m_se` [K, M],
/// `vs_h` [K, H], `slope_m`, `slope_m_err`, `slope_h`, `slope_h_err`,
/// `floor_m` [K] (NaN: no floor), `slope_m_points` [K] (the m fitted: those
/// before the floor), `grid_gap` [K] (the distance between the PDE on the
/// two finest grids; NaN with one), attributes `metrics` (K names, comma
/// separated) and `seeds`.
pub fn write_converge(path: &Path, fine: &Setup, c: &Converged) -> Result<()> {
    create(path, fine)?;
    let (k, nm, nh) = (
        c.metrics.len() as u64,
        c.ms.len() as u64,
        c.cells.len() as u64,
    );
    let per_metric =
        |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..c.metrics.len()).map(f).collect() };
    let arrays: Vec<(&str, Vec<f64>, Vec<u64>)> = vec![
        ("m", c.ms.iter().map(|&m| m as f64).collect(), vec![nm]),
        (
            "cells",
            c.cells.iter().map(|&n| n as f64).collect(),
            vec![nh],
        ),
        ("h", c.h.clone(), vec![nh]),
        ("vs_m", c.vs_m.concat(), vec![k, nm]),
        ("vs_m_se", c.vs_m_se.concat(), vec![k, nm]),
        ("vs_h", c.vs_h.concat(), vec![k, nh]),
        ("grid_gap", c.grid_gap.clone(), vec![k]),
        (
            "slope_m_points",
            per_metric(&|i| c.fit_m[i].points as f64),
            vec![k],
        ),
        ("slope_m", per_metric(&|i| c.fit_m[i].slope), vec![k]),
        ("slope_m_err", per_metric(&|i| c.fit_m[i].stderr), vec![k]),
        ("slope_h", per_metric(&|i| c.fit_h[i].slope), vec![k]),
        ("slope_h_err", per_metric(&|i| c.fit_h[i].stderr), vec![k]),
        (
            "floor_m",
            per_metric(&|i| c.floor_m[i].unwrap_or(f64::NAN)),
            vec![k],
        ),
    ];
    let arrays: Vec<Array> = arrays
        .iter()
        .map(|(name, data, shape)| Array { name, shape, data })
        .collect();
    let mut g = GroupWriter::add(
        path,
        "converge",
        &[
            ("metrics", AttrValue::String(c.metrics.join(","))),
            ("seeds", AttrValue::U64(c.seeds as u64)),
        ],
        &arrays,
    )?;
    g.finish(|_| Ok(()))?;
    hdf5::mark_complete(path)
}

/// Write a Gibbs state: a results file (problem, grid) with `/steady/density`
/// [n_0, …], scalars `risk`, `entropy`, `free_energy`, `residual` (the
/// stationarity residual: spread of log ρ + 2Ψ/η over the support),
/// `iterations`, `gap` (the duality gap F − D), `starts_l1` (the largest L1
/// distance between the states reached from the three starts), `r` [Q]
/// (f* − f residual at the nodes: r = f_ρ − f*); attributes `method` and
/// `tolerance`.
pub fn write_steady(
    path: &Path,
    setup: &Setup,
    st: &Steady,
    opts: &SteadyOptions,
    starts_l1: f64,
) -> Result<()> {
    create(path, setup)?;
    let shape = cells(&setup.grid);
    let scalars = [
        ("risk", st.risk),
        ("entropy", st.entropy),
        ("free_energy", st.free_energy),
        ("residual", st.stationarity),
        ("iterations", st.iterations as f64),
        ("gap", st.gap),
        ("starts_l1", starts_l1),
    ];
    let one = [1u64];
    let mut arrays = vec![
        Array {
            name: "density",
            shape: &shape,
            data: &st.rho,
        },
        Array::vector("r", &st.residual_nodes),
    ];
    let values: Vec<[f64; 1]> = scalars.iter().map(|(_, v)| [*v]).collect();
    for ((name, _), v) in scalars.iter().zip(&values) {
        arrays.push(Array {
            name,
            shape: &one,
            data: v,
        });
    }
    let mut g = GroupWriter::add(
        path,
        "steady",
        &[
            (
                "method",
                AttrValue::String(format!("{:?}", opts.method).to_lowercase()),
            ),
            ("tolerance", AttrValue::F64(opts.tol)),
        ],
        &arrays,
    )?;
    g.finish(|_| Ok(()))?;
    hdf5::mark_complete(path)
}

/// Add the theorems report to a results file: `/theorems/time`, `risk`,
/// `gap` (F − F* for η > 0, R − R_min for η = 0), `stationarity` [T]; for
/// η > 0 also `l1` [T], `w1` [T, D] (to ρ*) and `gibbs_density` [n_0, …];
/// attributes `theorem` ("2: η > 0, Gibbs state" or "1: η = 0, global
/// minimum"), `gap`, `stationarity` (what they measure), `rate`,
/// `rate_err` (the fitted κ of F − F* ∝ e^{−κt}; NaN without one),
/// `levelled_off` (1 when F − F* fell by less than a factor e over the fit),
/// `steady_free_energy`, `best_risk` (NaN when unknown),
/// `support_fraction`, `support_min_ratio` (of ρ0 on the grid).
pub fn write_theorems(path: &Path, r: &Report) -> Result<()> {
    let t: Vec<f64> = r.rows.iter().map(|x| x.time).collect();
    let col = |f: fn(&crate::theorems::Row) -> f64| -> Vec<f64> { r.rows.iter().map(f).collect() };
    let (risk, gap, stat) = (col(|x| x.risk), col(|x| x.gap), col(|x| x.stationarity));
    let rate = r.rate();
    let (theorem, gap_means, stat_means, steady_f, best) = match &r.claim {
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
    let attrs = [
        ("theorem", AttrValue::String(theorem.into())),
        ("gap", AttrValue::String(gap_means.into())),
        ("stationarity", AttrValue::String(stat_means.into())),
        ("rate", AttrValue::F64(rate.map_or(f64::NAN, |f| f.slope))),
        (
            "rate_err",
            AttrValue::F64(rate.map_or(f64::NAN, |f| f.stderr)),
        ),
        ("steady_free_energy", AttrValue::F64(steady_f)),
        ("best_risk", AttrValue::F64(best)),
        ("support_fraction", AttrValue::F64(r.support.0)),
        ("support_min_ratio", AttrValue::F64(r.support.1)),
    ];
    let mut arrays = vec![
        Array::vector("time", &t),
        Array::vector("risk", &risk),
        Array::vector("gap", &gap),
        Array::vector("stationarity", &stat),
    ];
    let (l1, w1): (Vec<f64>, Vec<f64>) = (
        col(|x| x.l1),
        r.rows.iter().flat_map(|x| x.w1.clone()).collect(),
    );
    let d = (w1.len() / t.len().max(1)) as u64;
    let w1_shape = [t.len() as u64, d];
    let cells_shape;
    if let Claim::Gibbs(st) = &r.claim {
        arrays.push(Array::vector("l1", &l1));
        arrays.push(Array {
            name: "w1",
            shape: &w1_shape,
            data: &w1,
        });
        cells_shape = r.grid_shape();
        arrays.push(Array {
            name: "gibbs_density",
            shape: &cells_shape,
            data: &st.rho,
        });
    }
    let mut g = GroupWriter::add(path, "theorems", &attrs, &arrays)?;
    g.finish(|_| Ok(()))
}
