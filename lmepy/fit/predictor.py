"""The predictor of a generalized linear mixed model (lme4's ``merPredD``): Z, X and Λ(θ), and
the penalized weighted least-squares solve of one PIRLS step for whichever block structure
the model has:

- one random-effects term and β fixed: level blocks solved in numpy (``_solve_u_single``);
- one scalar term, u and β together: one pass over the rows and the p x p Schur complement
  (glm_kernels.joint_single_solve, ``_solve_joint_single``);
- anything else: the blocked Cholesky of lmepy/fit/blocks.py, refilled for each weight
  vector by lmepy/fit/reweight.py (``_solve``), with a sparse-LU fallback (``_solve_plain``)
  when the response row's pivot cancels;
- nested scalar terms: the tree layout that the PIRLS kernel (lmepy/kernels/pirls.pyx) solves
  (``_nested_plan``).

The iteration that calls these solves is lmepy/fit/pirls.py; the response (μ, working
weights) is lmepy/fit/response.py.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from lmepy.design.types import CompiledModel, ReTerm, tril_colmajor
from lmepy.errors import DataError, LmepyError
from lmepy.fit.blocks import BlockedCholesky
from lmepy.fit.response import _Response
from lmepy.fit.reweight import Reweighter

try:  # Cython kernels; the numpy code below is the reference and the fallback
    from lmepy.kernels import glm_kernels as _gk
except ImportError:  # pragma: no cover - only when the extension is not built
    _gk = None


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


class GlmPredictor:
    """Z, X and the compact terms of one model with its response, and the penalized solve
    of a PIRLS step for its block structure (the PIRLS state lives in the subclass)."""

    def __init__(self, model: CompiledModel, resp: _Response, exact: bool = False):
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
        self.ntheta = int(sum(t.ntheta for t in self.terms))
        self._rw_joint: Reweighter | None = None  # [Z X] pattern, for (u, β) solves
        self._rw_u: Reweighter | None = None  # Z alone, for u solves at fixed β
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

    def _nested_plan(self) -> tuple | None:
        """For scalar terms nested in one another in lme4's order (each level of a term lies
        in one level of every later term: INDEX in BROOD in LOCATION), the arrays of
        the PIRLS kernels' tree predictor (lmepy/kernels/pirls.pyx: pirls_nested); None when
        the terms are not so nested."""
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
