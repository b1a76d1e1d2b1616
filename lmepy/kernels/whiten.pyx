# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Bidiagonal whitening for Markov correlation structures (nlme's corAR1 and corCAR1).

Within a group sorted by time, AR(1)/CAR(1) correlations are r^|t_i - t_j|, and the inverse of
the lower Cholesky factor of that matrix is bidiagonal: e_1 = x_1 and
e_i = (x_i - r_i x_{i-1}) / sqrt(1 - r_i^2), with r_i the correlation of rows i-1 and i
(r_i = 0 at the first row of a group). One pass over the rows, O(n) instead of O(n^3) per
group. The numpy reference is lmepy/covariance/whiten_ref.py.
"""

from libc.math cimport log, sqrt


cpdef void bidiag_whiten(const double[:, ::1] x, const double[::1] r, double[:, ::1] out):
    """out[i] = (x[i] - r[i] * x[i-1]) / sqrt(1 - r[i]^2) for every column; r[0] must be 0."""
    cdef Py_ssize_t n = x.shape[0], k = x.shape[1], i, j
    cdef double ri, s
    for j in range(k):
        out[0, j] = x[0, j]
    for i in range(1, n):
        ri = r[i]
        if ri == 0.0:
            for j in range(k):
                out[i, j] = x[i, j]
        else:
            s = 1.0 / sqrt(1.0 - ri * ri)
            for j in range(k):
                out[i, j] = (x[i, j] - ri * x[i - 1, j]) * s


cpdef double bidiag_logdet(const double[::1] r):
    """log det of the correlation matrix: sum of log(1 - r_i^2)."""
    cdef Py_ssize_t n = r.shape[0], i
    cdef double ld = 0.0
    for i in range(n):
        if r[i] != 0.0:
            ld += log(1.0 - r[i] * r[i])
    return ld
