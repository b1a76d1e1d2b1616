"""nlme's ``intervals()`` and ``apVar`` for lme and gls fits: t intervals for the fixed
effects, and normal intervals for the variance parameters on nlme's natural scales from the
approximate covariance (apVar: minus the inverse Hessian of the log-likelihood in those
parameters and log σ), transformed back. The result is a mapping of DataFrames under nlme's
names whose str() is nlme's printed text."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy.errors import LmepyError
from lmepy.fit.optimize import richardson_hessian
from lmepy.rtext import format1, print_named_num, print_num_matrix

__all__ = ["NlmeIntervals", "gls_apvar", "gls_intervals", "lme_apvar", "lme_intervals"]

COLUMNS = ["lower", "est.", "upper"]

_TITLES = {
    "lme": {"fixed": "Fixed effects:", "reStruct": "Random Effects:",
            "corStruct": "Correlation structure:", "varStruct": "Variance function:",
            "sigma": "Within-group standard error:"},
    "gls": {"coef": "Coefficients:", "corStruct": "Correlation structure:",
            "varStruct": "Variance function:", "sigma": "Residual standard error:"},
}


class NlmeIntervals(dict):
    """``intervals(fit)``: nlme's components by name (lme: "fixed", "reStruct" (a dict of
    DataFrames by grouping level, outer first), "corStruct", "varStruct", "sigma"; gls:
    "coef", "corStruct", "varStruct", "sigma"), each a DataFrame with columns lower, est.,
    upper ("sigma": a Series); str() prints as nlme's print.intervals.lme / .gls."""

    def __init__(self, kind: str, level: float = 0.95):
        super().__init__()
        self.kind = kind
        self.level = level

    @property
    def value(self) -> NlmeIntervals:
        """The mapping itself (lmepy's earlier name for the numbers of a printed result)."""
        return self

    def __str__(self) -> str:
        pct = format1(self.level * 100, digits=15)
        out = [f"Approximate {pct}% confidence intervals\n"]
        titles = _TITLES[self.kind]
        for key, tab in self.items():
            out.append(f"\n {titles.get(key, key + ':')}\n")
            if isinstance(tab, dict):
                for name, t in tab.items():
                    out.append(f"  Level: {name} \n" + _matrix(t))
            elif isinstance(tab, pd.Series):
                out.append(print_named_num(list(tab.to_numpy()), list(tab.index)))
            else:
                out.append(_matrix(tab))
        return "".join(out).rstrip("\n")

    def __repr__(self) -> str:
        return str(self)


def _matrix(tab: pd.DataFrame) -> str:
    return print_num_matrix(tab.to_numpy().tolist(), [str(i) for i in tab.index],
                            list(tab.columns))


def _t_table(beta: np.ndarray, se: np.ndarray, df: Any, level: float, names: list[str]
             ) -> pd.DataFrame:
    q = stats.t.ppf(1 - (1 - level) / 2, df)
    return pd.DataFrame({"lower": beta - q * se, "est.": beta, "upper": beta + q * se},
                        index=names)


def _sigma_row(values: list[float]) -> pd.Series:
    return pd.Series(dict(zip(COLUMNS, values, strict=True)))


def _negative_definite(H: np.ndarray) -> bool:
    """Negative definite, and not merely up to rounding (a flat direction, e.g. a
    correlation at ±1, has an eigenvalue ~0 of either sign)."""
    if not np.all(np.isfinite(H)):
        return False
    ev = np.linalg.eigvalsh((H + H.T) / 2)
    return bool(np.all(ev < -1e-6 * np.max(np.abs(ev))))


def _struct_table(struct: Any, e: np.ndarray, s: np.ndarray, z: float) -> pd.DataFrame:
    """A structure's interval on nlme's constrained scale from one on its unconstrained."""
    vals = []
    for u in (e - z * s, e, e + z * s):
        struct.set_unconstrained(u)
        vals.append(list(struct.constrained()))
    struct.set_unconstrained(e)
    return pd.DataFrame(dict(zip(COLUMNS, vals, strict=True)), index=struct.coef_names())


# ---- lme -------------------------------------------------------------------------------------

