"""lme4's ``anova(m1, m2, ...)``: the likelihood-ratio table of nested lmer fits, REML fits
refitted by ML first (a REML criterion is not comparable across fixed-effect structures)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from lmepy.callnames import caller_names
from lmepy.errors import DataError, RefitMLMessage, warn
from lmepy.inference._common import as_solution, formula_text, refit_ml
from lmepy.inference.tables import AnovaTable

__all__ = ["RefitMLMessage", "anova_lrt", "REFIT_MESSAGE"]

REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"


def _caller_names(objs: list[Any]) -> list[str] | None:
    """The caller's variable names for the fits (R's deparse of the arguments), or None
    when not all are found."""
    names = caller_names(objs)
    return None if any(n is None for n in names) else [str(n) for n in names]


def _any_solution(fit: Any) -> Any:
    """The LMM or GLMM solution behind a fit (GLMMs: lme4's anova compares them too)."""
    try:
        return as_solution(fit)
    except TypeError:
        lrt = getattr(fit, "lrt_solution", None)
        if callable(lrt):  # an lm or glm fit: a model without random effects, as lme4 takes
            return lrt()
        s = getattr(fit, "sol", fit)
        if hasattr(s, "objective") and hasattr(s, "model") and hasattr(s, "theta"):
            return s
        raise


def _loglik(s: Any) -> tuple[float, int]:
    """log-likelihood and number of parameters, as lme4's logLik(): -objective/2 (the ML
    deviance, or the Laplace/AGQ deviance of a GLMM); θ, β, and σ when there is a scale."""
    fam = getattr(s, "family", None)
    has_scale = True if fam is None else bool(getattr(fam, "has_scale", False))
    return -0.5 * float(s.objective), len(s.beta) + len(s.theta) + int(has_scale)


def anova_lrt(*fits: Any, model_names: list[str] | None = None, refit: bool = True,
              data_name: str | None = None) -> AnovaTable:
    """Likelihood-ratio tests between lmer fits, ordered by number of parameters: npar, AIC,
    BIC, logLik, deviance, Chisq, Df, Pr(>Chisq); prints with lme4's ``Data:``/``Models:``
    heading. ``model_names`` default to the caller's variable names (else MODEL1, ...)."""
    if len(fits) < 2:
        raise ValueError("anova_lrt needs at least two fitted models")
    for f in fits:
        if type(f).__name__ in ("LmeFit", "GlsFit"):
            raise TypeError(f"anova() of an lmer or glmer fit compares it with other lmer or "
                            f"glmer fits, not with nlme's kind ({type(f).__name__}): compare "
                            "lme and gls fits with each other, or refit with lmer")
    sols = [_any_solution(f) for f in fits]
    nobs = [int(s.model.n) for s in sols]
    if len(set(nobs)) > 1:
        raise DataError("models were not all fitted to the same size of dataset")
    names = list(model_names) if model_names is not None else _caller_names(list(fits))
    if names is None or len(set(names)) != len(names):
        if model_names is None and names is not None:
            warn("failed to find model names, assigning generic names")
        names = [f"MODEL{i + 1}" for i in range(len(fits))]
    if len(names) != len(fits):
        raise ValueError("model names vector and model list have different lengths")
    reml = [bool(getattr(s, "REML", False)) for s in sols]
    if refit:
        if any(reml):
            warn(REFIT_MESSAGE, RefitMLMessage)
        used = [refit_ml(s) if r else s for s, r in zip(sols, reml, strict=True)]
    else:
        if any(reml) and not all(reml):
            warn("some models fit with REML = TRUE, some not")
        used = sols
    llk, npar = [], []
    for s in used:
        ll, k = _loglik(s)
        llk.append(ll)
        npar.append(k)
    order = sorted(range(len(fits)), key=lambda i: npar[i])
    n = nobs[0]
    rows = []
    prev = None
    for i in order:
        aic = -2.0 * llk[i] + 2.0 * npar[i]
        bic = -2.0 * llk[i] + math.log(n) * npar[i]
        if prev is None:
            chisq = dfc = pv = np.nan
        else:
            chisq = 2.0 * max(0.0, llk[i] - llk[prev])
            dfc = float(npar[i] - npar[prev])
            pv = np.nan if dfc == 0 else float(stats.chi2.sf(chisq, dfc))
        rows.append([float(npar[i]), aic, bic, llk[i], -2.0 * llk[i], chisq, dfc, pv])
        prev = i
    cols = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    tab = AnovaTable(rows, index=[names[i] for i in order], columns=cols)
    dnames = {getattr(s.model, "data_name", "") or "" for s in sols}
    if data_name is None:
        if len(dnames) > 1:
            raise DataError("all models must be fit to the same data object")
        data_name = dnames.pop() or "data"
    forms = [formula_text(fits[i], sols[i]) for i in order]
    tab.heading = [f"Data: {data_name}", "Models:"] + [
        f"{names[i]}: {f}" for i, f in zip(order, forms, strict=True)]
    tab.kind = "lrt"
    return tab
