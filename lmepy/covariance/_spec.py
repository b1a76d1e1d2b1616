"""Reading nlme's `form = ~ covariate | group` and the text of a `corAR1(...)` call, without
ever evaluating the text: only names, numbers, `c(...)`, `fitted(.)` and TRUE/FALSE."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lmepy.errors import DataError, FormulaError, close_matches

_NAME = r"(?:`[^`]+`|[A-Za-z.][A-Za-z0-9._]*)"


@dataclass(frozen=True)
class Form:
    """`~ covariate | g1/g2`: covariate None means `~ 1`; "fitted(.)" is nlme's fitted values."""

    covariate: str | None = None
    groups: tuple[str, ...] = ()
    text: str = "~1"

    def __str__(self) -> str:
        cov = "1" if self.covariate is None else self.covariate
        return f"~{cov}" + (f" | {'/'.join(self.groups)}" if self.groups else "")


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith("`") else name


def parse_form(form: object, default: str = "~1") -> Form:
    """A Form from text such as "~ t | g", "~ 1 | Mare", "~ fitted(.)", "~ x", or from an object
    whose str() is such text (the formula IR prints back as R writes it)."""
    if form is None:
        form = default
    if isinstance(form, Form):
        return form
    text = str(form).strip()
    body = text
    if not body.startswith("~"):
        raise FormulaError("a form must be a one-sided formula such as ~ t | g", text, 0)
    body = body[1:]
    cov_text, bar, grp_text = body.partition("|")
    cov = cov_text.strip()
    covariate: str | None
    if cov in ("", "1"):
        covariate = None
    elif re.fullmatch(r"fitted\s*\(\s*\.\s*\)", cov):
        covariate = "fitted(.)"
    elif re.fullmatch(_NAME, cov):
        covariate = _unquote(cov)
    else:
        # an expression such as log(age) or I(t / 7): parsed (never evaluated as Python)
        # now, evaluated by the design stage's whitelisted evaluator when bound to data
        try:
            from lmepy.formula import parse_expr
            parse_expr(cov)
        except ImportError:  # pragma: no cover
            pass
        except FormulaError:
            pos = text.find(cov)
            raise FormulaError("the covariate of a form must be a variable, an expression of "
                               "variables, 1 or fitted(.)", text, pos, len(cov)) from None
        covariate = cov
    groups: tuple[str, ...] = ()
    if bar:
        parts = [p.strip() for p in grp_text.split("/")]
        for p in parts:
            if not re.fullmatch(_NAME, p):
                pos = text.find(p, text.find("|")) if p else text.find("|") + 1
                raise FormulaError("the grouping of a form must be variable names separated by /",
                                   text, max(pos, 0), max(len(p), 1))
        groups = tuple(_unquote(p) for p in parts)
    return Form(covariate, groups, text)


def column(data: pd.DataFrame, name: str, what: str) -> pd.Series:
    """A data column, or the value of an expression of columns (log(age), I(t / 7)) through
    the design stage's evaluator; DataError naming a missing column (with close names)."""
    if name in data.columns:
        from lmepy.design.values import datetime_days, is_datetime_column
        col = data[name]
        if is_datetime_column(col):  # R's Date: numeric days
            return pd.Series(datetime_days(col), index=data.index)
        return col
    if re.fullmatch(_NAME, name) or re.fullmatch(r"`[^`]+`", name):
        hint = close_matches(name, map(str, data.columns))
        raise DataError(f"object '{name}' not found ({what})" + hint)
    from lmepy.design.evaluate import Evaluator
    from lmepy.formula import parse_expr
    try:
        v = Evaluator(data, name).value(parse_expr(name))
    except FormulaError as e:  # an unknown variable inside the expression
        raise DataError(f"{e.message} ({what} {name})") from None
    arr = np.asarray(v.data, dtype=float)
    if arr.ndim != 1:
        raise DataError(f"{what} '{name}' must be a single numeric variable")
    return pd.Series(arr, index=data.index)


def numeric_column(data: pd.DataFrame, name: str, what: str, label: str) -> np.ndarray:
    """A structure's covariate as floats: the column (or expression) `name` as `column`
    reads it, numeric, with no missing or infinite value (else a DataError naming `label`,
    e.g. "variance covariate 'age'")."""
    from lmepy.design.frame import check_finite

    cov = np.asarray(pd.to_numeric(column(data, name, what), errors="coerce"), dtype=float)
    if np.isnan(cov).any():
        raise DataError(f"{label} '{name}' must be numeric without missing values")
    check_finite({name: cov})
    return cov


def group_codes(data: pd.DataFrame, groups: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Integer group codes in nlme's group order (factor levels; sorted values otherwise) and the
    group labels; nested groups g1/g2 are grouped by their combination, labelled "a/b"."""
    from lmepy.design.values import level_label, numeric_factor

    n = len(data)
    if not groups:
        return np.zeros(n, dtype=np.int64), ["1"]
    keys = []
    for g in groups:
        col = column(data, g, "grouping variable")
        if col.isna().any():
            raise DataError(f"missing values in grouping variable '{g}'")
        if isinstance(col.dtype, pd.CategoricalDtype):
            cat = col.cat.remove_unused_categories()
        elif pd.api.types.is_float_dtype(col.dtype):
            # R's factor() of a double: levels as.character() (15 digits), as the design stage
            f = numeric_factor(col.to_numpy())
            cat = pd.Series(pd.Categorical.from_codes(f.data, f.levels or []))
        else:
            cat = pd.Categorical(col.astype(str) if col.dtype == object else col)
            cat = pd.Series(cat)
            cat = cat.cat.remove_unused_categories()
        keys.append(cat)
    if len(keys) == 1:
        c = keys[0]
        return np.asarray(c.cat.codes, dtype=np.int64), [level_label(v) for v in c.cat.categories]
    frame = pd.DataFrame({i: np.asarray(k.cat.codes) for i, k in enumerate(keys)})
    tuples = list(frame.itertuples(index=False, name=None))
    uniq = sorted(set(tuples))
    index = {t: i for i, t in enumerate(uniq)}
    codes = np.array([index[t] for t in tuples], dtype=np.int64)
    labels = ["/".join(level_label(keys[j].cat.categories[t[j]]) for j in range(len(keys)))
              for t in uniq]
    return codes, labels
