"""The plots of issue 6 (lmepy.results.plots) against lme4 1.1-31 / R 4.2.2.

Reference values: tests/reference/lmer.json (ranef and condVar of sleepstudy) and
tests/reference/plots.json (tests/reference/plots.R: lme4's asDf0 caterpillar data, qqnorm,
plot(fit)'s data, as.data.frame(profile(fit))). Figures are drawn headlessly (matplotlib Figure
objects with the Agg canvas, no pyplot) and checked twice: the file is a PNG of non-trivial
size, and the numbers in the drawn artists equal the reference values.

Tolerances: ranef/postVar-based numbers 1e-6 relative (the lmer estimates agree with lme4 to
about 1e-7); qqnorm's quantiles 1e-12 (pure arithmetic); ζ of the profile 1e-3 (issue 6) at
R's parameter values with |ζ| within lme4's cutoff sqrt(qchisq(0.99, npar)) (lme4's last point
on each side lies beyond it and lme4's warm-started optimizer leaves it up to 0.06 above the
minimum: there we only require our ζ not to be larger, i.e. a deviance at least as low); the
ML estimates at ζ = 0 1e-4, or the spread the refits' distance from the deviance's true
minimum allows where that is larger (tests/optimum_precision.py); the
other parameters along a profile 2e-2 relative (they are the argmin of a flat function: ζ is
accurate to 1e-6 where the argmin is only accurate to about its square root).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from fitted_models import fitted
from scipy import stats
from scipy.interpolate import CubicSpline

import lmepy
from lmepy import datasets
from lmepy.results import plots

matplotlib.use("Agg")

REFDIR = Path(__file__).parent / "reference"
PLOTS = json.loads((REFDIR / "plots.json").read_text())
LMER = json.loads((REFDIR / "lmer.json").read_text())["cases"]
_FITS: dict[str, object] = {}

FORMULAS = {"sleepstudy": ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
            "sleepstudy_weights": ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
            "Dyestuff2": ("Yield ~ 1 + (1 | Batch)", "Dyestuff2"),
            "sleepstudy_diag": ("Reaction ~ Days + (Days || Subject)", "sleepstudy"),
            "Dyestuff": ("Yield ~ 1 + (1 | Batch)", "Dyestuff"),
            "Penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin")}


# the fits other test files use too come from tests/fitted_models.py, fitted once per session
SHARED = {"sleepstudy": "fm1", "cbpp": "gm1", "Dyestuff2": "dyestuff2"}


def _fit(key: str) -> object:
    if key in SHARED:
        return fitted(SHARED[key])
    if key not in _FITS:
        if key == "sleepstudy_weights":  # the prior weights of tests/reference/lmer.R
            f, d = FORMULAS[key]
            w = 1 + ((np.arange(1, 181) * 7) % 11) / 10
            _FITS[key] = lmepy.lmer(f, data=datasets.load(d), weights=w)
        else:
            f, d = FORMULAS[key]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Dyestuff2: singular fit
                _FITS[key] = lmepy.lmer(f, data=datasets.load(d))
    return _FITS[key]


def _assert_png(path: Path, min_bytes: int = 5000) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > min_bytes


def _close(a: object, b: object, rtol: float, atol: float = 0.0) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


# ---- caterpillar -----------------------------------------------------------------------------


def test_caterpillar_data_against_lmer_fixture() -> None:
    """Points = ranef, interval ends = ranef ± 1.96 sqrt(postVar) of lme4's sleepstudy fit."""
    ref = LMER["ss_full_reml"]
    re = ref["ranef"]["Subject"]
    cv = ref["condVar"]["Subject"][0]
    vals = np.asarray(re["values"], dtype=float)  # levels x columns
    pv = np.asarray(cv["values"], dtype=float)  # levels x k x k
    d = plots.ranef_dotplot_data(_fit("sleepstudy"))["Subject"]
    labels = re["rownames"]
    for j, col in enumerate(re["colnames"]):
        sub = d[d["ind"] == col].set_index(d[d["ind"] == col][".nn"].astype(str))
        sub = sub.loc[labels]
        se = np.sqrt(pv[:, j, j])
        _close(sub["values"], vals[:, j], 1e-6, 1e-6)
        _close(sub["se"], se, 1e-6)
        _close(sub["lower"], vals[:, j] - 1.96 * se, 1e-6, 1e-6)
        _close(sub["upper"], vals[:, j] + 1.96 * se, 1e-6, 1e-6)


@pytest.mark.parametrize("key, rtol", [("sleepstudy", 1e-6), ("Penicillin", 1e-6),
                                       ("sleepstudy_diag", 1e-6), ("cbpp", 1e-4)])
