"""The public entry points: each runs the pipeline stages in order (design -> fit -> results)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lmepy.args import check_bool, check_choice, check_int, check_str
from lmepy.callnames import caller_name
from lmepy.fit.control import check_control
from lmepy.refit import records_call


def _label(model: Any, data_name: str, weights: Any, offset: Any) -> None:
    """Names summary() prints for the data and for weights/offset given as arrays (the
    caller's variable names; lFormula names a column-name argument itself)."""
    model.data_name = data_name
    for attr, value in (("weights_name", weights), ("offset_name", offset)):
        if value is not None and not isinstance(value, str) and not getattr(model, attr):
            setattr(model, attr, caller_name(value, default=attr.split("_")[0]))


@records_call
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
    nor nlme can fit.

    ``control``: lme4's lmerControl names with underscores (``optimizer="nloptwrap"``,
    ``optCtrl={"maxeval": ...}``, ``boundary_tol``, ...) plus ``start`` (θ) and
    ``blas_threads``; with ``correlation`` only ``optCtrl``. An unknown name is a ValueError,
    an R setting lmepy does not implement a NotImplementedError (lmepy.fit.control)."""
    check_str(formula, "formula")
    REML = check_bool(REML, "REML")
    control = check_control(control, "lmer" if correlation is None else "lmer_cor")
    name = check_str(data_name, "data_name", optional=True) or caller_name(data)
    if correlation is not None:
        from lmepy.lme.lmer_residual import lmer_residual

        return lmer_residual(formula, data, correlation=correlation, weights=weights, REML=REML,
                             control=control, data_name=name)
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm
    from lmepy.results.lmer import LmerMod

    model = lFormula(formula, data, REML=REML, weights=weights, offset=offset)
    _label(model, name, weights, offset)
    return LmerMod(fit_lmm(model, REML=REML, control=control))


@records_call
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
    with lme4's warning, as lme4 does. ``control``: glmerControl's names (checked as lmer's);
    ``nAGQ`` an integer 0..25."""
    from lmepy.design import glFormula
    from lmepy.errors import warn
    from lmepy.fit.family import get_family
    from lmepy.fit.glmm import GAUSSIAN_IDENTITY, fit_glmm
    from lmepy.results.glmer import GlmerMod

    check_str(formula, "formula")
    nAGQ = check_int(nAGQ, "nAGQ", lo=0, hi=25)
    control = check_control(control, "glmer")
    name = check_str(data_name, "data_name", optional=True) or caller_name(data)
    fam = get_family(family)
    if fam.family == "gaussian" and fam.link == "identity":
        warn(GAUSSIAN_IDENTITY)
        return lmer(formula, data, weights=weights, offset=offset, control=control,
                    data_name=name)
    model = glFormula(formula, data, family=fam, weights=weights, offset=offset)
    _label(model, name, weights, offset)
    return GlmerMod(fit_glmm(model, fam, nAGQ=nAGQ, control=control))


@records_call
def lme(fixed: str, data: pd.DataFrame, random: Any, correlation: Any = None,
        weights: Any = None, method: str = "REML", control: dict | None = None,
        data_name: str | None = None):
    """Fit a linear mixed-effects model as nlme's `lme()`."""
    from lmepy.lme import lme as _lme

    check_str(fixed, "fixed")
    check_str(data_name, "data_name", optional=True)
    check_choice(method, "method", ("REML", "ML"))
    control = check_control(control, "lme")
    return _lme(fixed, data, random, correlation=correlation, weights=weights, method=method,
                control=control, data_name=data_name or caller_name(data))


@records_call
def gls(model: str, data: pd.DataFrame, correlation: Any = None, weights: Any = None,
        method: str = "REML", control: dict | None = None, na_action: str = "na.fail",
        data_name: str | None = None):
    """Fit a linear model by generalized least squares as nlme's `gls()` (``na_action`` as
    R's ``na.action``: nlme's default fails on missing values)."""
    from lmepy.gls import gls as _gls

    check_str(model, "model")
    check_str(data_name, "data_name", optional=True)
    check_choice(method, "method", ("REML", "ML"))
    check_choice(na_action, "na_action", ("na.fail", "na.omit", "na.exclude"))
    control = check_control(control, "gls")
    return _gls(model, data, correlation=correlation, weights=weights, method=method,
                control=control, na_action=na_action,
                data_name=data_name or caller_name(data))
