"""lmer timings: lmepy (fit only, and lFormula + fit) beside lme4 and statsmodels' MixedLM.

    python bench/bench_lmer.py                 # all cases, R and statsmodels when available
    python bench/bench_lmer.py --cases sleepstudy insteval --no-statsmodels
    python bench/bench_lmer.py --quick         # fewer repetitions, no 1e6-row case

Each case prints the median wall time of several runs and, for the large cases, the process's
peak resident memory (each large case runs in a fresh subprocess so the peak is its own) and
tracemalloc's peak of the fit. lme4 is timed inside R (repeated lmer() calls, median of
proc.time() differences) on the same data (written to a temporary CSV for the simulated case).
The machine may be shared: quote medians and ratios, and see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import fmt as _fmt
from _harness import load_data, median_time, run_rscript

CASES = {
    "sleepstudy": dict(formula="Reaction ~ Days + (Days | Subject)", data="sleepstudy",
                       REML=True, reps=50, r_reps=20,
                       sm=dict(formula="Reaction ~ Days", groups="Subject", re_formula="~Days")),
    "insteval": dict(formula="y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)",
                     data="InstEval", REML=False, reps=5, r_reps=2, sm=None),
    "sim1e6": dict(formula="y ~ x + (1 + x | g1) + (1 | g2)", data="sim1e6", REML=True,
                   reps=3, r_reps=1, sm=None),
}


def simulate_1e6(seed: int = 20241122) -> pd.DataFrame:
    """1,000,000 rows, factors g1 (5,000 levels, random intercept and slope) and g2 (500)."""
    rng = np.random.default_rng(seed)
    n, m1, m2 = 1_000_000, 5000, 500
    g1 = rng.integers(0, m1, n)
    g2 = rng.integers(0, m2, n)
    x = rng.normal(size=n)
    b1 = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=m1)
    b2 = rng.normal(scale=0.7, size=m2)
    y = 1.0 + 0.5 * x + b1[g1, 0] + b1[g1, 1] * x + b2[g2] + rng.normal(size=n)
    lev1 = [f"a{i:04d}" for i in range(m1)]
    lev2 = [f"b{i:03d}" for i in range(m2)]
    return pd.DataFrame({"y": y, "x": x,
                         "g1": pd.Categorical.from_codes(g1, lev1),
                         "g2": pd.Categorical.from_codes(g2, lev2)})


def load(name: str) -> pd.DataFrame:
    return load_data(name, {"sim1e6": simulate_1e6})


def run_lmepy(case: str, reps: int) -> dict:
    """Times of lmepy on one case (run in this process)."""
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm

    spec = CASES[case]
    df = load(spec["data"])
    t_lf, model = median_time(lambda: lFormula(spec["formula"], df, REML=spec["REML"]),
                              max(1, min(reps, 10)))
    t_fit, sol = median_time(lambda: fit_lmm(model, REML=spec["REML"]), reps)
    cpu0 = time.process_time()
    fit_lmm(model, REML=spec["REML"])
    cpu_fit = time.process_time() - cpu0
    tracemalloc.start()
    fit_lmm(model, REML=spec["REML"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"fit": t_fit, "lformula": t_lf, "total": t_fit + t_lf, "cpu_fit": cpu_fit,
            "feval": sol.optinfo["feval"], "objective": sol.objective,
            "theta": [float(v) for v in sol.theta],
            "tracemalloc_peak_mb": peak / 2**20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_lmepy_subprocess(case: str, reps: int) -> dict:
    """Run in a fresh interpreter so its peak RSS belongs to this case alone."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r});"
            f"import bench_lmer as b; print(json.dumps(b.run_lmepy({case!r}, {reps})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


