"""Before/after comparison of every reference fit the test suite makes (behaviour-neutrality).

    python bench/compare_fits.py --out bench/compare_before.json       # on the old commit
    python bench/compare_fits.py --compare bench/compare_before.json   # after a change

Fits every case of tests/reference/glmer.json, lmer.json, lme.json (+ lme_issue_specs.json,
the nlme.json lme cases) and nlme.json's gls cases exactly as the tests build them (their
``_fit`` helpers), and records per case: the objective (deviance / -2 logLik), fixef, theta
(or the variance parameters), sigma, the number of optimizer evaluations and, for glmer, the
total number of PIRLS iterations of the fit and lme4's deviance functions at the fixture's
points (PIRLS alone, no optimizer). ``--compare`` prints the largest relative difference per
quantity and every changed count, and exits 1 when a number moved by more than --rtol
(1e-10) or a count changed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _floats(x: object) -> list[float]:
    return [float(v) for v in np.atleast_1d(np.asarray(x, dtype=float)).ravel()]


class _PirlsCounter:
    """Sums the iterations of every PIRLS state the GLMM code creates (wraps its class)."""

    def __init__(self) -> None:
        self.total = 0
        self.calls = 0

    def install(self) -> None:
        from lmepy.fit import glmm

        mod = glmm
        for name in ("pirls_state", "response", "predictor"):  # after the PIRLS split
            try:
                m = __import__(f"lmepy.fit.{name}", fromlist=["_PirlsState"])
            except ImportError:
                continue
            if hasattr(m, "_PirlsState") or hasattr(m, "PirlsState"):
                mod = m
        attr = "_PirlsState" if hasattr(mod, "_PirlsState") else "PirlsState"
        base = getattr(mod, attr)
        counter = self

        class Counted(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)
                counter.total += int(self.iterations)
                counter.calls += 1

        Counted.__name__ = base.__name__
        for m in list(sys.modules.values()):
            if getattr(m, "__name__", "").startswith("lmepy") and getattr(m, attr, None) is base:
                setattr(m, attr, Counted)


def glmer_cases(counter: _PirlsCounter) -> dict:
    import test_glmer as tg

    from lmepy.fit.glmm import make_devfun

    out = {}
    for name in tg.NAMES:
        c0, n0 = counter.total, counter.calls
        sol, _ = tg._fit(name)
        rec = {"objective": float(sol.objective), "fixef": _floats(sol.beta),
               "theta": _floats(sol.theta), "sigma": float(sol.sigma),
               "feval": int(sol.optinfo["feval"]),
               "pirls_iterations": counter.total - c0, "pirls_calls": counter.calls - n0}
        m, family, nagq = tg._model(name)
        f = tg.FITS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = make_devfun(m, family, nagq)
            rec["devfun"] = [float(df(tg._vec(p))) for p in f["devfun"]["points"]]
            df0 = make_devfun(m, family, 0)
            rec["devfun0"] = [float(df0(tg._vec(p))) for p in f["devfun0"]["points"]]
        out[f"glmer/{name}"] = rec
    return out


def lmer_cases() -> dict:
    import test_results_lmer as tl

    out = {}
    for cid in tl.ALL:
        fit = tl.fit_case(cid)
        sol = fit.sol if hasattr(fit, "sol") else fit._sol
        out[f"lmer/{cid}"] = {"objective": float(sol.objective), "fixef": _floats(sol.beta),
                              "theta": _floats(sol.theta), "sigma": float(sol.sigma),
                              "feval": int(sol.optinfo["feval"])}
    return out


def lme_cases() -> dict:
    import test_lme as tm

    out = {}
    for cid in tm.ALL:
        fit = tm._fit(cid)
        sol = fit.sol
        rec = {"objective": -2.0 * float(fit.logLik()), "fixef": _floats(sol.beta),
               "sigma": float(fit.sigma()), "feval": int(sol.optinfo.get("feval", -1))}
        ms = fit.modelStruct()
        rec["theta"] = [float(v) for part in ms.values() for v in
                        (part.values() if isinstance(part, dict) else [part])
                        if np.ndim(v) == 0] if isinstance(ms, dict) else []
        out[f"lme/{cid}"] = rec
    return out


def gls_cases() -> dict:
    import test_gls as tgl

    out = {}
    for name in sorted(tgl.CASES):
        fm = tgl._fit(name)
        ms = fm.modelStruct() or {}
        out[f"gls/{name}"] = {
            "objective": -2.0 * float(fm.logLik()), "fixef": _floats(fm.fixef().to_numpy()),
            "sigma": float(fm.sigma()),
            "theta": [float(v) for part in ms.values() if isinstance(part, dict)
                      for v in part.values() if np.ndim(v) == 0]}
    return out


def run(kinds: list[str]) -> dict:
    counter = _PirlsCounter()
    counter.install()
    res: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "glmer" in kinds:
            res.update(glmer_cases(counter))
        if "lmer" in kinds:
            res.update(lmer_cases())
        if "lme" in kinds:
            res.update(lme_cases())
        if "gls" in kinds:
            res.update(gls_cases())
    return res


def _rel(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(before: dict, after: dict, rtol: float) -> int:
    """Prints the worst relative difference per quantity and every changed count."""
    worst: dict[str, tuple[float, str]] = {}
    changed = []
    for case, b in before.items():
        a = after.get(case)
        if a is None:
            changed.append(f"{case}: missing")
            continue
        for key, bv in b.items():
            av = a.get(key)
            if isinstance(bv, int) and not isinstance(bv, bool):
                if av != bv:
                    changed.append(f"{case} {key}: {bv} -> {av}")
                continue
            bl, al = np.atleast_1d(bv).astype(float), np.atleast_1d(av).astype(float)
            if bl.shape != al.shape:
                changed.append(f"{case} {key}: shape {bl.shape} -> {al.shape}")
                continue
            d = max((_rel(x, y) for x, y in zip(bl, al, strict=True)), default=0.0)
            if d >= worst.get(key, (-1.0, ""))[0]:
                worst[key] = (d, case)
    print(f"{len(before)} cases compared")
    for key, (d, case) in sorted(worst.items()):
        print(f"  max relative difference of {key:<16} {d:.3g}  ({case})")
    for c in changed:
        print("  CHANGED", c)
    bad = changed or any(d > rtol for d, _ in worst.values())
    print("behaviour-neutral" if not bad else f"NOT behaviour-neutral at rtol {rtol:g}")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write the results JSON here")
    ap.add_argument("--compare", help="a results JSON from an earlier run to compare with")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--kinds", nargs="+", default=["glmer", "lmer", "lme", "gls"])
    args = ap.parse_args()
    res = run(args.kinds)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
        print(f"{len(res)} cases written to {args.out}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        before = {k: v for k, v in before.items() if k.split("/")[0] in args.kinds}
        return compare(before, res, args.rtol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
