"""nlme 3.1-162's printed text for lme and gls fits: print(fit), print(summary(fit)) and
VarCorr(fit), built from the fit's numbers with R's formatting rules. The lme and gls texts
share their pieces here (titles, AIC table, correlation and variance structures, coefficient
table, correlation of the estimates, residual quantiles), as nlme's print methods do; the
tables of inference (anova, intervals) print themselves (lmepy.inference.nlme_anova,
lmepy.inference.nlme_intervals)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lmepy.covariance import CorStruct, VarFunc, corSymm, varIdent
from lmepy.covariance._spec import Form
from lmepy.rtext import (
    abbreviate,
    format_num,
    print_matrix,
    print_named,
    print_named_num,
    print_num_matrix,
    quantile7,
    r_round,
    zapsmall,
)

STRUCTURE_TEXT = {
    "pdLogChol": "General positive-definite, Log-Cholesky parametrization",
    "pdSymm": "General positive-definite",
    "pdDiag": "Diagonal",
    "pdIdent": "Multiple of an Identity",
    "pdCompSymm": "Compound Symmetry",
    "pdBlocked": "Blocked",
}

VAR_TEXT = {"varIdent": "Different standard deviations per stratum",
            "varPower": "Power of variance covariate",
            "varExp": "Exponential of variance covariate",
            "varConstPower": "Constant plus power of variance covariate",
            "varFixed": "fixed weights"}


class RText:
    """A value whose str() is R's printed text; ``.value`` holds the numbers."""

    def __init__(self, text: str, value: Any = None):
        self.text = text
        self.value = value

    def __str__(self) -> str:
        return self.text.rstrip("\n")

    def __repr__(self) -> str:
        return self.text.rstrip("\n")


class NlmeSummary(RText):
    """summary(fit) of an lme or gls fit: str() is nlme's printed summary; ``coefficients``
    (also ``tTable`` and ``value``) is nlme's ``summary(fit)$tTable``."""

    def __init__(self, text: str, coefficients: pd.DataFrame):
        super().__init__(text, coefficients)
        self.coefficients = coefficients
        self.tTable = coefficients


# ---- pieces shared by lme and gls --------------------------------------------------------------

def fmt7(v: float) -> str:
    return format_num([v], digits=7)[0]


def _deparse_formula(text: str) -> str:
    try:
        from lmepy.formula import parse_formula
        return str(parse_formula(text))
    except Exception:  # noqa: BLE001 - printing falls back to the text as given
        return text


def title_lines(fit: Any, kind: str) -> str:
    """nlme's first lines: the title ("Linear mixed-effects model" or "Generalized least
    squares" fit by REML / maximum likelihood), gls's model formula, and the data's name."""
    title = "Linear mixed-effects model" if kind == "lme" else "Generalized least squares"
    how = "REML" if fit.method == "REML" else "maximum likelihood"
    out = f"{title} fit by {how}\n"
    if kind == "gls":
        out += f"  Model: {_deparse_formula(fit.formula)} \n"
    return out + f"  Data: {fit.data_name} \n"


def loglik_line(fit: Any) -> str:
    kind = "restricted-" if fit.method == "REML" else ""
    return f"  Log-{kind}likelihood: {fmt7(fit.logLik())}\n"


def aic_table(fit: Any) -> str:
    cells = [[fmt7(v) for v in (fit.AIC(), fit.BIC(), fit.logLik())]]
    return print_matrix(cells, [" "], ["AIC", "BIC", "logLik"], right=True)


def print_correlation(m: np.ndarray, names: list[str], title: str = " Correlation:",
                      rdig: int = 3) -> str:
    """nlme's print.correlation: lower triangle rounded to `rdig`, abbreviated labels."""
    p = m.shape[0]
    if p < 2:
        return ""
    ll = np.tril_indices(p, -1)
    vals = format_num([r_round(float(v), rdig) for v in m[ll]])
    cells = [[""] * p for _ in range(p)]
    for (i, j), s in zip(zip(*ll, strict=True), vals, strict=True):
        cells[i][j] = s
    cols = abbreviate(names, minlength=rdig + 3)
    body = print_matrix([row[:-1] for row in cells[1:]], names[1:], cols[:-1], right=False)
    return f"{title} \n" + body


