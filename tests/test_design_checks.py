"""The design stage's errors (lme4's and R's wording), R's conventions for level order,
number labels and contr.poly, and its promises: the caller's frame is never modified, polars-like
frames and pandas' string dtype are accepted, formula text is never executed.

Fixtures: tests/reference/design.json (tests/reference/design.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from refdata import floats, frame_from_spec

from lmepy.datasets import load
from lmepy.design import lFormula, model_matrix
from lmepy.design.contrasts import contr_poly
from lmepy.design.values import factor_from_strings, r_num_str, r_sort_strings
from lmepy.errors import DataError, FormulaError
from lmepy.formula.ir import Call, ModelTerms, Name, Term

REF = json.loads((Path(__file__).parent / "reference" / "design.json").read_text())
ERR = {k: v["message"] for k, v in REF["errors"].items()}
TOL = dict(rtol=1e-12, atol=1e-12)


def inline_frame(name: str) -> pd.DataFrame:
    return frame_from_spec(REF["frames"][name])



def message(exc: Exception) -> str:
    return exc.message if isinstance(exc, FormulaError) else str(exc)


# ---- errors -------------------------------------------------------------------------------

LME4_ERRORS = [
    ("nlev_ge_n", "y ~ x + (1 | g)", DataError),
    ("nlev_one", "y ~ x + (1 | one)", DataError),
    ("nobs_vs_nre", "y ~ x + (x | h)", DataError),
    ("zero_cases", "y ~ x + (1 | n)", DataError),
    ("response_numeric", "one ~ x + (1 | h)", DataError),
    ("no_bars", "y ~ x", FormulaError),
    ("y_not_finite", "log(z) ~ x + (1 | h)", DataError),
]


@pytest.mark.parametrize(("case_id", "formula", "exc"), LME4_ERRORS)
def test_lformula_errors_use_lme4_wording(case_id: str, formula: str, exc: type) -> None:
    with pytest.raises(exc) as info:
        lFormula(formula, inline_frame("g10"))
    assert message(info.value).splitlines()[0] == ERR[case_id]  # R's text, then details


def test_negative_weights_use_lme4_wording() -> None:
    with pytest.raises(DataError) as info:
        lFormula("y ~ x + (1 | h)", inline_frame("g10"), weights="w")
    assert str(info.value) == ERR["negative_weights"]


@pytest.mark.parametrize(("case_id", "formula"), [
    ("contrasts_one_level", "y ~ one"),
    ("poly_na", "y ~ poly(n, 2)"),
    ("poly_degree", "y ~ poly(x, 10)"),
])
def test_model_matrix_errors_use_r_wording(case_id: str, formula: str) -> None:
    with pytest.raises((DataError, FormulaError)) as info:
        model_matrix(formula, inline_frame("g10"))
    assert message(info.value).splitlines()[0] == ERR[case_id]  # R's text, then details


@pytest.mark.parametrize(("case_id", "formula", "name", "suggestion"), [
    ("unknown_var", "y ~ xx + (1 | h)", "xx", "x"),
    ("unknown_group", "y ~ x + (1 | hh)", "hh", "h"),
])
def test_unknown_variable_names_it_with_close_matches_and_caret(
        case_id: str, formula: str, name: str, suggestion: str) -> None:
    with pytest.raises(FormulaError) as info:
        lFormula(formula, inline_frame("g10"))
    err = info.value
    assert err.message.startswith(ERR[case_id])
    assert f"Did you mean '{suggestion}'" in err.message
    assert err.formula == formula
    assert err.pos == formula.index(name)
    lines = str(err).splitlines()
    assert lines[-1].strip() == "^" * len(name)
    assert lines[-1].index("^") - 2 == formula.index(name)


def test_unknown_function_is_named_with_caret() -> None:
    formula = "y ~ foo(x) + (1 | h)"
    with pytest.raises(FormulaError) as info:
        lFormula(formula, inline_frame("g10"))
    # R: 'could not find function "foo"'; the parser rejects it first, naming it its own way
    assert '"foo"' in info.value.message or "'foo'" in info.value.message
    assert info.value.pos == formula.index("foo")


def test_evaluator_unknown_function_uses_r_wording() -> None:
    """Model terms built by hand skip the parser's check: the evaluator words it as R."""
    mt = ModelTerms(Name("y"), True, (Term((Call("foo", (Name("x"),)),)),))
    with pytest.raises(FormulaError) as info:
        model_matrix(mt, inline_frame("g10"))
    assert info.value.message.startswith(ERR["unknown_fun"])
    assert info.value.pos == str(mt).index("foo")


