"""Formula text -> expression tree (the IR of ``lmepy.formula.ir``).

The grammar lives in ``grammar/formula.lark`` at the repository root (installed as the package
data of ``lmepy.grammar``) and is compiled once into an
LALR(1) parser. Formula text is data: it is never handed to Python's ``eval``/``exec``; every
function name must be on a whitelist, and anything else is a ``FormulaError`` with a caret.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from lmepy.errors import FormulaError, close_matches
from lmepy.formula.ir import (
    BinOp,
    Call,
    Expr,
    Formula,
    Logical,
    Name,
    Number,
    Paren,
    String,
    UnaryOp,
)
from lmepy.rtext.numbers import special_number_text

# Functions a formula may call: what the design stage's evaluator knows (lme4/stats side) ...
MODEL_FUNCTIONS = frozenset({
    "I", "log", "log2", "log10", "exp", "sqrt", "abs", "sin", "cos", "tan", "poly", "scale",
    "factor", "as.numeric", "offset", "cbind",
    # also known to lmepy.design's evaluator (all plain R functions of data, no side effects)
    "log1p", "expm1", "asin", "acos", "atan", "sinh", "cosh", "tanh", "floor", "ceiling",
    "as.factor", "ordered", "as.double", "as.integer", "mean", "median", "sd", "var", "min",
    "max", "round", "sign", "trunc", "relevel", "interaction", "bs", "ns",
})
# ... nlme's constructors, and the few helpers their arguments use.
NLME_FUNCTIONS = frozenset({
    "pdSymm", "pdDiag", "pdIdent", "pdCompSymm", "pdBlocked", "pdLogChol",
    "corAR1", "corCAR1", "corARMA", "corCompSymm", "corSymm",
    "varIdent", "varPower", "varExp", "varConstPower", "varFixed",
    "list", "c", "fitted",
})
FUNCTIONS = MODEL_FUNCTIONS | NLME_FUNCTIONS

# R's reserved words; TRUE/FALSE are logical constants, the rest have no place in a formula.
_KEYWORDS = {
    "if", "else", "repeat", "while", "function", "for", "next", "break", "NULL", "Inf", "NaN",
    "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
}


def grammar_text() -> str:
    """The formula grammar's text, from the installed package ``lmepy.grammar``. A source tree
    imported without an install (``PYTHONPATH=.`` after ``setup.py build_ext --inplace``) has
    no such package, only the folder it is installed from: ``grammar/`` beside ``lmepy/``."""
    try:
        import lmepy.grammar as grammar
    except ModuleNotFoundError:
        beside = Path(__file__).resolve().parents[2] / "grammar" / "formula.lark"
        if not beside.is_file():
            raise ImportError("lmepy's formula grammar is missing: neither the package "
                              f"lmepy.grammar nor {beside} exists; reinstall lmepy "
                              "(pip install .)") from None
        return beside.read_text(encoding="utf-8")
    return grammar.read("formula.lark")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # The transformer runs inside the LALR parser: no parse tree is built, and no recursion.
    text = grammar_text()
    return Lark(text, parser="lalr", maybe_placeholders=True, transformer=_ToIR(), cache=True)


# Deepest expression accepted: a sum of 1500 terms is 1500 levels deep (operators nest to the
# left). Nested calls and parentheses are limited more tightly (R's parser stops at 50 with
# "contextstack overflow"; each level costs several Python frames in a recursive walk).
MAX_DEPTH = 2000
MAX_NESTING = 100
_STACK_PER_LEVEL = 4
_limit_lock = threading.Lock()


def ensure_stack(depth: int) -> None:
    """Room on the Python stack for recursive walks (deparse, term expansion, printing) of an
    expression ``depth`` levels deep, wherever they happen later: the recursion limit is
    raised to fit, never lowered (it is process-wide, and lowering it again while another
    thread walks a deep formula would break that walk)."""
    need = _STACK_PER_LEVEL * depth + 1000
    if sys.getrecursionlimit() < need:
        with _limit_lock:
            if sys.getrecursionlimit() < need:
                sys.setrecursionlimit(need)


@contextmanager
def deep(text: str | None) -> Iterator[None]:
    """RecursionError in a recursive walk of a formula becomes a FormulaError."""
    try:
        yield
    except RecursionError:
        raise FormulaError("invalid formula: too deeply nested", text) from None


class _Located(FormulaError):
    """A FormulaError raised inside the transformer, before the text is known."""


def format_number(value: float) -> str:
    """A double as R's ``deparse()`` prints it: 15 significant digits, fixed notation unless
    scientific is narrower (R's formatReal with scipen = 0)."""
    special = special_number_text(value)
    if special is not None:
        return special
    neg = value < 0
    a = abs(value)
    full = float(f"{a:.14e}")
    nsig = 15
    for d in range(1, 16):
        if float(f"{a:.{d - 1}e}") == full:
            nsig = d
            break
    mant = f"{a:.{nsig - 1}e}"
    kpower = int(mant.split("e")[1])
    rgt = max(0, nsig - kpower - 1)
    fixed_width = (kpower + 1 if kpower >= 0 else 1) + (rgt + 1 if rgt > 0 else 0)
    sci_width = (nsig + 1 if nsig > 1 else 1) + (4 if abs(kpower) < 100 else 5)
    text = f"{a:.{rgt}f}" if fixed_width <= sci_width else mant
    return ("-" if neg else "") + text


def _number(tok: Token) -> Number:
    s = str(tok)
    integer = s.endswith("L")
    body = s[:-1] if integer else s
    value = float(int(body, 16)) if body[:2].lower() == "0x" else float(body)
    if integer and value.is_integer() and abs(value) < 2**31:
        return Number(value, f"{int(value)}L")
    return Number(value, format_number(value))


def _unescape(body: str) -> str:
    out: list[str] = []
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'",
              "`": "`"}
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(simple.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _name(tok: Token) -> Name:
    s = str(tok)
    if s in _KEYWORDS:
        raise _Located(f"invalid formula: '{s}' is not allowed in a formula", None,
                       tok.start_pos, len(s))
    return Name(s)


def _ident(tok: Token) -> str:
    s = str(tok)
    if tok.type == "BQNAME":
        return _unescape(s[1:-1])
    if tok.type == "STRING":
        return _unescape(s[1:-1])
    return s


@v_args(inline=True)
class _ToIR(Transformer):
    def name(self, tok: Token) -> Expr:
        s = str(tok)
        if s == "TRUE":
            return Logical(True)
        if s == "FALSE":
            return Logical(False)
        if s == "Inf":
            return Number(math.inf, "Inf")
        return _name(tok)

    def bqname(self, tok: Token) -> Expr:
        return Name(_unescape(str(tok)[1:-1]))

    def number(self, tok: Token) -> Expr:
        return _number(tok)

    def string(self, tok: Token) -> Expr:
        return String(_unescape(str(tok)[1:-1]))

    def paren(self, _l: Token, body: Expr, _r: Token) -> Expr:
        return Paren(body)

    def binop(self, left: Expr, op: Token, right: Expr) -> Expr:
        return BinOp(str(op), left, right)

    def unary(self, op: Token, operand: Expr) -> Expr:
        return UnaryOp(str(op), operand)

    def formula(self, lhs: Expr, _t: Token, rhs: Expr) -> Expr:
        return Formula(lhs, rhs)

    def one_sided(self, _t: Token, rhs: Expr) -> Expr:
        return Formula(None, rhs)

    def pos_arg(self, value: Expr) -> tuple[None, Expr]:
        return (None, value)

    def kw_arg(self, name: Token, _eq: Token, value: Expr) -> tuple[str, Expr]:
        return (_ident(name), value)

    def args(self, *items: object) -> list[tuple[str | None, Expr]]:
        return [x for x in items if not isinstance(x, Token)]  # type: ignore[misc]

    def call(self, fname: Token, _l: Token, args: list | None, _r: Token) -> Expr:
        func = _ident(fname)
        if func not in FUNCTIONS:
            raise _Located(
                f"unknown function '{func}' in formula." + close_matches(func, sorted(FUNCTIONS)),
                None, fname.start_pos, len(str(fname)))
        pos: list[Expr] = []
        kws: list[tuple[str, Expr]] = []
        for key, value in args or []:
            if key is None:
                pos.append(value)
            else:
                kws.append((key, value))
        return Call(func, tuple(pos), tuple(kws))


_TOKEN_TEXT = {
    "TILDE": "'~'", "OROP": "'|'", "ANDOP": "'&'", "BANG": "'!'", "COMPOP": "comparison",
    "ADDOP": "'+'", "MULOP": "'*'", "SPECIAL": "special operator", "COLON": "':'",
    "CARET": "'^'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "EQUALS": "'='",
    "NAME": "symbol", "BQNAME": "symbol", "NUMBER": "numeric constant",
    "STRING": "string constant",
}


def _syntax_error(text: str, err: UnexpectedInput) -> FormulaError:
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            return FormulaError("invalid formula: unexpected end of input", text, len(text))
        if tok.type == "COLON" and tok.start_pos > 0 and text[tok.start_pos - 1] == ":":
            return FormulaError("invalid formula: package prefixes such as 'splines::' are not "
                                "supported: call the function by its name alone",
                                text, tok.start_pos - 1, 2)
        what = _TOKEN_TEXT.get(tok.type, "input")
        if what.startswith("'") or what in ("symbol", "numeric constant", "string constant",
                                           "comparison", "special operator"):
            msg = f"invalid formula: unexpected {what}"
            if not what.startswith("'"):
                msg += f" '{tok}'"
        else:
            msg = f"invalid formula: unexpected '{tok}'"
        return FormulaError(msg, text, tok.start_pos, max(1, len(str(tok))))
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = text[pos] if pos < len(text) else ""
        if ch == "`":
            return FormulaError(
                "invalid formula: unexpected backquote with no closing backquote", text, pos)
        if ch in "\"'":
            return FormulaError(
                "invalid formula: unexpected quote with no closing quote", text, pos)
        if ch == "_":
            return FormulaError("invalid formula: unexpected input '_' (R names cannot "
                                "start with '_')", text, pos)
        return FormulaError(f"invalid formula: unexpected input '{ch}'", text, pos)
    pos = getattr(err, "pos_in_stream", None)
    return FormulaError("invalid formula: unexpected end of input", text,
                        len(text) if pos is None else pos)


@lru_cache(maxsize=1)
def _tree_parser() -> Lark:
    # Only on the error path: a parse tree with positions, to put a caret under an expression.
    text = grammar_text()
    return Lark(text, parser="lalr", maybe_placeholders=True, propagate_positions=True)


def locate(text: str, node: Expr) -> tuple[int, int] | None:
    """Where (start, length) the first expression equal to ``node`` is written in ``text``."""
    try:
        tree = _tree_parser().parse(text)
    except (UnexpectedInput, _Located):
        return None
    ir = _ToIR()
    found: list[tuple[bool, int, int]] = []  # (inside a call, start, length)

    def walk(t: object, inside: bool) -> object:
        if t is None or isinstance(t, Token):  # atoms are trees (name, number, ...)
            return t
        data = t.data  # type: ignore[attr-defined]
        below = inside or data == "call"
        children = [walk(c, below) for c in t.children]  # type: ignore[attr-defined]
        out = getattr(ir, data)(*children)
        meta = t.meta  # type: ignore[attr-defined]
        if out == node and not meta.empty:
            found.append((inside, meta.start_pos, meta.end_pos - meta.start_pos))
        return out

    try:
        with deep(text):
            walk(tree, False)
    except (FormulaError, _Located):
        return None
    if not found:
        return None
    # formula-level errors are about formula-level expressions: prefer one outside calls
    best = min(found, key=lambda f: (f[0], f[1]))
    return best[1], best[2]


def with_caret(err: FormulaError, text: str) -> FormulaError:
    """``err`` for ``text``, with a caret under the expression it names (``err.node``)."""
    node = getattr(err, "node", None)
    where = locate(text, node) if node is not None else None
    out = FormulaError(err.message, text, where[0] if where else None,
                       where[1] if where else 1)
    out.node = node  # type: ignore[attr-defined]
    return out


F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Run ``fn`` inside ``deep()``: entry points that walk the IR recursively."""

    @functools.wraps(fn)
    def wrapper(arg: object, *args: object, **kwargs: object) -> object:
        with deep(arg if isinstance(arg, str) else None):
            return fn(arg, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def parse_expr(text: str) -> Expr:
    """Any expression of the formula language (formula, one-sided formula, or nlme call)."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    if not text.strip():
        raise FormulaError("invalid formula: empty", text, 0)
    return _parse_text(text)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> Expr:
    """parse_expr's work, remembered per text: the IR is immutable (frozen dataclasses and
    tuples), so a script fitting one formula many times (bootstrap, simulation, a benchmark)
    parses it once. Failures raise and are not remembered."""
    try:
        expr = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(text, err) from None
    except _Located as err:
        raise FormulaError(err.message, text, err.pos, _caret_len(text, err.pos)) from None
    depth, nesting = _depth(expr)
    if nesting > MAX_NESTING:
        raise FormulaError(f"invalid formula: more than {MAX_NESTING} nested calls or "
                           "parentheses", text)
    if depth > MAX_DEPTH:
        raise FormulaError(f"invalid formula: nested more than {MAX_DEPTH} levels deep", text)
    ensure_stack(depth)
    return expr


def _depth(e: Expr) -> tuple[int, int]:
    """Nesting depth of an expression, and the most calls and parentheses nested along one
    path, without recursion."""
    best = nest = 0
    stack: list[tuple[Expr, int, int]] = [(e, 1, 0)]
    while stack:
        node, d, c = stack.pop()
        if isinstance(node, (Call, Paren)):
            c += 1
        best = max(best, d)
        nest = max(nest, c)
        for child in _children(node):
            stack.append((child, d + 1, c))
    return best, nest


def _children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, BinOp):
        return (e.left, e.right)
    if isinstance(e, (Paren,)):
        return (e.body,)
    if isinstance(e, UnaryOp):
        return (e.operand,)
    if isinstance(e, Formula):
        return (e.rhs,) if e.lhs is None else (e.lhs, e.rhs)
    if isinstance(e, Call):
        return e.args + tuple(v for _, v in e.kwargs)
    return ()


def _caret_len(text: str, pos: int | None) -> int:
    if pos is None:
        return 1
    n = 0
    while pos + n < len(text) and (text[pos + n].isalnum() or text[pos + n] in "._`"):
        n += 1
    return max(1, n)


def parse_formula(text: str) -> Formula:
    """A model formula as written: ``str()`` of the result is R's ``deparse()``."""
    if isinstance(text, Formula):
        return text
    expr = parse_expr(text)
    if not isinstance(expr, Formula):
        raise FormulaError("invalid formula: no '~' (a model formula is 'response ~ terms')",
                           text, 0, len(text))
    return expr