def test_caterpillar_data_as_lme4s_asDf0(key: str, rtol: float) -> None:
    """Row order (stack()), term column, level, plotting order of the levels (sorted by the
    first column's modes) and se as lme4's own dotplot data; also with two terms on one
    factor (``||``: a list of postVar arrays) and for a glmer fit (GLMM tolerance 1e-4)."""
    data = plots.ranef_dotplot_data(_fit(key))
    ref = PLOTS["dotplot"][key]
    assert list(data) == list(ref)
    for g, r in ref.items():
        d = data[g]
        assert list(d["ind"].astype(str)) == r["ind"]
        assert list(d[".nn"].astype(str)) == r["level"]
        _close(d["values"], r["values"], rtol, rtol)
        # plotting order: R's where the first column's modes differ; exactly tied modes
        # (Penicillin's balanced plates) are ordered by R's floating-point noise, so there
        # only the tied values must agree
        first = d[d["ind"] == d["ind"].cat.categories[0]]
        val = dict(zip(first[".nn"].astype(str), first["values"], strict=True))
        ours = list(d[".nn"].cat.categories)
        assert sorted(ours) == sorted(r["level_order"])
        _close([val[x] for x in ours], [val[x] for x in r["level_order"]], 1e-9, 1e-9)
        assert np.all(np.diff([val[x] for x in ours]) >= 0)
        _close(d["se"], r["se"], rtol)


def test_caterpillar_figure_draws_the_data(tmp_path: Path) -> None:
    fit = _fit("sleepstudy")
    out = tmp_path / "caterpillar.png"
    figs = plots.dotplot_ranef(fit, file=out)
    _assert_png(out)
    assert list(figs) == ["Subject"]
    fig = figs["Subject"]
    d = plots.ranef_dotplot_data(fit)["Subject"]
    ref = PLOTS["dotplot"]["sleepstudy"]["Subject"]
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["(Intercept)", "Days"]
    ylabels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert ylabels == ref["level_order"]
    rv = np.asarray(ref["values"])
    rse = np.asarray(ref["se"])
    for ax, col in zip(axes, ["(Intercept)", "Days"], strict=True):
        sel = np.asarray(ref["ind"]) == col
        pos = np.array([ref["level_order"].index(lv) for lv in np.asarray(ref["level"])[sel]])
        pts = [c for c in ax.collections if c.get_label() == "mode"][0].get_offsets()
        _close(pts[:, 0], rv[sel], 1e-6, 1e-6)
        np.testing.assert_array_equal(pts[:, 1], pos)
        segs = [c for c in ax.collections if c.get_label() == "interval"][0].get_segments()
        ends = np.array([[s[0][0], s[1][0], s[0][1]] for s in segs])
        _close(ends[:, 0], rv[sel] - 1.96 * rse[sel], 1e-6, 1e-6)
        _close(ends[:, 1], rv[sel] + 1.96 * rse[sel], 1e-6, 1e-6)
        np.testing.assert_array_equal(ends[:, 2], pos)
    assert len(d) == len(rv)


def test_caterpillar_several_factors_write_one_file_each(tmp_path: Path) -> None:
    figs = plots.dotplot_ranef(_fit("Penicillin"), file=tmp_path / "pen.png")
    assert list(figs) == ["plate", "sample"]
    _assert_png(tmp_path / "pen_plate.png")
    _assert_png(tmp_path / "pen_sample.png", min_bytes=2000)


# ---- residuals versus fitted -----------------------------------------------------------------


@pytest.mark.parametrize("key, rtol", [("sleepstudy", 1e-6), ("cbpp", 1e-4)])
def test_residual_plot_data(key: str, rtol: float) -> None:
    """plot(fit): Pearson residuals against fitted values (glmer: the GLMM tolerance of
    tests/test_results_glmer.py, estimates agreeing to ~1e-5)."""
    ref = PLOTS["resid_fitted"][key]
    d = plots.residual_plot_data(_fit(key))
    _close(d["fitted"], ref["fitted"], rtol)
    _close(d["resid"], ref["pearson"], rtol, 1e-6 if key == "sleepstudy" else 1e-4)


def test_residual_plot_figure(tmp_path: Path) -> None:
    out = tmp_path / "resid.png"
    fig = plots.residual_plot(_fit("sleepstudy"), file=out)
    _assert_png(out)
    ax = fig.axes[0]
    pts = ax.collections[0].get_offsets()
    ref = PLOTS["resid_fitted"]["sleepstudy"]
    _close(pts[:, 0], ref["fitted"], 1e-6)
    _close(pts[:, 1], ref["pearson"], 1e-6, 1e-6)
    assert ax.get_xlabel() == "fitted(.)"
    assert ax.get_ylabel() == 'resid(., type = "pearson")'


