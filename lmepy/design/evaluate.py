"""A small whitelisted evaluator of formula expressions over a DataFrame.

Formula text may come from an untrusted file or web form, so it is never given to Python's
``eval``: only the names and functions below are understood, everything else is a
``FormulaError`` naming the offender (with close matches and a caret under it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from lmepy.errors import DataError, EvaluationWarning, FormulaError, close_matches, warn
from lmepy.formula import ir

from .limits import MAX_SPLINE_DEGREE, size_problem
from .values import CHR, FAC, LGL, MAT, NUM, Value, column_value, drop_unused

_CONSTANTS = {"pi": math.pi}


def locate(text: str | None, token: str, call: bool = False) -> int | None:
    """Position of ``token`` as a whole name (a call if ``call``) in the formula text."""
    if not text:
        return None
    pat = r"(?<![A-Za-z0-9._])" + re.escape(token) + r"(?![A-Za-z0-9._])"
    if call:
        pat += r"(?=\s*\()"
    m = re.search(pat, text)
    if m is None and "`" + token + "`" in text:
        return text.index("`" + token + "`")
    return m.start() if m else None


class Evaluator:
    """Evaluates expressions against one DataFrame, caching each distinct expression (by its
    R deparse) so a variable used in several terms is computed once."""

    def __init__(self, data: pd.DataFrame, formula_text: str | None = None,
                 template: dict[str, Value] | None = None):
        self.data = data
        self.n = len(data)
        self.text = formula_text
        self.cache: dict[str, Value] = {}
        # the fitted model's variables (R's predvars): poly() and scale() reuse their
        # coefficients on new data instead of recomputing them
        self.template = template or {}

    # -- errors -------------------------------------------------------------------------
    def _error(self, message: str, token: str, call: bool = False) -> FormulaError:
        pos = locate(self.text, token, call)
        return FormulaError(message, self.text, pos, len(token) if pos is not None else 1)

    # -- entry ----------------------------------------------------------------------------
    def value(self, expr: ir.Expr) -> Value:
        """The variable ``expr`` (full length N), as R's model.frame evaluates it."""
        key = str(expr)
        v = self.cache.get(key)
        if v is None:
            try:
                v = self.eval(expr)
            except FormulaError:
                # a model frame passed back in (R's model.matrix(terms, model.frame(...)))
                # holds "log(Reaction)" itself, not Reaction: use it when R's way fails
                mats = self.data.attrs.get("matrix_columns", {})
                if key in mats:
                    names, colnames = mats[key]
                    v = Value(MAT, self.data[names].to_numpy(dtype=np.float64),
                              colnames=colnames)
                elif key in self.data.columns:
                    v = column_value(self.data[key], key)
                else:
                    raise
            if v.is_scalar:  # R does not recycle a constant variable to the data's length
                v = Value(v.kind, v.data.reshape(1), v.levels, v.ordered, v.colnames, v.attrs)
            if len(v) != self.n:
                raise self._error(f"variable lengths differ (found for '{key}')", key)
            self.cache[key] = v
        return v

    def eval(self, e: ir.Expr) -> Value:
        if isinstance(e, ir.Paren):
            return self.eval(e.body)
        if isinstance(e, ir.Name):
            return self._name(e.id)
        if isinstance(e, ir.Number):
            return Value(NUM, np.array(float(e.value)))
        if isinstance(e, ir.Logical):
            return Value(LGL, np.array(1 if e.value else 0, dtype=np.int8))
        if isinstance(e, ir.String):
            return Value(CHR, np.array(e.value, dtype=object))
        if isinstance(e, ir.UnaryOp):
            return self._unary(e)
        if isinstance(e, ir.BinOp):
            return self._binop(e)
        if isinstance(e, ir.Call):
            return self._call(e)
        raise self._error(f"cannot evaluate '{e}' in a model formula", str(e))

    def _name(self, name: str) -> Value:
        if name in self.data.columns:
            return column_value(self.data[name], name)
        if name in _CONSTANTS:
            return Value(NUM, np.array(_CONSTANTS[name]))
        if name in ("T", "F"):
            return Value(LGL, np.array(1 if name == "T" else 0, dtype=np.int8))
        cols = [str(c) for c in self.data.columns]
        raise self._error(f"object '{name}' not found." + close_matches(name, cols), name)

    # -- arithmetic -------------------------------------------------------------------------
    def _numeric(self, v: Value, what: str) -> np.ndarray:
        if v.kind in (NUM, MAT):
            return v.data
        if v.kind == LGL:
            return np.where(v.data < 0, np.nan, v.data.astype(np.float64))
        if v.kind == FAC:
            raise self._error(f"\u2018{what}\u2019 not meaningful for factors", what)
        binary = what in _ARITH or what in _COMPARE or what in ("&", "|", "&&", "||", "!")
        raise self._error("non-numeric argument to "
                          + ("binary operator" if binary else "mathematical function"), what,
                          call=not binary)

    def _flat(self, x: np.ndarray, v: Value, op: str) -> np.ndarray:
        """A one-column matrix as a vector (comparisons and logic give vectors here)."""
        if x.ndim == 2:
            if x.shape[1] != 1:
                raise self._error(f"'{op}' of a matrix with several columns is not supported",
                                  op)
            return x[:, 0]
        return x

    def _conform(self, x: np.ndarray, y: np.ndarray, op: str) -> tuple[np.ndarray, np.ndarray]:
        """R's elementwise rules: a vector runs down each column of a matrix; two matrices
        must have the same shape."""
        if x.ndim == 2 and y.ndim == 1:
            return x, y[:, None]
        if x.ndim == 1 and y.ndim == 2:
            return x[:, None], y
        if x.ndim == 2 and y.ndim == 2 and x.shape != y.shape:
            raise self._error("non-conformable arrays", op)
        return x, y

    def _unary(self, e: ir.UnaryOp) -> Value:
        v = self.eval(e.operand)
        if e.op == "-":
            return _num_like(v, -self._numeric(v, "-"))
        if e.op == "+":
            return _num_like(v, self._numeric(v, "+"))
        if e.op == "!":
            if v.kind == FAC:
                warn("\u2018!\u2019 not meaningful for factors", EvaluationWarning)
                return Value(LGL, np.full(1 if v.is_scalar else len(v), -1, dtype=np.int8))
            x = self._flat(self._numeric(v, "!"), v, "!")
            return _logical(x == 0, np.isnan(x))
        raise self._error(f"operator '{e.op}' cannot be used here", e.op)

    def _binop(self, e: ir.BinOp) -> Value:
        op = e.op
        a, b = self.eval(e.left), self.eval(e.right)
        if op in ("==", "!=") and (a.kind in (FAC, CHR) or b.kind in (FAC, CHR)):
            if a.kind == MAT:
                a = Value(NUM, self._flat(a.data, a, op))
            if b.kind == MAT:
                b = Value(NUM, self._flat(b.data, b, op))
            sa, sb = _as_strings(a), _as_strings(b)
            na = _str_na(sa) | _str_na(sb)
            eq = np.asarray(sa == sb, dtype=bool)
            return _logical(eq if op == "==" else ~eq, na)
        if op not in _ARITH and op not in _COMPARE and op not in ("&", "|", "&&", "||"):
            raise self._error(f"operator '{op}' cannot be used inside a function call or I()",
                              op)
        if a.kind == FAC or b.kind == FAC:
            # R's Ops.factor: a warning, and NA for every element
            warn(f"\u2018{op}\u2019 not meaningful for factors", EvaluationWarning)
            n = max(1 if a.is_scalar else len(a), 1 if b.is_scalar else len(b))
            return Value(LGL, np.full(n, -1, dtype=np.int8))
        if op in _COMPARE and (a.kind == CHR or b.kind == CHR):
            return _compare_strings(op, a, b, self)
        x, y = self._numeric(a, op), self._numeric(b, op)
        if op not in _ARITH:
            x, y = self._flat(x, a, op), self._flat(y, b, op)
        if op in _ARITH:
            x, y = self._conform(x, y, op)
            with np.errstate(all="ignore"):
                out = _ARITH[op](x, y)
            mat = a if a.kind == MAT else (b if b.kind == MAT else None)
            if mat is not None:
                return Value(MAT, np.asarray(out, dtype=np.float64), colnames=mat.colnames)
            return Value(NUM, np.asarray(out, dtype=np.float64))
        na = np.isnan(x) | np.isnan(y)
        with np.errstate(invalid="ignore"):
            if op in _COMPARE:
                return _logical(_COMPARE[op](x, y), na)
            xb, yb = x != 0, y != 0
            if op in ("&", "&&"):
                res = xb & yb
                na = (np.isnan(x) & ~(~np.isnan(y) & ~yb)) | (np.isnan(y) & ~(~np.isnan(x) & ~xb))
            else:
                res = xb | yb
                na = (np.isnan(x) & ~(~np.isnan(y) & yb)) | (np.isnan(y) & ~(~np.isnan(x) & xb))
        return _logical(res, na)

    # -- calls --------------------------------------------------------------------------------
    def _call(self, e: ir.Call) -> Value:
        fn = _FUNCTIONS.get(e.func)
        if fn is None:
            raise self._error(
                f'could not find function "{e.func}".' + close_matches(e.func, _FUNCTIONS),
                e.func, call=True)
        return fn(self, e)

    def arg(self, e: ir.Call, i: int, name: str, required: bool = True) -> ir.Expr | None:
        """The i-th positional argument or the named one."""
        v = e.kwarg(name)
        if v is not None:
            return v
        if i < len(e.args):
            return e.args[i]
        if required:
            raise self._error(f'argument "{name}" is missing, with no default', e.func,
                              call=True)
        return None

    def const(self, e: ir.Expr | None, default: float | bool | None = None):
        """A constant argument (number or TRUE/FALSE), evaluated without data."""
        if e is None:
            return default
        v = self.eval(e)
        if not v.is_scalar and len(v) != 1:
            raise self._error(f"'{e}' must be a single number", str(e))
        x = v.data.reshape(-1)[0]
        if v.kind == LGL:
            return bool(x)
        if v.kind == NUM:
            return float(x)
        raise self._error(f"'{e}' must be a single number", str(e))

    def whole(self, e: ir.Expr | None, name: str, func: str, default: float | None = None
              ) -> float | None:
        """A count argument (``degree``, ``df``): a finite number, truncated towards zero as R's
        ``as.integer`` (``poly(x, 2.5)`` has degree 2). Inf and NaN are errors naming the
        argument (R fails on them with messages about other things, or runs out of memory)."""
        x = self.const(e, default)
        if x is None:
            return None
        x = float(x)
        if math.isnan(x):
            raise self._error(f"{func}(): '{name}' must be a number, not NA/NaN", func,
                              call=True)
        if math.isinf(x):
            raise self._error(f"{func}(): '{name}' must be finite, not {'-' if x < 0 else ''}"
                              "Inf", func, call=True)
        return float(math.trunc(x))

    def check_size(self, ncols: float, func: str, what: str) -> None:
        """A FormulaError before allocating a block of ``ncols`` columns that is too large
        (lmepy.design.limits)."""
        problem = size_problem(self.n, ncols, what)
        if problem is not None:
            raise self._error(problem, func, call=True)


