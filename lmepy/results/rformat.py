"""R's number formatting and printing, as lme4's and nlme's print methods use it.

lme4's printed text is built from a handful of R primitives: ``format()`` (common significant
digits across a vector, fixed or scientific by R's width rule), ``round()``/``signif()``,
``print.default`` of named vectors and matrices, ``printCoefmat`` and ``format.pval``,
``zapsmall``, ``quantile(type = 7)``, ``abbreviate`` and ``cat(fill = TRUE)``. Reproducing the
text digit for digit means reproducing these rules exactly, including R's use of 80-bit long
double when it counts significant digits; this module does that with numpy's ``longdouble``.

Missing values: ``None`` (or ``pandas.NA``) is R's ``NA``; a float NaN is R's ``NaN``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "R_DIGITS",
    "abbreviate",
    "cat_fill",
    "encode_real",
    "format_info",
    "format_num",
    "format_pval",
    "format_str",
    "formatC",
    "print_coefmat",
    "print_matrix",
    "print_named",
    "print_vector",
    "quantile7",
    "r_round",
    "r_signif",
    "zapsmall",
]

R_DIGITS = 7  # getOption("digits")
R_WIDTH = 80  # getOption("width")
DBL_EPS = 2.220446049250313e-16  # .Machine$double.eps

_LD = np.longdouble
_TBL = [_LD(10) ** k for k in range(28)]  # powers of ten exact in a 64-bit mantissa
_KP_MAX = 27


def _is_na(v: Any) -> bool:
    """R's NA (not NaN): None or pandas.NA."""
    if v is None:
        return True
    try:
        import pandas as pd

        return v is pd.NA
    except ImportError:  # pragma: no cover
        return False


def _as_float(v: Any) -> float | None:
    """A value as float, None for NA."""
    if _is_na(v):
        return None
    return float(v)


# ---------------------------------------------------------------------------------------------
# round() and signif()


def _pow_di(x: float, n: int) -> float:
    """R_pow_di: x^n by repeated squaring (exact for 10^n up to 10^22)."""
    result = 1.0
    neg = n < 0
    if neg:
        n = -n
    while True:
        if n & 1:
            result *= x
        n >>= 1
        if n:
            x *= x
        else:
            break
    return 1.0 / result if neg else result


def _round1(x: float, digits: float) -> float:
    """R 4's round(x, digits) for one value: the nearer of the two decimal candidates."""
    if math.isnan(x) or math.isnan(digits):
        return x + digits
    if math.isinf(x):
        return x
    if digits > 323 or x == 0.0:
        return x
    if digits < -308:
        return 0.0
    if digits == 0.0:
        return float(np.rint(x))
    dig = int(math.floor(digits + 0.5))
    sgn = 1.0
    if x < 0.0:
        sgn, x = -1.0, -x
    l10x = math.log10(2.0) * (0.5 + (math.frexp(x)[1] - 1))
    if l10x + dig > 15:
        return sgn * x
    if dig <= 308:
        p10 = _pow_di(10.0, dig)
        x10 = x * p10
        i10 = math.floor(x10)
        xd = i10 / p10
        xu = math.ceil(x10) / p10
    else:
        e10 = dig - 308
        p10b = _pow_di(10.0, e10)
        p10 = _pow_di(10.0, 308)
        x10 = (x * p10) * p10b
        i10 = math.floor(x10)
        xd = i10 / p10 / p10b
        xu = math.ceil(x10) / p10 / p10b
    du = xu - x
    dd = x - xd
    return sgn * (xu if (du < dd or (math.fmod(i10, 2.0) == 1 and du == dd)) else xd)


def r_round(x: Any, digits: float = 0) -> Any:
    """R's ``round(x, digits)`` (R >= 4.0.0 algorithm); scalars, sequences and arrays."""
    if np.ndim(x) == 0:
        v = _as_float(x)
        return None if v is None else _round1(v, float(digits))
    arr = np.asarray(x, dtype=float)
    out = np.array([_round1(float(v), float(digits)) for v in arr.ravel()])
    return out.reshape(arr.shape)


