"""R's number formatting: ``format()``, ``round()``, ``signif()``, ``formatC()``,
``format.pval``, ``zapsmall`` and ``quantile(type = 7)``, digit for digit.

lme4's printed text is built from a handful of R primitives: ``format()`` (common significant
digits across a vector, fixed or scientific by R's width rule), ``round()``/``signif()``,
``format.pval`` and ``zapsmall``. Reproducing the text digit for digit means reproducing these
rules exactly, including R's use of 80-bit long double when it counts significant digits; this
module does that with numpy's ``longdouble``. Strings and printed tables built on these numbers
are in :mod:`lmepy.rtext.strings` and :mod:`lmepy.rtext.printing`.

Missing values: ``None`` (or ``pandas.NA``) is R's ``NA``; a float NaN is R's ``NaN``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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


def special_number_text(v: float) -> str | None:
    """How R writes NaN, Inf, -Inf and 0 in ``deparse()`` and ``as.character()`` (before
    choosing digits and notation for any other double), else None."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    if v == 0:
        return "0"
    return None


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


def _elementwise(fn: Callable[[float, float], float], x: Any, digits: float) -> Any:
    """`fn(value, digits)` on a scalar (None for R's NA) or on each entry of an array."""
    if np.ndim(x) == 0:
        v = _as_float(x)
        return None if v is None else fn(v, float(digits))
    arr = np.asarray(x, dtype=float)
    out = np.array([fn(float(v), float(digits)) for v in arr.ravel()])
    return out.reshape(arr.shape)


def r_round(x: Any, digits: float = 0) -> Any:
    """R's ``round(x, digits)`` (R >= 4.0.0 algorithm); scalars, sequences and arrays."""
    return _elementwise(_round1, x, digits)


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
    return _elementwise(_signif1, x, digits)


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
