"""Generalized linear mixed models as lme4's glmer(): PIRLS, Laplace and adaptive Gauss-Hermite.

The method follows lme4's documented algorithm (Bates et al., "Fitting linear mixed-effects
models using lme4", and lme4's ``glmer`` help):

1. Stage 1 (``nAGQ = 0``): for each θ, penalized iteratively reweighted least squares (PIRLS)
   updates the spherical random effects u *and* β together; the objective is the Laplace form
   ``aic(μ) + ||u||² + log|L|²`` and BOBYQA minimizes it over θ.
2. Stage 2 (``nAGQ ≥ 1``): the objective is a function of (θ, β); PIRLS updates u alone with β
   held in the offset. ``nAGQ = 1`` is the Laplace approximation; ``nAGQ > 1`` (only for one
   scalar random-effects term) replaces each group's Laplace factor by adaptive Gauss-Hermite
   quadrature centred at the conditional mode with the conditional standard deviation 1/L_jj.

The stages live in their own modules, as lme4's: the response (family, link, prior weights,
offset; μ and the working weights) in lmepy/fit/response.py, the predictor (the penalized
solve for the model's block structure, sharing the LMM core's ``BlockedCholesky``) in
lmepy/fit/predictor.py, the PIRLS iteration and the deviance functions in lmepy/fit/pirls.py.
This module optimizes them and builds the fit (``fit_glmm``, ``make_devfun``,
``GlmmSolution``). Hot loops are Cython (lmepy/kernels/pirls.pyx: the PIRLS iteration for
scalar and nested terms; glm_family.pyx: per-row family arithmetic; glm_kernels.pyx:
quadrature sums and re-weighted cross-products), with the numpy code as reference and
fallback (tests/test_pirls.py, tests/test_glmer.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lmepy.design.types import CompiledModel
from lmepy.errors import ConvergenceWarning, SingularFitWarning, warn
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.control import check_control, check_start
from lmepy.fit.family import Family, get_family
from lmepy.fit.guard import fit_guard, require_finite
from lmepy.fit.optimize import bobyqa, deriv12
from lmepy.fit.pirls import _Glmm, _PirlsState, gh_rule
from lmepy.fit.predictor import PirlsError, _b_from_u, _term_factors
from lmepy.fit.response import _prepare_response, _Response

try:  # OpenBLAS threads spin on busy machines; small dense factors run single-threaded
    from lmepy.kernels.blas_threads import limit_threads
except ImportError:  # pragma: no cover
    from contextlib import nullcontext

    def limit_threads(n: int | None) -> Any:  # type: ignore[misc]
        return nullcontext()

# the stages of a glmer fit, importable from here as before the split
__all__ = ["AGQ_SCALAR_ONLY", "GAUSSIAN_IDENTITY", "GlmmSolution", "PirlsError",
           "check_conv_glmm", "fit_glmm", "gh_rule", "make_devfun", "_Glmm", "_PirlsState",
           "_Response", "_prepare_response"]

AGQ_SCALAR_ONLY = "nAGQ > 1 is only available for models with a single, scalar random-effects term"
# lme4 warns with this text and refits with lmer(); the API layer does that, the GLMM core refuses
GAUSSIAN_IDENTITY = ("calling glmer() with family=gaussian (identity link) as a shortcut to lmer() "
                     "is deprecated; please call lmer() directly")


# ----------------------------------------------------------------------------------------------
# The fit


@dataclass(eq=False)
class GlmmSolution:
    """Everything the results stage needs from a glmer fit.

    Field names follow ``LmmSolution`` (lmepy/fit/lmm.py) where the meaning carries over, so
    the results code can share them: ``theta``, ``beta``, ``u``, ``b`` (Λu, flat in Zt row
    order), ``sigma`` (1 for binomial and poisson), ``objective`` (lme4's ``opt$fval``: the
    Laplace deviance, -2 logLik; for nAGQ > 1 lme4's AGQ value, built on the deviance
    residuals), ``devcomp`` (lme4's ``cmp`` names), ``vcov_unscaled`` (σ² times it is lme4's
    ``vcov()``: from the finite-difference Hessian when usable, as lme4), ``fitted`` (μ),
    ``residuals`` (response residuals y - μ; other types by ``residuals_of``), ``Lambdat``,
    ``optinfo``, ``singular``, ``condvar()``. GLMM extras: ``family``, ``nAGQ``, ``eta``, ``y``
    (the response as glm sees it: proportions for binomial), ``prior_weights``, ``n_trials``,
    ``offset``, ``vcov_rx_unscaled`` (from R_X, ``use.hessian = FALSE``).
    """

    model: CompiledModel
    family: Family
    nAGQ: int
    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    sigma: float
    objective: float
    devcomp: dict[str, float]
    vcov_unscaled: np.ndarray
    vcov_rx_unscaled: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    eta: np.ndarray
    y: np.ndarray
    prior_weights: np.ndarray
    n_trials: np.ndarray
    offset: np.ndarray
    lower: np.ndarray
    Lambdat: sp.csc_matrix
    optinfo: dict[str, Any]
    singular: bool = False
    REML: bool = False
    _condvar_u: list[np.ndarray] = field(default_factory=list, repr=False)
    _factors: list[np.ndarray] = field(default_factory=list, repr=False)

    # lme4's accessors --------------------------------------------------------------------
    @property
    def has_scale(self) -> bool:
        return self.family.has_scale

    @property
    def fval(self) -> float:
        return self.objective

    @property
    def conv_messages(self) -> list[str]:
        return list(self.optinfo.get("warnings", []))

    def condvar(self) -> list[np.ndarray]:
        """Per ReTerm, (nlevels, k, k) conditional variances of b (lme4's ``postVar``), from
        the factor at the final working weights."""
        s2 = self.sigma ** 2
        return [s2 * np.einsum("ij,mjk,lk->mil", T, cu, T)
                for T, cu in zip(self._factors, self._condvar_u, strict=True)]

    def fixef(self) -> pd.Series:
        return pd.Series(self.beta, index=list(self.model.X.columns))

    def vcov(self) -> pd.DataFrame:
        names = list(self.model.X.columns)
        return pd.DataFrame(self.sigma ** 2 * self.vcov_unscaled, index=names, columns=names)

    def nobs(self) -> int:
        return int(self.model.n)

    def npar(self) -> int:
        return len(self.theta) + len(self.beta) + (1 if self.has_scale else 0)

    def logLik(self) -> float:
        return -0.5 * self.objective

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.npar()

    def BIC(self) -> float:
        return -2.0 * self.logLik() + math.log(self.nobs()) * self.npar()

    def deviance(self) -> float:
        """lme4's ``deviance()`` of a GLMM: the sum of squared deviance residuals."""
        return float(np.sum(self.family.dev_resids(self.y, self.fitted, self.prior_weights)))

    def df_residual(self) -> int:
        return self.nobs() - self.npar()

    def residuals_of(self, type: str = "deviance") -> np.ndarray:  # noqa: A002 - R's name
        """R's residual types for a glmer fit: deviance (default), pearson, working,
        response."""
        fam, y, mu = self.family, self.y, self.fitted
        if type == "deviance":
            d = np.sqrt(np.maximum(fam.dev_resids(y, mu, self.prior_weights), 0.0))
            return np.where(y > mu, d, -d)
        if type == "pearson":
            return np.sqrt(self.prior_weights / fam.variance(mu)) * (y - mu)
        if type == "working":
            return (y - mu) / fam.mu_eta(self.eta)
        if type == "response":
            return y - mu
        raise ValueError("'arg' should be one of \u201cdeviance\u201d, \u201cpearson\u201d, "
                         "\u201cworking\u201d, \u201cresponse\u201d")

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes per grouping factor (lme4's ``ranef()``, without condVar)."""
        out: dict[str, pd.DataFrame] = {}
        pos = 0
        for t in self.model.reTrms.terms:
            bt = self.b[pos: pos + t.q].reshape(t.nlevels, t.k)
            pos += t.q
            df = pd.DataFrame(bt, index=list(t.levels), columns=list(t.cnms))
            out[t.group] = pd.concat([out[t.group], df], axis=1) if t.group in out else df
        return out


def _vcov_from_hessian(H: np.ndarray, ntheta: int) -> np.ndarray | None:
    """lme4's vcov from the deviance Hessian: the β block of 2 H⁻¹, if positive definite."""
    try:
        Hi = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None
    V = Hi[ntheta:, ntheta:]
    V = V + V.T
    if not np.all(np.isfinite(V)):
        return None
    if np.min(np.linalg.eigvalsh(V)) <= 0:
        return None
    return V


def _check_hess(H: np.ndarray, tol: float, hesstype: str = "") -> list[str]:
    ev = np.linalg.eigvalsh(H)[::-1]
    if not np.all(np.isfinite(ev)):
        return ["Problem with Hessian check (infinite or missing values?)"]
    neg = int(np.sum(ev < -tol))
    if neg:
        return [f"Model failed to converge: degenerate {hesstype} Hessian with {neg} negative "
                "eigenvalues"]
    try:
        np.linalg.cholesky(H)
        chol_ok = True
    except np.linalg.LinAlgError:
        chol_ok = False
    if int(np.sum(np.abs(ev) < tol)) or not chol_ok:
        return [f"{hesstype} Hessian is numerically singular: parameters are not uniquely "
                "determined"]
    msgs = []
    if ev.max() * tol > 1:
        msgs.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
    if ev.min() / ev.max() < tol:
        msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale "
                    "variables?")
    return msgs


def check_conv_glmm(derivs: tuple[np.ndarray, np.ndarray] | None, pars: np.ndarray,
                    lower: np.ndarray, ntheta: int, tol_grad: float = 2e-3,
                    tol_singular: float = 1e-4, tol_hess: float = 1e-6
                    ) -> tuple[bool, list[str]]:
    """lme4's checkConv for a glmer fit: (singular, warnings in lme4's words). Each entry of
    the list is one warning, as lme4 emits them (Hessian messages joined by ';')."""
    lower = np.asarray(lower)[:ntheta]
    th = np.asarray(pars)[:ntheta]
    if np.any(th[lower == 0] < tol_singular):
        return True, ["boundary (singular) fit: see help('isSingular')"]
    if derivs is None:
        return False, []
    g, H = derivs
    if not np.all(np.isfinite(g)):
        return False, ["Gradient contains NAs"]
    out = []
    try:
        R = np.linalg.cholesky(H).T
        scgrad = np.linalg.solve(R, g)
        mingrad = np.minimum(np.abs(scgrad), np.abs(g))
        if mingrad.max() > tol_grad:
            # lme4 reports which.max() of the single maximum: always component 1
            out.append(f"Model failed to converge with max|grad| = {_fmt_g(mingrad.max())} "
                       f"(tol = {tol_grad:g}, component 1)")
    except np.linalg.LinAlgError:
        out.append("unable to evaluate scaled gradient")
    # lme4's checkConv also has a "fixed-effect" Hessian check of the β block, but glmer
    # passes the bounds of θ and β as `lbound`, so it never runs: only the full Hessian is
    # checked (running both warned the same "very large eigenvalue" text twice)
    m = _check_hess(H, tol_hess)
    if m:
        out.append(";".join(m))
    return False, out


def _fmt_g(x: float) -> str:
    """C's %g, as R's gettextf prints it."""
    return f"{x:g}"


def _dense_size(model: CompiledModel) -> int:
    terms = model.reTrms.terms
    return int(sum(t.q for t in terms[1:])) + int(model.X.shape[1]) + 1


def _threads(model: CompiledModel, control: dict | None) -> int | None:
    if control and "blas_threads" in control:
        return control["blas_threads"]
    return 1 if _dense_size(model) < 2000 else None


def fit_glmm(model: CompiledModel, family: Family | str = "binomial", nAGQ: int = 1,
             weights: np.ndarray | None = None, offset: np.ndarray | None = None,
             control: dict | None = None) -> GlmmSolution:
    """Fit a GLMM by lme4's method: a nAGQ = 0 stage over θ, then (θ, β) by BOBYQA on the
    Laplace (nAGQ = 1) or adaptive Gauss-Hermite (nAGQ > 1) deviance.

    ``control``: ``tolPwrss`` (PIRLS relative tolerance, lme4's 1e-7), ``exact`` (False: the
    log-determinant from the last PIRLS solve as lme4; True: re-factored at the converged
    weights, a smoother objective that is not lme4's), ``optCtrl`` (nlopt settings),
    ``calc_derivs`` (True), ``boundary_tol`` (1e-5), ``check_conv`` (True: warn as lme4
    does), ``blas_threads`` (OpenBLAS threads; default 1 for dense blocks under 2000 rows).
    Stage 2 runs over whitened fixed effects (β = β₁ + L δ, L from stage 1's R_X) unless
    ``whiten`` is False or ``optCtrl`` is given; its settings: ``theta_step`` (0.02),
    ``delta_step`` (0.2), ``xtol_abs2`` (1e-8), ``ftol_abs2`` (1e-10), ``warm_start``
    (False: each evaluation restarts PIRLS from stage 1's η as lme4; True is faster but
    moves the objective by the PIRLS tolerance, enough to shift β by ~1e-4) and ``tol2``
    (PIRLS tolerance of warm-started evaluations).
    """
    control = check_control(control, "glmer")
    with limit_threads(_threads(model, control)), fit_guard():
        sol = _fit_glmm(model, family, nAGQ, weights, offset, control)
    # an infinite deviance is R's answer where the family's density is 0 (non-integer
    # counts: dpois warns and gives 0, lme4 returns the fit with logLik -Inf); NaN is not
    require_finite(beta=sol.beta, theta=sol.theta)
    if math.isnan(sol.objective):
        require_finite(objective=sol.objective)
    return sol


def _fit_glmm(model: CompiledModel, family: Family | str, nAGQ: int,
              weights: np.ndarray | None, offset: np.ndarray | None,
              control: dict | None) -> GlmmSolution:
    control = dict(control or {})
    fam = get_family(family)
    if not isinstance(nAGQ, (int, np.integer)) or isinstance(nAGQ, bool):
        raise ValueError("nAGQ must be an integer")
    nAGQ = int(nAGQ)
    if not 0 <= nAGQ <= 25:
        raise ValueError("nAGQ must be between 0 and 25 (lme4: 0L <= nAGQ, nAGQ <= 25L)")
    terms = model.reTrms.terms
    if nAGQ > 1 and (len(terms) != 1 or terms[0].k != 1):
        raise ValueError(AGQ_SCALAR_ONLY)
    if fam.family == "gaussian" and fam.link == "identity":
        raise ValueError(GAUSSIAN_IDENTITY)
    resp = _prepare_response(model, fam, weights, offset)
    g = _Glmm(model, resp, tol=float(control.get("tolPwrss", 1e-7)),
              maxit=int(control.get("maxit", 100)), exact=bool(control.get("exact", False)))
    ntheta, p = g.ntheta, g.p
    theta_lower = model.reTrms.lower
    optctrl = control.get("optCtrl")

    # initial PIRLS at θ0 from mustart (lme4's mkGlmerDevfun), then stage 1 over θ
    theta0 = np.asarray(model.reTrms.theta0, dtype=float)
    if control.get("theta0") is not None:
        theta0 = check_start(control["theta0"], theta_lower, "control['theta0']")
    st0 = g.pirls(theta0, None, eta0=g.lp0, final_factor=False)
    g.lp0 = st0.eta
    opt1 = bobyqa(g.devfun0, theta0, theta_lower, optctrl)
    btol = float(control.get("boundary_tol", 1e-5))

    if nAGQ == 0:
        # the objective keeps stage 1's PIRLS start (lp0): its values are the optimizer's
        pars = _snap_boundary(lambda th: g.devfun0(th), opt1, theta_lower, btol)
        fval = opt1["fval"] if np.array_equal(pars, opt1["par"]) else g.devfun0(pars)
        opt = {"par": pars, "fval": fval, "feval": opt1["feval"], "conv": opt1["conv"],
               "message": opt1.get("message", "")}
        devfun = g.devfun0
        lower = theta_lower
        st = g.pirls(pars, None)
        theta, beta = pars, st.beta
    else:
        st1 = g.pirls(opt1["par"], None)
        g.lp0 = st1.eta
        lower = np.concatenate([theta_lower, np.full(p, -np.inf)])
        start = np.concatenate([opt1["par"], st1.beta])
        # per-parameter scales as lme4 gives its second-stage optimizer: 0.1 for θ and
        # the standard errors of β from stage 1 (capped at 10), times 0.2
        st1.chol = st1.chol or g.pirls(opt1["par"], None, final_factor=True).chol
        beta_sd = np.sqrt(np.diag(st1.chol.vcov_unscaled())) if p else np.zeros(0)
        step = 0.2 * np.concatenate([np.full(ntheta, 0.1), np.minimum(beta_sd, 10.0)])
        # tight absolute tolerances (no relative one): ill-conditioned fixed effects such as
        # grouseticks' unscaled HEIGHT need them to land within 1e-4 of lme4's estimates
        ctrl2 = {"initial_step": step, "xtol_abs": float(control.get("xtol_abs", 1e-10)),
                 "ftol_abs": float(control.get("ftol_abs", 1e-10)), "ftol_rel": 0.0}
        if optctrl:
            ctrl2.update(optctrl)

        def devfun(x: np.ndarray) -> float:
            return g.devfun(x, nAGQ)

        whiten = bool(control.get("whiten", True)) and p > 0 and not optctrl
        if whiten:
            opt = _optimize_whitened(g, devfun, opt1["par"], st1, lower, ntheta, control)
        else:
            opt = bobyqa(devfun, start, lower, ctrl2)
        pars = _snap_boundary(devfun, opt, lower, btol)
        opt["par"] = pars
        opt["fval"] = devfun(pars)
        theta, beta = pars[:ntheta], pars[ntheta:]
        st = g.pirls(theta, beta)

    derivs = None
    if control.get("calc_derivs", True) and nAGQ > 0:
        derivs = deriv12(devfun, np.asarray(opt["par"], dtype=float), float(opt["fval"]))
        fval_check = devfun(opt["par"])  # leave nothing depending on the last evaluation
        del fval_check
    singular, msgs = check_conv_glmm(derivs, np.asarray(opt["par"]), lower, ntheta)
    if control.get("check_conv", True):
        for mtxt in msgs:
            cls = SingularFitWarning if singular else ConvergenceWarning
            warn(mtxt, cls)

    # R_X at the optimum: factor the joint system with the final working weights
    ww, zz = resp.working(st.eta, st.mu)
    cpj = cross_products(g.terms, g.X, zz, ww)
    bcj = BlockedCholesky(cpj)
    _ldL2j, ldRX2j, _ = bcj.update(theta)
    wrss = float(np.sum(resp.weights / fam.variance(st.mu) * (resp.y - st.mu) ** 2))
    sig2 = 1.0
    if fam.has_scale:
        sig2 = (wrss + st.ussq) / model.n
    V_rx = sig2 * bcj.vcov_unscaled() if p else np.zeros((0, 0))
    V = None
    if derivs is not None and p and nAGQ > 0:
        V = _vcov_from_hessian(derivs[1], ntheta)
        if V is None:
            warn("variance-covariance matrix computed from finite-difference Hessian "
                 "is\nnot positive definite or contains NA values: falling back to "
                 "var-cov estimated from RX", ConvergenceWarning)
    if V is None:
        V = V_rx
    factors = _term_factors(g.terms, theta)
    blist = _b_from_u(g.terms, factors, st.u)
    sigma = math.sqrt(sig2)
    devcomp = {"ldL2": st.ldL2, "ldRX2": float(ldRX2j), "wrss": wrss, "ussq": st.ussq,
               "pwrss": wrss + st.ussq, "drsum": st.drsum, "REML": math.nan,
               "dev": float(opt["fval"]),
               "sigmaML": sigma if fam.has_scale else math.nan, "sigmaREML": math.nan,
               "tolPwrss": g.tol}
    optinfo = {"optimizer": "bobyqa", "feval": int(opt["feval"]),
               "message": opt.get("message", ""), "conv": int(opt.get("conv", 0)),
               "warnings": list(msgs),
               "converged": int(opt.get("conv", 0)) == 0 and not msgs,
               "derivs": None if derivs is None else {"gradient": derivs[0],
                                                      "Hessian": derivs[1]},
               "val": np.asarray(opt["par"], dtype=float), "stage1": opt1}
    return GlmmSolution(
        model=model, family=fam, nAGQ=nAGQ, theta=np.asarray(theta, dtype=float),
        beta=np.asarray(beta, dtype=float), u=st.u,
        b=np.concatenate([bt.reshape(-1) for bt in blist]), sigma=sigma,
        objective=float(opt["fval"]), devcomp=devcomp, vcov_unscaled=V / sig2,
        vcov_rx_unscaled=V_rx / sig2, fitted=st.mu, residuals=resp.y - st.mu, eta=st.eta,
        y=resp.y, prior_weights=resp.weights, n_trials=resp.n, offset=resp.offset,
        lower=np.asarray(theta_lower, dtype=float), Lambdat=bcj.Lambdat(), optinfo=optinfo,
        singular=singular, _condvar_u=bcj.condvar_u(), _factors=factors)


def _optimize_whitened(g: _Glmm, devfun: Any, theta1: np.ndarray, st1: _PirlsState,
                       lower: np.ndarray, ntheta: int, control: dict) -> dict:
    """Stage 2 over (θ, δ) with β = β₁ + L δ, L the Cholesky factor of stage 1's
    (R_X'R_X)⁻¹: BOBYQA sees fixed effects of unit scale and no correlation among them
    (grouseticks' uncentred HEIGHT otherwise costs hundreds of evaluations). The same model:
    the optimum is mapped back to (θ, β)."""
    beta1 = st1.beta
    V = st1.chol.vcov_unscaled()
    try:
        L = np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        L = np.diag(np.sqrt(np.maximum(np.diag(V), 1e-12)))

    def to_pars(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x[:ntheta], beta1 + L @ x[ntheta:]])

    def fx(x: np.ndarray) -> float:
        return devfun(to_pars(x))

    x0 = np.concatenate([theta1, np.zeros(len(beta1))])
    step = np.concatenate([np.full(ntheta, float(control.get("theta_step", 0.02))),
                           np.full(len(beta1), float(control.get("delta_step", 0.2)))])
    ctrl = {"initial_step": step, "xtol_abs": float(control.get("xtol_abs2", 1e-8)),
            "ftol_abs": float(control.get("ftol_abs2", 1e-10)), "ftol_rel": 0.0}
    g.warm_keep = bool(control.get("warm_start", False))
    g.tol2 = float(control.get("tol2", 1e-7))
    try:
        opt = bobyqa(fx, x0, lower, ctrl)
    finally:
        g.warm_keep = False
    opt["par"] = to_pars(opt["par"])
    return opt


