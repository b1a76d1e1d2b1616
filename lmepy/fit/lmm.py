"""Linear mixed models: lme4's profiled deviance / REML criterion as a function of θ, and the fit.

The objective (Bates, Mächler, Bolker & Walker 2015, eqs. 34 and 41) needs, for each θ, only
log|L_θ|², log|R_X|² and the penalized weighted residual sum of squares, all read off one
blocked Cholesky factor of the cross-products formed once (``lmepy.fit.blocks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from lmepy.design.types import CompiledModel
from lmepy.errors import ConvergenceWarning, DataError, SingularFitWarning, warn
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.control import check_control, check_start
from lmepy.fit.guard import fit_guard, require_finite
from lmepy.fit.optimize import check_conv, optimize_theta
from lmepy.kernels import rstats as _rstats
from lmepy.kernels.blas_threads import AdaptiveThreads, limit_threads

_LOG2PI = float(np.log(2.0 * np.pi))
# below this many rows in the dense part a second BLAS thread does not pay (potrf_lower:
# 0.70 vs 0.57 ms at 400 rows, 4.8 vs 3.5 ms at 800 on this 2-core machine)
AUTO_THREADS_MIN_ROWS = 400

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
        X = model.X
        # DataFrame.to_numpy: the same array as np.asarray(X), without pandas' __array__
        # round trip through its dtypes (~20 us, a tenth of a small fit)
        self.X = X.to_numpy(dtype=float) if hasattr(X, "to_numpy") else np.asarray(X, float)
        self.offset = None if model.offset is None else np.asarray(model.offset, dtype=float)
        self.weights = None if model.weights is None else np.asarray(model.weights, dtype=float)
        if self.weights is not None:
            w = self.weights
            if not np.all(np.isfinite(w)):
                raise DataError("weights must be finite")
            if np.any(w < 0):
                raise DataError("all(weights >= 0) is not TRUE")  # lme4's mkRespMod
            if np.any(w == 0):
                # lme4 fits on, with log|W| = -Inf: an infinite criterion and meaningless
                # estimates; say so instead
                raise DataError(f"{int(np.sum(w == 0))} prior weight(s) are zero: the log-"
                                "likelihood includes log(weights), which is -Inf; drop those "
                                "rows (lme4 would report an infinite criterion)")
        for name, arr in (("response", y), ("fixed-effects model matrix", self.X),
                          ("offset", self.offset)):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise DataError(f"the {name} contains NA, NaN or infinite values")
        yo = y if self.offset is None else y - self.offset
        self.cp = cross_products(model.reTrms.terms, self.X, yo, self.weights)
        self.bc = BlockedCholesky(self.cp)
        self.n = self.cp.n
        self.p = self.cp.p
        if self.p >= self.n:
            # lme4: "objective in x0 returns NA" (REML), or a meaningless ML fit with zero
            # residuals
            raise DataError(f"the fixed-effects model matrix has {self.p} linearly independent "
                            f"columns for {self.n} observations: no residual degrees of freedom "
                            "are left to estimate the variances")
        self.ldW = 0.0 if self.weights is None else float(np.sum(np.log(self.weights)))
        # Threads of the dense factor (see lmepy.kernels.blas_threads): an int fixes them,
        # "adaptive" uses every core while that pays, "auto" is adaptive for a dense part of
        # AUTO_THREADS_MIN_ROWS rows or more and one thread below; OpenBLAS runs one thread
        # meanwhile. None runs the factor on one thread and leaves OpenBLAS's count alone. The
        # factor's rounding does not depend on the thread count, so neither does the fit.
        self.blas_threads: int | str | None = "auto"
        self.adaptive: AdaptiveThreads | None = None  # set by make_devfun when adaptive

    def thread_mode(self) -> int | None | str:
        """The dense factor's thread count (None: one, OpenBLAS left alone), or "adaptive"."""
        if self.blas_threads == "auto":
            return "adaptive" if self.cp.r >= AUTO_THREADS_MIN_ROWS else 1
        if self.blas_threads is not None and self.blas_threads != "adaptive":
            if not isinstance(self.blas_threads, (int, np.integer)) or self.blas_threads < 1:
                raise ValueError("blas_threads must be a positive integer, 'auto', 'adaptive' "
                                 f"or None, not {self.blas_threads!r}")
        return self.blas_threads

    def openblas_threads(self) -> int | None:
        """OpenBLAS's thread count to hold while this problem's factor is used."""
        return None if self.thread_mode() is None else 1

    def criterion(self, ldL2: float, ldRX2: float, pwrss: float) -> float:
        """-2 log-likelihood (ML) or REML criterion from the factor's three summaries."""
        if self.REML:
            nmp = self.n - self.p
            return ldL2 + ldRX2 + nmp * (1.0 + _LOG2PI + np.log(pwrss / nmp)) - self.ldW
        n = self.n
        return ldL2 + n * (1.0 + _LOG2PI + np.log(pwrss / n)) - self.ldW

    def make_devfun(self, hold_threads: bool = True) -> Callable[[np.ndarray], float]:
        """The criterion as a function of θ. hold_threads: each call holds OpenBLAS at one
        thread (False when the caller holds it around all calls, as fit_lmm does)."""
        update = self.bc.update
        crit = self.criterion

        def devfun(theta: np.ndarray) -> float:
            ld, ldx, pw = update(theta)
            if ld != ld:
                return float("inf")
            return float(crit(ld, ldx, pw))

        mode = self.thread_mode()
        bc = self.bc
        if mode == "adaptive":

            def apply(n: int) -> None:
                bc.threads = n

            self.adaptive = AdaptiveThreads(apply)
            call = self.adaptive.call

            def devfun_adaptive(theta: np.ndarray) -> float:
                return call(devfun, theta)

            inner = devfun_adaptive
        else:
            bc.threads = 1 if mode is None else mode
            inner = devfun
        hold = self.openblas_threads()
        if not hold_threads or hold is None:
            return inner

        def devfun_held(theta: np.ndarray) -> float:
            with limit_threads(hold):
                return inner(theta)

        return devfun_held


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
    optinfo: dict[str, Any]
    singular: bool
    _factor: BlockedCholesky | None = field(default=None, repr=False)  # at theta, kept
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def Lambdat(self) -> sp.csc_matrix:
        """lme4's Lambdat (q x q, transpose of the relative covariance factor) at theta."""
        if "Lambdat" not in self._cache:
            self._cache["Lambdat"] = self._factor.Lambdat()
        return self._cache["Lambdat"]

    def condvar(self) -> list[np.ndarray]:
        """Per ReTerm, (nlevels, k, k) conditional variances of b: lme4's ``postVar``."""
        if "condvar" not in self._cache:
            bc = self._factor
            s2 = self.sigma ** 2
            out = []
            with limit_threads(1):  # see lmepy.kernels.blas_threads
                cus = bc.condvar_u()
            for i, cu in enumerate(cus):
                T = bc.factor(i)
                out.append(s2 * np.einsum("ij,mjk,lk->mil", T, cu, T))
            self._cache["condvar"] = out
        return [a.copy() for a in self._cache["condvar"]]