def _signif1(x: float, digits: float) -> float:
    if math.isnan(x) or math.isnan(digits):
        return x + digits
    if math.isinf(x):
        return x
    if math.isinf(digits):
        if digits > 0:
            return x
        digits = 1.0
    if x == 0.0:
        return x
    dig = int(np.round(digits))
    if dig > 22:
        return x
    dig = max(dig, 1)
    sgn = 1.0
    if x < 0.0:
        sgn, x = -1.0, -x
    l10 = math.log10(x)
    e10 = int(dig - 1 - math.floor(l10))
    max10e = 308
    if abs(l10) < max10e - 2:
        p10 = 1.0
        if e10 > max10e:
            p10 = _pow_di(10.0, e10 - max10e)
            e10 = max10e
        if e10 > 0:
            pow10 = _pow_di(10.0, e10)
            return sgn * (float(np.rint((x * pow10) * p10)) / pow10) / p10
        pow10 = _pow_di(10.0, -e10)
        return sgn * (float(np.rint(x / pow10)) * pow10)
    do_round = max10e - l10 >= _pow_di(10.0, -dig)
    e2 = dig + (1 if e10 > 0 else -1) * 22
    p10 = _pow_di(10.0, e2)
    x *= p10
    P10 = _pow_di(10.0, e10 - e2)
    x *= P10
    if do_round:
        x += 0.5
    x = math.floor(x) / p10
    return sgn * x / P10


def r_signif(x: Any, digits: int = 6) -> Any:
    """R's ``signif(x, digits)``."""
    if np.ndim(x) == 0:
        v = _as_float(x)
        return None if v is None else _signif1(v, float(digits))
    arr = np.asarray(x, dtype=float)
    out = np.array([_signif1(float(v), float(digits)) for v in arr.ravel()])
    return out.reshape(arr.shape)


def zapsmall(x: Sequence[Any], digits: int = R_DIGITS) -> list[float | None]:
    """R 4.2's ``zapsmall``: round so that values tiny next to the largest show as 0."""
    vals = [_as_float(v) for v in x]
    ok = [v for v in vals if v is not None and not math.isnan(v)]
    if not ok:
        return vals
    mx = max(abs(v) for v in ok)
    dig = max(0.0, digits - math.log10(mx)) if mx > 0 else float(digits)
    return [None if v is None else _round1(v, dig) for v in vals]


# ---------------------------------------------------------------------------------------------
# format(): the common format of a numeric vector


def _scientific(x: float, digits: int) -> tuple[int, int, int, bool]:
    """(neg, kpower, nsig, roundingwidens) of one finite x at `digits` significant digits,
    with R's long-double scaling (so that e.g. 0.15 counts as R counts it)."""
    if x == 0.0:
        return 0, 0, 1, False
    neg = 1 if x < 0 else 0
    r = -x if neg else x
    if digits >= 16:
        s = f"{r:#.{digits - 1}e}"
        mant, _, ex = s.partition("e")
        kpower = int(ex)
        digs = mant.replace(".", "")
        nsig = len(digs.rstrip("0")) or 1
        return neg, kpower, nsig, False
    kp = int(math.floor(math.log10(r))) - digits + 1
    r_prec = _LD(r)
    if abs(kp) <= _KP_MAX:
        if kp > 0:
            r_prec = r_prec / _TBL[kp]
        elif kp < 0:
            r_prec = r_prec * _TBL[-kp]
    else:
        r_prec = r_prec / np.power(_LD(10), _LD(kp))
    if r_prec < _TBL[digits - 1]:
        r_prec = r_prec * _LD(10)
        kp -= 1
    alpha = float(np.rint(r_prec))
    nsig = digits
    for _ in range(digits):
        alpha /= 10.0
        if alpha == math.floor(alpha):
            nsig -= 1
        else:
            break
    if nsig == 0 and digits > 0:
        nsig = 1
        kp += 1
    kpower = kp + digits - 1
    rgt = min(max(digits - kpower, 0), _KP_MAX)
    fuzz = 0.5 / float(_TBL[rgt])
    widens = bool(0 < kpower <= _KP_MAX and _LD(r) < _TBL[kpower] - _LD(fuzz))
    return neg, kpower, nsig, widens