_ARITH: dict[str, Callable] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    "%%": lambda x, y: x - np.floor(x / y) * y, "%/%": lambda x, y: np.floor(x / y),
}
_COMPARE: dict[str, Callable] = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, ">": np.greater, "<=": np.less_equal,
    ">=": np.greater_equal,
}


def _num_like(v: Value, data: np.ndarray) -> Value:
    if v.kind == MAT:
        return Value(MAT, data, colnames=v.colnames)
    return Value(NUM, np.asarray(data, dtype=np.float64))


def _compare_strings(op: str, a: Value, b: Value, ev: Evaluator) -> Value:
    """R compares a character vector with anything as strings, in the collation order."""
    from .values import _collate_key

    for v in (a, b):
        if v.kind == MAT:
            raise ev._error(f"'{op}' of a matrix and a character vector is not supported", op)
    sa, sb = np.atleast_1d(_as_strings(a)), np.atleast_1d(_as_strings(b))
    n = max(len(sa), len(sb))
    if len(sa) == 1:
        sa = np.repeat(sa, n)
    if len(sb) == 1:
        sb = np.repeat(sb, n)
    if len(sa) != len(sb):
        raise ev._error("longer object length is not a multiple of shorter object length", op)
    na = np.array([x is None or y is None for x, y in zip(sa, sb, strict=True)], dtype=bool)
    cmp = np.array([0 if (x is None or y is None) else
                    (lambda kx, ky: (kx > ky) - (kx < ky))(_collate_key(x), _collate_key(y))
                    for x, y in zip(sa, sb, strict=True)], dtype=np.int64)
    res = {"<": cmp < 0, ">": cmp > 0, "<=": cmp <= 0, ">=": cmp >= 0,
           "==": cmp == 0, "!=": cmp != 0}[op]
    return _logical(res, na)


