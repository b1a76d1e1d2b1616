"""The lmer fit object: lme4's ``merMod`` methods on a fitted linear mixed model.

``LmerMod`` wraps the fit core's ``LmmSolution`` and answers with R's generic names
(``fixef``, ``ranef``, ``VarCorr``, ``logLik``, ``getME``, ...); its ``summary()`` and
``str()`` print what lme4 1.1-31 prints, built by :mod:`lmepy.results.lme4print`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lmepy import rtext as rf
from lmepy.args import (
    bool_arg,
    checked,
    fits_arg,
    level_arg,
    nsim_arg,
    optional_bool_arg,
    optional_str_arg,
    parm_arg,
    re_form_arg,
    seed_arg,
)
from lmepy.errors import warn
from lmepy.formula.deparse import deparse_lines, deparse_lme4_formula
from lmepy.refit import Updatable
from lmepy.results import lme4print as lp
from lmepy.rtext import make_unique

__all__ = ["CoefDict", "LmerMod", "LogLik", "RanefDict", "SummaryMerMod", "VarCorr",
           "lmertest_summary_text"]


def _printed(text: str) -> str:
    """R's printed text for ``str()``: without the final newline, which ``print()`` adds."""
    return text[:-1] if text.endswith("\n") else text


def theta_factor(theta: np.ndarray, k: int) -> np.ndarray:
    """The k x k lower-triangular relative covariance factor of one term from its theta
    (lme4's column-major lower triangle)."""
    T = np.zeros((k, k))
    pos = 0
    for j in range(k):
        for i in range(j, k):
            T[i, j] = theta[pos]
            pos += 1
    return T


# ---------------------------------------------------------------------------------------------


class LogLik(float):
    """lme4's ``logLik``: a number with ``df`` and ``nobs``, printing as R prints it."""

    df: int
    nobs: int

    def __new__(cls, value: float, df: int, nobs: int) -> LogLik:
        obj = super().__new__(cls, value)
        obj.df = int(df)
        obj.nobs = int(nobs)
        return obj

    def __str__(self) -> str:
        return f"'log Lik.' {rf.format1(float(self))} (df={self.df})"

    def __repr__(self) -> str:
        return str(self)


