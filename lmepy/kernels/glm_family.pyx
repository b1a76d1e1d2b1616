# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The per-row family arithmetic of glmrow.pxd over arrays, for every family and link that
lmepy's ``family()`` objects offer: one loop per quantity, dispatched by the codes below.

``codes(family, link)`` maps R's names to the (family, link) codes that these functions and
the PIRLS kernels (glm_kernels.pyx) take. The numpy twin of each function is the method of
the same name on lmepy.fit.family's Family / Link objects (tests/test_glm_family.py).
"""

import numpy as np

from lmepy.kernels cimport glmrow as R

FAMILY_CODES = {"binomial": R.FAM_BINOMIAL, "poisson": R.FAM_POISSON, "Gamma": R.FAM_GAMMA,
                "inverse.gaussian": R.FAM_INVERSE_GAUSSIAN, "gaussian": R.FAM_GAUSSIAN}
LINK_CODES = {"logit": R.LINK_LOGIT, "probit": R.LINK_PROBIT, "cauchit": R.LINK_CAUCHIT,
              "cloglog": R.LINK_CLOGLOG, "log": R.LINK_LOG, "identity": R.LINK_IDENTITY,
              "inverse": R.LINK_INVERSE, "sqrt": R.LINK_SQRT, "1/mu^2": R.LINK_INVERSE_SQUARE}


def codes(str family, str link) -> tuple:
    """(family code, link code) of R's family and link names."""
    try:
        return FAMILY_CODES[family], LINK_CODES[link]
    except KeyError:
        raise ValueError(f"no kernel codes for family {family!r} with link {link!r}") from None


cdef inline int _check_link(int link) except -1:
    if link < R.LINK_LOGIT or link > R.LINK_INVERSE_SQUARE:
        raise ValueError(f"unknown link code {link}")
    return 0


cdef inline int _check_family(int fam) except -1:
    if fam < R.FAM_BINOMIAL or fam > R.FAM_GAUSSIAN:
        raise ValueError(f"unknown family code {fam}")
    return 0


ctypedef double (*_RowFun)(int, double) noexcept nogil


cdef _map_rows(_RowFun f, int code, const double[::1] x):
    """f(code, x[i]) for every row, as a new array (linkinv, mu_eta and variance)."""
    cdef Py_ssize_t n = x.shape[0], i
    out_arr = np.empty(n)
    cdef double[::1] out = out_arr
    with nogil:
        for i in range(n):
            out[i] = f(code, x[i])
    return out_arr


def linkinv(int link, const double[::1] eta):
    """mu = g^{-1}(eta) row by row."""
    _check_link(link)
    return _map_rows(R.linkinv, link, eta)


def mu_eta(int link, const double[::1] eta):
    """d mu / d eta row by row."""
    _check_link(link)
    return _map_rows(R.mu_eta, link, eta)


def variance(int fam, const double[::1] mu):
    """V(mu) row by row."""
    _check_family(fam)
    return _map_rows(R.variance, fam, mu)


def dev_resids(int fam, const double[::1] y, const double[::1] mu, const double[::1] wt):
    """Deviance residuals row by row (R's family()$dev.resids)."""
    _check_family(fam)
    cdef Py_ssize_t n = y.shape[0], i
    out_arr = np.empty(n)
    cdef double[::1] out = out_arr
    with nogil:
        for i in range(n):
            out[i] = R.dev_resid(fam, y[i], mu[i], wt[i])
    return out_arr


def working(int fam, int link, const double[::1] eta, const double[::1] mu,
            const double[::1] y, const double[::1] wt, const double[::1] offset):
    """IRLS working weights wt mu_eta^2 / V(mu) and working response
    eta - offset + (y - mu) / mu_eta."""
    _check_family(fam)
    _check_link(link)
    cdef Py_ssize_t n = eta.shape[0], i
    w_arr = np.empty(n)
    z_arr = np.empty(n)
    cdef double[::1] w = w_arr, z = z_arr
    cdef double me
    with nogil:
        for i in range(n):
            me = R.mu_eta(link, eta[i])
            w[i] = R.working_weight(fam, wt[i], me, mu[i])
            z[i] = R.working_resid(eta[i], offset[i], y[i], mu[i], me)
    return w_arr, z_arr


def mu_dev(int fam, int link, const double[::1] eta, const double[::1] y,
           const double[::1] wt):
    """mu = linkinv(eta) and the sum of the deviance residuals, in one pass."""
    _check_family(fam)
    _check_link(link)
    cdef Py_ssize_t n = eta.shape[0], i
    mu_arr = np.empty(n)
    cdef double[::1] mu = mu_arr
    cdef double m, s = 0.0
    with nogil:
        for i in range(n):
            m = R.linkinv(link, eta[i])
            mu[i] = m
            s += R.dev_resid(fam, y[i], m, wt[i])
    return mu_arr, s


def mu_dev_working(int fam, int link, const double[::1] eta, const double[::1] y,
                   const double[::1] wt, const double[::1] offset):
    """mu, the sum of deviance residuals and the next working weights and response at eta,
    in one pass (``mu_dev`` then ``working``, the same arithmetic)."""
    _check_family(fam)
    _check_link(link)
    cdef Py_ssize_t n = eta.shape[0], i
    mu_arr = np.empty(n)
    w_arr = np.empty(n)
    z_arr = np.empty(n)
    cdef double[::1] mu = mu_arr, w = w_arr, z = z_arr
    cdef double e, m, me, s = 0.0
    with nogil:
        for i in range(n):
            e = eta[i]
            R.linkinv_mu_eta(link, e, &m, &me)
            mu[i] = m
            w[i] = R.working_weight(fam, wt[i], me, m)
            s += R.dev_resid(fam, y[i], m, wt[i])
            z[i] = R.working_resid(e, offset[i], y[i], m, me)
    return mu_arr, s, w_arr, z_arr


def group_dev(int fam, int link, const double[::1] eta, const double[::1] y,
              const double[::1] wt, const long long[::1] codes, Py_ssize_t m):
    """Per-level sums of the deviance residuals at mu = linkinv(eta) (one quadrature node of
    adaptive Gauss-Hermite in one pass)."""
    _check_family(fam)
    _check_link(link)
    cdef Py_ssize_t n = eta.shape[0], i
    out_arr = np.zeros(m)
    cdef double[::1] out = out_arr
    with nogil:
        for i in range(n):
            out[codes[i]] += R.dev_resid(fam, y[i], R.linkinv(link, eta[i]), wt[i])
    return out_arr


def binomial_aic(const double[::1] y, const double[::1] m, const double[::1] mu,
                 const double[::1] wt):
    """-2 sum (wt/m) log dbinom(round(m y), round(m), mu) over rows with m > 0 (R's
    binomial()$aic; m is the number of trials, or the prior weights for 0/1 data)."""
    cdef Py_ssize_t n = y.shape[0], i
    cdef double s = 0.0, mi, f
    with nogil:
        for i in range(n):
            mi = m[i]
            if mi > 0.0:
                f = wt[i] / mi
                if f != 0.0:
                    s += f * R.binomial_logpmf(R.rint(mi * y[i]), R.rint(mi), mu[i])
    return -2.0 * s


def poisson_aic(const double[::1] y, const double[::1] mu, const double[::1] wt):
    """-2 sum wt log dpois(y, mu) for whole y (R's poisson()$aic)."""
    cdef Py_ssize_t n = y.shape[0], i
    cdef double s = 0.0
    with nogil:
        for i in range(n):
            s += wt[i] * R.poisson_logpmf(y[i], mu[i])
    return -2.0 * s
