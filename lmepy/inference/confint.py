"""Confidence intervals for lmer fits, as lme4's ``confint.merMod``: Wald, likelihood profile
and parametric bootstrap, with lme4's row names (``.sig01``..., ``.sigma``, the fixed effects).

The profile follows lme4's ``profile()``: REML fits are refitted by ML, the variance
parameters are profiled on the standard-deviation / correlation scale (``.sig01``: the first
term's first sd, then its correlations and further sds in θ's order, ...; ``.sigma``), each
fixed effect by moving it into the offset, and ζ(x) = sign(x - x̂) √(dev(x) - dev(x̂)) is
solved for ζ = ±z_{(1+level)/2} by root finding (lme4 interpolates a spline through a grid
of ζ values; the root is the quantity that spline approximates).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence
from typing import Any

import nlopt
import numpy as np
import pandas as pd
from scipy import optimize, stats

from lmepy.errors import quiet, warn
from lmepy.fit.lmm import LmmProblem, LmmSolution, fit_lmm
from lmepy.inference._common import as_solution, refit_ml, vcov_beta, xnames

__all__ = ["ConfintTable", "boot_intervals", "confint", "confint_boot", "confint_profile",
           "confint_wald", "profile_zeta", "sdcor_names", "sdcor_to_theta", "theta_to_sdcor"]


class ConfintTable(pd.DataFrame):
    """Intervals as a DataFrame (rows .sig01..., .sigma, fixed effects; columns "2.5 %",
    "97.5 %"; NaN is R's NA) that prints as R prints lme4's confint() matrix."""

    @property
    def _constructor(self) -> type:
        return ConfintTable

    def format(self, digits: int | None = None) -> str:
        from lmepy import rtext as rf

        vals = [[None if not np.isfinite(v) else float(v) for v in row]
                for row in self.to_numpy(dtype=float).tolist()]
        return rf.print_num_matrix(vals, [str(i) for i in self.index],
                                   [str(c) for c in self.columns], digits=digits)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()


def _as_table(df: pd.DataFrame) -> ConfintTable:
    out = ConfintTable(df)
    out.attrs.update(df.attrs)
    return out


# ---------------------------------------------------------------------------------------------
# θ <-> (sd, cor) scale


def _term_sizes(sol: LmmSolution) -> list[int]:
    return [t.k for t in sol.model.reTrms.terms]


def _lower_tri_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.tril_indices(k)
    o = np.lexsort((i, j))  # column-major, lme4's θ order
    return i[o], j[o]


def theta_to_sdcor(theta: np.ndarray, ks: Sequence[int], sigma: float) -> np.ndarray:
    """lme4's ``Cv_to_Sv``: per term, sds on the diagonal positions of θ and correlations
    on the off-diagonal positions; σ appended."""
    out = []
    pos = 0
    for k in ks:
        n = k * (k + 1) // 2
        i, j = _lower_tri_index(k)
        T = np.zeros((k, k))
        T[i, j] = theta[pos: pos + n]
        pos += n
        S = T @ T.T
        sd = np.sqrt(np.diag(S))
        vals = []
        for a, b in zip(i, j, strict=True):
            if a == b:
                vals.append(sigma * sd[a])
            else:
                d = sd[a] * sd[b]
                vals.append(S[a, b] / d if d > 0 else 0.0)
        out.extend(vals)
    out.append(sigma)
    return np.asarray(out, dtype=float)


def _chol_psd(A: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed);
    None if A is not positive semi-definite."""
    k = A.shape[0]
    T = np.zeros((k, k))
    scale = max(1.0, float(np.max(np.abs(np.diag(A)))))
    for j in range(k):
        d = A[j, j] - float(T[j, :j] @ T[j, :j])
        if d < -1e-12 * scale:
            return None
        T[j, j] = math.sqrt(max(d, 0.0))
        for i in range(j + 1, k):
            r = A[i, j] - float(T[i, :j] @ T[j, :j])
            if T[j, j] > 0:
                T[i, j] = r / T[j, j]
            elif abs(r) > 1e-10 * scale:
                return None
    return T


def sdcor_to_theta(pars: np.ndarray, ks: Sequence[int]) -> np.ndarray | None:
    """lme4's ``Sv_to_Cv``: θ from (sd, cor, ..., σ); None when the correlations are not a
    valid (positive semi-definite) correlation matrix."""
    sigma = float(pars[-1])
    out = []
    pos = 0
    for k in ks:
        n = k * (k + 1) // 2
        i, j = _lower_tri_index(k)
        v = pars[pos: pos + n]
        pos += n
        sd = np.zeros(k)
        R = np.eye(k)
        for a, b, x in zip(i, j, v, strict=True):
            if a == b:
                sd[a] = x
            else:
                R[a, b] = R[b, a] = x
        if sigma <= 0:
            return None
        D = np.diag(sd / sigma)
        T = _chol_psd(D @ R @ D)
        if T is None:
            return None
        out.extend(T[i, j])
    return np.asarray(out, dtype=float)


def sdcor_names(sol: LmmSolution) -> list[str]:
    """lme4's old-style names: ``.sig01``, ``.sig02``, ... then ``.sigma``."""
    n = len(sol.theta)
    return [f".sig{i + 1:02d}" for i in range(n)] + [".sigma"]


def _sdcor_bounds(ks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    lo, up = [], []
    for k in ks:
        i, j = _lower_tri_index(k)
        for a, b in zip(i, j, strict=True):
            lo.append(0.0 if a == b else -1.0)
            up.append(np.inf if a == b else 1.0)
    lo.append(0.0)
    up.append(np.inf)
    return np.asarray(lo), np.asarray(up)


# ---------------------------------------------------------------------------------------------
# Wald


def _pct_names(level: float) -> list[str]:
    """lme4's column names: ``paste(format(100 * a, trim = TRUE, scientific = FALSE,
    digits = 3), "%")`` for a = (1 - level)/2 and 1 - a."""
    from lmepy import rtext as rf

    a = (1.0 - level) / 2.0
    return [f"{t.strip()} %" for t in rf.format_num([100 * a, 100 * (1 - a)], digits=3)]


def confint_default(beta: np.ndarray, se: np.ndarray, names: list[str],
                    parm: Sequence[str] | Sequence[int] | None = None, level: float = 0.95,
                    method: str = "Wald") -> pd.DataFrame:
    """stats' ``confint.default``: estimate -/+ z se with normal quantiles, R's column names
    (what R gives for gls fits; lmepy's lme fits use it too). parm: names or 0-based
    positions of the coefficients (all by default); method: only "Wald" exists here."""
    if method != "Wald":
        raise ValueError(f"method {method!r} is not available for this fit; use 'Wald' "
                         "(or intervals() for nlme's t intervals)")
    z = stats.norm.ppf((1.0 + level) / 2.0)
    beta, se = np.asarray(beta, dtype=float), np.asarray(se, dtype=float)
    out = pd.DataFrame({c: v for c, v in zip(_pct_names(level), (beta - z * se, beta + z * se),
                                             strict=True)}, index=list(names))
    if parm is None:
        return out
    parm = [parm] if isinstance(parm, (str, int)) else list(parm)
    unknown = [p for p in parm if isinstance(p, str) and p not in out.index]
    if unknown:
        raise ValueError(f"unknown coefficient(s) {unknown}; the fit has {list(out.index)}")
    return out.iloc[[p if isinstance(p, int) else out.index.get_loc(p) for p in parm]]


def confint_wald(fit: Any, level: float = 0.95) -> pd.DataFrame:
    """Wald intervals for the fixed effects; NA (None) rows for the variance parameters, as
    lme4 gives them."""
    sol = as_solution(fit)
    z = stats.norm.ppf((1.0 + level) / 2.0)
    beta = np.asarray(sol.beta, dtype=float)
    se = np.sqrt(np.diag(vcov_beta(sol)))
    names = sdcor_names(sol) + xnames(sol)
    nv = len(sol.theta) + 1
    lo = [np.nan] * nv + list(beta - z * se)
    hi = [np.nan] * nv + list(beta + z * se)
    return pd.DataFrame({c: v for c, v in zip(_pct_names(level), (lo, hi), strict=True)},
                        index=names)


def confint_glmer(fit: Any, level: float = 0.95, method: str = "profile",
                  parm: Sequence[str] | str | None = None) -> ConfintTable:
    """lme4's ``confint(glmer_fit, method = "Wald")``: NA rows ``.sig01``, ... (and
    ``.sigma`` for families with a scale), then the fixed effects +/- z se. lme4's profile and
    bootstrap intervals of a GLMM are not implemented: a clear error rather than lmer's
    intervals computed for the wrong model."""
    m = str(method).lower()
    if m != "wald":
        raise NotImplementedError(
            f"confint(method={method!r}) is not implemented for glmer fits in lmepy; "
            "method='Wald' gives lme4's Wald intervals")
    z = stats.norm.ppf((1.0 + level) / 2.0)
    beta = fit.fixef().to_numpy(dtype=float)
    se = np.sqrt(np.diag(fit.vcov().to_numpy(dtype=float)))
    nvar = fit._ntheta() + (1 if fit._has_scale else 0)
    names = [f".sig{i + 1:02d}" for i in range(fit._ntheta())]
    names += [".sigma"] if fit._has_scale else []
    names += list(fit.fixef().index)
    lo = [np.nan] * nvar + list(beta - z * se)
    hi = [np.nan] * nvar + list(beta + z * se)
    out = pd.DataFrame({c: v for c, v in zip(_pct_names(level), (lo, hi), strict=True)},
                       index=names)
    if parm is not None:
        out = out.iloc[_which(parm, names, nvar)]
    return _as_table(out)


# ---------------------------------------------------------------------------------------------
# profile


def minimize_others(fn: Any, opt: np.ndarray, w: int, x: float, lower: np.ndarray,
                    upper: np.ndarray, start: np.ndarray | None = None
                    ) -> tuple[float, np.ndarray]:
    """A profile's point: fn minimized over every coordinate but `w`, which is held at `x`
    (from `start`, else from the optimum `opt`); the minimum and the other coordinates."""
    others = [i for i in range(len(opt)) if i != w]
    x0 = opt[others] if start is None else start

    def fn_others(y: np.ndarray) -> float:
        p = np.empty(len(opt))
        p[w] = x
        p[others] = y
        return fn(p)

    return _minimize(fn_others, x0, lower[others], upper[others])


def _minimize(fn: Any, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float,
                                                                                      np.ndarray]:
    """Bounded minimization (BOBYQA, as lme4's default nloptwrap) of fn from x0."""
    n = len(x0)
    if n == 0:
        return float(fn(x0)), x0
    x0 = np.clip(np.asarray(x0, dtype=float), lower, upper)
    opt = nlopt.opt(nlopt.LN_BOBYQA, n)
    lo = np.where(np.isfinite(lower), lower, -1e300)
    up = np.where(np.isfinite(upper), upper, 1e300)
    opt.set_lower_bounds(lo)
    opt.set_upper_bounds(up)

    best: list[Any] = [np.inf, x0.copy()]

    def f(x: np.ndarray, grad: np.ndarray) -> float:
        v = fn(x)
        if not np.isfinite(v):
            return 1e300
        if v < best[0]:
            best[0] = float(v)
            best[1] = np.array(x, dtype=float)
        return v

    opt.set_min_objective(f)
    opt.set_ftol_abs(1e-12)
    opt.set_xtol_abs(1e-10)
    opt.set_maxeval(20000)
    step = np.maximum(np.abs(x0) * 0.05, 0.01)
    # keep the initial step inside finite bounds
    room = np.minimum(np.where(np.isfinite(upper), upper - x0, np.inf),
                      np.where(np.isfinite(lower), x0 - lower, np.inf))
    room = np.where(room > 0, room, np.inf)
    step = np.minimum(step, np.maximum(room, 1e-6))
    opt.set_initial_step(step)
    try:
        x = opt.optimize(x0.copy())
        val = opt.last_optimum_value()
    except (nlopt.RoundoffLimited, RuntimeError):
        # BOBYQA gave up on rounding (ftol_abs 1e-12 is below the objective's resolution
        # for deviances in the hundreds): its best point so far is the answer, not x0. The
        # start of a profile step is the previous point's optimum, so falling back to x0
        # left ζ above the profile (Dyestuff's (Intercept) at ζ 2.31: 2.34 on one BLAS).
        if np.isfinite(best[0]):
            x, val = best[1], best[0]
        else:
            x, val = x0, fn(x0)
    return float(val), np.asarray(x)


class _Profiler:
    """ζ functions of one ML fit (the REML fit refitted by ML, as lme4 does)."""

    def __init__(self, sol: LmmSolution):
        self.sol = refit_ml(sol)
        self.ml = self.sol
        self.ks = _term_sizes(self.ml)
        self.prob = LmmProblem(self.ml.model, REML=False)
        self.base = float(self.ml.objective)
        self.opt_v = theta_to_sdcor(np.asarray(self.ml.theta), self.ks, float(self.ml.sigma))
        self.lo, self.up = _sdcor_bounds(self.ks)
        self.n = self.prob.n
        self.beta = np.asarray(self.ml.beta, dtype=float)
        self.se = np.sqrt(np.diag(vcov_beta(self.ml)))

    def dev_sdcor(self, pars: np.ndarray) -> float:
        """The ML deviance at (sd, cor, σ), β and u profiled (lme4's devfun2)."""
        th = sdcor_to_theta(pars, self.ks)
        if th is None:
            return float("inf")
        ld, _ldx, pw = self.prob.bc.update(th)
        if ld != ld:
            return float("inf")
        s2 = float(pars[-1]) ** 2
        return float(ld + pw / s2 + self.n * math.log(2 * math.pi * s2) - self.prob.ldW)

    def zeta_var(self, w: int, x: float, start: np.ndarray | None = None
                 ) -> tuple[float, np.ndarray]:
        """ζ at variance parameter w = x, the others re-optimized."""
        val, y = minimize_others(self.dev_sdcor, self.opt_v, w, x, self.lo, self.up, start)
        dd = max(0.0, val - self.base)
        return math.copysign(math.sqrt(dd), x - self.opt_v[w]), y

    def zeta_fixed(self, j: int, x: float, start: np.ndarray | None = None
                   ) -> tuple[float, np.ndarray]:
        """ζ at β_j = x: column j moved into the offset, θ re-optimized (σ, β profiled)."""
        model = self.ml.model
        X = model.X
        Xm = np.asarray(X, dtype=float)
        keep = [c for c in range(Xm.shape[1]) if c != j]
        Xd = X.iloc[:, keep] if isinstance(X, pd.DataFrame) else Xm[:, keep]
        off = np.zeros(model.n) if model.offset is None else np.asarray(model.offset, float)
        m2 = dataclasses.replace(model, X=Xd, offset=off + x * Xm[:, j])
        prob = LmmProblem(m2, REML=False)
        dev = prob.make_devfun()
        th0 = np.asarray(self.ml.theta, dtype=float) if start is None else start
        lower = np.asarray(model.reTrms.lower, dtype=float)
        val, th = _minimize(dev, th0, lower, np.full(len(th0), np.inf))
        dd = max(0.0, val - self.base)
        return math.copysign(math.sqrt(dd), x - self.beta[j]), th

    def interval(self, which: int, z: float) -> tuple[float, float]:
        """The (lower, upper) ends where ζ = -z and ζ = +z."""
        nv = len(self.opt_v)
        if which < nv:
            est = float(self.opt_v[which])
            lo_b, up_b = float(self.lo[which]), float(self.up[which])
            scale = max(abs(est) * 0.1, 0.05 if lo_b == -1.0 else 1e-3 * max(1.0, abs(est)))
            fz = self.zeta_var
        else:
            j = which - nv
            est = float(self.beta[j])
            lo_b, up_b = -np.inf, np.inf
            scale = float(self.se[j]) * 0.5
            fz = self.zeta_fixed
        return (self._end(fz, which if which < nv else which - nv, est, -1, z, scale, lo_b),
                self._end(fz, which if which < nv else which - nv, est, +1, z, scale, up_b))

    @staticmethod
    def _end(fz: Any, w: int, est: float, direction: int, z: float, scale: float,
             bound: float) -> float:
        target = direction * z
        prev_x, prev_start = est, None
        x = est
        step = scale
        for _ in range(200):
            x_new = x + direction * step
            at_bound = False
            if direction < 0 and x_new <= bound:
                x_new, at_bound = bound, True
            if direction > 0 and x_new >= bound:
                x_new, at_bound = bound, True
            zeta, start = fz(w, x_new, prev_start)
            if direction * zeta >= z:
                g_start = prev_start

                def g(t: float, s: Any = g_start) -> float:
                    return fz(w, t, s)[0] - target

                lo_, hi_ = sorted((prev_x, x_new))
                return float(optimize.brentq(g, lo_, hi_, xtol=1e-10 * max(1.0, abs(est)),
                                             rtol=1e-12))
            if at_bound:
                return float(bound)
            prev_x, prev_start = x_new, start
            x = x_new
            step *= 1.6
        return float("nan")


def _which(parm: Sequence[str] | str | None, names: list[str], nvar: int) -> list[int]:
    """Positions of the requested parameters; lme4's shortcuts "theta_" (variance
    parameters) and "beta_" (fixed effects) are accepted."""
    if parm is None:
        return list(range(len(names)))
    if isinstance(parm, str):
        parm = [parm]
    out: list[int] = []
    for p in parm:
        if p == "theta_":
            out.extend(range(nvar))
        elif p == "beta_":
            out.extend(range(nvar, len(names)))
        elif p in names:
            out.append(names.index(p))
        else:
            raise ValueError(f"unknown parameter '{p}'; the parameters are "
                             + ", ".join(names))
    return out


def confint_profile(fit: Any, level: float = 0.95, parm: Sequence[str] | None = None
                    ) -> pd.DataFrame:
    """Profile-likelihood intervals, as lme4's default ``confint(fit)``."""
    sol = as_solution(fit)
    pr = _Profiler(sol)
    names = sdcor_names(sol) + xnames(sol)
    idx = _which(parm, names, len(sol.theta) + 1)
    z = float(stats.norm.ppf((1.0 + level) / 2.0))
    rows = [pr.interval(i, z) for i in idx]
    cols = _pct_names(level)
    return pd.DataFrame(rows, index=[names[i] for i in idx], columns=cols)


def profile_zeta(fit: Any, parm: str, values: Sequence[float]) -> np.ndarray:
    """ζ of one parameter (lme4's name) at the given values: the profile's signed root
    deviance, for plots and checks."""
    sol = as_solution(fit)
    pr = _Profiler(sol)
    names = sdcor_names(sol) + xnames(sol)
    w = names.index(parm)
    nv = len(pr.opt_v)
    if w < nv:
        return np.array([pr.zeta_var(w, float(v))[0] for v in values])
    return np.array([pr.zeta_fixed(w - nv, float(v))[0] for v in values])


# ---------------------------------------------------------------------------------------------
# parametric bootstrap


def _simulate_and_fit(args: tuple) -> np.ndarray:
    """One bootstrap replicate (top level so that worker processes can run it)."""
    model, REML, theta, beta, sigma, Lambdat, seed_seq = args
    rng = np.random.default_rng(seed_seq)
    X = np.asarray(model.X, dtype=float)
    Zt = model.reTrms.Zt
    q = Zt.shape[0]
    u = rng.standard_normal(q) * sigma
    b = Lambdat.T @ u
    eps = rng.standard_normal(model.n) * sigma
    if model.weights is not None:
        eps = eps / np.sqrt(np.asarray(model.weights, dtype=float))
    y = X @ beta + Zt.T @ b + eps
    if model.offset is not None:
        y = y + np.asarray(model.offset, dtype=float)
    m2 = dataclasses.replace(model, y=np.asarray(y, dtype=float))
    npar = len(theta) + 1 + len(beta)
    try:
        with quiet(), np.errstate(all="ignore"):  # bootMer's replicates run silently
            # one thread: a worker forked from a process that ran OpenMP (the dense factor of
            # a large model) must not enter OpenMP again (GNU libgomp is not fork-safe); the
            # factor's bits do not depend on the thread count, so neither does the refit
            s2 = fit_lmm(m2, REML=REML, control={"start": theta, "blas_threads": 1})
    except (ArithmeticError, ValueError, RuntimeError, np.linalg.LinAlgError):
        return np.full(npar, np.nan)  # a failed refit: NA, as bootMer records it
    ks = _term_sizes(s2)
    return np.concatenate([theta_to_sdcor(np.asarray(s2.theta), ks, float(s2.sigma)),
                           np.asarray(s2.beta, dtype=float)])


def _check_nsim(nsim: object) -> int:
    """nsim as a positive whole number, else lme4's error (bootMer's check)."""
    if isinstance(nsim, bool) or not isinstance(nsim, (int, float, np.integer, np.floating)):
        raise TypeError(f"nsim must be a positive integer, not {type(nsim).__name__}")
    if not math.isfinite(float(nsim)) or int(nsim) < 1:
        raise ValueError(f"(nsim <- as.integer(nsim[1])) > 0 is not TRUE: nsim must be a "
                         f"positive integer, not {nsim!r}")
    return int(nsim)


def confint_boot(fit: Any, level: float = 0.95, nsim: int = 500, seed: int | None = None,
                 ncpus: int = 1, progress: bool = False, type: str = "perc") -> pd.DataFrame:
    """Parametric-bootstrap intervals: nsim responses simulated from the fitted model, each
    refitted, and intervals on lme4's parameter scale from the replicates as lme4 computes
    them (``boot_intervals``; type "perc", "basic" or "norm").

    Every replicate has its own random stream spawned from ``seed``, so results do not
    depend on ``ncpus`` (worker processes via concurrent.futures). The stream is NumPy's,
    not R's: the intervals agree with lme4's in distribution, not digit for digit.
    """
    nsim = _check_nsim(nsim)
    sol = as_solution(fit)
    children = np.random.SeedSequence(seed).spawn(nsim)
    # a light payload for worker processes (the fit's caches hold compiled objects)
    model = dataclasses.replace(sol.model)
    base = (model, bool(sol.REML), np.asarray(sol.theta, dtype=float),
            np.asarray(sol.beta, dtype=float), float(sol.sigma), sol.Lambdat)
    tasks = [base + (c,) for c in children]
    results: list[np.ndarray] = []
    if ncpus > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=int(ncpus)) as ex:
            for k, r in enumerate(ex.map(_simulate_and_fit, tasks, chunksize=max(1, nsim // (
                    4 * ncpus)))):
                results.append(r)
                if progress:
                    _progress(k + 1, nsim)
    else:
        for k, t in enumerate(tasks):
            results.append(_simulate_and_fit(t))
            if progress:
                _progress(k + 1, nsim)
    if progress:
        sys.stderr.write("\n")
    B = np.vstack(results)
    nfail = int(np.sum(np.any(~np.isfinite(B), axis=1)))
    if nfail:
        warn(f"some bootstrap runs failed ({nfail}/{nsim})")
    ks = _term_sizes(sol)
    t0 = np.concatenate([theta_to_sdcor(np.asarray(sol.theta), ks, float(sol.sigma)),
                         np.asarray(sol.beta, dtype=float)])
    out = boot_intervals(t0, B, level=level, type=type, names=sdcor_names(sol) + xnames(sol))
    out.attrs["boot_samples"] = B
    out.attrs["t0"] = t0
    return out


