"""Checks of the public functions' arguments: a wrong type or value is reported at the entry
point, naming the argument, instead of failing deep inside (or, worse, being read as something
else: ``REML="FALSE"`` is a true string)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from lmepy.errors import close_matches


def _q(name: str) -> str:
    """An argument's name as messages show it: 'REML', control['start']."""
    return name if "[" in name else f"'{name}'"


def _what(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool; only True/False (numpy's included), as R's ``isTRUE``/``isFALSE``
    tests: a string such as "FALSE" is an error, not a true value."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{_q(name)} must be True or False, not {_what(value)}")


def check_int(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int in [lo, hi]; a float with an integer value is accepted (R's 1 is a
    double), a bool or a fraction is not."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{_q(name)} must be an integer, not {_what(value)}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)) \
            and float(value).is_integer():
        out = int(value)
    elif isinstance(value, numbers.Real):
        raise ValueError(f"{_q(name)} must be a whole number, not {value!r}")
    else:
        raise TypeError(f"{_q(name)} must be an integer, not {_what(value)}")
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        rng = (f"between {lo} and {hi}" if lo is not None and hi is not None
               else f">= {lo}" if lo is not None else f"<= {hi}")
        raise ValueError(f"{_q(name)} must be {rng}, not {out}")
    return out


def check_number(value: Any, name: str, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (``lo_open``: > lo)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_q(name)} must be a number, not {_what(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{_q(name)} must be finite, not {out!r}")
    if lo is not None and (out <= lo if lo_open else out < lo):
        raise ValueError(f"{_q(name)} must be {'>' if lo_open else '>='} {lo:g}, not {out:g}")
    if hi is not None and out > hi:
        raise ValueError(f"{_q(name)} must be <= {hi:g}, not {out:g}")
    return out


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` as one of ``choices`` (strings), with a did-you-mean."""
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{_q(name)} must be one of {', '.join(map(repr, choices))}, "
                        f"not {_what(value)}")
    if value not in choices:
        raise ValueError(f"{_q(name)} must be one of {', '.join(map(repr, choices))}, not "
                         f"{value!r}.{close_matches(value, choices)}".rstrip("."))
    return value


def check_str(value: Any, name: str, optional: bool = False) -> str | None:
    """A text argument (a formula, a column name); None when ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{_q(name)} must be a string, not {_what(value)}")
    return value
