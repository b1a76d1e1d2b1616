"""glmer fits (PIRLS, Laplace, adaptive Gauss-Hermite) against lme4 1.1-31.

Reference values: tests/reference/glmer.R -> glmer.json. Tolerances (the project's targets):
the optimized deviance within 1e-5 relative of lme4's or lower, fixed effects within 1e-4
(absolute, or relative for |beta| > 1), standard errors within 1e-3 relative; lme4's deviance
function at given (theta, beta) within 1e-6 relative.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy
from lmepy.design.types import CompiledModel, ReTerm, ReTrms
from lmepy.errors import DataError
from lmepy.fit import family as fam
from lmepy.fit.glmm import AGQ_SCALAR_ONLY, fit_glmm, gh_rule, make_devfun

REF = json.loads((Path(__file__).parent / "reference" / "glmer.json").read_text())
FITS = REF["fits"]


def _vec(v: object) -> np.ndarray:
    return np.atleast_1d(np.asarray(v, dtype=float))


# ---- models ------------------------------------------------------------------------------


def _scalar_term(group: str, values: pd.Series) -> ReTerm:
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    return ReTerm(group=group, levels=[str(x) for x in cat.cat.categories],
                  codes=np.asarray(cat.cat.codes, dtype=np.int64), cnms=["(Intercept)"],
                  rows=np.ones((len(values), 1)))


def _grouseticks_by_hand(d: pd.DataFrame) -> CompiledModel:
    """lme4's model for TICKS ~ YEAR + HEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION), built
    directly: glmer allows a grouping factor with as many levels as rows (INDEX), which the
    design stage's lmer checks refuse."""
    year = d["YEAR"].astype(str)
    X = pd.DataFrame({"(Intercept)": 1.0, "YEAR96": (year == "96").astype(float),
                      "YEAR97": (year == "97").astype(float),
                      "HEIGHT": d["HEIGHT"].astype(float)})
    terms = [_scalar_term("INDEX", d["INDEX"]), _scalar_term("BROOD", d["BROOD"]),
             _scalar_term("LOCATION", d["LOCATION"])]
    return CompiledModel(terms=None, frame=d, X=X, y=d["TICKS"].to_numpy(float),
                         reTrms=ReTrms(terms))


def _model(name: str) -> tuple[CompiledModel, fam.Family, int]:
    from lmepy.design import lFormula

    f = FITS[name]
    family = {"binomial": fam.binomial, "poisson": fam.poisson,
              "Gamma": fam.Gamma}[f["family"]](f["link"])
    formula = f["formula"]
    if "data" in f:  # simulated in glmer.R, stored in the fixture
        d = pd.DataFrame(f["data"])
        d["g"] = pd.Categorical(d["g"])
    else:
        d = lmepy.datasets.load({"cbpp_laplace": "cbpp", "cbpp_agq9": "cbpp",
                                 "cbpp_probit": "cbpp", "cbpp_weights": "cbpp",
                                 "cbpp_nagq0": "cbpp",
                                 "grouseticks": "grouseticks",
                                 "contraception": "Contraception"}[name])
    weights = None
    if f.get("weights_col"):  # proportions with weights = trials
        d = d.assign(prop=d["incidence"] / d["size"])
        weights = d[f["weights_col"]].to_numpy(dtype=float)
    try:
        m = lFormula(formula, d, family=family, weights=weights)
    except DataError:
        if name != "grouseticks":
            raise
        m = _grouseticks_by_hand(d)
    return m, family, int(f["nAGQ"])


_CACHE: dict[str, object] = {}


def _fit(name: str):
    if name not in _CACHE:
        m, family, nagq = _model(name)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            sol = fit_glmm(m, family, nAGQ=nagq)
        _CACHE[name] = (sol, [str(w.message) for w in rec])
    return _CACHE[name]


NAMES = list(FITS)


# ---- the deviance functions at given parameters -------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_deviance_function_values(name: str) -> None:
    m, family, nagq = _model(name)
    f = FITS[name]
    df = make_devfun(m, family, nagq)
    got = [df(_vec(p)) for p in f["devfun"]["points"]]
    np.testing.assert_allclose(got, f["devfun"]["values"], rtol=1e-6)
    df0 = make_devfun(m, family, 0)
    got0 = [df0(_vec(p)) for p in f["devfun0"]["points"]]
    np.testing.assert_allclose(got0, f["devfun0"]["values"], rtol=1e-6)


