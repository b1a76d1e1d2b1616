"""PIRLS (lme4's ``pwrssUpdate``) and the GLMM deviance functions built on it.

``_Glmm.pirls`` iterates the response's working weights and residuals
(lmepy/fit/response.py) through the predictor's penalized solve (lmepy/fit/predictor.py)
with lme4's step-halving and convergence test; where the model is one scalar term or nested
scalar terms with binomial-logit or Poisson-log, the same iteration runs in one kernel call
(lmepy/kernels/pirls.pyx, whose numpy reference this loop is). The deviance functions are
lme4's: stage 1 (``devfun0``, nAGQ = 0: u and β by PIRLS), stage 2 Laplace (``devfun``) and
adaptive Gauss-Hermite (``agq_value``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from lmepy.design.types import CompiledModel
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.predictor import (
    GlmPredictor,
    PirlsError,
    _check_kernel_status,
)
from lmepy.fit.response import _Response

try:  # Cython kernels; the loop below is their reference and the fallback
    from lmepy.kernels import glm_kernels as _gk
    from lmepy.kernels import pirls as _pk
except ImportError:  # pragma: no cover - only when the extension is not built
    _gk = _pk = None


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lme4's ``GHrule(n)``: nodes z, weights w (summing to 1, for the standard normal) and
    log dnorm(z)."""
    if n < 1:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    z, w = hermegauss(n)
    w = w / w.sum()
    ldnorm = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
    return z, w, ldnorm


@dataclass(eq=False)
class _PirlsState:
    u: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    drsum: float
    ussq: float
    ldL2: float
    ldRX2: float
    iterations: int
    chol: BlockedCholesky | None = None
    working_weights: np.ndarray | None = None


def pwrss_reference(resp: _Response, solve: Any, eta_of: Any, eta0: np.ndarray,
                    u0: np.ndarray, b0: np.ndarray, joint: bool, init: tuple | None,
                    tol: float, maxit: int) -> tuple:
    """The numpy twin of lmepy/kernels/pirls.pyx's ``pirls_general`` (the same arguments and
    results, the same steps in the same order): lme4's pwrssUpdate with the penalized solve
    ``solve(w, z)`` -> (u, β, log|L|², log|R_X|²) and ``eta_of(u, β)`` -> η, the response by
    ``resp``'s methods. Status 0 converged, 1 step-halvings failed, 2 no convergence in
    maxit."""
    eta = np.array(eta0, dtype=float)
    if init is not None:
        mu, wz = init
    else:
        mu, _, wz = resp.mu_dev_working(eta)
    u, b, u_old, b_old = u0, b0, u0, b0
    oldpdev = np.finfo(float).max
    ldL2 = ldRX2 = dr = math.nan
    w_last = None
    for it in range(1, maxit + 1):
        w, z = wz if wz is not None else resp.working(eta, mu)
        w_last = w
        u, b, ldL2, ldRX2 = solve(w, z)
        eta = eta_of(u, b)
        mu, dr, wz = resp.mu_dev_working(eta)
        pdev = dr + float(u @ u)
        if abs((oldpdev - pdev) / pdev) < tol:
            return 0, u, b, eta, mu, dr, ldL2, ldRX2, it, w_last
        if not np.isfinite(pdev) or pdev > oldpdev:
            for _ in range(10):
                u = 0.5 * (u_old + u)
                if joint:
                    b = 0.5 * (b_old + b)
                eta = eta_of(u, b)
                mu, dr, wz = resp.mu_dev_working(eta)
                pdev = dr + float(u @ u)
                if np.isfinite(pdev) and pdev <= oldpdev:
                    break
            if not np.isfinite(pdev) or (pdev - oldpdev) > tol * abs(oldpdev):
                return 1, u, b, eta, mu, dr, ldL2, ldRX2, it, w_last
            if abs((oldpdev - pdev) / pdev) < tol:
                return 0, u, b, eta, mu, dr, ldL2, ldRX2, it, w_last
        oldpdev = pdev
        u_old, b_old = u, b
    return 2, u, b, eta, mu, dr, ldL2, ldRX2, maxit, w_last


