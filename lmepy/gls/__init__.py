"""gls(): nlme's generalized least squares (correlated and/or heteroscedastic errors)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lmepy.errors import DataError, FormulaError
from lmepy.gls.fit import fit_structures, resolve_cor, resolve_var
from lmepy.gls.results import GlsFit

__all__ = ["GlsFit", "fit_gls", "gls"]


def fit_gls(X: pd.DataFrame, y: np.ndarray, data: pd.DataFrame, correlation: object = None,
            weights: object = None, method: str = "REML", control: Mapping | None = None,
            formula: str = "", data_name: str = "data") -> GlsFit:
    """gls on a prepared model matrix (columns named as R's) and response; `data` holds the
    structures' variables, rows aligned with X. The formula-free entry point."""
    if method not in ("REML", "ML"):
        raise ValueError("'method' must be \"REML\" or \"ML\"")
    Xa = np.asarray(X, dtype=float)
    ya = np.asarray(y, dtype=float).ravel()
    if len(ya) != Xa.shape[0] or len(data) != Xa.shape[0]:
        raise DataError("X, y and data must have the same number of rows")
    if not np.all(np.isfinite(Xa)) or not np.all(np.isfinite(ya)):
        raise DataError("missing values in object")
    rank = np.linalg.matrix_rank(Xa)
    if rank < Xa.shape[1]:
        raise DataError(f'computed "gls" fit is singular, rank {rank}')
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(Xa, columns=[f"X{i + 1}" for i in range(Xa.shape[1])])
    out = fit_structures(Xa, ya, data.reset_index(drop=True), resolve_cor(correlation),
                         resolve_var(weights), method == "REML", dict(control or {}))
    return GlsFit(X=X, y=ya, problem=out["problem"], estimate=out["estimate"], method=method,
                  formula=formula, data_name=data_name, opt=out["opt"], n_iter=out["n_iter"])


def _structure_variables(structs: list[object]) -> list[str]:
    """The data variables the structures' forms read (covariates, groups)."""
    from lmepy.formula import parse_expr
    out: list[str] = []
    for st in structs:
        form = getattr(st, "form", None)
        if form is None:
            continue
        cov = form.covariate
        if cov is not None and cov != "fitted(.)":
            try:
                names = list(parse_expr(cov).variables())
            except Exception:  # noqa: BLE001 - binding reports a bad covariate itself
                names = [cov]
            out += names
        out += list(form.groups)
    return list(dict.fromkeys(out))


def _design(model: str, data: pd.DataFrame, na_action: str = "na.fail",
            structs: list[object] | None = None
            ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """X (R's names), y and the data rows, through the design stage. nlme's default
    na.action (na.fail) refuses missing values; "na.omit" drops the rows with a missing value
    in the model's or the structures' variables."""
    from lmepy.design.compile import (
        _fixed_exprs,
        _response,
        as_model_terms,
        check_data_frame,
    )
    from lmepy.design.evaluate import Evaluator
    from lmepy.design.frame import build_frame
    from lmepy.design.matrix import design_matrix

    if na_action not in ("na.fail", "na.omit", "na.exclude"):
        raise ValueError("'na_action' must be \"na.fail\" or \"na.omit\"")
    mt, text = as_model_terms(model)
    if mt.response is None:
        raise FormulaError("the model formula needs a response (left-hand side)", text, 0)
    if mt.random:
        raise FormulaError("gls() has no random effects: use lme() for terms with |", text)
    df = check_data_frame(data)
    svars = [v for v in _structure_variables(structs or []) if v in df.columns]
    if svars:
        keep = df[svars].notna().all(axis=1).to_numpy()
        if not keep.all():
            if na_action == "na.fail":
                raise DataError("missing values in object")
            df = df[keep]
    ev = Evaluator(df, text)
    frame = build_frame(ev, _fixed_exprs(mt), drop_unused_levels=False)
    if len(frame.na_action):
        if na_action == "na.fail":
            raise DataError("missing values in object")
        df = df.iloc[frame.rows]
    if len(df) == 0:
        raise DataError("0 (non-NA) cases")
    x, names, assign = design_matrix(mt.terms, mt.intercept, frame, None)
    X = pd.DataFrame(x, columns=names, index=frame.index)
    X.attrs["assign"] = list(assign)
    X.attrs["term_labels"] = ["(Intercept)"] * bool(mt.intercept) + list(mt.term_labels)
    X.attrs["design"] = (mt, text, frame.values)  # for predict(newdata): terms and template
    y = _response(frame[str(mt.response)], None, mt)
    return X, y, df


def gls(model: str, data: pd.DataFrame, correlation: object = None, weights: object = None,
        method: str = "REML", control: Mapping | None = None, na_action: str = "na.fail",
        data_name: str | None = None) -> GlsFit:
    """nlme's gls(model, data, correlation, weights, method, na.action): `correlation` and
    `weights` as R text ("corAR1(form = ~ 1 | Mare)"), lmepy.covariance objects, or parsed
    specs. na_action "na.fail" (nlme's default) or "na.omit"."""
    if method not in ("REML", "ML"):
        raise ValueError("'method' must be \"REML\" or \"ML\"")
    if data_name is None:
        from lmepy.callnames import caller_name
        data_name = caller_name(data)
    cor, var = resolve_cor(correlation), resolve_var(weights)
    X, y, df = _design(model, data, na_action, [s for s in (cor, var) if s is not None])
    return fit_gls(X, y, df, cor, var, method, control,
                   formula=str(model), data_name=data_name)
