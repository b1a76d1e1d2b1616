"""The per-row family layer (lmepy/kernels/glmrow.pxd through glm_family.pyx) against its
numpy twin, the Link and Family methods of lmepy/fit/family.py (R's definitions), function by
function, for every family and link, on random inputs and on the edges where R clamps: eta
near and beyond the logit's +-30, probit's and cauchit's quantile of eps, cloglog's 700, mu
near 0 and 1, y = 0.

Tolerances: numpy's exp/log may use SIMD code that rounds differently from libm's in the last
bit, so transcendental results agree to a few ulps (rtol 1e-13), not to the bit; arithmetic
without them (variance, identity, sqrt links) agrees exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from lmepy.fit import family as fam
from lmepy.kernels import glm_family as gf

RNG = np.random.default_rng(2024)
N = 400

FAMILIES = {"binomial": fam.binomial, "poisson": fam.poisson, "Gamma": fam.Gamma,
            "inverse.gaussian": fam.inverse_gaussian, "gaussian": fam.gaussian}


def _eta(link: str) -> np.ndarray:
    """Random linear predictors in the link's domain plus its edge values."""
    if link in ("sqrt", "1/mu^2"):  # eta > 0
        return np.concatenate([RNG.uniform(1e-3, 5.0, N), [1e-12, 1e-300, 1.0, 1e6]])
    if link == "inverse":  # eta != 0
        e = RNG.normal(scale=3.0, size=N)
        return np.concatenate([e[e != 0], [1e-12, -1e-12, 1e8, -1e8]])
    edges = [-1000.0, -700.5, -36.0, -31.0, -30.0, -30.000000001, -8.2, -8.1258906647,
             -1e-12, 0.0, 1e-12, 8.1258906647, 8.2, 29.999999, 30.0, 30.0000001, 31.0, 36.0,
             699.0, 700.0, 701.0, 1e16, -1e16, 1e300, -1e300]
    return np.concatenate([RNG.normal(scale=6.0, size=N), edges])


def _mu(family: str) -> np.ndarray:
    if family == "binomial":
        return np.concatenate([RNG.uniform(0.0, 1.0, N),
                               [np.finfo(float).eps, 1e-10, 0.5, 1 - 1e-10, 1 - 2.2e-16]])
    if family == "gaussian":
        return RNG.normal(scale=10.0, size=N + 3)
    return np.concatenate([RNG.gamma(2.0, 2.0, N), [np.finfo(float).eps, 1e-8, 1e8]])


def _y(family: str, n: int) -> np.ndarray:
    if family == "binomial":
        y = RNG.integers(0, 9, size=n) / 8.0
        y[:3] = [0.0, 1.0, 0.0]
        return y
    if family == "poisson":
        y = RNG.poisson(3.0, size=n).astype(float)
        y[:2] = 0.0
        return y
    if family == "gaussian":
        return RNG.normal(scale=10.0, size=n)
    return RNG.gamma(2.0, 2.0, size=n)


def _close(kernel: np.ndarray, twin: np.ndarray, exact: bool = False) -> None:
    if exact:
        np.testing.assert_array_equal(kernel, twin)
    else:
        np.testing.assert_allclose(kernel, twin, rtol=1e-13, atol=0.0)


LINKS = list(fam.LINKS)
EXACT_LINKS = {"identity", "sqrt", "inverse"}


def test_codes_cover_every_family_and_link() -> None:
    for fname, make in FAMILIES.items():
        for link in make().valid_links:
            f, lk = gf.codes(fname, link)
            assert gf.FAMILY_CODES[fname] == f and gf.LINK_CODES[link] == lk
    assert set(gf.LINK_CODES) == set(fam.LINKS)
    with pytest.raises(ValueError, match="no kernel codes for family 'tweedie'"):
        gf.codes("tweedie", "log")
    with pytest.raises(ValueError, match="unknown link code 99"):
        gf.linkinv(99, np.zeros(2))
    with pytest.raises(ValueError, match="unknown family code -1"):
        gf.variance(-1, np.zeros(2))


@pytest.mark.parametrize("link", LINKS)
def test_linkinv(link: str) -> None:
    eta = _eta(link)
    lk = gf.LINK_CODES[link]
    with np.errstate(all="ignore"):
        twin = fam.LINKS[link].linkinv(eta)
    _close(gf.linkinv(lk, eta), twin, exact=link in EXACT_LINKS)


@pytest.mark.parametrize("link", LINKS)
def test_mu_eta(link: str) -> None:
    eta = _eta(link)
    lk = gf.LINK_CODES[link]
    with np.errstate(all="ignore"):
        twin = fam.LINKS[link].mu_eta(eta)
    _close(gf.mu_eta(lk, eta), twin, exact=link in EXACT_LINKS)