def _logical(values: np.ndarray, na: np.ndarray) -> Value:
    out = np.where(na, -1, np.asarray(values, dtype=bool).astype(np.int8))
    return Value(LGL, np.asarray(out, dtype=np.int8))


def _as_strings(v: Value) -> np.ndarray:
    if v.kind == FAC:
        lv = np.array(list(v.levels or []) + [None], dtype=object)
        return lv[v.data]
    if v.kind == CHR:
        return v.data
    if v.kind == LGL:
        return np.array([None, "FALSE", "TRUE"], dtype=object)[np.asarray(v.data) + 1]
    from .values import r_num_str
    flat = np.atleast_1d(v.data)
    out = np.array([None if math.isnan(x) else r_num_str(x) for x in flat], dtype=object)
    return out.reshape(np.shape(v.data))


def _str_na(a: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda s: s is None, otypes=[bool])(a) if a.size else np.zeros(0, bool)


# --------------------------------------------------------------------------------------------
# Whitelisted functions


def _unary_math(func: Callable, rname: str) -> Callable:
    def f(ev: Evaluator, e: ir.Call) -> Value:
        if len(e.args) + len(e.kwargs) != 1:
            raise ev._error(f"{len(e.args) + len(e.kwargs)} arguments passed to '{rname}' "
                            "which requires 1", rname, call=True)
        v = ev.eval(ev.arg(e, 0, "x"))
        x = ev._numeric(v, rname)
        with np.errstate(all="ignore"):
            out = func(x)
        if np.any(np.isnan(out) & ~np.isnan(x)):
            warn("NaNs produced", EvaluationWarning)
        return _num_like(v, out)
    return f


