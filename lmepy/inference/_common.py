"""Shared pieces of the inference code: reaching the LMM solution behind a fit object,
Richardson-extrapolated numerical derivatives, and the deviance as a function of
varpar = (θ, σ) that Satterthwaite's and the profile's computations differentiate or scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lmepy.errors import quiet
from lmepy.fit.lmm import LmmProblem, LmmSolution
from lmepy.formula.deparse import deparse_lme4_formula

_LOG2PI = float(np.log(2.0 * np.pi))


def as_solution(fit: Any) -> LmmSolution:
    """The ``LmmSolution`` of a fit: the solution itself, or the fit object's ``sol``,
    ``solution`` or ``_sol`` attribute (whichever the results stage provides)."""
    if isinstance(fit, LmmSolution):
        return fit
    for name in ("sol", "solution", "_sol"):
        s = getattr(fit, name, None)
        if isinstance(s, LmmSolution):
            return s
    raise TypeError(f"expected an lmer fit (LmmSolution or LmerMod), not {type(fit).__name__}")


def xnames(sol: LmmSolution) -> list[str]:
    """R's names of the fixed-effect coefficients."""
    X = sol.model.X
    cols = getattr(X, "columns", None)
    if cols is None:
        return [f"X{j + 1}" for j in range(np.asarray(X).shape[1])]
    return [str(c) for c in cols]


def vcov_beta(sol: LmmSolution) -> np.ndarray:
    """vcov(fit): σ² (R_X'R_X)^{-1} at the estimates."""
    return float(sol.sigma) ** 2 * np.asarray(sol.vcov_unscaled, dtype=float)


class VarparDeviance:
    """The deviance (ML) or REML criterion as a function of varpar = (θ, σ), β profiled out.

    σ enters explicitly instead of being profiled: this is the function whose Hessian at the
    optimum gives the asymptotic covariance of the variance parameters (lmerTest) and whose
    profile in σ lme4 uses. Built on its own ``LmmProblem`` so that the fit is left alone.
    """

    def __init__(self, sol: LmmSolution, REML: bool | None = None):
        self.sol = sol
        self.REML = bool(sol.REML if REML is None else REML)
        self.prob = LmmProblem(sol.model, self.REML)
        self.ntheta = len(sol.theta)

    def __call__(self, varpar: np.ndarray) -> float:
        varpar = np.asarray(varpar, dtype=float)
        theta, sigma = varpar[:-1], float(varpar[-1])
        ld, ldx, pw = self.prob.bc.update(theta)
        s2 = sigma * sigma
        n, p = self.prob.n, self.prob.p
        dev = ld + pw / s2 + n * np.log(2.0 * np.pi * s2) - self.prob.ldW
        if self.REML:
            dev += ldx - p * np.log(2.0 * np.pi * s2)
        return float(dev)

    def vcov_beta(self, varpar: np.ndarray) -> np.ndarray:
        """σ² (R_X'R_X)^{-1}(θ): the covariance of β̂ as a function of varpar."""
        varpar = np.asarray(varpar, dtype=float)
        self.prob.bc.update(varpar[:-1])
        return float(varpar[-1]) ** 2 * self.prob.bc.vcov_unscaled()

    def varpar_opt(self) -> np.ndarray:
        return np.concatenate([np.asarray(self.sol.theta, dtype=float), [float(self.sol.sigma)]])


def _steps(x: np.ndarray, d: float, eps: float, zero_tol: float) -> np.ndarray:
    return np.abs(d * x) + eps * (np.abs(x) < zero_tol)


_ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))


def _richardson(a: list[Any], r: int) -> Any:
    a = list(a)
    for m in range(1, r):
        f = 4.0 ** m
        a = [(a[k + 1] * f - a[k]) / (f - 1.0) for k in range(len(a) - 1)]
    return a[0]


def _step(n: int, h: np.ndarray, *coords: int) -> np.ndarray:
    """The step vector: h along `coords`, 0 elsewhere."""
    e = np.zeros(n)
    for k in coords:
        e[k] = h[k]
    return e


