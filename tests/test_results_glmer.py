"""GlmerMod on real glmer fits (design -> fit_glmm -> results) against lme4 1.1-31
(tests/reference/glmer.json): estimates at the GLMM fit tolerances used by tests/test_glmer.py
(the Laplace likelihood is flat: lme4's optimum and ours agree to 1e-10 in logLik but only to
~1e-5 in the estimates), criteria, residual types, and the printed text."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rtext import last_digit_diffs, lines

import lmepy
from lmepy.design.types import CompiledModel, ReTerm, ReTrms
from lmepy.errors import DataError
from lmepy.fit import family as fam
from lmepy.results import lme4print as lp
from lmepy.results.glmer import GlmerMod
from lmepy.results.lmer import LogLik

FITS = json.loads((Path(__file__).parent / "reference" / "glmer.json").read_text())["fits"]
_CACHE: dict[str, GlmerMod] = {}


def _scalar_term(group: str, values: pd.Series) -> ReTerm:
    cat = pd.Categorical(values.astype(str) if not isinstance(values.dtype,
                                                              pd.CategoricalDtype) else values)
    cat = cat.remove_unused_categories()
    return ReTerm(group=group, levels=[str(v) for v in cat.categories],
                  codes=np.asarray(cat.codes, dtype=np.int64), cnms=["(Intercept)"],
                  rows=np.ones((len(values), 1)))


def _grouseticks(d: pd.DataFrame, formula: str) -> CompiledModel:
    """lme4's model built directly: glmer allows a factor with one level per row (INDEX),
    which lFormula's lmer check refuses."""
    from lmepy.formula import model_terms

    year = d["YEAR"].astype(str)
    X = pd.DataFrame({"(Intercept)": 1.0, "YEAR96": (year == "96").astype(float),
                      "YEAR97": (year == "97").astype(float),
                      "HEIGHT": d["HEIGHT"].astype(float)})
    terms = [_scalar_term("INDEX", d["INDEX"]), _scalar_term("BROOD", d["BROOD"]),
             _scalar_term("LOCATION", d["LOCATION"])]
    return CompiledModel(terms=model_terms(formula), frame=d, X=X,
                         y=d["TICKS"].to_numpy(float), reTrms=ReTrms(terms))


