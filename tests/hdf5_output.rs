//! What `mfpde pde` writes: read back by our reader and by h5py (the HDF5 C
//! library); an interrupted run leaves a readable file.

mod common;
use common::*;
use mfpde::io::hdf5::{Completion, Hdf5Store, PdeFile};
use mfpde::run::{self, Command as Run, Options, Silent};
use mfpde::setup::Setup;
use std::path::Path;
use std::process::Command;

/// Run `tests/<script>` on `files` with the Python of MFPDE_PYTHON; skip
/// when it cannot import `modules`, unless `require` (an environment
/// variable) is 1 (CI), where that fails.
fn python_check(script: &str, modules: &str, require: &str, files: &[&Path], extra: &[&str]) {
    let python = std::env::var("MFPDE_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has {
        if std::env::var(require).as_deref() == Ok("1") {
            panic!(
                "{modules} is required ({require}=1) but `{python} -c 'import {modules}'` fails"
            );
        }
        eprintln!("skipping {script}: no {modules} for {python}");
        return;
    }
    let out = Command::new(&python)
        .arg(root().join("tests").join(script))
        .args(files)
        .args(extra)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Run tests/h5py_check.py on `file`; skip when h5py is absent unless
/// MFPDE_REQUIRE_H5PY=1 (CI), where absence fails.
fn h5py_check(file: &Path, extra: &[&str]) {
    python_check(
        "h5py_check.py",
        "h5py, numpy",
        "MFPDE_REQUIRE_H5PY",
        &[file],
        extra,
    );
}

/// A `run` file and a `steady` file open with
/// `xarray.open_datatree(..., engine="h5netcdf")`: named dimensions in
/// every group, cell centres the midpoints of the edges, and
/// `density.sel(time=t)` the stored snapshot (tests/xarray_check.py;
/// required when MFPDE_REQUIRE_XARRAY=1, as in CI).
#[test]
fn run_and_steady_files_open_in_xarray_with_named_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.h5");
    run_grid(
        "run",
        "quickstart",
        &run,
        &[
            "grid.cells=[24,20]",
            "particles.m=400",
            "dynamics.t_end=0.3",
            "dynamics.snapshots=4",
        ],
    );
    let reduced = dir.path().join("reduced.h5");
    run_grid(
        "pde",
        "single_index",
        &reduced,
        &["dynamics.t_end=0.1", "dynamics.snapshots=3"],
    );
    let steady = dir.path().join("steady.h5");
    run_grid("steady", "gibbs", &steady, &["grid.cells=[24,20]"]);
    // RBF units: axes (c, y), Lebesgue data
    let rbf = dir.path().join("rbf.h5");
    run_grid(
        "run",
        "rbf_rotskoff",
        &rbf,
        &[
            "grid.cells=[32,24]",
            "dynamics.t_end=0.5",
            "dynamics.snapshots=3",
        ],
    );
    h5py_check(&rbf, &[]);
    let theorems = dir.path().join("theorems.h5");
    let gibbs = root().join("grids/gibbs.toml");
    mfpde_ok([
        "pde".as_ref(),
        gibbs.as_os_str(),
        "--theorems".as_ref(),
        "-o".as_ref(),
        theorems.as_os_str(),
        "--set".as_ref(),
        "grid.cells=[24,20]".as_ref(),
        "--set".as_ref(),
        "dynamics.t_end=0.5".as_ref(),
    ]);
    python_check(
        "xarray_check.py",
        "xarray, h5netcdf, h5py",
        "MFPDE_REQUIRE_XARRAY",
        &[&run, &reduced, &steady, &theorems, &rbf],
        &[],
    );
}

