"""Checks of the public functions' arguments: a wrong type or value is reported at the entry
point, naming the argument, instead of failing deep inside (or, worse, being read as something
else: ``REML="FALSE"`` is a true string)."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from lmepy.errors import close_matches

F = TypeVar("F", bound=Callable[..., Any])


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


# ---- checks by argument name, for the fit methods ------------------------------------------
def level_arg(value: Any, name: str) -> float:
    """A confidence level: a number strictly between 0 and 1."""
    out = check_number(value, name)
    if not 0.0 < out < 1.0:
        raise ValueError(f"{_q(name)} must be between 0 and 1 (a confidence level such as "
                         f"0.95), not {out:g}")
    return out


def nsim_arg(value: Any, name: str) -> int:
    """A number of simulations: a positive integer."""
    return check_int(value, name, lo=1)


def seed_arg(value: Any, name: str) -> int | None:
    """A random seed: None or a non-negative integer (numpy's SeedSequence)."""
    return None if value is None else check_int(value, name, lo=0)


def bool_arg(value: Any, name: str) -> bool:
    return check_bool(value, name)


def optional_bool_arg(value: Any, name: str) -> bool | None:
    return None if value is None else check_bool(value, name)


def optional_str_arg(value: Any, name: str) -> str | None:
    return check_str(value, name, optional=True)


def parm_arg(value: Any, name: str) -> Any:
    """Parameter names: None, one name, or a list of names."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"{_q(name)} must be a parameter name or a list of names, not "
                    f"{_what(value)}")


def fits_arg(value: Any, name: str) -> tuple:
    """Other fitted models (``*others`` of anova): each must be a fit."""
    for i, v in enumerate(value):
        if not callable(getattr(v, "logLik", None)):
            raise TypeError(f"anova() compares fitted models; argument {i + 2} is "
                            f"{_what(v)}")
    return value


def checked(**checks: Callable[[Any, str], Any]) -> Callable[[F], F]:
    """Decorate a public function or method: each named argument, when given (also through
    ``**kwargs``), passes its check (which may normalize it) before the body runs. One place
    states what an argument may be, instead of a TypeError from deep inside."""
    def deco(fn: F) -> F:
        sig = inspect.signature(fn)
        var_kw = next((p.name for p in sig.parameters.values()
                       if p.kind is inspect.Parameter.VAR_KEYWORD), None)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            got = bound.arguments
            extra = got.get(var_kw, {}) if var_kw else {}
            for name, check in checks.items():
                if name in got:
                    got[name] = check(got[name], name)
                elif name in extra:
                    extra[name] = check(extra[name], name)
            return fn(*bound.args, **bound.kwargs)
        return wrapper  # type: ignore[return-value]
    return deco


def level_index_arg(value: Any, name: str) -> int | None:
    """nlme's grouping level of predict(): None or a non-negative integer (the upper bound,
    the number of levels, is the fit's to check)."""
    return None if value is None else check_int(value, name, lo=0)


def re_form_arg(value: Any, name: str) -> Any:
    """lme4's re.form: None (all random effects), a formula text, or NaN (R's NA: none)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return value
    raise TypeError(f"{_q(name)} must be None, a formula such as \"~0\" or \"~(1 | g)\", or "
                    f"NaN (R's NA), not {_what(value)}")
