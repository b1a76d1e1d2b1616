"""nlme's tables as tables (issue 14): anova() of lme and gls fits is a DataFrame with nlme's
row and column names (the same AnovaTable class as lmer's) that prints as nlme prints;
intervals() is a mapping of DataFrames; lme's summary names a stratified variance function
as nlme does (tests/reference/nlme_tables.R). gls's optimizer stops at a stationary start, as
nlme's does, and says so.

Tolerances: F values and interval ends 1e-4 relative (the estimates' tolerance); p-values
1e-4 relative or 1e-12 absolute (nlme's anova.lme computes 1 - pf, exact only to ~1e-16)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy
from lmepy import datasets
from lmepy.errors import ConvergenceWarning
from lmepy.inference.nlme_intervals import NlmeIntervals
from lmepy.inference.tables import AnovaTable

REF = json.loads((Path(__file__).parent / "reference" / "nlme_tables.json").read_text())


@pytest.fixture(scope="module")
def orthodont() -> pd.DataFrame:
    return datasets.load("Orthodont")


@pytest.fixture(scope="module")
def lme_fit(orthodont: pd.DataFrame):  # noqa: ANN201
    return lmepy.lme("distance ~ age * Sex", data=orthodont, random="~ 1 | Subject")


def _check_table(tab: AnovaTable, ref: dict) -> None:
    assert isinstance(tab, AnovaTable) and isinstance(tab, pd.DataFrame)
    assert list(tab.index) == ref["rownames"]
    assert list(tab.columns) == ref["columns"]
    for col in ("numDF", "denDF"):
        if col in ref["columns"]:
            np.testing.assert_array_equal(tab[col].to_numpy(), ref["values"][col])
    np.testing.assert_allclose(tab["F-value"], ref["values"]["F-value"], rtol=1e-4)
    np.testing.assert_allclose(tab["p-value"], ref["values"]["p-value"], rtol=1e-4, atol=1e-12)
    _same_text(str(tab), ref["text"])


def _same_text(got: str, exp: str, rtol: float = 1e-5) -> None:
    """The same printed text: the same words and layout, numbers within rtol (the last
    printed digit may differ between optima that agree to the estimates' tolerance)."""
    num = re.compile(r"-?\d+\.?\d*(?:e[-+]\d+)?")
    assert num.sub("#", got) == num.sub("#", exp)
    np.testing.assert_allclose([float(x) for x in num.findall(got)],
                               [float(x) for x in num.findall(exp)], rtol=rtol)


def test_lme_anova_is_a_table(lme_fit) -> None:  # noqa: ANN001
    assert lme_fit.logLik() == pytest.approx(REF["lme_anova"]["logLik"], rel=1e-7)
    _check_table(lme_fit.anova(), REF["lme_anova"])


def test_gls_anova_is_the_same_table_class() -> None:
    g = lmepy.gls("follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data=datasets.load("Ovary"),
                  correlation="corAR1(form = ~ 1 | Mare)")
    _check_table(g.anova(), REF["gls_anova"])
    m = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=datasets.load("sleepstudy"))
    assert type(m.anova()) is type(g.anova()) is AnovaTable


def test_lme_intervals_are_dataframes(lme_fit) -> None:  # noqa: ANN001
    iv = lme_fit.intervals()
    ref = REF["lme_intervals"]
    assert isinstance(iv, NlmeIntervals)
    assert list(iv) == ["fixed", "reStruct", "sigma"]
    fixed = iv["fixed"]
    assert list(fixed.columns) == ["lower", "est.", "upper"]
    assert list(fixed.index) == ref["fixed"]["rownames"]
    np.testing.assert_allclose(fixed.to_numpy(), ref["fixed"]["values"], rtol=1e-4)
    re = iv["reStruct"]["Subject"]
    assert list(re.index) == [ref["reStruct"]["Subject"]["rownames"]]
    # variance parameters: nlme's finite-difference Hessian vs lmepy's (see test_lme)
    np.testing.assert_allclose(re.to_numpy(), ref["reStruct"]["Subject"]["values"], rtol=2e-2)
    np.testing.assert_allclose(iv["sigma"].to_numpy(), ref["sigma"], rtol=2e-2)
    assert list(iv["sigma"].index) == ["lower", "est.", "upper"]
    text = str(iv).splitlines()
    assert text[:3] == ["Approximate 95% confidence intervals", "", " Fixed effects:"]
    assert "  Level: Subject " in text and " Within-group standard error:" in text
    only = lme_fit.intervals(which="fixed")
    assert list(only) == ["fixed"]
    pd.testing.assert_frame_equal(only["fixed"], fixed)


def test_lme_summary_names_stratified_variance_function(orthodont: pd.DataFrame) -> None:
    ref = REF["lme_varpower_strata"]
    fit = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject",
                    weights="varPower(form = ~ age | Sex)")
    assert fit.logLik() >= ref["logLik"] - 1e-7 * abs(ref["logLik"])
    assert fit.logLik() == pytest.approx(ref["logLik"], rel=1e-6)
    vs = fit.modelStruct()["varStruct"]
    np.testing.assert_allclose([vs[k] for k in ref["power"]], list(ref["power"].values()),
                               rtol=1e-3)
    lines = str(fit.summary()).splitlines()
    i = lines.index("Variance function:")
    assert lines[i:i + 3] == ref["varfunc_lines"]


def test_gls_stationary_start_stops_as_nlme_with_a_warning(orthodont: pd.DataFrame) -> None:
    """corAR1 over ages 8, 10, 12, 14: every lag is even, the likelihood is even in Phi and
    stationary at nlme's start 0, where nlme's optimizer stays (logLik -241.78; Phi = 0.79
    would give -222.29). lmepy stops there too, and says so."""
    nlme_loglik = -241.779558730296  # tests/reference/nlme.json, gls orthodont_ar1_gaps
    with pytest.warns(ConvergenceWarning, match="stationary at the structures' initial"):
        fm = lmepy.gls("distance ~ age * Sex", data=orthodont,
                       correlation="corAR1(form = ~ age | Subject)")
    assert fm.logLik() == pytest.approx(nlme_loglik, rel=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fm2 = lmepy.gls("distance ~ age * Sex", data=orthodont,
                        correlation="corAR1(0.5, form = ~ age | Subject)")
    assert fm2.logLik() > nlme_loglik + 19


def test_lme_prints_corsymm_as_nlme(orthodont: pd.DataFrame) -> None:
    """nlme prints a general correlation structure as a correlation matrix. The likelihood
    is flat in the correlations (the fits agree to 1e-7 in logLik, to ~0.03 in the
    correlations), so the matrix's numbers are compared to 0.05."""
    ref = REF["lme_corsymm"]
    fit = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject",
                    correlation="corSymm()")
    assert fit.logLik() >= ref["logLik"] - 1e-7 * abs(ref["logLik"])
    lines = str(fit).splitlines()
    i = lines.index("Correlation Structure: General")
    got, exp = lines[i:i + 9], ref["corstruct_lines"]
    assert got[:5] == exp[:5]
    num = re.compile(r"-?\d\.\d+")
    assert [num.sub("#", g) for g in got[5:]] == [num.sub("#", e) for e in exp[5:]]
    np.testing.assert_allclose([float(x) for g in got[5:] for x in num.findall(g)],
                               [float(x) for e in exp[5:] for x in num.findall(e)], atol=0.05)
