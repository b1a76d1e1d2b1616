"""R's generic functions as module-level functions, for porting R scripts line by line:
``fixef(fit)`` is ``fit.fixef()``, ``VarCorr(fit)`` is ``fit.VarCorr()``, and so on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "AIC", "BIC", "REMLcrit", "VarCorr", "anova", "coef", "confint", "deviance", "fitted",
    "fixef", "formula", "getME", "getVarCov", "intervals", "isSingular", "logLik",
    "modelStruct", "ngrps", "nobs", "predict", "ranef", "residuals", "resid", "sigma",
    "simulate", "summary", "vcov", "weights",
]


def _call(fit: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    method = getattr(fit, name, None)
    if method is None:
        raise TypeError(f"no applicable method for '{name}' applied to an object of class "
                        f"\"{type(fit).__name__}\"")
    return method(*args, **kwargs)


def _generic(name: str, doc: str) -> Callable[..., Any]:
    """R's generic `name` as a module-level function: ``name(fit, ...)`` is
    ``fit.name(...)``, and an object without that method gets R's "no applicable method"."""

    def generic(fit: Any, *args: Any, **kwargs: Any) -> Any:
        return _call(fit, name, *args, **kwargs)

    generic.__name__ = generic.__qualname__ = name
    generic.__doc__ = doc
    return generic


summary = _generic("summary", "``summary(fit)``.")
fixef = _generic("fixef", "``fixef(fit)``.")
coef = _generic("coef", "``coef(fit)``.")
vcov = _generic("vcov", "``vcov(fit)``.")
sigma = _generic("sigma", "``sigma(fit)``.")
VarCorr = _generic("VarCorr", "``VarCorr(fit)``.")
logLik = _generic("logLik", "``logLik(fit)``.")
AIC = _generic("AIC", "``AIC(fit)``.")
BIC = _generic("BIC", "``BIC(fit)``.")
deviance = _generic("deviance", "``deviance(fit)``.")
REMLcrit = _generic("REMLcrit", "``REMLcrit(fit)``.")
nobs = _generic("nobs", "``nobs(fit)``.")
ngrps = _generic("ngrps", "``ngrps(fit)``.")
fitted = _generic("fitted", "``fitted(fit)``.")
formula = _generic("formula", "``formula(fit)``.")
weights = _generic("weights", "``weights(fit)``.")
modelStruct = _generic("modelStruct", "nlme's ``coef(fit$modelStruct, unconstrained = FALSE)`` "
                                      "(lme and gls fits).")


def ranef(fit: Any, condVar: bool = True) -> Any:
    """``ranef(fit, condVar)``."""
    return _call(fit, "ranef", condVar=condVar)


def residuals(fit: Any, type: str | None = None, scaled: bool = False, **kwargs: Any) -> Any:
    """``residuals(fit, type, scaled)``: each kind's own default type (R's: "response" for
    lmer, lm, lme; "deviance" for glmer and glm); only the arguments given are passed on."""
    if type is not None:
        kwargs["type"] = type
    if scaled:
        kwargs["scaled"] = scaled
    return _call(fit, "residuals", **kwargs)


resid = residuals


def isSingular(fit: Any, tol: float = 1e-4) -> bool:
    """``isSingular(fit, tol)``."""
    return _call(fit, "isSingular", tol=tol)


def getME(fit: Any, name: str) -> Any:
    """``getME(fit, name)``."""
    return _call(fit, "getME", name)


def predict(fit: Any, newdata: Any = None, **kwargs: Any) -> Any:
    """``predict(fit, newdata, re.form, allow.new.levels, type)``."""
    return _call(fit, "predict", newdata, **kwargs)


def simulate(fit: Any, nsim: int = 1, seed: int | None = None, **kwargs: Any) -> Any:
    """``simulate(fit, nsim, seed, use.u)``."""
    return _call(fit, "simulate", nsim=nsim, seed=seed, **kwargs)


def confint(fit: Any, parm: Any = None, level: float = 0.95, **kwargs: Any) -> Any:
    """``confint(fit, parm, level, method)``."""
    return _call(fit, "confint", parm, level, **kwargs)


def anova(fit: Any, *others: Any, **kwargs: Any) -> Any:
    """``anova(fit)`` or ``anova(fit, fit2, ...)`` (model names from the caller's
    variables, as R deparses the arguments)."""
    if others and "model_names" not in kwargs:
        from lmepy.inference.lrt import _caller_names

        names = _caller_names([fit, *others])
        if names is not None:
            kwargs["model_names"] = names
    return _call(fit, "anova", *others, **kwargs)


def getVarCov(fit: Any, *args: Any, **kwargs: Any) -> Any:
    """nlme's ``getVarCov(fit, individuals, type)`` (gls: ``individual``)."""
    return _call(fit, "getVarCov", *args, **kwargs)


def intervals(fit: Any, **kwargs: Any) -> Any:
    """nlme's ``intervals(fit)`` (lme and gls fits)."""
    return _call(fit, "intervals", **kwargs)
