"""nlme's small languages, parsed with the formula grammar: pdMat constructors (``pdDiag(~ x)``),
correlation structures (``corAR1(0.3, form = ~ t | g)``), variance functions
(``varIdent(form = ~ 1 | Sex)``), one-sided formulas (``~ age | Subject``) and ``random=``.

Each constructor becomes a small frozen spec that prints back as R text and re-parses to an
equal spec. Arguments are matched as R matches them (exact name, then unique partial name,
then position), and nlme's own argument checks give nlme's messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from lmepy.errors import FormulaError
from lmepy.formula.ir import (
    BinOp,
    Call,
    Expr,
    Formula,
    Logical,
    ModelTerms,
    Name,
    Number,
    Paren,
    String,
    UnaryOp,
    r_name,
)
from lmepy.formula.parser import format_number, guarded, parse_expr, with_caret
from lmepy.formula.terms import fixed_terms

PD_KINDS = ("pdLogChol", "pdSymm", "pdDiag", "pdIdent", "pdCompSymm", "pdBlocked")
COR_KINDS = ("corAR1", "corCAR1", "corARMA", "corCompSymm", "corSymm")
VAR_KINDS = ("varIdent", "varPower", "varExp", "varConstPower", "varFixed")

_ONE = Formula(None, Number(1.0, "1"))
_FITTED = Formula(None, Call("fitted", (Name("."),)))


# ---------------------------------------------------------------------------------------------
# helpers


def _fe(message: str, text: str, node: Expr | None = None) -> FormulaError:
    """A FormulaError with a caret under ``node`` where it is written in ``text``."""
    err = FormulaError(message, text)
    err.node = node  # type: ignore[attr-defined]
    return with_caret(err, text) if node is not None and isinstance(text, str) else err


def _strip(e: Expr) -> Expr:
    while isinstance(e, Paren):
        e = e.body
    return e


def _match_args(call: Call, signature: Sequence[str], text: str) -> dict[str, Expr]:
    """R's argument matching: exact names, then unique partial names, then positions."""
    out: dict[str, Expr] = {}
    free = list(signature)
    pending: list[tuple[str, Expr]] = []
    for key, value in call.kwargs:
        if key in free:
            out[key] = value
            free.remove(key)
        else:
            pending.append((key, value))
    for key, value in pending:
        hits = [s for s in free if s.startswith(key)]
        if len(hits) != 1:
            raise _fe(f"unused argument ({r_name(key)} = {value})", text, value)
        out[hits[0]] = value
        free.remove(hits[0])
    if len(call.args) > len(free):
        extra = ", ".join(str(a) for a in call.args[len(free):])
        raise _fe(f"unused argument ({extra})", text, call.args[len(free)])
    for name, value in zip(free, call.args, strict=False):
        out[name] = value
    return out


def _number(e: Expr, what: str, text: str) -> float:
    e = _strip(e)
    if isinstance(e, Number):
        return e.value
    if isinstance(e, UnaryOp) and e.op in "+-":
        v = _number(e.operand, what, text)
        return -v if e.op == "-" else v
    if isinstance(e, Logical):
        return 1.0 if e.value else 0.0
    raise _fe(f"'{what}' must be a number, not {e}", text, e)


def _numbers(e: Expr, what: str, text: str) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """A number or ``c(...)`` of numbers (optionally named) -> (values, names)."""
    e = _strip(e)
    if isinstance(e, Call) and e.func == "c":
        vals = [_number(a, what, text) for a in e.args]
        names: list[str] = [""] * len(vals)
        for k, v in e.kwargs:
            vals.append(_number(v, what, text))
            names.append(k)
        return tuple(vals), tuple(names) if any(names) else ()
    return (_number(e, what, text),), ()


def _logical(e: Expr, what: str, text: str) -> bool:
    e = _strip(e)
    if isinstance(e, Logical):
        return e.value
    if isinstance(e, Name) and e.id in ("T", "F"):
        return e.id == "T"
    raise _fe(f"'{what}' must be TRUE or FALSE, not {e}", text, e)


def _one_sided(e: Expr, what: str, text: str) -> Formula:
    e = _strip(e) if not isinstance(e, Formula) else e
    if isinstance(e, Formula) and e.lhs is None:
        return e
    raise _fe(f"'{what}' must be a one-sided formula such as '~ x | g', not {e}", text, e)


