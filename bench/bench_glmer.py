"""glmer timings: lmepy.glmer() beside lme4's glmer() and mixedlm's, same data, same run.

    python bench/bench_glmer.py                    # all cases, lme4 too when Rscript exists
    python bench/bench_glmer.py --cases cbpp grouseticks --no-r
    python bench/bench_glmer.py --quick            # fewer repetitions, no 100,000-row case

Each case prints the median wall time of several runs of lmepy.glmer() (formula to fitted
object, as glmer() in R) and of the fit alone (fit_glmm on a built model), then lme4's median
of repeated glmer() calls timed inside R (proc.time() differences), the ratio, and both
-2 logLik values, so a faster fit that lands somewhere else shows. The simulated case is
written to a temporary CSV that R reads. mixedlm (the Rust-backed lme4 port, ``pip install
mixedlm``) is timed the same way as lmepy (median of repeated ``mixedlm.glmer()`` calls after
a warm-up, in its own interpreter), with its -2 logLik. statsmodels'
BinomialBayesMixedGLM is a different (variational Bayes) estimator and is not timed here.
The machine may be shared: quote medians and ratios measured in one run (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import (
    ONE_BLAS_THREAD,
    fmt,
    load_average,
    load_data,
    median_time,
    median_times,
    mixedlm_version,
    run_in_subprocess,
    run_rscript,
)

CASES = {
    "cbpp": dict(formula="cbind(incidence, size - incidence) ~ period + (1 | herd)",
                 data="cbpp", family="binomial", nAGQ=1, reps=30, r_reps=20),
    "cbpp_agq9": dict(formula="cbind(incidence, size - incidence) ~ period + (1 | herd)",
                      data="cbpp", family="binomial", nAGQ=9, reps=20, r_reps=20),
    "contraception": dict(formula="use ~ urban + age + livch + (1 | district)",
                          data="Contraception", family="binomial", nAGQ=1, reps=10,
                          r_reps=5),
    "grouseticks": dict(formula="TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + "
                                "(1 | LOCATION)",
                        data="grouseticks", family="poisson", nAGQ=1, reps=7, r_reps=5),
    "bern1e5": dict(formula="y ~ x + (1 | g1) + (1 | g2)", data="bern1e5",
                    family="binomial", nAGQ=1, reps=3, r_reps=1),
}


def simulate_bernoulli(seed: int = 20241122, n: int = 100_000, m1: int = 1000,
                       m2: int = 100) -> pd.DataFrame:
    """n Bernoulli rows, crossed factors g1 (m1 levels, sd 0.8) and g2 (m2 levels, sd 0.5),
    one normal covariate: logit P(y = 1) = -0.5 + 0.8 x + b1[g1] + b2[g2]."""
    rng = np.random.default_rng(seed)
    g1 = rng.integers(0, m1, n)
    g2 = rng.integers(0, m2, n)
    x = rng.normal(size=n)
    b1 = rng.normal(scale=0.8, size=m1)
    b2 = rng.normal(scale=0.5, size=m2)
    eta = -0.5 + 0.8 * x + b1[g1] + b2[g2]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x,
                         "g1": pd.Categorical.from_codes(g1, [f"a{i:04d}" for i in range(m1)]),
                         "g2": pd.Categorical.from_codes(g2, [f"b{i:03d}" for i in range(m2)])})


def load(name: str) -> pd.DataFrame:
    return load_data(name, {"bern1e5": simulate_bernoulli})


def run_lmepy(case: str, reps: int) -> dict:
    """Median times of lmepy.glmer() and of the fit alone, with the fit's numbers."""
    import lmepy
    from lmepy.design import lFormula
    from lmepy.fit.family import get_family
    from lmepy.fit.glmm import fit_glmm

    spec = CASES[case]
    df = load(spec["data"])
    fam = get_family(spec["family"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lme4's convergence messages: printed by both sides
        lmepy.glmer(spec["formula"], df, family=fam, nAGQ=spec["nAGQ"])  # warm-up
        t_all, c_all, fit = median_times(lambda: lmepy.glmer(spec["formula"], df, family=fam,
                                                             nAGQ=spec["nAGQ"]), reps)
        model = lFormula(spec["formula"], df, family=fam)
        t_fit, sol = median_time(lambda: fit_glmm(model, fam, nAGQ=spec["nAGQ"]), reps)
    return {"total": t_all, "cpu_total": c_all, "fit": t_fit,
            "m2loglik": -2.0 * float(fit.logLik()),
            "feval": int(sol.optinfo["feval"]),
            "feval_stage1": int(sol.optinfo["stage1"]["feval"]),
            "beta": [float(v) for v in sol.beta], "theta": [float(v) for v in sol.theta]}


def run_mixedlm(case: str, reps: int) -> dict:
    """Median time of mixedlm.glmer() on one case (run in this process), with its fit."""
    try:
        import mixedlm
        from mixedlm import families
    except ImportError:
        return {"error": "not installed (pip install mixedlm)"}
    spec = CASES[case]
    df = load(spec["data"])
    fam = {"binomial": families.Binomial, "poisson": families.Poisson}[spec["family"]]()
    formula, kw = spec["formula"], {}
    if formula.startswith("cbind(incidence, size - incidence)"):
        # mixedlm takes no cbind() response: the proportion with the trials as weights,
        # the same likelihood
        df = df.assign(prop=df["incidence"] / df["size"])
        formula = "prop" + formula[len("cbind(incidence, size - incidence)"):]
        kw["weights"] = df["size"].to_numpy(dtype=float)

    def fit():
        return mixedlm.glmer(formula, df, family=fam, nAGQ=spec["nAGQ"], **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit()  # warm-up (imports)
        except Exception as err:  # a model mixedlm does not take: say which
            return {"error": f"{type(err).__name__}: {err}"[:300]}
        t, c, res = median_times(fit, reps)
    ll = res.logLik()
    return {"total": t, "cpu_total": c, "m2loglik": -2.0 * float(getattr(ll, "value", ll))}


R_TEMPLATE = r"""
suppressPackageStartupMessages({library(lme4); library(mlmRev)})
args <- commandArgs(TRUE)
case <- args[1]; reps <- as.integer(args[2]); csv <- args[3]
fam <- binomial; nagq <- 1L
if (case %in% c("cbpp", "cbpp_agq9")) {
  d <- cbpp; f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
  if (case == "cbpp_agq9") nagq <- 9L
}
if (case == "contraception") { d <- Contraception; f <- use ~ urban + age + livch + (1 | district) }
if (case == "grouseticks") {
  d <- grouseticks; fam <- poisson
  f <- TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)
}
if (case == "bern1e5") {
  d <- read.csv(csv, colClasses = c("integer", "numeric", "factor", "factor"))
  f <- y ~ x + (1 | g1) + (1 | g2)
}
ts <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- suppressWarnings(suppressMessages(glmer(f, d, family = fam, nAGQ = nagq)))
  ts[i] <- proc.time()[["elapsed"]] - t0
}
cat(sprintf('{"total": %.6f, "feval": %d, "m2loglik": %.8f, "beta": [%s], "theta": [%s]}\n',
            median(ts), fit@optinfo$feval, -2 * as.numeric(logLik(fit)),
            paste(sprintf("%.10g", fixef(fit)), collapse = ", "),
            paste(sprintf("%.10g", getME(fit, "theta")), collapse = ", ")))
"""


def run_lme4(case: str, reps: int, csv: str | None) -> dict | None:
    return run_rscript(R_TEMPLATE, [case, str(reps), csv or ""], timeout=7200)


def show(case: str, res: dict) -> None:
    spec = CASES[case]
    lp = res["lmepy"]
    print(f"== {case}: {spec['formula']}, {spec['family']}, nAGQ = {spec['nAGQ']}")
    print(f"  lmepy  glmer {fmt(lp['total'])} (CPU {fmt(lp['cpu_total'])})  fit "
          f"{fmt(lp['fit'])}  (feval {lp['feval']} + "
          f"stage 1 {lp['feval_stage1']}, -2 logLik {lp['m2loglik']:.6f})")
    m = res.get("mixedlm")
    if m and "error" not in m:
        print(f"  mixedlm glmer {fmt(m['total'])} (CPU {fmt(m['cpu_total'])})  -2 logLik "
              f"{m['m2loglik']:.6f}  lmepy/mixedlm time {lp['total'] / m['total']:.3f}")
    elif m:
        print(f"  mixedlm failed: {m['error']}")
    r = res.get("lme4")
    if r and "error" not in r:
        print(f"  lme4   glmer {fmt(r['total'])}  (feval {r['feval']}, -2 logLik "
              f"{r['m2loglik']:.6f})  lmepy/lme4 time {lp['total'] / r['total']:.3f} "
              f"(lme4 {r['total'] / lp['total']:.1f}x slower)")
        db = np.max(np.abs(np.asarray(lp["beta"]) - np.asarray(r["beta"])))
        print(f"         -2 logLik lmepy - lme4 {lp['m2loglik'] - r['m2loglik']:+.2e}, "
              f"max |beta difference| {db:.1e}")
    elif r:
        print(f"  lme4   failed: {r['error']}")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-mixedlm", action="store_true")
    ap.add_argument("--mixedlm-default-blas", action="store_true",
                    help="leave mixedlm's BLAS threads at OpenBLAS's default (else one)")
    ap.add_argument("--json", help="also write the raw numbers here")
    a = ap.parse_args()
    cases = [c for c in a.cases if not (a.quick and c == "bern1e5")]
    print(f"load average {load_average()}; mixedlm {mixedlm_version() or 'not installed'}")
    results = {}
    tmpdir = tempfile.mkdtemp(prefix="lmepy_bench_glmer_")
    try:
        for case in cases:
            spec = CASES[case]
            reps = max(1, spec["reps"] // (3 if a.quick else 1))
            res = {"lmepy": run_in_subprocess("bench_glmer", "run_lmepy", case, reps)}
            if not a.no_mixedlm:
                res["mixedlm"] = run_in_subprocess(
                    "bench_glmer", "run_mixedlm", case, reps,
                    env=None if a.mixedlm_default_blas else ONE_BLAS_THREAD)
            if not a.no_r:
                csv = None
                if case == "bern1e5":
                    csv = os.path.join(tmpdir, "bern1e5.csv")
                    simulate_bernoulli().to_csv(csv, index=False)
                res["lme4"] = run_lme4(case, max(1, spec["r_reps"] // (3 if a.quick else 1)),
                                       csv)
            results[case] = res
            show(case, res)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
