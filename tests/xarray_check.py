#!/usr/bin/env python3
"""Open an mfpde results file with xarray, as a researcher would, and check it.

    python3 tests/xarray_check.py FILE.h5 [FILE.h5 ...]

Each file is opened with xarray.open_datatree(FILE, engine="h5netcdf"), with no
phony_dims. In every group every variable has named dimensions (no phony_dim_N)
and the dimension names mfpde declares; the grid's coordinates in a group are
the midpoints of /grid/edges_k; ds.density.sel(time=t) (and the particle
histogram's) is the stored snapshot, as h5py reads it. Exits non-zero with a
message on the first failure.
"""
import sys

import h5py
import numpy as np
import xarray as xr


def fail(msg):
    print(f"xarray_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


# the dimensions of the variables mfpde writes, the grid's axes as "GRID"
EXPECTED = {
    "pde": {
        "time": ("time",), "mass": ("time",), "risk": ("time",), "entropy": ("time",),
        "free_energy": ("time",), "boundary_mass": ("time",), "min_density": ("time",),
        "steps": ("time",), "density": ("time", "GRID"), "f_values": ("time", "point"),
        "mean": ("time", "axis"), "cov": ("time", "axis", "axis2"),
        "f_points": ("point", "input"), "f_target": ("point",),
    },
    "history": {n: ("time",) for n in ["time", "risk", "free_energy", "mass", "dt"]},
    "particles": {
        "time": ("time",), "risk": ("time",), "risk_se": ("time",), "outside": ("time",),
        "steps": ("time",),
        "batch_word": ("time",), "positions": ("time", "neuron", "axis"),
        "histogram": ("time", "GRID"), "f_values": ("time", "point"),
        "mean": ("time", "axis"), "cov": ("time", "axis", "axis2"),
        "f_points": ("point", "input"), "f_target": ("point",),
    },
    "compare": {
        "time": ("time",), "l1": ("time",), "w1": ("time", "axis"), "sw2": ("time",),
        "risk_gap": ("time",), "f_gap": ("time",), "pde_risk": ("time",),
        "particle_risk": ("time",), "directions": ("direction", "axis"),
    },
    "steady": {
        "density": ("GRID",), "r_nodes": ("node",), "risk": (),
        "entropy": (), "free_energy": (), "residual": (),
        "iterations": (), "gap": (), "starts_l1": (), "boundary_mass": (),
    },
    "theorems": {
        "time": ("time",), "risk": ("time",), "gap": ("time",),
        "stationarity": ("time",), "l1": ("time",), "w1": ("time", "axis"),
    },
    "gibbs": {"density": ("GRID",)},
    "converge": {
        "vs_m": ("metric", "m"), "by_seed": ("metric", "m", "seed"),
        "risk_diff": ("m", "seed"), "vs_h": ("metric", "cells"),
    },
}

# counts: integers in xarray as in h5py
COUNTS = {"steps", "batch_word", "iterations", "m", "cells", "seed", "slope_m_points"}


def expand(dims, axes):
    out = []
    for d in dims:
        out.extend(axes if d == "GRID" else [d])
    return tuple(out)


def check(path):
    with h5py.File(path, "r") as f:
        d = len([k for k in f["grid"] if k.startswith("edges_")])
        axes = [text(f[f"grid/edges_{k}"].attrs["name"]) for k in range(d)]
        edges = [f[f"grid/edges_{k}"][()] for k in range(d)]
        stored = {
            g: f[f"{g}/{v}"][()]
            for g, v in [("pde", "density"), ("particles", "histogram")]
            if g in f
        }
    tree = xr.open_datatree(path, engine="h5netcdf")
    groups = [node.path.strip("/") for node in tree.subtree if node.path != "/"]
    if "grid" not in groups:
        fail(f"{path}: no /grid group")
    if not isinstance(tree.attrs.get("format"), str):
        fail(f"{path}: the root attribute format is {tree.attrs.get('format')!r}, not a str")
    for name in groups:
        ds = tree[name].to_dataset()
        for v in ds.variables:
            if any(str(dim).startswith("phony_dim") for dim in ds[v].dims):
                fail(f"{path}: {name}/{v} has phony dimensions {ds[v].dims}")
        for v in COUNTS & set(ds.variables):
            if ds[v].dtype.kind not in "iu":
                fail(f"{path}: {name}/{v} is {ds[v].dtype}, not an integer type")
        want = EXPECTED.get(name, {})
        for v, dims in want.items():
            if v in ds.variables and ds[v].dims != expand(dims, axes):
                fail(f"{path}: {name}/{v} has dimensions {ds[v].dims}, not {expand(dims, axes)}")
        for k, axis in enumerate(axes):
            if axis in ds.coords:
                mid = 0.5 * (edges[k][1:] + edges[k][:-1])
                if not np.array_equal(ds[axis].values, mid):
                    fail(f"{path}: {name}/{axis} is not the midpoints of /grid/edges_{k}")
        if "axis" in ds.coords and list(ds["axis"].values) != axes:
            fail(f"{path}: {name}/axis labels {list(ds['axis'].values)}, not {axes}")
    for g, field in [("pde", "density"), ("particles", "histogram")]:
        if g not in groups:
            continue
        ds = tree[g].to_dataset()
        for i, t in enumerate(ds["time"].values):
            snap = ds[field].sel(time=t).values
            if not np.array_equal(snap, stored[g][i]):
                fail(f"{path}: {g}/{field}.sel(time={t}) is not the stored snapshot {i}")
        # a cell picked by coordinate: the same number as by index
        centre = {a: ds[a].values[len(ds[a]) // 2] for a in axes}
        idx = tuple(len(ds[a]) // 2 for a in axes)
        if ds[field].isel(time=-1).sel(centre).item() != stored[g][-1][idx]:
            fail(f"{path}: {g}/{field} selected by cell centre is not the stored cell")
    print(f"xarray_check: OK {path}: groups {sorted(groups)}, axes {axes}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    for p in sys.argv[1:]:
        check(p)