def _fmt_values(values: tuple[float, ...], names: tuple[str, ...] = ()) -> str:
    parts = [
        (f"{r_name(n)} = " if n else "") + format_number(v)
        for v, n in zip(values, names or ("",) * len(values), strict=True)
    ]
    if len(parts) == 1 and not names:
        return parts[0]
    return "c(" + ", ".join(parts) + ")"


def split_form(form: Formula) -> tuple[Expr, tuple[Expr, ...]]:
    """nlme's getCovariateFormula/getGroupsFormula of ``~ cov | g1/g2``: the covariate
    expression and the grouping expressions, outermost first (``()`` when ungrouped)."""
    rhs = _strip(form.rhs)
    if isinstance(rhs, BinOp) and rhs.op == "|":
        return rhs.left, tuple(_slash(rhs.right))
    return form.rhs, ()


def _slash(e: Expr) -> list[Expr]:
    s = _strip(e)
    if isinstance(s, BinOp) and s.op == "/":
        return _slash(s.left) + _slash(s.right)
    return [e]


# ---------------------------------------------------------------------------------------------
# pdMat


@dataclass(frozen=True)
class PdSpec:
    """A pdMat class and its one-sided formula (``pdDiag(~ x)``); ``pdBlocked`` has blocks
    instead. ``pdLogChol`` is nlme's default class for ``random = ~ x | g``."""

    kind: str
    formula: Formula | None
    blocks: tuple[PdSpec, ...] = ()

    @property
    def terms(self) -> ModelTerms | None:
        """R's terms() of the formula: which columns (intercept, covariates) the block has."""
        return fixed_terms(self.formula) if self.formula is not None else None

    def __str__(self) -> str:
        if self.kind == "pdBlocked":
            return "pdBlocked(list(" + ", ".join(str(b) for b in self.blocks) + "))"
        return f"{self.kind}({self.formula})"


def _pd_from_expr(e: Expr, text: str, default: str = "pdSymm") -> PdSpec:
    e = _strip(e) if not isinstance(e, Formula) else e
    if isinstance(e, Formula):
        f = _one_sided(e, "formula", text)
        _no_bar(f, text)
        return PdSpec(default, f)
    if not isinstance(e, Call) or e.func not in PD_KINDS:
        raise _fe(
            f"expected a pdMat such as 'pdDiag(~ x)' ({', '.join(PD_KINDS)}), not {e}", text, e)
    if e.func == "pdBlocked":
        args = _match_args(e, ("value", "form", "nam", "data", "pdClass"), text)
        value = args.get("value")
        classes: tuple[str, ...] = ()
        if "pdClass" in args:
            pc = _strip(args["pdClass"])
            items = pc.args if isinstance(pc, Call) and pc.func == "c" else (pc,)
            classes = tuple(_string(x, "pdClass", text) for x in items)
        value = _strip(value) if value is not None else None
        if not (isinstance(value, Call) and value.func == "list" and value.args):
            raise FormulaError("pdBlocked() needs a list of blocks: "
                               "pdBlocked(list(pdSymm(~ a), pdIdent(~ b - 1)))", text)
        blocks = []
        for i, item in enumerate(value.args):
            cls = classes[i % len(classes)] if classes else "pdSymm"
            if cls not in PD_KINDS or cls == "pdBlocked":
                raise FormulaError(f"unknown pdClass '{cls}'", text)
            blocks.append(_pd_from_expr(item, text, cls))
        return PdSpec("pdBlocked", None, tuple(blocks))
    args = _match_args(e, ("value", "form", "nam", "data"), text)
    form = args.get("form")
    value = args.get("value")
    if form is None and isinstance(value, Formula):
        form = value
    elif value is not None:
        raise _fe(f"{e.func}(): only a formula is supported (write {e.func}(~ x))", text,
                  value)
    if form is None:
        raise _fe(f"{e.func}() needs a formula: {e.func}(~ x)", text, e)
    f = _one_sided(form, "form", text)
    _no_bar(f, text)
    return PdSpec(e.func, f)


def _no_bar(f: Formula, text: str) -> None:
    if split_form(f)[1]:
        raise _fe("a pdMat formula has no grouping: write the group as the name in "
                           "random = {'g': 'pdDiag(~ x)'}", text, f.rhs)


def _string(e: Expr, what: str, text: str) -> str:
    e = _strip(e)
    if isinstance(e, String):
        return e.value
    raise _fe(f"'{what}' must be a string, not {e}", text, e)


