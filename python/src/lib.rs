//! **mfpde from Python**: the extension module `mfpde._mfpde` behind the
//! package `mfpde` (python/mfpde). It adds nothing the library lacks:
//! problems are the library's TOML with its overrides, runs are the
//! library's run driver on a thread of their own (the GIL released), and
//! results cross as the library's [`Results`] — numbers in numpy arrays
//! that take the vectors over without a copy — which the Python layer
//! turns into an `xarray.DataTree`.
//!
//! A run is a [`Job`]: started at once on its own thread, with its own
//! rayon pool of `threads` workers. Python waits on it in short slices
//! (`Job.wait`, the GIL released), so Ctrl-C and the progress callback run
//! on Python's main thread between them; either one cancels the job, which
//! stops at its next PDE step or particle snapshot with
//! [`Error::Interrupted`] and leaves a file run's running file, resumable.

use mfpde::error::Error;
use mfpde::io::store::{Attr, Results};
use mfpde::problem::LoadedProblem;
use mfpde::run::check::Figures;
use mfpde::run::study::Study;
use mfpde::run::{self, Command, Listener, Options};
use mfpde::setup::Setup;
use mfpde::steady::{Method, SteadyOptions};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

create_exception!(
    _mfpde,
    ProblemError,
    PyValueError,
    "A problem entry is invalid (the message names the field, the value and what is allowed), or the problem does not parse."
);
create_exception!(
    _mfpde,
    RunError,
    PyRuntimeError,
    "A run stopped by a guard: a density that went negative or NaN, a collapsing step, a step budget."
);
create_exception!(
    _mfpde,
    Interrupted,
    PyRuntimeError,
    "A run stopped because it was asked to (Ctrl-C, a progress callback that raised); a file run's running file stays, resumable."
);

/// The library's error as the Python exception a user expects.
fn py_err(e: Error) -> PyErr {
    let text = e.to_string();
    match e {
        Error::Problem { .. } | Error::Parse(_) => ProblemError::new_err(text),
        Error::Io { .. } | Error::Hdf5(_) => PyOSError::new_err(text),
        Error::Run(_) => RunError::new_err(text),
        Error::Interrupted(_) => Interrupted::new_err(text),
    }
}

/// A Python value as a TOML value: bool, int, float, str, list/tuple,
/// dict (str keys); numpy scalars through `__index__`/`__float__`.
fn to_toml(v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(toml::Value::Integer(v.extract()?));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(toml::Value::String(s.to_str()?.to_string()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("a problem's keys are strings, not {k}"))
            })?;
            t.insert(key, to_toml(&x)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v.try_iter()?.collect::<PyResult<_>>()?;
        return Ok(toml::Value::Array(
            items.iter().map(to_toml).collect::<PyResult<_>>()?,
        ));
    }
    // numpy scalars and arrays
    if v.hasattr("tolist")? {
        return to_toml(&v.call_method0("tolist")?);
    }
    if v.hasattr("__index__")? {
        return Ok(toml::Value::Integer(
            v.call_method0("__index__")?.extract()?,
        ));
    }
    if v.hasattr("__float__")? {
        return Ok(toml::Value::Float(v.call_method0("__float__")?.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "{} is not a problem value (bool, int, float, str, list, dict)",
        v.repr()?
    )))
}

/// A problem given as a dict, as a TOML document.
#[pyfunction]
fn toml_of_dict(d: &Bound<'_, PyDict>) -> PyResult<String> {
    match to_toml(d.as_any())? {
        toml::Value::Table(t) => {
            toml::to_string(&t).map_err(|e| ProblemError::new_err(e.to_string()))
        }
        _ => unreachable!("a dict is a table"),
    }
}

/// A value as the text of an override (`key=<this>`): a TOML value.
#[pyfunction]
fn toml_value(v: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(to_toml(v)?.to_string())
}

/// The problem `text` with `overrides` applied, as the library writes it
/// (what every results file stores): parsed, unknown keys refused.
#[pyfunction]
fn canonical(text: &str, overrides: Vec<String>, base_dir: &str) -> PyResult<String> {
    let lp = LoadedProblem::from_str(text, &overrides, Path::new(base_dir)).map_err(py_err)?;
    Ok(lp.toml)
}

