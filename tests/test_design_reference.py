"""The design stage against R: model.matrix() and lme4 1.1-31's lFormula(), value by value.

Fixtures: tests/reference/design.json, written by tests/reference/design.R. Names and
integers compare exactly, doubles to 1e-12 (relative and absolute).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from refdata import floats, frame_from_spec

from lmepy.datasets import load
from lmepy.design import lFormula, model_matrix
from lmepy.design.compile import RankDeficiencyWarning, ScaleWarning

REF = json.loads((Path(__file__).parent / "reference" / "design.json").read_text())
TOL = dict(rtol=1e-12, atol=1e-12)


def inline_frame(name: str) -> pd.DataFrame:
    return frame_from_spec(REF["frames"][name])


@cache
def _data(name: str) -> pd.DataFrame:
    if name in REF["frames"]:
        return inline_frame(name)
    return load(name)


def data(name: str) -> pd.DataFrame:
    return _data(name).copy()



def r_rownames(index: pd.Index) -> list[str]:
    return [str(i + 1) for i in index]


def test_evaluator_implements_exactly_the_formula_language() -> None:
    """The parser's MODEL_FUNCTIONS is the one list of what a formula may call; the evaluator
    must know each of them and nothing else ("(" is the evaluator's own node)."""
    from lmepy.design.evaluate import _FUNCTIONS
    from lmepy.formula.parser import FUNCTIONS, MODEL_FUNCTIONS

    assert set(_FUNCTIONS) - {"(", "c"} == set(MODEL_FUNCTIONS)
    assert "c" in FUNCTIONS


@pytest.mark.parametrize("case_id", sorted(REF["model_matrix"]))
def test_model_matrix(case_id: str) -> None:
    case = REF["model_matrix"][case_id]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = model_matrix(case["formula"], data(case["data"]), contrasts=case["contrasts"])
    assert [str(w.message) for w in caught] == case["warnings"]
    assert list(X.columns) == case["colnames"]
    assert X.attrs["assign"] == case["assign"]
    assert r_rownames(X.index) == case["rownames"]
    expected = np.column_stack([floats(c) for c in case["X"]])
    np.testing.assert_allclose(X.to_numpy(), expected, **TOL)


def _fit_args(case: dict) -> dict:
    kw: dict = {}
    for k in ("weights", "offset", "subset", "contrasts"):
        if case.get(k) is not None:
            kw[k] = case[k]
    return kw


@cache
def _compiled(case_id: str):
    case = REF["lFormula"][case_id]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = lFormula(case["formula"], data(case["data"]), **_fit_args(case))
    rank = [str(w.message) for w in caught if issubclass(w.category, RankDeficiencyWarning)]
    scale = [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]
    return m, rank, scale


@pytest.mark.parametrize("case_id", sorted(REF["lFormula"]))
def test_lformula_fixed(case_id: str) -> None:
    case = REF["lFormula"][case_id]
    m, msgs, warns = _compiled(case_id)
    assert m.n == case["n"]
    assert list(m.X.columns) == case["colnames"]
    assert m.X.attrs["assign"] == case["assign"]
    assert m.dropped_columns == case["col_dropped"]
    assert msgs == case["messages"]
    assert warns == case["warnings"]
    nx = len(case["rownames"])
    assert r_rownames(m.X.index[:nx]) == case["rownames"]
    expected = np.column_stack([floats(c) for c in case["X"]])
    np.testing.assert_allclose(m.X.to_numpy()[:nx], expected, **TOL)
    np.testing.assert_allclose(m.X.to_numpy().sum(axis=0), floats(case["X_colsums"]), **TOL)
    if m.y.ndim == 2:  # cbind(...) response: R's matrix, column by column
        expected_y = np.column_stack([floats(c) for c in case["y"]])
        np.testing.assert_allclose(m.y, expected_y, **TOL)
    else:
        np.testing.assert_allclose(m.y[:nx], floats(case["y"]), **TOL)
    if case["offset_values"] is None:
        assert m.offset is None
    else:
        np.testing.assert_allclose(m.offset, floats(case["offset_values"]), **TOL)
    if case["weights_values"] is None:
        assert m.weights is None
    else:
        np.testing.assert_allclose(m.weights, floats(case["weights_values"]), **TOL)


@pytest.mark.parametrize("case_id", sorted(REF["lFormula"]))
def test_lformula_random(case_id: str) -> None:
    case = REF["lFormula"][case_id]
    m, _, _ = _compiled(case_id)
    re = m.reTrms
    assert [t.group for t in re.terms] == case["cnms_names"]
    assert [t.cnms for t in re.terms] == case["cnms"]
    assert [t.nlevels for t in re.terms] == case["nl"]
    flist = re.flist
    assert list(flist) == case["flist_names"]
    assert [list(f.categories) for f in flist.values()] == case["flist_levels"]
    names = list(flist)
    assert [names.index(t.group) + 1 for t in re.terms] == case["flist_assign"]
    np.testing.assert_array_equal(re.theta0, floats(case["theta"]))
    np.testing.assert_array_equal(re.lower, floats(case["lower"]))
    assert re.Gp.tolist() == case["Gp"]
    assert re.Lind.tolist() == case["Lind"]
    lt = re.Lambdat(np.arange(1.0, len(case["theta"]) + 1))  # lme4: Lambdat@x <- theta[Lind]
    assert lt.shape == (case["Gp"][-1], case["Gp"][-1])
    assert lt.data.tolist() == [float(i) for i in case["Lind"]]
    zt = re.Zt.tocoo()
    assert list(zt.shape) == case["Zt_dim"]
    order = np.lexsort((zt.row, zt.col))
    i, j, x = zt.row[order], zt.col[order], zt.data[order]
    if "Zt" in case:
        assert i.tolist() == case["Zt"]["i"]
        assert j.tolist() == case["Zt"]["j"]
        np.testing.assert_allclose(x, floats(case["Zt"]["x"]), **TOL)
        rownames = [lv for t in re.terms for lv in t.levels for _ in range(t.k)]
        assert rownames == case["Zt_rownames"]
    else:
        s = case["Zt_summary"]
        nz = np.diff(re.Zt.tocsr().indptr)
        assert nz.tolist() == s["row_nnz"]
        k = len(s["first_i"])
        assert i[:k].tolist() == s["first_i"]
        assert j[:k].tolist() == s["first_j"]
        np.testing.assert_allclose(x[:k], floats(s["first_x"]), **TOL)
        for t, first in zip(re.terms, s["rownames_firsts"], strict=True):
            assert [lv for lv in t.levels for _ in range(t.k)][:len(first)] == first


def test_insteval_is_fast() -> None:
    """The brief's budget: X and the ReTerms of InstEval (73,421 rows) well under a second."""
    import time

    df = data("InstEval")
    t0 = time.perf_counter()
    m = lFormula("y ~ service + (1 | s) + (1 | d) + (1 | dept:service)", df)
    elapsed = time.perf_counter() - t0
    assert m.n == REF["lFormula"]["insteval"]["n"]
    assert elapsed < 1.0


# R's own error texts the evaluator reproduces; other failures (the parser's, R internals such
# as "'x' must be numeric") must still be lmepy errors.
_R_TEXTS = ("variable lengths differ", "not meaningful for factors", "non-numeric argument to",
            "missing values are not allowed in 'poly'",
            "'degree' must be less than number of unique points")


@pytest.mark.parametrize("case", REF["random_formulas"], ids=lambda c: c["formula"])
def test_random_formula_against_r(case: dict) -> None:
    from lmepy.errors import DataError, FormulaError

    df = data("fuzz")
    if "error" in case:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises((FormulaError, DataError)) as info:
                model_matrix(case["formula"], df)
        err = info.value
        text = err.message if isinstance(err, FormulaError) else str(err)
        if case["error"].startswith(_R_TEXTS):
            assert text == case["error"]
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = model_matrix(case["formula"], df)
    assert list(X.columns) == case["colnames"]
    assert r_rownames(X.index) == case["rownames"]
    expected = np.column_stack([floats(c) for c in case["X"]]) if case["X"] else \
        np.zeros((len(case["rownames"]), 0))
    np.testing.assert_allclose(X.to_numpy(), expected, **TOL)
