//! The results store and the run driver: a run through the library's entry
//! point, in memory, gives the numbers of the command line's file.

mod common;
use common::*;
use mfpde::io::store::Results;
use mfpde::run::{self, Command, Listener, Options};
use std::path::Path;

/// Counts what a run reports as it goes (a progress callback).
#[derive(Default)]
struct Heard {
    steps: usize,
    pde: usize,
    particles: usize,
    rows: usize,
    last_t: f64,
}

impl Listener for Heard {
    fn step(&mut self, t: f64, _dt: f64) {
        assert!(t > self.last_t, "steps in time order");
        self.last_t = t;
        self.steps += 1;
    }
    fn pde(&mut self, _d: &mfpde::diagnostics::Diagnostics) {
        self.pde += 1;
    }
    fn particles(&mut self, _d: &mfpde::particles::ParticleDiagnostics) {
        self.particles += 1;
    }
    fn compare(&mut self, _r: &mfpde::compare::CompareRow) {
        self.rows += 1;
    }
}

/// Every variable of `results` is the file's dataset of the same path, to
/// the bit and in shape; every other dataset of the file is a coordinate
/// (a dimension scale the complete file adds) or the grid's edges.
fn same_as_file(results: &Results, file: &Path) {
    let f = hdf5_pure::File::open(file).unwrap();
    let root = f.root().attrs().unwrap();
    // variable-length strings, read back by hdf5-pure with their NUL
    let text = |name: &str| root[name].as_str().map(|s| s.trim_end_matches('\0'));
    assert_eq!(text("problem"), results.attr("problem").map(|a| a.text()));
    assert_eq!(text("status"), Some("complete"));
    let mut checked = 0;
    for g in &results.groups {
        for v in &g.vars {
            let path = format!("{}/{}", g.path, v.name);
            let ds = f.dataset(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let shape: Vec<u64> = v.shape.iter().map(|&n| n as u64).collect();
            assert_eq!(ds.shape().unwrap(), shape, "{path}");
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ds.read_f64().unwrap()), bits(&v.data), "{path}");
            checked += 1;
        }
        for name in f.group(&g.path).unwrap().datasets().unwrap() {
            if g.var(&name).is_none() {
                let ds = f.dataset(&format!("{}/{name}", g.path)).unwrap();
                let class = ds
                    .attrs()
                    .unwrap()
                    .get("CLASS")
                    .and_then(|a| a.as_str().map(String::from));
                assert_eq!(
                    class.as_deref(),
                    Some("DIMENSION_SCALE"),
                    "{}/{name}",
                    g.path
                );
            }
        }
    }
    assert!(checked > 20, "{checked} variables");
    let groups: Vec<String> = f.root().groups().unwrap();
    for g in groups.iter().filter(|g| *g != "grid") {
        assert!(
            results.group(g).is_some(),
            "the file's group {g} is in the results"
        );
    }
}

#[test]
fn the_library_entry_point_gives_the_numbers_of_the_cli_file() {
    let dir = tempfile::tempdir().unwrap();
    for (grid, command, flag, sets) in [
        (
            "quickstart",
            Command::Run,
            "run",
            vec![
                "grid.cells=[24,20]",
                "particles.m=300",
                "dynamics.t_end=0.2",
                "dynamics.snapshots=3",
            ],
        ),
        (
            "gibbs",
            Command::Pde,
            "pde",
            vec![
                "grid.cells=[24,20]",
                "dynamics.t_end=0.3",
                "dynamics.snapshots=3",
            ],
        ),
    ] {
        let setup = grid_setup(grid, &sets);
        let theorems = command == Command::Pde;
        let mut heard = Heard::default();
        let (outcome, results) = run::run(
            &setup,
            Options {
                command,
                theorems,
                plots: false,
            },
            &mut heard,
        )
        .unwrap();
        assert_eq!(heard.pde, 3, "{grid}");
        assert!(heard.steps >= 2, "{grid}: {} steps heard", heard.steps);
        if let Some(pde) = &outcome.pde {
            assert_eq!(heard.steps, pde.steps, "{grid}: every step heard");
        }
        if command == Command::Run {
            assert_eq!((heard.particles, heard.rows), (3, 3));
            assert_eq!(outcome.rows.len(), 3);
            assert!(results.group("compare").is_some());
        } else {
            assert_eq!(outcome.report.as_ref().map(|r| r.rows.len()), Some(3));
            assert!(results.group("theorems").is_some() && results.group("gibbs").is_some());
        }
        assert_eq!(results.attr("status").map(|a| a.text()), Some("complete"));
        let rho = results.var("pde", "density").unwrap();
        assert_eq!(rho.dims, ["time", "a", "w1"]);
        assert_eq!(rho.shape, [3, 24, 20]);
        let out = dir.path().join(format!("{grid}.h5"));
        let path = root().join(format!("grids/{grid}.toml"));
        let mut args = vec![flag.into(), path.into_os_string(), "-q".into(), "-o".into()];
        args.push(out.clone().into_os_string());
        if theorems {
            args.push("--theorems".into());
        }
        for s in &sets {
            args.push("--set".into());
            args.push(s.into());
        }
        mfpde_ok(args);
        same_as_file(&results, &out);
    }
}