def test_formula_text_is_never_executed() -> None:
    with pytest.raises(FormulaError) as info:
        model_matrix("y ~ system(x)", inline_frame("g10"))
    assert "system" in info.value.message
    assert info.value.pos == len("y ~ ")
    with pytest.raises(FormulaError):
        model_matrix("y ~ __import__(x)", inline_frame("g10"))


# ---- R conventions --------------------------------------------------------------------------


def test_string_order_is_r_sort() -> None:
    s = REF["sort_strings"]
    assert r_sort_strings(s["input"]) == s["sorted"]
    f = factor_from_strings(np.array(s["input"], dtype=object))
    assert f.levels == s["factor_levels"]


def test_number_labels_are_as_character() -> None:
    n = REF["number_labels"]
    assert [r_num_str(v) for v in floats(n["input"])] == n["labels"]


@pytest.mark.parametrize("entry", REF["contr_poly"], ids=lambda e: f"n{e['n']}")
def test_contr_poly(entry: dict) -> None:
    values, names = contr_poly([str(i) for i in range(entry["n"])])
    assert names == entry["colnames"]
    np.testing.assert_allclose(values, np.column_stack([floats(c) for c in entry["values"]]),
                               **TOL)


# ---- promises -------------------------------------------------------------------------------


def test_callers_frame_is_not_modified() -> None:
    df = inline_frame("mixed")
    before = df.copy(deep=True)
    dtypes = df.dtypes.copy()
    lFormula("y ~ x + s + l + offset(log(o)) + (1 | g)", df, weights="w")
    model_matrix("y ~ s * l + f + scale(x) + poly(o, 2)", df)
    pd.testing.assert_frame_equal(df, before)
    assert (df.dtypes == dtypes).all()
    assert list(df["f"].cat.categories) == ["w", "v", "u", "z"]


class _PolarsLike:
    """Stands in for a polars DataFrame: lmepy only calls .to_pandas()."""

    def __init__(self, df: pd.DataFrame):
        self._df = df

    def to_pandas(self) -> pd.DataFrame:
        return self._df.copy()


def test_polars_like_frames_are_accepted() -> None:
    case = REF["lFormula"]["mixed_na"]
    m = lFormula(case["formula"], _PolarsLike(inline_frame("mixed")))
    assert list(m.X.columns) == case["colnames"]
    np.testing.assert_allclose(m.X.to_numpy(), np.column_stack([floats(c) for c in case["X"]]),
                               **TOL)


def test_pandas_string_dtype_is_character() -> None:
    case = REF["model_matrix"]["mixed_string_bool"]
    df = inline_frame("mixed")
    df["s"] = df["s"].astype("string")
    X = model_matrix(case["formula"], df)
    assert list(X.columns) == case["colnames"]
    np.testing.assert_allclose(X.to_numpy(), np.column_stack([floats(c) for c in case["X"]]),
                               **TOL)


def test_nullable_boolean_is_logical() -> None:
    case = REF["model_matrix"]["mixed_string_bool"]
    df = inline_frame("mixed")
    df["l"] = df["l"].astype("boolean")
    X = model_matrix(case["formula"], df)
    assert list(X.columns) == case["colnames"]
    np.testing.assert_allclose(X.to_numpy(), np.column_stack([floats(c) for c in case["X"]]),
                               **TOL)


def test_subset_as_text_or_mask_matches_r() -> None:
    case = REF["lFormula"]["mixed_subset"]
    df = inline_frame("mixed")
    a = lFormula(case["formula"], df, subset=case["subset"])
    b = lFormula(case["formula"], df, subset=(df["x"] > 2).to_numpy())
    assert [str(i + 1) for i in a.X.index] == case["rownames"]
    assert list(a.X.index) == list(b.X.index)
    np.testing.assert_allclose(a.y, floats(case["y"]), **TOL)


