"""Fit objects of lm() and glm(): R's generics (coef, vcov, confint, predict, residuals,
fitted, logLik, AIC, BIC, deviance, nobs, df.residual, anova, summary) on a fitted
``lmepy.lm.fit`` result. Printing is in ``printing.py``."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
from scipy import stats

from lmepy.design.types import CompiledModel
from lmepy.errors import LmepyWarning, warn
from lmepy.refit import Updatable

from .fit import GlmFit, LinearFit


def _pct(a: float) -> str:
    """R's ``paste(format(100 * a, trim = TRUE, scientific = FALSE, digits = 3), "%")``."""
    return f"{100 * a:.3g} %"


class _Base(Updatable):
    """What lm and glm fits share: the compiled model, the QR of the last solve, the call."""

    model: CompiledModel
    fit: Any
    call_name = "lm"

    def __init__(self, model: CompiledModel, fit: Any, call_args: list[tuple[str, str]],
                 formula_text: str) -> None:
        self.model = model
        self.fit = fit
        self.call_args = call_args
        self.formula_text = formula_text

    # ---- naming -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.model.X.columns)

    @property
    def intercept(self) -> bool:
        return bool(self.model.terms.intercept)

    @property
    def rank(self) -> int:
        return int(self.fit.qr.rank)

    @property
    def aliased(self) -> np.ndarray:
        return np.isnan(self.fit.coef)

    def formula(self) -> str:
        """The model formula as R deparses it (``formula(fit)``)."""
        return self.formula_text

    def call(self) -> str:
        """R's deparse of the call (``fit$call``), broken into lines as R's deparse does."""
        from .printing import deparse_call

        return deparse_call(self.call_name, self.call_args)

    # ---- coefficients -------------------------------------------------------------------
    def coef(self) -> pd.Series:
        """R's ``coef()``: NaN (R's NA) at columns aliased with earlier ones."""
        return pd.Series(self.fit.coef.copy(), index=self.names, name=None)

    def _unscaled(self) -> np.ndarray:
        """(R'R)^-1 of the kept columns, placed in the full p x p matrix (NaN at aliased)."""
        q = self.fit.qr
        p = len(self.names)
        out = np.full((p, p), np.nan)
        if q.rank:
            rinv = sla.solve_triangular(q.R, np.eye(q.rank), check_finite=False)
            keep = q.pivot[: q.rank]
            out[np.ix_(keep, keep)] = rinv @ rinv.T
        return out

    def dispersion(self) -> float:  # pragma: no cover - per kind
        raise NotImplementedError

    def vcov(self) -> pd.DataFrame:
        """R's ``vcov()`` (``complete = TRUE``: NA rows/columns at aliased coefficients)."""
        return pd.DataFrame(self._unscaled() * self.dispersion(), index=self.names,
                            columns=self.names)

    def _se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov().to_numpy()))

    def df_residual(self) -> int:
        """R's ``df.residual()``."""
        return int(self.fit.df_residual)

    def nobs(self) -> int:
        """R's ``nobs()``: rows with a non-zero (prior) weight."""
        w = self._prior()
        return int(np.sum(w != 0)) if w is not None else int(self.model.n)

    def _prior(self) -> np.ndarray | None:  # pragma: no cover - per kind
        raise NotImplementedError

    def AIC(self, k: float = 2.0) -> float:
        ll, df = self._loglik()
        return -2.0 * ll + k * df

    def BIC(self) -> float:
        ll, df = self._loglik()
        return -2.0 * ll + math.log(self.nobs()) * df

    def logLik(self) -> float:
        """R's ``logLik()`` value (its ``df`` attribute is ``logLik_df()``)."""
        return self._loglik()[0]

    def logLik_df(self) -> int:
        return self._loglik()[1]

    def _loglik(self) -> tuple[float, int]:  # pragma: no cover - per kind
        raise NotImplementedError

    def fitted(self) -> pd.Series:
        """R's ``fitted()`` (the means, on the response scale; with na.exclude, NaN at the
        rows dropped for missing values)."""
        return self._padded(self._fitted())

    def _padded(self, values: np.ndarray) -> pd.Series:
        """R's ``naresid``: per-row values of the kept rows, padded with NaN at the rows
        na.exclude dropped (other na actions: the kept rows only)."""
        m = self.model
        at = getattr(m, "padded_at", None)
        if m.na_action_type != "na.exclude" or at is None or len(at) == len(
                getattr(m, "padded_index", at)):
            return pd.Series(values, index=m.X.index)
        out = np.full(len(m.padded_index), np.nan)
        out[at] = values
        return pd.Series(out, index=m.padded_index)

    def _fitted(self) -> np.ndarray:  # pragma: no cover - per kind
        raise NotImplementedError

    def summary(self):
        """R's ``summary()``: an object whose ``str()`` is R's printed summary and whose
        ``coefficients`` is R's ``coef(summary(fit))``."""
        from .printing import GlmSummary, LmSummary

        return LmSummary(self) if isinstance(self, LmFit) else GlmSummary(self)

    def coef_table(self) -> pd.DataFrame:
        """R's ``coef(summary(fit))``: the non-aliased coefficients' rows."""
        est = self.fit.coef
        se = self._se()
        ok = ~self.aliased
        stat = est / se
        if self._t_based():
            colstat, colp = "t value", "Pr(>|t|)"
            df = self.df_residual()
            p = 2.0 * stats.t.sf(np.abs(stat), df) if df > 0 else np.full_like(stat, np.nan)
        else:
            colstat, colp = "z value", "Pr(>|z|)"
            p = 2.0 * stats.norm.sf(np.abs(stat))
        tab = pd.DataFrame({"Estimate": est, "Std. Error": se, colstat: stat, colp: p},
                           index=self.names)
        return tab[ok]

    def _t_based(self) -> bool:
        return True

    def __str__(self) -> str:
        from .printing import format_fit

        return format_fit(self)

    def __repr__(self) -> str:
        return self.__str__()

    # ---- new data -----------------------------------------------------------------------
    def _new_x(self, newdata: Any) -> tuple[np.ndarray, np.ndarray | None, pd.Index]:
        from lmepy.design.newdata import new_design

        nd = new_design(self.model, newdata, re_form="~0")
        return nd.X.to_numpy(dtype=float), nd.offset, nd.X.index

    def _link_se(self, x: np.ndarray) -> np.ndarray:
        """sqrt(x' (R'R)^-1 x) on the kept columns (R's predict.lm ``ip``), unscaled."""
        q = self.fit.qr
        keep = q.pivot[: q.rank]
        rinv = sla.solve_triangular(q.R, np.eye(q.rank), check_finite=False)
        return np.sqrt(np.sum((x[:, keep] @ rinv) ** 2, axis=1))

    def _linear_predictor(self, newdata: Any) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        if newdata is None:
            x = self.model.X.to_numpy(dtype=float)
            off = self.model.offset
            idx = self.model.X.index
        else:
            x, off, idx = self._new_x(newdata)
        b = np.where(self.aliased, 0.0, self.fit.coef)
        if self.rank < len(self.names):
            warn("prediction from a rank-deficient fit may be misleading", LmepyWarning)
        eta = x @ b
        if off is not None:
            eta = eta + off
        return eta, x, idx

    # ---- tests --------------------------------------------------------------------------
    def anova(self, *others: Any, test: str | None = None,
              model_names: list[str] | None = None) -> pd.DataFrame:
        """R's ``anova()``: the sequential table of this fit (``anova.lm``, ``anova.glm``)
        or, with other fits, the comparison table (``anova.lmlist``, ``anova.glmlist``).
        With an lmer/glmer fit among the others it is lme4's likelihood-ratio table, as
        ``anova(mixed_fit, this_fit)`` gives it (``model_names`` name its rows)."""
        from .printing import anova_compare, anova_sequential

        if any(not hasattr(o, "lrt_solution") for o in others):
            from lmepy.inference.lrt import anova_lrt

            return anova_lrt(self, *others, model_names=model_names)
        if others:
            return anova_compare([self, *others], test=test)
        return anova_sequential(self, test=test)

    def lrt_solution(self) -> SimpleNamespace:
        """What lme4's anova() reads from a model without random effects (lme4 accepts lm
        and glm fits beside merMod ones): the deviance -2 logLik as ``objective``, the
        estimable coefficients, no θ, no REML, the family (whether there is a scale)."""
        return SimpleNamespace(objective=-2.0 * self.logLik(),
                               beta=self.fit.coef[~self.aliased], theta=np.zeros(0),
                               model=self.model, REML=False,
                               family=getattr(self, "family", None))


