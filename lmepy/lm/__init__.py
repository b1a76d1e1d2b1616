"""R's ``lm()`` and ``glm()``: the fixed-effects fits every mixed-model analysis compares
against, on lmer's formula compiler (``lmepy.design``) and glmer's families.

The solves run on one BLAS thread: X'X of a tall X is one quick pass, and OpenBLAS's idle
threads spinning on a busy machine made it many times slower (see lmepy.kernels.blas_threads).

* ``fit.py``: lm.wfit and glm.fit (IRLS) with R's pivoting rule;
* ``results.py``: the fit objects and R's generics;
* ``printing.py``: R's printed text (print, summary, anova tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lmepy.args import check_str
from lmepy.callnames import caller_name
from lmepy.kernels.blas_threads import limit_threads
from lmepy.refit import records_call

from . import fit as _fit
from . import printing as _printing  # noqa: F401  (loaded with the package, see lmepy/__init__)
from . import results as _results

LmFit = _results.LmFit
GlmFitResult = _results.GlmFitResult


def _arg_expr(value: Any, what: str) -> Any:
    """An argument as R's call keeps it: text is an R expression (a column name, or
    ``Days >= 2``), anything else the caller's variable name."""
    from lmepy.formula import parse_expr
    from lmepy.formula.ir import Name

    if isinstance(value, str):
        try:
            return parse_expr(value)
        except Exception:
            return Name(value)
    return Name(caller_name(value, default=what))


def _call_args(kind: str, formula: str, data_name: str, family: Any = None,
               **args: Any) -> list[tuple[str, Any]]:
    """The arguments R's match.call() keeps, in the order of lm's / glm's formals."""
    from lmepy.formula import parse_expr
    from lmepy.formula.ir import Name

    order = (["subset", "weights", "na_action", "offset"] if kind == "lm"
             else ["weights", "subset", "na_action", "offset"])
    out: list[tuple[str, Any]] = [("formula", parse_expr(formula))]
    if family is not None:
        out.append(("family", family))
    out.append(("data", Name(data_name)))
    for key in order:
        v = args.get(key)
        if v is None or (key == "na_action" and v == "na.omit"):
            continue
        out.append((key.replace("_", "."), _arg_expr(v, key)))
    return out


def _formula_text(formula: str) -> str:
    from lmepy.design.compile import as_model_terms

    mt, text = as_model_terms(formula)
    return str(mt.formula) if mt.formula is not None else str(text)


@records_call
def lm(formula: str, data: pd.DataFrame, weights: np.ndarray | str | None = None,
       offset: np.ndarray | str | None = None, contrasts: Mapping[str, object] | None = None,
       subset: Any = None, na_action: str = "na.omit", data_name: str | None = None
       ) -> LmFit:
    """Fit a linear model by least squares as R's ``lm()``: R's QR with its pivoting rule
    (aliased columns get NA coefficients), weights, offset, contrasts."""
    from lmepy.design.fixed import fixed_model

    check_str(formula, "formula")
    name = check_str(data_name, "data_name", optional=True) or caller_name(data)
    model = fixed_model(formula, data, weights=weights, offset=offset, subset=subset,
                        contrasts=contrasts, na_action=na_action, caller="lm")
    model.data_name = name
    with limit_threads(1):
        res = _fit.lm_fit(model.X.to_numpy(dtype=float), model.y, model.weights, model.offset)
    text = _formula_text(formula)
    return LmFit(model, res, _call_args("lm", formula, name, subset=subset, weights=weights,
                                        na_action=na_action, offset=offset), text)


def _family_expr(fam: Any, given: Any) -> Any:
    """How R deparses the family argument: ``binomial`` for the default link,
    ``binomial(link = "probit")`` otherwise; None when the family was not given."""
    if given is None:
        return None
    from lmepy.fit.family import get_family
    from lmepy.formula.ir import Call, Name, String

    default = get_family(fam.family)
    if default.link == fam.link:
        return Name(fam.family)
    return Call(fam.family, kwargs=(("link", String(fam.link)),))


@records_call
def glm(formula: str, data: pd.DataFrame, family: Any = None,
        weights: np.ndarray | str | None = None, offset: np.ndarray | str | None = None,
        contrasts: Mapping[str, object] | None = None, subset: Any = None,
        na_action: str = "na.omit", epsilon: float = 1e-8, maxit: int = 25,
        data_name: str | None = None) -> GlmFitResult:
    """Fit a generalized linear model as R's ``glm()`` (glm.fit's IRLS, R's stopping rule
    and step halving). ``family``: a family object (``lmepy.binomial(link="probit")``) or a
    name; default gaussian. A binomial response may be 0/1, a factor, proportions with
    ``weights`` (the trials) or ``cbind(successes, failures)``."""
    from lmepy.args import check_int
    from lmepy.design.fixed import fixed_model
    from lmepy.fit.family import gaussian, get_family

    check_str(formula, "formula")
    name = check_str(data_name, "data_name", optional=True) or caller_name(data)
    fam = gaussian() if family is None else get_family(family)
    if not isinstance(epsilon, int | float) or not epsilon > 0:
        raise ValueError("value of 'epsilon' must be > 0")
    maxit = check_int(maxit, "maxit", lo=1)
    model = fixed_model(formula, data, weights=weights, offset=offset, subset=subset,
                        contrasts=contrasts, family=fam, na_action=na_action, caller="glm")
    model.data_name = name
    init = fam.initialize(model.y, model.weights)
    with limit_threads(1):
        res = _fit.glm_fit(model.X.to_numpy(dtype=float), init, model.offset, fam,
                           bool(model.terms.intercept), epsilon=float(epsilon), maxit=maxit)
    text = _formula_text(formula)
    args = _call_args("glm", formula, name, _family_expr(fam, family), subset=subset,
                      weights=weights, na_action=na_action, offset=offset)
    return GlmFitResult(model, res, fam, args, text)


__all__ = ["GlmFitResult", "LmFit", "glm", "lm"]
