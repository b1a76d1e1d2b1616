"""lmepy.lm and lmepy.glm against R's stats (tests/reference/lm_glm.R -> lm_glm.json):
coefficients, standard errors, deviance, AIC at 1e-8 relative (the same algorithms), and
summary/print/anova text line for line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from refdata import floats, reference

import lmepy
from lmepy.errors import DataError, FormulaError

REF = reference("lm_glm")
RTOL = 1e-8

sleepstudy = lmepy.datasets.load("sleepstudy")
cake = lmepy.datasets.load("cake")
cbpp = lmepy.datasets.load("cbpp")
sleepNA = sleepstudy.copy()
sleepNA.loc[[i - 1 for i in REF["na_rows"]], "Reaction"] = np.nan


def _fits():
    return {
        "lm_sleep": lambda: lmepy.lm("Reaction ~ Days", data=sleepstudy),
        "lm_cake": lambda: lmepy.lm("angle ~ recipe * temperature", data=cake),
        "lm_weighted": lambda: lmepy.lm("incidence/size ~ period", data=cbpp, weights="size"),
        "lm_rankdef": lambda: lmepy.lm("log(Reaction) ~ Days + I(2 * Days) + Subject",
                                       data=sleepstudy),
        "glm_logit": lambda: lmepy.glm("cbind(incidence, size - incidence) ~ period",
                                       data=cbpp, family=lmepy.binomial()),
        "glm_probit": lambda: lmepy.glm("incidence/size ~ period", data=cbpp,
                                        family=lmepy.binomial(link="probit"), weights="size"),
        "glm_poisson_offset": lambda: lmepy.glm("incidence ~ period + offset(log(size))",
                                                data=cbpp, family="poisson"),
        "glm_gamma_log": lambda: lmepy.glm("Reaction ~ Days", data=sleepstudy,
                                           family=lmepy.Gamma(link="log")),
        "glm_gaussian": lambda: lmepy.glm("Reaction ~ Days", data=sleepstudy),
        "lm_subset_na": lambda: lmepy.lm("Reaction ~ Days", data=sleepNA, subset="Days >= 2"),
        "glm_na": lambda: lmepy.glm("Reaction ~ Days", data=sleepNA,
                                    family=lmepy.Gamma(link="log")),
        "lm_noint": lambda: lmepy.lm("Reaction ~ 0 + Days", data=sleepstudy),
        "lm_intercept_only": lambda: lmepy.lm("Reaction ~ 1", data=sleepstudy),
        "glm_intercept_only": lambda: lmepy.glm("cbind(incidence, size - incidence) ~ 1",
                                                data=cbpp, family="binomial"),
        "glm_poisson_noint": lambda: lmepy.glm("incidence ~ 0 + period", data=cbpp,
                                               family=lmepy.poisson(link="sqrt")),
        "lm_na_exclude": lambda: lmepy.lm("Reaction ~ Days", data=sleepNA,
                                          na_action="na.exclude"),
        "glm_na_exclude": lambda: lmepy.glm("Reaction ~ Days", data=sleepNA,
                                            family=lmepy.Gamma(link="log"),
                                            na_action="na.exclude"),
        "glm_invgauss": lambda: lmepy.glm("Reaction ~ Days + Subject", data=sleepstudy,
                                          family=lmepy.inverse_gaussian(link="log")),
    }


FITS = _fits()
_CACHE: dict = {}


def fitted(name: str):
    if name not in _CACHE:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lmepy.LmepyWarning)
            _CACHE[name] = FITS[name]()
    return _CACHE[name]


def r_text(ours: str) -> str:
    """R's capture.output joined by newlines: the printed text without its last newline."""
    assert ours.endswith("\n")
    return ours[:-1]


def close(a, b, rtol=RTOL) -> None:
    np.testing.assert_allclose(np.asarray(a, float), floats(b) if isinstance(b, list) else b,
                               rtol=rtol, atol=0, equal_nan=True)


CASES = sorted(REF["cases"])


def test_every_case_is_fitted() -> None:
    assert sorted(set(FITS) - set(EXTRA)) == CASES
    assert len(CASES) >= 6


