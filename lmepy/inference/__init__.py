"""Inference for lmer fits: Satterthwaite and Kenward-Roger denominator df, lmerTest's
summary table and type III anova, lme4's likelihood-ratio table, and confidence intervals
(Wald, likelihood profile, parametric bootstrap).

Every function takes an ``LmmSolution`` or a fit object holding one (``LmerMod.sol``).
The fit object's methods map onto:
``summary(ddf=...)`` -> ``coef_table`` (printed by ``results.lmer.lmertest_summary_text``),
``anova()`` -> ``anova`` (one fit: type III F-tests; several: likelihood-ratio table),
``confint(method=...)`` -> ``confint``.
"""

from __future__ import annotations

from typing import Any

from lmepy.inference.confint import confint, confint_boot, confint_profile, confint_wald
from lmepy.inference.kenward_roger import KRState, kenward_roger, kr_contest1d, kr_contest_md
from lmepy.inference.lrt import REFIT_MESSAGE, RefitMLMessage, anova_lrt
from lmepy.inference.satterthwaite import (
    SatterthwaiteState,
    contest1d,
    contest_md,
    satterthwaite,
)
from lmepy.inference.tables import (
    AnovaTable,
    anova_type3,
    coef_table,
    contest,
    format_anova,
    format_coef_table,
    method_title,
    summary_title,
    type3_contrasts,
)


def anova(fit: Any, *others: Any, ddf: str = "Satterthwaite", refit: bool = True,
          model_names: list[str] | None = None, type: int | str = 3) -> AnovaTable:
    """``anova(fit)``: lmerTest's type III table (``type`` 1 or 2 also); ``anova(fit, other,
    ...)``: lme4's likelihood-ratio table (REML fits refitted by ML unless refit=False)."""
    if others:
        names = model_names
        if names is None:
            from lmepy.inference.lrt import _caller_names

            names = _caller_names([fit, *others])
        return anova_lrt(fit, *others, model_names=names, refit=refit)
    return anova_type3(fit, ddf, type=type)


__all__ = [
    "REFIT_MESSAGE",
    "AnovaTable",
    "KRState",
    "RefitMLMessage",
    "SatterthwaiteState",
    "anova",
    "anova_lrt",
    "anova_type3",
    "coef_table",
    "confint",
    "confint_boot",
    "confint_profile",
    "confint_wald",
    "contest",
    "contest1d",
    "contest_md",
    "format_anova",
    "format_coef_table",
    "kenward_roger",
    "kr_contest1d",
    "kr_contest_md",
    "method_title",
    "satterthwaite",
    "summary_title",
    "type3_contrasts",
]
