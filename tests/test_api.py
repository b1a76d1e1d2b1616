"""The public entry points of DESIGN.md, end to end against lme4's printed output."""

import json
from pathlib import Path

import pandas as pd

import lmepy

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())["cases"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in str(text).rstrip("\n").split("\n")]


def _with_extra(case: dict) -> pd.DataFrame:
    df = lmepy.datasets.load(case["data"])
    for k, v in (case.get("data_extra") or {}).items():
        df[k] = v
    return df


def test_data_line_names_the_callers_variable():
    sleepstudy = lmepy.datasets.load("sleepstudy")
    fit = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    assert _lines(fit.summary()) == [s.rstrip() for s in REF["ss_full_reml"]["print_summary"]]


def test_weights_line_by_column_name_and_by_array():
    c = REF["ss_weights_reml"]
    sleepstudy = _with_extra(c)
    before = sleepstudy.copy()
    expected = [s.rstrip() for s in c["print_summary"]]
    fit = lmepy.lmer(c["formula"], data=sleepstudy, weights="w")
    assert _lines(fit.summary()) == expected
    w = sleepstudy["w"].to_numpy()
    fit = lmepy.lmer(c["formula"], data=sleepstudy, weights=w)
    assert _lines(fit.summary()) == expected
    pd.testing.assert_frame_equal(sleepstudy, before)  # the caller's frame is untouched


def test_module_level_generics_match_methods():
    fit = lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=lmepy.datasets.load("Dyestuff"))
    c = REF["dye_reml"]
    assert float(lmepy.fixef(fit)["(Intercept)"]) == fit.fixef()["(Intercept)"]
    assert abs(lmepy.sigma(fit) / c["sigma"] - 1) < 1e-4
    assert abs(float(lmepy.logLik(fit)) / c["logLik"] - 1) < 1e-6
    assert lmepy.nobs(fit) == c["nobs"]
    assert abs(lmepy.REMLcrit(fit) / c["REMLcrit"] - 1) < 1e-6


def test_glmer_gaussian_identity_goes_to_lmer_with_lme4s_warning():
    import pytest

    with pytest.warns(UserWarning, match="calling glmer"):
        fit = lmepy.glmer("Yield ~ 1 + (1 | Batch)", data=lmepy.datasets.load("Dyestuff"),
                          family=lmepy.gaussian())
    assert abs(fit.REMLcrit() / REF["dye_reml"]["REMLcrit"] - 1) < 1e-6


def test_lme_and_gls_stay_callable_after_their_packages_load():
    orthodont = lmepy.datasets.load("Orthodont")
    for _ in range(2):  # the first call imports lmepy.lme / lmepy.gls internals
        fit = lmepy.lme("distance ~ age", data=orthodont, random="~ age | Subject")
        gfit = lmepy.gls("distance ~ age", data=orthodont)
    assert callable(lmepy.lme) and callable(lmepy.gls)
    assert fit.fixef().index.tolist() == ["(Intercept)", "age"]
    assert gfit.coef().index.tolist() == ["(Intercept)", "age"]
