#!/usr/bin/env python3
"""mfpde's PDE step ported to JAX, the whole time loop jitted (x64): the peer
of BENCHMARKS.md. Run by hand (not in CI):

    pip install "jax[cpu]" h5py
    python3 benches/peers/jax_pde_step.py [cells] [--no-diffusion]

The quickstart problem (tanh, no bias, trained a, x ~ N(0, 1) with 48
Gauss–Hermite nodes, f*(x) = 2 tanh(1.5 x), η = 0.02, λ = 0, ρ0 = N(0, 0.5²)
× N(0, 1) as exact cell averages on [−6, 6]²) on n² cells with mfpde's
default scheme: the CFL Δt (cfl 0.5, Σ_k |V_k|/h_k with each cell's larger
face, capped at 0.05, landing exactly on t = 1), Strang splitting of the exact
DCT diffusion and SSP-RK2 advection with MUSCL van Leer upwind fluxes
(first-order boundary cells, no-flux walls), V recomputed at both stages.
`--no-diffusion` runs η = 0 (the advection and velocity alone).

It runs mfpde on the same problem (target/release/mfpde, built first with
`cargo build --release`), checks that both give R_h(1) equal to 1e-10
relative, then times the jitted loop (best of 3) and prints the time per
step of both and their ratio. mfpde's time is its own report ("ms/step") of
the same run, threads as set by RAYON_NUM_THREADS; JAX's threads follow
XLA_FLAGS (e.g. --xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1 for one core).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)
import h5py  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.scipy.fft import dctn, idctn  # noqa: E402
from scipy.special import erfc  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
n = int(args[0]) if args else 256
eta = 0.0 if "--no-diffusion" in sys.argv else 0.02
lo, hi, lam, cfl, dt_max, t_end = -6.0, 6.0, 0.0, 0.5, 0.05, 1.0
h = (hi - lo) / n
vol = h * h
faces = lo + h * np.arange(n + 1)
centres = faces[:-1] + 0.5 * h

# Gauss–Hermite made symmetric to the bit, as mfpde does
xi, wi = np.polynomial.hermite.hermgauss(48)
xi = 0.5 * (xi - xi[::-1])
wi = 0.5 * (wi + wi[::-1])
x = np.sqrt(2.0) * xi
omega = wi / np.sqrt(np.pi)
fstar = 2.0 * np.tanh(1.5 * x)
sig = jnp.asarray(np.tanh(np.outer(x, centres)))  # Q × n, w centres
dsig = jnp.asarray((1.0 - np.tanh(np.outer(x, faces)) ** 2) * x[:, None])  # Q × (n+1)


def cell_mass(mean, std):
    z = (faces - mean) / (np.sqrt(2.0) * std)
    return 0.5 * (erfc(z[:-1]) - erfc(z[1:]))


rho0 = np.outer(cell_mass(0.0, 0.5), cell_mass(0.0, 1.0))  # axis 0 = a
rho0 /= rho0.sum() * vol
lam_k = -4.0 * np.sin(np.pi * np.arange(n) / (2 * n)) ** 2 / h**2
lam2 = jnp.asarray(lam_k[:, None] + lam_k[None, :])
omega_j, fstar_j = jnp.asarray(omega), jnp.asarray(fstar)
c_a, f_a, f_w = jnp.asarray(centres), jnp.asarray(faces), jnp.asarray(faces)


def f_nodes(rho):
    m1 = (c_a[:, None] * rho).sum(axis=0) * vol
    return sig @ m1


def velocity(rho):
    c = omega_j * (f_nodes(rho) - fstar_j)
    g, gw = c @ sig, c @ dsig
    va = -g[None, :] - lam * f_a[:, None]  # (n+1) × n
    vw = -c_a[:, None] * gw[None, :] - lam * f_w[None, :]  # n × (n+1)
    return va, vw


def van_leer(dm, dp):
    prod = dm * dp
    return jnp.where(prod > 0.0, 2.0 * prod / jnp.where(prod > 0.0, dm + dp, 1.0), 0.0)


def flux_div(rho, va, vw):
    du = jnp.zeros_like(rho)
    for axis, v in ((0, va), (1, vw)):
        r = jnp.moveaxis(rho, axis, 0)
        v = jnp.moveaxis(v, axis, 0)[1:-1]
        d = jnp.diff(r, axis=0)
        s = jnp.zeros_like(r).at[1:-1].set(van_leer(d[:-1], d[1:]))
        left, right = r[:-1] + 0.5 * s[:-1], r[1:] - 0.5 * s[1:]
        flux = v * jnp.where(v > 0.0, left, right) / h
        out = jnp.zeros_like(r).at[:-1].add(-flux).at[1:].add(flux)
        du = du + jnp.moveaxis(out, 0, axis)
    return du


def diffuse(rho, dt):
    if eta == 0.0:
        return rho
    r = dctn(rho, type=2, norm="ortho")
    return idctn(r * jnp.exp(dt * 0.5 * eta * lam2), type=2, norm="ortho")


def stable_dt(rho):
    va, vw = velocity(rho)
    rate = jnp.maximum(jnp.abs(va[:-1]), jnp.abs(va[1:])) / h
    rate = rate + jnp.maximum(jnp.abs(vw[:, :-1]), jnp.abs(vw[:, 1:])) / h
    return jnp.minimum(cfl / rate.max(), dt_max)


def step(rho, dt):
    rho = diffuse(rho, 0.5 * dt)
    u1 = rho + dt * flux_div(rho, *velocity(rho))
    rho = 0.5 * rho + 0.5 * (u1 + dt * flux_div(u1, *velocity(u1)))
    return diffuse(rho, 0.5 * dt)


@jax.jit
def run(rho):
    def body(state):
        rho, t, k = state
        dt = stable_dt(rho)
        lands = t + dt >= t_end
        dt = jnp.where(lands, t_end - t, jnp.where(t + 1.5 * dt > t_end, 0.5 * (t_end - t), dt))
        return step(rho, dt), jnp.where(lands, t_end, t + dt), k + 1

    return jax.lax.while_loop(lambda s: s[1] < t_end, body, (rho, 0.0, 0))


def risk(rho):
    return float(0.5 * jnp.sum(omega_j * (f_nodes(rho) - fstar_j) ** 2))


def mfpde():
    """mfpde on the same problem: its R_h(1) and its ms/step."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    exe = os.path.join(root, "target", "release", "mfpde")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "q.h5")
        sets = [f"grid.cells=[{n},{n}]", "dynamics.t_end=1.0", "dynamics.snapshots=2",
                f"dynamics.noise={eta}", "solver.history_every=1000000"]
        cmd = [exe, "pde", os.path.join(root, "grids", "quickstart.toml"), "-o", out, "-q"]
        for s in sets:
            cmd += ["--set", s]
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        ms = float(re.search(r"\(([0-9.]+) ms/step", text).group(1))
        with h5py.File(out, "r") as f:
            return float(f["pde/risk"][1]), ms


rho_end, t, steps = run(jnp.asarray(rho0))
r_jax = risk(rho_end)
r_mf, ms_mf = mfpde()
rel = abs(r_jax - r_mf) / abs(r_mf)
print(f"R_h(1): JAX {r_jax:.12e}, mfpde {r_mf:.12e}, relative difference {rel:.1e}")
assert rel < 1e-10, "the two do not compute the same thing"
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    jax.block_until_ready(run(jnp.asarray(rho0)))
    best = min(best, time.perf_counter() - t0)
ms_jax = 1e3 * best / int(steps)
print(
    f"{n}², η = {eta}, {int(steps)} steps: JAX {jax.__version__} jit {ms_jax:.2f} ms/step, "
    f"mfpde {ms_mf:.2f} ms/step: mfpde is {ms_jax / ms_mf:.2f}× faster"
)
