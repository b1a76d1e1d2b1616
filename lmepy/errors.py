"""Exceptions and warnings, worded as lme4/nlme word them where a user would search that text.

Every warning lmepy emits goes through :func:`warn`, which attributes it to the caller's line
(the line of the user's script that called lmepy, not a line inside lmepy), and belongs to one
of the classes below, all exported as ``lmepy.<Name>`` so they can be filtered:

- ``LmepyWarning``: the base of all of them (a ``UserWarning``: filter every lmepy warning
  with it), and the class of lme4's and nlme's other warnings ("ignoring prior weights",
  "deviance undefined for REML fit", "non-integer x = ...", ...);
- ``ConvergenceWarning``: lme4's/nlme's convergence checks ("Model failed to converge ...",
  "Model is nearly unidentifiable: very large eigenvalue ...");
- ``SingularFitWarning``: "boundary (singular) fit: see help('isSingular')";
- ``RankDeficiencyWarning``: "fixed-effect model matrix is rank deficient so dropping ...";
- ``ScaleWarning``: "Some predictor variables are on very different scales: ...";
- ``RefitMLMessage``: anova's "refitting model(s) with ML (instead of REML)";
- ``EvaluationWarning``: R's warnings from a formula's calls ("NaNs produced" from ``log(x)``
  of a negative x, "NAs introduced by coercion"); also a ``RuntimeWarning``, as Python's own
  numeric warnings are.

lme4 gives some of these as messages (singular fit, rank deficiency, refit); Python has no
messages, so they are warnings here, of their own classes. Each condition warns once: an
internal refit or replicate runs inside :func:`quiet`.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from types import FrameType


class LmepyError(Exception):
    """Base class of lmepy's errors."""


class FormulaError(LmepyError, ValueError):
    """A formula that cannot be parsed or evaluated; shows the formula with a caret under the
    offending position."""

    def __init__(self, message: str, formula: str | None = None, pos: int | None = None,
                 length: int = 1):
        self.message = message
        self.formula = formula
        self.pos = pos
        text = message
        if formula is not None:
            text += "\n  " + formula
            if pos is not None:
                text += "\n  " + " " * pos + "^" * max(1, length)
        super().__init__(text)


class DataError(LmepyError, ValueError):
    """Data that cannot be used as the model asks (missing column, wrong type, too few rows)."""


class LmepyWarning(UserWarning):
    """Base class of lmepy's warnings (filter them all with this); also the class of lme4's
    and nlme's warnings that have no class of their own."""


class UnfittableError(LmepyError):
    """The data make the criterion overflow or lose all precision (a fit is never returned
    with a non-finite criterion or estimate)."""


class ConvergenceWarning(LmepyWarning):
    """The optimizer's result is genuinely in doubt."""


class SingularFitWarning(LmepyWarning):
    """lme4's "boundary (singular) fit: see help('isSingular')"."""


class RankDeficiencyWarning(LmepyWarning):
    """lme4's message that aliased fixed-effect columns were dropped."""


class ScaleWarning(LmepyWarning):
    """lme4's check.scaleX warning."""


class RefitMLMessage(LmepyWarning):
    """lme4's message that REML fits were refitted by ML before comparing them."""


class EvaluationWarning(LmepyWarning, RuntimeWarning):
    """R's warnings from evaluating a formula's calls ("NaNs produced", "NAs introduced by
    coercion", "'!' not meaningful for factors")."""


WARNING_CLASSES: tuple[type[Warning], ...] = (
    LmepyWarning, ConvergenceWarning, SingularFitWarning, RankDeficiencyWarning, ScaleWarning,
    RefitMLMessage, EvaluationWarning)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _inside_lmepy(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def _outermost_call(depth: int) -> tuple[FrameType | None, int]:
    """The frame that called the outermost lmepy frame on the stack (None when every frame is
    lmepy's), and its ``stacklevel`` counted from the frame ``depth`` levels up (1: this
    function's caller; when None: the outermost frame's)."""
    frame = sys._getframe(depth)
    level, target, found = 1, 1, None
    while frame is not None:
        if _inside_lmepy(frame.f_code.co_filename):
            target, found = level + 1, frame.f_back
        frame = frame.f_back
        level += 1
    return found, min(target, level - 1)


def user_frame() -> FrameType | None:
    """The user's frame: the one that called lmepy (the outermost lmepy frame on the stack),
    or None when no frame outside lmepy called it (a thread that runs lmepy's code)."""
    return _outermost_call(1)[0]


def user_stacklevel(depth: int = 1) -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` name the user's line (the frame that
    called the outermost lmepy frame on the stack) when called from the frame ``depth``
    levels up (1: this function's caller).

    The outermost, not the innermost: lmepy code that runs as a callback of scipy or nlopt
    (an objective function) has library frames between it and the user's call, and the
    warning still belongs to the user's call into lmepy. When no frame outside lmepy called
    it, the outermost frame is named.
    """
    return _outermost_call(depth + 1)[1]


def warn(message: str, category: type[Warning] = LmepyWarning) -> None:
    """Emit ``message`` as a ``category`` warning attributed to the user's line that called
    lmepy, so that Python's once-per-location filtering, ``-W error`` tracebacks and the
    printed ``file:line:`` point at the user's code. Every warning of lmepy goes through here.
    Nothing is emitted inside :func:`quiet`.
    """
    if _QUIET.get():
        return
    warnings.warn(message, category, stacklevel=user_stacklevel())


_QUIET: ContextVar[bool] = ContextVar("lmepy_quiet", default=False)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Drop lmepy's own warnings within, in this thread (or task) only: for internal refits
    whose conditions the user's fit has already reported (lme4's refitML checks nothing) and
    for replicates R runs silently. Unlike ``warnings.catch_warnings`` it leaves the
    process-wide filters alone, so fits in other threads still warn."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    found = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    if not found:
        return ""
    return " Did you mean " + " or ".join(repr(f) for f in found) + "?"