#[test]
fn mfpde_pde_output_is_read_back_by_us_and_by_h5py() {
    let dir = tempfile::tempdir().unwrap();
    for (name, cells) in [
        ("quickstart", "[40,40]"),
        ("bias3d", "[12,12,12]"),
        ("frozen_relu", "[32,32]"),
    ] {
        let out = dir.path().join(format!("{name}.h5"));
        let status = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args([
                "pde",
                root().join(format!("grids/{name}.toml")).to_str().unwrap(),
                "-o",
            ])
            .arg(&out)
            .args([
                "--set",
                &format!("grid.cells={cells}"),
                "--set",
                "dynamics.t_end=0.6",
                "--set",
                "dynamics.snapshots=4",
            ])
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let f = PdeFile::read(&out).unwrap();
        assert_eq!(f.format, mfpde::io::store::FORMAT);
        assert_eq!(f.status, "complete");
        assert_eq!(f.time.len(), 4);
        for (i, t) in f.time.iter().enumerate() {
            assert!((t - 0.2 * i as f64).abs() < 1e-12, "{:?}", f.time);
        }
        assert_eq!(f.density.len(), 4);
        let problem: toml::Table = f.problem.parse().unwrap();
        assert_eq!(problem["dynamics"]["t_end"].as_float(), Some(0.6));
        let vol: f64 = f.edges.iter().map(|e| e[1] - e[0]).product();
        for (rho, m) in f.density.iter().zip(&f.mass) {
            let s: f64 = rho.iter().sum::<f64>() * vol;
            assert!((s - m).abs() < 1e-12 && (m - 1.0).abs() < 1e-12);
        }
        assert!(f.history_time.len() >= 4);
        h5py_check(&out, &[]);
    }
}

#[test]
fn an_interrupted_run_leaves_a_readable_file_with_the_snapshots_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed.h5");
    let setup = grid_setup(
        "quickstart",
        &[
            "grid.cells=[32,32]",
            "dynamics.t_end=1.0",
            "dynamics.snapshots=5",
        ],
    );
    // the run dies right after its 4th snapshot is written
    let mut store = die_after(
        Hdf5Store::create(&out, &run::header(&setup)).unwrap(),
        "pde",
        4,
    );
    let opts = Options {
        command: Run::Pde,
        theorems: false,
        plots: false,
    };
    let err = run::run_into(&setup, opts, &mut store, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("simulated kill"));
    let f = PdeFile::read(&out).unwrap();
    assert_eq!(f.status, "running");
    assert_eq!(f.time.len(), 4);
    assert_eq!(f.density.len(), 4);
    assert!((f.time[3] - 0.75).abs() < 1e-12);
    assert!(f.mass.iter().all(|m| (m - 1.0).abs() < 1e-12));
    h5py_check(&out, &["--interrupted"]);
}

/// `command` run into an HDF5 store at `out` that completes `how`, left
/// running (not completed).
fn running(out: &Path, setup: &Setup, command: Run, how: Completion) -> Hdf5Store {
    let opts = Options {
        command,
        theorems: false,
        plots: false,
    };
    let mut store = Hdf5Store::create(out, &run::header(setup))
        .unwrap()
        .completion(how);
    run::run_into(setup, opts, &mut store, &mut Silent).unwrap();
    store
}

/// The complete file streams each snapshot array from the running file in
/// blocks of rows: byte for byte the file written from the arrays read into
/// memory whole, with blocks of one row (the density's rows are a's cells,
/// so every snapshot spans many blocks) and with the default block (one
/// block per array here); histograms are counts, written as integers.
#[test]
fn the_streamed_complete_file_equals_the_one_written_from_memory() {
    use mfpde::io::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let setup = grid_setup(
        "quickstart",
        &[
            "grid.cells=[24,20]",
            "particles.m=300",
            "particles.store=100",
            "dynamics.t_end=0.3",
            "dynamics.snapshots=4",
        ],
    );
    let ways = [
        ("whole", Completion::Whole),
        ("rows", Completion::Streamed { block_bytes: 1 }),
        (
            "blocks",
            Completion::Streamed {
                block_bytes: 16 << 20,
            },
        ),
    ];
    let mut files = Vec::new();
    for (name, how) in ways {
        let out = dir.path().join(format!("{name}.h5"));
        let mut store = running(&out, &setup, Run::Run, how);
        store.complete().unwrap();
        assert!(!out.with_extension("h5.partial").exists());
        files.push(std::fs::read(&out).unwrap());
    }
    let f = PdeFile::read(&dir.path().join("rows.h5")).unwrap();
    assert_eq!((f.status.as_str(), f.density.len()), ("complete", 4));
    assert!(files[0].len() > 24 * 20 * 4 * 8);
    assert!(
        files[1] == files[0],
        "one-row blocks differ from the whole arrays"
    );
    assert!(
        files[2] == files[0],
        "default blocks differ from the whole arrays"
    );
    h5py_check(&dir.path().join("rows.h5"), &[]);
}

