"""gls(): generalized least squares with nlme's correlation structures and variance functions.

The likelihood is profiled over beta and sigma: for given structure parameters the rows are
scaled by the variance weights and whitened group by group, and beta comes from the QR of the
whitened X. What remains, the structure parameters on nlme's unconstrained scale, is optimized
numerically with the BOBYQA of lmer and lme (lmepy.fit.optimize), then one Newton step.
A variance function of fitted(.) is handled as nlme does: optimize with the fitted values
held fixed, refit beta, recompute the fitted values, and repeat until the parameters change
by less than the tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import qr, solve_triangular

from lmepy.covariance import CorStruct, VarFunc, from_spec
from lmepy.errors import ConvergenceWarning, DataError, LmepyError, warn
from lmepy.fit.control import check_control
from lmepy.fit.guard import fit_guard, require_finite
from lmepy.fit.optimize import bobyqa

LOG2PI = math.log(2.0 * math.pi)


@dataclass
class GlsEstimate:
    """beta, sigma and the profiled log-likelihood at one set of structure parameters."""

    beta: np.ndarray
    sigma: float
    logLik: float
    R: np.ndarray  # R of the QR of the whitened X
    rss: float


@dataclass
class GlsProblem:
    """Everything the objective needs; `cor`/`var` are bound structures (or None)."""

    X: np.ndarray
    y: np.ndarray
    cor: CorStruct | None
    var: VarFunc | None
    reml: bool
    free_cor: bool = True
    free_var: bool = True
    n_cor: int = field(init=False)
    n_var: int = field(init=False)

    def __post_init__(self) -> None:
        self._Xy = np.column_stack([self.X, self.y])
        self.n_cor = self.cor.n_params if (self.cor is not None and self.free_cor) else 0
        self.n_var = self.var.n_params if (self.var is not None and self.free_var) else 0

    @property
    def n_theta(self) -> int:
        return self.n_cor + self.n_var

    def get_theta(self) -> np.ndarray:
        parts = []
        if self.n_cor:
            parts.append(self.cor.get_unconstrained())  # type: ignore[union-attr]
        if self.n_var:
            parts.append(self.var.get_unconstrained())  # type: ignore[union-attr]
        return np.concatenate(parts) if parts else np.zeros(0)

    def set_theta(self, theta: np.ndarray) -> None:
        if self.n_cor:
            self.cor.set_unconstrained(theta[:self.n_cor])  # type: ignore[union-attr]
        if self.n_var:
            self.var.set_unconstrained(theta[self.n_cor:])  # type: ignore[union-attr]

    def whiten(self, M: np.ndarray) -> np.ndarray:
        """Rows scaled by the variance weights, then whitened within correlation groups."""
        if self.var is not None:
            w = self.var.weights()
            M = M * (w if M.ndim == 1 else w[:, None])
        if self.cor is not None:
            M = self.cor.whiten(M)
        return M

    def estimate(self) -> GlsEstimate:
        """beta, sigma and the profiled log-likelihood at the current parameters, from one
        QR (R only) of the whitened [X y]."""
        N, p = self.X.shape
        M = self.whiten(self._Xy)
        R = qr(M, mode="r", check_finite=False)[0][:p + 1, :p + 1]
        Rx = R[:p, :p]
        beta = solve_triangular(Rx, R[:p, p], check_finite=False)
        rss = float(R[p, p] ** 2)
        ne = N - p if self.reml else N
        ll = -0.5 * ne * (LOG2PI + 1.0 + math.log(rss / ne))
        if self.var is not None:
            ll += float(np.sum(np.log(self.var.weights())))
        if self.cor is not None:
            ll -= 0.5 * self.cor.logdet()
        if self.reml:
            ll -= float(np.sum(np.log(np.abs(np.diag(Rx)))))
        return GlsEstimate(beta, math.sqrt(rss / ne), ll, Rx, rss)

    def objective(self, theta: np.ndarray) -> float:
        """-logLik at theta (inf where the structure is not valid)."""
        try:
            self.set_theta(theta)
            with np.errstate(all="ignore"):
                v = -self.estimate().logLik
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return math.inf
        return v if math.isfinite(v) else math.inf


def _aitken(path: list[np.ndarray]) -> np.ndarray | None:
    """The limit of a linearly converging alternation from its last three points, when its
    last two steps point the same way and shrink by a steady ratio r < 1: x + d r / (1 - r).
    With a variance function of fitted(.) on a flat ridge the alternation creeps along the
    ridge by nearly equal steps (BodyWeight, varPower(form = ~ fitted(.) | Diet): 50 rounds
    do not reach it)."""
    if len(path) < 3:
        return None
    d1, d2 = path[-2] - path[-3], path[-1] - path[-2]
    n1, n2 = float(np.linalg.norm(d1)), float(np.linalg.norm(d2))
    if n1 == 0.0 or n2 == 0.0 or float(d1 @ d2) < 0.99 * n1 * n2:
        return None
    r = n2 / n1
    if not 0.5 < r < 0.999:
        return None
    return path[-1] + d2 * r / (1.0 - r)


def initial_step(prob: GlsProblem) -> np.ndarray:
    """BOBYQA's first steps, as lme's for the same structures: 0.25 on the correlation
    scales, the variance function's own (VarFunc.initial_step)."""
    steps = [np.full(prob.n_cor, 0.25)]
    if prob.n_var:
        steps.append(prob.var.initial_step())  # type: ignore[union-attr]
    return np.concatenate(steps)