/// The built-in quickstart problem's TOML.
#[pyfunction]
fn quickstart_toml() -> PyResult<String> {
    Ok(LoadedProblem::quickstart(&[]).map_err(py_err)?.toml)
}

fn load(text: &str, base_dir: &str) -> PyResult<LoadedProblem> {
    LoadedProblem::from_str(text, &[], Path::new(base_dir)).map_err(py_err)
}

fn figures_dict<'py>(py: Python<'py>, f: &Figures) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &f.name)?;
    d.set_item("axes", &f.axes)?;
    d.set_item("cells", &f.cells)?;
    d.set_item("nodes", f.nodes)?;
    d.set_item("dim_x", f.dim_x)?;
    d.set_item("w_centres", f.w_centres)?;
    d.set_item("w_faces", f.w_faces)?;
    d.set_item("stretched", f.stretched.clone())?;
    d.set_item("memory_bytes", f.memory_bytes)?;
    d.set_item("disk_bytes", f.disk_bytes)?;
    d.set_item("first_dt", f.first_dt)?;
    d.set_item("cfl", f.cfl)?;
    d.set_item("steps", f.steps)?;
    d.set_item("snapshots", f.snapshots)?;
    d.set_item("box_mass", f.box_mass)?;
    d.set_item("boundary_mass", f.boundary_mass)?;
    d.set_item("risk0", f.risk0)?;
    d.set_item("warnings", &f.warnings)?;
    match &f.reduction {
        Some(r) => {
            let rd = PyDict::new(py);
            rd.set_item("dim", r.dim)?;
            rd.set_item("k", r.k)?;
            rd.set_item("n", r.n)?;
            rd.set_item("cosine_nodes", r.cosine_nodes)?;
            rd.set_item("ito", r.ito)?;
            rd.set_item("parameters", r.parameters)?;
            d.set_item("reduction", rd)?;
        }
        None => d.set_item("reduction", py.None())?,
    }
    match &f.particles {
        Some(p) => {
            let pd = PyDict::new(py);
            pd.set_item("m", p.m)?;
            pd.set_item("dt", p.dt)?;
            pd.set_item("mode", &p.mode)?;
            pd.set_item("steps", p.steps)?;
            pd.set_item("positions_bytes", p.positions_bytes)?;
            pd.set_item("risk", &p.risk)?;
            pd.set_item("step", &p.step)?;
            d.set_item("particles", pd)?;
        }
        None => d.set_item("particles", py.None())?,
    }
    Ok(d)
}

/// `mfpde check`: the problem validated (its budget unless `force`) and its
/// derived sizes.
#[pyfunction]
#[pyo3(signature = (text, base_dir, force=false))]
fn check<'py>(
    py: Python<'py>,
    text: &str,
    base_dir: &str,
    force: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let lp = load(text, base_dir)?;
    let f = py
        .detach(|| run::check::check(&lp, force))
        .map_err(py_err)?;
    figures_dict(py, &f)
}

fn attrs_dict<'py>(py: Python<'py>, attrs: &[(String, Attr)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, a) in attrs {
        match a {
            Attr::Str(s) => d.set_item(name, s)?,
            Attr::F64(v) => d.set_item(name, *v)?,
            Attr::U64(v) => d.set_item(name, *v)?,
        }
    }
    Ok(d)
}

