"""Property test: corrupt one variable of a small data set (NaN, ±Inf, ±1e300, 1e-300 in a few
rows) in each role it can play in lmer, glmer, lme and gls, and check the outcome is one R
would accept: a clear lmepy error, or a fit of the same model (NaN rows: the fit of the data
without those rows, as na.omit; nlme's na.fail: an error). Never a fit that silently changed
the model: a dropped column, NaN estimates or a NaN log-likelihood."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmepy
import lmepy.fit.control
from lmepy.errors import LmepyError

VALUES = [math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300]


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n_g, per = 10, 6
    g = np.repeat(np.arange(n_g), per)
    t = np.tile(np.arange(1.0, per + 1), n_g)
    x = rng.normal(size=n_g * per)
    fnum = np.tile([1.0, 2.0, 3.0], n_g * per // 3)
    b = rng.normal(scale=0.8, size=n_g)[g]
    mu = 1.0 + 0.5 * x + 0.3 * (fnum == 2) + b
    return pd.DataFrame({
        "y": mu + rng.normal(scale=0.5, size=n_g * per),
        "count": rng.poisson(np.exp(0.3 + 0.2 * x + 0.5 * b)).astype(float),
        "yb": (rng.uniform(size=n_g * per) < 1 / (1 + np.exp(-(0.2 + x + b)))).astype(float),
        "x": x, "fnum": fnum, "gnum": g.astype(float) + 1.0, "t": t,
        "v": rng.uniform(0.5, 2.0, size=n_g * per), "w": rng.uniform(0.5, 2.0, size=n_g * per),
        "off": rng.normal(scale=0.1, size=n_g * per)})


DATA = _data()

# each model: role -> (column corrupted, how the fit is called)
Fit = Callable[[pd.DataFrame], Any]


def _lmer(d: pd.DataFrame, **kw: Any) -> Any:
    extra = {k: d[k].to_numpy() for k in ("weights", "offset") if k in kw}
    form = kw.get("form", "y ~ x + factor(fnum) + (1 | gnum)")
    return lmepy.lmer(form, d, weights=extra.get("weights"), offset=extra.get("offset"))


def _glmer(d: pd.DataFrame, **kw: Any) -> Any:
    extra = {k: d[k].to_numpy() for k in ("weights", "offset") if k in kw}
    form = kw.get("form", "count ~ x + factor(fnum) + (1 | gnum)")
    return lmepy.glmer(form, d, family=lmepy.poisson(), weights=extra.get("weights"),
                       offset=extra.get("offset"))


def _glmer_bin(d: pd.DataFrame, **kw: Any) -> Any:
    extra = {k: d[k].to_numpy() for k in ("weights", "offset") if k in kw}
    return lmepy.glmer("yb ~ x + (1 | gnum)", d, family=lmepy.binomial(),
                       weights=extra.get("weights"), offset=extra.get("offset"))


def _lme(d: pd.DataFrame, **kw: Any) -> Any:
    return lmepy.lme(kw.get("form", "y ~ x + factor(fnum)"), d, random="~ 1 | gnum",
                     correlation=kw.get("cor"), weights=kw.get("var"))


def _gls(d: pd.DataFrame, **kw: Any) -> Any:
    return lmepy.gls(kw.get("form", "y ~ x + factor(fnum)"), d, correlation=kw.get("cor"),
                     weights=kw.get("var"))


COR = "corCAR1(form = ~ t | gnum)"
ROLES: dict[str, dict[str, tuple[str, dict]]] = {
    "lmer": {"response": ("y", {}), "predictor": ("x", {}), "factor": ("fnum", {}),
             "grouping": ("gnum", {}), "weights": ("w", {"weights": True}),
             "offset": ("off", {"offset": True}),
             "slope": ("x", {"form": "y ~ 1 + (x | gnum)"})},
    "glmer": {"response": ("count", {}), "predictor": ("x", {}), "factor": ("fnum", {}),
              "grouping": ("gnum", {}), "weights": ("w", {"weights": True}),
              "offset": ("off", {"offset": True})},
    "glmer_binomial": {"response": ("yb", {}), "predictor": ("x", {}),
                       "weights": ("w", {"weights": True}), "offset": ("off", {"offset": True})},
    "lme": {"response": ("y", {}), "predictor": ("x", {}), "factor": ("fnum", {}),
            "grouping": ("gnum", {}), "correlation time": ("t", {"cor": COR}),
            "variance covariate": ("v", {"var": "varPower(form = ~ v)"})},
    "gls": {"response": ("y", {}), "predictor": ("x", {}), "factor": ("fnum", {}),
            "correlation time": ("t", {"cor": COR}),
            "variance covariate": ("v", {"var": "varFixed(~ v)"})},
}
FITTERS = {"lmer": _lmer, "glmer": _glmer, "glmer_binomial": _glmer_bin, "lme": _lme,
           "gls": _gls}
NA_OMIT = {"lmer", "glmer", "glmer_binomial"}  # lme4's default; nlme's is na.fail


def _renamed(d: pd.DataFrame, col: str, kw: dict) -> pd.DataFrame:
    """The weights/offset roles take the column as the argument named by the role."""
    if kw.get("weights"):
        d = d.assign(weights=d[col])
    if kw.get("offset"):
        d = d.assign(offset=d[col])
    return d


def _fit(model: str, d: pd.DataFrame, kw: dict) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FITTERS[model](d, **kw)


def _summary(fit: Any) -> tuple[pd.Series, float, int]:
    return fit.fixef(), float(fit.logLik()), int(fit.nobs())


def _check(model: str, role: str, value: float, rows: list[int]) -> None:
    col, kw = ROLES[model][role]
    d = DATA.copy()
    d.loc[rows, col] = value
    before = d.copy()
    try:
        got = _summary(_fit(model, _renamed(d, col, kw), kw))
    except LmepyError as e:  # DataError, FormulaError, LmepyError: clear, ours
        assert str(e).strip(), "an error without a message"
        pd.testing.assert_frame_equal(d, before)  # the caller's data untouched
        if math.isnan(value) and model in NA_OMIT:
            raise AssertionError(f"NaN rows must be dropped by na.omit, got: {e}") from e
        return
    pd.testing.assert_frame_equal(d, before)
    fixef, loglik, nobs = got
    assert math.isfinite(loglik), f"{model}/{role}={value}: a fit with logLik {loglik}"
    assert np.all(np.isfinite(fixef.to_numpy())), f"{model}/{role}={value}: NaN estimates"
    clean = _summary(_fit(model, _renamed(DATA, col, kw), kw))
    if math.isnan(value):
        assert model in NA_OMIT, f"{model}: nlme's na.fail must refuse NaN"
        ref = _summary(_fit(model, _renamed(DATA.drop(index=rows), col, kw), kw))
        assert nobs == ref[2] == len(DATA) - len(set(rows))
        assert list(fixef.index) == list(ref[0].index)
        assert np.allclose(fixef.to_numpy(), ref[0].to_numpy(), rtol=1e-6, atol=1e-8)
        assert abs(loglik - ref[1]) < 1e-6 * max(1.0, abs(ref[1]))
        return
    assert math.isfinite(value) or role in ("grouping", "factor"), \
        f"{model}/{role}: an infinite value fitted ({value})"
    assert nobs == clean[2], f"{model}/{role}={value}: rows silently dropped"
    if role != "factor":  # a new factor level adds its column, as in R
        assert list(fixef.index) == list(clean[0].index), \
            f"{model}/{role}={value}: the model's columns changed: {list(fixef.index)}"


CASES = [(m, r) for m in ROLES for r in ROLES[m]]


@pytest.mark.parametrize("model, role", CASES, ids=[f"{m}-{r}" for m, r in CASES])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=st.sampled_from(VALUES),
       rows=st.lists(st.integers(0, len(DATA) - 1), min_size=1, max_size=3, unique=True))
def test_corrupted_variable_gives_error_or_r_answer(model: str, role: str, value: float,
                                                    rows: list[int]) -> None:
    _check(model, role, value, rows)


@pytest.mark.parametrize("model, role", CASES, ids=[f"{m}-{r}" for m, r in CASES])
def test_every_special_value_once(model: str, role: str) -> None:
    """The whole value list in one row, so each value meets each role at least once."""
    for value in VALUES:
        _check(model, role, value, [4])


# ---- control dicts --------------------------------------------------------------------------
_ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.sampled_from(VALUES),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(kind=st.sampled_from(["lmer", "glmer", "lme", "gls"]),
       entries=st.dictionaries(
           st.one_of(st.sampled_from(sorted({k for kind in ("lmer", "glmer", "lme", "gls")
                                              for k in lmepy.fit.control.valid_keys(kind)})),
                     st.text(max_size=12)),
           _ODD_VALUES, max_size=3))
def test_control_dicts_are_checked_never_ignored(kind: str, entries: dict) -> None:
    """Any control dict is either accepted (each key then one the fitter reads, or R's
    default value of one it does not implement) or refused naming the offending key."""
    from lmepy.fit.control import _IMPLEMENTED, check_control
    try:
        out = check_control(entries, kind)
    except (ValueError, TypeError, NotImplementedError) as e:
        assert any(repr(k) in str(e) or f"'{k}'" in str(e) for k in entries), str(e)
        return
    assert set(out) <= set(_IMPLEMENTED[kind]) and set(out) <= set(entries)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(start=st.lists(st.one_of(st.sampled_from(VALUES + [0.0, 1.0, -1.0]),
                                st.floats(-1e6, 1e6)), min_size=2, max_size=4))
def test_start_vectors_fit_or_are_refused(start: list[float]) -> None:
    """lme4's crash case (a NaN start reached nlopt) and its neighbours: an error naming
    control['start'], or a fit at least as good as R's default start reaches from there."""
    d = DATA
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = lmepy.lmer("y ~ x + (x | gnum)", d, control={"start": start})
    except (ValueError, TypeError) as e:
        assert "control['start']" in str(e)
        return
    except LmepyError as e:  # the objective overflowed during the search
        assert "cannot be fitted" in str(e)
        return
    assert len(start) == 3 and all(math.isfinite(v) and v >= lo
                                   for v, lo in zip(start, [0, -math.inf, 0], strict=True))
    assert math.isfinite(float(fit.logLik()))
    assert np.all(np.isfinite(fit.fixef().to_numpy()))


