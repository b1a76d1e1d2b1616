"""gls() against nlme 3.1-162 (tests/reference/nlme.json, from tests/reference/nlme.R).

Tolerances: logLik 1e-7 relative (the brief asks 1e-5), coefficients and sigma 1e-4
relative, structure parameters 1e-3 absolute on nlme's constrained scale, vcov 1e-4
relative, residuals 1e-4 absolute, intervals 1e-4 relative (nlme's own numerical Hessian is
only good to about 1e-5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy.covariance as cv
from lmepy import datasets
from lmepy.errors import DataError, FormulaError
from lmepy.gls import fit_gls, gls

REF_ALL = json.loads((Path(__file__).parent / "reference" / "nlme.json").read_text())
REF = REF_ALL["gls"]

FORMULA = {"ovary": "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)",
           "orthodont": "distance ~ age * Sex", "bodyweight": "weight ~ Time * Diet"}
DATA = {"ovary": "Ovary", "orthodont": "Orthodont", "bodyweight": "BodyWeight"}
CASES = {
    "ovary_ar1": ("corAR1(form = ~ 1 | Mare)", None, "REML"),
    "ovary_ar1_ml": ("corAR1(form = ~ 1 | Mare)", None, "ML"),
    "ovary_ols": (None, None, "REML"),
    "ovary_compsymm": ("corCompSymm(form = ~ 1 | Mare)", None, "REML"),
    "ovary_arma11": ("corARMA(p = 1, q = 1, form = ~ 1 | Mare)", None, "REML"),
    "orthodont_varident": (None, "varIdent(form = ~ 1 | Sex)", "REML"),
    "orthodont_varident_ml": (None, "varIdent(form = ~ 1 | Sex)", "ML"),
    "orthodont_corsymm": ("corSymm(form = ~ 1 | Subject)", None, "REML"),
    "orthodont_varexp": (None, "varExp(form = ~ age)", "REML"),
    "bodyweight_car1": ("corCAR1(form = ~ Time | Rat)", None, "REML"),
    "bodyweight_varpower": (None, "varPower()", "REML"),
    "bodyweight_varpower_time": (None, "varPower(form = ~ Time)", "REML"),
    "bodyweight_ar1_varpower": ("corAR1(form = ~ 1 | Rat)", "varPower()", "REML"),
    "orthodont_ar1_gaps": ("corAR1(form = ~ age | Subject)", None, "REML"),
    "orthodont_varfixed": (None, "varFixed(~ age)", "REML"),
    "ovary_ar1_nogroup": ("corAR1()", None, "REML"),
    "orthodont_varexp_strata": (None, "varExp(form = ~ age | Sex)", "REML"),
    "orthodont_varexp_log": (None, "varExp(form = ~ log(age))", "REML"),
    "orthodont_varident_fixed": (None, "varIdent(form = ~ 1 | Sex, fixed = c(Female = 0.8))",
                                 "REML"),
    "ovary_ar1_fixed": ("corAR1(0.5, form = ~ 1 | Mare, fixed = TRUE)", None, "REML"),
    "orthodont_varident_cs": ("corCompSymm(form = ~ 1 | Subject)", "varIdent(form = ~ 1 | Sex)",
                              "REML"),
}


def _values(x: object) -> list[float]:
    return list(x.values()) if isinstance(x, dict) else list(np.atleast_1d(x))  # type: ignore[union-attr]


_FITS: dict[str, object] = {}


def _fit(name: str):
    if name not in _FITS:
        cor, var, method = CASES[name]
        key = name.split("_")[0]
        _FITS[name] = gls(FORMULA[key], datasets.load(DATA[key]), correlation=cor, weights=var,
                          method=method, data_name=DATA[key])
    return _FITS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gls_estimates(name: str) -> None:
    ref = REF[name]
    fm = _fit(name)
    assert fm.method == ref["method"]
    assert fm.logLik() == pytest.approx(ref["logLik"], rel=1e-7)
    assert fm.df() == ref["df"]
    assert fm.AIC() == pytest.approx(ref["AIC"], rel=1e-7)
    assert fm.BIC() == pytest.approx(ref["BIC"], rel=1e-7)
    assert fm.sigma() == pytest.approx(ref["sigma"], rel=1e-4)
    assert list(fm.fixef().index) == list(ref["coef"])
    np.testing.assert_allclose(fm.fixef().to_numpy(), list(ref["coef"].values()), rtol=1e-4)
    np.testing.assert_allclose(fm.vcov().to_numpy(), np.array(ref["vcov"]["values"]),
                               rtol=1e-4, atol=1e-10)
    tt = fm.tTable()
    np.testing.assert_allclose(tt.to_numpy(), np.array(ref["tTable"]["values"]), rtol=1e-4,
                               atol=1e-12)
    ms = fm.modelStruct()
    ref_ms = ref["modelStruct"] or {}
    assert sorted(ms) == sorted(ref_ms)
    for part, vals in ref_ms.items():
        if isinstance(vals, dict):
            assert list(ms[part]) == list(vals)
        np.testing.assert_allclose(list(ms[part].values()), _values(vals), rtol=1e-3,
                                   atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gls_fitted_and_residuals(name: str) -> None:
    ref = REF[name]
    fm = _fit(name)
    np.testing.assert_allclose(fm.fitted().to_numpy(), ref["fitted"], atol=1e-4)
    for t in ("response", "pearson", "normalized"):
        np.testing.assert_allclose(fm.residuals(t).to_numpy(), ref["residuals_" + t],
                                   atol=1e-4, err_msg=t)


# nlme's apVar is a forward finite-difference Hessian with step eps^(1/3); in these fits it is
# numerically stable (it agrees with a central-difference Hessian to ~1e-4), so intervals can
# be compared closely. In the other fits nlme's own value moves by percents with the step
# (see tests/reference/nlme.R): no fixed reference to compare with there.
@pytest.mark.parametrize("name", ["ovary_ar1", "ovary_ar1_ml", "ovary_ols", "bodyweight_car1"])
def test_gls_intervals(name: str) -> None:
    ref = REF[name]["intervals"]
    iv = _fit(name).intervals()
    np.testing.assert_allclose(iv["coef"].to_numpy(), np.array(ref["coef"]["values"]),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(iv["sigma"].to_numpy(), list(ref["sigma"].values()), rtol=1e-4)
    for part in ("corStruct", "varStruct"):
        if part in ref:
            np.testing.assert_allclose(iv[part].to_numpy(),
                                       np.array(ref[part]["values"]).reshape(-1, 3), rtol=1e-4)
            rn = ref[part]["rownames"]
            if isinstance(rn, str):
                rn = [rn]
            if part == "varStruct" or "Phi" in rn[0] or "Rho" in rn[0]:
                assert list(iv[part].index) == rn


@pytest.mark.parametrize("name", sorted(k for k in CASES if REF[k].get("stable")))
def test_gls_intervals_against_stable_hessian(name: str) -> None:
    """Against nlme's own likelihood differentiated stably in R (see nlme.R): apVar, the
    structure and sigma intervals, all fits."""
    st = REF[name]["stable"]
    fm = _fit(name)
    # covariance entries compared on the correlation scale: |dV_ij| / sqrt(V_ii V_jj)
    av, rv = fm.apVar(), np.array(st["apVar"])
    scale = np.sqrt(np.outer(np.diag(rv), np.diag(rv)))
    assert np.max(np.abs(av - rv) / scale) < 1e-4
    np.testing.assert_allclose(np.diag(av), np.diag(rv), rtol=1e-4)
    iv = fm.intervals()
    parts = [p for p in ("corStruct", "varStruct") if p in iv]
    mine = np.vstack([iv[p].to_numpy() for p in parts])
    np.testing.assert_allclose(mine, np.array(st["structure"]["values"]).reshape(-1, 3),
                               rtol=1e-4)
    rn = st["structure"]["rownames"]
    rn = [rn] if isinstance(rn, str) else rn
    assert [f"{p}.{r}" for p in parts for r in iv[p].index] == rn
    np.testing.assert_allclose(iv["sigma"].to_numpy(), list(st["sigma"].values()), rtol=1e-4)


_NUM = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")


def _split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The text with numbers replaced by '#' (whitespace collapsed) and the numbers."""
    words, nums = [], []
    for line in text.split("\n"):
        nums += [float(m) for m in _NUM.findall(line)]
        words.append(" ".join(_NUM.sub("#", line).split()))
    return words, nums


