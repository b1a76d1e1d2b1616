"""R's printed text of lm and glm fits: ``print.lm``, ``print.glm``, ``print.summary.lm``,
``print.summary.glm``, and the anova tables (``anova.lm``, ``anova.glm``, ``anova.lmlist``,
``anova.glmlist``) as ``AnovaTable`` DataFrames that print as R's ``print.anova``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lmepy import rtext as rf
from lmepy.errors import LmepyWarning, warn
from lmepy.inference.tables import AnovaTable

from .fit import refit_glm

DIGITS = max(3, rf.R_DIGITS - 3)
_QNAMES = ["Min", "1Q", "Median", "3Q", "Max"]


def deparse_call(name: str, args: list[tuple[str, Any]], cutoff: int = 60) -> str:
    """R's ``deparse()`` of the call ``name(a = x, b = y)`` (R's line breaking: after an
    argument's comma or a spaced operator once a line passes ``cutoff``)."""
    from lmepy.formula.deparse import deparse_lines
    from lmepy.formula.ir import Call

    return "\n".join(deparse_lines(Call(name, kwargs=tuple(args)), cutoff))


def _is_glm(fit: Any) -> bool:
    """A glm fit (it has a family); an lm fit has none."""
    return hasattr(fit, "family")


def _coef_line(fit: Any) -> str:
    co = fit.coef()
    vals = rf.format_num([None if np.isnan(v) else v for v in co.to_numpy()], digits=DIGITS)
    return rf.print_named(vals, list(co.index), gap=2)


def format_fit(fit: Any) -> str:
    """``print(fit)``: R's print.lm / print.glm."""
    if not _is_glm(fit):
        out = f"\nCall:\n{fit.call()}\n\n"
        out += "Coefficients:\n" + _coef_line(fit) if len(fit.names) else "No coefficients\n"
        return out + "\n"
    out = f"\nCall:  {fit.call()}\n\n"
    if len(fit.names):
        out += "Coefficients:\n" + _coef_line(fit)
    else:
        out += "No coefficients\n\n"
    out += (f"\nDegrees of Freedom: {fit.df_null()} Total (i.e. Null);  "
            f"{fit.df_residual()} Residual\n")
    out += _naprint(fit)
    sig = [rf.format1(rf.r_signif(v, DIGITS)) for v in
           (fit.null_deviance(), fit.deviance(), fit.AIC())]
    out += f"Null Deviance:\t    {sig[0]} \nResidual Deviance: {sig[1]} \tAIC: {sig[2]}\n"
    return out


def _naprint(fit: Any) -> str:
    na = fit.model.na_action
    if na is None or len(na) == 0:
        return ""
    # R's naprint.omit (naprint.exclude is the same)
    return f"  ({len(na)} observation{'s' if len(na) > 1 else ''} deleted due to missingness)\n"


def _coefmat_text(fit: Any) -> str:
    tab = fit.coef_table()
    rows = []
    ok = ~fit.aliased
    it = iter(tab.to_numpy().tolist())
    for a in ok:
        rows.append(next(it) if a else [None] * 4)
    nsing = int(np.sum(fit.aliased))
    head = (f"\nCoefficients: ({nsing} not defined because of singularities)\n" if nsing
            else "\nCoefficients:\n")
    return head + rf.print_coefmat(rows, fit.names, list(tab.columns), digits=DIGITS,
                                   na_print="NA")


class _Summary:
    """A summary: ``str()`` is R's printed summary, ``coefficients`` R's coef(summary())."""

    def __init__(self, fit: Any) -> None:
        self.fit = fit
        self.coefficients = fit.coef_table()

    def __repr__(self) -> str:
        return str(self)


