"""results stage: fit objects that answer with R's generic names and print as lme4 prints.

``LmerMod`` (an lmer fit), its ``VarCorr``, ``LogLik`` and ``SummaryMerMod``; R's number
formatting in :mod:`lmepy.results.rformat`; R's generics as functions in
:mod:`lmepy.results.generics`.
"""

from lmepy.results.lmer import LmerMod, LogLik, SummaryMerMod, VarCorr

__all__ = ["LmerMod", "LogLik", "SummaryMerMod", "VarCorr"]
