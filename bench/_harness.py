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
    out, ts = None, []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


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
