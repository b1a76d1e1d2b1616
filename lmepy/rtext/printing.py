"""R's printing of vectors, matrices and coefficient tables: ``print.default`` of named
and unnamed vectors and of matrices, ``cat(fill = TRUE)`` and ``printCoefmat``, as lme4's and
nlme's print methods use them. The numbers in them are formatted by :mod:`lmepy.rtext.numbers`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lmepy.rtext.numbers import (
    DBL_EPS,
    R_DIGITS,
    R_WIDTH,
    _as_float,
    _round1,
    encode_real,
    format_info,
    format_num,
    format_pval,
    zapsmall,
)
from lmepy.rtext.strings import format_str

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


def _fill_rounded(cf: list[list[str]], cols: Sequence[int], vals: list[float | None],
                  rd: int, digits: int) -> None:
    """printCoefmat's ``format(round(x[, cols], rd), digits = digits)``: the columns `cols`
    of `cf` (`vals` column after column) formatted together."""
    nr = len(cf)
    it = iter(format_num([None if v is None else _round1(v, rd) for v in vals], digits=digits))
    for j in cols:
        for i in range(nr):
            cf[i][j] = next(it)


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
            _fill_rounded(cf, cs_ind, vals, rd, digits)
    if len(tst_ind):
        vals = [xm[i][j] for j in tst_ind for i in range(nr)]
        _fill_rounded(cf, tst_ind, vals, dig_tst, digits)
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
