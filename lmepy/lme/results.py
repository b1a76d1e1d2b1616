"""The fitted lme object: nlme's extractors and nlme 3.1-162's printed text."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy.args import (
    checked,
    fits_arg,
    level_arg,
    level_index_arg,
    nsim_arg,
    optional_str_arg,
    parm_arg,
    seed_arg,
)
from lmepy.covariance import varIdent
from lmepy.covariance.draws import residual_draws, sim_frame
from lmepy.design.values import level_label
from lmepy.errors import DataError, LmepyError, warn
from lmepy.fit.optimize import richardson_hessian
from lmepy.lme.fit import LmeProblem, LmeSolution
from lmepy.results.nlme_generics import VarCov, nlme_deviance
from lmepy.rtext import (
    abbreviate,
    format_num,
    print_matrix,
    print_named,
    print_named_num,
    print_num_matrix,
    quantile7,
    r_round,
    zapsmall,
)

COR_TEXT = {"corAR1": "AR(1)", "corCAR1": "Continuous AR(1)", "corCompSymm": "Compound symmetry",
            "corSymm": "General correlation", "corARMA": "ARMA"}
VAR_TEXT = {"varIdent": "Different standard deviations per stratum",
            "varPower": "Power of variance covariate",
            "varExp": "Exponential of variance covariate",
            "varConstPower": "Constant plus power of variance covariate",
            "varFixed": "fixed weights"}


def containment_df(X: np.ndarray, level_codes: list[np.ndarray], N: int) -> np.ndarray:
    """nlme's denominator degrees of freedom (``getFixDF``): a column is estimated in the
    innermost stratum within whose groups of the next outer level it varies; each stratum's
    DF is its number of groups (N for the residual stratum) less those of the outer strata
    and less its own columns; columns constant over all rows get the largest DF."""
    Q = len(level_codes)
    ng = [int(c.max()) + 1 for c in level_codes]
    dfs = np.array([ng[0]] + [ng[i] - ng[i - 1] for i in range(1, Q)] + [N - ng[-1]],
                   dtype=float)
    p = X.shape[1]
    const = np.zeros(p, dtype=bool)
    strat = np.zeros(p, dtype=int)
    tol = math.sqrt(np.finfo(float).eps)
    for j in range(p):
        x = X[:, j]
        const[j] = bool(np.all(np.abs(x if x[0] == 0 else x / x[0] - 1) < tol))
        s = 0
        for q, codes in enumerate(level_codes):
            order = np.argsort(codes, kind="stable")
            xs, cs = x[order], codes[order]
            diff = (cs[1:] == cs[:-1]) & (xs[1:] != xs[:-1])
            if diff.any():
                s = q + 1
        strat[j] = s
    out = np.zeros(p)
    if (~const).any():
        for s in strat[~const]:
            dfs[s] -= 1
        if const.any():
            dfs[0] -= 1
        else:
            dfs[1:] += 1
        out[~const] = dfs[strat[~const]]
    if const.any():
        out[const] = dfs.max()
    return out


def containment_term_df(X: np.ndarray, level_codes: list[np.ndarray], N: int,
                        assign: list[int]) -> np.ndarray:
    """nlme's denominator DF per model term (``getFixDF(...)$terms``): a term sits in the
    innermost stratum of its columns; each stratum loses the columns of its terms."""
    Q = len(level_codes)
    ng = [int(c.max()) + 1 for c in level_codes]
    dfs = np.array([ng[0]] + [ng[i] - ng[i - 1] for i in range(1, Q)] + [N - ng[-1]],
                   dtype=float)
    p = X.shape[1]
    tol = math.sqrt(np.finfo(float).eps)
    const = np.zeros(p, dtype=bool)
    strat = np.zeros(p, dtype=int)
    for j in range(p):
        x = X[:, j]
        const[j] = bool(np.all(np.abs(x if x[0] == 0 else x / x[0] - 1) < tol))
        for q, codes in enumerate(level_codes):
            order = np.argsort(codes, kind="stable")
            xs, cs = x[order], codes[order]
            if ((cs[1:] == cs[:-1]) & (xs[1:] != xs[:-1])).any():
                strat[j] = q + 1
    terms = sorted(set(assign))
    t_notint = {t: bool(any(not const[j] for j in range(p) if assign[j] == t)) for t in terms}
    t_strat = {t: max(strat[j] for j in range(p) if assign[j] == t) for t in terms}
    t_len = {t: sum(1 for j in range(p) if assign[j] == t) for t in terms}
    out = {}
    if any(t_notint.values()):
        for t in terms:
            if t_notint[t]:
                dfs[t_strat[t]] -= t_len[t]
        if not all(t_notint.values()):
            dfs[0] -= 1
        else:
            dfs[1:] += 1
        for t in terms:
            if t_notint[t]:
                out[t] = dfs[t_strat[t]]
    for t in terms:
        if not t_notint[t]:
            out[t] = dfs.max()
    return np.array([out[t] for t in terms])


def _level_names(names: list[str]) -> list[str]:
    """"Side %in% Dog" for each level, outer first."""
    return [" %in% ".join(reversed(names[:i + 1])) for i in range(len(names))]


def _fmt7(v: float) -> str:
    return format_num([v], digits=7)[0]


class _Text:
    """A value whose str() is R's printed text; ``.value`` holds the numbers."""

    def __init__(self, text: str, value: Any = None):
        self.text = text
        self.value = value

    def __str__(self) -> str:
        return self.text.rstrip("\n")

    def __repr__(self) -> str:
        return self.text.rstrip("\n")


