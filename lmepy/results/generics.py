"""R's generic functions as module-level functions, for porting R scripts line by line:
``fixef(fit)`` is ``fit.fixef()``, ``VarCorr(fit)`` is ``fit.VarCorr()``, and so on."""

from __future__ import annotations

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


def summary(fit: Any, **kwargs: Any) -> Any:
    """``summary(fit)``."""
    return _call(fit, "summary", **kwargs)


def fixef(fit: Any) -> Any:
    """``fixef(fit)``."""
    return _call(fit, "fixef")


def ranef(fit: Any, condVar: bool = True) -> Any:
    """``ranef(fit, condVar)``."""
    return _call(fit, "ranef", condVar=condVar)


def coef(fit: Any) -> Any:
    """``coef(fit)``."""
    return _call(fit, "coef")


def vcov(fit: Any) -> Any:
    """``vcov(fit)``."""
    return _call(fit, "vcov")


def sigma(fit: Any) -> float:
    """``sigma(fit)``."""
    return _call(fit, "sigma")


def VarCorr(fit: Any) -> Any:
    """``VarCorr(fit)``."""
    return _call(fit, "VarCorr")


def logLik(fit: Any, **kwargs: Any) -> Any:
    """``logLik(fit)``."""
    return _call(fit, "logLik", **kwargs)


def AIC(fit: Any) -> float:
    """``AIC(fit)``."""
    return _call(fit, "AIC")


def BIC(fit: Any) -> float:
    """``BIC(fit)``."""
    return _call(fit, "BIC")


def deviance(fit: Any, **kwargs: Any) -> float:
    """``deviance(fit)``."""
    return _call(fit, "deviance", **kwargs)


def REMLcrit(fit: Any) -> float:
    """``REMLcrit(fit)``."""
    return _call(fit, "REMLcrit")


def nobs(fit: Any) -> int:
    """``nobs(fit)``."""
    return _call(fit, "nobs")


def ngrps(fit: Any) -> Any:
    """``ngrps(fit)``."""
    return _call(fit, "ngrps")


def fitted(fit: Any) -> Any:
    """``fitted(fit)``."""
    return _call(fit, "fitted")


def residuals(fit: Any, type: str = "response", scaled: bool = False) -> Any:
    """``residuals(fit, type, scaled)``."""
    return _call(fit, "residuals", type=type, scaled=scaled)


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


def formula(fit: Any) -> Any:
    """``formula(fit)``."""
    return _call(fit, "formula")


def weights(fit: Any) -> Any:
    """``weights(fit)``."""
    return _call(fit, "weights")


def modelStruct(fit: Any) -> Any:
    """nlme's ``coef(fit$modelStruct, unconstrained = FALSE)`` (lme and gls fits)."""
    return _call(fit, "modelStruct")


def getVarCov(fit: Any, *args: Any, **kwargs: Any) -> Any:
    """nlme's ``getVarCov(fit, individuals, type)`` (gls: ``individual``)."""
    return _call(fit, "getVarCov", *args, **kwargs)


def intervals(fit: Any, **kwargs: Any) -> Any:
    """nlme's ``intervals(fit)`` (lme and gls fits)."""
    return _call(fit, "intervals", **kwargs)