@guarded
def parse_pd(text: str) -> PdSpec:
    """``pdSymm/pdDiag/pdIdent/pdCompSymm/pdLogChol(~ x)`` or ``pdBlocked(list(...))``."""
    return _pd_from_expr(parse_expr(text), text)


# ---------------------------------------------------------------------------------------------
# corStruct and varFunc


class _FormParts:
    """The two halves of a structure's ``form`` (``~ covariate | g1/g2``): for a correlation
    structure the position covariate (``1``: order within group) and the grouping, outermost
    first; for a variance function the variance covariate (``fitted(.)``, ``x``, or ``1`` for
    varIdent) and the strata (``Sex`` in ``~ 1 | Sex``)."""

    form: Formula | None

    @property
    def covariate(self) -> Expr:
        return split_form(self.form or _ONE)[0]

    @property
    def groups(self) -> tuple[Expr, ...]:
        return split_form(self.form or _ONE)[1]


@dataclass(frozen=True)
class CorSpec(_FormParts):
    """A correlation structure as written: ``value`` as given (``()`` when not given, see
    ``initial``), ``form`` the one-sided formula (nlme's default ``~1`` filled in), ``p``/``q``
    for corARMA, ``fixed`` to keep the value fixed."""

    kind: str
    value: tuple[float, ...] = ()
    form: Formula | None = _ONE
    p: int = 0
    q: int = 0
    fixed: bool = False

    @property
    def initial(self) -> tuple[float, ...]:
        """The starting value nlme uses (``coef(cs, unconstrained = FALSE)`` of the unfitted
        structure) where nlme fixes one before seeing the data."""
        if self.value:
            return self.value
        if self.kind == "corAR1":
            return (0.0,)
        if self.kind == "corCAR1":
            return (0.2,)
        if self.kind == "corARMA":
            return (0.0,) * (self.p + self.q)
        return ()

    def __str__(self) -> str:
        parts = []
        if self.value:
            parts.append(_fmt_values(self.value))
        if self.form is not None and self.form != _ONE:
            parts.append(f"form = {self.form}")
        if self.kind == "corARMA":
            if self.p:
                parts.append(f"p = {self.p}")
            if self.q:
                parts.append(f"q = {self.q}")
        if self.fixed:
            parts.append("fixed = TRUE")
        return f"{self.kind}({', '.join(parts)})"


def _cor_from_expr(e: Expr, text: str) -> CorSpec:
    e = _strip(e)
    if not isinstance(e, Call) or e.func not in COR_KINDS:
        raise _fe(
            f"expected a correlation structure ({', '.join(COR_KINDS)}), not {e}", text, e)
    sig = ("value", "form", "p", "q", "fixed") if e.func == "corARMA" else (
        "value", "form", "fixed")
    args = _match_args(e, sig, text)
    value: tuple[float, ...] = ()
    if "value" in args:
        value, _ = _numbers(args["value"], "value", text)
    form = _one_sided(args["form"], "form", text) if "form" in args else _ONE
    fixed = _logical(args["fixed"], "fixed", text) if "fixed" in args else False
    p = q = 0
    if e.func == "corARMA":
        for nm in ("p", "q"):
            if nm in args:
                v = _number(args[nm], nm, text)
                if v < 0 or not float(v).is_integer():
                    which = "autoregressive" if nm == "p" else "moving average"
                    raise _fe(f"{which} order must be a non-negative integer", text, args[nm])
                if nm == "p":
                    p = int(v)
                else:
                    q = int(v)
        if p == 0 and q == 0:
            raise FormulaError("corARMA(p = 0, q = 0) is no correlation structure (nlme's "
                               "deprecated corIdent): leave 'correlation' out", text)
        if value and len(value) != p + q:
            raise _fe("initial value for parameter of wrong length", text, args.get("value"))
        if any(abs(v) >= 1 for v in value):
            raise _fe("all parameters must be less than 1 in absolute value", text,
                      args.get("value"))
    elif e.func == "corAR1":
        if len(value) > 1:
            raise _fe("initial value for parameter of wrong length", text, args.get("value"))
        if value and abs(value[0]) >= 1:
            raise _fe("parameter in AR(1) structure must be between -1 and 1", text,
                      args.get("value"))
    elif e.func == "corCAR1":
        if len(value) > 1:
            raise _fe("initial value for parameter of wrong length", text, args.get("value"))
        if value and not 0 < value[0] < 1:
            raise _fe("parameter in CAR(1) structure must be between 0 and 1", text,
                      args.get("value"))
    elif e.func == "corCompSymm":
        if len(value) > 1:
            raise _fe("initial value for parameter of wrong length", text, args.get("value"))
        if value and not -1 < value[0] < 1:
            raise _fe("initial value in corCompSymm must be > than -1", text, args.get("value"))
    elif e.func == "corSymm" and any(abs(v) >= 1 for v in value):
        raise _fe("initial values must have absolute value < 1", text, args.get("value"))
    return CorSpec(e.func, value, form, p, q, fixed)


