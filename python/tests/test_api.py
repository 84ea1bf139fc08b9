"""mfpde from Python (issue 21): the same numbers as the CLI, problems from
dicts equal to their files, errors as Python exceptions, interrupting and
resuming, the GIL released, named dimensions."""

import pickle
import subprocess
import threading
import time
import tomllib

import h5py
import numpy as np
import pytest
import xarray as xr

import mfpde
from conftest import ROOT, SHORT, sets, short


def datasets(path):
    """Every dataset of an HDF5 file: {group/name: array}."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def test_run_gives_the_numbers_of_the_cli_file_to_the_bit(cli, tmp_path):
    """Every dataset of the CLI's `run` file (but the netCDF scales it adds
    for dimensions without coordinates) is the tree's variable or
    coordinate of the same path, to the bit and in shape and type."""
    out = tmp_path / "cli.h5"
    grid = ROOT / "grids" / "quickstart.toml"
    subprocess.run([cli, "run", grid, "-o", out, "--no-plots", "-q", *sets(SHORT)], check=True)
    tree = mfpde.run(short())
    checked = 0
    with h5py.File(out, "r") as f:
        blank = set()
        for path, want in datasets(out).items():
            group, name = path.rsplit("/", 1)
            ds = f[path]
            if "not a netCDF variable" in str(ds.attrs.get("NAME", b"")):
                blank.add(path)
                continue
            got = tree[group][name].values
            assert got.shape == want.shape, path
            if want.dtype.kind == "O":
                assert [str(x) for x in got] == [x.decode() if isinstance(x, bytes) else x for x in want], path
            else:
                assert got.dtype == want.dtype, path
                assert got.tobytes() == want.tobytes(), path
            checked += 1
    assert checked > 40, checked
    for name in ["format", "problem", "version", "status"]:
        assert tree.attrs[name] == h5py.File(out, "r").attrs[name]


def test_a_problem_from_a_dict_is_its_toml_file():
    """The quickstart built from a dict equals its grid file: the same
    TOML, the same check, the same results (to the bit)."""
    path = ROOT / "grids" / "quickstart.toml"
    from_file = mfpde.Problem(path)
    with open(path, "rb") as f:
        from_dict = mfpde.Problem(tomllib.load(f))
    assert from_file == from_dict
    assert from_file.check() == from_dict.check()
    a = mfpde.pde(short(from_file))
    b = mfpde.pde(short(from_dict))
    xr.testing.assert_identical(a["pde"].to_dataset(), b["pde"].to_dataset())
    # it pickles (to travel to Dask or Ray workers) and comes back equal
    assert pickle.loads(pickle.dumps(from_dict)) == from_file
    assert mfpde.Problem.from_toml(from_file.to_toml()) == from_file


def test_set_follows_the_cli_override_rules():
    p = mfpde.Problem().set("grid.cells", [32, 16]).set("solver.scheme", "sg")
    d = p.to_dict()
    assert d["grid"]["cells"] == [32, 16] and d["solver"]["scheme"] == "sg"
    assert p.check()["cells"] == [32, 16]


def test_a_bad_key_raises_problem_error_naming_it(tmp_path):
    with pytest.raises(mfpde.ProblemError, match="cellz") as e:
        mfpde.Problem().set("grid.cellz", [3, 3])
    assert isinstance(e.value, ValueError)
    with pytest.raises(mfpde.ProblemError, match="grid.cells"):
        mfpde.Problem().set("grid.cells", [0, 5]).check()
    with pytest.raises(mfpde.ProblemError, match="grid.cells"):
        mfpde.pde(mfpde.Problem().set("grid.cells", [0, 5]))
    with pytest.raises(mfpde.ProblemError, match="threads"):
        mfpde.pde(short(), threads=0)


def test_an_unwritable_out_raises_os_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        mfpde.pde(short(), out=blocker / "x.h5")


def test_an_interrupted_run_leaves_a_running_file_that_resume_completes(tmp_path):
    """KeyboardInterrupt raised from the progress callback stops the run at
    its next step and leaves OUT.running.h5; resume=True completes it, equal
    to the uninterrupted run to the bit."""
    p = short(**{"dynamics.t_end": 2.0, "dynamics.snapshots": 9, "grid.cells": [96, 80], "particles.m": 4000})
    whole = mfpde.run(p)
    out = tmp_path / "r.h5"
    calls = []

    def stop_after_a_snapshot(t, t_end):
        calls.append(t)
        if t >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mfpde.run(p, out, progress=stop_after_a_snapshot)
    running = tmp_path / "r.running.h5"
    assert running.exists() and not out.exists()
    with h5py.File(running, "r") as f:
        assert f.attrs["status"] in ("running", b"running")
        done = [f[f"{g}/time"].shape[0] if f"{g}/time" in f else 0 for g in ["pde", "particles"]]
    assert min(done) < 9, done
    resumed = mfpde.run(p, out, resume=True)
    assert out.exists() and not running.exists()
    for group in ["pde", "particles", "compare"]:
        xr.testing.assert_identical(whole[group].to_dataset(), resumed[group].to_dataset())


def test_a_solve_releases_the_gil():
    """The solve releases the GIL: while one runs in a Python thread, the
    main thread keeps running Python. Its longest pause between two steps
    of a loop stays under a quarter of the solve's time (a solve that held
    the GIL would pause it for all of it; released, a pause is Python's
    switch interval, 5 ms, against a solve of ~1 s). No speed is asserted:
    the bound is a ratio of two times of the same run."""
    p = mfpde.Problem().set("dynamics.t_end", 4.0).set("dynamics.snapshots", 2)

    def solve():
        mfpde.pde(p, threads=1)

    solve()  # warm the caches
    th = threading.Thread(target=solve)
    t0 = time.perf_counter()
    th.start()
    last, longest, steps = t0, 0.0, 0
    while th.is_alive():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last, steps = now, steps + 1
    th.join()
    took = time.perf_counter() - t0
    print(f"solve {took:.2f} s; the main thread's longest pause {longest * 1e3:.1f} ms in {steps} steps")
    assert took > 0.3, "a solve long enough to time"
    assert longest < 0.25 * took


def test_dimensions_are_named_and_open_gives_the_same_tree(cli, tmp_path):
    out = tmp_path / "cli.h5"
    grid = ROOT / "grids" / "quickstart.toml"
    subprocess.run([cli, "run", grid, "-o", out, "--no-plots", "-q", *sets(SHORT)], check=True)
    tree = mfpde.run(short())
    pde = tree["pde"]
    assert pde.density.dims == ("time", "a", "w1")
    assert pde.density.dtype == np.float64 and pde.density.shape == (4, 24, 20)
    assert list(tree["particles"].positions.dims) == ["time", "neuron", "axis"]
    assert list(tree["compare"]["axis"].values) == ["a", "w1"]
    e = tree["grid"]["edges_0"].values
    assert np.array_equal(pde["a"].values, 0.5 * (e[1:] + e[:-1]))
    assert pde.steps.dtype == np.int64
    # select by coordinates: the stored snapshot
    assert np.array_equal(pde.density.sel(time=0.1, method="nearest").values, pde.density.values[1])
    opened = mfpde.open(out)
    assert set(opened.groups) == set(tree.groups)
    for group in tree.groups:
        xr.testing.assert_identical(opened[group].to_dataset(), tree[group].to_dataset())


def test_open_refuses_a_running_file(tmp_path):
    p = short(**{"dynamics.t_end": 2.0, "dynamics.snapshots": 9, "grid.cells": [48, 40]})
    out = tmp_path / "r.h5"

    def stop(t, t_end):
        if t >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mfpde.pde(p, out, progress=stop)
    with pytest.raises(OSError, match="running"):
        mfpde.open(tmp_path / "r.running.h5")


def test_steady_and_converge_return_their_groups():
    g = mfpde.Problem(ROOT / "grids" / "gibbs.toml").set("grid.cells", [24, 20])
    st = mfpde.steady(g)["steady"]
    assert st.density.dims == ("a", "w1")
    assert st.risk.shape == () and st.iterations.dtype == np.int64
    assert st.attrs["stopped"] == "converged"
    c = mfpde.converge(short(), m=[50, 100], seeds=2, cells=[16, 24])["converge"]
    assert c.by_seed.dims == ("metric", "m", "seed")
    assert list(c.m.values) == [50, 100]
    np.testing.assert_allclose(c.by_seed.mean("seed"), c.vs_m, rtol=1e-13)


def test_sweep_is_the_cli_sweep_to_the_bit(cli, tmp_path):
    """`mfpde.sweep` on grids/studies/small.toml gives every variable of
    `mfpde sweep`'s collected file to the bit, with the axes as labelled
    coordinates; a measure selected by them is its point's own."""
    study = ROOT / "grids" / "studies" / "small.toml"
    subprocess.run([cli, "sweep", study, "-q", "-o", tmp_path / "cli.h5"], check=True)
    tree = mfpde.sweep(study, tmp_path / "py.h5", jobs=2)
    ds = tree["study"].to_dataset()
    assert ds.risk.dims == ("noise", "unit", "seed")
    assert list(ds.unit.values) == ["tanh", "erf"]
    theirs = mfpde.open(tmp_path / "cli.h5")["study"].to_dataset()
    for name in ds.variables:
        a, b = ds[name].values, theirs[name].values
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), name
        else:
            assert np.array_equal(a, b), name
    with h5py.File(tmp_path / "py.points" / "p00005.h5") as f:
        own = f["pde/risk"][-1]
    assert float(ds.risk.sel(noise=0.01, unit="tanh", seed=1)) == own
    with pytest.raises(mfpde.ProblemError, match="jobs"):
        mfpde.sweep(study, tmp_path / "x.h5", jobs=0)
