"""GLM families and links with R's semantics (``stats::family``), for glmer().

Each family reproduces R's numerical choices, because the fitted numbers must match lme4's to
many digits: the logit inverse link is clamped at |eta| > 30 with ``.Machine$double.eps``, probit
and cauchit clamp eta at the quantile of ``double.eps``, binomial deviance residuals use the
``y log(y/mu)`` convention with ``0 log 0 = 0``, and ``initialize`` applies glm.fit's mustart rules
(including ``cbind(successes, failures)`` and proportions with ``weights`` = trials).

The per-row functions here (``linkinv``, ``mu_eta``, ``variance``, ``dev_resids`` and the
pieces of ``aic``) are the numpy twin of the one Cython family layer that every kernel calls
(lmepy/kernels/glmrow.pxd, exposed over arrays by glm_family.pyx with the codes of
``glm_family.codes(family, link)``); tests/test_glm_family.py holds the two together function
by function. A change of R semantics is made in both, and that test says where they part.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from lmepy.errors import DataError, warn

DBL_EPS = float(np.finfo(float).eps)
_THRESH = 30.0
_MTHRESH = -30.0
_INVEPS = 1.0 / DBL_EPS

Array = np.ndarray


def _arr(x: object) -> Array:
    return np.asarray(x, dtype=float)


# ----------------------------------------------------------------------------------------------
# Links


@dataclass(frozen=True)
class Link:
    """A link function g (eta = g(mu)) with its inverse, d mu / d eta and eta's validity test."""

    name: str
    linkfun: Callable[[Array], Array]
    linkinv: Callable[[Array], Array]
    mu_eta: Callable[[Array], Array]
    valideta: Callable[[Array], bool]

    def __repr__(self) -> str:
        return f"Link({self.name!r})"


def _always(_eta: Array) -> bool:
    return True