@guarded
def parse_cor(text: str) -> CorSpec:
    """``corAR1()``, ``corAR1(0.3, form = ~ t | g)``, ``corCAR1(form = ~ Time)``,
    ``corARMA(p = 1, q = 1)``, ``corCompSymm()``, ``corSymm()``."""
    return _cor_from_expr(parse_expr(text), text)


# ---------------------------------------------------------------------------------------------
# varFunc


@dataclass(frozen=True)
class VarSpec(_FormParts):
    """A variance function as written: ``form`` (nlme's default filled in: ``~1`` for varIdent,
    ``~fitted(.)`` for varPower/varExp/varConstPower), initial ``value`` with its ``names``
    (varIdent strata, or ``const``/``power`` for varConstPower), and ``fixed`` values as
    (name, value) pairs (name ``""`` when unnamed)."""

    kind: str
    form: Formula | None
    value: tuple[float, ...] = ()
    fixed: tuple[tuple[str, float], ...] = ()
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "varFixed":
            return f"varFixed({self.form})"
        parts = []
        if self.kind == "varConstPower":
            for nm, v in zip(self.names, self.value, strict=True):
                parts.append(f"{nm} = {format_number(v)}")
        elif self.value:
            parts.append(_fmt_values(self.value, self.names))
        default = _ONE if self.kind == "varIdent" else _FITTED
        if self.form is not None and self.form != default:
            parts.append(f"form = {self.form}")
        if self.fixed:
            names = tuple(n for n, _ in self.fixed)
            vals = tuple(v for _, v in self.fixed)
            if self.kind == "varConstPower":
                inner = ", ".join(f"{n} = {format_number(v)}" for n, v in self.fixed)
                parts.append(f"fixed = list({inner})")
            else:
                parts.append("fixed = " + _fmt_values(vals, names if any(names) else ()))
        return f"{self.kind}({', '.join(parts)})"


def _var_from_expr(e: Expr, text: str) -> VarSpec:
    e = _strip(e)
    if not isinstance(e, Call) or e.func not in VAR_KINDS:
        raise _fe(f"expected a variance function ({', '.join(VAR_KINDS)}), not {e}",
                  text, e)
    if e.func == "varFixed":
        args = _match_args(e, ("value",), text)
        if "value" not in args:
            raise FormulaError("varFixed() needs a formula: varFixed(~ x)", text)
        f = _one_sided(args["value"], "value", text)
        if split_form(f)[1]:
            raise _fe("varFixed() formula cannot have groups", text, f)
        return VarSpec("varFixed", f)
    if e.func == "varConstPower":
        args = _match_args(e, ("const", "power", "form", "fixed"), text)
        names: tuple[str, ...] = tuple(k for k in ("const", "power") if k in args)
        value = tuple(_number(args[k], k, text) for k in names)
    else:
        args = _match_args(e, ("value", "form", "fixed"), text)
        value, names = _numbers(args["value"], "value", text) if "value" in args else ((), ())
    default = _ONE if e.func == "varIdent" else _FITTED
    form = _one_sided(args["form"], "form", text) if "form" in args else default
    fixed: tuple[tuple[str, float], ...] = ()
    if "fixed" in args:
        fx = _strip(args["fixed"])
        if isinstance(fx, Call) and fx.func == "list":
            pairs = [(k, _number(v, "fixed", text)) for k, v in fx.kwargs]
            pairs += [("", _number(v, "fixed", text)) for v in fx.args]
            fixed = tuple(pairs)
        else:
            vals, nms = _numbers(fx, "fixed", text)
            fixed = tuple(zip(nms or ("",) * len(vals), vals, strict=True))
    if e.func == "varIdent":
        if any(v <= 0 for v in value) or any(v <= 0 for _, v in fixed):
            raise _fe("initial values for \"varIdent\" must be > 0", text,
                      args.get("value", args.get("fixed")))
        if len(value) > 1 and not all(names):
            raise _fe("initial values for \"varIdent\" must be named", text, args.get("value"))
    return VarSpec(e.func, form, value, fixed, names)