def _stationary(f: object, x: np.ndarray, fx: float, h: float = 1e-4) -> bool:
    """True when the central-difference gradient at x is zero to rounding: nlme's
    gradient-based optimizer does not move from such a point (a symmetric objective at its
    centre), BOBYQA would; the fits then differ from nlme's."""
    tol = 1e-13 * max(1.0, abs(fx))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h * max(1.0, abs(x[i]))
        if abs(f(x + e) - f(x - e)) > tol:  # type: ignore[operator]
            return False
    return True


def optimize_theta(prob: GlsProblem, control: dict | None = None,
                   step: np.ndarray | None = None, polish: int = 1,
                   check_start: bool = True) -> dict:
    """Minimize -logLik over the unconstrained structure parameters with the BOBYQA lmer and
    lme use (lmepy.fit.optimize.bobyqa), then one Newton step (newton_polish, beside it): BOBYQA
    stops ~1e-7 from the optimum along flat directions, the step takes it there. ``step``:
    BOBYQA's first steps (by default initial_step(prob)); ``polish``: Newton steps;
    ``check_start``: stop at a stationary start as nlme does (the structures' initial values,
    not a later round's start, which is near an optimum)."""
    from lmepy.fit.optimize import newton_polish

    control = control or {}
    theta0 = prob.get_theta()
    if len(theta0) == 0:
        return {"theta": theta0, "converged": True, "feval": 0, "message": "no parameters"}
    f = prob.objective
    f0 = f(theta0)
    if not math.isfinite(f0):
        raise LmepyError("the log-likelihood is not finite at the structures' initial values: "
                         "give other initial values")
    if check_start and _stationary(f, theta0, f0):
        warn("the log-likelihood is stationary at the structures' initial values (its "
             "gradient is zero, e.g. an AR(1) whose lags are all even): the fit stops there, "
             "as nlme's does; other initial values may reach a higher log-likelihood",
             ConvergenceWarning)
        prob.set_theta(theta0)
        return {"theta": theta0, "converged": True, "feval": 1 + 2 * len(theta0),
                "message": "stationary at the initial values"}
    lower = np.full(len(theta0), -np.inf)
    # stop when a step gains less than 1e-11 of -logLik (lme's settings on its scale)
    optctrl = {"xtol_abs": 1e-9, "ftol_abs": 1e-11, "ftol_rel": 1e-10, "maxeval": 100000,
               "initial_step": initial_step(prob) if step is None else step}
    optctrl.update(control.get("optCtrl", {}))
    opt = bobyqa(f, theta0, lower, optctrl)
    theta = newton_polish(f, opt["par"], lower, iters=polish)
    prob.set_theta(theta)
    ok = opt["conv"] == 0
    if not ok:
        warn(f"gls optimization did not converge: {opt['message']}", ConvergenceWarning)
    return {"theta": theta, "converged": ok, "feval": int(opt["feval"]),
            "message": str(opt["message"])}


def _check_arg(x: object, what: str, example: str) -> None:
    if not isinstance(x, str | dict | CorStruct | VarFunc) and not hasattr(x, "kind"):
        raise TypeError(f"{what} must be R text such as \"{example}\" or an lmepy.covariance "
                        f"object, not {type(x).__name__}")
    if isinstance(x, dict) and not isinstance(x.get("name"), str):
        raise TypeError(f"{what} given as a dict needs its structure's 'name' (e.g. "
                        f"{{'name': '{example.split('(')[0]}', 'form': '~ 1 | g'}}), not {x!r}")


def resolve_cor(correlation: object) -> CorStruct | None:
    if correlation is None:
        return None
    _check_arg(correlation, "correlation", "corAR1(form = ~ 1 | g)")
    out = from_spec(correlation)
    if not isinstance(out, CorStruct):
        raise TypeError(f"correlation must be a correlation structure, not {out!r}")
    return out


