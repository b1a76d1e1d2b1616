"""gls reference fits (tests/test_gls.py's cases): logLik against nlme 3.1-162, objective
evaluations and time per fit, to compare gls optimizers before and after a change.

Run: python bench/gls_optimizer.py [--repeat N]"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import importlib  # noqa: E402

from test_gls import CASES, DATA, FORMULA  # noqa: E402

from lmepy import datasets  # noqa: E402
from lmepy.gls import gls  # noqa: E402

gf = importlib.import_module("lmepy.gls.fit")  # lmepy.gls is also the function

# test_gls.py's flat-ridge case (fitted(.) powers by stratum) besides its CASES
EXTRA = {"bodyweight_varpower_diet": (None, "varPower(form = ~ fitted(.) | Diet)", "REML")}
REF = json.loads((ROOT / "tests" / "reference" / "nlme.json").read_text())["gls"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    count = [0]
    orig = gf.GlsProblem.objective

    def counted(self, theta):  # noqa: ANN001, ANN202
        count[0] += 1
        return orig(self, theta)

    gf.GlsProblem.objective = counted  # type: ignore[method-assign]
    print(f"{'case':28s} {'nlme logLik':>14s} {'lmepy - nlme':>13s} {'evals':>6s} {'ms':>8s}")
    for name, (cor, var, method) in sorted({**CASES, **EXTRA}.items()):
        key = name.split("_")[0]
        data = datasets.load(DATA[key])
        count[0] = 0
        fit = gls(FORMULA[key], data, correlation=cor, weights=var, method=method)
        evals = count[0]
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            gls(FORMULA[key], data, correlation=cor, weights=var, method=method)
            times.append(time.perf_counter() - t0)
        ref = REF[name]["logLik"]
        print(f"{name:28s} {ref:14.6f} {fit.logLik() - ref:13.3e} {evals:6d} "
              f"{1000 * min(times):8.2f}")


if __name__ == "__main__":
    main()
