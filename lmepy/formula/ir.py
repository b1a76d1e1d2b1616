"""The formula IR: frozen dataclasses that know nothing of data and print back as R deparses.

Two layers:

* the *expression tree* (``Expr`` subclasses) is exactly what the user wrote, parentheses
  included, so that ``str(node)`` is R's ``deparse()`` of it (R prints the formula in
  ``summary()`` that way: ``Reaction ~ Days + (Days | Subject)``);
* the *model terms* (``Term``, ``RandomTerm``, ``ModelTerms``) are R's ``terms()`` of it:
  the expanded, ordered term list that the design stage turns into columns.

Formula operators (``+ - * / : ^ %in% | || ~``) and arithmetic (inside ``I()`` and function
arguments) share one node type, ``BinOp``; which meaning applies depends on context, as in R.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# R's syntactic names (in a UTF-8 locale letters need not be ASCII): a letter, or a dot not
# followed by a digit, then letters, digits, dots and underscores.
_SYNTACTIC = re.compile(r"^(?:[^\W\d_]|\.(?![0-9]))[\w.]*\Z")
_RESERVED = {
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
    "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
}

# R's deparse spacing: these binary operators print with spaces around them, the rest without.
_SPACED = {"+", "-", "*", "|", "||", "~", "%in%", "==", "!=", "<", ">", "<=", ">=", "&", "&&"}
# Precedence, higher binds tighter (R's ?Syntax). Used to print the minimal parentheses for
# trees built programmatically; parsed trees keep their own Paren nodes.
PRECEDENCE = {
    "~": 1, "||": 2, "|": 2, "&&": 3, "&": 3, "==": 4, "!=": 4, "<": 4, ">": 4, "<=": 4,
    ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%in%": 7, ":": 8, "^": 10,
}


def r_name(name: str) -> str:
    """A variable name as R deparses it: backquoted unless syntactic."""
    if _SYNTACTIC.match(name) and name not in _RESERVED:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class Expr:
    """Base class of expression nodes."""

    def variables(self) -> tuple[str, ...]:
        """Names this expression reads from the data, in order of first appearance."""
        return ()


@dataclass(frozen=True)
class Name(Expr):
    id: str

    def __str__(self) -> str:
        return r_name(self.id)

    def variables(self) -> tuple[str, ...]:
        return (self.id,)


@dataclass(frozen=True)
class Number(Expr):
    value: float
    text: str = ""  # as written, so that "2" stays "2" and "1e-3" stays "1e-3"

    def __str__(self) -> str:
        if self.text:
            return self.text
        v = self.value
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


@dataclass(frozen=True)
class Logical(Expr):
    value: bool

    def __str__(self) -> str:
        return "TRUE" if self.value else "FALSE"


@dataclass(frozen=True)
class String(Expr):
    value: str

    def __str__(self) -> str:
        out = self.value.replace("\\", "\\\\").replace('"', '\\"')
        for ch, esc in (("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
            out = out.replace(ch, esc)
        return '"' + out + '"'


@dataclass(frozen=True)
class Paren(Expr):
    """Parentheses as written; R keeps them (`(` is a call) and deparse prints them."""

    body: Expr

    def __str__(self) -> str:
        return f"({self.body})"

    def variables(self) -> tuple[str, ...]:
        return self.body.variables()


@dataclass(frozen=True)
class UnaryOp(Expr):
    op: str  # "-", "+", "~" (one-sided formula), "!"
    operand: Expr

    def __str__(self) -> str:
        return f"{self.op}{self.operand}" if self.op != "~" else f"~{self.operand}"

    def variables(self) -> tuple[str, ...]:
        return self.operand.variables()


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        # Walk the left spine without recursion: long formulas (a + b + c + ...) are
        # left-deep trees hundreds of levels deep.
        rights: list[tuple[str, Expr]] = []
        node: Expr = self
        while isinstance(node, BinOp):
            rights.append((node.op, node.right))
            node = node.left
        parts = [str(node)]
        for op, right in reversed(rights):
            parts.append(f" {op} " if op in _SPACED else op)
            parts.append(str(right))
        return "".join(parts)

    def variables(self) -> tuple[str, ...]:
        rights: list[Expr] = []
        node: Expr = self
        while isinstance(node, BinOp):
            rights.append(node.right)
            node = node.left
        out = node.variables()
        for right in reversed(rights):
            out = _merge(out, right.variables())
        return out


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()

    def __str__(self) -> str:
        parts = [str(a) for a in self.args] + [f"{r_name(k)} = {v}" for k, v in self.kwargs]
        return f"{r_name(self.func)}({', '.join(parts)})"

    def variables(self) -> tuple[str, ...]:
        out: tuple[str, ...] = ()
        for a in self.args:
            out = _merge(out, a.variables())
        for _, v in self.kwargs:
            out = _merge(out, v.variables())
        return out

    def kwarg(self, name: str, default: Expr | None = None) -> Expr | None:
        for k, v in self.kwargs:
            if k == name:
                return v
        return default


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


@dataclass(frozen=True)
class Formula(Expr):
    """``lhs ~ rhs`` (two-sided) or ``~ rhs`` (lhs is None), exactly as written."""

    lhs: Expr | None
    rhs: Expr

    def __str__(self) -> str:
        return f"{self.lhs} ~ {self.rhs}" if self.lhs is not None else f"~{self.rhs}"

    def variables(self) -> tuple[str, ...]:
        left = self.lhs.variables() if self.lhs is not None else ()
        return _merge(left, self.rhs.variables())


# ---------------------------------------------------------------------------------------------
# Model terms: R's terms() of a formula.


@dataclass(frozen=True)
class Term:
    """One term of the model: an interaction of one or more *variables* (each an Expr such as
    ``Days``, ``log(x)`` or ``poly(Days, 2)``), in R's variable order (order of first
    appearance in the formula). Its label is R's term label, ``a:b``."""

    factors: tuple[Expr, ...]

    @property
    def label(self) -> str:
        return ":".join(str(f) for f in self.factors)

    @property
    def order(self) -> int:
        return len(self.factors)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class GroupTerm(Term):
    """A grouping factor of a random-effects term: ``factors`` are its variables (the
    interaction of all of them is the grouping), ``name`` is the label lme4 gives the group
    (``cask:batch``, and ``c:(b:a)`` for ``a/b/c``, with the parentheses lme4's deparse
    prints)."""

    name: str = ""

    @property
    def label(self) -> str:
        return self.name or ":".join(str(f) for f in self.factors)


