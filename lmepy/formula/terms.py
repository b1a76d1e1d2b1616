"""R's ``terms()`` of a formula, and lme4's ``nobars``/``findbars`` (with ``||`` and ``/``
expanded as lme4 1.1-31 does), on the expression tree.

Terms are encoded as bit sets over the formula's variables, as R's model.c does: the variable
order (order of first appearance, response first) fixes the order of variables inside a term
label, and terms are then stably sorted by their order (number of variables).
"""

from __future__ import annotations

from lmepy.errors import FormulaError
from lmepy.formula.ir import (
    PRECEDENCE,
    BinOp,
    Call,
    Expr,
    Formula,
    GroupTerm,
    Logical,
    ModelTerms,
    Name,
    Number,
    Paren,
    RandomTerm,
    String,
    Term,
    UnaryOp,
)
from lmepy.formula.parser import guarded, parse_formula, with_caret

_FORMULA_OPS = {"+", "-", "*", "/", ":", "%in%", "^"}
_BARS = {"|", "||"}


def _err(message: str, formula: Formula | None, node: Expr | None = None) -> FormulaError:
    """A FormulaError about ``node`` (the caret goes under it once the text is known)."""
    err = FormulaError(message, str(formula) if formula is not None else None)
    err.node = node  # type: ignore[attr-defined]
    return err


def _unit(e: Expr) -> float | None:
    """The value of a numeric/logical constant (R's isOne/isZero look through these)."""
    if isinstance(e, Number):
        return e.value
    if isinstance(e, Logical):
        return 1.0 if e.value else 0.0
    return None


class _Encoder:
    """R's ExtractVars + EncodeVars for one formula."""

    def __init__(self, source: Formula | None):
        self.vars: list[Expr] = []
        self.index: dict[Expr, int] = {}
        self.intercept = True
        self.parity = True
        self.source = source

    # -- variables -------------------------------------------------------------------------
    def install(self, e: Expr) -> int:
        i = self.index.get(e)
        if i is None:
            i = self.index[e] = len(self.vars)
            self.vars.append(e)
        return i

    def extract(self, e: Expr) -> None:
        if isinstance(e, Name):
            self.install(e)
        elif isinstance(e, (Number, Logical)):
            v = _unit(e)
            if v not in (0.0, 1.0):
                raise _err("invalid model formula in ExtractVars", self.source, e)
        elif isinstance(e, String):
            raise _err("invalid model formula in ExtractVars", self.source, e)
        elif isinstance(e, Paren):
            self.extract(e.body)
        elif isinstance(e, UnaryOp):
            if e.op in ("+", "-"):
                self.extract(e.operand)
            else:
                self.install(e)
        elif isinstance(e, BinOp):
            if e.op == "^":
                if _unit(e.right) is None:
                    raise _err("invalid power in formula", self.source, e.right)
                self.extract(e.left)
            elif e.op in _FORMULA_OPS:
                self.extract(e.left)
                self.extract(e.right)
            else:
                self.install(e)
        elif isinstance(e, Formula):
            raise _err("invalid model formula: a formula inside a formula", self.source, e)
        else:
            self.install(e)

    # -- terms as bit sets -----------------------------------------------------------------
    def encode(self, e: Expr) -> list[int]:
        v = _unit(e)
        if v is not None:
            if v == 1.0:
                self.intercept = self.parity
            elif v == 0.0:
                self.intercept = not self.parity
            else:
                raise _err("invalid model formula in EncodeVars", self.source, e)
            return []
        if isinstance(e, Paren):
            return self.encode(e.body)
        if isinstance(e, UnaryOp) and e.op == "+":
            return self.encode(e.operand)
        if isinstance(e, UnaryOp) and e.op == "-":
            return self._delete([], e.operand)
        if isinstance(e, BinOp) and e.op in _FORMULA_OPS:
            op = e.op
            if op == "-":
                return self._delete(self.encode(e.left), e.right)
            if op == "+":
                # a + b + c + ...: encode the summands left to right, trim once (TrimRepeats
                # is associative); linear in the number of terms, no deep recursion.
                summands: list[Expr] = []
                node: Expr = e
                while isinstance(node, BinOp) and node.op == "+":
                    summands.append(node.right)
                    node = node.left
                summands.append(node)
                out: list[int] = []
                for part in reversed(summands):
                    out.extend(self.encode(part))
                return _trim(out)
            left = self.encode(e.left)
            if op == "^":
                return self._power(left, e.right)
            right = self.encode(e.right)
            if op == ":":
                return _trim([a | b for a in left for b in right])
            if not left and op in ("*", "/"):
                # R's CrossTerms/NestTerms append to the left list in place, so an empty
                # left side (`0 * x`, `-a * x`, `1 / x`) yields no terms at all.
                return []
            if op == "*":
                return _trim(left + right + [a | b for a in left for b in right])
            if op == "%in%":
                allr = 0
                for b in right:
                    allr |= b
                return _trim([a | allr for a in left])
            # "/": the left side, then everything on the left nested with each right term
            alll = 0
            for a in left:
                alll |= a
            return _trim(left + [alll | b for b in right])
        return [1 << self.install(e)]

    def _delete(self, left: list[int], right_expr: Expr) -> list[int]:
        self.parity = not self.parity
        right = self.encode(right_expr)
        self.parity = not self.parity
        drop = set(right)
        return [t for t in left if t not in drop]

    def _power(self, left: list[int], power: Expr) -> list[int]:
        v = _unit(power)
        # R: asInteger() of the power; NA (infinite, too large) or below 2 is an error
        if v is None or not abs(v) < 2**31 or int(v) <= 1:
            raise _err("invalid power in formula", self.source, power)
        result = left
        for _ in range(int(v) - 1):
            nxt = _trim([a | b for a in left for b in result])
            if nxt == result:  # every interaction already present: higher powers add nothing
                break
            result = nxt
        return result