@pytest.mark.parametrize("name", CASES)
def test_numbers(name: str) -> None:
    ref = REF["cases"][name]
    fit = fitted(name)
    assert list(fit.coef().index) == ref["coef_names"]
    close(fit.coef(), ref["coef"])
    cm = ref["coefmat"]
    tab = fit.summary().coefficients
    assert list(tab.index) == cm["rownames"] and list(tab.columns) == cm["colnames"]
    for j, col in enumerate(tab.columns):
        # p-values below 1e-300 are the tails' own rounding
        rtol = 1e-6 if col.startswith("Pr(") else RTOL
        close(tab[col], cm["values"][j], rtol=rtol)
    v = np.array([floats(r) for r in ref["vcov"]])
    # entries that are zero but for rounding are compared on the matrix's scale
    np.testing.assert_allclose(fit.vcov().to_numpy(), v, rtol=RTOL,
                               atol=RTOL * np.nanmax(np.abs(v)), equal_nan=True)
    assert fit.deviance() == pytest.approx(ref["deviance"], rel=RTOL)
    assert fit.logLik() == pytest.approx(ref["logLik"], rel=RTOL)
    assert fit.logLik_df() == ref["logLik_df"]
    assert fit.AIC() == pytest.approx(ref["AIC"], rel=RTOL)
    assert fit.BIC() == pytest.approx(ref["BIC"], rel=RTOL)
    assert fit.nobs() == ref["nobs"]
    assert fit.df_residual() == ref["df_residual"]
    f = floats(ref["fitted"])  # R's lm takes fitted = y - residuals: a zero is 1e-13 there
    np.testing.assert_allclose(fit.fitted(), f, rtol=RTOL, atol=1e-14 * np.nanmax(np.abs(f)))
    for kind, values in ref["residuals"].items():
        # a residual that is zero but for rounding is compared on the vector's scale
        r = floats(values)
        np.testing.assert_allclose(fit.residuals(type=kind), r, rtol=1e-7,
                                   atol=1e-10 * np.nanmax(np.abs(r)))
    wald = fit.confint() if "sigma" in ref else fit.confint(method="Wald")
    close(wald.to_numpy(), np.array([floats(r) for r in ref["confint"]]))
    assert list(wald.columns) == ["2.5 %", "97.5 %"]
    if "confint_profile" in ref:
        # R >= 4.2's confint.glm: profile.glm + spline inversion, the same steps as R's
        prof = ref["confint_profile"]
        want = (floats(prof) if not isinstance(prof[0], list)
                else np.array([floats(r) for r in prof])).reshape(-1, 2)
        close(fit.confint().to_numpy(), want, rtol=1e-7)
    if "sigma" in ref:
        assert fit.sigma() == pytest.approx(ref["sigma"], rel=RTOL)


@pytest.mark.parametrize("name", CASES)
def test_summary_and_print_text(name: str) -> None:
    ref = REF["cases"][name]
    fit = fitted(name)
    assert r_text(str(fit.summary())).split("\n") == ref["summary_text"].split("\n")
    assert r_text(str(fit)).split("\n") == ref["print_text"].split("\n")


@pytest.mark.parametrize("name", CASES)
def test_sequential_anova(name: str) -> None:
    ref = REF["cases"][name]["anova"]
    fit = fitted(name)
    tab = fit.anova() if ref["colnames"][-1] == "Pr(>F)" else fit.anova(test="Chisq")
    assert list(tab.index) == ref["rownames"]
    assert list(tab.columns) == ref["colnames"]
    for col in tab.columns:
        close(tab[col], ref["values"][col], rtol=1e-6 if col.startswith("Pr(") else 1e-7)
    assert str(tab).rstrip("\n").split("\n") == ref["text"].split("\n")


@pytest.mark.parametrize("name", [c for c in CASES if "predict" in REF["cases"][c]])
def test_predict_se_fit(name: str) -> None:
    ref = REF["cases"][name]
    fit = fitted(name)
    data = {"sleepstudy": sleepstudy, "cake": cake, "cbpp": cbpp,
            "sleepNA": sleepNA}[fit.model.data_name]
    rows = [int(i) - 1 for i in ref["newdata_rows"]]
    nd = data.iloc[rows]
    pr = ref["predict"]
    with pytest.warns(lmepy.LmepyWarning) if name == "lm_rankdef" else _nowarn():
        p = fit.predict(nd, se_fit=True)
    close(p["fit"], pr["fit"])
    close(p["se_fit"], pr["se_fit"], rtol=1e-7)
    assert p.attrs["residual_scale"] == pytest.approx(pr["residual_scale"], rel=RTOL)
    if "confidence" in pr:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lmepy.LmepyWarning)
            ci = fit.predict(nd, interval="confidence")
            pi = fit.predict(nd, interval="prediction")
        for j, col in enumerate(["fit", "lwr", "upr"]):
            close(ci[col], pr["confidence"][j], rtol=1e-7)
            close(pi[col], pr["prediction"][j], rtol=1e-7)
    else:
        r = fit.predict(nd, se_fit=True, type="response")
        close(r["fit"], pr["fit_response"])
        close(r["se_fit"], pr["se_fit_response"], rtol=1e-7)


