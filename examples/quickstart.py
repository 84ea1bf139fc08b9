"""The quickstart from Python: solve the mean-field PDE, train the network
beside it on the same problem, and look at the two side by side.

    python examples/quickstart.py      # writes output/quickstart_python.png

The problem is grids/quickstart.toml on a 128² grid with 20 000 neurons
(about 10 s on 2 cores); the density ρ(t, a, w1) and the particles'
histogram come back in one xarray.DataTree, selected by time and by axis.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mfpde  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]

problem = mfpde.Problem(ROOT / "grids" / "quickstart.toml")
problem.set("grid.cells", [128, 128]).set("particles.m", 20_000)

tree = mfpde.run(problem, progress=True)
pde, net, compare = tree["pde"], tree["particles"], tree["compare"]

# select by mean-field time, as stored
t = float(pde.time[-1])
print(f"t = {t:g}: R(rho) = {float(pde.risk.sel(time=t)):.4e} (PDE), "
      f"R(mu^m) = {float(net.risk.sel(time=t)):.4e} (m = {net.attrs['m']})")
for axis in compare.axis.values:
    w1 = compare.w1.sel(axis=axis)
    print(f"W1 of the {axis} marginal: {float(w1.isel(time=0)):.3e} at t = 0, {float(w1.sel(time=t)):.3e} at t = {t:g}")

fig, (left, right, curves) = plt.subplots(1, 3, figsize=(15, 4.2))
pde.density.sel(time=t).plot(ax=left, x="w1", y="a", cmap="viridis")
left.set_title(f"PDE density ρ at t = {t:g}")
net.histogram.sel(time=t).plot(ax=right, x="w1", y="a", cmap="viridis")
right.set_title(f"histogram of {net.attrs['m']} neurons at t = {t:g}")
pde.risk.plot(ax=curves, label="R(ρ_t), PDE")
net.risk.plot(ax=curves, label="R(μ^m_t), network", linestyle="--")
curves.set_yscale("log")
curves.set_xlabel("mean-field time t")
curves.set_ylabel("risk R")
curves.legend()
fig.tight_layout()
out = ROOT / "output" / "quickstart_python.png"
out.parent.mkdir(exist_ok=True)
fig.savefig(out, dpi=100)
print(f"wrote {out}")
