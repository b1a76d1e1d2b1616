"""nlme's correlation structures and variance functions against tests/reference/nlme.json
(written by tests/reference/nlme.R from nlme 3.1-162)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy.covariance as cv
from lmepy.covariance.whiten_ref import bidiag_logdet, bidiag_whiten
from lmepy.errors import DataError, FormulaError

REF = json.loads((Path(__file__).parent / "reference" / "nlme.json").read_text())
TOL = 1e-12

COR = {
    "ar1_gaps": lambda: cv.corAR1(0.3, form="~ t | g"),
    "ar1_rows": lambda: cv.corAR1(-0.4, form="~ 1 | g"),
    "ar1_nogrp": lambda: cv.corAR1(0.5),
    "car1": lambda: cv.corCAR1(0.6, form="~ tc | g"),
    "car1_unsorted": lambda: cv.corCAR1(0.35, form="~ tu | g"),
    "arma11": lambda: cv.from_spec("corARMA(c(0.4, 0.2), p = 1, q = 1, form = ~ t | g)"),
    "arma20": lambda: cv.corARMA([0.4, -0.2], p=2, q=0, form="~ t | g"),
    "arma02": lambda: cv.corARMA([0.4, -0.2], p=0, q=2, form="~ 1 | g"),
    "arma21": lambda: cv.corARMA([0.4, -0.2, 0.1], p=2, q=1, form="~ 1 | g"),
    "arma12": lambda: cv.corARMA([0.4, -0.2, 0.1], p=1, q=2, form="~ t | g"),
    "arma32": lambda: cv.corARMA([0.5, -0.3, 0.2, 0.3, -0.25], p=3, q=2, form="~ t | g"),
    "compsymm": lambda: cv.from_spec("corCompSymm(0.3, form = ~ 1 | g)"),
    "compsymm_neg": lambda: cv.corCompSymm(-0.2, form="~1|g"),
    "symm4": lambda: cv.corSymm([0.2, 0.1, -0.3, 0.25, 0.15, 0.05], form="~ 1 | g"),
    "symm4_idx": lambda: cv.corSymm([0.2, 0.1, -0.3, 0.25, 0.15, 0.05], form="~ k | g"),
}


def _frame(ref: dict) -> pd.DataFrame:
    df = pd.DataFrame(ref["data"])
    if "fs" in df:
        df["fs"] = pd.Categorical(df["fs"], categories=["b", "c", "a"])
    return df


@pytest.mark.parametrize("name", sorted(COR))
def test_corstruct_matches_nlme(name: str) -> None:
    ref = REF["corStruct"][name]
    df = _frame(ref)
    before = df.copy()
    cs = COR[name]().bind(df)
    pd.testing.assert_frame_equal(df, before)
    assert cs.nlme_class == ref["class"]
    np.testing.assert_allclose(cs.get_unconstrained(), np.atleast_1d(ref["coef_unconstrained"]),
                               rtol=TOL, atol=TOL)
    cons = ref["coef_constrained"]
    vals = list(cons.values()) if isinstance(cons, dict) else cons
    np.testing.assert_allclose(list(cs.coef().values()), vals, rtol=TOL, atol=TOL)
    if isinstance(cons, dict):
        assert list(cs.coef()) == list(cons)
    cm = cs.corMatrix()
    assert sorted(cm) == sorted(ref["corMatrix"])
    for g, m in ref["corMatrix"].items():
        np.testing.assert_allclose(cm[g], np.array(m), rtol=TOL, atol=TOL)
    assert cs.logdet() == pytest.approx(float(np.sum(ref["logdet"])), rel=1e-12, abs=1e-12)
    # whitening W of each group: W C W' = I; nlme's factor is the inverse of the lower
    # Cholesky factor for all but corCompSymm (Helmert basis, checked through gls residuals)
    x = np.arange(2 * len(df), dtype=float).reshape(-1, 2) ** 1.5
    w = cs.whiten(x)
    for rows, g in zip(cs.group_rows, cs.group_labels, strict=True):
        C = np.array(ref["corMatrix"][g])
        eye = np.zeros((len(df), len(rows)))
        eye[rows, np.arange(len(rows))] = 1.0
        W = cs.whiten(eye)[rows]
        np.testing.assert_allclose(W @ C @ W.T, np.eye(len(rows)), atol=1e-12)
        if ref["class"] != "corCompSymm":
            L = np.linalg.cholesky(C)
            np.testing.assert_allclose(L @ w[rows], x[rows], rtol=1e-12, atol=1e-10)


def test_set_unconstrained_roundtrip() -> None:
    ref = REF["corStruct"]["arma32"]
    cs = cv.corARMA(p=3, q=2, form="~ t | g").bind(_frame(ref))
    assert list(cs.coef().values()) == [0.0] * 5
    cs.set_unconstrained(np.array(ref["coef_unconstrained"]))
    np.testing.assert_allclose(list(cs.coef().values()), list(ref["coef_constrained"].values()),
                               rtol=1e-12)


@pytest.mark.parametrize("case", range(len(REF["corARMA_acf"])))
def test_arma_correlations_by_lag(case: int) -> None:
    ref = REF["corARMA_acf"][case]
    p, q = ref["p"], ref["q"]
    cs = cv.corARMA(ref["coef"], p=p, q=q).bind(pd.DataFrame({"t": np.arange(1, 10)}))
    np.testing.assert_allclose(cs.get_unconstrained(), ref["coef_unconstrained"], rtol=1e-12)
    np.testing.assert_allclose(cs.corMatrix()["1"][0], ref["acf"], rtol=1e-12, atol=1e-14)


VAR = {
    "ident_chr": "varIdent(form = ~ 1 | s)",
    "ident_fac": "varIdent(form = ~ 1 | fs)",
    "ident_val": "varIdent(c(a = 2, c = 0.5), form = ~ 1 | s)",
    "ident_val3": "varIdent(c(b = 1.5, a = 0.7), form = ~ 1 | s)",
    "power_x": "varPower(0.5, form = ~ x)",
    "power_xg": "varPower(c(a = 0.5, b = -0.2), form = ~ x | g)",
    "exp_x": "varExp(0.3, form = ~ x)",
    "constpower": "varConstPower(const = 2, power = 0.5, form = ~ x)",
    "fixed_x": "varFixed(~ x)",
    "ident_fixed": "varIdent(c(b = 1.5), form = ~ 1 | s, fixed = c(a = 0.7))",
    "power_fixed": "varPower(form = ~ x, fixed = 0.5)",
    "constpower_fixed": "varConstPower(const = 2, form = ~ x, fixed = list(power = 0.3))",
}


@pytest.mark.parametrize("name", sorted(VAR))
def test_varfunc_matches_nlme(name: str) -> None:
    ref = REF["varFunc"][name]
    vf = cv.from_spec(VAR[name]).bind(_frame(ref))
    assert vf.nlme_class == ref["class"]
    cons = ref["coef_constrained"] if isinstance(ref["coef_constrained"], dict) else {}
    assert list(vf.coef()) == list(cons)
    np.testing.assert_allclose(list(vf.coef().values()), list(cons.values()), rtol=TOL)
    np.testing.assert_allclose(vf.get_unconstrained(), np.atleast_1d(ref["coef_unconstrained"]),
                               rtol=TOL, atol=TOL)
    np.testing.assert_allclose(vf.weights(), ref["weights"], rtol=1e-12)
    assert vf.logLik() == pytest.approx(ref["logLik"], rel=1e-12, abs=1e-12)
    # nlme's allCoef = TRUE: fixed values too (and varIdent's reference stratum)
    want = ref["coef_all"] if isinstance(ref["coef_all"], dict) else {}
    got = vf.ratios() if isinstance(vf, cv.varIdent) else vf.coef_all()
    assert list(got) == list(want)
    np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-12)


def test_python_constructors_equal_text() -> None:
    ref = REF["varFunc"]["ident_val"]
    a = cv.varIdent({"a": 2, "c": 0.5}, form="~ 1 | s").bind(_frame(ref))
    np.testing.assert_allclose(a.weights(), ref["weights"], rtol=1e-12)
    assert a.reference == "b"


def test_bidiag_kernel_matches_reference() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 3))
    r = 0.6 ** rng.integers(1, 4, size=50).astype(float)
    r[[0, 17, 30]] = 0.0
    from lmepy.covariance.whiten_ref import whiten
    np.testing.assert_allclose(whiten(x, r), bidiag_whiten(x, r), rtol=1e-14)
    # against dense Cholesky of the implied AR(1) blocks
    ref = REF["corStruct"]["ar1_gaps"]
    cs = cv.corAR1(0.3, form="~ t | g").bind(_frame(ref))
    lag_r = cs._links()
    assert lag_r is not None
    assert bidiag_logdet(lag_r) == pytest.approx(float(np.sum(ref["logdet"])), rel=1e-12)


def test_bad_input_errors() -> None:
    df = _frame(REF["corStruct"]["car1"])
    with pytest.raises(DataError, match="nosuch"):
        cv.corAR1(form="~ 1 | nosuch").bind(df)
    with pytest.raises(FormulaError):
        cv.corAR1(form="~ t + | g")
    with pytest.raises(DataError, match="nosuch"):
        cv.corCAR1(form="~ log(nosuch) | g").bind(df)
    with pytest.raises(FormulaError, match="unknown"):
        cv.from_spec("corFoo(form = ~ 1 | g)")
    with pytest.raises(DataError, match="integer"):
        cv.corAR1(form="~ tc | g").bind(df)
    with pytest.raises(ValueError, match="between -1 and 1"):
        cv.corAR1(1.5).bind(df)
    dup = pd.DataFrame({"t": [1, 1, 2], "g": ["a", "a", "a"]})
    with pytest.raises(DataError, match="unique"):
        cv.corCAR1(form="~ t | g").bind(dup)
