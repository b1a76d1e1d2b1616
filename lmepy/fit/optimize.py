"""BOBYQA (nlopt) as lme4's default ``nloptwrap``, with lme4's post-fit edge and gradient checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import nlopt
import numpy as np

# lme4's nloptwrap settings as nloptr completes them: lme4 passes xtol_abs, ftol_abs and
# maxeval; nloptr adds its own default xtol_rel = 1e-4 (and ftol_rel = 0). With these the
# BOBYQA path is lme4's, evaluation for evaluation.
DEFAULT_OPTCTRL: dict[str, Any] = {"xtol_abs": 1e-8, "ftol_abs": 1e-8, "xtol_rel": 1e-4,
                                   "maxeval": 100000}

_NLOPT_MESSAGES = {
    nlopt.SUCCESS: "NLOPT_SUCCESS: Generic success return value.",
    nlopt.STOPVAL_REACHED: "NLOPT_STOPVAL_REACHED: Optimization stopped because stopval "
                           "(above) was reached.",
    nlopt.FTOL_REACHED: "NLOPT_FTOL_REACHED: Optimization stopped because ftol_rel or "
                        "ftol_abs (above) was reached.",
    nlopt.XTOL_REACHED: "NLOPT_XTOL_REACHED: Optimization stopped because xtol_rel or "
                        "xtol_abs (above) was reached.",
    nlopt.MAXEVAL_REACHED: "NLOPT_MAXEVAL_REACHED: Optimization stopped because maxeval "
                           "(above) was reached.",
    nlopt.MAXTIME_REACHED: "NLOPT_MAXTIME_REACHED: Optimization stopped because maxtime "
                           "(above) was reached.",
}


def bobyqa(fn: Callable[[np.ndarray], float], x0: np.ndarray, lower: np.ndarray,
           optctrl: dict | None = None) -> dict[str, Any]:
    """Minimize fn from x0 with nlopt's BOBYQA; returns par, fval, feval, conv, message."""
    ctrl = dict(DEFAULT_OPTCTRL)
    if optctrl:
        ctrl.update(optctrl)
    x0 = np.asarray(x0, dtype=float)
    n = len(x0)
    count = [0]
    best: list[Any] = [np.inf, x0.copy()]

    def f(x: np.ndarray, grad: np.ndarray) -> float:
        count[0] += 1
        v = fn(x)
        if not math.isfinite(v):
            return 1e300
        if v < best[0]:
            best[0] = v
            best[1] = np.array(x, dtype=float)
        return v

    opt = nlopt.opt(nlopt.LN_BOBYQA, n)
    opt.set_min_objective(f)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -np.inf))
    opt.set_upper_bounds(np.full(n, np.inf))
    opt.set_xtol_abs(ctrl["xtol_abs"])
    opt.set_ftol_abs(ctrl["ftol_abs"])
    if "xtol_rel" in ctrl:
        opt.set_xtol_rel(ctrl["xtol_rel"])
    if "ftol_rel" in ctrl:
        opt.set_ftol_rel(ctrl["ftol_rel"])
    opt.set_maxeval(int(ctrl["maxeval"]))
    if "initial_step" in ctrl:
        opt.set_initial_step(ctrl["initial_step"])
    try:
        par = opt.optimize(x0.copy())
        status = opt.last_optimize_result()
        fval = opt.last_optimum_value()
    except nlopt.RoundoffLimited:  # keep the best point seen, as nloptr returns it
        par, fval = best[1], best[0]
        status = nlopt.ROUNDOFF_LIMITED
    conv = status if (status < 0 or status == nlopt.MAXEVAL_REACHED) else 0
    return {"par": np.asarray(par, dtype=float), "fval": float(fval), "feval": count[0],
            "conv": int(conv), "status": int(status), "ftol_abs": float(ctrl["ftol_abs"]),
            "message": _NLOPT_MESSAGES.get(status, f"NLOPT status {status}")}