# ---- wrong types and values for the entry points' arguments --------------------------------
_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-30, 30), st.sampled_from(VALUES),
    st.text(max_size=10), st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.sampled_from([object(), np.arange(3.0), np.bool_(True), np.int64(2), (1, 2), b"x"]))

ENTRY: dict[str, tuple[Callable[..., Any], list[str]]] = {
    "lmer": (lambda **kw: lmepy.lmer("y ~ x + (1 | gnum)", DATA, **kw),
             ["REML", "control", "data_name", "weights", "offset", "correlation"]),
    "glmer": (lambda **kw: lmepy.glmer("count ~ x + (1 | gnum)", DATA, **kw),
              ["family", "nAGQ", "control", "weights", "offset"]),
    "lme": (lambda **kw: lmepy.lme("y ~ x", DATA, **{"random": "~ 1 | gnum", **kw}),
            ["random", "method", "control", "correlation", "weights", "data_name"]),
    "gls": (lambda **kw: lmepy.gls("y ~ x", DATA, **kw),
            ["method", "control", "correlation", "weights", "na_action", "data_name"]),
}
ARG_CASES = [(f, a) for f, (_, args) in ENTRY.items() for a in args]


@pytest.mark.parametrize("fn, arg", ARG_CASES, ids=[f"{f}-{a}" for f, a in ARG_CASES])
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=_ANY)
def test_entry_arguments_fit_or_refuse_clearly(fn: str, arg: str, value: Any) -> None:
    """Any value for one argument: a fit (the value was legal), or an error of ours naming the
    argument (TypeError/ValueError/NotImplementedError from lmepy's checks, or an
    LmepyError) — never AttributeError, IndexError, KeyError or numpy's own messages."""
    call, _ = ENTRY[fn]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = call(**{arg: value})
    except LmepyError:
        return
    except (TypeError, ValueError, NotImplementedError) as e:
        msg = str(e)
        assert arg.split("_")[0].lower() in msg.lower() or "control[" in msg, \
            f"{fn}({arg}={value!r}): {type(e).__name__}: {msg}"
        return
    assert math.isfinite(float(fit.logLik()))


def test_extreme_variance_covariate_regression() -> None:
    """Found by this file's fuzzing: varPower on v with v[3] = 1e300 reached an AttributeError
    inside the lme kernel (a solve after a failed factorization)."""
    _check("lme", "variance covariate", 1e300, [3])
