"""``model_matrix`` (R's ``model.matrix()``) and ``lFormula`` (lme4's ``lFormula()``): the
design stage's public entry points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from lmepy.args import check_bool
from lmepy.errors import (
    DataError,
    FormulaError,
    RankDeficiencyWarning,
    ScaleWarning,
    close_matches,
    warn,
)
from lmepy.formula.ir import (
    BinOp,
    Expr,
    Formula,
    ModelTerms,
    Name,
    Paren,
    RandomTerm,
    UnaryOp,
)
from lmepy.formula.terms import model_variables

from .evaluate import Evaluator, check_data_frame, locate
from .frame import ModelFrame, build_frame, check_finite
from .matrix import design_matrix
from .rank import limited_pivot_qr_rank
from .types import CompiledModel, ReTerm, ReTrms
from .values import FAC, LGL, MAT, NUM, Value, drop_unused

RANK_MSG_1 = "fixed-effect model matrix is rank deficient so dropping {} column / coefficient"
RANK_MSG_N = "fixed-effect model matrix is rank deficient so dropping {} columns / coefficients"
SCALE_MSG = "Some predictor variables are on very different scales: consider rescaling"


def as_model_terms(formula: str | ModelTerms) -> tuple[ModelTerms, str | None]:
    """The model terms of ``formula`` (text is parsed, never evaluated) and its text."""
    if isinstance(formula, ModelTerms):
        return formula, (str(formula.formula) if formula.formula is not None else str(formula))
    if not isinstance(formula, str):
        raise FormulaError(f"a formula must be a string, not {type(formula).__name__}")
    return _model_terms(formula), formula


@lru_cache(maxsize=512)
def _model_terms(formula: str) -> ModelTerms:
    """model_terms of a formula text, remembered: ModelTerms is immutable and depends on the
    text alone (no data), so refitting one formula does the symbolic work once."""
    from lmepy.formula import model_terms

    return model_terms(formula)


def _has_dot(e: Expr) -> bool:
    if isinstance(e, Name):
        return e.id == "."
    if isinstance(e, Paren):
        return _has_dot(e.body)
    if isinstance(e, UnaryOp):
        return _has_dot(e.operand)
    if isinstance(e, BinOp) and e.op not in ("|", "||"):
        return _has_dot(e.left) or _has_dot(e.right)
    return False


def _replace_dot(e: Expr, repl: Expr) -> Expr:
    if isinstance(e, Name) and e.id == ".":
        return repl
    if isinstance(e, Paren):
        return Paren(_replace_dot(e.body, repl))
    if isinstance(e, UnaryOp):
        return UnaryOp(e.op, _replace_dot(e.operand, repl))
    if isinstance(e, BinOp) and e.op not in ("|", "||"):
        return BinOp(e.op, _replace_dot(e.left, repl), _replace_dot(e.right, repl))
    return e


def expand_dot(mt: ModelTerms, data: pd.DataFrame) -> ModelTerms:
    """R's ``terms(formula, data = data)``: ``.`` on the right-hand side stands for every
    column of the data not used on the left-hand side."""
    f = mt.formula
    if f is None or not _has_dot(f.rhs):
        return mt
    from lmepy.formula import model_terms

    used = set(f.lhs.variables()) if f.lhs is not None else set()
    cols = [str(c) for c in data.columns if str(c) not in used]
    if not cols:
        raise FormulaError("'.' in formula and no columns to stand for", str(f))
    repl: Expr = Name(cols[0])
    for c in cols[1:]:
        repl = BinOp("+", repl, Name(c))
    return model_terms(Formula(f.lhs, _replace_dot(f.rhs, Paren(repl))))


def _column_vector(arg: object, data: pd.DataFrame, what: str, n: int) -> np.ndarray:
    """``weights``/``offset`` given as a column name or as values (length N)."""
    if isinstance(arg, str):
        if arg not in data.columns:
            raise DataError(f"column '{arg}' (given as {what}) not found in data."
                            + close_matches(arg, [str(c) for c in data.columns]))
        col = data[arg]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            raise DataError(f"{what} column '{arg}' must be numeric")
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        x = np.asarray(arg, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"'{what}' must be a column name or numeric values, not "
                        f"{type(arg).__name__}") from None
    if x.ndim > 1 and not (x.ndim == 2 and 1 in x.shape):
        raise DataError(f"'{what}' must be a vector, not an array of shape {x.shape}")
    x = x.reshape(-1)
    if x.shape[0] == 1 and n != 1:
        x = np.full(n, x[0])
    if x.shape[0] != n:
        raise DataError(f"variable lengths differ (found for '({what})')")
    return x


def _subset_arg(subset: object, ev: Evaluator) -> object:
    """A subset given as text is an R expression over the data (whitelisted evaluator)."""
    if isinstance(subset, str):
        from lmepy.formula import parse_expr

        v = Evaluator(ev.data, subset).value(parse_expr(subset))
        if v.kind != LGL:
            raise DataError("'subset' must evaluate to TRUE/FALSE")
        return np.where(v.data < 0, False, v.data == 1)
    if isinstance(subset, pd.Series):
        return subset.to_numpy()
    return subset


def _check_na_action(na_action: str, frame: ModelFrame) -> None:
    """R's na.omit (drop), na.exclude (drop; residuals and fitted values are padded back
    with NA by the results stage) or na.fail (refuse)."""
    if na_action not in ("na.omit", "na.exclude", "na.fail"):
        raise ValueError("na_action must be 'na.omit', 'na.exclude' or 'na.fail'")
    if na_action == "na.fail" and len(frame.na_action):
        raise DataError("missing values in object")


def _fixed_exprs(mt: ModelTerms) -> list[Expr]:
    out: list[Expr] = []
    if mt.response is not None:
        out.append(mt.response)
    for t in mt.terms:
        out += list(t.factors)
    out += list(mt.offsets)
    return out


def _frame_exprs(mt: ModelTerms) -> list[Expr]:
    """R's model-frame variables of the fixed part: every variable the formula names, removed
    terms included (R evaluates them, and na.omit looks at them too)."""
    try:
        out = list(model_variables(mt))
    except Exception:  # hand-built terms that do not print back to a formula
        out = []
    for e in _fixed_exprs(mt):
        if str(e) not in {str(v) for v in out}:
            out.append(e)
    return out


def _random_exprs(mt: ModelTerms) -> list[Expr]:
    out: list[Expr] = []
    for rt in mt.random:
        for t in rt.terms.terms:
            out += list(t.factors)
        out += list(rt.terms.offsets)
        out += list(rt.group.factors)
    return out


def _grouping_only(mt: ModelTerms) -> set[str]:
    """Variables used only as random-effects grouping factors (factor() of any value)."""
    groups = {str(f) for rt in mt.random for f in rt.group.factors}
    groups.add(str(mt.response))  # checked as lme4's 'y' once it is the response vector
    numeric = {str(e) for e in _fixed_exprs(mt) if e is not mt.response}
    for rt in mt.random:
        numeric |= {str(f) for t in rt.terms.terms for f in t.factors}
        numeric |= {str(o) for o in rt.terms.offsets}
    return groups - numeric


def model_matrix(
    formula: str | ModelTerms,
    data: object,
    contrasts: Mapping[str, object] | None = None,
    subset: object = None,
    na_action: str = "na.omit",
) -> pd.DataFrame:
    """R's ``model.matrix(formula, data)``: rows with a missing value dropped (na.omit),
    unused factor levels kept (as R's plain model frame does), R's column names. The
    ``assign`` and ``contrasts`` attributes are in ``.attrs``. Random-effects terms, if any,
    are left out (lme4's ``nobars``). ``data`` may also be a compiled model (or its
    ``model_frame``): its evaluated variables are used as they are."""
    mt, text = as_model_terms(formula)
    given = data.model_frame if isinstance(data, CompiledModel) else data
    if isinstance(given, ModelFrame):
        # an lFormula() model frame: its variables are already evaluated (R's model.matrix
        # on a model frame with terms)
        frame = given
    else:
        df = check_data_frame(data)
        mt = expand_dot(mt, df)
        ev = Evaluator(df, text)
        exprs = _frame_exprs(mt)
        frame = build_frame(ev, exprs, subset=_subset_arg(subset, ev), drop_unused_levels=False,
                            finite_exempt=None)
        _check_na_action(na_action, frame)
    x, names, assign = design_matrix(mt.terms, mt.intercept, frame, contrasts,
                                     response=None if mt.response is None else str(mt.response))
    out = pd.DataFrame(x, columns=names, index=frame.index)
    out.attrs["assign"] = assign
    out.attrs["contrasts"] = _contrast_names(mt, frame, contrasts)
    out.attrs["na_action"] = frame.na_action
    return out


def _contrast_names(mt: ModelTerms, frame: ModelFrame, contrasts) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in mt.terms:
        for f in t.factors:
            key = str(f)
            v = frame[key]
            if v.kind in (FAC, LGL) and key not in out:
                spec = (contrasts or {}).get(key)
                out[key] = spec if isinstance(spec, str) else (
                    "matrix" if spec is not None else
                    ("contr.poly" if v.ordered else "contr.treatment"))
    return out


# --------------------------------------------------------------------------------------------
# Random-effects terms


def _make_fac(v: Value) -> Value:
    """lme4's makeFac: anything that is not a factor becomes ``factor(x)``."""
    if v.kind == FAC:
        return v
    if v.kind == MAT:
        raise DataError("a matrix cannot be a grouping factor")
    return v.as_factor()


def _interact(f1: Value, f2: Value) -> Value:
    """lme4's ``%i%``: the observed combinations, labelled ``a:b``, ordered by f1's level then
    f2's level."""
    n2 = len(f2.levels or [])
    na = (f1.data < 0) | (f2.data < 0)
    combo = np.where(na, -1, f1.data * max(n2, 1) + f2.data)
    uniq, inv = np.unique(combo[~na], return_inverse=True)
    codes = np.full(combo.shape[0], -1, dtype=np.int64)
    codes[~na] = inv
    l1, l2 = f1.levels or [], f2.levels or []
    levels = [f"{l1[c // max(n2, 1)]}:{l2[c % max(n2, 1)]}" for c in uniq.tolist()]
    return Value(FAC, codes, levels)


def _grouping(rt: RandomTerm, frame: ModelFrame) -> Value:
    facs = [_make_fac(frame[str(f)]) for f in rt.group.factors]
    g = facs[0]
    for f in facs[1:]:
        g = _interact(g, f)
    if (g.data < 0).all():
        raise DataError(f"Invalid grouping factor specification, {rt.group.label}")
    return drop_unused(Value(FAC, g.data, g.levels, False))


def build_reterms(mt: ModelTerms, frame: ModelFrame) -> ReTrms:
    """lme4's mkReTrms on the compact representation: one ReTerm per random term, sorted as
    lme4 sorts them (only if some later term has more levels: by decreasing number of levels,
    ties in reverse order, which is what ``rev(order(nl))`` gives)."""
    terms: list[ReTerm] = []
    for rt in mt.random:
        g = _grouping(rt, frame)
        # lme4's mkBlist: model.matrix(~ lhs, fr) with R's default contrasts, whatever the
        # contrasts argument says (that one is for X only)
        rows, cnms, _ = design_matrix(rt.terms.terms, rt.terms.intercept, frame, None)
        if not cnms:  # (0 | g): no random effects; lme4 keeps the term, which adds nothing
            continue
        terms.append(ReTerm(group=rt.group.label, levels=list(g.levels or []),
                            codes=g.data.astype(np.int64), cnms=cnms, rows=rows, term=rt))
    if mt.random and not terms:
        raise DataError("length(theta) > 0L is not TRUE: the random-effects terms ("
                        + ", ".join(f"({rt.bar_text()})" for rt in mt.random)
                        + ") have no columns, so the model has no random effects")
    nl = [t.nlevels for t in terms]
    if any(b > a for a, b in zip(nl, nl[1:], strict=False)):
        order = sorted(range(len(nl)), key=lambda i: nl[i])  # stable, increasing
        terms = [terms[i] for i in reversed(order)]
    return ReTrms(terms)


def _bar_text(t: ReTerm) -> str:
    rt = t.term
    if isinstance(rt, RandomTerm):
        return rt.bar_text()
    return f"{' + '.join(t.cnms)} | {t.group}"


def check_reterms(re: ReTrms, n: int, allow_n: bool = False) -> None:
    """lme4's default checks: check.nlev.gtr.1, check.nobs.vs.nlev and check.nobs.vs.nRE,
    all "stop", with lme4's messages. ``allow_n`` is glmer's variant (glFormula), where a
    level per observation, or as many random effects as observations, is allowed."""
    nlev: dict[str, int] = {}
    for t in re.terms:
        nlev.setdefault(t.group, t.nlevels)
    if any(v < 2 for v in nlev.values()):
        raise DataError("grouping factors must have > 1 sampled level")
    bad = [g for g, v in nlev.items() if (v > n if allow_n else v >= n)]
    if bad:
        raise DataError(f"number of levels of each grouping factor must be "
                        f"{'<=' if allow_n else '<'} number of observations "
                        f"(problems: {', '.join(bad)})")
    for t in re.terms:
        if (n < t.q) if allow_n else (n <= t.q):
            rest = "" if allow_n else (" and the residual variance (or scale parameter)")
            raise DataError(
                f"number of observations (={n}) {'<' if allow_n else '<='} number of random "
                f"effects (={t.q}) for term ({_bar_text(t)}); the random-effects parameters"
                f"{rest} are probably unidentifiable")


# --------------------------------------------------------------------------------------------
# Fixed effects checks


def drop_rank_deficient(x: np.ndarray, names: list[str], assign: list[int], tol: float = 1e-7
                        ) -> tuple[np.ndarray, list[str], list[int], list[str]]:
    """lme4's chkRank.drop.cols ("message+drop.cols"): keep R's LINPACK pivots, warn."""
    p = x.shape[1]
    if p == 0:
        return x, names, assign, []
    rank, pivot = limited_pivot_qr_rank(x, tol)
    if rank == p:
        return x, names, assign, []
    msg = (RANK_MSG_1 if p - rank == 1 else RANK_MSG_N).format(p - rank)
    warn(msg, RankDeficiencyWarning)
    keep = pivot[:rank]
    dropped = [names[i] for i in range(p) if i not in set(keep.tolist())]
    return (x[:, keep], [names[i] for i in keep], [assign[i] for i in keep], dropped)


def check_scale(x: np.ndarray, tol: float = 1000.0) -> None:
    """lme4's check.scaleX = "warning": columns other than 0/1 whose standard deviations
    differ from each other, or from 1, by more than a factor ``tol``."""
    if x.shape[0] < 2 or x.shape[1] == 0:
        return
    cont = ~np.all((x == 0) | (x == 1), axis=0)
    if not cont.any():
        return
    sd = np.std(x[:, cont], axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logsd = np.abs(np.log(sd))
        ratios = np.abs(np.log(sd[:, None] / sd[None, :]))
    big = np.log(tol)
    vals = np.concatenate([logsd, ratios[np.tril_indices(len(sd), -1)]])
    if np.any(vals > big):
        warn(SCALE_MSG, ScaleWarning)


def _response(v: Value, family: object, mt: ModelTerms) -> np.ndarray:
    if v.kind in (NUM, MAT):
        return v.data.copy()
    binomial = family is not None and getattr(family, "family", family) == "binomial"
    if v.kind == LGL:
        return v.data.astype(np.float64)
    if v.kind == FAC and binomial:
        return (v.data != 0).astype(np.float64)
    raise DataError("response must be numeric or factor" if binomial else
                    "response must be numeric")


def lFormula(
    formula: str | ModelTerms,
    data: object,
    REML: bool = True,
    weights: object = None,
    offset: object = None,
    subset: object = None,
    contrasts: Mapping[str, object] | None = None,
    family: object = None,
    check_scale_x: bool = True,
    na_action: str = "na.omit",
) -> CompiledModel:
    """lme4's ``lFormula()``: the model frame (na.omit, unused levels dropped), X with R's
    names (aliased columns dropped as lme4 does), y, weights, offset (formula ``offset()``
    terms plus the argument) and the random-effects terms in lme4's order. ``family``
    (glmer) lets a binomial response be a factor."""
    REML = check_bool(REML, "REML")
    mt, text = as_model_terms(formula)
    df = check_data_frame(data)
    mt = expand_dot(mt, df)
    if mt.response is None:
        raise FormulaError("the formula needs a response (left-hand side)", text, 0)
    if not mt.random:
        raise FormulaError("No random effects terms specified in formula", text,
                           len(text) if text else None)
    extras = weights_offset_extras(weights, offset, df)
    ev = Evaluator(df, text)
    exprs = _frame_exprs(mt) + _random_exprs(mt)
    frame = build_frame(ev, exprs, extras, _subset_arg(subset, ev), drop_unused_levels=True,
                        finite_exempt=_grouping_only(mt))
    _check_na_action(na_action, frame)
    n = frame.n
    if n == 0:
        raise DataError("0 (non-NA) cases")
    re = build_reterms(mt, frame)
    check_reterms(re, n, allow_n=family is not None)
    x, names, assign = design_matrix(mt.terms, mt.intercept, frame, contrasts,
                                     response=str(mt.response))
    x, names, assign, dropped = drop_rank_deficient(x, names, assign)
    if check_scale_x:
        check_scale(x)
    X = pd.DataFrame(x, columns=names, index=frame.index)
    X.attrs["assign"] = assign
    X.attrs["contrasts"] = _contrast_names(mt, frame, contrasts)
    if str(mt.response) in frame.character:  # lme4's mkRespMod, as R's model frame keeps it
        if getattr(family, "family", family) == "binomial":
            raise DataError(f"response must be numeric or factor: '{mt.response}' holds text; "
                            "make it a pandas Categorical (first level = failure) or numbers")
        raise DataError(f"response must be numeric: '{mt.response}' holds text")
    y, off, w = response_offset_weights(frame, mt, family,
                                        "all(weights >= 0) is not TRUE")  # lme4's mkRespMod
    return CompiledModel(
        terms=mt,
        frame=frame.to_pandas(),
        X=X,
        y=y,
        reTrms=re,
        weights=None if w is None else w.copy(),
        offset=off,
        response_name=str(mt.response),
        dropped_columns=dropped,
        na_action=frame.na_action,
        REML=REML,
        na_action_type=na_action,
        contrasts=dict(contrasts) if contrasts else None,
        model_frame=frame,
        weights_name=weights if isinstance(weights, str) else None,
        offset_name=offset if isinstance(offset, str) else None,
    )


def glFormula(
    formula: str | ModelTerms,
    data: object,
    family: object = "binomial",
    weights: object = None,
    offset: object = None,
    subset: object = None,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "na.omit",
) -> CompiledModel:
    """lme4's ``glFormula()``: as lFormula, with glmer's checks (a grouping level per
    observation allowed) and a binomial response that may be a factor or logical.
    ``family`` is a family object (with ``.family``) or its name."""
    return lFormula(formula, data, REML=False, weights=weights, offset=offset, subset=subset,
                    contrasts=contrasts, family=family, na_action=na_action)


__all__: Sequence[str] = ["glFormula", "lFormula", "model_matrix", "locate"]


def response_offset_weights(frame: Any, mt: Any, family: Any, negative_weights: str
                            ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The response (finite, as lme4's mkRespMod and R's glm.fit demand), the summed offset
    (offset() terms plus the offset argument) and the prior weights (never negative: the
    message is the caller's, lme4's or stats'), from an evaluated model frame."""
    y = _response(frame[str(mt.response)], family, mt)
    check_finite({str(mt.response): y}, lead="NA/NaN/Inf in 'y'\n")
    off: np.ndarray | None = None
    for o in mt.offsets:
        v = frame[str(o)]
        off = v.data.copy() if off is None else off + v.data
    if "(offset)" in frame.extras:
        off = frame.extras["(offset)"].copy() if off is None else off + frame.extras["(offset)"]
    w = frame.extras.get("(weights)")
    if w is not None and np.any(w < 0):
        raise DataError(negative_weights)
    return y, off, w


def weights_offset_extras(weights: Any, offset: Any, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The weights and offset arguments (column names or arrays, one value per row of the
    data) as the model frame's extra columns, R's ``(weights)`` and ``(offset)``."""
    extras: dict[str, np.ndarray] = {}
    if weights is not None:
        extras["(weights)"] = _column_vector(weights, df, "weights", len(df))
    if offset is not None:
        extras["(offset)"] = _column_vector(offset, df, "offset", len(df))
    return extras
