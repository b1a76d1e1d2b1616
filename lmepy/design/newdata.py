"""The design of a fitted model on new data, for ``predict(newdata=...)`` (lme4's
``predict.merMod``): R's ``model.frame(..., xlev = <fitted levels>)`` with the fitted
``poly()``/``scale()`` coefficients (predvars), missing values passed through (``na.pass``),
and each random-effects term's level index into the *fitted* levels (-1 for a level the fit
never saw, which predicts at zero when ``allow_new_levels``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lmepy.errors import DataError, FormulaError
from lmepy.formula.ir import Expr, RandomTerm

from .compile import _fixed_exprs
from .evaluate import Evaluator, check_data_frame
from .frame import ModelFrame
from .matrix import design_matrix
from .types import CompiledModel
from .values import CHR, FAC, LGL, NUM, Value, r_num_str


@dataclass(eq=False)
class NewReTerm:
    """One fitted random-effects term on new data: ``codes`` index the fitted term's levels
    (-1: new level or missing, contributes zero), ``rows`` has the fitted term's ``cnms``
    columns (zero where ``re_form`` leaves a column out)."""

    index: int  # position of the fitted term in model.reTrms.terms
    codes: np.ndarray
    rows: np.ndarray


@dataclass(eq=False)
class NewDesign:
    """X (the fitted X's columns), offset and random-effects rows for new data."""

    X: pd.DataFrame
    offset: np.ndarray | None
    reterms: list[NewReTerm]


def labels(v: Value) -> np.ndarray:
    """Each row's value as R's as.character() writes it (None when missing)."""
    if v.kind == FAC:
        lv = np.array(list(v.levels or []) + [None], dtype=object)
        return lv[v.data]
    if v.kind == LGL:
        return np.array([None, "FALSE", "TRUE"], dtype=object)[v.data.astype(np.int64) + 1]
    if v.kind == CHR:
        return v.data
    if v.kind == NUM:
        return np.array([None if np.isnan(x) else r_num_str(float(x)) for x in v.data],
                        dtype=object)
    raise DataError("a matrix cannot be used as a factor")


def _recode(lab: np.ndarray, levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes of ``lab`` in ``levels`` (-1 when missing or unseen) and the unseen labels."""
    pos = {s: i for i, s in enumerate(levels)}
    codes_u, uniq = pd.factorize(pd.Series(lab, dtype=object), use_na_sentinel=True)
    table = np.array([pos.get(str(u), -1) for u in uniq], dtype=np.int64)
    codes = np.where(codes_u >= 0, table[np.maximum(codes_u, 0)] if len(table) else -1, -1)
    new = [str(u) for u, t in zip(uniq, table, strict=True) if t < 0]
    return codes.astype(np.int64), new


def _conform(key: str, v: Value, fitted: Value) -> Value:
    """R's xlev: a factor variable of new data takes the fitted levels; unseen ones are an
    error, as in model.frame()."""
    if fitted.kind != FAC:
        return v
    codes, new = _recode(labels(v), list(fitted.levels or []))
    if new:
        word = "level" if len(new) == 1 else "levels"
        raise DataError(f"factor {key} has new {word} {', '.join(new)}")
    return Value(FAC, codes, fitted.levels, fitted.ordered)


def _new_frame(ev: Evaluator, exprs: list[Expr], template: dict[str, Value]) -> ModelFrame:
    values: dict[str, Value] = {}
    for e in exprs:
        key = str(e)
        if key in values:
            continue
        v = ev.value(e)
        if v.kind == CHR and template.get(key) is None:
            from .values import factor_from_strings

            v = factor_from_strings(v.data)
        fitted = template.get(key)
        values[key] = _conform(key, v, fitted) if fitted is not None else v
    rows = np.arange(ev.n)
    return ModelFrame(values, rows, np.zeros(0, dtype=np.int64), ev.data.index)


def _select_terms(model: CompiledModel, re_form: object) -> list[tuple[int, RandomTerm]]:
    """(index of the fitted term, term of re_form) pairs; lme4 matches by group name and
    requires every column of the re_form term to be one of the fitted term's."""
    fitted = model.reTrms.terms
    if re_form is None:
        return [(i, t.term) for i, t in enumerate(fitted)]
    if isinstance(re_form, str) and re_form.replace(" ", "") in ("~0", "NA", "~-1"):
        return []
    from lmepy.formula import findbars

    bars = findbars(re_form) if isinstance(re_form, str) else tuple(re_form)
    out: list[tuple[int, RandomTerm]] = []
    for rt in bars:
        cand = [i for i, t in enumerate(fitted) if t.group == rt.group.label]
        if not cand:
            raise FormulaError("grouping factors specified in re.form that were not present "
                               "in original model", str(re_form))
        out.append((cand[0], rt))
    return out


def new_design(model: CompiledModel, newdata: object, re_form: object = None,
               allow_new_levels: bool = False) -> NewDesign:
    """The fitted model's X, offset and random-effects rows evaluated on ``newdata``.

    ``re_form``: None (all terms, R's NULL), "~0" (none, R's NA) or a formula whose bars
    pick terms. Missing values pass through as NaN rows (lme4's na.pass)."""
    df = check_data_frame(newdata)
    mt = model.terms
    template = model.model_frame.values if model.model_frame is not None else {}
    ev = Evaluator(df, str(mt.formula) if mt.formula is not None else None, template)
    exprs = [e for e in _fixed_exprs(mt) if e is not mt.response and str(e) != str(mt.response)]
    frame = _new_frame(ev, exprs, template)
    x, names, _ = design_matrix(mt.terms, mt.intercept, frame, model.contrasts)
    col = {nm: j for j, nm in enumerate(names)}
    keep = [col[nm] for nm in model.X.columns]
    X = pd.DataFrame(x[:, keep], columns=list(model.X.columns), index=df.index)
    off: np.ndarray | None = None
    for o in mt.offsets:
        vo = frame[str(o)].data
        off = vo.copy() if off is None else off + vo
    out: list[NewReTerm] = []
    for idx, rt in _select_terms(model, re_form):
        t = model.reTrms.terms[idx]
        gexprs = list(rt.group.factors)
        lhs_exprs = [f for term in rt.terms.terms for f in term.factors]
        rframe = _new_frame(ev, lhs_exprs, template)
        rows, cnms, _ = design_matrix(rt.terms.terms, rt.terms.intercept, rframe, None)
        missing = [c for c in cnms if c not in t.cnms]
        if missing:
            raise FormulaError("random effects specified in re.form that were not present in "
                               "original model " + ", ".join(missing), str(re_form))
        full = np.zeros((ev.n, t.k))
        for j, c in enumerate(cnms):
            full[:, t.cnms.index(c)] = rows[:, j]
        labs = [labels(ev.value(g)) for g in gexprs]
        combo_s = pd.Series(labs[0], dtype=object)
        for other in labs[1:]:
            combo_s = combo_s.str.cat(pd.Series(other, dtype=object), sep=":")
        combo = np.array([None if pd.isna(c) else c for c in combo_s], dtype=object)
        codes, new = _recode(combo, t.levels)
        if not allow_new_levels:
            if any(c is None for c in combo):
                raise DataError("NAs are not allowed in prediction data for grouping "
                                "variables unless allow.new.levels is TRUE")
            if new:
                err = ", ".join(new)
                if len(err) > 60:
                    err = err[:60]
                    err = err[: err.rfind(",")] + ", ..." if "," in err else err
                raise DataError("new levels detected in newdata: " + err)
        out.append(NewReTerm(idx, codes, full))
    return NewDesign(X, off, out)
