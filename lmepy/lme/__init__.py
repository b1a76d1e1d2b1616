"""nlme's lme(): structured random effects, serial correlation and variance functions, fitted
on the lmer blocked-Cholesky machinery (whitened rows into the lmer cross-products)."""

from __future__ import annotations

from typing import Any

from lmepy.lme.design import build_design
from lmepy.lme.fit import LmeProblem, LmeSolution, fit_lme
from lmepy.lme.lmer_residual import LmerCorFit, lmer_residual
from lmepy.lme.results import LmeFit, containment_df


def lme(fixed: str, data: Any, random: Any, correlation: Any = None, weights: Any = None,
        method: str = "REML", control: dict | None = None, data_name: str | None = None
        ) -> LmeFit:
    """Fit a linear mixed-effects model as nlme's ``lme()``.

    random: ``"~ x | g"``, ``"~ 1 | a/b"``, ``{"g": "pdDiag(~ x)"}``, ``{"Dog": "~ day",
    "Side": "~ 1"}`` (outer first); correlation: ``"corAR1()"`` etc. (grouped by the innermost
    random-effects grouping unless its form names one); weights: ``"varIdent(form = ~ 1 | g)"``,
    ``"varPower()"``, ... ; method "REML" or "ML". control: ``allow_n_lt_q`` (nlme's
    allow.n.lt.q: False, the default, stops when every innermost group has fewer rows than
    random effects; None warns; True allows it), and the optimizer's settings.
    """
    from lmepy.callnames import caller_name

    if method not in ("REML", "ML"):
        raise ValueError("method must be \"REML\" or \"ML\"")
    name = data_name or caller_name(data)
    from lmepy.fit.control import check_control

    checked = check_control(control, "lme")
    design = build_design(fixed, data, random, correlation, weights, data_name=name,
                          allow_n_lt_q=checked.get("allow_n_lt_q", False))
    sol = fit_lme(design, REML=(method == "REML"), control=control)
    return LmeFit(sol, data_name=name)


__all__ = ["LmeFit", "LmeProblem", "LmeSolution", "LmerCorFit", "build_design",
           "containment_df", "fit_lme", "lme", "lmer_residual"]
