"""Inputs: control dicts, argument types, non-finite data, float grouping values, character
responses, duplicated columns, dates and polars frames, each against R's behaviour
(tests/reference/inputs.R -> inputs.json) where R has one."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from refdata import reference

import lmepy
from lmepy.errors import DataError, LmepyError
from lmepy.fit.control import check_control, valid_keys

R = reference("inputs")
FORM = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return lmepy.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def ortho() -> pd.DataFrame:
    return lmepy.datasets.load("Orthodont")


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---- control= ------------------------------------------------------------------------------
KINDS = {"lmer": "lmerControl", "glmer": "glmerControl", "lme": "lmeControl",
         "gls": "glsControl"}


def py_name(r_name: str) -> str:
    return r_name.replace(".", "_")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_r_control_name_is_known(kind: str) -> None:
    """Each of R's names (dots as underscores) is a valid key: at R's default it is accepted,
    an implemented one checks its value, an unimplemented one refuses others by name."""
    names = [py_name(n) for n in R["control_names"][KINDS[kind]]]
    assert set(names) <= set(valid_keys(kind))
    for name in names:
        with pytest.raises((NotImplementedError, TypeError, ValueError)) as info:
            check_control({name: object()}, kind)
        assert name in str(info.value)
        assert "unknown control setting" not in str(info.value)


def test_unknown_control_key_lists_valid_ones(sleep: pd.DataFrame) -> None:
    with pytest.raises(ValueError) as info:
        lmepy.lmer(FORM, sleep, control={"no_such_key": 1})
    msg = str(info.value)
    assert "unknown control setting 'no_such_key' for lme4::lmerControl" in msg
    assert "Valid settings: blas_threads, boundary_tol, calc_derivs" in msg
    with pytest.raises(ValueError, match="Did you mean 'boundary_tol'"):
        lmepy.lmer(FORM, sleep, control={"boundry_tol": 1e-5})
    with pytest.raises(ValueError, match="Python spells R's 'check.conv.grad' as "
                                         "'check_conv_grad'"):
        lmepy.lmer(FORM, sleep, control={"check.conv.grad": "ignore"})
    with pytest.raises(TypeError, match="'control' must be a dict"):
        lmepy.lmer(FORM, sleep, control=["optimizer"])


def test_optimizer_not_implemented_is_never_ignored(sleep: pd.DataFrame) -> None:
    with pytest.raises(NotImplementedError, match="'Nelder_Mead' is not implemented in lmepy: "
                                                  "it fits with 'nloptwrap'"):
        lmepy.lmer(FORM, sleep, control={"optimizer": "Nelder_Mead"})
    cbpp = lmepy.datasets.load("cbpp")
    gform = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    with pytest.raises(NotImplementedError, match="it fits with 'bobyqa'"):
        lmepy.glmer(gform, cbpp, family=lmepy.binomial(), control={"optimizer": "nloptwrap"})
    with pytest.raises(ValueError, match="must be one of lme4's optimizers"):
        lmepy.lmer(FORM, sleep, control={"optimizer": "BFGS"})
    # the optimizer lmepy uses, and R's defaults spelled out, fit as without them
    base = lmepy.lmer(FORM, sleep)
    same = lmepy.lmer(FORM, sleep, control={"optimizer": "nloptwrap", "sparseX": False,
                                            "check_conv_grad": "warning", "optCtrl": {}})
    assert np.array_equal(base.fixef().to_numpy(), same.fixef().to_numpy())
    g0 = quiet(lmepy.glmer, gform, cbpp, family=lmepy.binomial())
    g1 = quiet(lmepy.glmer, gform, cbpp, family=lmepy.binomial(),
               control={"optimizer": ["bobyqa", "Nelder_Mead"], "tolPwrss": 1e-7})
    assert np.array_equal(g0.fixef().to_numpy(), g1.fixef().to_numpy())


def test_unimplemented_r_setting_raises_naming_it(sleep: pd.DataFrame, ortho: pd.DataFrame
                                                  ) -> None:
    with pytest.raises(NotImplementedError, match=r"control\['sparseX'\] \(lme4::lmerControl's "
                                                  r"sparseX\) is not implemented"):
        lmepy.lmer(FORM, sleep, control={"sparseX": True})
    with pytest.raises(NotImplementedError, match="nlme::lmeControl's msMaxIter"):
        lmepy.lme("distance ~ age", ortho, random="~ 1 | Subject",
                  control={"msMaxIter": 500})
    with pytest.raises(NotImplementedError, match="nlme::glsControl's singular.ok"):
        lmepy.gls("distance ~ age", ortho, control={"singular_ok": True})
    with pytest.raises(ValueError, match="unknown control setting 'restart_edge' for "
                                         "nlme::glsControl"):
        lmepy.gls("distance ~ age", ortho, control={"restart_edge": True})


def test_control_values_are_checked(sleep: pd.DataFrame, ortho: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match=r"control\['restart_edge'\] must be True or False, "
                                        "not 'no'"):
        lmepy.lmer(FORM, sleep, control={"restart_edge": "no"})
    with pytest.raises(ValueError, match=r"control\['boundary_tol'\] must be >= 0"):
        lmepy.lmer(FORM, sleep, control={"boundary_tol": -1})
    with pytest.raises(TypeError, match=r"control\['optCtrl'\]\['maxfun'\] must be an integer"):
        lmepy.lmer(FORM, sleep, control={"optCtrl": {"maxfun": "many"}})
    with pytest.raises(ValueError, match=r"unknown optimizer setting control\['optCtrl'\]"
                                         r"\['maxit'\]"):
        lmepy.lmer(FORM, sleep, control={"optCtrl": {"maxit": 10}})
    with pytest.raises(NotImplementedError, match=r"control\['optCtrl'\]\['algorithm'\] = "
                                                  "'NLOPT_LN_NELDERMEAD' is not implemented"):
        lmepy.lmer(FORM, sleep, control={"optCtrl": {"algorithm": "NLOPT_LN_NELDERMEAD"}})
    lmepy.lmer(FORM, sleep, control={"optCtrl": {"algorithm": "NLOPT_LN_BOBYQA"}})
    with pytest.raises(ValueError, match=r"control\['maxIter'\] must be >= 1, not 0"):
        lmepy.lme("distance ~ age", ortho, random="~ 1 | Subject", control={"maxIter": 0})
    with pytest.raises(ValueError, match=r"control\['tolerance'\] must be finite"):
        lmepy.gls("distance ~ age", ortho, control={"tolerance": math.nan})
    # the caller's dict is not modified (maxfun is read as nlopt's maxeval)
    ctrl = {"optCtrl": {"maxfun": 20000}}
    fit = lmepy.lmer(FORM, sleep, control=ctrl)
    assert ctrl == {"optCtrl": {"maxfun": 20000}}
    assert np.allclose(fit.fixef(), lmepy.lmer(FORM, sleep).fixef(), rtol=0, atol=0)


@pytest.mark.parametrize("start, message", [
    ([math.nan, 0, 1], r"contains NA/NaN/Inf values \(nloptr: x0 contains NA\)"),
    ([1, math.inf, 1], "contains NA/NaN/Inf values"),
    ([1, 0], "has 2 values, the model has 3 parameters"),
    ([-1, 0, 1], "value 1 .-1. is below its lower bound 0"),
    ([[1, 0, 1]], "must be a vector"),
    ("abc", "must be a vector of numbers"),
])
def test_bad_start_vector_is_an_error_not_a_crash(sleep: pd.DataFrame, start: object,
                                                  message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        lmepy.lmer(FORM, sleep, control={"start": start})


def test_good_start_vector_reaches_the_optimum(sleep: pd.DataFrame) -> None:
    base = lmepy.lmer(FORM, sleep)
    fit = lmepy.lmer(FORM, sleep, control={"start": [0.5, 0.0, 0.5]})
    assert abs(float(fit.logLik()) - float(base.logLik())) < 1e-7


# ---- argument types and values -----------------------------------------------------------------
def test_reml_must_be_a_bool(sleep: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="'REML' must be True or False, not 'FALSE'"):
        lmepy.lmer(FORM, sleep, REML="FALSE")
    with pytest.raises(TypeError, match="'REML' must be True or False, not int 0"):
        lmepy.lmer(FORM, sleep, REML=0)
    ml = lmepy.lmer(FORM, sleep, REML=False)
    ml_np = lmepy.lmer(FORM, sleep, REML=np.bool_(False))
    assert float(ml.logLik()) == float(ml_np.logLik())
    assert ml.summary().__str__().startswith("Linear mixed model fit by maximum likelihood")


@pytest.mark.parametrize("nAGQ, exc, message", [
    (-1, ValueError, "'nAGQ' must be between 0 and 25, not -1"),
    (26, ValueError, "'nAGQ' must be between 0 and 25, not 26"),
    (1.5, ValueError, "'nAGQ' must be a whole number, not 1.5"),
    ("1", TypeError, "'nAGQ' must be an integer, not '1'"),
    (True, TypeError, "'nAGQ' must be an integer, not bool True"),
])
def test_nagq_range_and_type(nAGQ: object, exc: type, message: str) -> None:
    cbpp = lmepy.datasets.load("cbpp")
    with pytest.raises(exc, match=message):
        lmepy.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                    family=lmepy.binomial(), nAGQ=nAGQ)


def test_method_formula_and_names_are_checked(sleep: pd.DataFrame, ortho: pd.DataFrame
                                              ) -> None:
    with pytest.raises(ValueError, match="'method' must be one of 'REML', 'ML', not 'reml'"):
        lmepy.lme("distance ~ age", ortho, random="~ 1 | Subject", method="reml")
    with pytest.raises(TypeError, match="'method' must be one of 'REML', 'ML', not bool True"):
        lmepy.gls("distance ~ age", ortho, method=True)
    with pytest.raises(ValueError, match="'na_action' must be one of"):
        lmepy.gls("distance ~ age", ortho, na_action="omit")
    with pytest.raises(TypeError, match="'formula' must be a string, not int 3"):
        lmepy.lmer(3, sleep)
    with pytest.raises(TypeError, match="'fixed' must be a string"):
        lmepy.lme(None, ortho, random="~ 1 | Subject")
    with pytest.raises(TypeError, match="'data_name' must be a string"):
        lmepy.lmer(FORM, sleep, data_name=5)


# ---- non-finite values ---------------------------------------------------------------------
def test_inf_predictor_is_a_data_error_as_r_stops(sleep: pd.DataFrame) -> None:
    """R: "NA/NaN/Inf in foreign function call"; before, lmepy dropped Days as rank deficient
    and printed a model without it."""
    assert "NA/NaN/Inf in foreign function call" in R["inf_predictor_error"]
    d = sleep.copy()
    d.loc[2, "Days"] = math.inf
    with pytest.raises(DataError, match=r"variable 'Days' has an infinite value \(Inf or -Inf\) "
                                        r"in 1 row of the model"):
        lmepy.lmer(FORM, d)
    assert math.isinf(d.loc[2, "Days"])  # the caller's frame is untouched
    d.loc[[5, 9], "Days"] = -math.inf
    with pytest.raises(DataError, match="'Days' has an infinite value .* in 3 rows"):
        lmepy.lmer("Reaction ~ 1 + (Days | Subject)", d)


def test_nan_rows_are_still_dropped(sleep: pd.DataFrame) -> None:
    d = sleep.copy()
    d.loc[[2, 40], "Days"] = math.nan
    fit = lmepy.lmer(FORM, d)
    ref = lmepy.lmer(FORM, sleep.drop(index=[2, 40]))
    assert fit.nobs() == 178
    assert np.allclose(fit.fixef(), ref.fixef(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", ["log0", "response", "weights", "offset"])
def test_other_infinite_model_variables(sleep: pd.DataFrame, case: str) -> None:
    d = sleep.copy()
    d["x"] = np.arange(len(d), dtype=float)
    kw: dict = {}
    form = FORM
    name = {"log0": "log(x)", "response": "Reaction", "weights": "weights",
            "offset": "offset"}[case]
    if case == "log0":
        form = "Reaction ~ log(x) + (1 | Subject)"
    elif case == "response":
        d.loc[7, "Reaction"] = math.inf
    else:
        v = np.ones(len(d))
        v[4] = math.inf
        kw[case] = v
    with pytest.raises(DataError, match=rf"variable '{re.escape(name)}' has an infinite value "
                                        r".* in 1 row"):
        lmepy.lmer(form, d, **kw)


def test_glmer_infinite_offset_and_response() -> None:
    cbpp = lmepy.datasets.load("cbpp").copy()
    cbpp["lsize"] = np.log(cbpp["size"].astype(float))
    cbpp.loc[3, "lsize"] = -math.inf
    with pytest.raises(DataError, match="variable 'offset\\(lsize\\)' has an infinite value"):
        lmepy.glmer("incidence ~ period + offset(lsize) + (1 | herd)", cbpp,
                    family=lmepy.poisson())
    cbpp = lmepy.datasets.load("cbpp").copy()
    cbpp["incidence"] = cbpp["incidence"].astype(float)
    cbpp.loc[0, "incidence"] = math.inf
    with pytest.raises(DataError, match="variable 'incidence' has an infinite value"):
        lmepy.glmer("incidence ~ period + (1 | herd)", cbpp, family=lmepy.poisson())


def test_inf_grouping_value_is_a_level_as_in_r(sleep: pd.DataFrame) -> None:
    """R's factor() of a double has a level "Inf": lme4 fits it."""
    d = sleep.copy()
    d["g"] = d["Subject"].astype(int).astype(float)
    d.loc[d["g"] == 309, "g"] = math.inf
    fit = lmepy.lmer("Reaction ~ Days + (1 | g)", d)
    assert int(fit.ngrps()["g"]) == 18
    assert "Inf" in list(fit.ranef()["g"].index)


