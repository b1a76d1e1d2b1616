# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""One PIRLS iteration (lme4's pwrssUpdate) for every block structure the kernels solve.

``_pwrss`` is the loop, written once: working weights and residuals from the family layer
(glmrow.pxd), the penalized solve, the new μ and deviance, the convergence test on the
penalized deviance and lme4's step-halving. What differs between models is only the
penalized solve, a predictor (the ``Predictor`` fused type; Cython compiles the loop once
per predictor, with direct calls, so the shared loop costs nothing against a hand-written
one):

- ``_ScalarPredictor``: u alone, one scalar random-effects term (the level blocks of
  Λ'Z'WZΛ + I are scalars);
- ``_TreePredictor`` / ``_TreeJointPredictor``: u alone, or u and β together, for scalar
  terms nested in one another (Λ'Z'WZΛ + I is then a tree: a node couples only with its
  ancestors, and its Cholesky factor has no fill beyond them; β's p x p Schur complement is
  factored by smallblock.pxd). One source (the fused ``_tree_*`` functions) for both.

The general case (vector-valued or crossed terms, the blocked factor of lmepy/fit/blocks.py)
runs the same loop (``pirls_general``) with the solve and η as Python callbacks from
lmepy/fit/predictor.py and, for families outside the kernel layer's bit-neutral set, the
response's numpy methods. The loop's numpy twin is lmepy/fit/pirls.py's ``pwrss_reference``
(tests/test_pirls.py: kernels against the twin and the general solve).