@guarded
def parse_var(text: str) -> VarSpec:
    """``varIdent(form = ~ 1 | Sex)``, ``varPower()``, ``varPower(form = ~ fitted(.))``,
    ``varExp(form = ~ x)``, ``varConstPower()``, ``varFixed(~ x)``."""
    return _var_from_expr(parse_expr(text), text)


# ---------------------------------------------------------------------------------------------
# one-sided formulas and random=


@guarded
def parse_one_sided(text: str) -> Formula:
    """A one-sided formula such as ``~ age | Subject``, ``~ 1 | Mare`` or ``~ fitted(.)``."""
    e = parse_expr(text)
    if not (isinstance(e, Formula) and e.lhs is None):
        raise FormulaError("expected a one-sided formula such as '~ x | g'", text, 0, len(text))
    return e


class RandomLevel(NamedTuple):
    """One level of nlme's ``random=``: the grouping factor's name and its pdMat."""

    group: str
    pd: PdSpec


RandomSpec = str | Mapping[str, "str | PdSpec | Formula"] | Sequence[tuple[str, object]]


def _level_spec(group: str, value: object, text: str) -> PdSpec:
    if isinstance(value, PdSpec):
        return value
    if isinstance(value, Expr):
        e: Expr = value
    elif isinstance(value, str):
        text = value
        e = parse_expr(value)
    else:
        raise FormulaError(f"random effects for '{group}' must be a formula or pdMat text, not "
                           f"{type(value).__name__}", text)
    e = _strip(e) if not isinstance(e, Formula) else e
    if isinstance(e, Formula):
        f = _one_sided(e, "random", text)
        cov, groups = split_form(f)
        if groups:
            if len(groups) != 1 or str(groups[0]) != group:
                raise FormulaError(f"the formula for '{group}' names other groups: "
                                   f"{', '.join(str(g) for g in groups)}", text)
            f = Formula(None, cov)
        return PdSpec("pdLogChol", f)
    return _pd_from_expr(e, text)


@guarded
def parse_random(spec: RandomSpec) -> list[RandomLevel]:
    """nlme's ``random=``: ``"~ x | g"``, ``"~ 1 | a/b"`` (levels a, then b within a), a dict
    ``{"Dog": "~ day", "Side": "~ 1"}`` or ``{"Mare": "pdDiag(~ x)"}`` (outer first), or
    ``"list(Dog = ~ day, Side = ~ 1)"``. Returns the levels outermost first (nlme's reStruct
    stores them innermost first)."""
    if isinstance(spec, str):
        e = parse_expr(spec)
        if isinstance(e, Formula):
            f = _one_sided(e, "random", spec)
            cov, groups = split_form(f)
            if not groups:
                raise FormulaError("random = needs grouping: write '~ x | g' or "
                                   "{'g': '~ x'}", spec, 0, len(spec))
            pd = PdSpec("pdLogChol", Formula(None, cov))
            return [RandomLevel(str(g), pd) for g in groups]
        if isinstance(e, Call) and e.func == "list":
            if e.args or not e.kwargs:
                raise FormulaError("random = list(...) needs named elements: "
                                   "list(g = ~ x)", spec)
            return [RandomLevel(k, _level_spec(k, v, spec)) for k, v in e.kwargs]
        if isinstance(e, Call) and e.func in PD_KINDS:
            raise FormulaError("a pdMat needs a grouping factor: write random = "
                               f"{{'g': '{spec.strip()}'}}", spec)
        raise FormulaError("random = must be a one-sided formula '~ x | g', a dict, or "
                           "list(...)", spec)
    items = list(spec.items()) if isinstance(spec, Mapping) else list(spec)
    if not items:
        raise FormulaError("random = is empty")
    out = []
    for group, value in items:
        if not isinstance(group, str):
            raise FormulaError(f"random = group names must be strings, not {group!r}")
        out.append(RandomLevel(group, _level_spec(group, value, str(value))))
    return out
