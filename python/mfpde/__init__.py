"""mfpde: the mean-field PDE of two-layer neural networks, from Python.

A network f_m(x) = (1/m) Σ_j a_j σ(w_j · x̃) trained by noisy gradient flow
on R(μ) = ½ E_x[(f_μ(x) − f*(x))²] + (λ/2) ∫ |θ|² μ(dθ) has, as m → ∞, a
law ρ_t of its neurons θ = (a, w) that solves, in mean-field time t,

    ∂_t ρ = div(ρ ∇Ψ[ρ]) + (η/2) Δρ,   Ψ[ρ](θ) = a g_ρ(w) + (λ/2) |θ|²,

(docs/model.md §1–3 for the conventions: the factors, the time scale, the
names of the files). mfpde solves it on a grid, trains the finite networks
on the same problem, and compares them; this package is its Python face:

    import mfpde
    p = mfpde.Problem("grids/quickstart.toml").set("grid.cells", [64, 64])
    tree = mfpde.run(p)                        # an xarray.DataTree
    tree["pde"].density.sel(time=2.0)          # ρ at t = 2, dims (a, w1)
    tree["compare"].w1.sel(axis="w1")          # W1 of the w1 marginal over t

Every run returns an ``xarray.DataTree`` with the groups, names, dimensions
and coordinates of the HDF5 file the CLI writes (README, "Results"); with
``out=`` it also writes that file, crash-safe, and ``resume=True``
continues an interrupted one. The solve runs on its own thread with the GIL
released, on ``threads`` workers (default: every core); Ctrl-C or an
exception raised by the ``progress`` callback stops it at its next step
(a file run leaves its running file, resumable).
"""

from __future__ import annotations

import logging
import os
import pathlib
import tomllib
import warnings
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import h5py
import xarray as xr

from . import _mfpde
from ._mfpde import FORMAT, VERSION, Interrupted, ProblemError, RunError
from ._tree import tree_of

__all__ = [
    "Problem",
    "ProblemError",
    "RunError",
    "Interrupted",
    "pde",
    "particles",
    "run",
    "steady",
    "converge",
    "sweep",
    "open",
    "FORMAT",
    "VERSION",
]

__version__ = VERSION

_log = logging.getLogger("mfpde")

PathLike = Union[str, os.PathLike]
Progress = Union[None, bool, Callable[[float, float], Any]]


class Problem:
    """A problem: the TOML of the CLI (README, "Problem files") and the
    directory its relative paths (a data file) are read from.

    Built from a file, a TOML string or a dict (or ``Problem()``: the
    built-in quickstart); ``set`` applies an override with the CLI's rules
    (``--set key=value``: the value as a TOML value); ``to_toml`` gives the
    problem as every results file stores it, so a problem pickles and
    travels to Dask or Ray workers as text. Unknown keys raise
    :class:`ProblemError`; the values are validated when the problem is
    checked or run.
    """

    def __init__(
        self,
        source: Union["Problem", Mapping[str, Any], PathLike, None] = None,
        *,
        base_dir: Optional[PathLike] = None,
    ):
        if source is None:
            text, base = _mfpde.quickstart_toml(), "."
        elif isinstance(source, Problem):
            text, base = source._toml, source._base_dir
        elif isinstance(source, Mapping):
            text, base = _mfpde.toml_of_dict(dict(source)), "."
        elif isinstance(source, os.PathLike) or (
            isinstance(source, str) and "\n" not in source and "=" not in source
        ):
            path = pathlib.Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise OSError(e.errno, f"{path}: {e.strerror}") from None
            base = str(path.resolve().parent)
        elif isinstance(source, str):
            text, base = source, "."
        else:
            raise TypeError(f"a problem from {type(source).__name__}: a path, TOML text, a dict or a Problem")
        if base_dir is not None:
            base = str(base_dir)
        self._base_dir = base
        self._toml = _mfpde.canonical(text, [], base)

    @classmethod
    def from_file(cls, path: PathLike) -> "Problem":
        """The problem file at ``path`` (its data file relative to it)."""
        return cls(pathlib.Path(path))

    @classmethod
    def from_toml(cls, text: str, base_dir: PathLike = ".") -> "Problem":
        """A problem given as TOML text."""
        p = cls.__new__(cls)
        p._base_dir = str(base_dir)
        p._toml = _mfpde.canonical(text, [], p._base_dir)
        return p

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base_dir: PathLike = ".") -> "Problem":
        """A problem given as a dict of sections (``{"model": {...}, ...}``)."""
        return cls(d, base_dir=base_dir)

    def set(self, key: str, value: Any) -> "Problem":
        """Override ``key`` (``section.key``) with ``value`` as ``--set`` does;
        returns the problem (so calls chain)."""
        override = f"{key}={_mfpde.toml_value(value)}"
        self._toml = _mfpde.canonical(self._toml, [override], self._base_dir)
        return self

    def copy(self) -> "Problem":
        """An independent copy."""
        return Problem(self)

    def check(self, force: bool = False) -> dict:
        """``mfpde check``: validate (and the memory and disk budget, unless
        ``force``) and return the derived sizes: cells, nodes, memory and
        disk bytes, the first Δt, R(ρ0), the network's figures, warnings."""
        return _mfpde.check(self._toml, self._base_dir, force)

    def to_toml(self) -> str:
        """The problem as TOML (as the results files store it)."""
        return self._toml

    def to_dict(self) -> dict:
        """The problem as a dict of sections."""
        return tomllib.loads(self._toml)

    @property
    def name(self) -> str:
        """The problem's name (``name``, else the quickstart's)."""
        return self.to_dict().get("name", "problem")

    @property
    def base_dir(self) -> str:
        return self._base_dir

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._toml == other._toml

    def __hash__(self) -> int:
        return hash(self._toml)

    def __repr__(self) -> str:
        return f"Problem.from_toml({self._toml!r}, base_dir={self._base_dir!r})"

    def __reduce__(self):
        return (Problem.from_toml, (self._toml, self._base_dir))