# ---- qqnorm ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(PLOTS["qqnorm"]))
def test_qqnorm_quantiles_as_r(key: str) -> None:
    """qnorm(ppoints(n)) placed by rank, with ties in order (small_ties), a = 3/8 for n <= 10
    (ten) and 1/2 above (eleven)."""
    ref = PLOTS["qqnorm"][key]
    q = plots.qqnorm(ref["y"])
    _close(q["x"], ref["x"], 1e-12, 1e-12)
    _close(q["y"], ref["y"], 0)
    _close(plots.ppoints(len(ref["y"])), ref["ppoints"], 1e-12)


def test_qqnorm_of_fit_residuals(tmp_path: Path) -> None:
    ref = PLOTS["qqnorm"]["sleepstudy"]
    out = tmp_path / "qq.png"
    fig = plots.qqnorm_plot(_fit("sleepstudy"), file=out)
    _assert_png(out)
    ax = fig.axes[0]
    pts = ax.collections[0].get_offsets()
    _close(pts[:, 0], ref["x"], 1e-12, 1e-12)
    _close(pts[:, 1], ref["y"], 1e-6, 1e-6)
    assert ax.get_title() == "Normal Q-Q Plot"
    assert ax.get_xlabel() == "Theoretical Quantiles"
    # qqline passes through the quartiles of the residuals at the normal quartiles
    line = ax.lines[0]
    y = np.asarray(ref["y"])
    q1, q3 = np.quantile(y, [0.25, 0.75])
    slope = (q3 - q1) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    _close(line._slope, slope, 1e-6)  # noqa: SLF001 - AxLine keeps its slope here
    _close(line._xy1[1] + slope * stats.norm.ppf(0.25), q1, 1e-6)  # noqa: SLF001


def test_qqnorm_keeps_nan_in_place() -> None:
    q = plots.qqnorm(pd.Series([2.0, np.nan, 1.0]))
    assert math.isnan(q["x"].iloc[1])
    _close(q["x"].iloc[[0, 2]], stats.norm.ppf(plots.ppoints(2))[[1, 0]], 1e-12)


# ---- profile ---------------------------------------------------------------------------------


def _ref_profile(key: str) -> tuple[pd.DataFrame, list[str]]:
    ref = PLOTS["profile"][key]
    cols = ref["columns"]
    R = pd.DataFrame(dict(zip(cols, ref["values"], strict=True)))
    R[".par"] = ref["par"]
    R[".focal"] = ref["focal"]
    return R, cols


_PROFILES: dict[str, pd.DataFrame] = {}


def _profile(key: str) -> pd.DataFrame:
    if key not in _PROFILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Dyestuff2's ML refit is singular too
            _PROFILES[key] = plots.profile(_fit(key))
    return _PROFILES[key]


PROFILED = ["sleepstudy", "Dyestuff", "Dyestuff2", "sleepstudy_weights", "cbpp"]
# the lmer.json case whose ML refit each lmer profile starts from (tests/reference/optimum.json)
REFIT_CASE = {"sleepstudy": "ss_full_reml", "Dyestuff": "dye_reml", "Dyestuff2": "dye2_reml",
              "sleepstudy_weights": "ss_weights_reml"}


def _ml_precision(key: str) -> np.ndarray:
    """Per profile column (sd/cor, σ, β): how far our ML refit's estimates may lie from lme4's
    given how far each is above the true minimum of the deviance (0 for the glmer)."""
    from optimum_precision import Precision

    from lmepy.inference.confint import theta_to_sdcor

    if key not in REFIT_CASE:
        return np.zeros(len(_ref_profile(key)[1]) - 1)
    pr = plots._make_profile(_fit(key)).pr
    prec = Precision(REFIT_CASE[key] + ":refitML", pr.ml.model, False, pr.base)
    return prec.tolerance(lambda s: np.concatenate([theta_to_sdcor(s.theta, pr.ks, s.sigma),
                                                    s.beta]))


