"""performance's ``r2_nakagawa`` and ``icc`` (performance 0.10.2) on lmer and glmer fits.

With the variance components of :mod:`lmepy.postfit.variance` (f fixed, r random,
e residual = distribution-specific):

* marginal R² = f / (f + r + e), conditional R² = (f + r) / (f + r + e);
* adjusted ICC = r / (r + e), unadjusted ICC = r / (f + r + e).

A singular fit (a variance parameter on its boundary below ``tolerance``) has no random
variance: performance then warns, gives a conditional R² of NA and a marginal R² without the
random effects, and an ICC of NA; so does lmepy (NaN, and ``icc`` returns None as R's NA).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from lmepy.errors import warn
from lmepy.postfit.variance import SINGULAR_WARNING, get_variance

__all__ = ["ICC", "R2Nakagawa", "icc", "r2_nakagawa"]


def _fmt(x: float, digits: int) -> str:
    """R's ``sprintf("%.*f", digits, x)``, NA for a missing value."""
    return "NA" if x is None or math.isnan(x) else f"{x:.{digits}f}"


class _Result(Mapping):
    """A read-only mapping under performance's names that prints as performance prints."""

    _title = ""
    _labels: tuple[tuple[str, str], ...] = ()

    def __init__(self, values: dict[str, float]):
        self._values = dict(values)

    def __getitem__(self, key: str) -> float:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def format(self, digits: int = 3) -> str:
        """``print(x, digits)``'s text."""
        lines = [self._title, ""]
        lines += [f"{label}: {_fmt(self._values[key], digits)}" for key, label in self._labels]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.format()[:-1]

    __repr__ = __str__


class R2Nakagawa(_Result):
    """``r2_nakagawa(fit)``: keys ``R2_conditional`` and ``R2_marginal``."""

    _title = "# R2 for Mixed Models"
    _labels = (("R2_conditional", "  Conditional R2"), ("R2_marginal", "     Marginal R2"))


class ICC(_Result):
    """``icc(fit)``: keys ``ICC_adjusted``, ``ICC_conditional`` and ``ICC_unadjusted``
    (conditional equals unadjusted, as in performance 0.10.2)."""

    _title = "# Intraclass Correlation Coefficient"
    _labels = (("ICC_adjusted", "    Adjusted ICC"), ("ICC_unadjusted", "  Unadjusted ICC"))


def r2_nakagawa(fit: Any, tolerance: float = 1e-5) -> R2Nakagawa:
    """Nakagawa's marginal and conditional R² of a mixed model: how much variance the fixed
    effects, and the fixed and random effects together, explain.

    Parameters
    ----------
    fit : LmerMod, GlmerMod or LmeFit
        A fitted lmer; glmer with binomial (logit, probit, cloglog) or poisson (log)
        family; or nlme's lme with one level of random effects and no correlation or
        variance structure.
    tolerance : float
        Singularity tolerance (performance's ``tolerance``): below it the random variance
        is not computed and the conditional R² is NaN, with performance's warning.

    Returns
    -------
    R2Nakagawa
        A mapping with ``R2_conditional`` and ``R2_marginal``; ``str()`` is
        performance's printed text.

    R equivalent
    ------------
    ``performance::r2_nakagawa(fit)``
    """
    f, r, e = _variances(fit, tolerance)
    if math.isnan(r):
        warn("Random effect variances not available. Returned R2 does not account for random "
             "effects.")
        return R2Nakagawa({"R2_conditional": math.nan, "R2_marginal": f / (f + e)})
    total = f + r + e
    return R2Nakagawa({"R2_conditional": (f + r) / total, "R2_marginal": f / total})


def icc(fit: Any, tolerance: float = 1e-5) -> ICC | None:
    """The intraclass correlation coefficient of a mixed model: the share of the variance
    that the grouping structure explains, adjusted (random over random plus residual) and
    unadjusted (the fixed-effects variance added to the denominator).

    Parameters
    ----------
    fit : LmerMod, GlmerMod or LmeFit
        The fits :func:`r2_nakagawa` takes.
    tolerance : float
        Singularity tolerance, as in :func:`r2_nakagawa`.

    Returns
    -------
    ICC or None
        A mapping with ``ICC_adjusted``, ``ICC_conditional`` and ``ICC_unadjusted``;
        ``str()`` is performance's printed text. None (R's NA) for a singular fit, with
        performance's warning.

    R equivalent
    ------------
    ``performance::icc(fit)``
    """
    f, r, e = _variances(fit, tolerance)
    if math.isnan(r):
        return None
    unadj = r / (f + r + e)
    return ICC({"ICC_adjusted": r / (r + e), "ICC_conditional": unadj, "ICC_unadjusted": unadj})


def _variances(fit: Any, tolerance: float) -> tuple[float, float, float]:
    """The fixed, random and residual variances; the random one is NaN for a singular fit,
    with performance's warning."""
    v = get_variance(fit, tolerance)
    f, r, e = v["var.fixed"], v["var.random"], v["var.residual"]
    if math.isnan(r):
        warn(SINGULAR_WARNING)
    return f, r, e