def _problem(p: Union[Problem, Mapping[str, Any], PathLike, None]) -> Problem:
    return p if isinstance(p, Problem) else Problem(p)


def _emit(job: "_mfpde.Job") -> None:
    for note in job.notes():
        if note.startswith("warning: "):
            warnings.warn(note[len("warning: "):], RuntimeWarning, stacklevel=4)
        else:
            _log.info(note)


def _bar(progress: Progress, t_end: float):
    if progress is not True:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=t_end, unit="t", bar_format="{l_bar}{bar}| t = {n:.3g}/{total:.3g} [{elapsed}<{remaining}]")


def _drive(job: "_mfpde.Job", t_end: float, progress: Progress):
    """Wait for the job in slices of 0.1 s (the GIL released), telling
    ``progress``; on any exception here (Ctrl-C, the callback's) cancel it,
    wait for it to stop, and raise that exception."""
    callback = progress if callable(progress) else None
    bar = _bar(progress, t_end)
    try:
        while not job.wait(0.1):
            _emit(job)
            t = job.time()
            if callback is not None:
                callback(t, t_end)
            if bar is not None:
                bar.update(t - bar.n)
        _emit(job)
        if bar is not None:
            bar.update(t_end - bar.n)
        if callback is not None:
            callback(job.time(), t_end)
    except BaseException as stop:
        job.cancel()
        while not job.wait(1.0):
            pass
        try:
            job.result()
        except Interrupted as e:
            if hasattr(stop, "add_note"):
                stop.add_note(f"mfpde: {e}")
        except Exception:
            pass
        raise
    finally:
        if bar is not None:
            bar.close()
    return job.result()


def _threads(threads: Optional[int]) -> int:
    if threads is None:
        return 0
    if int(threads) < 1:
        raise ProblemError(f"invalid `threads` = {threads}: at least 1 (or None: every core)")
    return int(threads)


def _start(command: str, problem, out, *, t_end_of=True, progress: Progress = None, **kw) -> xr.DataTree:
    p = _problem(problem)
    if kw.get("resume") and out is None:
        raise ProblemError("invalid `resume` = True without `out`: the file of the run to continue")
    out_path = None if out is None else str(pathlib.Path(out).expanduser().absolute())
    t_end = float(p.to_dict().get("dynamics", {}).get("t_end", 0.0)) if t_end_of else 0.0
    job = _mfpde.Job(command, p.to_toml(), p.base_dir, out_path, **kw)
    made = _drive(job, t_end, progress)
    if isinstance(made, dict):
        return tree_of(made)
    return open(made)


def pde(
    problem,
    out: Optional[PathLike] = None,
    *,
    resume: bool = False,
    theorems: bool = False,
    threads: Optional[int] = None,
    plots: bool = False,
    force: bool = False,
    progress: Progress = None,
) -> xr.DataTree:
    """Solve the mean-field PDE (``mfpde pde``): groups ``/pde`` (ρ at the
    snapshots, R_h, F_η, …), ``/history``, and with ``theorems`` the
    lecture's theorems report ``/theorems`` (and ``/gibbs`` for η > 0)."""
    return _start("pde", problem, out, resume=resume, theorems=theorems, threads=_threads(threads),
                  plots=plots, force=force, progress=progress)


