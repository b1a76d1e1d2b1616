"""nlme's correlation structures: corAR1, corCAR1, corARMA, corCompSymm, corSymm.

Each holds its parameters on nlme's unconstrained scale (what the optimizer sees) and reports
them on both scales as `coef(cs, unconstrained = TRUE/FALSE)` does. `bind(data)` attaches the
structure to a data set: the groups of `form = ~ t | g` (nlme's group order) and, within each
group, the rows in data order with their covariate (positions 1, 2, ... when the form has no
covariate). Correlation matrices are in that row order, as nlme's `corMatrix()`; whitening
applies the inverse of their lower Cholesky factor, as nlme's normalized residuals do.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
from scipy.linalg import solve_triangular

from lmepy.covariance._spec import Form, group_codes, numeric_column, parse_form
from lmepy.covariance.base import Structure
from lmepy.covariance.whiten_ref import whiten as _bidiag_whiten
from lmepy.errors import DataError


def _logit_pm1(x: np.ndarray | float) -> np.ndarray:
    """(-1, 1) -> R: log((1 + x) / (1 - x))."""
    x = np.asarray(x, dtype=float)
    return np.log((1.0 + x) / (1.0 - x))


def _expit_pm1(u: np.ndarray | float) -> np.ndarray:
    """R -> (-1, 1), the inverse of _logit_pm1."""
    return np.tanh(np.asarray(u, dtype=float) / 2.0)


class CorStruct(Structure):
    """Base class: parameters, groups, correlation matrices, log-determinant and whitening."""

    nlme_class = "corStruct"
    # the correlation of two rows depends only on the difference of their covariates
    # (so a pattern whose differences start another's shares that one's factor: _factors)
    stationary = False
    description = ""

    def __init__(self, value: object = None, form: object = "~1", fixed: bool = False):
        self.form: Form = parse_form(form)
        if self.form.covariate == "fitted(.)":
            raise DataError("a correlation structure cannot use fitted(.) as its covariate")
        self.value = value
        self.fixed = bool(fixed)
        self._u: np.ndarray | None = None
        self.bound = False

    # -- binding to data ----------------------------------------------------------------------
    def bind(self, data: pd.DataFrame, groups: np.ndarray | None = None,
             group_labels: list[str] | None = None) -> CorStruct:
        """A copy attached to `data`. `groups` (codes per row) is used when the form names no
        grouping (lme passes its innermost grouping factor, as nlme does)."""
        new = copy.copy(self)
        new._setup(data, groups, group_labels)
        return new

    def _setup(self, data: pd.DataFrame, groups: np.ndarray | None,
               group_labels: list[str] | None) -> None:
        n = len(data)
        if self.form.groups or groups is None:
            codes, labels = group_codes(data, self.form.groups)
        else:
            codes = np.asarray(groups, dtype=np.int64)
            labels = group_labels or [str(i + 1) for i in range(int(codes.max()) + 1)]
        # one stable sort by group: rows of a group stay in data order (no loop over groups)
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=len(labels))
        keep = counts > 0
        bounds = np.concatenate([[0], np.cumsum(counts)])
        sizes = counts[keep]
        starts = bounds[:-1][keep]
        self.group_labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
        self.group_rows = [order[a:a + k] for a, k in zip(starts.tolist(), sizes.tolist(),
                                                           strict=True)]
        sorted_codes = codes[order]
        first = np.ones(n, dtype=bool)  # first row of its group, in sorted order
        first[1:] = sorted_codes[1:] != sorted_codes[:-1]
        if self.form.covariate is None:
            cov = np.empty(n, dtype=float)
            cov[order] = np.arange(n) - bounds[sorted_codes] + 1.0
        else:
            cov = numeric_column(data, self.form.covariate, "correlation covariate", "covariate")
        self.perm = order
        cov_sorted = cov[order]
        self._cov_sorted, self._first = cov_sorted, first
        self.group_cov = [cov_sorted[a:a + k] for a, k in zip(starts.tolist(), sizes.tolist(),
                                                               strict=True)]
        self.n = n
        by_value = np.lexsort((cov, codes))
        if n > 1 and np.any((codes[by_value][1:] == codes[by_value][:-1])
                            & (cov[by_value][1:] == cov[by_value][:-1])):
            raise DataError("covariate must have unique values within groups for "
                            f"\"{self.nlme_class}\" objects")
        self._patterns = _shared_patterns(self.group_cov, self.group_rows)
        self._leading = self._leading_blocks()
        self._fcache: tuple[bytes, list] | None = None
        self._lcache: tuple[bytes, np.ndarray | None] | None = None
        self._sorted = bool(np.array_equal(self.perm, np.arange(n)))
        self._slices: list[slice | None] = []
        for _, rows in self._patterns:
            flat = rows.ravel()
            contiguous = bool(np.all(np.diff(flat) == 1)) if len(flat) > 1 else True
            self._slices.append(slice(int(flat[0]), int(flat[-1]) + 1) if contiguous else None)
        self.max_size = int(counts.max()) if len(counts) else 0
        self._setup_extra()
        self._u = self._initial_u()
        self.bound = True

    def _setup_extra(self) -> None:
        pass

    # -- parameters: lmepy.covariance.base.Structure ------------------------------------------
    def coef(self, unconstrained: bool = False) -> dict[str, float] | np.ndarray:
        """nlme's `coef(cs, unconstrained = ...)`: the unconstrained vector, or the constrained
        values keyed by nlme's names."""
        self._need_bound()
        if unconstrained:
            return self.get_unconstrained()
        return dict(zip(self.coef_names(), map(float, self.constrained()), strict=True))

    # -- matrices -----------------------------------------------------------------------------
    def _cormat(self, cov: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _links(self) -> np.ndarray | None:
        """For Markov structures whose covariate increases within every group: the correlation
        of each row (in perm order) with the previous one, 0 at group starts. Else None."""
        return None

    def corMatrix(self) -> dict[str, np.ndarray]:
        """Per-group correlation matrices, rows in data order within the group."""
        self._need_bound()
        return {lab: self._cormat(c) for lab, c in zip(self.group_labels, self.group_cov,
                                                         strict=True)}

    def _leading_blocks(self) -> int | None:
        """The pattern every other one starts (covariate differences from the first row a
        prefix of its differences), when the structure is stationary: each pattern's
        correlation matrix is then a leading block of that pattern's, and so are its Cholesky
        factor and the factor's inverse (one factorization per evaluation, not one per
        pattern; groups of 1..n_g visits of one schedule). None otherwise."""
        if not self.stationary or len(self._patterns) < 2:
            return None
        big = max(range(len(self._patterns)), key=lambda i: len(self._patterns[i][0]))
        ref = self._patterns[big][0] - self._patterns[big][0][0]
        for cov, _ in self._patterns:
            if not np.array_equal(cov - cov[0], ref[:len(cov)]):
                return None
        return big

    def _factors(self) -> list[tuple[np.ndarray, float]]:
        """Per covariate pattern: the inverse of the lower Cholesky factor and the log det,
        cached per parameter value."""
        assert self._u is not None
        key = self._u.tobytes()
        if self._fcache is not None and self._fcache[0] == key:
            return self._fcache[1]
        out = []
        if self._leading is not None:
            L = np.linalg.cholesky(self._cormat(self._patterns[self._leading][0]))
            Linv = solve_triangular(L, np.eye(len(L)), lower=True, check_finite=False)
            logs = np.cumsum(np.log(np.diag(L)))
            for cov, _ in self._patterns:
                n = len(cov)
                out.append((Linv[:n, :n], 2.0 * float(logs[n - 1])))
        else:
            for cov, _ in self._patterns:
                L = np.linalg.cholesky(self._cormat(cov))
                Linv = solve_triangular(L, np.eye(len(cov)), lower=True, check_finite=False)
                out.append((Linv, 2.0 * float(np.sum(np.log(np.diag(L))))))
        self._fcache = (key, out)
        return out

    def logdet(self) -> float:
        """Sum over groups of log det of the correlation matrix."""
        self._need_bound()
        r = self._links()
        if r is not None:
            return float(np.sum(np.log1p(-r * r)))
        return float(sum(ld * len(rows) for (_, ld), (_, rows) in
                         zip(self._factors(), self._patterns, strict=True)))

    def draw(self, nsim: int, rng: np.random.Generator) -> np.ndarray:
        """(n, nsim) standard normals correlated within groups as this structure says (at its
        current parameters): for simulating responses. L z per group, L the Cholesky factor
        of the group's correlation matrix (shared by groups of one covariate pattern)."""
        self._need_bound()
        out = np.empty((self.n, nsim))
        for cov, rows in self._patterns:
            L = np.linalg.cholesky(self._cormat(cov))
            z = rng.standard_normal((rows.shape[0], len(cov), nsim))
            out[rows] = np.einsum("ij,gjs->gis", L, z)
        return out

    def whiten(self, x: np.ndarray) -> np.ndarray:
        """L_g^{-1} x_g for every group g (L_g the lower Cholesky factor of its correlation),
        results in the rows of x; x of shape (N,) or (N, k)."""
        self._need_bound()
        x = np.asarray(x, dtype=float)
        r = self._links()
        if r is not None:
            if self._sorted:
                return _bidiag_whiten(x, r)
            out = np.empty_like(x)
            out[self.perm] = _bidiag_whiten(x[self.perm], r)
            return out
        x2 = x.reshape(x.shape[0], -1)
        out2 = np.empty_like(x2)
        k = x2.shape[1]
        for (Linv, _), (_, rows), sl in zip(self._factors(), self._patterns, self._slices,
                                            strict=True):
            m, n = rows.shape
            # all groups of the pattern in one matrix product (n x n times n x m*k): one BLAS
            # call, not one per group (threaded BLAS on many tiny products is very slow)
            block = x2[sl].reshape(m, n, k) if sl is not None else x2[rows]
            res = (Linv @ block.transpose(1, 0, 2).reshape(n, m * k)).reshape(n, m, k)
            res = res.transpose(1, 0, 2)
            if sl is not None:  # the pattern's rows are one contiguous run, group by group
                out2[sl] = res.reshape(m * n, k)
            else:
                out2[rows] = res
        return out2.reshape(x.shape)

    def __repr__(self) -> str:
        vals = ""
        if self.bound:
            vals = ", ".join(f"{k} = {v:.7g}" for k, v in self.coef().items())  # type: ignore[union-attr]
        return f"{self.nlme_class}({vals}{', ' if vals else ''}form = {self.form})"


def _shared_patterns(group_cov: list[np.ndarray], group_rows: list[np.ndarray]
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups sharing one covariate pattern share one matrix and one factorization: the
    distinct patterns (in order of first appearance) with the rows of their groups stacked."""
    members: dict[bytes, list[int]] = {}
    for i, c in enumerate(group_cov):
        members.setdefault(c.tobytes(), []).append(i)
    return [(group_cov[m[0]], np.stack([group_rows[i] for i in m])) for m in members.values()]


def _int_lags(cov: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.equal(np.round(cov), cov)):
        raise DataError(f"covariate must have integer values for \"{what}\" objects")
    return cov


class _PowerOfLag(CorStruct):
    """corr = Phi^|lag| (AR(1), CAR(1)): within a group sorted by the covariate, the
    inverse Cholesky factor is bidiagonal with links r_i = Phi^(t_i - t_(i-1))."""

    stationary = True

    def _setup_lags(self) -> None:
        step = np.diff(self._cov_sorted, prepend=0.0)
        self._increasing = bool(np.all(step[~self._first] > 0))
        if self._increasing:
            self._lag = np.where(self._first, 0.0, step)

    @property
    def phi(self) -> float:
        return float(self.constrained()[0])

    def _cormat(self, cov: np.ndarray) -> np.ndarray:
        return np.power(self.phi, np.abs(cov[:, None] - cov[None, :]))

    def _links(self) -> np.ndarray | None:
        if not self._increasing:
            return None
        assert self._u is not None
        key = self._u.tobytes()
        if self._lcache is not None and self._lcache[0] == key:
            return self._lcache[1]
        phi = self.phi
        r = np.where(self._lag == 1.0, phi, np.power(phi, self._lag))
        r[self._lag == 0] = 0.0
        self._lcache = (key, r)
        return r


class corAR1(_PowerOfLag):
    """AR(1): corr = Phi^|lag|, lags from an integer covariate (positions by default).
    As nlme, a covariate whose within-group steps are not all 1 makes it an ARMA(1, 0)
    (class "corARMA", coefficient "Phi1"), with the same correlations."""

    nlme_class = "corAR1"
    description = "AR(1)"

    def _setup_extra(self) -> None:
        self._gaps = False
        if self.form.covariate is not None:
            _int_lags(self._cov_sorted, "corAR1")
            step = np.diff(self._cov_sorted, prepend=0.0)
            self._gaps = bool(np.any(step[~self._first] != 1))
            if self._gaps:
                self.nlme_class = "corARMA"
                self.description = "ARMA(1,0)"
        self._setup_lags()

    def _initial_u(self) -> np.ndarray:
        v = 0.0 if self.value is None else float(np.ravel(np.asarray(self.value, dtype=float))[0])
        if not -1 < v < 1:
            raise ValueError("parameter in AR(1) structure must be between -1 and 1")
        return np.atleast_1d(_logit_pm1(v))

    def coef_names(self) -> list[str]:
        return ["Phi1"] if self._gaps else ["Phi"]

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        return _expit_pm1(self._u)


class corCAR1(_PowerOfLag):
    """Continuous-time AR(1): corr = Phi^|t_i - t_j|, 0 < Phi < 1 (nlme's default value 0.2)."""

    nlme_class = "corCAR1"
    description = "Continuous AR(1)"

    def _setup_extra(self) -> None:
        self._setup_lags()

    def _initial_u(self) -> np.ndarray:
        v = 0.2 if self.value is None else float(np.ravel(np.asarray(self.value, dtype=float))[0])
        if not 0 < v < 1:
            raise ValueError("parameter in CAR(1) structure must be between 0 and 1")
        return np.array([math.log(v / (1.0 - v))])

    def coef_names(self) -> list[str]:
        return ["Phi"]

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        return 1.0 / (1.0 + np.exp(-self._u))



# ---------------------------------------------------------------------------------------------
# ARMA(p, q)


def _pacf_to_coef(r: np.ndarray, sign: float) -> np.ndarray:
    """Durbin-Levinson: partial autocorrelations -> AR coefficients (sign -1) or, with nlme's
    convention for the moving-average part, MA coefficients (sign +1)."""
    a = np.zeros(0)
    for rk in r:
        a = np.concatenate([a + sign * rk * a[::-1], [rk]])
    return a


def _coef_to_pacf(a: np.ndarray, sign: float) -> np.ndarray:
    """The inverse of _pacf_to_coef (step-down recursion)."""
    a = np.array(a, dtype=float)
    r = np.zeros(len(a))
    for k in range(len(a) - 1, -1, -1):
        rk = a[k]
        if abs(rk) >= 1.0:
            raise ValueError("All parameters must be less than 1 in absolute value")
        r[k] = rk
        prev = a[:k]
        a = (prev - sign * rk * prev[::-1]) / (1.0 - rk * rk)
    return r


def arma_acf(phi: np.ndarray, theta: np.ndarray, maxlag: int) -> np.ndarray:
    """Autocorrelations 0..maxlag of x_t = sum phi_i x_{t-i} + e_t + sum theta_j e_{t-j}."""
    p, q = len(phi), len(theta)
    th = np.concatenate([[1.0], theta])
    psi = np.zeros(q + 1)
    for j in range(q + 1):
        psi[j] = th[j] + sum(phi[i - 1] * psi[j - i] for i in range(1, min(j, p) + 1))

    def rhs(k: int) -> float:
        return float(sum(th[j] * psi[j - k] for j in range(k, q + 1)))

    n = max(maxlag, p, q) + 1
    gamma = np.zeros(n)
    A = np.zeros((p + 1, p + 1))
    b = np.zeros(p + 1)
    for k in range(p + 1):
        A[k, k] += 1.0
        for i in range(1, p + 1):
            A[k, abs(k - i)] -= phi[i - 1]
        b[k] = rhs(k)
    gamma[:p + 1] = np.linalg.solve(A, b)
    for k in range(p + 1, n):
        # nlme 3.1-162 takes the moving-average term of lags p < k <= q with the coefficient
        # index shifted by p (theta_{j-p} where the textbook has theta_j); reproduced so that
        # corMatrix() and fits agree with nlme. Lags 0..p and beyond q are the textbook ones,
        # and pure MA (p = 0) is unaffected.
        extra = float(sum(th[j - p] * psi[j - k] for j in range(k, q + 1))) if k <= q else 0.0
        gamma[k] = sum(phi[i - 1] * gamma[k - i] for i in range(1, p + 1)) + extra
    return gamma[:maxlag + 1] / gamma[0]


class corARMA(CorStruct):
    """ARMA(p, q) on integer lags; nlme's unconstrained scale maps partial autocorrelations
    through log((1 + r) / (1 - r)), separately for the AR and MA parts."""

    stationary = True

    nlme_class = "corARMA"

    def __init__(self, value: object = None, form: object = "~1", p: int = 0, q: int = 0,
                 fixed: bool = False):
        super().__init__(value, form, fixed)
        self.p, self.q = int(p), int(q)
        if self.p < 0 or self.q < 0:
            raise ValueError("autoregressive and moving average orders must be non-negative")
        if self.p + self.q == 0:
            raise ValueError("at least one of 'p' and 'q' must be > 0")
        self.description = f"ARMA({self.p},{self.q})"

    def _setup_extra(self) -> None:
        for c in self.group_cov:
            _int_lags(c, "corARMA")
        self._maxlag = int(max((np.ptp(c) for c in self.group_cov), default=0))

    def _initial_u(self) -> np.ndarray:
        v = np.zeros(self.p + self.q) if self.value is None else np.ravel(
            np.asarray(self.value, dtype=float))
        if len(v) != self.p + self.q:
            raise ValueError("initial values for corARMA must have length p + q")
        u_ar = _logit_pm1(_coef_to_pacf(v[:self.p], -1.0))
        u_ma = _logit_pm1(_coef_to_pacf(v[self.p:], 1.0))
        return np.concatenate([u_ar, u_ma])

    def coef_names(self) -> list[str]:
        return [f"Phi{i + 1}" for i in range(self.p)] + [f"Theta{i + 1}" for i in range(self.q)]

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        r = _expit_pm1(self._u)
        return np.concatenate([_pacf_to_coef(r[:self.p], -1.0), _pacf_to_coef(r[self.p:], 1.0)])

    def _acf(self) -> np.ndarray:
        assert self._u is not None
        key = self._u.tobytes()
        cached = getattr(self, "_acf_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        c = self.constrained()
        acf = arma_acf(c[:self.p], c[self.p:], self._maxlag)
        self._acf_cache = (key, acf)
        return acf

    def _cormat(self, cov: np.ndarray) -> np.ndarray:
        acf = self._acf()
        if np.any(np.abs(acf[1:]) >= 1.0):
            raise np.linalg.LinAlgError("ARMA correlations are not positive definite")
        lag = np.abs(cov[:, None] - cov[None, :]).astype(np.int64)
        return acf[lag]


class corCompSymm(CorStruct):
    """Compound symmetry: one correlation Rho, > -1/(m-1) for the largest group size m."""

    stationary = True

    nlme_class = "corCompSymm"
    description = "Compound symmetry"

    def _setup_extra(self) -> None:
        self._inf = -1.0 / (self.max_size - 1) if self.max_size > 1 else -1.0

    def _initial_u(self) -> np.ndarray:
        v = 0.0 if self.value is None else float(np.ravel(np.asarray(self.value, dtype=float))[0])
        if not (self._inf < v < 1):
            raise ValueError("initial value in corCompSymm must be > than -1/(max group size-1)"
                             " and < 1")
        return np.array([math.log((v - self._inf) / (1.0 - v))])

    def coef_names(self) -> list[str]:
        return ["Rho"]

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        e = np.exp(self._u)
        return (e + self._inf) / (e + 1.0)

    def _cormat(self, cov: np.ndarray) -> np.ndarray:
        n = len(cov)
        rho = float(self.constrained()[0])
        return np.full((n, n), rho) + (1.0 - rho) * np.eye(n)

    def logdet(self) -> float:
        """Closed form: eigenvalues 1 + (n - 1) rho (once) and 1 - rho (n - 1 times)."""
        self._need_bound()
        rho = float(self.constrained()[0])
        n = np.array([len(r) for r in self.group_rows], dtype=float)
        return float(np.sum(np.log1p((n - 1) * rho) + (n - 1) * np.log1p(-rho)))

    def whiten(self, x: np.ndarray) -> np.ndarray:
        """nlme's factor for compound symmetry (not the Cholesky one): the Helmert basis
        scaled by the eigenvalues, row 1 the group mean direction, row j the contrast of
        element j against the ones before it. O(n) per group; nlme's normalized residuals."""
        self._need_bound()
        rho = float(self.constrained()[0])
        x = np.asarray(x, dtype=float)
        x2 = x.reshape(x.shape[0], -1)
        out2 = np.empty_like(x2)
        for _, rows in self._patterns:
            n = rows.shape[1]
            block = x2[rows]                                   # (m, n, k)
            S = np.cumsum(block, axis=1)
            res = np.empty_like(block)
            res[:, 0] = S[:, -1] / math.sqrt(n * (1.0 + (n - 1) * rho))
            if n > 1:
                j = np.arange(1, n, dtype=float)[None, :, None]
                res[:, 1:] = (j * block[:, 1:] - S[:, :-1]) / np.sqrt(j * (j + 1) * (1.0 - rho))
            out2[rows] = res
        return out2.reshape(x.shape)


class corSymm(CorStruct):
    """General correlation: one parameter per pair of positions (1..m), constrained values in
    R's order (1,2), (1,3), ..., (2,3), ...; unconstrained by the spherical parametrization of
    the Cholesky factor (angles in (0, pi) mapped by log(a / (pi - a)))."""

    nlme_class = "corSymm"
    description = "General"

    def _setup_extra(self) -> None:
        if self.form.covariate is not None:
            for c in self.group_cov:
                _int_lags(c, "corSymm")
                if np.any(c < 1):
                    raise DataError("covariate of corSymm must be positive integers")
            self._m = int(max(c.max() for c in self.group_cov))
        else:
            self._m = self.max_size

    def _initial_u(self) -> np.ndarray:
        m = self._m
        npar = m * (m - 1) // 2
        v = np.zeros(npar) if self.value is None else np.ravel(np.asarray(self.value, dtype=float))
        if len(v) != npar:
            raise ValueError(f"initial value for corSymm parameters of wrong dimension "
                             f"(need {npar})")
        return self._u_from_values(v)

    def _u_from_values(self, v: np.ndarray) -> np.ndarray:
        m = self._m
        R = np.eye(m)
        iu = np.triu_indices(m, 1)
        R[iu] = v
        R.T[iu] = v
        try:
            L = np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            raise ValueError("initial values for corSymm do not define a positive-definite "
                             "correlation structure") from None
        u = []
        for i in range(1, m):
            s = 1.0
            for j in range(i):
                c = np.clip(L[i, j] / s, -1.0, 1.0)
                a = math.acos(c)
                u.append(math.log(a / (math.pi - a)))
                s *= math.sin(a)
        return np.array(u)

    def _full(self) -> np.ndarray:
        assert self._u is not None
        m = self._m
        ang = math.pi / (1.0 + np.exp(-self._u))
        L = np.zeros((m, m))
        L[0, 0] = 1.0
        k = 0
        for i in range(1, m):
            s = 1.0
            for j in range(i):
                L[i, j] = math.cos(ang[k]) * s
                s *= math.sin(ang[k])
                k += 1
            L[i, i] = s
        R = L @ L.T
        np.fill_diagonal(R, 1.0)
        return R

    def set_constrained(self, values: np.ndarray) -> None:
        """Set the correlations (R's order) directly; nlme's "natural" parametrization."""
        self._u = self._u_from_values(np.asarray(values, dtype=float))

    def coef_names(self) -> list[str]:
        m = self._m
        return [f"cor({i + 1},{j + 1})" for i in range(m) for j in range(i + 1, m)]

    def constrained(self) -> np.ndarray:
        R = self._full()
        return R[np.triu_indices(self._m, 1)]

    def _cormat(self, cov: np.ndarray) -> np.ndarray:
        idx = cov.astype(np.int64) - 1
        return self._full()[np.ix_(idx, idx)]