def _trim(terms: list[int]) -> list[int]:
    """Duplicates and empty terms removed, first appearance kept (R's TrimRepeats)."""
    return [t for t in dict.fromkeys(terms) if t]


def _bit_indices(b: int) -> list[int]:
    out = []
    while b:
        low = b & -b
        out.append(low.bit_length() - 1)
        b ^= low
    return out


def _is_offset(e: Expr) -> bool:
    return isinstance(e, Call) and e.func == "offset"


@guarded
def fixed_terms(formula: Formula, response: bool = True) -> ModelTerms:
    """R's ``terms()`` of a formula without random-effects terms (keep.order = FALSE)."""
    enc = _Encoder(formula)
    lhs = formula.lhs if response else None
    if lhs is not None:
        enc.install(lhs)
    enc.extract(formula.rhs)
    bits = enc.encode(formula.rhs)
    offset_bits = 0
    offsets: list[Expr] = []
    for i, v in enumerate(enc.vars):
        if _is_offset(v):
            offset_bits |= 1 << i
            offsets.append(v)
    bits = [b for b in bits if not b & offset_bits]
    bits.sort(key=lambda b: bin(b).count("1"))  # stable: ties keep their order
    terms = tuple(Term(tuple(enc.vars[i] for i in _bit_indices(b))) for b in bits)
    return ModelTerms(lhs, enc.intercept, terms, tuple(offsets), (), formula)


@guarded
def term_variables(formula: Formula) -> tuple[Expr, ...]:
    """R's ``attr(terms(f), "variables")``: response first, then the right-hand side's
    variables in order of first appearance (offset() calls included)."""
    enc = _Encoder(formula)
    if formula.lhs is not None:
        enc.install(formula.lhs)
    enc.extract(formula.rhs)
    return tuple(enc.vars)


def model_variables(mt: ModelTerms) -> tuple[Expr, ...]:
    """R's ``attr(terms(f), "variables")`` of the fixed part of `mt`: response first, then
    the variables in order of first appearance (``offset(...)`` calls included). Terms
    built by hand (no source formula) are read back from their R text."""
    f = mt.formula if mt.formula is not None else parse_formula(str(mt))
    return term_variables(nobars(f))


# ---------------------------------------------------------------------------------------------
# lme4: nobars / findbars


def _is_bar(e: Expr) -> bool:
    return isinstance(e, BinOp) and e.op in _BARS


def _any_bars(e: Expr) -> bool:
    if _is_bar(e):
        return True
    if isinstance(e, Paren):
        return _any_bars(e.body)
    if isinstance(e, UnaryOp):
        return _any_bars(e.operand)
    if isinstance(e, BinOp):
        return _any_bars(e.left) or _any_bars(e.right)
    if isinstance(e, Call):
        return any(_any_bars(a) for a in e.args) or any(_any_bars(v) for _, v in e.kwargs)
    return False


