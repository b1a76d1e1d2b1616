"""Which fixed-effect columns lme4 drops when X is rank deficient.

lme4 calls R's ``qr(X, tol = 1e-7, LAPACK = FALSE)``: LINPACK's Householder QR with *limited*
pivoting, which moves a column to the end as soon as its remaining norm falls below ``tol``
times its original norm. The kept columns are the first ``rank`` pivots, in their original
order, so the same columns as R's are dropped (not just the same number).
"""

from __future__ import annotations

import numpy as np


def limited_pivot_qr_rank(x: np.ndarray, tol: float = 1e-7) -> tuple[int, np.ndarray]:
    """(rank, pivot) of R's LINPACK ``dqrdc2`` on ``x`` (N x p); pivot is 0-based.

    dqrdc2 moves a column only when the norm left after the earlier columns falls below
    ``tol`` times its own norm. Those relative residual norms are the diagonal of the
    Cholesky factor of the column-scaled cross-product, which is cheap; when every one is
    far above ``tol`` (10^4 times, well beyond the rounding of that route) no column can
    move and the rank is p. Otherwise the LINPACK steps are replayed exactly."""
    n, p = x.shape
    if n >= p > 0:
        g = x.T @ x
        d = np.sqrt(np.diag(g))
        if np.all(d > 0) and np.all(np.isfinite(g)):
            try:
                chol = np.linalg.cholesky(g / np.outer(d, d))
            except np.linalg.LinAlgError:
                chol = None
            if chol is not None and np.all(np.diag(chol) >= 1e4 * tol):
                return p, np.arange(p)
    return _dqrdc2(x, tol)


def _dqrdc2(x: np.ndarray, tol: float) -> tuple[int, np.ndarray]:
    """The LINPACK steps on whole columns (held as rows of a C-ordered copy)."""
    a = np.array(np.asarray(x, dtype=np.float64).T, order="C", copy=True)  # a[j] = column j
    p, n = a.shape
    pivot = np.arange(p)
    qraux = np.sqrt((a ** 2).sum(axis=1)) if n else np.zeros(p)
    work1 = qraux.copy()
    work2 = qraux.copy()
    work2[work2 == 0.0] = 1.0
    lup = min(n, p)
    k = p + 1  # 1-based as in the Fortran
    for l0 in range(lup):
        ell = l0 + 1
        while not (ell >= k or qraux[l0] >= work2[l0] * tol):
            # move column l to the end, shifting the others left
            for arr in (pivot, qraux, work1, work2):
                arr[l0:] = np.roll(arr[l0:], -1)
            a[l0:] = np.roll(a[l0:], -1, axis=0)
            k -= 1
        if ell == n:
            continue
        col = a[l0, l0:]
        nrmxl = float(np.sqrt(col @ col))
        if nrmxl == 0.0:
            continue
        if col[0] != 0.0:
            nrmxl = float(np.copysign(nrmxl, col[0]))
        col /= nrmxl
        col[0] += 1.0
        if l0 + 1 < p:
            rest = a[l0 + 1:, l0:]
            t = -(rest @ col) / col[0]
            rest += t[:, None] * col[None, :]
            for j in range(l0 + 1, p):
                if qraux[j] == 0.0:
                    continue
                tt = max(1.0 - (abs(a[j, l0]) / qraux[j]) ** 2, 0.0)
                if abs(tt) < 1e-6:
                    qraux[j] = float(np.sqrt(a[j, l0 + 1:] @ a[j, l0 + 1:]))
                    work1[j] = qraux[j]
                else:
                    qraux[j] = qraux[j] * np.sqrt(tt)
        qraux[l0] = col[0]
        a[l0, l0] = -nrmxl
    rank = min(k - 1, n)
    return rank, pivot