def _logit_linkfun(mu: Array) -> Array:
    mu = _arr(mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(mu / (1.0 - mu))


def _logit_linkinv(eta: Array) -> Array:
    # R's C code: exp(eta) clamped to [eps, 1/eps] outside [-30, 30], then x / (1 + x)
    eta = _arr(eta)
    with np.errstate(over="ignore"):
        tmp = np.where(eta < _MTHRESH, DBL_EPS, np.where(eta > _THRESH, _INVEPS, np.exp(eta)))
    return tmp / (1.0 + tmp)


def _logit_mu_eta(eta: Array) -> Array:
    eta = _arr(eta)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(eta)
        opexp = 1.0 + e
        val = e / (opexp * opexp)
    return np.where((eta > _THRESH) | (eta < _MTHRESH), DBL_EPS, val)


_PROBIT_THRESH = -float(stats.norm.ppf(DBL_EPS))


def _probit_linkfun(mu: Array) -> Array:
    return special.ndtri(_arr(mu))


def _probit_linkinv(eta: Array) -> Array:
    eta = np.clip(_arr(eta), -_PROBIT_THRESH, _PROBIT_THRESH)
    return special.ndtr(eta)


def _probit_mu_eta(eta: Array) -> Array:
    eta = _arr(eta)
    return np.maximum(np.exp(-0.5 * eta * eta) / math.sqrt(2.0 * math.pi), DBL_EPS)


def _cauchit_linkfun(mu: Array) -> Array:
    """R's qcauchy: -1/tan(pi p) on the lower half, mirrored above 1/2. (scipy's cauchy.ppf
    before 1.12 used tan(pi (p - 1/2)), which loses 5 digits at p = 1e-12.)"""
    mu = _arr(mu)
    q = np.where(mu > 0.5, 1.0 - mu, mu)
    with np.errstate(divide="ignore"):
        lower = -1.0 / np.tan(np.pi * q)
    return np.where(mu == 0.5, 0.0, np.where(mu > 0.5, -lower, lower))


_CAUCHIT_THRESH = -float(_cauchit_linkfun(DBL_EPS))


def _cauchit_linkinv(eta: Array) -> Array:
    eta = np.clip(_arr(eta), -_CAUCHIT_THRESH, _CAUCHIT_THRESH)
    return stats.cauchy.cdf(eta)


def _cauchit_mu_eta(eta: Array) -> Array:
    eta = _arr(eta)
    return np.maximum(1.0 / (math.pi * (1.0 + eta * eta)), DBL_EPS)


def _cloglog_linkfun(mu: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(-np.log(1.0 - _arr(mu)))  # R's form, not log1p


def _cloglog_linkinv(eta: Array) -> Array:
    with np.errstate(over="ignore"):
        val = -np.expm1(-np.exp(_arr(eta)))
    return np.maximum(np.minimum(val, 1.0 - DBL_EPS), DBL_EPS)


def _cloglog_mu_eta(eta: Array) -> Array:
    eta = np.minimum(_arr(eta), 700.0)
    with np.errstate(over="ignore", under="ignore"):
        return np.maximum(np.exp(eta) * np.exp(-np.exp(eta)), DBL_EPS)


def _log_linkfun(mu: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(_arr(mu))


def _log_linkinv(eta: Array) -> Array:
    with np.errstate(over="ignore"):
        return np.maximum(np.exp(_arr(eta)), DBL_EPS)


def _identity(x: Array) -> Array:
    return _arr(x).copy()


def _ones(eta: Array) -> Array:
    return np.ones_like(_arr(eta))


def _inverse(x: Array) -> Array:
    with np.errstate(divide="ignore"):
        return 1.0 / _arr(x)


def _inverse_mu_eta(eta: Array) -> Array:
    eta = _arr(eta)
    with np.errstate(divide="ignore"):
        return -1.0 / (eta * eta)


def _finite_nonzero(eta: Array) -> bool:
    eta = _arr(eta)
    return bool(np.all(np.isfinite(eta)) and np.all(eta != 0))


def _finite_positive(eta: Array) -> bool:
    eta = _arr(eta)
    return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))


def _sqrt_linkfun(mu: Array) -> Array:
    with np.errstate(invalid="ignore"):
        return np.sqrt(_arr(mu))


def _sqrt_linkinv(eta: Array) -> Array:
    eta = _arr(eta)
    return eta * eta


def _sqrt_mu_eta(eta: Array) -> Array:
    return 2.0 * _arr(eta)


def _invsq_linkfun(mu: Array) -> Array:
    mu = _arr(mu)
    with np.errstate(divide="ignore"):
        return 1.0 / (mu * mu)


def _invsq_linkinv(eta: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(_arr(eta))


def _invsq_mu_eta(eta: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -1.0 / (2.0 * np.power(_arr(eta), 1.5))


LINKS: dict[str, Link] = {
    "logit": Link("logit", _logit_linkfun, _logit_linkinv, _logit_mu_eta, _always),
    "probit": Link("probit", _probit_linkfun, _probit_linkinv,
                   _probit_mu_eta, _always),
    "cauchit": Link("cauchit", _cauchit_linkfun, _cauchit_linkinv,
                    _cauchit_mu_eta, _always),
    "cloglog": Link("cloglog", _cloglog_linkfun, _cloglog_linkinv, _cloglog_mu_eta, _always),
    "log": Link("log", _log_linkfun, _log_linkinv, _log_linkinv, _always),
    "identity": Link("identity", _identity, _identity, _ones, _always),
    "inverse": Link("inverse", _inverse, _inverse, _inverse_mu_eta, _finite_nonzero),
    "sqrt": Link("sqrt", _sqrt_linkfun, _sqrt_linkinv, _sqrt_mu_eta, _finite_positive),
    "1/mu^2": Link("1/mu^2", _invsq_linkfun, _invsq_linkinv, _invsq_mu_eta, _finite_positive),
}


# ----------------------------------------------------------------------------------------------
# Families


@dataclass(frozen=True)
class Initialized:
    """What glm.fit's ``initialize`` leaves behind: the response as a vector (proportions for
    binomial), the prior weights (times trials for binomial), the trials ``n`` and ``mustart``."""

    y: Array
    weights: Array
    n: Array
    mustart: Array


def _y_log_y(y: Array, mu: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0.0, y * np.log(y / mu), 0.0)


class Family:
    """An R family object: link functions plus variance, deviance residuals, AIC and starts."""

    family: str = ""
    valid_links: tuple[str, ...] = ()
    has_scale: bool = True

    def __init__(self, link: str = "") -> None:
        link = link or self.valid_links[0]
        if isinstance(link, Link):
            link = link.name
        if link not in self.valid_links:
            raise ValueError(
                f"link \"{link}\" not available for {self.family} family; available links are "
                + ", ".join(f"'{x}'" for x in self.valid_links))
        self.link_obj = LINKS[link]

    # link
    @property
    def link(self) -> str:
        return self.link_obj.name

    def linkfun(self, mu: Array) -> Array:
        return self.link_obj.linkfun(mu)

    def linkinv(self, eta: Array) -> Array:
        return self.link_obj.linkinv(eta)

    def mu_eta(self, eta: Array) -> Array:
        return self.link_obj.mu_eta(eta)

    def valideta(self, eta: Array) -> bool:
        return self.link_obj.valideta(eta)

    # family
    def variance(self, mu: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def validmu(self, mu: Array) -> bool:
        return True

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        raise NotImplementedError

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        raise NotImplementedError

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        raise NotImplementedError

    # printing
    def family_line(self) -> str:
        """lme4's summary line, `` Family: binomial  ( logit )``."""
        return f" Family: {self.family}  ( {self.link} )"

    def __str__(self) -> str:
        return f"\nFamily: {self.family} \nLink function: {self.link} \n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(link={self.link!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Family) and other.family == self.family
                and other.link == self.link)

    def __hash__(self) -> int:
        return hash((self.family, self.link))


def _numeric_response(y: object, family: str) -> Array:
    arr = np.asarray(y)
    if arr.dtype == bool:
        return arr.astype(float)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"response must be numeric for the '{family}' family")
    return arr.astype(float)


def _prior_weights(weights: Array | None, nobs: int) -> Array:
    if weights is None:
        return np.ones(nobs)
    w = _arr(weights).copy()
    if w.shape != (nobs,):
        raise DataError("variable lengths differ (found for '(weights)')")
    if np.any(w < 0):
        raise DataError("negative weights not allowed")
    return w


def _one_per_row(yv: Array, weights: Array | None, mustart: Array) -> Initialized:
    """``initialize`` of a family with one observation per row (all but binomial): the prior
    weights as given, n = 1, and the family's starting means."""
    return Initialized(yv, _prior_weights(weights, yv.shape[0]), np.ones_like(yv), mustart)


class Binomial(Family):
    family = "binomial"
    valid_links = ("logit", "probit", "cloglog", "cauchit", "log")
    has_scale = False

    def variance(self, mu: Array) -> Array:
        mu = _arr(mu)
        return mu * (1.0 - mu)

    def validmu(self, mu: Array) -> bool:
        mu = _arr(mu)
        return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        y, mu = _arr(y), _arr(mu)
        return 2.0 * _arr(wt) * (_y_log_y(y, mu) + _y_log_y(1.0 - y, 1.0 - mu))

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        y, n, mu, wt = _arr(y), _arr(n), _arr(mu), _arr(wt)
        m = n if np.any(n > 1) else wt
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(m > 0, wt / np.where(m > 0, m, 1.0), 0.0)
        ld = stats.binom.logpmf(np.round(m * y), np.round(m), mu)
        return float(-2.0 * np.sum(np.where(f == 0.0, 0.0, f * ld)))

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        if hasattr(y, "categories") or (hasattr(y, "dtype") and str(getattr(y, "dtype", ""))
                                        == "category"):
            cat = y.cat if hasattr(y, "cat") else y  # Series or Categorical
            codes = np.asarray(cat.codes)
            if np.any(codes < 0):
                raise DataError("response has missing values")
            y = (codes != 0).astype(float)
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim == 1:
            if arr.dtype.kind in "OUS":
                raise DataError(
                    "for the 'binomial' family, y must be a vector of 0 and 1's\n"
                    "or a 2 column matrix where col 1 is no. successes and col 2 is no. failures")
            yv = _numeric_response(arr, "binomial")
            w = _prior_weights(weights, yv.shape[0])
            n = np.ones_like(yv)
            yv = np.where(w == 0, 0.0, yv)
            if np.any((yv < 0) | (yv > 1)):
                raise DataError("y values must be 0 <= y <= 1")
            mustart = (w * yv + 0.5) / (w + 1.0)
            m = w * yv
            if np.any(np.abs(m - np.round(m)) > 0.001):
                warn("non-integer #successes in a binomial glm!")
            return Initialized(yv, w, n, mustart)
        if arr.ndim == 2 and arr.shape[1] == 2:
            ym = _numeric_response(arr, "binomial")
            w = _prior_weights(weights, ym.shape[0])
            if np.any(np.abs(ym - np.round(ym)) > 0.001):
                warn("non-integer counts in a binomial glm!")
            y1 = ym[:, 0]
            n = y1 + ym[:, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                yv = y1 / n
            yv = np.where(n == 0, 0.0, yv)
            w = w * n
            mustart = (n * yv + 0.5) / (n + 1.0)
            return Initialized(yv, w, n, mustart)
        raise DataError(
            "for the 'binomial' family, y must be a vector of 0 and 1's\n"
            "or a 2 column matrix where col 1 is no. successes and col 2 is no. failures")


def _warn_noninteger(x: Array) -> None:
    bad = np.abs(x - np.round(x)) > 1e-7 * np.maximum(1.0, np.abs(x))
    if np.any(bad):
        warn(f"non-integer x = {x[bad][0]:.6f}")


class Poisson(Family):
    family = "poisson"
    valid_links = ("log", "identity", "sqrt")
    has_scale = False

    def variance(self, mu: Array) -> Array:
        return _arr(mu).copy()

    def validmu(self, mu: Array) -> bool:
        mu = _arr(mu)
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = wt * (y * np.log(y / mu) - (y - mu))
        return 2.0 * np.where(y > 0, pos, mu * wt)

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        _warn_noninteger(y)
        # R's dpois: a value within 1e-7 (relative) of an integer is that integer (1e-300 is 0)
        near = np.abs(y - np.round(y)) <= 1e-7 * np.maximum(1.0, np.abs(y))
        ld = stats.poisson.logpmf(np.where(near, np.round(y), y), mu)
        return float(-2.0 * np.sum(ld * wt))

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        yv = _numeric_response(y, "poisson")
        if yv.ndim != 1:
            raise DataError("response must be a vector for the 'poisson' family")
        if np.any(yv < 0):
            raise DataError("negative values not allowed for the 'Poisson' family")
        return _one_per_row(yv, weights, yv + 0.1)


class GammaFamily(Family):
    family = "Gamma"
    valid_links = ("inverse", "identity", "log")

    def variance(self, mu: Array) -> Array:
        mu = _arr(mu)
        return mu * mu

    def validmu(self, mu: Array) -> bool:
        mu = _arr(mu)
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(y == 0, 1.0, y / mu)
            return -2.0 * wt * (np.log(ratio) - (y - mu) / mu)

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        disp = dev / np.sum(wt)
        ld = stats.gamma.logpdf(y, 1.0 / disp, scale=mu * disp)
        return float(-2.0 * np.sum(ld * wt) + 2.0)

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        yv = _numeric_response(y, "Gamma")
        if np.any(yv <= 0):
            raise DataError("non-positive values not allowed for the 'Gamma' family")
        return _one_per_row(yv, weights, yv.copy())


class InverseGaussian(Family):
    family = "inverse.gaussian"
    valid_links = ("1/mu^2", "inverse", "identity", "log")

    def variance(self, mu: Array) -> Array:
        mu = _arr(mu)
        return mu * mu * mu

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        return wt * ((y - mu) ** 2) / (y * mu * mu)

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        y, wt = _arr(y), _arr(wt)
        sw = float(np.sum(wt))
        return float(sw * (1.0 + math.log(dev / sw * 2.0 * math.pi))
                     + 3.0 * np.sum(np.log(y) * wt) + 2.0)

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        yv = _numeric_response(y, "inverse.gaussian")
        if np.any(yv <= 0):
            raise DataError("positive values only are allowed for the 'inverse.gaussian' family")
        return _one_per_row(yv, weights, yv.copy())


class Gaussian(Family):
    family = "gaussian"
    valid_links = ("identity", "log", "inverse")

    def variance(self, mu: Array) -> Array:
        return np.ones_like(_arr(mu))

    def dev_resids(self, y: Array, mu: Array, wt: Array) -> Array:
        y, mu, wt = _arr(y), _arr(mu), _arr(wt)
        return wt * (y - mu) ** 2

    def aic(self, y: Array, n: Array, mu: Array, wt: Array, dev: float) -> float:
        y, wt = _arr(y), _arr(wt)
        nobs = y.shape[0]
        with np.errstate(divide="ignore"):
            return float(nobs * (math.log(dev / nobs * 2.0 * math.pi) + 1.0) + 2.0
                         - np.sum(np.log(wt)))

    def initialize(self, y: object, weights: Array | None = None) -> Initialized:
        yv = _numeric_response(y, "gaussian")
        if (self.link == "inverse" and np.any(yv == 0)) or (self.link == "log"
                                                            and np.any(yv <= 0)):
            raise DataError("cannot find valid starting values: please specify some")
        return _one_per_row(yv, weights, yv.copy())


def binomial(link: str = "logit") -> Family:
    """R's ``binomial(link)``: logit, probit, cloglog, cauchit or log."""
    return Binomial(link)


def poisson(link: str = "log") -> Family:
    """R's ``poisson(link)``: log, sqrt or identity."""
    return Poisson(link)


def Gamma(link: str = "inverse") -> Family:  # noqa: N802 - R's name
    """R's ``Gamma(link)``: inverse, log or identity."""
    return GammaFamily(link)


def inverse_gaussian(link: str = "1/mu^2") -> Family:
    """R's ``inverse.gaussian(link)``: 1/mu^2, inverse, log or identity."""
    return InverseGaussian(link)


def gaussian(link: str = "identity") -> Family:
    """R's ``gaussian(link)``: identity, log or inverse."""
    return Gaussian(link)


_BY_NAME: dict[str, Callable[..., Family]] = {
    "binomial": binomial,
    "poisson": poisson,
    "Gamma": Gamma,
    "gamma": Gamma,
    "inverse.gaussian": inverse_gaussian,
    "inverse_gaussian": inverse_gaussian,
    "gaussian": gaussian,
}


def get_family(family: object) -> Family:
    """Accept what R's glmer accepts: a family object, the function itself, or its name
    (``"binomial"``, ``"poisson"``, ``"Gamma"``, ``"inverse.gaussian"``, ``"gaussian"``)."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str):
        f = _BY_NAME.get(family)
        if f is None:
            raise ValueError(f"family '{family}' not found; use one of "
                             + ", ".join(sorted(set(_BY_NAME) - {"gamma", "inverse_gaussian"})))
        return f()
    if callable(family):
        out = family()
        if isinstance(out, Family):
            return out
    raise ValueError(f"'family' not recognized: {family!r}")