def format_info(x: Sequence[Any], digits: int = R_DIGITS, nsmall: int = 0,
                scipen: int = 0, na_width: int = 2) -> tuple[int, int, int]:
    """R's ``formatReal``: (width, decimals, exponent-digits flag) shared by all of x."""
    naflag = nanflag = posinf = neginf = False
    neg = 0
    mxl = rgt = mxsl = mxns = -(10**9)
    mnl = 10**9
    any_finite = False
    for v in x:
        f = _as_float(v)
        if f is None:
            naflag = True
            continue
        if not math.isfinite(f):
            if math.isnan(f):
                nanflag = True
            elif f > 0:
                posinf = True
            else:
                neginf = True
            continue
        any_finite = True
        neg_i, kpower, nsig, widens = _scientific(f, digits)
        left = kpower + 1
        if widens:
            left -= 1
        sleft = neg_i + (1 if left <= 0 else left)
        right = nsig - left
        if neg_i:
            neg = 1
        rgt = max(rgt, right)
        mxl = max(mxl, left)
        mnl = min(mnl, left)
        mxsl = max(mxsl, sleft)
        mxns = max(mxns, nsig)
    if digits == 0:
        rgt = 0
    if mxl < 0:
        mxsl = 1 + neg
    if rgt < 0:
        rgt = 0
    wF = mxsl + rgt + (rgt != 0)
    e = 2 if (mxl > 100 or mnl <= -99) else 1
    if any_finite:
        d = mxns - 1
        w = neg + (d > 0) + d + 4 + e
        if wF <= w + scipen:
            e = 0
            if nsmall > rgt:
                rgt = nsmall
                wF = mxsl + rgt + (rgt != 0)
            d = rgt
            w = wF
    else:
        w = d = e = 0
    if naflag:
        w = max(w, na_width)
    if nanflag:
        w = max(w, 3)
    if posinf:
        w = max(w, 3)
    if neginf:
        w = max(w, 4)
    return w, d, e


def encode_real(v: Any, w: int, d: int, e: int, na: str = "NA") -> str:
    """R's ``encodeReal0``: one number in a field of width w (right-justified)."""
    f = _as_float(v)
    if f is None:
        s = na
    elif math.isnan(f):
        s = "NaN"
    elif math.isinf(f):
        s = "Inf" if f > 0 else "-Inf"
    elif e:
        if f == 0.0:
            f = 0.0
        s = f"{f:#.{d}e}" if d else f"{f:.{d}e}"
    else:
        if f == 0.0:
            f = 0.0
        s = f"{f:.{d}f}"
    return s.rjust(w)


def format_num(x: Sequence[Any], digits: int | None = None, nsmall: int = 0,
               width: int | None = None, trim: bool = False, scipen: int = 0,
               na_encode: str = "NA", scientific: bool | int | None = None) -> list[str]:
    """R's ``format(x, digits, nsmall, width, trim, scientific)`` of a numeric vector:
    common width, decimals and notation. ``digits`` None means getOption("digits") (7);
    ``scientific`` True/False forces the notation, an integer is a scipen penalty."""
    xs = list(x)
    if digits is None:
        digits = R_DIGITS
    if scientific is not None:
        if isinstance(scientific, bool):
            scipen = -99 if scientific else 310  # the penalties R uses for TRUE / FALSE
        else:
            scipen = int(scientific)
    w, d, e = format_info(xs, digits=digits, nsmall=nsmall, scipen=scipen)
    if width is not None:
        w = max(w, width)
    out = [encode_real(v, 0 if trim else w, d, e, na=na_encode) for v in xs]
    return out


def format1(x: Any, digits: int | None = None, nsmall: int = 0) -> str:
    """One number as R's ``format(x)`` / ``cat(x)`` shows it."""
    return format_num([x], digits=digits, nsmall=nsmall)[0]


def format_str(x: Sequence[str], justify: str = "left", width: int = 0) -> list[str]:
    """R's ``format()`` of a character vector: pad to a common width."""
    w = max([len(s) for s in x] + [width])
    if justify == "left":
        return [s.ljust(w) for s in x]
    if justify == "right":
        return [s.rjust(w) for s in x]
    if justify == "centre":
        return [_centre(s, w) for s in x]
    return list(x)


def _centre(s: str, w: int) -> str:
    pad = w - len(s)
    left = pad // 2
    return " " * left + s + " " * (pad - left)


