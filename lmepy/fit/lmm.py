"""Linear mixed models: lme4's profiled deviance / REML criterion as a function of θ, and the fit.

The objective (Bates, Mächler, Bolker & Walker 2015, eqs. 34 and 41) needs, for each θ, only
log|L_θ|², log|R_X|² and the penalized weighted residual sum of squares, all read off one
blocked Cholesky factor of the cross-products formed once (``lmepy.fit.blocks``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from lmepy.design.types import CompiledModel
from lmepy.errors import ConvergenceWarning, SingularFitWarning
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.optimize import check_conv, optimize_theta

_LOG2PI = float(np.log(2.0 * np.pi))

__all__ = ["LmmSolution", "LmmProblem", "fit_lmm", "make_devfun"]


class LmmProblem:
    """Cross-products and factor of one model; ``deviance(theta)`` is lme4's devfun."""

    def __init__(self, model: CompiledModel, REML: bool = True):
        self.model = model
        self.REML = bool(REML)
        y = np.asarray(model.y, dtype=float)
        if y.ndim != 1:
            y = y.reshape(-1)
        self.y = y
        self.X = np.asarray(model.X, dtype=float)
        self.offset = None if model.offset is None else np.asarray(model.offset, dtype=float)
        self.weights = None if model.weights is None else np.asarray(model.weights, dtype=float)
        yo = y if self.offset is None else y - self.offset
        self.cp = cross_products(model.reTrms.terms, self.X, yo, self.weights)
        self.bc = BlockedCholesky(self.cp)
        self.n = self.cp.n
        self.p = self.cp.p
        self.ldW = 0.0 if self.weights is None else float(np.sum(np.log(self.weights)))

    def criterion(self, ldL2: float, ldRX2: float, pwrss: float) -> float:
        """-2 log-likelihood (ML) or REML criterion from the factor's three summaries."""
        if self.REML:
            nmp = self.n - self.p
            return ldL2 + ldRX2 + nmp * (1.0 + _LOG2PI + np.log(pwrss / nmp)) - self.ldW
        n = self.n
        return ldL2 + n * (1.0 + _LOG2PI + np.log(pwrss / n)) - self.ldW

    def make_devfun(self) -> Callable[[np.ndarray], float]:
        update = self.bc.update
        crit = self.criterion

        def devfun(theta: np.ndarray) -> float:
            ld, ldx, pw = update(theta)
            if ld != ld:
                return float("inf")
            return float(crit(ld, ldx, pw))

        return devfun


def make_devfun(model: CompiledModel, REML: bool = True) -> Callable[[np.ndarray], float]:
    """lme4's ``devfun``: the profiled deviance (ML) or REML criterion as a function of θ."""
    return LmmProblem(model, REML).make_devfun()


@dataclass(eq=False)
class LmmSolution:
    """Everything the results stage needs from a fitted LMM (names as lme4's slots)."""

    model: CompiledModel
    REML: bool
    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    sigma: float
    objective: float
    devcomp: dict[str, float]
    vcov_unscaled: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    Lambdat: sp.csc_matrix
    optinfo: dict[str, Any]
    singular: bool
    _condvar_u: list[np.ndarray] = field(default_factory=list, repr=False)
    _factors: list[np.ndarray] = field(default_factory=list, repr=False)

    def condvar(self) -> list[np.ndarray]:
        """Per ReTerm, (nlevels, k, k) conditional variances of b: lme4's ``postVar``."""
        out = []
        s2 = self.sigma ** 2
        for T, cu in zip(self._factors, self._condvar_u, strict=True):
            out.append(s2 * np.einsum("ij,mjk,lk->mil", T, cu, T))
        return out


