# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Per-row kernels of glmer around PIRLS (whose iteration is lmepy/kernels/pirls.pyx): the
joint (u, beta) solve with one scalar term, the adaptive Gauss-Hermite sum, Z b by term, and
the re-weighted cross-products of the blocked factor (lmepy/fit/reweight.py).

Every per-row family quantity (inverse link, mu_eta, working weights and residuals, deviance
residuals) comes from the one layer in glmrow.pxd, dispatched by the (family, link) codes of
glm_family.codes(); the small dense blocks use smallblock.pxd. The numpy references are in
lmepy/fit/predictor.py and pirls.py (tests/test_glmer.py compares them).
"""

import numpy as np

from libc.math cimport exp, log
from scipy.linalg.cython_blas cimport dtrsv

from lmepy.kernels cimport glmrow as R
from lmepy.kernels.smallblock cimport (chol_lower, logdet_acc, syr_lower, trsv_lower,
                                      trsv_lower_t)


def group_sums(const long long[::1] codes, const double[::1] x, Py_ssize_t m):
    """Sum of x within each level (np.bincount without the weights copy)."""
    cdef Py_ssize_t n = codes.shape[0], i
    out_arr = np.zeros(m)
    cdef double[::1] out = out_arr
    with nogil:
        for i in range(n):
            out[codes[i]] += x[i]
    return out_arr


def add_term_eta(double[::1] out, const long long[::1] codes, const double[:, ::1] rows,
                 const double[:, ::1] b):
    """out += rows[i] . b[codes[i]]: one random-effects term's share of Z b."""
    cdef Py_ssize_t n = out.shape[0], k = rows.shape[1], i, a
    cdef double s
    with nogil:
        if k == 1:
            for i in range(n):
                out[i] += rows[i, 0] * b[codes[i], 0]
        else:
            for i in range(n):
                s = 0.0
                for a in range(k):
                    s += rows[i, a] * b[codes[i], a]
                out[i] += s


def joint_single_solve(double lam, const double[::1] w, const double[::1] z,
                       const double[::1] x, const long long[::1] codes,
                       const double[:, ::1] X, Py_ssize_t m):
    """(u, β, log|L|², log|R_X|², ok) for one scalar term: one pass over the rows for the
    level sums a_j = Σ w x², B_j = Σ w x X, c_j = Σ w x z and X'WX, X'Wz; then the p x p
    Schur complement S = X'WX - Σ λ² B_j B_j' / d_j (d_j = λ² a_j + 1), its Cholesky
    factor, β and u_j = λ (c_j - B_j β) / d_j (``_Glmm._solve_joint_single`` in numpy).
    ok is False when S is not positive definite."""
    cdef Py_ssize_t n = w.shape[0], p = X.shape[1], i, j, k, l
    a_arr = np.zeros(m)
    c_arr = np.zeros(m)
    B_arr = np.zeros((m, p))
    S_arr = np.zeros((p, p))
    r_arr = np.zeros(p)
    u_arr = np.empty(m)
    beta_arr = np.zeros(p)
    cdef double[::1] a = a_arr, c = c_arr, rhs = r_arr, u = u_arr, beta = beta_arr
    cdef double[:, ::1] B = B_arr, S = S_arr
    cdef double wx, wi, lam2 = lam * lam, f, s, ld = 0.0, ldx = 0.0
    cdef bint ok = True
    with nogil:
        for i in range(n):
            wi = w[i]
            j = codes[i]
            wx = wi * x[i]
            a[j] += wx * x[i]
            c[j] += wx * z[i]
            for k in range(p):
                B[j, k] += wx * X[i, k]
                rhs[k] += wi * X[i, k] * z[i]
            syr_lower(&S[0, 0], p, p, wi, &X[i, 0], 1)
        for j in range(m):
            a[j] = lam2 * a[j] + 1.0  # d_j
            ld += log(a[j])
            f = lam2 / a[j]
            for k in range(p):
                rhs[k] -= f * B[j, k] * c[j]
            syr_lower(&S[0, 0], p, p, -f, &B[j, 0], 1)
        # Cholesky S = L L' in the lower triangle, then L L' β = rhs
        ok = chol_lower(&S[0, 0], p, p) == 0
        if ok:
            ldx = logdet_acc(0.0, &S[0, 0], p, p)
            for k in range(p):
                beta[k] = rhs[k]
            trsv_lower(&S[0, 0], p, p, &beta[0], 1)
            trsv_lower_t(&S[0, 0], p, p, &beta[0], 1)
            for j in range(m):
                s = c[j]
                for k in range(p):
                    s -= B[j, k] * beta[k]
                u[j] = lam * s / a[j]
    return u_arr, beta_arr, ld, ldx, ok


