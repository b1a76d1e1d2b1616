"""car's ``Anova()``: type II and type III tests of each term of one fitted model.

Type II follows marginality: a term is tested after every term that does not contain it
(its "relatives", the terms whose variables include all of its own, are ignored). For Wald
tests this is a linear hypothesis Lβ = 0 with L' = V⁻¹u (V = vcov(β)), u spanning the
vectors on the columns of every term but the relatives that are V⁻¹-orthogonal to the unit
vectors of the other terms' columns (the intercept included). For least squares this is
L = X_term'(I - P_others)X: the test of the term in the model without its relatives.
Type III tests the term's own coefficients = 0, so it depends on the contrasts (car 3.1-1
does not warn when they are not sum-to-zero; neither does lmepy).

Which test each kind of fit gets, as car chooses by default:

======  =====================================================  ==========================
fit     test_statistic                                        table heading
======  =====================================================  ==========================
lmer    "Chisq" (Wald); "F" (Wald F on the Kenward-Roger       ... Wald chisquare tests /
        adjusted vcov, Kenward-Roger denominator df)           Wald F tests with K-R df
glmer   "Chisq" (Wald)                                         ... Wald chisquare tests
lm      "F" (sums of squares, F against the residual MS)       Anova Table (...)
glm     "LR" (deviance of refitted submodels over the          Analysis of Deviance Table
        dispersion); "Wald"; "F" (Pearson dispersion)
lme     "Chisq" (Wald)                                         Analysis of Deviance Table
gls     "Chisq" (Wald)                                         Analysis of Deviance Table
======  =====================================================  ==========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg as sla
from scipy import stats

from lmepy.inference.tables import AnovaTable

__all__ = ["Anova"]

_TYPES = {"2": 2, "II": 2, "3": 3, "III": 3}
_ROMAN = {2: "II", 3: "III"}


@dataclass
class _Model:
    """What car's Anova reads from a fit: coefficients, their covariance, the columns' terms
    and the response's text."""

    kind: str  # "lmer", "glmer", "lm", "glm", "lme", "gls"
    beta: np.ndarray  # the estimable coefficients (aliased ones left out)
    V: np.ndarray  # their covariance
    assign: list[int]  # term index of each kept column (0: the intercept)
    labels: list[str]  # term labels, label k at assign k + 1
    has_intercept: bool
    response: str
    keep: np.ndarray  # indices of the kept columns among the fit's
    assign_all: list[int]  # term index of every column, aliased ones included


