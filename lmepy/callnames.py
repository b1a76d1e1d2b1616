"""What R's deparse(substitute(arg)) gives, for Python callers: the name the caller bound an
object to. lme4 prints it after `Data:` and `Weights:`, anova() as the row names of its table.
"""

from __future__ import annotations

from typing import Any

from lmepy.errors import user_frame


def caller_names(objs: list[Any]) -> list[str | None]:
    """Each object's variable name in the user's frame, the one that called lmepy (as warnings
    name its line: lmepy.errors.user_frame), None where not found."""
    f = user_frame()
    try:
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
        del f


def caller_name(obj: Any, default: str = "data") -> str:
    """One object's variable name in the user's frame (see caller_names), or ``default``."""
    return caller_names([obj])[0] or default