def _log(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "x"))
    x = ev._numeric(v, "log")
    base_e = ev.arg(e, 1, "base", required=False)
    with np.errstate(all="ignore"):
        if base_e is None:
            out = np.log(x)
        else:
            bv = ev.eval(base_e)
            base = ev._flat(np.asarray(ev._numeric(bv, "log"), dtype=np.float64), bv, "log")
            x2, b2 = ev._conform(np.asarray(x, dtype=np.float64), base, "log")
            out = np.log(x2) / np.log(b2)
    if np.any(np.isnan(out) & ~np.isnan(x)):
        warn("NaNs produced", EvaluationWarning)
    return _num_like(v, out)


def _identity(ev: Evaluator, e: ir.Call) -> Value:
    if len(e.args) != 1:
        raise ev._error(f"{e.func}() takes one argument", e.func, call=True)
    return ev.eval(e.args[0])


def _offset(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "object"))
    x = ev._flat(ev._numeric(v, "offset"), v, "offset")
    return Value(NUM, np.asarray(x, dtype=np.float64))


def _as_numeric(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "x"))
    if v.kind == FAC:
        return Value(NUM, np.where(v.data < 0, np.nan, v.data + 1.0))
    if v.kind == CHR:
        out = pd.to_numeric(pd.Series(v.data, dtype=object), errors="coerce").to_numpy(float)
        if np.any(np.isnan(out) & ~np.array([s is None for s in v.data])):
            warn("NAs introduced by coercion", EvaluationWarning)
        return Value(NUM, out)
    x = ev._numeric(v, e.func)
    if v.kind == MAT:
        x = x.reshape(-1, order="F")
    if e.func == "as.integer":
        x = np.trunc(x)
    return Value(NUM, np.asarray(x, dtype=np.float64))


def _factor(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "x"))
    if v.is_scalar:
        v = Value(v.kind, v.data.reshape(1), v.levels)
    if v.kind == MAT:
        raise ev._error("factor() of a matrix is not supported", e.func, call=True)
    f = v.as_factor()
    ordered = e.func == "ordered" or bool(ev.const(e.kwarg("ordered"), False)) \
        or (e.func == "as.factor" and v.ordered) or (e.func == "factor" and v.ordered
                                                     and e.kwarg("ordered") is None)
    return Value(FAC, f.data, f.levels, ordered)


def _poly(ev: Evaluator, e: ir.Call) -> Value:
    if len(e.args) > 2:
        raise ev._error("poly() of several variables is not supported", e.func, call=True)
    v = ev.eval(ev.arg(e, 0, "x"))
    if v.kind == FAC:  # poly() takes a factor's integer codes (R: as.numeric(x))
        v = Value(NUM, np.where(v.data < 0, np.nan, v.data + 1.0))
    x = np.atleast_1d(np.asarray(ev._numeric(v, "poly"), dtype=np.float64))
    if v.kind == MAT:
        raise ev._error("poly() of a matrix is not supported", e.func, call=True)
    deg_e = ev.arg(e, 1, "degree", required=False)
    raw = bool(ev.const(e.kwarg("raw"), False))
    deg = float(ev.const(deg_e, 1.0))
    if deg < 1:
        raise ev._error("'degree' must be at least 1", e.func, call=True)
    if not raw and str(e) not in ev.template:
        if np.isnan(x).any():
            raise ev._error("missing values are not allowed in 'poly'", e.func, call=True)
        if deg >= len(np.unique(x)):
            raise ev._error("'degree' must be less than number of unique points", e.func,
                            call=True)
    degree = ev.whole(deg_e, "degree", "poly", 1.0)
    ev.check_size(degree, e.func, f"poly(degree = {degree:.0f})")
    d = int(degree)
    names = [str(i) for i in range(1, d + 1)]
    if raw:
        z = x[:, None] ** np.arange(1, d + 1)[None, :]
        return Value(MAT, z, colnames=names)
    fitted = ev.template.get(str(e))
    if fitted is not None and "alpha" in fitted.attrs:
        z = orthopoly_predict(x, fitted.attrs["alpha"], fitted.attrs["norm2"])
        return Value(MAT, z, colnames=names, attrs=fitted.attrs)
    if np.isnan(x).any():
        raise ev._error("missing values are not allowed in 'poly'", e.func, call=True)
    if d >= len(np.unique(x)):
        raise ev._error("'degree' must be less than number of unique points", e.func, call=True)
    z, alpha, norm2 = orthopoly(x, d)
    return Value(MAT, z, colnames=names, attrs={"alpha": alpha, "norm2": norm2})


