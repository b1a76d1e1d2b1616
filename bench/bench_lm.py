"""lmepy.lm / lmepy.glm beside R's lm() / glm() on 1e5 rows x 20 numeric columns, timed in
the same run (R's time measured inside R, data reading excluded).

    python bench/bench_lm.py [--reps 5] [--rows 100000]

Issue 13's targets: lm no slower than R's, glm at most 0.5x R's time (reported, not asserted).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt, median_time, run_rscript  # noqa: E402

R_SCRIPT = r"""
args <- commandArgs(TRUE)
d <- read.csv(args[1]); reps <- as.integer(args[2])
f <- as.formula(paste("y ~", paste0("x", 1:20, collapse = " + ")))
fb <- as.formula(paste("yb ~", paste0("x", 1:20, collapse = " + ")))
fp <- as.formula(paste("yp ~", paste0("x", 1:20, collapse = " + ")))
tm <- function(fn) median(sapply(seq_len(reps), function(i) system.time(fn())[["elapsed"]]))
fl <- function() lm(f, data = d)
fg <- function() glm(fb, family = binomial, data = d)
fpo <- function() glm(fp, family = poisson, data = d)
t_lm <- tm(fl); t_glm <- tm(fg); t_pois <- tm(fpo)
m <- fl(); g <- fg(); p <- fpo()
cat(sprintf(paste0('{"lm": %.6f, "glm_binomial": %.6f, "glm_poisson": %.6f, ',
                   '"lm_coef1": %.12g, "glm_dev": %.12g, "pois_dev": %.12g}\n'),
            t_lm, t_glm, t_pois, coef(m)[2], deviance(g), deviance(p)))
"""


def simulate(n: int, seed: int = 20261205) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 20))
    b = rng.uniform(-0.3, 0.3, 20)
    eta = x @ b
    d = pd.DataFrame(x, columns=[f"x{j}" for j in range(1, 21)])
    d["y"] = 1.0 + eta + rng.standard_normal(n)
    d["yb"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    d["yp"] = rng.poisson(np.exp(0.5 + 0.5 * eta)).astype(float)
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rows", type=int, default=100_000)
    a = ap.parse_args()
    import lmepy

    d = simulate(a.rows)
    rhs = " + ".join(f"x{j}" for j in range(1, 21))
    t_lm, m = median_time(lambda: lmepy.lm(f"y ~ {rhs}", data=d), a.reps)
    t_glm, g = median_time(lambda: lmepy.glm(f"yb ~ {rhs}", data=d, family="binomial"), a.reps)
    t_p, p = median_time(lambda: lmepy.glm(f"yp ~ {rhs}", data=d, family="poisson"), a.reps)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        path = fh.name
    try:
        d.to_csv(path, index=False, float_format="%.17g")
        r = run_rscript(R_SCRIPT, [path, str(a.reps)], timeout=600)
    finally:
        os.unlink(path)
    print(f"{a.rows} rows x 20 columns, median of {a.reps}")
    print(f"{'model':<14}{'lmepy':>12}{'R':>12}{'lmepy/R':>10}   check")
    rows = [("lm", t_lm, "lm", f"coef[2] {m.coef().iloc[1]:.10g}", "lm_coef1"),
            ("glm binomial", t_glm, "glm_binomial", f"deviance {g.deviance():.10g}", "glm_dev"),
            ("glm poisson", t_p, "glm_poisson", f"deviance {p.deviance():.10g}", "pois_dev")]
    for label, t, key, check, rkey in rows:
        rt = r.get(key) if r and "error" not in r else None
        ratio = f"{t / rt:.2f}" if rt else "-"
        rcheck = f" (R {r[rkey]:.10g})" if rt else ""
        print(f"{label:<14}{fmt(t):>12}{fmt(rt):>12}{ratio:>10}   {check}{rcheck}")
    if r and "error" in r:
        print("R failed:", r["error"])


if __name__ == "__main__":
    main()
