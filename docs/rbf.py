"""The RBF figure of the README ("RBF units"): the risk of Rotskoff's problem
over time from the good initialisation, the bad one, and the bad one with
birth–death (α = 5), the PDE (lines) against the 200 neurons (dashed).

    mfpde sweep grids/studies/rbf_birth_death.toml -o output/rbf_birth_death_study.h5
    python docs/rbf.py      # writes docs/rbf_risk.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
study = xr.open_datatree(ROOT / "output" / "rbf_birth_death_study.h5", engine="h5netcdf")["study"].to_dataset()

names = ["good start, y0 ~ U(-2, 2)", "bad start, y0 ~ N(-2, 0.1²)", "bad start, birth–death α = 5"]
colours = ["tab:blue", "tab:red", "tab:green"]
fig, ax = plt.subplots(figsize=(7.5, 4.4))
t = study["time"].values
for i, (name, colour) in enumerate(zip(names, colours)):
    ax.semilogy(t, study["risk_over_time"].values[i], color=colour, label=f"{name}: PDE")
    ax.semilogy(t, study["particle_risk_over_time"].values[i], "--", color=colour, label="200 neurons")
ax.set_xlabel("mean-field time t")
ax.set_ylabel("R")
ax.set_title("Rotskoff's RBF problem: the risk over time")
ax.legend(fontsize=8, ncol=1)
fig.tight_layout()
fig.savefig(ROOT / "docs" / "rbf_risk.png", dpi=110)
