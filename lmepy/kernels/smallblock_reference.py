"""numpy twin of lmepy/kernels/smallblock.pxd (through smallblock_wrap.pyx's entry points):
the same operations in the same order, in Python loops, so that a kernel and its twin agree
to the bit and each can be checked against numpy/scipy (tests/test_smallblock.py)."""

from __future__ import annotations

import math

import numpy as np


def cholesky(A: np.ndarray) -> tuple[np.ndarray, int]:
    """(lower factor, info) as smallblock.chol_lower: info j + 1 at a non-positive pivot."""
    L = np.array(A, dtype=float)
    n = L.shape[0]
    for j in range(n):
        s = L[j, j]
        for a in range(j):
            s -= L[j, a] * L[j, a]
        if not s > 0.0:
            return np.tril(L), j + 1
        s = math.sqrt(s)
        L[j, j] = s
        for i in range(j + 1, n):
            t = L[i, j]
            for a in range(j):
                t -= L[i, a] * L[j, a]
            L[i, j] = t / s
    return np.tril(L), 0


def logdet(L: np.ndarray, acc: float = 0.0) -> float:
    """acc + sum 2 log L_ii, term by term."""
    for i in range(L.shape[0]):
        acc += 2.0 * math.log(L[i, i])
    return acc


def solve_lower(L: np.ndarray, x: np.ndarray) -> np.ndarray:
    """L^{-1} x by forward substitution."""
    x = np.array(x, dtype=float)
    for i in range(x.shape[0]):
        s = x[i]
        for a in range(i):
            s -= L[i, a] * x[a]
        x[i] = s / L[i, i]
    return x


def solve_lower_t(L: np.ndarray, x: np.ndarray) -> np.ndarray:
    """L^{-T} x by back substitution."""
    x = np.array(x, dtype=float)
    n = x.shape[0]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for a in range(i + 1, n):
            s -= L[a, i] * x[a]
        x[i] = s / L[i, i]
    return x


def rank1_update(A: np.ndarray, alpha: float, x: np.ndarray) -> np.ndarray:
    """tril(A) + alpha tril(x x'), each element (alpha x_i) x_j."""
    A = np.tril(np.array(A, dtype=float))
    x = np.asarray(x, dtype=float)
    for i in range(x.shape[0]):
        ai = alpha * x[i]
        for j in range(i + 1):
            A[i, j] += ai * x[j]
    return A
