#!/usr/bin/env python3
"""The particle step of mfpde in plain numpy, for BENCHMARKS.md (run by hand).

Same problem as the quickstart: tanh, no bias, trained a, x ~ N(0, 1) with
48 Gauss–Hermite nodes, f*(x) = 2 tanh(1.5 x), η = 0.02, λ = 0, m = 10⁵,
dt = 0.005, population mode:

    f(x_q) = (1/m) Σ_j a_j tanh(w_j x_q),   c_q = ω_q (f(x_q) − f*(x_q))
    a_j += dt (−Σ_q tanh(w_j x_q) c_q − λ a_j) + √(η dt) ξ
    w_j += dt (−a_j Σ_q (1 − tanh²) x_q c_q − λ w_j) + √(η dt) ξ'

    python3 benches/numpy_particle_step.py [m] [steps]
"""
import sys
import time

import numpy as np

m = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
xi, wi = np.polynomial.hermite.hermgauss(48)
x = np.sqrt(2.0) * xi
omega = wi / np.sqrt(np.pi)
y = 2.0 * np.tanh(1.5 * x)
eta, lam, dt = 0.02, 0.0, 0.005
rng = np.random.default_rng(1)
a = 0.5 * rng.standard_normal(m)
w = rng.standard_normal(m)


def step(a, w):
    s = np.tanh(np.outer(w, x))  # m × Q
    f = a @ s / m
    c = omega * (f - y)
    g = s @ c
    gw = ((1.0 - s * s) * x) @ c
    amp = np.sqrt(eta * dt)
    a_new = a + dt * (-g - lam * a) + amp * rng.standard_normal(m)
    w_new = w + dt * (-a * gw - lam * w) + amp * rng.standard_normal(m)
    return a_new, w_new


a, w = step(a, w)  # warm-up
t0 = time.perf_counter()
for _ in range(steps):
    a, w = step(a, w)
el = (time.perf_counter() - t0) / steps
print(f"numpy {np.__version__}: m = {m}, {el * 1e3:.2f} ms/step, {m / el:.3e} neuron-steps/s")