# ---- the fits ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fit_estimates(name: str) -> None:
    sol, _ = _fit(name)
    f = FITS[name]
    r_dev = f["devcomp"]["dev"]
    assert sol.fval <= r_dev + 1e-5 * abs(r_dev)
    if f["nAGQ"] == 0:  # one-dimensional stage 1: the same optimum and objective as lme4
        assert sol.fval == pytest.approx(r_dev, rel=1e-9)
    assert list(sol.fixef().index) == f["beta_names"]
    rb = _vec(f["beta"])
    np.testing.assert_array_less(np.abs(sol.fixef().to_numpy() - rb),
                                 1e-4 * np.maximum(1.0, np.abs(rb)))
    np.testing.assert_allclose(sol.theta, _vec(f["theta"]), rtol=1e-3, atol=1e-4)
    se = np.sqrt(np.diag(sol.vcov().to_numpy()))
    np.testing.assert_allclose(se, _vec(f["se"]), rtol=1e-3)
    np.testing.assert_allclose(sol.vcov().to_numpy(), np.asarray(f["vcov"]), rtol=5e-3,
                               atol=1e-3 * float(np.max(np.abs(f["vcov"]))))
    np.testing.assert_allclose(sol.sigma * np.sqrt(np.diag(sol.vcov_rx_unscaled)),
                               np.sqrt(np.diag(np.asarray(f["vcov_rx"]))), rtol=1e-3)