def test_lme_gls_infinite_covariates(ortho: pd.DataFrame) -> None:
    d = ortho.copy()
    d["x"] = d["age"].astype(float)
    d.loc[5, "x"] = -math.inf
    with pytest.raises(DataError, match="variable 'x' has an infinite value .* in 1 row"):
        lmepy.lme("distance ~ x", d, random="~ 1 | Subject")
    with pytest.raises(DataError, match="variable 'x' has an infinite value"):
        lmepy.lme("distance ~ age", d, random="~ x | Subject")
    with pytest.raises(DataError, match="variable 'x' has an infinite value"):
        lmepy.gls("distance ~ x", d)
    # nlme: corFactor.corCAR1: NA/NaN/Inf in foreign function call; before: NaN coefficients
    for cor in ("corCAR1(form = ~ x | Subject)", "corAR1(form = ~ x | Subject)"):
        with pytest.raises(DataError, match="variable 'x' has an infinite value"):
            lmepy.gls("distance ~ age", d, correlation=cor)
        with pytest.raises(DataError, match="variable 'x' has an infinite value"):
            lmepy.lme("distance ~ age", d, random="~ 1 | Subject", correlation=cor)


def test_variance_covariate_with_zeros(ortho: pd.DataFrame) -> None:
    """nlme: gls says "computed gls fit is singular", lme "NA/NaN/Inf in foreign function
    call"; before, lmepy returned NaN coefficients."""
    d = ortho.copy()
    d["v"] = d["age"] - 8.0
    for fit in (lambda: lmepy.gls("distance ~ age", d, weights="varFixed(~ v)"),
                lambda: lmepy.lme("distance ~ age", d, random="~ 1 | Subject",
                                  weights="varFixed(~ v)")):
        with pytest.raises(DataError, match=r"varFixed\(form = ~v\) gives 27 rows an infinite "
                                            "or zero weight"):
            fit()
    d.loc[0, "v"] = math.inf
    with pytest.raises(DataError, match="variable 'v' has an infinite value"):
        lmepy.gls("distance ~ age", d, weights="varExp(form = ~ v)")


