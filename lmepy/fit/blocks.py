"""Cross-products of the mixed model, formed once, and their blocked Cholesky factor.

An objective evaluation never touches the N data rows: ``cross_products`` reduces the rows to
the blocks of [Z X y]'W[Z X y] once, and ``BlockedCholesky`` re-factors
Λ'Z'WZΛ + I together with the X and y rows for each θ in O(levels * k^3) for the first term
plus one dense Cholesky of the remaining rows (later terms, X, y).

The GLMM code (PIRLS) re-forms the blocks with new working weights and working response at
each iteration by calling ``cross_products(terms, X, z, w)`` again and reuses
``BlockedCholesky`` for the factor and the solves; prior weights of an LMM go through the same
argument. To solve for u alone (β fixed), pass ``X`` with zero columns and ``y - Xβ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from lmepy.design.types import ReTerm, tril_colmajor
from lmepy.kernels import blocked as _k
from lmepy.kernels.transient import Transient

_MAX_DENSE = 20000  # rows of the dense block (later terms + X + y) we agree to allocate
_dtrtrs = sla.get_lapack_funcs("trtrs", dtype=np.float64)



def _trsolve(L: np.ndarray, b: np.ndarray, trans: bool = False) -> np.ndarray:
    """Solve L x = b (or L' x = b) with L's lower triangle: LAPACK dtrtrs directly (scipy's
    solve_triangular costs more than the solve itself on small systems)."""
    x, info = _dtrtrs(L, b, lower=1, trans=1 if trans else 0)
    if info != 0:
        raise np.linalg.LinAlgError(f"singular triangular factor (dtrtrs info {info})")
    return x


@dataclass(eq=False)
class CrossProducts:
    """The blocks of the weighted augmented cross-product matrix, before Λ is applied.

    Rows/columns are ordered [term 1 (q1), later terms (q2), X (p), y (1)]; ``r = q2 + p + 1``
    is the size of the dense part. ``A11`` (m1, k1, k1) is term 1's block diagonal;
    ``V[ptr[j]:ptr[j+1]]`` (rows ``idx``, ascending, in 0..r-1) is the column block of
    level j of term 1 against the dense part; ``Arr`` is the dense part (Fortran, symmetric).
    """

    terms: list[ReTerm]
    n: int
    p: int
    A11: np.ndarray
    ptr: np.ndarray
    idx: np.ndarray
    V: np.ndarray
    Arr: np.ndarray
    offsets: np.ndarray  # start of each term in Zt row order (len T+1)

    @property
    def k1(self) -> int:
        return self.terms[0].k

    @property
    def m1(self) -> int:
        return self.terms[0].nlevels

    @property
    def q1(self) -> int:
        return self.m1 * self.k1

    @property
    def r(self) -> int:
        return int(self.Arr.shape[0])

    @property
    def q2(self) -> int:
        return self.r - self.p - 1


def _bincount(keys: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(keys, weights=weights, minlength=size)[:size]


def cross_products(terms: list[ReTerm], X: np.ndarray, y: np.ndarray,
                   weights: np.ndarray | None = None) -> CrossProducts:
    """Reduce the N rows to the blocks of [Z X y]'W[Z X y] (W = diag(weights)).

    ``terms`` in lme4's order (the first has the most levels), ``X`` (N, p), ``y`` (N,) with
    any offset already subtracted, ``weights`` row weights (prior or working) or None.
    """
    if not terms:
        raise ValueError("no random effects terms specified")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        X = X.reshape(len(X), -1)
    y = np.asarray(y, dtype=float).reshape(-1)
    n, p = X.shape
    sw = None if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    XY = np.column_stack([X, y])
    if sw is not None:
        XY = XY * sw[:, None]
    rows = [np.asarray(t.rows, dtype=float) if sw is None
            else np.asarray(t.rows, dtype=float) * sw[:, None] for t in terms]
    codes = [np.asarray(t.codes, dtype=np.int64) for t in terms]

    t1 = terms[0]
    m1, k1 = t1.nlevels, t1.k
    r1, c1 = rows[0], codes[0]
    later = list(range(1, len(terms)))
    q2 = int(sum(terms[t].q for t in later))
    r = q2 + p + 1
    if r > _MAX_DENSE:
        raise MemoryError(
            f"the dense part of the blocked factor would have {r} rows (later random-effect "
            f"terms + fixed effects); lmepy supports at most {_MAX_DENSE}")
    zoff = np.cumsum([0] + [terms[t].q for t in later])  # offsets of later terms in the rest

    # first block: m1 blocks of k1 x k1
    A11 = np.empty((m1, k1, k1))
    for a in range(k1):
        for b in range(a + 1):
            v = _bincount(c1, r1[:, a] * r1[:, b], m1)
            A11[:, a, b] = v
            A11[:, b, a] = v

    # term 1 against the later terms: sparse by level of term 1
    keys_z, vals_z = [], []
    for ti, t in enumerate(later):
        kt = terms[t].k
        for b in range(kt):
            col = zoff[ti] + codes[t] * kt + b
            keys_z.append(c1 * r + col)
            vals_z.append(rows[t][:, b])
    if keys_z:
        allk = np.concatenate(keys_z)
        ukeys, inv = np.unique(allk, return_inverse=True)
        allrow = np.concatenate(vals_z)
        rep1 = np.concatenate([r1] * len(keys_z)) if len(keys_z) > 1 else r1
        Vz = np.empty((len(ukeys), k1))
        for a in range(k1):
            Vz[:, a] = _bincount(inv, allrow * rep1[:, a], len(ukeys))
    else:
        ukeys = np.zeros(0, dtype=np.int64)
        Vz = np.zeros((0, k1))
    # term 1 against X and y: dense per level
    Vxy = np.empty((m1, p + 1, k1))
    for a in range(k1):
        for c in range(p + 1):
            Vxy[:, c, a] = _bincount(c1, r1[:, a] * XY[:, c], m1)
    keys_xy = (np.arange(m1, dtype=np.int64)[:, None] * r + q2
               + np.arange(p + 1, dtype=np.int64)[None, :]).ravel()
    allkeys = np.concatenate([ukeys, keys_xy])
    order = np.argsort(allkeys, kind="stable")
    allkeys = allkeys[order]
    V = np.ascontiguousarray(np.concatenate([Vz, Vxy.reshape(-1, k1)])[order])
    lev = allkeys // r
    idx = np.ascontiguousarray(allkeys - lev * r, dtype=np.int64)
    ptr = np.zeros(m1 + 1, dtype=np.int64)
    np.cumsum(np.bincount(lev, minlength=m1), out=ptr[1:])

    # the dense part: later terms, X, y
    Arr = np.zeros((r, r), order="F")
    if q2:
        zk, zv = [], []
        for ti, t in enumerate(later):
            kt = terms[t].k
            for b in range(kt):
                zk.append(zoff[ti] + codes[t] * kt + b)
                zv.append(rows[t][:, b])
        nn = len(zk)
        keys, vals = [], []
        for i in range(nn):
            for j in range(i + 1):
                ki, kj = zk[i], zk[j]
                hi = np.maximum(ki, kj)
                lo = np.minimum(ki, kj)
                keys.append(hi * q2 + lo)
                vals.append(zv[i] * zv[j])
        zz = _bincount(np.concatenate(keys), np.concatenate(vals), q2 * q2).reshape(q2, q2)
        # rows hold the lower triangle (hi, lo); symmetrize
        zz = np.tril(zz)
        zz = zz + np.tril(zz, -1).T
        Arr[:q2, :q2] = zz
        for c in range(p + 1):
            colv = np.zeros(q2)
            for i in range(nn):
                colv += _bincount(zk[i], zv[i] * XY[:, c], q2)
            Arr[q2 + c, :q2] = colv
            Arr[:q2, q2 + c] = colv
    Arr[q2:, q2:] = XY.T @ XY

    offsets = np.concatenate([[0], np.cumsum([t.q for t in terms])]).astype(np.int64)
    return CrossProducts(terms=list(terms), n=n, p=p, A11=np.ascontiguousarray(A11), ptr=ptr,
                         idx=idx, V=V, Arr=Arr, offsets=offsets)


class BlockedCholesky(Transient):
    """The blocked factor L of [ΛZ X y]'W[ZΛ X y] + diag(I, 0, 0) for one θ at a time.

    ``update(theta)`` returns (ldL2, ldRX2, pwrss) in one kernel call; ``solve()`` then gives
    the spherical modes u and β; ``vcov_unscaled()`` gives (R_X'R_X)^{-1};
    ``condvar_u()`` the diagonal blocks of (Λ'Z'WZΛ + I)^{-1} per term and level.

    The compiled evaluator and the view T1 of Tflat are transient: a pickled or copied factor
    rebuilds them from its arrays on first use (lmepy.kernels.transient).
    """

    _transient = ("T1", "_args", "_evaluator", "_run")

    def __init__(self, cp: CrossProducts, downdate: str = "auto"):
        """downdate: how term 1's contribution is subtracted from the dense part: "sparse"
        (scatter per level; levels with few rows each), "dense" (BLAS dsyrk over chunks of
        levels; many rows per level), or "auto" (a cost estimate picks)."""
        self.cp = cp
        terms = cp.terms
        self.k1 = cp.k1
        r = cp.r
        # Tflat: every term's factor (column-major), then a 1.0 for the X and y rows
        toffs = np.concatenate([[0], np.cumsum([t.k * t.k for t in terms])]).astype(np.int64)
        self.Tflat = np.zeros(int(toffs[-1]) + 1)
        self.Tflat[-1] = 1.0
        self._toffs = toffs
        tpos = []
        for t, off in zip(terms, toffs[:-1], strict=False):
            i, j = tril_colmajor(t.k)
            tpos.append(off + i + j * t.k)
        self.tpos = np.concatenate(tpos).astype(np.int64)
        self.ntheta = len(self.tpos)
        blk = np.arange(r, dtype=np.int64)
        cmp = np.zeros(r, dtype=np.int64)
        kk = np.ones(r, dtype=np.int64)
        toff = np.full(r, len(self.Tflat) - 1, dtype=np.int64)
        pos = 0
        for ti, t in enumerate(terms[1:], start=1):
            a = np.arange(t.q)
            blk[pos:pos + t.q] = pos + (a // t.k) * t.k
            cmp[pos:pos + t.q] = a % t.k
            kk[pos:pos + t.q] = t.k
            toff[pos:pos + t.q] = toffs[ti]
            pos += t.q
        self.blk, self.cmp, self.kk, self.toff = blk, cmp, kk, toff
        self.L = np.zeros((cp.m1, self.k1, self.k1))
        self.S = np.zeros((r, r), order="F")
        self.F = np.zeros((r, r), order="F")
        maxblk = int(np.max(np.diff(cp.ptr))) if cp.m1 else 0
        self.D = np.zeros((max(maxblk, 1), self.k1))
        self.scalar_rest = bool(np.all(kk == 1))
        if self.scalar_rest:
            self.S = np.zeros((1, 1), order="F")  # not used
        self.lam = np.ones(r)
        nj = np.diff(cp.ptr).astype(float)
        sparse_cost = 1.5 * float(np.sum(nj * nj)) * self.k1 / 2  # ns, scattered updates
        dense_cost = 0.06 * r * r * cp.q1 / 2  # ns, dsyrk multiply-adds
        if downdate == "auto":
            downdate = "dense" if dense_cost < sparse_cost else "sparse"
        if downdate not in ("sparse", "dense"):
            raise ValueError(f"downdate must be 'auto', 'sparse' or 'dense', not {downdate!r}")
        self.downdate = downdate
        chunk = max(1, 256 // self.k1)
        self.buf = (np.zeros((r, chunk * self.k1), order="F") if downdate == "dense"
                    else np.zeros((1, 1), order="F"))
        self._threads = 1
        self._bind()

    def _bind(self) -> None:
        """The compiled evaluator over this factor's arrays (and T1, a view of Tflat)."""
        cp = self.cp
        self.T1 = self.Tflat[: self.k1 * self.k1].reshape(self.k1, self.k1, order="F")
        self._args = (cp.A11, cp.ptr, cp.idx, cp.V, cp.Arr, self.Tflat, self.T1, self.blk,
                      self.cmp, self.kk, self.toff, cp.q2, cp.p, self.L, self.S, self.F, self.D,
                      self.lam, self.scalar_rest, self.buf, self.downdate == "dense")
        self._evaluator = _k.Evaluator(*self._args, self.tpos)
        self._evaluator.nthreads = self._threads
        self._run = self._evaluator.run

    @property
    def threads(self) -> int:
        """OpenMP threads of the dense factor in ``update`` (the result does not depend on
        them; OpenBLAS must run one thread meanwhile, see lmepy.kernels.blocked.potrf_lower)."""
        return int(self._threads)

    @threads.setter
    def threads(self, n: int) -> None:
        self._threads = max(1, int(n))
        self._evaluator.nthreads = self._threads

    def update(self, theta: np.ndarray) -> tuple[float, float, float]:
        """Factor at θ; returns (ldL2, ldRX2, pwrss), nan when not positive definite."""
        ld, ldx, pw, info = self._run(np.ascontiguousarray(theta, dtype=float))
        return ld, ldx, pw

    # ---- quantities at the current θ (after update) -------------------------------------
    def _offdiag_compact(self) -> np.ndarray:
        """D (nnz x k1): term 1's column blocks of the factor before the rows are scaled by
        Λ of the dense part (the factor's block is Λr' D)."""
        cp = self.cp
        Dk = np.zeros_like(cp.V)
        _k.downdate_rest(cp.ptr, cp.idx, cp.V, self.T1, self.L, np.zeros((1, 1), order="F"),
                         Dk, np.ones(cp.r), True)
        return Dk

    def _apply_lambda_rest(self, z: np.ndarray, transpose: bool = False) -> np.ndarray:
        """Λr z (or Λr' z) for a vector over the dense part's rows."""
        z = np.array(z, dtype=float)
        pos = 0
        for i, t in enumerate(self.cp.terms[1:], start=1):
            T = self.factor(i)
            blk = z[pos: pos + t.q].reshape(t.nlevels, t.k)
            z[pos: pos + t.q] = (blk @ (T if transpose else T.T)).reshape(-1)
            pos += t.q
        return z

    def factor(self, i: int) -> np.ndarray:
        """Term i's k x k lower-triangular factor (Λ's diagonal block) at the current θ."""
        t = self.cp.terms[i]
        off = self._toffs[i]
        return self.Tflat[off: off + t.k * t.k].reshape(t.k, t.k, order="F").copy()

    def Lambdat(self) -> sp.csc_matrix:
        """lme4's Lambdat: the transpose of Λ, q x q, with every θ position stored."""
        rows, cols, vals = [], [], []
        off = 0
        for i, t in enumerate(self.cp.terms):
            T = self.factor(i)
            a, b = np.triu_indices(t.k)  # Lambdat block T' is upper triangular
            base = off + np.arange(t.nlevels)[:, None] * t.k
            rows.append((base + a[None, :]).ravel())
            cols.append((base + b[None, :]).ravel())
            vals.append(np.tile(T[b, a], t.nlevels))
            off += t.q
        q = off
        return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(q, q))

    def solve(self, refine: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(u, β) at the current θ: u in Zt row order.

        The factor's last row gives the solution directly; ``refine`` steps of iterative
        refinement against the cross-products then remove its rounding (so, e.g., β of a
        balanced one-way model is the data mean to the last bit, as lme4 prints it).
        """
        cp = self.cp
        q2, r = cp.q2, cp.r
        F = self.F
        if r > 1:
            v = _trsolve(F[: r - 1, : r - 1], F[r - 1, : r - 1], trans=True)
        else:
            v = np.zeros(0)
        # u1_j = L_j^{-T} (c_y,j - C_j' v) with C_j = Λr' D_j: C_j' [v; -1] = D_j' Λr [v; -1]
        z = self._apply_lambda_rest(np.concatenate([v, [-1.0]]))
        Dk = self._offdiag_compact()
        w = -np.add.reduceat(Dk * z[cp.idx][:, None], cp.ptr[:-1], axis=0)
        Lt = np.transpose(self.L, (0, 2, 1))
        u1 = np.linalg.solve(Lt, w.reshape(cp.m1, self.k1, 1)).reshape(-1)
        for _ in range(refine):
            res1, resr = self._residual(u1, v)
            d1, dr = self._solve_system(-res1, -resr, Dk)
            u1 = u1 + d1
            v = v + dr
        return np.concatenate([u1, v[:q2]]), v[q2:]

    def _residual(self, u1: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """M [u1; v; -1] without the y row: the residual of the penalized normal equations,
        computed from the cross-products (M = Λ̃'[Z X y]'W[Z X y]Λ̃ + diag(I, 0))."""
        cp = self.cp
        k1, m1 = self.k1, cp.m1
        T1 = self.T1
        zr = self._apply_lambda_rest(np.concatenate([v, [-1.0]]))  # Λr [v; -1]
        U = u1.reshape(m1, k1)
        TU = U @ T1.T  # rows T1 u1_j
        # term-1 rows: T1'(A11_j T1 u_j + V_j' zr[idx_j]) + u_j
        lev_sum = np.add.reduceat(cp.V * zr[cp.idx][:, None], cp.ptr[:-1], axis=0)
        r1 = (np.einsum("jab,jb->ja", cp.A11, TU) + lev_sum) @ T1 + U
        # dense rows: Λr'(A21 T1 u1 + Arr zr) + zr's I part
        lev = np.repeat(np.arange(m1), np.diff(cp.ptr))
        a21 = np.bincount(cp.idx, weights=np.einsum("ea,ea->e", cp.V, TU[lev]),
                          minlength=cp.r)
        rr = self._apply_lambda_rest(a21 + cp.Arr @ zr, transpose=True)
        rr[: cp.q2] += np.concatenate([v, [-1.0]])[: cp.q2]
        return r1.reshape(-1), rr[: cp.r - 1]

    def _solve_system(self, b1: np.ndarray, br: np.ndarray,
                      Dk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve M[:-1, :-1] [x1; xr] = [b1; br] with the blocked factor."""
        cp = self.cp
        k1, m1, r = self.k1, cp.m1, cp.r
        Lrr = self.F[: r - 1, : r - 1]
        keep = cp.idx < r - 1
        lev = np.repeat(np.arange(m1), np.diff(cp.ptr))
        # forward: L1 w1 = b1; Lrr wr = br - C w1, C = Λr' D (rows without y)
        w1 = np.linalg.solve(self.L, b1.reshape(m1, k1, 1)).reshape(m1, k1)
        cw = np.bincount(cp.idx[keep], weights=np.einsum("ea,ea->e", Dk[keep], w1[lev[keep]]),
                         minlength=r)
        cw = self._apply_lambda_rest(cw, transpose=True)[: r - 1]
        if r > 1:
            xr = _trsolve(Lrr, _trsolve(Lrr, br - cw), trans=True)
        else:
            xr = np.zeros(0)
        # back: L1' x1 = w1 - C' xr
        zr = self._apply_lambda_rest(np.concatenate([xr, [0.0]]))
        ct = np.add.reduceat(Dk * zr[cp.idx][:, None], cp.ptr[:-1], axis=0)
        Lt = np.transpose(self.L, (0, 2, 1))
        x1 = np.linalg.solve(Lt, (w1 - ct).reshape(m1, k1, 1)).reshape(-1)
        return x1, xr

    def vcov_unscaled(self) -> np.ndarray:
        """(R_X'R_X)^{-1}: σ² times it is the covariance of β̂."""
        cp = self.cp
        LX = np.tril(self.F[cp.q2: cp.q2 + cp.p, cp.q2: cp.q2 + cp.p])
        inv = sla.solve_triangular(LX, np.eye(cp.p), lower=True, check_finite=False)
        return inv.T @ inv

    def condvar_u(self) -> list[np.ndarray]:
        """Per term, (nlevels, k, k) diagonal blocks of (Λ'Z'WZΛ + I)^{-1} (β held fixed)."""
        cp = self.cp
        q2, k1, m1 = cp.q2, self.k1, cp.m1
        Linv1 = np.linalg.inv(self.L)  # (m1, k1, k1), lower
        out1 = np.einsum("mji,mjk->mik", Linv1, Linv1)
        if not q2:
            return [out1]
        res = []
        L22 = np.tril(self.F[:q2, :q2])
        Linv22 = sla.solve_triangular(L22, np.eye(q2), lower=True, check_finite=False)
        # block j of L^{-1} below term 1: -Linv22 (Λz' D_j) L_j^{-1}; Λz' D = (Linv22 Λz') D
        M2 = Linv22.copy()
        pos = 0
        for i, t in enumerate(cp.terms[1:], start=1):
            T = self.factor(i)
            blk = M2[:, pos: pos + t.q].reshape(q2, t.nlevels, t.k)
            M2[:, pos: pos + t.q] = (blk @ T.T).reshape(q2, t.q)
            pos += t.q
        Dk = self._offdiag_compact()
        keep = cp.idx < q2
        lev = np.repeat(np.arange(m1), np.diff(cp.ptr))[keep]
        cols = (lev[:, None] * k1 + np.arange(k1)[None, :]).ravel()
        Dm = sp.csr_matrix((Dk[keep].ravel(), (np.repeat(cp.idx[keep], k1), cols)),
                           shape=(q2, cp.q1))
        H = np.asarray((Dm.T @ M2.T).T)  # q2 x q1
        H3 = H.reshape(q2, m1, k1)
        HH = np.einsum("imk,iml->mkl", H3, H3)
        out1 = out1 + np.einsum("mji,mjk,mkl->mil", Linv1, HH, Linv1)
        res.append(out1)
        pos = 0
        for t in cp.terms[1:]:
            B = Linv22[:, pos: pos + t.q].reshape(q2, t.nlevels, t.k)
            res.append(np.einsum("imk,iml->mkl", B, B))
            pos += t.q
        return res
