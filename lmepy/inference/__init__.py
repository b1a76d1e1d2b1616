"""Inference for lmer fits: Satterthwaite and Kenward-Roger denominator df, lmerTest's
summary table and type III anova, lme4's likelihood-ratio table, and confidence intervals
(Wald, likelihood profile, parametric bootstrap)."""

from lmepy.inference.kenward_roger import KRState, kenward_roger, kr_contest1d, kr_contest_md
from lmepy.inference.satterthwaite import (
    SatterthwaiteState,
    contest1d,
    contest_md,
    satterthwaite,
)

__all__ = [
    "KRState",
    "SatterthwaiteState",
    "contest1d",
    "contest_md",
    "kenward_roger",
    "kr_contest1d",
    "kr_contest_md",
    "satterthwaite",
]
