#!/usr/bin/env python3
"""Read an mfpde HDF5 file with h5py (the HDF5 C library) and check its layout.

    python3 tests/h5py_check.py FILE.h5 [--interrupted]

Checks the root attributes (format, version, problem, status), /grid/edges_k
with their axis names, every /pde dataset and its shape, the light history
/history, the problem TOML against the grid, mass 1 and ρ ≥ 0, and in a
complete file the dimension scales (each dataset's dimensions named through
h5py's .dims, the grid's coordinates the midpoints of its edges). With
--interrupted, checks a file whose run stopped early: status "running",
snapshots under /pde/snapshots (each whole, or in parts of rows). A
complete file's text attributes must read back as `str` (variable-length
UTF-8) and its counts (steps, iterations, m, cells, seeds) as integers,
/steady's scalars as true scalars (shape ()); a /converge group's
per-seed values must be the samples of its means.
Exits non-zero with a message on the first failure.
"""
import sys
import tomllib

import h5py
import numpy as np


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def fail(msg):
    print(f"h5py_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


FORMAT = "mfpde-3"

# the dimension-scale attributes of the HDF5 specification, fixed-length by it
SCALE_ATTRS = {"CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST"}


def check_types(f):
    """A complete file: every text attribute (root, groups, datasets) reads
    back as str, never bytes; every count is an integer dataset."""
    def attrs_of(name, obj):
        for k, v in obj.attrs.items():
            if k in SCALE_ATTRS:
                continue
            if isinstance(v, (bytes, np.bytes_)):
                fail(f"attribute {name or '/'}@{k} reads back as bytes: {v!r}")
    attrs_of("", f)
    f.visititems(attrs_of)
    counts = ["pde/steps", "particles/steps", "particles/batch_word", "steady/iterations",
              "converge/m", "converge/cells", "converge/seed", "converge/slope_m_points"]
    for name in counts:
        if name in f and f[name].dtype.kind not in "iu":
            fail(f"{name} is {f[name].dtype}, not an integer type")
    for k in ["format", "version", "problem", "status"]:
        if not isinstance(f.attrs[k], str):
            fail(f"root attribute {k} is {type(f.attrs[k])}, not str")


def dims(ds):
    """The names of a dataset's dimension scales (h5py reads DIMENSION_LIST)."""
    return tuple(d[0].name.split("/")[-1] if len(d) else None for d in ds.dims)


def check_dims(f, group, names):
    """Every variable of a complete file's group has named dimensions; the
    grid's coordinates in it are the midpoints of /grid/edges_k."""
    g = f[group]
    for name, ds in g.items():
        if not isinstance(ds, h5py.Dataset) or ds.ndim == 0:
            continue
        if text(ds.attrs.get("CLASS", b"")) == "DIMENSION_SCALE":
            continue  # a coordinate: a dimension of its own
        got = dims(ds)
        if None in got:
            fail(f"{group}/{name} has unnamed dimensions {got}")
    for k, axis in enumerate(names):
        if axis in g and text(g[axis].attrs.get("CLASS", b"")) == "DIMENSION_SCALE":
            e = f[f"grid/edges_{k}"][()]
            if not np.array_equal(g[axis][()], 0.5 * (e[1:] + e[:-1])):
                fail(f"{group}/{axis} are not the midpoints of grid/edges_{k}")


def snapshot(snaps, name, i):
    """Snapshot i of array `name` of an interrupted file: its dataset, or
    its parts (rows of the first axis, in order) joined."""
    if f"{name}_{i:05d}" in snaps:
        return snaps[f"{name}_{i:05d}"][()]
    parts = []
    while f"{name}_{i:05d}_part_{len(parts):04d}" in snaps:
        parts.append(snaps[f"{name}_{i:05d}_part_{len(parts):04d}"][()])
    if not parts:
        fail(f"no snapshot {i} of {name}, whole or in parts")
    if len({p.shape[1:] for p in parts}) != 1:
        fail(f"the parts of snapshot {i} of {name} differ past their rows")
    return np.concatenate(parts)


def check_particles(f, problem, cells, interrupted):
    """The /particles group: attributes, series, positions, histogram."""
    g = f["particles"]
    spec = problem["particles"]
    if int(g.attrs["m"]) != spec["m"] or abs(float(g.attrs["dt"]) - spec["dt"]) > 0:
        fail(f"particles attrs m={g.attrs['m']} dt={g.attrs['dt']} vs the problem")
    if text(g.attrs["mode"]) != spec.get("mode", "population"):
        fail(f"particles mode {g.attrs['mode']!r}")
    # how R(mu^m) is taken: the quadrature, or the d-dimensional network's own
    want = "network's own" if "symmetry" in problem else "quadrature of P"
    if want not in text(g.attrs["risk"]):
        fail(f"particles risk attribute {g.attrs['risk']!r}")
    t = g["time"][()]
    T = t.shape[0]
    for name in ["risk", "risk_se", "outside"]:
        if g[name].shape != (T,):
            fail(f"particles/{name} shape {g[name].shape}")
    # a standard error from the samples where R is sampled, 0 where exact
    se = g["risk_se"][()]
    sampled = "samples" in text(g.attrs["risk"])
    if np.any(se < 0) or (not sampled and np.any(se != 0)) or (sampled and np.any(se <= 0)):
        fail(f"particles/risk_se = {se} with risk taken as {text(g.attrs['risk'])!r}")
    d = len(cells)
    store = spec.get("store", spec["m"])
    vol = np.prod([(problem["grid"]["hi"][k] - problem["grid"]["lo"][k]) / cells[k] for k in range(d)])
    if interrupted:
        pos = np.stack([g[f"snapshots/positions_{i:05d}"][()] for i in range(T)])
        hist = np.stack([g[f"snapshots/histogram_{i:05d}"][()] for i in range(T)])
    else:
        pos, hist = g["positions"][()], g["histogram"][()]
        if g["mean"].shape != (T, d) or g["cov"].shape != (T, d, d):
            fail("particles mean/cov shape")
        if not np.allclose(g["mean"][-1], pos[-1].mean(axis=0), atol=1e-9) and store == spec["m"]:
            fail("particles/mean is not the mean of the stored positions")
    if pos.shape != (T, store, d):
        fail(f"positions shape {pos.shape}, want {(T, store, d)}")
    if hist.shape != (T, *cells):
        fail(f"histogram shape {hist.shape}")
    mass = hist.reshape(T, -1).sum(axis=1) * vol + g["outside"][()]
    if not np.allclose(mass, 1.0, atol=1e-12):
        fail(f"histogram mass + outside = {mass}")
    if not interrupted:
        names = [text(f[f"grid/edges_{k}"].attrs["name"]) for k in range(d)]
        check_dims(f, "particles", names)
        if dims(g["positions"]) != ("time", "neuron", "axis"):
            fail(f"particles/positions dimensions {dims(g['positions'])}")
    print(f"h5py_check: OK particles: T = {T}, positions {pos.shape}")


def check_steady(f, problem, cells):
    """/steady: the Gibbs state of mass 1, its scalars."""
    g = f["steady"]
    rho = g["density"][()]
    if rho.shape != tuple(cells) or rho.min() < 0:
        fail(f"steady/density shape {rho.shape} / min {rho.min()}")
    vol = np.prod([(problem["grid"]["hi"][k] - problem["grid"]["lo"][k]) / cells[k] for k in range(len(cells))])
    if abs(rho.sum() * vol - 1.0) > 1e-12:
        fail(f"steady mass {rho.sum() * vol}")
    # the mass of the outermost layer of cells, each once
    inner = rho[tuple(slice(1, -1) for _ in cells)]
    outer = (rho.sum() - inner.sum()) * vol
    if abs(g["boundary_mass"][()] - outer) > 1e-12:
        fail(f"steady/boundary_mass {g['boundary_mass'][()]} is not the outer cells' mass {outer}")
    for name in ["risk", "entropy", "free_energy", "residual", "iterations", "gap", "boundary_mass"]:
        if g[name].shape != ():
            fail(f"steady/{name} has shape {g[name].shape}, not a scalar's ()")
        if not np.all(np.isfinite(g[name][()])):
            fail(f"steady/{name} = {g[name][()]}")
    if abs(g["free_energy"][()] - g["risk"][()] - g["entropy"][()]) > 1e-12:
        fail("steady free_energy != risk + entropy")
    if not isinstance(g.attrs["stopped"], str):
        fail(f"steady@stopped = {g.attrs['stopped']!r}")
    names = [text(f[f"grid/edges_{k}"].attrs["name"]) for k in range(len(cells))]
    check_dims(f, "steady", names)
    if dims(g["density"]) != tuple(names):
        fail(f"steady/density dimensions {dims(g['density'])}")
    print(f"h5py_check: OK steady: density {rho.shape}, F = {g['free_energy'][()]:.10e}")


def check_theorems(f, d):
    """/theorems: one row per PDE snapshot."""
    g = f["theorems"]
    t = g["time"][()]
    if not np.allclose(t, f["pde/time"][()]):
        fail("theorems/time differs from pde/time")
    for name in ["risk", "gap", "stationarity"]:
        if g[name].shape != t.shape:
            fail(f"theorems/{name} shape {g[name].shape}")
    if "l1" in g and (g["w1"].shape != (t.shape[0], d) or np.any(g["l1"][()] < 0)):
        fail("theorems/l1 or w1")
    if "l1" in g and not np.isnan(g.attrs["rate"]):
        # the rate converged in dt: Richardson of the fits at dt and dt/2
        p = int(g.attrs["time_order"])
        q = 2.0 ** p
        want = (q * g.attrs["rate_half_dt"] - g.attrs["rate_dt"]) / (q - 1)
        if p < 1 or abs(g.attrs["rate"] - want) > 1e-12 * abs(want) or not g.attrs["rate_err"] > 0:
            fail(f"theorems rate {g.attrs['rate']} vs Richardson {want} (order {p})")
        if "Richardson" not in g.attrs["rate_method"]:
            fail(f"theorems rate_method {g.attrs['rate_method']!r}")
    print(f"h5py_check: OK theorems: {text(g.attrs['theorem'])}, T = {t.shape[0]}")


def check_converge(f):
    """/converge: the per-seed distances are the samples of vs_m, the signed
    risk differences those of risk_gap."""
    g = f["converge"]
    metrics = g.attrs["metrics"].split(",")
    m, seeds = g["m"][()], g["seed"][()]
    K, M, S = len(metrics), m.shape[0], seeds.shape[0]
    if int(g.attrs["seeds"]) != S:
        fail(f"converge seeds attribute {g.attrs['seeds']} vs {S} seeds")
    by_seed, diff = g["by_seed"][()], g["risk_diff"][()]
    if by_seed.shape != (K, M, S) or diff.shape != (M, S):
        fail(f"converge/by_seed {by_seed.shape}, risk_diff {diff.shape}")
    if not np.allclose(by_seed.mean(axis=2), g["vs_m"][()], rtol=1e-13, atol=0):
        fail("converge/by_seed does not average to vs_m")
    se = by_seed.std(axis=2, ddof=1) / np.sqrt(S)
    if not np.allclose(se, g["vs_m_se"][()], rtol=1e-10, atol=0):
        fail("converge/by_seed's standard errors are not vs_m_se")
    if not np.array_equal(np.abs(diff), by_seed[metrics.index("risk_gap")]):
        fail("|converge/risk_diff| is not the per-seed risk_gap")
    if dims(g["by_seed"]) != ("metric", "m", "seed"):
        fail(f"converge/by_seed dimensions {dims(g['by_seed'])}")
    print(f"h5py_check: OK converge: {K} metrics, m = {m.tolist()}, {S} seeds")


def check(path, interrupted):
    with h5py.File(path, "r") as f:
        if not interrupted:
            check_types(f)
        if "converge" in f:
            check_converge(f)
            return
        if "steady" in f:
            problem = tomllib.loads(text(f.attrs["problem"]))
            check_steady(f, problem, problem["grid"]["cells"])
            return
        if "pde" not in f:
            a = f.attrs
            want = "running" if interrupted else "complete"
            if text(a["format"]) != FORMAT or text(a["status"]) != want:
                fail(f"format/status {a['format']!r} {a['status']!r}")
            problem = tomllib.loads(text(a["problem"]))
            check_particles(f, problem, problem["grid"]["cells"], interrupted)
            return
        a = f.attrs
        if text(a["format"]) != FORMAT:
            fail(f"format = {a['format']!r}")
        if not text(a["version"]):
            fail("empty version")
        status = text(a["status"])
        want = "running" if interrupted else "complete"
        if status != want:
            fail(f"status = {status!r}, expected {want!r}")
        problem = tomllib.loads(text(a["problem"]))
        cells = problem["grid"]["cells"]
        d = len(cells)
        names = []
        for k in range(d):
            e = f[f"grid/edges_{k}"][()]
            if e.shape != (cells[k] + 1,) or not np.all(np.diff(e) > 0):
                fail(f"grid/edges_{k} has shape {e.shape}, want ({cells[k] + 1},) increasing")
            if abs(e[0] - problem["grid"]["lo"][k]) > 1e-12 or abs(e[-1] - problem["grid"]["hi"][k]) > 1e-12:
                fail(f"grid/edges_{k} does not span the problem's box")
            names.append(text(f[f"grid/edges_{k}"].attrs["name"]))
        trained = problem["model"].get("train_a", True)
        if problem["model"].get("unit") == "rbf":
            # the RBF unit's (c, y) or (c, y1, y2) of docs/model.md §7
            dy = d - int(trained)
            want = (["c"] if trained else []) + (["y"] if dy == 1 else [f"y{i + 1}" for i in range(dy)])
            if names != want:
                fail(f"axis names {names}, expected {want}")
        elif trained and names[0] != "a":
            fail(f"axis 0 is named {names[0]!r}, expected 'a'")
        if problem["model"].get("unit") == "rbf":
            pass
        elif "symmetry" in problem:
            # the reduced coordinates (a, p1 … pk, r) of docs/model.md §6
            k = problem["symmetry"]["directions"]
            want = (["a"] if trained else []) + [f"p{i + 1}" for i in range(k)] + ["r"]
            if names != want:
                fail(f"axis names {names}, expected {want}")
        elif names[-1] != f"w{d - 1 if trained else d}":
            fail(f"axis names {names}")
        t = f["pde/time"][()]
        T = t.shape[0]
        if T < 1 or np.any(np.diff(t) <= 0):
            fail(f"pde/time = {t}")
        for name in ["mass", "risk", "entropy", "free_energy", "boundary_mass", "min_density"]:
            v = f[f"pde/{name}"][()]
            if v.shape != (T,) or not np.all(np.isfinite(v)):
                fail(f"pde/{name} has shape {v.shape} / non-finite values")
        if not np.allclose(f["pde/free_energy"][()], f["pde/risk"][()] + f["pde/entropy"][()], rtol=0, atol=1e-12):
            fail("free_energy != risk + entropy")
        vol = np.prod([(problem["grid"]["hi"][k] - problem["grid"]["lo"][k]) / cells[k] for k in range(d)])
        if interrupted:
            dens = np.stack([snapshot(f["pde/snapshots"], "density", i) for i in range(T)])
        else:
            dens = f["pde/density"][()]
            E = f["pde/f_points"].shape[0]
            if f["pde/f_values"].shape != (T, E):
                fail(f"pde/f_values shape {f['pde/f_values'].shape}")
            if f["pde/mean"].shape != (T, d) or f["pde/cov"].shape != (T, d, d):
                fail("pde/mean or pde/cov shape")
            if "snapshots" in f["pde"]:
                fail("a complete file still holds pde/snapshots")
        if dens.shape != (T, *cells):
            fail(f"density shape {dens.shape}, want {(T, *cells)}")
        mass = dens.reshape(T, -1).sum(axis=1) * vol
        if not np.allclose(mass, 1.0, rtol=0, atol=1e-10):
            fail(f"mass {mass}")
        if not np.allclose(mass, f["pde/mass"][()], rtol=0, atol=1e-12):
            fail("density does not sum to pde/mass")
        if dens.min() < -1e-12:
            fail(f"min density {dens.min()}")
        for name in ["time", "risk", "free_energy", "mass", "dt"]:
            h = f[f"history/{name}"]
            if h.ndim != 1 or h.shape[0] < T:
                fail(f"history/{name} shape {h.shape}")
        if not interrupted:
            for group in [g for g in ["pde", "history", "particles", "compare", "theorems", "gibbs"] if g in f]:
                check_dims(f, group, names)
            if dims(f["pde/density"]) != ("time", *names):
                fail(f"pde/density dimensions {dims(f['pde/density'])}")
        print(f"h5py_check: OK {path}: {status}, T = {T}, density {dens.shape}, axes {names}")
        if "theorems" in f:
            check_theorems(f, d)
        if "particles" in f:
            check_particles(f, problem, cells, interrupted)
        if "compare" in f and not interrupted:
            c = f["compare"]
            Tc = c["time"].shape[0]
            if not np.allclose(c["time"][()], t[:Tc]):
                fail("compare/time differs from pde/time")
            # every distance the file names: [T], or [T, D] per axis
            metrics = text(c.attrs["metrics"]).split(",")
            labels = text(c.attrs["labels"]).split(",")
            if len(labels) != len(metrics) or "l1" not in metrics or "w1" not in metrics:
                fail(f"compare metrics {metrics} / labels {labels}")
            for name in metrics:
                v = c[name][()]
                if v.shape not in [(Tc,), (Tc, d)] or np.any(v < 0) or not np.all(np.isfinite(v)):
                    fail(f"compare/{name} = {v}")
            if c["w1"].shape != (Tc, d) or c["directions"].shape[1] != d:
                fail("compare/w1 or directions shape")
            if not np.allclose(np.linalg.norm(c["directions"][()], axis=1), 1.0):
                fail("compare/directions are not unit vectors")
            if np.any(c["l1"][()] > 2.0 + 1e-12):
                fail("L1 above 2")
            print(f"h5py_check: OK compare: T = {Tc}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    check(args[0], "--interrupted" in args)
