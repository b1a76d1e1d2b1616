# cython: language_level=3
"""Per-row GLM family arithmetic, written once for every kernel: the inverse link, d mu/d eta,
the variance function, the working weight and response of IRLS, the deviance residual and the
log-density pieces of R's ``family()$aic``, each dispatched by a family or link code.

The codes are the enums below; lmepy/kernels/glm_family.pyx maps R's names to them
(``FAMILY_CODES``, ``LINK_CODES``) and exposes each function over arrays. The numerical
choices are R's (stats' C code and family functions): the logit's exp clamped to
[eps, 1/eps] outside |eta| <= 30, probit and cauchit clamping eta at the quantile of eps,
mu_eta floored at eps, y log(y/mu) with 0 log 0 = 0. The numpy twin is lmepy/fit/family.py
(its Link and Family methods); tests/test_glm_family.py compares kernel and twin on random
and edge inputs.
"""

from libc.math cimport (exp, expm1, log, sqrt, pow, atan2, lgamma, log1p, rint, INFINITY,
                        M_PI)
from libc.float cimport DBL_EPSILON
from scipy.special.cython_special cimport ndtr


cdef enum:
    # families (stats' family names)
    FAM_BINOMIAL = 0
    FAM_POISSON = 1
    FAM_GAMMA = 2
    FAM_INVERSE_GAUSSIAN = 3
    FAM_GAUSSIAN = 4
    # links
    LINK_LOGIT = 0
    LINK_PROBIT = 1
    LINK_CAUCHIT = 2
    LINK_CLOGLOG = 3
    LINK_LOG = 4
    LINK_IDENTITY = 5
    LINK_INVERSE = 6
    LINK_SQRT = 7
    LINK_INVERSE_SQUARE = 8

# R's thresholds: |eta| > 30 for the logit; -qnorm(eps) and -qcauchy(eps) for probit and
# cauchit (as lmepy/fit/family.py computes them with scipy, written as exact hex literals)
cdef extern from *:
    """
    #define LMEPY_LOGIT_THRESH 30.0
    #define LMEPY_PROBIT_THRESH 0x1.04074bdbf8865p+3
    #define LMEPY_CAUCHIT_THRESH 0x1.45f306dc9c883p+50
    """
    const double LOGIT_THRESH "LMEPY_LOGIT_THRESH"
    const double PROBIT_THRESH "LMEPY_PROBIT_THRESH"
    const double CAUCHIT_THRESH "LMEPY_CAUCHIT_THRESH"


cdef inline double y_log_y(double y, double mu) noexcept nogil:
    """y log(y / mu), 0 when y = 0."""
    return y * log(y / mu) if y != 0.0 else 0.0


cdef inline double _clamp(double e, double t) noexcept nogil:
    """numpy's clip(e, -t, t) (NaN stays NaN)."""
    return -t if e < -t else (t if e > t else e)


cdef inline double _max_eps(double t) noexcept nogil:
    """numpy's maximum(t, eps) (NaN stays NaN)."""
    return DBL_EPSILON if t < DBL_EPSILON else t


cdef inline double linkinv(int link, double e) noexcept nogil:
    """mu = g^{-1}(eta)."""
    cdef double t
    if link == LINK_LOGIT:
        if e < -LOGIT_THRESH:
            t = DBL_EPSILON
        elif e > LOGIT_THRESH:
            t = 1.0 / DBL_EPSILON
        else:
            t = exp(e)
        return t / (1.0 + t)
    if link == LINK_LOG:
        t = exp(e)
        return t if t >= DBL_EPSILON else DBL_EPSILON
    if link == LINK_PROBIT:
        return ndtr(_clamp(e, PROBIT_THRESH))
    if link == LINK_CAUCHIT:
        return atan2(1.0, -_clamp(e, CAUCHIT_THRESH)) / M_PI
    if link == LINK_CLOGLOG:
        t = -expm1(-exp(e))
        return _max_eps(1.0 - DBL_EPSILON if t > 1.0 - DBL_EPSILON else t)
    if link == LINK_IDENTITY:
        return e
    if link == LINK_INVERSE:
        return 1.0 / e
    if link == LINK_SQRT:
        return e * e
    return 1.0 / sqrt(e)  # 1/mu^2


