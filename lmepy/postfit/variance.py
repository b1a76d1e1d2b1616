"""The variance components of Nakagawa, Johnson and Schielzeth (2017), as insight 0.19.0's
``get_variance`` defines them for lme4 fits (its documentation, "Details"):

* fixed: the variance (denominator n - 1) of the fixed-effects linear predictor X β,
* random: Johnson's (2014, eq. 10) mean random-effects variance: for each random-effects
  term with covariance Σ and per-row model row z_i, the mean over rows of z_i' Σ z_i,
  summed over the terms (a random-intercept term contributes its variance),
* distribution: σ² for a linear mixed model; π²/3 (logit), 1 (probit), π²/6 (cloglog) for
  binomial; for Poisson with log link the lognormal approximation log(1 + 1/μ), μ being
  exp(intercept) of the null model (``y ~ 1`` with the same random effects), refitted here,
* residual: distribution plus the additive dispersion (0 for these families).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lmepy.args import check_number
from lmepy.errors import LmepyError, warn
from lmepy.lme.results import LmeFit
from lmepy.results.glmer import GlmerMod
from lmepy.results.lmer import LmerMod, theta_factor

__all__ = ["get_variance", "SINGULAR_WARNING"]

SINGULAR_WARNING = (
    "Can't compute random effect variances. Some variance components equal\n"
    "  zero. Your model may suffer from singularity (see `?lme4::isSingular`\n"
    "  and `?performance::check_singularity`).\n"
    "  Solution: Respecify random structure! You may also decrease the\n"
    "  `tolerance` level to enforce the calculation of random effect variances.")

_BINOMIAL = {"logit": math.pi ** 2 / 3, "probit": 1.0, "cloglog": math.pi ** 2 / 6}


def _check_fit(fit: Any, what: str) -> Any:
    if not isinstance(fit, (LmerMod, LmeFit)):
        raise TypeError(f"{what} needs an lmer, glmer or lme fit, not {type(fit).__name__}")
    return fit


def _lme_components(fit: LmeFit) -> tuple[float, float, float]:
    """(fixed, random, residual) of an nlme ``lme`` fit with one level of random effects
    and no correlation or variance structure (σ² is then the residual variance)."""
    ms = fit.modelStruct()
    if set(ms) - {"reStruct"}:
        raise NotImplementedError("R2 and ICC of an lme fit with a correlation or variance "
                                  "structure are not implemented")
    try:
        S = np.asarray(fit.getVarCov().matrix, dtype=float)
    except LmepyError as e:
        raise NotImplementedError("R2 and ICC of an lme fit with several levels of nesting "
                                  "are not implemented") from e
    rows = np.asarray(fit.d.levels[0].rows, dtype=float)
    vr = float(np.mean(np.einsum("ij,jk,ik->i", rows, S, rows)))
    eta = np.asarray(fit.d.X, dtype=float) @ np.asarray(fit.sol.beta, dtype=float)
    vf = float(np.var(eta, ddof=1)) if eta.size > 1 else 0.0
    return vf, vr, fit.sigma() ** 2


def _term_covariances(fit: LmerMod) -> list[np.ndarray]:
    """Per random-effects term its covariance matrix (σ² ΛΛ' for lmer; ΛΛ' for a GLMM
    without a scale parameter, as lme4's VarCorr)."""
    s2 = fit.sigma() ** 2 if fit._vc_sigma() is not None else 1.0
    out = []
    pos = 0
    theta = np.asarray(fit.sol.theta, dtype=float)
    for t in fit._terms:
        T = theta_factor(theta[pos: pos + t.ntheta], t.k)
        pos += t.ntheta
        out.append(s2 * (T @ T.T))
    return out


def var_fixed(fit: LmerMod) -> float:
    """var(X β) with R's n - 1 denominator."""
    eta = fit.model.X.to_numpy(dtype=float) @ np.asarray(fit.sol.beta, dtype=float)
    return float(np.var(eta, ddof=1)) if eta.size > 1 else 0.0


def var_random(fit: LmerMod) -> float:
    """Johnson's mean random-effects variance: sum over terms of mean_i z_i' Σ z_i."""
    total = 0.0
    for t, S in zip(fit._terms, _term_covariances(fit), strict=True):
        rows = np.asarray(t.rows, dtype=float)
        total += float(np.mean(np.einsum("ij,jk,ik->i", rows, S, rows)))
    return total


def _null_intercept(fit: GlmerMod) -> float:
    """The fixed intercept of the null model ``y ~ 1 + (random terms)``, refitted on the
    fit's data with its family (insight's ``null_model``)."""
    from lmepy.design import glFormula
    from lmepy.errors import quiet
    from lmepy.fit.glmm import fit_glmm

    terms = fit.model.terms
    formula = f"{terms.response} ~ 1 + " + " + ".join(str(r) for r in terms.random)
    fam = fit.sol.family
    with quiet():
        model = glFormula(formula, fit._refit_data(), family=fam, weights=fit.model.weights)
        sol = fit_glmm(model, fam, nAGQ=int(fit.sol.nAGQ))
    return float(np.asarray(sol.beta, dtype=float)[0])


def var_distribution(fit: LmerMod) -> float:
    """The distribution-specific variance (see the module's docstring)."""
    if not isinstance(fit, GlmerMod):
        return fit.sigma() ** 2
    fam = fit.sol.family
    name, link = str(fam.family), str(fam.link)
    if name == "binomial" and link in _BINOMIAL:
        return _BINOMIAL[link]
    if name == "poisson" and link == "log":
        mu = math.exp(_null_intercept(fit))
        if mu < 6:
            warn(f"mu of {mu:.1f} is too close to zero, estimate of random effect variances "
                 "may\n  be unreliable.")
        return math.log1p(1.0 / mu)
    raise NotImplementedError(
        f"variance components for family {name!r} with link {link!r} are not implemented "
        "(lmepy has binomial logit/probit/cloglog, poisson log and linear mixed models)")


def get_variance(fit: Any, tolerance: float = 1e-5) -> dict[str, float]:
    """insight's ``get_variance(fit)``: the variance components behind R² and the ICC.

    Parameters
    ----------
    fit : LmerMod, GlmerMod or LmeFit
        A fitted lmer or glmer model, or an nlme lme with one level of random effects and
        no correlation or variance structure.
    tolerance : float
        Singularity tolerance: when a variance parameter on its boundary is below it
        (lme4's ``isSingular(fit, tol)``), the random-effects variance is not computed
        and ``var.random`` is NaN (performance's NA), with performance's warning.

    Returns
    -------
    dict
        ``var.fixed``, ``var.random``, ``var.residual``, ``var.distribution``,
        ``var.dispersion`` (insight's names).

    R equivalent
    ------------
    ``insight::get_variance(fit)``
    """
    fit = _check_fit(fit, "get_variance")
    tol = check_number(tolerance, "tolerance", lo=0)
    if isinstance(fit, LmeFit):
        vf, vr, ve = _lme_components(fit)
        return {"var.fixed": vf, "var.random": vr, "var.residual": ve,
                "var.distribution": ve, "var.dispersion": 0.0}
    vr = math.nan if fit.isSingular(tol=tol) else var_random(fit)
    vd = var_distribution(fit)
    return {"var.fixed": var_fixed(fit), "var.random": vr, "var.residual": vd,
            "var.distribution": vd, "var.dispersion": 0.0}
