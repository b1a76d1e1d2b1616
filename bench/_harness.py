"""What every benchmark script shares: the data by name, median wall time of repeated calls,
and running an R script that prints its timings as one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def load_data(name: str, simulated: dict[str, Callable[[], Any]]) -> Any:
    """A simulated data set by its name in ``simulated``, else the bundled R data set."""
    if name in simulated:
        return simulated[name]()
    import lmepy

    return lmepy.datasets.load(name)


def median_time(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Median wall time of reps calls of fn, and the last result."""
    wall, _, out = median_times(fn, reps)
    return wall, out


def median_times(fn: Callable[[], Any], reps: int) -> tuple[float, float, Any]:
    """Median wall time and median CPU time (this process, all threads) of reps calls of fn,
    and the last result. On a shared machine the CPU time shows how much of the wall time
    was spent waiting for a core."""
    out, ts, cs = None, [], []
    for _ in range(reps):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    return float(np.median(ts)), float(np.median(cs)), out


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (the machine may be shared)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


# what a fresh interpreter gets for a program whose BLAS should run on one thread, as lmepy
# holds OpenBLAS during its fits: on a small model a second BLAS thread only waits (mixedlm on
# sleepstudy: 2.0 ms on one thread, 76 ms with OpenBLAS's default two on this shared 2-core VM)
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_in_subprocess(module: str, func: str, *args: Any, timeout: float = 7200,
                      env: dict[str, str] | None = None) -> dict:
    """module.func(*args) in a fresh interpreter (bench/ on its path, ``env`` added to the
    environment); its JSON result. A fresh process per program and case keeps one program's
    caches and peak memory out of another's timings."""
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import json, sys; sys.path.insert(0, {here!r}); import {module} as b; "
            f"print(json.dumps(b.{func}(*{list(args)!r})))")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip() or out.stdout.strip())[-300:]}
    return json.loads(lines[-1])


def mixedlm_version() -> str | None:
    """mixedlm's version when it is installed (pip install mixedlm), else None."""
    try:
        from importlib.metadata import version

        return version("mixedlm")
    except Exception:
        return None


def run_rscript(template: str, args: list[str], timeout: float) -> dict | None:
    """Run an R script (its text) with args; its last stdout line starting with "{" is the
    result. None when R is not installed, {"error": ...} when the script printed none."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(template)
        script = fh.name
    try:
        out = subprocess.run(["Rscript", script, *args], capture_output=True, text=True,
                             timeout=timeout)
    finally:
        os.unlink(script)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": out.stderr.strip()[-300:]}
    return json.loads(lines[-1])


def fmt(v: float | None, ms_decimals: int = 1) -> str:
    """A duration as R users read it: milliseconds under a second, else seconds."""
    if v is None:
        return "-"
    return f"{v * 1000:.{ms_decimals}f} ms" if v < 1 else f"{v:.2f} s"
