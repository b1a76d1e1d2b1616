# cython: language_level=3
"""Small dense-block primitives shared by every kernel (lme_single, blocked, glm_kernels).

A block is row-major with a leading dimension: element (i, j) of an n x n block at ``A`` is
``A[i * ld + j]`` (a C-contiguous (n, n) array has ld = n; a block inside a larger one has the
larger one's row length), so the same routine works on a k x k level block, a p x p Schur
complement or the leading part of a (q + 1) x (q + 1) corner. Vectors have a stride
(``inc``), so a column of a row-major matrix is a vector too. Only lower triangles are read
or written. These are the unblocked textbook loops, written once: the kernels that used to
spell them out get the same operations in the same order (so the same bits). Large dense
parts go to LAPACK/BLAS instead (blocked.pyx: potrf_lower). The numpy twin is
lmepy/kernels/smallblock_reference.py; tests/test_smallblock.py checks both against numpy.
"""

from libc.math cimport log, sqrt


cdef inline int chol_lower(double* A, Py_ssize_t n, Py_ssize_t ld) noexcept nogil:
    """In-place lower Cholesky factor of the n x n block: 0, or j + 1 when the j-th pivot
    is not positive (NaN included); columns before j are then factored, the rest untouched."""
    cdef Py_ssize_t i, j, a
    cdef double s, t
    for j in range(n):
        s = A[j * ld + j]
        for a in range(j):
            s -= A[j * ld + a] * A[j * ld + a]
        if not (s > 0.0):
            return <int>(j + 1)
        s = sqrt(s)
        A[j * ld + j] = s
        for i in range(j + 1, n):
            t = A[i * ld + j]
            for a in range(j):
                t -= A[i * ld + a] * A[j * ld + a]
            A[i * ld + j] = t / s
    return 0


cdef inline double logdet_acc(double acc, const double* L, Py_ssize_t n,
                              Py_ssize_t ld) noexcept nogil:
    """acc + log|L L'| = acc + sum 2 log L_ii, added term by term in index order (so a
    running total over many blocks is the same sum as one written inline)."""
    cdef Py_ssize_t i
    for i in range(n):
        acc += 2.0 * log(L[i * ld + i])
    return acc


cdef inline void trsv_lower(const double* L, Py_ssize_t n, Py_ssize_t ld, double* x,
                            Py_ssize_t inc) noexcept nogil:
    """x <- L^{-1} x (forward substitution with the lower factor L)."""
    cdef Py_ssize_t i, a
    cdef double s
    for i in range(n):
        s = x[i * inc]
        for a in range(i):
            s -= L[i * ld + a] * x[a * inc]
        x[i * inc] = s / L[i * ld + i]


cdef inline void trsv_lower_t(const double* L, Py_ssize_t n, Py_ssize_t ld, double* x,
                              Py_ssize_t inc) noexcept nogil:
    """x <- L^{-T} x (back substitution with the transpose of the lower factor L)."""
    cdef Py_ssize_t i, a
    cdef double s
    for i in range(n - 1, -1, -1):
        s = x[i * inc]
        for a in range(i + 1, n):
            s -= L[a * ld + i] * x[a * inc]
        x[i * inc] = s / L[i * ld + i]


cdef inline void syr_lower(double* A, Py_ssize_t n, Py_ssize_t ld, double alpha,
                           const double* x, Py_ssize_t inc) noexcept nogil:
    """A <- A + alpha x x' on the lower triangle (a symmetric rank-1 update; alpha < 0 is a
    downdate). Each element gets (alpha x_i) x_j, so alpha = -f gives A - f x_i x_j exactly."""
    cdef Py_ssize_t i, j
    cdef double ai
    for i in range(n):
        ai = alpha * x[i * inc]
        for j in range(i + 1):
            A[i * ld + j] += ai * x[j * inc]
