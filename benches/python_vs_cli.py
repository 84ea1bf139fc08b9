"""The quickstart's PDE and network from Python and from the CLI: wall time
per step of the same run, the same file written (BENCHMARKS.md, "From
Python").

    python benches/python_vs_cli.py [REPEATS]

Needs the package (`pip install ./python`) and `cargo build --release`.
Each run is timed whole (plan, steps, the file) `REPEATS` times (default 5)
and the fastest kept; ms/step divides it by the steps the file records.
From Python twice: the run (`mfpde._mfpde.Job` into the file, what the CLI
does), and `mfpde.pde(problem, out)`, which also opens the file as an
xarray.DataTree.
"""

import pathlib
import subprocess
import sys
import tempfile
import time

import h5py

import mfpde

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLI = ROOT / "target" / "release" / "mfpde"
GRID = ROOT / "grids" / "quickstart.toml"
CASES = {
    "pde": ("pde", {}),
    "particles": ("particles", {"dynamics.t_end": 0.5, "dynamics.snapshots": 3}),
}


def steps(path, group):
    with h5py.File(path, "r") as f:
        return int(f[f"{group}/steps"][-1])


def main(repeats):
    print(f"{'case':>10} {'CLI ms/step':>12} {'Python run':>11} {'+ DataTree':>11} {'steps':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (command, sets) in CASES.items():
            args = []
            for k, v in sets.items():
                args += ["--set", f"{k}={v}"]
            problem = mfpde.Problem(GRID)
            for k, v in sets.items():
                problem.set(k, v)
            cli, job, tree = [], [], []
            for i in range(repeats):
                out = pathlib.Path(tmp) / f"cli_{name}_{i}.h5"
                t0 = time.perf_counter()
                subprocess.run([CLI, command, GRID, "-o", out, "-q", "--no-plots", *args],
                               check=True, stdout=subprocess.DEVNULL)
                cli.append(time.perf_counter() - t0)
                n = steps(out, command)
                out = pathlib.Path(tmp) / f"job_{name}_{i}.h5"
                t0 = time.perf_counter()
                j = mfpde._mfpde.Job(command, problem.to_toml(), problem.base_dir, str(out))
                while not j.wait(0.1):
                    pass
                j.result()
                job.append(time.perf_counter() - t0)
                out = pathlib.Path(tmp) / f"py_{name}_{i}.h5"
                t0 = time.perf_counter()
                getattr(mfpde, command)(problem, out)
                tree.append(time.perf_counter() - t0)
                assert steps(out, command) == n
            ms = [1e3 * min(x) / n for x in (cli, job, tree)]
            print(f"{name:>10} {ms[0]:>12.3f} {ms[1]:>11.3f} {ms[2]:>11.3f} {n:>6}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