def test_huge_weights_are_an_error_not_a_nan_fit(sleep: pd.DataFrame) -> None:
    assert R["huge_weights_error"] == "Downdated VtV is not positive definite"
    for w in (np.full(len(sleep), 1e300), np.r_[1e300, np.ones(len(sleep) - 1)]):
        with pytest.raises(LmepyError, match="the model cannot be fitted: the deviance is not "
                                             "finite"):
            quiet(lmepy.lmer, "Reaction ~ Days + (1 | Subject)", sleep, weights=w)
    # tiny weights scale the residual variance only: R fits them (logLik of the unweighted
    # fit plus sum(log w) / 2)
    tiny = quiet(lmepy.lmer, "Reaction ~ Days + (1 | Subject)", sleep,
                 weights=np.full(len(sleep), 1e-300))
    assert math.isfinite(float(tiny.logLik()))


# ---- grouping by doubles, responses, column names -------------------------------------------
def test_float_grouping_levels_follow_r(sleep: pd.DataFrame) -> None:
    from lmepy.design.values import numeric_factor

    f = numeric_factor(np.array(R["float_levels"]["x"]))
    assert f.levels == R["float_levels"]["levels"]
    assert (f.data + 1).tolist() == R["float_levels"]["codes"]
    ref = R["float_grouping"]
    d = sleep.copy()
    d["g"] = ref["g"]
    fit = quiet(lmepy.lmer, "Reaction ~ Days + (1 | g)", d)
    assert int(fit.ngrps()["g"]) == ref["ngrps"] == 4
    assert list(fit.ranef()["g"].index) == ref["levels"]
    assert abs(float(fit.logLik()) - ref["logLik"]) < 1e-6
    lfit = lmepy.lme("Reaction ~ Days", d, random="~ 1 | g")
    assert list(lfit.ranef().index) == R["float_grouping_lme"]["levels"]
    assert abs(float(lfit.logLik()) - R["float_grouping_lme"]["logLik"]) < 1e-6
    # a Categorical of such floats: one level per printed value, too
    d["gc"] = pd.Categorical(d["g"])
    fit_c = quiet(lmepy.lmer, "Reaction ~ Days + (1 | gc)", d)
    assert list(fit_c.ranef()["gc"].index) == ref["levels"]


