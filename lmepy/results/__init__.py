"""results stage: fit objects that answer with R's generic names and print as lme4 prints.

``LmerMod`` (an lmer fit), ``GlmerMod`` (a glmer fit), their ``VarCorr``, ``LogLik`` and
``SummaryMerMod``; R's number formatting in :mod:`lmepy.rtext`; R's generics as
functions in :mod:`lmepy.results.generics`.
"""

from lmepy.results.glmer import GlmerMod
from lmepy.results.lmer import LmerMod, LogLik, SummaryMerMod, VarCorr

__all__ = ["GlmerMod", "LmerMod", "LogLik", "SummaryMerMod", "VarCorr"]
