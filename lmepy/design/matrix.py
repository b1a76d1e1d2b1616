"""R's ``model.matrix()``: columns, names, order and factor coding from the model terms.

A factor in a term is coded by contrasts when the term without it is already in the model
(or is empty, i.e. the intercept's place), otherwise by one indicator per level; without an
intercept, the first factor of the first term with a factor gets indicators. Interaction
columns vary the first variable fastest. All of this is R's ``model.c`` behaviour, which is
why ``~ recipe:temp`` and ``~ 0 + a:b`` give full dummy sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lmepy.errors import DataError, warn
from lmepy.formula.ir import Term

from .contrasts import contrast_matrix
from .frame import ModelFrame, matrix_column_name
from .limits import size_problem
from .values import FAC, LGL, MAT, NUM, Value


def factor_codes(terms: Sequence[Term], intercept: bool, frame: ModelFrame) -> list[dict[str, int]]:
    """R's ``factors`` attribute entries: for each term, 1 (contrasts) or 2 (indicators) per
    variable, after model.matrix's no-intercept adjustment."""
    sets = [frozenset(str(f) for f in t.factors) for t in terms]
    codes: list[dict[str, int]] = []
    for j, t in enumerate(terms):
        cj: dict[str, int] = {}
        for f in t.factors:
            key = str(f)
            rest = sets[j] - {key}
            cj[key] = 1 if (not rest or any(rest <= sets[k] for k in range(j))) else 2
        codes.append(cj)
    if not intercept:
        done = False
        for j, t in enumerate(terms):
            for f in t.factors:
                if frame[str(f)].kind in (FAC, LGL):
                    codes[j][str(f)] = 2
                    done = True
                    break
            if done:
                break
    return codes


def _variable_block(key: str, v: Value, code: int, contrasts: Mapping[str, object] | None
                    ) -> tuple[np.ndarray, list[str]]:
    """The columns one variable contributes to a term, and their name parts."""
    if v.kind == NUM:
        return v.data[:, None], [key]
    if v.kind == MAT:
        k = v.data.shape[1]
        return v.data, [matrix_column_name(key, v.colnames, j, k) for j in range(k)]
    codes, levels, ordered = v.factor_view()
    if code == 1:
        cm, cn = contrast_matrix(levels, ordered, (contrasts or {}).get(key))
    else:
        cm, cn = np.eye(len(levels)), list(levels)
    safe = np.where(codes < 0, 0, codes)
    block = cm[safe]
    if (codes < 0).any():
        block[codes < 0] = np.nan
    return block, [key + c for c in cn]


def _width(v: Value) -> int:
    """Columns a variable contributes to a term (a factor's levels: at most that many)."""
    if v.kind == NUM:
        return 1
    if v.kind == MAT:
        return int(v.data.shape[1])
    return len(v.factor_view()[1])


def _check_width(terms: Sequence[Term], alone: list[bool], intercept: bool,
                 frame: ModelFrame) -> None:
    """A DataError before building a model matrix too large to allocate (interactions of
    many-level factors multiply their columns): lmepy.design.limits."""
    total = float(intercept)
    for j, t in enumerate(terms):
        if alone[j]:
            continue
        width = float(np.prod([float(_width(frame[str(f)])) for f in t.factors]))
        total += width
        problem = size_problem(frame.n, total, f"the model matrix (at term '{t}')")
        if problem is not None:
            raise DataError(problem)


def design_matrix(
    terms: Sequence[Term],
    intercept: bool,
    frame: ModelFrame,
    contrasts: Mapping[str, object] | None = None,
    response: str | None = None,
) -> tuple[np.ndarray, list[str], list[int]]:
    """(X, column names, assign) as R's model.matrix() builds them from the frame. A
    term that is the ``response`` alone is dropped (no columns), as R does."""
    n = frame.n
    codes = factor_codes(terms, intercept, frame)
    # R drops a term that is the response alone (interactions with it stay)
    alone = [response is not None and [str(f) for f in t.factors] == [response] for t in terms]
    if any(alone):
        warn("the response appeared on the right-hand side and was dropped")
    _check_width(terms, alone, intercept, frame)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    assign: list[int] = []
    if intercept:
        blocks.append(np.ones((n, 1)))
        names.append("(Intercept)")
        assign.append(0)
    for j, t in enumerate(terms):
        mat: np.ndarray | None = None
        nm: list[str] = []
        for f in t.factors:
            key = str(f)
            if alone[j]:
                break
            b, bn = _variable_block(key, frame[key], codes[j][key], contrasts)
            if mat is None:
                mat, nm = b, bn
            else:
                # previous variables vary fastest: column index = jb * ncol(mat) + jm
                mat = (b[:, :, None] * mat[:, None, :]).reshape(n, b.shape[1] * mat.shape[1])
                nm = [f"{m}:{x}" for x in bn for m in nm]
        if mat is None:
            warn(f"problem with term {j + 1} in model.matrix: no columns are assigned")
            continue
        blocks.append(mat)
        names += nm
        assign += [j + 1] * len(nm)
    x = np.hstack(blocks) if blocks else np.zeros((n, 0))
    return np.ascontiguousarray(x, dtype=np.float64), names, assign
