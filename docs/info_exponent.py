"""The information-exponent figure and fits of the README ("Studies"): the
halfway time of the risk of grids/info_exponent.toml (Hermite units
He_k/√k!, output weights frozen at 1, learning He_k(u·x)/√k! in R^d from
p ~ N(0, 1/d)) for k = 1, 2 at d = 40 … 10^4 and k = 3 at d = 40 … 2560.

    mfpde sweep grids/studies/info_exponent.toml --jobs 2 -o output/info_exponent.h5
    python docs/info_exponent.py      # prints the fits, writes docs/info_exponent.png

Fits (ordinary least squares, standard errors from the residuals):
- k = 1: the exact halfway time ln 2 / 2 (R = e^{-2t}/2 at every d;
  tests/information.rs) beside the PDE's;
- k = 2: T = α + β ln d, and T² = α + β ln d for comparison;
- k = 3: ln T = α + γ ln d, and T = α + β √d.
"""

import pathlib

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "output" / "info_exponent.h5"
study = xr.open_datatree(OUT, engine="h5netcdf")["study"].to_dataset()
points = OUT.with_name("info_exponent.points")
T = study["time_below_0.25"]
E = study["time_below_0.4"]   # the escape: k = 3's risk pauses at about 0.29 before halving


def fit(x, y):
    """Least squares y = α + β x: (α, β), their standard errors, residuals."""
    A = np.vstack([np.ones_like(x), x]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ coef
    dof = max(len(y) - 2, 1)
    cov = np.linalg.inv(A.T @ A) * (res @ res) / dof
    return coef, np.sqrt(np.diag(cov)), res


EXACT_K1 = np.log(2) / 2   # R = e^{-2t}/2 at every d (tests/information.rs)


fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
colours = plt.cm.viridis(np.linspace(0, 0.9, 5))
for k, ax in zip([1, 2, 3], axes.flat):
    pick = [i for i in range(study.sizes["point"]) if int(study.k[i]) == k]
    for c, i in zip(colours, pick):
        with h5py.File(points / f"p{i:05d}.h5", "r") as f:
            t, r = f["history/time"][:], f["history/risk"][:]
        ax.plot(t, r, color=c, label=f"d = {int(study.d[i])}")
    ax.axhline(0.25, color="grey", lw=0.8)
    ax.axhline(0.4, color="grey", lw=0.6, ls="--")
    ax.set_title(f"k = {k}: σ_{k} learns σ_{k}(u·x)")
    ax.set_xlabel("mean-field time t")
    ax.set_ylabel("risk R")
    ax.legend(fontsize=8)

ax = axes.flat[3]
print("halfway times (first R ≤ 1/4):")
for k, style in [(1, "o-"), (2, "s-"), (3, "^-")]:
    pick = [i for i in range(study.sizes["point"]) if int(study.k[i]) == k]
    d = np.array([float(study.d[i]) for i in pick])
    t = np.array([float(T[i]) for i in pick])
    print(f"  k = {k}: " + ", ".join(f"d = {int(a)}: {b:.4f}" for a, b in zip(d, t)))
    ax.plot(d, t, style, label=f"k = {k}")
    if k == 1:
        print(f"    exact: ln 2 / 2 = {EXACT_K1:.4f} at every d")
        ax.axhline(EXACT_K1, color="k", ls=":", lw=0.8, label="k = 1 exact, ln 2 / 2")
    if k == 2:
        (a, b), (sa, sb), res = fit(np.log(d), t)
        print(f"    T = {a:.4f} + {b:.4f} ln d  (± {sb:.4f}; largest residual {np.abs(res).max():.1e})")
        print(f"    slopes between neighbours per ln d: {np.diff(t) / np.diff(np.log(d))}")
        (a2, b2), (sa2, sb2), res2 = fit(np.log(d), t**2)
        print(f"    T² = {a2:.4f} + {b2:.4f} ln d  (± {sb2:.4f}; largest residual {np.abs(res2).max():.1e})")
        ax.plot(d, a + b * np.log(d), "k--", lw=0.8, label=f"{a:.2f} + {b:.3f} ln d")
    if k == 3:
        (a, g), (sa, sg), res = fit(np.log(d), np.log(t))
        print(f"    ln T = {a:.4f} + {g:.4f} ln d  (± {sg:.4f}; largest residual {np.abs(res).max():.1e})")
        (a3, b3), (sa3, sb3), res3 = fit(np.sqrt(d), t)
        print(f"    T = {a3:.4f} + {b3:.5f} √d  (± {sb3:.5f}; largest residual {np.abs(res3).max():.1e})")
        print(f"    local exponents d ln T / d ln d: {np.diff(np.log(t)) / np.diff(np.log(d))}")
        print(f"    T/√d: {t / np.sqrt(d)}")
        ax.plot(d, np.exp(a) * d**g, "k-.", lw=0.8, label=f"{np.exp(a):.3f} d^{g:.2f}")
        e = np.array([float(E[i]) for i in pick])
        print("  k = 3, escape (first R ≤ 0.4): " + ", ".join(f"d = {int(a)}: {b:.4f}" for a, b in zip(d, e)))
        (ae, ge), (sae, sge), rese = fit(np.log(d), np.log(e))
        print(f"    ln T = {ae:.4f} + {ge:.4f} ln d  (± {sge:.4f}); local exponents {np.diff(np.log(e)) / np.diff(np.log(d))}")
        (a4, b4), (sa4, sb4), res4 = fit(np.sqrt(d), e)
        print(f"    T = {a4:.4f} + {b4:.5f} √d  (± {sb4:.5f}; largest residual {np.abs(res4).max():.1e}); T/√d {e / np.sqrt(d)}")
        ax.plot(d, e, "v-", color="tab:red", label="k = 3, escape (R ≤ 0.4)")
        ax.plot(d, a4 + b4 * np.sqrt(d), ":", color="tab:red", lw=0.8, label=f"{a4:.3f} + {b4:.4f} √d")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("input dimension d")
ax.set_ylabel("halfway time (first R ≤ 1/4); escape (R ≤ 0.4)")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(ROOT / "docs" / "info_exponent.png", dpi=100)
print("wrote docs/info_exponent.png")