def particles(
    problem,
    out: Optional[PathLike] = None,
    *,
    resume: bool = False,
    threads: Optional[int] = None,
    plots: bool = False,
    force: bool = False,
    progress: Progress = None,
) -> xr.DataTree:
    """Train the problem's m-neuron network (``mfpde particles``): group
    ``/particles`` (positions, histograms on the grid, R(μ^m), …)."""
    return _start("particles", problem, out, resume=resume, threads=_threads(threads),
                  plots=plots, force=force, progress=progress)


def run(
    problem,
    out: Optional[PathLike] = None,
    *,
    resume: bool = False,
    theorems: bool = False,
    threads: Optional[int] = None,
    plots: bool = False,
    force: bool = False,
    progress: Progress = None,
) -> xr.DataTree:
    """The PDE and the network side by side (``mfpde run``): ``/pde``,
    ``/particles`` and their distances at every snapshot, ``/compare``."""
    return _start("run", problem, out, resume=resume, theorems=theorems, threads=_threads(threads),
                  plots=plots, force=force, progress=progress)


def steady(
    problem,
    out: Optional[PathLike] = None,
    *,
    method: str = "newton",
    tol: float = 1e-12,
    threads: Optional[int] = None,
    plots: bool = False,
    force: bool = False,
    progress: Progress = None,
) -> xr.DataTree:
    """The Gibbs state ρ* = exp(−2Ψ[ρ*]/η)/Z directly (``mfpde steady``, η >
    0), from three starts: ``/steady`` (ρ*, R and F_η of its point values,
    how each start stopped)."""
    return _start("steady", problem, out, t_end_of=False, threads=_threads(threads), plots=plots,
                  force=force, method=method, tol=float(tol), progress=progress)


def converge(
    problem,
    m: Sequence[int],
    seeds: int,
    cells: Sequence[int],
    out: Optional[PathLike] = None,
    *,
    threads: Optional[int] = None,
    plots: bool = False,
    force: bool = False,
    progress: Progress = None,
) -> xr.DataTree:
    """Distances at t_end against m (over ``seeds``) and h (over ``cells``)
    (``mfpde converge``): ``/converge`` with the means, the per-seed values
    and the fitted slopes."""
    return _start("converge", problem, out, t_end_of=False, threads=_threads(threads), plots=plots,
                  force=force, m=[int(x) for x in m], seeds=int(seeds), cells=[int(x) for x in cells],
                  progress=progress)


def sweep(
    study: PathLike,
    out: PathLike,
    *,
    jobs: int = 1,
    threads: Optional[int] = None,
    progress: Progress = None,
) -> xr.DataTree:
    """Run a study file (``mfpde sweep``, README "Studies"): each point a
    run of its own into ``OUT.points/pNNNNN.h5`` (a rerun keeps the
    finished points and resumes interrupted ones), ``jobs`` at once on
    ``threads`` in all, gathered into ``out``: ``/study``, a dimension per
    axis (and ``seed``) with the axes' values as coordinates, each measure
    on them, each curve on them and ``time``, ``failed`` where a point's
    run failed (its error in ``/study.attrs["errors"]``; a failed point is
    warned about and the others complete)."""
    path = pathlib.Path(study).expanduser().absolute()
    try:
        text = path.read_text()
    except OSError as e:
        raise OSError(f"{path}: cannot read the study: {e}") from e
    if int(jobs) < 1:
        raise ProblemError(f"invalid `jobs` = {jobs}: at least 1")
    out_path = str(pathlib.Path(out).expanduser().absolute())
    job = _mfpde.Job("sweep", text, str(path.parent), out_path, threads=_threads(threads), jobs=int(jobs))
    return open(_drive(job, 0.0, progress))


def open(path: PathLike) -> xr.DataTree:  # noqa: A001 - mirrors xarray.open_*
    """A complete results file as the DataTree a run returns (loaded into
    memory; the file is closed). An interrupted run's file (status
    ``running``) has no dimension scales yet: resume it first."""
    path = pathlib.Path(path)
    with h5py.File(path, "r") as f:
        status = f.attrs.get("status")
        fmt = f.attrs.get("format")
    status = status.decode() if isinstance(status, bytes) else status
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if not (isinstance(fmt, str) and fmt.startswith("mfpde-")):
        raise OSError(f"{path}: not an mfpde results file (its format attribute is {fmt!r})")
    if status != "complete":
        raise OSError(
            f"{path}: status {status!r}, not a complete results file "
            "(an interrupted run: continue it with resume=True; a failed one keeps its snapshots for h5py)"
        )
    tree = xr.open_datatree(path, engine="h5netcdf")
    try:
        tree.load()
    finally:
        tree.close()
    return tree
