"""Pure-numpy reference of lmepy/kernels/whiten.pyx (bidiagonal AR(1)/CAR(1) whitening)."""

from __future__ import annotations

import numpy as np


def bidiag_whiten(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Rows already in group/time order; r[i] is the correlation of rows i-1 and i (0 at the
    first row of every group). Returns L^{-1} x for the Cholesky factor L of the correlation."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    prev = np.zeros_like(x)
    prev[1:] = x[:-1]
    rr = r.reshape((-1,) + (1,) * (x.ndim - 1))
    out = (x - rr * prev) / np.sqrt(1.0 - rr * rr)
    return out


def bidiag_logdet(r: np.ndarray) -> float:
    """log det of the correlation matrix."""
    return float(np.sum(np.log1p(-np.asarray(r) ** 2)))


def whiten(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The Cython kernel when built, else the reference; x of shape (n,) or (n, k)."""
    x = np.asarray(x, dtype=float)
    try:
        from lmepy.kernels.whiten import bidiag_whiten as _kernel
    except ImportError:  # pragma: no cover - package not built
        return bidiag_whiten(x, r)
    x2 = np.ascontiguousarray(x.reshape(x.shape[0], -1))
    out = np.empty_like(x2)
    _kernel(x2, np.ascontiguousarray(r, dtype=float), out)
    return out.reshape(x.shape)
