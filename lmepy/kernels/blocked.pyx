# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Blocked Cholesky of the augmented penalized system, one call per objective evaluation.

The augmented matrix is [ZΛ X y]'W[ZΛ X y] + diag(I_q, 0, 0), partitioned as

    [ A11   .   ]     A11: the first (largest) random-effects term: block diagonal,
    [ A21   Arr ]          m1 blocks of k1 x k1 (every row belongs to one level);
                      A21: the remaining rows (later terms, X columns, y) against the
                           first term, stored sparse by level of the first term;
                      Arr: dense (later terms, X, y) x (same).

The first block factors in O(m1 k1^3); the Schur complement of the rest is formed by
scattering one small product per level, scaled by Λ of the later terms, and factored densely
by LAPACK. Its diagonal gives log|L| of the later terms, log|R_X| and sqrt(pwrss).
Pure-numpy equivalents of every function are in lmepy/kernels/reference.py.
"""

from libc.math cimport log, sqrt
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport dgemm, dsyrk, dtrsm
from scipy.linalg.cython_lapack cimport dpotf2

from lmepy.kernels.smallblock cimport chol_lower, logdet_acc, trsv_lower


cpdef double factor_first(const double[:, :, ::1] A11, const double[::1, :] T,
                          double[:, :, ::1] L):
    """L[j] = chol(T' A11[j] T + I) (lower); returns 2 * sum(log(diag)), or nan if not PD."""
    cdef Py_ssize_t m = A11.shape[0], k = A11.shape[1]
    cdef Py_ssize_t j, a, b, c
    cdef double s, ld = 0.0
    cdef double tmp[64]  # A T for k <= 8; larger k goes through the generic path below
    cdef Py_ssize_t ldl = L.strides[1] // sizeof(double)  # row length of a level's block
    if k == 1:
        for j in range(m):
            s = T[0, 0] * T[0, 0] * A11[j, 0, 0] + 1.0
            if not s > 0.0:
                return float("nan")
            s = sqrt(s)
            L[j, 0, 0] = s
            ld += log(s)
        return 2.0 * ld
    if k > 8:
        return _factor_first_big(A11, T, L)
    for j in range(m):
        # tmp = A T (k x k, row-major tmp[a*k+b])
        for a in range(k):
            for b in range(k):
                s = 0.0
                for c in range(b, k):  # T lower triangular: T[c, b] = 0 for c < b
                    s += A11[j, a, c] * T[c, b]
                tmp[a * k + b] = s
        # L = T' tmp + I, lower triangle
        for a in range(k):
            for b in range(a + 1):
                s = 0.0
                for c in range(a, k):
                    s += T[c, a] * tmp[c * k + b]
                L[j, a, b] = s + (1.0 if a == b else 0.0)
            for b in range(a + 1, k):
                L[j, a, b] = 0.0
        # in-place Cholesky, lower; ld accumulates 2 log L_ii (twice the k = 1 branch's sum)
        if chol_lower(&L[j, 0, 0], k, ldl):
            return float("nan")
        ld = logdet_acc(ld, &L[j, 0, 0], k, ldl)
    return ld


cdef double _factor_first_big(const double[:, :, ::1] A11, const double[::1, :] T,
                              double[:, :, ::1] L):
    import numpy as np
    cdef Py_ssize_t m = A11.shape[0], k = A11.shape[1]
    Tn = np.asarray(T)
    ld = 0.0
    for j in range(m):
        M = Tn.T @ np.asarray(A11[j]) @ Tn + np.eye(k)
        try:
            Lj = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return float("nan")
        np.asarray(L)[j] = Lj
        ld += 2.0 * float(np.log(np.diag(Lj)).sum())
    return ld


cdef inline void _row_block(const double[:, ::1] V, Py_ssize_t row, const double[::1, :] T,
                            const double[:, :, ::1] L, Py_ssize_t j, double[:, ::1] D,
                            Py_ssize_t drow) noexcept nogil:
    """D[drow] = V[row] T L_j^{-T}: the row times T, then x L_j' = d solved forward."""
    cdef Py_ssize_t c, e, k = T.shape[0]
    cdef double s
    for c in range(k):
        s = 0.0
        for e in range(c, k):
            s += V[row, e] * T[e, c]
        D[drow, c] = s
    trsv_lower(&L[j, 0, 0], k, L.strides[1] // sizeof(double), &D[drow, 0], 1)


cdef void _downdate_scalar_cols(const long long[::1] ptr, const long long[::1] idx,
                                const double[:, ::1] V, double t, const double[:, :, ::1] L,
                                double[::1, :] S, const double[::1] lam, Py_ssize_t c0,
                                Py_ssize_t c1) noexcept nogil:
    """downdate_rest's k = 1 update restricted to the columns [c0, c1) of S: each column's
    elements receive the levels' products in the same order, with the same arithmetic, as in
    the whole update, so column ranges can go to different threads and give the same bits."""
    cdef Py_ssize_t j, a, b, lo, hi, mid, n0, n1, ia, ib
    cdef double t0, l0
    for j in range(L.shape[0]):
        n0 = ptr[j]
        n1 = ptr[j + 1]
        lo, hi = n0, n1  # first row of the level with idx >= c0 (idx ascending)
        while lo < hi:
            mid = (lo + hi) // 2
            if idx[mid] < c0:
                lo = mid + 1
            else:
                hi = mid
        if lo == n1 or idx[lo] >= c1:
            continue
        t0 = t / L[j, 0, 0]
        b = lo
        while b < n1 and idx[b] < c1:
            ib = idx[b]
            l0 = V[b, 0] * t0 * lam[ib]
            for a in range(b, n1):
                ia = idx[a]
                S[ia, ib] -= V[a, 0] * t0 * lam[ia] * l0
            b += 1


cpdef void downdate_rest(const long long[::1] ptr, const long long[::1] idx,
                         const double[:, ::1] V, const double[::1, :] T,
                         const double[:, :, ::1] L, double[::1, :] S,
                         double[:, ::1] D, const double[::1] lam,
                         bint d_only=False, int nthreads=1) noexcept:
    """S[idx_j, idx_j] -= D_j D_j' (lower triangle) with D_j = diag(lam[idx_j]) V_j T L_j^{-T}.

    lam scales the rows (Λ of scalar later terms, 1 for X and y; all ones when the caller
    applies Λ of the rest afterwards). d_only: only fill D (needs D as long as V), leave S.
    V_j = V[ptr[j]:ptr[j+1]] holds A21's column block j (rows idx_j, sorted ascending);
    D is a work array with at least max block length rows. Also stores D_j in D[ptr[j]:...]
    when D has as many rows as V (so the caller can keep the factor's off-diagonal block).
    nthreads > 1 (k = 1, S only): fixed ranges of CHOL_TILE columns shared by the threads
    (``_downdate_scalar_cols``; the same bits on any number).
    """
    cdef Py_ssize_t m = L.shape[0], k = L.shape[1]
    cdef Py_ssize_t j, a, b, c, e, n0, n1, nj, ia, ib, off
    cdef bint keep = D.shape[0] == V.shape[0]
    cdef double s, t0, l0
    cdef Py_ssize_t r = S.shape[0], nt = (S.shape[0] + CHOL_TILE - 1) // CHOL_TILE, ti
    if k == 1 and nthreads > 1 and not d_only and not keep:
        for ti in prange(nt, nogil=True, num_threads=nthreads, schedule="dynamic"):
            _downdate_scalar_cols(ptr, idx, V, T[0, 0], L, S, lam, ti * CHOL_TILE,
                                  min(r, (ti + 1) * CHOL_TILE))
        return
    for j in range(m):
        n0 = ptr[j]
        n1 = ptr[j + 1]
        nj = n1 - n0
        off = n0 if keep else 0
        if k == 1:
            t0 = T[0, 0] / L[j, 0, 0]
            for a in range(nj):
                D[off + a, 0] = V[n0 + a, 0] * t0 * lam[idx[n0 + a]]
            if d_only:
                continue
            for b in range(nj):
                ib = idx[n0 + b]
                l0 = D[off + b, 0]
                for a in range(b, nj):
                    ia = idx[n0 + a]
                    S[ia, ib] -= D[off + a, 0] * l0
            continue
        for a in range(nj):
            _row_block(V, n0 + a, T, L, j, D, off + a)
            l0 = lam[idx[n0 + a]]
            for c in range(k):
                D[off + a, c] *= l0
        if d_only:
            continue
        for b in range(nj):
            ib = idx[n0 + b]
            for a in range(b, nj):
                ia = idx[n0 + a]
                s = 0.0
                for c in range(k):
                    s += D[off + a, c] * D[off + b, c]
                S[ia, ib] -= s


cpdef void downdate_dense(const long long[::1] ptr, const long long[::1] idx,
                          const double[:, ::1] V, const double[::1, :] T,
                          const double[:, :, ::1] L, double[::1, :] S,
                          double[:, ::1] D, const double[::1] lam,
                          double[::1, :] buf, int nthreads=1) noexcept:
    """The same downdate as ``downdate_rest``, for levels with many rows each: the D_j of a
    chunk of levels are scattered into the dense columns of buf (r x chunk, zero on entry and
    on exit) and subtracted at once (lower triangle of S) by BLAS in fixed column tiles shared
    by nthreads threads (the same bits on any number, as potrf_lower)."""
    cdef Py_ssize_t m = L.shape[0], k = L.shape[1]
    cdef Py_ssize_t j, j0, a, c, n0, nj, col
    cdef Py_ssize_t chunk = buf.shape[1] // k
    cdef int r = <int>S.shape[0], ncol, ldb = <int>buf.shape[0]
    cdef double l0
    if m == 0 or r == 0:
        return
    j0 = 0
    while j0 < m:
        for j in range(j0, min(m, j0 + chunk)):
            n0 = ptr[j]
            nj = ptr[j + 1] - n0
            col = (j - j0) * k
            for a in range(nj):
                _row_block(V, n0 + a, T, L, j, D, a)
                l0 = lam[idx[n0 + a]]
                for c in range(k):
                    buf[idx[n0 + a], col + c] = D[a, c] * l0
        ncol = <int>((min(m, j0 + chunk) - j0) * k)
        with nogil:
            _syrk_tiled(&S[0, 0], r, &buf[0, 0], ldb, ncol, 0, nthreads)
        for j in range(j0, min(m, j0 + chunk)):
            n0 = ptr[j]
            nj = ptr[j + 1] - n0
            col = (j - j0) * k
            for a in range(nj):
                for c in range(k):
                    buf[idx[n0 + a], col + c] = 0.0
        j0 += chunk


cpdef void scale_rest(const double[::1, :] S, double[::1, :] out,
                      const long long[::1] blk, const long long[::1] cmp,
                      const long long[::1] kk, const long long[::1] toff,
                      const double[::1] Tflat, Py_ssize_t nz) noexcept:
    """out = Λr' S Λr + diag(1 on the first nz rows), lower triangles only.

    Row a of the rest belongs to a level block starting at blk[a] of size kk[a], is component
    cmp[a] of it, and its term's factor T is Tflat[toff[a] : toff[a] + kk[a]^2] (column-major);
    Λr is block diagonal with blocks T, so (Λr' S Λr)[a, b] = sum T[c, cmp a] S[.., ..] T[d, cmp b].
    X and y rows have kk = 1 and T = [1].
    """
    cdef Py_ssize_t r = S.shape[0]
    cdef Py_ssize_t a, b, c, d, ka, kb, ba, bb, ca, cb, ta, tb, i1, i2
    cdef double s, ta_c, v
    for b in range(r):
        kb = kk[b]
        bb = blk[b]
        cb = cmp[b]
        tb = toff[b]
        for a in range(b, r):
            ka = kk[a]
            ba = blk[a]
            ca = cmp[a]
            ta = toff[a]
            if ka == 1 and kb == 1:
                out[a, b] = Tflat[ta] * S[a, b] * Tflat[tb]
            else:
                s = 0.0
                for c in range(ca, ka):
                    ta_c = Tflat[ta + c + ca * ka]
                    i1 = ba + c
                    for d in range(cb, kb):
                        i2 = bb + d
                        if i1 >= i2:
                            v = S[i1, i2]
                        else:
                            v = S[i2, i1]
                        s += ta_c * v * Tflat[tb + d + cb * kb]
                out[a, b] = s
        if b < nz:
            out[b, b] += 1.0


# potrf_lower's tiling: panel width, and the rows (panel solve) or columns (trailing update)
# of one unit of work, whatever the number of threads. 1159 rows (InstEval's dense part) on
# this 2-core machine: 14.4 ms on one thread, 8.3 on two; OpenBLAS's dpotrf 14.3 / 9.2. The
# panel width sets the rounding (the tiles do not): 48, 64, 96 and 128 are equally fast; see
# bench/README.md for why it is not 64.
cdef enum:
    CHOL_NB = 96
    CHOL_TILE = 192


cdef void _panel_solve(double *S, int n, int k, int kb, int r0, int r1) noexcept nogil:
    """Rows [r0, r1) of panel k: S[r, k:k+kb] <- S[r, k:k+kb] L_kk^{-T}."""
    cdef double one = 1.0
    cdef char lo = b'L', tr = b'T', nu = b'N', right = b'R'
    cdef int rows = r1 - r0
    dtrsm(&right, &lo, &tr, &nu, &rows, &kb, &one, &S[k + k * n], &n, &S[r0 + k * n], &n)


cdef void _syrk_tile(double *S, int n, double *B, int ldb, int kk, int c0,
                     int c1) noexcept nogil:
    """Columns [c0, c1) of S's lower triangle (rows >= c0) minus B B' (B: rows aligned with
    S's, kk columns, leading dimension ldb): dsyrk on the diagonal block, dgemm below.
    B is read only, but scipy's cython_blas declares BLAS's arrays non-const, so B is too."""
    cdef double one = 1.0, minus1 = -1.0
    cdef char lo = b'L', tr = b'T', nu = b'N'
    cdef int w = c1 - c0, below = n - c1
    dsyrk(&lo, &nu, &w, &kk, &minus1, &B[c0], &ldb, &one, &S[c0 + c0 * n], &n)
    if below > 0:
        dgemm(&nu, &tr, &below, &w, &kk, &minus1, &B[c1], &ldb, &B[c0], &ldb, &one,
              &S[c1 + c0 * n], &n)


cdef void _syrk_tiled(double *S, int n, double *B, int ldb, int kk, int r0,
                      int nthreads) noexcept nogil:
    """S[r0:, r0:] -= B[r0:] B[r0:]' (lower triangle) in fixed tiles of CHOL_TILE columns,
    shared by nthreads OpenMP threads: the same bits on any number of threads."""
    cdef int t, m = n - r0, ntile = (m + CHOL_TILE - 1) // CHOL_TILE
    if m <= 0 or kk <= 0:
        return
    if nthreads > 1:
        for t in prange(ntile, num_threads=nthreads, schedule="dynamic"):
            _syrk_tile(S, n, B, ldb, kk, r0 + t * CHOL_TILE, r0 + min(m, (t + 1) * CHOL_TILE))
    else:
        for t in range(ntile):
            _syrk_tile(S, n, B, ldb, kk, r0 + t * CHOL_TILE, r0 + min(m, (t + 1) * CHOL_TILE))


cpdef int potrf_lower(double[::1, :] S, int nthreads=1) noexcept:
    """Cholesky (lower, in place) of a Fortran-ordered square matrix; returns LAPACK's info.

    Right-looking in panels of CHOL_NB columns: dpotf2 on the diagonal block, then the rows
    below it (dtrsm) and the trailing matrix (dsyrk/dgemm) in fixed tiles, shared among
    nthreads OpenMP threads, each tile one single-threaded BLAS call (OpenBLAS must run one
    thread meanwhile). Tiles write disjoint parts, so the factor is the same to the bit on
    any number of threads: a large dense part can use every core without the optimizer's
    path, and so the last digits of a fit, depending on it. (OpenBLAS's own dpotrf picks its
    blocking by its thread count, and its threaded dtrsm and dgemm round the rows at a
    thread's edge differently.)
    """
    cdef int n = <int>S.shape[0], k = 0, kb, m, info = 0, t, nchunk, r0
    cdef char lo = b'L'
    cdef double *A = &S[0, 0]
    while k < n:
        kb = min(<int>CHOL_NB, n - k)
        dpotf2(&lo, &kb, &A[k + k * n], &n, &info)
        if info != 0:
            return info + k
        r0 = k + kb
        m = n - r0
        if m > 0:
            nchunk = (m + CHOL_TILE - 1) // CHOL_TILE
            if nthreads > 1:
                for t in prange(nchunk, nogil=True, num_threads=nthreads, schedule="dynamic"):
                    _panel_solve(A, n, k, kb, r0 + t * CHOL_TILE,
                                 r0 + min(m, (t + 1) * CHOL_TILE))
            else:
                for t in range(nchunk):
                    _panel_solve(A, n, k, kb, r0 + t * CHOL_TILE,
                                 r0 + min(m, (t + 1) * CHOL_TILE))
            with nogil:
                _syrk_tiled(A, n, &A[k * n], n, kb, r0, nthreads)
        k += kb
    return 0


cpdef tuple evaluate(const double[:, :, ::1] A11, const long long[::1] ptr,
                     const long long[::1] idx, const double[:, ::1] V,
                     const double[::1, :] Arr, const double[::1] Tflat,
                     const double[::1, :] T1,
                     const long long[::1] blk, const long long[::1] cmp,
                     const long long[::1] kk, const long long[::1] toff,
                     Py_ssize_t nz, Py_ssize_t p,
                     double[:, :, ::1] L, double[::1, :] S, double[::1, :] F,
                     double[:, ::1] D, double[::1] lam, bint scalar_rest,
                     double[::1, :] buf, bint dense_dd, int nthreads=1):
    """One objective evaluation: returns (ldL2, ldRX2, pwrss, info).

    Arr is copied into S (work), downdated by the first block, scaled into F and factored in
    place; L receives the first block's factor. With scalar_rest (every later term has k = 1)
    Λ of the rest is diagonal: Arr is scaled while copied into F and the downdate goes straight
    into F with rows scaled by lam (S and the scaling pass are skipped). dense_dd: downdate
    through BLAS (``downdate_dense``) with the work array buf; nthreads: threads of the dense
    factor (potrf_lower). T1 is the first term's factor (a Fortran view
    of Tflat's first k1*k1 entries). info != 0 means a non-positive-definite matrix.
    """
    cdef Py_ssize_t r = Arr.shape[0]
    cdef Py_ssize_t i, j
    cdef double ld1, ldz = 0.0, ldx = 0.0, last
    cdef int info
    ld1 = factor_first(A11, T1, L)
    if ld1 != ld1:
        return (float("nan"), float("nan"), float("nan"), -1)
    if scalar_rest:
        for i in range(r):
            lam[i] = Tflat[toff[i]]
        for j in range(r):
            for i in range(j, r):
                F[i, j] = Arr[i, j] * lam[i] * lam[j]
            if j < nz:
                F[j, j] += 1.0
        if dense_dd:
            downdate_dense(ptr, idx, V, T1, L, F, D, lam, buf, nthreads)
        else:
            downdate_rest(ptr, idx, V, T1, L, F, D, lam, False, nthreads)
    else:
        for i in range(r):
            lam[i] = 1.0
        for j in range(r):
            for i in range(j, r):
                S[i, j] = Arr[i, j]
        if dense_dd:
            downdate_dense(ptr, idx, V, T1, L, S, D, lam, buf, nthreads)
        else:
            downdate_rest(ptr, idx, V, T1, L, S, D, lam, False, nthreads)
        scale_rest(S, F, blk, cmp, kk, toff, Tflat, nz)
    info = potrf_lower(F, nthreads)
    if info != 0:
        return (float("nan"), float("nan"), float("nan"), info)
    for i in range(nz):
        ldz += log(F[i, i])
    for i in range(nz, nz + p):
        ldx += log(F[i, i])
    last = F[r - 1, r - 1]
    return (ld1 + 2.0 * ldz, 2.0 * ldx, last * last, 0)


cdef class Evaluator:
    """Holds every array of one blocked factor so that an objective evaluation is one cheap
    call (no per-call buffer acquisition): ``run(theta)`` -> (ldL2, ldRX2, pwrss, info)."""

    cdef const double[:, :, ::1] A11
    cdef const long long[::1] ptr, idx, blk, cmp, kk, toff, tpos
    cdef const double[:, ::1] V
    cdef const double[::1, :] Arr, T1
    cdef double[::1] Tflat, lam
    cdef double[:, :, ::1] L
    cdef double[::1, :] S, F
    cdef double[:, ::1] D
    cdef Py_ssize_t nz, p
    cdef bint scalar_rest, dense_dd
    cdef double[::1, :] buf
    cdef public int nthreads  # threads of the dense factor (potrf_lower)

    def __init__(self, A11, ptr, idx, V, Arr, Tflat, T1, blk, cmp, kk, toff, Py_ssize_t nz,
                 Py_ssize_t p, L, S, F, D, lam, bint scalar_rest, buf, bint dense_dd, tpos):
        self.A11 = A11
        self.ptr = ptr
        self.idx = idx
        self.V = V
        self.Arr = Arr
        self.Tflat = Tflat
        self.T1 = T1
        self.blk = blk
        self.cmp = cmp
        self.kk = kk
        self.toff = toff
        self.nz = nz
        self.p = p
        self.L = L
        self.S = S
        self.F = F
        self.D = D
        self.lam = lam
        self.scalar_rest = scalar_rest
        self.buf = buf
        self.dense_dd = dense_dd
        self.tpos = tpos
        self.nthreads = 1

    def run(self, const double[::1] theta):
        cdef Py_ssize_t i
        for i in range(self.tpos.shape[0]):
            self.Tflat[self.tpos[i]] = theta[i]
        return evaluate(self.A11, self.ptr, self.idx, self.V, self.Arr, self.Tflat, self.T1,
                        self.blk, self.cmp, self.kk, self.toff, self.nz, self.p, self.L,
                        self.S, self.F, self.D, self.lam, self.scalar_rest, self.buf,
                        self.dense_dd, self.nthreads)
