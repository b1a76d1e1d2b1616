"""The lme objective on the lmer machinery, and the fit.

For structure parameters (pdMat factors T, correlation and variance parameters) the rows of
[X y Z] are scaled by the variance weights and whitened within correlation groups; because
each correlation group lies inside one group of every random-effects level (nlme's nesting),
a whitened row still belongs to one level per term, so the whitened rows go straight into the
lmer cross-products and blocked Cholesky. nlme's log-likelihood is the lmer one on the
whitened data plus the log-Jacobian of the whitening: -1/2 log|C| + sum(log w).

When some random-effects term is not constant within correlation groups (crossed terms under
``lmer_residual``), a dense path forms the same penalized system from the sparse whitened Z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from lmepy.design.types import ReTerm, tril_colmajor
from lmepy.errors import ConvergenceWarning, warn
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.fit.control import check_control, check_start
from lmepy.fit.guard import check_parameter_count, fit_guard, require_finite
from lmepy.fit.optimize import bobyqa, newton_polish
from lmepy.kernels.blas_threads import one_thread
from lmepy.lme.design import LmeDesign
from lmepy.lme.single import MarkovSums, SingleLevel

try:  # one-pass kernel for one grouping level (numpy path below when not compiled)
    from lmepy.kernels import lme_single as _KERNEL
except ImportError:  # pragma: no cover - build without the extension
    _KERNEL = None

# BOBYQA's first steps on pdMat parameters: a quarter of the start's value, at least a quarter
# of this (a moment start puts each on its column's scale; slopes over long times are small)
STEPFLOOR = 0.1
_LOG2PI = math.log(2.0 * math.pi)


def _constant_within(codes: np.ndarray, groups: np.ndarray) -> bool:
    """True when ``codes`` takes one value within every group of ``groups``."""
    ng = int(groups.max()) + 1 if len(groups) else 0
    first = np.full(ng, -1, dtype=np.int64)
    first[groups[::-1]] = codes[::-1]
    return bool(np.all(first[groups] == codes))


class LmeProblem:
    """The profiled objective -2 logLik(structure parameters) of one lme design."""

    def __init__(self, design: LmeDesign, REML: bool = True):
        self.d = design
        self.REML = bool(REML)
        lv = design.levels
        # terms for the blocked factor: most levels first (the innermost nlme level)
        self.order = sorted(range(len(lv)), key=lambda i: -lv[i].nlevels)
        self.n_pd = [x.pd.n_params for x in lv]
        cor, var = design.cor, design.var
        self.n_cor = cor.n_params if (cor is not None and not cor.fixed) else 0
        self.n_var = var.n_params if var is not None else 0  # n_params leaves out fixed ones
        self.N, self.p = design.X.shape
        self.ks = [x.pd.k for x in lv]
        self.M = np.column_stack([design.X, design.y] + [x.rows for x in lv])
        self.dense = False
        if cor is not None:
            # correlation group per row (one concatenation, no loop over groups)
            self._cor_lens = np.fromiter(map(len, cor.group_rows), dtype=np.int64,
                                         count=len(cor.group_rows))
            self._cor_rows = np.concatenate(cor.group_rows) if len(cor.group_rows) else \
                np.zeros(0, dtype=np.int64)
            cg = np.empty(self.N, dtype=np.int64)
            cg[self._cor_rows] = np.repeat(np.arange(len(self._cor_lens)), self._cor_lens)
            self.cor_groups = cg
            self.dense = not all(_constant_within(x.codes, cg) for x in lv)
        self.single = None
        self.markov: MarkovSums | None = None
        if len(lv) == 1 and not self.dense:
            self.single = SingleLevel(lv[0].codes, lv[0].nlevels, lv[0].pd.k, self.p)
            self.markov = self._markov_sums()
        # the kernel path: one compiled call per evaluation (lmepy/kernels/lme_single.pyx)
        self.fast: tuple[int, int] | None = None
        if self.single is not None:
            n0 = self.n_pd[0]
            self.fast = (n0, n0 + self.n_cor)
        self._Tdiag = np.zeros((self.ks[0], self.ks[0])) \
            if self.fast is not None and lv[0].pd.kind == "pdDiag" else None
        self._key: bytes | None = None
        self.bc: BlockedCholesky | None = None
        self.ldC = 0.0
        self.slw = 0.0
        self.Mw = self.M
        self._theta_map = None if self.dense else self._linear_theta()

    def _markov_sums(self) -> MarkovSums | None:
        """Lagged cross-product sums for AR(1)/CAR(1) errors grouped as the one random-effects
        level, with rows in increasing time and no variance parameters (see MarkovSums)."""
        d = self.d
        cor = d.cor
        if cor is None or self.n_var or type(cor).__name__ not in ("corAR1", "corCAR1"):
            return None
        codes = d.levels[0].codes
        if not (_constant_within(codes, self.cor_groups)
                and _constant_within(self.cor_groups, codes)):
            return None
        lens = self._cor_lens
        rows_all = self._cor_rows
        cov_all = np.concatenate(cor.group_cov).astype(float, copy=False)
        gid = np.repeat(np.arange(len(lens)), lens)
        dc = np.diff(cov_all)
        same = gid[1:] == gid[:-1]
        if np.any(dc[same] <= 0):
            return None
        steps = np.zeros(self.N)
        steps[rows_all[1:][same]] = dc[same]
        if not MarkovSums.applicable(steps):
            return None
        M = self.M if d.var is None else self.M * d.var.weights()[:, None]
        assert self.single is not None
        return MarkovSums(M, codes, d.levels[0].nlevels, steps, self.single.colperm)

    # ---- parameter vector ------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return sum(self.n_pd) + self.n_cor + self.n_var

    def _moment_start(self, lv: Any) -> np.ndarray | None:
        """A start for one level's pdMat from per-group least squares: the spread of the
        groups' coefficients relative to the pooled residual variance (nlme starts from EM
        iterations; the identity can be far off when columns have very different scales)."""
        pd_ = lv.pd
        if pd_.kind not in ("pdLogChol", "pdSymm", "pdDiag", "pdIdent"):
            return None
        k = pd_.k
        y = self.d.y - self.d.X @ np.linalg.lstsq(self.d.X, self.d.y, rcond=None)[0]
        # every group's least squares at once: rows padded with zeros to the largest group
        # (zero rows change neither the solution, nor the singular values, nor the residuals)
        counts = np.bincount(lv.codes, minlength=lv.nlevels)
        use = counts > k
        if int(use.sum()) < 2 * k:
            return None
        sel = use[lv.codes]
        codes = np.cumsum(use)[lv.codes[sel]] - 1
        cnt = counts[use]
        G, nmax = len(cnt), int(cnt.max())
        order = np.argsort(codes, kind="stable")
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        flat = np.repeat(np.arange(G), cnt) * nmax + (np.arange(len(order))
                                                         - np.repeat(starts, cnt))
        P = np.zeros((G * nmax, k + 1))
        P[flat, :k] = lv.rows[sel][order]
        P[flat, k] = y[sel][order]
        P = P.reshape(G, nmax, k + 1)
        Z, yy = P[:, :, :k], P[:, :, k]
        U, S, Vt = np.linalg.svd(Z, full_matrices=False)
        full = np.all(S > S[:, :1] * (max(nmax, k) * np.finfo(float).eps), axis=1)
        if int(full.sum()) < 2 * k:
            return None
        U, S, Vt, Z, yy = U[full], S[full], Vt[full], Z[full], yy[full]
        coefs = np.einsum("gji,gj->gi", Vt, np.einsum("gji,gj->gi", U, yy) / S)
        res = yy - np.einsum("gij,gj->gi", Z, coefs)
        rss = float(np.sum(res * res))
        dfr = int(np.sum(cnt[full] - k))
        if dfr == 0 or rss <= 0:
            return None
        P = np.cov(np.array(coefs).T).reshape(k, k) / (rss / dfr)
        P = (P + P.T) / 2 + 1e-6 * np.eye(k) * max(float(np.max(np.diag(P))), 1e-8)
        try:
            T = np.linalg.cholesky(P)
        except np.linalg.LinAlgError:
            return None
        if pd_.kind == "pdDiag":
            return np.sqrt(np.diag(P))
        if pd_.kind == "pdIdent":
            return np.array([math.sqrt(float(np.mean(np.diag(P))))])
        return T[tril_colmajor(k)]

    def start(self) -> np.ndarray:
        parts = []
        for x in self.d.levels:
            st = self._moment_start(x) if len(self.d.levels) == 1 else None
            parts.append(x.pd.start() if st is None else st)
        if self.n_cor:
            parts.append(self.d.cor.get_unconstrained())  # type: ignore[union-attr]
        if self.n_var:
            parts.append(self.d.var.get_unconstrained())  # type: ignore[union-attr]
        return np.concatenate(parts)

    def initial_step(self, x: np.ndarray) -> np.ndarray:
        """BOBYQA's first steps: moderate on the pdMat and correlation scales, the variance
        function's own (VarFunc.initial_step) for its parameters."""
        steps = []
        pos = 0
        for lv in self.d.levels:  # relative to the start's scale (moment starts can be 100s)
            m = lv.pd.n_params
            steps.append(0.25 * np.maximum(STEPFLOOR, np.abs(np.asarray(x[pos:pos + m]))))
            pos += m
        steps.append(np.full(self.n_cor, 0.25))
        if self.n_var:
            steps.append(self.d.var.initial_step())  # type: ignore[union-attr]
        return np.concatenate(steps)

    def lower(self) -> np.ndarray:
        parts = [x.pd.lower() for x in self.d.levels]
        parts.append(np.full(self.n_cor + self.n_var, -np.inf))
        return np.concatenate(parts)

    def split(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        out = []
        pos = 0
        for m in self.n_pd:
            out.append(np.asarray(x[pos:pos + m]))
            pos += m
        return out, np.asarray(x[pos:pos + self.n_cor]), np.asarray(
            x[pos + self.n_cor:pos + self.n_cor + self.n_var])

    def factors(self, pd_pars: list[np.ndarray]) -> list[np.ndarray]:
        return [lv.pd.factor(pp) for lv, pp in zip(self.d.levels, pd_pars, strict=True)]

    def theta(self, Ts: list[np.ndarray]) -> np.ndarray:
        """The blocked factor's θ: each term's T as its column-major lower triangle."""
        parts = []
        for i in self.order:
            T = Ts[i]
            parts.append(T[tril_colmajor(T.shape[0])])
        return np.concatenate(parts)

    def x_from_nlme(self, constrained: dict[str, float], unconstrained: dict[str, float]
                    ) -> np.ndarray:
        """Parameters from nlme's ``coef(fit$modelStruct, unconstrained = FALSE)`` names
        ("reStruct.Subject.var((Intercept))") for the pdMats and the unconstrained values
        ("corStruct.Phi", "varStruct.power") for the correlation and variance structures,
        whose parametrizations lmepy shares with nlme."""
        parts = []
        for lv in self.d.levels:
            pre = f"reStruct.{lv.name}."
            parts.append(lv.pd.from_coef({k[len(pre):]: v for k, v in constrained.items()
                                          if k.startswith(pre)}))
        if self.n_cor:
            parts.append(np.array([v for k, v in unconstrained.items()
                                   if k.startswith("corStruct")], dtype=float))
        if self.n_var:
            parts.append(np.array([v for k, v in unconstrained.items()
                                   if k.startswith("varStruct")], dtype=float))
        return np.concatenate(parts)

    # ---- whitening and cross-products ------------------------------------------------------
    def set_structs(self, cor_u: np.ndarray, var_u: np.ndarray) -> None:
        key = np.concatenate([cor_u, var_u]).tobytes()
        if key == self._key and (self.bc is not None or self.dense or self.single is not None):
            return
        d = self.d
        M = self.M
        self.slw = 0.0
        self.ldC = 0.0
        if self.markov is not None:
            assert d.cor is not None and self.single is not None
            if d.var is not None:
                self.slw = d.var.log_weights_sum()
            if self.n_cor:
                d.cor.set_unconstrained(cor_u)
            C, self.ldC = self.markov.cross(d.cor.phi)  # type: ignore[attr-defined]
            self.single.set_cross(C)
            self._key = key
            return
        if d.var is not None:
            if self.n_var:
                d.var.set_unconstrained(var_u)
            w = d.var.weights()
            self.slw = d.var.log_weights_sum()
            if d.cor is None and self.single is not None and not self.dense:
                # rows scaled only: the kernel's sorted rows times the sorted weights
                self.Mw = None
                self._key = key
                self.single.set_rows_weighted(M, w)
                return
            M = M * w[:, None]
        if d.cor is not None:
            if self.n_cor:
                d.cor.set_unconstrained(cor_u)
            M = d.cor.whiten(np.ascontiguousarray(M))
            self.ldC = float(d.cor.logdet())
        self.Mw = M
        self._key = key
        if self.dense:
            self.bc = None
            return
        if self.single is not None:
            self.single.set_rows(M)
            return
        p = self.p
        terms = []
        pos = p + 1
        offs = []
        for k in self.ks:
            offs.append(pos)
            pos += k
        for i in self.order:
            lv = d.levels[i]
            terms.append(ReTerm(lv.name, lv.labels, lv.codes, lv.pd.cnms,
                                np.ascontiguousarray(M[:, offs[i]:offs[i] + self.ks[i]])))
        cp = cross_products(terms, M[:, :p], M[:, p])
        self.bc = BlockedCholesky(cp)

    # ---- objective ---------------------------------------------------------------------------
    def _fast_summaries(self, x: np.ndarray) -> tuple[float, float, float]:
        """summaries() for one grouping level through the compiled kernel: the AR(1)/CAR(1)
        lagged sums go in directly (no per-group arrays formed in numpy), other structures
        through the whitened rows' per-group cross-products."""
        assert self.fast is not None and self.single is not None and _KERNEL is not None
        a, b = self.fast
        x = np.asarray(x, dtype=float)
        Td = self._Tdiag
        if Td is not None:  # pdDiag: T is diag(x[:a]); the kernel copies T, so reuse one array
            Td.flat[::a + 1] = x[:a]
            T = Td
        else:
            T = np.ascontiguousarray(self.d.levels[0].pd.factor(x[:a]))
        mk = self.markov
        if mk is not None:
            d = self.d
            cor = d.cor
            assert cor is not None
            if self.n_cor:
                cor.set_unconstrained(x[a:b])
                self._key = None  # the numpy path's cached cross-products are stale now
            ld, ldx, pw, self.ldC = _KERNEL.markov_update(
                mk.P0, mk.S1, mk.S2, mk.QQ, mk.steps, mk.counts,
                cor.phi, T)  # type: ignore[attr-defined]
            self.slw = d.var.log_weights_sum() if d.var is not None else 0.0
            return ld, ldx, pw
        self.set_structs(x[a:b], x[b:])
        return _KERNEL.single_update(self.single.C, T)

    def _linear_theta(self) -> np.ndarray | None:
        """A with θ = A @ (pdMat parameters) when every pdMat builds T linearly from its
        parameters (all but compound symmetry), else None: one small product per evaluation
        instead of building each T and reading its triangle back."""
        kinds = {"pdLogChol", "pdSymm", "pdDiag", "pdIdent"}

        def linear(pd_: Any) -> bool:
            return pd_.kind in kinds or (pd_.kind == "pdBlocked" and all(map(linear,
                                                                             pd_.blocks)))

        if not all(linear(lv.pd) for lv in self.d.levels):
            return None
        npd = sum(self.n_pd)
        cols = []
        for j in range(npd):
            e = np.zeros(self.n_params)
            e[j] = 1.0
            cols.append(self.theta(self.factors(self.split(e)[0])))
        return np.ascontiguousarray(np.column_stack(cols)) if cols else None

    def summaries(self, x: np.ndarray) -> tuple[float, float, float]:
        """(ldL2, ldRX2, pwrss) at the parameters x."""
        if self.fast is not None and _KERNEL is not None:
            return self._fast_summaries(x)
        A = self._theta_map
        if A is not None and self.bc is not None and not (self.n_cor or self.n_var):
            return self.bc.update(A @ np.asarray(x[:A.shape[1]]))
        pd_pars, cu, vu = self.split(x)
        self.set_structs(cu, vu)
        Ts = self.factors(pd_pars)
        if self.dense:
            return self._dense_summaries(Ts)[:3]  # type: ignore[return-value]
        if self.single is not None:
            return self.single.update(Ts[0])
        assert self.bc is not None
        return self.bc.update(self.theta(Ts))

    def crit(self, ld: float, ldx: float, pw: float) -> float:
        """-2 logLik (nlme's ML or REML log-likelihood) from the factor's summaries."""
        ne = self.N - self.p if self.REML else self.N
        v = ld + ne * (1.0 + _LOG2PI + math.log(pw / ne)) + self.ldC - 2.0 * self.slw
        if self.REML:
            v += ldx
        return v

    def objective(self, x: np.ndarray) -> float:
        try:
            with np.errstate(all="ignore"):
                ld, ldx, pw = self.summaries(x)
                if not (ld == ld and pw > 0):
                    return math.inf
                v = self.crit(ld, ldx, pw)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError):
            return math.inf
        return v if math.isfinite(v) else math.inf

    def full_loglik(self, x: np.ndarray, sigma: float) -> float:
        """nlme's log-likelihood with σ given (not profiled); x relative to σ."""
        ld, ldx, pw = self.summaries(x)
        ne = self.N - self.p if self.REML else self.N
        v = ld + ne * (_LOG2PI + 2.0 * math.log(sigma)) + pw / sigma ** 2 + self.ldC \
            - 2.0 * self.slw
        if self.REML:
            v += ldx
        return -0.5 * v

    # ---- the dense path (crossed terms under a correlation structure) ---------------------
    def _zw(self) -> Any:
        import scipy.sparse as sp
        d = self.d
        p = self.p
        pos = p + 1
        blocks = []
        for i, lv in enumerate(d.levels):
            k = self.ks[i]
            R = self.M[:, pos:pos + k]
            pos += k
            rows = np.repeat(np.arange(self.N), k)
            cols = (lv.codes[:, None] * k + np.arange(k)[None, :]).ravel()
            blocks.append(sp.csr_matrix((R.ravel(), (rows, cols)), shape=(self.N, lv.nlevels * k)))
        Z = sp.hstack(blocks).tocsr()
        return Z

    def _dense_cross(self) -> None:
        """Cross-products of the whitened [Z X y], formed once per structure parameters."""
        import scipy.sparse as sp
        d = self.d
        p = self.p
        if not hasattr(self, "_Z"):
            self._Z = self._zw()
        Z = self._Z
        if d.var is not None:
            Z = sp.diags(d.var.weights()) @ Z
        Zd = Z.toarray()
        if d.cor is not None:
            Zd = d.cor.whiten(np.ascontiguousarray(Zd))
        XY = self.Mw[:, :p + 1]
        self._ZtZ = Zd.T @ Zd
        self._ZtXY = Zd.T @ XY
        self._XYtXY = XY.T @ XY
        self._cross_key = self._key

    def _dense_summaries(self, Ts: list[np.ndarray]) -> tuple:
        """Dense penalized least squares on the whitened [Z X y]: same summaries."""
        d = self.d
        p = self.p
        if getattr(self, "_cross_key", None) != self._key or self._key is None:
            self._dense_cross()
        Lam = sla.block_diag(*[np.kron(np.eye(lv.nlevels), T)
                               for lv, T in zip(d.levels, Ts, strict=True)])
        q = Lam.shape[0]
        A = Lam.T @ self._ZtZ @ Lam + np.eye(q)
        L = np.linalg.cholesky(A)
        ld = 2.0 * float(np.sum(np.log(np.diag(L))))
        LZ = sla.solve_triangular(L, Lam.T @ self._ZtXY, lower=True)  # q x (p+1)
        S = self._XYtXY - LZ.T @ LZ
        R = np.linalg.cholesky(S)
        rd = np.diag(R)
        ldx = 2.0 * float(np.sum(np.log(rd[:p])))
        pw = float(rd[p] ** 2)
        LX = R[:p, :p]
        beta = np.linalg.solve(S[:p, :p], S[:p, p])
        u = sla.solve_triangular(L.T, LZ[:, p] - LZ[:, :p] @ beta, lower=False)
        return ld, ldx, pw, beta, u, LX, L, LZ, Lam