def formatC(x: Sequence[Any] | float, digits: int | None = None, format: str = "g",
            width: int | None = None, flag: str = "") -> list[str]:
    """R's ``formatC``: C-style formatting of each number on its own (no common format).
    As R: width defaults to digits + 1, width 0 means width = digits."""
    xs = [x] if np.ndim(x) == 0 else list(x)  # type: ignore[arg-type]
    if width is None and digits is None:
        width = 1
    if digits is None:
        digits = 2 if format == "d" else 4
    elif digits < 0:
        digits = 6
    if width is None:
        width = digits + 1
    elif width == 0:
        width = digits
    if width < 0:
        flag, width = "-", -width
    out = []
    for v in xs:
        f = _as_float(v)
        if f is None or not math.isfinite(f):
            s = "NA" if f is None else ("NaN" if math.isnan(f) else ("Inf" if f > 0 else "-Inf"))
            out.append(s.ljust(width) if flag == "-" else s.rjust(width))
        elif format == "d":
            out.append(("%" + flag + "*d") % (width, int(np.rint(f))))
        else:
            out.append(("%" + flag + "*.*" + format) % (width, digits, f))
    return out


def format_pval(pv: Sequence[Any], digits: int = max(1, R_DIGITS - 2),
                eps: float = DBL_EPS, na_form: str = "NA") -> list[str]:
    """R's ``format.pval``: p-values below eps shown as ``< eps`` (``<2e-16``)."""
    vals = [_as_float(v) for v in pv]
    ina = [v is None or math.isnan(v) for v in vals]
    ok = [v for v, n in zip(vals, ina, strict=True) if not n]
    is0 = [v < eps for v in ok]
    r = [""] * len(ok)
    rr: list[str] = []
    if not all(is0):
        pvs = [v for v, z in zip(ok, is0, strict=True) if not z]
        expo = [math.floor(math.log10(v if v > 0 else 1e-50)) for v in pvs]
        fixp = [e >= -3 or (e == -4 and digits > 1) for e in expo]
        rr = [""] * len(pvs)
        fx = [v for v, f in zip(pvs, fixp, strict=True) if f]
        sc = [v for v, f in zip(pvs, fixp, strict=True) if not f]
        fxs = iter(format_num(fx, digits=digits)) if fx else iter(())
        scs = iter(format_num(sc, digits=digits)) if sc else iter(())
        for i, f in enumerate(fixp):
            rr[i] = next(fxs) if f else next(scs)
        it = iter(rr)
        for i, z in enumerate(is0):
            if not z:
                r[i] = next(it)
    if any(is0):
        dg = max(1, digits - 2)
        if not all(is0):
            nc = max(len(s) for s in rr)
            if dg > 1 and dg + 6 > nc:
                dg = max(1, nc - 7)
            sep = "" if (dg == 1 and nc <= 6) else " "
        else:
            sep = "" if dg == 1 else " "
        txt = "<" + sep + format1(eps, digits=dg)
        for i, z in enumerate(is0):
            if z:
                r[i] = txt
    out = []
    it2 = iter(r)
    for n in ina:
        out.append(na_form if n else next(it2))
    return out


# ---------------------------------------------------------------------------------------------
# quantile(type = 7)


def quantile7(x: Sequence[float], probs: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)
              ) -> list[float]:
    """R's ``quantile(x, probs, type = 7, na.rm = TRUE)`` with R's arithmetic order."""
    xs = np.sort(np.asarray([v for v in x if v is not None and not math.isnan(v)], float))
    n = xs.size
    if n == 0:  # all NA (e.g. a zero residual scale): R's quantile gives NA
        return [math.nan for _ in probs]
    out = []
    for p in probs:
        index = 1 + max(n - 1, 0) * p
        lo = int(math.floor(index))
        hi = int(math.ceil(index))
        qs = float(xs[lo - 1])
        xhi = float(xs[hi - 1])
        if index > lo and xhi != qs:
            h = index - lo
            qs = (1 - h) * qs + h * xhi
        out.append(qs)
    return out


# ---------------------------------------------------------------------------------------------
# abbreviate()