def lme_apvar(fit: Any) -> tuple[np.ndarray, list[tuple[str, str, int]], np.ndarray]:
    """nlme's approximate covariance of an lme fit's variance parameters: the inverse of
    minus the Hessian of the log-likelihood in (natural reStruct, corStruct and varStruct on
    their unconstrained scales, log σ). Returns (estimates, labels, covariance)."""
    pr = fit.sol.problem
    d = fit.d
    sig = fit.sol.sigma
    _, cu, vu = pr.split(fit.sol.par)
    nat, labels = [], []
    for li, (lv, pp) in enumerate(zip(d.levels, fit.sol.pd_pars, strict=True)):
        v = lv.pd.natural(pp, sig)
        nat.append(v)
        labels += [("re", lv.name, li)] * len(v)
    nat += [cu, vu, np.array([math.log(sig)])]
    labels += [("cor", "", 0)] * len(cu) + [("var", "", 0)] * len(vu) + [("sigma", "", 0)]
    est = np.concatenate(nat)

    def ll(z: np.ndarray) -> float:
        try:
            s = math.exp(z[-1])
            parts = []
            pos = 0
            for lv in d.levels:
                m = len(lv.pd.natural_names())
                parts.append(lv.pd.from_natural(z[pos:pos + m], s))
                pos += m
            x = np.concatenate(parts + [z[pos:pos + len(cu)],
                                        z[pos + len(cu):pos + len(cu) + len(vu)]])
            return pr.full_loglik(x, s)
        except (OverflowError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            return float("nan")

    from lmepy.kernels.blas_threads import one_thread
    with one_thread():
        H = richardson_hessian(ll, est, step=1e-3, floor=1.0)
    pr._key = None
    if not _negative_definite(H):
        raise LmepyError("cannot get confidence intervals on var-cov components: "
                         "Non-positive definite approximate variance-covariance\n "
                         "Consider 'which = \"fixed\"'")
    return est, labels, np.linalg.inv(-H)


def lme_intervals(fit: Any, level: float = 0.95, which: str = "all") -> NlmeIntervals:
    """nlme's ``intervals(lme_fit)``: t intervals for the fixed effects (containment DF),
    normal intervals on the natural scales for the variance parameters (``which``: "all",
    "fixed" or "var-cov")."""
    if which not in ("all", "fixed", "var-cov"):
        raise ValueError("which must be \"all\", \"fixed\" or \"var-cov\"")
    d = fit.d
    out = NlmeIntervals("lme", level)
    if which != "var-cov":  # varFix, not adjusted under ML
        out["fixed"] = _t_table(fit.sol.beta, np.sqrt(np.diag(fit.sol.vcov)), fit.DF, level,
                                list(d.xnames))
    if which == "fixed":
        return out
    est, labels, V = lme_apvar(fit)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    se = np.sqrt(np.diag(V))
    re: dict[str, pd.DataFrame] = {}
    pos = 0
    for lv in d.levels:
        names = lv.pd.natural_names()
        e, s = est[pos:pos + len(names)], se[pos:pos + len(names)]
        re[lv.name] = pd.DataFrame(
            dict(zip(COLUMNS, (lv.pd.natural_back(names, v) for v in (e - z * s, e, e + z * s)),
                     strict=True)), index=names)
        pos += len(names)
    out["reStruct"] = re
    fit._set_structs()
    for key, struct in (("cor", d.cor), ("var", d.var)):
        if struct is None or pos >= len(est) - 1 or labels[pos][0] != key:
            continue
        m = struct.n_params
        out[f"{key}Struct"] = _struct_table(struct, est[pos:pos + m], se[pos:pos + m], z)
        pos += m
    ls, sls = est[-1], se[-1]
    out["sigma"] = _sigma_row([math.exp(ls - z * sls), math.exp(ls), math.exp(ls + z * sls)])
    fit._set_structs()
    return out


# ---- gls -------------------------------------------------------------------------------------

def _gls_natural(prob: Any) -> np.ndarray:
    """Structure parameters as nlme's apVar uses them: unconstrained, except corSymm's
    correlations, which enter as log((1 + r) / (1 - r))."""
    from lmepy.covariance import corSymm
    theta = prob.get_theta()
    if prob.n_cor and isinstance(prob.cor, corSymm):
        r = prob.cor.constrained()
        theta = theta.copy()
        theta[:prob.n_cor] = np.log((1 + r) / (1 - r))
    return theta


def _gls_set_natural(prob: Any, nat: np.ndarray) -> None:
    from lmepy.covariance import corSymm
    if prob.n_cor and isinstance(prob.cor, corSymm):
        prob.cor.set_constrained(np.tanh(nat[:prob.n_cor] / 2.0))
        if prob.n_var:
            prob.var.set_unconstrained(nat[prob.n_cor:])
    else:
        prob.set_theta(nat)


def _gls_full_loglik(fit: Any, pars: np.ndarray) -> float:
    """The (restricted) log-likelihood at structure parameters and log(sigma), sigma not
    profiled out: what nlme differentiates for apVar."""
    nat, lsig = pars[:-1], pars[-1]
    _gls_set_natural(fit.problem, nat)
    est = fit.problem.estimate()
    ne = fit.N - fit.p if fit.REML else fit.N
    # profiled value minus its RSS part, plus the sigma-dependent part
    base = est.logLik + 0.5 * ne * (1.0 + math.log(est.rss / ne))
    return base - ne * lsig - 0.5 * est.rss * math.exp(-2.0 * lsig)


def gls_apvar(fit: Any) -> np.ndarray | str:
    """Approximate covariance of a gls fit's (structure parameters, log sigma): the inverse
    of minus the numerical Hessian of the full log-likelihood, as nlme's apVar; nlme's
    message when that Hessian is not negative definite."""
    prob = fit.problem
    saved = prob.get_theta()
    x0 = np.concatenate([_gls_natural(prob), [math.log(fit.estimate.sigma)]])
    from lmepy.kernels.blas_threads import one_thread
    with one_thread():
        H = richardson_hessian(lambda x: _gls_full_loglik(fit, x), x0, step=5e-4, floor=0.1)
    prob.set_theta(saved)
    if np.all(np.linalg.eigvalsh(H) < 0):
        return np.linalg.inv(-H)
    return "Non-positive definite approximate variance-covariance"


def gls_intervals(fit: Any, level: float = 0.95) -> NlmeIntervals:
    """nlme's ``intervals(gls_fit)``: "coef" (t intervals on N - p df), "corStruct",
    "varStruct" and "sigma" (normal intervals on the apVar scale, transformed back; without
    structure parameters, sigma's chi-squared interval)."""
    out = NlmeIntervals("gls", level)
    se = np.sqrt(np.diag(fit.vcov().to_numpy()))
    out["coef"] = _t_table(fit.estimate.beta, se, fit.N - fit.p, level, list(fit.X.columns))
    prob = fit.problem
    if prob.n_theta == 0:
        ne = fit.N - fit.p if fit.REML else fit.N
        est = fit.estimate.sigma * math.sqrt(ne)
        out["sigma"] = _sigma_row([est / math.sqrt(stats.chi2.ppf((1 + level) / 2, ne)),
                                   fit.estimate.sigma,
                                   est / math.sqrt(stats.chi2.ppf((1 - level) / 2, ne))])
        return out
    av = fit.apVar()
    if isinstance(av, str):
        raise ValueError(f"cannot get confidence intervals on var-cov components: {av}")
    z = stats.norm.ppf(1 - (1 - level) / 2)
    x0 = np.concatenate([_gls_natural(prob), [math.log(fit.estimate.sigma)]])
    half = z * np.sqrt(np.diag(av))
    ends = [x0 - half, x0, x0 + half]
    saved = prob.get_theta()
    cons: dict[str, list[np.ndarray]] = {"cor": [], "var": []}
    for x in ends:
        _gls_set_natural(prob, x[:-1])
        if prob.n_cor:
            cons["cor"].append(np.array(list(prob.cor.coef().values())))
        if prob.n_var:
            cons["var"].append(np.array(list(prob.var.coef().values())))
    prob.set_theta(saved)
    for key, struct in (("cor", prob.cor), ("var", prob.var)):
        if cons[key]:
            out[f"{key}Struct"] = pd.DataFrame(np.column_stack(cons[key]),
                                               index=struct.coef_names(), columns=COLUMNS)
    out["sigma"] = _sigma_row([float(np.exp(x[-1])) for x in ends])
    return out