class _nowarn:
    def __enter__(self):
        import warnings

        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error", lmepy.LmepyWarning)

    def __exit__(self, *exc):
        return self._c.__exit__(*exc)


COMPARE = {
    "lm_F": (["lm0", "lm_sleep", "lm2"], None),
    "lm_Chisq": (["lm_sleep", "lm2"], "Chisq"),
    "glm_Chisq": (["glm0", "glm_logit"], "Chisq"),
    "glm_LRT": (["glm0", "glm_logit"], "LRT"),
    "glm_none": (["glm0", "glm_logit"], None),
    "glm_F": (["glm_gamma_log", "gamma2"], "F"),
}
EXTRA = {
    "lm0": lambda: lmepy.lm("Reaction ~ 1", data=sleepstudy),
    "lm2": lambda: lmepy.lm("Reaction ~ Days + Subject", data=sleepstudy),
    "glm0": lambda: lmepy.glm("cbind(incidence, size - incidence) ~ 1", data=cbpp,
                              family="binomial"),
    "gamma2": lambda: lmepy.glm("Reaction ~ Days + Subject", data=sleepstudy,
                                family=lmepy.Gamma(link="log")),
}
FITS.update(EXTRA)


@pytest.mark.parametrize("name", sorted(COMPARE))
def test_anova_comparisons(name: str) -> None:
    ref = REF["comparisons"][name]
    names, test = COMPARE[name]
    fits = [fitted(n) for n in names]
    tab = fits[0].anova(*fits[1:], test=test)
    assert list(tab.columns) == ref["colnames"]
    assert list(tab.index) == ref["rownames"]
    for col in tab.columns:
        close(tab[col], ref["values"][col], rtol=1e-6 if col.startswith("Pr(") else 1e-7)
    assert str(tab).rstrip("\n").split("\n") == ref["text"].split("\n")
    assert str(lmepy.anova(*fits, test=test)) == str(tab)


@pytest.mark.parametrize("name,test", [("glm_seq_F", "F"), ("glm_seq_none", None)])
def test_glm_sequential_tests(name: str, test: str | None) -> None:
    ref = REF["comparisons"][name]
    fit = fitted("gamma2") if name == "glm_seq_F" else fitted("glm_poisson_offset")
    tab = fit.anova(test=test)
    assert list(tab.columns) == ref["colnames"]
    for col in tab.columns:
        close(tab[col], ref["values"][col], rtol=1e-6 if col.startswith("Pr(") else 1e-7)
    assert str(tab).rstrip("\n").split("\n") == ref["text"].split("\n")


# ---- inputs ------------------------------------------------------------------------------


def test_offset_argument_equals_formula_offset() -> None:
    """offset= given as values gives the formula offset()'s fit, and is printed by name."""
    size_log = np.log(cbpp["size"].to_numpy())
    g = lmepy.glm("incidence ~ period", data=cbpp, family="poisson", offset=size_log)
    ref = REF["cases"]["glm_poisson_offset"]
    close(g.coef(), ref["coef"])
    # the null deviance of the intercept-only refit with the offset (R's glm does that refit)
    null = ref["anova"]["values"]["Resid. Dev"][0]
    assert g.null_deviance() == pytest.approx(null, rel=RTOL)
    assert g.deviance() == pytest.approx(ref["deviance"], rel=RTOL)
    assert "offset = size_log)" in g.call()


def test_random_effects_term_is_refused() -> None:
    with pytest.raises(FormulaError, match=r"lm\(\) fits fixed effects only.*lmer"):
        lmepy.lm("Reaction ~ Days + (1 | Subject)", data=sleepstudy)
    with pytest.raises(FormulaError, match=r"glm\(\) fits fixed effects only"):
        lmepy.glm("Reaction ~ Days + (Days || Subject)", data=sleepstudy)