/// A running file that lost a snapshot's dataset is refused when the
/// complete file is written, streamed or from memory alike: an error
/// naming the snapshot, and the running file left as it was.
#[test]
fn a_missing_snapshot_is_named_by_either_way_of_completing() {
    use mfpde::io::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let setup = grid_setup(
        "quickstart",
        &[
            "grid.cells=[12,10]",
            "dynamics.t_end=0.2",
            "dynamics.snapshots=3",
        ],
    );
    let ways = [
        ("whole", Completion::Whole),
        ("rows", Completion::Streamed { block_bytes: 1 }),
    ];
    for (name, how) in ways {
        let out = dir.path().join(format!("{name}.h5"));
        let mut store = running(&out, &setup, Run::Pde, how);
        let file = hdf5_pure::File::open_rw(&out).unwrap();
        file.root().delete("pde/snapshots/density_00001").unwrap();
        file.commit().unwrap();
        file.close().unwrap();
        let err = store.complete().unwrap_err().to_string();
        assert!(
            err.contains("pde/snapshots/density_00001 (nor its parts)"),
            "{name}: {err}"
        );
        let f = PdeFile::read(&out);
        assert!(
            f.is_err() || f.unwrap().status != "complete",
            "{name}: presented as complete"
        );
    }
}

/// `mfpde COMMAND grids/GRID.toml -o OUT --set …`, which must succeed.
fn run_grid(command: &str, grid: &str, out: &Path, sets: &[&str]) {
    let path = root().join(format!("grids/{grid}.toml"));
    let mut args = vec![command.into(), path.into_os_string(), "-o".into()];
    args.push(out.as_os_str().to_owned());
    for s in sets {
        args.push("--set".into());
        args.push((*s).into());
    }
    mfpde_ok(args);
}

#[test]
fn mfpde_particles_output_is_read_back_by_h5py() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("particles.h5");
    run_grid(
        "particles",
        "quickstart",
        &out,
        &[
            "particles.m=500",
            "particles.store=200",
            "dynamics.t_end=0.2",
            "dynamics.snapshots=3",
        ],
    );
    let file = hdf5_pure::File::open(&out).unwrap();
    let pos = file.dataset("particles/positions").unwrap();
    assert_eq!(pos.shape().unwrap(), vec![3, 200, 2]);
    let t = file.dataset("particles/time").unwrap().read_f64().unwrap();
    assert_eq!(t.len(), 3);
    assert!((t[2] - 0.2).abs() < 1e-12);
    h5py_check(&out, &[]);
}

