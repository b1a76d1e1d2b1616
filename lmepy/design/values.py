"""Typed columns of a model frame, as R holds them: numeric vectors, numeric matrices (``poly``,
``scale``, ``cbind``), factors, logicals and character vectors, each with its missing values.

R decides how a variable enters the design by its type, so the evaluator keeps that type
instead of turning everything into floats early.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lmepy.errors import DataError
from lmepy.rtext.numbers import special_number_text

NUM, MAT, FAC, LGL, CHR = "numeric", "matrix", "factor", "logical", "character"


@dataclass(eq=False)
class Value:
    """One evaluated variable.

    * numeric: ``data`` float64 (N,) (or a 0-d scalar while evaluating), NaN is NA;
    * matrix: ``data`` float64 (N, k), ``colnames`` a list (entries may be "") or None;
    * factor: ``data`` int64 codes (N,), -1 is NA, ``levels`` in R's order, ``ordered``;
    * logical: ``data`` int8 (N,), 0/1, -1 is NA;
    * character: ``data`` object (N,) of str, None is NA.
    """

    kind: str
    data: np.ndarray
    levels: list[str] | None = None
    ordered: bool = False
    colnames: list[str] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # poly coefs, scale center/scale

    @property
    def is_scalar(self) -> bool:
        return self.data.ndim == 0

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def na_mask(self) -> np.ndarray:
        """True where R's is.na() is TRUE (any column, for a matrix)."""
        if self.kind == NUM:
            return np.isnan(self.data)
        if self.kind == MAT:
            return np.isnan(self.data).any(axis=1)
        if self.kind in (FAC, LGL):
            return self.data < 0
        return np.array([v is None for v in self.data], dtype=bool)

    def take(self, idx: np.ndarray) -> Value:
        """Rows ``idx`` (positions), keeping levels and attributes."""
        if self.is_scalar:
            return self
        return Value(self.kind, self.data[idx], self.levels, self.ordered, self.colnames,
                     self.attrs)

    def as_factor(self) -> Value:
        """R's ``factor(x)``: levels are the sorted distinct non-missing values."""
        if self.kind == FAC:
            return drop_unused(self)
        if self.kind == LGL:
            present = [lv for lv in (0, 1) if np.any(self.data == lv)]
            remap = np.full(2, -1, dtype=np.int64)
            remap[present] = np.arange(len(present))
            codes = np.where(self.data < 0, -1, remap[np.clip(self.data, 0, 1)])
            return Value(FAC, codes.astype(np.int64), [["FALSE", "TRUE"][p] for p in present])
        if self.kind == CHR:
            return factor_from_strings(self.data)
        if self.kind == NUM:
            return numeric_factor(np.broadcast_to(self.data, self.data.shape))
        raise DataError("a matrix cannot be turned into a factor")

    def factor_view(self) -> tuple[np.ndarray, list[str], bool]:
        """(codes, levels, ordered) of a variable model.matrix codes as a factor: factors as
        they are, logicals with levels FALSE, TRUE, character vectors via factor()."""
        if self.kind == FAC:
            return self.data, list(self.levels or []), self.ordered
        if self.kind == LGL:
            return self.data.astype(np.int64), ["FALSE", "TRUE"], False
        if self.kind == CHR:
            f = factor_from_strings(self.data)
            return f.data, list(f.levels or []), False
        raise TypeError(self.kind)

    @property
    def is_factor_like(self) -> bool:
        return self.kind in (FAC, LGL, CHR)


def drop_unused(v: Value) -> Value:
    """R's ``x[, drop = TRUE]`` of a factor: unused levels go, order and orderedness stay."""
    if v.kind != FAC:
        return v
    nl = len(v.levels or [])
    used = np.zeros(nl, dtype=bool)
    codes = v.data
    used[codes[codes >= 0]] = True
    if used.all():
        return v
    remap = np.full(nl, -1, dtype=np.int64)
    remap[used] = np.arange(int(used.sum()))
    new = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    levels = [lv for lv, u in zip(v.levels or [], used, strict=True) if u]
    return Value(FAC, new.astype(np.int64), levels, v.ordered)


# --------------------------------------------------------------------------------------------
# R's text forms of numbers and R's (ICU root) string order.


def r_num_str(v: float) -> str:
    """``as.character()`` of a double: 15 significant digits, fixed or scientific, whichever R
    picks (the shorter, fixed on ties)."""
    special = special_number_text(v)
    if special is not None:
        return special
    mant, exp = f"{v:.14e}".split("e")
    e = int(exp)
    neg = mant.startswith("-")
    digits = mant.lstrip("-").replace(".", "").rstrip("0") or "0"
    sign = "-" if neg else ""
    sci = sign + digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sci += "e" + ("-" if e < 0 else "+") + f"{abs(e):02d}"
    if e >= 0:
        if len(digits) <= e + 1:
            fixed = digits + "0" * (e + 1 - len(digits))
        else:
            fixed = digits[: e + 1] + "." + digits[e + 1:]
    else:
        fixed = "0." + "0" * (-e - 1) + digits
    fixed = sign + fixed
    return fixed if len(fixed) <= len(sci) else sci


# ICU root collation of ASCII non-alphanumerics (as R's sort() orders them here).
_PUNCT_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PUNCT_RANK = {c: i for i, c in enumerate(_PUNCT_ORDER)}


def _collate_key(s: str) -> tuple:
    primary: list[tuple[int, Any]] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in s:
        base = unicodedata.normalize("NFD", ch)
        b = base[0]
        accents = len(base) - 1
        if b.isdigit():
            primary.append((2, int(b) if b.isascii() else ord(b)))
        elif b.isalpha():
            primary.append((3, b.casefold()))
        elif b in _PUNCT_RANK:
            primary.append((1, _PUNCT_RANK[b]))
        elif b.isspace():
            primary.append((0, ord(b)))
        else:
            primary.append((1, 1000 + ord(b)))
        secondary.append(accents)
        tertiary.append(1 if b.isupper() else 0)
    return (tuple(primary), tuple(secondary), tuple(tertiary), s)