def vcov_correlation(V: np.ndarray, names: list[str], title: str = " Correlation:") -> str:
    """The correlation of the fixed-effects estimates, as summary(fit) prints it."""
    s = np.sqrt(np.diag(V))
    return print_correlation(V / np.outer(s, s), names, title)


def corstruct_text(cs: CorStruct, groups: tuple[str, ...] = ()) -> str:
    """nlme's print of a correlation structure (``groups``: lme's innermost level, which
    the structure's form takes when it names none)."""
    form = cs.form
    if not form.groups and groups:
        form = Form(form.covariate, tuple(groups))
    if isinstance(cs, corSymm):
        m = cs._full()
        labels = [str(i + 1) for i in range(m.shape[0])]
        return ("Correlation Structure: General\n"
                f" Formula: {form} \n"
                " Parameter estimate(s):\n" + print_correlation(m, labels))
    coef = cs.coef()
    return (f"Correlation Structure: {cs.description}\n"
            f" Formula: {form} \n"
            " Parameter estimate(s):\n"
            + print_named_num(list(coef.values()), list(coef)))  # type: ignore[union-attr]


def varfunc_text(vf: VarFunc) -> str:
    """nlme's print of a variance function (all its coefficients, fixed ones included)."""
    allc = vf.ratios() if isinstance(vf, varIdent) else vf.coef_all()
    if vf.nlme_class == "varFixed":
        return f"Variance function:\n Structure: fixed weights\n Formula: {vf.form} \n"
    if not allc:
        if isinstance(vf, varIdent):
            return ""
        return (f"Variance function structure of class {vf.nlme_class} with no parameters, "
                "or uninitialized\n")
    name = VAR_TEXT.get(vf.nlme_class, vf.nlme_class)
    if vf.form.groups and not isinstance(vf, varIdent):
        name += ", different strata"
    return ("Variance function:\n"
            f" Structure: {name}\n"
            f" Formula: {vf.form} \n"
            " Parameter estimates:\n"
            + print_named_num(list(allc.values()), list(allc)))


def coef_table_text(tt: pd.DataFrame) -> str:
    """summary's coefficient table: every column zapsmall'ed and formatted on its own, the
    p-values rounded to 4 digits."""
    cols = [format_num(zapsmall(list(tt[c]))) for c in tt.columns[:-1]]
    cols.append(format_num([r_round(float(p), 4) for p in tt[tt.columns[-1]]]))
    cells = [[c[i] for c in cols] for i in range(len(tt))]
    return print_matrix(cells, [str(i) for i in tt.index], list(tt.columns), right=True)


def residual_quantiles(res: np.ndarray) -> str:
    """Standardized residuals: their quantiles, or the values themselves for 5 or fewer."""
    res = np.asarray(res, dtype=float)
    if len(res) > 5:
        return print_named_num(quantile7(list(res)), ["Min", "Q1", "Med", "Q3", "Max"])
    return print_named_num(list(res), [str(i + 1) for i in range(len(res))])


# ---- lme -------------------------------------------------------------------------------------

def level_names(names: list[str]) -> list[str]:
    """"Side %in% Dog" for each level, outer first."""
    return [" %in% ".join(reversed(names[:i + 1])) for i in range(len(names))]


def _structures_text(fit: Any) -> str:
    """The correlation structure and variance function blocks of an lme fit."""
    d = fit.d
    fit._set_structs()
    out = ""
    if d.cor is not None:
        out += corstruct_text(d.cor, d.cor.form.groups or (d.levels[-1].name,))
    if d.var is not None:
        out += varfunc_text(d.var)
    return out


def _re_block(fit: Any) -> str:
    d = fit.d
    sig = fit.sol.sigma
    names = level_names([lv.name for lv in d.levels])
    out = ["Random effects:\n"]
    Q = len(d.levels)
    for i, (lv, pp) in enumerate(zip(d.levels, fit.sol.pd_pars, strict=True)):
        out.append(_pd_summary(lv.pd, pp, sig, names[i], resid=(i == Q - 1)))
        if i < Q - 1:
            out.append("\n")
    return "".join(out)


def _groups_text(fit: Any) -> str:
    """nlme's "Number of Groups:" line: a count, or a named row per level."""
    levels = fit.d.levels
    if len(levels) == 1:
        return f"\nNumber of Groups: {levels[0].nlevels} \n"
    return "\nNumber of Groups: \n" + print_named(
        [str(lv.nlevels) for lv in levels], level_names([lv.name for lv in levels]))