def test_clamped_values_are_rs() -> None:
    """The edges by value: R's eps floors and caps (not just agreement with the twin)."""
    eps = np.finfo(float).eps
    big = np.array([-40.0, 40.0])
    np.testing.assert_array_equal(gf.linkinv(gf.LINK_CODES["logit"], big),
                                  [eps / (1 + eps), (1 / eps) / (1 + 1 / eps)])
    np.testing.assert_array_equal(gf.mu_eta(gf.LINK_CODES["logit"], big), [eps, eps])
    np.testing.assert_array_equal(gf.linkinv(gf.LINK_CODES["log"], np.array([-800.0])), [eps])
    pr = gf.linkinv(gf.LINK_CODES["probit"], np.array([-50.0, 50.0]))
    assert pr[0] == pytest.approx(eps, rel=1e-6) and pr[1] == pytest.approx(1 - eps, abs=1e-16)
    cl = gf.linkinv(gf.LINK_CODES["cloglog"], np.array([-800.0, 800.0]))
    np.testing.assert_array_equal(cl, [eps, 1 - eps])
    assert gf.mu_eta(gf.LINK_CODES["cloglog"], np.array([800.0]))[0] == eps


@pytest.mark.parametrize("family", list(FAMILIES))
def test_variance(family: str) -> None:
    mu = _mu(family)
    _close(gf.variance(gf.FAMILY_CODES[family], mu), FAMILIES[family]().variance(mu),
           exact=True)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_dev_resids(family: str) -> None:
    mu = _mu(family)
    y = _y(family, mu.shape[0])
    wt = RNG.integers(0, 6, size=mu.shape[0]).astype(float)
    if family == "Gamma":
        y[0] = 0.0  # R's ratio of 1 at y = 0
    with np.errstate(all="ignore"):
        twin = FAMILIES[family]().dev_resids(y, mu, wt)
    got = gf.dev_resids(gf.FAMILY_CODES[family], y, mu, wt)
    np.testing.assert_allclose(got, twin, rtol=1e-13, atol=1e-300)


def _pairs() -> list[tuple[str, str]]:
    return [(f, lk) for f, make in FAMILIES.items() for lk in make().valid_links]


@pytest.mark.parametrize("family, link", _pairs())
def test_working_weights_and_residuals(family: str, link: str) -> None:
    f = FAMILIES[family](link)
    fc, lc = gf.codes(family, link)
    eta = RNG.normal(scale=1.5, size=N)
    if link in ("sqrt", "1/mu^2", "inverse") or (family != "binomial" and link == "identity"):
        eta = RNG.uniform(0.2, 3.0, size=N)
    if family == "binomial" and link == "log":  # mu = exp(eta) < 1
        eta = -RNG.uniform(0.05, 5.0, size=N)
    mu = f.linkinv(eta)
    y = _y(family, N)
    wt = RNG.uniform(0.5, 3.0, size=N)
    off = RNG.normal(size=N)
    w, z = gf.working(fc, lc, eta, mu, y, wt, off)
    me = f.mu_eta(eta)
    np.testing.assert_allclose(w, wt * me * me / f.variance(mu), rtol=1e-12)
    np.testing.assert_allclose(z, eta - off + (y - mu) / me, rtol=1e-12, atol=1e-12)
    # the fused pass gives the same bits as mu_dev then working
    mu_f, dr_f, w_f, z_f = gf.mu_dev_working(fc, lc, eta, y, wt, off)
    mu_k, dr_k = gf.mu_dev(fc, lc, eta, y, wt)
    w_k, z_k = gf.working(fc, lc, eta, mu_k, y, wt, off)
    np.testing.assert_array_equal(mu_f, mu_k)
    np.testing.assert_array_equal(w_f, w_k)
    np.testing.assert_array_equal(z_f, z_k)
    assert dr_f == dr_k
    np.testing.assert_allclose(mu_k, mu, rtol=1e-13)
    assert dr_k == pytest.approx(float(np.sum(f.dev_resids(y, mu, wt))), rel=1e-12)
    codes = RNG.integers(0, 7, size=N).astype(np.int64)
    np.testing.assert_allclose(gf.group_dev(fc, lc, eta, y, wt, codes, 7),
                               np.bincount(codes, f.dev_resids(y, mu, wt), minlength=7),
                               rtol=1e-12)


def test_aic_pieces() -> None:
    b, p = fam.binomial(), fam.poisson()
    trials = RNG.integers(1, 9, size=N).astype(float)
    y = np.floor(RNG.uniform(0, trials + 1)) / trials  # proportions of whole counts
    mu = RNG.uniform(0.01, 0.99, size=N)
    mu[:2] = [1e-12, 1 - 1e-12]
    wt = trials.copy()
    assert gf.binomial_aic(y, trials, mu, wt) == pytest.approx(b.aic(y, trials, mu, wt, 0.0),
                                                               rel=1e-12)
    yc = RNG.poisson(3.0, size=N).astype(float)
    mu = RNG.gamma(3.0, 1.0, size=N)
    assert gf.poisson_aic(yc, mu, wt) == pytest.approx(p.aic(yc, np.ones(N), mu, wt, 0.0),
                                                       rel=1e-12)
    y01 = (RNG.uniform(size=N) > 0.5).astype(float)
    ones = np.ones(N)
    mu = RNG.uniform(0.01, 0.99, size=N)
    assert gf.binomial_aic(y01, ones, mu, ones) == pytest.approx(
        b.aic(y01, ones, mu, ones, 0.0), rel=1e-12)


def test_inputs_are_not_modified() -> None:
    eta = RNG.normal(size=20)
    keep = eta.copy()
    y = _y("binomial", 20)
    wt = np.ones(20)
    gf.mu_dev_working(0, 0, eta, y, wt, np.zeros(20))
    np.testing.assert_array_equal(eta, keep)
