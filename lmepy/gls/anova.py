"""anova() for gls fits, as nlme's anova.gls: sequential F tests of the terms of one fit, or
likelihood-ratio tests between fits, with nlme's printed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from lmepy import rtext as rf
from lmepy.errors import warn


class AnovaTable(pd.DataFrame):
    """A DataFrame with R's row and column names whose str() is nlme's printed table."""

    _metadata = ["_text"]

    def __str__(self) -> str:
        return getattr(self, "_text", None) or super().__str__()

    def __repr__(self) -> str:
        return str(self)


def _pval_strings(p: list[float]) -> list[str]:
    """nlme: format(round(p, 4)) of the non-missing values; exact zeros print as <.0001."""
    idx = [i for i, v in enumerate(p) if v is not None and not math.isnan(v)]
    out = [""] * len(p)
    if idx:
        f = rf.format_num([rf.r_round(p[i], 4) for i in idx])
        for i, s in zip(idx, f, strict=True):
            out[i] = "<.0001" if float(s) == 0 else s
    return out


def anova_terms(fit: object) -> AnovaTable:
    """Sequential F tests of the model's terms (nlme's anova(fit) for one gls fit); the
    denominator df is N - p."""
    X = fit.X  # type: ignore[attr-defined]
    assign = X.attrs.get("assign")
    labels = X.attrs.get("term_labels")
    N, p = X.shape
    if assign is None or labels is None:  # a hand-built X: one term per column
        assign = list(range(p))
        labels = list(X.columns)
    prob = fit.problem  # type: ignore[attr-defined]
    M = prob.whiten(prob._Xy)
    from scipy.linalg import qr
    R = qr(M, mode="r", check_finite=False)[0]
    c = R[:p, p]
    s2 = float(R[p, p] ** 2) / (N - p)
    rows, numdf, fval = [], [], []
    for t in dict.fromkeys(assign):
        cols = [j for j, a in enumerate(assign) if a == t]
        rows.append(labels[t])
        numdf.append(len(cols))
        fval.append(float(np.sum(c[cols] ** 2)) / (len(cols) * s2))
    pval = [float(stats.f.sf(f, d, N - p)) for f, d in zip(fval, numdf, strict=True)]
    tab = AnovaTable({"numDF": numdf, "F-value": fval, "p-value": pval}, index=rows)
    cells = [[str(d), f, pv] for d, f, pv in zip(numdf, rf.format_num(rf.zapsmall(fval)),
                                                 _pval_strings(pval), strict=True)]
    tab._text = (f"Denom. DF: {N - p} \n"
                 + rf.print_matrix(cells, rows, ["numDF", "F-value", "p-value"],
                                   right=True)).rstrip("\n")
    return tab


def anova_fits(fits: list[object], names: list[str]) -> AnovaTable:
    """Likelihood-ratio tests between successive fits (nlme's anova(f1, f2, ...))."""
    methods = {f.method for f in fits}  # type: ignore[attr-defined]
    if len(methods) > 1:
        raise ValueError("all fitted objects must have the same estimation method")
    if methods == {"REML"}:
        cols = [list(f.X.columns) for f in fits]  # type: ignore[attr-defined]
        if any(c != cols[0] for c in cols):
            warn("fitted objects with different fixed effects. REML comparisons are "
                 "not meaningful.")
    n = {f.N for f in fits}  # type: ignore[attr-defined]
    if len(n) > 1:
        raise ValueError("all fitted objects must use the same number of observations")
    df = [float(f.df()) for f in fits]  # type: ignore[attr-defined]
    aic = [f.AIC() for f in fits]  # type: ignore[attr-defined]
    bic = [f.BIC() for f in fits]  # type: ignore[attr-defined]
    ll = [f.logLik() for f in fits]  # type: ignore[attr-defined]
    test, lr, pv = [""], [math.nan], [math.nan]
    for i in range(1, len(fits)):
        d = abs(df[i] - df[i - 1])
        if d == 0:
            test.append("")
            lr.append(math.nan)
            pv.append(math.nan)
            continue
        test.append(f"{i} vs {i + 1}")
        lr.append(2.0 * abs(ll[i] - ll[i - 1]))
        pv.append(float(stats.chi2.sf(lr[-1], d)))
    tab = AnovaTable({"Model": list(range(1, len(fits) + 1)), "df": df, "AIC": aic,
                      "BIC": bic, "logLik": ll, "Test": test, "L.Ratio": lr, "p-value": pv},
                     index=names)

    def numcol(v: list[float]) -> list[str]:
        na = [math.isnan(x) for x in v]
        f = rf.format_num(rf.zapsmall([0.0 if m else x for x, m in zip(v, na, strict=True)]))
        return ["" if m else s for s, m in zip(f, na, strict=True)]

    columns = [[str(i) for i in tab["Model"]], rf.format_num(df), numcol(aic), numcol(bic),
               numcol(ll), test, numcol(lr), _pval_strings(pv)]
    cells = [[c[i] for c in columns] for i in range(len(fits))]
    tab._text = rf.print_matrix(cells, names, list(tab.columns), right=True).rstrip("\n")
    return tab