def _extrapolated(diff: Callable[[np.ndarray], Any], h0: np.ndarray, r: int, v: float) -> Any:
    """A difference quotient at steps h0, h0/v, ..., h0/v^(r-1), Richardson-extrapolated."""
    h = h0.copy()
    approx = []
    for _ in range(r):
        approx.append(diff(h))
        h = h / v
    return _richardson(approx, r)


def jacobian(fn: Callable[[np.ndarray], Any], x: np.ndarray, d: float = 1e-4, eps: float = 1e-4,
             r: int = 4, v: float = 2.0) -> list[np.ndarray]:
    """Derivatives of an array-valued fn along each coordinate of x: central differences with
    steps h, h/v, ..., combined by Richardson extrapolation (error O(h^(2r)))."""
    x = np.asarray(x, dtype=float)
    h0 = _steps(x, d, eps, _ZERO_TOL)
    out = []
    for i in range(len(x)):
        def diff(h: np.ndarray, i: int = i) -> Any:
            e = _step(len(x), h, i)
            return (np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2.0 * h[i])

        out.append(_extrapolated(diff, h0, r, v))
    return out


def hessian(fn: Callable[[np.ndarray], float], x: np.ndarray, d: float = 0.1, eps: float = 1e-4,
            r: int = 4, v: float = 2.0) -> np.ndarray:
    """Hessian of a scalar fn by Richardson-extrapolated second differences (numDeriv's
    scheme: diagonal first, then mixed terms corrected by the diagonal)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    f0 = fn(x)
    h0 = _steps(x, d, eps, _ZERO_TOL)
    H = np.zeros((n, n))
    for i in range(n):
        def diag(h: np.ndarray, i: int = i) -> float:
            e = _step(n, h, i)
            return (fn(x + e) - 2.0 * f0 + fn(x - e)) / h[i] ** 2

        H[i, i] = _extrapolated(diag, h0, r, v)
    for i in range(n):
        for j in range(i):
            def mixed(h: np.ndarray, i: int = i, j: int = j) -> float:
                e = _step(n, h, i, j)
                return (fn(x + e) - 2.0 * f0 + fn(x - e) - H[i, i] * h[i] ** 2
                        - H[j, j] * h[j] ** 2) / (2.0 * h[i] * h[j])

            H[i, j] = H[j, i] = _extrapolated(mixed, h0, r, v)
    return H


def solution_at(model: Any, theta: np.ndarray, REML: bool = True) -> LmmSolution:
    """The LMM solution (β, u, σ, ...) at a given θ without optimizing: what a fit at that θ
    would report. Used to refit and to evaluate at reference values."""
    from lmepy.fit.lmm import _solution

    prob = LmmProblem(model, REML)
    opt = {"feval": 0, "message": "", "conv": 0, "derivs": None, "par": np.asarray(theta),
           "fval": float("nan")}
    return _solution(prob, np.asarray(theta, dtype=float), opt, False, [])


def refit_ml(sol: LmmSolution) -> LmmSolution:
    """lme4's ``refitML``: the same model fitted by maximum likelihood, started at the REML θ."""
    from lmepy.fit.lmm import fit_lmm

    if not sol.REML:
        return sol
    cached = getattr(sol, "_lmepy_ml", None)
    if isinstance(cached, LmmSolution):
        return cached
    with quiet():  # lme4's refitML checks nothing: the user's fit has warned already
        ml = fit_lmm(sol.model, REML=False, control={"start": np.asarray(sol.theta, dtype=float)})
    try:
        sol._lmepy_ml = ml  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return ml


def formula_text(fit: Any, sol: LmmSolution) -> str:
    """The formula as lme4 prints it in the call (``(x || g)`` expanded, as lme4 does)."""
    f = getattr(fit, "_formula_text", None)
    if callable(f):
        text = f()
        return " ".join(map(str, text)) if isinstance(text, (list, tuple)) else str(text)
    terms = getattr(sol.model, "terms", None)
    form = getattr(terms, "formula", None)
    if form is None:
        return str(terms) if terms is not None else ""
    text = deparse_lme4_formula(form)
    if isinstance(text, (list, tuple)):
        return " ".join(str(t) for t in text)
    return str(text)
