"""lmepy's own fuzz suite for formulas: text generated from the grammar's tokens and beyond it
(random token strings, deep nesting, functions with random arguments including Inf, NaN, huge
and negative values, random-effects terms with odd groupings), fitted on a small data set.

Every case must end in a fit or in a clear error (FormulaError, DataError, LmepyError or a
ValueError raised by lmepy itself, with a message): never another exception type, never a
crash or a hang (risky cases run in a child process: tests/isolated.py), never a silent
change of the model (a fit's fixed effects are model_matrix's columns of the same formula,
less the rank-deficient ones lmer reports), never a modified data frame. Fits from several
threads and processes equal the fits run one at a time.

Bounded for CI: derandomized hypothesis with few, batched examples.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from isolated import _data, run_cases
from refdata import reference

import lmepy
from lmepy.datasets import load
from lmepy.errors import DataError, FormulaError, LmepyError
from lmepy.formula.terms import model_terms

LMEPY_DIR = str(Path(lmepy.__file__).parent)
MSG = reference("anova_mixed")["messages"]

# ---- strategies ---------------------------------------------------------------------------

NUMERIC = ["x", "z", "t", "y", "k"]
FACTORS = ["g", "h", "w"]
NUMBERS = ["0", "1", "2", "3", "-1", "-2", "2.5", "0.5", "1e9", "-1e9", "1e308", "1e-300",
           "Inf", "-Inf", "NaN", "NA", "TRUE", "FALSE", "100", "0x10", "7L"]
UNARY = ["log", "exp", "sqrt", "abs", "sin", "cos", "floor", "ceiling", "log1p", "expm1",
         "factor", "as.factor", "ordered", "as.numeric", "as.integer", "scale", "I",
         "sign", "trunc", "tanh", "mean", "sd", "min", "max", "median", "log2", "log10"]
UNKNOWN = ["system", "eval", "__import__", "splines::ns", "foo", "exec", "getattr"]
BINOPS = ["+", "-", "*", "/", ":", "^", "%in%", "%%", "%/%", "==", "<", ">=", "&", "|", "!="]
GROUPS = ["g", "h", "g:h", "g/h", "h/g", "t", "x", "y", "factor(t)", "g + h", "1", "w",
          "interaction(g, h)", "g:t", "(g)", "k"]
RE_LHS = ["1", "0", "x", "0 + x", "x + z", "g", "poly(x, 2)", "t", "-1", "1 + x", "h",
          "x:z", "I(x^2)", "w", "log(z)", "0 + g"]

numbers = st.sampled_from(NUMBERS)
variables = st.sampled_from(NUMERIC + FACTORS)


def _call(name: str, *args: str) -> str:
    return f"{name}({', '.join(args)})"


def _with_args(var: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Calls of the whitelisted functions with random (often absurd) arguments."""
    num = numbers
    boolean = st.sampled_from(["TRUE", "FALSE", "NA", "1", "0"])
    return st.one_of(
        st.builds(lambda f, a: _call(f, a), st.sampled_from(UNARY), var),
        st.builds(lambda a, d, r: _call("poly", a, d, f"raw = {r}"), var, num, boolean),
        st.builds(lambda a, d: _call("poly", a, d), var, num),
        st.builds(lambda a, d: _call("ns", a, f"df = {d}"), var, num),
        st.builds(lambda a, d, e: _call("bs", a, f"df = {d}", f"degree = {e}"), var, num, num),
        st.builds(lambda a, k: _call("bs", a, f"knots = c({k})"), var, num),
        st.builds(lambda a, k: _call("ns", a, f"Boundary.knots = c({k}, 1)"), var, num),
        st.builds(lambda a, d: _call("round", a, d), var, num),
        st.builds(lambda a, b: _call("log", a, f"base = {b}"), var, num),
        st.builds(lambda a, c, s: _call("scale", a, c, s), var, boolean, num),
        st.builds(lambda a, r: _call("relevel", a, f"ref = {r}"), var,
                  st.sampled_from(['"a"', '"zz"', "1", "9", "0", "NaN", "Inf"])),
        st.builds(lambda a, b: _call("interaction", a, b), var, var),
        st.builds(lambda a, b: _call("cbind", a, b), var, var),
        st.builds(lambda a, e: f"I({a}^{e})", var, num),
        st.builds(lambda a, e: f"exp({a} * {e})", var, num),
        st.builds(lambda a: _call("offset", a), var),
        st.builds(lambda f, a: _call(f, a), st.sampled_from(UNKNOWN), var),
    )


