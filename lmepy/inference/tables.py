"""lmerTest's tables for one fit: the coefficient table with df and p-values
(``summary(fit, ddf=...)``) and the type III F-tests of ``anova(fit)``, with R's printing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy import rtext as rf
from lmepy.inference._common import as_solution, vcov_beta, xnames
from lmepy.inference.kenward_roger import kenward_roger, kr_contest1d, kr_contest_md
from lmepy.inference.satterthwaite import contest1d, contest_md, satterthwaite

__all__ = ["coef_table", "format_coef_table", "anova_type3", "anova_table", "format_anova",
           "type1_contrasts", "type2_contrasts", "type3_contrasts", "AnovaTable",
           "normalize_ddf", "contest", "format_nlme_anova"]

_DDF = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger",
        "kr": "Kenward-Roger", "none": "lme4", "lme4": "lme4"}


def normalize_ddf(ddf: str) -> str:
    """lmerTest's ddf names ("Satterthwaite", "Kenward-Roger", "lme4"); "none" is "lme4"."""
    key = str(ddf).strip().lower()
    if key not in _DDF:
        raise ValueError(f"'arg' should be one of \u201cSatterthwaite\u201d, "
                         f"\u201cKenward-Roger\u201d, \u201clme4\u201d (got {ddf!r})")
    return _DDF[key]