R_TEMPLATE = r"""
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(TRUE)
case <- args[1]; reps <- as.integer(args[2]); csv <- args[3]
if (case == "sleepstudy") { d <- sleepstudy; f <- Reaction ~ Days + (Days | Subject); reml <- TRUE }
if (case == "insteval") {
  d <- InstEval; f <- y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service); reml <- FALSE
}
if (case == "sim1e6") {
  d <- read.csv(csv, colClasses = c("numeric", "numeric", "factor", "factor"))
  f <- y ~ x + (1 + x | g1) + (1 | g2); reml <- TRUE
}
invisible(gc(reset = TRUE))
ts <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- lmer(f, d, REML = reml)
  ts[i] <- proc.time()[["elapsed"]] - t0
}
g <- gc()
mf <- lFormula(f, d, REML = reml)
tl <- system.time(for (i in 1:3) lFormula(f, d, REML = reml))[["elapsed"]] / 3
cat(sprintf(paste0('{"total": %.6f, "lformula": %.6f, "feval": %d, "objective": %.10f, ',
                   '"max_used_mb": %.1f}\n'),
            median(ts), tl, fit@optinfo$feval, if (reml) REMLcrit(fit) else deviance(fit),
            sum(g[, ncol(g)])))
"""


def run_lme4(case: str, reps: int, csv: str | None) -> dict | None:
    return run_rscript(R_TEMPLATE, [case, str(reps), csv or ""], timeout=3600)


def run_statsmodels(case: str, reps: int) -> dict | None:
    spec = CASES[case]["sm"]
    if spec is None:
        return {"error": "not fitted: crossed random effects (MixedLM takes one grouping "
                         "factor; crossed terms become dense variance components)"}
    try:
        import warnings

        import statsmodels.formula.api as smf
    except ImportError:
        return None
    df = load(CASES[case]["data"])

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            md = smf.mixedlm(spec["formula"], df, groups=df[spec["groups"]],
                             re_formula=spec["re_formula"])
            return md.fit(reml=CASES[case]["REML"])

    t, res = median_time(fit, reps)
    return {"total": t, "llf": float(res.llf)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-statsmodels", action="store_true")
    ap.add_argument("--json", help="also write the raw numbers here")
    a = ap.parse_args()
    cases = [c for c in a.cases if not (a.quick and c == "sim1e6")]
    results = {}
    tmpdir = tempfile.mkdtemp(prefix="lmepy_bench_")
    try:
        for case in cases:
            spec = CASES[case]
            reps = max(1, spec["reps"] // (5 if a.quick else 1))
            res = {"lmepy": run_lmepy_subprocess(case, reps)}
            csv = None
            if case == "sim1e6" and not a.no_r:
                csv = os.path.join(tmpdir, "sim1e6.csv")
                simulate_1e6().to_csv(csv, index=False)
            if not a.no_r:
                res["lme4"] = run_lme4(case, spec["r_reps"], csv)
            if not a.no_statsmodels:
                res["statsmodels"] = run_statsmodels(case, max(1, reps // 5))
            results[case] = res
            show(case, res)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


def fmt(v: float | None) -> str:
    return _fmt(v, ms_decimals=2)


def show(case: str, res: dict) -> None:
    lp = res["lmepy"]
    print(f"== {case}: {CASES[case]['formula']} ({'REML' if CASES[case]['REML'] else 'ML'})")
    print(f"  lmepy   fit {fmt(lp['fit'])}  lFormula+fit {fmt(lp['total'])}  "
          f"(fit cpu {fmt(lp['cpu_fit'])}, feval {lp['feval']}, objective "
          f"{lp['objective']:.6f}, peak RSS {lp['maxrss_mb']:.0f} MB, "
          f"tracemalloc peak {lp['tracemalloc_peak_mb']:.0f} MB)")
    r = res.get("lme4")
    if r and "error" not in r:
        print(f"  lme4    lmer {fmt(r['total'])}  lFormula {fmt(r['lformula'])}  "
              f"(feval {r['feval']}, objective {r['objective']:.6f}, R gc max used "
              f"{r['max_used_mb']:.0f} MB)  ratio lme4/lmepy(lFormula+fit) "
              f"{r['total'] / lp['total']:.1f}x")
    elif r:
        print(f"  lme4    failed: {r['error']}")
    s = res.get("statsmodels")
    if s and "error" not in s:
        print(f"  statsmodels MixedLM {fmt(s['total'])}  (llf {s['llf']:.4f})  ratio "
              f"statsmodels/lmepy(lFormula+fit) {s['total'] / lp['total']:.1f}x")
    elif s:
        print(f"  statsmodels {s['error']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
