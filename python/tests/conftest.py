"""Shared fixtures: the repository, the CLI binary, a shortened quickstart."""

import os
import pathlib
import subprocess

import pytest

import mfpde

ROOT = pathlib.Path(__file__).resolve().parents[2]

# the quickstart, shortened: a run of about a second
SHORT = {
    "grid.cells": [24, 20],
    "particles.m": 300,
    "dynamics.t_end": 0.3,
    "dynamics.snapshots": 4,
}


def short(problem=None, **more):
    """The quickstart's grid file, shortened, with `more` overrides."""
    p = mfpde.Problem(ROOT / "grids" / "quickstart.toml") if problem is None else problem
    for k, v in {**SHORT, **more}.items():
        p.set(k, v)
    return p


@pytest.fixture(scope="session")
def cli():
    """The CLI binary: $MFPDE_BIN, else target/release/mfpde (built if absent)."""
    path = pathlib.Path(os.environ.get("MFPDE_BIN", ROOT / "target" / "release" / "mfpde"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "mfpde"], cwd=ROOT, check=True)
    return path


def sets(overrides):
    """`--set key=value` arguments of overrides (values as TOML)."""
    out = []
    for k, v in overrides.items():
        out += ["--set", f"{k}={mfpde._mfpde.toml_value(v)}"]
    return out
