"""lmer timings: lmepy beside lme4 and mixedlm (the Rust-backed lme4 port), in one run.

    python bench/bench_lmer.py                 # all cases, lme4 and mixedlm when available
    python bench/bench_lmer.py --cases sleepstudy chem97 --no-mixedlm
    python bench/bench_lmer.py --quick         # fewer repetitions, no 1e6-row case

Each program fits the same data from its data frame (formula in, fitted model out, as a user
calls it: ``lmepy.lmer()``, R's ``lmer()``, ``mixedlm.lmer()``), timed as the median of
repeated calls after one warm-up call; lmepy and mixedlm each run in a fresh interpreter per
case (so the peak RSS is that case's own and neither warms the other's caches), lme4 inside
R (proc.time() differences). mixedlm runs with its BLAS on one thread
(OPENBLAS_NUM_THREADS=1): lmepy holds OpenBLAS at one thread during a fit too, and on small
models a second BLAS thread only waits (``--mixedlm-default-blas`` leaves OpenBLAS's
default). CPU times are printed beside wall times: on a shared machine wall time includes
waiting for a core. The ratios lmepy / lme4 and lmepy / mixedlm are of the wall-time medians
measured in the same run. Each program's objective (deviance or REML criterion) and
evaluation count is printed too, so a faster fit that lands somewhere else shows.
statsmodels' MixedLM (``--statsmodels``) is timed where it can fit the model (one grouping
factor). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import (
    ONE_BLAS_THREAD,
    load_average,
    load_data,
    median_time,
    median_times,
    mixedlm_version,
    run_in_subprocess,
    run_rscript,
)
from _harness import fmt as _fmt

CASES = {
    "sleepstudy": dict(formula="Reaction ~ Days + (Days | Subject)", data="sleepstudy",
                       REML=True, reps=200, r_reps=21, m_reps=50,
                       sm=dict(formula="Reaction ~ Days", groups="Subject", re_formula="~Days")),
    "chem97": dict(formula="score ~ gcsecnt + (1 | school) + (1 | lea)", data="Chem97",
                   REML=False, reps=21, r_reps=11, m_reps=11, sm=None),
    "insteval": dict(formula="y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)",
                     data="InstEval", REML=False, reps=5, r_reps=2, m_reps=2, sm=None),
    "sim1e6": dict(formula="y ~ x + (1 + x | g1) + (1 | g2)", data="sim1e6", REML=True,
                   reps=3, r_reps=1, m_reps=1, sm=None),
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
    """Times of lmepy on one case (run in this process): lmer() from the data frame, and its
    two stages apart (lFormula, fit_lmm)."""
    import warnings

    import lmepy
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm

    spec = CASES[case]
    df = load(spec["data"])
    reml = spec["REML"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lmepy.lmer(spec["formula"], df, REML=reml)  # warm-up (imports, parsed formula)
        t_all, c_all, fit = median_times(lambda: lmepy.lmer(spec["formula"], df, REML=reml),
                                         reps)
        t_lf, _, model = median_times(lambda: lFormula(spec["formula"], df, REML=reml),
                                      max(1, min(reps, 21)))
        t_fit, c_fit, sol = median_times(lambda: fit_lmm(model, REML=reml), reps)
        tracemalloc.start()
        fit_lmm(model, REML=reml)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"total": t_all, "cpu_total": c_all, "fit": t_fit, "cpu_fit": c_fit,
            "lformula": t_lf, "feval": sol.optinfo["feval"], "objective": sol.objective,
            "theta": [float(v) for v in sol.theta], "beta": [float(v) for v in sol.beta],
            "polish": sol.optinfo.get("polish"),
            "tracemalloc_peak_mb": peak / 2**20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_mixedlm(case: str, reps: int) -> dict:
    """Times of mixedlm.lmer() on one case (run in this process)."""
    import warnings

    try:
        import mixedlm
    except ImportError:
        return {"error": "not installed (pip install mixedlm)"}
    spec = CASES[case]
    df = load(spec["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixedlm.lmer(spec["formula"], df, REML=spec["REML"])  # warm-up (imports)
        t, c, fit = median_times(lambda: mixedlm.lmer(spec["formula"], df, REML=spec["REML"]),
                                 reps)
    obj = fit.REMLcrit() if spec["REML"] else fit.deviance
    return {"total": t, "cpu_total": c, "objective": float(obj),
            "feval": int(fit.function_evals),
            "beta": [float(v) for v in dict(fit.fixef()).values()],
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


R_TEMPLATE = r"""
suppressPackageStartupMessages({library(lme4); library(mlmRev)})
args <- commandArgs(TRUE)
case <- args[1]; reps <- as.integer(args[2]); csv <- args[3]
if (case == "sleepstudy") { d <- sleepstudy; f <- Reaction ~ Days + (Days | Subject); reml <- TRUE }
if (case == "chem97") {
  d <- Chem97; f <- score ~ gcsecnt + (1 | school) + (1 | lea); reml <- FALSE
}
if (case == "insteval") {
  d <- InstEval; f <- y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service); reml <- FALSE
}
if (case == "sim1e6") {
  d <- read.csv(csv, colClasses = c("numeric", "numeric", "factor", "factor"))
  f <- y ~ x + (1 + x | g1) + (1 | g2); reml <- TRUE
}
# warm-up (lazy loading, byte compiler); fast fits are timed in batches of k calls, since
# proc.time() counts milliseconds
k <- 1L
if (reps > 1) {
  t1 <- system.time(fit <- lmer(f, d, REML = reml))[["elapsed"]]
  k <- max(1L, min(50L, as.integer(0.1 / max(t1, 1e-3))))
}
invisible(gc(reset = TRUE))
ts <- numeric(reps); cs <- numeric(reps)
for (i in seq_len(reps)) {
  p0 <- proc.time()
  for (j in seq_len(k)) fit <- lmer(f, d, REML = reml)
  p1 <- proc.time() - p0
  ts[i] <- p1[["elapsed"]] / k; cs[i] <- (p1[["user.self"]] + p1[["sys.self"]]) / k
}
g <- gc()
mf <- lFormula(f, d, REML = reml)
tl <- system.time(for (i in 1:3) lFormula(f, d, REML = reml))[["elapsed"]] / 3
cat(sprintf(paste0('{"total": %.6f, "cpu_total": %.6f, "lformula": %.6f, "feval": %d, ',
                   '"objective": %.10f, "max_used_mb": %.1f, "beta": [%s]}\n'),
            median(ts), median(cs), tl, fit@optinfo$feval,
            if (reml) REMLcrit(fit) else deviance(fit), sum(g[, ncol(g)]),
            paste(sprintf("%.12g", fixef(fit)), collapse = ", ")))
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
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-mixedlm", action="store_true")
    ap.add_argument("--mixedlm-default-blas", action="store_true",
                    help="leave mixedlm's BLAS threads at OpenBLAS's default (else one)")
    ap.add_argument("--statsmodels", action="store_true")
    ap.add_argument("--json", help="also write the raw numbers here")
    a = ap.parse_args()
    cases = [c for c in a.cases if not (a.quick and c == "sim1e6")]
    print(f"load average {load_average()}; mixedlm {mixedlm_version() or 'not installed'}")
    results = {}
    tmpdir = tempfile.mkdtemp(prefix="lmepy_bench_")
    try:
        for case in cases:
            spec = CASES[case]
            div = 5 if a.quick else 1
            res = {"lmepy": run_in_subprocess("bench_lmer", "run_lmepy", case,
                                              max(1, spec["reps"] // div))}
            if not a.no_mixedlm:
                res["mixedlm"] = run_in_subprocess(
                    "bench_lmer", "run_mixedlm", case, max(1, spec["m_reps"] // div),
                    env=None if a.mixedlm_default_blas else ONE_BLAS_THREAD)
            csv = None
            if case == "sim1e6" and not a.no_r:
                csv = os.path.join(tmpdir, "sim1e6.csv")
                simulate_1e6().to_csv(csv, index=False)
            if not a.no_r:
                res["lme4"] = run_lme4(case, max(1, spec["r_reps"] // div), csv)
            if a.statsmodels:
                res["statsmodels"] = run_statsmodels(case, max(1, spec["m_reps"] // div))
            results[case] = res
            show(case, res)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    summary(results)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


def fmt(v: float | None) -> str:
    return _fmt(v, ms_decimals=2)


def _ok(r: dict | None) -> bool:
    return bool(r) and "error" not in r


def show(case: str, res: dict) -> None:
    lp = res["lmepy"]
    print(f"== {case}: {CASES[case]['formula']} ({'REML' if CASES[case]['REML'] else 'ML'})")
    if not _ok(lp):
        print(f"  lmepy    failed: {lp.get('error')}")
        return
    pol = lp.get("polish")
    print(f"  lmepy    lmer {fmt(lp['total'])} (CPU {fmt(lp['cpu_total'])})  fit "
          f"{fmt(lp['fit'])} (CPU {fmt(lp['cpu_fit'])})  lFormula {fmt(lp['lformula'])}  "
          f"feval {lp['feval']}{'' if not pol else ' + polish ' + str(pol['feval'])}, "
          f"objective {lp['objective']:.6f}, peak RSS {lp['maxrss_mb']:.0f} MB")
    for name in ("lme4", "mixedlm"):
        r = res.get(name)
        if r is None:
            continue
        if not _ok(r):
            print(f"  {name:<8} failed: {r.get('error')}")
            continue
        cpu = f" (CPU {fmt(r['cpu_total'])})" if "cpu_total" in r else ""
        d = lp["objective"] - r["objective"]
        print(f"  {name:<8} lmer {fmt(r['total'])}{cpu}  feval {r['feval']}, objective "
              f"{r['objective']:.6f} (lmepy {d:+.1e})  lmepy / {name} "
              f"{lp['total'] / r['total']:.3f}")
    s = res.get("statsmodels")
    if _ok(s):
        print(f"  statsmodels MixedLM {fmt(s['total'])}  (llf {s['llf']:.4f})  lmepy / "
              f"statsmodels {lp['total'] / s['total']:.3f}")
    elif s:
        print(f"  statsmodels {s['error']}")
    sys.stdout.flush()


def summary(results: dict) -> None:
    """One table: each program's lmer() median wall time, lmepy's ratio to it, and the same
    ratio of CPU times (lme4's from R's proc.time, lmepy's and mixedlm's of their process)."""
    print(f"\n{'case':<12} {'lmepy':>10} {'lme4':>10} {'mixedlm':>10} "
          f"{'lmepy/lme4':>11} {'lmepy/mixedlm':>14}   CPU: {'lmepy/lme4':>10} "
          f"{'lmepy/mixedlm':>14}")
    for case, res in results.items():
        lp = res["lmepy"]
        if not _ok(lp):
            continue
        cols, ratios, cpu = [], [], []
        for name in ("lme4", "mixedlm"):
            r = res.get(name)
            cols.append(fmt(r["total"]) if _ok(r) else "-")
            ratios.append(f"{lp['total'] / r['total']:.3f}" if _ok(r) else "-")
            cpu.append(f"{lp['cpu_total'] / r['cpu_total']:.3f}"
                       if _ok(r) and r.get("cpu_total") else "-")
        print(f"{case:<12} {fmt(lp['total']):>10} {cols[0]:>10} {cols[1]:>10} "
              f"{ratios[0]:>11} {ratios[1]:>14}        {cpu[0]:>10} {cpu[1]:>14}")


if __name__ == "__main__":
    main()