expressions = st.recursive(
    st.one_of(variables, numbers, _with_args(variables)),
    lambda inner: st.one_of(
        _with_args(inner),
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(BINOPS), inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"-{a}", inner),
    ),
    max_leaves=6,
)
fixed_terms = st.lists(expressions, min_size=1, max_size=4).flatmap(
    lambda ts: st.sampled_from([" + ", " * ", ":", " - ", " / "]).map(lambda op: op.join(ts)))
random_terms = st.builds(lambda lhs, bar, grp: f"({lhs} {bar} {grp})", st.sampled_from(RE_LHS),
                         st.sampled_from(["|", "||"]), st.sampled_from(GROUPS))
responses = st.sampled_from(["y", "y", "y", "log(z)", "cbind(y, x)", "g", "x + y", "I(y^2)",
                             "t", "w", "offset(y)"])


@st.composite
def lmer_formulas(draw: st.DrawFn) -> str:
    rhs = draw(fixed_terms)
    prefix = draw(st.sampled_from(["", "", "0 + ", "1 + ", "-1 + "]))
    res = draw(st.lists(random_terms, min_size=1, max_size=2))
    return f"{draw(responses)} ~ {prefix}{rhs} + {' + '.join(res)}"


TOKENS = (NUMERIC + FACTORS + NUMBERS + UNARY + UNKNOWN + BINOPS
          + ["~", "~", "(", ")", "(", ")", ",", "=", "|", "||", "!", "`x`", '"s"', "'s'",
             "poly", "ns", "bs", ".", "..", "_", "$", "@", "[", "]", "{", "}", ";", "\\",
             "\n", "#", "pi", "if", "function", "NULL", "1 |", "| g"])
token_soup = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map(" ".join)
any_text = st.one_of(token_soup, token_soup.map(lambda s: "y ~ " + s),
                     lmer_formulas(), st.text(max_size=30))


# ---- in-process: parsing is safe to run many times ------------------------------------------

@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(any_text)
def test_parsing_gives_terms_or_a_formula_error(text: str) -> None:
    try:
        mt = model_terms(text)
    except FormulaError as e:
        assert str(e).strip()
        return
    assert mt.response is not None or text.strip().startswith("~") or "~" in text


# ---- in a child process: fits of generated formulas -----------------------------------------

def _model_kept(mm: list[str], fx: list[str], k: int, zero: list[str]) -> bool:
    """lmer's fixed effects are model_matrix's columns less k reported as rank deficient and
    any all-zero ones (unused factor levels, which lmer drops from the frame as lme4 does)."""
    missing = Counter(mm) - Counter(fx)
    if Counter(fx) - Counter(mm):
        return False  # a column model_matrix does not have
    n_missing = sum(missing.values())
    if any(c in zero for c in missing):
        # unused levels dropped: a factor's reference level may move to its first used one
        return k <= n_missing
    return n_missing == k


def _check_results(results: list[dict]) -> None:
    for r in results:
        case = r["case"]
        assert not r["data_modified"], case
        if r["status"] == "error":
            assert r["allowed"], f"{r['type']} leaked: {r['message']} ({case})"
            assert r["message"].strip(), case
            if not r["type"].endswith("Error") or r["type"] in ("ValueError", "TypeError"):
                # not one of lmepy's classes: it must come from lmepy's own checks
                assert r["raised_in"].startswith(LMEPY_DIR), (
                    f"{r['type']} from {r['raised_in']}: {r['message']} ({case})")
            continue
        if case["kind"] == "lmer":
            mm, fx, k = r["columns"], r["fixef"], r["dropped"]
            assert _model_kept(mm, fx, k, r["zero_columns"]), (case, mm, fx, k)
            it = iter(mm)
            assert all(c in it for c in fx), (case, mm, fx)  # same names, same order


def generated(strategy: st.SearchStrategy, n: int) -> list:
    """n examples of a strategy, the same on every run (derandomized hypothesis), to run as
    one batch in a child process: one interpreter start instead of n, and a failure names its
    case (no shrinking across processes)."""
    out: list = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x: object) -> None:
        out.append(x)

    collect()
    return out


def test_generated_lmer_formulas_fit_or_fail_clearly() -> None:
    formulas = generated(lmer_formulas(), 400)
    results = run_cases([{"kind": "lmer", "formula": f} for f in formulas])
    _check_results(results)
    assert sum(r["status"] == "ok" for r in results) >= 5  # the generator reaches fits


def test_token_strings_and_expressions_in_model_matrix() -> None:
    texts = generated(st.one_of(token_soup.map(lambda s: "y ~ " + s + " + (1 | g)"),
                                expressions.map(lambda e: f"y ~ {e}")), 200)
    results = run_cases([{"kind": "model_matrix", "formula": t} for t in texts])
    _check_results(results)
    assert sum(r["status"] == "ok" for r in results) >= 5