def _abbrev1(s: str, minlen: int) -> str:
    """One string through R's abbreviation passes (ASCII rules of ``abbreviate``)."""
    if len(s) <= minlen:
        return s
    b = list(s)
    nspace = 0

    def is_space(c: str) -> bool:
        return c in " \t\n\r\f\v"

    def first_char(i: int) -> bool:  # previous char is a space: i starts a word
        return is_space(b[i - 1])

    def last_char(i: int) -> bool:  # i ends a word
        return (not is_space(b[i - 1])) and (i + 1 >= len(b) or is_space(b[i + 1]))

    def done() -> bool:
        return len(b) - nspace <= minlen

    def finish() -> str:
        if len(b) > minlen:
            for i in range(len(b) - 1, 0, -1):
                if i < len(b) and is_space(b[i]):
                    del b[i]
        return "".join(b)

    trailing = True
    for i in range(len(b) - 1, 0, -1):
        if is_space(b[i]):
            if trailing:
                del b[i:]
            else:
                nspace += 1
        else:
            trailing = False
        if done():
            return finish()

    vowels = set("aeiou")
    passes = [
        lambda i: b[i] in vowels and last_char(i),
        lambda i: b[i] in vowels and not first_char(i),
        lambda i: b[i].islower() and b[i].isascii() and last_char(i),
        lambda i: b[i].islower() and b[i].isascii() and not first_char(i),
        lambda i: not first_char(i) and not is_space(b[i]),
    ]
    for test in passes:
        for i in range(len(b) - 1, 0, -1):
            if i < len(b) and test(i):
                del b[i]
            if done():
                return finish()
    return finish()


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's ``abbreviate(names, minlength)`` (method "left.kept", use.classes = TRUE):
    lengthens the abbreviation of duplicates until all are unique."""
    if minlength <= 0:
        return [""] * len(names)
    old = [n.strip(" ") for n in names]
    uniq: list[str] = []
    for n in old:
        if n not in uniq:
            uniq.append(n)
    x = list(uniq)
    dup2 = [True] * len(uniq)
    ml = minlength
    while True:
        for i, d in enumerate(dup2):
            if d:
                x[i] = _abbrev1(uniq[i], ml)
        seen: set[str] = set()
        dup = []
        for v in x:
            dup.append(v in seen)
            seen.add(v)
        if not any(dup):
            break
        ml += 1
        dupvals = {x[i] for i, d in enumerate(dup) if d}
        dup2 = [d or (x[i] in dupvals) for i, d in enumerate(dup)]
    lookup = dict(zip(uniq, x, strict=True))
    return [lookup[n] for n in old]


# ---------------------------------------------------------------------------------------------
# print.default of vectors and matrices; cat(fill = TRUE)


def print_vector(x: Sequence[Any], digits: int | None = None, gap: int = 1,
                 width: int = R_WIDTH) -> str:
    """R's ``print.default`` of an unnamed numeric vector: ``[1]`` index labels, common
    format, as many entries per line as fit in `width`."""
    n = len(x)
    if n == 0:
        return "numeric(0)\n"
    w, d, e = format_info(list(x), digits=R_DIGITS if digits is None else digits)
    labw = len(str(n)) + 2
    w += gap
    out = "[1]".rjust(labw)
    pos = labw
    for i, v in enumerate(x):
        if i > 0 and pos + w > width:
            out += "\n" + f"[{i + 1}]".rjust(labw)
            pos = labw
        out += encode_real(v, w, d, e)
        pos += w
    return out + "\n"


def print_named(values: Sequence[str], names: Sequence[str], gap: int = 1,
                width: int = R_WIDTH) -> str:
    """R's printing of a named vector whose elements are already formatted strings
    (``print.default`` of a named numeric or, with quote = FALSE, character vector).
    Returns the text with a final newline; each field is followed by `gap` spaces."""
    n = len(values)
    if n == 0:
        return "named numeric(0)\n"
    w = max(max(len(v) for v in values), max(len(s) for s in names))
    per = max(1, width // (w + gap))
    lines = []
    for start in range(0, n, per):
        idx = range(start, min(n, start + per))
        lines.append("".join(names[k].rjust(w) + " " * gap for k in idx))
        lines.append("".join(values[k].rjust(w) + " " * gap for k in idx))
    return "\n".join(lines) + "\n"


def print_named_num(x: Sequence[Any], names: Sequence[str], digits: int | None = None,
                    gap: int = 1, width: int = R_WIDTH) -> str:
    """``print(x, digits)`` of a named numeric vector."""
    return print_named(format_num(x, digits=digits), names, gap=gap, width=width)


def print_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str] | None,
                 colnames: Sequence[str] | None, right: bool = False, gap: int = 1,
                 width: int = R_WIDTH, na_print: str = "NA") -> str:
    """R's ``print.default`` of a character matrix (quote = FALSE): `cells` is a list of
    rows. Column labels follow the cells' justification; row names are left-justified.
    Columns that do not fit in `width` continue in a further block, as R does."""
    r = len(cells)
    c = len(colnames) if colnames is not None else (len(cells[0]) if r else 0)
    cols = [[(na_print if cells[i][j] is None else cells[i][j]) for i in range(r)]
            for j in range(c)]
    if rownames is not None:
        rlabw = max([len(s) for s in rownames] + [0])
    else:
        rlabw = len(str(r)) + 3
    w = []
    for j in range(c):
        wj = max([len(s) for s in cols[j]] + [0])
        clabw = len(colnames[j]) if colnames is not None else len(str(j + 1)) + 3
        w.append(max(wj, clabw))
    out: list[str] = []

    def row_label(i: int) -> str:
        if rownames is not None:
            return rownames[i].ljust(rlabw)
        lab = f"[{i + 1},]"
        return lab.rjust(rlabw)

    if c == 0:
        return "".join("\n" + row_label(i) for i in range(r)) + "\n"
    jmin = 0
    while jmin < c:
        jmax = jmin
        tot = rlabw
        while True:
            tot += w[jmax] + gap
            jmax += 1
            if not (jmax < c and tot + w[jmax] + gap < width):
                break
        line = " " * rlabw
        for j in range(jmin, jmax):
            lab = colnames[j] if colnames is not None else f"[,{j + 1}]"
            if right:
                line += " " * gap + lab.rjust(w[j])
            else:
                line += " " * gap + lab.ljust(w[j])
        out.append(line)
        for i in range(r):
            line = row_label(i)
            for j in range(jmin, jmax):
                s = cols[j][i]
                line += " " * gap + (s.rjust(w[j]) if right else s.ljust(w[j]))
            out.append(line)
        jmin = jmax
    return "\n".join(out) + "\n"


def print_num_matrix(m: Sequence[Sequence[Any]], rownames: Sequence[str] | None,
                     colnames: Sequence[str] | None, digits: int | None = None,
                     gap: int = 1, width: int = R_WIDTH) -> str:
    """R's ``print.default`` of a numeric matrix: each column formatted on its own."""
    r = len(m)
    c = len(colnames) if colnames is not None else (len(m[0]) if r else 0)
    cols = [format_num([m[i][j] for i in range(r)], digits=digits) for j in range(c)]
    cells = [[cols[j][i] for j in range(c)] for i in range(r)]
    return print_matrix(cells, rownames, colnames, right=True, gap=gap, width=width)