def lme_summary(fit: Any) -> NlmeSummary:
    """nlme's ``print(summary(fit))`` of an lme fit."""
    d = fit.d
    tt = fit.tTable()
    s = [title_lines(fit, "lme"), aic_table(fit), "\n", _re_block(fit), "\n",
         _structures_text(fit), f"Fixed effects:  {d.fixed_text} \n", coef_table_text(tt)]
    if d.p > 1:
        s.append(vcov_correlation(fit.sol.vcov, d.xnames))
    s.append("\nStandardized Within-Group Residuals:\n")
    s.append(residual_quantiles(fit.residuals("pearson")))
    s.append(f"\nNumber of Observations: {d.N}")
    s.append(_groups_text(fit))
    return NlmeSummary("".join(s), tt)


def lme_print(fit: Any) -> str:
    """nlme's ``print(fit)`` of an lme fit: log-likelihood, fixed effects, model
    structures, groups."""
    d = fit.d
    s = [title_lines(fit, "lme"), loglik_line(fit), f"  Fixed: {d.fixed_text} \n",
         print_named_num(list(fit.sol.beta), d.xnames), "\n", _re_block(fit), "\n",
         _structures_text(fit), f"Number of Observations: {d.N}", _groups_text(fit)]
    return "".join(s).rstrip("\n")


def _form_str(pd_: Any) -> str:
    if pd_.kind == "pdBlocked":
        return ", ".join(_form_str(b) for b in pd_.blocks)
    return f"{pd_.kind}({pd_.formula_text[1:].strip()})"


def _corr_cells(P: np.ndarray) -> list[list[str]]:
    """The lower triangle of the correlation matrix of P rounded to 3 digits, as strings."""
    k = P.shape[0]
    sd = np.sqrt(np.diag(P))
    C = P / np.outer(sd, sd)
    ll = np.tril_indices(k, -1)
    fm = format_num([r_round(v, 3) for v in C[ll]])
    cm = [[""] * k for _ in range(k)]
    for (a, b), s in zip(zip(*ll, strict=True), fm, strict=True):
        cm[a][b] = s
    return cm


def lme_varcorr(fit: Any) -> RText:
    """nlme's ``VarCorr(fit)`` as printed."""
    d = fit.d
    sig = fit.sol.sigma
    blocks = []
    for lv, pp in zip(d.levels, fit.sol.pd_pars, strict=True):
        P = lv.pd.relcov(pp) * sig ** 2
        sd = np.sqrt(np.diag(P))
        corr = None
        if lv.pd.k >= 2 and lv.pd.kind not in ("pdDiag", "pdIdent", "pdBlocked"):
            cm = _corr_cells(P)
            if lv.pd.kind != "pdCompSymm":  # its corMatrix has no column names
                ab = abbreviate(lv.pd.cnms, 6)
                for j in range(lv.pd.k):
                    cm[0][j] = ab[j]
            corr = [row[:-1] for row in cm]
        blocks.append((lv, list(np.diag(P)), list(sd), corr, _form_str(lv.pd)))
    ncorr = max([len(b[3][0]) if b[3] else 0 for b in blocks] + [0])
    colnames = ["Variance", "StdDev"] + (["Corr"] + [""] * (ncorr - 1) if ncorr else [])
    if len(blocks) == 1:
        lv, var, sd, corr, fs = blocks[0]
        v1 = format_num(var + [sig ** 2])
        v2 = format_num(sd + [sig])
        rows = []
        for i in range(len(var) + 1):
            r = [v1[i], v2[i]]
            if ncorr:
                r += (corr[i] if (corr and i < len(var)) else [""] * ncorr)
            rows.append(r)
        text = f"{lv.name} = {fs} \n" + print_matrix(rows, lv.pd.cnms + ["Residual"],
                                                      colnames)
        return RText(text)
    allv = [v for b in blocks for v in b[1]] + [sig ** 2]
    alls = [v for b in blocks for v in b[2]] + [sig]
    f1, f2 = format_num(allv), format_num(alls)
    rows, rn = [], []
    pos = 0
    for lv, var, _sd, corr, fs in blocks:
        rows.append([fs, ""] + [""] * ncorr)
        rn.append(f"{lv.name} =")
        for i in range(len(var)):
            r = [f1[pos], f2[pos]]
            r += ((corr[i] + [""] * (ncorr - len(corr[i]))) if corr else [""] * ncorr)
            rows.append(r)
            rn.append(lv.pd.cnms[i])
            pos += 1
    rows.append([f1[pos], f2[pos]] + [""] * ncorr)
    rn.append("Residual")
    return RText(print_matrix(rows, rn, colnames))


