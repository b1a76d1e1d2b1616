"""The gls fit object: answers with R's generic names (fixef/coef, vcov, sigma, logLik, AIC,
BIC, residuals, fitted, intervals) and nlme's modelStruct()."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy.args import checked, fits_arg, level_arg, nsim_arg, optional_str_arg, parm_arg, seed_arg
from lmepy.covariance.draws import residual_draws, sim_frame
from lmepy.errors import LmepyError
from lmepy.gls.fit import GlsEstimate, GlsProblem
from lmepy.inference.nlme_anova import anova_nlme, gls_anova_terms
from lmepy.inference.nlme_intervals import NlmeIntervals, gls_apvar, gls_intervals
from lmepy.inference.tables import AnovaTable
from lmepy.refit import Updatable
from lmepy.results import nlmeprint
from lmepy.results.nlme_generics import VarCov, nlme_deviance
from lmepy.results.nlmeprint import NlmeSummary


class GlsFit(Updatable):
    """A fitted gls model (nlme's class "gls")."""

    def __init__(self, *, X: pd.DataFrame, y: np.ndarray, problem: GlsProblem,
                 estimate: GlsEstimate, method: str, formula: str = "", data_name: str = "data",
                 opt: dict | None = None, n_iter: int = 0):
        self.X = X
        self.y = np.asarray(y, dtype=float)
        self.problem = problem
        self.estimate = estimate
        self.method = method
        self.formula = formula
        self.data_name = data_name
        self.opt = opt or {}
        self.n_iter = n_iter
        self._index = X.index
        self._apvar: np.ndarray | str | None = None

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def N(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def REML(self) -> bool:
        return self.method == "REML"

    def nobs(self) -> int:
        """Number of observations."""
        return self.N

    def df_residual(self) -> int:
        """N - p, the t tests' degrees of freedom."""
        return self.N - self.p

    # -- estimates ------------------------------------------------------------------------------
    def fixef(self) -> pd.Series:
        """The coefficients (nlme's coef(fit)), named as R's model.matrix columns."""
        return pd.Series(self.estimate.beta, index=list(self.X.columns), name="Value")

    coef = fixef

    def sigma(self) -> float:
        """Residual standard error (REML: RSS / (N - p); ML: RSS / N)."""
        return float(self.estimate.sigma)

    def vcov(self) -> pd.DataFrame:
        """sigma^2 (X*'X*)^{-1}; for ML nlme scales by N / (N - p)."""
        Rinv = np.linalg.inv(self.estimate.R)
        v = Rinv @ Rinv.T * self.estimate.sigma ** 2
        if not self.REML:
            v *= self.N / (self.N - self.p)
        names = list(self.X.columns)
        return pd.DataFrame(v, index=names, columns=names)

    def logLik(self) -> float:
        """The (restricted) log-likelihood at the estimates."""
        return float(self.estimate.logLik)

    def df(self) -> int:
        """Parameters counted by logLik's df: coefficients, structure parameters, sigma."""
        return self.p + self.problem.n_theta + 1

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.df()

    def BIC(self) -> float:
        n = self.N - self.p if self.REML else self.N
        return -2.0 * self.logLik() + self.df() * math.log(n)

    @checked(parm=parm_arg, level=level_arg, method=optional_str_arg)
    def confint(self, parm: list[str] | None = None, level: float = 0.95,
                method: str = "Wald") -> pd.DataFrame:
        """R's confint(fit) for gls (stats' confint.default): Wald intervals from vcov with
        normal quantiles; columns "2.5 %", "97.5 %"."""
        from lmepy.inference.confint import confint_default

        return confint_default(self.estimate.beta, np.sqrt(np.diag(self.vcov().to_numpy())),
                               list(self.X.columns), parm, level, method)

    def deviance(self) -> float | None:
        """nlme's deviance: -2 logLik for ML fits; for REML fits nlme warns "deviance
        undefined for REML fit" and gives NULL (None here)."""
        return nlme_deviance(self.logLik(), self.REML)

    def getVarCov(self, individual: int | str = 1) -> VarCov:
        """nlme's getVarCov() for gls: the marginal covariance σ² G R G of one correlation
        group's rows (R's 1-based group number in the structure's order, or its label)."""
        cor, var = self.problem.cor, self.problem.var
        if cor is None:
            raise LmepyError("not implemented for uncorrelated errors")
        if not cor.form.groups:
            raise LmepyError("not implemented for correlation structures without a grouping "
                             "factor")
        labels = list(cor.group_labels)
        if isinstance(individual, (int, np.integer)):
            i = int(individual) - 1
        else:
            i = labels.index(str(individual)) if str(individual) in labels else -1
        if not 0 <= i < len(labels):
            raise LmepyError(f"subscript out of bounds: no correlation group {individual!r}")
        S = cor.corMatrix()[labels[i]]
        rows = cor.group_rows[i]
        sd = self.sigma() / (var.weights()[rows] if var is not None else np.ones(len(rows)))
        return VarCov("marginal", pd.DataFrame(S * np.outer(sd, sd)), dimnames=False)

    @checked(nsim=nsim_arg, seed=seed_arg)
    def simulate(self, nsim: int = 1, seed: int | None = None) -> pd.DataFrame:
        """Responses drawn from the fitted model: Xβ plus errors with the fitted correlation
        structure and variance function; columns ``sim_1``, ... (numpy's generator). nlme
        has no simulate() for gls; this is lmepy's, as for lmer fits."""
        rng = np.random.default_rng(seed)
        pr = self.problem
        mean = self.X.to_numpy(dtype=float) @ np.asarray(self.estimate.beta, dtype=float)
        w = pr.var.weights() if pr.var is not None else None
        e = residual_draws(self.N, self.sigma(), pr.cor, w, nsim, rng)
        return sim_frame(mean[:, None] + e, self._index)

    def modelStruct(self) -> dict[str, dict[str, float]]:
        """nlme's coef(fit$modelStruct, unconstrained = FALSE), by structure, nlme's names."""
        out: dict[str, dict[str, float]] = {}
        if self.problem.cor is not None:
            out["corStruct"] = self.problem.cor.coef()  # type: ignore[assignment]
        if self.problem.var is not None:
            out["varStruct"] = self.problem.var.coef()  # type: ignore[assignment]
        return out

    # -- fitted values and residuals ------------------------------------------------------------
    def fitted(self) -> pd.Series:
        return pd.Series(self.X.to_numpy() @ self.estimate.beta, index=self._index)

    def residuals(self, type: str = "response", nlme_order: bool = True) -> pd.Series:
        """"response" (y - fitted), "pearson" (divided by sigma / weight) or "normalized"
        (pearson residuals whitened within correlation groups).

        nlme 3.1-162 whitens the normalized residuals of a gls fit in data row order but with
        the group blocks of the fit's internal order (groups sorted by level): when the data
        are not sorted by the grouping factor's levels, rows near group boundaries get whitened
        against the wrong neighbours. ``nlme_order=True`` (default) reproduces nlme's numbers;
        ``nlme_order=False`` whitens each group's own rows."""
        r = self.y - self.X.to_numpy() @ self.estimate.beta
        if type in ("response", "r"):
            return pd.Series(r, index=self._index)
        w = self.problem.var.weights() if self.problem.var is not None else np.ones(self.N)
        pr = r * w / self.estimate.sigma
        if type in ("pearson", "p"):
            return pd.Series(pr, index=self._index)
        if type in ("normalized", "n"):
            cor = self.problem.cor
            if cor is not None:
                if nlme_order:
                    tmp = np.empty_like(pr)
                    tmp[cor.perm] = pr
                    pr = cor.whiten(tmp)[cor.perm]
                else:
                    pr = cor.whiten(pr)
            return pd.Series(pr, index=self._index)
        raise ValueError("'type' should be one of \"response\", \"pearson\", \"normalized\"")

    resid = residuals

    def predict(self, newdata: pd.DataFrame | None = None) -> pd.Series:
        """X(newdata) beta (nlme's predict.gls); factors keep the fit's levels and
        data-dependent terms (poly, scale) the fit's parameters. None gives fitted()."""
        if newdata is None:
            return self.fitted()
        design = self.X.attrs.get("design")
        if design is None:
            raise ValueError("predict(newdata) needs a fit made by gls() from a formula")
        from lmepy.design.compile import _fixed_exprs
        from lmepy.design.evaluate import Evaluator, check_data_frame
        from lmepy.design.matrix import design_matrix
        from lmepy.design.newdata import _new_frame
        mt, text, template = design
        df = check_data_frame(newdata)
        ev = Evaluator(df, text, template)
        exprs = [e for e in _fixed_exprs(mt) if str(e) != str(mt.response)]
        frame = _new_frame(ev, exprs, template)
        x, names, _ = design_matrix(mt.terms, mt.intercept, frame, None)
        col = {nm: j for j, nm in enumerate(names)}
        Xn = x[:, [col[nm] for nm in self.X.columns]]
        return pd.Series(Xn @ self.estimate.beta, index=df.index)

    # -- coefficient table ----------------------------------------------------------------------
    def tTable(self) -> pd.DataFrame:
        """nlme's summary(fit)$tTable: Value, Std.Error, t-value, p-value (t on N - p df)."""
        b = self.estimate.beta
        se = np.sqrt(np.diag(self.vcov().to_numpy()))
        t = b / se
        pv = 2.0 * stats.t.sf(np.abs(t), self.N - self.p)
        return pd.DataFrame({"Value": b, "Std.Error": se, "t-value": t, "p-value": pv},
                            index=list(self.X.columns))

    # -- inference (lmepy.inference.nlme_intervals, nlme_anova) --------------------------------
    def apVar(self) -> np.ndarray | str:
        """Approximate covariance of (structure parameters, log sigma), as nlme's apVar (or
        nlme's message when it is not positive definite); computed once."""
        if self._apvar is None:
            self._apvar = gls_apvar(self)
        return self._apvar

    @checked(level=level_arg)
    def intervals(self, level: float = 0.95) -> NlmeIntervals:
        """nlme's intervals(fit): a mapping of DataFrames "coef" (t intervals),
        "corStruct"/"varStruct" and "sigma" whose str() is nlme's printed text."""
        return gls_intervals(self, level)

    def summary(self) -> NlmeSummary:
        """nlme's summary(fit): str() is its printed text; .coefficients is the tTable."""
        return nlmeprint.gls_summary(self)

    @checked(others=fits_arg)
    def anova(self, *others: Any, names: list[str] | None = None,
              model_names: list[str] | None = None) -> AnovaTable:
        """nlme's anova(): sequential F tests of this fit's terms, or, given other gls and/or
        lme fits, likelihood-ratio tests between them (rows named by ``names`` or
        ``model_names``, by default the callers' variable names). A DataFrame that prints as
        nlme's table."""
        return anova_nlme(self, others, gls_anova_terms, names, model_names)

    def nlme_data(self) -> tuple[str, int, np.ndarray]:
        """(model formula, number of observations, response): what nlme's anova compares
        between fits."""
        return self.formula, self.N, self.y

    def __str__(self) -> str:
        """nlme's print(fit)."""
        return nlmeprint.gls_print(self)

    def __repr__(self) -> str:
        return str(self)
