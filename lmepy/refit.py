"""What R's ``update()`` needs from a fit: the call that made it. Every public entry point
(lmer, glmer, lme, gls, lm, glm) is wrapped by :func:`records_call`, which keeps the arguments
as given in a :class:`FitCall` on the fit (``fit.fit_call``); ``fit.update(...)`` (the
:class:`Updatable` mixin of every fit class) and ``lmepy.update(fit, ...)`` call the same
entry point again with the formula updated by R's formula algebra and the keyword overrides
in place of the recorded arguments. One mechanism for all fit kinds: the record holds the
entry point itself, so this module needs to know none of them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lmepy.callnames import caller_name
from lmepy.formula.update import update_formula

__all__ = ["FitCall", "Updatable", "records_call", "update"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FitCall:
    """R's ``fit$call``: the entry point and the arguments it was given (data by reference,
    as R keeps the name of the data; ``data_name`` resolved to the caller's name)."""

    fun: Callable[..., Any]
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return getattr(self.fun, "__name__", "fit")

    @property
    def formula_arg(self) -> str:
        """The formula's parameter: lmer's ``formula``, lme's ``fixed``, gls's ``model``."""
        return next(iter(inspect.signature(self.fun).parameters))

    def refit(self, formula: str | None = None, overrides: dict[str, Any] | None = None) -> Any:
        """Call the entry point again: the formula updated (R's ``update.formula``), each
        override replacing the recorded argument of that name."""
        overrides = dict(overrides or {})
        params = inspect.signature(self.fun).parameters
        bad = [k for k in overrides if k not in params]
        if bad:
            raise TypeError(
                f"update() got an unexpected keyword argument '{bad[0]}': {self.name}() takes "
                + ", ".join(repr(p) for p in params))
        fname = self.formula_arg
        if fname in overrides:  # nlme's update(fit, fixed = . ~ . - x): the same algebra
            if formula is not None:
                raise TypeError(f"update() got the formula twice: as 'formula' and '{fname}'")
            formula = overrides.pop(fname)
        args = dict(self.args)
        if formula is not None:
            if not isinstance(formula, str):
                raise TypeError(f"'formula' must be a formula string such as '. ~ . - x', "
                                f"not {type(formula).__name__}")
            args[fname] = str(update_formula(args[fname], formula))
        if "data" in overrides and "data_name" not in overrides:
            args.pop("data_name", None)  # named again from the caller's frame, as R would
        args.update(overrides)
        return self.fun(**args)


def records_call(fun: F) -> F:
    """Wrap a fitting entry point so that its fit remembers the call (``fit.fit_call``)."""
    sig = inspect.signature(fun)

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fit = fun(*args, **kwargs)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:  # pragma: no cover - fun itself has accepted these arguments
            return fit
        rec = dict(bound.arguments)
        if "data_name" in sig.parameters and rec.get("data_name") is None and "data" in rec:
            rec["data_name"] = caller_name(rec["data"])
        # the innermost entry point's call wins, as in lme4, where glmer(family = gaussian)
        # records the lmer() call it made
        if getattr(fit, "fit_call", None) is None:
            fit.fit_call = FitCall(wrapper, rec)
        return fit

    return wrapper  # type: ignore[return-value]


class Updatable:
    """The ``update()`` method every fit object has (R's ``update(fit, formula., ...)``)."""

    fit_call: FitCall | None = None

    def update(self, formula: str | None = None, **overrides: Any) -> Any:
        """Refit with ``formula`` (``". ~ . - Days"``: ``.`` is the old side) and any argument
        of the original call replaced (``REML=False``, ``data=other``, ``weights=...``)."""
        rec = self.fit_call
        if rec is None:
            raise ValueError("this fit does not record the call that made it (it was not "
                             "made by lmepy's lmer, glmer, lme, gls, lm or glm), so it "
                             "cannot be updated")
        return rec.refit(formula, overrides)


def update(fit: Any, formula: str | None = None, **overrides: Any) -> Any:
    """R's ``update(fit, formula., ...)``: the same model refitted with the formula updated by
    R's formula algebra and the given arguments replaced."""
    if not isinstance(fit, Updatable):
        raise TypeError(f"update() needs a fit made by lmepy (lmer, glmer, lme, gls, lm, glm),"
                        f" not {type(fit).__name__}")
    return fit.update(formula, **overrides)