def cat_fill(items: Sequence[str | Sequence[str]], width: int = R_WIDTH, sep: str = " "
             ) -> str:
    """R's ``cat(..., fill = TRUE)``: each item (a string, or a vector of strings) is
    preceded by `sep`; a new line starts before a string that would pass `width` (the
    separator stays at the end of the previous line, as R leaves it); a final newline."""
    out = ""
    pos = 0
    sepw = len(sep)
    for iobj, item in enumerate(items):
        vec = [item] if isinstance(item, str) else list(item)
        if iobj > 0:
            out += sep
        if not vec:
            continue
        for i, p in enumerate(vec):
            if i > 0:
                out += sep
            if (iobj > 0 or i > 0) and pos + len(p) + sepw > width:
                out += "\n"
                pos = 0
            out += p
            pos += len(p) + sepw
    return out + "\n"


# ---------------------------------------------------------------------------------------------
# printCoefmat


_SIGNIF_LEGEND = ("0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 "
                  "\u2018.\u2019 0.1 \u2018 \u2019 1")


def _stars(p: float | None) -> str:
    if p is None or math.isnan(p):
        return ""
    for cut, sym in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return sym
    return " "


def _as_r_number(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def print_coefmat(x: Sequence[Sequence[Any]], rownames: Sequence[str] | None,
                  colnames: Sequence[str], digits: int = max(3, R_DIGITS - 2),
                  signif_stars: bool = True, signif_legend: bool | None = None,
                  dig_tst: int | None = None, cs_ind: Sequence[int] | None = None,
                  tst_ind: Sequence[int] | None = None, zap_ind: Sequence[int] = (),
                  P_values: bool | None = None, has_Pvalue: bool | None = None,
                  eps_Pvalue: float = DBL_EPS, na_print: str = "NA") -> str:
    """R's ``printCoefmat``: estimate and standard-error columns rounded together,
    test statistics to `dig_tst` decimals, p-values by ``format.pval`` with stars.
    `x` is a list of rows; column indices are 0-based. Returns the printed text."""
    nc = len(colnames)
    nr = len(x)
    if signif_legend is None:
        signif_legend = signif_stars
    if dig_tst is None:
        dig_tst = max(1, min(5, digits - 1))
    if has_Pvalue is None:
        has_Pvalue = nc >= 4 and colnames[nc - 1][:3] in ("Pr(", "p-v")
    if P_values is None:
        P_values = has_Pvalue
    elif P_values and not has_Pvalue:
        raise ValueError("'P.values' is TRUE, but 'has.Pvalue' is not")
    xm = [[_as_float(x[i][j]) for j in range(nc)] for i in range(nr)]
    if has_Pvalue and not P_values:
        xm = [row[:-1] for row in xm]
        colnames = list(colnames[:-1])
        nc -= 1
        has_Pvalue = False
    tst_missing = tst_ind is None
    k = nc - int(has_Pvalue) - (1 if tst_missing else len(tst_ind))  # type: ignore[arg-type]
    if cs_ind is None:
        cs_ind = list(range(k))
    if tst_ind is None:
        tst_ind = [k]
    cf = [[""] * nc for _ in range(nr)]

    def col(j: int) -> list[float | None]:
        return [xm[i][j] for i in range(nr)]

    def isna(v: float | None) -> bool:
        return v is None or math.isnan(v)

    for j in zap_ind:
        z = zapsmall(col(j), digits)
        for i in range(nr):
            xm[i][j] = z[i]
    if len(cs_ind):
        vals = [xm[i][j] for j in cs_ind for i in range(nr)]
        acs = [abs(v) for v in vals if v is not None and math.isfinite(v)]
        if acs:
            nz = [a for a in acs if a != 0]
            # R: max(1, digits - digmin) over both ends of the range: the smallest wins
            digmin = 1 + math.floor(math.log10(min(nz))) if nz else 1
            rd = max(1, digits - digmin)
            f = format_num([None if v is None else _round1(v, rd) for v in vals],
                           digits=digits)
            it = iter(f)
            for j in cs_ind:
                for i in range(nr):
                    cf[i][j] = next(it)
    if len(tst_ind):
        vals = [xm[i][j] for j in tst_ind for i in range(nr)]
        f = format_num([None if v is None else _round1(v, dig_tst) for v in vals],
                       digits=digits)
        it = iter(f)
        for j in tst_ind:
            for i in range(nr):
                cf[i][j] = next(it)
    special = set(cs_ind) | set(tst_ind) | ({nc - 1} if has_Pvalue else set())
    for j in range(nc):
        if j not in special:
            f = format_num(col(j), digits=digits)
            for i in range(nr):
                cf[i][j] = f[i]
    # entries whose zero-ness changed by rounding get fewer digits
    okp_cols = [j for j in range(nc) if not (has_Pvalue and j == nc - 1)]
    fix = []
    for j in okp_cols:
        if j in tst_ind:
            continue
        for i in range(nr):
            v = xm[i][j]
            if isna(v):
                continue
            num = _as_r_number(cf[i][j])
            if num is None:
                continue
            if (v == 0) != (num == 0):
                fix.append((i, j))
    if fix:
        f = format_num([xm[i][j] for i, j in fix], digits=max(1, digits - 1))
        for (i, j), s in zip(fix, f, strict=True):
            cf[i][j] = s
    for i in range(nr):
        for j in range(nc):
            v = xm[i][j]
            if v is None:
                cf[i][j] = na_print
            elif math.isnan(v):
                cf[i][j] = "NaN"
    stars_col: list[str] | None = None
    show_stars = False
    if P_values:
        pj = nc - 1
        okp = [i for i in range(nr) if not isna(xm[i][pj])]
        if okp:
            pv = [xm[i][pj] for i in okp]
            fp = format_pval(pv, digits=dig_tst, eps=eps_Pvalue)
            for i, s in zip(okp, fp, strict=True):
                cf[i][pj] = s
            show_stars = signif_stars and any(p < 0.1 for p in pv)  # type: ignore[operator]
            if show_stars:
                stars_col = format_str([_stars(xm[i][pj]) for i in range(nr)])
    colnames = list(colnames)
    if stars_col is not None:
        for i in range(nr):
            cf[i].append(stars_col[i])
        colnames.append("")
    text = print_matrix(cf, rownames, colnames, right=True, na_print=na_print)
    if show_stars and signif_legend:
        text += "---\nSignif. codes:  " + _SIGNIF_LEGEND + "\n"
    return text
