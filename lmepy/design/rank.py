"""Which fixed-effect columns lme4 drops when X is rank deficient.

lme4 calls R's ``qr(X, tol = 1e-7, LAPACK = FALSE)``: LINPACK's Householder QR with *limited*
pivoting, which moves a column to the end as soon as its remaining norm falls below ``tol``
times its original norm. The kept columns are the first ``rank`` pivots, in their original
order, so the same columns as R's are dropped (not just the same number).
"""

from __future__ import annotations

import numpy as np


def limited_pivot_qr_rank(x: np.ndarray, tol: float = 1e-7) -> tuple[int, np.ndarray]:
    """(rank, pivot) of R's LINPACK ``dqrdc2`` on ``x`` (N x p); pivot is 0-based."""
    a = np.array(x, dtype=np.float64, order="F", copy=True)
    n, p = a.shape
    pivot = np.arange(p)
    qraux = np.sqrt((a ** 2).sum(axis=0)) if n else np.zeros(p)
    work1 = qraux.copy()
    work2 = qraux.copy()
    work2[work2 == 0.0] = 1.0
    lup = min(n, p)
    k = p + 1  # 1-based as in the Fortran
    for l0 in range(lup):
        ell = l0 + 1
        while not (ell >= k or qraux[l0] >= work2[l0] * tol):
            # rotate column l to the end
            for arr in (pivot, qraux, work1, work2):
                arr[l0:] = np.roll(arr[l0:], -1)
            a[:, l0:] = np.roll(a[:, l0:], -1, axis=1)
            k -= 1
        if ell == n:
            continue
        col = a[l0:, l0]
        nrmxl = float(np.sqrt(col @ col))
        if nrmxl == 0.0:
            continue
        if col[0] != 0.0:
            nrmxl = np.copysign(nrmxl, col[0])
        a[l0:, l0] = col / nrmxl
        a[l0, l0] += 1.0
        v = a[l0:, l0]
        if l0 + 1 < p:
            rest = a[l0:, l0 + 1:]
            t = -(v @ rest) / v[0]
            rest += np.outer(v, t)
            a[l0:, l0 + 1:] = rest
            for j in range(l0 + 1, p):
                if qraux[j] == 0.0:
                    continue
                tt = 1.0 - (abs(a[l0, j]) / qraux[j]) ** 2
                tt = max(tt, 0.0)
                if abs(tt) < 1e-6:
                    qraux[j] = float(np.sqrt(a[l0 + 1:, j] @ a[l0 + 1:, j]))
                    work1[j] = qraux[j]
                else:
                    qraux[j] = qraux[j] * np.sqrt(tt)
        qraux[l0] = a[l0, l0]
        a[l0, l0] = -nrmxl
    rank = min(k - 1, n)
    return rank, pivot