def test_binomial_response_types_as_r() -> None:
    ref = R["binomial_response"]
    cbpp = lmepy.datasets.load("cbpp").copy()
    cbpp["ychr"] = ref["y"]
    with pytest.raises(DataError, match="^" + ref["character_error"]):
        lmepy.glmer("ychr ~ period + (1 | herd)", cbpp, family=lmepy.binomial())
    cbpp["yfac"] = pd.Categorical(cbpp["ychr"])
    fit = quiet(lmepy.glmer, "yfac ~ period + (1 | herd)", cbpp, family=lmepy.binomial())
    want = pd.Series(ref["factor_fixef"])
    assert np.allclose(fit.fixef()[want.index], want, rtol=1e-4, atol=1e-4)


def test_duplicated_and_multiindex_columns_are_data_errors(sleep: pd.DataFrame) -> None:
    d = pd.concat([sleep, sleep[["Days"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicated column names \('Days'\)"):
        lmepy.lmer(FORM, d)
    m = sleep.copy()
    m.columns = pd.MultiIndex.from_tuples([("a", c) for c in sleep.columns])
    with pytest.raises(DataError, match="MultiIndex .* column names"):
        lmepy.lmer(FORM, m)


# ---- dates and polars -----------------------------------------------------------------------
def test_date_predictor_is_days_since_1970_as_r(sleep: pd.DataFrame) -> None:
    ref = R["date"]
    d = sleep.copy()
    d["Date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(d["Days"], unit="D")
    fit = lmepy.lmer("Reaction ~ Date + (1 | Subject)", d)
    d["num"] = ref["origin_days"] + d["Days"]
    same = lmepy.lmer("Reaction ~ num + (1 | Subject)", d)
    assert np.array_equal(fit.fixef().to_numpy(), same.fixef().to_numpy())
    # R's fit: an intercept 18262 days from the data, so ill-conditioned; the slope and the
    # log-likelihood are well determined
    assert abs(fit.fixef()["Date"] - ref["fixef"]["Date"]) < 1e-6
    assert abs(fit.fixef()["(Intercept)"] - ref["fixef"]["(Intercept)"]) < 0.05
    assert float(fit.logLik()) >= ref["logLik"] - 1e-6
    assert abs(float(fit.logLik()) - ref["logLik"]) < 1e-4
    # datetime.date objects and time-zone-aware timestamps are dates too
    d["Date2"] = d["Date"].dt.date
    d["Date3"] = d["Date"].dt.tz_localize("UTC")
    for col in ("Date2", "Date3"):
        f2 = lmepy.lmer(f"Reaction ~ {col} + (1 | Subject)", d)
        assert np.array_equal(f2.fixef().to_numpy(), fit.fixef().to_numpy())


def test_timedelta_column_says_how_to_convert(sleep: pd.DataFrame) -> None:
    d = sleep.copy()
    d["dt"] = pd.to_timedelta(d["Days"], unit="D")
    with pytest.raises(DataError, match="column 'dt' has a type .* convert it to numbers"):
        lmepy.lmer("Reaction ~ dt + (1 | Subject)", d)


def test_polars_frames_and_lazy_frames(sleep: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"Reaction": sleep["Reaction"].to_numpy(),
                          "Days": sleep["Days"].to_numpy(),
                          "Subject": sleep["Subject"].astype(str).tolist()})
    base = lmepy.lmer(FORM, sleep)
    for data in (frame, frame.lazy()):
        fit = lmepy.lmer(FORM, data)
        assert np.allclose(fit.fixef(), base.fixef(), rtol=1e-9, atol=0)
        assert abs(float(fit.logLik()) - float(base.logLik())) < 1e-8
    # an Enum keeps its level order, as a pandas Categorical
    levels = [str(s) for s in sleep["Subject"].cat.categories][::-1]
    enum = frame.with_columns(pl.col("Subject").cast(pl.Enum(levels)))
    fit = lmepy.lmer(FORM, enum)
    assert list(fit.ranef()["Subject"].index) == levels


# ---- arguments of the fit methods -----------------------------------------------------------
@pytest.fixture(scope="module")
def fits(sleep: pd.DataFrame, ortho: pd.DataFrame) -> dict:
    return {"lmer": lmepy.lmer(FORM, sleep),
            "lme": lmepy.lme("distance ~ age", ortho, random="~ 1 | Subject"),
            "gls": lmepy.gls("distance ~ age", ortho)}


@pytest.mark.parametrize("kind, call, exc, message", [
    ("lmer", lambda f: f.confint(level=2, method="Wald"), ValueError,
     "'level' must be between 0 and 1 .a confidence level such as 0.95., not 2"),
    ("lmer", lambda f: f.confint(level="a", method="Wald"), TypeError,
     "'level' must be a number, not 'a'"),
    ("lmer", lambda f: f.confint(parm=5, method="Wald"), TypeError,
     "'parm' must be a parameter name or a list of names, not int 5"),
    ("lmer", lambda f: f.confint(method="boot", nsim=0), ValueError, "'nsim' must be >= 1"),
    ("lmer", lambda f: f.simulate(nsim=1.5), ValueError, "'nsim' must be a whole number"),
    ("lmer", lambda f: f.simulate(seed="a"), TypeError, "'seed' must be an integer"),
    ("lmer", lambda f: f.simulate(use_u="no"), TypeError, "'use_u' must be True or False"),
    ("lmer", lambda f: f.ranef(condVar="no"), TypeError, "'condVar' must be True or False"),
    ("lmer", lambda f: f.summary(ddf=5), TypeError, "'ddf' must be a string, not int 5"),
    ("lmer", lambda f: f.summary(correlation="x"), TypeError,
     "'correlation' must be True or False"),
    ("lmer", lambda f: f.anova(5), TypeError,
     r"anova\(\) compares fitted models; argument 2 is int 5"),
    ("lmer", lambda f: f.anova(f, refit="no"), TypeError, "'refit' must be True or False"),
    ("lmer", lambda f: f.predict(re_form=3), TypeError, "'re_form' must be None, a formula"),
    ("lmer", lambda f: f.predict(allow_new_levels="yes"), TypeError,
     "'allow_new_levels' must be True or False"),
    ("lmer", lambda f: lmepy.simulate(f, nsim=-1), ValueError, "'nsim' must be >= 1, not -1"),
    ("lme", lambda f: f.predict(level=5), ValueError,
     r"'level' must be between 0 and 1 \(the number of grouping levels\), not 5"),
    ("lme", lambda f: f.predict(level="a"), TypeError, "'level' must be an integer"),
    ("lme", lambda f: f.intervals(level=2), ValueError, "'level' must be between 0 and 1"),
    ("lme", lambda f: f.simulate(nsim=-1), ValueError, "'nsim' must be >= 1"),
    ("lme", lambda f: f.anova(5), TypeError, "anova.. compares fitted models"),
    ("gls", lambda f: f.confint(level=-1), ValueError, "'level' must be between 0 and 1"),
    ("gls", lambda f: f.intervals(level=1.5), ValueError, "'level' must be between 0 and 1"),
    ("gls", lambda f: f.simulate(nsim=0), ValueError, "'nsim' must be >= 1, not 0"),
])
def test_method_arguments_are_checked(fits: dict, kind: str, call: Callable, exc: type,
                                      message: str) -> None:
    with pytest.raises(exc, match=message):
        call(fits[kind])


def test_checked_methods_still_answer(fits: dict) -> None:
    f = fits["lmer"]
    ci = f.confint(method="Wald", level=np.float64(0.9))
    assert list(ci.columns) == ["5 %", "95 %"]
    assert f.simulate(nsim=np.int64(2), seed=np.int64(3)).shape == (180, 2)
    assert f.predict(re_form=math.nan).shape == (180,)
    assert fits["lme"].predict(level=0).shape == (108,)


@pytest.mark.parametrize("call, exc, message", [
    (lambda d, o: lmepy.lmer(FORM, d, weights={"a": 1}), DataError,
     "'weights' must be a column name or numeric values, not dict"),
    (lambda d, o: lmepy.lmer(FORM, d, offset=np.ones((len(d), 2))), DataError,
     r"'offset' must be a vector, not an array of shape \(180, 2\)"),
    (lambda d, o: lmepy.lme("distance ~ age", o, random=5), TypeError,
     "'random' must be a formula text"),
    (lambda d, o: lmepy.lme("distance ~ age", o, random="~ 1 | Subject", weights=5), TypeError,
     "weights must be R text such as \"varIdent"),
    (lambda d, o: lmepy.lme("distance ~ age", o, random="~ 1 | Subject", correlation=[1]),
     TypeError, "correlation must be R text such as \"corAR1"),
    (lambda d, o: lmepy.lmer(FORM, d, correlation=5), TypeError,
     "correlation must be R text"),
])
def test_entry_argument_types(sleep: pd.DataFrame, ortho: pd.DataFrame, call: Callable,
                              exc: type, message: str) -> None:
    with pytest.raises(exc, match=message):
        call(sleep, ortho)


def test_float_group_labels_in_nlme_fits(sleep: pd.DataFrame) -> None:
    """Group and stratum labels are R's as.character() (1.0 is "1", 0.1 + 0.2 is "0.3"), and
    predict(newdata) finds the groups whatever the column's number type."""
    d = sleep.copy()
    d["g"] = d["Subject"].astype(int).astype(float)
    fit = lmepy.lme("Reaction ~ Days", d, random="~ 1 | g")
    assert list(fit.ranef().index)[:2] == ["308", "309"]
    nd = d.head(3).assign(g=d["g"].head(3).astype(int))
    assert np.allclose(fit.predict(nd), fit.fitted()[:3], rtol=1e-12, atol=0)
    d["h"] = np.where(d["g"] % 2 == 0, 0.1 + 0.2, 0.7)
    g = lmepy.gls("Reaction ~ Days", d, weights="varIdent(form = ~ 1 | h)")
    assert list(g.modelStruct()["varStruct"]) == ["0.7"]  # the reference stratum is "0.3"


def test_text_response_of_lmer_as_lme4(sleep: pd.DataFrame) -> None:
    """lme4: "response must be numeric" for lmer and non-binomial glmer (text or factor)."""
    d = sleep.copy()
    d["y"] = np.where(d["Reaction"] > 300, "a", "b")
    with pytest.raises(DataError, match="^response must be numeric: 'y' holds text"):
        lmepy.lmer("y ~ Days + (1 | Subject)", d)
    with pytest.raises(DataError, match="^response must be numeric"):
        lmepy.glmer("y ~ Days + (1 | Subject)", d, family=lmepy.poisson())
    d["yf"] = pd.Categorical(d["y"])
    with pytest.raises(DataError, match="^response must be numeric$"):
        lmepy.lmer("yf ~ Days + (1 | Subject)", d)



def test_extreme_variance_covariate_as_nlme(ortho: pd.DataFrame) -> None:
    """varPower on a covariate holding one 1e300: nlme fits it (a power near 0)."""
    ref = R["huge_variance_covariate"]
    o = ortho.copy()
    o["v"] = o["age"].astype(float)
    o.loc[3, "v"] = 1e300
    fit = lmepy.lme("distance ~ age", o, random="~ 1 | Subject",
                    weights="varPower(form = ~ v)")
    assert float(fit.logLik()) >= ref["logLik"] - 1e-6
    assert abs(float(fit.logLik()) - ref["logLik"]) < 1e-4
    assert abs(fit.modelStruct()["varStruct"]["power"] - ref["power"]) < 1e-5


def test_dates_in_structures_and_newdata(sleep: pd.DataFrame) -> None:
    """A Date as a correlation covariate is days too (nlme's corCAR1 on a Date), and
    predict(newdata) reads a Date column as the fit did."""
    d = sleep.copy()
    d["Date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(d["Days"], unit="D")
    g_date = lmepy.gls("Reaction ~ Days", d, correlation="corCAR1(form = ~ Date | Subject)")
    g_days = lmepy.gls("Reaction ~ Days", d, correlation="corCAR1(form = ~ Days | Subject)")
    assert g_date.modelStruct() == g_days.modelStruct()
    fit = lmepy.lmer("Reaction ~ Date + (1 | Subject)", d)
    assert np.allclose(fit.predict(d.head(5)), fit.fitted()[:5], rtol=1e-12, atol=0)