def agq_log_mult(int fam, int link, double lam, const double[::1] fixed,
                 const double[::1] x,
                 const long long[::1] codes, const double[::1] y, const double[::1] wt,
                 const double[::1] u0, const double[::1] sd, const double[::1] g0,
                 const double[::1] z, const double[::1] wz):
    """Σ_j log Σ_k wz_k exp(-(g_jk - g0_j)/2 + z_k²/2) for adaptive Gauss-Hermite with one
    scalar term (family and link codes of glm_family.codes()): g_jk is level j's deviance plus
    u² at u_jk = u0_j + z_k sd_j; a node at zero contributes wz_k (its g is g0). The loop of
    ``_Glmm.agq_value`` in one call."""
    cdef Py_ssize_t n = y.shape[0], m = u0.shape[0], nk = z.shape[0], i, j, k
    mult_arr = np.zeros(m)
    dev_arr = np.zeros(m)
    uk_arr = np.zeros(m)
    cdef double[::1] mult = mult_arr, dev = dev_arr, uk = uk_arr
    cdef double e, mu, s = 0.0, zk
    with nogil:
        for k in range(nk):
            zk = z[k]
            if zk == 0.0:
                for j in range(m):
                    mult[j] += wz[k]
                continue
            for j in range(m):
                uk[j] = u0[j] + zk * sd[j]
                dev[j] = 0.0
            for i in range(n):
                e = fixed[i] + lam * x[i] * uk[codes[i]]
                mu = R.linkinv(link, e)
                dev[codes[i]] += R.dev_resid(fam, y[i], mu, wt[i])
            for j in range(m):
                mult[j] += wz[k] * exp(-0.5 * (dev[j] + uk[j] * uk[j] - g0[j]) + 0.5 * zk * zk)
        for j in range(m):
            s += log(mult[j])
    return s


ctypedef fused index_t:
    int
    long long


def scatter_lower(const double[:, ::1] cvals, const double[::1] z, const double[::1] w,
                  const index_t[:, ::1] dest, double[::1] buf):
    """buf[dest[i, p]] += w_i c_a c_b for each row i and pair p = (a <= b) of its K entries
    plus the working response z (entry K): the weighted cross-products [Z X z]'W[Z X z],
    each pair written once (the lower triangle of the blocked layout; the caller mirrors
    it). buf is zeroed first."""
    cdef Py_ssize_t n = cvals.shape[0], K = cvals.shape[1], i, a, b, p
    cdef double wi, ca, zi
    buf[:] = 0.0
    with nogil:
        for i in range(n):
            wi = w[i]
            zi = z[i]
            p = 0
            for a in range(K + 1):
                ca = wi * (cvals[i, a] if a < K else zi)
                for b in range(a, K + 1):
                    buf[dest[i, p]] += ca * (cvals[i, b] if b < K else zi)
                    p += 1


def fill_symmetric(const double[::1] low, double[::1, :] A):
    """A[i, j] = A[j, i] = low[i + j r] for i >= j: a Fortran r x r matrix from the lower
    triangle that the scatter kernel wrote (column-major)."""
    cdef Py_ssize_t r = A.shape[0], i, j
    cdef double v
    with nogil:
        for j in range(r):
            for i in range(j, r):
                v = low[i + j * r]
                A[i, j] = v
                A[j, i] = v


def scalar_solve(const double[::1, :] F, const double[:, ::1] V, const long long[::1] idx,
                 const long long[::1] lev, const double[::1] Tflat,
                 const long long[::1] toff, const double[:, :, ::1] L, Py_ssize_t m1):
    """(u1, v) from a blocked factor whose terms are all scalar (``Reweighter.solve``):
    v solves L_r' v = l_y (L_r the leading r-1 block of the dense factor F, l_y its last
    row) and u1_j = -λ1 Σ_e V_e (Λr [v; -1])_idx(e) / L_jj²; u = [u1, v[:q2]] and
    β = v[q2:]."""
    cdef Py_ssize_t r = F.shape[0], i, e, nv = V.shape[0]
    cdef int n = <int>r, lda = <int>r, inc = 1
    cdef char uplo = b'L'
    cdef char trans = b'T'
    cdef char diag = b'N'
    x_arr = np.empty(r)
    u_arr = np.zeros(m1)
    v_arr = np.empty(r - 1)
    cdef double[::1] x = x_arr, u = u_arr, v = v_arr
    cdef double lam1 = Tflat[0], l
    with nogil:
        for i in range(r - 1):
            x[i] = F[r - 1, i]
        x[r - 1] = 0.0  # a zero last right-hand side: the whole factor gives v and a 0
        if r > 1:
            dtrsv(&uplo, &trans, &diag, &n, <double*>&F[0, 0], &lda, &x[0], &inc)
        for i in range(r - 1):
            v[i] = x[i]
            x[i] = x[i] * Tflat[toff[i]]
        x[r - 1] = -Tflat[toff[r - 1]]
        for e in range(nv):
            u[lev[e]] += V[e, 0] * x[idx[e]]
        for i in range(m1):
            l = L[i, 0, 0]
            u[i] = -lam1 * u[i] / (l * l)
    return u_arr, v_arr
