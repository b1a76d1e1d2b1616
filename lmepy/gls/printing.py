"""nlme's print(summary(gls_fit)) text, built from the fit's numbers with R's formatting
rules (lmepy.rtext)."""

from __future__ import annotations

import numpy as np

from lmepy import rtext as rf
from lmepy.covariance import CorStruct, VarFunc, corSymm, varIdent

_VAR_NAMES = {
    "varIdent": "Different standard deviations per stratum",
    "varPower": "Power of variance covariate",
    "varExp": "Exponential of variance covariate",
    "varConstPower": "Constant plus power of variance covariate",
}


def _deparse_formula(text: str) -> str:
    try:
        from lmepy.formula import parse_formula
        return str(parse_formula(text))
    except Exception:  # noqa: BLE001 - printing falls back to the text as given
        return text


def print_correlation(m: np.ndarray, names: list[str], title: str = " Correlation:",
                      rdig: int = 3) -> str:
    """nlme's print.correlation: lower triangle rounded to `rdig`, abbreviated labels."""
    p = m.shape[0]
    if p < 2:
        return ""
    ll = np.tril_indices(p, -1)
    vals = rf.format_num([rf.r_round(float(v), rdig) for v in m[ll]])
    cells = [[""] * p for _ in range(p)]
    for (i, j), s in zip(zip(*ll, strict=True), vals, strict=True):
        cells[i][j] = s
    cols = rf.abbreviate(names, minlength=rdig + 3)
    body = rf.print_matrix([row[:-1] for row in cells[1:]], names[1:], cols[:-1], right=False)
    return f"{title} \n" + body


def print_corstruct(cs: CorStruct) -> str:
    if isinstance(cs, corSymm):
        m = cs._full()
        labels = [str(i + 1) for i in range(m.shape[0])]
        return ("Correlation Structure: General\n"
                f" Formula: {cs.form} \n"
                " Parameter estimate(s):\n" + print_correlation(m, labels))
    coef = cs.coef()
    return (f"Correlation Structure: {cs.description}\n"
            f" Formula: {cs.form} \n"
            " Parameter estimate(s):\n"
            + rf.print_named_num(list(coef.values()), list(coef)))  # type: ignore[union-attr]


def print_varfunc(vf: VarFunc) -> str:
    if isinstance(vf, varIdent):
        allc = vf.ratios()
    else:
        allc = vf.coef_all()
    if vf.nlme_class == "varFixed":
        return f"Variance function:\n Structure: fixed weights\n Formula: {vf.form} \n"
    if not allc:
        if isinstance(vf, varIdent):
            return ""
        return (f"Variance function structure of class {vf.nlme_class} with no parameters, "
                "or uninitialized\n")
    name = _VAR_NAMES.get(vf.nlme_class, vf.nlme_class)
    if vf.form.groups and not isinstance(vf, varIdent):
        name += ", different strata"
    return ("Variance function:\n"
            f" Structure: {name}\n"
            f" Formula: {vf.form} \n"
            " Parameter estimates:\n"
            + rf.print_named_num(list(allc.values()), list(allc)))


class GlsSummary:
    """summary(gls_fit): str() is nlme's printed summary."""

    def __init__(self, fit: object):
        self.fit = fit
        self.coefficients = fit.tTable()  # type: ignore[attr-defined]

    def __str__(self) -> str:
        f = self.fit
        out = ["Generalized least squares fit by "
               + ("REML\n" if f.REML else "maximum likelihood\n")]  # type: ignore[attr-defined]
        out.append(f"  Model: {_deparse_formula(f.formula)} \n")  # type: ignore[attr-defined]
        out.append(f"  Data: {f.data_name} \n")  # type: ignore[attr-defined]
        vals = [rf.format1(v) for v in (f.AIC(), f.BIC(), f.logLik())]  # type: ignore[attr-defined]
        out.append(rf.print_matrix([vals], [" "], ["AIC", "BIC", "logLik"], right=True))
        prob = f.problem  # type: ignore[attr-defined]
        struct = ""
        if prob.cor is not None:
            struct += print_corstruct(prob.cor)
        if prob.var is not None:
            struct += print_varfunc(prob.var)
        if struct:
            out.append("\n" + struct)
        out.append("\nCoefficients:\n")
        tt = self.coefficients
        cols = []
        for name in ("Value", "Std.Error", "t-value"):
            cols.append(rf.format_num(rf.zapsmall(list(tt[name]))))
        cols.append(rf.format_num([rf.r_round(float(p), 4) for p in tt["p-value"]]))
        cells = [[cols[j][i] for j in range(4)] for i in range(len(tt))]
        out.append(rf.print_matrix(cells, list(tt.index), list(tt.columns), right=True))
        if len(tt) > 1:
            v = f.vcov().to_numpy()  # type: ignore[attr-defined]
            s = np.sqrt(np.diag(v))
            out.append(print_correlation(v / np.outer(s, s), list(tt.index),
                                         title="\n Correlation:"))
        out.append("\nStandardized residuals:\n")
        res = f.residuals("pearson").to_numpy()  # type: ignore[attr-defined]
        if len(res) > 5:
            q = rf.quantile7(list(res))
            out.append(rf.print_named_num(q, ["Min", "Q1", "Med", "Q3", "Max"]))
        else:
            out.append(rf.print_named_num(list(res), [str(i + 1) for i in range(len(res))]))
        out.append("\n")
        out.append(f"Residual standard error: {rf.format1(f.sigma())} \n")  # type: ignore[attr-defined]
        out.append(f"Degrees of freedom: {f.N} total; {f.N - f.p} residual\n")  # type: ignore[attr-defined]
        return "".join(out).rstrip("\n")

    def __repr__(self) -> str:
        return str(self)


def print_gls(f: object) -> str:
    """nlme's print.gls text."""
    out = ["Generalized least squares fit by "
           + ("REML\n" if f.REML else "maximum likelihood\n")]  # type: ignore[attr-defined]
    out.append(f"  Model: {_deparse_formula(f.formula)} \n")  # type: ignore[attr-defined]
    out.append(f"  Data: {f.data_name} \n")  # type: ignore[attr-defined]
    kind = "restricted-" if f.REML else ""  # type: ignore[attr-defined]
    out.append(f"  Log-{kind}likelihood: {rf.format1(f.logLik())}\n")  # type: ignore[attr-defined]
    out.append("\nCoefficients:\n")
    b = f.fixef()  # type: ignore[attr-defined]
    out.append(rf.print_named_num(list(b.to_numpy()), list(b.index)))
    out.append("\n")
    prob = f.problem  # type: ignore[attr-defined]
    if prob.cor is not None:
        out.append(print_corstruct(prob.cor))
    if prob.var is not None:
        out.append(print_varfunc(prob.var))
    out.append(f"Degrees of freedom: {f.N} total; {f.N - f.p} residual\n")  # type: ignore[attr-defined]
    out.append(f"Residual standard error: {rf.format1(f.sigma())} ")  # type: ignore[attr-defined]
    return "".join(out)
