"""What R's deparse(substitute(arg)) gives, for Python callers: the name the caller bound an
object to. lme4 prints it after `Data:` and `Weights:`, anova() as the row names of its table.
"""

from __future__ import annotations

import inspect
from typing import Any


def caller_names(objs: list[Any]) -> list[str | None]:
    """Each object's variable name in the first frame outside lmepy (None where not found)."""
    frame = inspect.currentframe()
    try:
        f = frame.f_back if frame is not None else None
        while f is not None and f.f_globals.get("__name__", "").startswith("lmepy"):
            f = f.f_back
        if f is None:
            return [None] * len(objs)
        out: list[str | None] = []
        for o in objs:
            found = None
            for scope in (f.f_locals, f.f_globals):
                found = next((k for k, v in scope.items() if v is o and not k.startswith("_")),
                             None)
                if found:
                    break
            out.append(found)
        return out
    finally:
        del frame


def caller_name(obj: Any, default: str = "data") -> str:
    """One object's variable name in the first frame outside lmepy, or ``default``."""
    return caller_names([obj])[0] or default
