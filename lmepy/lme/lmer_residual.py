"""lmer with residual structures: lme4 formulas (crossed terms allowed) plus any of nlme's
correlation structures (corAR1, corCAR1, corARMA, corCompSymm, corSymm) and variance functions
(varIdent, varPower, varExp, varConstPower, varFixed) on the within-group errors.

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

from lmepy import rtext as rf
from lmepy.covariance import varIdent
from lmepy.design import lFormula
from lmepy.errors import DataError, SingularFitWarning, warn
from lmepy.fit.control import check_control
from lmepy.formula import parse_formula
from lmepy.formula.deparse import deparse_lme4_formula
from lmepy.lme.design import Level, LmeDesign, resolve_structure
from lmepy.lme.fit import fit_lme
from lmepy.lme.pd import PdStruct
from lmepy.lme.results import LmeFit
from lmepy.results.lme4print import (
    OptInfo,
    PrintData,
    VCGroup,
    fit_text,
    summary_parts,
    varcorr_text,
)

SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"


class LmerCorFit(LmeFit):
    """An lmer fit with residual correlation/variance structures. It prints as lme4 prints
    an lmer fit (``print(fit)``, ``summary()``: lme4's layouts, class ``LmerCorFit``, the
    structures' estimates after the groups line) and answers ``isSingular()`` as lme4."""

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

    def _vc_groups(self) -> list[VCGroup]:
        groups = []
        for lv, pp in zip(self.d.levels, self.sol.pd_pars, strict=True):
            P = lv.pd.relcov(pp) * self.sol.sigma ** 2
            sd = np.sqrt(np.diag(P))
            with np.errstate(invalid="ignore", divide="ignore"):
                C = np.nan_to_num(P / np.outer(sd, sd))
            np.fill_diagonal(C, 1.0)
            groups.append(VCGroup(lv.name, lv.pd.cnms, sd, C))
        return groups

    def VarCorr(self) -> Any:  # type: ignore[override]
        from lmepy.lme.results import _Text
        groups = self._vc_groups()
        return _Text(varcorr_text(groups, self.sol.sigma, 4, ("Variance", "Std.Dev.")), groups)

    # ---- lme4's view: θ, its bounds, singularity -----------------------------------------
    def _theta(self) -> np.ndarray:
        """lme4's θ: each term's relative covariance factor, column-major lower triangle
        (every term is a general pdSymm on lme4's scale, so its parameters are θ)."""
        parts = [np.asarray(pp, dtype=float) for pp in self.sol.pd_pars]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _theta_lower(self) -> np.ndarray:
        parts = [lv.pd.lower() for lv in self.d.levels]
        return np.concatenate(parts) if parts else np.zeros(0)

    def getME(self, name: str) -> Any:
        """lme4's ``getME`` for the pieces that apply here: "theta", "lower", "beta",
        "sigma", "n"/"N", "p"."""
        if name == "theta":
            return pd.Series(self._theta(), index=self._theta_names())
        if name == "lower":
            return self._theta_lower()
        if name == "beta":
            return np.asarray(self.sol.beta, dtype=float)
        if name == "sigma":
            return self.sigma()
        if name in ("n", "N"):
            return self.nobs()
        if name == "p":
            return int(self.d.p)
        raise ValueError(f"getME: unknown name {name!r} (an lmer fit with a correlation "
                         "structure has: theta, lower, beta, sigma, n, N, p)")

    def _theta_names(self) -> list[str]:
        names = []
        for lv in self.d.levels:
            c = lv.pd.cnms
            for j in range(len(c)):
                for i in range(j, len(c)):
                    names.append(f"{lv.name}.{c[i]}" if i == j else f"{lv.name}.{c[i]}.{c[j]}")
        return names

    def isSingular(self, tol: float = 1e-4) -> bool:
        """lme4's ``isSingular``: some θ with lower bound 0 (a diagonal element of a
        term's factor) below tol, i.e. a random-effects covariance matrix of reduced rank
        (a variance of zero or a correlation of ±1)."""
        th = self._theta()
        return bool(np.any(th[self._theta_lower() == 0] < tol))

    def ngrps(self) -> pd.Series:
        """``ngrps(fit)``: number of levels of each grouping factor."""
        d: dict[str, int] = {}
        for lv in self.d.levels:
            d.setdefault(lv.name, lv.nlevels)
        return pd.Series(d, dtype=int)

    # ---- printing: lme4's layouts plus the residual structures --------------------------
    def _structures(self) -> list[tuple[str, list[str], list[float]]]:
        out: list[tuple[str, list[str], list[float]]] = []
        cor, var = self.d.cor, self.d.var
        if cor is None and var is None:
            return out
        self._set_structs()
        if cor is not None:
            coef = cor.coef(unconstrained=False)
            assert isinstance(coef, dict)
            name = type(self.d.cor_spec).__name__
            out.append((f"Correlation structure: {name}, Formula: {_form(cor.form)}",
                        list(coef.keys()), list(coef.values())))
        if var is not None:
            if isinstance(var, varIdent):
                vals = var.ratios() if hasattr(var, "ratios") else var.coef()
            else:
                vals = var.coef(unconstrained=False)
            assert isinstance(vals, dict)
            out.append((f"Variance function: {var.nlme_class}, Formula: {_form(var.form)}",
                        list(vals.keys()), list(vals.values())))
        return out

    def _print_data(self) -> PrintData:
        d = self.d
        se = np.sqrt(np.diag(self.sol.vcov))
        beta = np.asarray(self.sol.beta, dtype=float)
        coefs = np.column_stack([beta, se, beta / se]) if d.p else np.zeros((0, 3))
        corr = self.sol.vcov / np.outer(se, se) if d.p else None
        if self.method == "REML":
            aictab = {"REML": -2.0 * self.logLik()}
        else:
            aictab = {"AIC": self.AIC(), "BIC": self.BIC(), "logLik": self.logLik(),
                      "deviance": -2.0 * self.logLik(), "df.resid": float(d.N - self.df())}
        oi = self.sol.optinfo or {}
        conv = int(oi.get("conv", 0))
        msgs = [SINGULAR_MESSAGE] if self.isSingular() else []
        return PrintData(
            REML=self.method == "REML",
            formula=deparse_lme4_formula(parse_formula(self.formula)), data=self.data_name,
            aictab=aictab, resid_quantiles=rf.quantile7(self.residuals("pearson")),
            varcor=self._vc_groups(), sigma=self.sigma(), nobs=d.N,
            ngrps={k: int(v) for k, v in self.ngrps().items()}, coef_names=list(d.xnames),
            coefficients=coefs, corr=corr,
            optinfo=OptInfo(optimizer="nloptwrap", conv=conv,
                            message=oi.get("message") if conv else None,
                            lme4_messages=msgs),
            cls=type(self).__name__, structures=self._structures())

    def summary(self, correlation: bool | None = None) -> Any:  # type: ignore[override]
        """lme4's ``print(summary(fit))`` layout, with the residual structures' estimates
        after the groups line; ``.coefficients`` is the Estimate/Std. Error/t value table."""
        from lmepy.lme.results import _Text
        pdata = self._print_data()
        out, msgs, pos = summary_parts(pdata, correlation=correlation)
        tab = pd.DataFrame(pdata.coefficients, index=pdata.coef_names,
                           columns=list(pdata.coef_colnames))
        text = _Text(out[:pos] + msgs + out[pos:], tab)
        text.coefficients = tab  # type: ignore[attr-defined]
        return text

    def format(self, digits: int = 4, ranef_comp: tuple[str, ...] = ("Std.Dev.",)) -> str:
        """lme4's ``print(fit, digits, ranef.comp)`` layout, with the residual structures."""
        return fit_text(self._print_data(), digits=digits, ranef_comp=ranef_comp)

    def print_text(self) -> str:
        return self.format().rstrip("\n")

    def coef_table(self) -> pd.DataFrame:
        """Estimate, Std. Error, t value and a normal-approximation p-value."""
        se = np.sqrt(np.diag(self.sol.vcov))
        t = self.sol.beta / se
        return pd.DataFrame({"Estimate": self.sol.beta, "Std. Error": se, "t value": t,
                             "Pr(>|z|)": 2 * stats.norm.sf(np.abs(t))}, index=self.d.xnames)


def _form(form: Any) -> str:
    cov = "1" if form.covariate is None else form.covariate
    return f"~{cov}" + (f" | {'/'.join(form.groups)}" if form.groups else "")


def lmer_residual(formula: str, data: pd.DataFrame, correlation: Any = None,
                  weights: Any = None, REML: bool = True, control: dict | None = None,
                  data_name: str | None = None) -> LmerCorFit:
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
                       X=X, xnames=list(model.X.columns),
                       assign=list(model.X.attrs.get("assign") or []),
                       term_labels=[str(t) for t in model.terms.terms],
                       intercept=bool(model.terms.intercept),
                       y=np.asarray(model.y, dtype=float).reshape(-1),
                       levels=levels, cor=bcor, var=bvar, cor_spec=cor, var_spec=var, data=df,
                       data_name=name)
    sol = fit_lme(design, REML=REML, control=control)
    fit = LmerCorFit(sol, name, str(parse_formula(formula)))
    if fit.isSingular():  # lme4's check at the end of every lmer fit
        warn(SINGULAR_MESSAGE, SingularFitWarning)
    return fit