@pytest.mark.parametrize("key", PROFILED)
def test_profile_frame_layout(key: str) -> None:
    R, cols = _ref_profile(key)
    P = _profile(key)
    assert list(P.columns) == cols + [".par", ".focal"]
    assert list(P[".par"].cat.categories) == list(dict.fromkeys(R[".par"]))
    # the profile passes through the ML optimum: ζ = 0 at lme4's estimates
    opt = R[R[".zeta"] == 0].iloc[0][cols[1:]].to_numpy(float)
    for par in P[".par"].cat.categories:
        sub = P[P[".par"] == par]
        assert np.all(np.diff(sub[".focal"].to_numpy()) > 0)
        np.testing.assert_array_equal(sub[".focal"].to_numpy(), sub[par].to_numpy())
        row0 = sub[sub[".zeta"] == 0]
        assert len(row0) == 1
        # estimates at the fit tolerance of tests/test_fit_lmm.py (1e-4), or where lme4's
        # ML refit does not fix them that precisely, the spread its and our end points'
        # excess over the true minimum allows (tests/optimum_precision.py)
        got = row0[cols[1:]].to_numpy(float)[0]
        tol = np.maximum(1e-4 + 1e-4 * np.abs(opt), _ml_precision(key))
        assert np.all(np.abs(got - opt) <= tol), (par, got - opt, tol)
        z = sub[".zeta"].to_numpy()
        assert np.all(np.diff(z) > -1e-6)  # ζ increases with the parameter
        # it reaches lme4's cutoff on each side unless a bound stops it
        cut = math.sqrt(stats.chi2.ppf(0.99, len(cols) - 1))
        assert z[-1] > cut or sub[par].iloc[-1] in (1.0,)
        assert z[0] < -cut or sub[par].iloc[0] in (0.0, -1.0)


@pytest.mark.parametrize("key", PROFILED)
def test_profile_zeta_at_lme4s_points(key: str) -> None:
    """ζ at lme4's own grid: exactly (profile_points) and interpolated from our grid (the
    frame's points are what the plot draws) within 1e-3; the other parameters along the
    profile within 2e-2. Dyestuff2 is singular (.sig01 = 0: profiled upwards only); cbpp is a
    GLMM (Laplace deviance over sd and β, every other parameter re-optimized); for the
    weighted fit lme4's fixed-effect profiles are wrong (see
    test_profile_fixed_effects_weighted) and only the variance parameters are compared."""
    R, cols = _ref_profile(key)
    P = _profile(key)
    fit = _fit(key)
    cut = math.sqrt(stats.chi2.ppf(0.99, len(cols) - 1))
    pars = list(dict.fromkeys(R[".par"]))
    if key == "sleepstudy_weights":
        pars = [p for p in pars if p.startswith(".sig")]
    for par in pars:
        g = R[R[".par"] == par]
        inside = g[g[".zeta"].abs() <= cut]
        ours = plots.profile_points(fit, par, inside[par].to_numpy())
        _close(ours[".zeta"], inside[".zeta"], 0, 1e-3)
        scale = np.maximum(1.0, np.abs(inside[cols[1:]].to_numpy(float)))
        diff = np.abs(ours[cols[1:]].to_numpy(float) - inside[cols[1:]].to_numpy(float))
        assert np.all(diff <= 2e-2 * scale), (par, np.max(diff / scale))
        sub = P[P[".par"] == par]
        spl = CubicSpline(sub[".focal"].to_numpy(), sub[".zeta"].to_numpy())
        _close(spl(inside[par].to_numpy()), inside[".zeta"], 0, 1e-3)
        beyond = g[g[".zeta"].abs() > cut]
        if len(beyond):
            zb = plots.profile_points(fit, par, beyond[par].to_numpy())[".zeta"].to_numpy()
            assert np.all(np.abs(zb) <= np.abs(beyond[".zeta"].to_numpy()) + 1e-3)


def test_profile_fixed_effects_weighted() -> None:
    """With prior weights lme4 1.1-31's fixed-effect profile is wrong (ζ = ±17 a hundredth
    of a standard error from the estimate); the reference is the definition computed in R:
    ML refits with the column moved into the offset. ζ within 1e-3, on our grid as well."""
    fit = _fit("sleepstudy_weights")
    P = _profile("sleepstudy_weights")
    for par, ref in PLOTS["profile_fixed_weights"].items():
        z = plots.profile_points(fit, par, ref["values"])[".zeta"]
        _close(z, ref["zeta"], 0, 1e-3)
        sub = P[P[".par"] == par]
        spl = CubicSpline(sub[".focal"].to_numpy(), sub[".zeta"].to_numpy())
        _close(spl(ref["values"]), ref["zeta"], 0, 1e-3)