def fit_lmm(model: CompiledModel, REML: bool = True, control: dict | None = None) -> LmmSolution:
    """Fit as lme4's ``lmer``: BOBYQA on θ from the identity, then β, u, σ at the optimum.

    control: ``optCtrl`` (nlopt: xtol_abs, ftol_abs, maxeval, ...), ``restart_edge``,
    ``boundary_tol``, ``calc_derivs``, ``start`` (θ to start from).
    """
    control = dict(control or {})
    prob = LmmProblem(model, REML)
    devfun = prob.make_devfun()
    terms = model.reTrms.terms
    theta0 = np.concatenate([t.theta0() for t in terms])
    lower = np.concatenate([t.lower() for t in terms])
    if control.get("start") is not None:
        theta0 = np.asarray(control["start"], dtype=float)
    opt = optimize_theta(devfun, theta0, lower, control)
    theta = np.asarray(opt["par"], dtype=float)
    singular, msgs = check_conv(opt["derivs"], theta, lower)
    warns: list[str] = []
    if opt["conv"] != 0:
        warns.append(f"convergence code {opt['conv']} from nloptwrap: {opt['message']}")
    warns.extend(msgs)
    for m in warns:
        cls = SingularFitWarning if m.startswith("boundary (singular)") else ConvergenceWarning
        warnings.warn(m, cls, stacklevel=2)
    return _solution(prob, theta, opt, singular, warns)


def _solution(prob: LmmProblem, theta: np.ndarray, opt: dict, singular: bool,
              warns: list[str]) -> LmmSolution:
    bc = prob.bc
    ld, ldx, pw = bc.update(theta)
    objective = float(prob.criterion(ld, ldx, pw))
    u, beta = bc.solve()
    terms = prob.model.reTrms.terms
    factors = [bc.factor(i) for i in range(len(terms))]
    b_parts = []
    pos = 0
    for t, T in zip(terms, factors, strict=True):
        ut = u[pos: pos + t.q].reshape(t.nlevels, t.k)
        b_parts.append((ut @ T.T).reshape(-1))
        pos += t.q
    b = np.concatenate(b_parts)
    fitted = prob.X @ beta
    pos = 0
    for t, bt in zip(terms, b_parts, strict=True):
        bt2 = bt.reshape(t.nlevels, t.k)
        fitted = fitted + np.einsum("ij,ij->i", np.asarray(t.rows, dtype=float),
                                    bt2[np.asarray(t.codes)])
    if prob.offset is not None:
        fitted = fitted + prob.offset
    resid = prob.y - fitted
    w = prob.weights
    wrss = float(np.sum(resid ** 2 if w is None else w * resid ** 2))
    ussq = float(u @ u)
    pwrss = wrss + ussq
    n, p = prob.n, prob.p
    sigmaML = float(np.sqrt(pwrss / n))
    sigmaREML = float(np.sqrt(pwrss / (n - p)))
    devcomp = {"ldL2": float(ld), "ldRX2": float(ldx), "wrss": wrss, "ussq": ussq,
               "pwrss": pwrss, "drsum": float("nan"),
               "REML": objective if prob.REML else float("nan"),
               "dev": float("nan") if prob.REML else objective,
               "sigmaML": sigmaML, "sigmaREML": sigmaREML, "tolPwrss": float("nan")}
    derivs = opt.get("derivs")
    optinfo = {"optimizer": "nloptwrap", "feval": int(opt["feval"]), "message": opt["message"],
               "conv": int(opt["conv"]), "warnings": list(warns),
               "converged": opt["conv"] == 0 and not any(
                   not m.startswith("boundary (singular)") for m in warns),
               "derivs": None if derivs is None else {"gradient": derivs[0],
                                                      "Hessian": derivs[1]},
               "val": np.array(theta)}
    return LmmSolution(model=prob.model, REML=prob.REML, theta=np.array(theta), beta=beta,
                       u=u, b=b, sigma=sigmaREML if prob.REML else sigmaML,
                       objective=objective, devcomp=devcomp,
                       vcov_unscaled=bc.vcov_unscaled(), fitted=fitted, residuals=resid,
                       Lambdat=bc.Lambdat(), optinfo=optinfo, singular=singular,
                       _condvar_u=bc.condvar_u(), _factors=factors)