def _pd_summary(pd_: Any, pp: np.ndarray, sigma: float, level: str, resid: bool) -> str:
    """nlme's print.summary.pdMat for one level."""
    if pd_.kind == "pdBlocked":
        out = [" Composite Structure: Blocked\n"]
        pos = 0
        for i, b in enumerate(pd_.blocks):
            m = b.n_params
            out.append(f"\n Block {i + 1}: {', '.join(b.cnms)}\n")
            out.append(_pd_summary(b, pp[pos:pos + m], sigma, level,
                                   resid and i == len(pd_.blocks) - 1))
            pos += m
        return "".join(out)
    P = pd_.relcov(pp)
    sd = np.sqrt(np.diag(P))
    out = [f" Formula: {pd_.formula_text} | {level}\n"]
    cn = pd_.cnms
    if pd_.k == 1 or pd_.kind in ("pdDiag", "pdIdent"):
        if pd_.k > 1:
            out.append(f" Structure: {STRUCTURE_TEXT[pd_.kind]}\n")
        vals = list(sigma * sd) + ([sigma] if resid else [])
        names = cn + (["Residual"] if resid else [])
        out.append(print_num_matrix([vals], ["StdDev:"], names))
        return "".join(out)
    out.append(f" Structure: {STRUCTURE_TEXT[pd_.kind]}\n")
    p = pd_.k
    cm = _corr_cells(P)
    ab = abbreviate(cn, 6) if pd_.kind != "pdCompSymm" else [""] * p
    sds = format_num(list(sigma * sd) + ([sigma] if resid else []))
    rows = []
    for i in range(p):
        corr = ab[:-1] if i == 0 else cm[i][:-1]
        rows.append([sds[i]] + corr)
    if resid:
        rows.append([sds[-1]] + [""] * (p - 1))
    colnames = ["StdDev", "Corr"] + [""] * (p - 2)
    out.append(print_matrix(rows, cn + (["Residual"] if resid else []), colnames))
    return "".join(out)


# ---- gls ---------------------------------------------------------------------------------------

def _gls_structures(fit: Any) -> str:
    prob = fit.problem
    out = ""
    if prob.cor is not None:
        out += corstruct_text(prob.cor)
    if prob.var is not None:
        out += varfunc_text(prob.var)
    return out


def _gls_df_line(fit: Any) -> str:
    return f"Degrees of freedom: {fit.N} total; {fit.N - fit.p} residual\n"


def gls_summary(fit: Any) -> NlmeSummary:
    """nlme's ``print(summary(fit))`` of a gls fit."""
    tt = fit.tTable()
    out = [title_lines(fit, "gls"), aic_table(fit)]
    struct = _gls_structures(fit)
    if struct:
        out.append("\n" + struct)
    out += ["\nCoefficients:\n", coef_table_text(tt)]
    if len(tt) > 1:
        out.append(vcov_correlation(fit.vcov().to_numpy(), list(tt.index),
                                    title="\n Correlation:"))
    out += ["\nStandardized residuals:\n",
            residual_quantiles(fit.residuals("pearson").to_numpy()), "\n",
            f"Residual standard error: {fmt7(fit.sigma())} \n", _gls_df_line(fit)]
    return NlmeSummary("".join(out).rstrip("\n"), tt)


def gls_print(fit: Any) -> str:
    """nlme's print.gls text."""
    b = fit.fixef()
    out = [title_lines(fit, "gls"), loglik_line(fit), "\nCoefficients:\n",
           print_named_num(list(b.to_numpy()), list(b.index)), "\n", _gls_structures(fit),
           _gls_df_line(fit), f"Residual standard error: {fmt7(fit.sigma())} "]
    return "".join(out)


__all__ = ["NlmeSummary", "RText", "aic_table", "coef_table_text", "corstruct_text",
           "gls_print", "gls_summary", "level_names", "lme_print", "lme_summary",
           "lme_varcorr", "print_correlation", "residual_quantiles", "title_lines",
           "varfunc_text"]