def _snap_boundary(fn: Any, opt: dict, lower: np.ndarray, btol: float) -> np.ndarray:
    """lme4's check.boundary: θ within ``btol`` of its bound goes to the bound if that is no
    worse."""
    par = np.asarray(opt["par"], dtype=float).copy()
    lower = np.asarray(lower, dtype=float)
    nth = len(lower)
    if btol <= 0:
        return par
    bdiff = par[:nth] - lower
    edge = (bdiff > 0) & (bdiff < btol)
    for i in np.flatnonzero(edge):
        tmp = par.copy()
        tmp[i] = lower[i]
        if fn(tmp) < opt["fval"]:
            par[i] = lower[i]
    return par


def make_devfun(model: CompiledModel, family: Family | str = "binomial", nAGQ: int = 1,
                weights: np.ndarray | None = None, offset: np.ndarray | None = None,
                control: dict | None = None) -> Any:
    """lme4's ``glmer(..., devFunOnly = TRUE)``: for nAGQ = 0 a function of θ; otherwise a
    function of c(θ, β), after the nAGQ = 0 stage has set the PIRLS starting point."""
    control = check_control(control, "glmer")
    fam = get_family(family)
    terms = model.reTrms.terms
    if nAGQ > 1 and (len(terms) != 1 or terms[0].k != 1):
        raise ValueError(AGQ_SCALAR_ONLY)
    resp = _prepare_response(model, fam, weights, offset)
    g = _Glmm(model, resp, tol=float(control.get("tolPwrss", 1e-7)),
              exact=bool(control.get("exact", False)))
    nthreads = _threads(model, control)
    theta0 = model.reTrms.theta0
    with limit_threads(nthreads):
        st0 = g.pirls(theta0, None, eta0=g.lp0, final_factor=False)
        g.lp0 = st0.eta
        if nAGQ > 0:
            opt1 = bobyqa(g.devfun0, theta0, model.reTrms.lower, control.get("optCtrl"))
            g.lp0 = g.pirls(opt1["par"], None, final_factor=False).eta

    def devfun(pars: np.ndarray) -> float:
        with limit_threads(nthreads):
            if nAGQ == 0:
                return g.devfun0(np.atleast_1d(np.asarray(pars, dtype=float)))
            return g.devfun(np.asarray(pars, dtype=float), nAGQ)

    return devfun