@pytest.mark.parametrize("name", NAMES)
def test_fit_summary_numbers(name: str) -> None:
    sol, _ = _fit(name)
    f = FITS[name]
    assert sol.npar() == f["df"]
    assert sol.nobs() == f["nobs"]
    assert sol.df_residual() == f["df_resid"]
    for ours, ref in [(sol.logLik(), f["logLik"]), (sol.AIC(), f["AIC"]),
                      (sol.BIC(), f["BIC"])]:
        assert abs(ours - ref) <= 1e-5 * abs(ref)
    assert sol.deviance() == pytest.approx(f["deviance"], rel=1e-4)
    assert sol.devcomp["drsum"] == pytest.approx(f["devcomp"]["drsum"], rel=1e-4)
    assert sol.devcomp["ussq"] == pytest.approx(f["devcomp"]["ussq"], rel=1e-3, abs=1e-4)
    assert sol.sigma == pytest.approx(f.get("sigma", 1.0), rel=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_fitted_residuals_ranef(name: str) -> None:
    sol, _ = _fit(name)
    f = FITS[name]
    np.testing.assert_allclose(sol.fitted, f["fitted"], rtol=1e-3, atol=1e-6)
    for typ in ("deviance", "pearson", "working", "response"):
        ref = np.asarray(f["residuals"][typ], dtype=float)
        np.testing.assert_allclose(sol.residuals_of(typ), ref, rtol=1e-3,
                                   atol=1e-4 * max(1.0, float(np.max(np.abs(ref)))))
    re = sol.ranef()
    for group, ref in f["ranef"].items():
        got = re[group]
        assert list(got.index) == list(ref["levels"])
        assert list(got.columns) == list(np.atleast_1d(ref["columns"]))
        for j, col in enumerate(got.columns):
            vals = np.asarray(ref["values"][j], dtype=float)
            np.testing.assert_allclose(got[col].to_numpy(), vals, atol=2e-3)
    np.testing.assert_allclose(sol.u, f["u"], atol=2e-3)


def _unique(msgs: list[str]) -> set[str]:
    out = set()
    for m in msgs:  # R's message() text ends with a newline
        out.update(x.strip() for x in m.split(";"))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_convergence_messages(name: str) -> None:
    """The Hessian diagnostics are lme4's; a gradient warning may only be ours when lme4
    gave one too (our optimum is at least as good)."""
    sol, warned = _fit(name)
    ref = _unique(f for key in ("warnings", "messages")
                  for f in np.atleast_1d(FITS[name][key]) if f)
    ours = _unique(sol.conv_messages)
    for prefix in ("Model is nearly", "boundary (singular)"):
        assert {m for m in ours if m.startswith(prefix)} == {m for m in ref
                                                             if m.startswith(prefix)}
    assert sol.singular == ("boundary (singular) fit: see help('isSingular')" in ref)
    if any(m.startswith("Model failed to converge with max|grad|") for m in ours):
        assert any(m.startswith("Model failed to converge with max|grad|") for m in ref)
    assert _unique(warned) >= ours


# ---- pieces --------------------------------------------------------------------------------


def test_gauss_hermite_rules() -> None:
    for g in REF["ghrule"]:
        z, w, ld = gh_rule(g["n"])
        np.testing.assert_allclose(z, _vec(g["z"]), atol=1e-13)
        np.testing.assert_allclose(w, _vec(g["w"]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ld, _vec(g["ldnorm"]), rtol=1e-13)


def test_kernels_match_family_references() -> None:
    from lmepy.kernels import glm_family as gf
    from lmepy.kernels import glm_kernels as gk  # a broken build fails here, never skips

    rng = np.random.default_rng(7)
    n = 500
    eta = np.concatenate([rng.normal(scale=5, size=n - 4), [-31.0, 31.0, -30.0, 30.0]])
    wt = rng.integers(1, 6, size=n).astype(float)
    off = rng.normal(size=n)
    b = fam.binomial()
    mu = b.linkinv(eta)
    y = rng.integers(0, 6, size=n) / 5.0
    w, z = gf.working(*gf.codes("binomial", "logit"), eta, mu, y, wt, off)
    me = b.mu_eta(eta)
    np.testing.assert_allclose(w, wt * me * me / b.variance(mu), rtol=1e-13)
    np.testing.assert_allclose(z, eta - off + (y - mu) / me, rtol=1e-13)
    np.testing.assert_allclose(gf.dev_resids(0, y, mu, wt), b.dev_resids(y, mu, wt),
                               rtol=1e-13, atol=1e-300)
    p = fam.poisson()
    eta = rng.normal(scale=3, size=n)
    mu = p.linkinv(eta)
    yc = rng.poisson(3.0, size=n).astype(float)
    w, z = gf.working(*gf.codes("poisson", "log"), eta, mu, yc, wt, off)
    me = p.mu_eta(eta)
    np.testing.assert_allclose(w, wt * me * me / p.variance(mu), rtol=1e-13)
    np.testing.assert_allclose(z, eta - off + (yc - mu) / me, rtol=1e-13)
    np.testing.assert_allclose(gf.dev_resids(1, yc, mu, wt), p.dev_resids(yc, mu, wt),
                               rtol=1e-13)
    codes = rng.integers(0, 17, size=n).astype(np.int64)
    np.testing.assert_allclose(gk.group_sums(codes, wt, 17),
                               np.bincount(codes, wt, minlength=17), rtol=1e-14)


def test_agq_needs_one_scalar_term() -> None:
    assert REF["errors"]["agq_two_terms"] == AGQ_SCALAR_ONLY
    assert REF["errors"]["agq_vector_term"] == AGQ_SCALAR_ONLY
    m, family, _ = _model("contraception")
    with pytest.raises(ValueError) as ei:
        fit_glmm(m, family, nAGQ=5)
    assert str(ei.value) == REF["errors"]["agq_vector_term"]
    m, family, _ = _model("grouseticks")
    with pytest.raises(ValueError) as ei:
        fit_glmm(m, family, nAGQ=2)
    assert str(ei.value) == REF["errors"]["agq_two_terms"]


def test_response_errors_and_warnings() -> None:
    m, _, _ = _model("cbpp_laplace")
    y = np.asarray(m.y, dtype=float)
    frac = y[:, 0] / y.sum(axis=1) * 2
    bad = CompiledModel(terms=None, frame=m.frame, X=m.X, y=frac, reTrms=m.reTrms)
    with pytest.raises(DataError) as ei:
        fit_glmm(bad, "binomial")
    assert str(ei.value) == REF["errors"]["binomial_range"]

    g, _, _ = _model("grouseticks")
    neg = np.asarray(g.y, dtype=float).copy()
    neg[0] = -1
    badp = CompiledModel(terms=None, frame=g.frame, X=g.X, y=neg, reTrms=g.reTrms)
    with pytest.raises(DataError) as ei:
        fit_glmm(badp, "poisson")
    assert str(ei.value) == REF["errors"]["poisson_negative"]

    half = np.asarray(g.y, dtype=float) + 0.5
    one = [g.reTrms.terms[1]]  # (1 | BROOD)
    halfm = CompiledModel(terms=None, frame=g.frame, X=g.X.iloc[:, :3], y=half,
                          reTrms=ReTrms(one))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        make_devfun(halfm, "poisson", 0)
    msgs = [str(w.message) for w in rec]
    assert REF["warnings_noninteger_poisson"][0] in msgs

    const = CompiledModel(terms=None, frame=m.frame, X=m.X, y=np.zeros(m.n), reTrms=m.reTrms)
    with pytest.raises(DataError) as ei:
        fit_glmm(const, "binomial")
    assert str(ei.value) == REF["errors"]["response_constant"]

    with pytest.raises(DataError):
        fit_glmm(CompiledModel(terms=None, frame=m.frame, X=m.X,
                               y=np.array(["a"] * m.n, dtype=object), reTrms=m.reTrms),
                 "poisson")


def test_caller_frame_untouched() -> None:
    f = FITS["poisson_offset"]
    d = pd.DataFrame(f["data"])
    d["g"] = pd.Categorical(d["g"])
    before = d.copy(deep=True)
    from lmepy.design import lFormula

    m = lFormula(f["formula"], d, family=fam.poisson())
    fit_glmm(m, "poisson", control={"calc_derivs": False})
    pd.testing.assert_frame_equal(d, before)
    assert math.isfinite(fit_glmm(m, "poisson", nAGQ=0).fval)


def test_reweighter_matches_cross_products() -> None:
    """PIRLS refills the LMM core's cross-products in place; they must equal a fresh
    ``cross_products`` with the same weights and response (layout drift shows here)."""
    from lmepy.fit.blocks import BlockedCholesky, cross_products
    from lmepy.fit.reweight import Reweighter

    rng = np.random.default_rng(11)
    for name, theta in [("grouseticks", np.array([0.5, 0.7, 0.4])),
                        ("contraception", np.array([0.6, -0.5, 0.4])),
                        ("cbpp_laplace", np.array([0.6]))]:
        m, _, _ = _model(name)
        X = m.X.to_numpy(dtype=float)
        n = X.shape[0]
        for XX in (X, np.zeros((n, 0))):
            rw = Reweighter(m.reTrms.terms, XX)
            for _ in range(2):
                w = rng.uniform(0.2, 3.0, n)
                z = rng.normal(size=n)
                bc = rw.refill(w, z)
                got = bc.update(theta)
                u1, b1 = bc.solve()
                cp = cross_products(m.reTrms.terms, XX, z, w)
                bc2 = BlockedCholesky(cp)
                ref = bc2.update(theta)
                u2, b2 = bc2.solve()
                np.testing.assert_allclose(got, ref, rtol=1e-12)
                np.testing.assert_allclose(u1, u2, rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)


def test_gaussian_identity_is_refused_with_lme4s_words() -> None:
    from lmepy.fit.glmm import GAUSSIAN_IDENTITY

    assert GAUSSIAN_IDENTITY == REF["warnings_gaussian"]
    m, _, _ = _model("poisson_offset")
    with pytest.raises(ValueError) as ei:
        fit_glmm(m, fam.gaussian())
    assert str(ei.value) == REF["warnings_gaussian"]


def test_offset_argument_adds_to_the_formula_offset() -> None:
    """lme4 treats ``offset =`` as a formula ``offset()`` term: the same fit."""
    from lmepy.design import lFormula

    f = FITS["poisson_offset"]
    d = pd.DataFrame(f["data"])
    d["g"] = pd.Categorical(d["g"])
    m = lFormula("y ~ x + (1 | g)", d, family=fam.poisson())
    half = np.log(d["expo"].to_numpy()) / 2
    m.offset = half.copy()
    sol = fit_glmm(m, "poisson", offset=half, control={"calc_derivs": False})
    np.testing.assert_array_less(np.abs(sol.beta - _vec(f["beta"])), 1e-4)
    assert sol.objective <= f["devcomp"]["dev"] * (1 + 1e-5)


def test_quadrature_kernels_match_numpy() -> None:
    from lmepy.kernels import glm_family as gf  # a broken build fails here, never skips

    rng = np.random.default_rng(5)
    n, m = 400, 23
    codes = rng.integers(0, m, size=n).astype(np.int64)
    eta = np.concatenate([rng.normal(scale=4, size=n - 3), [-35.0, 35.0, 0.0]])
    wt = rng.integers(1, 9, size=n).astype(float)
    y = rng.integers(0, 9, size=n) / 8.0
    b = fam.binomial()
    ref = np.bincount(codes, b.dev_resids(y, b.linkinv(eta), wt), minlength=m)
    np.testing.assert_allclose(gf.group_dev(0, 0, eta, y, wt, codes, m), ref, rtol=1e-12)
    p = fam.poisson()
    yc = rng.poisson(2.0, size=n).astype(float)
    ref = np.bincount(codes, p.dev_resids(yc, p.linkinv(eta), wt), minlength=m)
    np.testing.assert_allclose(gf.group_dev(1, 4, eta, yc, wt, codes, m), ref,
                               rtol=1e-12)


def test_plain_solve_fallback_matches_blocked_factor() -> None:
    """The sparse-LU fallback (used when the augmented factor's response pivot cancels)
    solves the same penalized least squares as the blocked factor."""
    from lmepy.fit.glmm import _Glmm, _prepare_response

    m, family, _ = _model("grouseticks")
    g = _Glmm(m, _prepare_response(m, family, None, None))
    theta = _vec(FITS["grouseticks"]["theta"])
    beta = _vec(FITS["grouseticks"]["beta"])
    rng = np.random.default_rng(2)
    w = rng.uniform(0.5, 2.0, m.n)
    z = rng.normal(size=m.n)
    for b in (None, beta):
        u1, b1, ld1, ldx1, _ = g._solve(theta, w, z, b)
        u2, b2, ld2, ldx2 = g._solve_plain(theta, w, z, b)
        np.testing.assert_allclose(u2, u1, rtol=1e-10, atol=1e-12)
        assert ld2 == pytest.approx(ld1, rel=1e-12)
        if b is None:
            np.testing.assert_allclose(b2, b1, rtol=1e-10)
            assert ldx2 == pytest.approx(ldx1, rel=1e-10)


# ---- the speed paths: each against the general code it replaces ----------------------------


def test_fused_and_aic_kernels_match_family_references() -> None:
    from lmepy.kernels import glm_family as gf
    from lmepy.kernels import glm_kernels as gk  # a broken build fails here, never skips

    rng = np.random.default_rng(21)
    n = 400
    b = fam.binomial()
    eta = np.concatenate([rng.normal(scale=4, size=n - 2), [-31.0, 31.0]])
    wt = rng.integers(1, 9, size=n).astype(float)
    y = rng.integers(0, 9, size=n) / 8.0
    mu, dr = gf.mu_dev(0, 0, eta, y, wt)
    np.testing.assert_allclose(mu, b.linkinv(eta), rtol=1e-15)
    assert dr == pytest.approx(float(np.sum(b.dev_resids(y, mu, wt))), rel=1e-12)
    trials = wt.copy()  # proportions with trials as weights (cbpp's form) and 0/1 data
    assert gf.binomial_aic(y, trials, mu, wt) == pytest.approx(
        b.aic(y, trials, mu, wt, dr), rel=1e-12)
    y01 = (y > 0.5).astype(float)
    ones = np.ones(n)
    assert gf.binomial_aic(y01, ones, mu, ones) == pytest.approx(
        b.aic(y01, ones, mu, ones, 0.0), rel=1e-12)
    p = fam.poisson()
    eta = rng.normal(scale=2, size=n)
    yc = rng.poisson(4.0, size=n).astype(float)
    mu, dr = gf.mu_dev(1, 4, eta, yc, wt)
    np.testing.assert_allclose(mu, p.linkinv(eta), rtol=1e-15)
    assert dr == pytest.approx(float(np.sum(p.dev_resids(yc, mu, wt))), rel=1e-12)
    assert gf.poisson_aic(yc, mu, wt) == pytest.approx(p.aic(yc, ones, mu, wt, dr), rel=1e-12)
    for yy, names in [(y, ("binomial", "logit")), (yc, ("poisson", "log"))]:
        off = rng.normal(size=n)
        fc, lc = gf.codes(*names)
        mu_f, dr_f, w_f, z_f = gf.mu_dev_working(fc, lc, eta, yy, wt, off)
        mu, dr = gf.mu_dev(fc, lc, eta, yy, wt)
        w, z = gf.working(fc, lc, eta, mu, yy, wt, off)
        np.testing.assert_array_equal(mu_f, mu)
        np.testing.assert_array_equal(w_f, w)
        np.testing.assert_array_equal(z_f, z)
        assert dr_f == dr
    codes = rng.integers(0, 13, size=n).astype(np.int64)
    rows = rng.normal(size=(n, 2))
    bb = rng.normal(size=(13, 2))
    out = np.zeros(n)
    gk.add_term_eta(out, codes, rows, bb)
    np.testing.assert_allclose(out, np.einsum("ij,ij->i", rows, bb[codes]), rtol=1e-13)


def test_scatter_refill_and_scalar_solve_match_general_paths() -> None:
    """The per-row scatter kernel fills the same blocks as the sparse-product refill, and the
    scalar-terms solve gives BlockedCholesky.solve's (u, β)."""
    from lmepy.fit.reweight import Reweighter

    rng = np.random.default_rng(5)
    for name, theta in [("grouseticks", np.array([0.5, 0.7, 0.4])),
                        ("contraception", np.array([0.6, -0.5, 0.4])),
                        ("cbpp_laplace", np.array([0.6]))]:
        m, _, _ = _model(name)
        X = m.X.to_numpy(dtype=float)
        n = X.shape[0]
        for XX in (X, np.zeros((n, 0))):
            rw = Reweighter(m.reTrms.terms, XX)
            assert rw.dest is not None
            w = rng.uniform(0.2, 3.0, n)
            z = rng.normal(size=n)
            bc = rw.refill(w, z)
            got = [a.copy() for a in (bc.cp.A11, bc.cp.V, bc.cp.Arr)]
            bc.update(theta)
            u1, b1 = rw.solve()
            u2, b2 = bc.solve()
            np.testing.assert_allclose(u1, u2, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)
            rw2 = Reweighter(m.reTrms.terms, XX, scatter=False)  # the sparse-product path
            assert rw2.dest is None
            bc = rw2.refill(w, z)
            for a, ref in zip(got, (bc.cp.A11, bc.cp.V, bc.cp.Arr), strict=True):
                np.testing.assert_allclose(a, ref, rtol=1e-12,
                                           atol=1e-12 * float(np.max(np.abs(ref))))


@pytest.mark.parametrize("name", ["cbpp_laplace", "contraception", "grouseticks"])
def test_single_term_kernels_match_general_pirls(name: str) -> None:
    """The one-call PIRLS kernels (one scalar term; nested scalar terms) and the scalar
    Schur solve give the general loop's modes, deviance pieces and log-determinants, at
    lme4's optimum."""
    from lmepy.fit.glmm import _Glmm, _prepare_response

    m, family, _ = _model(name)
    f = FITS[name]
    theta, beta = _vec(f["theta"]), _vec(f["beta"])
    fast = _Glmm(m, _prepare_response(m, family, None, None))
    slow = _Glmm(m, _prepare_response(m, family, None, None))
    slow._fam_code, slow._jx, slow._nest = -1, None, None
    if name == "grouseticks":  # INDEX in BROOD in LOCATION: the tree kernel
        assert fast._nest is not None
    for g in (fast, slow):
        g.lp0 = g.pirls(theta, None, eta0=g.lp0).eta
    for beta_arg in (None, beta):
        a, b = fast.pirls(theta, beta_arg), slow.pirls(theta, beta_arg)
        np.testing.assert_allclose(a.u, b.u, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-9, atol=1e-11)
        for key in ("drsum", "ussq", "ldL2"):
            assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-10)
        assert a.iterations == b.iterations
        if beta_arg is None:
            assert a.ldRX2 == pytest.approx(b.ldRX2, rel=1e-10)
        else:
            assert fast.devfun(np.concatenate([theta, beta])) == pytest.approx(
                slow.devfun(np.concatenate([theta, beta])), rel=1e-11)


@pytest.mark.parametrize("name", ["cbpp_laplace", "cbpp_agq9", "contraception", "grouseticks"])
def test_numpy_fallback_matches_kernels(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the Cython kernels (the modules' _gf/_gk/_pk None) the numpy code gives the
    same deviance functions: the kernels' references."""
    import lmepy.fit.glmm as glmm_mod

    m, family, nagq = _model(name)
    f = FITS[name]
    pars = np.concatenate([_vec(f["theta"]), _vec(f["beta"])])
    ntheta = len(_vec(f["theta"]))
    fast = glmm_mod._Glmm(m, glmm_mod._prepare_response(m, family, None, None))
    v_fast = [fast.devfun0(pars[:ntheta])]
    fast.lp0 = fast.pirls(pars[:ntheta], None).eta
    v_fast.append(fast.devfun(pars, max(nagq, 1)))
    import lmepy.fit.pirls as pirls_mod
    import lmepy.fit.predictor as pred_mod
    import lmepy.fit.response as resp_mod
    import lmepy.fit.reweight as cross_mod

    for mod in (resp_mod, pred_mod, pirls_mod, cross_mod):
        for attr in ("_gf", "_gk", "_pk"):
            if hasattr(mod, attr):
                monkeypatch.setattr(mod, attr, None)
    slow = glmm_mod._Glmm(m, glmm_mod._prepare_response(m, family, None, None))
    v_slow = [slow.devfun0(pars[:ntheta])]
    slow.lp0 = slow.pirls(pars[:ntheta], None).eta
    v_slow.append(slow.devfun(pars, max(nagq, 1)))
    np.testing.assert_allclose(v_fast, v_slow, rtol=1e-10)


def test_nested_tree_kernel_matches_blocked_factor_away_from_the_optimum() -> None:
    """grouseticks' nested terms through the tree kernel and through the blocked factor, at
    θ with a zero, small and large components (lme4's deviance-function points too)."""
    from lmepy.fit.glmm import _Glmm, _prepare_response

    m, family, _ = _model("grouseticks")
    f = FITS["grouseticks"]
    fast = _Glmm(m, _prepare_response(m, family, None, None))
    slow = _Glmm(m, _prepare_response(m, family, None, None))
    slow._nest = None
    assert fast._nest is not None
    theta = _vec(f["theta"])
    for g in (fast, slow):
        g.lp0 = g.pirls(theta, None, eta0=g.lp0).eta
    beta = _vec(f["beta"])
    for th in ([0.0, 0.7, 0.5], [2.0, 0.1, 1.5], [0.05, 0.05, 0.05], list(theta * 1.3)):
        a, b = fast.pirls(np.asarray(th), beta), slow.pirls(np.asarray(th), beta)
        np.testing.assert_allclose(a.u, b.u, rtol=1e-9, atol=1e-11)
        assert a.ldL2 == pytest.approx(b.ldL2, rel=1e-10, abs=1e-11)
        assert a.drsum == pytest.approx(b.drsum, rel=1e-11)
    got = [fast.devfun(_vec(p)) for p in f["devfun"]["points"]]
    ref = [slow.devfun(_vec(p)) for p in f["devfun"]["points"]]
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    np.testing.assert_allclose(got, f["devfun"]["values"], rtol=1e-6)
    # stage 1 (u and β together): the tree plus X's columns, then R_X
    for th in ([0.0, 0.7, 0.5], [2.0, 0.1, 1.5], list(m.reTrms.theta0), list(theta)):
        a = fast.pirls(np.asarray(th), None, eta0=fast.lp0)
        b = slow.pirls(np.asarray(th), None, eta0=slow.lp0)
        assert a.chol is None and b.iterations == a.iterations  # the kernel ran
        np.testing.assert_allclose(a.u, b.u, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-8)
        assert a.ldL2 == pytest.approx(b.ldL2, rel=1e-10)
        assert a.ldRX2 == pytest.approx(b.ldRX2, rel=1e-10)
        assert fast.laplace_value(a) == pytest.approx(slow.laplace_value(b), rel=1e-12)
    got0 = [fast.devfun0(_vec(p)) for p in f["devfun0"]["points"]]
    ref0 = [slow.devfun0(_vec(p)) for p in f["devfun0"]["points"]]
    np.testing.assert_allclose(got0, ref0, rtol=1e-11)
