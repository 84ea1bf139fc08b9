"""Results as an xarray DataTree: the same groups, names, dimensions and
coordinates as the HDF5 file (and as ``xarray.open_datatree`` reads it)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _labels(values):
    return np.array(list(values), dtype=object)


def tree_of(results: dict) -> xr.DataTree:
    """The DataTree of results given as the extension's dict."""
    grid = results["grid"]
    axes = [name for name, _ in grid]
    centres = {name: 0.5 * (e[1:] + e[:-1]) for name, e in grid}
    nodes = {"/": xr.Dataset(attrs=dict(results["attrs"]))}
    edges = {}
    for k, (name, e) in enumerate(grid):
        edges[f"edges_{k}"] = xr.Variable(
            (f"edges_{k}",), e, {"name": name, "long_name": f"cell edges of axis {name}"}
        )
    nodes["/grid"] = xr.Dataset(coords=edges)
    for g in results["groups"]:
        data_vars, coords = {}, {}
        used = set()
        for v in g["vars"]:
            attrs = {}
            if v["long_name"]:
                attrs["long_name"] = v["long_name"]
            if v["units"]:
                attrs["units"] = v["units"]
            var = xr.Variable(tuple(v["dims"]), v["data"], attrs)
            used.update(v["dims"])
            if list(v["dims"]) == [v["name"]]:
                coords[v["name"]] = var
            else:
                data_vars[v["name"]] = var
        for dim in used - set(coords):
            if dim in centres:
                k = axes.index(dim)
                coords[dim] = xr.Variable(
                    (dim,),
                    centres[dim],
                    {"long_name": f"cell centres of axis {dim}", "edges": f"/grid/edges_{k}"},
                )
            elif dim in ("axis", "axis2"):
                coords[dim] = xr.Variable((dim,), _labels(axes))
            elif dim == "metric":
                coords[dim] = xr.Variable((dim,), _labels(results["metrics"]))
        nodes["/" + g["path"]] = xr.Dataset(data_vars, coords, attrs=dict(g["attrs"]))
    return xr.DataTree.from_dict(nodes)
