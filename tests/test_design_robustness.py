"""Bad input gives lmepy's errors, never a crash: random formulas over sleepstudy (with a
missing value, a string and a logical column, an unused level) either compile or raise a
FormulaError/DataError, and the caller's frame is never modified."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmepy.datasets import load
from lmepy.design import lFormula, model_matrix
from lmepy.errors import DataError, FormulaError

ATOMS = ["Days", "Subject", "s", "b", "Reaction", "1", "0", "2", "x", "pi", "-1", "2.5"]
FUNCS = ["log", "exp", "sqrt", "I", "poly", "scale", "factor", "as.numeric", "offset", "cbind",
         "abs", "sin", "log2"]
OPS = [" + ", " * ", ":", " - ", " / ", "^", " %in% ", " == ", " > "]
RANDOM = ["", " + (1 | Subject)", " + (Days | Subject)", " + (b || Subject)", " + (1 | s:b)",
          " + (0 + factor(Days) | Subject)"]
LHS = ["Reaction", "log(Reaction)", "b", "s", "cbind(Reaction, Days)"]


def _data() -> pd.DataFrame:
    df = load("sleepstudy")
    df["s"] = df["Subject"].astype(str).astype(object)
    df["b"] = df["Days"] > 4
    df.loc[3, "Days"] = np.nan
    df.loc[7, "s"] = None
    df["Subject"] = df["Subject"].cat.add_categories(["zz"])
    return df


DATA = _data()
SNAPSHOT = DATA.copy(deep=True)

exprs = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCS), inner),
        st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["poly", "log", "cbind"]),
                  inner, st.sampled_from(["2", "3", "raw = TRUE", "Days"])),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a, o, b: f"{a}{o}{b}", inner, st.sampled_from(OPS), inner),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lhs=st.sampled_from(LHS), rhs=exprs, bars=st.sampled_from(RANDOM))
def test_random_formulas_compile_or_raise_lmepy_errors(lhs: str, rhs: str, bars: str) -> None:
    formula = f"{lhs} ~ {rhs}{bars}"
    for fn in (model_matrix, lFormula):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = fn(formula, DATA)
            except (FormulaError, DataError):
                continue
        n = out.shape[0] if isinstance(out, pd.DataFrame) else out.n
        assert 0 <= n <= len(DATA)
    pd.testing.assert_frame_equal(DATA, SNAPSHOT)
