"""The escape-delay figure of the README ("Stretched axes"): the risk of
grids/he2_escape.toml over time at d = 50 and 500, the PDE on its
sinh-stretched p axis and on a uniform one against the networks (SGD,
m = 1000 in R^d, mean and standard error over 3 seeds).

    mfpde sweep grids/studies/he2_escape.toml -o output/he2_escape.h5
    mfpde sweep grids/studies/he2_escape_networks.toml --jobs 2 -o output/he2_escape_networks.h5
    python docs/he2_escape.py      # writes docs/he2_escape.png
"""

import pathlib
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
pde = xr.open_datatree(ROOT / "output" / "he2_escape.h5", engine="h5netcdf")["study"].to_dataset()
net = xr.open_datatree(ROOT / "output" / "he2_escape_networks.h5", engine="h5netcdf")["study"].to_dataset()

# the zipped text axis (the p axis's map) is in the point labels
maps = re.findall(r"\{[^}]*\}", pde.attrs["point_labels"].split("p_axis: ")[1])
kinds = ["sinh" if "sinh" in m else "uniform" for m in maps]

fig, (curves, times) = plt.subplots(1, 2, figsize=(12, 4.4))
colours = {50: "tab:blue", 500: "tab:red"}
for i in range(pde.sizes["point"]):
    d = int(pde.d[i])
    style = "-" if kinds[i] == "sinh" else ":"
    label = f"PDE, d = {d}, p axis {kinds[i]}"
    curves.plot(pde.time, pde.risk_over_time[i], style, color=colours[d], label=label)
for i in range(net.sizes["point"]):
    d = int(net.d[i])
    r = net.particle_risk_over_time[i]
    mean, se = r.mean("seed"), r.std("seed", ddof=1) / np.sqrt(net.sizes["seed"])
    curves.errorbar(net.time, mean, yerr=se, fmt="o", ms=3, color=colours[d], label=f"networks, d = {d}")
curves.axhline(0.9, color="grey", lw=0.8)
curves.set_xlabel("mean-field time t")
curves.set_ylabel("risk R")
curves.legend(fontsize=8)

# the escape times (R = 0.9) against d
escape = "time_below_0.9"
for kind, style in [("sinh", "-o"), ("uniform", ":s")]:
    pick = [i for i in range(pde.sizes["point"]) if kinds[i] == kind]
    times.plot([int(pde.d[i]) for i in pick], [float(pde[escape][i]) for i in pick], style, label=f"PDE, p axis {kind}")
t = net[escape]
times.errorbar(
    [int(v) for v in net.d], t.mean("seed"), yerr=t.std("seed", ddof=1) / np.sqrt(net.sizes["seed"]),
    fmt="k^", capsize=3, label="networks (3 seeds)",
)
times.set_xscale("log")
times.set_xlabel("input dimension d")
times.set_ylabel("escape time (first R ≤ 0.9)")
times.legend(fontsize=8)
fig.tight_layout()
fig.savefig(ROOT / "docs" / "he2_escape.png", dpi=110)
print("wrote docs/he2_escape.png")