class LmSummary(_Summary):
    """R's ``summary.lm``: R-squared, adjusted R-squared, F statistic, sigma."""

    def __init__(self, fit: Any) -> None:
        super().__init__(fit)
        m = fit.model
        r = fit.fit.residuals
        f = fit.fit.fitted
        if m.offset is not None:
            f = f - m.offset
        w = m.weights
        if w is None:
            mss = float(np.sum((f - f.mean()) ** 2) if fit.intercept else np.sum(f * f))
            rss = float(np.sum(r * r))
        else:
            pos = w != 0
            r, f, w = r[pos], f[pos], w[pos]
            if fit.intercept:
                mm = float(np.sum(w * f / np.sum(w)))
                mss = float(np.sum(w * (f - mm) ** 2))
            else:
                mss = float(np.sum(w * f * f))
            rss = float(np.sum(w * r * r))
            r = np.sqrt(w) * r
        self.residuals = r
        p = fit.rank
        rdf = fit.df_residual()
        self.sigma = fit.sigma()
        df_int = 1 if fit.intercept else 0
        self.df = (p, rdf, len(fit.names))
        self.fstatistic = None
        self.r_squared = self.adj_r_squared = float("nan")
        if p != df_int:
            n = r.shape[0]
            resvar = rss / rdf if rdf > 0 else float("nan")
            self.r_squared = mss / (mss + rss)
            self.adj_r_squared = 1 - (1 - self.r_squared) * ((n - df_int) / rdf)
            self.fstatistic = ((mss / (p - df_int)) / resvar, p - df_int, rdf)
        self.weighted = w is not None and float(np.ptp(w)) != 0.0

    def __str__(self) -> str:
        fit = self.fit
        out = f"\nCall:\n{fit.call()}\n\n"
        out += ("Weighted " if self.weighted else "") + "Residuals:\n"
        rdf = self.df[1]
        if rdf > 5:
            rq = rf.zapsmall(rf.quantile7(list(self.residuals)), DIGITS + 1)
            out += rf.print_named_num(rq, _QNAMES, digits=DIGITS)
        elif rdf > 0:
            out += rf.print_named_num(list(self.residuals),
                                      [str(i) for i in fit.model.X.index], digits=DIGITS)
        else:
            out += f"ALL {self.df[0]} residuals are 0: no residual degrees of freedom!\n"
        if len(fit.names) == 0:
            out += "\nNo Coefficients\n"
        else:
            out += _coefmat_text(fit)
        out += (f"\nResidual standard error: {rf.format1(rf.r_signif(self.sigma, DIGITS))} "
                f"on {rdf} degrees of freedom\n")
        out += _naprint(fit)
        if self.fstatistic is not None:
            fv, d1, d2 = self.fstatistic
            pv = stats.f.sf(fv, d1, d2)
            out += (f"Multiple R-squared:  {rf.formatC(self.r_squared, digits=DIGITS)[0]},"
                    f"\tAdjusted R-squared:  {rf.formatC(self.adj_r_squared, digits=DIGITS)[0]} "
                    f"\nF-statistic: {rf.formatC(fv, digits=DIGITS)[0]} on {d1} and {d2} DF,  "
                    f"p-value: {rf.format_pval([pv], digits=DIGITS)[0]}\n")
        return out + "\n"


class GlmSummary(_Summary):
    """R's ``summary.glm``: dispersion, null and residual deviance, AIC, iterations."""

    def __init__(self, fit: Any) -> None:
        super().__init__(fit)
        self.dispersion = fit.dispersion()
        self.deviance_resid = fit.residuals_of("deviance")[fit.fit.prior_weights != 0]

    def __str__(self) -> str:
        fit = self.fit
        out = f"\nCall:\n{fit.call()}\n\nDeviance Residuals: \n"
        dr = list(self.deviance_resid)
        names = [str(i) for i in fit.model.X.index[fit.fit.prior_weights != 0]]
        if fit.df_residual() > 5:
            dr, names = rf.quantile7(dr), _QNAMES
        xx = rf.zapsmall(dr, DIGITS + 1)
        out += rf.print_named(rf.format_num(xx, digits=DIGITS), names, gap=2)
        out += "\nNo Coefficients\n" if len(fit.names) == 0 else _coefmat_text(fit)
        out += (f"\n(Dispersion parameter for {fit.family.family} family taken to be "
                f"{rf.format1(self.dispersion)})\n\n")
        lab = rf.format_str(["Null", "Residual"], justify="right")
        devs = rf.format_num([fit.null_deviance(), fit.deviance()], digits=max(5, DIGITS + 1))
        dfs = rf.format_num([fit.df_null(), fit.df_residual()])
        for i in range(2):
            out += f"{lab[i]} deviance: {devs[i]}  on {dfs[i]}  degrees of freedom\n"
        out += _naprint(fit)
        out += (f"AIC: {rf.format1(fit.AIC(), digits=max(4, DIGITS + 1))}\n\n"
                f"Number of Fisher Scoring iterations: {fit.iter()}\n\n")
        return out