def _nobars(e: Expr, source: Formula | None) -> Expr | None:
    if not _any_bars(e):
        return e
    if _is_bar(e):
        return None
    if isinstance(e, Paren):
        body = _nobars(e.body, source)
        return None if body is None else Paren(body)
    if isinstance(e, UnaryOp):
        body = _nobars(e.operand, source)
        return None if body is None else UnaryOp(e.op, body)
    if isinstance(e, BinOp):
        left = _nobars(e.left, source)
        right = _nobars(e.right, source)
        if left is None:
            return right
        if right is None:
            return left
        return BinOp(e.op, left, right)
    assert isinstance(e, Call)
    raise _err(f"a random-effects term '(... | ...)' cannot be inside {e.func}()", source, e)


@guarded
def nobars(formula: Formula | str) -> Formula:
    """lme4's ``nobars()``: the formula without its random-effects terms (``y ~ 1`` when
    nothing is left)."""
    f = parse_formula(formula) if isinstance(formula, str) else formula
    rhs = _nobars(f.rhs, f)
    return Formula(f.lhs, rhs if rhs is not None else Number(1.0, "1"))


def _bin(op: str, left: Expr, right: Expr) -> BinOp:
    """A binary node with the parentheses R's deparse would print (left-associative ops)."""

    def prec(e: Expr) -> int | None:
        if isinstance(e, BinOp):
            return PRECEDENCE.get(e.op)
        if isinstance(e, Formula):
            return PRECEDENCE["~"]
        return None

    p = PRECEDENCE[op]
    lp, rp = prec(left), prec(right)
    if lp is not None and (lp < p or (op == "^" and lp == p)):
        left = Paren(left)
    if rp is not None and (rp < p or (op != "^" and rp == p)):
        right = Paren(right)
    return BinOp(op, left, right)


def _strip(e: Expr) -> Expr:
    while isinstance(e, Paren):
        e = e.body
    return e


def _group_factors(e: Expr) -> tuple[Expr, ...]:
    """The variables of a grouping interaction ``a:b:(c:d)``, parentheses looked through."""
    e = _strip(e)
    if isinstance(e, BinOp) and e.op == ":":
        return _group_factors(e.left) + _group_factors(e.right)
    return (e,)


def _has_slash(e: Expr) -> bool:
    if isinstance(e, BinOp):
        return e.op == "/" or _has_slash(e.left) or _has_slash(e.right)
    if isinstance(e, Paren):
        return _has_slash(e.body)
    if isinstance(e, UnaryOp):
        return _has_slash(e.operand)
    if isinstance(e, Call):
        return any(_has_slash(a) for a in e.args) or any(_has_slash(v) for _, v in e.kwargs)
    return False


def _slash_levels(e: Expr, source: Formula | None) -> list[Expr]:
    """``a/b/c`` -> [a, b, c] (outermost first); lme4's slashTerms."""
    if not _has_slash(e):
        return [e]
    if not (isinstance(e, BinOp) and e.op == "/"):
        raise _err("unparseable formula for grouping factor", source, e)
    return _slash_levels(e.left, source) + _slash_levels(e.right, source)


def expand_slash(group: Expr, source: Formula | None = None) -> list[Expr]:
    """lme4's expansion of a nested grouping ``a/b/c`` into the grouping expressions
    ``c:(b:a)``, ``b:a``, ``a`` (innermost first, as lme4 orders and names them)."""
    levels = _slash_levels(group, source)
    if len(levels) == 1:
        return levels
    if not isinstance(levels[0], Name):
        # lme4 1.1-31's makeInteraction takes a call apart as if it were a list of levels
        # (`g:h/k` -> groups `k:(g:`:`)`, ...), and lFormula then fails to evaluate them.
        raise _err(f"couldn't evaluate grouping factor {group}: lme4 nests with '/' only "
                   f"within a plain variable name, not {levels[0]} (write the interaction "
                   "out, e.g. (1 | a:b) + (1 | a:b:c))", source, group)
    out = [levels[0]]
    for lev in levels[1:]:
        out.insert(0, _bin(":", lev, out[0]))
    return out


def _group_term(e: Expr) -> GroupTerm:
    return GroupTerm(_group_factors(e), str(e))


def _lhs_terms(lhs: Expr, source: Formula | None) -> ModelTerms:
    f = Formula(None, lhs)
    if _any_bars(lhs):
        raise _err("invalid random-effects term: '|' inside its left-hand side", source, lhs)
    mt = fixed_terms(f)
    if mt.offsets:
        raise _err("offset() is not allowed in a random-effects term", source, lhs)
    return mt


