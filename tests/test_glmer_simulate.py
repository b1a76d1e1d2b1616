"""glmer ``simulate()`` against lme4 1.1-31's ``simulate.merMod`` (tests/reference/plots.R ->
plots.json): shapes, names and classes of lme4's output, and the moments of many simulations
against the moments the R fit implies (computed in R by quadrature over the random intercept).

The random stream is NumPy's, not R's, so draws are compared in distribution. With a fixed seed
the tests are deterministic; the tolerances are Monte Carlo ones, stated per check: each
per-observation mean within 5 standard errors sqrt(V / nsim) of R's implied mean, each
per-observation variance within 5 standard errors of R's implied variance (the error of a
sample variance estimated from the sample's fourth central moment), plus 1% of the implied
value for the difference between R's fitted parameters and ours (GLMM estimates agree to ~1e-4
relative; see tests/test_results_glmer.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy
from lmepy import datasets

REF = json.loads((Path(__file__).parent / "reference" / "plots.json").read_text())
SIM = REF["simulate"]
SHAPE = REF["simulate_shape"]
_FITS: dict[str, object] = {}


def _family(name: str, link: str) -> object:
    return {"binomial": lmepy.binomial, "poisson": lmepy.poisson, "Gamma": lmepy.Gamma,
            "gaussian": lmepy.gaussian}[name](link=link)


def _fit(case: str) -> object:
    if case in _FITS:
        return _FITS[case]
    c = SIM[case]
    data = datasets.load(c["data"])
    kw = {}
    if case == "cbpp_prop":
        kw["weights"] = data["size"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lmepy.glmer(c["formula"], data=data, family=_family(c["family"], c["link"]), **kw)
    _FITS[case] = fit
    return fit


def _draws(case: str, nsim: int, seed: int, use_u: bool) -> np.ndarray:
    s = _fit(case).simulate(nsim=nsim, seed=seed, use_u=use_u)
    if isinstance(s.columns, pd.MultiIndex):  # cbind: the success counts
        return np.column_stack([s[(f"sim_{i + 1}", "incidence")].to_numpy(float)
                                for i in range(nsim)])
    if isinstance(s["sim_1"].dtype, pd.CategoricalDtype):
        return np.column_stack([s[c].cat.codes.to_numpy().astype(float) for c in s.columns])
    return s.to_numpy(dtype=float)


def _check_moments(draws: np.ndarray, mean: np.ndarray, var: np.ndarray) -> None:
    nsim = draws.shape[1]
    m = draws.mean(axis=1)
    se_m = np.sqrt(var / nsim)
    assert np.all(np.abs(m - mean) <= 5 * se_m + 0.01 * np.abs(mean)), \
        np.max(np.abs(m - mean) / se_m)
    s2 = draws.var(axis=1, ddof=1)
    m4 = np.mean((draws - m[:, None]) ** 4, axis=1)
    se_v = np.sqrt(np.maximum(m4 - s2 ** 2, 0.0) / nsim)
    assert np.all(np.abs(s2 - var) <= 5 * se_v + 0.01 * var), np.max(np.abs(s2 - var) / se_v)


NSIM = {"cbpp_cbind": 4000, "cbpp_prop": 4000, "cbpp_poisson": 4000, "contraception": 1000,
        "sleep_gamma": 4000, "sleep_gaussian_log": 2000}


@pytest.mark.parametrize("case", sorted(SIM))
def test_conditional_moments_use_u(case: str) -> None:
    """use_u=True: the fitted conditional modes are kept, so each observation's draws have
    lme4's fitted mean and the family's variance at it."""
    c = SIM[case]
    d = _draws(case, NSIM[case], seed=20240601, use_u=True)
    _check_moments(d, np.asarray(c["cond_mean"]), np.asarray(c["cond_var"]))


@pytest.mark.parametrize("case", sorted(SIM))
def test_marginal_moments_new_random_effects(case: str) -> None:
    """use_u=False (lme4's default): new random effects each simulation, so the moments are
    the fitted model's marginal ones (R's quadrature over b ~ N(0, theta^2))."""
    c = SIM[case]
    d = _draws(case, NSIM[case], seed=7, use_u=False)
    if "marg_logmean" in c:
        # Gamma with lme4's shape sigma (0.1) and lognormal effects: the sample variance is
        # too heavy-tailed to check; log Y has light tails and known moments
        nsim = d.shape[1]
        mean = np.asarray(c["marg_mean"])
        assert np.all(np.abs(d.mean(axis=1) - mean)
                      <= 5 * np.sqrt(np.asarray(c["marg_var"]) / nsim) + 0.01 * mean)
        _check_moments(np.log(d), np.asarray(c["marg_logmean"]), np.asarray(c["marg_logvar"]))
        return
    _check_moments(d, np.asarray(c["marg_mean"]), np.asarray(c["marg_var"]))


def test_cbind_shape_and_names_as_lme4() -> None:
    """lme4 gives a two-column matrix per simulation (colnames of the cbind() response):
    here a MultiIndex (sim_i, colname); the two columns add up to the trials."""
    ref = SHAPE["cbind"]
    fit = _fit("cbpp_cbind")
    s = fit.simulate(nsim=2, seed=1)
    assert list(s.columns.get_level_values(0).unique()) == ref["names"]
    assert list(s["sim_1"].columns) == ref["colnames"]
    assert s["sim_1"].shape == tuple(ref["dim"])
    size = datasets.load("cbpp")["size"].to_numpy(float)
    for nm in ref["names"]:
        tot = s[nm].to_numpy().sum(axis=1)
        np.testing.assert_array_equal(tot, size)
        k = s[(nm, "incidence")].to_numpy()
        assert np.all(k == np.round(k)) and np.all(k >= 0)


def test_factor_response_gives_factor_with_levels() -> None:
    ref = SHAPE["factor"]
    s = _fit("contraception").simulate(nsim=2, seed=1)
    assert list(s.columns) == ref["names"]
    assert len(s) == ref["nrow"]
    for c in s.columns:
        assert isinstance(s[c].dtype, pd.CategoricalDtype)
        assert list(s[c].cat.categories) == ref["levels"]


def test_poisson_integer_counts_and_names() -> None:
    ref = SHAPE["poisson"]
    s = _fit("cbpp_poisson").simulate(nsim=3, seed=1)
    assert list(s.columns) == ref["names"]
    assert ref["class"] == "integer"
    assert all(s[c].dtype.kind == "i" for c in s.columns)


def test_seed_reproducible_and_use_u_changes_distribution() -> None:
    fit = _fit("cbpp_poisson")
    a = fit.simulate(nsim=3, seed=11)
    b = fit.simulate(nsim=3, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(fit.simulate(nsim=3, seed=12))


def test_proportion_response_is_proportions() -> None:
    """A proportion response with weights = trials simulates proportions K / w (lme4)."""
    s = _fit("cbpp_prop").simulate(nsim=5, seed=3)
    w = np.asarray(SIM["cbpp_prop"]["weights"])
    k = s.to_numpy() * w[:, None]
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert np.all((s.to_numpy() >= 0) & (s.to_numpy() <= 1))


def test_non_integer_binomial_weights_refused() -> None:
    data = datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lmepy.glmer("incidence / size ~ period + (1 | herd)", data=data,
                          family=lmepy.binomial(), weights=data["size"].to_numpy(float) + 0.5)
    with pytest.raises(ValueError, match="cannot simulate from non-integer prior.weights"):
        fit.simulate(nsim=1, seed=1)


def test_bad_nsim() -> None:
    with pytest.raises(ValueError, match="nsim"):
        _fit("cbpp_poisson").simulate(nsim=0)


def test_poisson_prior_weights_ignored_with_lme4s_warning() -> None:
    data = datasets.load("cbpp")
    w = np.where(np.arange(len(data)) % 2 == 0, 1.0, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lmepy.glmer("incidence ~ period + (1 | herd)", data=data,
                          family=lmepy.poisson(), weights=w)
    with pytest.warns(UserWarning, match="ignoring prior weights"):
        s = fit.simulate(nsim=2, seed=1)
    assert list(s.columns) == ["sim_1", "sim_2"]


def test_cbind_with_unnamed_columns_keeps_both() -> None:
    """Two unnamed cbind() arguments give R's colnames "" and "": both columns are kept."""
    data = datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lmepy.glmer("cbind(incidence + 0, size - incidence) ~ period + (1 | herd)",
                          data=data, family=lmepy.binomial())
    s = fit.simulate(nsim=2, seed=5)
    assert s.shape == (len(data), 4)
    assert list(s.columns) == [("sim_1", ""), ("sim_1", ""), ("sim_2", ""), ("sim_2", "")]
    np.testing.assert_array_equal(s["sim_2"].to_numpy().sum(axis=1),
                                  data["size"].to_numpy(float))