def coef_table(fit: Any, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """``coef(summary(fit, ddf = ...))`` of lmerTest: Estimate, Std. Error, df, t value,
    Pr(>|t|); with ddf="none"/"lme4", lme4's three columns."""
    sol = as_solution(fit)
    method = normalize_ddf(ddf)
    names = xnames(sol)
    p = len(names)
    if method == "lme4":
        est = np.asarray(sol.beta, dtype=float)
        se = np.sqrt(np.diag(vcov_beta(sol)))
        return pd.DataFrame({"Estimate": est, "Std. Error": se, "t value": est / se},
                            index=names)
    rows = []
    if method == "Satterthwaite":
        st = satterthwaite(sol)
        for j in range(p):
            rows.append(contest1d(st, np.eye(p)[j]))
    else:
        kr = kenward_roger(sol)
        for j in range(p):
            rows.append(kr_contest1d(kr, np.eye(p)[j]))
    cols = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
    return pd.DataFrame([[r[c] for c in cols] for r in rows], index=names, columns=cols)


def format_coef_table(table: pd.DataFrame, digits: int = 4, signif_stars: bool = True) -> str:
    """The ``Fixed effects:`` block as lme4's print.summary.merMod prints it (printCoefmat,
    Estimate, Std. Error and df rounded together), text without the heading line."""
    return rf.print_coefmat(table.to_numpy().tolist(), [str(i) for i in table.index],
                            list(table.columns), digits=digits, signif_stars=signif_stars)


def summary_title(REML: bool, ddf: str = "Satterthwaite") -> str:
    """lmerTest's first line(s) of ``print(summary(fit))``: lme4's ``.prt.methTit`` of the
    title and class "lmerModLmerTest" (wrapped at R's width 80 as lme4 wraps it)."""
    title = method_title(REML, ddf)
    cls = "lmerModLmerTest"
    if len(title) + 5 + len(cls) <= rf.R_WIDTH:
        return f"{title} ['{cls}']\n"
    return rf.cat_fill(_strwrap(title, rf.R_WIDTH - 2, exdent=2) + [" [", cls, "]"], sep="")


def _strwrap(text: str, width: int, exdent: int = 0) -> list[str]:
    """R's ``strwrap`` for one paragraph of single-spaced words: lines shorter than width."""
    lines: list[str] = []
    cur = ""
    for w in text.split():
        cand = w if not cur else cur + " " + w
        if not cur or len(cand) < width:
            cur = cand
        else:
            lines.append(cur)
            cur = " " * exdent + w
    lines.append(cur)
    return lines


# ---------------------------------------------------------------------------------------------
# type III contrasts


def type3_contrasts(fit: Any) -> dict[str, np.ndarray]:
    """For each fixed-effect term (R's term labels), the contrast matrix of its type III
    hypothesis in the fit's coefficients.

    The type III hypothesis of a term is that its coefficients are zero when every factor is
    coded with sum-to-zero contrasts (lower-order effects are then averages over the other
    factors' levels). Codings are related through the column spaces: β_a = X_a⁺ X_b β_b.
    The rows are expressed in lmerTest's basis: in treatment coding, unit rows on the term's
    own coefficients (the F value does not depend on the basis; the combined Satterthwaite
    df of a multi-df term slightly does), then mapped to the fit's own coding.
    """
    sol = as_solution(fit)
    model = sol.model
    X = model.X
    names = xnames(sol)
    assign = list(getattr(X, "attrs", {}).get("assign") or [])
    mt = model.terms
    labels = [str(t) for t in getattr(mt, "terms", [])]
    if not assign or len(assign) != len(names) or mt is None:
        raise ValueError("type III tests need the model's terms and the 'assign' of X "
                         "(a model compiled by lmepy.design.lFormula)")
    coding = dict(getattr(X, "attrs", {}).get("contrasts") or {})
    Xm = np.asarray(X, dtype=float)

    def remake(contr: str, which: list[str]) -> tuple[np.ndarray, list[int]]:
        from lmepy.design import model_matrix

        Xa = model_matrix(mt, model.frame, contrasts={f: contr for f in which})
        return np.asarray(Xa, dtype=float), list(Xa.attrs["assign"])

    def clean(M: np.ndarray) -> np.ndarray:
        M = M.copy()
        M[np.abs(M) < 1e-10 * max(1.0, float(np.abs(M).max(initial=0.0)))] = 0.0
        return M

    # treatment-coded coefficients (lmerTest's reference coding) and the map to ours
    not_treat = [f for f, c in coding.items() if c != "contr.treatment"]
    if not_treat:
        Xt, t_assign = remake("contr.treatment", not_treat)
        to_orig = clean(np.linalg.pinv(Xt) @ Xm)  # β_t = to_orig β
    else:
        Xt, t_assign, to_orig = Xm, assign, np.eye(len(names))
    # sum-coded coefficients as functions of the treatment-coded ones
    not_sum = [f for f, c in coding.items() if c not in ("contr.sum", "contr.poly",
                                                         "contr.helmert")]
    if not_sum:
        Xs, s_assign = remake("contr.sum", not_sum)
        s_from_t = clean(np.linalg.pinv(Xs) @ Xt)
    elif not_treat:
        s_from_t = clean(np.linalg.pinv(Xm) @ Xt)
        s_assign = assign
    else:  # no factors at all: every coding is the same
        s_from_t, s_assign = np.eye(len(names)), assign
    out: dict[str, np.ndarray] = {}
    for j in sorted({a for a in assign if a > 0}):
        rows = [i for i, a in enumerate(s_assign) if a == j]
        L = s_from_t[rows]
        L = L[np.sum(np.abs(L), axis=1) > 1e-8]
        own = [i for i, a in enumerate(t_assign) if a == j]
        if len(own) == L.shape[0] and L.shape[0] > 0:
            B = L[:, own]
            if np.linalg.cond(B) < 1e8:
                L = clean(np.linalg.solve(B, L))
        L = L @ to_orig
        out[labels[j - 1]] = L[np.sum(np.abs(L), axis=1) > 1e-8]
    return out


def _doolittle_rows(A: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """t(L) of the Doolittle factorization A = L U (L unit lower triangular), with lmerTest's
    zeroing of entries below eps (and of columns whose pivot is below eps)."""
    n = A.shape[0]
    L = np.eye(n)
    U = np.zeros((n, n))
    for i in range(n):
        U[i, :] = A[i, :] - L[i, :i] @ U[:i, :]
        if i + 1 < n:
            col = A[i + 1:, i] - L[i + 1:, :i] @ U[:i, i]
            L[i + 1:, i] = 0.0 if abs(U[i, i]) < eps else col / U[i, i]
    L[np.abs(L) < eps] = 0.0
    return L.T


def _term_structure(sol: Any) -> tuple[list[str], list[int], dict[str, list[str]]]:
    """Term labels, the assign of X's columns, and for each term the terms that contain it
    in lmerTest's sense: all its contrast-coded variables are in the other term, which has
    more, and both have the same numeric (covariate) variables."""
    model = sol.model
    assign = list(getattr(model.X, "attrs", {}).get("assign") or [])
    terms = list(getattr(model.terms, "terms", []))
    labels = [str(t) for t in terms]
    if not assign or len(assign) != len(xnames(sol)):
        raise ValueError("anova tables need the model's terms and the 'assign' of X "
                         "(a model compiled by lmepy.design.lFormula)")
    sets = [frozenset(str(f) for f in t.factors) for t in terms]
    coded = []  # variables coded by contrasts (R's factors attribute == 1)
    for j, st in enumerate(sets):
        coded.append(frozenset(v for v in st if not (st - {v})
                               or any((st - {v}) <= sets[k] for k in range(j))))
    frame = model.frame

    def is_numeric(v: str) -> bool:
        if v not in frame.columns:
            return False
        dt = frame[v].dtype
        return (pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
                and not isinstance(dt, pd.CategoricalDtype))

    nums = [frozenset(v for v in st if is_numeric(v)) for st in coded]
    contained: dict[str, list[str]] = {}
    for a, la in enumerate(labels):
        contained[la] = [lb for b, lb in enumerate(labels)
                         if coded[a] <= coded[b] and coded[b] - coded[a]
                         and nums[a] == nums[b]]
    return labels, assign, contained


def type1_contrasts(fit: Any) -> dict[str, np.ndarray]:
    """lmerTest's type I (sequential) hypotheses: the rows of the Doolittle factor of X'X
    that belong to each term."""
    sol = as_solution(fit)
    labels, assign, _ = _term_structure(sol)
    X = np.asarray(sol.model.X, dtype=float)
    Lt = _doolittle_rows(X.T @ X) if X.shape[1] > 1 else np.ones((1, 1))
    return {labels[j - 1]: Lt[[i for i, a in enumerate(assign) if a == j]]
            for j in sorted({a for a in assign if a > 0})}


def type2_contrasts(fit: Any) -> dict[str, np.ndarray]:
    """lmerTest's type II hypotheses: a term not contained in another is tested on its own
    coefficients; otherwise it is adjusted for every term except those containing it (its
    Doolittle rows with the term and its containing terms ordered last)."""
    sol = as_solution(fit)
    labels, assign, contained = _term_structure(sol)
    X = np.asarray(sol.model.X, dtype=float)
    p = X.shape[1]
    if p <= 1 or len(labels) <= 1:
        return type1_contrasts(sol)
    col_term = ["(Intercept)" if a == 0 else labels[a - 1] for a in assign]
    out: dict[str, np.ndarray] = {}
    for term in labels:
        own = [i for i, t in enumerate(col_term) if t == term]
        if not own:
            continue
        if not contained[term]:
            out[term] = np.eye(p)[own]
            continue
        group = set([term] + contained[term])
        cols_term = [i for i, t in enumerate(col_term) if t in group]
        order = [i for i in range(p) if i not in cols_term] + cols_term
        Xn = X[:, order]
        Lc = _doolittle_rows(Xn.T @ Xn)
        rows = [k for k, i in enumerate(order) if col_term[i] == term]
        L = np.zeros((len(rows), p))
        L[:, order] = Lc[rows]
        out[term] = L
    return out


class AnovaTable(pd.DataFrame):
    """Every anova table of lmepy (lmer's, lmerTest's, lme's and gls's): a DataFrame with
    R's row and column names whose str() prints as R prints it: ``print.anova`` (lme4,
    lmerTest: heading lines, then printCoefmat) or, for ``kind`` "nlme", nlme's
    ``print.anova.lme``."""

    _metadata = ["heading", "kind"]

    @property
    def _constructor(self) -> type:
        return AnovaTable

    @property
    def value(self) -> pd.DataFrame:
        """The numbers as a plain DataFrame."""
        return pd.DataFrame(self)

    def format(self, digits: int = 5, signif_stars: bool = True) -> str:
        heading = list(getattr(self, "heading", []) or [])
        if getattr(self, "kind", None) == "nlme":
            return format_nlme_anova(self, heading)
        return format_anova(self, heading, digits=digits, signif_stars=signif_stars)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()


_TYPES = {"1": 1, "I": 1, "2": 2, "II": 2, "3": 3, "III": 3}


def anova_type3(fit: Any, ddf: str = "Satterthwaite", type: int | str = 3) -> AnovaTable:
    """``anova(fit, type = 3)`` of lmerTest: F-tests of each fixed-effect term (type III by
    default; 1 and 2 as lmerTest), with Satterthwaite's or Kenward-Roger's denominator df
    (ddf="lme4": lme4's sequential table)."""
    sol = as_solution(fit)
    method = normalize_ddf(ddf)
    if method == "lme4":
        return _anova_lme4(sol)
    kind = _TYPES.get(str(type).upper())
    if kind is None:
        raise ValueError(f"'type' not recognized: {type!r} (use 1, 2 or 3)")
    if len(xnames(sol)) <= 1:
        Ls: dict[str, np.ndarray] = {}
    elif kind == 3:
        Ls = type3_contrasts(sol)
    elif kind == 2:
        Ls = type2_contrasts(sol)
    else:
        Ls = type1_contrasts(sol)
    cols = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
    rows = []
    if method == "Satterthwaite":
        st = satterthwaite(sol)
        for L in Ls.values():
            rows.append(contest_md(st, L))
    else:
        kr = kenward_roger(sol)
        for L in Ls.values():
            rows.append(kr_contest_md(kr, L))
    tab = AnovaTable([[r[c] for c in cols] for r in rows], index=pd.Index(list(Ls),
                                                                          dtype=object),
                     columns=cols)
    tab["NumDF"] = tab["NumDF"].astype(int)
    roman = {1: "I", 2: "II", 3: "III"}[kind]
    tab.heading = [f"Type {roman} Analysis of Variance Table with {method}'s method"]
    tab.kind = f"type{kind}"
    return tab


anova_table = anova_type3  # the same function: type 1, 2 or 3 by its ``type`` argument


def _anova_lme4(sol: Any) -> AnovaTable:
    """lme4's sequential table: sums of squares of R_X β by term (no p-values)."""
    from lmepy.fit.lmm import LmmProblem

    prob = LmmProblem(sol.model, sol.REML)
    prob.bc.update(np.asarray(sol.theta, dtype=float))
    RXtRX_inv = prob.bc.vcov_unscaled()
    RX = np.linalg.cholesky(np.linalg.inv(RXtRX_inv)).T
    ss_col = (RX @ np.asarray(sol.beta, dtype=float)) ** 2
    assign = list(sol.model.X.attrs.get("assign"))
    labels = [str(t) for t in sol.model.terms.terms]
    rows, idx = [], []
    for j in sorted(set(assign)):
        if j == 0:
            continue
        k = [i for i, a in enumerate(assign) if a == j]
        ss = float(np.sum(ss_col[k]))
        ms = ss / len(k)
        rows.append([len(k), ss, ms, ms / float(sol.sigma) ** 2])
        idx.append(labels[j - 1])
    tab = AnovaTable(rows, index=pd.Index(idx, dtype=object),
                     columns=["npar", "Sum Sq", "Mean Sq", "F value"])
    tab["npar"] = tab["npar"].astype(int)
    tab.heading = ["Analysis of Variance Table"]
    tab.kind = "lme4"
    return tab


def format_anova(table: pd.DataFrame, heading: list[str], digits: int = 5,
                 signif_stars: bool = True) -> str:
    """R's ``print.anova``: heading lines, then printCoefmat with the statistic column
    (``F value``/``Chisq``) as test statistic, ``*Df`` columns and the statistic left
    unzapped, and NA printed as blank."""
    cn = [str(c) for c in table.columns]
    nc = len(cn)
    if len(table) == 0:  # R prints the column labels of the empty table only
        return "".join(h + "\n" for h in heading) + "    " + "".join(" " + c for c in cn) + "\n"
    has_p = cn[-1].startswith("Pr(") or cn[-1].startswith("P(")
    zap = list(range(nc - 1 if has_p else nc))
    tst = [j for j, c in enumerate(cn) if c[1:7] == " value"]
    tst += [j for j, c in enumerate(cn) if c in ("F", "Cp", "Chisq")]
    zap = [j for j in zap if j not in tst]
    zap = [j for j in zap if not cn[j].endswith("Df")]
    values = [[None if (v is None or (isinstance(v, float) and np.isnan(v))) else float(v)
               for v in row] for row in table.to_numpy(dtype=object).tolist()]
    body = rf.print_coefmat(values, [str(i) for i in table.index], cn, digits=digits,
                            signif_stars=signif_stars, has_Pvalue=has_p, P_values=has_p,
                            cs_ind=[], zap_ind=zap, tst_ind=tst, na_print="")
    head = "".join(h + "\n" for h in heading)
    return head + body


def _nlme_pvalues(p: list[float]) -> list[str]:
    """nlme: format(round(p, 4)) of the non-missing values; exact zeros print as <.0001."""
    idx = [i for i, v in enumerate(p) if v is not None and not math.isnan(v)]
    out = [""] * len(p)
    if idx:
        f = rf.format_num([rf.r_round(p[i], 4) for i in idx])
        for i, s in zip(idx, f, strict=True):
            out[i] = "<.0001" if float(s) == 0 else s
    return out


def _nlme_numbers(v: list[float]) -> list[str]:
    """A column formatted together after zapsmall, NA printed blank."""
    na = [math.isnan(x) for x in v]
    f = rf.format_num(rf.zapsmall([0.0 if m else x for x, m in zip(v, na, strict=True)]))
    return ["" if m else s for s, m in zip(f, na, strict=True)]


def format_nlme_anova(table: pd.DataFrame, heading: list[str]) -> str:
    """nlme's ``print.anova.lme``: counts as integers, the p-values rounded to 4 digits
    (<.0001), other numbers formatted by column, right-justified, NA blank."""
    columns = []
    for name in table.columns:
        v = list(table[name])
        if name in ("Model", "numDF", "denDF"):
            columns.append([str(int(x)) for x in v])
        elif name == "df":
            columns.append(rf.format_num([float(x) for x in v]))
        elif name == "Test":
            columns.append([str(x) for x in v])
        elif name == "p-value":
            columns.append(_nlme_pvalues([float(x) for x in v]))
        else:
            columns.append(_nlme_numbers([float(x) for x in v]))
    cells = [[c[i] for c in columns] for i in range(len(table))]
    body = rf.print_matrix(cells, [str(i) for i in table.index], [str(c) for c in table.columns],
                           right=True)
    return ("".join(h + "\n" for h in heading) + body).rstrip("\n")


def method_title(REML: bool, ddf: str = "Satterthwaite") -> str:
    """lmerTest's methTitle: lme4's plus ". t-tests use <method>'s method"."""
    method = normalize_ddf(ddf)
    title = "Linear mixed model fit by " + ("REML" if REML else "maximum likelihood ")
    return title + (f". t-tests use {method}'s method" if method != "lme4" else "")


def contest(fit: Any, L: Any, rhs: Any = 0.0, joint: bool = True, confint: bool = True,
            level: float = 0.95, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """lmerTest's ``contest(fit, L, ...)``: a joint F-test of Lβ = rhs (one row: Sum Sq,
    Mean Sq, NumDF, DenDF, F value, Pr(>F)), or with joint=False a t-test per row of L
    (Estimate, Std. Error, df, t value, lower, upper, Pr(>|t|)). L may be a vector, a
    matrix, or a DataFrame whose columns are coefficient names."""
    sol = as_solution(fit)
    method = normalize_ddf(ddf)
    names = xnames(sol)
    rownames = None
    if isinstance(L, pd.DataFrame):
        missing = [c for c in L.columns if c not in names]
        if missing:
            raise ValueError(f"unknown coefficient(s) in L: {', '.join(map(str, missing))}")
        rownames = [str(i) for i in L.index]
        L = L.reindex(columns=names, fill_value=0.0).to_numpy(dtype=float)
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.shape[1] != len(names):
        raise ValueError(f"L must have {len(names)} columns (one per coefficient), "
                         f"not {L.shape[1]}")
    rhs_v = np.broadcast_to(np.asarray(rhs, dtype=float), (L.shape[0],))
    if method == "lme4":
        raise ValueError("contest with ddf='lme4' is not available; use Satterthwaite or "
                         "Kenward-Roger")
    if joint:
        if method == "Satterthwaite":
            r = contest_md(satterthwaite(sol), L, rhs_v)
        else:
            r = kr_contest_md(kenward_roger(sol), L, rhs_v)
        cols = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
        out = pd.DataFrame([[r[c] for c in cols]], columns=cols)
        out["NumDF"] = out["NumDF"].astype(int)
        return out
    rows = []
    for i in range(L.shape[0]):
        if method == "Satterthwaite":
            r = contest1d(satterthwaite(sol), L[i], float(rhs_v[i]))
        else:
            r = kr_contest1d(kenward_roger(sol), L[i], float(rhs_v[i]))
        row = [r["Estimate"], r["Std. Error"], r["df"], r["t value"]]
        if confint:
            h = float(stats.t.ppf(1 - (1 - level) / 2, r["df"])) * r["Std. Error"]
            row += [r["Estimate"] - h, r["Estimate"] + h]
        rows.append(row + [r["Pr(>|t|)"]])
    cols = ["Estimate", "Std. Error", "df", "t value"] + (["lower", "upper"] if confint
                                                          else []) + ["Pr(>|t|)"]
    return pd.DataFrame(rows, columns=cols, index=rownames)