class _Glmm(GlmPredictor):
    """The model with its response, for repeated evaluation of the deviance functions: the
    PIRLS iteration over the predictor's solve, the kernels' single-call iterations where
    they apply, the Laplace and adaptive Gauss-Hermite deviances."""

    def __init__(self, model: CompiledModel, resp: _Response, tol: float = 1e-7,
                 maxit: int = 100, exact: bool = False):
        super().__init__(model, resp, exact)
        self.tol = tol
        self.maxit = maxit
        self.lp0: np.ndarray = resp.family.linkfun(resp.mustart)
        # stage 2 inside fit_glmm: PIRLS starts from the previous evaluation's u (as lme4's
        # pp$u0 carries over), so one or two Newton steps reach a tight tolerance
        self.warm_u: np.ndarray | None = None
        # one scalar term with a fused family: the single-term PIRLS and AGQ kernels
        self._single_kernel = resp.fused and len(self.terms) == 1 and self.terms[0].k == 1
        self._gh: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._lp0_cache: tuple | None = None  # (lp0, μ, drsum, working pair) at lp0
        self.tol2: float | None = None  # stage-2 tolerance while optimizing (None: tol)
        self.warm_keep = False  # devfun stores each evaluation's u as the next start
        self._kresp = None  # the family by kernel codes for the PIRLS loop, built once

    def pirls(self, theta: np.ndarray, beta: np.ndarray | None,
              eta0: np.ndarray | None = None, final_factor: bool | None = None) -> _PirlsState:
        """Conditional modes u (and β when ``beta`` is None) by PIRLS with step-halving,
        starting from the linear predictor ``eta0`` (lme4 restarts from the stage-1 ``lp0``).

        As lme4, the log-determinant comes from the factor of the last solve, whose weights
        are those before the final update of μ (``final_factor=False``, the default unless
        the object was built with ``exact=True``); ``final_factor=True`` re-factors at the
        converged weights."""
        if final_factor is None:
            final_factor = self.exact
        resp = self.resp
        theta = np.asarray(theta, dtype=float)
        u_old = np.zeros(self.q)
        tol = self.tol
        warm = beta is not None and eta0 is None and self.warm_u is not None
        if warm:
            u_old = self.warm_u
            eta0 = self._eta(theta, u_old, beta)
            tol = self.tol2 if self.tol2 is not None else tol
        eta = self.lp0 if eta0 is None else eta0
        if beta is not None and self._single_kernel and not warm and not final_factor:
            return self._pirls_single(theta, beta, eta)
        if self._nest is not None and not warm and not final_factor:
            if beta is not None:
                return self._pirls_nested(theta, beta, eta)
            st = self._pirls_nested_joint(theta, eta)
            if st is not None:
                return st
        xb = fixed = None
        if beta is not None:
            xb = self.X @ beta
            fixed = resp.offset + xb
        b_old = np.zeros(self.p) if beta is None else beta
        # the working pair at lp0, when the fused kernel gives it: every evaluation of a stage
        # restarts from the same lp0, so its pass is kept
        init = None
        if eta is self.lp0:
            if self._lp0_cache is None or self._lp0_cache[0] is not eta:
                self._lp0_cache = (eta, *resp.mu_dev_working(eta))
            mu, _, wz = self._lp0_cache[1:]
            init = (mu, wz)

        def solve(w: np.ndarray, z: np.ndarray) -> tuple:
            return self._solve(theta, w, z, beta, xb)[:4]

        def eta_of(u: np.ndarray, b: np.ndarray) -> np.ndarray:
            return self._eta(theta, u, b, fixed)

        if _pk is not None:  # the Cython loop, the family by kernel codes when fused
            if resp.fused and self._kresp is None:
                self._kresp = _pk.code_response(resp.fam_code, resp.link_code, resp.offset,
                                                resp.y, resp.weights)
            loop, response = _pk.pirls_general, (self._kresp if resp.fused else resp)
        else:
            loop, response = pwrss_reference, resp
        status, u, b, eta, mu, dr, ldL2, ldRX2, it, w = loop(
            response, solve, eta_of, eta, u_old, b_old, beta is None, init, tol, self.maxit)
        _check_kernel_status(status)
        bc = None
        ww = w  # lme4 keeps the factor of the last solve: weights before the final update
        if final_factor:
            # the factor at the converged weights: the Laplace approximation's log-determinant
            ww, zz = resp.working(eta, mu)
            cp = cross_products(self.terms, self.X0 if beta is not None else self.X,
                                zz if beta is None else zz - self.X @ b, ww)
            bc = BlockedCholesky(cp)
            ldL2, ldRX2, _ = bc.update(theta)
        return _PirlsState(u=u, beta=np.asarray(b, dtype=float), eta=eta, mu=mu, drsum=dr,
                           ussq=float(u @ u), ldL2=float(ldL2), ldRX2=float(ldRX2),
                           iterations=it, chol=bc, working_weights=ww)

    def _pirls_nested(self, theta: np.ndarray, beta: np.ndarray,
                      eta0: np.ndarray) -> _PirlsState:
        """``pirls`` for u alone with nested scalar terms: one kernel call (no dense block)."""
        resp = self.resp
        nodes, xs, anc, node_term = self._nest
        xb = self.X @ beta
        fixed = resp.offset + xb
        status, u, eta, mu, dr, ld, it, w = _pk.pirls_nested(
            resp.fam_code, resp.link_code, np.ascontiguousarray(theta, dtype=float), fixed, xb,
            resp.offset, np.ascontiguousarray(eta0, dtype=float), resp.y, resp.weights, nodes,
            xs, anc, node_term, self.q, float(self.tol), int(self.maxit))
        _check_kernel_status(status)
        return _PirlsState(u=u, beta=np.asarray(beta, dtype=float), eta=eta, mu=mu,
                           drsum=float(dr), ussq=float(u @ u), ldL2=float(ld), ldRX2=0.0,
                           iterations=int(it), chol=None, working_weights=w)

    def _pirls_nested_joint(self, theta: np.ndarray, eta0: np.ndarray) -> _PirlsState | None:
        """``pirls`` for u and β with nested scalar terms: one kernel call; None when R_X'R_X
        is not positive definite (the general code then handles it)."""
        resp = self.resp
        nodes, xs, anc, node_term = self._nest
        status, u, b, eta, mu, dr, ld, ldx, it, w = _pk.pirls_nested_joint(
            resp.fam_code, resp.link_code, np.ascontiguousarray(theta, dtype=float), resp.offset,
            np.ascontiguousarray(eta0, dtype=float), resp.y, resp.weights, nodes, xs, anc,
            node_term, self.X, self.q, float(self.tol), int(self.maxit))
        if status == 3:
            return None
        _check_kernel_status(status)
        return _PirlsState(u=u, beta=b, eta=eta, mu=mu, drsum=float(dr), ussq=float(u @ u),
                           ldL2=float(ld), ldRX2=float(ldx), iterations=int(it), chol=None,
                           working_weights=w)

    def _pirls_single(self, theta: np.ndarray, beta: np.ndarray,
                      eta0: np.ndarray) -> _PirlsState:
        """``pirls`` for u alone with one scalar term, binomial-logit or Poisson-log: the same
        loop in one kernel call (lmepy/kernels/pirls.pyx: pirls_single)."""
        resp = self.resp
        codes, rows = self._term_rows[0]
        xb = self.X @ beta
        fixed = resp.offset + xb
        status, u, eta, mu, dr, ld, it, w = _pk.pirls_single(
            resp.fam_code, resp.link_code, float(theta[0]), fixed, xb, resp.offset,
            np.ascontiguousarray(eta0, dtype=float), resp.y, resp.weights, codes,
            np.ascontiguousarray(rows[:, 0]), self.q, float(self.tol), int(self.maxit))
        _check_kernel_status(status)
        return _PirlsState(u=u, beta=np.asarray(beta, dtype=float), eta=eta, mu=mu,
                           drsum=float(dr), ussq=float(u @ u), ldL2=float(ld), ldRX2=0.0,
                           iterations=int(it), chol=None, working_weights=w)

    # deviance functions -------------------------------------------------------------------
    def laplace_value(self, st: _PirlsState) -> float:
        return self.resp.aic(st.mu, st.drsum) + st.ussq + st.ldL2

    def devfun0(self, theta: np.ndarray) -> float:
        """Stage 1 (nAGQ = 0): u and β by PIRLS, Laplace form, a function of θ."""
        try:
            st = self.pirls(theta, None)
        except PirlsError:
            return math.inf
        return self.laplace_value(st)

    def devfun(self, pars: np.ndarray, nAGQ: int = 1) -> float:
        """Stage 2: Laplace (nAGQ = 1) or adaptive Gauss-Hermite deviance at (θ, β)."""
        pars = np.asarray(pars, dtype=float)
        theta, beta = pars[: self.ntheta], pars[self.ntheta:]
        try:
            st = self.pirls(theta, beta)
        except PirlsError:
            if self.warm_u is None:
                return math.inf
            try:  # a far jump from the previous point: start again from lp0
                st = self.pirls(theta, beta, eta0=self.lp0)
            except PirlsError:
                return math.inf
        if self.warm_keep:
            self.warm_u = st.u
        if nAGQ <= 1:
            return self.laplace_value(st)
        return self.agq_value(st, theta, beta, nAGQ)

    def agq_value(self, st: _PirlsState, theta: np.ndarray, beta: np.ndarray,
                  nAGQ: int) -> float:
        """Adaptive Gauss-Hermite for one scalar term: each group's integral over its u_j,
        centred at the mode with scale 1/L_jj, replaces the group's Laplace factor."""
        t = self.terms[0]
        resp = self.resp
        m = t.nlevels
        codes = t.codes
        x = t.rows[:, 0]
        lam = float(theta[0])
        Ljj2 = 1.0 + lam * lam * np.bincount(codes, st.working_weights * x * x, minlength=m)
        sd = 1.0 / np.sqrt(Ljj2)
        fixed = resp.offset + self.X @ beta
        u0 = st.u
        dev0 = np.bincount(codes, resp.dev_resids(st.mu), minlength=m)
        g0 = dev0 + u0 * u0
        if nAGQ not in self._gh:
            self._gh[nAGQ] = gh_rule(nAGQ)
        z, w, _ = self._gh[nAGQ]
        base = st.drsum + st.ussq + st.ldL2
        if self._single_kernel:
            codes, rows = self._term_rows[0]
            return base - 2.0 * _gk.agq_log_mult(resp.fam_code, resp.link_code, lam, fixed,
                                                 rows[:, 0].copy(), codes, resp.y,
                                                 resp.weights, u0, sd, g0, z, w)
        mult = np.zeros(m)
        for zk, wk in zip(z, w, strict=True):
            if zk == 0.0:
                mult += wk
                continue
            uk = u0 + zk * sd
            eta_k = fixed + lam * x * uk[codes]
            devk = resp.group_dev(eta_k, codes, m)
            gk = devk + uk * uk
            mult += wk * np.exp(-0.5 * (gk - g0) + 0.5 * zk * zk)
        # lme4's AGQ objective is built on the deviance residuals (no saturated-model constant
        # of the family's aic), so its value is not comparable with the Laplace one
        return st.drsum + st.ussq + st.ldL2 - 2.0 * float(np.sum(np.log(mult)))