@dataclass(eq=False)
class LmeSolution:
    """What the results stage needs from a fitted lme."""

    design: LmeDesign
    REML: bool
    par: np.ndarray
    pd_pars: list[np.ndarray]
    factors: list[np.ndarray]
    beta: np.ndarray
    b: list[np.ndarray]  # per level (outermost first): (nlevels, k)
    sigma: float
    logLik: float
    vcov: np.ndarray
    fitted: list[np.ndarray]  # per level 0..Q
    weights: np.ndarray  # variance weights (1/sd factor)
    optinfo: dict[str, Any] = field(default_factory=dict)
    problem: LmeProblem | None = None


def solve_at(prob: LmeProblem, x: np.ndarray) -> dict[str, Any]:
    """β, b (per level, original scale), σ and vcov(β) at the parameters x."""
    d = prob.d
    pd_pars, cu, vu = prob.split(x)
    prob.set_structs(cu, vu)
    Ts = prob.factors(pd_pars)
    if prob.dense:
        ld, ldx, pw, beta, u, LX, _, _, Lam = prob._dense_summaries(Ts)
        bfull = Lam @ u
        bs = []
        pos = 0
        for lv, k in zip(d.levels, prob.ks, strict=True):
            bs.append(bfull[pos:pos + lv.nlevels * k].reshape(lv.nlevels, k))
            pos += lv.nlevels * k
        inv = sla.solve_triangular(LX, np.eye(prob.p), lower=True)
        vu_ = inv.T @ inv
    elif prob.single is not None:
        ld, ldx, pw = prob.single.update(Ts[0])
        beta, b0, vu_ = prob.single.solve()
        bs = [b0]
    else:
        bc = prob.bc
        assert bc is not None
        ld, ldx, pw = bc.update(prob.theta(Ts))
        u, beta = bc.solve()
        bs = [None] * len(d.levels)  # type: ignore[list-item]
        pos = 0
        for i in prob.order:
            lv = d.levels[i]
            k = prob.ks[i]
            ui = u[pos:pos + lv.nlevels * k].reshape(lv.nlevels, k)
            bs[i] = ui @ Ts[i].T
            pos += lv.nlevels * k
        vu_ = bc.vcov_unscaled()
    ne = prob.N - prob.p if prob.REML else prob.N
    sigma = math.sqrt(pw / ne)
    ll = -0.5 * prob.crit(ld, ldx, pw)
    s2fix = sigma ** 2  # nlme's varFix (summary() rescales it under ML: adjustSigma)
    fitted = [d.X @ beta]
    for lv, bl in zip(d.levels, bs, strict=True):
        fitted.append(fitted[-1] + np.einsum("ij,ij->i", lv.rows, bl[lv.codes]))
    return {"beta": np.asarray(beta), "b": bs, "sigma": sigma, "logLik": ll,
            "vcov": s2fix * vu_, "fitted": fitted, "factors": Ts, "pd_pars": pd_pars}


