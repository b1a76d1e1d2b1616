"""anova() across gls and lme fits (nlme's anova.lme, which anova.gls calls for several fits):
the standard "is a random effect needed?" workflow, nlme's checks and messages, and the
structure checks of lme (tests/reference/anova_mixed.R)."""

from __future__ import annotations

import numpy as np
import pytest
from refdata import reference

import lmepy
from lmepy.datasets import load
from lmepy.errors import DataError

REF = reference("anova_mixed")
MSG = REF["messages"]
OVF = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)"


@pytest.fixture(scope="module")
def orthodont():  # noqa: ANN201
    return load("Orthodont")


@pytest.fixture(scope="module")
def ovary():  # noqa: ANN201
    return load("Ovary")


@pytest.fixture(scope="module")
def sleep():  # noqa: ANN201
    return load("sleepstudy")


def _check(tab, ref: dict, text_rtol: float = 1e-6) -> None:  # noqa: ANN001
    assert list(tab.index) == ref["rownames"]
    assert list(tab.columns) == ref["columns"]
    for col in ("Model", "df"):
        np.testing.assert_array_equal(tab[col], ref["values"][col])
    for col in ("AIC", "BIC", "logLik"):
        np.testing.assert_allclose(tab[col], ref["values"][col], rtol=1e-7)
    if "Test" in ref["columns"]:
        assert list(tab["Test"]) == ref["values"]["Test"]
        lr = np.array([np.nan if v is None else v for v in ref["values"]["L.Ratio"]])
        np.testing.assert_allclose(tab["L.Ratio"], lr, rtol=1e-5)


def test_gls_then_lme_is_nlmes_table(orthodont) -> None:  # noqa: ANN001
    fm1 = lmepy.gls("distance ~ age", data=orthodont)
    fm2 = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject")
    tab = lmepy.anova(fm1, fm2)
    _check(tab, REF["cases"]["orthodont_gls_lme"])
    assert str(tab) == REF["cases"]["orthodont_gls_lme"]["text"]
    back = fm2.anova(fm1)  # anova.lme with a gls second
    _check(back, REF["cases"]["orthodont_lme_gls"])
    assert str(back) == REF["cases"]["orthodont_lme_gls"]["text"]


def test_gls_and_two_lme_fits(ovary) -> None:  # noqa: ANN001
    g = lmepy.gls(OVF, data=ovary, correlation="corAR1(form = ~ 1 | Mare)")
    l = lmepy.lme(OVF, data=ovary, random="~ 1 | Mare")  # noqa: E741
    l2 = lmepy.lme(OVF, data=ovary, random="~ 1 | Mare", correlation="corAR1()")
    tab = g.anova(l, l2)
    _check(tab, REF["cases"]["ovary_gls_lme_lme"])
    assert str(tab) == REF["cases"]["ovary_gls_lme_lme"]["text"]


def test_ml_different_fixed_effects(orthodont) -> None:  # noqa: ANN001
    m1 = lmepy.gls("distance ~ age", data=orthodont, method="ML")
    m2 = lmepy.lme("distance ~ age + Sex", data=orthodont, random="~ 1 | Subject", method="ML")
    tab = m1.anova(m2)
    _check(tab, REF["cases"]["orthodont_ml"])
    assert str(tab) == REF["cases"]["orthodont_ml"]["text"]


def test_equal_df_has_no_test_columns(orthodont) -> None:  # noqa: ANN001
    """nlme adds Test, L.Ratio and p-value only when some df differ."""
    a = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject", method="ML")
    b = lmepy.lme("distance ~ age", data=orthodont, random="~ age | Subject", method="ML")
    c = lmepy.lme("distance ~ Sex", data=orthodont, random="~ 1 | Subject", method="ML")
    assert list(a.anova(c).columns) == ["Model", "df", "AIC", "BIC", "logLik"]
    assert "Test" not in str(a.anova(c)).splitlines()[0]
    tab = a.anova(c, b)
    assert list(tab["Test"]) == ["", "", "2 vs 3"]
    assert np.isnan(tab["L.Ratio"].iloc[1]) and not np.isnan(tab["L.Ratio"].iloc[2])