/// A reduced problem's side-by-side file (MMN's, d = 40, sgd): the positions
/// are the neurons' reduced coordinates (r = |w| ≥ 0 here) and h5py reads
/// the whole file, the problem it came from included.
#[test]
fn a_reduced_run_with_the_d_dimensional_network_is_read_by_h5py() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mmn.h5");
    run_grid(
        "run",
        "mmn_isotropic",
        &out,
        &[
            "particles.m=300",
            "particles.batch=100",
            "dynamics.t_end=0.5",
            "dynamics.snapshots=3",
        ],
    );
    let file = hdf5_pure::File::open(&out).unwrap();
    let pos = file.dataset("particles/positions").unwrap();
    assert_eq!(pos.shape().unwrap(), vec![3, 300, 1]);
    let r = pos.read_f64().unwrap();
    assert!(r.iter().all(|&v| v >= 0.0), "r = |w| ≥ 0");
    // no checkpoint left in a complete file
    assert!(file.group("particles/checkpoint").is_err());
    h5py_check(&out, &[]);
}

#[test]
fn steady_and_theorems_files_are_read_by_h5py() {
    let dir = tempfile::tempdir().unwrap();
    let steady = dir.path().join("steady.h5");
    let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "steady",
            root().join("grids/gibbs.toml").to_str().unwrap(),
            "-o",
        ])
        .arg(&steady)
        .args(["--set", "grid.cells=[40,32]"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("stationarity residual"), "{text}");
    let f = hdf5_pure::File::open(&steady).unwrap();
    let rho = f.dataset("steady/density").unwrap();
    assert_eq!(rho.shape().unwrap(), vec![40, 32]);
    let res = f.dataset("steady/residual").unwrap().read_f64().unwrap();
    assert!(res[0] < 1e-8, "stationarity residual {res:?}");
    h5py_check(&steady, &[]);
    for problem in ["gibbs", "global_min"] {
        let out = dir.path().join(format!("{problem}.h5"));
        let o = Command::new(env!("CARGO_BIN_EXE_mfpde"))
            .args([
                "pde",
                root()
                    .join(format!("grids/{problem}.toml"))
                    .to_str()
                    .unwrap(),
                "--theorems",
                "-o",
            ])
            .arg(&out)
            .args([
                "--set",
                "grid.cells=[32,32]",
                "--set",
                "dynamics.t_end=4.0",
                "--set",
                "dynamics.snapshots=5",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let f = hdf5_pure::File::open(&out).unwrap();
        let gap = f.dataset("theorems/gap").unwrap().read_f64().unwrap();
        assert_eq!(gap.len(), 5);
        // F − F* ≥ 0 (ρ* minimises F) and R − 0 ≥ 0, falling overall
        assert!(gap.iter().all(|g| *g >= -1e-12), "{problem}: {gap:?}");
        assert!(gap[4] < gap[0], "{problem}: {gap:?}");
        assert!(dir.path().join(format!("{problem}_theorems.png")).exists());
        h5py_check(&out, &[]);
    }
}

/// `converge` stores every seed's distances and signed risk differences
/// (issue 20): h5py reads `/converge/by_seed` [metric, m, seed] back as the
/// samples of `vs_m` (their mean and standard error) and `risk_diff`
/// [m, seed] as the signed per-seed `risk_gap`; `m`, `cells` and `seed`
/// are integers, the attributes `str` (tests/h5py_check.py); xarray names
/// the dimensions (tests/xarray_check.py).
#[test]
fn converge_per_seed_values_are_read_back_by_h5py_and_xarray() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("conv.h5");
    let problem = root().join("grids/quickstart.toml");
    let o = mfpde_ok([
        "converge".as_ref(),
        problem.as_os_str(),
        "--m".as_ref(),
        "50,100".as_ref(),
        "--seeds".as_ref(),
        "3".as_ref(),
        "--cells".as_ref(),
        "16,32".as_ref(),
        "--no-plots".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--set".as_ref(),
        "dynamics.t_end=1.0".as_ref(),
    ]);
    // each run's own time, then the study's so far
    let text = String::from_utf8_lossy(&o.stdout);
    let line = |what: &str| -> (f64, f64) {
        let l = text.lines().find(|l| l.contains(what)).expect(what);
        let own = l.split(" in ").nth(1).unwrap().split(" s").next().unwrap();
        let total = l
            .split("(total ")
            .nth(1)
            .unwrap()
            .split(" s")
            .next()
            .unwrap();
        (own.parse().unwrap(), total.parse().unwrap())
    };
    let (own50, total50) = line("particles m = 50:");
    let (own100, total100) = line("particles m = 100:");
    // per m, not cumulative: the later run's own time is below the total
    // so far by at least the earlier run's (to the 0.1 s printed)
    assert!(own100 <= total100 - own50 + 0.1, "{text}");
    assert!(own50 <= total50 + 0.05 && total50 <= total100, "{text}");
    let f = hdf5_pure::File::open(&out).unwrap();
    let shape = f.dataset("converge/by_seed").unwrap().shape().unwrap();
    assert_eq!(shape, vec![6, 2, 3]);
    h5py_check(&out, &[]);
    python_check(
        "xarray_check.py",
        "xarray, h5netcdf, h5py",
        "MFPDE_REQUIRE_XARRAY",
        &[&out],
        &[],
    );
}

/// Files of the earlier formats (written by mfpde before issue 20: mfpde-2,
/// float64 counts and fixed-length text; and before issue 18: mfpde-1, the
/// light history in `/pde/history`; `tests/data/quickstart-mfpde-*.h5`, the
/// quickstart on 16² cells) are still read: their series and densities by
/// our reader (mass 1 to round-off), their figures redrawn by `mfpde plot`.
#[test]
fn files_of_the_earlier_formats_are_still_read_and_plotted() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["mfpde-1", "mfpde-2"] {
        let old = dir.path().join(format!("{format}.h5"));
        let fixture = root().join(format!("tests/data/quickstart-{format}.h5"));
        std::fs::copy(fixture, &old).unwrap();
        let f = PdeFile::read(&old).unwrap();
        assert_eq!(f.format, format);
        assert_eq!(f.status, "complete");
        assert_eq!(f.time.len(), 3);
        assert_eq!(f.density.len(), 3);
        assert!(f.history_time.len() >= 3, "{format}: the light history");
        let vol = 0.75 * 0.75; // 16² cells on [−6, 6]²
        for rho in &f.density {
            let mass: f64 = rho.iter().sum::<f64>() * vol;
            assert!((mass - 1.0).abs() < 1e-12, "{format}: mass {mass}");
        }
        mfpde_ok(["plot".as_ref(), old.as_os_str()]);
        assert!(dir.path().join(format!("{format}_density.png")).exists());
    }
}

