"""nlme's anova() for lme and gls fits, and its denominator degrees of freedom: sequential F
tests of one fit's terms (anova.lme's containment DF; anova.gls's N - p), and
likelihood-ratio tests between gls and/or lme fits (anova.lme, which anova.gls calls). The
tables are ``AnovaTable``s of kind "nlme" (lmepy.inference.tables): DataFrames with nlme's
row and column names that print as nlme prints them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.linalg import qr

from lmepy.errors import warn
from lmepy.inference.tables import AnovaTable

__all__ = ["anova_fits", "anova_nlme", "containment_df", "containment_term_df",
           "gls_anova_terms", "lme_anova_terms", "model_names"]


# ---- containment degrees of freedom ------------------------------------------------------------

def _column_strata(X: np.ndarray, level_codes: list[np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per column of X: whether it is constant, and the innermost stratum (0 outermost
    groups, ..., Q the residual stratum) within whose groups of the next outer level it
    varies."""
    p = X.shape[1]
    tol = math.sqrt(np.finfo(float).eps)
    const = np.zeros(p, dtype=bool)
    strat = np.zeros(p, dtype=int)
    for j in range(p):
        x = X[:, j]
        const[j] = bool(np.all(np.abs(x if x[0] == 0 else x / x[0] - 1) < tol))
        for q, codes in enumerate(level_codes):
            order = np.argsort(codes, kind="stable")
            xs, cs = x[order], codes[order]
            if ((cs[1:] == cs[:-1]) & (xs[1:] != xs[:-1])).any():
                strat[j] = q + 1
    return const, strat


def _stratum_dfs(level_codes: list[np.ndarray], N: int) -> np.ndarray:
    """Each stratum's number of groups (N for the residual stratum) less the outer ones'."""
    ng = [int(c.max()) + 1 for c in level_codes]
    return np.array([ng[0]] + [ng[i] - ng[i - 1] for i in range(1, len(ng))] + [N - ng[-1]],
                    dtype=float)


def containment_df(X: np.ndarray, level_codes: list[np.ndarray], N: int) -> np.ndarray:
    """nlme's denominator degrees of freedom (``getFixDF``): a column is estimated in the
    innermost stratum within whose groups of the next outer level it varies; each stratum's
    DF is its number of groups (N for the residual stratum) less those of the outer strata
    and less its own columns; columns constant over all rows get the largest DF."""
    dfs = _stratum_dfs(level_codes, N)
    const, strat = _column_strata(X, level_codes)
    out = np.zeros(X.shape[1])
    if (~const).any():
        for s in strat[~const]:
            dfs[s] -= 1
        if const.any():
            dfs[0] -= 1
        else:
            dfs[1:] += 1
        out[~const] = dfs[strat[~const]]
    if const.any():
        out[const] = dfs.max()
    return out


def containment_term_df(X: np.ndarray, level_codes: list[np.ndarray], N: int,
                        assign: list[int]) -> np.ndarray:
    """nlme's denominator DF per model term (``getFixDF(...)$terms``): a term sits in the
    innermost stratum of its columns; each stratum loses the columns of its terms."""
    dfs = _stratum_dfs(level_codes, N)
    const, strat = _column_strata(X, level_codes)
    p = X.shape[1]
    terms = sorted(set(assign))
    t_notint = {t: bool(any(not const[j] for j in range(p) if assign[j] == t)) for t in terms}
    t_strat = {t: max(strat[j] for j in range(p) if assign[j] == t) for t in terms}
    t_len = {t: sum(1 for j in range(p) if assign[j] == t) for t in terms}
    out = {}
    if any(t_notint.values()):
        for t in terms:
            if t_notint[t]:
                dfs[t_strat[t]] -= t_len[t]
        if not all(t_notint.values()):
            dfs[0] -= 1
        else:
            dfs[1:] += 1
        for t in terms:
            if t_notint[t]:
                out[t] = dfs[t_strat[t]]
    for t in terms:
        if not t_notint[t]:
            out[t] = dfs.max()
    return np.array([out[t] for t in terms])


# ---- F tests of one fit's terms ----------------------------------------------------------------

def _f_table(c: np.ndarray, assign: list[int], labels: list[str], den: np.ndarray,
             scale: float, den_column: bool, heading: list[str]) -> AnovaTable:
    """Sequential F tests: F = |c_term|² / (numDF scale) over each term's columns of c = R β
    (R the upper Cholesky factor of the inverse covariance of β up to ``scale``)."""
    rows, numdf, fval = [], [], []
    for t in dict.fromkeys(assign):
        cols = [j for j, a in enumerate(assign) if a == t]
        rows.append(labels[t])
        numdf.append(len(cols))
        fval.append(float(np.sum(c[cols] ** 2)) / (len(cols) * scale))
    pval = [float(stats.f.sf(f, n, dd)) for f, n, dd in zip(fval, numdf, den, strict=True)]
    cols_: dict[str, Any] = {"numDF": numdf}
    if den_column:
        cols_["denDF"] = [int(v) for v in den]
    cols_.update({"F-value": fval, "p-value": pval})
    tab = AnovaTable(cols_, index=rows)
    tab.heading = heading
    tab.kind = "nlme"
    return tab


def gls_anova_terms(fit: Any) -> AnovaTable:
    """Sequential F tests of a gls fit's terms (nlme's anova(fit)); denominator df N - p."""
    X = fit.X
    assign = X.attrs.get("assign")
    labels = X.attrs.get("term_labels")
    N, p = X.shape
    if assign is None or labels is None:  # a hand-built X: one term per column
        assign = list(range(p))
        labels = list(X.columns)
    prob = fit.problem
    R = qr(prob.whiten(prob._Xy), mode="r", check_finite=False)[0]
    s2 = float(R[p, p] ** 2) / (N - p)
    den = np.full(len(set(assign)), float(N - p))
    return _f_table(R[:p, p], list(assign), list(labels), den, s2, False,
                    [f"Denom. DF: {N - p} "])