cdef inline double mu_eta(int link, double e) noexcept nogil:
    """d mu / d eta."""
    cdef double t, o
    if link == LINK_LOGIT:
        if e > LOGIT_THRESH or e < -LOGIT_THRESH:
            return DBL_EPSILON
        t = exp(e)
        o = 1.0 + t
        return t / (o * o)
    if link == LINK_LOG:
        t = exp(e)
        return t if t >= DBL_EPSILON else DBL_EPSILON
    if link == LINK_PROBIT:
        return _max_eps(exp(-0.5 * e * e) / sqrt(2.0 * M_PI))
    if link == LINK_CAUCHIT:
        return _max_eps(1.0 / (M_PI * (1.0 + e * e)))
    if link == LINK_CLOGLOG:
        e = 700.0 if e > 700.0 else e
        return _max_eps(exp(e) * exp(-exp(e)))
    if link == LINK_IDENTITY:
        return 1.0
    if link == LINK_INVERSE:
        return -1.0 / (e * e)
    if link == LINK_SQRT:
        return 2.0 * e
    return -1.0 / (2.0 * pow(e, 1.5))  # 1/mu^2


cdef inline void linkinv_mu_eta(int link, double e, double* mu, double* me) noexcept nogil:
    """Both at once: the logit and log links share one exp (same values as the two calls)."""
    cdef double t, o
    if link == LINK_LOGIT and -LOGIT_THRESH <= e <= LOGIT_THRESH:
        t = exp(e)
        mu[0] = t / (1.0 + t)
        o = 1.0 + t
        me[0] = t / (o * o)
    elif link == LINK_LOG:
        t = exp(e)
        t = t if t >= DBL_EPSILON else DBL_EPSILON
        mu[0] = t
        me[0] = t
    else:
        mu[0] = linkinv(link, e)
        me[0] = mu_eta(link, e)


cdef inline double variance(int fam, double mu) noexcept nogil:
    """V(mu)."""
    if fam == FAM_BINOMIAL:
        return mu * (1.0 - mu)
    if fam == FAM_POISSON:
        return mu
    if fam == FAM_GAMMA:
        return mu * mu
    if fam == FAM_INVERSE_GAUSSIAN:
        return mu * mu * mu
    return 1.0


cdef inline double working_weight(int fam, double wt, double me, double mu) noexcept nogil:
    """The IRLS weight wt mu_eta^2 / V(mu)."""
    return wt * me * me / variance(fam, mu)


cdef inline double working_resid(double e, double offset, double y, double mu,
                                 double me) noexcept nogil:
    """The IRLS working response without the offset: eta - offset + (y - mu) / mu_eta."""
    return e - offset + (y - mu) / me


cdef inline double dev_resid(int fam, double y, double mu, double wt) noexcept nogil:
    """One row's deviance residual (R's family()$dev.resids)."""
    cdef double r
    if fam == FAM_BINOMIAL:
        return 2.0 * wt * (y_log_y(y, mu) + y_log_y(1.0 - y, 1.0 - mu))
    if fam == FAM_POISSON:
        if y > 0.0:
            return 2.0 * wt * (y * log(y / mu) - (y - mu))
        return 2.0 * mu * wt
    if fam == FAM_GAMMA:
        r = 1.0 if y == 0.0 else y / mu
        return -2.0 * wt * (log(r) - (y - mu) / mu)
    if fam == FAM_INVERSE_GAUSSIAN:
        return wt * ((y - mu) * (y - mu)) / (y * mu * mu)
    return wt * ((y - mu) * (y - mu))


cdef inline double binomial_logpmf(double x, double N, double p) noexcept nogil:
    """log dbinom(x, N, p) for whole x and N (the piece of binomial()$aic)."""
    if x < 0.0 or x > N:
        return -INFINITY
    if x == 0.0:
        return N * log1p(-p) if N > 0.0 else 0.0
    if x == N:
        return N * log(p)
    return (lgamma(N + 1.0) - lgamma(x + 1.0) - lgamma(N - x + 1.0)
            + x * log(p) + (N - x) * log1p(-p))


cdef inline double poisson_logpmf(double y, double mu) noexcept nogil:
    """log dpois(y, mu) for whole y (the piece of poisson()$aic)."""
    if y == 0.0:
        return -mu
    return y * log(mu) - mu - lgamma(y + 1.0)
