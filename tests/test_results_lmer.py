"""LmerMod's methods on real fits (design -> fit -> results) against lme4 1.1-31
(tests/reference/lmer.json): fixef to 1e-5 relative, standard errors and variance components to
1e-4 (or, where lme4's own optimum fixes an estimate less precisely, the spread its and our end
points' distance from the objective's minimum allows: tests/optimum_precision.py), and the
printed text of summary(), print(fit) and VarCorr() line for line."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from rtext import last_digit_diffs, lines, rlines

from lmepy import datasets
from lmepy.results import generics as g
from lmepy.results import lme4print as lp
from lmepy.results.lmer import LmerMod, LogLik, VarCorr, make_unique, theta_factor

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())
CASES = REF["cases"]
_FITS: dict[str, LmerMod] = {}


def fit_case(cid: str) -> LmerMod:
    """Fit one lmer.json case as lmepy.lmer does, naming data and weights as R's call does."""
    if cid not in _FITS:
        from lmepy.design import lFormula
        from lmepy.fit.lmm import fit_lmm

        c = CASES[cid]
        df = datasets.load(c["data"])
        if c.get("data_extra"):
            df = df.copy()
            for k, v in c["data_extra"].items():
                df[k] = v
        model = lFormula(c["formula"], df, REML=c["REML"], weights=c["weights"])
        model.data_name = c["data"]
        if c["weights"]:
            model.weights_name = c["weights"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[cid] = LmerMod(fit_lmm(model, REML=c["REML"]))
    return _FITS[cid]


def estimates(sol) -> dict[str, np.ndarray]:
    """What the tests below compare, from a solution: fixef, standard errors, vcov, the
    coefficient table, sigma and as.data.frame(VarCorr)'s vcov and sdcor columns."""
    fit = LmerMod(sol)
    vc = fit.VarCorr().to_frame()
    beta = fit.fixef().to_numpy(float)
    se = np.sqrt(np.diag(fit.vcov().to_numpy(float)))
    return {"fixef": beta, "se": se, "vcov": fit.vcov().to_numpy(float),
            "coef": np.column_stack([beta, se, beta / se]),  # summary()'s table
            "sigma": np.array([fit.sigma()]),
            "vc_vcov": vc["vcov"].to_numpy(float), "vc_sdcor": vc["sdcor"].to_numpy(float)}


_PRECISION: dict[str, dict[str, np.ndarray]] = {}


def precision(cid: str) -> dict[str, np.ndarray]:
    """Per estimate, how far ours may lie from lme4's given how far each end point is above
    the true minimum of the objective (tests/optimum_precision.py); the tests take the larger
    of this and their stated tolerance. NaN entries (a correlation of a 0 sd) get 0."""
    if cid not in _PRECISION:
        from optimum_precision import Precision

        fit = fit_case(cid)
        sol = fit.sol
        shapes = {k: v.shape for k, v in estimates(sol).items()}
        pr = Precision(cid, sol.model, sol.REML, sol.objective)
        flat = pr.tolerance(lambda s: np.concatenate([v.ravel()
                                                      for v in estimates(s).values()]))
        flat = np.nan_to_num(flat, nan=0.0)
        out, pos = {}, 0
        for k, shp in shapes.items():
            n = int(np.prod(shp))
            out[k] = flat[pos: pos + n].reshape(shp)
            pos += n
        _PRECISION[cid] = out
    return _PRECISION[cid]


def full_vector(spec) -> tuple[np.ndarray | None, np.ndarray]:
    """lmer.json vectors: a plain list, or {index, values} for long ones."""
    if isinstance(spec, dict):
        return np.asarray(spec["index"], dtype=int), np.asarray(spec["values"], dtype=float)
    return None, np.asarray(spec, dtype=float)


ALL = list(CASES)

@pytest.mark.parametrize("cid", ALL)
def test_fixef_se_vcov(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    tol = precision(cid)
    fe = fit.fixef()
    assert list(fe.index) == list(c["beta"])
    beta = np.array(list(c["beta"].values()))
    assert np.all(np.abs(fe.to_numpy() - beta) <= np.maximum(1e-5 * np.abs(beta), tol["fixef"]))
    se = np.sqrt(np.diag(fit.vcov().to_numpy()))
    ref_se = np.array(list(c["se"].values()))
    assert np.all(np.abs(se - ref_se) <= np.maximum(1e-4 * ref_se, tol["se"]))
    v = fit.vcov()
    assert list(v.index) == c["vcov"]["rownames"]
    ref_v = np.array(c["vcov"]["values"])
    scale = np.sqrt(np.outer(np.diag(ref_v), np.diag(ref_v)))
    assert np.all(np.abs(v.to_numpy() - ref_v) <= np.maximum(1e-4 * scale, tol["vcov"]))
    coefs = fit.summary().coefficients
    assert list(coefs.columns) == ["Estimate", "Std. Error", "t value"]
    ref_c = np.array(c["coef_table"]["values"])
    assert np.all(np.abs(coefs.to_numpy() - ref_c) <= np.maximum(1e-4 * np.abs(ref_c),
                                                                   tol["coef"]))


@pytest.mark.parametrize("cid", ALL)
def test_varcorr_sigma(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    tol = precision(cid)
    assert abs(fit.sigma() - c["sigma"]) <= max(1e-4 * c["sigma"], tol["sigma"][0])
    fr = fit.VarCorr().to_frame()
    ref = c["varcorr"]
    assert list(fr["grp"]) == ref["grp"]
    assert [None if isinstance(x, float) and math.isnan(x) else x for x in fr["var1"]] == \
        ref["var1"]
    assert [None if isinstance(x, float) and math.isnan(x) else x for x in fr["var2"]] == \
        ref["var2"]
    got_v = fr["vcov"].to_numpy(dtype=float)
    got_s = fr["sdcor"].to_numpy(dtype=float)
    exp_v = np.array(ref["vcov"], dtype=float)
    exp_s = np.array(ref["sdcor"], dtype=float)
    sd_of = {(gr, v1): s for gr, v1, v2, s in zip(ref["grp"], ref["var1"], ref["var2"], exp_s,
                                                  strict=True) if v2 is None}
    for k, (gr, v1, v2) in enumerate(zip(ref["grp"], ref["var1"], ref["var2"], strict=True)):
        if v2 is None:
            # variances and standard deviations: 1e-4 relative; a variance lme4 puts exactly
            # on the boundary (0) must be ~0 here too
            floor = 1e-6 * c["sigma"]
            assert abs(got_s[k] - exp_s[k]) <= max(1e-4 * exp_s[k] + floor,
                                                   tol["vc_sdcor"][k]), (gr, v1)
            assert abs(got_v[k] - exp_v[k]) <= max(1e-4 * exp_v[k] + floor ** 2,
                                                   tol["vc_vcov"][k]), (gr, v1)
        else:
            # a covariance on the scale of its two standard deviations; correlations in [-1, 1]
            scale = sd_of[(gr, v1)] * sd_of[(gr, v2)]
            assert abs(got_v[k] - exp_v[k]) <= max(1e-4 * scale, tol["vc_vcov"][k]), \
                (gr, v1, v2)
            assert abs(got_s[k] - exp_s[k]) <= max(1e-4, tol["vc_sdcor"][k]), (gr, v1, v2)


@pytest.mark.parametrize("cid", ALL)
def test_criteria(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    ll = fit.logLik()
    assert isinstance(ll, LogLik)
    assert ll.df == c["logLik_df"] and ll.nobs == c["nobs"]
    assert float(ll) == pytest.approx(c["logLik"], rel=1e-6)
    assert fit.AIC() == pytest.approx(c["AIC"], rel=1e-6)
    assert fit.BIC() == pytest.approx(c["BIC"], rel=1e-6)
    assert fit.nobs() == c["nobs"]
    assert fit.df_residual() == c["df_resid"]
    assert dict(fit.ngrps()) == c["ngrps"]
    assert fit.isSingular() == c["isSingular"]
    assert list(fit.getME("theta").index) == c["theta_names"]
    assert fit.getME("cnms") == c["cnms"]
    if c["REML"]:
        assert fit.REMLcrit() == pytest.approx(c["REMLcrit"], rel=1e-6)
        with pytest.warns(UserWarning, match="deviance\\(\\) is deprecated for REML fits"):
            assert fit.deviance() == pytest.approx(c["REMLcrit"], rel=1e-6)
    else:
        assert fit.deviance() == pytest.approx(c["deviance"], rel=1e-6)
    dims = fit.getME("devcomp")["dims"]
    for k in ("N", "n", "p", "nmp", "q", "nth", "useSc", "reTrms"):
        assert dims[k] == c["dims"][k], k


@pytest.mark.parametrize("cid", ALL)
def test_ranef_condvar_coef(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    re = fit.ranef(condVar=True)
    cf = fit.coef()
    assert list(re) == list(c["ranef"])
    for grp, tab in c["ranef"].items():
        df = re[grp]
        assert len(df) == tab["nrow"]
        assert list(df.columns) == tab["colnames"]
        rows = np.asarray(tab["row_index"], dtype=int)
        assert [str(x) for x in df.index[rows]] == tab["rownames"]
        got = df.to_numpy()[rows]
        exp = np.array(tab["values"], dtype=float)
        sd = np.array([fit.VarCorr().to_frame().query("grp == grp")["sdcor"].max()])
        assert np.all(np.abs(got - exp) <= 1e-4 * np.abs(exp) + 1e-4 * sd), grp
        pv = df.attrs["postVar"]
        pv_list = pv if isinstance(pv, list) else [pv]
        for arr, ref_t in zip(pv_list, c["condVar"][grp], strict=True):
            exp_cv = np.array(ref_t["values"], dtype=float)
            got_cv = np.asarray(arr)[rows]
            assert got_cv.shape == exp_cv.shape
            tol = 1e-4 * np.abs(exp_cv) + 1e-6 * max(1.0, float(np.abs(exp_cv).max()))
            assert np.all(np.abs(got_cv - exp_cv) <= tol), grp
        ctab = c["coef"][grp]
        cdf = cf[grp]
        assert list(cdf.columns) == ctab["colnames"]
        cexp = np.array(ctab["values"], dtype=float)
        cgot = cdf.to_numpy()[rows]
        assert np.all(np.abs(cgot - cexp) <= 1e-4 * np.abs(cexp) + 1e-4 * sd), grp


@pytest.mark.parametrize("cid", ALL)
def test_fitted_residuals(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    scale = c["sigma"]
    idx, exp = full_vector(c["fitted"])
    got = fit.fitted().to_numpy()
    got = got if idx is None else got[idx]
    assert np.all(np.abs(got - exp) <= 1e-5 * np.abs(exp) + 1e-4 * scale)
    idx, exp = full_vector(c["residuals"])
    got = fit.residuals().to_numpy()
    got = got if idx is None else got[idx]
    assert np.all(np.abs(got - exp) <= 1e-4 * scale)
    rq = c["resid_quantiles"]
    sres = fit.residuals(type="pearson", scaled=True).to_numpy()
    q = np.array([rq[k] for k in ("Min", "1Q", "Median", "3Q", "Max")])
    from lmepy.rtext import quantile7

    assert np.abs(np.array(quantile7(sres)) - q).max() <= 1e-4 * np.abs(q).max()


def print_rtol(cid: str) -> float:
    """The relative tolerance of the printed numbers of a case (see the test below)."""
    fit = fit_case(cid)
    rel = [0.0]
    for k, v in estimates(fit.sol).items():
        if k in ("vcov", "fixef"):  # printed as the coefficient table's Estimate column
            continue
        t = precision(cid)[k]
        ok = np.isfinite(v) & (np.abs(v) > 0)
        if k == "vc_sdcor":  # correlations are printed to 2 decimals: absolute, not relative
            ok &= np.asarray(fit.VarCorr().to_frame()["var2"].isna())
        if ok.any():
            rel.append(float(np.max(t[ok] / np.abs(v[ok]))))
    return max(2e-4, max(rel))


@pytest.mark.parametrize("cid", ALL)
def test_printed_summary_end_to_end(cid):
    """R's text but for last-digit rounding of numbers our fit matches at the stated
    tolerances (tests/rtext.py); the exact formatting tests feed R's own numbers. A number
    printed to more digits than the fit determines it (InstEval's t value 96.108, 5 digits of
    a standard error known to 1e-4, 2.7e-4 where lme4's optimum is only that precise) may
    differ by that relative tolerance: the larger of 2e-4 (an estimate's 1e-4 and a standard
    error's 1e-4 in a t value) and the largest relative spread from precision()."""
    c = CASES[cid]
    fit = fit_case(cid)
    out, msgs, pos = lp.summary_parts(fit._print_data())
    last_digit_diffs(lines(out), rlines(c["print_summary"]), rtol=print_rtol(cid))
    assert msgs == "".join(c["print_summary_messages"])
    # str() leaves the last newline to print()
    assert str(fit.summary()) + "\n" == out[:pos] + msgs + out[pos:]


@pytest.mark.parametrize("cid", ALL)
def test_printed_fit_and_varcorr_end_to_end(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    rtol = print_rtol(cid)  # as in the summary above
    last_digit_diffs(lines(str(fit)), rlines(c["print_fit"]), rtol=rtol)
    last_digit_diffs(lines(str(fit.VarCorr())), rlines(c["print_varcorr"]), rtol=rtol)


def test_loglik_prints_as_r():
    fit = fit_case("ss_full_reml")
    assert str(fit.logLik()) == "'log Lik.' -871.8141 (df=6)"


def test_generics_call_methods():
    fit = fit_case("ss_full_reml")
    assert g.fixef(fit).equals(fit.fixef())
    assert g.sigma(fit) == fit.sigma()
    assert g.nobs(fit) == 180
    assert isinstance(g.VarCorr(fit), VarCorr)
    assert g.getME(fit, "p") == 2 and g.getME(fit, "q") == 36
    with pytest.raises(TypeError, match="no applicable method for 'fixef'"):
        g.fixef(object())


def test_getme_shapes_and_values():
    c = CASES["ss_full_reml"]
    fit = fit_case("ss_full_reml")
    assert fit.getME("Zt").shape == tuple(int(v) for v in c["Zt_dim"])
    assert fit.getME("Z").shape == tuple(int(v) for v in c["Zt_dim"])[::-1]
    lt = fit.getME("Lambdat").tocoo()
    assert lt.shape == tuple(int(v) for v in c["Lambdat"]["dim"])
    dense = fit.getME("Lambdat").toarray()
    i = np.asarray(c["Lambdat"]["i"], dtype=int)
    j = np.asarray(c["Lambdat"]["j"], dtype=int)
    assert dense[i, j] == pytest.approx(np.asarray(c["Lambdat"]["x"]), rel=1e-4, abs=1e-6)
    assert np.allclose(fit.getME("Lambda").toarray(), dense.T)
    assert fit.getME("theta").to_numpy() == pytest.approx(c["theta"], rel=1e-4)
    assert list(fit.getME("lower")) == [0.0, -math.inf, 0.0]
    assert fit.getME("u") == pytest.approx(np.asarray(c["u"]), rel=1e-3, abs=1e-3)
    mu = fit.getME("mu")
    assert np.allclose(fit.getME("y") - mu, fit.residuals().to_numpy())
    assert fit.getME("n") == 180 and fit.getME("sigma") == fit.sigma()
    with pytest.raises(ValueError, match="unknown name"):
        fit.getME("nonsense")


def test_residual_types():
    fit = fit_case("ss_weights_reml")
    w = np.asarray(fit.model.weights, dtype=float)
    r = fit.residuals().to_numpy()
    assert np.allclose(fit.residuals(type="working").to_numpy(), r)
    assert np.allclose(fit.residuals(type="pearson").to_numpy(), np.sqrt(w) * r)
    assert np.allclose(fit.residuals(type="pearson", scaled=True).to_numpy(),
                       np.sqrt(w) * r / fit.sigma())
    with pytest.raises(ValueError, match="'type' should be one of"):
        fit.residuals(type="bogus")


def test_summary_correlation_override():
    fit = fit_case("cake_ml")
    text = fit.summary().format(correlation=True)
    assert "Correlation of Fixed Effects:" in text
    assert "Correlation matrix not shown" not in text


def test_helpers():
    assert make_unique(["Subject", "Subject", "g", "Subject"]) == [
        "Subject", "Subject.1", "g", "Subject.2"]
    T = theta_factor(np.array([1.0, 2.0, 3.0]), 2)
    assert T.tolist() == [[1.0, 0.0], [2.0, 3.0]]


def test_rank_deficient_fit_prints_fit_warnings():
    """A real fit with an aliased column (D2 = 2 * Days): lme4's "fit warnings:" lines, as
    captured by tests/reference/rformat.R (data named ssx there)."""
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm

    ref = json.loads((Path(__file__).parent / "reference" / "rformat.json").read_text())
    c = ref["lme4"]["rank_deficient"]
    df = datasets.load("sleepstudy")
    df["D2"] = 2 * df["Days"]
    model = lFormula("Reaction ~ Days + D2 + (1 | Subject)", df)
    model.data_name = "ssx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = LmerMod(fit_lmm(model))
    assert lines(str(fit.summary())) == rlines(c["print_summary"])
    assert lines(str(fit)) == rlines(c["print_fit"])
    assert list(fit.fixef().index) == ["(Intercept)", "Days"]


def test_ranef_attrs_alias():
    re = fit_case("ss_diag").ranef()
    pv = re["Subject"].attrs["postVar"]
    assert isinstance(pv, list) and len(pv) == 2
    assert re["Subject"].attrs["condVar"] is pv
    assert list(re["Subject"].columns) == ["(Intercept)", "Days"]
    assert fit_case("ss_diag").ranef(condVar=False)["Subject"].attrs == {}


@pytest.mark.parametrize("cid", ALL)
def test_formula_and_weights(cid):
    c = CASES[cid]
    fit = fit_case(cid)
    assert fit.formula() == c["formula_R"]
    w = fit.weights().to_numpy()
    if c["weights"]:
        np.testing.assert_array_equal(w, np.asarray(c["data_extra"][c["weights"]]))
    else:
        assert np.all(w == 1.0)


def test_generics_reach_every_method():
    """Each module-level generic answers as the method of the same name (R's values)."""
    c = CASES["ss_weights_reml"]
    fit = fit_case("ss_weights_reml")
    assert g.formula(fit) == c["formula_R"]
    np.testing.assert_array_equal(g.weights(fit).to_numpy(), c["data_extra"]["w"])
    assert g.REMLcrit(fit) == pytest.approx(c["REMLcrit"], rel=1e-6)
    assert g.AIC(fit) == pytest.approx(c["AIC"], rel=1e-6)
    assert g.BIC(fit) == pytest.approx(c["BIC"], rel=1e-6)
    assert float(g.logLik(fit)) == pytest.approx(c["logLik"], rel=1e-6)
    assert dict(g.ngrps(fit)) == c["ngrps"]
    assert g.isSingular(fit) == c["isSingular"]
    assert g.coef(fit)["Subject"].shape == (18, 2)
    assert g.ranef(fit)["Subject"].shape == (18, 2)
    assert g.vcov(fit).shape == (2, 2)
    assert g.summary(fit).coefficients.shape == (2, 3)
    assert len(g.fitted(fit)) == len(g.residuals(fit)) == len(g.resid(fit)) == c["nobs"]
    with pytest.raises(TypeError, match="no applicable method for 'modelStruct'"):
        g.modelStruct(fit)


def test_print_of_str_is_r_output_exactly(capsys):
    """print(fit.summary()) writes exactly R's lines: str() leaves the final newline to
    print(), so no extra empty line appears (R's own trailing empty line, after the singular
    message, stays)."""
    for cid in ("ss_full_reml", "dye2_reml"):
        c = CASES[cid]
        print(fit_case(cid).summary())
        got = capsys.readouterr().out
        assert [s.rstrip() for s in got.split("\n")] == rlines(c["print_summary"]) + [""]
        print(fit_case(cid))
        got = capsys.readouterr().out
        assert [s.rstrip() for s in got.split("\n")] == rlines(c["print_fit"]) + [""]
