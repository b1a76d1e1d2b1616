"""The text of lme4 1.1-31's print methods, built from plain numbers.

Each function here mirrors one of lme4's printing helpers (``.prt.methTit``, ``.prt.call``,
``.prt.aictab``, ``.prt.resids``, ``formatVC``/``.prt.VC``, ``.prt.grps``, ``.prt.warn``) and
returns text instead of writing it, so that the fit objects can assemble ``print(fit)``,
``print(summary(fit))`` and ``print(VarCorr(fit))`` line for line, and so that tests can feed
R's own full-precision numbers straight into the formatter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lmepy import rtext as rf

COR_MAX = 12  # getOption("lme4.summary.cor.max")


@dataclass
class VCGroup:
    """One random-effects term of ``VarCorr``: lme4's name (``Subject.1`` for a repeated
    group), its column names, standard deviations and correlation matrix."""

    name: str
    cnms: list[str]
    stddev: np.ndarray
    corr: np.ndarray

    @property
    def cov(self) -> np.ndarray:
        return self.corr * np.outer(self.stddev, self.stddev)


@dataclass
class OptInfo:
    """What ``.prt.warn`` needs: the optimizer's name, its convergence code and message,
    the optimizer's warnings and lme4's own convergence messages."""

    optimizer: str = "nloptwrap"
    conv: int = 0
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    lme4_messages: list[str] = field(default_factory=list)


def meth_title(REML: bool, nAGQ: int | None = None) -> str:
    """lme4's ``methTitle``: for a linear mixed model (nAGQ None) the ML title ends with a
    space (R pastes an empty string); a GLMM names its approximation."""
    if nAGQ is None:
        return "Linear mixed model fit by " + ("REML" if REML else "maximum likelihood ")
    how = ("(Laplace Approximation)" if nAGQ == 1 else
           f"(Adaptive Gauss-Hermite Quadrature, nAGQ = {nAGQ})")
    return "Generalized linear mixed model fit by maximum likelihood " + how


def strwrap(text: str, width: int, indent: int = 0, exdent: int = 0) -> list[str]:
    """R's ``strwrap`` of one paragraph: words joined greedily into lines shorter than
    `width`."""
    words = text.split()
    lines: list[str] = []
    cur = " " * indent
    n_in_line = 0
    for w in words:
        if n_in_line and len(cur) + 1 + len(w) > width - 1:
            lines.append(cur)
            cur = " " * exdent + w
            n_in_line = 1
        else:
            cur = cur + (" " if n_in_line else "") + w
            n_in_line += 1
    lines.append(cur)
    return lines


def prt_meth_title(title: str, cls: str = "lmerMod") -> str:
    """``.prt.methTit``: the title and class; a title too long for the line is wrapped and
    the class follows in plain brackets, as lme4 does."""
    if len(title) + 5 + len(cls) > rf.R_WIDTH:
        parts = strwrap(title, rf.R_WIDTH - 2, exdent=2)
        return rf.cat_fill([*parts, " [", cls, "]"], sep="")
    return f"{title} ['{cls}']\n"


def prt_family(family: str | None, link: str | None) -> str:
    """``.prt.family``: " Family: binomial  ( logit )" (nothing for a linear model)."""
    if family is None:
        return ""
    items = [" Family:", family]
    if link is not None:
        items.append(f" ( {link} )")
    return rf.cat_fill(items)


def prt_call(formula: str | list[str], data: str | None, weights: str | None = None,
             offset: str | None = None, subset: str | None = None) -> str:
    """The Formula/Data/Weights/Offset/Subset lines of ``.prt.call`` (`formula` may be the
    several lines of R's deparse of a long formula)."""
    out = rf.cat_fill(["Formula:", formula])
    if data:
        out += rf.cat_fill(["   Data:", data])
    if weights:
        out += rf.cat_fill(["Weights:", weights])
    if offset:
        out += rf.cat_fill([" Offset:", offset])
    if subset:
        out += rf.cat_fill([" Subset:", subset])
    return out


def prt_aictab(aictab: Mapping[str, float], digits: int = 1) -> str:
    """``.prt.aictab``: the REML criterion line, or the AIC/BIC/logLik/deviance/df.resid
    table with every entry rounded to `digits` and formatted together."""
    keys = list(aictab)
    t4 = [rf.r_round(aictab[k], digits) for k in keys]
    if keys == ["REML"]:
        return rf.cat_fill(["REML criterion at convergence:", rf.format1(t4[0])])
    vals = rf.format_num(t4)
    if "df.resid" in keys:
        i = keys.index("df.resid")
        vals[i] = rf.format1(t4[i])
    return rf.print_named(vals, keys)


def prt_resids(quantiles: Sequence[float], digits: int = 4,
               title: str = "Scaled residuals:") -> str:
    """``.prt.resids``: the zapped five-number summary of the scaled residuals."""
    rq = rf.zapsmall(list(quantiles), digits + 1)
    return (title + " \n"
            + rf.print_named_num(rq, ["Min", "1Q", "Median", "3Q", "Max"], digits=digits)
            + "\n")


def format_vc(groups: Sequence[VCGroup], sigma: float | None, digits: int,
              comp: Sequence[str] = ("Std.Dev.",)) -> tuple[list[list[str]], list[str]]:
    """lme4's ``formatVC``: the cells and column names of the random-effects table."""
    use_c = [c for c in ("Variance", "Std.Dev.") if c in comp]
    if not use_c:
        raise ValueError("Must *either* show variances or standard deviations")
    colnms = ["Groups", "Name"] + use_c
    sds: list[float] = []
    lens: list[int] = []
    names: list[str] = []
    for g in groups:
        sds.extend(float(s) for s in g.stddev)
        lens.append(len(g.stddev))
        names.extend(g.cnms)
    if sigma is not None:
        sds.append(float(sigma))
        lens.append(1)
        names.append("")
    grp_names = [g.name for g in groups] + (["Residual"] if sigma is not None else [])
    nr = len(sds)
    rows = [[""] * len(colnms) for _ in range(nr)]
    pos = 0
    for gname, ln in zip(grp_names, lens, strict=True):
        rows[pos][0] = gname
        pos += ln
    for i in range(nr):
        rows[i][1] = names[i]
    if "Variance" in use_c:
        f = rf.format_num([s * s for s in sds], digits=digits)
        j = colnms.index("Variance")
        for i in range(nr):
            rows[i][j] = f[i]
    if "Std.Dev." in use_c:
        f = rf.format_num(sds, digits=digits)
        j = colnms.index("Std.Dev.")
        for i in range(nr):
            rows[i][j] = f[i]
    if any(ln > 1 for ln in lens[: len(groups)]):
        maxlen = max(lens[: len(groups)])
        dig = max(2, digits - 2)
        corr_rows: list[list[str]] = []
        for g in groups:
            k = len(g.stddev)
            vals = [rf.r_round(float(v), dig) for v in np.asarray(g.corr, float).T.ravel()]
            cells = rf.format_num(vals, nsmall=dig)
            cc = [[cells[j * k + i] if i > j else "" for j in range(k)] for i in range(k)]
            cc = [r + [""] * (maxlen - k) for r in cc]
            corr_rows.extend(cc)
        corr_rows = [r[: maxlen - 1] for r in corr_rows]
        while len(corr_rows) < nr:
            corr_rows.append([""] * (maxlen - 1))
        for i in range(nr):
            rows[i].extend(corr_rows[i])
        colnms = colnms + ["Corr"] + [""] * max(0, maxlen - 2)
    return rows, colnms


def varcorr_text(groups: Sequence[VCGroup], sigma: float | None, digits: int,
                 comp: Sequence[str] = ("Std.Dev.",)) -> str:
    """``print(formatVC(...), quote = FALSE)``: the random-effects table."""
    rows, colnms = format_vc(groups, sigma, digits, comp)
    return rf.print_matrix(rows, [""] * len(rows), colnms, right=False)


def prt_grps(ngrps: Mapping[str, int], nobs: int) -> str:
    """``.prt.grps``: "Number of obs: 180, groups:  Subject, 18"."""
    grp = "; ".join(f"{k}, {v}" for k, v in ngrps.items())
    return rf.cat_fill([f"Number of obs: {nobs}, groups: ", grp])


def prt_warn(opt: OptInfo, summary: bool = False) -> str:
    """``.prt.warn``: the convergence-code line, shown only when there is something to say."""
    nmsgs = len(opt.lme4_messages)
    nwarn = len(opt.warnings)
    if not (opt.conv > 0 or nmsgs > 0 or nwarn > 0):
        return ""
    if opt.conv == 0:
        m = "(OK)"
    elif opt.message is not None:
        m = f"({opt.message})"
    else:
        m = ""
    convmsg = f"optimizer ({opt.optimizer}) convergence code: {opt.conv} {m}"
    if summary:
        return f"{convmsg} ; {nwarn} optimizer warnings; {nmsgs} lme4 warnings \n"
    # cat(..., sep = "\n") ends with a newline of its own (its separator holds one), then
    # lme4 adds cat("\n"): hence the empty line after the messages
    return "\n".join([convmsg, *opt.lme4_messages, *opt.warnings]) + "\n\n"


def fixef_cor_text(names: Sequence[str], corr: np.ndarray) -> str:
    """The "Correlation of Fixed Effects" table: 3 decimals, lower triangle, names
    abbreviated as lme4 abbreviates them (rows to 11 characters, columns to 6)."""
    p = len(names)
    rns = rf.abbreviate(names, minlength=11)
    cns = rf.abbreviate(names, minlength=6)
    vals = [rf.r_round(float(v), 3) for v in np.asarray(corr, float).T.ravel()]
    cells = rf.format_num(vals, nsmall=3)
    m = [[cells[j * p + i] if i > j else "" for j in range(p)] for i in range(p)]
    sub = [row[: p - 1] for row in m[1:]]
    return "\nCorrelation of Fixed Effects:\n" + rf.print_matrix(sub, rns[1:], cns[: p - 1])


def cor_not_shown_message(p: int, name: str = "summary(fit)") -> str:
    """The message lme4 sends (to stderr) instead of a correlation table when p > 12."""
    if len(name) >= 32:
        name = "...."
    return (f"\nCorrelation matrix not shown by default, as p = {p} > {COR_MAX}.\n"
            f"Use print({name}, correlation=TRUE)  or\n"
            f"    vcov({name})        if you need it\n\n")


def rank_message(ndropped: int) -> str:
    """lme4's message when columns of X are dropped as rank deficient."""
    s = "s" if ndropped > 1 else ""
    return (f"fixed-effect model matrix is rank deficient so dropping {ndropped} column{s}"
            f" / coefficient{s}")


@dataclass
class PrintData:
    """Everything lme4's print methods show, as plain numbers and names."""

    REML: bool
    formula: str | list[str]
    data: str | None
    aictab: dict[str, float]
    resid_quantiles: list[float]
    varcor: Sequence[VCGroup]
    sigma: float | None  # None: no Residual row (a GLMM without a scale parameter)
    nobs: int
    ngrps: dict[str, int]
    coef_names: list[str]
    coefficients: np.ndarray  # p x 3: Estimate, Std. Error, t value
    corr: np.ndarray | None  # p x p correlation of the fixed effects
    optinfo: OptInfo = field(default_factory=OptInfo)
    weights: str | None = None
    offset: str | None = None
    subset: str | None = None
    fit_msgs: list[str] = field(default_factory=list)
    cls: str = "lmerMod"
    coef_colnames: tuple[str, ...] = ("Estimate", "Std. Error", "t value")
    title: str | None = None  # methTitle; None: the linear mixed model's
    family: str | None = None  # GLMM family and link, for the " Family:" line
    link: str | None = None
    # residual correlation/variance structures (lmer with correlation=, which lme4 lacks):
    # (heading line, parameter names, estimates), printed after the groups line
    structures: list[tuple[str, list[str], list[float]]] = field(default_factory=list)


def prt_structures(structures: Sequence[tuple[str, list[str], list[float]]],
                   digits: int | None = None) -> str:
    """The residual structures' blocks: a heading, then the named estimates."""
    return "".join(head + "\n" + (rf.print_named_num(vals, names, digits=digits) if names
                                  else "") for head, names, vals in structures)


def summary_parts(d: PrintData, digits: int = 4, correlation: bool | None = None,
                  signif_stars: bool = True, name: str = "summary(fit)",
                  has_cor: bool | None = None,
                  ranef_comp: Sequence[str] = ("Variance", "Std.Dev.")
                  ) -> tuple[str, str, int]:
    """``print(summary(fit), correlation = ...)``: (text lme4 writes to stdout, text of its
    messages, the position in the stdout text where the messages appear on a console).
    ``has_cor``: whether ``summary()`` computed the correlation (lme4's default: p <= 12)."""
    out = prt_meth_title(d.title or meth_title(d.REML), d.cls)
    out += prt_family(d.family, d.link)
    out += prt_call(d.formula, d.data, d.weights, d.offset, d.subset)
    out += "\n"
    out += prt_aictab(d.aictab)
    out += "\n"
    out += prt_resids(d.resid_quantiles, digits)
    out += "Random effects:\n"
    out += varcorr_text(d.varcor, d.sigma, digits, ranef_comp)
    out += prt_grps(d.ngrps, d.nobs)
    out += prt_structures(d.structures, digits)
    msgs = ""
    pos = -1
    p = len(d.coef_names)
    if p > 0:
        out += "\nFixed effects:\n"
        out += rf.print_coefmat(d.coefficients.tolist(), d.coef_names, list(d.coef_colnames),
                                digits=digits, signif_stars=signif_stars)
        if has_cor is None:
            has_cor = p <= COR_MAX
        if correlation is None:
            correlation = has_cor and p <= COR_MAX
            if not correlation and p > COR_MAX:
                msgs += cor_not_shown_message(p, name)
        elif correlation and not has_cor and p > 1:
            # summary() did not compute the correlation: lme4 says so, then computes it
            msgs += "\nCorrelation of fixed effects could have been required in summary()\n"
            pos = len(out)
        if correlation and p > 1 and d.corr is not None:
            out += fixef_cor_text(d.coef_names, d.corr)
    if pos < 0:
        pos = len(out)
    if any(len(m) > 0 for m in d.fit_msgs):
        out += "fit warnings:\n" + "".join(m + "\n" for m in d.fit_msgs)
    out += prt_warn(d.optinfo, summary=False)
    return out, msgs, pos


def fit_text(d: PrintData, digits: int = 4, ranef_comp: Sequence[str] = ("Std.Dev.",)
             ) -> str:
    """``print(fit, digits, ranef.comp)``: lme4's short print."""
    out = prt_meth_title(d.title or meth_title(d.REML), d.cls)
    out += prt_family(d.family, d.link)
    out += prt_call(d.formula, d.data, d.weights, d.offset, d.subset)
    out += prt_aictab(d.aictab, 4)
    out += "Random effects:\n"
    out += varcorr_text(d.varcor, d.sigma, digits, ranef_comp)
    out += prt_grps(d.ngrps, d.nobs)
    out += prt_structures(d.structures, digits)
    if d.coef_names:
        out += "Fixed Effects:\n"
        vals = rf.format_num([float(v) for v in d.coefficients[:, 0]], digits=digits)
        out += rf.print_named(vals, d.coef_names, gap=2)
    else:
        out += "No fixed effect coefficients\n"
    if any(len(m) > 0 for m in d.fit_msgs):
        out += "fit warnings:\n" + "".join(m + "\n" for m in d.fit_msgs)
    out += prt_warn(d.optinfo, summary=True)
    return out


def groups_from_frame(grp: Sequence[str], var1: Sequence[str | None],
                      var2: Sequence[str | None], sdcor: Sequence[float]
                      ) -> tuple[list[VCGroup], float | None]:
    """VarCorr groups rebuilt from the columns of ``as.data.frame(VarCorr(fit))``."""
    order: list[str] = []
    sd: dict[str, dict[str, float]] = {}
    cor: dict[str, dict[tuple[str, str], float]] = {}
    sigma = None
    for g, v1, v2, s in zip(grp, var1, var2, sdcor, strict=True):
        if g == "Residual" and v1 is None:
            sigma = float(s)
            continue
        if g not in sd:
            order.append(g)
            sd[g] = {}
            cor[g] = {}
        if v2 is None:
            sd[g][str(v1)] = float(s) if s is not None else math.nan
        else:
            cor[g][(str(v1), str(v2))] = float(s) if s is not None else math.nan
    groups = []
    for g in order:
        cn = list(sd[g])
        k = len(cn)
        c = np.eye(k)
        for (a, b), v in cor[g].items():
            i, j = cn.index(a), cn.index(b)
            c[i, j] = c[j, i] = v
        groups.append(VCGroup(g, cn, np.array([sd[g][n] for n in cn]), c))
    return groups, sigma


# ---------------------------------------------------------------------------------------------
# print(ranef(fit)), print(coef(fit))


def data_frame_text(values: np.ndarray, rownames: Sequence[str], colnames: Sequence[str],
                    digits: int = rf.R_DIGITS) -> str:
    """R's ``print.data.frame`` of a numeric data frame: each column formatted on its own
    (``format(col, digits)``), right-justified under its name, row names on the left."""
    v = np.asarray(values, dtype=float)
    cols = [rf.format_num(v[:, j].tolist(), digits=digits) for j in range(v.shape[1])]
    cells = [[cols[j][i] for j in range(v.shape[1])] for i in range(v.shape[0])]
    return rf.print_matrix(cells, list(rownames), list(colnames), right=True)


def list_of_frames_text(frames: Mapping[str, tuple[np.ndarray, Sequence[str], Sequence[str]]]
                        ) -> str:
    """R's print of a named list of data frames: ``$name``, the frame, an empty line."""
    out = ""
    for name, (vals, rn, cn) in frames.items():
        out += f"${name}\n" + data_frame_text(vals, rn, cn) + "\n"
    return out


def ranef_text(frames: Mapping[str, tuple[np.ndarray, Sequence[str], Sequence[str]]],
               with_condvar: Sequence[str] = ()) -> str:
    """lme4's ``print.ranef.mer``: the list of frames, then which carry conditional
    variances."""
    out = list_of_frames_text(frames)
    if with_condvar:
        out += rf.cat_fill(["with conditional variances for",
                            ["\u201c" + n + "\u201d" for n in with_condvar]], width=10**9)[:-1]
        out += " \n"
    return out


def coef_text(frames: Mapping[str, tuple[np.ndarray, Sequence[str], Sequence[str]]]) -> str:
    """``print(coef(fit))``: lme4 has no print method for ``coef.mer``, so R prints the list
    and its class attribute."""
    return list_of_frames_text(frames) + 'attr(,"class")\n[1] "coef.mer"\n'