def test_bad_inputs() -> None:
    with pytest.raises(FormulaError, match="object 'Dayz' not found. Did you mean 'Days'"):
        lmepy.lm("Reaction ~ Dayz", data=sleepstudy)
    with pytest.raises(DataError, match="weights"):
        lmepy.lm("Reaction ~ Days", data=sleepstudy, weights="nope")
    with pytest.raises(ValueError, match="family 'binomal' not found"):
        lmepy.glm("Reaction ~ Days", data=sleepstudy, family="binomal")
    with pytest.raises(DataError, match="non-positive values not allowed for the 'Gamma'"):
        lmepy.glm("I(Reaction - 300) ~ Days", data=sleepstudy, family="Gamma")
    with pytest.raises(DataError, match="y values must be 0 <= y <= 1"):
        lmepy.glm("Reaction ~ Days", data=sleepstudy, family="binomial")
    with pytest.raises(DataError, match="negative"):
        lmepy.lm("Reaction ~ Days", data=sleepstudy, weights=-np.ones(180))
    with pytest.raises(ValueError, match="type"):
        fitted("glm_logit").residuals(type="partial")
    with pytest.raises(ValueError, match="parm"):
        fitted("lm_sleep").confint(parm="Dayz")
    with pytest.raises(TypeError, match="lm fits with lm fits"):
        fitted("lm_sleep").anova(fitted("glm_gaussian"))
    with pytest.raises(ValueError, match="same size"):
        fitted("lm_sleep").anova(lmepy.lm("Reaction ~ Days", data=sleepstudy.iloc[:100]))


def test_caller_frame_is_not_modified() -> None:
    d = cbpp.copy()
    before = d.copy()
    lmepy.glm("cbind(incidence, size - incidence) ~ period", data=d, family="binomial")
    lmepy.lm("incidence/size ~ period", data=d, weights="size")
    pd.testing.assert_frame_equal(d, before)


def test_glm_factor_and_logical_response_binomial() -> None:
    """A 0/1 response as a factor (first level = failure) or bool gives the numeric fit."""
    d = sleepstudy.assign(hi=sleepstudy["Reaction"] > 300)
    d["hif"] = pd.Categorical(np.where(d["hi"], "yes", "no"), categories=["no", "yes"])
    a = lmepy.glm("hi ~ Days", data=d, family="binomial")
    b = lmepy.glm("hif ~ Days", data=d, family="binomial")
    c = lmepy.glm("I(1 * hi) ~ Days", data=d, family="binomial")
    np.testing.assert_allclose(a.coef(), c.coef(), rtol=1e-12)
    np.testing.assert_allclose(b.coef(), c.coef(), rtol=1e-12)


def test_generic_functions_dispatch() -> None:
    fit = fitted("lm_sleep")
    assert lmepy.AIC(fit) == fit.AIC()
    assert lmepy.coef(fit).equals(fit.coef())
    assert lmepy.nobs(fit) == 180


@pytest.mark.parametrize("name", ["lm_cake", "glm_probit", "glm_poisson_offset"])
def test_pickle_and_deepcopy(name: str) -> None:
    """A fit (its family with every link included) survives pickle and deepcopy and answers
    as the original."""
    import copy
    import pickle

    fit = fitted(name)
    for other in (pickle.loads(pickle.dumps(fit)), copy.deepcopy(fit)):
        assert str(other.summary()) == str(fit.summary())
        assert str(other.anova()) == str(fit.anova())
        np.testing.assert_array_equal(other.predict(cbpp if "glm" in name else cake),
                                      fit.predict(cbpp if "glm" in name else cake))


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "cauchit", "log"])
def test_every_binomial_link_pickles(link: str) -> None:
    import pickle

    fam = lmepy.binomial(link=link)
    assert pickle.loads(pickle.dumps(fam)) == fam


