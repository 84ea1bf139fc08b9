#!/usr/bin/env python3
"""mfpde's particle step ported to JAX, the whole loop jitted (x64): the peer
of BENCHMARKS.md. Run by hand (not in CI):

    pip install "jax[cpu]" h5py
    python3 benches/peers/jax_particle_step.py [m] [--unfolded]

The quickstart network (tanh, no bias, trained a, x ~ N(0, 1) with 48
Gauss–Hermite nodes, f*(x) = 2 tanh(1.5 x), η = 0.02, λ = 0) in population
mode, m neurons (default 10⁵), Euler–Maruyama steps of Δt = 0.005 in
mean-field time: f_m(x_q) = (1/m) Σ_j a_j tanh(w_j x_q), c_q = ω_q (f_m −
f*)(x_q), g_j = Σ_q c_q tanh(w_j x_q), ∂_w g_j = Σ_q c_q tanh′(w_j x_q) x_q,
θ_j ← θ_j + Δt (−g_j − λ a_j, −a_j ∂_w g_j − λ w_j) + √(η Δt) ξ_j. The
fastest formulation we found: a and w as two vectors (structure of arrays),
S = tanh(w xᵀ) once, f = a S / m, g = S c, ∂_w g = (1 − S²)(c ∘ x), the
whole loop in one jitted fori_loop, x64 (an m × 2 θ with a stacked drift
was 1.35× slower). As mfpde
does, the ±x node pairs are folded (tanh is odd, the rule symmetric): σ is
evaluated at the 24 positive nodes only and c at a pair is c(x) − c(−x).
`--unfolded` evaluates all 48 nodes (both then compared with mfpde's
default, folded).

It first runs mfpde (target/release/mfpde, built first with `cargo build
--release`) without noise to t = 1, starts the JAX loop from mfpde's stored
initial positions and checks that the population risk R(f_m) at t = 1
agrees to 1e-10 relative. Then it times 200 noisy steps of both: JAX's
jitted loop (best of 3, the normal variates drawn inside the loop) and
mfpde's own reports of the run to t = 2 less the run to t = 1 (so that
neither side counts its start-up or snapshots), threads as set by
RAYON_NUM_THREADS and XLA_FLAGS (see jax_pde_step.py).
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

args = [a for a in sys.argv[1:] if not a.startswith("--")]
m = int(float(args[0])) if args else 100_000
folded = "--unfolded" not in sys.argv
eta, lam, dt, t_end = 0.02, 0.0, 0.005, 1.0
steps = int(round(t_end / dt))

# Gauss–Hermite made symmetric to the bit, as mfpde does
xi, wi = np.polynomial.hermite.hermgauss(48)
xi = 0.5 * (xi - xi[::-1])
wi = 0.5 * (wi + wi[::-1])
x = np.sqrt(2.0) * xi
omega = wi / np.sqrt(np.pi)
fstar = 2.0 * np.tanh(1.5 * x)
pos = x > 0  # the representatives of the ±x pairs
xp, wp, fp = (jnp.asarray(v[pos]) for v in (x, omega, fstar))
xa, wa, fa = (jnp.asarray(v) for v in (x, omega, fstar))


def drift(a, w):
    """V(θ) for the neurons as two vectors a and w (structure of arrays: no
    m × 2 array, no stacked drift; the two products XLA fuses best)."""
    if folded:
        s = jnp.tanh(w[:, None] * xp[None, :])  # m × 24
        f = a @ s / m
        c = wp * (f - fp) - wp * (-f + fp)  # c(x) − c(−x)
        xs = xp
    else:
        s = jnp.tanh(w[:, None] * xa[None, :])  # m × 48
        f = a @ s / m
        c = wa * (f - fa)
        xs = xa
    g = s @ c
    gw = (1.0 - s * s) @ (c * xs)  # Σ_q (1 − s²) c_q x_q
    return -g - lam * a, -a * gw - lam * w


def make_run(noise):
    amp = np.sqrt(noise * dt)

    @jax.jit
    def run(a, w, key):
        def body(i, aw):
            a, w = aw
            ka, kw = jax.random.split(jax.random.fold_in(key, i))
            va, vw = drift(a, w)
            a = a + dt * va + amp * jax.random.normal(ka, a.shape, dtype=a.dtype)
            w = w + dt * vw + amp * jax.random.normal(kw, w.shape, dtype=w.dtype)
            return a, w

        return jax.lax.fori_loop(0, steps, body, (a, w))

    return run


def risk(aw):
    a, w = aw
    f = a @ jnp.tanh(w[:, None] * xa[None, :]) / m
    return float(0.5 * jnp.sum(wa * (f - fa) ** 2))


def mfpde(noise, t=t_end):
    """mfpde on the same network to time t: θ0, R(f_m) at t and the run's
    seconds (its own report)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    exe = os.path.join(root, "target", "release", "mfpde")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "p.h5")
        sets = [f"particles.m={m}", f"particles.store={m}", f"particles.dt={dt}",
                f"dynamics.t_end={t}", "dynamics.snapshots=2", f"dynamics.noise={noise}"]
        cmd = [exe, "particles", os.path.join(root, "grids", "quickstart.toml"), "-o", out,
               "-q"]
        for s in sets:
            cmd += ["--set", s]
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        secs = float(re.search(r"steps in ([0-9.]+) s", text).group(1))
        with h5py.File(out, "r") as f:
            theta0 = f["particles/positions"][0]
            return theta0, float(f["particles/risk"][1]), secs


theta0, r_mf, _ = mfpde(0.0)
a0, w0 = jnp.asarray(theta0[:, 0]), jnp.asarray(theta0[:, 1])
r_jax = risk(make_run(0.0)(a0, w0, jax.random.PRNGKey(0)))
rel = abs(r_jax - r_mf) / abs(r_mf)
print(f"R(f_m) at t = 1 without noise: JAX {r_jax:.12e}, mfpde {r_mf:.12e}, relative {rel:.1e}")
assert rel < 1e-10, "the two do not compute the same thing"

# mfpde's per-step time net of its fixed costs (start-up, the two
# snapshots, the file): the difference of runs of 2·steps and of steps
_, _, secs_1 = mfpde(eta)
_, _, secs_2 = mfpde(eta, 2 * t_end)
ms_mf = 1e3 * (secs_2 - secs_1) / steps
run = make_run(eta)
jax.block_until_ready(run(a0, w0, jax.random.PRNGKey(1)))  # compile
best = float("inf")
for rep in range(3):
    t0 = time.perf_counter()
    jax.block_until_ready(run(a0, w0, jax.random.PRNGKey(2 + rep)))
    best = min(best, time.perf_counter() - t0)
ms_jax = 1e3 * best / steps
kind = "folded ±x pairs" if folded else "all 48 nodes"
print(
    f"m = {m}, {steps} steps, η = {eta}, JAX {jax.__version__} jit ({kind}) {ms_jax:.2f} ms/step, "
    f"mfpde {ms_mf:.2f} ms/step: mfpde is {ms_jax / ms_mf:.2f}× faster"
)
