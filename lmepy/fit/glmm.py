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

Each PIRLS step re-forms Λ'Z'WZΛ + I with the current working weights through the LMM core's
``cross_products`` / ``BlockedCholesky`` (lmepy/fit/blocks.py), so GLMMs and LMMs share one
factorization. Hot per-row loops (working weights, deviance residuals, quadrature sums, the
re-weighted cross-products, and, for one scalar term with binomial-logit or Poisson-log, the
whole PIRLS loop and the AGQ sum) are in ``lmepy/kernels/glm_kernels.pyx``; the numpy code here
is their reference and fallback (tests/test_glmer.py compares the two).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.polynomial.hermite_e import hermegauss

from lmepy.design.types import CompiledModel, ReTerm, tril_colmajor
from lmepy.errors import ConvergenceWarning, DataError, LmepyError, SingularFitWarning
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.family import Family, get_family
from lmepy.fit.optimize import bobyqa, deriv12
from lmepy.fit.reweight import Reweighter

try:  # OpenBLAS threads spin on busy machines; small dense factors run single-threaded
    from lmepy.kernels.blas_threads import limit_threads
except ImportError:  # pragma: no cover
    from contextlib import nullcontext

    def limit_threads(n: int | None) -> Any:  # type: ignore[misc]
        return nullcontext()

try:  # Cython kernels; the numpy code below is the reference and the fallback
    from lmepy.kernels import glm_family as _gf
    from lmepy.kernels import glm_kernels as _gk
    from lmepy.kernels import pirls as _pk
except ImportError:  # pragma: no cover - only when the extension is not built
    _gf = _gk = _pk = None

AGQ_SCALAR_ONLY = "nAGQ > 1 is only available for models with a single, scalar random-effects term"
# lme4 warns with this text and refits with lmer(); the API layer does that, the GLMM core refuses
GAUSSIAN_IDENTITY = ("calling glmer() with family=gaussian (identity link) as a shortcut to lmer() "
                     "is deprecated; please call lmer() directly")


class PirlsError(LmepyError, RuntimeError):
    """PIRLS could not reduce the penalized deviance (lme4's pwrssUpdate errors)."""


_HALVING_FAILED = "PIRLS step-halvings failed to reduce deviance in pwrssUpdate"
_NOT_CONVERGED = "pwrssUpdate did not converge in (maxit) iterations"


def _check_kernel_status(status: int) -> None:
    """The PIRLS kernels' status codes as lme4's errors (1: halving failed, 2: maxit)."""
    if status == 1:
        raise PirlsError(_HALVING_FAILED)
    if status == 2:
        raise PirlsError(_NOT_CONVERGED)