/// Results as plain Python: `attrs`, `grid` [(name, edges)], `metrics`,
/// `groups` [{path, attrs, vars: [{name, dims, data, long_name, units}]}];
/// each variable's numbers a numpy array of its shape that took the vector
/// over (a count's as int64).
fn results_dict(py: Python<'_>, r: Results) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("attrs", attrs_dict(py, &r.attrs)?)?;
    let grid = PyList::empty(py);
    for a in &r.dims.grid {
        grid.append((a.name.as_str(), PyArray1::from_slice(py, &a.edges)))?;
    }
    d.set_item("grid", grid)?;
    d.set_item("metrics", &r.dims.metrics)?;
    let groups = PyList::empty(py);
    for g in r.groups {
        let gd = PyDict::new(py);
        gd.set_item("path", &g.path)?;
        gd.set_item("attrs", attrs_dict(py, &g.attrs)?)?;
        let vars = PyList::empty(py);
        for v in g.vars {
            let vd = PyDict::new(py);
            let data = match v.integer {
                true => {
                    let ints: Vec<i64> = v.data.iter().map(|x| *x as i64).collect();
                    PyArray1::from_vec(py, ints)
                        .reshape(v.shape.clone())?
                        .into_any()
                }
                false => PyArray1::from_vec(py, v.data)
                    .reshape(v.shape.clone())?
                    .into_any(),
            };
            vd.set_item("name", &v.name)?;
            vd.set_item("dims", &v.dims)?;
            vd.set_item("data", data)?;
            vd.set_item("long_name", &v.long_name)?;
            vd.set_item("units", &v.units)?;
            vars.append(vd)?;
        }
        gd.set_item("vars", vars)?;
        groups.append(gd)?;
    }
    d.set_item("groups", groups)?;
    Ok(d)
}

/// What a job and Python share: the time reached, the cancel flag, the
/// notes, and whether it is done.
#[derive(Default)]
struct Shared {
    /// f64 bits of the mean-field time reached (PDE steps, snapshots).
    time: AtomicU64,
    cancel: AtomicBool,
    notes: Mutex<Vec<String>>,
    done: Mutex<bool>,
    woken: Condvar,
}

/// The listener of a job: records the time and the notes, and asks to stop
/// when Python cancelled.
struct Relay(Arc<Shared>);

impl Relay {
    fn at(&self, t: f64) {
        self.0.time.store(t.to_bits(), Ordering::Relaxed);
    }
}

impl Listener for Relay {
    fn note(&mut self, text: &str) {
        if let Ok(mut n) = self.0.notes.lock() {
            n.push(text.to_string());
        }
    }
    fn step(&mut self, t: f64, _dt: f64) {
        self.at(t);
    }
    fn pde(&mut self, d: &mfpde::diagnostics::Diagnostics) {
        self.at(d.time);
    }
    fn particles(&mut self, d: &mfpde::particles::ParticleDiagnostics) {
        self.at(d.time);
    }
    fn interrupted(&mut self) -> bool {
        self.0.cancel.load(Ordering::Relaxed)
    }
}

/// What a job returns: results in memory, or the file it completed; and
/// the theorems report's rate when there is one.
enum Done {
    Memory(Results),
    File(PathBuf),
}

/// What a job is asked.
#[derive(Clone)]
struct Request {
    command: String,
    text: String,
    base_dir: String,
    out: Option<PathBuf>,
    resume: bool,
    theorems: bool,
    plots: bool,
    force: bool,
    steady: (String, f64),
    study: Option<Study>,
    /// Points of a sweep run at once.
    jobs: usize,
}

fn command_of(name: &str) -> Option<Command> {
    match name {
        "pde" => Some(Command::Pde),
        "particles" => Some(Command::Particles),
        "run" => Some(Command::Run),
        _ => None,
    }
}