def orthopoly(x: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's ``poly(x, degree)``: the columns of the centred Vandermonde matrix made orthogonal
    (QR), each scaled to unit length; also R's ``coefs`` (alpha, norm2) for prediction."""
    xbar = float(np.mean(x))
    xc = x - xbar
    vander = xc[:, None] ** np.arange(degree + 1)[None, :]
    q, r = np.linalg.qr(vander)
    z = q * np.diag(r)[None, :]
    norm2 = (z ** 2).sum(axis=0)
    alpha = ((xc[:, None] * z ** 2).sum(axis=0) / norm2 + xbar)[:degree]
    z = z[:, 1:] / np.sqrt(norm2[1:])[None, :]
    return z, alpha, np.concatenate([[1.0], norm2])


def orthopoly_predict(x: np.ndarray, alpha: np.ndarray, norm2: np.ndarray) -> np.ndarray:
    """R's ``predict(poly(...), newdata)``: the three-term recurrence with the fitted
    ``alpha`` and ``norm2``, so new x values get the fitted polynomials."""
    d = len(alpha)
    z = np.ones((x.shape[0], d + 1))
    z[:, 1] = x - alpha[0]
    for i in range(1, d):
        z[:, i + 1] = (x - alpha[i]) * z[:, i] - (norm2[i + 1] / norm2[i]) * z[:, i - 1]
    return z[:, 1:] / np.sqrt(norm2[2:])[None, :]


def _scale(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "x"))
    x = np.atleast_1d(np.asarray(ev._numeric(v, "scale"), dtype=np.float64))
    if x.ndim == 1:
        x = x[:, None]
    center = ev.const(ev.arg(e, 1, "center", required=False), True)
    scl = ev.const(ev.arg(e, 2, "scale", required=False), True)
    fitted = ev.template.get(str(e))
    if fitted is not None and fitted.kind == MAT:
        out = x.copy()
        if "scaled:center" in fitted.attrs:
            out = out - fitted.attrs["scaled:center"][None, :]
        if "scaled:scale" in fitted.attrs:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = out / fitted.attrs["scaled:scale"][None, :]
        return Value(MAT, out, colnames=fitted.colnames, attrs=fitted.attrs)
    out = x.copy()
    attrs: dict = {}
    if center is True or (center is not False and not isinstance(center, bool)):
        c = np.nanmean(x, axis=0) if center is True else np.full(x.shape[1], float(center))
        out = out - c[None, :]
        attrs["scaled:center"] = c
    if scl is True or (scl is not False and not isinstance(scl, bool)):
        if scl is True:
            nn = (~np.isnan(out)).sum(axis=0)
            s = np.sqrt(np.nansum(out ** 2, axis=0) / np.maximum(nn - 1, 1))
        else:
            s = np.full(x.shape[1], float(scl))
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant column: NaN, as R
            out = out / s[None, :]
        attrs["scaled:scale"] = s
    return Value(MAT, out, colnames=v.colnames if v.kind == MAT else None, attrs=attrs)


