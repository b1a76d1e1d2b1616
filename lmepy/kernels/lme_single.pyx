# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""One evaluation of the lme objective for a model with one grouping level, in one pass.

With one random-effects level the penalized system is block diagonal in the groups plus a
dense (p+1) x (p+1) corner. For every group g with cross-products C_g of its whitened rows
[Z X y] (m = k + p + 1 columns, Z first) and the pdMat factor T:

    L_g L_g' = T' C_zz T + I,   W_g = L_g^{-1} T' C_z[xy],   D = sum_g C_[xy][xy] - W_g' W_g,

then R'R = D. The objective needs only log|L|^2 = sum_g 2 sum log diag L_g, log|R_X|^2 and the
penalized residual sum of squares R_yy^2. numpy does this with a dozen batched calls per
evaluation; here it is one loop with no temporaries, called hundreds of times per fit.

``markov_update`` first forms C_g from AR(1)/CAR(1) lagged sums (lmepy.lme.single.MarkovSums):
C_g = P0_g + sum_l w_l (S1_lg - r_l QQ_lg + r_l^2 S2_lg), so an evaluation never touches rows.

The numpy reference is lmepy/kernels/lme_reference.py; tests/test_lme_kernels.py compares them.
A factor that is not positive definite gives (nan, nan, nan), as the reference.
"""

from libc.math cimport log, log1p, pow, sqrt, NAN
from libc.stdlib cimport malloc, free

from lmepy.kernels.smallblock cimport chol_lower, logdet_acc, trsv_lower


cdef int _group(const double* C, Py_ssize_t m, Py_ssize_t k, const double* T,
                double* A, double* TB, double* D, double* ld) noexcept nogil:
    """Accumulate one group's block into D (lower triangle, q x q with q = m - k) and
    log|L_g|^2 into ld; C is m x m row-major (symmetric, full). Returns 0, or 1 when
    T' C_zz T + I is not positive definite. A is k x k, TB k x q scratch."""
    cdef Py_ssize_t q = m - k, i, j, a, b, c, e
    cdef double s, t
    # A = T' C_zz T + I (lower triangle), TB = T' C_z[xy]
    for i in range(k):
        for j in range(i + 1):
            s = 0.0
            for a in range(k):
                t = T[a * k + i]
                if t == 0.0:
                    continue
                for b in range(k):
                    s += t * C[a * m + b] * T[b * k + j]
            A[i * k + j] = s + (1.0 if i == j else 0.0)
        for c in range(q):
            s = 0.0
            for a in range(k):
                s += T[a * k + i] * C[a * m + k + c]
            TB[i * q + c] = s
    # Cholesky of A in place (lower), then W = L^{-1} TB (in place in TB, column by column)
    if chol_lower(A, k, k):
        return 1
    ld[0] = logdet_acc(ld[0], A, k, k)
    for c in range(q):
        trsv_lower(A, k, k, &TB[c], q)
    # D += C_[xy][xy] - W'W (lower)
    for c in range(q):
        for e in range(c + 1):
            s = C[(k + c) * m + k + e]
            for i in range(k):
                s -= TB[i * q + c] * TB[i * q + e]
            D[c * q + e] += s
    return 0


cdef tuple _finish(double* D, Py_ssize_t q, double ld):
    """Cholesky of the corner D (lower, in place): (ld, log|R_X|^2, pwrss) or nans."""
    cdef double s, ldx
    if chol_lower(D, q, q):
        return (NAN, NAN, NAN)
    ldx = logdet_acc(0.0, D, q - 1, q)
    s = D[(q - 1) * q + q - 1]
    return (ld, ldx, s * s)


