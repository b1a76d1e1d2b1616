"""Fitted models that several test files share, each fitted once per test session (as
MixedModels.jl's test/modelcache.jl). Test files call `fitted(name)` from their helpers, or
take the session fixtures of tests/conftest.py (`fm1`, `fm0`, `gm1`) as arguments.

The fits are lme4's examples under lme4's names, fitted quietly (a singular fit's warning is
tested where the model is fitted: tests/test_warnings.py), on data frames bound to R's data
set names so that their printed `Data:` lines read as R's. Tests may call any method of a
shared fit (results are cached on it, never changed) but must not modify its attributes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import lmepy


def _fm1() -> Any:
    sleepstudy = lmepy.datasets.load("sleepstudy")
    return lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=sleepstudy)


def _fm0() -> Any:
    sleepstudy = lmepy.datasets.load("sleepstudy")
    return lmepy.lmer("Reaction ~ 1 + (Days | Subject)", data=sleepstudy)


def _gm1() -> Any:
    cbpp = lmepy.datasets.load("cbpp")
    return lmepy.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", data=cbpp,
                       family=lmepy.binomial())


def _dyestuff2() -> Any:
    Dyestuff2 = lmepy.datasets.load("Dyestuff2")  # noqa: N806 - R's name for the Data: line
    return lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=Dyestuff2)


RECIPES: dict[str, Callable[[], Any]] = {
    "fm1": _fm1,  # lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
    "fm0": _fm0,  # lmer(Reaction ~ 1 + (Days | Subject), sleepstudy)
    "gm1": _gm1,  # glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)
    "dyestuff2": _dyestuff2,  # lmer(Yield ~ 1 + (1 | Batch), Dyestuff2): singular
}


@cache
def fitted(name: str) -> Any:
    """The shared fit `name` (a key of RECIPES), fitted on first use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RECIPES[name]()
