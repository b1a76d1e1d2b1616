"""CPU time of glmer fits, this checkout against another one in the same session.

    python bench/bench_glmer_cpu.py                          # this checkout only
    python bench/bench_glmer_cpu.py --other /tmp/old-lmepy   # alternate with an older tree
                                                             # (built in place: setup.py
                                                             # build_ext --inplace)

Wall time on a shared machine moves by a factor of two from run to run (bench/README.md);
``time.process_time`` of ``fit_glmm`` on a built model, min and median of --reps fits, with
the two trees alternating in fresh interpreters, separates them to a few per cent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import lmepy
from lmepy.design import lFormula
from lmepy.fit import family as fam
from lmepy.fit.glmm import fit_glmm
reps = int(sys.argv[1])
cases = {
    "cbpp": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp",
             fam.binomial(), 1),
    "cbpp_nagq0": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp",
                   fam.binomial(), 0),
    "cbpp_probit": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp",
                    fam.binomial("probit"), 1),
    "grouseticks": ("TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
                    "grouseticks", fam.poisson(), 1),
    "contraception": ("use ~ age + I(age^2) + urban + livch + (urban | district)",
                      "Contraception", fam.binomial(), 1),
}
out = {}
for name, (f, data, family, nagq) in cases.items():
    d = lmepy.datasets.load(data)
    if name == "grouseticks":  # INDEX has a level per row: glmer allows it, lFormula's check not
        from lmepy.design.types import CompiledModel, ReTerm, ReTrms
        import numpy as np, pandas as pd
        year = d["YEAR"].astype(str)
        X = pd.DataFrame({"(Intercept)": 1.0, "YEAR96": (year == "96").astype(float),
                          "YEAR97": (year == "97").astype(float),
                          "HEIGHT": d["HEIGHT"].astype(float)})
        def term(g):
            cat = d[g].astype("category")
            return ReTerm(group=g, levels=[str(x) for x in cat.cat.categories],
                          codes=np.asarray(cat.cat.codes, dtype=np.int64),
                          cnms=["(Intercept)"], rows=np.ones((len(d), 1)))
        m = CompiledModel(terms=None, frame=d, X=X, y=d["TICKS"].to_numpy(float),
                          reTrms=ReTrms([term("INDEX"), term("BROOD"), term("LOCATION")]))
    else:
        m = lFormula(f, d, family=family)
    ts = []
    for _ in range(reps if name != "contraception" else max(3, reps // 3)):
        t = time.process_time()
        fit_glmm(m, family, nAGQ=nagq)
        ts.append(time.process_time() - t)
    out[name] = (min(ts) * 1e3, statistics.median(ts) * 1e3)
print(json.dumps(out))
"""


def run(tree: Path, reps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    res = subprocess.run([sys.executable, "-c", CHILD, str(reps)], env=env, cwd=str(tree),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--other", type=Path, help="another lmepy tree to alternate with")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trees = [("this", ROOT)] + ([("other", args.other.resolve())] if args.other else [])
    for r in range(args.rounds):
        for label, tree in trees[::-1] if r % 2 else trees:
            res = run(tree, args.reps)
            print(f"round {r + 1} {label:5s} " + "  ".join(
                f"{k} {v[0]:.2f}/{v[1]:.2f} ms" for k, v in res.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
