"""R's contrast matrices (levels x columns) and their column names.

``contr.treatment`` codes unordered factors and ``contr.poly`` ordered ones, as R's default
``options(contrasts = c("contr.treatment", "contr.poly"))``.
"""

from __future__ import annotations

import numpy as np

from lmepy.errors import DataError


def contr_treatment(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Dummy columns for every level but the first."""
    n = len(levels)
    return np.eye(n)[:, 1:], list(levels[1:])


def contr_poly(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Orthonormal polynomials in the scores 1..n (R's ``contr.poly``): linear, quadratic, ..."""
    n = len(levels)
    scores = np.arange(1, n + 1, dtype=np.float64)
    y = scores - scores.mean()
    x = y[:, None] ** np.arange(n)[None, :]
    q, r = np.linalg.qr(x)
    raw = q * np.diag(r)[None, :]
    z = raw / np.sqrt((raw ** 2).sum(axis=0))[None, :]
    names = [".L", ".Q", ".C"] + [f"^{i}" for i in range(4, n)]
    return z[:, 1:], names[: n - 1]


def contr_sum(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Deviation coding: the last level gets -1 in every column; columns are unnamed in R."""
    n = len(levels)
    m = np.vstack([np.eye(n - 1), -np.ones((1, n - 1))])
    return m, [str(i) for i in range(1, n)]


def contr_helmert(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each level against the mean of the preceding ones; columns unnamed in R."""
    n = len(levels)
    m = np.zeros((n, n - 1))
    for j in range(1, n):
        m[:j, j - 1] = -1.0
        m[j, j - 1] = float(j)
    return m, [str(i) for i in range(1, n)]


def contr_SAS(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Treatment coding with the last level as the baseline."""
    n = len(levels)
    return np.eye(n)[:, :-1], list(levels[:-1])


CONTRASTS = {
    "contr.treatment": contr_treatment,
    "contr.poly": contr_poly,
    "contr.sum": contr_sum,
    "contr.helmert": contr_helmert,
    "contr.SAS": contr_SAS,
}


def contrast_matrix(levels: list[str], ordered: bool, spec: object = None
                    ) -> tuple[np.ndarray, list[str]]:
    """The contrast matrix R uses for a factor with these levels: ``spec`` (a contr.* name or
    a levels x k array) if given, else R's default for its (un)orderedness."""
    if len(levels) < 2:
        raise DataError("contrasts can be applied only to factors with 2 or more levels")
    if spec is None:
        spec = "contr.poly" if ordered else "contr.treatment"
    if isinstance(spec, str):
        fn = CONTRASTS.get(spec)
        if fn is None:
            raise DataError(f"unknown contrasts '{spec}'; use one of {', '.join(CONTRASTS)}")
        return fn(levels)
    m = np.asarray(spec, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != len(levels):
        raise DataError(f"wrong number of contrast matrix rows (needs {len(levels)})")
    return m, [str(i) for i in range(1, m.shape[1] + 1)]