def _cbind(ev: Evaluator, e: ir.Call) -> Value:
    """R's cbind(): columns named after symbol arguments (deparse.level = 1), length-one
    arguments recycled to the longest."""
    parts: list[tuple[np.ndarray, list[str]]] = []
    items: list[tuple[str | None, ir.Expr]] = [(None, a) for a in e.args] + list(e.kwargs)
    for k, a in items:
        v = ev.eval(a)
        x = np.atleast_1d(np.asarray(ev._numeric(v, "cbind"), dtype=np.float64))
        if x.ndim == 1:
            inner = a.body if isinstance(a, ir.Paren) else a
            name = k if k is not None else (inner.id if isinstance(inner, ir.Name) else "")
            parts.append((x[:, None], [name]))
        else:
            parts.append((x, list(v.colnames) if v.colnames else [""] * x.shape[1]))
    nrow = max(p[0].shape[0] for p in parts)
    cols: list[np.ndarray] = []
    names: list[str] = []
    for x, nm in parts:
        if x.shape[0] != nrow:
            if x.shape[0] != 1:
                raise ev._error("number of rows of matrices must match (see arg 2)", e.func,
                                call=True)
            x = np.repeat(x, nrow, axis=0)
        cols.append(x)
        names += nm
    return Value(MAT, np.hstack(cols), colnames=names)


def _summary(func: Callable[[np.ndarray], float], rname: str) -> Callable:
    """mean(), median(), sd(), var(), min(), max(): one number (NA unless na.rm = TRUE)."""
    def f(ev: Evaluator, e: ir.Call) -> Value:
        v = ev.eval(ev.arg(e, 0, "x"))
        x = np.asarray(ev._numeric(v, rname), dtype=np.float64).reshape(-1)
        if bool(ev.const(e.kwarg("na.rm"), False)):
            x = x[~np.isnan(x)]
        elif np.isnan(x).any():
            return Value(NUM, np.array(np.nan))
        with np.errstate(all="ignore"):
            out = func(x) if x.size else np.nan
        return Value(NUM, np.array(float(out)))
    return f


def _round(ev: Evaluator, e: ir.Call) -> Value:
    v = ev.eval(ev.arg(e, 0, "x"))
    digits = float(ev.const(ev.arg(e, 1, "digits", required=False), 0.0))
    x = ev._numeric(v, "round")
    # R: round(x, Inf) is x, round(x, -Inf) is 0, round(x, NaN) is NaN; 10^digits overflows
    # beyond +-308, where rounding no longer changes (or zeroes) a double
    if math.isnan(digits):
        return _num_like(v, np.full(np.shape(x), np.nan))
    if digits > 308:
        return _num_like(v, np.array(x, dtype=np.float64))
    if digits < -308:
        return _num_like(v, np.where(np.isnan(x), np.nan, 0.0 * x))
    return _num_like(v, np.round(x, int(digits)))


def _relevel(ev: Evaluator, e: ir.Call) -> Value:
    """relevel(f, ref): the reference level first, the others in their order."""
    v = ev.eval(ev.arg(e, 0, "x"))
    ref_e = ev.arg(e, 1, "ref")
    if v.kind != FAC:
        raise ev._error("'relevel' only for (unordered) factors", e.func, call=True)
    if v.ordered:
        raise ev._error("'relevel' only for unordered factors", e.func, call=True)
    levels = list(v.levels or [])
    if isinstance(ref_e, ir.String):
        ref = ref_e.value
        if ref not in levels:
            raise ev._error("'ref' must be an existing level", e.func, call=True)
        i = levels.index(ref)
    else:
        i = int(ev.whole(ref_e, "ref", "relevel")) - 1
        if not 0 <= i < len(levels):
            raise ev._error(f"ref = {i + 1} must be in 1L:{len(levels)}", e.func, call=True)
    order = [i] + [j for j in range(len(levels)) if j != i]
    remap = np.empty(len(levels), dtype=np.int64)
    remap[order] = np.arange(len(levels))
    codes = np.where(v.data >= 0, remap[np.maximum(v.data, 0)], -1)
    return Value(FAC, codes.astype(np.int64), [levels[j] for j in order])


def _interaction(ev: Evaluator, e: ir.Call) -> Value:
    """interaction(a, b, ...): every combination as a level (drop = FALSE), the first factor
    varying fastest, labels joined by "."."""
    sep = e.kwarg("sep")
    sep_s = sep.value if isinstance(sep, ir.String) else "."
    vals = [ev.eval(a) for a in e.args]
    if not vals:
        raise ev._error("No factors specified", e.func, call=True)
    if any(v.kind == MAT for v in vals):
        raise ev._error("interaction() of a matrix is not supported", e.func, call=True)
    n = max(1 if v.is_scalar else len(v) for v in vals)
    # R recycles a constant (interaction(2, f)) to the other arguments' length
    vals = [Value(v.kind, np.repeat(v.data.reshape(-1), n) if v.is_scalar or len(v) == 1
                  else v.data, v.levels, v.ordered) for v in vals]
    if any(len(v) != n for v in vals):
        raise ev._error("arguments of interaction() must have the same length", e.func,
                        call=True)
    facs = [v if v.kind == FAC else v.as_factor() for v in vals]
    ev.check_size(float(np.prod([float(len(f.levels or [])) for f in facs])), e.func,
                  "interaction()")
    codes = facs[0].data.copy()
    levels = list(facs[0].levels or [])
    for f in facs[1:]:
        fl = list(f.levels or [])
        na = (codes < 0) | (f.data < 0)
        codes = np.where(na, -1, f.data * len(levels) + codes)
        levels = [f"{a}{sep_s}{b}" for b in fl for a in levels]
    drop = bool(ev.const(e.kwarg("drop"), False))
    out = Value(FAC, codes.astype(np.int64), levels)
    return drop_unused(out) if drop else out


