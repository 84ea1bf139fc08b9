"""The propagation-of-chaos figure and table of the README ("Studies"): the
distances between the quickstart's network and its PDE at t_end = 10, for
m = 300 … 10^4 neurons over 4 seeds (grids/studies/chaos.toml), with the
slope of log mean against log m (least squares weighted by the relative
standard errors).

    mfpde sweep grids/studies/chaos.toml --jobs 2 -o output/chaos.h5
    python docs/chaos.py      # prints the table, writes docs/chaos.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
study = xr.open_datatree(ROOT / "output" / "chaos.h5", engine="h5netcdf")["study"].to_dataset()
m = study.m.values.astype(float)
n = study.sizes["seed"]

fig, ax = plt.subplots(figsize=(6.5, 4.6))
print("| m | " + " | ".join(str(int(v)) for v in m) + " | slope |")
print("| --- " * (len(m) + 2) + "|")
for name, label in [("w1_a", "W1(a)"), ("w1_w1", "W1(w1)"), ("sw2", "SW2"), ("risk_gap", "risk gap")]:
    v = study[name]
    mean = v.mean("seed").values
    se = (v.std("seed", ddof=1) / np.sqrt(n)).values
    # weighted least squares of log mean on log m, weights 1/(se/mean)^2
    x, y, w = np.log(m), np.log(mean), (mean / se) ** 2
    A = np.vstack([np.ones_like(x), x]).T
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    coef = cov @ (A.T @ (w * y))
    print(f"| {label} | " + " | ".join(f"{a:.3g} ± {b:.2g}" for a, b in zip(mean, se)) + f" | {coef[1]:.2f} ± {np.sqrt(cov[1, 1]):.2f} |")
    ax.errorbar(m, mean, yerr=se, fmt="o-", capsize=3, label=f"{label}: slope {coef[1]:.2f} ± {np.sqrt(cov[1, 1]):.2f}")
ref = study["w1_a"].mean("seed").values[0] * (m / m[0]) ** -0.5
ax.plot(m, ref, "k:", label="m^(-1/2)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("neurons m")
ax.set_ylabel("distance to the PDE at t_end = 10 (mean ± s.e., 4 seeds)")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(ROOT / "docs" / "chaos.png", dpi=100)
print("wrote docs/chaos.png")