def fit_lmm(model: CompiledModel, REML: bool = True, control: dict | None = None) -> LmmSolution:
    """Fit as lme4's ``lmer``: BOBYQA on θ from the identity, then β, u, σ at the optimum.

    control: ``optCtrl`` (nlopt: xtol_abs, ftol_abs, maxeval, ...), ``restart_edge``,
    ``boundary_tol``, ``calc_derivs``, ``start`` (θ to start from), ``blas_threads``
    (threads of the dense factor: an int; "adaptive": every core while one is free and they
    pay; "auto", the default: adaptive when the dense part has at least
    AUTO_THREADS_MIN_ROWS rows, else one; None: one, and OpenBLAS's own count left alone).
    The estimates are the same to the bit whichever is used (lmepy.kernels.blas_threads).
    """
    control = check_control(control, "lmer")
    y = np.asarray(model.y, dtype=float)
    if y.ndim == 2 and y.shape[1] != 1:
        # lme4 fails deep inside ("non-conformable arrays"); say what is wrong instead
        raise DataError(f"response must be numeric with one column: {model.terms.response} "
                        f"has {y.shape[1]} columns (a cbind(successes, failures) response is "
                        "for glmer with family = binomial)")
    if model.offset is None and y.size > 1 and np.all(y == y.flat[0]):
        # lme4 converges to a residual variance of 0 and then fails in summary() ("not a
        # positive definite matrix"); say why at once, in glmer's words
        raise DataError("Response is constant: the residual variance would be 0")
    prob = LmmProblem(model, REML)
    if "blas_threads" in control:
        prob.blas_threads = control["blas_threads"]
    with limit_threads(prob.openblas_threads()):
        with fit_guard():
            sol = _fit(prob, control)
    require_finite(objective=sol.objective, beta=sol.beta, sigma=sol.sigma)
    return sol