class LmeFit:
    """A fitted ``lme``: nlme's generic functions as methods."""

    def __init__(self, sol: LmeSolution, data_name: str = "data", call: str = ""):
        self.sol = sol
        self.d = sol.design
        self.method = "REML" if sol.REML else "ML"
        self.data_name = data_name
        self.call = call
        self._DF: np.ndarray | None = None

    @property
    def DF(self) -> np.ndarray:
        """nlme's containment denominator degrees of freedom per coefficient, computed when
        first asked for (summary, intervals, anova), not on every fit."""
        if getattr(self, "_DF", None) is None:
            d = self.d
            self._DF = containment_df(d.X, [lv.codes for lv in d.levels], d.N)
        return self._DF  # type: ignore[return-value]

    @DF.setter
    def DF(self, value: np.ndarray) -> None:
        self._DF = value

    # ---- basic extractors -------------------------------------------------------------------
    def fixef(self) -> pd.Series:
        return pd.Series(self.sol.beta, index=self.d.xnames)

    def sigma(self) -> float:
        return float(self.sol.sigma)

    def logLik(self) -> float:
        return float(self.sol.logLik)

    def df(self) -> int:
        """Number of estimated parameters (nlme's attr(logLik, "df"))."""
        pr = self.sol.problem
        assert pr is not None
        return int(self.d.p + pr.n_params + 1)

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.df()

    def BIC(self) -> float:
        n = self.d.N - (self.d.p if self.method == "REML" else 0)
        return -2.0 * self.logLik() + self.df() * math.log(n)

    def nobs(self) -> int:
        return int(self.d.N)

    def vcov(self) -> pd.DataFrame:
        return pd.DataFrame(self.sol.vcov, index=self.d.xnames, columns=self.d.xnames)

    def deviance(self) -> float | None:
        """nlme's deviance: -2 logLik for ML fits; for REML fits nlme warns "deviance
        undefined for REML fit" and gives NULL (None here)."""
        return nlme_deviance(self.logLik(), self.method == "REML")

    @checked(parm=parm_arg, level=level_arg, method=optional_str_arg)
    def confint(self, parm: list[str] | None = None, level: float = 0.95,
                method: str = "Wald") -> pd.DataFrame:
        """Wald intervals for the fixed effects with normal quantiles (stats'
        confint.default, as R gives for gls). nlme's confint(lme) stops with "not (yet)
        implemented ... use intervals() instead"; ``intervals(which="fixed")`` gives nlme's
        t intervals on the containment degrees of freedom."""
        from lmepy.inference.confint import confint_default

        return confint_default(self.sol.beta, np.sqrt(np.diag(self.sol.vcov)), self.d.xnames,
                               parm, level, method)

    def getVarCov(self, individuals: Any = None, type: str = "random.effects") -> VarCov:
        """nlme's getVarCov(): "random.effects" (σ² Ψ of the one grouping level),
        "conditional" (σ² G R G of an individual's rows, data order) or "marginal" (that
        plus Z Ψ Z'). individuals: labels, or R's 1-based positions in order of appearance;
        the first individual by default."""
        d = self.d
        if type not in VarCov._TITLES:
            raise ValueError("'type' should be one of \"random.effects\", \"conditional\", "
                             "\"marginal\"")
        if len(d.levels) > 1:
            raise LmepyError("not implemented for multiple levels of nesting")
        lv = d.levels[0]
        T = self.sol.factors[0]
        D = self.sigma() ** 2 * (T @ T.T)
        if type == "random.effects":
            return VarCov(type, pd.DataFrame(D, index=lv.pd.cnms, columns=lv.pd.cnms))
        first = np.unique(lv.codes, return_index=True)[1]
        seen = [lv.labels[c] for c in lv.codes[np.sort(first)]]
        if individuals is None:
            individuals = [seen[0]]
        elif isinstance(individuals, (str, int, np.integer)):
            individuals = [individuals]
        self._set_structs()
        cors = d.cor.corMatrix() if d.cor is not None else {}
        out = {}
        for ind in individuals:
            name = seen[int(ind) - 1] if isinstance(ind, (int, np.integer)) else str(ind)
            if name not in lv.labels:
                raise LmepyError(f"individual \u2018{name}\u2019 was not used in the fit")
            rows = np.flatnonzero(lv.codes == lv.labels.index(name))
            sds = self.sigma() / self.sol.weights[rows]
            V = cors[name] if d.cor is not None else np.eye(len(rows))
            M = V * np.outer(sds, sds)
            if type == "marginal":
                Z = lv.rows[rows]
                M = M + Z @ D @ Z.T
            lab = [str(i + 1) for i in range(len(rows))]
            out[name] = pd.DataFrame(M, index=lab, columns=lab)
        return VarCov(type, out, group=lv.name)

    @checked(nsim=nsim_arg, seed=seed_arg)
    def simulate(self, nsim: int = 1, seed: int | None = None) -> pd.DataFrame:
        """Responses drawn from the fitted model: Xβ, new random effects at every level
        (N(0, σ² Ψ)), and errors with the fitted correlation structure and variance function;
        columns ``sim_1``, ... (numpy's generator), as lmer's simulate(). nlme's
        simulate.lme is another thing (refits to data simulated under a null model for
        likelihood-ratio tests)."""
        rng = np.random.default_rng(seed)
        d = self.d
        self._set_structs()
        y = np.repeat(self.fitted(level=0)[:, None], nsim, axis=1)
        for lv, T in zip(d.levels, self.sol.factors, strict=True):
            u = rng.standard_normal((lv.nlevels, lv.pd.k, nsim))
            b = self.sigma() * np.einsum("ij,gjs->gis", T, u)  # (levels, k, nsim)
            y += np.einsum("nk,nks->ns", lv.rows, b[lv.codes])
        y += residual_draws(d.N, self.sigma(), d.cor, self.sol.weights, nsim, rng)
        return sim_frame(y)

    def ranef(self) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Per level (outer first) the predicted random effects; one level: a DataFrame."""
        out = {lv.name: pd.DataFrame(b, index=lv.labels, columns=lv.pd.cnms)
               for lv, b in zip(self.d.levels, self.sol.b, strict=True)}
        return next(iter(out.values())) if len(out) == 1 else out

    def coef(self) -> pd.DataFrame:
        """Fixed plus random effects at the innermost level (nlme's ``coef.lme``)."""
        d = self.d
        inner = d.levels[-1]
        fe = self.fixef()
        out = pd.DataFrame(np.tile(fe.values, (inner.nlevels, 1)), index=inner.labels,
                           columns=d.xnames)
        for li, lv in enumerate(d.levels):
            b = self.sol.b[li]
            # map each inner group to its group at this level
            m = np.zeros(inner.nlevels, dtype=np.int64)
            m[inner.codes] = lv.codes
            for j, c in enumerate(lv.pd.cnms):
                if c in out.columns:
                    out[c] = out[c].values + b[m, j]
                else:
                    out[c] = b[m, j]
        return out

    def fitted(self, level: int | None = None) -> np.ndarray:
        """Fitted values at ``level`` (0: population; default the innermost)."""
        q = len(self.d.levels) if level is None else int(level)
        return self.sol.fitted[q].copy()

    def residuals(self, type: str = "response", level: int | None = None) -> np.ndarray:
        """"response", "pearson" (divided by σ times the variance function's standard
        deviation factor) or "normalized" (pearson residuals whitened by the correlation)."""
        r = self.d.y - self.fitted(level)
        if type == "response":
            return r
        r = r * self.sol.weights / self.sol.sigma
        if type == "pearson":
            return r
        if type == "normalized":
            if self.d.cor is not None:
                self._set_structs()
                # nlme 3.1-162 whitens the residuals, kept in data order, with the blocks of
                # its group-sorted internal order (residuals.lme: recalc(corStruct, ...)); the
                # two orders differ when the data are not sorted by the grouping levels.
                order = self._sorted_order()
                z = np.empty_like(r)
                z[order] = r
                return self.d.cor.whiten(z)[order]
            return r
        raise ValueError("type must be 'response', 'pearson' or 'normalized'")

    def _sorted_order(self) -> np.ndarray:
        """nlme's internal row order: by the grouping levels, outermost first (stable)."""
        keys = [lv.codes for lv in reversed(self.d.levels)]
        return np.lexsort(keys)

    def _set_structs(self) -> None:
        pr = self.sol.problem
        assert pr is not None
        _, cu, vu = pr.split(self.sol.par)
        pr._key = None
        pr.set_structs(cu, vu)

    @checked(level=level_index_arg)
    def predict(self, newdata: pd.DataFrame | None = None, level: int | None = None
                ) -> np.ndarray:
        """Predictions at ``level`` (0 population, default innermost); rows of groups not
        seen in the fit are NaN at levels that use them, as nlme's NA."""
        if level is not None and level > len(self.d.levels):
            raise ValueError(f"'level' must be between 0 and {len(self.d.levels)} (the number "
                             f"of grouping levels), not {level}")
        if newdata is None:
            return self.fitted(level)
        from lmepy.covariance._spec import group_codes  # noqa: F401
        from lmepy.design.compile import model_matrix
        d = self.d
        q = len(d.levels) if level is None else int(level)
        rhs = d.fixed_text.split("~", 1)[1]
        X = model_matrix("~" + rhs, _with_levels(newdata, d.data))
        cols = [c for c in d.xnames if c not in X.columns]
        if cols or len(X) != len(newdata):
            raise DataError("newdata lacks variables or has missing values for the fixed "
                            "effects: " + ", ".join(cols))
        pred = np.asarray(X[d.xnames], dtype=float) @ self.sol.beta
        for li in range(q):
            lv = d.levels[li]
            for g in lv.groups:
                if g not in newdata.columns:
                    raise DataError(f"object '{g}' not found (grouping variable)")
            keys = ["/".join(level_label(newdata[g].iloc[i]) for g in lv.groups)
                    for i in range(len(newdata))]
            idx = {lab: i for i, lab in enumerate(lv.labels)}
            nd = _with_levels(newdata, d.data)
            blocks = lv.pd.blocks if lv.pd.kind == "pdBlocked" else [lv.pd]
            Zm = np.hstack([np.asarray(model_matrix(b.formula_text, nd)[b.cnms], dtype=float)
                            for b in blocks])
            b = self.sol.b[li]
            for i, k in enumerate(keys):
                j = idx.get(k)
                if j is None:
                    pred[i] = np.nan  # nlme: NA for groups not in the fit
                else:
                    pred[i] += Zm[i] @ b[j]
        return pred

    # ---- model structure -------------------------------------------------------------------
    def modelStruct(self) -> dict[str, dict[str, float]]:
        """nlme's ``coef(fit$modelStruct, unconstrained = FALSE)`` grouped by component:
        reStruct (per level, innermost first as nlme), corStruct, varStruct."""
        out: dict[str, dict[str, float]] = {}
        re: dict[str, float] = {}
        for lv, pp in reversed(list(zip(self.d.levels, self.sol.pd_pars, strict=True))):
            for k, v in lv.pd.coef_constrained(pp).items():
                re[f"{lv.name}.{k}"] = v
        out["reStruct"] = re
        self._set_structs()
        if self.d.cor is not None:
            out["corStruct"] = dict(self.d.cor.coef(unconstrained=False))  # type: ignore[arg-type]
        if self.d.var is not None and self.d.var.n_params:
            out["varStruct"] = dict(self.d.var.coef(unconstrained=False))  # type: ignore[arg-type]
        return out

    def tTable(self) -> pd.DataFrame:
        """nlme's summary table; under ML the standard errors use σ² N / (N - p) as
        summary.lme's adjustSigma does."""
        se = np.sqrt(np.diag(self.sol.vcov))
        if self.method == "ML":
            se = se * math.sqrt(self.d.N / (self.d.N - self.d.p))
        t = self.sol.beta / se
        p = 2.0 * stats.t.sf(np.abs(t), self.DF)
        return pd.DataFrame({"Value": self.sol.beta, "Std.Error": se, "DF": self.DF,
                             "t-value": t, "p-value": p}, index=self.d.xnames)

    # ---- text ----------------------------------------------------------------------------------
    def _cor_block(self) -> str:
        cor = self.d.cor
        if cor is None:
            return ""
        self._set_structs()
        spec = self.d.cor_spec
        cls = type(spec).__name__ if spec is not None else cor.nlme_class
        name = COR_TEXT.get(cls, cls)
        if cls == "corARMA":
            name = f"ARMA({cor.p},{cor.q})"  # type: ignore[attr-defined]
        form = cor.form
        cov = "1" if form.covariate is None else form.covariate
        groups = form.groups or tuple([self.d.levels[-1].name])
        ftxt = f"~{cov} | {'/'.join(groups)}"
        coef = cor.coef(unconstrained=False)
        assert isinstance(coef, dict)
        return (f"Correlation Structure: {name}\n Formula: {ftxt} \n Parameter estimate(s):\n"
                + print_named_num(list(coef.values()), list(coef.keys())))

    def _var_block(self, header: bool = True) -> str:
        var = self.d.var
        if var is None:
            return ""
        self._set_structs()
        cls = var.nlme_class
        if isinstance(var, varIdent):
            vals = var.ratios() if hasattr(var, "ratios") else var.coef()
            names, values = list(vals.keys()), list(vals.values())  # type: ignore[union-attr]
        else:
            c = var.coef(unconstrained=False)
            assert isinstance(c, dict)
            names, values = list(c.keys()), list(c.values())
        ftxt = _form_text(var.form)
        if cls == "varFixed":
            return (("Variance function:\n" if header else "")
                    + f" Structure: {VAR_TEXT[cls]}\n Formula: {ftxt} \n")
        if not names:
            return ""
        return (("Variance function:\n" if header else "")
                + f" Structure: {VAR_TEXT.get(cls, cls)}\n Formula: {ftxt} \n"
                + " Parameter estimates:\n" + print_named_num(values, names))

    def _re_block(self) -> str:
        d = self.d
        sig = self.sol.sigma
        names = _level_names([lv.name for lv in d.levels])
        out = ["Random effects:\n"]
        Q = len(d.levels)
        for i, (lv, pp) in enumerate(zip(d.levels, self.sol.pd_pars, strict=True)):
            out.append(_pd_summary(lv.pd, pp, sig, names[i], resid=(i == Q - 1)))
            if i < Q - 1:
                out.append("\n")
        return "".join(out)

    def _aic_table(self) -> str:
        cols = ["AIC", "BIC", "logLik"]
        vals = [self.AIC(), self.BIC(), self.logLik()]
        cells = [[_fmt7(v) for v in vals]]
        return print_matrix(cells, [" "], cols, right=True)

    def summary(self) -> _Text:
        """nlme's ``print(summary(fit))`` as text; ``.value`` is the tTable."""
        d = self.d
        title = "REML" if self.method == "REML" else "maximum likelihood"
        s = [f"Linear mixed-effects model fit by {title}\n", f"  Data: {self.data_name} \n",
             self._aic_table(), "\n", self._re_block(), "\n"]
        cb = self._cor_block()
        if cb:
            s.append(cb)
        vb = self._var_block()
        if vb:
            s.append(vb)
        s.append(f"Fixed effects:  {d.fixed_text} \n")
        tt = self.tTable()
        cells_cols = []
        for c in ["Value", "Std.Error", "DF", "t-value"]:
            cells_cols.append(format_num(zapsmall(list(tt[c].values))))
        pv = [r_round(v, 4) for v in tt["p-value"].values]
        cells_cols.append(format_num(pv))
        cells = [[col[i] for col in cells_cols] for i in range(len(tt))]
        s.append(print_matrix(cells, d.xnames, ["Value", "Std.Error", "DF", "t-value",
                                                "p-value"], right=True))
        if d.p > 1:
            s.append(_correlation_text(self.sol.vcov, d.xnames))
        s.append("\nStandardized Within-Group Residuals:\n")
        q = quantile7(self.residuals("pearson"))
        s.append(print_named_num(q, ["Min", "Q1", "Med", "Q3", "Max"]))
        s.append(f"\nNumber of Observations: {d.N}")
        s.append(self._groups_text())
        out = _Text("".join(s), tt)
        out.tTable = tt  # type: ignore[attr-defined]
        out.coefficients = tt  # type: ignore[attr-defined]
        return out

    def print_text(self) -> str:
        """nlme's ``print(fit)``: log-likelihood, fixed effects, model structures, groups."""
        d = self.d
        title = "REML" if self.method == "REML" else "maximum likelihood"
        s = [f"Linear mixed-effects model fit by {title}\n", f"  Data: {self.data_name} \n",
             "  Log-" + ("restricted-" if self.method == "REML" else "")
             + f"likelihood: {_fmt7(self.logLik())}\n",
             f"  Fixed: {d.fixed_text} \n",
             print_named_num(list(self.sol.beta), d.xnames), "\n",
             self._re_block(), "\n", self._cor_block(), self._var_block(),
             f"Number of Observations: {d.N}", self._groups_text()]
        return "".join(s).rstrip("\n")

    def _groups_text(self) -> str:
        """nlme's "Number of Groups:" line: a count, or a named row per level."""
        levels = self.d.levels
        if len(levels) == 1:
            return f"\nNumber of Groups: {levels[0].nlevels} \n"
        return "\nNumber of Groups: \n" + print_named(
            [str(lv.nlevels) for lv in levels], _level_names([lv.name for lv in levels]))

    def __str__(self) -> str:
        return self.print_text()

    def __repr__(self) -> str:
        return self.print_text()

    def VarCorr(self) -> _Text:
        """nlme's ``VarCorr(fit)`` as printed."""
        d = self.d
        sig = self.sol.sigma
        blocks = []
        for lv, pp in zip(d.levels, self.sol.pd_pars, strict=True):
            P = lv.pd.relcov(pp) * sig ** 2
            sd = np.sqrt(np.diag(P))
            corr = None
            if lv.pd.k >= 2 and lv.pd.kind not in ("pdDiag", "pdIdent", "pdBlocked"):
                C = P / np.outer(sd, sd)
                ll = np.tril_indices(lv.pd.k, -1)
                fm = format_num([r_round(v, 3) for v in C[ll]])
                cm = [[""] * lv.pd.k for _ in range(lv.pd.k)]
                for (a, b), s in zip(zip(*ll, strict=True), fm, strict=True):
                    cm[a][b] = s
                if lv.pd.kind != "pdCompSymm":  # its corMatrix has no column names
                    ab = abbreviate(lv.pd.cnms, 6)
                    for j in range(lv.pd.k):
                        cm[0][j] = ab[j]
                corr = [row[:-1] for row in cm]
            blocks.append((lv, list(np.diag(P)), list(sd), corr, _form_str(lv.pd)))
        ncorr = max([len(b[3][0]) if b[3] else 0 for b in blocks] + [0])
        colnames = ["Variance", "StdDev"] + (["Corr"] + [""] * (ncorr - 1) if ncorr else [])
        if len(blocks) == 1:
            lv, var, sd, corr, fs = blocks[0]
            v1 = format_num(var + [sig ** 2])
            v2 = format_num(sd + [sig])
            rows = []
            for i in range(len(var) + 1):
                r = [v1[i], v2[i]]
                if ncorr:
                    r += (corr[i] if (corr and i < len(var)) else [""] * ncorr)
                rows.append(r)
            text = f"{lv.name} = {fs} \n" + print_matrix(rows, lv.pd.cnms + ["Residual"],
                                                          colnames)
            return _Text(text)
        allv = [v for b in blocks for v in b[1]] + [sig ** 2]
        alls = [v for b in blocks for v in b[2]] + [sig]
        f1, f2 = format_num(allv), format_num(alls)
        rows, rn = [], []
        pos = 0
        for lv, var, _sd, corr, fs in blocks:
            rows.append([fs, ""] + [""] * ncorr)
            rn.append(f"{lv.name} =")
            for i in range(len(var)):
                r = [f1[pos], f2[pos]]
                r += ((corr[i] + [""] * (ncorr - len(corr[i]))) if corr else [""] * ncorr)
                rows.append(r)
                rn.append(lv.pd.cnms[i])
                pos += 1
        rows.append([f1[pos], f2[pos]] + [""] * ncorr)
        rn.append("Residual")
        return _Text(print_matrix(rows, rn, colnames))

    # ---- approximate intervals ---------------------------------------------------------------
    def apVar(self) -> tuple[np.ndarray, list[tuple[str, str, int]], np.ndarray]:
        """nlme's approximate covariance of the variance parameters: the inverse of minus the
        Hessian of the log-likelihood in (natural reStruct, corStruct and varStruct on their
        unconstrained scales, log σ). Returns (estimates, labels, covariance)."""
        pr = self.sol.problem
        assert pr is not None
        d = self.d
        sig = self.sol.sigma
        _, cu, vu = pr.split(self.sol.par)
        nat, labels = [], []
        for li, (lv, pp) in enumerate(zip(d.levels, self.sol.pd_pars, strict=True)):
            v = lv.pd.natural(pp, sig)
            nat.append(v)
            labels += [("re", lv.name, li)] * len(v)
        nat.append(cu)
        labels += [("cor", "", 0)] * len(cu)
        nat.append(vu)
        labels += [("var", "", 0)] * len(vu)
        nat.append(np.array([math.log(sig)]))
        labels.append(("sigma", "", 0))
        est = np.concatenate(nat)

        def ll(z: np.ndarray) -> float:
            try:
                return _ll(z)
            except (OverflowError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
                return float("nan")

        def _ll(z: np.ndarray) -> float:
            s = math.exp(z[-1])
            parts = []
            pos = 0
            for lv in d.levels:
                m = len(lv.pd.natural_names())
                parts.append(lv.pd.from_natural(z[pos:pos + m], s))
                pos += m
            x = np.concatenate(parts + [z[pos:pos + len(cu)],
                                        z[pos + len(cu):pos + len(cu) + len(vu)]])
            return pr.full_loglik(x, s)

        from lmepy.lme.threads import one_thread
        with one_thread():
            H = richardson_hessian(ll, est, step=1e-3, floor=1.0)
        pr._key = None
        ev = np.linalg.eigvalsh((H + H.T) / 2) if np.all(np.isfinite(H)) else np.array([1.0])
        # negative definite, and not merely up to rounding (a flat direction, e.g. a
        # correlation at ±1, has an eigenvalue ~0 of either sign)
        if not np.all(ev < -1e-6 * np.max(np.abs(ev))):
            raise LmepyError("cannot get confidence intervals on var-cov components: "
                             "Non-positive definite approximate variance-covariance\n "
                             "Consider 'which = \"fixed\"'")
        V = np.linalg.inv(-H)
        return est, labels, V

    @checked(level=level_arg, which=optional_str_arg)
    def intervals(self, level: float = 0.95, which: str = "all") -> _Text:
        """nlme's ``intervals(fit)``: t intervals for the fixed effects (containment DF),
        normal intervals on the natural scales for the variance parameters (``which``:
        "all", "fixed" or "var-cov")."""
        if which not in ("all", "fixed", "var-cov"):
            raise ValueError("which must be \"all\", \"fixed\" or \"var-cov\"")
        d = self.d
        se = np.sqrt(np.diag(self.sol.vcov))  # varFix, not adjusted under ML
        qt = stats.t.ppf(1 - (1 - level) / 2, self.DF)
        b = self.sol.beta
        fixed = pd.DataFrame({"lower": b - qt * se, "est.": b, "upper": b + qt * se},
                             index=d.xnames)
        out: dict[str, Any] = {}
        txt = [f"Approximate {_fmt_pct(level)}% confidence intervals\n"]
        if which != "var-cov":
            out["fixed"] = fixed
            txt += ["\n Fixed effects:\n",
                    print_num_matrix(fixed.values.tolist(), d.xnames, ["lower", "est.", "upper"])]
        if which == "fixed":
            return _Text("".join(txt), out)
        est, labels, V = self.apVar()
        z = stats.norm.ppf(1 - (1 - level) / 2)
        se = np.sqrt(np.diag(V))
        re: dict[str, pd.DataFrame] = {}
        txt.append("\n Random Effects:\n")
        pos = 0
        for lv in d.levels:
            names = lv.pd.natural_names()
            m = len(names)
            e = est[pos:pos + m]
            s = se[pos:pos + m]
            tab = pd.DataFrame({"lower": lv.pd.natural_back(names, e - z * s),
                                "est.": lv.pd.natural_back(names, e),
                                "upper": lv.pd.natural_back(names, e + z * s)}, index=names)
            re[lv.name] = tab
            pos += m
        for lv in reversed(d.levels) if False else d.levels:
            tab = re[lv.name]
            txt.append(f"  Level: {lv.name} \n")
            txt.append(print_num_matrix(tab.values.tolist(), list(tab.index),
                                        ["lower", "est.", "upper"]))
        out["reStruct"] = re
        self._set_structs()
        for key, struct, title in (("cor", d.cor, "Correlation structure"),
                                   ("var", d.var, "Variance function")):
            if struct is None or pos >= len(est) - 1 or labels[pos][0] != key:
                continue
            m = struct.n_params
            e, s = est[pos:pos + m], se[pos:pos + m]
            names = struct.coef_names()
            vals = []
            for u in (e - z * s, e, e + z * s):  # the interval ends on nlme's constrained scale
                struct.set_unconstrained(u)
                vals.append(list(struct.constrained()))
            struct.set_unconstrained(e)
            tab = pd.DataFrame({"lower": vals[0], "est.": vals[1], "upper": vals[2]},
                               index=names)
            out[f"{key}Struct"] = tab
            txt.append(f"\n {title}:\n")
            txt.append(print_num_matrix(tab.values.tolist(), names, ["lower", "est.", "upper"]))
            pos += m
        ls, sls = est[-1], se[-1]
        sg = {"lower": math.exp(ls - z * sls), "est.": math.exp(ls),
              "upper": math.exp(ls + z * sls)}
        out["sigma"] = sg
        txt.append("\n Within-group standard error:\n")
        txt.append(print_named_num(list(sg.values()), list(sg.keys())))
        self._set_structs()
        return _Text("".join(txt), out)

    # ---- comparisons and diagnostics ---------------------------------------------------------
    @checked(others=fits_arg)
    def anova(self, *others: LmeFit, names: list[str] | None = None) -> _Text:
        """nlme's likelihood-ratio table for nested fits (in the order given)."""
        fits = [self, *others]
        if names is None:  # R prints the deparsed arguments: the caller's variable names
            from lmepy.callnames import caller_names
            names = caller_names(fits)
            if len(set(names)) < len(names) or None in names:
                names = [f"fit{i + 1}" for i in range(len(fits))]
        if len(fits) == 1:
            return self._anova_single()
        methods = {f.method for f in fits}
        if len(methods) > 1:
            raise ValueError("all fitted objects must have the same estimation method")
        if self.method == "REML":
            fx = {tuple(f.d.xnames) for f in fits}
            if len(fx) > 1:
                warn("fitted objects with different fixed effects. REML comparisons "
                     "are not meaningful.")
        rows = []
        for i, f in enumerate(fits):
            r = {"Model": i + 1, "df": f.df(), "AIC": f.AIC(), "BIC": f.BIC(),
                 "logLik": f.logLik(), "Test": "", "L.Ratio": np.nan, "p-value": np.nan}
            if i > 0:
                g = fits[i - 1]
                r["Test"] = f"{i} vs {i + 1}"
                r["L.Ratio"] = abs(2 * (f.logLik() - g.logLik()))
                ddf = abs(f.df() - g.df())
                r["p-value"] = float(stats.chi2.sf(r["L.Ratio"], ddf)) if ddf else np.nan
            rows.append(r)
        tab = pd.DataFrame(rows, index=names)
        cells = []
        fm = {c: format_num(list(tab[c].values)) for c in ["AIC", "BIC", "logLik"]}
        lr = [v for v in tab["L.Ratio"].values if not np.isnan(v)]
        lrs = iter(format_num(lr)) if lr else iter(())
        pv = [r_round(v, 4) for v in tab["p-value"].values if not np.isnan(v)]
        pvs = iter(format_num(pv)) if pv else iter(())
        for i in range(len(tab)):
            lrt = next(lrs) if not np.isnan(tab["L.Ratio"].iloc[i]) else ""
            pvt = next(pvs) if not np.isnan(tab["p-value"].iloc[i]) else ""
            if pvt.strip() and float(pvt) == 0:
                pvt = "<.0001"
            cells.append([str(tab["Model"].iloc[i]), str(tab["df"].iloc[i]), fm["AIC"][i],
                          fm["BIC"][i], fm["logLik"][i], tab["Test"].iloc[i], lrt, pvt])
        text = print_matrix(cells, names, list(tab.columns), right=True)
        return _Text(text, tab)

    def _anova_single(self) -> _Text:
        """nlme's sequential F tests: F = |R β|² / numDF over each term's columns, R the
        upper Cholesky factor of vcov(β)⁻¹; denominator DF by containment."""
        d = self.d
        V = self.sol.vcov
        if self.method == "ML":
            V = V * d.N / (d.N - d.p)
        R = np.linalg.cholesky(np.linalg.inv(V)).T
        c0 = R @ self.sol.beta
        assign = list(d.assign)
        terms = sorted(set(assign))
        names = (["(Intercept)"] if d.intercept else []) + list(d.term_labels)
        num = [sum(1 for a in assign if a == t) for t in terms]
        F = [float(np.sum(c0[[j for j, a in enumerate(assign) if a == t]] ** 2)) / n
             for t, n in zip(terms, num, strict=True)]
        den = containment_term_df(d.X, [lv.codes for lv in d.levels], d.N, assign)
        pv = [float(stats.f.sf(f, n, dd)) for f, n, dd in zip(F, num, den, strict=True)]
        tab = pd.DataFrame({"numDF": num, "denDF": den.astype(int), "F-value": F,
                            "p-value": pv}, index=names)
        pvs = format_num([r_round(v, 4) for v in pv])
        pvs = ["<.0001" if float(v) == 0 else v for v in pvs]
        fs = format_num(zapsmall(F))
        cells = [[str(n), str(int(dd)), f, p_] for n, dd, f, p_ in
                 zip(num, den, fs, pvs, strict=True)]
        return _Text(print_matrix(cells, names, list(tab.columns), right=True), tab)

    def ACF(self, maxLag: int | None = None, resType: str = "pearson") -> pd.DataFrame:
        """nlme's ``ACF(fit)``: empirical autocorrelation of the within-group residuals by
        lag, pooled over the innermost groups (rows in data order within each group)."""
        r = self.residuals(resType)
        inner = self.d.levels[-1]
        groups = [np.flatnonzero(inner.codes == g) for g in range(inner.nlevels)]
        groups = [g for g in groups if len(g)]
        ns = [len(g) for g in groups]
        if maxLag is None:
            maxL = max(ns) - 1
            maxLag = int(min(maxL, int(10 * math.log10(maxL + 1))))
        vals = []
        for lag in range(maxLag + 1):
            num = 0.0
            cnt = 0
            for g in groups:
                rg = r[g]
                if len(rg) > lag:
                    num += float(np.sum(rg[:len(rg) - lag] * rg[lag:]))
                    cnt += len(rg) - lag
            vals.append((num / cnt if cnt else np.nan, cnt))
        c0 = vals[0][0]
        return pd.DataFrame({"lag": np.arange(maxLag + 1),
                             "ACF": [v[0] / c0 for v in vals]})


def _fmt_pct(level: float) -> str:
    v = level * 100
    return str(int(v)) if float(v).is_integer() else format_num([v])[0]


def _with_levels(newdata: pd.DataFrame, data: pd.DataFrame | None) -> pd.DataFrame:
    """newdata with the fit's factor levels, so contrasts code it as in the fit."""
    if data is None:
        return newdata
    nd = newdata.copy()
    for c in nd.columns:
        if c in data.columns and isinstance(data[c].dtype, pd.CategoricalDtype):
            vals = nd[c].astype(str)
            cats = data[c].cat.categories
            if vals.isin(cats.astype(str)).all():  # grouping columns may name new groups
                nd[c] = pd.Categorical(vals, categories=cats, ordered=data[c].cat.ordered)
    return nd


def _form_text(form: Any) -> str:
    cov = "1" if form.covariate is None else form.covariate
    return f"~{cov}" + (f" | {'/'.join(form.groups)}" if form.groups else "")


def _form_str(pd_: Any) -> str:
    if pd_.kind == "pdBlocked":
        return ", ".join(_form_str(b) for b in pd_.blocks)
    return f"{pd_.kind}({pd_.formula_text[1:].strip()})"


def _correlation_text(V: np.ndarray, names: list[str]) -> str:
    sd = np.sqrt(np.diag(V))
    C = V / np.outer(sd, sd)
    p = len(names)
    ll = np.tril_indices(p, -1)
    fm = format_num([r_round(v, 3) for v in C[ll]])
    cm = [[""] * p for _ in range(p)]
    for (a, b), s in zip(zip(*ll, strict=True), fm, strict=True):
        cm[a][b] = s
    ab = abbreviate(names, 6)
    cells = [row[:-1] for row in cm[1:]]
    return " Correlation: \n" + print_matrix(cells, names[1:], ab[:-1])


def _pd_summary(pd_: Any, pp: np.ndarray, sigma: float, level: str, resid: bool) -> str:
    """nlme's print.summary.pdMat for one level."""
    if pd_.kind == "pdBlocked":
        out = [" Composite Structure: Blocked\n"]
        pos = 0
        for i, b in enumerate(pd_.blocks):
            m = b.n_params
            out.append(f"\n Block {i + 1}: {', '.join(b.cnms)}\n")
            out.append(_pd_summary(b, pp[pos:pos + m], sigma, level,
                                   resid and i == len(pd_.blocks) - 1))
            pos += m
        return "".join(out)
    P = pd_.relcov(pp)
    sd = np.sqrt(np.diag(P))
    out = [f" Formula: {pd_.formula_text} | {level}\n"]
    cn = pd_.cnms
    if pd_.k == 1 or pd_.kind in ("pdDiag", "pdIdent"):
        if pd_.k > 1:
            out.append(f" Structure: {_struct_name(pd_)}\n")
        vals = list(sigma * sd) + ([sigma] if resid else [])
        names = cn + (["Residual"] if resid else [])
        out.append(print_num_matrix([vals], ["StdDev:"], names))
        return "".join(out)
    out.append(f" Structure: {_struct_name(pd_)}\n")
    p = pd_.k
    C = P / np.outer(sd, sd)
    ll = np.tril_indices(p, -1)
    fm = format_num([r_round(v, 3) for v in C[ll]])
    cm = [[""] * p for _ in range(p)]
    for (a, b), s in zip(zip(*ll, strict=True), fm, strict=True):
        cm[a][b] = s
    ab = abbreviate(cn, 6) if pd_.kind != "pdCompSymm" else [""] * p
    sds = format_num(list(sigma * sd) + ([sigma] if resid else []))
    rows = []
    for i in range(p):
        corr = ab[:-1] if i == 0 else cm[i][:-1]
        rows.append([sds[i]] + corr)
    if resid:
        rows.append([sds[-1]] + [""] * (p - 1))
    colnames = ["StdDev", "Corr"] + [""] * (p - 2)
    out.append(print_matrix(rows, cn + (["Residual"] if resid else []), colnames))
    return "".join(out)


def _struct_name(pd_: Any) -> str:
    from lmepy.lme.pd import STRUCTURE_TEXT
    return STRUCTURE_TEXT[pd_.kind]


__all__ = ["LmeFit", "LmeProblem", "containment_df"]