def _vector_arg(ev: Evaluator, e: ir.Expr | None) -> np.ndarray | None:
    """A constant numeric vector argument such as ``knots = c(2, 5)``."""
    if e is None:
        return None
    v = ev.eval(e)
    if v.kind not in (NUM, LGL):
        raise ev._error(f"'{e}' must be numeric", str(e))
    return np.atleast_1d(np.asarray(ev._numeric(v, "c"), dtype=np.float64))


def _spline(kind: str) -> Callable:
    """splines::bs() and ns(): knots at quantiles of x; on new data, the fitted knots."""
    names = (["x", "df", "knots", "degree", "intercept", "Boundary.knots"] if kind == "bs"
             else ["x", "df", "knots", "intercept", "Boundary.knots"])

    def f(ev: Evaluator, e: ir.Call) -> Value:
        from .splines import bs_basis, ns_basis

        args = {nm: ev.arg(e, i, nm, required=(i == 0)) for i, nm in enumerate(names)}
        v = ev.eval(args["x"])
        if v.kind not in (NUM, LGL):
            raise ev._error(f"{kind}() needs a numeric variable", e.func, call=True)
        x = np.atleast_1d(np.asarray(ev._numeric(v, kind), dtype=np.float64))
        fitted = ev.template.get(str(e))
        df = ev.whole(args["df"], "df", kind)
        knots = _vector_arg(ev, args["knots"])
        bk = _vector_arg(ev, args["Boundary.knots"])
        intercept = bool(ev.const(args["intercept"], False))
        if fitted is not None and "knots" in fitted.attrs:
            knots, bk = fitted.attrs["knots"], fitted.attrs["Boundary.knots"]
        if np.isnan(x).all():
            raise ev._error(f"{kind}() of a variable with no non-missing values", e.func,
                            call=True)
        degree = 3
        if kind == "bs":
            deg = ev.const(args["degree"], 3.0)
            if math.isnan(float(deg)) or float(deg) < 1:
                raise ev._error("'degree' must be integer >= 1", e.func, call=True)
            if float(deg) > MAX_SPLINE_DEGREE:
                raise ev._error(f"bs(): 'degree' = {float(deg):g} is more than lmepy allows "
                                f"({MAX_SPLINE_DEGREE})", e.func, call=True)
            degree = int(deg)
        if knots is not None and not np.all(np.isfinite(knots)):
            raise ev._error(f"{kind}(): 'knots' must be finite numbers", e.func, call=True)
        if bk is not None and (bk.shape[0] != 2 or not np.all(np.isfinite(bk))):
            raise ev._error(f"{kind}(): 'Boundary.knots' must be two finite numbers", e.func,
                            call=True)
        ncols = (len(knots) if knots is not None else max(df or 0, 0)) + degree + 2
        ev.check_size(ncols, e.func, f"{kind}()")
        try:
            if kind == "bs":
                z, attrs = bs_basis(x, None if df is None else int(df), knots, degree,
                                    intercept, bk)
            else:
                z, attrs = ns_basis(x, None if df is None else int(df), knots, intercept, bk)
        except ValueError as err:
            raise ev._error(str(err), e.func, call=True) from None
        colnames = [str(i) for i in range(1, z.shape[1] + 1)]
        return Value(MAT, z, colnames=colnames, attrs=attrs)
    return f


def _c(ev: Evaluator, e: ir.Call) -> Value:
    parts = [_vector_arg(ev, a) for a in e.args]
    return Value(NUM, np.concatenate([p for p in parts if p is not None]) if parts
                 else np.zeros(0))