def _fit(prob: LmmProblem, control: dict) -> LmmSolution:
    model = prob.model
    devfun = prob.make_devfun(hold_threads=False)  # fit_lmm holds OpenBLAS's threads
    terms = model.reTrms.terms
    theta0 = np.concatenate([t.theta0() for t in terms])
    lower = np.concatenate([t.lower() for t in terms])
    if control.get("start") is not None:
        theta0 = check_start(control["start"], lower, objective=devfun)
    else:
        theta0 = _scalar_start(model, theta0, lower)
    opt = optimize_theta(devfun, theta0, lower, control)
    theta = np.asarray(opt["par"], dtype=float)
    singular, msgs = check_conv(opt["derivs"], theta, lower, opt["fval"])
    warns: list[str] = []
    if opt["conv"] != 0:
        warns.append(f"convergence code {opt['conv']} from nloptwrap: {opt['message']}")
    warns.extend(msgs)
    for m in warns:
        cls = SingularFitWarning if m.startswith("boundary (singular)") else ConvergenceWarning
        warn(m, cls)
    return _solution(prob, theta, opt, singular, warns)


def _scalar_start(model: CompiledModel, theta0: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """lme4's start when every term is (1 | g) with its own factor: θ_g = sqrt(v_g / v_e), v_g
    the variance of the group means spread over the rows, v_e = var(y) - sum v_g (if > 0)."""
    terms = model.reTrms.terms
    if not all(t.cnms == ["(Intercept)"] for t in terms):
        return theta0
    if len({t.group for t in terms}) != len(lower):
        return theta0
    y = np.asarray(model.y, dtype=float)
    if y.ndim != 1 or len(y) < 2:
        return theta0
    v = [_r_var(_r_group_means(y, np.asarray(t.codes), t.nlevels)[np.asarray(t.codes)])
         for t in terms]
    ve = _r_var(y) - float(np.cumsum(np.asarray(v, dtype=np.longdouble))[-1])
    if not ve > 0:
        return theta0
    rel = np.asarray(v) / ve
    if np.all(rel >= np.asarray(lower) ** 2):
        return np.sqrt(rel)
    return theta0


def _r_var(x: np.ndarray) -> float:
    """R's var() (lmepy/kernels/rstats.pyx; the numpy twin is _r_var_numpy)."""
    return _rstats.r_var(np.ascontiguousarray(x, dtype=float))


def _r_group_means(y: np.ndarray, codes: np.ndarray, m: int) -> np.ndarray:
    """R's mean() per group, 0 for an empty group (lmepy/kernels/rstats.pyx; the numpy twin
    is _r_group_means_numpy)."""
    return _rstats.r_group_means(np.ascontiguousarray(y, dtype=float),
                                 np.ascontiguousarray(codes, dtype=np.int64), int(m))


def _r_var_numpy(x: np.ndarray) -> float:
    """R's var(): long-double two-pass mean with correction, then the sum of squares."""
    n = len(x)
    xl = x.astype(np.longdouble)
    m = np.cumsum(xl)[-1] / n  # cumsum: sequential, as R's loop
    m = float(m + np.cumsum(xl - m)[-1] / n)
    d = (x - m).astype(np.longdouble)
    return float(np.cumsum(d * d)[-1] / (n - 1))


def _r_group_means_numpy(y: np.ndarray, codes: np.ndarray, m: int) -> np.ndarray:
    """R's mean() per group (long double, with the second-pass correction); 0 for an empty
    group. ``np.add.at`` adds the rows in their order, one at a time, so each group's sums
    are R's sequential long-double loop over that group's rows, for all groups in one pass."""
    codes = np.asarray(codes, dtype=np.int64)
    yl = np.asarray(y, dtype=float).astype(np.longdouble)
    cnt = np.bincount(codes, minlength=m)
    n = np.maximum(cnt, 1)
    total = np.zeros(m, dtype=np.longdouble)
    np.add.at(total, codes, yl)
    mu = total / n
    corr = np.zeros(m, dtype=np.longdouble)
    np.add.at(corr, codes, yl - mu[codes])
    out = (mu + corr / n).astype(float)
    out[cnt == 0] = 0.0
    return out


def _solution(prob: LmmProblem, theta: np.ndarray, opt: dict, singular: bool,
              warns: list[str]) -> LmmSolution:
    bc = prob.bc
    ld, ldx, pw = bc.update(theta)
    objective = float(prob.criterion(ld, ldx, pw))
    u, beta = bc.solve(refine=1)
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
    if "polish" in opt:
        optinfo["polish"] = dict(opt["polish"])
    return LmmSolution(model=prob.model, REML=prob.REML, theta=np.array(theta), beta=beta,
                       u=u, b=b, sigma=sigmaREML if prob.REML else sigmaML,
                       objective=objective, devcomp=devcomp,
                       vcov_unscaled=bc.vcov_unscaled(), fitted=fitted, residuals=resid,
                       optinfo=optinfo, singular=singular, _factor=bc)