/// The parts of `values`, stopping with an error before part `after`.
struct Cut<'a> {
    values: &'a [f64],
    part: usize,
    after: usize,
}

impl mfpde::io::store::Parts for Cut<'_> {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn each(&mut self, each: &mut dyn FnMut(&[f64]) -> mfpde::Result<()>) -> mfpde::Result<()> {
        for (i, p) in self.values.chunks(self.part).enumerate() {
            if i == self.after {
                return Err(mfpde::Error::Hdf5("simulated kill".into()));
            }
            each(p)?;
        }
        Ok(())
    }
}

/// `inner`, given the PDE's density in parts of `part` numbers, as a run
/// split over ranks gives its slabs; with `die = (k, n)` the run stops (as
/// a kill would) after the n-th part of snapshot k.
fn parted(
    inner: Hdf5Store,
    part: usize,
    die: Option<(usize, usize)>,
) -> impl mfpde::io::store::Store {
    use mfpde::io::store::{Store, Var};
    let mut seen = 0;
    let append = move |s: &mut Hdf5Store, group: &str, vars: &[Var], state: Option<&[f64]>| {
        let Some(at) = vars.iter().position(|v| v.spec.name == "density") else {
            return s.append(group, vars, state);
        };
        let mut rest = vars.to_vec();
        let density = rest.remove(at);
        let after = match die {
            Some((k, n)) if k == seen => n,
            _ => usize::MAX,
        };
        let values = density.value.numbers();
        let mut parts = Cut {
            values,
            part,
            after,
        };
        s.append_parts(group, &rest, (at, density.spec), &mut parts)?;
        seen += 1;
        Ok(())
    };
    Around { inner, append }
}