def resolve_var(weights: object) -> VarFunc | None:
    if weights is None:
        return None
    _check_arg(weights, "weights", "varIdent(form = ~ 1 | g)")
    if isinstance(weights, str) and weights.strip().startswith("~"):
        from lmepy.covariance import varFixed
        return varFixed(weights)
    out = from_spec(weights)
    if not isinstance(out, VarFunc):
        raise TypeError(f"weights must be a variance function, not {out!r}")
    return out


def one_blas_thread():  # noqa: ANN201 - a context manager
    """numpy's and scipy's OpenBLAS on one thread: the fit makes many small products, and
    OpenBLAS threads spinning on a busy machine make them 10-100 times slower."""
    try:
        from lmepy.kernels.blas_threads import one_thread
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return one_thread()


def fit_structures(X: np.ndarray, y: np.ndarray, data: pd.DataFrame, cor: CorStruct | None,
                   var: VarFunc | None, reml: bool, control: dict | None = None) -> dict:
    """The whole gls fit on a prepared X (N x p) and y: bind the structures to `data` (rows
    aligned with X), optimize, and return the pieces a fit object needs."""
    with one_blas_thread(), fit_guard("log-likelihood"):
        out = _fit_structures(X, y, data, cor, var, reml, control)
    est = out["estimate"]
    require_finite("log-likelihood", logLik=est.logLik, beta=est.beta, sigma=est.sigma)
    return out


def _fit_structures(X: np.ndarray, y: np.ndarray, data: pd.DataFrame, cor: CorStruct | None,
                    var: VarFunc | None, reml: bool, control: dict | None = None) -> dict:
    control = check_control(control, "gls")
    N, p = X.shape
    if N <= p:
        raise DataError(f"the number of observations ({N}) must exceed the number of "
                        f"coefficients ({p})")
    bcor = cor.bind(data) if cor is not None else None
    bvar = var.bind(data) if var is not None else None
    prob = GlsProblem(X, y, bcor, bvar, reml,
                      free_cor=not (bcor is not None and bcor.fixed),
                      free_var=True)  # a variance function's fixed values are its own
    from lmepy.fit.guard import check_parameter_count
    check_parameter_count(prob.n_theta, p, N, {
        type(bcor).__name__ if bcor is not None else "": prob.n_cor,
        type(bvar).__name__ if bvar is not None else "": prob.n_var})
    est = prob.estimate()
    needs_update = bvar is not None and bvar.needs_fitted
    if needs_update:
        bvar.update_fitted(X @ est.beta)  # type: ignore[union-attr]
    tol = control.get("tolerance", 1e-6)
    max_iter = control.get("maxIter", 50)
    n_iter = 0
    info: dict = {}
    step = initial_step(prob)
    lls: list[float] = []
    path: list[np.ndarray] = []
    feval = 0
    while True:
        old = np.concatenate([est.beta, prob.get_theta()])
        # each round of an alternation needs its exact optimum: two Newton steps
        info = optimize_theta(prob, control, step, polish=2 if needs_update else 1,
                              check_start=n_iter == 0)
        feval += info["feval"]
        est = prob.estimate()
        if not needs_update:
            break
        n_iter += 1
        bvar.update_fitted(X @ est.beta)  # type: ignore[union-attr]
        new = np.concatenate([est.beta, prob.get_theta()])
        conv = np.abs((old - new) / np.where(new == 0, 1.0, new))
        # later rounds start at the previous answer: small first steps (as lme's)
        theta = prob.get_theta()
        step = 0.1 * np.maximum(initial_step(prob), 0.25 * np.abs(theta))
        lls.append(est.logLik)
        # nlme's test (relative change < tolerance), or no progress in the log-likelihood
        # over the last three rounds (the parameters may wander along a flat ridge)
        stalled = len(lls) >= 4 and abs(lls[-1] - lls[-4]) < 1e-9 * abs(lls[-1])
        if np.max(conv) < tol or stalled:
            break
        path.append(theta)
        jump = _aitken(path)
        if jump is not None:  # a slow linear drift: go to its limit
            prob.set_theta(jump)
            bvar.update_fitted(X @ prob.estimate().beta)  # type: ignore[union-attr]
            path = []
            lls = []
        if n_iter > max_iter:
            warn("maximum number of iterations reached without convergence", ConvergenceWarning)
            break
    info["feval"] = feval
    return {"problem": prob, "estimate": est, "opt": info, "n_iter": n_iter}