# ----------------------------------------------------------------------------------------------
# Gauss-Hermite rule


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lme4's ``GHrule(n)``: nodes z, weights w (summing to 1, for the standard normal) and
    log dnorm(z)."""
    if n < 1:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    z, w = hermegauss(n)
    w = w / w.sum()
    ldnorm = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
    return z, w, ldnorm


# ----------------------------------------------------------------------------------------------
# The response: y, prior weights, trials, offset, and the per-row GLM quantities


# the (family, link) pairs whose whole PIRLS loop runs in one kernel call (glm_kernels)
_FUSED = {("binomial", "logit"), ("poisson", "log")}


@dataclass(eq=False)
class _Response:
    """y, prior weights, trials and offset with the family: the per-row quantities (μ, working
    weights and response, deviance residuals, aic) through the one Cython family layer
    (lmepy/kernels/glm_family.pyx) or the family's numpy twin (lmepy/fit/family.py).

    The kernels serve the pairs they served before the layer was shared (binomial-logit and
    Poisson-log for μ and the working pair; binomial and Poisson for deviance residuals and
    aic); the other families keep the numpy twin, whose SIMD exp/log may differ from libm's
    in the last bit: routing them through the kernels moves the Gamma-log reference fit by
    1e-9 relative (bench/README.md), a change to make deliberately, not in passing."""

    family: Family
    y: np.ndarray
    weights: np.ndarray  # prior weights (times trials for binomial), as glm.fit's initialize
    n: np.ndarray
    offset: np.ndarray
    mustart: np.ndarray
    integer_y: bool = False  # the counts (trials x proportion, or Poisson y) are whole
    fam_code: int = -1  # the kernels' family code (glm_family.codes), -1: numpy twin
    link_code: int = -1
    fused: bool = False  # binomial-logit or Poisson-log: kernels for μ, working pair, PIRLS
    _aic_m: np.ndarray | None = None  # binomial aic's m (trials, or the weights for 0/1)

    def __post_init__(self) -> None:
        self.y = np.ascontiguousarray(self.y, dtype=float)
        self.weights = np.ascontiguousarray(self.weights, dtype=float)
        self.offset = np.ascontiguousarray(self.offset, dtype=float)
        self.n = np.ascontiguousarray(self.n, dtype=float)
        fam = self.family
        self.fam_code = self.link_code = -1
        if _gf is not None and _gk is not None:
            self.fam_code, self.link_code = _gf.codes(fam.family, fam.link)
        self.fused = self.fam_code >= 0 and (fam.family, fam.link) in _FUSED
        if self.family.family == "poisson":
            self.integer_y = bool(np.all(self.y == np.round(self.y)) and np.all(self.y >= 0))
        elif self.family.family == "binomial":
            self.integer_y = True  # R's aic rounds m y and m

    def working(self, eta: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PIRLS working weights and working response (without the offset)."""
        if self.fused:
            return _gf.working(self.fam_code, self.link_code, eta, mu, self.y, self.weights,
                               self.offset)
        fam = self.family
        mueta = fam.mu_eta(eta)
        var = fam.variance(mu)
        w = self.weights * mueta * mueta / var
        z = eta - self.offset + (self.y - mu) / mueta
        return w, z

    def mu_dev(self, eta: np.ndarray) -> tuple[np.ndarray, float]:
        """μ = linkinv(η) and the sum of deviance residuals."""
        if self.fused:
            return _gf.mu_dev(self.fam_code, self.link_code, eta, self.y, self.weights)
        mu = self.family.linkinv(eta)
        return mu, float(np.sum(self.dev_resids(mu)))

    def mu_dev_working(self, eta: np.ndarray) -> tuple[np.ndarray, float, Any]:
        """``mu_dev`` plus, when a kernel does both in one pass, the next working weights and
        response as a pair (else None: call ``working``)."""
        if self.fused:
            mu, dr, w, z = _gf.mu_dev_working(self.fam_code, self.link_code, eta, self.y,
                                              self.weights, self.offset)
            return mu, dr, (w, z)
        mu, dr = self.mu_dev(eta)
        return mu, dr, None

    def dev_resids(self, mu: np.ndarray) -> np.ndarray:
        if self.fam_code >= 0 and self.family.family in ("binomial", "poisson"):
            return _gf.dev_resids(self.fam_code, self.y, mu, self.weights)
        return self.family.dev_resids(self.y, mu, self.weights)

    def group_dev(self, eta: np.ndarray, codes: np.ndarray, m: int) -> np.ndarray:
        """Per-level sums of the deviance residuals at μ = linkinv(η)."""
        if self.fused:
            return _gf.group_dev(self.fam_code, self.link_code, eta, self.y, self.weights,
                                 np.ascontiguousarray(codes, dtype=np.int64), m)
        return np.bincount(codes, self.dev_resids(self.family.linkinv(eta)), minlength=m)

    def aic(self, mu: np.ndarray, dev: float) -> float:
        fam = self.family
        if self.fam_code >= 0 and self.integer_y:
            if fam.family == "binomial":
                if self._aic_m is None:
                    m = self.n if np.any(self.n > 1) else self.weights
                    self._aic_m = np.ascontiguousarray(m, dtype=float)
                return _gf.binomial_aic(self.y, self._aic_m, mu, self.weights)
            if fam.family == "poisson":
                return _gf.poisson_aic(self.y, mu, self.weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.family.aic(self.y, self.n, mu, self.weights, dev)


def _prepare_response(model: CompiledModel, family: Family, weights: np.ndarray | None,
                      offset: np.ndarray | None) -> _Response:
    nobs = model.n
    w = weights if weights is not None else model.weights
    off = model.offset
    if offset is not None:  # an offset argument adds to the formula's offset() terms
        extra = np.asarray(offset, dtype=float).reshape(-1)
        off = extra if off is None else np.asarray(off, dtype=float) + extra
    y = model.y
    if isinstance(y, (pd.Series, pd.DataFrame)):
        y = y.to_numpy() if not isinstance(getattr(y, "dtype", None), pd.CategoricalDtype) else y
    init = family.initialize(y, None if w is None else np.asarray(w, dtype=float))
    if np.unique(init.y).size < 2:  # lme4's checkResponse
        raise DataError("Response is constant")
    if off is None:
        off = np.zeros(nobs)
    off = np.asarray(off, dtype=float).reshape(-1)
    if off.shape[0] != nobs:
        raise DataError(f"number of offsets is {off.shape[0]}, should equal {nobs} "
                        "(number of observations)")
    if family.family == "poisson":
        yv = init.y
        bad = np.abs(yv - np.round(yv)) > 1e-7 * np.maximum(1.0, np.abs(yv))
        if np.any(bad):
            warnings.warn(f"non-integer x = {yv[bad][0]:.6f}", UserWarning, stacklevel=3)
    return _Response(family, init.y, init.weights, init.n, off, init.mustart)


# ----------------------------------------------------------------------------------------------
# Λ and Z Λ u from the compact terms


def _group_sums(codes: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    if _gk is not None:
        return _gk.group_sums(np.ascontiguousarray(codes, dtype=np.int64),
                              np.ascontiguousarray(x, dtype=float), m)
    return np.bincount(codes, weights=x, minlength=m)


def _term_factors(terms: list[ReTerm], theta: np.ndarray) -> list[np.ndarray]:
    """Each term's k x k lower-triangular factor from θ (column-wise lower triangle)."""
    out, pos = [], 0
    for t in terms:
        k = len(t.cnms)
        T = np.zeros((k, k))
        i, j = tril_colmajor(k)
        nt = len(i)
        T[i, j] = theta[pos: pos + nt]
        out.append(T)
        pos += nt
    return out


def _b_from_u(terms: list[ReTerm], factors: list[np.ndarray], u: np.ndarray) -> list[np.ndarray]:
    """b = Λu per term as (nlevels, k)."""
    out, pos = [], 0
    for t, T in zip(terms, factors, strict=True):
        ut = u[pos: pos + t.q].reshape(t.nlevels, t.k)
        out.append(ut @ T.T)
        pos += t.q
    return out


def _zb(terms: list[ReTerm], blist: list[np.ndarray]) -> np.ndarray:
    """Z b, row by row, from the compact terms."""
    n = terms[0].codes.shape[0]
    out = np.zeros(n)
    for t, b in zip(terms, blist, strict=True):
        if t.k == 1:
            out += t.rows[:, 0] * b[t.codes, 0]
        else:
            out += np.einsum("ij,ij->i", t.rows, b[t.codes])
    return out


# ----------------------------------------------------------------------------------------------
# PIRLS


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


class _Glmm:
    """The model with its response, for repeated evaluation of the deviance functions."""

    def __init__(self, model: CompiledModel, resp: _Response, tol: float = 1e-7,
                 maxit: int = 100, exact: bool = False):
        self.exact = exact
        self.model = model
        self.resp = resp
        self.terms = model.reTrms.terms
        if not self.terms:
            raise DataError("No random effects terms specified in formula")
        self.X = np.ascontiguousarray(np.asarray(model.X, dtype=float))
        self.N, self.p = self.X.shape
        self.X0 = np.zeros((self.N, 0))
        self.q = int(sum(t.q for t in self.terms))
        self.tol = tol
        self.maxit = maxit
        self.lp0: np.ndarray = resp.family.linkfun(resp.mustart)
        self.ntheta = int(sum(t.ntheta for t in self.terms))
        self._rw_joint: Reweighter | None = None  # [Z X] pattern, for (u, β) solves
        self._rw_u: Reweighter | None = None  # Z alone, for u solves at fixed β
        # stage 2 inside fit_glmm: PIRLS starts from the previous evaluation's u (as lme4's
        # pp$u0 carries over), so one or two Newton steps reach a tight tolerance
        self.warm_u: np.ndarray | None = None
        # one scalar term with a fused family: the single-term PIRLS and AGQ kernels
        self._single_kernel = resp.fused and len(self.terms) == 1 and self.terms[0].k == 1
        self._gh: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._lp0_cache: tuple | None = None  # (lp0, μ, drsum, working pair) at lp0
        self._nest = self._nested_plan()  # nested scalar terms: the tree PIRLS kernel
        # all terms scalar: Z as a sparse N x q matrix and each u's θ index, for Z Λ u
        self._zs: sp.csr_matrix | None = None
        if all(t.k == 1 for t in self.terms):
            zc, zv, th = [], [], []
            off = 0
            for i, t in enumerate(self.terms):
                zc.append(off + np.asarray(t.codes, dtype=np.int64))
                zv.append(np.asarray(t.rows[:, 0], dtype=float))
                th.append(np.full(t.nlevels, i, dtype=np.int64))
                off += t.q
            rr = np.tile(np.arange(self.N), len(self.terms))
            self._zs = sp.csr_matrix((np.concatenate(zv), (rr, np.concatenate(zc))),
                                     shape=(self.N, off))
            self._theta_of_u = np.concatenate(th)
        self._jx: sp.csr_matrix | None = None  # one scalar term: level x row, entries x
        if len(self.terms) == 1 and self.terms[0].k == 1 and self.p > 0:
            t0 = self.terms[0]
            self._x1 = np.ascontiguousarray(t0.rows[:, 0], dtype=float)
            self._jx = sp.csr_matrix((self._x1, (np.asarray(t0.codes, dtype=np.int64),
                                                 np.arange(self.N))),
                                     shape=(t0.nlevels, self.N))
        self._term_rows = [(np.ascontiguousarray(t.codes, dtype=np.int64),
                            np.ascontiguousarray(t.rows, dtype=float)) for t in self.terms]
        self.tol2: float | None = None  # stage-2 tolerance while optimizing (None: tol)
        self.warm_keep = False  # devfun stores each evaluation's u as the next start

    # one PWLS solve with the given working weights and response
    def _solve_u_single(self, theta: np.ndarray, w: np.ndarray,
                        r: np.ndarray) -> tuple[np.ndarray, float]:
        """u alone for one random-effects term: (T'A_jT + I) u_j = T'c_j per level, where
        A_j = Σ w x x' and c_j = Σ w x r over the level's rows; returns (u, log|L|²)."""
        t = self.terms[0]
        k, m = t.k, t.nlevels
        T = _term_factors(self.terms, theta)[0]
        codes, X = t.codes, t.rows
        if k == 1:
            x = X[:, 0]
            a = _group_sums(codes, w * x * x, m)
            c = _group_sums(codes, w * x * r, m)
            lam = T[0, 0]
            d = lam * lam * a + 1.0
            return lam * c / d, float(np.sum(np.log(d)))
        A = np.empty((m, k, k))
        for i in range(k):
            for j in range(i + 1):
                A[:, i, j] = A[:, j, i] = _group_sums(codes, w * X[:, i] * X[:, j], m)
        C = np.column_stack([_group_sums(codes, w * X[:, i] * r, m) for i in range(k)])
        M = np.einsum("ai,mab,bj->mij", T, A, T) + np.eye(k)
        Lc = np.linalg.cholesky(M)
        rhs = C @ T  # rows: T' c_j
        u = np.linalg.solve(M, rhs[:, :, None])[:, :, 0]
        ld = 2.0 * float(np.sum(np.log(np.diagonal(Lc, axis1=1, axis2=2))))
        return u.reshape(-1), ld

    def _solve(self, theta: np.ndarray, w: np.ndarray, z: np.ndarray,
               beta: np.ndarray | None, xb: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, float, float, BlockedCholesky | None]:
        if beta is not None and xb is None:
            xb = self.X @ beta
        if beta is not None and len(self.terms) == 1:
            try:
                u, ld = self._solve_u_single(theta, w, z - xb)
            except np.linalg.LinAlgError as e:
                raise PirlsError("Downdated VtV is not positive definite") from e
            return u, beta, ld, 0.0, None
        if beta is None and self._jx is not None:
            try:
                u, b, ldL2, ldRX2 = self._solve_joint_single(theta, w, z)
            except np.linalg.LinAlgError:
                u = None
            if u is not None and np.all(np.isfinite(u)) and np.all(np.isfinite(b)):
                return u, b, ldL2, ldRX2, None
        if beta is None:
            if self._rw_joint is None:
                self._rw_joint = Reweighter(self.terms, self.X)
            rw = self._rw_joint
            bc = rw.refill(w, z)
        else:
            if self._rw_u is None:
                self._rw_u = Reweighter(self.terms, self.X0)
            rw = self._rw_u
            bc = rw.refill(w, z - xb)
        ldL2, ldRX2, _ = bc.update(theta)
        if np.isfinite(ldL2) and np.isfinite(ldRX2):
            u, b = rw.solve()
            if np.all(np.isfinite(u)) and np.all(np.isfinite(b)):
                return u, (b if beta is None else beta), ldL2, ldRX2, bc
        # the augmented factor also factors the response row, whose pivot (the penalized
        # residual sum of squares) can cancel to <= 0 for extreme working responses; solve
        # without it
        u, b, ldL2, ldRX2 = self._solve_plain(theta, w, z, beta)
        return u, (b if beta is None else beta), ldL2, ldRX2, None

    def _solve_joint_single(self, theta: np.ndarray, w: np.ndarray,
                            z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(u, β) for one scalar term: the level blocks of Λ'Z'WZΛ + I are scalars d_j, so
        β solves the p x p Schur complement S = X'WX - Σ_j λ² B_j B_j' / d_j (B_j the level's
        Σ w x X) and u_j = λ (c_j - B_j β) / d_j; log|L|² = Σ log d_j, log|R_X|² = log|S|."""
        lam = float(theta[0])
        if _gk is not None:
            codes, rows = self._term_rows[0]
            u, beta, ld, ldx, ok = _gk.joint_single_solve(
                lam, np.ascontiguousarray(w, dtype=float), np.ascontiguousarray(z, dtype=float),
                self._x1, codes, self.X, self.q)
            if not ok:
                raise np.linalg.LinAlgError("Schur complement not positive definite")
            return u, beta, float(ld), float(ldx)
        X, Jx = self.X, self._jx
        wX = X * w[:, None]
        a = Jx @ (w * self._x1)
        B = Jx @ wX
        c = Jx @ (w * z)
        lam2 = lam * lam
        d = lam2 * a + 1.0
        BD = B * (lam2 / d)[:, None]
        S = X.T @ wX - B.T @ BD
        rhs = wX.T @ z - BD.T @ c
        Lc = np.linalg.cholesky(S)
        beta = sla.cho_solve((Lc, True), rhs, check_finite=False)
        u = lam * (c - B @ beta) / d
        return (u, beta, float(np.sum(np.log(d))),
                2.0 * float(np.sum(np.log(np.diagonal(Lc)))))

    def _solve_plain(self, theta: np.ndarray, w: np.ndarray, z: np.ndarray,
                     beta: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The penalized weighted least squares by sparse LU, without the response row."""
        from scipy.sparse.linalg import splu

        factors = _term_factors(self.terms, theta)
        Lt = sp.block_diag([sp.kron(sp.identity(t.nlevels), T.T)
                            for t, T in zip(self.terms, factors, strict=True)], format="csc")
        LtZt = (Lt @ self.model.reTrms.Zt).tocsr()
        W = sp.diags(w)
        r = z if beta is None else z - self.X @ beta
        M = (LtZt @ W @ LtZt.T + sp.identity(self.q)).tocsc()
        try:
            lu = splu(M)
        except RuntimeError as e:
            raise PirlsError("Downdated VtV is not positive definite") from e
        diag = lu.U.diagonal()
        if np.any(diag <= 0):
            raise PirlsError("Downdated VtV is not positive definite")
        ldL2 = float(np.sum(np.log(diag)))
        cu = LtZt @ (w * r)
        if beta is not None or self.p == 0:
            return lu.solve(cu), np.zeros(0), ldL2, 0.0
        # β from the Schur complement X'WX - X'WZΛ M⁻¹ Λ'Z'WX, then u
        XtW = (self.X * w[:, None]).T
        B = np.asarray(LtZt @ (w[:, None] * self.X))  # Λ'Z'WX, q x p
        MiB = lu.solve(B)
        S = XtW @ self.X - B.T @ MiB
        Sc = np.linalg.cholesky(S)
        b = np.linalg.solve(S, XtW @ r - MiB.T @ cu)
        u = lu.solve(cu - B @ b)
        ldRX2 = 2.0 * float(np.sum(np.log(np.diag(Sc))))
        return u, b, ldL2, ldRX2

    def _eta(self, theta: np.ndarray, u: np.ndarray, beta: np.ndarray,
             fixed: np.ndarray | None = None) -> np.ndarray:
        """η = offset + Xβ + ZΛu (``fixed``: offset + Xβ when already known)."""
        base = self.resp.offset + self.X @ beta if fixed is None else fixed
        if self._zs is not None:  # scalar terms: Z (Λu) as one sparse product
            return base + self._zs @ (theta[self._theta_of_u] * u)
        f = _term_factors(self.terms, theta)
        if _gk is None:
            return base + _zb(self.terms, _b_from_u(self.terms, f, u))
        out = base.copy()
        for (codes, rows), b in zip(self._term_rows, _b_from_u(self.terms, f, u), strict=True):
            _gk.add_term_eta(out, codes, rows, np.ascontiguousarray(b))
        return out

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
        # the working pair at the current η, when the fused kernel gives it; every evaluation
        # of a stage restarts from the same lp0, so its pass is kept
        if eta is self.lp0:
            if self._lp0_cache is None or self._lp0_cache[0] is not eta:
                self._lp0_cache = (eta, *resp.mu_dev_working(eta))
            mu, _, wz = self._lp0_cache[1:]
        else:
            mu, _, wz = resp.mu_dev_working(eta)
        oldpdev = np.finfo(float).max
        b_old = np.zeros(self.p) if beta is None else beta
        cvgd = False
        it = 0
        ldL2 = ldRX2 = math.nan
        w = None
        xb = fixed = None
        if beta is not None:
            xb = self.X @ beta
            fixed = resp.offset + xb
        for it in range(1, self.maxit + 1):  # noqa: B007
            w, z = wz if wz is not None else resp.working(eta, mu)
            u, b, ldL2, ldRX2, _ = self._solve(theta, w, z, beta, xb)
            eta = self._eta(theta, u, b, fixed)
            mu, dr, wz = resp.mu_dev_working(eta)
            pdev = dr + float(u @ u)
            if abs((oldpdev - pdev) / pdev) < tol:
                cvgd = True
                break
            if not np.isfinite(pdev) or pdev > oldpdev:
                for _ in range(10):
                    u = 0.5 * (u_old + u)
                    if beta is None:
                        b = 0.5 * (b_old + b)
                    eta = self._eta(theta, u, b, fixed)
                    mu, dr, wz = resp.mu_dev_working(eta)
                    pdev = dr + float(u @ u)
                    if np.isfinite(pdev) and pdev <= oldpdev:
                        break
                if not np.isfinite(pdev) or (pdev - oldpdev) > tol * abs(oldpdev):
                    raise PirlsError(_HALVING_FAILED)
                if abs((oldpdev - pdev) / pdev) < tol:
                    cvgd = True
                    break
            oldpdev = pdev
            u_old, b_old = u, b
        if not cvgd:
            raise PirlsError(_NOT_CONVERGED)
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

    def _nested_plan(self) -> tuple | None:
        """For scalar terms nested in one another in lme4's order (each level of a term lies
        in one level of every later term: INDEX in BROOD in LOCATION), the arrays of
        glm_kernels.pirls_nested; None when the terms are not so nested."""
        terms = self.terms
        T = len(terms)
        if T < 2 or not self.resp.fused or any(t.k != 1 for t in terms):
            return None
        offs = np.concatenate([[0], np.cumsum([t.q for t in terms])]).astype(np.int64)
        codes = [np.asarray(t.codes, dtype=np.int64) for t in terms]
        anc = np.full((int(offs[-1]), T - 1), -1, dtype=np.int64)
        for t in range(T - 1):
            for s_ in range(t + 1, T):
                lv = np.full(terms[t].nlevels, -1, dtype=np.int64)
                lv[codes[t]] = codes[s_]
                if not np.array_equal(lv[codes[t]], codes[s_]):
                    return None
                anc[offs[t]: offs[t + 1], s_ - t - 1] = np.where(lv >= 0, offs[s_] + lv, -1)
        nodes = np.ascontiguousarray(np.stack([offs[t] + codes[t] for t in range(T)]))
        xs = np.ascontiguousarray(np.stack([np.asarray(t.rows[:, 0], dtype=float)
                                            for t in terms]))
        node_term = np.repeat(np.arange(T, dtype=np.int64), [t.q for t in terms])
        return nodes, xs, anc, node_term

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
        loop in one kernel call (glm_kernels.pirls_single)."""
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
    if len(pars) > ntheta:
        m = _check_hess(H[ntheta:, ntheta:], tol_hess, "fixed-effect")
        if m:
            out.append(";".join(m))
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
    with limit_threads(_threads(model, control)):
        return _fit_glmm(model, family, nAGQ, weights, offset, control)


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
    theta0 = np.asarray(control.get("theta0", model.reTrms.theta0), dtype=float)
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
            warnings.warn(mtxt, cls, stacklevel=2)

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
            warnings.warn("variance-covariance matrix computed from finite-difference Hessian "
                          "is\nnot positive definite or contains NA values: falling back to "
                          "var-cov estimated from RX", ConvergenceWarning, stacklevel=2)
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
    control = dict(control or {})
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
