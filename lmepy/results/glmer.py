"""The glmer fit object: lme4's ``glmerMod`` methods on the fit core's ``GlmmSolution``.

It shares ``LmerMod``'s machinery (VarCorr, ranef, coef, getME, printing) and changes what
differs for a GLMM in lme4 1.1-31: the title names the approximation, a Family line, z (or t)
values with p-values, no Residual row without a scale parameter, deviance residuals by
default, ``deviance()`` as the sum of squared deviance residuals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from lmepy.args import (
    bool_arg,
    checked,
    level_arg,
    nsim_arg,
    optional_str_arg,
    parm_arg,
    seed_arg,
)
from lmepy.errors import warn
from lmepy.results import lme4print as lp
from lmepy.results.lmer import LmerMod

__all__ = ["GlmerMod"]


def _sim_poisson(rng: np.random.Generator, mu: np.ndarray, w: np.ndarray,
                 sigma: float) -> np.ndarray:
    if np.any(w != 1):
        warn("ignoring prior weights")
    return rng.poisson(mu)  # integer counts, as rpois


def _sim_gamma(rng: np.random.Generator, mu: np.ndarray, w: np.ndarray,
               sigma: float) -> np.ndarray:
    if np.any(w != 1):
        warn("using weights to scale shape parameter")
    shape = np.broadcast_to((sigma * w)[:, None], mu.shape)
    return rng.gamma(shape, mu / shape)


def _sim_gaussian(rng: np.random.Generator, mu: np.ndarray, w: np.ndarray,
                  sigma: float) -> np.ndarray:
    if np.any(w != 1):
        warn("ignoring prior weights")
    return rng.normal(mu, sigma)


# lme4's simfunList (binomial is handled by the fit object: its draws take the response's shape)
_SIM_FUNS: dict[str, Any] = {"binomial": None, "poisson": _sim_poisson, "Gamma": _sim_gamma,
                             "gaussian": _sim_gaussian}


class GlmerMod(LmerMod):
    """A fitted generalized linear mixed model (lme4's ``glmerMod``)."""

    _cls = "glmerMod"

    def isREML(self) -> bool:
        return False

    @property
    def _has_scale(self) -> bool:
        return bool(self.sol.family.has_scale)

    def _npar(self) -> int:
        return len(self._xnames) + self._ntheta() + (1 if self._has_scale else 0)

    def _prior_weights(self) -> np.ndarray:
        return np.asarray(self.sol.prior_weights, dtype=float)

    def family(self) -> Any:
        """The GLM family object of the fit."""
        return self.sol.family

    # ---- printing hooks ------------------------------------------------------------------------
    def _title(self) -> str:
        return lp.meth_title(False, int(self.sol.nAGQ))

    def _family_link(self) -> tuple[str | None, str | None]:
        return str(self.sol.family.family), str(self.sol.family.link)

    def _coef_colnames(self) -> tuple[str, ...]:
        stat = "t value" if self._has_scale else "z value"
        return ("Estimate", "Std. Error", stat, "Pr(>|z|)")

    def _coef_table(self) -> np.ndarray:
        tab = super()._coef_table()
        if tab.shape[0] == 0:
            return np.zeros((0, 4))
        p = 2 * norm.sf(np.abs(tab[:, 2]))
        return np.column_stack([tab, p])

    def _vc_sigma(self) -> float | None:
        return self.sigma() if self._has_scale else None

    @checked(parm=parm_arg, level=level_arg, method=optional_str_arg)
    def confint(self, parm: list[str] | None = None, level: float = 0.95,
                method: str = "profile", **kwargs: Any) -> pd.DataFrame:
        """lme4's ``confint(glmer_fit, method = "Wald")`` (rows ``.sig01``, ... NA, then the
        fixed effects); profile and bootstrap intervals of a GLMM raise NotImplementedError."""
        from lmepy.inference.confint import confint_glmer

        return confint_glmer(self, level=level, method=method, parm=parm)

    def _linear_predictor(self) -> np.ndarray:
        return np.asarray(self.sol.eta, dtype=float)

    def _inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return np.asarray(self.sol.family.linkinv(eta), dtype=float)

    @checked(nsim=nsim_arg, seed=seed_arg, use_u=bool_arg)
    def simulate(self, nsim: int = 1, seed: int | None = None,
                 use_u: bool = False) -> pd.DataFrame:
        """lme4's ``simulate(fit, nsim, seed, use.u)`` for a GLMM: responses drawn from the
        fitted model, so that a user can check the model or bootstrap by hand.

        Without ``use_u`` each simulation draws new random effects b = Λu, u ~ N(0, I) (as
        lme4 does for a GLMM: not multiplied by σ, also for Gamma and gaussian); with it the
        fitted conditional modes are kept. The response then comes from the family at
        μ = linkinv(η), as lme4 1.1-31's ``simfunList``:

        * binomial: K ~ Binomial(w, μ) with w the prior weights (the trials for
          ``cbind(s, f)``); a ``cbind`` response gives per simulation the two columns
          (K, w - K) named as R names the matrix's columns (columns are a MultiIndex
          ``(sim_i, name)``: ``out["sim_1"]`` is R's ``s$sim_1`` matrix); a factor response
          gives a Categorical with the response's levels; otherwise the proportions K / w;
        * poisson: Poisson(μ) (prior weights ignored, with lme4's warning);
        * Gamma: shape σ·w and mean μ: lme4 1.1-31 uses shape = ``sigma(fit) * weights``
          (not σ⁻²), and so does this, so that results agree with lme4 in distribution;
        * gaussian (any link): Normal(μ, σ).

        Columns ``sim_1``, ``sim_2``, ...; the random stream is NumPy's (``seed`` goes to
        ``numpy.random.default_rng``), not R's, so draws agree with lme4's in distribution,
        not number for number.
        """
        nsim = int(nsim)
        if nsim < 1:
            raise ValueError("nsim must be a positive integer")
        rng = np.random.default_rng(seed)
        fam = self.sol.family
        name = str(fam.family)
        if name not in _SIM_FUNS:
            raise ValueError(f"simulation not implemented for family \u2018{name}\u2019")
        n = self.nobs()
        if use_u:
            eta = np.tile(np.asarray(self.sol.eta, dtype=float)[:, None], (1, nsim))
        else:
            base = self.model.X.to_numpy(dtype=float) @ np.asarray(self.sol.beta, dtype=float)
            off = self.sol.offset
            if off is not None:
                base = base + np.asarray(off, dtype=float)
            Lt = self.sol.Lambdat
            Zt = self.model.reTrms.Zt
            u = rng.standard_normal((Lt.shape[0], nsim))
            eta = base[:, None] + np.asarray(Zt.T @ (Lt.T @ u), dtype=float).reshape(n, nsim)
        mu = np.asarray(fam.linkinv(eta.reshape(-1)), dtype=float).reshape(n, nsim)
        w = self._prior_weights()
        index = self._index()
        cols = [f"sim_{i + 1}" for i in range(nsim)]
        if name == "binomial":
            return self._simulate_binomial(rng, mu, w, cols, index)
        draws = _SIM_FUNS[name](rng, mu, w, self.sigma())
        return pd.DataFrame(draws, index=index, columns=cols)

    def _response_value(self) -> Any:
        mf = getattr(self.model, "model_frame", None)
        values = getattr(mf, "values", None) or {}
        return values.get(self.model.response_name)

    def _simulate_binomial(self, rng: np.random.Generator, mu: np.ndarray, w: np.ndarray,
                           cols: list[str], index: pd.Index) -> pd.DataFrame:
        """Binomial draws in the response's own shape: counts matrix, factor or proportions."""
        if np.any(np.abs(w - np.round(w)) > 0):
            raise ValueError("cannot simulate from non-integer prior.weights")
        size = np.round(w).astype(np.int64)
        k = rng.binomial(size[:, None], np.clip(mu, 0.0, 1.0)).astype(float)
        y = np.asarray(self.model.y)
        if y.ndim == 2 and y.shape[1] == 2:
            val = self._response_value()
            names = list(getattr(val, "colnames", None) or ["", ""])
            # (sim_1, success), (sim_1, failure), (sim_2, success), ...: R's names may repeat
            # (both "" for two unnamed expressions), so the columns are built by position
            arr = np.empty((len(size), 2 * len(cols)))
            arr[:, 0::2] = k
            arr[:, 1::2] = size[:, None] - k
            mi = pd.MultiIndex.from_tuples([(c, nm) for c in cols for nm in names[:2]])
            return pd.DataFrame(arr, index=index, columns=mi)
        val = self._response_value()
        levels = getattr(val, "levels", None)
        if getattr(val, "kind", None) == "factor" and levels:
            # R: levels(y)[1 + rbinom(n, 1, mu)]: the first level is failure, the second success
            cats = [str(x) for x in levels]
            return pd.DataFrame({c: pd.Categorical.from_codes(k[:, i].astype(np.int64),
                                                              categories=cats)
                                 for i, c in enumerate(cols)}, index=index)
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(k / w[:, None], index=index, columns=cols)

    # ---- criteria --------------------------------------------------------------------------------
    def _devcrit(self, REML: bool) -> float:
        if REML:
            raise ValueError("can't compute REML deviance for a non-LMM")
        return float(self.sol.objective)

    def REMLcrit(self) -> float:
        """lme4 refuses: the REML criterion exists only for linear mixed models."""
        return self._devcrit(True)

    def deviance(self, REML: bool | None = None) -> float:
        """lme4's ``deviance()`` of a GLMM: the sum of squared deviance residuals (not
        -2 logLik; see ``logLik``)."""
        return float(np.sum(self.residuals(type="deviance").to_numpy() ** 2))

    def logLik(self, REML: bool | None = None) -> Any:
        return super().logLik(REML=False)

    def _aictab(self) -> dict[str, float]:
        ll = self.logLik()
        return {"AIC": self.AIC(), "BIC": self.BIC(), "logLik": float(ll),
                "deviance": float(self.sol.objective), "df.resid": float(self.df_residual())}

    # ---- fitted values and residuals -------------------------------------------------------------
    def fitted(self) -> pd.Series:
        """The fitted means (the response scale)."""
        return pd.Series(np.asarray(self.sol.fitted, dtype=float), index=self._index())

    def residuals(self, type: str = "deviance", scaled: bool = False) -> pd.Series:
        """``residuals(fit, type, scaled)``: "deviance" (lme4's default for a GLMM),
        "pearson", "working" or "response"; scaled divides by sigma."""
        r = np.asarray(self.sol.residuals_of(type), dtype=float)
        if scaled:
            r = r / self.sigma()
        return pd.Series(r, index=self._index())

    resid = residuals

    def getME(self, name: str) -> Any:
        """As ``LmerMod.getME``; "y" is the response glm sees (proportions for binomial),
        "mu" the fitted means, "eta" the linear predictor."""
        if name == "y":
            return np.asarray(self.sol.y, dtype=float)
        if name == "eta":
            return np.asarray(self.sol.eta, dtype=float)
        if name == "lower":
            return np.asarray(self.sol.lower, dtype=float)
        return super().getME(name)

    def _dims(self) -> dict[str, int]:
        d = super()._dims()
        d.update({"GLMM": 1, "REML": 0, "useSc": int(self._has_scale),
                  "nAGQ": int(self.sol.nAGQ)})
        return d