def test_gls_summary_text_exact_without_optimization() -> None:
    # no structure parameters, so no optimizer: nlme's text digit for digit
    assert str(_fit("ovary_ols").summary()) == REF["ovary_ols"]["summary_text"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gls_summary_text(name: str) -> None:
    """Same lines, labels and layout as nlme; numbers equal to 1e-4 relative (the last
    printed digits follow where each optimizer stops)."""
    mine, ref = _split_numbers(str(_fit(name).summary())), _split_numbers(
        REF[name]["summary_text"])
    assert mine[0] == ref[0]
    np.testing.assert_allclose(mine[1], ref[1], rtol=1e-4, atol=1e-6)


def test_gls_structures_as_objects_and_specs() -> None:
    ov = datasets.load("Ovary")
    ref = REF["ovary_ar1"]
    a = gls(FORMULA["ovary"], ov, correlation=cv.corAR1(form="~ 1 | Mare"))
    from lmepy.formula.nlme import parse_cor
    b = gls(FORMULA["ovary"], ov, correlation=parse_cor("corAR1(form = ~ 1 | Mare)"))
    for fm in (a, b):
        assert fm.logLik() == pytest.approx(ref["logLik"], rel=1e-7)
        assert fm.modelStruct()["corStruct"]["Phi"] == pytest.approx(
            ref["modelStruct"]["corStruct"]["Phi"], rel=1e-3)


def test_fit_gls_with_hand_built_X_does_not_touch_data() -> None:
    ov = datasets.load("Ovary")
    before = ov.copy()
    X = pd.DataFrame({"(Intercept)": 1.0, "s": np.sin(2 * np.pi * ov.Time),
                      "c": np.cos(2 * np.pi * ov.Time)})
    fm = fit_gls(X, ov.follicles.to_numpy(), ov, correlation="corAR1(form = ~ 1 | Mare)")
    assert fm.logLik() == pytest.approx(REF["ovary_ar1"]["logLik"], rel=1e-7)
    pd.testing.assert_frame_equal(ov, before)


def test_gls_bad_input() -> None:
    ov = datasets.load("Ovary")
    with pytest.raises(ValueError, match="method"):
        gls(FORMULA["ovary"], ov, method="REM")
    with pytest.raises(DataError, match="Marx"):
        gls(FORMULA["ovary"], ov, correlation="corAR1(form = ~ 1 | Marx)")
    with pytest.raises(FormulaError):
        gls("follicles ~ Time + (1 | Mare)", ov)
    bad = ov.copy()
    bad.loc[3, "follicles"] = np.nan
    with pytest.raises(DataError, match="missing values"):
        gls(FORMULA["ovary"], bad)
    with pytest.raises(DataError, match="zero values"):
        gls(FORMULA["ovary"], ov, weights="varPower(form = ~ Time)")
    with pytest.raises(TypeError, match="weights must be R text"):
        gls(FORMULA["ovary"], ov, weights=123)
    with pytest.raises(TypeError, match="correlation structure"):
        gls(FORMULA["ovary"], ov, correlation="varIdent(form = ~ 1 | Mare)")
    with pytest.raises(DataError, match="integer"):
        gls(FORMULA["ovary"], ov, correlation="corAR1(form = ~ Time | Mare)")
    dup = ov.assign(T2=2 * ov.Time)
    with pytest.raises(DataError, match="singular"):
        gls("follicles ~ Time + T2", dup)


@pytest.mark.parametrize("name", ["ovary_ols", "orthodont_varfixed"])
def test_gls_intervals_text_exact_without_optimization(name: str) -> None:
    assert str(_fit(name).intervals()) == REF[name]["intervals_text"]


@pytest.mark.parametrize("name", sorted(k for k in CASES if REF[k].get("intervals_text")))
def test_gls_intervals_text(name: str) -> None:
    """nlme's print(intervals(fit)) layout for every fit; its numbers where nlme's own apVar
    is numerically stable (see test_gls_intervals)."""
    mine = _split_numbers(str(_fit(name).intervals()))
    ref = _split_numbers(REF[name]["intervals_text"])
    assert mine[0] == ref[0]
    if name in ("ovary_ar1", "ovary_ar1_ml", "ovary_ols", "bodyweight_car1"):
        np.testing.assert_allclose(mine[1], ref[1], rtol=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gls_print_and_anova(name: str) -> None:
    """print(fit) and anova(fit) (sequential F tests): nlme's text, numbers to 1e-4."""
    ref = REF[name]
    fm = _fit(name)
    mine, want = _split_numbers(str(fm)), _split_numbers(ref["print_text"])
    assert mine[0] == want[0]
    np.testing.assert_allclose(mine[1], want[1], rtol=1e-4, atol=1e-6)
    a = fm.anova()
    assert list(a.index) == ref["anova"]["rownames"]
    assert list(a["numDF"]) == ref["anova"]["numDF"]
    np.testing.assert_allclose(a["F-value"], ref["anova"]["Fvalue"], rtol=1e-4)
    np.testing.assert_allclose(a["p-value"], ref["anova"]["pvalue"], rtol=1e-3, atol=1e-12)
    mine, want = _split_numbers(str(a)), _split_numbers(ref["anova"]["text"])
    assert mine[0] == want[0]


def test_gls_print_exact_without_optimization() -> None:
    fm = _fit("ovary_ols")
    assert str(fm) == REF["ovary_ols"]["print_text"]
    assert str(fm.anova()) == REF["ovary_ols"]["anova"]["text"]


def test_gls_anova_between_fits() -> None:
    ov = datasets.load("Ovary")
    f = FORMULA["ovary"]
    f1 = gls(f, ov, data_name="Ovary")
    f2 = gls(f, ov, correlation="corAR1(form = ~ 1 | Mare)", data_name="Ovary")
    f3 = gls(f, ov, correlation="corARMA(p = 1, q = 1, form = ~ 1 | Mare)", data_name="Ovary")
    ref = REF_ALL["gls_anova"]["reml_f1_f2_f3"]
    a = f1.anova(f2, f3)
    assert list(a.index) == ref["rownames"] == ["f1", "f2", "f3"]
    np.testing.assert_allclose(a["df"], ref["df"])
    for col in ("AIC", "BIC", "logLik"):
        np.testing.assert_allclose(a[col], ref[col], rtol=1e-7)
    np.testing.assert_allclose(a["L.Ratio"][1:], ref["L.Ratio"][1:], rtol=1e-5)
    np.testing.assert_allclose(a["p-value"][1:], ref["pvalue"][1:], rtol=1e-3)
    assert str(a) == ref["text"]

    m1 = gls("follicles ~ sin(2*pi*Time)", ov, correlation="corAR1(form = ~ 1 | Mare)",
             method="ML")
    m2 = gls(f, ov, correlation="corAR1(form = ~ 1 | Mare)", method="ML")
    ref = REF_ALL["gls_anova"]["ml_m1_m2"]
    a = m1.anova(m2)
    assert m1.logLik() == pytest.approx(ref["m1_logLik"], rel=1e-7)
    np.testing.assert_allclose(a["L.Ratio"][1:], ref["L.Ratio"][1:], rtol=1e-4)
    mine, want = _split_numbers(str(a)), _split_numbers(ref["text"])
    assert mine[0] == want[0]
    np.testing.assert_allclose(mine[1], want[1], rtol=1e-4)
    with pytest.warns(UserWarning, match="REML comparisons"):
        gls("follicles ~ sin(2*pi*Time)", ov).anova(f1)
    with pytest.raises(ValueError, match="same estimation method"):
        m1.anova(f1)


@pytest.mark.parametrize("name", ["ovary_ar1", "orthodont_varident"])
def test_gls_predict_newdata(name: str) -> None:
    ref = REF_ALL["gls_predict"][name]
    fm = _fit(name)
    nd = pd.DataFrame(ref["newdata"])
    before = nd.copy()
    np.testing.assert_allclose(fm.predict(nd).to_numpy(), ref["fit"], rtol=1e-4)
    pd.testing.assert_frame_equal(nd, before)
    np.testing.assert_allclose(fm.predict().to_numpy(), REF[name]["fitted"], atol=1e-4)


def test_gls_reaches_nlme_maximum_on_a_flat_ridge() -> None:
    """varPower(form = ~ fitted(.) | Diet): sigma and a common shift of the three powers are
    nearly confounded, so the estimates along that ridge depend on where an optimizer stops;
    the maximized log-likelihood does not. lmepy reaches nlme's maximum (or above it)."""
    ref = REF["bodyweight_varpower_diet"]
    fm = gls(FORMULA["bodyweight"], datasets.load("BodyWeight"),
             weights="varPower(form = ~ fitted(.) | Diet)")
    assert fm.logLik() == pytest.approx(ref["logLik"], rel=1e-8)
    assert fm.logLik() >= ref["logLik"] - 1e-9 * abs(ref["logLik"])
    assert list(fm.modelStruct()["varStruct"]) == list(ref["modelStruct"]["varStruct"])
    np.testing.assert_allclose(fm.fitted().to_numpy(), ref["fitted"], rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gls_confint_and_deviance(name: str) -> None:
    ref = REF[name]
    fm = _fit(name)
    ci = fm.confint()
    assert list(ci.columns) == ref["confint"]["colnames"] == ["2.5 %", "97.5 %"]
    np.testing.assert_allclose(ci.to_numpy(), np.array(ref["confint"]["values"]), rtol=1e-4,
                               atol=1e-6)
    if fm.REML:  # nlme: a warning and NULL
        with pytest.warns(UserWarning, match="deviance undefined for REML fit"):
            assert fm.deviance() is None
    else:
        assert fm.deviance() == pytest.approx(ref["deviance"], rel=1e-8)


def test_gls_weights_formula_is_varfixed() -> None:
    od = datasets.load("Orthodont")
    fm = gls(FORMULA["orthodont"], od, weights="~ age")
    assert fm.logLik() == pytest.approx(REF["orthodont_varfixed"]["logLik"], rel=1e-9)


def test_gls_rows_not_sorted_by_group_or_time() -> None:
    """corCAR1 on BodyWeight with shuffled rows: same fit, and nlme's normalized residuals
    (whitened in data order with the blocks of the sorted groups, see residuals())."""
    ref = REF_ALL["gls_shuffled"]
    bw = datasets.load("BodyWeight")
    shuffled = bw.iloc[np.asarray(ref["permutation"]) - 1].reset_index(drop=True)
    fm = gls(FORMULA["bodyweight"], shuffled, correlation="corCAR1(form = ~ Time | Rat)")
    assert fm.logLik() == pytest.approx(ref["logLik"], rel=1e-7)
    np.testing.assert_allclose(fm.fixef().to_numpy(), list(ref["coef"].values()), rtol=1e-4)
    assert fm.modelStruct()["corStruct"]["Phi"] == pytest.approx(
        ref["modelStruct"]["corStruct.Phi"], abs=1e-3)
    np.testing.assert_allclose(fm.residuals("pearson").to_numpy(), ref["residuals_pearson"],
                               atol=1e-4)
    np.testing.assert_allclose(fm.residuals("normalized").to_numpy(),
                               ref["residuals_normalized"], atol=1e-4)


def test_gls_na_omit() -> None:
    """na_action="na.omit" drops rows missing in the response or in the structure's
    covariate, as nlme's na.action = na.omit; na.fail (default) refuses them."""
    ref = REF_ALL["gls_na"]
    od = datasets.load("Orthodont")
    od = od.assign(age2=od["age"].astype(float))
    od.loc[np.asarray(ref["na_rows"]) - 1, "distance"] = np.nan
    od.loc[np.asarray([ref["na_age2"]]) - 1, "age2"] = np.nan
    before = od.copy()
    args = dict(weights="varIdent(form = ~ 1 | Sex)",
                correlation="corCAR1(form = ~ age2 | Subject)")
    with pytest.raises(DataError, match="missing values"):
        gls(FORMULA["orthodont"], od, **args)
    fm = gls(FORMULA["orthodont"], od, na_action="na.omit", **args)
    pd.testing.assert_frame_equal(od, before)
    assert fm.nobs() == ref["nobs"]
    assert fm.logLik() == pytest.approx(ref["logLik"], rel=1e-7)
    np.testing.assert_allclose(fm.fixef().to_numpy(), list(ref["coef"].values()), rtol=1e-4)
    ms = fm.modelStruct()
    np.testing.assert_allclose([ms["corStruct"]["Phi"], ms["varStruct"]["Female"]],
                               list(ref["modelStruct"].values()), atol=1e-3)
    np.testing.assert_allclose(fm.fitted().to_numpy(), ref["fitted"], atol=1e-4)
    np.testing.assert_allclose(fm.residuals("normalized").to_numpy(),
                               ref["residuals_normalized"], atol=1e-4)


def test_gls_simulate_draws_from_the_fitted_model() -> None:
    """Mean Xβ and covariance σ² G R G (AR(1) within mare) of one mare's 29 rows, from 20000
    draws with a fixed seed: within 5 % (the sample covariance of these strongly correlated
    rows is off by ~2.5 % in this norm at 20000 draws, ~4.5 % at 6000)."""
    fm = gls(FORMULA["ovary"], datasets.load("Ovary"), correlation="corAR1(form = ~ 1 | Mare)",
             weights="varPower()")
    sims = fm.simulate(nsim=20000, seed=11)
    assert sims.shape == (fm.nobs(), 20000) and list(sims.columns[:2]) == ["sim_1", "sim_2"]
    cor = fm.problem.cor
    rows, C = cor.group_rows[0], next(iter(cor.corMatrix().values()))
    g = 1.0 / fm.problem.var.weights()[rows]
    V = fm.sigma() ** 2 * np.outer(g, g) * C
    Y = sims.to_numpy()[rows]
    mean = (fm.X.to_numpy() @ fm.fixef().to_numpy())[rows]
    assert (np.abs(Y.mean(axis=1) - mean) / np.sqrt(np.diag(V) / 20000)).max() < 4.5
    assert np.linalg.norm(np.cov(Y) - V) / np.linalg.norm(V) < 0.05
