"""The public entry points: each runs the pipeline stages in order (design -> fit -> results)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd


def caller_name(data: Any, frame_depth: int = 2) -> str:
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
    return "data"


def lmer(
    formula: str,
    data: pd.DataFrame,
    REML: bool = True,
    weights: np.ndarray | str | None = None,
    offset: np.ndarray | str | None = None,
    control: dict | None = None,
    data_name: str | None = None,
):
    """Fit a linear mixed model as lme4's `lmer()`."""
    from lmepy.design import lFormula
    from lmepy.fit.lmm import fit_lmm
    from lmepy.results.lmer import LmerMod

    name = data_name or caller_name(data)
    model = lFormula(formula, data, REML=REML, weights=weights, offset=offset)
    model.data_name = name
    return LmerMod(fit_lmm(model, REML=REML, control=control))
