"""The fitted lme object: nlme's extractors as methods. Its printed text comes from
lmepy.results.nlmeprint, its intervals, apVar and anova tables from lmepy.inference
(nlme_intervals, nlme_anova)."""

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
from lmepy.covariance.draws import residual_draws, sim_frame
from lmepy.design.values import level_label
from lmepy.errors import DataError, LmepyError
from lmepy.inference.nlme_anova import anova_nlme, containment_df, lme_anova_terms
from lmepy.inference.nlme_intervals import NlmeIntervals, lme_apvar, lme_intervals
from lmepy.inference.tables import AnovaTable
from lmepy.lme.fit import LmeProblem, LmeSolution
from lmepy.refit import Updatable
from lmepy.results import nlmeprint
from lmepy.results.nlme_generics import VarCov, nlme_deviance
from lmepy.results.nlmeprint import NlmeSummary, RText

_Text = RText  # lmer(correlation=)'s results print through it (lmepy.lme.lmer_residual)


class LmeFit(Updatable):
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

    # ---- printing (lmepy.results.nlmeprint) ------------------------------------------------
    def summary(self) -> NlmeSummary:
        """nlme's ``print(summary(fit))`` as str(); ``.coefficients`` is the tTable."""
        return nlmeprint.lme_summary(self)

    def print_text(self) -> str:
        """nlme's ``print(fit)``."""
        return nlmeprint.lme_print(self)

    def __str__(self) -> str:
        return self.print_text()

    def __repr__(self) -> str:
        return self.print_text()

    def VarCorr(self) -> RText:
        """nlme's ``VarCorr(fit)`` as printed."""
        return nlmeprint.lme_varcorr(self)

    # ---- inference (lmepy.inference.nlme_intervals, nlme_anova) ------------------------------
    def apVar(self) -> tuple[np.ndarray, list[tuple[str, str, int]], np.ndarray]:
        """nlme's approximate covariance of the variance parameters (estimates, labels,
        covariance): see lmepy.inference.nlme_intervals.lme_apvar."""
        return lme_apvar(self)

    @checked(level=level_arg, which=optional_str_arg)
    def intervals(self, level: float = 0.95, which: str = "all") -> NlmeIntervals:
        """nlme's ``intervals(fit)``: a mapping of DataFrames ("fixed", "reStruct" by level,
        "corStruct", "varStruct", "sigma") whose str() is nlme's printed text; ``which``:
        "all", "fixed" or "var-cov"."""
        return lme_intervals(self, level, which)

    @checked(others=fits_arg)
    def anova(self, *others: Any, names: list[str] | None = None,
              model_names: list[str] | None = None) -> AnovaTable:
        """nlme's anova(): sequential F tests of this fit's terms, or, given other lme and/or
        gls fits, likelihood-ratio tests between them in the order given. Rows are named by
        ``names`` (or ``model_names``), by default the caller's variable names. A DataFrame
        that prints as nlme's table."""
        return anova_nlme(self, others, lme_anova_terms, names, model_names)

    def nlme_data(self) -> tuple[str, int, np.ndarray]:
        """(fixed-effects formula, number of observations, response): what nlme's anova
        compares between fits."""
        return self.d.fixed_text, self.d.N, self.d.y

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


__all__ = ["LmeFit", "LmeProblem", "containment_df"]