@dataclass(frozen=True)
class RandomTerm:
    """A random-effects term ``(lhs | group)`` after lme4's expansion of ``/`` in the grouping
    and of ``||``. ``terms`` is the left-hand side's own model terms (with its intercept);
    ``group`` is the grouping interaction, its variables in the order lme4 names the group
    (``cask:batch`` for ``batch/cask``)."""

    terms: ModelTerms
    group: Term
    double_bar: bool = False  # True when this term came from a `||` expansion

    def __str__(self) -> str:
        return f"({self.terms.rhs_text()} | {self.group.label})"

    def bar_text(self) -> str:
        """The term as lme4's ``findbars()`` deparses it: the left-hand side as written."""
        lhs = self.terms.formula.rhs if self.terms.formula is not None else None
        return f"{lhs if lhs is not None else self.terms.rhs_text()} | {self.group.label}"


@dataclass(frozen=True)
class ModelTerms:
    """R's ``terms()`` object: response, intercept, ordered fixed-effect terms, offsets, and
    (lme4's ``findbars``) the random-effects terms."""

    response: Expr | None
    intercept: bool
    terms: tuple[Term, ...]
    offsets: tuple[Expr, ...] = ()
    random: tuple[RandomTerm, ...] = ()
    formula: Formula | None = field(default=None, compare=False)  # the source, as written

    @property
    def term_labels(self) -> tuple[str, ...]:
        return tuple(t.label for t in self.terms)

    def rhs_text(self) -> str:
        parts: list[str] = []
        if not self.intercept:
            parts.append("0")
        elif not self.terms:
            parts.append("1")
        parts += list(self.term_labels)
        parts += [f"offset({o})" if not _is_offset_call(o) else str(o) for o in self.offsets]
        parts += _random_text(self.random)
        return " + ".join(parts)

    def __str__(self) -> str:
        lhs = f"{self.response} " if self.response is not None else ""
        return f"{lhs}~ {self.rhs_text()}" if lhs else f"~{self.rhs_text()}"


def _is_offset_call(e: Expr) -> bool:
    return isinstance(e, Call) and e.func == "offset"


def _random_text(random: tuple[RandomTerm, ...]) -> list[str]:
    """Random terms as formula text; runs that came from one ``(x + z || g/h)`` are printed
    back as that ``||`` term, so that the text expands to the same terms again."""
    out: list[str] = []
    i = 0
    while i < len(random):
        if random[i].double_bar:
            merged = _merge_double_bar(random, i)
            if merged is not None:
                text, i = merged
                out.append(text)
                continue
        out.append(str(random[i]))
        i += 1
    return out


def _merge_double_bar(random: tuple[RandomTerm, ...], start: int) -> tuple[str, int] | None:
    merged = _merge_double_bar_groups(random, start, len(random))
    if merged is None:  # groups that do not read back as one a/b/c: one group at a time
        merged = _merge_double_bar_groups(random, start, 1)
    return merged


def _merge_double_bar_groups(random: tuple[RandomTerm, ...], start: int,
                             max_groups: int) -> tuple[str, int] | None:
    first = random[start]
    groups = [first.group]
    j = start + 1
    while (j < len(random) and len(groups) < max_groups and random[j].double_bar
           and random[j].terms == first.terms):
        groups.append(random[j].group)
        j += 1
    m = len(groups)
    pieces = [first.terms]
    while j + m <= len(random):
        block = random[j:j + m]
        lhs = block[0].terms
        if not all(r.double_bar and r.terms == lhs for r in block):
            break
        if [r.group for r in block] != groups or lhs.intercept or lhs in pieces:
            break
        pieces.append(lhs)
        j += m
    labels = [t for p in pieces for t in p.term_labels]
    if not labels or any(p.intercept or len(p.terms) != 1 for p in pieces[1:]):
        return None
    if first.terms.intercept and first.terms.terms:
        return None
    lhs_text = " + ".join(labels) if first.terms.intercept else "0 + " + " + ".join(labels)
    if m == 1:
        group_text = groups[0].label
    else:
        levels = [g.factors[0] for g in reversed(groups)]  # outermost first
        if not all(isinstance(v, Name) for v in levels):
            return None  # lme4 nests with '/' only within plain names: print one by one
        group_text = "/".join(str(v) for v in levels)
        if _slash_labels([str(v) for v in levels]) != [g.label for g in groups]:
            return None
    return f"({lhs_text} || {group_text})", j


def _slash_labels(names: list[str]) -> list[str]:
    """The group labels lme4 gives ``a/b/c`` (names outermost first): ``c:(b:a)``, ``b:a``,
    ``a``, innermost first (the text of lmepy.formula.terms.expand_slash for plain names)."""
    out = [names[0]]
    for name in names[1:]:
        out.insert(0, f"{name}:{out[0]}" if len(out) == 1 else f"{name}:({out[0]})")
    return out