def test_anova_mixed_with_lm_and_glm(fm1, gm1) -> None:
    """lme4's anova(merMod, lm) and anova(merMod, glm): the model without random effects is
    a row of the likelihood-ratio table (its ML log-likelihood, rank (+ scale) parameters)."""
    import warnings

    fm_lm = fitted("lm_sleep")
    gm_glm = fitted("glm_logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lmepy.RefitMLMessage)
        tabs = {"lmer_lm": lmepy.anova(fm1, fm_lm), "glmer_glm": lmepy.anova(gm1, gm_glm)}
        # the same table with the lm first (R's anova.lm would not take the mixed model)
        assert str(fm_lm.anova(fm1, model_names=["fm_lm", "fm1"])) == str(tabs["lmer_lm"])
    for name, tab in tabs.items():
        ref = REF["comparisons"][name]
        assert list(tab.index) == ref["rownames"]
        assert list(tab.columns) == ref["colnames"]
        for col in tab.columns:
            # the mixed fits are lmepy's own optimum: 1e-6 relative
            close(tab[col], ref["values"][col], rtol=1e-6 if name == "lmer_lm" else 2e-5)
        assert str(tab).rstrip("\n").split("\n") == ref["text"].split("\n")


def test_confint_profile_parm_and_level() -> None:
    """confint(parm=, level=) profiles only the coefficients asked for, at that level."""
    fit = fitted("glm_logit")
    one = fit.confint(parm="period2", level=0.9)
    assert list(one.columns) == ["5 %", "95 %"] and list(one.index) == ["period2"]
    close(one.to_numpy()[0], REF["profile_period2_90"], rtol=1e-7)
    with pytest.raises(ValueError, match="method"):
        fit.confint(method="boot")


def test_module_level_generics() -> None:
    """lmepy.residuals(glm) is the deviance residuals (R's default for glm), as fit's own."""
    g = fitted("glm_logit")
    pd.testing.assert_series_equal(lmepy.residuals(g), g.residuals("deviance"))
    pd.testing.assert_series_equal(lmepy.residuals(g, type="pearson"), g.residuals("pearson"))
    m = fitted("lm_weighted")
    pd.testing.assert_series_equal(lmepy.resid(m), m.residuals("response"))
    assert lmepy.deviance(g) == g.deviance() and lmepy.logLik(m) == m.logLik()
    assert lmepy.formula(m) == "incidence/size ~ period"
    close(lmepy.vcov(g).to_numpy(), g.vcov().to_numpy())


def test_separation_warns_and_stops() -> None:
    """Perfectly separated 0/1 data: glm.fit's two warnings and its 25th iterate. R 4.2:
    d <- data.frame(x = 0:9, y = as.numeric(0:9 >= 5)); glm(y ~ x, binomial, d)."""
    import warnings

    d = pd.DataFrame({"x": np.arange(10.0), "y": (np.arange(10) >= 5).astype(float)})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g = lmepy.glm("y ~ x", data=d, family="binomial")
    assert [str(x.message) for x in w] == [
        "glm.fit: algorithm did not converge",
        "glm.fit: fitted probabilities numerically 0 or 1 occurred"]
    assert g.iter() == 25 and not g.converged()
    close(g.coef(), [-201.14781, 44.69951], rtol=1e-6)
    assert g.deviance() == pytest.approx(7.864775e-10, rel=1e-5)


def test_more_bad_inputs() -> None:
    with pytest.raises(DataError, match="single response column"):
        lmepy.lm("cbind(incidence, size) ~ period", data=cbpp)
    with pytest.raises(TypeError):
        lmepy.lm(["Reaction ~ Days"], data=sleepstudy)
    with pytest.raises(ValueError, match="epsilon"):
        lmepy.glm("Reaction ~ Days", data=sleepstudy, epsilon=-1)
    with pytest.raises(DataError, match="negative values not allowed for the 'Poisson'"):
        lmepy.glm("I(Days - 5) ~ Subject", data=sleepstudy, family="poisson")
    with pytest.raises(ValueError, match="link"):
        lmepy.glm("Reaction ~ Days", data=sleepstudy, family=lmepy.poisson(link="logit"))
    with pytest.raises(DataError, match="variable lengths differ"):
        lmepy.glm("Reaction ~ Days", data=sleepstudy, offset=np.zeros(3))


def test_weights() -> None:
    """R 4.2: weights(g) and weights(g, "working") of glm_logit's fit (first three rows)."""
    g = fitted("glm_logit")
    close(lmepy.weights(g).iloc[:3], [14.0, 12.0, 9.0])
    close(g.weights("working").iloc[:3],
          [2.3978831336488682, 0.88510147073041123, 0.5941417883085619], rtol=1e-8)
    assert fitted("lm_sleep").weights() is None
    close(fitted("lm_weighted").weights().iloc[:3], [14.0, 12.0, 9.0])
