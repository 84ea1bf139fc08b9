#!/usr/bin/env python3
"""The PDE step of mfpde in numpy + scipy, for BENCHMARKS.md (run by hand).

The quickstart problem on 256² cells with mfpde's scheme, written the way a
researcher would in a few hundred lines of numpy: tanh, no bias, trained a,
x ~ N(0, 1) with 48 Gauss–Hermite nodes, f*(x) = 2 tanh(1.5 x), η = 0.02,
λ = 0, ρ0 = N(0, 0.5²) × N(0, 1) as exact cell averages on [−6, 6]².

One step (docs/model.md §2–4): the CFL Δt from V at ρⁿ (cfl 0.5, Σ_k |V_k|/h_k
with each cell's larger face), then Strang: half a diffusion step exp(Δt/2 ·
(η/2) L_h) by DCT-II/III (exact for the Neumann Laplacian), SSP-RK2 advection
with MUSCL-minmod upwind fluxes (first-order boundary cells, no-flux walls)
and V recomputed at both stages, half a diffusion step. V from the moments in
a: f_h(x_q) = Σ_w σ(w x_q) Σ_a a ρ |C|, c_q = ω_q (f_h − f*), V_a = −Σ_q c_q
σ(w x_q) − λa at a-faces, V_w = −a Σ_q c_q σ′(w x_q) x_q − λw at w-faces.

It runs to t = 1 with mfpde's step-size rule (landing on t = 1) and prints
the time per step and R_h(1), to compare with /pde/risk[1] of
output/quickstart.h5 (same scheme: the risks agree to round-off).

    python3 benches/numpy_pde_step.py [cells] [threads for the DCT]
"""
import sys
import time

import numpy as np
import scipy.fft as sf
from scipy.special import erf

n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
lo, hi = -6.0, 6.0
h = (hi - lo) / n
vol = h * h
faces = lo + h * np.arange(n + 1)
centres = faces[:-1] + 0.5 * h
eta, lam, cfl, dt_max = 0.02, 0.0, 0.5, 0.05

xi, wi = np.polynomial.hermite.hermgauss(48)
x = np.sqrt(2.0) * xi
omega = wi / np.sqrt(np.pi)
fstar = 2.0 * np.tanh(1.5 * x)
# tables built once: σ at w centres, σ′(w x) x at w faces (Q × n, Q × (n+1))
sig = np.tanh(np.outer(x, centres))
dsig = (1.0 - np.tanh(np.outer(x, faces)) ** 2) * x[:, None]


def cell_mass(mean, std):
    c = erf((faces - mean) / (np.sqrt(2.0) * std))
    return 0.5 * np.diff(c) / h


rho0 = np.outer(cell_mass(0.0, 0.5), cell_mass(0.0, 1.0))  # axis 0 = a
rho0 /= rho0.sum() * vol  # mass 1 in the box, as mfpde
# diffusion: exp(Δt D λ) per axis, λ_k = −4 sin²(πk/2n)/h², D = η/2
lam_k = -4.0 * np.sin(np.pi * np.arange(n) / (2 * n)) ** 2 / h**2
lam2 = lam_k[:, None] + lam_k[None, :]


def f_nodes(rho):
    m1 = (centres[:, None] * rho).sum(axis=0) * vol  # Σ_a a ρ |C| per w
    return sig @ m1


def velocity(rho):
    c = omega * (f_nodes(rho) - fstar)
    g = c @ sig  # at w centres
    gw = c @ dsig  # at w faces
    va = -g[None, :] - lam * faces[:, None]  # (n+1) × n, a-faces
    vw = -centres[:, None] * gw[None, :] - lam * faces[None, :]  # n × (n+1)
    return va, vw


def minmod(dm, dp):
    return np.where(dm * dp <= 0.0, 0.0, np.where(np.abs(dm) < np.abs(dp), dm, dp))


def flux_div(rho, va, vw):
    du = np.zeros_like(rho)
    for axis, v in ((0, va), (1, vw)):
        r = np.moveaxis(rho, axis, 0)
        v = np.moveaxis(v, axis, 0)[1:-1]  # interior faces
        d = np.diff(r, axis=0)
        s = np.zeros_like(r)
        s[1:-1] = minmod(d[:-1], d[1:])
        left, right = r[:-1] + 0.5 * s[:-1], r[1:] - 0.5 * s[1:]
        flux = v * np.where(v > 0.0, left, right) / h
        out = np.moveaxis(du, axis, 0)
        out[:-1] -= flux
        out[1:] += flux
    return du


def diffuse(rho, dt):
    r = sf.dctn(rho, type=2, norm="ortho", workers=workers)
    r *= np.exp(dt * 0.5 * eta * lam2)
    return sf.idctn(r, type=2, norm="ortho", workers=workers)


def stable_dt(rho):
    va, vw = velocity(rho)
    rate = np.maximum(np.abs(va[:-1]), np.abs(va[1:])) / h
    rate += np.maximum(np.abs(vw[:, :-1]), np.abs(vw[:, 1:])) / h
    return min(cfl / rate.max(), dt_max)


def step(rho, dt):
    rho = diffuse(rho, 0.5 * dt)
    u1 = rho + dt * flux_div(rho, *velocity(rho))
    rho = 0.5 * rho + 0.5 * (u1 + dt * flux_div(u1, *velocity(u1)))
    return diffuse(rho, 0.5 * dt)


def risk(rho):
    return 0.5 * np.sum(omega * (f_nodes(rho) - fstar) ** 2)


rho, t, steps = rho0.copy(), 0.0, 0
t0 = time.perf_counter()
while t < 1.0:
    dt = stable_dt(rho)
    if t + dt >= 1.0:
        dt = 1.0 - t
    elif t + 1.5 * dt > 1.0:
        dt = 0.5 * (1.0 - t)
    rho = step(rho, dt)
    t = 1.0 if dt == 1.0 - t else t + dt
    steps += 1
el = (time.perf_counter() - t0) / steps
print(
    f"numpy {np.__version__}, scipy {sf.__name__} workers={workers}: {n}², {steps} steps to t = 1, "
    f"{el * 1e3:.2f} ms/step; R_h(1) = {risk(rho):.10e}, mass {rho.sum() * vol:.15f}"
)