def test_na_action_records_dropped_rows() -> None:
    case = REF["lFormula"]["mixed_na"]
    m = lFormula(case["formula"], inline_frame("mixed"))
    kept = [int(r) - 1 for r in case["rownames"]]
    assert sorted(set(range(16)) - set(kept)) == m.na_action.tolist()


def test_sleepstudy_has_no_dense_z() -> None:
    m = lFormula("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))
    t = m.reTrms.terms[0]
    assert t.rows.shape == (180, 2)
    assert t.codes.shape == (180,)
    assert m.Zt.nnz == 180 + 162  # R's drop0: the 18 rows with Days == 0 store no slope


@pytest.mark.parametrize("case_id", ["sleep_poly", "sleep_log_I", "sleep_scale", "cake_rr"])
def test_model_matrix_of_a_model_frame(case_id: str) -> None:
    """R's model.matrix(terms, model.frame): the frame's evaluated variables are reused."""
    case = REF["lFormula"][case_id]
    data = load({"sleepstudy": "sleepstudy", "cake": "cake"}[case["data"]])
    m = lFormula(case["formula"], data)
    expected = np.column_stack([floats(c) for c in case["X"]])
    for source in (m, m.frame):
        X = model_matrix(m.terms, source)
        assert list(X.columns) == case["colnames"]
        np.testing.assert_allclose(X.to_numpy(), expected, **TOL)


@pytest.mark.parametrize("case_id", sorted(REF["qr"]))
def test_rank_and_pivots_are_linpack_dqrdc2(case_id: str) -> None:
    """lme4 keeps the first rank pivots of R's qr(X, tol = 1e-7, LAPACK = FALSE)."""
    from lmepy.design.rank import _dqrdc2, limited_pivot_qr_rank

    case = REF["qr"][case_id]
    x = np.column_stack([floats(c) for c in case["X"]])
    for fn in (limited_pivot_qr_rank, lambda m: _dqrdc2(m, 1e-7)):
        rank, pivot = fn(x)
        assert rank == case["rank"]
        assert pivot.tolist() == case["pivot"]


def test_glformula_allows_a_level_per_observation() -> None:
    """glmer's checks (allow.n = TRUE): lFormula refuses (1 | g) with 10 levels in 10 rows,
    glFormula accepts it, as lme4 does."""
    from lmepy.design import glFormula

    df = inline_frame("g10")
    assert ERR["glmer_nlev_gt_n"] is None
    m = glFormula("yb ~ x + (1 | g) + (1 | g:h)", df, family="binomial")
    assert [t.nlevels for t in m.reTrms.terms] == [10, 10]
    with pytest.raises(DataError) as info:
        lFormula("yb ~ x + (1 | g) + (1 | g:h)", df)
    assert str(info.value) == ERR["nlev_ge_n"].replace("(problems: g)", "(problems: g, g:h)")


def test_glformula_nre_check_uses_glmer_wording() -> None:
    from lmepy.design import glFormula

    with pytest.raises(DataError) as info:
        glFormula("yb ~ x + (x | g11)", inline_frame("g10"), family="binomial")
    assert str(info.value) == ERR["glmer_nobs_vs_nre"]


def test_glformula_factor_response_is_second_level_indicator() -> None:
    """A binomial factor response: y is 1 for any level but the first (binomial()$initialize)."""
    from lmepy.design import glFormula

    m = glFormula("fb ~ x + (1 | g)", inline_frame("g10"), family="binomial")
    np.testing.assert_array_equal(m.y, floats(REF["glmer_ok"]["y"]) - 1.0)
    assert [t.nlevels for t in m.reTrms.terms] == REF["glmer_ok"]["nl"]
    with pytest.raises(DataError) as info:
        lFormula("fb ~ x + (1 | h)", inline_frame("g10"))
    assert str(info.value) == ERR["response_numeric"]


def test_na_fail_refuses_missing_values_and_na_exclude_is_recorded() -> None:
    df = inline_frame("g10")
    df.loc[1, "x"] = np.nan
    with pytest.raises(DataError) as info:
        lFormula("y ~ x + (1 | h)", df, na_action="na.fail")
    assert str(info.value) == ERR["na_fail"]
    m = lFormula("y ~ x + (1 | h)", df, na_action="na.exclude")
    assert m.na_action_type == "na.exclude"
    assert m.na_action.tolist() == [1]