def _label_expr(t: Term) -> Expr:
    e = t.factors[0]
    for f in t.factors[1:]:
        e = _bin(":", e, f)
    return e


def _bars(e: Expr, source: Formula | None) -> list[RandomTerm]:
    if isinstance(e, Paren):
        return _bars(e.body, source)
    if isinstance(e, BinOp) and e.op in _BARS:
        if e.op == "|":
            pieces = [(_lhs_terms(e.left, source), False)]
        else:
            # lme4 1.1-31 expandDoubleVerts: (1 | g) if the lhs has an intercept, then one
            # (0 + label | g) per term label of the lhs (factors are not split by level).
            lt = _lhs_terms(e.left, source)
            if not lt.terms:
                # lme4 1.1-31 pastes "0+" to an empty label list and fails to parse the result.
                raise _err(f"invalid formula: lme4 cannot expand ({e}): '||' needs "
                           f"variables on its left; write ({e.left} | {e.right})", source, e)
            pieces = []
            if lt.intercept:
                one = Number(1.0, "1")
                pieces.append((ModelTerms(None, True, (), formula=Formula(None, one)), True))
            for t in lt.terms:
                written = BinOp("+", Number(0.0, "0"), _label_expr(t))
                pieces.append((ModelTerms(None, False, (t,), formula=Formula(None, written)),
                               True))
        groups = expand_slash(e.right, source)
        return [RandomTerm(mt, _group_term(g), dbl) for mt, dbl in pieces for g in groups]
    if isinstance(e, UnaryOp):
        return _bars(e.operand, source)
    if isinstance(e, BinOp):
        return _bars(e.left, source) + _bars(e.right, source)
    if isinstance(e, Call) and _any_bars(e):
        raise _err(f"a random-effects term '(... | ...)' cannot be inside {e.func}()", source, e)
    return []


@guarded
def _expand_dv(e: Expr, source: Formula | None) -> Expr:
    if isinstance(e, BinOp) and e.op == "||":
        lt = _lhs_terms(e.left, source)
        if not lt.terms:
            raise _err(f"invalid formula: lme4 cannot expand ({e}): '||' needs "
                       f"variables on its left; write ({e.left} | {e.right})", source, e)
        lhs: list[Expr] = [Number(1.0, "1")] if lt.intercept else []
        lhs += [BinOp("+", Number(0.0, "0"), _label_expr(t)) for t in lt.terms]
        out: Expr = Paren(BinOp("|", lhs[0], e.right))
        for item in lhs[1:]:
            out = BinOp("+", out, Paren(BinOp("|", item, e.right)))
        return out
    if isinstance(e, Paren):
        return Paren(_expand_dv(e.body, source))
    if isinstance(e, UnaryOp):
        return UnaryOp(e.op, _expand_dv(e.operand, source))
    if isinstance(e, BinOp):
        return BinOp(e.op, _expand_dv(e.left, source), _expand_dv(e.right, source))
    return e


@guarded
def expand_double_verts(formula: Formula | str) -> Formula:
    """lme4 1.1-31's ``expandDoubleVerts()``: each ``(x + z || g)`` becomes
    ``((1 | g) + (0 + x | g) + (0 + z | g))``, as lme4 rewrites (and prints) the formula."""
    f = parse_formula(formula) if isinstance(formula, str) else formula
    return Formula(f.lhs, _expand_dv(f.rhs, f))


@guarded
def findbars(formula: Formula | str) -> tuple[RandomTerm, ...]:
    """lme4's ``findbars()`` (after ``expandDoubleVerts``): the random-effects terms, in
    formula order, with ``/`` in the grouping expanded as lme4 names the groups."""
    f = parse_formula(formula) if isinstance(formula, str) else formula
    return tuple(_bars(f.rhs, f))


@guarded
def model_terms(formula: Formula | str) -> ModelTerms:
    """R's ``terms()`` of the fixed part (lme4's ``nobars``) plus lme4's ``findbars``."""
    if isinstance(formula, str):
        f = parse_formula(formula)
        try:
            return model_terms(f)
        except FormulaError as err:
            if err.pos is not None:
                raise
            raise with_caret(err, formula) from None
    f = formula
    if not isinstance(f, Formula):
        raise FormulaError(f"model_terms() needs a formula, not {type(f).__name__}")
    random = tuple(_bars(f.rhs, f))
    fixed = fixed_terms(nobars(f))
    return ModelTerms(fixed.response, fixed.intercept, fixed.terms, fixed.offsets, random, f)