def _split_label(label: str) -> frozenset[str]:
    """The variables of a term label ("a:b:c"), split at ':' outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in label:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == ":" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return frozenset(out)


def _relatives(labels: list[str]) -> dict[str, list[str]]:
    """For each term, the terms that contain it (car's ``relatives``): their variables include
    all of the term's, and they are other terms."""
    sets = {lab: _split_label(lab) for lab in labels}
    return {a: [b for b in labels if b != a and sets[a] <= sets[b]] for a in labels}


def _response_of(formula: str) -> str:
    from lmepy.formula.terms import model_terms

    return str(model_terms(formula).response)


def _model_of(fit: Any) -> _Model:
    """Read a fit of any kind lmepy makes into the pieces the tests need."""
    from lmepy.gls.results import GlsFit
    from lmepy.lm.results import GlmFitResult, LmFit
    from lmepy.lme.results import LmeFit
    from lmepy.results.glmer import GlmerMod
    from lmepy.results.lmer import LmerMod

    if isinstance(fit, (LmerMod, LmFit, GlmFitResult)):
        X = fit.model.X
        assign = list(X.attrs.get("assign") or [])
        labels = [str(t) for t in fit.model.terms.terms]
        intercept = bool(fit.model.terms.intercept)
        response = str(fit.model.response_name)
        if isinstance(fit, GlmerMod):
            kind = "glmer"
        elif isinstance(fit, LmerMod):
            kind = "lmer"
        else:
            kind = "lm" if isinstance(fit, LmFit) else "glm"
        if kind in ("lm", "glm"):
            beta_all = np.asarray(fit.coef(), dtype=float)
        else:
            beta_all = np.asarray(fit.fixef(), dtype=float)
        V_all = np.asarray(fit.vcov(), dtype=float)
    elif isinstance(fit, LmeFit):
        d = fit.d
        kind, assign, labels = "lme", list(d.assign), list(d.term_labels)
        intercept, response = bool(d.intercept), str(d.response)
        beta_all = np.asarray(fit.fixef(), dtype=float)
        V_all = np.asarray(fit.vcov(), dtype=float)
    elif isinstance(fit, GlsFit):
        X = fit.X
        kind = "gls"
        formula = fit.formula
        from lmepy.formula.terms import model_terms

        mt = model_terms(formula)
        labels = [str(t) for t in mt.term_labels]
        intercept = bool(mt.intercept)
        assign = list(X.attrs.get("assign") or [])
        response = str(mt.response)
        beta_all = np.asarray(fit.fixef(), dtype=float)
        V_all = np.asarray(fit.vcov(), dtype=float)
    else:
        raise TypeError("Anova() takes a fit of lmer, glmer, lm, glm, lme or gls, not "
                        f"{type(fit).__name__}")
    if not assign or len(assign) != len(beta_all):
        raise ValueError("Anova() needs the model's terms and the 'assign' of its model "
                         "matrix (a fit made from a formula by lmepy)")
    keep = np.flatnonzero(~np.isnan(beta_all))
    return _Model(kind=kind, beta=beta_all[keep], V=V_all[np.ix_(keep, keep)],
                  assign=[assign[i] for i in keep], labels=labels, has_intercept=intercept,
                  response=response, keep=keep, assign_all=assign)


def _columns(m: _Model, terms: set[str]) -> list[int]:
    """Indices (among the kept columns) of the columns of the given terms."""
    names = ["(Intercept)"] + m.labels
    return [i for i, a in enumerate(m.assign) if names[a] in terms]


def _type2_L(m: _Model, term: str, relatives: list[str]) -> np.ndarray:
    """The type II hypothesis of a term: L' = V⁻¹u for u on the columns of every term but the
    relatives, V⁻¹-orthogonal to the unit vectors of the other terms' columns and the
    intercept's (so L is zero on those columns)."""
    p = len(m.beta)
    rel = set(relatives)
    drop12 = set(_columns(m, rel | {term}))
    drop2 = set(_columns(m, rel))
    cols1 = [i for i in range(p) if i not in drop12]
    cols2 = [i for i in range(p) if i not in drop2]
    eye = np.eye(p)
    if not cols1:
        L = eye[cols2]
    else:
        # u in span(Z), V⁻¹-orthogonal to the other terms' unit vectors; L' = V⁻¹u (for
        # least squares: L = X_term' (I - P_others) X, the reduced model's hypothesis)
        Z = eye[:, cols2]
        Vinv_Z = np.linalg.solve(m.V, Z)
        N = sla.null_space(Vinv_Z[cols1, :])
        L = (Vinv_Z @ N).T
    L[np.abs(L) < 1e-12 * max(1.0, float(np.abs(L).max(initial=0.0)))] = 0.0
    return L[np.any(L != 0, axis=1)]


def _hypotheses(m: _Model, kind: int) -> dict[str, np.ndarray]:
    """Term label -> hypothesis matrix (rows on the kept coefficients), in car's row order:
    type III has the intercept first."""
    p = len(m.beta)
    present = [lab for j, lab in enumerate(m.labels, start=1) if j in m.assign]
    out: dict[str, np.ndarray] = {}
    if kind == 3:
        if m.has_intercept and 0 in m.assign:
            out["(Intercept)"] = np.eye(p)[_columns(m, {"(Intercept)"})]
        for lab in present:
            out[lab] = np.eye(p)[_columns(m, {lab})]
        return out
    rel = _relatives(present)
    for lab in present:
        out[lab] = _type2_L(m, lab, rel[lab])
    return out


def _wald(L: np.ndarray, beta: np.ndarray, V: np.ndarray) -> tuple[float, int]:
    """(Lβ)'(L V L')⁻¹(Lβ) and its df, the rank of L (NaN and 0 for an empty L)."""
    if L.shape[0] == 0:
        return math.nan, 0
    Lb = L @ beta
    q = int(np.linalg.matrix_rank(L))
    return float(Lb @ np.linalg.solve(L @ V @ L.T, Lb)), q


def _chisq_table(rows: list[tuple[str, float, int]], df_first: bool = False,
                 stat: str = "Chisq") -> AnovaTable:
    names = [r[0] for r in rows]
    chisq = [r[1] for r in rows]
    df = [r[2] for r in rows]
    p = [float(stats.chi2.sf(c, d)) for c, d in zip(chisq, df, strict=True)]
    data = {"Df": df, stat: chisq} if df_first else {stat: chisq, "Df": df}
    data["Pr(>Chisq)"] = p
    tab = AnovaTable(pd.DataFrame(data, index=pd.Index(names, dtype=object)))
    tab["Df"] = tab["Df"].astype(int)
    return tab


def _kr_f_table(state: Any, Ls: dict[str, np.ndarray]) -> AnovaTable:
    """car's F tests for lmer: the Wald F with pbkrtest's adjusted vcov, on q and the
    Kenward-Roger denominator df (``state``: lmepy's Kenward-Roger computation)."""
    from lmepy.inference.kenward_roger import _kr_adjust

    rows = []
    for L in Ls.values():
        a = _kr_adjust(state, L)
        F = float(a["FstatU"])
        rows.append([F, int(a["q"]), float(a["ddf"]),
                     float(stats.f.sf(F, a["q"], a["ddf"]))])
    tab = AnovaTable(rows, index=pd.Index(list(Ls), dtype=object),
                     columns=["F", "Df", "Df.res", "Pr(>F)"])
    tab["Df"] = tab["Df"].astype(int)
    return tab


def _lm_table(fit: Any, m: _Model, Ls: dict[str, np.ndarray]) -> AnovaTable:
    """Sums of squares of each hypothesis, F against the residual mean square, and the
    Residuals row (car's Anova.lm)."""
    s2 = float(fit.sigma()) ** 2
    rdf = int(fit.df_residual())
    rss = s2 * rdf
    rows = []
    for L in Ls.values():
        W, q = _wald(L, m.beta, m.V)
        ss = W * s2
        F = ss / q / s2
        rows.append([ss, q, F, float(stats.f.sf(F, q, rdf))])
    rows.append([rss, rdf, math.nan, math.nan])
    tab = AnovaTable(rows, index=pd.Index([*Ls, "Residuals"], dtype=object),
                     columns=["Sum Sq", "Df", "F value", "Pr(>F)"])
    tab["Df"] = tab["Df"].astype(int)
    return tab


def _lm_comparison_table(fit: Any, m: _Model) -> AnovaTable:
    """car's type II table of an lm with aliased coefficients: sums of squares by model
    comparison (residual SS without the term and its relatives minus that without the
    relatives), df the difference in rank; a term that adds no rank gets NA and df 0."""
    from lmepy.errors import RankDeficiencyWarning, warn
    from lmepy.lm.fit import lm_fit

    warn("Note: model has aliased coefficients\n      sums of squares computed by model "
         "comparison", RankDeficiencyWarning)
    lf = fit.fit
    X = np.asarray(fit.model.X, dtype=float)
    y = np.asarray(lf.fitted, dtype=float) + np.asarray(lf.residuals, dtype=float)
    w = lf.weights
    off = fit.model.offset
    assign = list(fit.model.X.attrs["assign"])
    names = ["(Intercept)"] + m.labels
    col_term = [names[a] for a in assign]

    def rss_rank(drop: set[str]) -> tuple[float, int]:
        cols = [i for i, t in enumerate(col_term) if t not in drop]
        sub = lm_fit(X[:, cols], y, w, off)
        r = np.asarray(sub.residuals, dtype=float)
        return float(np.sum(r * r if w is None else w * r * r)), int(sub.qr.rank)

    s2 = float(fit.sigma()) ** 2
    rdf = int(fit.df_residual())
    present = [lab for j, lab in enumerate(m.labels, start=1) if j in assign]
    rel = _relatives(present)
    rows = []
    for lab in present:
        rss1, k1 = rss_rank(set(rel[lab]) | {lab})
        rss2, k2 = rss_rank(set(rel[lab]))
        q = k2 - k1
        if q == 0:
            rows.append([math.nan, 0, math.nan, math.nan])
            continue
        ss = rss1 - rss2
        F = ss / q / s2
        rows.append([ss, q, F, float(stats.f.sf(F, q, rdf))])
    rows.append([s2 * rdf, rdf, math.nan, math.nan])
    tab = AnovaTable(rows, index=pd.Index([*present, "Residuals"], dtype=object),
                     columns=["Sum Sq", "Df", "F value", "Pr(>F)"])
    tab["Df"] = tab["Df"].astype(int)
    return tab


def _glm_lr_table(fit: Any, m: _Model, kind: int, stat: str) -> AnovaTable:
    """car's likelihood-ratio ("LR") and F tests for a glm: deviance differences of glm.fit
    refits on column subsets (type II: without the term and its relatives against without
    the relatives; type III: without the term's columns against the full model), scaled by
    the Pearson dispersion of the full model (1 for binomial and poisson)."""
    from lmepy.lm.fit import refit_glm

    X = np.asarray(fit.model.X, dtype=float)
    off = fit.model.offset
    fam = fit.family
    names = ["(Intercept)"] + m.labels
    col_term = [names[a] for a in m.assign_all]
    present = [lab for j, lab in enumerate(m.labels, start=1) if j in m.assign_all]
    cache: dict[frozenset[str], tuple[float, int]] = {}

    def without(drop: set[str]) -> tuple[float, int]:
        """(deviance, rank) of the glm refitted without the given terms' columns."""
        key = frozenset(drop)
        if key not in cache:
            cols = [i for i, t in enumerate(col_term) if t not in drop]
            has_int = m.has_intercept and "(Intercept)" not in drop
            sub = refit_glm(fit.fit, X[:, cols], off, fam, has_int)
            cache[key] = (float(sub.deviance), int(sub.qr.rank))
        return cache[key]

    rows = []
    rel = _relatives(present)
    full = (float(fit.deviance()), int(fit.rank))
    for lab in present:
        if kind == 2:
            (d1, k1), (d2, k2) = without(set(rel[lab]) | {lab}), without(set(rel[lab]))
        else:
            (d1, k1), (d2, k2) = without({lab}), full
        q = k2 - k1
        rows.append((lab, d1 - d2 if q > 0 else math.nan, q))
    disp = float(fit.dispersion())
    if stat == "LR":
        return _chisq_table([(lab, dev / disp, q) for lab, dev, q in rows], stat="LR Chisq")
    rdf = int(fit.df_residual())
    table = []
    for _, dev, q in rows:
        F = dev / q / disp if q > 0 else math.nan
        table.append([dev, q, F, float(stats.f.sf(F, q, rdf)) if q > 0 else math.nan])
    table.append([disp * rdf, rdf, math.nan, math.nan])
    # car names the column "F values" in its type III glm table
    fcol = "F value" if kind == 2 else "F values"
    tab = AnovaTable(table, index=pd.Index([r[0] for r in rows] + ["Residuals"], dtype=object),
                     columns=["Sum Sq", "Df", fcol, "Pr(>F)"])
    tab["Df"] = tab["Df"].astype(int)
    return tab


def Anova(fit: Any, type: int | str = 2, test_statistic: str | None = None) -> AnovaTable:
    """Type II or III tests of each term of a fit, as car's ``Anova()``.

    An R analysis reports these after the fit (type III under sum-to-zero contrasts is the
    usual "SPSS-like" table); the table prints exactly as car prints it.

    Parameters
    ----------
    fit : lmer, glmer, lm, glm, lme or gls fit
    type : 2, 3, "II" or "III"
        Type II (marginality: each term after all terms not containing it) or type III
        (each term's coefficients = 0; depends on the contrasts).
    test_statistic : str, optional
        "Chisq" (Wald; the default for lmer, glmer, lme, gls), "F" (lmer: Wald F with the
        Kenward-Roger adjusted covariance and df; lm: the default; glm: deviance over the
        Pearson dispersion), "LR" (glm's default: likelihood ratio) or "Wald" (glm).

    Returns
    -------
    AnovaTable
        A DataFrame with car's row and column names; ``str()`` is car's printed table.

    Raises
    ------
    ValueError
        An unknown ``type`` or a ``test_statistic`` the fit's kind does not have; aliased
        coefficients outside car's model-comparison cases (type 2 for lm, "LR"/"F" for glm).
    TypeError
        ``fit`` is not a fit lmepy makes.

    Notes
    -----
    R equivalent: ``car::Anova(fit, type = 3, test.statistic = "F")``. Definitions and the
    known differences from car 3.1-1: docs/anova_car.md.

    Examples
    --------
    >>> fit = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    >>> print(lmepy.Anova(fit, type=3, test_statistic="F"))   # doctest: +SKIP
    """
    key = str(type).upper() if not isinstance(type, bool) else ""
    kind = _TYPES.get(key)
    if kind is None:
        raise ValueError(f"Anova(): 'type' must be 2, 3, \"II\" or \"III\" (got {type!r})")
    m = _model_of(fit)
    allowed = {"lmer": ("Chisq", "F"), "glmer": ("Chisq",), "lm": ("F",),
               "glm": ("LR", "Wald", "F"), "lme": ("Chisq",), "gls": ("Chisq",)}[m.kind]
    stat = allowed[0] if test_statistic is None else test_statistic
    if not isinstance(stat, str) or stat not in allowed:
        raise ValueError(f"Anova(): 'test_statistic' for a {m.kind} fit must be one of "
                         f"{', '.join(repr(a) for a in allowed)} (got {test_statistic!r})")
    roman = _ROMAN[kind]
    aliased = len(m.keep) < len(m.assign_all)
    if aliased and not (m.kind == "lm" and kind == 2) and not (m.kind == "glm"
                                                              and stat != "Wald"):
        raise ValueError("there are aliased coefficients in the model (car's Anova tests "
                         "them only by model comparison: type 2 for lm, \"LR\" for glm)")
    if m.kind == "lm" and aliased:
        tab = _lm_comparison_table(fit, m)
        title = f"Anova Table (Type {roman} tests)"
    elif m.kind == "glm" and stat in ("LR", "F"):
        tab = _glm_lr_table(fit, m, kind, stat)
        title = f"Analysis of Deviance Table (Type {roman} tests)"
    else:
        Ls = _hypotheses(m, kind)
        if m.kind == "lm":
            tab = _lm_table(fit, m, Ls)
            title = f"Anova Table (Type {roman} tests)"
        elif m.kind == "lmer" and stat == "F":
            from lmepy.inference.kenward_roger import kenward_roger

            # the type II hypotheses in the metric of the adjusted vcov, as car uses it
            state = kenward_roger(fit)
            if kind == 2:
                Ls = _hypotheses(replace(m, V=np.asarray(state.PhiA, dtype=float)), kind)
            tab = _kr_f_table(state, Ls)
            title = (f"Analysis of Deviance Table (Type {roman} Wald F tests with "
                     "Kenward-Roger df)")
        else:
            rows = []
            for lab, L in Ls.items():
                W, q = _wald(L, m.beta, m.V)
                rows.append((lab, W, q))
            tab = _chisq_table(rows, df_first=m.kind in ("glm", "gls"))
            if m.kind in ("lmer", "glmer"):
                title = f"Analysis of Deviance Table (Type {roman} Wald chisquare tests)"
            else:
                title = f"Analysis of Deviance Table (Type {roman} tests)"
    tab.heading = [title + "\n", f"Response: {m.response}"]
    if m.kind == "glm" and stat == "F":
        tab.heading.append("Error estimate based on Pearson residuals \n")
    tab.kind = "car"
    return tab
