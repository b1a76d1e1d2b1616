# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""R's mean() and var() as R computes them: sequential sums in long double (80-bit x87 on
x86-64 Linux, as numpy's longdouble on the same platform), the mean with its second-pass
correction, the result rounded to double.

lmer's start for models whose random terms are all (1 | g) needs var(y) and, per term, the
variance of the group means spread over the rows (lmepy.fit.lmm._scalar_start). In numpy a
sequential long-double sum is a cumsum (13 ns a row) and per-group sums are np.add.at:
7.5 ms of an 18.9 ms Chem97 fit (31,022 rows). Here each is one pass of a C loop.

The numpy twins, which these equal to the bit, are lmepy.fit.lmm._r_var_numpy and
_r_group_means_numpy; tests/test_speed_paths.py compares them.
"""

import numpy as np


def r_var(const double[::1] x):
    """R's var(x) for n >= 2: the long-double mean with its correction, then the sum of
    squared deviations (deviations taken in double, as numpy's x - m) over n - 1."""
    cdef Py_ssize_t n = x.shape[0], i
    cdef long double s, m, d
    cdef double md, dd
    if n < 2:
        raise ValueError("r_var needs at least two values")
    with nogil:
        s = x[0]
        for i in range(1, n):
            s = s + <long double>x[i]
        m = s / <long double>n
        s = <long double>x[0] - m
        for i in range(1, n):
            s = s + (<long double>x[i] - m)
        md = <double>(m + s / <long double>n)
        dd = x[0] - md
        d = <long double>dd
        s = d * d
        for i in range(1, n):
            dd = x[i] - md
            d = <long double>dd
            s = s + d * d
        s = s / <long double>(n - 1)
    return float(<double>s)


def r_group_means(const double[::1] y, const long long[::1] codes, Py_ssize_t m):
    """R's mean() of y within each of m groups (rows in their order; 0 for an empty group).
    codes must lie in 0..m-1."""
    cdef Py_ssize_t n = y.shape[0], i, g
    if codes.shape[0] != n:
        raise ValueError("y and codes differ in length")
    for i in range(n):
        if codes[i] < 0 or codes[i] >= m:
            raise ValueError("a group code is outside 0..m-1")
    out = np.zeros(m)
    cdef double[::1] o = out
    cdef long double[::1] tot = np.zeros(m, dtype=np.longdouble)
    cdef long double[::1] cor = np.zeros(m, dtype=np.longdouble)
    cdef long long[::1] cnt = np.zeros(m, dtype=np.int64)
    cdef long double mu
    with nogil:
        for i in range(n):
            g = codes[i]
            tot[g] = tot[g] + <long double>y[i]
            cnt[g] += 1
        for g in range(m):
            if cnt[g]:
                tot[g] = tot[g] / <long double>cnt[g]
        for i in range(n):
            g = codes[i]
            cor[g] = cor[g] + (<long double>y[i] - tot[g])
        for g in range(m):
            if cnt[g]:
                mu = tot[g] + cor[g] / <long double>cnt[g]
                o[g] = <double>mu
    return out
