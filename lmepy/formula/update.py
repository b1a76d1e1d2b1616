"""R's ``update.formula()``: ``.`` in the new formula stands for the old side, and the result
is simplified as R's ``terms.formula(simplify = TRUE)`` does (term labels in R's order, ``|``
terms in parentheses, offsets kept, ``- 1`` for a dropped intercept). IR in, IR out: the
result is new formula text parsed by lmepy's grammar, never evaluated."""

from __future__ import annotations

from lmepy.formula.ir import BinOp, Call, Expr, Formula, Name, Paren, UnaryOp
from lmepy.formula.parser import parse_formula
from lmepy.formula.terms import fixed_terms

__all__ = ["update_formula"]

_DOT = Name(".")


def _substitute(e: Expr, old: Expr | None, paren: bool) -> Expr:
    """``e`` with every ``.`` replaced by ``old`` (in parentheses on a right-hand side, as R's
    C_updateform does, so that ``. : x`` distributes over the old terms)."""
    if old is None:
        return e
    if e == _DOT:
        return Paren(old) if paren else old
    if isinstance(e, BinOp):
        return BinOp(e.op, _substitute(e.left, old, paren), _substitute(e.right, old, paren))
    if isinstance(e, UnaryOp):
        return UnaryOp(e.op, _substitute(e.operand, old, paren))
    if isinstance(e, Paren):
        return Paren(_substitute(e.body, old, paren))
    if isinstance(e, Call):
        return Call(e.func, tuple(_substitute(a, old, paren) for a in e.args),
                    tuple((k, _substitute(v, old, paren)) for k, v in e.kwargs))
    return e


def _as_formula(f: Formula | str, what: str) -> Formula:
    if isinstance(f, Formula):
        return f
    if not isinstance(f, str):
        raise TypeError(f"'{what}' must be a formula string, not {type(f).__name__}")
    return parse_formula(f)


def update_formula(old: Formula | str, new: Formula | str) -> Formula:
    """R's ``update(old, new)`` of two formulas: ``update("y ~ a + b", ". ~ . - b")`` is
    ``y ~ a``; a term that is not in the model is silently ignored, as in R."""
    old_f, new_f = _as_formula(old, "old"), _as_formula(new, "formula")
    lhs = old_f.lhs if new_f.lhs is None else _substitute(new_f.lhs, old_f.lhs, False)
    rhs = _substitute(new_f.rhs, old_f.rhs, True)
    # R's fixFormulaObject: rebuild the right-hand side from terms(); a `|` in a label (an
    # lme4 random term) gets its parentheses back, offsets follow the terms.
    mt = fixed_terms(Formula(lhs, rhs), response=lhs is not None)
    labels = [f"({t.label})" if "|" in t.label else t.label for t in mt.terms]
    labels += [str(o) for o in mt.offsets]
    text = " + ".join(labels) if labels else "1"
    if not mt.intercept:
        text += " - 1"
    return parse_formula(f"{lhs} ~ {text}" if lhs is not None else f"~{text}")