@st.composite
def glmer_cases(draw: st.DrawFn) -> dict:
    family = draw(st.sampled_from(["binomial", "poisson"]))
    lhs = draw(st.sampled_from(["k", "w", "cbind(k, 1 - k)", "t", "g", "cbind(t, 8 - t)",
                                "cbind(k, t, y)", "y", "I(t > 3)", "x"]))
    rhs = draw(fixed_terms)
    re = draw(random_terms)
    return {"kind": "glmer", "family": family, "formula": f"{lhs} ~ {rhs} + {re}"}


def test_generated_glmer_formulas_fit_or_fail_clearly() -> None:
    _check_results(run_cases(generated(glmer_cases(), 60)))


LME_RANDOM = ["~ 1 | g", "~ x | g", "~ x | g/h", "~ g/h | t", "~ 1 | x", "~ 0 | g",
              "pdDiag(~ x)", "~ poly(x, 2) | g", "~ 1 | g + h", "~ g | h", "~ 1 | y",
              "~ t | g", "~ x + z + t | g", "~ 1", "g", "~ ns(x, df = Inf) | g"]


def test_generated_lme_random_effects_fit_or_fail_clearly() -> None:
    pairs = generated(st.tuples(st.sampled_from(["y ~ x", "y ~ 1", "y ~ x + t", "log(z) ~ g",
                                                 "y ~ poly(x, 3)"]),
                                st.sampled_from(LME_RANDOM)), 30)
    cases = [{"kind": "lme", "formula": f, "random": ({"g": r} if r.startswith("pd") else r)}
             for f, r in pairs]
    _check_results(run_cases(cases))


def test_resource_hungry_formulas_fail_at_once() -> None:
    """Each would allocate gigabytes or loop for hours; R runs out of memory on the first
    ("cannot allocate vector of size 670.6 Gb")."""
    hungry = ["y ~ poly(x, 1e9, raw = TRUE) + (1 | g)", "y ~ ns(x, df = 1e8) + (1 | g)",
              "y ~ bs(x, df = 1e7) + (1 | g)", "y ~ bs(x, degree = 1e6) + (1 | g)",
              "y ~ poly(x, Inf, raw = TRUE) + (1 | g)",
              "y ~ interaction(factor(x), factor(y), factor(z), factor(t)) + (1 | g)",
              "y ~ factor(x):factor(y):factor(z) + (1 | g)",
              "y ~ x + (factor(x):factor(y):factor(z) | g)"]
    results = run_cases([{"kind": "lmer", "formula": f} for f in hungry], timeout=60)
    _check_results(results)
    for r in results:
        assert r["status"] == "error", r["case"]
        assert r["type"] in ("FormulaError", "DataError"), r
        assert ("columns" in r["message"] or "allows" in r["message"]
                or "finite" in r["message"]), r


# ---- named cases, compared with R (tests/reference/anova_mixed.R) ---------------------------

@pytest.fixture(scope="module")
def sleep():  # noqa: ANN201
    return load("sleepstudy")


def test_inf_arguments_are_clear_errors_or_rs_answer(sleep) -> None:  # noqa: ANN001
    with pytest.raises(FormulaError) as e:
        lmepy.lmer("Reaction ~ poly(Days, Inf) + (1 | Subject)", data=sleep)
    assert e.value.message == MSG["poly_inf"]
    with pytest.raises(FormulaError, match="'df' must be finite, not Inf"):
        lmepy.lmer("Reaction ~ ns(Days, df = Inf) + (1 | Subject)", data=sleep)
    with pytest.raises(FormulaError, match="'df' must be a number, not NA/NaN"):
        lmepy.lmer("Reaction ~ bs(Days, df = 0/0) + (1 | Subject)", data=sleep)
    with pytest.raises(FormulaError) as e:
        lmepy.lmer("Reaction ~ bs(Days, degree = -1) + (1 | Subject)", data=sleep)
    assert e.value.message == MSG["bs_degree"]
    ref = reference("anova_mixed")["round_inf"]
    d = sleep.iloc[:2].copy()
    d["v"] = ref["x"]
    for arg, key in (("Inf", "inf"), ("-Inf", "minf"), ("400", "d400")):
        got = lmepy.model_matrix(f"~ round(v, {arg})", d).iloc[:, 1].to_numpy()
        np.testing.assert_array_equal(got, ref[key])


def test_zero_random_effects_term(sleep) -> None:  # noqa: ANN001
    with pytest.raises(DataError) as e:
        lmepy.lmer("Reaction ~ Days + (0 | Subject)", data=sleep)
    assert str(e.value).startswith(MSG["zero_re"])
    fit = lmepy.lmer("Reaction ~ Days + (1 | Subject) + (0 | Days)", data=sleep)
    want = reference("anova_mixed")["zero_re_fixef"]
    np.testing.assert_allclose(fit.fixef().to_numpy(), list(want.values()), rtol=1e-6)