def test_profile_leaves_the_fit_alone() -> None:
    """lme4's GLMM profile moves its fit's state; ours must not: ranef, fixef and the
    deviance are unchanged after profiling."""
    fit = _fit("cbpp")
    before = (fit.ranef(condVar=False)["herd"].to_numpy().copy(), fit.fixef().to_numpy(),
              float(fit.logLik()))
    _profile("cbpp")
    plots.profile_points(fit, "period2", [-0.5])
    np.testing.assert_array_equal(fit.ranef(condVar=False)["herd"].to_numpy(), before[0])
    np.testing.assert_array_equal(fit.fixef().to_numpy(), before[1])
    assert float(fit.logLik()) == before[2]


def test_profile_which_and_errors() -> None:
    fit = _fit("Dyestuff")
    P = plots.profile(fit, which="beta_")
    assert list(P[".par"].cat.categories) == ["(Intercept)"]
    with pytest.raises(ValueError, match="unknown parameter"):
        plots.profile_points(fit, ".sig09", [1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gamma = lmepy.glmer("Reaction ~ Days + (1 | Subject)", data=datasets.load("sleepstudy"),
                            family=lmepy.Gamma(link="log"))
    with pytest.raises(ValueError, match="without a scale parameter"):
        plots.profile(gamma)
    with pytest.raises(TypeError, match="lmer fits"):
        plots.profile(object())


def test_profile_plot_draws_zeta(tmp_path: Path) -> None:
    R, cols = _ref_profile("sleepstudy")
    P = _profile("sleepstudy")
    out = tmp_path / "profile.png"
    fig = plots.profile_plot(P, file=out)
    _assert_png(out)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in axes] == cols[1:]
    for ax, par in zip(axes, cols[1:], strict=True):
        pts = ax.lines[0].get_xydata()
        sub = P[P[".par"] == par]
        _close(pts[:, 0], sub[".focal"], 0)
        _close(pts[:, 1], sub[".zeta"], 0)
        # the drawn curve through lme4's points (|ζ| within the cutoff) within 1e-3
        curve = ax.lines[1].get_xydata()
        cut = math.sqrt(stats.chi2.ppf(0.99, len(cols) - 1))
        g = R[(R[".par"] == par) & (R[".zeta"].abs() <= cut)]
        zc = np.interp(g[par].to_numpy(), curve[:, 0], curve[:, 1])
        _close(zc, g[".zeta"], 0, 1e-3)


def test_profile_minimizer_keeps_its_best_point_on_a_roundoff_stop(monkeypatch) -> None:
    """BOBYQA may stop with NLOPT_ROUNDOFF_LIMITED (nlopt raises); the profile's minimizer
    must then return the best point it evaluated, not its start: the start of a profile step
    is the previous point's optimum, and returning it put Dyestuff's (Intercept) profile at
    ζ = 2.340 where the minimum is 2.306 (on OpenBLAS's Zen kernel)."""
    import importlib

    import nlopt

    confint = importlib.import_module("lmepy.inference.confint")

    class RoundoffOpt:
        """nlopt.opt that evaluates three points, then gives up as BOBYQA does on rounding."""

        def __init__(self, algorithm: int, n: int) -> None:
            self.f = None

        def set_min_objective(self, f) -> None:
            self.f = f

        def __getattr__(self, name: str):
            return lambda *a: None  # bounds, tolerances, steps: irrelevant here

        def optimize(self, x0: np.ndarray) -> np.ndarray:
            for x in (x0, x0 - 1.0, x0 + 5.0):
                self.f(np.array(x, dtype=float), np.empty(0))
            raise nlopt.RoundoffLimited("roundoff")

    monkeypatch.setattr(confint.nlopt, "opt", RoundoffOpt)
    val, x = confint._minimize(lambda y: float(np.sum((y - 3.0) ** 2)), np.array([5.0]),
                               np.array([-np.inf]), np.array([np.inf]))
    assert (val, list(x)) == (1.0, [4.0])


def test_profile_points_are_minima() -> None:
    """Each row of Dyestuff's profile frame (computed from the previous row's optimum) has
    the deviance of a fresh minimization from the estimates at its parameter value: ζ² (the
    deviance above the optimum) within 1e-8 (ζ itself, a square root, would magnify the
    rounding of a deviance difference near ζ = 0: 5e-12 gives ζ 2e-6)."""
    fit = _fit("Dyestuff")
    P = _profile("Dyestuff")
    for par in P[".par"].cat.categories:
        sub = P[P[".par"] == par]
        fresh = plots.profile_points(fit, par, sub[".focal"].to_numpy())
        z, zf = sub[".zeta"].to_numpy(), fresh[".zeta"].to_numpy()
        _close(np.sign(z) * z ** 2, np.sign(zf) * zf ** 2, 0, 1e-8)
