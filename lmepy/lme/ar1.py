"""lmer with a residual correlation structure: lme4 formulas (crossed terms allowed) plus an
nlme corStruct/varFunc on the within-group errors.

Each lme4 random-effects term becomes one level with a general (pdSymm) factor, which is
exactly lme4's θ; the errors are whitened within the correlation groups. When every term is
constant within those groups (``(Days | Subject)`` with ``corAR1(form = ~ Days | Subject)``)
the lmer blocked factor is used as in ``lme()``; a term that varies within them (a crossed
factor such as ``(1 | fDays)``) mixes levels once whitened, and the penalized system is formed
densely from the sparse whitened Z (fine up to a few thousand random effects).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy.design import lFormula
from lmepy.errors import DataError
from lmepy.fit.control import check_control
from lmepy.formula import parse_formula
from lmepy.lme.design import Level, LmeDesign, resolve_structure
from lmepy.lme.fit import fit_lme
from lmepy.lme.pd import PdStruct
from lmepy.lme.results import LmeFit
from lmepy.results import rformat as rf
from lmepy.results.lme4print import VCGroup, prt_grps, varcorr_text


class LmerCorFit(LmeFit):
    """An lmer fit with residual correlation/variance structures; lme4-style summary."""

    def __init__(self, sol: Any, data_name: str, formula: str):
        self.sol = sol
        self.d = sol.design
        self.method = "REML" if sol.REML else "ML"
        self.data_name = data_name
        self.call = formula
        self.formula = formula
        # no containment rule for crossed designs: Wald statistics with normal reference
        # (intervals() and tTable() then use z quantiles)
        self.DF = np.full(self.d.p, np.inf)

    def ranef(self) -> dict[str, pd.DataFrame]:  # type: ignore[override]
        """Per term (lme4's order), the conditional modes of the random effects."""
        return {lv.name: pd.DataFrame(b, index=lv.labels, columns=lv.pd.cnms)
                for lv, b in zip(self.d.levels, self.sol.b, strict=True)}

    def fitted(self, level: int | None = None) -> np.ndarray:
        """Fitted values with all random effects (``level=0``: fixed effects only)."""
        q = len(self.d.levels) if level is None or level > 0 else 0
        return self.sol.fitted[q].copy()

    def REMLcrit(self) -> float:
        return -2.0 * self.logLik()

    def VarCorr(self) -> Any:  # type: ignore[override]
        groups = []
        for lv, pp in zip(self.d.levels, self.sol.pd_pars, strict=True):
            P = lv.pd.relcov(pp) * self.sol.sigma ** 2
            sd = np.sqrt(np.diag(P))
            with np.errstate(invalid="ignore", divide="ignore"):
                C = np.nan_to_num(P / np.outer(sd, sd))
            np.fill_diagonal(C, 1.0)
            groups.append(VCGroup(lv.name, lv.pd.cnms, sd, C))
        from lmepy.lme.results import _Text
        return _Text(varcorr_text(groups, self.sol.sigma, 4, ("Variance", "Std.Dev.")), groups)

    def summary(self) -> Any:  # type: ignore[override]
        """lme4-style summary with the correlation structure's estimates."""
        from lmepy.lme.results import _Text
        d = self.d
        crit = "REML criterion at convergence:" if self.method == "REML" else \
            "-2 log-likelihood at convergence:"
        how = "REML" if self.method == "REML" else "maximum likelihood"
        s = [f"Linear mixed model fit by {how} with residual structure\n",
             rf.cat_fill(["Formula:", self.formula]), rf.cat_fill(["   Data:", self.data_name]),
             rf.cat_fill([crit, rf.format1(rf.r_round(-2 * self.logLik(), 1))]), "\n",
             "Random effects:\n", str(self.VarCorr()), "\n",
             prt_grps({lv.name: lv.nlevels for lv in d.levels}, d.N)]
        cb = self._cor_block()
        if cb:
            s += ["\n", cb]
        vb = self._var_block()
        if vb:
            s += ["\n", vb]
        se = np.sqrt(np.diag(self.sol.vcov))
        t = self.sol.beta / se
        tab = pd.DataFrame({"Estimate": self.sol.beta, "Std. Error": se, "t value": t},
                           index=d.xnames)
        s.append("\nFixed effects:\n")
        s.append(rf.print_coefmat(tab.values.tolist(), d.xnames, list(tab.columns)))
        return _Text("".join(s), tab)

    def _cor_block(self) -> str:
        cor = self.d.cor
        if cor is None:
            return ""
        self._set_structs()
        coef = cor.coef(unconstrained=False)
        assert isinstance(coef, dict)
        name = type(self.d.cor_spec).__name__
        return (f"Correlation structure: {name}, Formula: {_form(cor.form)}\n"
                + rf.print_named_num(list(coef.values()), list(coef.keys())))

    def coef_table(self) -> pd.DataFrame:
        """Estimate, Std. Error, t value and a normal-approximation p-value."""
        se = np.sqrt(np.diag(self.sol.vcov))
        t = self.sol.beta / se
        return pd.DataFrame({"Estimate": self.sol.beta, "Std. Error": se, "t value": t,
                             "Pr(>|z|)": 2 * stats.norm.sf(np.abs(t))}, index=self.d.xnames)


def _form(form: Any) -> str:
    cov = "1" if form.covariate is None else form.covariate
    return f"~{cov}" + (f" | {'/'.join(form.groups)}" if form.groups else "")


def lmer_ar1(formula: str, data: pd.DataFrame, correlation: Any = None, weights: Any = None,
             REML: bool = True, control: dict | None = None, data_name: str | None = None
             ) -> LmerCorFit:
    """``lmer(formula, data)`` with nlme's residual correlation (and optionally a variance
    function) on the errors, e.g. ``correlation="corAR1(form = ~ Days | Subject)"``.

    The correlation structure must name its grouping (``| Subject``); its groups need not be
    related to the random-effects terms, which may be crossed.
    """
    from lmepy.callnames import caller_name

    name = data_name or caller_name(data)
    control = check_control(control, "lmer_cor")
    model = lFormula(formula, data, REML=REML)
    if model.weights is not None or model.offset is not None:
        raise NotImplementedError("prior weights and offsets are not supported with a residual "
                                  "correlation structure")
    if len(model.y) != len(data):
        raise DataError("missing values in the model variables: remove those rows first "
                        "(the correlation structure is defined on the rows of data)")
    cor = resolve_structure(correlation, "cor")
    if cor is not None and not cor.form.groups:  # type: ignore[attr-defined]
        raise DataError("the correlation structure must name its grouping: "
                        "corAR1(form = ~ time | group)")
    df = data.reset_index(drop=True)
    levels = []
    for t in model.reTrms.terms:
        pd_ = PdStruct("pdSymm", list(t.cnms), "~" + " + ".join(t.cnms))
        levels.append(Level(t.group, (t.group,), np.asarray(t.codes, dtype=np.int64),
                            list(t.levels), pd_, np.asarray(t.rows, dtype=float)))
    bcor = cor.bind(df) if cor is not None else None  # type: ignore[union-attr]
    var = resolve_structure(weights, "var")
    bvar = var.bind(df) if var is not None else None  # type: ignore[union-attr]
    X = np.asarray(model.X, dtype=float)
    design = LmeDesign(fixed_text=str(parse_formula(formula)), response=model.response_name,
                       X=X, xnames=list(model.X.columns), assign=[], term_labels=[],
                       intercept=True, y=np.asarray(model.y, dtype=float).reshape(-1),
                       levels=levels, cor=bcor, var=bvar, cor_spec=cor, var_spec=var, data=df,
                       data_name=name)
    sol = fit_lme(design, REML=REML, control=control)
    return LmerCorFit(sol, name, str(parse_formula(formula)))