class LmFit(_Base):
    """A fitted ``lm()``."""

    fit: LinearFit
    call_name = "lm"

    def _prior(self) -> np.ndarray | None:
        return self.model.weights

    def _fitted(self) -> np.ndarray:
        return self.fit.fitted.copy()

    def weights(self) -> pd.Series | None:
        """R's ``weights()`` of an lm: the prior weights, None (R's NULL) when unweighted."""
        w = self.model.weights
        return None if w is None else self._padded(w.copy())

    def _rss(self) -> float:
        r = self.fit.residuals
        w = self.model.weights
        return float(np.sum(r * r if w is None else w * r * r))

    def deviance(self) -> float:
        """R's ``deviance()`` of an lm: the (weighted) residual sum of squares."""
        return self._rss()

    def sigma(self) -> float:
        """R's ``sigma()``: the residual standard error."""
        df = self.df_residual()
        return math.sqrt(self._rss() / df) if df > 0 else float("nan")

    def dispersion(self) -> float:
        return self.sigma() ** 2

    def residuals(self, type: str = "response") -> pd.Series:
        """R's ``residuals.lm``: "response"/"working" (y - fitted), "pearson"/"deviance"
        (times sqrt(weights))."""
        from lmepy.args import check_choice

        check_choice(type, "type", ("response", "working", "pearson", "deviance"))
        r = self.fit.residuals.copy()
        if type in ("pearson", "deviance") and self.model.weights is not None:
            r = r * np.sqrt(self.model.weights)
        return self._padded(r)

    def _loglik(self) -> tuple[float, int]:
        r = self.fit.residuals
        w = self.model.weights if self.model.weights is not None else np.ones_like(r)
        pos = w != 0
        r, w = r[pos], w[pos]
        n = r.shape[0]
        ll = 0.5 * (np.sum(np.log(w)) - n * (math.log(2 * math.pi) + 1 - math.log(n)
                                              + math.log(np.sum(w * r * r))))
        return float(ll), self.rank + 1

    def confint(self, parm: Any = None, level: float = 0.95) -> pd.DataFrame:
        """R's ``confint.lm``: t intervals with the residual df."""
        a = (1 - level) / 2
        q = stats.t.ppf(1 - a, self.df_residual())
        return _interval_table(self, q, parm, a)

    def predict(self, newdata: Any = None, se_fit: bool = False, interval: str = "none",
                level: float = 0.95, type: str = "response") -> pd.Series | pd.DataFrame:
        """R's ``predict.lm``: the fitted means at ``newdata`` (default: the fitted rows);
        ``se_fit`` adds their standard errors, ``interval`` "confidence"/"prediction" the
        t interval (``fit``, ``lwr``, ``upr``) as R's matrix has them."""
        from lmepy.args import check_choice

        check_choice(interval, "interval", ("none", "confidence", "prediction"))
        check_choice(type, "type", ("response", "terms"))
        if type == "terms":
            raise NotImplementedError("predict(type='terms') is not implemented for lm")
        fit, x, idx = self._linear_predictor(newdata)
        if not se_fit and interval == "none":
            return pd.Series(fit, index=idx)
        s = self.sigma()
        se = self._link_se(x) * s
        out = pd.DataFrame({"fit": fit}, index=idx)
        if interval != "none":
            tq = stats.t.ppf((1 + level) / 2, self.df_residual())
            if interval == "prediction":
                if self.model.weights is not None and newdata is None:
                    pv = s * s / self.model.weights
                else:
                    if self.model.weights is not None:
                        warn("Assuming constant prediction variance even though model fit "
                             "is weighted", LmepyWarning)
                    pv = np.full(fit.shape, s * s)
                hw = tq * np.sqrt(se * se + pv)
            else:
                hw = tq * se
            out["lwr"] = fit - hw
            out["upr"] = fit + hw
        if se_fit:
            out["se_fit"] = se
        out.attrs["df"] = self.df_residual()
        out.attrs["residual_scale"] = s
        return out


