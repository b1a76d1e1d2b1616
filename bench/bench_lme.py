"""lme timings: lmepy (fit only, and design + fit) beside nlme's lme(), in one run, medians.

    python bench/bench_lme.py            # Ovary and the 20,000 x 10 AR(1) model, nlme if R is here
    python bench/bench_lme.py --quick    # fewer repetitions
    python bench/bench_lme.py --no-r     # lmepy only
    python bench/bench_lme.py --suite    # also every lme fit of the reference tests, one by one

Cases:
  ovary   lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary,
              random = pdDiag(~ sin(2*pi*Time)), correlation = corAR1())
  orthodont_varident
          lme(distance ~ age * Sex, Orthodont, random = ~ age | Subject,
              weights = varIdent(form = ~ 1 | Sex))
  ar1big  20,000 subjects x 10 visits, y ~ time, random = ~ 1 | id, corAR1() (simulated with a
          fixed seed, subject sd 2, AR(1) errors phi 0.6 sd 1.5), written to a temporary CSV
          that R reads, so both fit the same numbers.

  suite   the 21 lme() fits of tests/reference (nlme.json's six from issue 5 and lme.json's 15),
          each timed from the data frame in lmepy and inside R, with the median ratio.

nlme is timed inside R (median of repeated lme() calls, proc.time() differences; the big case
once). The machine may be shared with other work: quote the medians and ratios of one run;
lmepy's CPU time is printed beside its wall time. mixedlm (the Rust-backed lme4 port) has no
lme(): no correlation structures or variance functions, so it has no row here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import load_average, median_time, median_times, run_rscript

OVARY = dict(fixed="follicles ~ sin(2*pi*Time) + cos(2*pi*Time)",
             random={"Mare": "pdDiag(~ sin(2*pi*Time))"}, correlation="corAR1()")
ORTH_VARIDENT = dict(fixed="distance ~ age * Sex", random="~ age | Subject",
                     weights="varIdent(form = ~ 1 | Sex)")
BIG = dict(fixed="y ~ time", random="~ 1 | id", correlation="corAR1()")


def simulate(n_subj: int = 20000, n_vis: int = 10, seed: int = 20241122) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    phi = 0.6
    z = rng.normal(size=(n_subj, n_vis))
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    for j in range(1, n_vis):
        e[:, j] = phi * e[:, j - 1] + np.sqrt(1 - phi ** 2) * z[:, j]
    idx = np.repeat(np.arange(n_subj), n_vis)
    t = np.tile(np.arange(n_vis), n_subj).astype(float)
    y = 10.0 + 0.5 * t + rng.normal(0.0, 2.0, n_subj)[idx] + 1.5 * e.ravel()
    labels = [f"s{i:05d}" for i in range(n_subj)]
    return pd.DataFrame({"id": pd.Categorical.from_codes(idx, labels), "time": t,
                         "y": np.round(y, 6)})


def run_lmepy(df: pd.DataFrame, spec: dict, reps: int) -> dict:
    from lmepy.lme import build_design, fit_lme, lme

    d = build_design(spec["fixed"], df, spec["random"], spec.get("correlation"))
    fit_lme(d)  # warm-up (imports, caches)
    t_fit, sol = median_time(lambda: fit_lme(d), reps)
    t_all, c_all, fit = median_times(lambda: lme(data=df, data_name="df", **spec), reps)
    return {"fit": t_fit, "total": t_all, "cpu_total": c_all, "logLik": fit.logLik(),
            "modelStruct": fit.modelStruct()}


# proc.time() counts milliseconds: a fit under ~0.1 s is timed in batches of k calls
R_BATCH = """
batch_times <- function(f, reps) {
  k <- max(1L, min(50L, as.integer(0.1 / max(system.time(f())[["elapsed"]], 1e-3))))
  sapply(seq_len(reps), function(i) system.time(for (j in seq_len(k)) f())[["elapsed"]] / k)
}
"""

R_OVARY = R_BATCH + """
suppressPackageStartupMessages(library(nlme))
f <- function() lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary,
                    random = pdDiag(~sin(2*pi*Time)), correlation = corAR1())
fit <- f()
ts <- batch_times(f, REPS)
cat(jsonlite::toJSON(list(time = median(ts), logLik = as.numeric(logLik(fit)),
    Phi = unname(coef(fit$modelStruct$corStruct, unconstrained = FALSE))),
    auto_unbox = TRUE, digits = NA))
"""

R_ORTH = R_BATCH + """
suppressPackageStartupMessages(library(nlme))
f <- function() lme(distance ~ age * Sex, data = Orthodont, random = ~ age | Subject,
                    weights = varIdent(form = ~ 1 | Sex))
fit <- f()
ts <- batch_times(f, REPS)
cat(jsonlite::toJSON(list(time = median(ts), logLik = as.numeric(logLik(fit))),
    auto_unbox = TRUE, digits = NA))