def test_nlmes_checks_and_messages(sleep, orthodont) -> None:  # noqa: ANN001
    s1 = lmepy.lme("Reaction ~ Days", data=sleep.iloc[:90], random="~ 1 | Subject",
                   method="ML")
    s3 = lmepy.lme("Reaction ~ Days", data=sleep.iloc[:100], random="~ 1 | Subject",
                   method="ML")
    g90 = lmepy.gls("Reaction ~ Days", data=sleep.iloc[:90], method="ML")
    with pytest.raises(ValueError) as e:
        s1.anova(s3)
    assert str(e.value) == MSG["different_n"]
    with pytest.raises(ValueError) as e:
        g90.anova(s3)
    assert str(e.value) == MSG["different_n_gls"]
    m1 = lmepy.gls("distance ~ age", data=orthodont, method="ML")
    fm2 = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject")
    with pytest.raises(ValueError) as e:
        m1.anova(fm2)
    assert str(e.value) == MSG["method"]
    r1 = lmepy.lme("log(Reaction) ~ Days", data=sleep, random="~ 1 | Subject")
    r2 = lmepy.lme("Reaction ~ Days", data=sleep, random="~ 1 | Subject")
    r3 = lmepy.lme("Reaction ~ 1", data=sleep, random="~ 1 | Subject")
    with pytest.raises(ValueError) as e, pytest.warns(UserWarning):
        r1.anova(r2)
    assert str(e.value) == MSG["first_response"]
    with pytest.warns(UserWarning) as rec:
        tab = r2.anova(r1, r3)
    assert [str(w.message) for w in rec] == MSG["response_dropped"]
    assert list(tab.index) == ["r2", "r3"]  # nlme 3.1-162 fails on its own row names here
    with pytest.warns(UserWarning) as rec:
        r2.anova(r3)
    assert [str(w.message) for w in rec] == [MSG["reml_fixed"]]


def test_same_size_but_different_rows_is_an_error(sleep) -> None:  # noqa: ANN001
    """nlme compares only the number of observations and prints a table for fits to the two
    halves of sleepstudy; their likelihoods are not comparable."""
    s1 = lmepy.lme("Reaction ~ Days", data=sleep.iloc[:90], random="~ 1 | Subject",
                   method="ML")
    s2 = lmepy.lme("Reaction ~ Days", data=sleep.iloc[90:], random="~ 1 | Subject",
                   method="ML")
    assert REF["cases"]["equal_df"]["rownames"] == ["s1", "s2"]  # what nlme does instead
    with pytest.raises(ValueError, match="not fitted to the same data"):
        s1.anova(s2)
    # the same rows in another order are the same data
    s1b = lmepy.lme("Reaction ~ Days", data=sleep.iloc[:90].iloc[::-1], random="~ 1 | Subject",
                    method="ML")
    assert s1.anova(s1b)["logLik"].iloc[1] == pytest.approx(s1.logLik(), rel=1e-7)


def test_lmer_and_nlme_fits_do_not_mix(sleep) -> None:  # noqa: ANN001
    m = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=sleep)
    g = lmepy.gls("Reaction ~ Days", data=sleep)
    with pytest.raises(TypeError, match="compare lme and gls fits with each other"):
        lmepy.anova(m, g)
    with pytest.raises(TypeError, match="compares gls and lme fits"):
        g.anova(m)


def test_module_level_anova_names_rows(orthodont) -> None:  # noqa: ANN001
    fm1 = lmepy.gls("distance ~ age", data=orthodont)
    fm2 = lmepy.lme("distance ~ age", data=orthodont, random="~ 1 | Subject")
    assert list(lmepy.anova(fm1, fm2).index) == ["fm1", "fm2"]
    assert list(fm1.anova(fm2, model_names=["a", "b"]).index) == ["a", "b"]


def test_fewer_observations_than_random_effects(sleep, orthodont) -> None:  # noqa: ANN001
    """nlme's lmeControl(allow.n.lt.q = FALSE) check: an error at once (lmepy ran for
    minutes)."""
    ss = sleep.copy()
    ss["g"] = (ss["Days"] % 3).astype(str)
    ss["h"] = (ss["Days"] % 4).astype(str)
    with pytest.raises(DataError) as e:
        lmepy.lme("Reaction ~ Days", data=ss, random="~ g/h | Subject")
    assert str(e.value) == MSG["n_lt_q"]
    with pytest.raises(DataError) as e:
        lmepy.lme("distance ~ age", data=orthodont,
                  random={"Sex": "~ 1", "Subject": "~ factor(age) + I(age^2)"})
    assert str(e.value) == MSG["n_lt_q_nested"]
    with pytest.warns(UserWarning, match="fewer observations than random effects"), \
            pytest.raises(DataError, match="more parameters than observations"):
        lmepy.lme("Reaction ~ Days", data=ss.iloc[:20], random="~ g/h | Subject",
                  control={"allow_n_lt_q": None})


def test_more_parameters_than_observations(ovary) -> None:  # noqa: ANN001
    """corSymm over Ovary's 31 times has 465 correlations for 308 rows: nlme stops after ~12 s
    with "nlminb problem, convergence error code = 1 ... iteration limit reached"; lmepy ran
    for over 10 minutes. Now an error at once, naming the counts."""
    with pytest.raises(DataError, match=r"470 parameters \(random effects: 1, corSymm: 465"):
        lmepy.lme(OVF, data=ovary, random="~ 1 | Mare", correlation="corSymm()")
    with pytest.raises(DataError, match=r"469 parameters \(corSymm: 465"):
        lmepy.gls(OVF, data=ovary, correlation="corSymm(form = ~ 1 | Mare)")