impl Request {
    /// Validate, then run: everything the CLI does before and around a run
    /// but its printing (its warnings are the job's notes).
    fn work(&self, relay: &mut Relay) -> mfpde::Result<Done> {
        if self.command == "sweep" {
            return self.sweep(relay);
        }
        let lp = LoadedProblem::from_str(&self.text, &[], Path::new(&self.base_dir))?;
        mfpde::setup::check_ranges(&lp)?;
        let out = self.out.as_deref();
        if let Some(command) = command_of(&self.command) {
            let est = mfpde::budget::Sizes::of(&lp).estimate(command.particles());
            mfpde::budget::check(&est, out, self.force)?;
            let setup = Setup::new(&lp)?;
            for w in run::check::warnings(&setup, command) {
                relay.note(&format!("warning: {w}"));
            }
            if command.particles() {
                setup.particle_options()?;
            }
            let opts = Options {
                command,
                theorems: self.theorems,
                plots: self.plots,
            };
            return match out {
                Some(path) => {
                    run::run_to_file(&setup, opts, path, self.resume, relay)?;
                    Ok(Done::File(path.to_path_buf()))
                }
                None => Ok(Done::Memory(run::run(&setup, opts, relay)?.1)),
            };
        }
        match self.command.as_str() {
            "steady" => {
                let est = mfpde::budget::Sizes::of(&lp).estimate(false);
                mfpde::budget::check(&est, out, self.force)?;
                let setup = Setup::new(&lp)?;
                mfpde::steady::GibbsSolver::check(&setup.model)?;
                let (method, tol) = &self.steady;
                let opts = SteadyOptions {
                    method: Method::parse(method)?,
                    tol: *tol,
                    ..SteadyOptions::default()
                };
                if !(*tol > 0.0 && *tol < 1.0) {
                    return Err(Error::problem(
                        "tol",
                        tol,
                        "a relative tolerance in (0, 1), e.g. 1e-12",
                    ));
                }
                let (found, done) = match out {
                    Some(path) => {
                        let found =
                            run::steady::steady_to_file(&setup, opts, path, self.plots, relay)?.0;
                        (found, Done::File(path.to_path_buf()))
                    }
                    None => {
                        let (found, results) = run::steady::steady(&setup, opts, relay)?;
                        (found, Done::Memory(results))
                    }
                };
                for w in &found.warnings {
                    relay.note(&format!("warning: {w}"));
                }
                Ok(done)
            }
            "converge" => {
                let study = self.study.clone().expect("a study for converge");
                study.prepare(&lp, out, self.force)?;
                let mut progress = |s: &str| relay.note(s);
                match out {
                    Some(path) => {
                        run::write_to_file(path, self.plots, || study.run(&lp, &mut progress))?;
                        Ok(Done::File(path.to_path_buf()))
                    }
                    None => Ok(Done::Memory(study.run(&lp, &mut progress)?.1)),
                }
            }
            other => Err(Error::problem(
                "command",
                other,
                "pde, particles, run, steady, converge or sweep",
            )),
        }
    }
}

impl Request {
    /// A study (its text in `text`) into `out`, each point's line a note;
    /// Ctrl-C does not reach its points (each is a run of its own: a
    /// rerun keeps the finished ones and resumes the rest).
    fn sweep(&self, relay: &mut Relay) -> mfpde::Result<Done> {
        let study = mfpde::sweep::Study::from_str(&self.text, Path::new(&self.base_dir))?;
        let out = self.out.as_deref().ok_or_else(|| {
            Error::problem(
                "out",
                "None",
                "a results file: a sweep writes a file per point in the folder beside it",
            )
        })?;
        let shared = Arc::clone(&relay.0);
        let tell = |p: &mfpde::sweep::Point, d: &mfpde::sweep::Done| {
            let what = match &d.status {
                mfpde::sweep::Status::Failed(e) => {
                    format!("warning: point p{:05} ({}) failed: {e}", p.index, p.label)
                }
                s => format!("p{:05} ({}): {s:?}", p.index, p.label),
            };
            if let Ok(mut n) = shared.notes.lock() {
                n.push(what);
            }
        };
        let threads = rayon::current_num_threads();
        mfpde::sweep::sweep_to_file(&study, out, self.jobs, threads, &tell)?;
        Ok(Done::File(out.to_path_buf()))
    }
}

/// A run of the library on a thread of its own (see the module docs).
#[pyclass(module = "mfpde._mfpde")]
struct Job {
    shared: Arc<Shared>,
    handle: Mutex<Option<std::thread::JoinHandle<mfpde::Result<Done>>>>,
}

