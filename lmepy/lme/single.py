"""One grouping level: the blocked factor with every group's block computed at once.

With a single random-effects level (the usual longitudinal model), the penalized system is
block diagonal in the groups plus a dense (p+1) x (p+1) corner. The rows are laid out once in
a (groups, max size, columns) array; per set of structure parameters one einsum gives every
group's cross-products of the whitened [Z X y], and per pdMat factor T one batched Cholesky of
T'Z_g'Z_g T + I and one batched triangular solve give log|L|², the Schur complement of X and
y and so log|R_X|² and the penalized residual sum of squares. Same numbers as the general
blocked Cholesky, at numpy speed for thousands of groups.
"""

from __future__ import annotations

import numpy as np

try:  # compiled lagged sums (numpy below when not built)
    from lmepy.kernels import lme_single as _KERNEL
except ImportError:  # pragma: no cover
    _KERNEL = None


class SingleLevel:
    """Cross-products per group of the whitened rows [Z X y] and the factor for one T."""

    def __init__(self, codes: np.ndarray, nlevels: int, k: int, p: int):
        self.k, self.p = k, p
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=nlevels)
        self.G = nlevels
        self.nmax = int(counts.max()) if len(counts) else 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.order = None if np.array_equal(order, np.arange(len(codes))) else order
        self.balanced = bool(len(counts) and np.all(counts == self.nmax))
        within = np.arange(len(codes)) - np.repeat(starts, counts)
        self.flat = np.repeat(np.arange(nlevels), counts) * self.nmax + within
        # columns [X (p), y, Z (k)] -> [Z, X, y]
        self.colperm = np.r_[np.arange(p + 1, p + 1 + k), np.arange(p + 1)]
        self.eye = np.eye(k)

    def set_cross(self, C: np.ndarray) -> None:
        """Every group's cross-products of [Z X y] (G, m, m), formed elsewhere."""
        k = self.k
        self.C = np.ascontiguousarray(C)
        self.A = C[:, :k, :k]
        self.B = C[:, :k, k:]
        self.D = C[:, k:, k:].sum(axis=0)

    def set_rows(self, Mw: np.ndarray) -> None:
        """Mw: whitened rows in data order, columns [X (p), y, Z (k)]."""
        Ms = Mw[:, self.colperm] if self.order is None else Mw[self.order][:, self.colperm]
        self._set_sorted(Ms)

    def set_rows_weighted(self, M: np.ndarray, w: np.ndarray) -> None:
        """set_rows(M * w[:, None]) for rows whitened by weights alone (a variance function
        without a correlation structure), without re-sorting M at every evaluation: M's rows
        sorted by group and columns permuted are kept, and the product is elementwise, so
        the cross-products are the same to the bit."""
        kept = getattr(self, "_sorted_M", None)
        if kept is None or kept[0] is not M:
            Ms = M[:, self.colperm] if self.order is None else M[self.order][:, self.colperm]
            kept = self._sorted_M = (M, Ms)
        ws = w if self.order is None else w[self.order]
        self._set_sorted(kept[1] * ws[:, None])

    def _set_sorted(self, Ms: np.ndarray) -> None:
        """Ms: whitened rows sorted by group, columns [Z, X, y]."""
        k, p = self.k, self.p
        m = k + p + 1
        if self.balanced:
            P = Ms.reshape(self.G, self.nmax, m)
        else:
            P = np.zeros((self.G * self.nmax, m))
            P[self.flat] = Ms
            P = P.reshape(self.G, self.nmax, m)
        C = np.matmul(P.transpose(0, 2, 1), P)
        self.C = C
        self.A = C[:, :k, :k]
        self.B = C[:, :k, k:]
        self.D = C[:, k:, k:].sum(axis=0)

    def update(self, T: np.ndarray) -> tuple[float, float, float]:
        """(ldL2, ldRX2, pwrss) for the factor T; nan when not positive definite.
        k = 1 and 2 use closed forms over all groups at once (few numpy calls: this runs
        hundreds of times per fit)."""
        nan = (float("nan"), float("nan"), float("nan"))
        self.T = T
        self.S = None  # set again below once the factorization succeeds
        k = self.k
        if k == 1:
            t = T[0, 0]
            a = t * t * self.A[:, 0, 0] + 1.0
            l11 = np.sqrt(a)
            w1 = (t * self.B[:, 0, :]) / l11[:, None]
            S = self.D - w1.T @ w1
            ld = float(np.log(a).sum())
            self._Lk = (l11,)
        elif k == 2:
            TA = T.T @ self.A @ T
            TB = T.T @ self.B
            a = TA[:, 0, 0] + 1.0
            l21 = TA[:, 1, 0] / np.sqrt(a)
            d = TA[:, 1, 1] + 1.0 - l21 * l21
            if d.min() <= 0.0:
                return nan
            l11, l22 = np.sqrt(a), np.sqrt(d)
            w1 = TB[:, 0, :] / l11[:, None]
            w2 = (TB[:, 1, :] - l21[:, None] * w1) / l22[:, None]
            S = self.D - w1.T @ w1 - w2.T @ w2
            ld = float(np.log(a * d).sum())
            self._Lk = (l11, l21, l22)
        else:
            TA = np.matmul(np.matmul(T.T, self.A), T) + self.eye
            try:
                L = np.linalg.cholesky(TA)
            except np.linalg.LinAlgError:
                return nan
            W = np.linalg.solve(L, np.matmul(T.T, self.B)).reshape(-1, self.p + 1)
            S = self.D - W.T @ W
            ld = 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
            self._Lk = (L,)
        try:
            R = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return nan
        rd = R.diagonal()
        p = self.p
        self.S, self.R = S, R
        return ld, 2.0 * float(np.log(rd[:p]).sum()), float(rd[p] * rd[p])

    @property
    def L(self) -> np.ndarray:
        """Every group's lower factor of T'Z'ZT + I at the last update, (G, k, k)."""
        if self.k == 1:
            return self._Lk[0][:, None, None]
        if self.k == 2:
            l11, l21, l22 = self._Lk
            L = np.zeros((len(l11), 2, 2))
            L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = l11, l21, l22
            return L
        return self._Lk[0]

    def solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(β, b per group (G, k), (R_X'R_X)^{-1}) at the last update."""
        p = self.p
        S = getattr(self, "S", None)
        if S is None:  # the last update was not positive definite (extreme data)
            raise np.linalg.LinAlgError("not positive definite at the last parameters")
        Sxx = S[:p, :p]
        beta = np.linalg.solve(Sxx, S[:p, p])
        T = self.T
        TB = np.matmul(T.T, self.B)
        rhs = TB[:, :, p] - TB[:, :, :p] @ beta
        LLt = self.L @ np.transpose(self.L, (0, 2, 1))
        u = np.linalg.solve(LLt, rhs[:, :, None])[:, :, 0]
        b = u @ T.T
        return beta, b, np.linalg.inv(Sxx)


class MarkovSums:
    """AR(1)/CAR(1) errors under one grouping level, without whitening the rows each time.

    Within a group whose rows are in increasing time, the whitened row is e_1 = x_1 and
    e_i = (x_i - r_i x_{i-1}) / sqrt(1 - r_i²), r_i = φ^(t_i - t_{i-1}). Grouping the links by
    their time step ℓ (few distinct steps in practice), every group's cross-product of the
    whitened rows is
        x_1 x_1' + Σ_ℓ [S1_ℓ - r_ℓ (Q_ℓ + Q_ℓ') + r_ℓ² S2_ℓ] / (1 - r_ℓ²),
    with S1_ℓ = Σ x_i x_i', S2_ℓ = Σ x_{i-1} x_{i-1}', Q_ℓ = Σ x_i x_{i-1}' over the links of
    step ℓ: sums formed once, so an evaluation costs O(groups x steps), not O(rows).
    """

    MAX_STEPS = 12

    def __init__(self, M: np.ndarray, codes: np.ndarray, G: int, steps: np.ndarray,
                 colperm: np.ndarray):
        """M: rows [X y Z] in data order; codes: group per row; steps: time step of each row
        from the previous row of its group (0 at a group's first row), rows in data order
        within groups."""
        Mc = M[:, colperm]
        m = Mc.shape[1]
        order = np.argsort(codes, kind="stable")
        Ms, gs, st = Mc[order], codes[order], steps[order]
        first = np.ones(len(gs), dtype=bool)
        first[1:] = gs[1:] != gs[:-1]
        P0 = np.zeros((G, m, m))
        P0[gs[first]] = Ms[first, :, None] * Ms[first, None, :]  # one first row per group
        link = np.flatnonzero(~first)
        cls, inv = np.unique(st[link], return_inverse=True)
        self.steps = cls
        self.counts = np.bincount(inv, minlength=len(cls)).astype(float)
        if _KERNEL is not None:  # one pass over the rows (no (links, m, m) temporaries)
            cl = np.full(len(gs), -1, dtype=np.int64)
            cl[link] = inv
            P0, S1, S2, Q = _KERNEL.markov_sums(np.ascontiguousarray(Ms, dtype=float),
                                                np.ascontiguousarray(gs, dtype=np.int64),
                                                cl, G, len(cls))
            self.S1, self.S2, self.Q, self.P0 = S1, S2, Q, P0
            self.QQ = Q + np.transpose(Q, (0, 1, 3, 2))
            return
        # sums over links by (step class, group): sort by that key, add contiguous runs
        key = inv * G + gs[link]
        o = np.argsort(key, kind="stable")
        key, lk = key[o], link[o]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else \
            np.zeros(0, dtype=np.int64)
        ukey = key[starts]
        cur, prev = Ms[lk], Ms[lk - 1]
        out = []
        for a, b in ((cur, cur), (prev, prev), (cur, prev)):
            S = np.zeros((len(cls) * G, m, m))
            if len(key):
                S[ukey] = np.add.reduceat(a[:, :, None] * b[:, None, :], starts, axis=0)
            out.append(S.reshape(len(cls), G, m, m))
        self.S1, self.S2, self.Q = out
        self.QQ = self.Q + np.transpose(self.Q, (0, 1, 3, 2))
        self.P0 = P0

    @classmethod
    def applicable(cls, steps: np.ndarray | None) -> bool:
        return steps is not None and len(np.unique(steps[steps > 0])) <= cls.MAX_STEPS

    def cross(self, phi: float) -> tuple[np.ndarray, float]:
        """(every group's whitened cross-products (G, m, m), log det of the correlation)."""
        r = np.power(phi, self.steps)
        w = 1.0 / (1.0 - r * r)
        C = self.P0.copy()
        for j in range(len(r)):
            C += w[j] * (self.S1[j] - r[j] * self.QQ[j] + (r[j] * r[j]) * self.S2[j])
        return C, float(np.sum(self.counts * np.log1p(-r * r)))