def _norm_inter(t: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Order-statistic quantiles of the replicates at probabilities alpha, interpolated on
    the normal-quantile scale between the (R+1)·alpha neighbours (the boot package's rule)."""
    t = np.sort(t[np.isfinite(t)])
    R = len(t)
    out = np.empty(len(alpha))
    for i, a in enumerate(alpha):
        rk = (R + 1) * a
        k = int(math.trunc(rk))
        if k == rk and 0 < k <= R:
            out[i] = t[k - 1]
        elif k <= 0:
            out[i] = t[0]
        elif k >= R:
            out[i] = t[R - 1]
        else:
            z, zk, zk1 = stats.norm.ppf([a, k / (R + 1), (k + 1) / (R + 1)])
            out[i] = t[k - 1] + (z - zk) / (zk1 - zk) * (t[k] - t[k - 1])
    return out


def boot_intervals(t0: np.ndarray, t: np.ndarray, level: float = 0.95, type: str = "perc",
                   names: Sequence[str] | None = None) -> pd.DataFrame:
    """Intervals from bootstrap replicates t (nsim x npar; NaN for failed refits) around the
    estimates t0, as lme4's ``confint`` of a ``bootMer`` object computes them (boot.ci):
    "perc" percentile, "basic" (2 t0 - percentiles), "norm" (bias-corrected normal)."""
    t = np.atleast_2d(np.asarray(t, dtype=float))
    t0 = np.asarray(t0, dtype=float)
    rows = []
    for j in range(t.shape[1]):
        tj = t[:, j][np.isfinite(t[:, j])]
        if len(tj) == 0:
            rows.append([np.nan, np.nan])
            continue
        if type == "perc":
            rows.append(list(_norm_inter(tj, np.array([(1 - level) / 2, (1 + level) / 2]))))
        elif type == "basic":
            q = _norm_inter(tj, np.array([(1 + level) / 2, (1 - level) / 2]))
            rows.append(list(2 * t0[j] - q))
        elif type == "norm":
            bias = float(np.mean(tj)) - t0[j]
            merr = math.sqrt(float(np.var(tj, ddof=1))) * stats.norm.ppf((1 + level) / 2)
            rows.append([t0[j] - bias - merr, t0[j] - bias + merr])
        else:
            raise ValueError("'arg' should be one of \u201cperc\u201d, \u201cnorm\u201d, "
                             f"\u201cbasic\u201d (got {type!r})")
    idx = list(names) if names is not None else [str(i + 1) for i in range(t.shape[1])]
    return pd.DataFrame(rows, index=idx, columns=_pct_names(level))


def _progress(k: int, n: int) -> None:
    width = 40
    done = int(width * k / n)
    sys.stderr.write(f"\r|{'=' * done}{' ' * (width - done)}| {k}/{n}")
    sys.stderr.flush()


def confint(fit: Any, method: str = "profile", level: float = 0.95,
            parm: Sequence[str] | None = None, nsim: int = 500, seed: int | None = None,
            ncpus: int = 1, progress: bool = False, boot_type: str = "perc") -> pd.DataFrame:
    """lme4's ``confint(fit, method = "profile" | "Wald" | "boot")``."""
    m = str(method).lower()
    if m == "wald":
        out = confint_wald(fit, level)
    elif m == "profile":
        return _as_table(confint_profile(fit, level, parm))
    elif m == "boot":
        out = confint_boot(fit, level, nsim=nsim, seed=seed, ncpus=ncpus, progress=progress,
                           type=boot_type)
    else:
        raise ValueError("'arg' should be one of \u201cprofile\u201d, \u201cWald\u201d, "
                         f"\u201cboot\u201d (got {method!r})")
    if parm is not None:
        sol = as_solution(fit)
        out = out.iloc[_which(parm, list(out.index), len(sol.theta) + 1)]
    return _as_table(out)