# ------------------------------------------------------------------------------------------
# anova tables


def _term_labels(fit: Any) -> list[str]:
    return [t.label for t in fit.model.terms.terms]


def _stat_anova(table: pd.DataFrame, test: str | None, scale: float, df_scale: float,
                dev_col: str) -> pd.DataFrame:
    """R's ``stat.anova``: the "Chisq"/"LRT" or "F" columns from a deviance column."""
    if test is None:
        return table
    dfs = table["Df"].to_numpy(dtype=float)
    dev = table[dev_col].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if test in ("Chisq", "LRT"):
            vals = dev / scale * np.sign(dfs)
            vals[(dfs == 0) | np.isnan(dfs)] = np.nan
            vals[~np.isnan(vals) & (vals < 0)] = np.nan
            table["Pr(>Chi)"] = stats.chi2.sf(vals, np.abs(dfs))
        else:
            fv = (dev / dfs) / scale
            fv[(dfs == 0) | np.isnan(dfs)] = np.nan
            fv[~np.isnan(fv) & (fv < 0)] = np.nan
            table["F"] = fv
            table["Pr(>F)"] = stats.f.sf(fv, np.abs(dfs), df_scale)
    return table


def _check_test(test: str | None, lm: bool) -> str | None:
    from lmepy.args import check_choice

    if test is None:
        return None
    return check_choice(test, "test", ("F", "Chisq", "LRT", "Rao", "Cp") if not lm
                        else ("F", "Chisq", "LRT", "Cp")) and _supported(test)


def _supported(test: str) -> str:
    if test in ("Rao", "Cp"):
        raise NotImplementedError(f"anova test '{test}' is not implemented")
    return test


def _table(cols: dict[str, Any], index: list[str], heading: list[str]) -> AnovaTable:
    t = AnovaTable(pd.DataFrame(cols, index=index))
    t.heading = heading
    t.kind = "stats"
    return t