def _settle(prob: LmeProblem, x: np.ndarray, var: Any, iters: int = 50) -> None:
    """Fitted values consistent with the weights they define, at fixed parameters x."""
    prev = None
    for _ in range(iters):
        prob._key = None
        f = solve_at(prob, x)["fitted"][-1]
        var.update_fitted(f)
        if prev is not None and np.max(np.abs(f - prev)) <= 1e-12 * max(1.0, np.max(np.abs(f))):
            break
        prev = f
    prob._key = None


class _WeightScaled:
    """BOBYQA's coordinates when the model has variance parameters: the pdMat parameters
    divided by the geometric mean of the standard-deviation function (1 / weights) at the
    current variance parameters.

    T is relative to nlme's σ, the residual SD where the variance function is 1, so it grows
    with the typical size of the variance function: in the model's own coordinates a variance
    parameter and every pdMat parameter move together along a long curved valley (BodyWeight,
    varPower(): T from 8 to 210 as the power goes from 0 to 0.54; 800-1900 evaluations). Every
    pdMat's T is homogeneous of degree one in its parameters, so the division takes T to the
    scale of the typical residual, where the two kinds of parameter are nearly independent.
    """

    def __init__(self, prob: LmeProblem):
        self.prob = prob
        self.npd = sum(prob.n_pd)
        self.vpos = prob.n_params - prob.n_var

    def scale(self, v: np.ndarray) -> float:
        var = self.prob.d.var
        assert var is not None
        var.set_unconstrained(v[self.vpos:])
        # exp(-mean(log(weights))); numpy's mean is this sum over the count
        return float(np.exp(-(var.log_weights_sum() / var.n)))

    def to_x(self, z: np.ndarray) -> np.ndarray:
        x = np.array(z, dtype=float)
        x[:self.npd] *= self.scale(x)
        return x

    def to_z(self, x: np.ndarray) -> np.ndarray:
        z = np.array(x, dtype=float)
        z[:self.npd] /= self.scale(z)
        return z

    def objective(self, z: np.ndarray) -> float:
        return self.prob.objective(self.to_x(z))

    def bobyqa(self, x: np.ndarray, lower: np.ndarray, optctrl: dict) -> dict[str, Any]:
        """BOBYQA from x in these coordinates; the answer in the model's."""
        z0 = self.to_z(x)
        ctrl = dict(optctrl)
        ctrl["initial_step"] = np.array(optctrl["initial_step"], dtype=float)
        ctrl["initial_step"][:self.npd] /= self.scale(x)
        opt = bobyqa(self.objective, z0, lower, ctrl)
        opt["par"] = self.to_x(opt["par"])
        self.prob._key = None  # the variance function was moved by scale()
        return opt