def deriv12(fn: Callable[[np.ndarray], float], x: np.ndarray, fx: float,
            delta: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Central finite-difference gradient and Hessian, as lme4's deriv12 (no bounds)."""
    nx = len(x)
    g = np.zeros(nx)
    H = np.zeros((nx, nx))

    def at(*moves: tuple[int, float]) -> float:
        z = x.copy()
        for i, d in moves:
            z[i] += d
        return fn(z)

    for j in range(nx):
        fadd = at((j, delta))
        fsub = at((j, -delta))
        H[j, j] = (fadd - 2 * fx + fsub) / delta ** 2
        g[j] = (fadd - fsub) / (2 * delta)
        for i in range(j):
            h = (at((i, delta), (j, delta)) - at((i, delta), (j, -delta))
                 - at((i, -delta), (j, delta)) + at((i, -delta), (j, -delta)))
            H[i, j] = H[j, i] = h / (2 * delta) ** 2
    return g, H


def central_hessian(fn: Callable[[np.ndarray], float], x: np.ndarray,
                    h: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with a step per coordinate."""
    n = len(x)
    H = np.zeros((n, n))
    f0 = fn(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (fn(x + ei) - 2 * f0 + fn(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (fn(x + ei + ej) - fn(x + ei - ej) - fn(x - ei + ej)
                                 + fn(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def richardson_hessian(fn: Callable[[np.ndarray], float], x: np.ndarray, step: float,
                       floor: float) -> np.ndarray:
    """Central differences at steps h = step * max(|x|, floor) and 2h, extrapolated (error
    O(h^4)): stable where a small-step Hessian drowns in the criterion's rounding noise
    (nlme's apVar)."""
    h = step * np.maximum(np.abs(x), floor)
    return (4.0 * central_hessian(fn, x, h) - central_hessian(fn, x, 2 * h)) / 3.0


def optimize_theta(devfun: Callable[[np.ndarray], float], theta0: np.ndarray,
                   lower: np.ndarray, control: dict | None = None) -> dict[str, Any]:
    """lme4's optimizeLmer: BOBYQA, restart at the edge if going inside helps, snap near-zero
    boundary values, then derivatives for the convergence check.

    control: ``optCtrl`` (nlopt settings), ``restart_edge`` (True), ``boundary_tol`` (1e-5),
    ``calc_derivs`` (None: only when cheap, i.e. the 2 n_theta^2 + 1 extra evaluations take
    under ~0.2 s; True/False to force).
    """
    control = dict(control or {})
    optctrl = control.get("optCtrl")
    t0 = time.perf_counter()
    opt = bobyqa(devfun, theta0, lower, optctrl)
    elapsed = time.perf_counter() - t0
    nev = opt["feval"]
    lower = np.asarray(lower, dtype=float)
    if control.get("restart_edge", True):
        th = opt["par"]
        bvals = np.flatnonzero(th == lower)
        if len(bvals):
            d0 = devfun(th)
            btol = 1e-5
            bgrad = []
            for i in bvals:
                t = th.copy()
                t[i] = lower[i] + btol
                bgrad.append((devfun(t) - d0) / btol)
            if min(bgrad) < 0:
                opt = bobyqa(devfun, th, lower, optctrl)
    btol = control.get("boundary_tol", 1e-5)
    if btol > 0:
        th = opt["par"].copy()
        bdiff = th - lower
        edge = (bdiff > 0) & (bdiff < btol)
        if edge.any():
            for i in np.flatnonzero(edge):
                t = th.copy()
                t[i] = lower[i]
                if devfun(t) < opt["fval"]:
                    th[i] = lower[i]
            opt["par"] = th
            opt["fval"] = devfun(th)
    calc = control.get("calc_derivs")
    n = len(theta0)
    if calc is None:
        per_eval = elapsed / max(nev, 1)
        calc = per_eval * (2 * n * n + 1) < 0.2
    opt["derivs"] = deriv12(devfun, opt["par"], opt["fval"]) if calc else None
    if opt["derivs"] is not None and opt.get("status") == nlopt.FTOL_REACHED:
        polish_ftol_stop(devfun, opt, lower)
    return opt


# a Newton polish runs when BOBYQA stopped on ftol_abs while the quadratic model at its end
# point promises a decrease of more than this many times ftol_abs
POLISH_FACTOR = 10.0
POLISH_STEPS = 3


def polish_ftol_stop(devfun: Callable[[np.ndarray], float], opt: dict[str, Any],
                     lower: np.ndarray) -> None:
    """Newton steps on the profiled criterion after a premature ftol stop (in place on opt).

    On a flat ridge BOBYQA may stop because one trust-region step gained less than ftol_abs
    although the criterion still falls along the ridge (``Reaction ~ 0 + Days + (Days |
    Subject)``, ML: 1.8e-7 above lme4's deviance). lme4's fits end on xtol, or on ftol with
    little left to gain, so this runs only when BOBYQA stopped on ftol_abs *and* the Newton
    step from the finite-difference gradient and Hessian (already computed for lme4's
    convergence check) promises more than POLISH_FACTOR * ftol_abs. A step is kept only when
    it stays inside the bounds and lowers the criterion; the derivatives are then taken again
    at the new point. ``feval`` stays BOBYQA's count (lme4's); ``opt["polish"]`` records the
    extra evaluations and the criterion before and after.
    """
    g, H = opt["derivs"]
    f0 = opt["fval"]
    par = opt["par"]
    lower = np.asarray(lower, dtype=float)
    nev = 0
    for _ in range(POLISH_STEPS):
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            break
        try:
            np.linalg.cholesky(H)
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if 0.5 * float(g @ step) <= POLISH_FACTOR * opt["ftol_abs"]:
            break
        cand = par - step
        if np.any(cand < lower):
            break
        fc = devfun(cand)
        nev += 1
        if not fc < opt["fval"]:
            break
        par, opt["par"], opt["fval"] = cand, cand, float(fc)
        g, H = deriv12(devfun, par, opt["fval"])
        nev += 2 * len(par) ** 2
        opt["derivs"] = (g, H)
    if nev:
        opt["polish"] = {"feval": nev, "fval_before": float(f0), "fval_after": opt["fval"]}


def check_conv(derivs: tuple[np.ndarray, np.ndarray] | None, theta: np.ndarray,
               lower: np.ndarray, fval: float = 0.0, tol_singular: float = 1e-4,
               tol_grad: float = 2e-3, tol_hess: float = 1e-6,
               tol_decrease: float = 1e-6) -> tuple[bool, list[str]]:
    """lme4's checkConv for theta: (is_singular, messages worded as lme4's).

    lme4 warns whenever its finite-difference scaled gradient exceeds tol_grad; on flat
    optima that fires although nothing better is to be had. We warn only when the optimum is
    genuinely in doubt: the scaled gradient is large *and* the Newton step it implies would
    lower the objective by more than tol_decrease relative (0.5 g'H^-1 g), the accuracy we
    promise for the objective.
    """
    msgs: list[str] = []
    bcoef = np.asarray(lower) == 0
    singular = bool(np.any(np.asarray(theta)[bcoef] < tol_singular))
    if singular:
        return True, ["boundary (singular) fit: see help('isSingular')"]
    if derivs is None:
        return False, msgs
    g, H = derivs
    if not np.all(np.isfinite(g)):
        return False, ["Gradient contains NAs"]
    try:
        R = np.linalg.cholesky(H).T  # H = R'R as R's chol()
        scgrad = np.linalg.solve(R, g)
        mingrad = np.minimum(np.abs(scgrad), np.abs(g))
        decrease = 0.5 * float(scgrad @ scgrad)
        if mingrad.max() > tol_grad and decrease > tol_decrease * max(1.0, abs(fval)):
            msgs.append(f"Model failed to converge with max|grad| = {mingrad.max():.6g} "
                        f"(tol = {tol_grad:g}, component {int(np.argmax(mingrad)) + 1})")
    except np.linalg.LinAlgError:
        msgs.append("unable to evaluate scaled gradient")
    if np.all(np.isfinite(H)):
        ev = np.linalg.eigvalsh(H)
        neg = int(np.sum(ev < -tol_hess))
        if neg:
            msgs.append(f"Model failed to converge: degenerate  Hessian with {neg} negative "
                        "eigenvalues")
    else:
        msgs.append("Problem with Hessian check (infinite or missing values?)")
    return False, msgs


def _grad_hess(f: Any, x: np.ndarray, fx: float, h: float = 1e-3
               ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian for a Newton step near the optimum.

    Gradient: central differences at steps h and 2h, Richardson-combined, so the O(h²) error
    cancels, and a step this large keeps the criterion's rounding noise (~1e-13 relative) to
    ~1e-8 in the gradient, which then locates the optimum far better than derivative-free
    stopping rules do. Hessian: its diagonal from the same points (central second
    differences), the off-diagonal from one more point per pair (f(x + e_i + e_j), a forward
    difference): O(h) relative error in H only scales the (already tiny) step by 1 + O(h).
    4n + n(n-1)/2 evaluations instead of 4n + 2n²."""
    n = len(x)
    g = np.empty(n)
    H = np.empty((n, n))
    steps = h * np.maximum(1.0, np.abs(x))
    fp = np.empty(n)
    for i in range(n):
        e = np.zeros(n)
        e[i] = steps[i]
        f1p, f1m = f(x + e), f(x - e)
        g1 = (f1p - f1m) / (2 * e[i])
        g2 = (f(x + 2 * e) - f(x - 2 * e)) / (4 * e[i])
        g[i] = (4.0 * g1 - g2) / 3.0
        H[i, i] = (f1p - 2.0 * fx + f1m) / (e[i] * e[i])
        fp[i] = f1p
    for i in range(n):
        for j in range(i):
            e = np.zeros(n)
            e[i], e[j] = steps[i], steps[j]
            H[i, j] = H[j, i] = (f(x + e) - fp[i] - fp[j] + fx) / (steps[i] * steps[j])
    return g, H


def newton_polish(f: Any, x: np.ndarray, lower: np.ndarray, iters: int = 2) -> np.ndarray:
    """Newton steps after BOBYQA (gradient by Richardson differences, Hessian by second
    differences, see _grad_hess): derivative-free searches stop a few 1e-7..1e-6 from the
    optimum in flat directions. Parameters on a bound stay there; a step is kept only if it
    is small and the criterion does not get worse (beyond rounding)."""
    x = np.array(x, dtype=float)
    fin = np.isfinite(lower)
    edge = np.where(fin, lower + 1e-6 * np.maximum(1.0, np.abs(np.where(fin, lower, 0.0))),
                    -np.inf)
    free = ~(x <= edge)
    if not free.any():
        return x
    idx = np.flatnonzero(free)
    fx = f(x)
    for _ in range(iters):
        def sub(z: np.ndarray, x: np.ndarray = x) -> float:
            w = x.copy()
            w[idx] = z
            return f(w)

        try:
            g, H = _grad_hess(sub, x[idx], fx)
            if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
                break
            if np.any(np.linalg.eigvalsh((H + H.T) / 2) <= 0):
                break
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if np.max(np.abs(step) / np.maximum(np.abs(x[idx]), 1.0)) > 1e-2:
            break
        xn = x.copy()
        xn[idx] = x[idx] - step
        if np.any(xn[idx] < lower[idx]):
            break
        fn = f(xn)
        if not fn <= fx + 1e-12 * max(1.0, abs(fx)):
            break
        x, fx = xn, fn
        if np.max(np.abs(step) / np.maximum(np.abs(x[idx]), 1.0)) < 1e-9:
            break
    return x