def single_update(const double[:, :, ::1] C, const double[:, ::1] T) -> tuple:
    """(log|L|^2, log|R_X|^2, pwrss) from every group's cross-products C (G, m, m) of the
    whitened [Z X y] and the pdMat factor T (k x k); nans when not positive definite."""
    cdef Py_ssize_t G = C.shape[0], m = C.shape[1], k = T.shape[0], q, g
    if C.shape[2] != m or T.shape[1] != k or k >= m:
        raise ValueError("C must be (G, m, m) and T (k, k) with k < m")
    q = m - k
    cdef double* buf = <double*> malloc((k * k + k * q + q * q + k * k) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    cdef double* A = buf
    cdef double* TB = buf + k * k
    cdef double* D = TB + k * q
    cdef double* Tc = D + q * q
    cdef double ld = 0.0
    cdef int bad = 0
    cdef Py_ssize_t i, j
    for i in range(k):
        for j in range(k):
            Tc[i * k + j] = T[i, j]
    for i in range(q * q):
        D[i] = 0.0
    try:
        with nogil:
            for g in range(G):
                if _group(&C[g, 0, 0], m, k, Tc, A, TB, D, &ld):
                    bad = 1
                    break
        if bad:
            return (NAN, NAN, NAN)
        return _finish(D, q, ld)
    finally:
        free(buf)


def markov_update(const double[:, :, ::1] P0, const double[:, :, :, ::1] S1,
                  const double[:, :, :, ::1] S2, const double[:, :, :, ::1] QQ,
                  const double[::1] steps, const double[::1] counts, double phi,
                  const double[:, ::1] T) -> tuple:
    """As single_update with C_g = P0_g + sum_l w_l (S1_lg - r_l QQ_lg + r_l^2 S2_lg),
    r_l = phi^steps_l, w_l = 1 / (1 - r_l^2): P0 (G, m, m), S1/S2/QQ (steps, G, m, m).
    Returns (log|L|^2, log|R_X|^2, pwrss, log det of the correlation matrices), the last
    sum_l counts_l log(1 - r_l^2)."""
    cdef Py_ssize_t G = P0.shape[0], m = P0.shape[1], k = T.shape[0], L = steps.shape[0]
    cdef Py_ssize_t q, g, l, i, j, mm = m * m
    if (P0.shape[2] != m or T.shape[1] != k or k >= m or counts.shape[0] != L
            or S1.shape[0] != L or S2.shape[0] != L or QQ.shape[0] != L):
        raise ValueError("inconsistent shapes")
    if L and (S1.shape[1] != G or S1.shape[2] != m or S1.shape[3] != m
              or S2.shape[1] != G or S2.shape[2] != m or S2.shape[3] != m
              or QQ.shape[1] != G or QQ.shape[2] != m or QQ.shape[3] != m):
        raise ValueError("inconsistent shapes")
    q = m - k
    cdef double* buf = <double*> malloc((k * k + k * q + q * q + k * k + mm + 3 * L)
                                        * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    cdef double* A = buf
    cdef double* TB = buf + k * k
    cdef double* D = TB + k * q
    cdef double* Tc = D + q * q
    cdef double* Cg = Tc + k * k
    cdef double* c1 = Cg + mm
    cdef double* c2 = c1 + L
    cdef double* c3 = c2 + L
    cdef const double* p0
    cdef const double* s1
    cdef const double* s2
    cdef const double* qq
    cdef double ld = 0.0
    cdef int bad = 0
    for i in range(k):
        for j in range(k):
            Tc[i * k + j] = T[i, j]
    for i in range(q * q):
        D[i] = 0.0
    cdef double rl, wl, ldC = 0.0
    for l in range(L):
        rl = pow(phi, steps[l])
        wl = 1.0 / (1.0 - rl * rl)
        c1[l] = wl
        c2[l] = -wl * rl
        c3[l] = wl * rl * rl
        ldC += counts[l] * log1p(-rl * rl)
    try:
        with nogil:
            for g in range(G):
                p0 = &P0[g, 0, 0]
                for i in range(mm):
                    Cg[i] = p0[i]
                for l in range(L):
                    s1 = &S1[l, g, 0, 0]
                    s2 = &S2[l, g, 0, 0]
                    qq = &QQ[l, g, 0, 0]
                    for i in range(mm):
                        Cg[i] += c1[l] * s1[i] + c2[l] * qq[i] + c3[l] * s2[i]
                if _group(Cg, m, k, Tc, A, TB, D, &ld):
                    bad = 1
                    break
        if bad:
            return (NAN, NAN, NAN, ldC)
        return _finish(D, q, ld) + (ldC,)
    finally:
        free(buf)


def markov_sums(const double[:, ::1] Ms, const long long[::1] gs, const long long[::1] cls,
                Py_ssize_t G, Py_ssize_t L) -> tuple:
    """The lagged sums of lmepy.lme.single.MarkovSums in one pass over rows sorted by group
    (time order within a group): P0 (G, m, m) the first row's outer product per group, and
    per step class l and group g S1 = sum x_i x_i', S2 = sum x_{i-1} x_{i-1}',
    Q = sum x_i x_{i-1}' over links i whose step class is cls[i] (-1 at a group's first
    row). Returns (P0, S1, S2, Q)."""
    import numpy as np
    cdef Py_ssize_t N = Ms.shape[0], m = Ms.shape[1], i, a, b, g, c
    if gs.shape[0] != N or cls.shape[0] != N:
        raise ValueError("inconsistent shapes")
    P0a = np.zeros((G, m, m))
    S1a = np.zeros((L, G, m, m))
    S2a = np.zeros((L, G, m, m))
    Qa = np.zeros((L, G, m, m))
    cdef double[:, :, ::1] P0 = P0a
    cdef double[:, :, :, ::1] S1 = S1a
    cdef double[:, :, :, ::1] S2 = S2a
    cdef double[:, :, :, ::1] Q = Qa
    cdef double xa, pa
    for i in range(N):
        g = gs[i]
        c = cls[i]
        if g < 0 or g >= G or c >= L or (c >= 0 and i == 0):
            raise ValueError("group or step class out of range")
    with nogil:
        for i in range(N):
            g = gs[i]
            c = cls[i]
            if c < 0:
                for a in range(m):
                    xa = Ms[i, a]
                    for b in range(m):
                        P0[g, a, b] += xa * Ms[i, b]
            else:
                for a in range(m):
                    xa = Ms[i, a]
                    pa = Ms[i - 1, a]
                    for b in range(m):
                        S1[c, g, a, b] += xa * Ms[i, b]
                        S2[c, g, a, b] += pa * Ms[i - 1, b]
                        Q[c, g, a, b] += xa * Ms[i - 1, b]
    return P0a, S1a, S2a, Qa
