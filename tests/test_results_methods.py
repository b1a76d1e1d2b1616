"""The fit objects' inference and prediction methods on real fits, against R:
summary(ddf=) and anova() as lmerTest prints them, lme4's likelihood-ratio anova() and
confint(method = "Wald") (tests/reference/inference.json), predict() on new data
(tests/reference/design.json) and on the fitted data (lmer.json, glmer.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from refdata import frame_from_spec
from rtext import last_digit_diffs, lines, rlines

from lmepy import datasets
from lmepy.results.lmer import LmerMod

REFDIR = Path(__file__).parent / "reference"
INF = json.loads((REFDIR / "inference.json").read_text())
DES = json.loads((REFDIR / "design.json").read_text())
LMER = json.loads((REFDIR / "lmer.json").read_text())["cases"]
_FITS: dict[tuple, LmerMod] = {}


def fit(formula: str, data: str, REML: bool = True, drop_rows: list | None = None,
        data_name: str | None = None, weights: str | None = None) -> LmerMod:
    key = (formula, data, REML, tuple(drop_rows or ()), data_name, weights)
    if key not in _FITS:
        from lmepy.design import lFormula
        from lmepy.fit.lmm import fit_lmm

        df = datasets.load(data)
        if drop_rows:  # 1-based rows R removed before fitting
            df = df.drop(index=df.index[np.asarray(drop_rows, dtype=int) - 1])
        if weights:  # inference.R's (and lmer.R's) prior weights
            df[weights] = LMER["ss_weights_reml"]["data_extra"][weights]
        model = lFormula(formula, df, REML=REML, weights=weights)
        model.data_name = data_name or data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[key] = LmerMod(fit_lmm(model, REML=REML))
    return _FITS[key]


LMERTEST = [(cid, ddf) for cid in INF["fits"] for ddf in ("satterthwaite", "kr")
            if f"print_summary_{ddf}" in INF["fits"][cid]]
@pytest.mark.parametrize("cid,ddf", LMERTEST)
def test_lmertest_summary_and_anova_text(cid, ddf):
    c = INF["fits"][cid]
    # the name R's call gave the data (a subset of it when rows were dropped)
    shown = next(s[len("   Data: "):] for s in c[f"print_summary_{ddf}"]
                 if s.startswith("   Data: "))
    f = fit(c["formula"], c["data"], c["REML"], c.get("drop_rows"), shown, c.get("weights"))
    method = {"satterthwaite": "Satterthwaite", "kr": "Kenward-Roger"}[ddf]
    s = f.summary(ddf=method)
    out, msgs, pos = s.format_parts()  # R's stdout, its messages apart
    last_digit_diffs(lines(out), rlines(c[f"print_summary_{ddf}"]))  # see tests/rtext.py
    assert str(s) + "\n" == out[:pos] + msgs + out[pos:]  # print() adds the last newline
    tab = c[f"coef_{ddf}"]
    assert list(s.coefficients.columns) == tab["colnames"]
    np.testing.assert_allclose(s.coefficients.to_numpy()[:, :4],
                               np.array(tab["values"], dtype=float)[:, :4], rtol=1e-4)
    assert lines(str(f.anova(ddf=method))) == rlines(c[f"print_anova_{ddf}"])


def test_lrt_anova_text():
    c = INF["lrt"]["ss_int_vs_full"]
    fm1 = fit(c["formulas"][0], c["data"])
    fm2 = fit(c["formulas"][1], c["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = fm1.anova(fm2)
    assert lines(str(tab)) == rlines(c["print"])


def test_confint_wald():
    c = INF["confint"]["ss_reml_wald"]
    f = fit("Reaction ~ Days + (Days | Subject)", "sleepstudy")
    ci = f.confint(method="Wald")
    tab = c["table"]
    assert list(ci.index) == tab["rownames"] and list(ci.columns) == tab["colnames"]
    exp = np.array([[np.nan if v is None else v for v in row] for row in tab["values"]])
    got = ci.to_numpy(dtype=float)
    assert np.array_equal(np.isnan(got), np.isnan(exp))
    ok = ~np.isnan(exp)
    np.testing.assert_allclose(got[ok], exp[ok], rtol=1e-5)


def _frame(name: str) -> pd.DataFrame:
    if name not in DES["frames"]:
        return datasets.load(name)
    return frame_from_spec(DES["frames"][name])


@pytest.mark.parametrize("cid", sorted(DES["newdata"]))
def test_predict_newdata(cid):
    """lme4's predict() of the same model fitted in R; our estimates agree to 1e-5 (fixed) and
    1e-4 (random effects), so predictions agree to 1e-4 of the residual scale."""
    c = DES["newdata"][cid]
    f = fit(c["formula"], c["data"])
    nd = _frame(c["newdata"])
    scale = f.sigma()
    exp = np.array([np.nan if v is None else v for v in c["predict"]], dtype=float)
    got = f.predict(newdata=nd, re_form=c["re_form"], allow_new_levels=c["allow_new_levels"])
    assert np.array_equal(np.isnan(got.to_numpy()), np.isnan(exp))
    ok = ~np.isnan(exp)
    assert np.all(np.abs(got.to_numpy()[ok] - exp[ok]) <= 1e-4 * scale)
    exp0 = np.array([np.nan if v is None else v for v in c["predict_fixed"]], dtype=float)
    got0 = f.predict(newdata=nd, re_form="~0").to_numpy()
    ok0 = ~np.isnan(exp0)
    assert np.all(np.abs(got0[ok0] - exp0[ok0]) <= 1e-4 * scale)
    got_na = f.predict(newdata=nd, re_form=float("nan")).to_numpy()
    np.testing.assert_array_equal(got_na, got0)


def test_predict_fitted_data_is_fitted():
    c = LMER["ss_full_reml"]
    f = fit(c["formula"], c["data"])
    exp = np.array(c["fitted"], dtype=float)
    assert np.all(np.abs(f.predict().to_numpy() - exp) <= 1e-4 * c["sigma"])
    assert np.array_equal(f.predict().to_numpy(), f.fitted().to_numpy())
    with pytest.raises(ValueError, match="'type' should be one of"):
        f.predict(type="terms")


def test_predict_new_level_error_is_lme4s():
    f = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy")
    nd = _frame("sleep_new")
    from lmepy.errors import DataError

    with pytest.raises(DataError) as info:
        f.predict(newdata=nd)
    assert str(info.value) == DES["newdata_errors"]["new_levels"]


def test_simulate_shape_and_moments():
    """simulate() draws from the fitted model (numpy's RNG, so no R values): its mean over
    many draws is X beta (+ offset) and its spread matches the fitted variance components
    (R's lme4 1.1-31 values, lmer.json)."""
    c = LMER["ss_int"]
    f = fit(c["formula"], c["data"])
    sims = f.simulate(nsim=2000, seed=42)
    assert list(sims.columns[:2]) == ["sim_1", "sim_2"] and sims.shape == (180, 2000)
    mu = f.predict(re_form="~0").to_numpy()
    assert np.abs(sims.to_numpy().mean(axis=1) - mu).max() < 5.0
    total_var = sum(v for v in c["varcorr"]["vcov"])
    assert sims.to_numpy().var(axis=1).mean() == pytest.approx(total_var, rel=0.05)


def test_generic_anova_names_models_from_caller():
    from lmepy.results import generics as g

    c = INF["lrt"]["ss_int_vs_full"]
    fm1 = fit(c["formulas"][0], c["data"])
    fm2 = fit(c["formulas"][1], c["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = g.anova(fm1, fm2)
    assert lines(str(tab)) == rlines(c["print"])
    ci = g.confint(fm2, method="Wald")
    exp = INF["confint"]["ss_reml_wald"]["table"]["values"]
    np.testing.assert_allclose(ci.to_numpy(dtype=float)[4:], np.array(exp[4:]), rtol=1e-5)
