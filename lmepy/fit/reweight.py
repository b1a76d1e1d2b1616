"""Re-weighting the LMM core's cross-products in place, for PIRLS.

PIRLS re-forms [Z X z]'W[Z X z] at every iteration with new working weights w and working
response z, but the sparsity pattern never changes. ``Reweighter`` works the pattern out once:
every needed entry (a, b) of [Z X]'W[Z X] is a weighted sum over the rows that touch both
columns, so all of them together are one sparse product G @ w, with G (entries x rows) built
once. The values are written into the arrays of one ``CrossProducts`` that a single
``BlockedCholesky`` holds, so an iteration costs a sparse mat-vec and the factorization; the
layout used is the one documented on ``lmepy.fit.blocks.CrossProducts`` (rows/columns ordered
[term 1, later terms, X, y]; ``V`` by level of term 1 with dense-part rows ``idx``) and
tests/test_glmer.py checks it against ``cross_products`` itself.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dtrsv

from lmepy.design.types import ReTerm
from lmepy.fit.blocks import BlockedCholesky, CrossProducts, cross_products

try:  # the per-row scatter kernel; without it the sparse product G @ w below does the work
    from lmepy.kernels import glm_kernels as _gk
except ImportError:  # pragma: no cover
    _gk = None

# rows x pairs of destination indices the scatter kernel may hold (two int64 arrays)
_SCATTER_MAX = 40_000_000


class Reweighter:
    """One ``BlockedCholesky`` for [Z X]'s fixed pattern, refilled for each (w, z)."""

    def __init__(self, terms: list[ReTerm], X: np.ndarray, scatter: bool = True):
        """``scatter=False``: always the sparse-product refill (the reference path)."""
        X = np.asarray(X, dtype=float)
        n, p = X.shape
        self.n, self.p = n, p
        self.terms = terms
        # the row pattern of C = [Z X]: K entries per row, in CrossProducts' column order
        cols, vals = [], []
        off = 0
        for t in terms:
            k = t.k
            codes = np.asarray(t.codes, dtype=np.int64)
            cols.append(off + codes[:, None] * k + np.arange(k)[None, :])
            vals.append(np.asarray(t.rows, dtype=float))
            off += t.q
        q = off
        if p:
            cols.append(np.broadcast_to(q + np.arange(p), (n, p)))
            vals.append(X)
        colidx = np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.int64)
        cvals = np.ascontiguousarray(np.concatenate(vals, axis=1))
        K = colidx.shape[1]
        Q = q + p
        self.q, self.Q = q, Q
        # the CrossProducts layout, from the core itself (unit weights, zero response)
        cp = cross_products(terms, X, np.zeros(n), np.ones(n))
        self.cp: CrossProducts = cp
        self.bc = BlockedCholesky(cp)
        # all terms scalar: solve() below skips the general per-level k x k algebra
        self.scalar = bool(cp.k1 == 1 and all(t.k == 1 for t in terms))
        self.lev = np.repeat(np.arange(cp.m1, dtype=np.int64), np.diff(cp.ptr))
        self.dest: np.ndarray | None = None
        self.G: sp.csr_matrix | None = None
        K1 = K + 1
        if scatter and _gk is not None and n * K1 * (K1 + 1) // 2 <= _SCATTER_MAX:
            self._scatter_plan(colidx, cvals)
        if self.dest is None:
            self._sparse_plan(colidx, cvals)

    def _sparse_plan(self, colidx: np.ndarray, cvals: np.ndarray) -> None:
        """The fallback: every entry of [Z X]'W[Z X] as one sparse product G @ w."""
        n, K = colidx.shape
        Q = self.Q
        cp = self.cp
        rows = np.repeat(np.arange(n), K)
        self.C = sp.csr_matrix((cvals.ravel(), (rows, colidx.ravel())), shape=(n, Q))
        self.CT = self.C.T.tocsr()
        # every pair (a, b) of one row's entries
        a = np.repeat(colidx, K, axis=1).ravel()
        b = np.tile(colidx, (1, K)).ravel()
        prod = (np.repeat(cvals, K, axis=1) * np.tile(cvals, (1, K))).ravel()
        keys = a * Q + b
        ukeys, inv = np.unique(keys, return_inverse=True)
        rowi = np.repeat(np.arange(n), K * K)
        self.G = sp.csr_matrix((prod, (inv.ravel(), rowi)), shape=(len(ukeys), n))
        self.ukeys = ukeys
        k1, m1, q1 = cp.k1, cp.m1, cp.q1
        r = cp.r

        def pos(aa: np.ndarray, bb: np.ndarray) -> np.ndarray:
            kk = np.asarray(aa, dtype=np.int64) * Q + np.asarray(bb, dtype=np.int64)
            ix = np.searchsorted(ukeys, kk)
            ix = np.minimum(ix, len(ukeys) - 1)
            found = ukeys[ix] == kk
            return np.where(found, ix, -1)

        # A11[j, a, b] = M[j k1 + a, j k1 + b]
        j, aa, bb = np.meshgrid(np.arange(m1), np.arange(k1), np.arange(k1), indexing="ij")
        self.posA = pos((j * k1 + aa).ravel(), (j * k1 + bb).ravel())
        # V[e, a] = M[q1 + idx[e], lev[e] k1 + a] for dense-part rows other than y
        lev = self.lev
        idx = np.asarray(cp.idx, dtype=np.int64)
        self.v_isy = idx == r - 1
        ee, aa = np.meshgrid(np.arange(len(idx)), np.arange(k1), indexing="ij")
        rr = q1 + idx[ee]
        cc = lev[ee] * k1 + aa
        self.posV = np.where(self.v_isy[ee], -1, pos(rr.ravel(), cc.ravel()).reshape(rr.shape))
        self.v_ycol = (lev[ee] * k1 + aa)  # for the y row: (C'Wz)[lev k1 + a]
        # Arr: the dense part among later terms and X (y row/column filled separately)
        inside = (ukeys // Q >= q1) & (ukeys % Q >= q1)
        self.arr_src = np.flatnonzero(inside)
        self.arr_r = (ukeys[inside] // Q - q1).astype(np.int64)
        self.arr_c = (ukeys[inside] % Q - q1).astype(np.int64)

    def _scatter_plan(self, colidx: np.ndarray, cvals: np.ndarray) -> None:
        """Where each row's pair products go in [A11, V, Arr] laid end to end: per row, the
        pairs (a <= b) of its K entries and the working response (entry K), as the scatter
        kernel enumerates them, each to its lower-triangle place (refill mirrors A11 and
        Arr)."""
        cp = self.cp
        n, K = colidx.shape
        k1, q1, r = cp.k1, cp.q1, cp.r
        nA, nV = cp.A11.size, cp.V.size
        cols = np.concatenate([colidx, np.full((n, 1), self.Q)], axis=1)  # y: dense row r-1
        ia, ib = np.triu_indices(K + 1)
        ca, cb = cols[:, ia], cols[:, ib]  # (n, P), ca <= cb as columns are increasing
        total = nA + nV + r * r
        dest = np.empty(ca.shape, dtype=np.int32 if total < 2**31 - 1 else np.int64)
        t1a, t1b = ca < q1, cb < q1
        # term 1 with itself (one level per row): A11[j, b, a], b >= a
        m = t1a & t1b
        j, a, b = ca[m] // k1, ca[m] % k1, cb[m] % k1
        dest[m] = j * k1 * k1 + b * k1 + a
        # term 1 against the dense part: V[e, a], e the entry (level j, dense row d)
        m = t1a & ~t1b
        j, a, d = ca[m] // k1, ca[m] % k1, cb[m] - q1
        keys = self.lev * r + cp.idx
        e = np.searchsorted(keys, j * r + d)
        if np.any(keys[np.minimum(e, len(keys) - 1)] != j * r + d):  # pragma: no cover
            return  # a pattern we do not know: keep the sparse-product path
        dest[m] = nA + e * k1 + a
        # the dense part with itself: Arr[d2, d1] (Fortran), d2 >= d1
        m = ~t1a
        d1, d2 = ca[m] - q1, cb[m] - q1
        dest[m] = nA + nV + d2 + d1 * r
        self.dest = np.ascontiguousarray(dest)
        self.cvals = np.ascontiguousarray(cvals)
        self.buf = np.zeros(total)
        self.nA, self.nV = nA, nV
        self.upper_a = [(aa, bb) for aa in range(k1) for bb in range(aa + 1, k1)]

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, β) from the held factor after ``update``: ``BlockedCholesky.solve`` for
        scalar terms, where term 1's blocks are 1 x 1 and Λ of the rest is a vector."""
        bc = self.bc
        if not self.scalar:
            return bc.solve()
        cp = bc.cp
        r, q2 = cp.r, cp.q2
        F = bc.F
        if _gk is not None:
            u1, v = _gk.scalar_solve(F, cp.V, cp.idx, self.lev, bc.Tflat, bc.toff, bc.L, cp.m1)
            return np.concatenate([u1, v[:q2]]), v[q2:]
        if r > 1:
            # L' v = l_y with L the leading r-1 block: the whole (contiguous) factor with a
            # zero last right-hand side gives the same v and a zero last entry, no copy of F
            rhs = F[r - 1, :].copy()
            rhs[r - 1] = 0.0
            v = dtrsv(F, rhs, lower=1, trans=1, overwrite_x=1)[: r - 1]
        else:
            v = np.zeros(0)
        zz = bc.Tflat[bc.toff] * np.append(v, -1.0)  # Λr [v; -1]
        s = np.bincount(self.lev, cp.V[:, 0] * zz[cp.idx], minlength=cp.m1)
        l1 = bc.L[:, 0, 0]
        u1 = (-bc.Tflat[0]) * s / (l1 * l1)
        return np.concatenate([u1, v[:q2]]), v[q2:]

    def refill(self, w: np.ndarray, z: np.ndarray) -> BlockedCholesky:
        """Write [Z X z]'W[Z X z] into the held CrossProducts; returns the BlockedCholesky
        (call ``update(theta)`` next)."""
        cp = self.cp
        w = np.ascontiguousarray(w, dtype=float)
        if self.dest is not None:
            buf = self.buf
            _gk.scatter_lower(self.cvals, np.ascontiguousarray(z, dtype=float), w, self.dest,
                              buf)
            nA, nV, r = self.nA, self.nV, cp.r
            A11 = cp.A11
            A11.reshape(-1)[:] = buf[:nA]
            for aa, bb in self.upper_a:  # mirror term 1's blocks
                A11[:, aa, bb] = A11[:, bb, aa]
            cp.V.reshape(-1)[:] = buf[nA: nA + nV]
            _gk.fill_symmetric(buf[nA + nV:], cp.Arr)  # the lower triangle, mirrored
            return self.bc
        vals = self.G @ w
        yv = self.CT @ (w * z)
        yy = float(np.dot(w * z, z))
        cp.A11.reshape(-1)[:] = np.where(self.posA >= 0, vals[np.maximum(self.posA, 0)], 0.0)
        Vn = np.where(self.posV >= 0, vals[np.maximum(self.posV, 0)], 0.0)
        Vn = np.where(self.v_isy[:, None], yv[self.v_ycol], Vn)
        cp.V[...] = Vn
        Arr = cp.Arr
        Arr[...] = 0.0
        Arr[self.arr_r, self.arr_c] = vals[self.arr_src]
        r = cp.r
        q1 = cp.q1
        Arr[r - 1, : r - 1] = yv[q1:]
        Arr[: r - 1, r - 1] = yv[q1:]
        Arr[r - 1, r - 1] = yy
        return self.bc