def test_matrix_response_in_lmer(sleep) -> None:  # noqa: ANN001
    """lme4 fails with "non-conformable arrays" after two warnings."""
    with pytest.raises(DataError, match="cbind.Reaction, Days. has 2 columns"):
        lmepy.lmer("cbind(Reaction, Days) ~ Days + (1 | Subject)", data=sleep)


def test_as_many_fixed_effects_as_rows(sleep) -> None:  # noqa: ANN001
    """lme4: "objective in x0 returns NA" (REML); ML 'converges' to zero residuals."""
    d = sleep.iloc[:12].copy()
    d["u"] = np.random.default_rng(1).normal(size=12)
    for reml in (True, False):
        with pytest.raises(DataError, match="12 linearly independent columns for 12"):
            lmepy.lmer("Reaction ~ factor(Days) + Subject + u + (1 | Subject)", data=d,
                       REML=reml)


def test_boot_nsim_zero(sleep) -> None:  # noqa: ANN001
    from lmepy.inference.confint import confint_boot

    fit = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=sleep)
    with pytest.raises(ValueError, match="nsim"):
        fit.confint(method="boot", nsim=0)
    with pytest.raises(ValueError) as e:  # below the public checks: lme4's own text
        confint_boot(fit, nsim=0)
    assert str(e.value).startswith(MSG["boot_nsim0"])
    with pytest.raises(TypeError, match="nsim"):
        fit.confint(method="boot", nsim="10")


def test_deep_nesting_is_a_formula_error_and_long_sums_fit(sleep) -> None:  # noqa: ANN001
    """R's parser stops at 50 nested calls ("contextstack overflow"); lmepy raised
    RecursionError at ~500, under its own guard."""
    for k in (150, 500, 3000):
        for text in ("Reaction ~ " + "log(" * k + "Days + 1" + ")" * k + " + (1 | Subject)",
                     "Reaction ~ " + "(" * k + "Days" + ")" * k + " + (1 | Subject)",
                     "Reaction ~ " + "I(-" * k + "Days" + ")" * k + " + (1 | Subject)"):
            with pytest.raises(FormulaError, match="nested"):
                lmepy.lmer(text, data=sleep)
    long = "Reaction ~ " + " + ".join(["Days"] * 1500) + " + (1 | Subject)"
    fit = lmepy.lmer(long, data=sleep)
    assert list(fit.fixef().index) == ["(Intercept)", "Days"]
    assert "Days + Days" in str(fit.summary())


# ---- concurrency --------------------------------------------------------------------------

CONCURRENT = ["y ~ x + (1 | g)", "y ~ x + z + (x | g)", "y ~ poly(t, 2) + (1 | g) + (1 | h)",
              "log(z) ~ x + (1 | g:h)", "y ~ ns(x, df = 3) + (1 | g)"]


def _fixefs(formula: str) -> list[float]:
    return [float(v) for v in lmepy.lmer(formula, data=_data()).fixef().to_numpy()]


def test_concurrent_fits_from_threads_and_processes_match_serial() -> None:
    serial = [_fixefs(f) for f in CONCURRENT]
    jobs = CONCURRENT * 3
    with ThreadPoolExecutor(4) as ex:
        threaded = list(ex.map(_fixefs, jobs))
    assert threaded == serial * 3
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        processed = list(ex.map(_fixefs, CONCURRENT))
    for got, want in zip(processed, serial, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_errors_from_threads_stay_clear() -> None:
    bad = ["y ~ poly(x, Inf) + (1 | g)", "y ~ x + (0 | g)", "y ~ foo(x) + (1 | g)",
           "y ~ " + "(" * 200 + "x" + ")" * 200 + " + (1 | g)"]

    def attempt(f: str) -> str:
        try:
            _fixefs(f)
        except LmepyError as e:
            return type(e).__name__
        return "fit"

    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(attempt, bad * 3))
    assert got == ["FormulaError", "DataError", "FormulaError", "FormulaError"] * 3


@pytest.mark.skipif(os.name != "posix", reason="resource limits are POSIX")
def test_isolated_runner_reports_crash_and_hang() -> None:
    """The runner itself: a child that dies by a signal or hangs is reported, with the case."""
    import subprocess
    import sys

    with pytest.raises(AssertionError, match="last case started"):
        run_cases([{"kind": "lmer", "formula": "y ~ x + (1 | g)"}] * 2000, timeout=1)
    code = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    assert subprocess.run([sys.executable, "-c", code]).returncode < 0
