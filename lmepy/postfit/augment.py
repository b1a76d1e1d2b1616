"""broom.mixed's ``augment`` (0.2.9.4) for lmer and glmer fits: the model frame with one
column per observation-level diagnostic, and lme4's ``hatvalues`` / ``cooks.distance``.

The hat values are the diagonal of the hat matrix of the penalized least-squares problem
at the optimum. With Λ the relative covariance factor, W the weights of the final
(penalized, for a GLMM iteratively reweighted) least-squares step and P the prior weights,

    A = [[Λ'Z'WZΛ + I, Λ'Z'WX], [X'WZΛ, X'WX]],   M = [Λ'Z'; X'] P^{1/2},
    h = diag(M' A⁻¹ M),

which is what lme4 1.1-31's ``hatvalues.merMod`` computes from its Cholesky factors (for a
GLMM it uses the prior weights in M, and lme4 warns that the hat matrix may not make sense
there; lmepy repeats the warning). Cook's distance is lme4's
(r / (1 - h))² h / (σ² p) with r the Pearson residuals and p the number of fixed effects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from lmepy.errors import warn
from lmepy.results.glmer import GlmerMod
from lmepy.results.lmer import LmerMod

__all__ = ["augment", "cooks_distance", "hatvalues"]

_CHUNK = 512


def _check_fit(fit: Any, what: str) -> LmerMod:
    if not isinstance(fit, LmerMod):
        raise TypeError(f"{what} needs an lmer or glmer fit, not {type(fit).__name__}")
    return fit


def _resp(fit: LmerMod) -> dict[str, np.ndarray]:
    """lme4's response-module fields: mu, eta, offset, prior weights, sqrtrwt, sqrtXwt,
    wtres."""
    n = fit.nobs()
    pw = fit._prior_weights()
    off = fit.model.offset
    offset = np.zeros(n) if off is None else np.asarray(off, dtype=float)
    if isinstance(fit, GlmerMod):
        fam = fit.sol.family
        mu = np.asarray(fit.sol.fitted, dtype=float)
        eta = np.asarray(fit.sol.eta, dtype=float)
        y = np.asarray(fit.sol.y, dtype=float)
        sqrtrwt = np.sqrt(pw / np.asarray(fam.variance(mu), dtype=float))
        sqrtxwt = sqrtrwt * np.asarray(fam.mu_eta(eta), dtype=float)
    else:
        mu = np.asarray(fit.sol.fitted, dtype=float)
        eta = mu
        y = np.asarray(fit.model.y, dtype=float)
        sqrtrwt = np.sqrt(pw)
        sqrtxwt = sqrtrwt
    return {"mu": mu, "eta": eta, "offset": offset, "weights": pw, "sqrtrwt": sqrtrwt,
            "sqrtXwt": sqrtxwt, "wtres": sqrtrwt * (y - mu)}


def hatvalues(fit: Any) -> pd.Series:
    """The diagonal of the hat matrix (see the module's docstring): how much each
    observation pulls its own fitted value.

    Parameters
    ----------
    fit : LmerMod or GlmerMod
        A fitted lmer or glmer model.

    Returns
    -------
    pandas.Series
        One value per observation, indexed as the model frame.

    R equivalent
    ------------
    ``hatvalues(fit)`` (lme4's ``hatvalues.merMod``)
    """
    fit = _check_fit(fit, "hatvalues")
    if isinstance(fit, GlmerMod):
        warn("the hat matrix may not make sense for GLMMs")
    r = _resp(fit)
    w = r["sqrtXwt"] ** 2
    sqp = np.sqrt(r["weights"])
    X = fit.model.X.to_numpy(dtype=float)
    LtZt = sp.csr_matrix(fit.sol.Lambdat) @ sp.csr_matrix(fit.model.reTrms.Zt)
    q = LtZt.shape[0]
    Wd = sp.diags(w)
    A12 = sp.csr_matrix(LtZt @ (X * w[:, None]))
    A = sp.bmat([[LtZt @ Wd @ LtZt.T + sp.identity(q), A12],
                 [A12.T, sp.csr_matrix(X.T @ (X * w[:, None]))]], format="csc")
    lu = splu(A)
    M = sp.vstack([LtZt @ sp.diags(sqp), sp.csr_matrix((X * sqp[:, None]).T)], format="csc")
    h = np.empty(fit.nobs())
    for start in range(0, fit.nobs(), _CHUNK):
        Mc = M[:, start: start + _CHUNK].toarray()
        h[start: start + _CHUNK] = np.einsum("ij,ij->j", Mc, lu.solve(Mc))
    return pd.Series(h, index=fit._index())


def cooks_distance(fit: Any, hat: np.ndarray | None = None) -> pd.Series:
    """lme4's ``cooks.distance(fit)``: (r / (1 - h))² h / (σ² p), r the Pearson residuals."""
    fit = _check_fit(fit, "cooks_distance")
    h = hatvalues(fit).to_numpy() if hat is None else np.asarray(hat, dtype=float)
    res = _resp(fit)["wtres"]
    p = len(fit._xnames)
    return pd.Series((res / (1 - h)) ** 2 * h / (fit.sigma() ** 2 * p), index=fit._index())


def augment(fit: Any, newdata: Any = None) -> pd.DataFrame:
    """The model frame with observation-level diagnostics, for residual plots and checks.

    Parameters
    ----------
    fit : LmerMod or GlmerMod
        A fitted lmer or glmer model.
    newdata : pandas.DataFrame, optional
        New data: then only ``.fitted`` (``fit.predict(newdata)``, all random effects, link
        scale) is added to a copy of it.

    Returns
    -------
    pandas.DataFrame
        The model frame, then ``.fitted`` (the linear predictor: fitted values for lmer),
        ``.resid`` (response residuals for lmer, deviance residuals for glmer),
        ``.hat``, ``.cooksd``, ``.fixed`` (X β plus offset), ``.mu``, ``.offset``,
        ``.sqrtXwt``, ``.sqrtrwt``, ``.weights`` (prior weights), ``.wtres`` (Pearson
        residuals), and ``.eta`` for glmer: broom.mixed's columns for lme4 fits.

    R equivalent
    ------------
    ``broom.mixed::augment(fit, newdata)``
    """
    fit = _check_fit(fit, "augment")
    if newdata is not None:
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError(f"'newdata' must be a pandas DataFrame, not "
                            f"{type(newdata).__name__}")
        out = newdata.copy()
        out[".fitted"] = fit.predict(newdata).to_numpy(dtype=float)
        return out
    r = _resp(fit)
    frame = getattr(fit.model, "frame", None)
    out = frame.copy() if isinstance(frame, pd.DataFrame) else pd.DataFrame(index=fit._index())
    glmm = isinstance(fit, GlmerMod)
    h = hatvalues(fit).to_numpy()
    p = len(fit._xnames)
    fixed = fit.model.X.to_numpy(dtype=float) @ np.asarray(fit.sol.beta, dtype=float)
    cols = {
        ".fitted": r["eta"],
        ".resid": fit.residuals().to_numpy(dtype=float),
        ".hat": h,
        ".cooksd": (r["wtres"] / (1 - h)) ** 2 * h / (fit.sigma() ** 2 * p),
        ".fixed": fixed + r["offset"],
        ".mu": r["mu"], ".offset": r["offset"], ".sqrtXwt": r["sqrtXwt"],
        ".sqrtrwt": r["sqrtrwt"], ".weights": r["weights"], ".wtres": r["wtres"],
    }
    if glmm:
        cols[".eta"] = r["eta"]
    for k, v in cols.items():
        out[k] = v
    return out