#[pymethods]
impl Job {
    /// Start `command` ("pde", "particles", "run", "steady", "converge") on
    /// the problem `text` (paths in it relative to `base_dir`), in memory
    /// or into `out`, on `threads` workers (0: every core); "sweep": `text`
    /// is a study file's, run `jobs` points at once into `out`.
    #[new]
    #[pyo3(signature = (command, text, base_dir, out=None, resume=false, threads=0, theorems=false, plots=false, force=false, method="newton".to_string(), tol=1e-12, m=None, seeds=None, cells=None, jobs=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        command: String,
        text: String,
        base_dir: String,
        out: Option<PathBuf>,
        resume: bool,
        threads: usize,
        theorems: bool,
        plots: bool,
        force: bool,
        method: String,
        tol: f64,
        m: Option<Vec<usize>>,
        seeds: Option<usize>,
        cells: Option<Vec<usize>>,
        jobs: usize,
    ) -> PyResult<Self> {
        let study = match (command.as_str(), m, seeds, cells) {
            ("converge", Some(ms), Some(seeds), Some(cells)) => Some(Study { ms, seeds, cells }),
            ("converge", ..) => {
                return Err(ProblemError::new_err("converge needs m, seeds and cells"))
            }
            _ => None,
        };
        let request = Request {
            command,
            text,
            base_dir,
            out,
            resume,
            theorems,
            plots,
            force,
            steady: (method, tol),
            study,
            jobs,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("a pool of {threads} threads: {e}")))?;
        let shared = Arc::new(Shared::default());
        let mine = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("mfpde-job".into())
            .spawn(move || {
                let mut relay = Relay(Arc::clone(&mine));
                let out = pool.install(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        request.work(&mut relay)
                    }))
                    .unwrap_or_else(|p| {
                        let what = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        Err(Error::Run(format!(
                            "an internal error (a bug, please report it): {what}"
                        )))
                    })
                });
                if let Ok(mut done) = mine.done.lock() {
                    *done = true;
                }
                mine.woken.notify_all();
                out
            })
            .map_err(|e| PyRuntimeError::new_err(format!("starting the run's thread: {e}")))?;
        Ok(Job {
            shared,
            handle: Mutex::new(Some(handle)),
        })
    }

    /// Wait up to `timeout` seconds (the GIL released); true once done.
    fn wait(&self, py: Python<'_>, timeout: f64) -> bool {
        let shared = Arc::clone(&self.shared);
        py.detach(move || {
            let done = shared.done.lock().unwrap_or_else(|p| p.into_inner());
            if *done {
                return true;
            }
            let (done, _) = shared
                .woken
                .wait_timeout(done, Duration::from_secs_f64(timeout.max(0.0)))
                .unwrap_or_else(|p| p.into_inner());
            *done
        })
    }

    /// The mean-field time reached so far.
    fn time(&self) -> f64 {
        f64::from_bits(self.shared.time.load(Ordering::Relaxed))
    }

    /// The notes so far (taken: each is returned once).
    fn notes(&self) -> Vec<String> {
        self.shared
            .notes
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }

    /// Ask the run to stop at its next PDE step or particle snapshot.
    fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    /// Wait for the end (the GIL released) and return what the run made:
    /// its results as a dict ([`results_dict`]) in memory, or the path of
    /// the file it completed; raise its error.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let handle = self
            .handle
            .lock()
            .map_err(|_| PyRuntimeError::new_err("a job's handle"))?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the job's result was taken already"))?;
        let done = py
            .detach(|| handle.join())
            .map_err(|_| PyRuntimeError::new_err("the run's thread panicked"))?;
        match done.map_err(py_err)? {
            Done::Memory(r) => Ok(results_dict(py, r)?.into_any()),
            Done::File(p) => Ok(p.into_pyobject(py)?.into_any()),
        }
    }
}

/// The extension module.
#[pymodule]
fn _mfpde(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ProblemError", m.py().get_type::<ProblemError>())?;
    m.add("RunError", m.py().get_type::<RunError>())?;
    m.add("Interrupted", m.py().get_type::<Interrupted>())?;
    m.add("FORMAT", mfpde::io::store::FORMAT)?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(toml_of_dict, m)?)?;
    m.add_function(wrap_pyfunction!(toml_value, m)?)?;
    m.add_function(wrap_pyfunction!(canonical, m)?)?;
    m.add_function(wrap_pyfunction!(quickstart_toml, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_class::<Job>()?;
    Ok(())
}