def r_sort_strings(values: list[str]) -> list[str]:
    """Sort as R's ``sort()`` does for character vectors here (ICU root collation: case and
    accents only break ties, lower case first)."""
    return sorted(values, key=_collate_key)


def numeric_factor(x: np.ndarray) -> Value:
    """R's ``factor()`` of a double vector: levels are ``as.character()`` of the sorted distinct
    values (15 significant digits), so values that differ only beyond the 15th digit
    (``0.1 + 0.2`` and ``0.3``) are one level, as in R. NaN is NA."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    ok = ~np.isnan(x)
    uniq, inv = np.unique(x[ok], return_inverse=True)
    labels = [r_num_str(float(u)) for u in uniq]
    levels = list(dict.fromkeys(labels))
    pos = {lv: i for i, lv in enumerate(levels)}
    level_of = np.array([pos[lb] for lb in labels], dtype=np.int64)
    codes = np.full(x.shape[0], -1, dtype=np.int64)
    codes[ok] = level_of[inv] if len(level_of) else inv
    return Value(FAC, codes, levels)


def merge_levels(codes: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes and levels with equal labels merged (first one's place kept): a Categorical of
    floats whose categories print alike is one level in R."""
    levels = list(dict.fromkeys(labels))
    if len(levels) == len(labels):
        return codes, labels
    pos = {lv: i for i, lv in enumerate(levels)}
    remap = np.array([pos[lb] for lb in labels], dtype=np.int64)
    return np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int64), levels


def factor_from_strings(data: np.ndarray) -> Value:
    """``factor()`` of a character vector (None is NA)."""
    ser = pd.Series(data, dtype=object)
    codes_u, uniq = pd.factorize(ser, use_na_sentinel=True)
    uniq_list = [str(u) for u in uniq]
    order = r_sort_strings(uniq_list)
    pos = {s: i for i, s in enumerate(order)}
    remap = np.array([pos[s] for s in uniq_list], dtype=np.int64)
    codes = np.where(codes_u >= 0, remap[np.maximum(codes_u, 0)] if len(remap) else -1, -1)
    return Value(FAC, codes.astype(np.int64), order)


# --------------------------------------------------------------------------------------------
# pandas columns -> Values


def level_label(x: Any) -> str:
    """R's ``as.character()`` of one value, as a factor level: TRUE/FALSE, integers plain,
    doubles with 15 significant digits (so 1.0 is "1" and 0.1 + 0.2 is "0.3")."""
    if isinstance(x, bool | np.bool_):
        return "TRUE" if x else "FALSE"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        return r_num_str(float(x))
    return str(x)


def is_datetime_column(col: pd.Series) -> bool:
    """datetime64 (naive or with a time zone), or objects that are all dates/datetimes."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return True
    if col.dtype == object:
        non_na = col.dropna()
        return len(non_na) > 0 and all(isinstance(v, datetime.date) for v in non_na)
    return False


def datetime_days(col: pd.Series) -> np.ndarray:
    """Dates as R's Date holds them: days since 1970-01-01 as doubles (a time of day is a
    fraction of a day; time-zone-aware values are taken in UTC); NaT is NA."""
    s = pd.to_datetime(col)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    days = (s - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return days.to_numpy(dtype=np.float64, na_value=np.nan)


def column_value(col: pd.Series, name: str) -> Value:
    """A data-frame column as R would see it after ``data.frame()``: Categorical -> factor,
    bool -> logical, numbers -> numeric, strings -> character."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(col.array.codes, dtype=np.int64)
        cats = dtype.categories
        # string levels are their own labels: skip the per-level call (thousands of levels)
        if cats.inferred_type == "string":
            labels = list(map(str, np.asarray(cats, dtype=object)))
        else:
            labels = [level_label(c) for c in np.asarray(cats, dtype=object)]
        codes, levels = merge_levels(codes, labels)
        return Value(FAC, codes, levels, bool(dtype.ordered))
    if pd.api.types.is_bool_dtype(dtype):
        arr = col.to_numpy(dtype=object, na_value=None)
        data = np.array([-1 if v is None else int(bool(v)) for v in arr], dtype=np.int8) \
            if col.hasnans else col.to_numpy(dtype=bool).astype(np.int8)
        return Value(LGL, data)
    if is_datetime_column(col):
        return Value(NUM, datetime_days(col))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return Value(NUM, col.to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        arr = col.to_numpy(dtype=object)
        mask = pd.isna(col).to_numpy()
        non_na = arr[~mask]
        if len(non_na) and all(isinstance(v, bool | np.bool_) for v in non_na):
            data = np.where(mask, -1, np.array([bool(v) if not m else False
                                                 for v, m in zip(arr, mask, strict=True)]))
            return Value(LGL, data.astype(np.int8))
        if len(non_na) and all(isinstance(v, int | float | np.integer | np.floating)
                               and not isinstance(v, bool | np.bool_) for v in non_na):
            out = np.full(len(arr), np.nan)
            out[~mask] = non_na.astype(np.float64)
            return Value(NUM, out)
        data = np.array([None if m else level_label(v) for v, m in zip(arr, mask, strict=True)],
                        dtype=object)
        return Value(CHR, data)
    hint = ""
    if pd.api.types.is_timedelta64_dtype(dtype):
        hint = ": convert it to numbers, e.g. df[col].dt.total_seconds() / 86400 for days"
    raise DataError(f"column '{name}' has a type lmepy cannot use in a model ({dtype}){hint}")