"""

R_BIG = """
suppressPackageStartupMessages(library(nlme))
d <- read.csv("CSV", colClasses = c("factor", "numeric", "numeric"))
ts <- system.time(fit <- tryCatch(lme(y ~ time, data = d, random = ~ 1 | id,
                                      correlation = corAR1()), error = function(e) e))[["elapsed"]]
ok <- !inherits(fit, "error")
cat(jsonlite::toJSON(list(time = ts, ok = ok,
    logLik = if (ok) as.numeric(logLik(fit)) else NULL,
    error = if (ok) NULL else conditionMessage(fit),
    Phi = if (ok) unname(coef(fit$modelStruct$corStruct, unconstrained = FALSE)) else NULL),
    auto_unbox = TRUE, digits = NA))
"""


def run_r(script: str, timeout: float) -> dict | None:
    try:
        return run_rscript(script, [], timeout)
    except subprocess.TimeoutExpired:
        return {"time": float("nan"), "error": f"timed out after {timeout:.0f} s"}


REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "reference"
def suite(reps: int, no_r: bool, timeout: float) -> None:
    """Every reference lme fit, lmepy beside nlme, one line each."""
    import lmepy

    issue = json.loads((REFERENCE / "nlme.json").read_text())["lme"]
    specs = json.loads((REFERENCE / "lme_issue_specs.json").read_text())["cases"]
    calls = {cid: issue[cid]["call"] for cid in specs}
    for cid, c in json.loads((REFERENCE / "lme.json").read_text())["cases"].items():
        calls[cid], specs[cid] = c["call"], dict(c["py"])
    r_script = "suppressPackageStartupMessages(library(nlme))\nout <- list()\n" + "".join(
        f'f <- function() {call}; invisible(f())\n'
        f'out[["{cid}"]] <- median(sapply(1:{reps}, function(i) '
        f'system.time(f())[["elapsed"]]))\n' for cid, call in calls.items()
    ) + "cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))\n"
    r = {} if no_r else (run_r(r_script, timeout) or {})
    ratios = []
    print(f"\n{'reference fit':<22} {'lmepy':>9} {'nlme':>9} {'lmepy/nlme':>11}")
    for cid, spec in specs.items():
        spec = dict(spec)
        data = lmepy.datasets.load(spec.pop("data"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lmepy.lme(data=data, **spec)
            t, _ = median_time(lambda: lmepy.lme(data=data, **spec), reps)  # noqa: B023
        rt = r.get(cid, float("nan"))
        ratio = t / rt if rt else float("nan")
        if ratio == ratio:
            ratios.append(ratio)
        print(f"{cid:<22} {t * 1e3:>7.1f}ms {rt * 1e3:>7.1f}ms {ratio:>11.3f}")
    if ratios:
        print(f"median lmepy/nlme over {len(ratios)} fits: {np.median(ratios):.3f} "
              f"(range {min(ratios):.3f}-{max(ratios):.3f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--r-timeout", type=float, default=1800.0)
    ap.add_argument("--suite", action="store_true")
    a = ap.parse_args(argv)
    import lmepy

    rows = []
    ovary = lmepy.datasets.load("Ovary")
    reps = 5 if a.quick else 21
    py = run_lmepy(ovary, OVARY, reps)
    r = None if a.no_r else run_r(R_OVARY.replace("REPS", str(5 if a.quick else 11)),
                                  a.r_timeout)
    rows.append(("ovary (308 rows)", py, r))

    orth = lmepy.datasets.load("Orthodont")
    py = run_lmepy(orth, ORTH_VARIDENT, 11 if a.quick else 51)
    r = None if a.no_r else run_r(R_ORTH.replace("REPS", str(5 if a.quick else 11)),
                                  a.r_timeout)
    rows.append(("orthodont_varident", py, r))

    big = simulate()
    py = run_lmepy(big, BIG, 1 if a.quick else 3)
    r = None
    if not a.no_r:
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "ar1big.csv"
            big.to_csv(csv, index=False)
            r = run_r(R_BIG.replace("CSV", str(csv)), a.r_timeout)
    rows.append(("ar1big (20,000 x 10)", py, r))

    print(f"load average {load_average()}")
    print(f"{'case':<22} {'lmepy fit':>11} {'lmepy total':>12} {'(CPU)':>10} {'nlme':>11} "
          f"{'total/nlme':>11}  logLik lmepy / nlme")
    for name, py, r in rows:
        rt = r.get("time", float("nan")) if r else float("nan")
        ratio = py["total"] / rt if rt and rt == rt else float("nan")
        rl = r.get("logLik") if r else None
        extra = f"  {py['logLik']:.6f} / {rl:.6f}" if rl is not None else \
            f"  {py['logLik']:.6f} / {(r or {}).get('error', 'R not run')}"
        print(f"{name:<22} {py['fit'] * 1e3:>9.1f}ms {py['total'] * 1e3:>10.1f}ms "
              f"{py['cpu_total'] * 1e3:>8.1f}ms {rt * 1e3:>9.1f}ms {ratio:>11.3f}{extra}")
    if a.suite:
        suite(3 if a.quick else 9, a.no_r, a.r_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