Entry points: ``pirls_single``, ``pirls_nested``, ``pirls_nested_joint`` (the signatures the
fit code called before), ``pirls_general`` with ``code_response``. Status codes: 0 converged,
1 step-halvings failed, 2 no convergence in maxit, 3 β's Schur complement not positive
definite (inside the loop: 4, an exception in a Python callback, raised again on return).
"""

import cython
import numpy as np

from libc.float cimport DBL_MAX
from libc.math cimport fabs, isfinite, log, sqrt

from lmepy.kernels cimport glmrow as R
from lmepy.kernels.smallblock cimport (chol_lower, logdet_acc, syr_lower, trsv_lower,
                                      trsv_lower_t)


cdef class _Predictor:
    """What every penalized solve holds: u, the previous iterate, and the solve's log|L|²
    (``ld``), log|R_X|² (``ldx``) and ||u||² (``uu``). A predictor (a final subclass) has the
    steps ``accumulate(w, r)`` (the normal equations from every row's working weight and
    residual), ``solve`` (nonzero when a factor is not positive definite), ``set_eta`` (η at
    the current iterate), ``halve`` (half-way back to the previous iterate, ||u||² updated)
    and ``save`` (the current iterate becomes the previous one), as methods or as the fused
    ``_tree_*`` functions; ``_accumulate`` ... ``_save`` below pick them at compile time."""

    cdef object u_arr
    cdef double[::1] u, uold
    cdef double ld, ldx, uu

    def __init__(self, Py_ssize_t q):
        self.u_arr = np.zeros(q)
        self.u = self.u_arr
        self.uold = np.zeros(q)
        self.ld = self.ldx = self.uu = 0.0

    cdef bint failed(self) noexcept nogil:
        return False

    cdef void halve_u(self) noexcept nogil:
        """u half-way back to the previous iterate, and its ||u||²."""
        cdef Py_ssize_t j
        cdef double uu = 0.0
        cdef double* u = &self.u[0]
        cdef const double* uold = &self.uold[0]
        for j in range(self.u.shape[0]):
            u[j] = 0.5 * (uold[j] + u[j])
            uu += u[j] * u[j]
        self.uu = uu

    cdef void save_u(self) noexcept nogil:
        cdef Py_ssize_t j
        cdef const double* u = &self.u[0]
        cdef double* uold = &self.uold[0]
        for j in range(self.u.shape[0]):
            uold[j] = u[j]


@cython.final
cdef class _ScalarPredictor(_Predictor):
    """u alone for one scalar term: d_j = λ² Σ w x² + 1, u_j = λ Σ w x r / d_j."""

    cdef double lam
    cdef const double[::1] fixed, x
    cdef const long long[::1] codes
    cdef double[::1] a, c, b

    def __init__(self, double lam, const double[::1] fixed, const long long[::1] codes,
                 const double[::1] x, Py_ssize_t m):
        super().__init__(m)
        self.lam = lam
        self.fixed = fixed
        self.codes = codes
        self.x = x
        self.a = np.zeros(m)
        self.c = np.zeros(m)
        self.b = np.zeros(m)

    cdef inline void accumulate(self, const double[::1] w,
                                const double[::1] r) noexcept nogil:
        cdef Py_ssize_t i, j
        cdef double wx
        cdef double* a = &self.a[0]
        cdef double* c = &self.c[0]
        cdef const double* x = &self.x[0]
        cdef const long long* codes = &self.codes[0]
        for j in range(self.a.shape[0]):
            a[j] = 0.0
            c[j] = 0.0
        for i in range(w.shape[0]):
            wx = w[i] * x[i]
            a[codes[i]] += wx * x[i]
            c[codes[i]] += wx * r[i]

    cdef inline int solve(self) noexcept nogil:
        cdef Py_ssize_t j
        cdef double d, lam = self.lam, ld = 0.0, uu = 0.0
        cdef double* u = &self.u[0]
        cdef const double* a = &self.a[0]
        cdef const double* c = &self.c[0]
        for j in range(self.a.shape[0]):
            d = lam * lam * a[j] + 1.0
            u[j] = lam * c[j] / d
            ld += log(d)
            uu += u[j] * u[j]
        self.ld = ld
        self.uu = uu
        return 0

    cdef inline void set_eta(self, double[::1] eta) noexcept nogil:
        cdef Py_ssize_t i
        cdef double lam = self.lam
        cdef double* b = &self.b[0]
        cdef const double* u = &self.u[0]
        cdef const double* x = &self.x[0]
        cdef const double* fixed = &self.fixed[0]
        cdef const long long* codes = &self.codes[0]
        for i in range(self.b.shape[0]):
            b[i] = u[i] * lam
        for i in range(eta.shape[0]):
            eta[i] = fixed[i] + x[i] * b[codes[i]]

_PLACEHOLDER_2D = np.zeros((1, 1))
_PLACEHOLDER_1D = np.zeros(1)
_NO_BETA = np.zeros(0)


cdef class _TreeBase(_Predictor):
    """Nested scalar terms: node j (a Zt row) couples with its ancestors anc[j, k] only, so
    the factor is the node diagonal d and the ancestor entries E. ``_TreePredictor`` solves
    for u alone; ``_TreeJointPredictor`` for u and β, the p columns of X last (G: node x
    column entries, S: the Schur complement R_X'R_X). Their methods are the fused functions
    ``_tree_*`` below: one source, compiled once without the X columns and once with."""

    cdef const double[::1] lam, fixed, offset
    cdef const double[:, ::1] x, X
    cdef const long long[:, ::1] nodes, anc
    cdef const long long[::1] node_term
    cdef Py_ssize_t T, p, sp
    cdef bint joint
    cdef object b_arr
    cdef double[::1] d, c, cx, b, bold
    cdef double[:, ::1] E, G, S

    def __init__(self, const double[::1] lam, const double[::1] fixed,
                 const double[::1] offset, const double[:, ::1] x,
                 const long long[:, ::1] nodes, const long long[:, ::1] anc,
                 const long long[::1] node_term, const double[:, ::1] X, Py_ssize_t q,
                 bint joint):
        super().__init__(q)
        cdef Py_ssize_t K = anc.shape[1]
        self.lam = lam
        self.fixed = fixed
        self.offset = offset
        self.x = x
        self.nodes = nodes
        self.anc = anc
        self.node_term = node_term
        self.T = nodes.shape[0]
        self.joint = joint
        self.X = X
        self.p = X.shape[1] if joint else 0
        self.d = np.zeros(q)
        self.c = np.zeros(q)
        self.E = np.zeros((q, max(K, 1)))
        if joint:
            self.G = np.zeros((q, max(self.p, 1)))
            self.S = np.zeros((max(self.p, 1), max(self.p, 1)))
            self.cx = np.zeros(max(self.p, 1))
            self.b_arr = np.zeros(self.p)
            self.bold = np.zeros(self.p)
        else:  # never read or written (p = 0): shared placeholders
            self.G = self.S = _PLACEHOLDER_2D
            self.cx = self.bold = _PLACEHOLDER_1D
            self.b_arr = _NO_BETA
        self.b = self.b_arr
        self.sp = self.S.shape[1]

@cython.final
cdef class _TreePredictor(_TreeBase):
    """u alone (β fixed, in ``fixed``); its methods are the ``_tree_*`` functions."""


@cython.final
cdef class _TreeJointPredictor(_TreeBase):
    """u and β together; its methods are the ``_tree_*`` functions."""


ctypedef fused TreeT:
    _TreePredictor
    _TreeJointPredictor


cdef inline void _tree_accumulate(TreeT P, const double[::1] w,
                                  const double[::1] r) noexcept nogil:
    cdef Py_ssize_t p = P.p if TreeT is _TreeJointPredictor else 0  # 0: no X columns
    cdef Py_ssize_t i, j, k, t, s, l, l2, nd, T = P.T
    cdef Py_ssize_t K = P.E.shape[1], ld_x = P.x.shape[1], ld_X = P.X.shape[1]
    cdef Py_ssize_t ld_n = P.nodes.shape[1], ldg = P.G.shape[1], sp = P.sp
    cdef double wi, ri, xt
    cdef double* d = &P.d[0]
    cdef double* c = &P.c[0]
    cdef double* E = &P.E[0, 0]
    cdef double* G = &P.G[0, 0]
    cdef double* cx = &P.cx[0]
    cdef double* S = &P.S[0, 0]
    cdef const double* x = &P.x[0, 0]
    cdef const double* X = &P.X[0, 0]
    cdef const double* lam = &P.lam[0]
    cdef const long long* nodes = &P.nodes[0, 0]
    for j in range(P.d.shape[0]):
        d[j] = 0.0
        c[j] = 0.0
        for k in range(K):
            E[j * K + k] = 0.0
        for l in range(p):
            G[j * ldg + l] = 0.0
    for l in range(p):
        cx[l] = 0.0
        for l2 in range(p):
            S[l * sp + l2] = 0.0
    for i in range(w.shape[0]):
        wi = w[i]
        ri = r[i]
        for t in range(T):
            nd = nodes[t * ld_n + i]
            xt = x[t * ld_x + i] * lam[t]
            d[nd] += wi * xt * xt
            c[nd] += wi * xt * ri
            for s in range(t + 1, T):
                E[nd * K + s - t - 1] += wi * xt * x[s * ld_x + i] * lam[s]
            for l in range(p):
                G[nd * ldg + l] += wi * xt * X[i * ld_X + l]
        if p:
            for l in range(p):
                cx[l] += wi * X[i * ld_X + l] * ri
            syr_lower(S, p, sp, wi, &X[i * ld_X], 1)

cdef inline int _tree_solve(TreeT P) noexcept nogil:
    cdef Py_ssize_t p = P.p if TreeT is _TreeJointPredictor else 0  # 0: no X columns
    cdef Py_ssize_t j, k, k2, a, l, t, T = P.T, q = P.d.shape[0]
    cdef Py_ssize_t K = P.E.shape[1], ldg = P.G.shape[1], kmax
    cdef double lv, zz, ld = 0.0, uu = 0.0
    cdef double* d = &P.d[0]
    cdef double* c = &P.c[0]
    cdef double* E = &P.E[0, 0]
    cdef double* G = &P.G[0, 0]
    cdef double* cx = &P.cx[0]
    cdef double* S = &P.S[0, 0]
    cdef double* u = &P.u[0]
    cdef double* b = &P.b[0] if p else NULL
    cdef const long long* anc = &P.anc[0, 0]
    cdef const long long* node_term = &P.node_term[0]
    cdef Py_ssize_t lda = P.anc.shape[1]
    # eliminate the tree nodes in node order (term 1's levels first): no fill
    for j in range(q):
        lv = sqrt(d[j] + 1.0)
        d[j] = lv
        ld += 2.0 * log(lv)
        kmax = T - 1 - node_term[j]
        for k in range(kmax):
            E[j * K + k] /= lv
        for l in range(p):
            G[j * ldg + l] /= lv
        for k in range(kmax):
            a = anc[j * lda + k]
            if a < 0:
                continue
            d[a] -= E[j * K + k] * E[j * K + k]
            for k2 in range(k + 1, kmax):
                if anc[j * lda + k2] >= 0:
                    E[a * K + k2 - k - 1] -= E[j * K + k] * E[j * K + k2]
            for l in range(p):
                G[a * ldg + l] -= E[j * K + k] * G[j * ldg + l]
        if p:
            syr_lower(S, p, P.sp, -1.0, &G[j * ldg], 1)
    P.ld = ld
    # R_X: the Cholesky factor of the Schur complement
    if p:
        if chol_lower(S, p, P.sp):
            return 3
        P.ldx = logdet_acc(0.0, S, p, P.sp)
    else:
        P.ldx = 0.0
    # forward over the nodes, then β, then back over the nodes
    for j in range(q):
        c[j] /= d[j]
        kmax = T - 1 - node_term[j]
        for k in range(kmax):
            a = anc[j * lda + k]
            if a >= 0:
                c[a] -= E[j * K + k] * c[j]
        for l in range(p):
            cx[l] -= G[j * ldg + l] * c[j]
    if p:
        for l in range(p):
            b[l] = cx[l]
        trsv_lower(S, p, P.sp, b, 1)
        trsv_lower_t(S, p, P.sp, b, 1)
    for j in range(q - 1, -1, -1):
        zz = c[j]
        kmax = T - 1 - node_term[j]
        for k in range(kmax):
            a = anc[j * lda + k]
            if a >= 0:
                zz -= E[j * K + k] * u[a]
        for l in range(p):
            zz -= G[j * ldg + l] * b[l]
        u[j] = zz / d[j]
        uu += u[j] * u[j]
    P.uu = uu
    return 0


cdef inline void _tree_set_eta(TreeT P, double[::1] eta) noexcept nogil:
    cdef Py_ssize_t p = P.p if TreeT is _TreeJointPredictor else 0  # 0: no X columns
    cdef Py_ssize_t i, t, l, T = P.T, n = eta.shape[0]
    cdef Py_ssize_t ld_x = P.x.shape[1], ld_n = P.nodes.shape[1]
    cdef Py_ssize_t ld_X = P.X.shape[1]
    cdef double e
    cdef const double* x = &P.x[0, 0]
    cdef const double* X = &P.X[0, 0]
    cdef const double* lam = &P.lam[0]
    cdef const double* fixed = &P.fixed[0]
    cdef const double* offset = &P.offset[0]
    cdef const long long* nodes = &P.nodes[0, 0]
    cdef const double* u = &P.u[0]
    cdef const double* b = &P.b[0] if p else NULL
    for i in range(n):
        if TreeT is _TreeJointPredictor:
            e = 0.0
            for l in range(p):
                e += X[i * ld_X + l] * b[l]
            e += offset[i]
        else:
            e = fixed[i]
        for t in range(T):
            e += x[t * ld_x + i] * (lam[t] * u[nodes[t * ld_n + i]])
        eta[i] = e


cdef inline void _tree_halve(TreeT P) noexcept nogil:
    cdef Py_ssize_t l
    P.halve_u()
    for l in range(P.p):
        P.b[l] = 0.5 * (P.bold[l] + P.b[l])


cdef inline void _tree_save(TreeT P) noexcept nogil:
    cdef Py_ssize_t l
    P.save_u()
    for l in range(P.p):
        P.bold[l] = P.b[l]


@cython.final
cdef class _PyPredictor(_Predictor):
    """The general penalized solve (lmepy/fit/predictor.py's blocked factor) called from the
    loop: ``solve_fn(w, z)`` -> (u, β, log|L|², log|R_X|²) and ``eta_fn(u, β)`` -> η, Python
    callables; ||u||² as numpy's u @ u. An exception in them ends the loop (status 4) and is
    raised again by the entry point."""

    cdef object solve_fn, eta_fn, eta_obj, w_obj, r_obj, b_arr, bold_arr, uold_arr, error
    cdef bint joint

    def __init__(self, solve_fn, eta_fn, u0, b0, bint joint):
        self.solve_fn = solve_fn
        self.eta_fn = eta_fn
        self.u_arr = np.asarray(u0, dtype=float)
        self.uold_arr = self.u_arr
        self.b_arr = np.asarray(b0, dtype=float)
        self.bold_arr = self.b_arr
        self.joint = joint
        self.error = None
        self.ld = self.ldx = self.uu = 0.0

    cdef inline void accumulate(self, const double[::1] w,
                                const double[::1] r) noexcept nogil:
        pass  # solve_fn reads the working pair from the buffers (w_obj, r_obj)

    cdef inline int solve(self) noexcept nogil:
        with gil:
            try:
                u, b, ld, ldx = self.solve_fn(self.w_obj, self.r_obj)
                self.u_arr, self.b_arr = u, b
                self.ld, self.ldx = ld, ldx
                self.uu = float(u @ u)
            except Exception as e:  # PirlsError and friends, raised again by the caller
                self.error = e
                return 4
        return 0

    cdef inline void set_eta(self, double[::1] eta) noexcept nogil:
        with gil:
            try:
                self.eta_obj[...] = self.eta_fn(self.u_arr, self.b_arr)
            except Exception as e:
                self.error = e

    cdef inline void halve(self) noexcept nogil:
        with gil:
            self.u_arr = 0.5 * (self.uold_arr + self.u_arr)
            if self.joint:
                self.b_arr = 0.5 * (self.bold_arr + self.b_arr)
            self.uu = float(self.u_arr @ self.u_arr)

    cdef inline void save(self) noexcept nogil:
        with gil:
            self.uold_arr = self.u_arr
            self.bold_arr = self.b_arr

    cdef bint failed(self) noexcept nogil:
        with gil:
            return self.error is not None


ctypedef fused Predictor:
    _ScalarPredictor
    _TreePredictor
    _TreeJointPredictor
    _PyPredictor


# ---- the response: μ, the deviance and the next working pair from η ------------------------

@cython.final
cdef class _CodeResponse:
    """The family by its kernel codes (glmrow.pxd): one pass gives μ, Σ dev.resid and the
    next iteration's working weights and residuals (less xb when has_xb)."""

    cdef int fam, link
    cdef bint has_xb
    cdef const double[::1] offset, xb, y, wt

    def __init__(self, int fam, int link, const double[::1] offset, const double[::1] xb,
                 bint has_xb, const double[::1] y, const double[::1] wt):
        cdef Py_ssize_t n = y.shape[0]
        if wt.shape[0] != n or offset.shape[0] != n or (has_xb and xb.shape[0] != n):
            raise ValueError("eta0, y, weights and offset must have one value per row")
        self.fam = fam
        self.link = link
        self.offset = offset
        self.xb = xb
        self.has_xb = has_xb
        self.y = y
        self.wt = wt

    cdef inline double update(self, const double[::1] eta, double[::1] mu, double[::1] w,
                              double[::1] r) noexcept nogil:
        cdef Py_ssize_t i
        cdef int fam = self.fam, link = self.link
        cdef bint has_xb = self.has_xb
        cdef double e, m, me, s = 0.0
        cdef const double* y = &self.y[0]
        cdef const double* wt = &self.wt[0]
        cdef const double* offset = &self.offset[0]
        cdef const double* xb = &self.xb[0]
        for i in range(eta.shape[0]):
            e = eta[i]
            R.linkinv_mu_eta(link, e, &m, &me)
            mu[i] = m
            s += R.dev_resid(fam, y[i], m, wt[i])
            w[i] = R.working_weight(fam, wt[i], me, m)
            r[i] = R.working_resid(e, offset[i], y[i], m, me)
            if has_xb:
                r[i] = r[i] - xb[i]
        return s

    cdef inline void prepare(self, const double[::1] eta, const double[::1] mu, double[::1] w,
                             double[::1] r) noexcept nogil:
        pass  # update() gave the working pair already

    cdef inline bint failed(self) noexcept nogil:
        return False


@cython.final
cdef class _PyResponse:
    """The family by lmepy/fit/response.py's methods (the numpy twin, for the families whose
    fits the kernel layer would move in the last bits): ``mu_dev(eta)`` in ``update``, and
    ``working`` only when an iteration starts (``prepare``)."""

    cdef object resp, eta_obj, mu_obj, w_obj, r_obj, error

    def __init__(self, resp):
        self.resp = resp
        self.error = None

    cdef inline double update(self, const double[::1] eta, double[::1] mu, double[::1] w,
                              double[::1] r) noexcept nogil:
        cdef double dr = 0.0
        with gil:
            try:
                m, dr = self.resp.mu_dev(self.eta_obj)
                self.mu_obj[...] = m
            except Exception as e:
                self.error = e
        return dr

    cdef inline void prepare(self, const double[::1] eta, const double[::1] mu, double[::1] w,
                             double[::1] r) noexcept nogil:
        """The working pair at the current η and μ, when an iteration needs it."""
        with gil:
            try:
                ww, zz = self.resp.working(self.eta_obj, self.mu_obj)
                self.w_obj[...] = ww
                self.r_obj[...] = zz
            except Exception as e:
                self.error = e

    cdef inline bint failed(self) noexcept nogil:
        with gil:
            return self.error is not None


ctypedef fused Response:
    _CodeResponse
    _PyResponse


# the predictor's steps: the tree predictors' are the fused _tree_* functions, the others'
# their methods (all resolved at compile time, one copy of _pwrss per predictor type)

cdef inline void _accumulate(Predictor P, const double[::1] w,
                             const double[::1] r) noexcept nogil:
    if Predictor is _TreePredictor or Predictor is _TreeJointPredictor:
        _tree_accumulate(P, w, r)
    else:
        P.accumulate(w, r)


cdef inline int _solve(Predictor P) noexcept nogil:
    if Predictor is _TreePredictor or Predictor is _TreeJointPredictor:
        return _tree_solve(P)
    else:
        return P.solve()


cdef inline void _set_eta(Predictor P, double[::1] eta) noexcept nogil:
    if Predictor is _TreePredictor or Predictor is _TreeJointPredictor:
        _tree_set_eta(P, eta)
    else:
        P.set_eta(eta)


cdef inline void _halve(Predictor P) noexcept nogil:
    if Predictor is _TreeJointPredictor:
        _tree_halve(P)
    elif Predictor is _PyPredictor:
        P.halve()
    else:
        P.halve_u()


cdef inline void _save(Predictor P) noexcept nogil:
    if Predictor is _TreeJointPredictor:
        _tree_save(P)
    elif Predictor is _PyPredictor:
        P.save()
    else:
        P.save_u()


cdef inline int _pwrss(Response Rs, Predictor P, double[::1] eta, double[::1] mu, double[::1] w,
                double[::1] r, double[::1] w_last, bint have_init, double tol, int maxit,
                double* dr, int* nit) noexcept nogil:
    """lme4's pwrssUpdate from η (in ``eta``) to convergence of the penalized deviance
    ||u||² + Σ dev.resid. Each update of η gives μ and the deviance (with the kernel
    family, the next working pair (w, r) in the same pass; otherwise ``prepare`` forms it
    when the next iteration starts); w_last receives the weights of the last solve.
    have_init: mu, w and r already hold their values at the starting η. Written once;
    Cython makes one copy per response and predictor type, with direct calls."""
    cdef Py_ssize_t n = eta.shape[0], i
    cdef double oldpdev = DBL_MAX, pdev = 0.0
    cdef int it, h
    if not have_init:
        Rs.update(eta, mu, w, r)
        if Rs.failed():
            return 4
    for it in range(1, maxit + 1):
        nit[0] = it
        Rs.prepare(eta, mu, w, r)
        if Rs.failed():
            return 4
        for i in range(n):
            w_last[i] = w[i]
        _accumulate(P, w, r)
        h = _solve(P)
        if h != 0:
            return h
        _set_eta(P, eta)
        dr[0] = Rs.update(eta, mu, w, r)
        if Rs.failed() or P.failed():
            return 4
        pdev = dr[0] + P.uu
        if fabs((oldpdev - pdev) / pdev) < tol:
            return 0
        if not isfinite(pdev) or pdev > oldpdev:
            for h in range(10):
                _halve(P)
                _set_eta(P, eta)
                dr[0] = Rs.update(eta, mu, w, r)
                if Rs.failed() or P.failed():
                    return 4
                pdev = dr[0] + P.uu
                if isfinite(pdev) and pdev <= oldpdev:
                    break
            if not isfinite(pdev) or (pdev - oldpdev) > tol * fabs(oldpdev):
                return 1
            if fabs((oldpdev - pdev) / pdev) < tol:
                return 0
        oldpdev = pdev
        _save(P)
    return 2


_NO_X = np.zeros((1, 0))


cdef tuple _run(Response Rs, Predictor P, eta0, init, double tol, int maxit):
    """(status, eta, mu, drsum, iterations, w) of ``_pwrss`` from eta0; init: None or
    (μ, (w, r)) at eta0, (w, r) None when the response forms them itself (``prepare``)."""
    eta_arr = np.array(eta0, dtype=float)
    cdef Py_ssize_t n = eta_arr.shape[0]
    if Response is _CodeResponse:
        if Rs.y.shape[0] != n:
            raise ValueError("eta0, y, weights and offset must have one value per row")
        if init is not None and init[1] is None:
            raise ValueError("init needs the working pair (w, z) with a kernel family")
    mu_arr = np.empty(n)
    w_arr = np.empty(n)
    r_arr = np.empty(n)
    wl_arr = np.empty(n)
    if init is not None:
        np.copyto(mu_arr, init[0])
        if init[1] is not None:
            np.copyto(w_arr, init[1][0])
            np.copyto(r_arr, init[1][1])
    if Response is _PyResponse:
        Rs.eta_obj, Rs.mu_obj, Rs.w_obj, Rs.r_obj = eta_arr, mu_arr, w_arr, r_arr
    if Predictor is _PyPredictor:
        P.eta_obj, P.w_obj, P.r_obj = eta_arr, w_arr, r_arr
    cdef double[::1] eta = eta_arr, mu = mu_arr, w = w_arr, r = r_arr, wl = wl_arr
    cdef double dr = 0.0
    cdef int nit = 0, status
    cdef bint have_init = init is not None
    if Predictor is _PyPredictor:  # calls back into Python at every step: keep the GIL
        status = _pwrss(Rs, P, eta, mu, w, r, wl, have_init, tol, maxit, &dr, &nit)
    else:
        with nogil:
            status = _pwrss(Rs, P, eta, mu, w, r, wl, have_init, tol, maxit, &dr, &nit)
    if status == 4:
        err = None
        if Predictor is _PyPredictor:
            err = P.error
        if Response is _PyResponse:
            err = err if err is not None else Rs.error
        raise err
    return status, eta_arr, mu_arr, dr, nit, wl_arr


def code_response(int fam, int link, offset, y, wt) -> _CodeResponse:
    """The family by its kernel codes for ``pirls_general`` (build once per model: it holds
    typed views of offset, y and the prior weights)."""
    return _CodeResponse(fam, link, offset, offset, False, y, wt)


def pirls_general(response, solve_fn, eta_fn, eta0, u0, b0, bint joint, init, double tol,
                  int maxit):
    """PIRLS with the general penalized solve: ``solve_fn(w, z)`` -> (u, β, log|L|²,
    log|R_X|²) and ``eta_fn(u, β)`` -> η (lmepy/fit/predictor.py). ``response``: a
    ``code_response`` (the family by kernel codes) or an object with lmepy/fit/response.py's
    ``mu_dev`` and ``working`` (the numpy twin). u0, b0: the previous iterate for
    step-halving (β halved too when joint); init: None or (μ, (w, z) or None) at eta0.
    Returns (status, u, β, eta, mu, drsum, ldL2, ldRX2, iterations, w)."""
    cdef _PyPredictor P = _PyPredictor(solve_fn, eta_fn, u0, b0, joint)
    cdef _CodeResponse Rc
    cdef _PyResponse Rp
    if isinstance(response, _CodeResponse):
        Rc = response
        status, eta, mu, dr, nit, w = _run[_CodeResponse, _PyPredictor](Rc, P, eta0, init,
                                                                       tol, maxit)
    else:
        Rp = _PyResponse(response)
        status, eta, mu, dr, nit, w = _run[_PyResponse, _PyPredictor](Rp, P, eta0, init,
                                                                     tol, maxit)
    return status, P.u_arr, P.b_arr, eta, mu, dr, P.ld, P.ldx, nit, w


# The entry points leave their array arguments untyped: each is converted to a typed view
# once, where it is stored (a typed view passed on to a Python-level call would be turned
# back into an object and converted again, which costs more than a small model's iteration).

def pirls_single(int fam, int link, double lam, fixed, xb, offset, eta0, y, wt, codes, x,
                 Py_ssize_t m, double tol, int maxit):
    """PIRLS for u alone with one scalar random-effects term (β in ``fixed`` = offset + Xβ,
    xb = Xβ). Returns (status, u, eta, mu, drsum, ldL2, iterations, w), w the weights of
    the last solve."""
    cdef _ScalarPredictor P = _ScalarPredictor(lam, fixed, codes, x, m)
    cdef _CodeResponse Rs = _CodeResponse(fam, link, offset, xb, True, y, wt)
    status, eta, mu, dr, nit, w = _run[_CodeResponse, _ScalarPredictor](Rs, P, eta0, None,
                                                                       tol, maxit)
    return status, P.u_arr, eta, mu, dr, P.ld, nit, w


def pirls_nested(int fam, int link, lam, fixed, xb, offset, eta0, y, wt, nodes, x, anc,
                 node_term, Py_ssize_t q, double tol, int maxit):
    """PIRLS for u alone when the T scalar terms are nested (each level of term t lies in
    one level of every later term, e.g. INDEX in BROOD in LOCATION). ``nodes[t, i]``: row
    i's node (Zt row) in term t; ``x[t, i]`` its model row value; ``anc[node, k]``: the
    node's ancestor in term node_term + 1 + k (-1: none). Returns (status, u, eta, mu,
    drsum, ldL2, iterations, w)."""
    cdef _TreePredictor P = _TreePredictor(lam, fixed, offset, x, nodes, anc, node_term,
                                           _NO_X, q, False)
    cdef _CodeResponse Rs = _CodeResponse(fam, link, offset, xb, True, y, wt)
    status, eta, mu, dr, nit, w = _run[_CodeResponse, _TreePredictor](Rs, P, eta0, None,
                                                                     tol, maxit)
    return status, P.u_arr, eta, mu, dr, P.ld, nit, w


def pirls_nested_joint(int fam, int link, lam, offset, eta0, y, wt, nodes, x, anc, node_term,
                       X, Py_ssize_t q, double tol, int maxit):
    """``pirls_nested`` for u and β together (stage 1, nAGQ = 0): the tree nodes are
    eliminated first, each with its tree ancestors and the p columns of X as the only
    other entries, leaving the p x p Schur complement (R_X'R_X) for β; step-halving moves
    u and β together. Returns (status, u, beta, eta, mu, drsum, ldL2, ldRX2, iterations,
    w); status 3 when R_X'R_X is not positive definite."""
    cdef _TreeJointPredictor P = _TreeJointPredictor(lam, offset, offset, x, nodes, anc,
                                                     node_term, X, q, True)
    cdef _CodeResponse Rs = _CodeResponse(fam, link, offset, offset, False, y, wt)
    status, eta, mu, dr, nit, w = _run[_CodeResponse, _TreeJointPredictor](Rs, P, eta0,
                                                                          None, tol, maxit)
    return status, P.u_arr, P.b_arr, eta, mu, dr, P.ld, P.ldx, nit, w
