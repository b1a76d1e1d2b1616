"""Exceptions and warnings, worded as lme4/nlme word them where a user would search that text."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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


class ConvergenceWarning(UserWarning):
    """The optimizer's result is genuinely in doubt."""


class SingularFitWarning(UserWarning):
    """lme4's "boundary (singular) fit: see help('isSingular')"."""


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    found = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    if not found:
        return ""
    return " Did you mean " + " or ".join(repr(f) for f in found) + "?"
