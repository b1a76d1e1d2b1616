"""Satterthwaite's denominator degrees of freedom for contrasts of the fixed effects, the
way lmerTest 3.1 defines them.

For a contrast L, var(Lβ̂) = L'C(φ)L with C = σ²(R_X'R_X)^{-1} a function of the variance
parameters φ = (θ, σ). Its sampling variance is approximated by the delta method,
g'Ag with g = ∂(L'CL)/∂φ and A = 2 H^{-1} (H the Hessian of the deviance in φ), and
matching the first two moments of a scaled χ² gives df = 2 (L'CL)² / g'Ag. Both H and the
Jacobian of C are taken numerically (Richardson extrapolation) from the LMM core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from lmepy.errors import ConvergenceWarning, warn
from lmepy.inference._common import VarparDeviance, as_solution, hessian, jacobian, vcov_beta

__all__ = ["SatterthwaiteState", "satterthwaite", "contest1d", "contest_md", "fstat_ddf"]


@dataclass
class SatterthwaiteState:
    """What every Satterthwaite contrast needs, computed once per fit."""

    beta: np.ndarray
    vcov_beta: np.ndarray  # σ² (R_X'R_X)^{-1}
    varpar: np.ndarray  # (θ, σ) at the optimum
    vcov_varpar: np.ndarray  # 2 H^{-1} (pseudo-inverse over positive eigenvalues)
    jac_list: list[np.ndarray]  # ∂C/∂φ_i, one p x p matrix per varpar element
    sigma: float
    hessian: np.ndarray


def satterthwaite(fit: Any, tol: float = 1e-8) -> SatterthwaiteState:
    """The Hessian of the deviance in (θ, σ) and the Jacobian of vcov(β) at the estimates."""
    sol = as_solution(fit)
    cached = getattr(sol, "_lmepy_satterthwaite", None)
    if isinstance(cached, SatterthwaiteState):
        return cached
    vd = VarparDeviance(sol)
    vp = vd.varpar_opt()
    H = hessian(vd, vp)
    H = (H + H.T) / 2.0
    w, V = np.linalg.eigh(H)
    w, V = w[::-1], V[:, ::-1]  # decreasing, as R's eigen()
    _check_hessian(w, tol)
    pos = w > tol
    Hinv = (V[:, pos] / w[pos]) @ V[:, pos].T
    jac = jacobian(vd.vcov_beta, vp)
    state = SatterthwaiteState(beta=np.asarray(sol.beta, dtype=float), vcov_beta=vcov_beta(sol),
                               varpar=vp, vcov_varpar=2.0 * Hinv,
                               jac_list=[(J + J.T) / 2.0 for J in jac], sigma=float(sol.sigma),
                               hessian=H)
    try:
        sol._lmepy_satterthwaite = state  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return state


def _check_hessian(w: np.ndarray, tol: float) -> None:
    """lmerTest's warnings about a Hessian of the deviance that is not positive definite."""
    neg = w[w < -tol]
    zero = w[(w > -tol) & (w < tol)]
    if len(neg):
        word = "eigenvalues" if len(neg) > 1 else "eigenvalue"
        vals = " ".join(f"{v:.1e}" for v in neg)
        warn(f"Model failed to converge with {len(neg)} negative {word}: {vals}",
             ConvergenceWarning)
    if len(zero):
        word = "eigenvalues" if len(zero) > 1 else "eigenvalue"
        vals = " ".join(f"{v:.1e}" for v in zero)
        warn(f"Model may not have converged with {len(zero)} {word} close to zero: "
             f"{vals}", ConvergenceWarning)


def _df1(state: SatterthwaiteState, L: np.ndarray, var_con: float) -> float:
    g = np.array([L @ J @ L for J in state.jac_list])
    denom = float(g @ state.vcov_varpar @ g)
    return 2.0 * var_con ** 2 / denom


def contest1d(state: SatterthwaiteState, L: np.ndarray, rhs: float = 0.0) -> dict[str, float]:
    """t-test of L'β = rhs: estimate, standard error, df, t value, p-value."""
    L = np.asarray(L, dtype=float).reshape(-1)
    est = float(L @ state.beta)
    var_con = float(L @ state.vcov_beta @ L)
    df = _df1(state, L, var_con)
    se = float(np.sqrt(var_con))
    t = (est - rhs) / se
    p = float(2.0 * stats.t.sf(abs(t), df))
    return {"Estimate": est, "Std. Error": se, "df": df, "t value": t, "Pr(>|t|)": p}


def fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of an F statistic made of q independent t²'s with df ν_m: matches the
    mean of q F(q, ν) to the mean of the sum, E = Σ ν_m/(ν_m - 2), ddf = 2E/(E - q)."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * E / (E - len(nu))


def contest_md(state: SatterthwaiteState, L: np.ndarray, rhs: np.ndarray | float = 0.0,
               eps: float = float(np.sqrt(np.finfo(float).eps))) -> dict[str, float]:
    """F-test of Lβ = 0 (L with one row per hypothesis): the hypotheses are rotated onto the
    eigenvectors of L C L' so that the rotated t statistics are uncorrelated, each gets its
    own Satterthwaite df, and those combine by ``fstat_ddf``. Returns lmerTest's anova row."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (L.shape[0],))
    if L.shape[0] == 0:
        return {"Sum Sq": np.nan, "Mean Sq": np.nan, "NumDF": 0, "DenDF": np.nan,
                "F value": np.nan, "Pr(>F)": np.nan}
    if L.shape[0] == 1:
        r = contest1d(state, L[0], float(rhs[0]))
        return _ftable(r["t value"] ** 2, 1, r["df"], state.sigma)
    beta = state.beta if np.all(rhs == 0) else state.beta - np.linalg.pinv(L) @ rhs
    VL = L @ state.vcov_beta @ L.T
    d, P = np.linalg.eigh((VL + VL.T) / 2.0)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    tol = max(eps * d[0], 0.0)
    q = int(np.sum(d > tol))
    PtL = (P.T @ L)[:q]
    if q == 1:
        r = contest1d(state, PtL[0], float(rhs[0]))
        return _ftable(r["t value"] ** 2, 1, r["df"], state.sigma)
    t2 = (PtL @ beta) ** 2 / d[:q]
    F = float(np.sum(t2) / q)
    nu = np.array([_df1(state, PtL[m], float(d[m])) for m in range(q)])
    return _ftable(F, q, fstat_ddf(nu), state.sigma)


def _ftable(F: float, ndf: int, ddf: float, sigma: float, fscale: float = 1.0
            ) -> dict[str, float]:
    ms = F * sigma ** 2
    Fs = F * fscale
    return {"Sum Sq": ms * ndf, "Mean Sq": ms, "NumDF": ndf, "DenDF": ddf, "F value": Fs,
            "Pr(>F)": float(stats.f.sf(Fs, ndf, ddf))}