class GlmFitResult(_Base):
    """A fitted ``glm()``."""

    fit: GlmFit
    call_name = "glm"

    def __init__(self, model: CompiledModel, fit: GlmFit, family: Any,
                 call_args: list[tuple[str, str]], formula_text: str) -> None:
        super().__init__(model, fit, call_args, formula_text)
        self.family = family

    def _prior(self) -> np.ndarray | None:
        return self.fit.prior_weights

    def _fitted(self) -> np.ndarray:
        return self.fit.mu.copy()

    def _t_based(self) -> bool:
        return self.family.family not in ("binomial", "poisson")

    def weights(self, type: str = "prior") -> pd.Series:
        """R's ``weights.glm``: the prior weights (for binomial, times the trials) or the
        working weights of the last IRLS iteration."""
        from lmepy.args import check_choice

        check_choice(type, "type", ("prior", "working"))
        w = self.fit.prior_weights if type == "prior" else self.fit.working_weights
        return self._padded(w.copy())

    def deviance(self) -> float:
        """R's ``deviance()``: the residual deviance."""
        return float(self.fit.deviance)

    def dispersion(self) -> float:
        """summary.glm's dispersion: 1 for binomial and poisson, else the Pearson estimate
        (working weights times squared working residuals over the residual df)."""
        if not self._t_based():
            return 1.0
        df = self.df_residual()
        if df <= 0:
            return float("nan")
        w = self.fit.working_weights
        ok = w > 0
        return float(np.sum((w * self.fit.working_residuals ** 2)[ok]) / df)

    def sigma(self) -> float:
        """R's ``sigma()`` of a glm: sqrt of the deviance over the residual df."""
        df = self.df_residual()
        return math.sqrt(self.deviance() / df) if df > 0 else float("nan")

    def residuals(self, type: str = "deviance") -> pd.Series:
        """R's ``residuals.glm``: "deviance" (default), "pearson", "working", "response"."""
        from lmepy.args import check_choice

        check_choice(type, "type", ("deviance", "pearson", "working", "response"))
        return self._padded(self.residuals_of(type))

    def residuals_of(self, type: str) -> np.ndarray:
        """The residuals of the rows fitted (no na.exclude padding)."""
        f, y, mu, wt = self.family, self.fit.y, self.fit.mu, self.fit.prior_weights
        if type == "deviance":
            d = np.maximum(f.dev_resids(y, mu, wt), 0.0)
            r = np.sign(y - mu) * np.sqrt(d)
        elif type == "pearson":
            r = (y - mu) * np.sqrt(wt) / np.sqrt(f.variance(mu))
        elif type == "working":
            r = self.fit.working_residuals.copy()
        else:
            r = y - mu
        return r

    def _loglik(self) -> tuple[float, int]:
        p = self.rank + (1 if self.family.family in ("gaussian", "Gamma", "inverse.gaussian")
                         else 0)
        return float(p - self.fit.aic / 2.0), p

    def AIC(self, k: float = 2.0) -> float:
        return float(self.fit.aic) if k == 2.0 else super().AIC(k)

    def df_null(self) -> int:
        return int(self.fit.df_null)

    def null_deviance(self) -> float:
        return float(self.fit.null_deviance)

    def iter(self) -> int:
        """Number of Fisher scoring iterations."""
        return int(self.fit.iter)

    def converged(self) -> bool:
        return bool(self.fit.converged)

    def confint(self, parm: Any = None, level: float = 0.95,
                method: str = "profile") -> pd.DataFrame:
        """R's ``confint()`` of a glm: profile-likelihood intervals (R >= 4.2's
        ``confint.glm``) by default; ``method="Wald"`` is R's ``confint.default``."""
        from lmepy.args import check_choice

        check_choice(method, "method", ("profile", "Wald"))
        a = (1 - level) / 2
        tab = _interval_table(self, stats.norm.ppf(1 - a), parm, a)
        if method == "profile":
            from .profile import confint_profile

            which = [self.names.index(str(nm)) for nm in tab.index]
            tab.iloc[:, :] = confint_profile(self, which, level)
        return tab

    def predict(self, newdata: Any = None, type: str = "link", se_fit: bool = False
                ) -> pd.Series | pd.DataFrame:
        """R's ``predict.glm``: the linear predictor (``type="link"``) or the means
        (``"response"``) at ``newdata``; ``se_fit`` adds ``se_fit`` (delta method on the
        response scale) and ``attrs["residual_scale"]`` (sqrt of the dispersion)."""
        from lmepy.args import check_choice

        check_choice(type, "type", ("link", "response"))
        if newdata is None and not se_fit:
            v = self.fit.eta.copy() if type == "link" else self.fit.mu.copy()
            return self._padded(v)
        eta, x, idx = self._linear_predictor(newdata)
        fit = eta if type == "link" else self.family.linkinv(eta)
        if not se_fit:
            return pd.Series(fit, index=idx)
        disp = self.dispersion()
        se = self._link_se(x) * math.sqrt(disp)
        if type == "response":
            se = se * np.abs(self.family.mu_eta(eta))
        out = pd.DataFrame({"fit": fit, "se_fit": se}, index=idx)
        out.attrs["residual_scale"] = math.sqrt(disp)
        return out


def _interval_table(fit: _Base, q: float, parm: Any, a: float) -> pd.DataFrame:
    est = fit.fit.coef
    se = fit._se()
    tab = pd.DataFrame({_pct(a): est - q * se, _pct(1 - a): est + q * se}, index=fit.names)
    if parm is not None:
        parm = [parm] if isinstance(parm, str | int) else list(parm)
        names = [fit.names[p] if isinstance(p, int) else p for p in parm]
        bad = [p for p in names if p not in fit.names]
        if bad:
            raise ValueError(f"parm: no coefficient named {bad[0]!r}; the coefficients are "
                             + ", ".join(fit.names))
        tab = tab.loc[names]
    return tab
