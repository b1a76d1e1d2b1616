"""Run risky fuzz cases in a child process, so that a crash (exit by a signal) or a hang
(timeout) is observed and reported with the case that caused it instead of taking the test
session down.

The parent sends a JSON list of cases on stdin; the child announces each case before running
it (``start <i>``) and prints one JSON line of results after it. ``run_cases`` returns the
results, or raises AssertionError naming the case that crashed or hung.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT = float(os.environ.get("LMEPY_FUZZ_TIMEOUT", "120"))


def run_cases(cases: list[dict[str, Any]], timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Results of ``cases`` (dicts with "kind" and its arguments) run in one child process."""
    env = dict(os.environ)
    # no empty entry: an empty PYTHONPATH component means the current directory, which in an
    # unpacked sdist holds the uncompiled source tree instead of the installed lmepy
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(Path(__file__).parent), *env.get("PYTHONPATH", "").split(os.pathsep)] if p)
    try:
        proc = subprocess.run([sys.executable, __file__], input=json.dumps(cases),
                              capture_output=True, text=True, timeout=timeout, env=env)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise AssertionError(f"hang: no answer within {timeout:.0f} s; last case started: "
                             f"{_last_started(out, cases)}") from None
    if rc != 0:
        how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        raise AssertionError(f"crash ({how}) at case {_last_started(out, cases)}\n"
                             f"{err[-3000:]}")
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(results) == len(cases), err[-3000:]
    return results


def _last_started(out: str, cases: list[dict[str, Any]]) -> object:
    started = [int(line.split()[1]) for line in out.splitlines() if line.startswith("start ")]
    return cases[started[-1]] if started else "(none: the child did not start)"


# ---- the child ------------------------------------------------------------------------------

def _data() -> Any:
    """A small data set with every kind of column a formula may use."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20261205)
    n = 40
    g = np.repeat(list("abcde"), n // 5)
    h = np.tile(["p", "q", "r", "s"], n // 4)
    t = np.tile(np.arange(8.0), n // 8)
    x = rng.normal(size=n)
    z = rng.uniform(0.5, 3.0, size=n)
    eff = dict(zip("abcde", rng.normal(scale=2.0, size=5), strict=True))
    y = 10 + 2 * x + np.array([eff[v] for v in g]) + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "t": t, "g": pd.Categorical(g),
                         "h": pd.Categorical(h), "w": x > 0,
                         "k": rng.binomial(1, 0.5, size=n).astype(float)})


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last or ""


def _run_one(case: dict[str, Any], data: Any) -> dict[str, Any]:
    import warnings

    import lmepy
    from lmepy.errors import LmepyError

    kind = case["kind"]
    out: dict[str, Any] = {"case": case}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            if kind == "lmer":
                fit = lmepy.lmer(case["formula"], data=data)
                out["fixef"] = [str(c) for c in fit.fixef().index]
                out["finite"] = bool(all(v == v for v in fit.fixef().to_numpy()))
                str(fit.summary())
            elif kind == "lme":
                fit = lmepy.lme(case["formula"], data=data, random=case["random"])
                out["fixef"] = [str(c) for c in fit.fixef().index]
                out["finite"] = bool(all(v == v for v in fit.fixef().to_numpy()))
                str(fit.summary())
            elif kind == "glmer":
                fam = {"binomial": lmepy.binomial(), "poisson": lmepy.poisson()}[case["family"]]
                fit = lmepy.glmer(case["formula"], data=data, family=fam)
                out["fixef"] = [str(c) for c in fit.fixef().index]
                str(fit.summary())
            elif kind == "model_matrix":
                out["columns"] = [str(c) for c in lmepy.model_matrix(case["formula"],
                                                                     data).columns]
            else:
                raise SystemExit(f"unknown kind {kind}")
            out["status"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the point is to classify every exception
            out["status"] = "error"
            out["type"] = type(exc).__name__
            out["message"] = str(exc)
            out["allowed"] = isinstance(exc, (LmepyError, ValueError))
            # a ValueError/TypeError from numpy, pandas or scipy is an internal leak
            out["raised_in"] = _where(exc)
    out["warnings"] = [f"{type(w.message).__name__}: {w.message}" for w in rec]
    if kind == "lmer" and out["status"] == "ok":
        # the model must be the formula's: fixef names are model_matrix's columns minus the
        # rank-deficient ones lmer says it dropped
        mmf = lmepy.model_matrix(case["formula"], data)
        mm = [str(c) for c in mmf.columns]
        # lmer drops unused factor levels first (lme4: drop.unused.levels = TRUE), which
        # model.matrix keeps as all-zero columns
        vals = mmf.to_numpy()
        out["zero_columns"] = [str(c) for j, c in enumerate(mmf.columns)
                               if not vals[:, j].any()]
        dropped = 0
        for w in out["warnings"]:
            if "rank deficient so dropping" in w:
                dropped = int(w.split("dropping ")[1].split()[0])
        out["columns"] = mm
        out["dropped"] = dropped
    return out


def _child() -> None:
    cases = json.loads(sys.stdin.read())
    data = _data()
    pristine = data.copy(deep=True)
    for i, case in enumerate(cases):
        print(f"start {i}", flush=True)
        out = _run_one(case, data)
        out["data_modified"] = not (data.equals(pristine)
                                    and list(data.columns) == list(pristine.columns))
        print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    _child()
