"""The glmer fit object: lme4's ``glmerMod`` methods on the fit core's ``GlmmSolution``.

It shares ``LmerMod``'s machinery (VarCorr, ranef, coef, getME, printing) and changes what
differs for a GLMM in lme4 1.1-31: the title names the approximation, a Family line, z (or t)
values with p-values, no Residual row without a scale parameter, deviance residuals by
default, ``deviance()`` as the sum of squared deviance residuals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from lmepy.results import lme4print as lp
from lmepy.results.lmer import LmerMod

__all__ = ["GlmerMod"]


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

    def _linear_predictor(self) -> np.ndarray:
        return np.asarray(self.sol.eta, dtype=float)

    def _inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return np.asarray(self.sol.family.linkinv(eta), dtype=float)

    def simulate(self, nsim: int = 1, seed: int | None = None) -> pd.DataFrame:
        raise NotImplementedError("simulate() is not available for glmer fits yet")

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

    def AIC(self) -> float:
        ll = self.logLik()
        return -2 * float(ll) + 2 * ll.df

    def BIC(self) -> float:
        ll = self.logLik()
        return -2 * float(ll) + math.log(ll.nobs) * ll.df
