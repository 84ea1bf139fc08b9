//! Helpers shared by the integration tests.
#![allow(dead_code)]

use mfpde::diagnostics::Diagnostics;
use mfpde::problem::LoadedProblem;
use mfpde::setup::Setup;
use mfpde::solve::{HistoryRecord, Observer};
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the mfpde binary with `args`; panic with its stderr unless it exits 0.
pub fn mfpde_ok<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args(&args)
        .output()
        .expect("mfpde starts");
    assert!(
        out.status.success(),
        "mfpde {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The problem files in grids/.
pub fn grid_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("grids"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .collect();
    files.sort();
    files
}

/// A grid file with overrides, validated.
pub fn grid_setup(name: &str, sets: &[&str]) -> Setup {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let path = root().join("grids").join(format!("{name}.toml"));
    let lp = LoadedProblem::from_file(&path, &sets).expect("problem loads");
    Setup::new(&lp).expect("problem is valid")
}

/// A problem text with overrides, validated.
pub fn text_setup(text: &str, sets: &[&str]) -> Setup {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let lp = LoadedProblem::from_str(text, &sets, Path::new(".")).expect("problem loads");
    Setup::new(&lp).expect("problem is valid")
}

/// Records everything the controller reports.
#[derive(Default)]
pub struct Recorder {
    pub snapshots: Vec<Diagnostics>,
    pub densities: Vec<Vec<f64>>,
    pub history: Vec<HistoryRecord>,
    /// min ρ and mass after every step.
    pub step_min: Vec<f64>,
    pub step_mass: Vec<f64>,
    pub cell_volume: f64,
}

impl Observer for Recorder {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> mfpde::Result<()> {
        self.snapshots.push(d.clone());
        self.densities.push(rho.to_vec());
        Ok(())
    }
    fn history(&mut self, rec: &HistoryRecord) -> mfpde::Result<()> {
        self.history.push(*rec);
        Ok(())
    }
    fn step(&mut self, _t: f64, _dt: f64, rho: &[f64]) -> mfpde::Result<()> {
        self.step_min
            .push(rho.iter().cloned().fold(f64::INFINITY, f64::min));
        let s: f64 = rho.iter().sum();
        self.step_mass.push(s * self.cell_volume);
        Ok(())
    }
}

/// Solve and record.
pub fn run(setup: &Setup) -> Recorder {
    let mut rec = Recorder {
        cell_volume: setup.grid.cell_volume(),
        ..Default::default()
    };
    mfpde::solve::solve(setup, &mut [&mut rec]).expect("run succeeds");
    rec
}

/// L1 distance Σ |a − b| |C|.
pub fn l1(a: &[f64], b: &[f64], vol: f64) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * vol
}

/// Observed orders log2(e_k / e_{k+1}) of errors at successive halvings of h.
pub fn orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// The swarm of a setup's problem with particle options `o`.
pub fn swarm(s: &Setup, o: &mfpde::particles::ParticleOptions) -> mfpde::particles::Swarm {
    mfpde::particles::Swarm::new(&s.model, &s.initial, o)
}

/// Train a swarm through the setup's snapshot times with step `o.dt`.
pub fn run_swarm(
    s: &Setup,
    o: &mfpde::particles::ParticleOptions,
    sw: &mut mfpde::particles::Swarm,
    observers: &mut [&mut dyn mfpde::particles::ParticleObserver],
) -> mfpde::particles::ParticleSummary {
    mfpde::particles::run(sw, o.dt, &s.snapshot_times, &s.f_points, observers)
        .expect("particle run succeeds")
}

/// A new swarm of `s` trained with `o`.
pub fn train(
    s: &Setup,
    o: &mfpde::particles::ParticleOptions,
    observers: &mut [&mut dyn mfpde::particles::ParticleObserver],
) -> (mfpde::particles::Swarm, mfpde::particles::ParticleSummary) {
    let mut sw = swarm(s, o);
    let sum = run_swarm(s, o, &mut sw, observers);
    (sw, sum)
}