_FUNCTIONS: dict[str, Callable[[Evaluator, ir.Call], Value]] = {
    "I": _identity,
    "(": _identity,
    "log": _log,
    "log2": _unary_math(np.log2, "log2"),
    "log10": _unary_math(np.log10, "log10"),
    "log1p": _unary_math(np.log1p, "log1p"),
    "exp": _unary_math(np.exp, "exp"),
    "expm1": _unary_math(np.expm1, "expm1"),
    "sqrt": _unary_math(np.sqrt, "sqrt"),
    "abs": _unary_math(np.abs, "abs"),
    "sin": _unary_math(np.sin, "sin"),
    "cos": _unary_math(np.cos, "cos"),
    "tan": _unary_math(np.tan, "tan"),
    "asin": _unary_math(np.arcsin, "asin"),
    "acos": _unary_math(np.arccos, "acos"),
    "atan": _unary_math(np.arctan, "atan"),
    "sinh": _unary_math(np.sinh, "sinh"),
    "cosh": _unary_math(np.cosh, "cosh"),
    "tanh": _unary_math(np.tanh, "tanh"),
    "floor": _unary_math(np.floor, "floor"),
    "ceiling": _unary_math(np.ceil, "ceiling"),
    "poly": _poly,
    "scale": _scale,
    "factor": _factor,
    "as.factor": _factor,
    "ordered": _factor,
    "as.numeric": _as_numeric,
    "as.double": _as_numeric,
    "as.integer": _as_numeric,
    "offset": _offset,
    "cbind": _cbind,
    "mean": _summary(np.mean, "mean"),
    "median": _summary(np.median, "median"),
    "sd": _summary(lambda x: np.std(x, ddof=1), "sd"),
    "var": _summary(lambda x: np.var(x, ddof=1), "var"),
    "min": _summary(np.min, "min"),
    "max": _summary(np.max, "max"),
    "round": _round,
    "sign": _unary_math(np.sign, "sign"),
    "trunc": _unary_math(np.trunc, "trunc"),
    "relevel": _relevel,
    "bs": _spline("bs"),
    "ns": _spline("ns"),
    "c": _c,
    "interaction": _interaction,
}


def check_data_frame(data: object) -> pd.DataFrame:
    """A pandas DataFrame from the caller's data (polars converted), never the caller's own
    object, so nothing we do can modify it."""
    if isinstance(data, pd.DataFrame):
        return _check_columns(data)
    if type(data).__module__.split(".")[0] == "polars":
        return _check_columns(_from_polars(data))
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        out = to_pandas()
        if isinstance(out, pd.DataFrame):
            return _check_columns(out)
    if isinstance(data, dict):
        return _check_columns(pd.DataFrame(data))
    raise DataError(f"'data' must be a pandas DataFrame (or polars), not {type(data).__name__}")


def _check_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Column names a formula can name unambiguously: one level, no duplicates (R's
    data.frame() would make them unique; a formula would silently read one of them)."""
    if isinstance(df.columns, pd.MultiIndex):
        raise DataError("'data' has MultiIndex (hierarchical) column names, which a formula "
                        "cannot name: flatten them first, e.g. df.columns = ['_'.join(map(str, "
                        "c)) for c in df.columns]")
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        names = ", ".join(repr(c) for c in dict.fromkeys(dup))
        raise DataError(f"'data' has duplicated column names ({names}): a formula could not "
                        "tell them apart; rename them")
    return df


def _from_polars(data: object) -> pd.DataFrame:
    """A pandas copy of a polars DataFrame (a LazyFrame is collected first), without needing
    pyarrow: numbers as floats/ints (null -> NaN), Enums as Categoricals in their order, other
    text (Categorical included) as strings, whose levels then follow R's sort."""
    import polars as pl

    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if not isinstance(data, pl.DataFrame):
        raise DataError(f"'data' must be a pandas or polars DataFrame, not "
                        f"{type(data).__name__}")
    cols: dict[str, object] = {}
    for name in data.columns:
        s = data.get_column(name)
        dt = s.dtype
        if isinstance(dt, pl.Enum):
            cols[name] = pd.Categorical(s.cast(pl.String).to_list(),
                                        categories=list(dt.categories))
        elif dt == pl.Categorical or dt == pl.String:
            cols[name] = pd.Series(s.cast(pl.String).to_list(), dtype=object)
        elif dt == pl.Boolean:
            vals = s.to_list()
            cols[name] = pd.Series(vals, dtype=bool if None not in vals else object)
        elif dt.is_numeric():
            cols[name] = s.to_numpy() if s.null_count() == 0 else \
                s.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        elif dt.is_temporal():
            cols[name] = pd.Series(s.to_numpy())
        else:
            cols[name] = pd.Series(s.to_list(), dtype=object)
    return pd.DataFrame(cols)
