"""The examples run to completion (issue 21): examples/*.py as scripts, and
the notebook executed cell by cell with nbclient; each must also have left
its figure (the scripts) or no error output (the notebook)."""

import os
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_script_runs(script):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    figure = ROOT / "output" / f"{script.stem}_python.png"
    assert figure.exists() and figure.stat().st_size > 10_000, figure
    print(done.stdout)


def test_the_notebook_executes():
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "examples" / "quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs cleared"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
