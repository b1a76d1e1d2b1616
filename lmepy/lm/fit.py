"""Least squares and IRLS for models without random effects: R's ``lm.wfit`` and
``glm.fit``, with R's pivoting rule (LINPACK's limited pivoting at ``tol``; columns aliased
with earlier ones get NA coefficients)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from lmepy.design.rank import limited_pivot_qr_rank
from lmepy.errors import ConvergenceWarning, DataError, LmepyWarning, UnfittableError, warn

LM_TOL = 1e-7


@dataclass(eq=False)
class QRFit:
    """One (weighted) least-squares solve on the columns R's QR keeps.

    ``pivot`` is R's pivot (kept columns first, in their order); ``R`` the triangular factor
    of the kept columns; ``effects`` Q'y (first ``rank`` entries are the kept columns')."""

    coef: np.ndarray  # length p, 0 at aliased columns
    pivot: np.ndarray
    rank: int
    R: np.ndarray
    effects: np.ndarray


# Below this condition number of the column-scaled kept columns, the triangular factor from
# the cross-product's Cholesky agrees with the Householder QR's to about eps * cond^2 (1e-10):
# far inside the 1e-8 at which lm/glm are compared with R. Above it, Householder.
_CHOL_COND = 1e3


def _cholesky_solve(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(R, Q'z) from the Cholesky factor of X'X (one BLAS-3 pass over X) when X is well
    conditioned, else None. R equals the QR's up to the signs of its rows, which no result
    depends on (R'R, squared effects, solutions)."""
    g = x.T @ x
    d = np.sqrt(np.diag(g))
    if not (np.all(d > 0) and np.all(np.isfinite(g))):
        return None
    try:
        ls = np.linalg.cholesky(g / np.outer(d, d))
    except np.linalg.LinAlgError:
        return None
    dg = np.diag(ls)
    if dg.min() <= 0 or np.linalg.cond(ls) > _CHOL_COND:
        return None
    r = np.ascontiguousarray(ls.T * d[None, :])
    eff = sla.solve_triangular(r, x.T @ z, trans="T", check_finite=False)
    return r, eff


def qr_solve(xw: np.ndarray, zw: np.ndarray, tol: float) -> QRFit:
    """Least squares of ``zw`` on ``xw`` with R's rank rule: the pivot of LINPACK's dqrdc2
    at ``tol``, then a Householder QR (LAPACK) of the kept columns in that order."""
    n, p = xw.shape
    if p == 0:
        return QRFit(np.zeros(0), np.arange(0), 0, np.zeros((0, 0)), zw.copy())
    rank, pivot = limited_pivot_qr_rank(xw, tol)
    keep = pivot[:rank]
    if rank == 0:
        return QRFit(np.zeros(p), pivot, 0, np.zeros((0, 0)), np.zeros(0))
    xk = xw if rank == p else xw[:, keep]
    fast = _cholesky_solve(xk, zw)
    if fast is not None:
        r, eff = fast
        coef = np.zeros(p)
        coef[keep] = sla.solve_triangular(r, eff, check_finite=False)
        return QRFit(coef, pivot, rank, r, eff)
    xk = np.asfortranarray(xk)
    # Householder QR without forming Q: effects Q'z by LAPACK's ormqr (z' Q)
    qz, r = sla.qr_multiply(xk, zw[None, :], mode="right", overwrite_a=rank < p)
    eff = qz[0, :rank]
    r = r[:rank, :rank]
    coef = np.zeros(p)
    coef[keep] = sla.solve_triangular(r, eff, check_finite=False)
    return QRFit(coef, pivot, rank, r, eff)


@dataclass(eq=False)
class LinearFit:
    """What lm.wfit returns, on the rows given (zero-weight rows included, as R keeps them)."""

    coef: np.ndarray  # NaN at aliased columns
    qr: QRFit
    fitted: np.ndarray
    residuals: np.ndarray
    weights: np.ndarray | None
    df_residual: int


