"""broom.mixed's ``tidy`` and ``glance`` (0.2.9.4) for nlme's fits: ``lme`` (fixed effects on
nlme's containment df, ``sd_``/``cor_`` random-effects parameters) and ``gls`` (one row per
coefficient, no effect column)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as t_dist

from lmepy.errors import LmepyError

__all__ = ["glance_gls", "glance_lme", "tidy_gls", "tidy_lme"]


def _lme_fixed(fit: Any) -> pd.DataFrame:
    tt = fit.tTable()
    n = len(tt)
    return pd.DataFrame({"effect": ["fixed"] * n, "group": [None] * n,
                         "term": [str(i) for i in tt.index],
                         "estimate": tt["Value"].to_numpy(dtype=float),
                         "std.error": tt["Std.Error"].to_numpy(dtype=float),
                         "df": tt["DF"].to_numpy(dtype=float),
                         "statistic": tt["t-value"].to_numpy(dtype=float),
                         "p.value": tt["p-value"].to_numpy(dtype=float)})


def _lme_ran_pars(fit: Any) -> pd.DataFrame:
    """``sd_x`` per random-effects column, each followed by its correlations with the later
    columns (``cor_<later>.<earlier>``), then ``sd_Observation``."""
    try:
        vc = fit.getVarCov()
    except LmepyError as e:
        raise NotImplementedError("tidy(effects='ran_pars') of an lme fit with several "
                                  "levels of nesting is not implemented") from e
    S = np.asarray(vc.matrix, dtype=float)
    names = [str(x) for x in vc.matrix.index]
    group = str(fit.d.levels[0].name)
    sd = np.sqrt(np.diag(S))
    rows: list[tuple[str, str, float]] = []
    for i in range(len(names)):
        rows.append((group, f"sd_{names[i]}", float(sd[i])))
        for j in range(i + 1, len(names)):
            rows.append((group, f"cor_{names[j]}.{names[i]}", float(S[j, i] / (sd[i] * sd[j]))))
    rows.append(("Residual", "sd_Observation", fit.sigma()))
    return pd.DataFrame({"effect": "ran_pars", "group": [r[0] for r in rows],
                         "term": [r[1] for r in rows],
                         "estimate": np.array([r[2] for r in rows], dtype=float)})


def tidy_lme(fit: Any, effects: list[str], conf_int: bool, level: float) -> pd.DataFrame:
    """broom.mixed's tidy.lme for ``effects`` among "fixed" and "ran_pars"; intervals: t
    quantiles on the containment df for fixed effects, nlme's ``intervals()`` for the
    random-effects parameters, none for sd_Observation (as broom.mixed). broom.mixed
    0.2.9.4 uses level 0.95 whatever ``conf.level`` says; lmepy uses ``conf_level``."""
    bad = [e for e in effects if e not in ("fixed", "ran_pars")]
    if bad:
        raise NotImplementedError(f"tidy of an lme fit: effects {bad} are not implemented "
                                  "(only 'fixed' and 'ran_pars')")
    parts = [_lme_fixed(fit) if e == "fixed" else _lme_ran_pars(fit) for e in effects]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out["group"] = out["group"].astype(object).where(out["group"].notna(), None)
    if effects == ["fixed"]:
        out = out.drop(columns="group")
    if conf_int:
        lo = np.full(len(out), np.nan)
        hi = np.full(len(out), np.nan)
        fixed = (out["effect"] == "fixed").to_numpy()
        if fixed.any():
            est = out["estimate"].to_numpy(dtype=float)[fixed]
            se = out["std.error"].to_numpy(dtype=float)[fixed]
            q = t_dist.ppf(0.5 + level / 2, out["df"].to_numpy(dtype=float)[fixed])
            lo[fixed], hi[fixed] = est - q * se, est + q * se
        rp = (out["effect"] == "ran_pars").to_numpy()
        if rp.any():
            # nlme's intervals(fit)$reStruct: sd(x) and cor(earlier,later); none for sigma
            lv = fit.d.levels[0].name
            tab = fit.intervals(level=level)["reStruct"][lv]
            for i in np.flatnonzero(rp):
                term = str(out["term"].iloc[i])
                key = None
                if term.startswith("sd_") and term != "sd_Observation":
                    key = f"sd({term[3:]})"
                elif term.startswith("cor_"):
                    later, earlier = _split_cor(term[4:], list(tab.index))
                    key = f"cor({earlier},{later})"
                if key is not None and key in tab.index:
                    lo[i], hi[i] = tab.loc[key, "lower"], tab.loc[key, "upper"]
        out["conf.low"], out["conf.high"] = lo, hi
    return out


def _split_cor(pair: str, rows: list[str]) -> tuple[str, str]:
    """``later.earlier`` split at the dot that makes both sides column names of the
    random-effects matrix (names may contain dots)."""
    names = {r[3:-1] for r in rows if r.startswith("sd(")}
    for k, ch in enumerate(pair):
        if ch == "." and pair[:k] in names and pair[k + 1:] in names:
            return pair[:k], pair[k + 1:]
    return pair, ""


def tidy_gls(fit: Any, conf_int: bool, level: float) -> pd.DataFrame:
    """broom.mixed's tidy.gls: term, estimate, std.error, statistic, p.value (t on the
    residual df), with normal-quantile intervals (``confint`` of a gls)."""
    tt = fit.tTable()
    out = pd.DataFrame({"term": [str(i) for i in tt.index],
                        "estimate": tt["Value"].to_numpy(dtype=float),
                        "std.error": tt["Std.Error"].to_numpy(dtype=float),
                        "statistic": tt["t-value"].to_numpy(dtype=float),
                        "p.value": tt["p-value"].to_numpy(dtype=float)})
    if conf_int:
        z = norm.ppf(0.5 + level / 2)
        out["conf.low"] = out["estimate"] - z * out["std.error"]
        out["conf.high"] = out["estimate"] + z * out["std.error"]
    return out


def glance_lme(fit: Any) -> pd.DataFrame:
    """nobs, sigma, logLik, AIC, BIC."""
    return pd.DataFrame([{"nobs": fit.nobs(), "sigma": fit.sigma(), "logLik": fit.logLik(),
                          "AIC": fit.AIC(), "BIC": fit.BIC()}])


def glance_gls(fit: Any) -> pd.DataFrame:
    """sigma, df (the number of coefficients, as broom.mixed gives), logLik, AIC, BIC,
    df.residual."""
    return pd.DataFrame([{"sigma": fit.sigma(), "df": int(fit.p), "logLik": float(fit.logLik()),
                          "AIC": float(fit.AIC()), "BIC": float(fit.BIC()),
                          "df.residual": int(fit.df_residual())}])
