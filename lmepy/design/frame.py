"""R's ``model.frame()``: evaluate every variable the model uses, apply ``subset``, drop rows
with a missing value anywhere (``na.omit``), and (as lme4 asks) drop unused factor levels."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from lmepy.errors import DataError
from lmepy.formula.ir import Expr

from .evaluate import Evaluator
from .values import CHR, FAC, LGL, MAT, NUM, Value, drop_unused, factor_from_strings


@dataclass(eq=False)
class ModelFrame:
    """The evaluated variables (keyed by R's deparse, in R's order) on the kept rows."""

    values: dict[str, Value]
    rows: np.ndarray  # positions in the caller's data of the kept rows
    na_action: np.ndarray  # positions dropped by na.omit (after subset)
    index: pd.Index  # the caller's row labels of the kept rows
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # "(weights)", "(offset)"
    # variables that were character vectors before becoming factors (R's model frame keeps
    # them character: a character response is an error in glmer, a factor one is not)
    character: frozenset[str] = frozenset()

    @property
    def n(self) -> int:
        return int(self.rows.shape[0])

    def __getitem__(self, key: str) -> Value:
        return self.values[key]

    def to_pandas(self) -> pd.DataFrame:
        """The frame as a DataFrame: factors as Categoricals, matrices as one column each
        (named as model.matrix names them)."""
        cols: dict[str, object] = {}
        mats: dict[str, tuple[list[str], list[str] | None]] = {}
        for key, v in self.values.items():
            if v.kind == NUM:
                cols[key] = v.data
            elif v.kind == MAT:
                k = v.data.shape[1]
                names = [matrix_column_name(key, v.colnames, j, k) for j in range(k)]
                mats[key] = (names, v.colnames)
                for j in range(k):
                    cols[names[j]] = v.data[:, j]
            elif v.kind == FAC:
                cols[key] = pd.Categorical.from_codes(
                    v.data, dtype=_categorical_dtype(tuple(v.levels or ()), bool(v.ordered)),
                    validate=False)  # codes come from the levels: in range by construction
            elif v.kind == LGL:
                cols[key] = v.data.astype(bool)
            else:
                cols[key] = v.data
        for key, x in self.extras.items():
            cols[key] = x
        out = pd.DataFrame(cols, index=self.index)
        out.attrs["matrix_columns"] = mats  # lets model_matrix() read the frame back
        return out


@lru_cache(maxsize=256)
def _categorical_dtype(levels: tuple[str, ...], ordered: bool) -> pd.CategoricalDtype:
    """One CategoricalDtype per set of levels (immutable, so shared): building one checks
    the levels each time, the largest cost of a small model frame."""
    return pd.CategoricalDtype(list(levels), ordered=ordered)


def matrix_column_name(key: str, colnames: list[str] | None, j: int, k: int) -> str:
    """R's name for column j of a matrix variable: the variable's name alone when it has one
    column, else the name followed by the column name (or number)."""
    if k == 1:
        return key
    if colnames is None:
        return f"{key}{j + 1}"
    return f"{key}{colnames[j]}"


def subset_positions(subset: object, n: int) -> np.ndarray | None:
    """Row positions selected by ``subset``: a boolean mask (NA counts as FALSE, as R) or
    integer positions."""
    if subset is None:
        return None
    arr = np.asarray(subset)
    if arr.dtype == bool or (arr.dtype == object and all(isinstance(x, bool | np.bool_)
                                                         or x is None for x in arr)):
        mask = np.array([bool(x) if x is not None else False for x in arr], dtype=bool)
        if mask.shape[0] != n:
            raise DataError(f"'subset' has length {mask.shape[0]}, the data have {n} rows")
        return np.flatnonzero(mask)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise DataError("'subset' positions out of range")
        return arr.astype(np.int64)
    raise DataError("'subset' must be a boolean mask or integer row positions")


def build_frame(
    ev: Evaluator,
    exprs: list[Expr],
    extras: dict[str, np.ndarray] | None = None,
    subset: object = None,
    drop_unused_levels: bool = True,
    finite_exempt: Collection[str] | None = (),
) -> ModelFrame:
    """Evaluate ``exprs`` on the whole data (as R does, before subsetting), then subset,
    na.omit, turn character variables into factors and drop unused levels.

    A model's numbers must be finite on the kept rows (R stops with "NA/NaN/Inf in foreign
    function call"): an infinite value is a DataError naming the variable, except in the
    variables named in ``finite_exempt`` (grouping factors: R's factor() has a level "Inf");
    ``finite_exempt=None`` skips the check (model.matrix() of data, as R's)."""
    values: dict[str, Value] = {}
    for e in exprs:
        key = str(e)
        if key not in values:
            values[key] = ev.value(e)
    extras = dict(extras or {})
    n0 = ev.n
    pos = subset_positions(subset, n0)
    if pos is None:
        pos = np.arange(n0)
    na = np.zeros(pos.shape[0], dtype=bool)
    for v in values.values():
        na |= v.na_mask()[pos]
    for x in extras.values():
        na |= np.isnan(x[pos])
    keep = pos[~na]
    out: dict[str, Value] = {}
    chars: set[str] = set()
    for key, v in values.items():
        w = v.take(keep)
        if w.kind == CHR:
            chars.add(key)
            w = factor_from_strings(w.data)
        elif w.kind == FAC and drop_unused_levels:
            w = drop_unused(w)
        out[key] = w
    ex = {k: x[keep] for k, x in extras.items()}
    if finite_exempt is not None:
        checked = {k: v.data for k, v in out.items()
                   if v.kind in (NUM, MAT) and not v.is_scalar and k not in finite_exempt}
        check_finite({**checked, **{k.strip("()"): x for k, x in ex.items()}})
    return ModelFrame(out, keep, pos[na], ev.data.index[keep], ex, frozenset(chars))


def check_finite(columns: dict[str, np.ndarray], lead: str = "") -> None:
    """DataError for the first variable with an infinite value, naming it and how many rows
    hold one (missing values, NaN, are na.omit's business and already gone); ``lead``: R's
    own text as the first line (lme4's "NA/NaN/Inf in 'y'" for the response)."""
    for name, x in columns.items():
        x = np.asarray(x, dtype=np.float64)
        bad = np.isinf(x) if x.ndim == 1 else np.isinf(x).any(axis=tuple(range(1, x.ndim)))
        if bad.any():
            count = int(bad.sum())
            raise DataError(
                lead + f"variable '{name}' has an infinite value (Inf or -Inf) in {count} "
                f"row{'s' if count > 1 else ''} of the model (lme4/nlme stop: NA/NaN/Inf in "
                "foreign function call); drop those rows, or set them to NaN to have na.omit "
                "drop them")


def is_factor_like(v: Value) -> bool:
    """Whether model.matrix codes this variable by contrasts or indicators."""
    return v.kind in (FAC, LGL, CHR)