def lm_fit(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None,
           offset: np.ndarray | None) -> LinearFit:
    """R's lm.fit / lm.wfit: zero weights leave a row out of the solve (its fitted value is
    still x'b); the residual df counts the rows with positive weight."""
    if y.ndim != 1:
        raise DataError("lm() takes a single response column (a matrix response is a "
                        "multivariate lm, which lmepy does not fit)")
    z = y - offset if offset is not None else y
    n = y.shape[0]
    if weights is None:
        fit = qr_solve(X, z, LM_TOL)
        ok = n
    else:
        pos = weights > 0
        sw = np.sqrt(weights[pos])
        fit = qr_solve(X[pos] * sw[:, None], z[pos] * sw, LM_TOL)
        ok = int(pos.sum())
    fitted = X @ fit.coef
    if offset is not None:
        fitted = fitted + offset
    coef = fit.coef.copy()
    coef[fit.pivot[fit.rank:]] = np.nan
    return LinearFit(coef, fit, fitted, y - fitted, weights, ok - fit.rank)


@dataclass(eq=False)
class GlmFit:
    """What glm.fit returns (R's names in comments)."""

    coef: np.ndarray  # coefficients, NaN where aliased
    qr: QRFit  # the last iteration's QR (its weights are those before the last update)
    eta: np.ndarray  # linear.predictors
    mu: np.ndarray  # fitted.values
    y: np.ndarray  # y after initialize (proportions for binomial)
    prior_weights: np.ndarray  # prior.weights (times trials for binomial)
    n: np.ndarray
    working_weights: np.ndarray  # weights
    working_residuals: np.ndarray  # residuals
    deviance: float
    null_deviance: float
    aic: float
    iter: int
    converged: bool
    boundary: bool
    df_residual: int
    df_null: int
    rank: int
    warnings: list[str] = field(default_factory=list)


def _deviance(family, y, mu, wt) -> float:
    return float(np.sum(family.dev_resids(y, mu, wt)))


def irls(X: np.ndarray, y: np.ndarray, prior: np.ndarray, n: np.ndarray, mustart: np.ndarray,
         offset: np.ndarray | None, family, intercept: bool, epsilon: float = 1e-8,
         maxit: int = 25, null_deviance: bool = True,
         etastart: np.ndarray | None = None) -> GlmFit:
    """R's glm.fit, step for step: start from ``mustart``, Fisher scoring by weighted least
    squares (R's Cdqrls tolerance min(1e-7, epsilon/1000)), convergence when
    |dev - devold| / (|dev| + 0.1) < epsilon, step halving on a non-finite deviance or an
    invalid eta/mu. ``etastart`` (glm.fit's) starts from a linear predictor instead."""
    nobs, p = X.shape
    off = np.zeros(nobs) if offset is None else offset
    tol = min(1e-7, epsilon / 1000.0)
    eta = family.linkfun(mustart) if etastart is None else np.asarray(etastart, float)
    mu = family.linkinv(eta)
    if not (family.validmu(mu) and family.valideta(eta)):
        raise UnfittableError("cannot find valid starting values: please specify some")
    devold = _deviance(family, y, mu, prior)
    boundary = conv = False
    coefold: np.ndarray | None = None
    coef = np.zeros(p)
    fit: QRFit | None = None
    w = np.zeros(0)
    good = prior > 0
    it = 0
    msgs: list[str] = []
    for it in range(1, maxit + 1):
        mu_eta = family.mu_eta(eta)
        good = (prior > 0) & (mu_eta != 0)
        var = family.variance(mu)[good]
        if np.any(np.isnan(var)):
            raise UnfittableError("NAs in V(mu)")
        if np.any(var == 0):
            raise UnfittableError("0s in V(mu)")
        if np.any(np.isnan(mu_eta[good])):
            raise UnfittableError("NAs in d(mu)/d(eta)")
        if not good.any():
            raise UnfittableError(f"no observations informative at iteration {it}")
        z = (eta - off)[good] + (y - mu)[good] / mu_eta[good]
        w = np.sqrt(prior[good] * mu_eta[good] ** 2 / var)
        fit = qr_solve(X[good] * w[:, None], z * w, tol)
        if not np.all(np.isfinite(fit.coef)):
            msgs.append(f"non-finite coefficients at iteration {it}")
            break
        start = fit.coef
        eta = X @ start + off
        mu = family.linkinv(eta)
        dev = _deviance(family, y, mu, prior)
        boundary = False
        if not np.isfinite(dev):
            msgs.append("step size truncated due to divergence")
            start, eta, mu = _halve_step(
                lambda e, m: bool(np.isfinite(_deviance(family, y, m, prior))),
                1, start, coefold, X, off, family, maxit)
            dev = _deviance(family, y, mu, prior)
            boundary = True
        if not (family.valideta(eta) and family.validmu(mu)):
            msgs.append("step size truncated: out of bounds")
            start, eta, mu = _halve_step(
                lambda e, m: bool(family.valideta(e) and family.validmu(m)),
                2, start, coefold, X, off, family, maxit)
            boundary = True
            dev = _deviance(family, y, mu, prior)
        coef = start
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            conv = True
            break
        devold = dev
        coefold = start
    else:
        dev = devold
    dev = _deviance(family, y, mu, prior)
    if not conv:
        msgs.append("glm.fit: algorithm did not converge")
    if boundary:
        msgs.append("glm.fit: algorithm stopped at boundary value")
    eps10 = 10 * np.finfo(float).eps
    if family.family == "binomial" and (np.any(mu > 1 - eps10) or np.any(mu < eps10)):
        msgs.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
    if family.family == "poisson" and np.any(mu < eps10):
        msgs.append("glm.fit: fitted rates numerically 0 occurred")
    assert fit is not None
    out = coef.copy()
    out[fit.pivot[fit.rank:]] = np.nan
    mu_eta = family.mu_eta(eta)
    wres = (y - mu) / mu_eta
    wt = np.zeros(nobs)
    wt[good] = w ** 2
    n_ok = nobs - int(np.sum(prior == 0))
    nulldev = float("nan")
    if null_deviance:
        wtdmu = (np.sum(prior * y) / np.sum(prior)) if intercept else family.linkinv(off)
        nulldev = _deviance(family, y, np.broadcast_to(wtdmu, y.shape), prior)
    aic = family.aic(y, n, mu, prior, dev) + 2 * fit.rank
    return GlmFit(out, fit, eta, mu, y, prior, n, wt, wres, dev, nulldev, float(aic), it, conv,
                  boundary, n_ok - fit.rank, n_ok - int(intercept), fit.rank, msgs)


