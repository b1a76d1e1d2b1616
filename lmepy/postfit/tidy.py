"""broom.mixed's ``tidy`` and ``glance`` (broom.mixed 0.2.9.4) for lmer and glmer fits:
one row per parameter, or one row per model, as data frames with broom.mixed's columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as t_dist

from lmepy.args import check_bool, check_choice, check_number
from lmepy.errors import warn
from lmepy.gls.results import GlsFit
from lmepy.lme.results import LmeFit
from lmepy.postfit import tidy_nlme
from lmepy.results.glmer import GlmerMod
from lmepy.results.lmer import LmerMod

__all__ = ["glance", "tidy"]

_EFFECTS = ("fixed", "ran_pars", "ran_vals", "ran_coefs")
_METHODS = ("Wald", "profile", "boot")
# broom.mixed's column order after its parts are stacked
_COLUMNS = ("effect", "group", "level", "term", "estimate", "std.error", "statistic", "df",
            "p.value", "conf.low", "conf.high")


def _check_fit(fit: Any, what: str) -> LmerMod:
    if not isinstance(fit, LmerMod):
        raise TypeError(f"{what} needs an lmer, glmer, lme or gls fit, not "
                        f"{type(fit).__name__}")
    return fit


def _effects_arg(effects: Any) -> list[str]:
    if isinstance(effects, str):
        effects = [effects]
    if not isinstance(effects, Iterable):
        raise TypeError("'effects' must be a string or a sequence of strings")
    out = []
    for e in effects:
        if e not in _EFFECTS:
            raise ValueError(f"'effects' must be among {', '.join(map(repr, _EFFECTS))}; "
                             f"got {e!r}")
        if e not in out:
            out.append(e)
    if not out:
        raise ValueError("'effects' is empty")
    return [e for e in _EFFECTS if e in out]  # broom.mixed stacks them in this order


def _fixed(fit: LmerMod, ddf: str | None = None) -> pd.DataFrame:
    """The fixed effects: estimate, std.error, statistic (and p.value for a GLMM, whose
    summary has Pr(>|z|); df and p.value with lmerTest's ``ddf``)."""
    names = fit._xnames
    cols: dict[str, Any] = {"effect": ["fixed"] * len(names), "group": [None] * len(names),
                            "term": names}
    if ddf is not None:
        from lmepy.inference.tables import coef_table

        tab = coef_table(fit, ddf)
        cols.update({"estimate": tab["Estimate"].to_numpy(dtype=float),
                     "std.error": tab["Std. Error"].to_numpy(dtype=float),
                     "statistic": tab["t value"].to_numpy(dtype=float),
                     "df": tab["df"].to_numpy(dtype=float),
                     "p.value": tab["Pr(>|t|)"].to_numpy(dtype=float)})
        return pd.DataFrame(cols)
    tab = fit._coef_table()
    cols.update({"estimate": tab[:, 0], "std.error": tab[:, 1], "statistic": tab[:, 2]})
    if isinstance(fit, GlmerMod):
        cols["p.value"] = tab[:, 3]
    return pd.DataFrame(cols)


def _ran_pars(fit: LmerMod) -> pd.DataFrame:
    """Standard deviations and correlations per random-effects term (``sd__x``,
    ``cor__x.y``: per term each sd followed by its correlations with later columns, which
    is also the order of lme4's ``.sig01``, ``.sig02``, ...), then ``sd__Observation``."""
    rows: list[tuple[str, str, float]] = []
    for g in fit._term_covs():
        k = len(g.cnms)
        for i in range(k):
            rows.append((g.name, f"sd__{g.cnms[i]}", float(g.stddev[i])))
            for j in range(i + 1, k):
                rows.append((g.name, f"cor__{g.cnms[i]}.{g.cnms[j]}", float(g.corr[j, i])))
    s = fit._vc_sigma()
    if s is not None:
        rows.append(("Residual", "sd__Observation", float(s)))
    n = len(rows)
    return pd.DataFrame({"effect": ["ran_pars"] * n, "group": [r[0] for r in rows],
                         "term": [r[1] for r in rows],
                         "estimate": np.array([r[2] for r in rows], dtype=float)})


def _ran_vals(fit: LmerMod) -> pd.DataFrame:
    """Conditional modes and conditional standard deviations (as.data.frame(ranef))."""
    fr = fit.ranef(condVar=True).to_frame()
    return pd.DataFrame({"effect": "ran_vals", "group": fr["grpvar"], "level": fr["grp"],
                         "term": fr["term"], "estimate": fr["condval"],
                         "std.error": fr["condsd"]})


def _ran_coefs(fit: LmerMod) -> pd.DataFrame:
    """``coef(fit)`` in long form: per grouping factor, per coefficient, per level."""
    parts = []
    for g, df in fit.coef().items():
        for term in df.columns:
            parts.append(pd.DataFrame({"effect": "ran_coefs", "group": g,
                                       "level": [str(i) for i in df.index], "term": term,
                                       "estimate": df[term].to_numpy(dtype=float)}))
    return pd.concat(parts, ignore_index=True)


def _conf(fit: LmerMod, out: pd.DataFrame, level: float, method: str,
          kwargs: dict[str, Any]) -> pd.DataFrame:
    """conf.low / conf.high: Wald intervals for the fixed effects (NA for the others, as
    broom.mixed), or lme4's profile / bootstrap intervals for fixed effects and ran_pars."""
    lo = np.full(len(out), np.nan)
    hi = np.full(len(out), np.nan)
    fixed = (out["effect"] == "fixed").to_numpy()
    if method == "Wald":
        # normal quantiles; t quantiles on the df of lmerTest's ddf; ran_vals get Wald
        # intervals from their conditional sds, ran_coefs none (broom.mixed warns)
        q = norm.ppf(0.5 + level / 2)
        if "df" in out:
            df = out["df"].to_numpy(dtype=float)
            q = np.where(np.isnan(df), q, t_dist.ppf(0.5 + level / 2, np.where(
                np.isnan(df), 1.0, df)))
        est = out["estimate"].to_numpy(dtype=float)
        se = out["std.error"].to_numpy(dtype=float)
        vals = fixed | (out["effect"] == "ran_vals").to_numpy()
        lo[vals] = (est - q * se)[vals]
        hi[vals] = (est + q * se)[vals]
        if (out["effect"] == "ran_coefs").any():
            warn("CIs not available for random-effects coefficients: returning NA")
    else:
        ci = fit.confint(level=level, method=method, **kwargs).to_numpy(dtype=float)
        npars = len(_ran_pars(fit))
        rp = (out["effect"] == "ran_pars").to_numpy()
        lo[rp], hi[rp] = ci[:npars, 0], ci[:npars, 1]
        lo[fixed], hi[fixed] = ci[npars:, 0], ci[npars:, 1]
    out = out.copy()
    out["conf.low"] = lo
    out["conf.high"] = hi
    return out


def tidy(fit: Any, effects: Any = ("fixed", "ran_pars"), conf_int: bool = False,
         conf_level: float = 0.95, conf_method: str = "Wald", ddf: str | None = None,
         **kwargs: Any) -> pd.DataFrame:
    """A fit's parameters as one data frame, one row per parameter, for tables and plots.

    Parameters
    ----------
    fit : LmerMod, GlmerMod, LmeFit or GlsFit
        A fitted lmer or glmer model; or nlme's lme (effects "fixed" and "ran_pars", one
        level of random effects; df and p.value on nlme's containment df, t intervals) or
        gls (broom.mixed's term, estimate, std.error, statistic, p.value; normal intervals).
    effects : str or sequence of str
        Among ``"fixed"`` (estimate, std.error, statistic; p.value for a GLMM),
        ``"ran_pars"`` (``sd__(Intercept)``, ``cor__(Intercept).Days``, ...,
        ``sd__Observation``), ``"ran_vals"`` (conditional modes with their conditional
        standard deviations) and ``"ran_coefs"`` (``coef(fit)``). Parts are stacked in
        this order whatever the order given; columns a part lacks are missing
        (None/NaN).
    conf_int : bool
        Add ``conf.low`` and ``conf.high``.
    conf_level : float
        Confidence level of the intervals.
    conf_method : {"Wald", "profile", "boot"}
        Wald intervals cover the fixed effects only (NA for ran_pars, as broom.mixed);
        profile and boot take lme4's ``confint(fit, method=...)`` for fixed effects and
        ran_pars (``kwargs`` such as ``nsim``, ``seed`` go to it). Wald intervals of
        ran_vals come from their conditional sds; ran_coefs get none (NA, with
        broom.mixed's warning).
    ddf : {None, "Satterthwaite", "Kenward-Roger"}
        None: lme4's lmerMod table (no df, no p-value for lmer). Otherwise lmerTest's:
        df and p.value columns, and Wald intervals on t quantiles with those df, as
        broom.mixed gives for an ``lmerModLmerTest`` fit. lmer fits only.

    Returns
    -------
    pandas.DataFrame
        Columns effect, group, [level,] term, estimate, std.error, statistic, [p.value,]
        [df,] [p.value,] [conf.low, conf.high], rows in broom.mixed's order.

    R equivalent
    ------------
    ``broom.mixed::tidy(fit, effects, conf.int, conf.level, conf.method)``
    """
    eff = _effects_arg(effects)
    conf_int = check_bool(conf_int, "conf_int")
    conf_level = check_number(conf_level, "conf_level", lo=0, hi=1)
    if not 0 < conf_level < 1:
        raise ValueError("'conf_level' must be strictly between 0 and 1")
    conf_method = check_choice(conf_method, "conf_method", _METHODS)
    if isinstance(fit, (LmeFit, GlsFit)):
        if conf_method != "Wald" or kwargs or ddf is not None:
            raise NotImplementedError("tidy of an lme or gls fit: Wald intervals only, "
                                      "without ddf")
        if isinstance(fit, GlsFit):
            return tidy_nlme.tidy_gls(fit, conf_int, conf_level)
        return tidy_nlme.tidy_lme(fit, eff, conf_int, conf_level)
    fit = _check_fit(fit, "tidy")
    if kwargs and conf_method == "Wald":
        raise TypeError(f"unexpected argument(s) {', '.join(sorted(kwargs))} for Wald "
                        "intervals")
    if ddf is not None:
        if isinstance(fit, GlmerMod):
            raise ValueError("'ddf' (lmerTest's denominator df) applies to lmer fits only")
        from lmepy.inference.tables import normalize_ddf

        ddf = normalize_ddf(ddf)
        ddf = None if ddf == "lme4" else ddf
    build = {"fixed": lambda f: _fixed(f, ddf), "ran_pars": _ran_pars, "ran_vals": _ran_vals,
             "ran_coefs": _ran_coefs}
    parts = [build[e](fit) for e in eff]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out = out[[c for c in _COLUMNS if c in out.columns]]
    for col in ("group", "level"):  # R's NA as None in the text columns
        if col in out:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    if eff == ["fixed"]:
        out = out.drop(columns="group")  # broom.mixed has no group column then
    if conf_int:
        out = _conf(fit, out, conf_level, conf_method, kwargs)
    return out.reset_index(drop=True)


def glance(fit: Any) -> pd.DataFrame:
    """One row of model-level statistics, for comparing fits in a table.

    Parameters
    ----------
    fit : LmerMod, GlmerMod, LmeFit or GlsFit
        A fitted model.

    Returns
    -------
    pandas.DataFrame
        For lme: nobs, sigma, logLik, AIC, BIC; for gls: sigma, df (the number of
        coefficients), logLik, AIC, BIC, df.residual (broom.mixed's). Otherwise one row:
        nobs, sigma, logLik, AIC, BIC, then REMLcrit (REML fits) or deviance
        (ML fits: the ML deviance; GLMMs: lme4's ``deviance()``, the sum of squared
        deviance residuals), and df.residual.

    R equivalent
    ------------
    ``broom.mixed::glance(fit)``
    """
    if isinstance(fit, LmeFit):
        return tidy_nlme.glance_lme(fit)
    if isinstance(fit, GlsFit):
        return tidy_nlme.glance_gls(fit)
    fit = _check_fit(fit, "glance")
    row: dict[str, Any] = {"nobs": fit.nobs(), "sigma": fit.sigma(),
                           "logLik": float(fit.logLik()), "AIC": fit.AIC(), "BIC": fit.BIC()}
    if fit.isREML():
        row["REMLcrit"] = fit.REMLcrit()
    else:
        row["deviance"] = fit.deviance()
    row["df.residual"] = fit.df_residual()
    return pd.DataFrame([row])