def anova_sequential(fit: Any, test: str | None = None) -> AnovaTable:
    """anova.lm (F tests of terms added in order, from the QR's effects) or anova.glm
    (deviances of the nested glm.fit fits; ``test`` None, "Chisq"/"LRT" or "F")."""
    lab = _term_labels(fit)
    assign = np.asarray(fit.model.X.attrs["assign"])
    if not _is_glm(fit):
        test = _check_test(test if test is not None else "F", lm=True)
        q = fit.fit.qr
        asgn = assign[q.pivot[: q.rank]]
        eff = q.effects[: q.rank]
        ssr = fit.deviance()
        dfr = fit.df_residual()
        groups = sorted(set(asgn.tolist()))
        ss = [float(np.sum(eff[asgn == g] ** 2)) for g in groups] + [ssr]
        df = [int(np.sum(asgn == g)) for g in groups] + [dfr]
        names = [lab[g - 1] for g in groups if g > 0]
        if fit.intercept and groups and groups[0] == 0:
            ss, df = ss[1:], df[1:]
        ms = [s / d if d else float("nan") for s, d in zip(ss, df, strict=True)]
        fval = [m / (ssr / dfr) for m in ms]
        pv = [float(stats.f.sf(f, d, dfr)) for f, d in zip(fval, df, strict=True)]
        fval[-1] = pv[-1] = float("nan")
        heading = ["Analysis of Variance Table\n", f"Response: {fit.model.response_name}"]
        cols: dict[str, Any] = {"Df": df, "Sum Sq": ss, "Mean Sq": ms}
        if test == "F":
            cols.update({"F value": fval, "Pr(>F)": pv})
            return _table(cols, names + ["Residuals"], heading)
        t = _table(cols, names + ["Residuals"], heading)
        return t
    test = _check_test(test, lm=False)
    x = fit.model.X.to_numpy(dtype=float)
    nterm = len(lab)
    resdev = [fit.null_deviance()]
    resdf = [fit.df_null()]
    for i in range(1, nterm):
        sub = refit_glm(fit.fit, x[:, assign <= i], fit.model.offset, fit.family,
                        fit.intercept)
        resdev.append(sub.deviance)
        resdf.append(sub.df_residual)
    if nterm:
        resdev.append(fit.deviance())
        resdf.append(fit.df_residual())
    dfs = [float("nan")] + [float(resdf[i - 1] - resdf[i]) for i in range(1, len(resdf))]
    devs = [float("nan")] + [resdev[i - 1] - resdev[i] for i in range(1, len(resdev))]
    fam = fit.family
    heading = [f"Analysis of Deviance Table\n\nModel: {fam.family}, link: {fam.link}\n\n"
               f"Response: {fit.model.response_name}\n\n"
               "Terms added sequentially (first to last)\n\n"]
    t = pd.DataFrame({"Df": dfs, "Deviance": devs, "Resid. Df": resdf, "Resid. Dev": resdev},
                     index=["NULL", *lab])
    disp = fit.dispersion()
    df_disp = float("inf") if not fit._t_based() else fit.df_residual()
    if test == "F" and not fit._t_based():
        warn(f"using F test with a '{fam.family}' family is inappropriate", LmepyWarning)
    t = _stat_anova(t, test, disp, df_disp, "Deviance")
    return _table({c: t[c].to_numpy() for c in t.columns}, list(t.index), heading)


def anova_compare(fits: list[Any], test: str | None = None) -> AnovaTable:
    """anova.lmlist / anova.glmlist: residual df and deviance of each fit, their
    differences, and (``test``) R's stat.anova with the largest model's scale."""
    kinds = {_is_glm(f) for f in fits}
    if len(kinds) > 1 or not all(hasattr(f, "coef_table") for f in fits):
        raise TypeError("anova(): compare lm fits with lm fits and glm fits with glm fits")
    is_lm = kinds == {False}
    test = _check_test(test if (test is not None or not is_lm) else "F", lm=is_lm)
    nobs = {f.nobs() for f in fits}
    if len(nobs) > 1:
        raise ValueError("models were not all fitted to the same size of dataset")
    resdf = [float(f.df_residual()) for f in fits]
    resdev = [float(f.deviance()) for f in fits]
    d_df = [float("nan")] + [resdf[i - 1] - resdf[i] for i in range(1, len(fits))]
    d_dev = [float("nan")] + [resdev[i - 1] - resdev[i] for i in range(1, len(fits))]
    nm = rf.format_num(list(range(1, len(fits) + 1)))
    topnote = "\n".join(f"Model {nm[i]}: {f.formula()}" for i, f in enumerate(fits))
    big = int(np.argmin(resdf))
    if is_lm:
        t = pd.DataFrame({"Res.Df": resdf, "RSS": resdev, "Df": d_df, "Sum of Sq": d_dev},
                         index=[str(i + 1) for i in range(len(fits))])
        heading = ["Analysis of Variance Table\n", topnote]
        scale = resdev[big] / resdf[big]
        t = _stat_anova(t, test, scale, resdf[big], "Sum of Sq")
    else:
        t = pd.DataFrame({"Resid. Df": resdf, "Resid. Dev": resdev, "Df": d_df,
                          "Deviance": d_dev}, index=[str(i + 1) for i in range(len(fits))])
        heading = ["Analysis of Deviance Table\n", topnote]
        bigfit = fits[big]
        scale = bigfit.dispersion()
        df_scale = float("inf") if not bigfit._t_based() else bigfit.df_residual()
        t = _stat_anova(t, test, scale, df_scale, "Deviance")
    return _table({c: t[c].to_numpy() for c in t.columns}, list(t.index), heading)