def lme_anova_terms(fit: Any) -> AnovaTable:
    """nlme's sequential F tests of an lme fit's terms: R the upper Cholesky factor of
    vcov(β)⁻¹ (σ² scaled by N / (N - p) under ML); denominator DF by containment."""
    d = fit.d
    V = fit.sol.vcov
    if fit.method == "ML":
        V = V * d.N / (d.N - d.p)
    R = np.linalg.cholesky(np.linalg.inv(V)).T
    assign = list(d.assign)
    labels = (["(Intercept)"] if d.intercept else []) + list(d.term_labels)
    terms = sorted(set(assign))
    by_term = dict(zip(terms, labels, strict=True))
    den = containment_term_df(d.X, [lv.codes for lv in d.levels], d.N, assign)
    return _f_table(R @ fit.sol.beta, assign, by_term, den, 1.0, True, [])


# ---- likelihood-ratio tests between fits -------------------------------------------------------

def _nlme_info(fit: Any) -> tuple[str, str, int, np.ndarray]:
    """(response, fixed-effects terms key, number of observations, sorted response) of a
    gls or lme fit, as nlme's anova.lme reads them (getResponseFormula, terms of
    formula(el)[-2], logLik's "nall")."""
    from lmepy.formula.terms import model_terms

    data = getattr(fit, "nlme_data", None)
    if data is None:
        raise TypeError("anova() compares gls and lme fits with each other (nlme: objects "
                        "must inherit from classes \"gls\", \"lme\", ...), not "
                        f"{type(fit).__name__}")
    formula, n, y = data()
    mt = model_terms(formula)
    key = "&".join(sorted(mt.term_labels))
    if mt.intercept:
        key = f"{key}&(Intercept)"
    return str(mt.response), key, int(n), np.sort(np.asarray(y, dtype=float))


def anova_fits(fits: list[Any], names: list[str]) -> AnovaTable:
    """Likelihood-ratio tests between successive gls and/or lme fits, in the order given:
    nlme's anova.lme (which anova.gls calls) with its checks and columns."""
    if len(names) != len(fits):
        raise ValueError("anova(): one name per fitted model is needed")
    info = [_nlme_info(f) for f in fits]
    keep = [i[0] == info[0][0] for i in info]
    if not all(keep):
        warn("some fitted objects deleted because response differs from the first model")
    if sum(keep) == 1:
        raise ValueError("first model has a different response from the rest")
    fits = [f for f, k in zip(fits, keep, strict=True) if k]
    names = [nm for nm, k in zip(names, keep, strict=True) if k]
    info = [i for i, k in zip(info, keep, strict=True) if k]
    methods = {f.method for f in fits}
    if len(methods) > 1:
        raise ValueError("all fitted objects must have the same estimation method")
    if methods == {"REML"} and len({i[1] for i in info}) > 1:
        warn("fitted objects with different fixed effects. REML comparisons are "
             "not meaningful.")
    if len({i[2] for i in info}) > 1:
        raise ValueError("all fitted objects must use the same number of observations")
    if any(not np.array_equal(i[3], info[0][3]) for i in info[1:]):
        # nlme compares only the counts and prints a meaningless test
        raise ValueError("the fitted objects were not fitted to the same data: their "
                         "responses differ, so their likelihoods cannot be compared")
    df = [float(f.df()) for f in fits]
    ll = [float(f.logLik()) for f in fits]
    cols: dict[str, list] = {"Model": list(range(1, len(fits) + 1)), "df": df,
                             "AIC": [float(f.AIC()) for f in fits],
                             "BIC": [float(f.BIC()) for f in fits], "logLik": ll}
    ddf = [df[i] - df[i - 1] for i in range(1, len(fits))]
    if sum(abs(d) for d in ddf) > 0:  # nlme adds the test columns only then
        test, lr, pv = [""], [math.nan], [math.nan]
        for i, d in enumerate(ddf, start=1):
            if d == 0:
                test.append("")
                lr.append(math.nan)
                pv.append(math.nan)
                continue
            test.append(f"{i} vs {i + 1}")
            lr.append(2.0 * abs(ll[i] - ll[i - 1]))
            pv.append(float(stats.chi2.sf(lr[-1], abs(d))))
        cols.update({"Test": test, "L.Ratio": lr, "p-value": pv})
    tab = AnovaTable(cols, index=names)
    tab.heading = []
    tab.kind = "nlme"
    return tab


def model_names(fits: list[Any], names: list[str] | None, model_names: list[str] | None
                ) -> list[str]:
    """Row names of a comparison table: those given, else the caller's variable names (R
    prints the deparsed arguments), else fit1, fit2, ..."""
    given = names if names is not None else model_names
    if given is not None:
        return [str(n) for n in given]
    from lmepy.callnames import caller_names
    found = caller_names(fits)
    if None in found or len(set(found)) < len(found):
        return [f"fit{i + 1}" for i in range(len(fits))]
    return [str(n) for n in found]


def anova_nlme(fit: Any, others: tuple[Any, ...], terms: Any,
               names: list[str] | None = None, model_names_: list[str] | None = None
               ) -> AnovaTable:
    """What lme's and gls's anova() methods do: ``terms(fit)`` without other fits, else the
    likelihood-ratio table of all of them."""
    if not others:
        return terms(fit)
    fits = [fit, *others]
    return anova_fits(fits, model_names(fits, names, model_names_))