class VarCorr(Mapping):
    """lme4's ``VarCorr``: per random-effects term its covariance matrix (a DataFrame keyed
    by lme4's group name), plus the residual standard deviation."""

    def __init__(self, groups: list[lp.VCGroup], sigma: float | None):
        self.groups = groups
        self.sigma = sigma

    def __getitem__(self, name: str) -> pd.DataFrame:
        for g in self.groups:
            if g.name == name:
                return pd.DataFrame(g.cov, index=g.cnms, columns=g.cnms)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(g.name for g in self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def format(self, digits: int = 5, comp: tuple[str, ...] = ("Std.Dev.",)) -> str:
        """``print(VarCorr(fit), digits, comp)``'s text."""
        return lp.varcorr_text(self.groups, self.sigma, digits, comp)

    def __str__(self) -> str:
        return _printed(self.format())

    def __repr__(self) -> str:
        return _printed(self.format())

    def to_frame(self) -> pd.DataFrame:
        """``as.data.frame(VarCorr(fit))``: grp, var1, var2, vcov, sdcor (None where R has
        NA; correlations after each term's variances)."""
        rows: list[tuple[Any, ...]] = []
        for g in self.groups:
            cov = g.cov
            k = len(g.cnms)
            for i in range(k):
                rows.append((g.name, g.cnms[i], None, float(cov[i, i]), float(g.stddev[i])))
            for j in range(k):
                for i in range(j + 1, k):
                    rows.append((g.name, g.cnms[j], g.cnms[i], float(cov[i, j]),
                                 float(g.corr[i, j])))
        if self.sigma is not None:
            rows.append(("Residual", None, None, self.sigma ** 2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])


class RanefDict(dict):
    """``ranef(fit)``: a dict of DataFrames (one per grouping factor) that prints as lme4's
    ``print.ranef.mer``."""

    def __str__(self) -> str:
        frames = {k: (v.to_numpy(dtype=float), [str(i) for i in v.index], list(v.columns))
                  for k, v in self.items()}
        cv = [k for k, v in self.items() if "postVar" in v.attrs]
        return _printed(lp.ranef_text(frames, cv))

    __repr__ = __str__

    def to_frame(self) -> pd.DataFrame:
        """``as.data.frame(ranef(fit, condVar = TRUE))``: grpvar, term, grp, condval, condsd
        (per grouping factor, per term, per level; condsd NaN without condVar)."""
        parts = []
        for g, df in self.items():
            pv = df.attrs.get("postVar")
            sd = None
            if pv is not None:
                blocks = pv if isinstance(pv, list) else [pv]
                sd = np.concatenate([np.sqrt(np.diagonal(np.asarray(b), axis1=1, axis2=2))
                                     for b in blocks], axis=1)
            levels = [str(i) for i in df.index]
            for j, term in enumerate(df.columns):
                parts.append(pd.DataFrame({
                    "grpvar": g, "term": str(term), "grp": levels,
                    "condval": df.iloc[:, j].to_numpy(dtype=float),
                    "condsd": sd[:, j] if sd is not None else np.nan}))
        if not parts:
            return pd.DataFrame(columns=["grpvar", "term", "grp", "condval", "condsd"])
        return pd.concat(parts, ignore_index=True)


class CoefDict(dict):
    """``coef(fit)``: a dict of DataFrames that prints as R prints lme4's ``coef.mer``."""

    def __str__(self) -> str:
        frames = {k: (v.to_numpy(dtype=float), [str(i) for i in v.index], list(v.columns))
                  for k, v in self.items()}
        return _printed(lp.coef_text(frames))

    __repr__ = __str__


class SummaryMerMod:
    """lme4's ``summary(fit)``: ``str()`` is ``print(summary(fit))``'s text (with the
    messages lme4 sends to stderr in their place); ``coefficients`` is R's
    ``coef(summary(fit))``. ``format(correlation=True)`` is ``print(s, correlation=TRUE)``."""

    def __init__(self, fit: LmerMod, correlation: bool | None = None, ddf: str | None = None):
        self._data = fit._print_data()
        self.correlation = correlation
        if ddf is not None:
            self._data = _lmertest_data(fit, self._data, ddf)
        self.coefficients = pd.DataFrame(self._data.coefficients, index=self._data.coef_names,
                                         columns=list(self._data.coef_colnames))
        self.vcov = fit.vcov()
        self.sigma = fit.sigma()
        self.varcor = fit.VarCorr()
        self.logLik = fit.logLik()
        self.ngrps = fit.ngrps()
        self.residuals = fit.residuals(type="pearson", scaled=True)
        self.AICtab = dict(self._data.aictab)
        self.methTitle = self._data.title
        self.optinfo = self._data.optinfo

    def format_parts(self, digits: int = 4, correlation: bool | None = None,
                     signif_stars: bool = True,
                     ranef_comp: tuple[str, ...] = ("Variance", "Std.Dev.")
                     ) -> tuple[str, str, int]:
        """The printed summary split as R splits it: (what goes to stdout, the text of
        lme4's messages, the position in the stdout text where the messages appear).
        `correlation` is print's argument; ``summary(correlation=)`` decides, as in lme4,
        whether the correlation was computed (default: p <= 12)."""
        return lp.summary_parts(self._data, digits=digits, correlation=correlation,
                                signif_stars=signif_stars, has_cor=self.correlation,
                                ranef_comp=ranef_comp)

    def format(self, digits: int = 4, correlation: bool | None = None,
               signif_stars: bool = True,
               ranef_comp: tuple[str, ...] = ("Variance", "Std.Dev.")) -> str:
        """``print(summary(fit), digits, correlation, signif.stars, ranef.comp)``, with
        lme4's messages where a console shows them."""
        out, msgs, pos = self.format_parts(digits, correlation, signif_stars, ranef_comp)
        return out[:pos] + msgs + out[pos:]

    def __str__(self) -> str:
        return _printed(self.format())

    def __repr__(self) -> str:
        return _printed(self.format())


# ---------------------------------------------------------------------------------------------


class LmerMod(Updatable):
    """A fitted linear mixed model (lme4's ``lmerMod``), built from the fit core's
    ``LmmSolution``."""

    def __init__(self, solution: Any):
        self.sol = solution
        self.model = solution.model

    # ---- basic pieces ------------------------------------------------------------------------
    @property
    def _terms(self) -> list:
        return list(self.model.reTrms.terms)

    @property
    def _xnames(self) -> list[str]:
        return [str(c) for c in self.model.X.columns]

    @property
    def _group_names(self) -> list[str]:
        """lme4's names of the random-effects terms (``Subject``, ``Subject.1``)."""
        return make_unique([t.group for t in self._terms])

    def isREML(self) -> bool:
        return bool(self.sol.REML)

    def formula(self) -> str:
        """``formula(fit)`` deparsed on one line, as lme4 keeps it (``||`` expanded)."""
        return " ".join(s.rstrip() for s in self._formula_text())

    def weights(self) -> pd.Series:
        """``weights(fit)``: the prior weights (1 when none were given)."""
        return pd.Series(self._prior_weights(), index=self._index())

    def nobs(self) -> int:
        """Number of observations used in the fit."""
        return int(self.model.n)

    def _ntheta(self) -> int:
        return int(len(self.sol.theta))

    def _npar(self) -> int:
        return len(self._xnames) + self._ntheta() + 1

    def df_residual(self) -> int:
        """``df.residual``: observations minus estimated parameters."""
        return self.nobs() - self._npar()

    def _prior_weights(self) -> np.ndarray:
        w = self.model.weights
        return np.ones(self.nobs()) if w is None else np.asarray(w, dtype=float)

    # ---- fixed effects -----------------------------------------------------------------------
    def fixef(self) -> pd.Series:
        """``fixef(fit)``: the fixed-effect estimates under R's column names."""
        return pd.Series(np.asarray(self.sol.beta, dtype=float), index=self._xnames)

    def sigma(self) -> float:
        """The residual standard deviation."""
        return float(self.sol.sigma)

    def vcov(self) -> pd.DataFrame:
        """``vcov(fit)``: sigma^2 times the unscaled covariance of the fixed effects."""
        v = self.sigma() ** 2 * np.asarray(self.sol.vcov_unscaled, dtype=float)
        return pd.DataFrame(v, index=self._xnames, columns=self._xnames)

    def _coef_table(self) -> np.ndarray:
        beta = np.asarray(self.sol.beta, dtype=float)
        se = np.sqrt(np.diag(self.vcov().to_numpy()))
        return np.column_stack([beta, se, beta / se]) if beta.size else np.zeros((0, 3))

    # ---- random effects ----------------------------------------------------------------------
    def _term_covs(self) -> list[lp.VCGroup]:
        groups = []
        pos = 0
        s = self.sigma()
        for name, t in zip(self._group_names, self._terms, strict=True):
            th = np.asarray(self.sol.theta[pos: pos + t.ntheta], dtype=float)
            pos += t.ntheta
            T = theta_factor(th, t.k)
            cov = s * s * (T @ T.T)
            sd = np.sqrt(np.diag(cov))
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = cov / np.outer(sd, sd)
            np.fill_diagonal(corr, 1.0)
            groups.append(lp.VCGroup(name, list(t.cnms), sd, corr))
        return groups

    def VarCorr(self) -> VarCorr:
        """``VarCorr(fit)``: random-effects variances, standard deviations, correlations."""
        return VarCorr(self._term_covs(), self._vc_sigma())

    def _b_blocks(self) -> list[np.ndarray]:
        out = []
        pos = 0
        b = np.asarray(self.sol.b, dtype=float)
        for t in self._terms:
            out.append(b[pos: pos + t.q].reshape(t.nlevels, t.k))
            pos += t.q
        return out

    @checked(condVar=bool_arg)
    def ranef(self, condVar: bool = True) -> RanefDict:
        """``ranef(fit, condVar)``: per grouping factor a DataFrame (rows = levels, columns
        = the terms' columns). With condVar, ``df.attrs["postVar"]`` (alias "condVar") holds
        the conditional variances as an (nlevels, k, k) array, or a list of them when several
        terms share the factor (``||``)."""
        blocks = self._b_blocks()
        cv = self.sol.condvar() if condVar else None
        out = RanefDict()
        parts: dict[str, list[int]] = {}
        for i, t in enumerate(self._terms):
            parts.setdefault(t.group, []).append(i)
        for g, idx in parts.items():
            levels = list(self._terms[idx[0]].levels)
            frames = [pd.DataFrame(blocks[i], index=levels, columns=list(self._terms[i].cnms))
                      for i in idx]
            df = pd.concat(frames, axis=1) if len(frames) > 1 else frames[0]
            if cv is not None:
                pv = [np.asarray(cv[i]) for i in idx]
                df.attrs["postVar"] = pv[0] if len(pv) == 1 else pv
                df.attrs["condVar"] = df.attrs["postVar"]
            out[g] = df
        return out

    def coef(self) -> CoefDict:
        """``coef(fit)``: fixed plus random effects per level (columns as fixef, with zero
        columns first for random-only terms, as lme4)."""
        fe = self.fixef()
        out = CoefDict()
        for g, re in self.ranef(condVar=False).items():
            missing = [c for c in re.columns if c not in fe.index]
            cols = missing + list(fe.index)
            base = np.array([0.0] * len(missing) + list(fe.to_numpy()))
            val = pd.DataFrame(np.tile(base, (len(re), 1)), index=re.index, columns=cols)
            for c in re.columns:
                val[c] = val[c].to_numpy() + re[c].to_numpy()
            out[g] = val
        return out

    def ngrps(self) -> pd.Series:
        """``ngrps(fit)``: number of levels of each grouping factor."""
        d: dict[str, int] = {}
        for t in self._terms:
            d.setdefault(t.group, t.nlevels)
        return pd.Series(d, dtype=int)

    def isSingular(self, tol: float = 1e-4) -> bool:
        """``isSingular``: some bounded theta (a diagonal of a factor) below tol."""
        lower = self.getME("lower")
        th = np.asarray(self.sol.theta, dtype=float)
        return bool(np.any(th[lower == 0] < tol))

    # ---- criteria ----------------------------------------------------------------------------
    def _devcrit(self, REML: bool) -> float:
        cmp = self.sol.devcomp
        if REML and self.isREML():
            return float(self.sol.objective)
        if not REML and not self.isREML():
            return float(self.sol.objective)
        n = self.nobs()
        ldW = float(np.sum(np.log(self._prior_weights())))
        lnum = math.log(2 * math.pi * cmp["pwrss"])
        if REML:
            nmp = n - len(self._xnames)
            return -ldW + cmp["ldL2"] + cmp["ldRX2"] + nmp * (1 + lnum - math.log(nmp))
        return -ldW + cmp["ldL2"] + n * (1 + lnum - math.log(n))

    def REMLcrit(self) -> float:
        """The REML criterion (at the ML estimates for an ML fit, as lme4)."""
        return self._devcrit(True)

    def deviance(self, REML: bool | None = None) -> float:
        """lme4's ``deviance``: for a REML fit without `REML`, lme4 warns and returns the
        REML criterion; ``REML=False`` gives the ML deviance at the REML estimates."""
        if REML is None and self.isREML():
            warn("deviance() is deprecated for REML fits; use REMLcrit for the REML "
                 "criterion or deviance(.,REML=FALSE) for deviance calculated at the "
                 "REML fit")
            return self._devcrit(True)
        return self._devcrit(bool(REML) if REML is not None else False)

    def logLik(self, REML: bool | None = None) -> LogLik:
        """``logLik``: minus half the REML criterion (REML fits) or deviance."""
        if REML is None:
            REML = self.isREML()
        return LogLik(-self._devcrit(REML) / 2, self._npar(), self.nobs())

    def AIC(self) -> float:
        ll = self.logLik()
        return -2 * float(ll) + 2 * ll.df

    def BIC(self) -> float:
        ll = self.logLik()
        return -2 * float(ll) + math.log(ll.nobs) * ll.df

    # ---- fitted values and residuals ----------------------------------------------------------
    def _index(self) -> pd.Index:
        frame = getattr(self.model, "frame", None)
        if isinstance(frame, pd.DataFrame) and len(frame) == self.nobs():
            return frame.index
        return pd.RangeIndex(self.nobs())

    def fitted(self) -> pd.Series:
        """Fitted values (offset included), indexed as the model frame."""
        return pd.Series(np.asarray(self.sol.fitted, dtype=float), index=self._index())

    def residuals(self, type: str = "response", scaled: bool = False) -> pd.Series:
        """``residuals(fit, type, scaled)``: "response"/"working" y - mu; "pearson" and
        "deviance" weighted by the square roots of the prior weights; scaled divides by
        sigma."""
        y = np.asarray(self.model.y, dtype=float)
        r = y - np.asarray(self.sol.fitted, dtype=float)
        if type in ("pearson", "deviance"):
            r = np.sqrt(self._prior_weights()) * r
        elif type not in ("response", "working"):
            raise ValueError("'type' should be one of \"working\", \"response\", "
                             "\"deviance\", \"pearson\"")
        if scaled:
            r = r / self.sigma()
        return pd.Series(r, index=self._index())

    resid = residuals

    # ---- getME -------------------------------------------------------------------------------
    def _theta_names(self) -> list[str]:
        names = []
        for t in self._terms:
            for j in range(t.k):
                for i in range(j, t.k):
                    if i == j:
                        names.append(f"{t.group}.{t.cnms[i]}")
                    else:
                        names.append(f"{t.group}.{t.cnms[i]}.{t.cnms[j]}")
        return names

    def getME(self, name: str) -> Any:
        """lme4's ``getME``: "X", "Z", "Zt", "theta", "beta", "Lambda", "Lambdat", "u", "b",
        "y", "mu", "flist", "cnms", "lower", "devcomp", "sigma", "n", "N", "p", "q"."""
        m = self.model
        if name == "X":
            return m.X
        if name == "Zt":
            return sp.csc_matrix(m.reTrms.Zt)
        if name == "Z":
            return sp.csc_matrix(m.reTrms.Zt.T)
        if name == "theta":
            return pd.Series(np.asarray(self.sol.theta, dtype=float), index=self._theta_names())
        if name == "beta":
            return np.asarray(self.sol.beta, dtype=float)
        if name == "Lambdat":
            return sp.csc_matrix(self.sol.Lambdat)
        if name == "Lambda":
            return sp.csc_matrix(self.sol.Lambdat.T)
        if name == "u":
            return np.asarray(self.sol.u, dtype=float)
        if name == "b":
            return np.asarray(self.sol.b, dtype=float)
        if name == "y":
            return np.asarray(m.y, dtype=float)
        if name == "mu":
            return np.asarray(self.sol.fitted, dtype=float)
        if name == "flist":
            return m.reTrms.flist
        if name == "cnms":
            return {g: list(t.cnms) for g, t in zip(self._group_names, self._terms, strict=True)}
        if name == "lower":
            return np.concatenate([t.lower() for t in self._terms]) if self._terms else \
                np.zeros(0)
        if name == "devcomp":
            return {"cmp": dict(self.sol.devcomp), "dims": self._dims()}
        if name == "sigma":
            return self.sigma()
        if name in ("n", "N"):
            return self.nobs()
        if name == "p":
            return len(self._xnames)
        if name == "q":
            return int(sum(t.q for t in self._terms))
        raise ValueError(f"getME: unknown name {name!r}")

    def _dims(self) -> dict[str, int]:
        n = self.nobs()
        p = len(self._xnames)
        return {"N": n, "n": n, "p": p, "nmp": n - p,
                "q": int(sum(t.q for t in self._terms)), "nth": self._ntheta(), "useSc": 1,
                "reTrms": len(self._terms), "spFe": 0, "REML": p if self.isREML() else 0,
                "GLMM": 0, "NLMM": 0}

    # ---- printing ----------------------------------------------------------------------------
    def _formula_text(self) -> list[str]:
        terms = getattr(self.model, "terms", None)
        f = getattr(terms, "formula", None) if terms is not None else None
        if f is None:
            return [str(terms)] if terms is not None else [""]
        return deparse_lme4_formula(f)

    def _optinfo(self) -> lp.OptInfo:
        oi = dict(self.sol.optinfo or {})
        warns = [str(w) for w in oi.get("warnings", [])]
        opt_warns = [w for w in warns if w.startswith("convergence code")]
        # lme4 keeps its convergence messages as a list; as warnings they arrive joined by
        # ";" (one warning per check): print them one by one, each once
        msgs: list[str] = []
        for w in warns:
            if w.startswith("convergence code"):
                continue
            for m in w.split(";"):
                if m and m not in msgs:
                    msgs.append(m)
        return lp.OptInfo(optimizer=str(oi.get("optimizer", "nloptwrap")),
                          conv=int(oi.get("conv", 0)), message=oi.get("message"),
                          warnings=opt_warns, lme4_messages=msgs)

    def _aictab(self) -> dict[str, float]:
        if self.isREML():
            return {"REML": float(self.sol.objective)}
        ll = self.logLik()
        return {"AIC": self.AIC(), "BIC": self.BIC(), "logLik": float(ll),
                "deviance": self._devcrit(False), "df.resid": float(self.df_residual())}

    # hooks a GLMM fit object overrides
    _cls = "lmerMod"

    def _title(self) -> str:
        return lp.meth_title(self.isREML())

    def _family_link(self) -> tuple[str | None, str | None]:
        return None, None

    def _coef_colnames(self) -> tuple[str, ...]:
        return ("Estimate", "Std. Error", "t value")

    def _vc_sigma(self) -> float | None:
        """The residual standard deviation shown in VarCorr (None: no Residual row)."""
        return self.sigma()

    def _print_data(self) -> lp.PrintData:
        rq = rf.quantile7(self.residuals(type="pearson", scaled=True).to_numpy())
        corr = None
        if len(self._xnames):
            v = self.vcov().to_numpy()
            sd = np.sqrt(np.diag(v))
            corr = v / np.outer(sd, sd)
        dropped = list(getattr(self.model, "dropped_columns", []) or [])
        fam, link = self._family_link()
        return lp.PrintData(
            REML=self.isREML(), formula=self._formula_text(),
            data=getattr(self.model, "data_name", "") or None, aictab=self._aictab(),
            resid_quantiles=rq, varcor=self._term_covs(), sigma=self._vc_sigma(),
            nobs=self.nobs(), ngrps={k: int(v) for k, v in self.ngrps().items()},
            coef_names=self._xnames, coefficients=self._coef_table(), corr=corr,
            optinfo=self._optinfo(), weights=getattr(self.model, "weights_name", None),
            offset=getattr(self.model, "offset_name", None),
            fit_msgs=[lp.rank_message(len(dropped))] if dropped else [],
            cls=self._cls, coef_colnames=self._coef_colnames(), title=self._title(),
            family=fam, link=link)

    @checked(correlation=optional_bool_arg, ddf=optional_str_arg)
    def summary(self, correlation: bool | None = None, ddf: str | None = None
                ) -> SummaryMerMod:
        """``summary(fit)``: an object whose ``str()`` is lme4's printed summary. With
        ``ddf="Satterthwaite"`` or ``"Kenward-Roger"`` it is lmerTest's instead: df and
        Pr(>|t|) columns, lmerTest's title and class."""
        return SummaryMerMod(self, correlation=correlation, ddf=ddf)

    # ---- inference and prediction ------------------------------------------------------------
    @checked(parm=parm_arg, level=level_arg, method=optional_str_arg, nsim=nsim_arg,
             seed=seed_arg)
    def confint(self, parm: list[str] | None = None, level: float = 0.95,
                method: str = "profile", **kwargs: Any) -> pd.DataFrame:
        """lme4's ``confint(fit, parm, level, method = "profile" | "Wald" | "boot")``: rows
        ``.sig01``, ..., ``.sigma`` and the fixed effects; columns ``2.5 %``, ``97.5 %``.
        ``nsim``, ``seed``, ``ncpus``, ``boot_type`` go to the bootstrap."""
        from lmepy.inference.confint import confint

        return confint(self, method=method, level=level, parm=parm, **kwargs)

    @checked(others=fits_arg, ddf=optional_str_arg, refit=bool_arg)
    def anova(self, *others: LmerMod, ddf: str = "Satterthwaite", refit: bool = True,
              model_names: list[str] | None = None, type: int | str = 3) -> Any:
        """``anova(fit)``: lmerTest's type III table (``type`` 1 or 2 also; ``ddf="lme4"``:
        lme4's sequential table); ``anova(fit, fit2, ...)``: lme4's likelihood-ratio table,
        refitting REML fits by ML as lme4 does."""
        from lmepy.inference import anova

        return anova(self, *others, ddf=ddf, refit=refit, model_names=model_names, type=type)

    def _linear_predictor(self) -> np.ndarray:
        return np.asarray(self.sol.fitted, dtype=float)

    def _inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return eta

    @checked(re_form=re_form_arg, allow_new_levels=bool_arg, type=optional_str_arg)
    def predict(self, newdata: Any = None, re_form: Any = None,
                allow_new_levels: bool = False, type: str = "link") -> pd.Series:
        """lme4's ``predict``: ``re_form=None`` uses every random effect (R's NULL),
        ``"~0"`` none (R's NA), a formula the terms it names; new levels predict at zero
        with ``allow_new_levels=True``. ``type="response"`` applies the inverse link."""
        if type not in ("link", "response"):
            raise ValueError("'type' should be one of \u201clink\u201d, \u201cresponse\u201d")
        if newdata is None and re_form is None:
            eta = self._linear_predictor()
            index = self._index()
        else:
            from lmepy.design import new_design

            if newdata is None:
                newdata = self._refit_data()
            nd = new_design(self.model, newdata, re_form=_re_form_text(re_form),
                            allow_new_levels=allow_new_levels)
            eta = nd.X.to_numpy(dtype=float) @ np.asarray(self.sol.beta, dtype=float)
            if nd.offset is not None:
                eta = eta + nd.offset
            blocks = self._b_blocks()
            for r in nd.reterms:
                b = blocks[r.index]
                contrib = np.einsum("ij,ij->i", r.rows, b[np.maximum(r.codes, 0)])
                eta = eta + np.where(r.codes >= 0, contrib, 0.0)
            index = nd.X.index
        out = self._inverse_link(eta) if type == "response" else eta
        return pd.Series(out, index=index)

    def _refit_data(self) -> pd.DataFrame:
        """The data the model was fitted to, for predict(re_form=...) without newdata."""
        data = getattr(self.model, "data", None)
        if isinstance(data, pd.DataFrame):
            return data
        frame = getattr(self.model, "frame", None)
        if isinstance(frame, pd.DataFrame):
            return frame
        raise ValueError("predict(re_form = ...) without newdata needs the fitted data: "
                         "pass newdata=")

    @checked(nsim=nsim_arg, seed=seed_arg, use_u=bool_arg)
    def simulate(self, nsim: int = 1, seed: int | None = None, use_u: bool = False
                 ) -> pd.DataFrame:
        """lme4's ``simulate(fit, nsim, use.u)``: responses drawn from the fitted model (new
        random effects unless ``use_u``, then new residuals); columns ``sim_1``, ...
        (numpy's generator, not R's)."""
        rng = np.random.default_rng(seed)
        X = self.model.X.to_numpy(dtype=float)
        base = X @ np.asarray(self.sol.beta, dtype=float)
        if self.model.offset is not None:
            base = base + np.asarray(self.model.offset, dtype=float)
        Zt = self.model.reTrms.Zt
        Lt = self.sol.Lambdat
        w = self._prior_weights()
        cols = {}
        for i in range(nsim):
            if use_u:
                b = np.asarray(self.sol.b, dtype=float)
            else:
                u = rng.standard_normal(Lt.shape[0]) * self.sigma()  # spherical: N(0, s^2 I)
                b = Lt.T @ u
            e = rng.standard_normal(self.nobs()) * self.sigma() / np.sqrt(w)
            cols[f"sim_{i + 1}"] = base + Zt.T @ b + e
        return pd.DataFrame(cols, index=self._index())

    # ---- plots (matplotlib, headless: see lmepy.results.plots) -------------------------------
    def plot(self, file: Any = None) -> Any:
        """lme4's ``plot(fit)``: Pearson residuals against fitted values."""
        from lmepy.results.plots import residual_plot

        return residual_plot(self, file)

    def dotplot_ranef(self, file: Any = None) -> Any:
        """lme4's ``dotplot(ranef(fit, condVar = TRUE))``: the caterpillar plot."""
        from lmepy.results.plots import dotplot_ranef

        return dotplot_ranef(self, file)

    def qqnorm(self, type: str | None = None, file: Any = None) -> Any:
        """``qqnorm(residuals(fit))`` with ``qqline``."""
        from lmepy.results.plots import qqnorm_plot

        return qqnorm_plot(self, type=type, file=file)

    def profile(self, which: Any = None, **kwargs: Any) -> pd.DataFrame:
        """lme4's ``as.data.frame(profile(fit))``: columns ``.zeta``, the parameters, ``.par``."""
        from lmepy.results.plots import profile

        return profile(self, which, **kwargs)

    def format(self, digits: int = 4, ranef_comp: tuple[str, ...] = ("Std.Dev.",)) -> str:
        """``print(fit, digits, ranef.comp)``'s text."""
        return lp.fit_text(self._print_data(), digits=digits, ranef_comp=ranef_comp)

    def __str__(self) -> str:
        return _printed(self.format())

    def __repr__(self) -> str:
        return _printed(self.format())


def _re_form_text(re_form: Any) -> Any:
    """R's re.form spellings: NA (here float nan or "NA") means no random effects."""
    if isinstance(re_form, float) and math.isnan(re_form):
        return "~0"
    if isinstance(re_form, str) and re_form.strip() in ("NA", "~ 0", "~0", "~-1"):
        return "~0"
    return re_form


def _lmertest_data(fit: LmerMod, d: lp.PrintData, ddf: str,
                   table: pd.DataFrame | None = None) -> lp.PrintData:
    """lmerTest's summary: the df/Pr(>|t|) table (``table``: an already computed
    ``coef_table``), title and class on lme4's print data."""
    import dataclasses

    from lmepy.inference.tables import coef_table, method_title, normalize_ddf

    method = normalize_ddf(ddf)
    if method == "lme4":
        return d
    tab = coef_table(fit, method) if table is None else table
    # lmerTest keeps the call as the user wrote it: no expansion of `||` in its Formula line
    terms = getattr(fit.model, "terms", None)
    f = getattr(terms, "formula", None) if terms is not None else None
    formula = deparse_lines(f) if f is not None else d.formula
    return dataclasses.replace(d, formula=formula, coefficients=tab.to_numpy(dtype=float),
                               coef_colnames=tuple(str(c) for c in tab.columns),
                               title=method_title(fit.isREML(), method),
                               cls="lmerModLmerTest")


def lmertest_summary_text(fit: LmerMod, ddf: str = "Satterthwaite", digits: int = 4,
                          correlation: bool | None = None,
                          table: pd.DataFrame | None = None) -> str:
    """lmerTest's ``print(summary(fit, ddf = ...))`` for an ``LmerMod``: lme4's summary
    with lmerTest's title and class and the df / Pr(>|t|) columns (``table``: an already
    computed ``coef_table``). It prints, so it lives with the fit object, above inference."""
    if not isinstance(fit, LmerMod):
        raise TypeError(f"lmertest_summary_text needs an LmerMod, not {type(fit).__name__}")
    d = _lmertest_data(fit, fit._print_data(), ddf, table)
    out, _msgs, _pos = lp.summary_parts(d, digits=digits, correlation=correlation)
    return out
