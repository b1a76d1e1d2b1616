"""One rule for every fitter: a fit whose criterion or estimates are not finite is an error,
never returned (lme4 stops there too: "Downdated VtV is not positive definite", "PIRLS step
failed"); a linear-algebra failure inside the fit says what to do instead of leaking numpy's
LinAlgError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from lmepy.errors import UnfittableError

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
