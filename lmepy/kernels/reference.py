"""Plain-numpy references of the Cython kernels in ``blocked.pyx``, for the tests.

Each function computes the same quantity the straightforward way (dense matrices, no
blocking), so a kernel can be checked against it on random inputs.
"""

from __future__ import annotations

import numpy as np


def factor_first(A11: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, float]:
    """chol(T' A11[j] T + I) per level, and 2 * sum of log diagonals."""
    k = T.shape[0]
    L = np.linalg.cholesky(np.einsum("ba,jbc,cd->jad", T, A11, T) + np.eye(k))
    return L, float(2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum())


def downdate_rest(ptr: np.ndarray, idx: np.ndarray, V: np.ndarray, T: np.ndarray,
                  L: np.ndarray, S: np.ndarray, lam: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(S - sum_j D_j D_j' on the lower triangle, stacked D_j) with
    D_j = diag(lam[idx_j]) V_j T L_j^{-T}."""
    S = np.array(S, dtype=float)
    r = S.shape[0]
    lam = np.ones(r) if lam is None else lam
    Ds = []
    for j in range(len(ptr) - 1):
        rows = idx[ptr[j]: ptr[j + 1]]
        D = lam[rows][:, None] * (V[ptr[j]: ptr[j + 1]] @ T @ np.linalg.inv(L[j]).T)
        Ds.append(D)
        full = np.zeros((r, r))
        full[np.ix_(rows, rows)] = D @ D.T
        S -= np.tril(full)
    return S, np.concatenate(Ds) if Ds else np.zeros((0, T.shape[0]))


def lambda_rest(blk: np.ndarray, cmp: np.ndarray, kk: np.ndarray, toff: np.ndarray,
                Tflat: np.ndarray) -> np.ndarray:
    """Dense Λ of the dense part from the kernel's row description."""
    r = len(blk)
    Lam = np.zeros((r, r))
    for a in range(r):
        k = kk[a]
        T = Tflat[toff[a]: toff[a] + k * k].reshape(k, k, order="F")
        for c in range(k):
            Lam[blk[a] + c, a] = T[c, cmp[a]]
    return Lam


def scale_rest(S: np.ndarray, blk: np.ndarray, cmp: np.ndarray, kk: np.ndarray,
               toff: np.ndarray, Tflat: np.ndarray, nz: int) -> np.ndarray:
    """tril(Λr' sym(S) Λr + diag(1 on the first nz rows)), S given by its lower triangle."""
    Sl = np.tril(S)
    Sym = Sl + np.tril(Sl, -1).T
    Lam = lambda_rest(blk, cmp, kk, toff, Tflat)
    out = Lam.T @ Sym @ Lam
    out[np.arange(nz), np.arange(nz)] += 1.0
    return np.tril(out)


def dense_components(terms: list, X: np.ndarray, y: np.ndarray, theta: np.ndarray,
                     weights: np.ndarray | None = None) -> tuple[float, float, float]:
    """(ldL2, ldRX2, pwrss) from the dense augmented matrix [ZΛ X y]'W[ZΛ X y] + diag(I,0,0).

    ``terms``: ReTerm-like objects (codes, rows, nlevels, k); θ as lme4's (each term's
    column-major lower triangle, concatenated).
    """
    n = len(y)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    Zs, Lams = [], []
    pos = 0
    for t in terms:
        k, m = t.k, t.nlevels
        Z = np.zeros((n, m * k))
        for c in range(k):
            Z[np.arange(n), np.asarray(t.codes) * k + c] = np.asarray(t.rows)[:, c]
        T = np.zeros((k, k))
        i, j = np.tril_indices(k)
        o = np.lexsort((i, j))
        T[i[o], j[o]] = theta[pos: pos + len(o)]
        pos += len(o)
        Zs.append(Z)
        Lams.append(np.kron(np.eye(m), T))
    Z = np.hstack(Zs)
    q = Z.shape[1]
    Lam = np.zeros((q, q))
    off = 0
    for B in Lams:
        Lam[off: off + B.shape[0], off: off + B.shape[0]] = B
        off += B.shape[0]
    sw = np.sqrt(w)[:, None]
    M = np.hstack([Z @ Lam, X, y[:, None]]) * sw
    A = M.T @ M
    A[np.arange(q), np.arange(q)] += 1.0
    Lc = np.linalg.cholesky(A)
    d = np.diag(Lc)
    p = X.shape[1]
    return (float(2 * np.log(d[:q]).sum()), float(2 * np.log(d[q: q + p]).sum()),
            float(d[-1] ** 2))


def potrf_lower(S: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a symmetric positive-definite matrix (unblocked LAPACK)."""
    return np.linalg.cholesky(S)