/// A PDE density handed to the HDF5 store in parts of rows (as `mpirun`
/// ranks send their slabs to rank 0, never the whole grid at once):
/// - the complete file is byte for byte the one written from whole arrays
///   (parts of 5 rows of a's 24: four of 5 and one of 4);
/// - a run killed part-way through a snapshot's parts leaves a running file
///   that our reader and h5py (`--interrupted`) read as the snapshots
///   before it, in parts (and any rows of a snapshot across its parts, as
///   ranks resuming on another split read their slabs);
/// - resumed from the command line, that file ends equal to the dataset to
///   the run never stopped (the stray parts cut away).
#[test]
fn a_density_written_in_parts_reads_and_resumes_as_one_written_whole() {
    use mfpde::io::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        "grid.cells=[24,20]",
        "dynamics.t_end=0.3",
        "dynamics.snapshots=4",
    ];
    let setup = grid_setup("quickstart", &sets);
    let opts = Options {
        command: Run::Pde,
        theorems: false,
        plots: false,
    };
    let whole = dir.path().join("whole.h5");
    let mut store = Hdf5Store::create(&whole, &run::header(&setup)).unwrap();
    run::run_into(&setup, opts, &mut store, &mut Silent).unwrap();
    store.complete().unwrap();
    let parted_file = dir.path().join("parted.h5");
    let mut store = parted(
        Hdf5Store::create(&parted_file, &run::header(&setup)).unwrap(),
        5 * 20,
        None,
    );
    run::run_into(&setup, opts, &mut store, &mut Silent).unwrap();
    store.complete().unwrap();
    assert!(
        std::fs::read(&parted_file).unwrap() == std::fs::read(&whole).unwrap(),
        "the file from parts differs from the one from whole arrays"
    );
    // killed after 2 of the parts of snapshot 2
    let running = dir.path().join("cut.running.h5");
    let mut store = parted(
        Hdf5Store::create(&running, &run::header(&setup)).unwrap(),
        5 * 20,
        Some((2, 2)),
    );
    let err = run::run_into(&setup, opts, &mut store, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("simulated kill"), "{err}");
    let f = PdeFile::read(&running).unwrap();
    assert_eq!((f.status.as_str(), f.time.len()), ("running", 2));
    let done = PdeFile::read(&whole).unwrap();
    assert_eq!(f.density, done.density[..2].to_vec());
    let held = hdf5_pure::File::open(&running).unwrap();
    for name in ["density_00001_part_0004", "density_00002_part_0001"] {
        assert!(
            held.dataset(&format!("pde/snapshots/{name}")).is_ok(),
            "{name}"
        );
    }
    drop(held);
    // rows 3..13 of a (of 20 cells each) span the parts of 5 rows 0, 1, 2
    let r = mfpde::io::hdf5::Reader::open(&running).unwrap();
    let rows = r.unfinished_rows("pde", "density", 1, 3..13, 20).unwrap();
    assert_eq!(rows, done.density[1][3 * 20..13 * 20].to_vec());
    assert!(r.unfinished_rows("pde", "density", 1, 20..25, 20).is_err());
    drop(r);
    h5py_check(&running, &["--interrupted"]);
    let cli = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "pde".to_string(),
            root().join("grids/quickstart.toml").display().to_string(),
            "-q".into(),
        ];
        for x in sets {
            args.extend(["--set".into(), x.into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(out.display().to_string());
        mfpde_ok(args);
    };
    let target = dir.path().join("cut.h5");
    cli(&["--resume"], &target);
    let uninterrupted = dir.path().join("cli.h5");
    cli(&["-o"], &uninterrupted);
    assert_eq!(datasets(&target), datasets(&uninterrupted));
}