def fit_lme(design: LmeDesign, REML: bool = True, control: dict | None = None) -> LmeSolution:
    """Maximize nlme's (restricted) log-likelihood jointly over all structure parameters with
    BOBYQA; a variance function of fitted(.) alternates with updates of the fitted values
    (nlme's scheme) until the estimates stop changing. BLAS runs on one thread (small
    products; see lmepy.kernels.blas_threads.one_thread)."""
    with one_thread(), fit_guard("log-likelihood"):
        sol = _fit_lme(design, REML, control)
    require_finite("log-likelihood", logLik=sol.logLik, beta=sol.beta, sigma=sol.sigma)
    return sol


def _fit_lme(design: LmeDesign, REML: bool = True, control: dict | None = None
             ) -> LmeSolution:
    control = check_control(control, "lme")
    prob = LmeProblem(design, REML)
    check_parameter_count(prob.n_params, design.p, design.N, {
        "random effects": sum(prob.n_pd),
        type(design.cor).__name__ if design.cor is not None else "": prob.n_cor,
        type(design.var).__name__ if design.var is not None else "": prob.n_var})
    x = prob.start()
    lower = prob.lower()
    if control.get("start") is not None:
        x = check_start(control["start"], lower, objective=prob.objective)
    var = design.var
    needs_update = var is not None and var.needs_fitted
    tol = float(control.get("tolerance", 1e-6))
    max_iter = int(control.get("maxIter", 50))
    n_iter = 0
    feval = 0
    if needs_update:
        # nlme starts from weights 1 (power 0): fit, then take the innermost fitted values
        x0 = x.copy()
        prob._key = None
        sol0 = solve_at(prob, x0)
        var.update_fitted(sol0["fitted"][-1])  # type: ignore[union-attr]
        prob._key = None
    # first steps sized with the variance covariate known (fitted values after the update);
    # stop when a step gains less than 1e-10 of -2 logLik (nlme's optimizer stops at ~1e-7;
    # tighter only walked flat ridges: 2389 -> 1748 evaluations over the 21 reference fits,
    # every logLik still at or above nlme's)
    optctrl = {"xtol_abs": 1e-9, "ftol_abs": 1e-11, "ftol_rel": 1e-10, "maxeval": 100000,
               "initial_step": prob.initial_step(x)}
    optctrl.update(control.get("optCtrl", {}))
    opt: dict[str, Any] = {}
    at = control.get("at")
    while at is not None:
        # evaluate at given parameters (e.g. nlme's estimates) without optimizing
        x = check_start(at, lower, "control['at']")
        opt = {"feval": 0, "message": "evaluated at given parameters", "conv": 0}
        if needs_update:  # fitted(.) consistent with the weights it defines
            _settle(prob, x, var)
        control["polish"] = False
        break
    lls: list[float] = []
    step0 = np.asarray(optctrl["initial_step"], dtype=float)

    def minimize(x: np.ndarray, ctrl: dict) -> dict[str, Any]:
        if prob.n_var:
            return _WeightScaled(prob).bobyqa(x, lower, ctrl)
        return bobyqa(prob.objective, x, lower, ctrl)

    while at is None:
        opt = minimize(x, optctrl)
        feval += opt["feval"]
        xnew = opt["par"]
        if control.get("restart", prob.n_params > 3) and n_iter == 0:
            # a second, short BOBYQA from the answer with small first steps: the first run
            # can stop early on a ridge (badly scaled structure parameters)
            ctrl2 = dict(optctrl, initial_step=np.asarray(optctrl["initial_step"]) * 0.1)
            opt2 = minimize(xnew, ctrl2)
            feval += opt2["feval"]
            if opt2["fval"] < opt["fval"]:
                opt, xnew = opt2, opt2["par"]
        if not needs_update:
            x = xnew
            break
        # each round maximizes with fitted(.) frozen; BOBYQA's answer is good to ~1e-6, the
        # size of the alternation's steps near convergence, so polish it with Newton steps
        xnew = newton_polish(prob.objective, xnew, lower, iters=2)
        n_iter += 1
        sol = solve_at(prob, xnew)
        conv = np.abs((x - xnew) / np.where(xnew == 0, 1.0, xnew))
        x = xnew
        var.update_fitted(sol["fitted"][-1])  # type: ignore[union-attr]
        prob._key = None
        # later rounds start at the previous answer: small first steps
        optctrl = dict(optctrl, initial_step=0.1 * np.maximum(step0, 0.25 * np.abs(x)))
        c = float(np.max(conv))
        lls.append(float(sol["logLik"]))
        # nlme's test (relative change < tolerance), or no progress in the log-likelihood
        # over the last three rounds (the inner optimizer's precision is ~1e-6 relative)
        stalled = len(lls) >= 4 and abs(lls[-1] - lls[-4]) < 1e-9 * abs(lls[-1])
        if n_iter > 1 and (c < tol or stalled):
            break
        if n_iter >= max_iter:
            warn("maximum number of iterations (lmeControl(maxIter)) reached without "
                 "convergence", ConvergenceWarning)
            break
    if control.get("polish", True) and not needs_update:
        x = newton_polish(prob.objective, x, lower, iters=1)
    if opt.get("conv", 0) != 0:
        warn(f"optimization did not converge: {opt['message']}", ConvergenceWarning)
    prob._key = None
    s = solve_at(prob, x)
    w = design.var.weights() if design.var is not None else np.ones(prob.N)
    return LmeSolution(design=design, REML=prob.REML, par=np.array(x), pd_pars=s["pd_pars"],
                       factors=s["factors"], beta=s["beta"], b=s["b"], sigma=s["sigma"],
                       logLik=s["logLik"], vcov=s["vcov"], fitted=s["fitted"], weights=w,
                       optinfo={"feval": feval, "message": opt.get("message", ""),
                                "conv": opt.get("conv", 0), "n_iter": n_iter},
                       problem=prob)