def glm_fit(X: np.ndarray, init, offset: np.ndarray | None, family, intercept: bool,
            epsilon: float = 1e-8, maxit: int = 25) -> GlmFit:
    """glm(): glm.fit, then (an offset and an intercept) the null deviance of the
    intercept-only model refitted from the fitted means, as R's glm() does."""
    fit = irls(X, init.y, init.weights, init.n, init.mustart, offset, family, intercept,
               epsilon, maxit)
    for m in fit.warnings:
        warn(m, ConvergenceWarning if "converge" in m else LmepyWarning)
    if offset is not None and intercept:
        one = np.ones((X.shape[0], 1))
        fit2 = irls(one, init.y, init.weights, init.n, fit.mu, offset, family, True, epsilon,
                    maxit, null_deviance=False)
        fit.null_deviance = fit2.deviance
    return fit


def refit_glm(fit: GlmFit, X: np.ndarray, offset: np.ndarray | None, family,
              intercept: bool) -> GlmFit:
    """glm.fit of a fit's response, prior weights and offset on other columns (anova.glm's
    submodels), started as glm.fit starts (the family's initialize)."""
    init = family.initialize(fit.y, fit.prior_weights)
    return irls(X, init.y, init.weights, fit.n, init.mustart, offset, family, intercept,
                null_deviance=False)


def _halve_step(ok: Any, loop: int, start: np.ndarray, coefold: np.ndarray | None,
                X: np.ndarray, off: np.ndarray, family: Any, maxit: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """glm.fit's inner loops: halve the step back towards the previous coefficients until
    ``ok(eta, mu)`` (a finite deviance: loop 1; a valid eta and mu: loop 2), with R's errors."""
    if coefold is None:
        raise UnfittableError("no valid set of coefficients has been found: please supply "
                              "starting values")
    eta = X @ start + off
    mu = family.linkinv(eta)
    ii = 1
    while not ok(eta, mu):
        if ii > maxit:
            raise UnfittableError(f"inner loop {loop}; cannot correct step size")
        ii += 1
        start = (start + coefold) / 2.0
        eta = X @ start + off
        mu = family.linkinv(eta)
    return start, eta, mu
