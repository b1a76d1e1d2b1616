"""One rule for every fitter: a fit whose criterion or estimates are not finite is an error,
never returned (lme4 stops there too: "Downdated VtV is not positive definite", "PIRLS step
failed"); a linear-algebra failure inside the fit says what to do instead of leaking numpy's
LinAlgError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from lmepy.errors import DataError, UnfittableError

UNFITTABLE = ("the model cannot be fitted: the {what} is not finite (lme4: Downdated VtV is "
              "not positive definite; nlme: NA/NaN/Inf in foreign function call). Are weights, "
              "response or covariates so large or small that their squares overflow double "
              "precision? Rescale them.")


@contextmanager
def fit_guard(what: str = "deviance") -> Iterator[None]:
    """Turn numpy/scipy linear-algebra failures during a fit into UnfittableError."""
    try:
        yield
    except np.linalg.LinAlgError:
        raise UnfittableError(UNFITTABLE.format(what=what)) from None


def require_finite(what: str = "deviance", **values: object) -> None:
    """UnfittableError unless every value (numbers or arrays) is finite."""
    for v in values.values():
        arr = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(arr)):
            raise UnfittableError(UNFITTABLE.format(what=what))


def check_parameter_count(n_struct: int, p: int, N: int, parts: dict[str, int]) -> None:
    """More parameters than observations cannot be estimated; with corSymm on long groups
    (Ovary: 31 times, 465 correlations for 308 rows) nlme's optimizer runs to its iteration
    limit and stops with an error after many seconds, lmepy's for many minutes. Say so at
    once, naming the structures and their parameter counts."""
    total = n_struct + p + 1
    if total > N:
        detail = ", ".join(f"{k}: {v}" for k, v in parts.items() if v)
        raise DataError(f"the model has {total} parameters ({detail}, {p} fixed effects and "
                        f"sigma) for {N} observations: more parameters than observations "
                        "cannot be estimated")
