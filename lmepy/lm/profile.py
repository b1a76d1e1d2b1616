"""Profile-likelihood intervals of glm coefficients: R (>= 4.2) ``confint.glm``, i.e.
``profile.glm`` (each coefficient stepped away from its estimate in ``del`` multiples of its
standard error, the others refitted by glm.fit with it as an offset) and
``confint.profile.glm`` (an interpolating cubic spline of the parameter against the signed
root deviance, inverted linearly at the normal quantiles), with R's arithmetic."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from lmepy.errors import UnfittableError

from .fit import irls


def _seq(a: float, b: float, n: int) -> np.ndarray:
    """R's ``seq.int(a, b, length.out = n)`` (filled from both ends)."""
    out = np.empty(n)
    if n > 0:
        out[0] = a
    if n > 1:
        out[n - 1] = b
    if n > 2:
        by = (b - a) / (n - 1)
        for i in range(1, n - 1):
            out[i] = a + i * by if i < n // 2 else b - (n - 1 - i) * by
    return out


def _regularize(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``regularize.values(x, y, mean)``: sorted by x, tied x's y averaged."""
    o = np.argsort(x, kind="stable")
    x, y = x[o], y[o]
    ux, inv = np.unique(x, return_inverse=True)
    if ux.shape[0] == x.shape[0]:
        return x, y
    sums = np.bincount(inv, weights=y)
    return ux, sums / np.bincount(inv)


def fmm_spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's ``fmm_spline`` (Forsythe, Malcolm and Moler): the coefficients b, c, d of the
    interpolating cubic with end third derivatives from divided differences."""
    n = x.shape[0]
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 2:
        return b, c, d
    if n < 3:
        t = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = t
        return b, c, d
    nm1 = n - 1
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    return b, c, d


def spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``spline(x, y)`` (method "fmm", n = 3 * length(x) points over the range of x)."""
    x, y = _regularize(np.asarray(x, float), np.asarray(y, float))
    n = x.shape[0]
    b, c, d = fmm_spline(x, y)
    u = _seq(float(x[0]), float(x[-1]), 3 * n)
    out = np.empty(u.shape[0])
    i = 0
    for k, v in enumerate(u):
        if v < x[i] or (i < n - 1 and x[i + 1] < v):
            i, j = 0, n
            while True:
                m = (i + j) // 2
                if v < x[m]:
                    j = m
                else:
                    i = m
                if not j > i + 1:
                    break
        dx = v - x[i]
        out[k] = y[i] + dx * (b[i] + dx * (c[i] + dx * d[i]))
    return u, out


def approx(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)`` (linear, rule 1: NA outside the range of x)."""
    x, y = _regularize(np.asarray(x, float), np.asarray(y, float))
    n = x.shape[0]
    res = np.full(len(xout), np.nan)
    for k, v in enumerate(xout):
        if n == 0 or v < x[0] or v > x[n - 1]:
            continue
        i, j = 0, n - 1
        while i < j - 1:
            m = (i + j) // 2
            if v < x[m]:
                j = m
            else:
                i = m
        if v == x[j]:
            res[k] = y[j]
        elif v == x[i]:
            res[k] = y[i]
        else:
            res[k] = y[i] + (y[j] - y[i]) * ((v - x[i]) / (x[j] - x[i]))
    return res


def profile_glm(fit: Any, which: list[int], alpha: float, maxsteps: int = 10
                ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """R's ``profile.glm``: for each coefficient index in ``which``, the signed root
    deviance differences z (sorted) and the coefficient's values there."""
    fam = fit.family
    X = fit.model.X.to_numpy(dtype=float)
    n, p = X.shape
    B0 = fit.fit.coef
    nonA = ~np.isnan(B0)
    O = fit.model.offset if fit.model.offset is not None else np.zeros(n)
    init = fam.initialize(fit.model.y, fit.model.weights)
    dev0 = fit.deviance()
    disp = fit.dispersion()
    se = fit._se()
    if fam.family in ("binomial", "poisson"):
        zmax = math.sqrt(stats.chi2.ppf(1 - alpha, 1))
    else:
        zmax = math.sqrt(stats.f.ppf(1 - alpha, 1, n - p))
    step_size = zmax / 5
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in which:
        if not nonA[i]:
            continue
        a = nonA.copy()
        a[i] = False
        Xi = X[:, a]
        zi = [0.0]
        vals = [float(B0[i])]
        for sgn in (-1.0, 1.0):
            step = 0
            z = 0.0
            LP = X[:, nonA] @ B0[nonA] + O
            while True:
                step += 1
                if not (step < maxsteps and abs(z) < zmax):
                    break
                bi = B0[i] + sgn * step * step_size * se[i]
                o = O + X[:, i] * bi
                fm = irls(Xi, init.y, init.weights, init.n, init.mustart, o, fam,
                          fit.intercept, null_deviance=False, etastart=LP)
                LP = Xi @ np.where(np.isnan(fm.coef), 0.0, fm.coef) + o
                zz = (fm.deviance - dev0) / disp
                if zz > -0.001:
                    zz = max(zz, 0.0)
                else:
                    raise UnfittableError("profiling has found a better solution, so original "
                                          "fit had not converged")
                z = sgn * math.sqrt(zz)
                zi.append(z)
                vals.append(float(bi))
        o = np.argsort(np.asarray(zi), kind="stable")
        out[i] = (np.asarray(zi)[o], np.asarray(vals)[o])
    return out


def confint_profile(fit: Any, which: list[int], level: float) -> np.ndarray:
    """R's ``confint.glm``: profile at alpha = (1 - level) / 4, then for each coefficient
    ``approx(spline(par, z)$y, spline(par, z)$x, xout = qnorm(a))``."""
    prof = profile_glm(fit, which, alpha=(1 - level) / 4)
    a = (1 - level) / 2
    cutoff = stats.norm.ppf([a, 1 - a])
    out = np.full((len(which), 2), np.nan)
    for k, i in enumerate(which):
        if i not in prof:
            continue
        z, par = prof[i]
        sx, sy = spline(par, z)
        out[k] = approx(sy, sx, cutoff)
    return out
