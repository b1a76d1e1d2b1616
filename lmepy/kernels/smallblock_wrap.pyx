# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Python entry points to the inline primitives of smallblock.pxd, so that each one can be
tested directly against numpy/scipy and its numpy twin (lmepy/kernels/smallblock_reference.py).
Each copies its inputs: the caller's arrays are never modified."""

import numpy as np

from lmepy.kernels.smallblock cimport (chol_lower, logdet_acc, syr_lower, trsv_lower,
                                      trsv_lower_t)


def _square(A):
    out = np.array(A, dtype=float, order="C", copy=True)
    if out.ndim != 2 or out.shape[0] != out.shape[1]:
        raise ValueError("A must be a square matrix")
    return out


def cholesky(A) -> tuple:
    """(lower factor with zeros above the diagonal, info): info 0, or j + 1 when the j-th
    pivot is not positive (the factor is then partial)."""
    out = _square(A)
    cdef double[:, ::1] a = out
    cdef Py_ssize_t n = out.shape[0]
    cdef int info
    with nogil:
        info = chol_lower(&a[0, 0], n, n) if n else 0
    return np.tril(out), int(info)


def logdet(L, double acc=0.0) -> float:
    """acc + sum 2 log L_ii."""
    out = _square(L)
    cdef double[:, ::1] a = out
    cdef Py_ssize_t n = out.shape[0]
    return logdet_acc(acc, &a[0, 0], n, n) if n else acc


def _rhs(L, x):
    Lc = _square(L)
    xc = np.array(x, dtype=float, copy=True)
    if xc.ndim != 1 or xc.shape[0] != Lc.shape[0]:
        raise ValueError("x must be a vector as long as L")
    return Lc, xc


def solve_lower(L, x):
    """L^{-1} x for a lower-triangular L (only its lower triangle is read)."""
    Lc, xc = _rhs(L, x)
    cdef double[:, ::1] a = Lc
    cdef double[::1] v = xc
    cdef Py_ssize_t n = xc.shape[0]
    if n:
        trsv_lower(&a[0, 0], n, n, &v[0], 1)
    return xc


def solve_lower_t(L, x):
    """L^{-T} x for a lower-triangular L."""
    Lc, xc = _rhs(L, x)
    cdef double[:, ::1] a = Lc
    cdef double[::1] v = xc
    cdef Py_ssize_t n = xc.shape[0]
    if n:
        trsv_lower_t(&a[0, 0], n, n, &v[0], 1)
    return xc


def rank1_update(A, double alpha, x):
    """tril(A) + alpha tril(x x'): only the lower triangle of A is read and returned."""
    Ac, xc = _rhs(A, x)
    cdef double[:, ::1] a = Ac
    cdef double[::1] v = xc
    cdef Py_ssize_t n = xc.shape[0]
    if n:
        syr_lower(&a[0, 0], n, n, alpha, &v[0], 1)
    return np.tril(Ac)