def fit_case(name: str) -> GlmerMod:
    if name in _CACHE:
        return _CACHE[name]
    from lmepy.design import lFormula
    from lmepy.fit.glmm import fit_glmm

    f = FITS[name]
    family = {"binomial": fam.binomial, "poisson": fam.poisson,
              "Gamma": fam.Gamma}[f["family"]](f["link"])
    if "data" in f:  # simulated in glmer.R, stored in the fixture
        d = pd.DataFrame(f["data"])
        d["g"] = pd.Categorical(d["g"])
    else:
        d = lmepy.datasets.load({"cbpp_laplace": "cbpp", "cbpp_agq9": "cbpp",
                                 "cbpp_probit": "cbpp", "cbpp_weights": "cbpp",
                                 "cbpp_nagq0": "cbpp", "grouseticks": "grouseticks",
                                 "contraception": "Contraception"}[name])
    weights = None
    if f.get("weights_col"):
        d = d.assign(prop=d["incidence"] / d["size"])
        weights = d[f["weights_col"]].to_numpy(dtype=float)
    try:
        m = lFormula(f["formula"], d, family=family, weights=weights)
    except DataError:
        if name != "grouseticks":
            raise
        m = _grouseticks(d, f["formula"])
    m.data_name = "data"
    if f.get("weights_col"):
        m.weights_name = f["weights_col"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _CACHE[name] = GlmerMod(fit_glmm(m, family, nAGQ=int(f["nAGQ"]), weights=weights))
    return _CACHE[name]


def vec(v) -> np.ndarray:
    return np.atleast_1d(np.asarray(v, dtype=float))


NAMES = list(FITS)


@pytest.mark.parametrize("name", NAMES)
def test_estimates_and_table(name):
    f = FITS[name]
    fit = fit_case(name)
    rb = vec(f["beta"])
    fe = fit.fixef()
    assert list(fe.index) == list(np.atleast_1d(f["beta_names"]))
    assert np.all(np.abs(fe.to_numpy() - rb) <= 1e-4 * np.maximum(1.0, np.abs(rb)))
    se = np.sqrt(np.diag(fit.vcov().to_numpy()))
    np.testing.assert_allclose(se, vec(f["se"]), rtol=1e-3)
    tab = fit.summary().coefficients
    assert list(tab.columns) == list(f["coef_columns"])
    ref = np.array([vec(c) for c in f["coefficients"]]).T
    np.testing.assert_allclose(tab.iloc[:, 2].to_numpy(), ref[:, 2], rtol=1e-3)
    # p-values: 2 * pnorm(-|z|), compared on the log scale they are printed on
    np.testing.assert_allclose(np.log(tab.iloc[:, 3].to_numpy()), np.log(ref[:, 3]),
                               rtol=1e-3)


@pytest.mark.parametrize("name", NAMES)
def test_criteria(name):
    f = FITS[name]
    fit = fit_case(name)
    ll = fit.logLik()
    assert isinstance(ll, LogLik) and ll.df == f["df"] and ll.nobs == f["nobs"]
    for ours, ref in ((float(ll), f["logLik"]), (fit.AIC(), f["AIC"]), (fit.BIC(), f["BIC"])):
        assert abs(ours - ref) <= 1e-5 * abs(ref)
    assert fit.deviance() == pytest.approx(f["deviance"], rel=1e-4)
    assert fit.df_residual() == f["df_resid"]
    assert fit.nobs() == f["nobs"]
    with pytest.raises(ValueError, match="can't compute REML deviance for a non-LMM"):
        fit.REMLcrit()
    assert fit.getME("devcomp")["dims"]["GLMM"] == 1


@pytest.mark.parametrize("name", NAMES)
def test_varcorr_and_residuals(name):
    f = FITS[name]
    fit = fit_case(name)
    fr = fit.VarCorr().to_frame()
    grp = list(np.atleast_1d(f["varcorr"][0]))
    assert list(fr["grp"]) == grp  # a Residual row only for a family with a scale (Gamma)
    np.testing.assert_allclose(fr["sdcor"].to_numpy(float), vec(f["varcorr"][4]), rtol=1e-3,
                               atol=1e-3)
    for typ in ("deviance", "pearson", "working", "response"):
        ref = vec(f["residuals"][typ])
        np.testing.assert_allclose(fit.residuals(type=typ).to_numpy(), ref, rtol=1e-3,
                                   atol=1e-4 * max(1.0, float(np.max(np.abs(ref)))))
    np.testing.assert_allclose(fit.residuals().to_numpy(), vec(f["residuals"]["deviance"]),
                               rtol=1e-3, atol=1e-4 * max(1.0, float(np.max(np.abs(
                                   vec(f["residuals"]["deviance"]))))))
    np.testing.assert_allclose(fit.fitted().to_numpy(), vec(f["fitted"]), rtol=1e-3,
                               atol=1e-6)


# Known gaps, not rounding: lme4's stage 2 is Nelder-Mead and ours BOBYQA (the optimizer
# line and lme4's own max|grad| messages differ; our deviance is equal or lower), and on a
# singular fit we reach theta = 0 where lme4 stops at 3e-8.
TEXT_KNOWN_GAPS = {
    "contraception": "stage-2 optimizer: BOBYQA vs lme4's Nelder_Mead (5th-digit estimates)",
    "grouseticks": "stage-2 optimizer: BOBYQA vs lme4's Nelder_Mead (5th-digit estimates)",
    "singular": "theta exactly 0 where lme4 stops at 3.2e-8",
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    reason=TEXT_KNOWN_GAPS[n], strict=False)) if n in TEXT_KNOWN_GAPS else n for n in NAMES])
def test_printed_text_end_to_end(name):
    f = FITS[name]
    fit = fit_case(name)
    last_digit_diffs(lines(str(fit.summary())), [s.rstrip() for s in f["summary"]])
    last_digit_diffs(lines(str(fit)), [s.rstrip() for s in f["print"]])


def test_title_and_family_line():
    fit = fit_case("cbpp_agq9")
    d = fit._print_data()
    assert d.title == ("Generalized linear mixed model fit by maximum likelihood "
                       "(Adaptive Gauss-Hermite Quadrature, nAGQ = 9)")
    assert lp.prt_family(d.family, d.link) == " Family: binomial  ( logit )\n"
    assert d.sigma is None
