"""The public entry points: each runs the pipeline stages in order (design -> fit -> results)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd


def caller_name(data: Any, frame_depth: int = 2, default: str = "data") -> str:
    """What lme4 prints after `Data:`: R deparses the argument; we find the caller's variable
    bound to this very object, falling back to "data"."""
    frame = inspect.currentframe()
    try:
        for _ in range(frame_depth):
            if frame is None:
                break
            frame = frame.f_back
        if frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                for key, value in scope.items():
                    if value is data and not key.startswith("_"):
                        return key
    finally:
        del frame
    return default


def _arg_name(value: Any) -> str | None:
    """How lme4 prints a weights/offset argument: the column name, else the caller's variable
    (two frames up: past lmer/glmer), else a generic name."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return caller_name(value, frame_depth=3, default="weights")


def lmer(
    formula: str,
    data: pd.DataFrame,
    REML: bool = True,
    weights: np.ndarray | str | None = None,
    offset: np.ndarray | str | None = None,
    control: dict | None = None,
    correlation: Any = None,
    data_name: str | None = None,
):
    """Fit a linear mixed model as lme4's `lmer()`.

    ``correlation`` (nlme's ``"corAR1(form = ~ Days | Subject)"`` etc.) puts a residual
    correlation structure under lme4-style (also crossed) random effects, which neither lme4
    nor nlme can fit."""
    name = data_name or caller_name(data)
    if correlation is not None:
        from lmepy.lme.ar1 import lmer_ar1

        return lmer_ar1(formula, data, correlation=correlation, weights=weights, REML=REML,
                        control=control, data_name=name)
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm
    from lmepy.results.lmer import LmerMod

    model = lFormula(formula, data, REML=REML, weights=weights, offset=offset)
    model.data_name = name
    model.weights_name, model.offset_name = _arg_name(weights), _arg_name(offset)
    return LmerMod(fit_lmm(model, REML=REML, control=control))


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: Any = "binomial",
    nAGQ: int = 1,
    weights: np.ndarray | str | None = None,
    offset: np.ndarray | str | None = None,
    control: dict | None = None,
    data_name: str | None = None,
):
    """Fit a generalized linear mixed model as lme4's `glmer()` (Laplace, or adaptive
    Gauss-Hermite quadrature with ``nAGQ > 1``). ``gaussian(identity)`` goes to ``lmer()``
    with lme4's warning, as lme4 does."""
    import warnings

    from lmepy.design import glFormula
    from lmepy.fit.family import get_family
    from lmepy.fit.glmm import GAUSSIAN_IDENTITY, fit_glmm
    from lmepy.results.glmer import GlmerMod

    name = data_name or caller_name(data)
    fam = get_family(family)
    if fam.family == "gaussian" and fam.link == "identity":
        warnings.warn(GAUSSIAN_IDENTITY, UserWarning, stacklevel=2)
        return lmer(formula, data, weights=weights, offset=offset, control=control,
                    data_name=name)
    model = glFormula(formula, data, family=fam, weights=weights, offset=offset)
    model.data_name = name
    model.weights_name, model.offset_name = _arg_name(weights), _arg_name(offset)
    return GlmerMod(fit_glmm(model, fam, nAGQ=nAGQ, control=control))


def lme(fixed: str, data: pd.DataFrame, random: Any, correlation: Any = None,
        weights: Any = None, method: str = "REML", control: dict | None = None,
        data_name: str | None = None):
    """Fit a linear mixed-effects model as nlme's `lme()`."""
    from lmepy.lme import lme as _lme

    return _lme(fixed, data, random, correlation=correlation, weights=weights, method=method,
                control=control, data_name=data_name or caller_name(data))


def gls(model: str, data: pd.DataFrame, correlation: Any = None, weights: Any = None,
        method: str = "REML", control: dict | None = None, data_name: str | None = None):
    """Fit a linear model by generalized least squares as nlme's `gls()`."""
    from lmepy.gls import gls as _gls

    return _gls(model, data, correlation=correlation, weights=weights, method=method,
                control=control, data_name=data_name or caller_name(data))
