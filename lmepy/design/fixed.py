"""The design of a model without random effects (R's ``lm()``/``glm()`` model frame and
``model.matrix``): lFormula's steps on the fixed part alone. Aliased columns are kept (lm and
glm report them as NA coefficients rather than dropping them up front as lme4 does)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lmepy.errors import DataError, FormulaError

from .compile import (
    _check_na_action,
    _contrast_names,
    _frame_exprs,
    _subset_arg,
    as_model_terms,
    expand_dot,
    response_offset_weights,
    weights_offset_extras,
)
from .evaluate import Evaluator, check_data_frame
from .frame import build_frame
from .matrix import design_matrix
from .types import CompiledModel, ReTrms


def fixed_model(
    formula: str,
    data: object,
    weights: object = None,
    offset: object = None,
    subset: object = None,
    contrasts: Mapping[str, object] | None = None,
    family: object = None,
    na_action: str = "na.omit",
    caller: str = "lm",
) -> CompiledModel:
    """R's model frame, X (all columns, R's names), y, prior weights and offset (formula
    ``offset()`` terms plus the argument) of ``formula`` on ``data``, for lm/glm. A
    random-effects term ``(x | g)`` is refused: R's lm would read ``|`` as a logical or."""
    mt, text = as_model_terms(formula)
    if mt.random:
        raise FormulaError(f"{caller}() fits fixed effects only; the random-effects term "
                           f"({mt.random[0].bar_text()}) needs lmer()/glmer()", text)
    df = check_data_frame(data)
    mt = expand_dot(mt, df)
    if mt.response is None:
        raise FormulaError("the formula needs a response (left-hand side)", text, 0)
    extras = weights_offset_extras(weights, offset, df)
    ev = Evaluator(df, text)
    frame = build_frame(ev, _frame_exprs(mt), extras, _subset_arg(subset, ev),
                        drop_unused_levels=True, finite_exempt=())
    _check_na_action(na_action, frame)
    if frame.n == 0:
        raise DataError("0 (non-NA) cases")
    x, names, assign = design_matrix(mt.terms, mt.intercept, frame, contrasts,
                                     response=str(mt.response))
    X = pd.DataFrame(x, columns=names, index=frame.index)
    X.attrs["assign"] = assign
    X.attrs["contrasts"] = _contrast_names(mt, frame, contrasts)
    if str(mt.response) in frame.character:
        raise DataError(f"response must be numeric: '{mt.response}' holds text")
    y, off, w = response_offset_weights(frame, mt, family,
                                        "missing or negative weights not allowed")  # stats'
    model = CompiledModel(
        terms=mt, frame=frame.to_pandas(), X=X, y=y, reTrms=ReTrms([]),
        weights=None if w is None else w.copy(), offset=off,
        response_name=str(mt.response), na_action=frame.na_action, REML=False,
        na_action_type=na_action, contrasts=dict(contrasts) if contrasts else None,
        model_frame=frame, weights_name=weights if isinstance(weights, str) else None,
        offset_name=offset if isinstance(offset, str) else None)
    # na.exclude (R's naresid): where each kept row goes among the kept and dropped rows,
    # and those rows' labels, so that residuals and fitted values are padded with NA there
    allpos = np.sort(np.concatenate([frame.rows, frame.na_action]).astype(np.int64))
    model.padded_at = np.searchsorted(allpos, frame.rows)  # type: ignore[attr-defined]
    model.padded_index = df.index[allpos]  # type: ignore[attr-defined]
    return model
