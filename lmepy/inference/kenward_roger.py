"""Kenward-Roger (1997) inference for fixed effects of REML fits, as pbkrtest computes it.

The marginal covariance is linear in the variance-covariance parameters γ (the elements of
each term's covariance matrix Ψ and σ²): V = Σ γ_r G_r, with G_r = Z_i Z_j' + Z_j Z_i' for the
(i, j) element of a term's Ψ (Z_i Z_i' on the diagonal) and G = I for σ². With P_r =
-X'V⁻¹G_rV⁻¹X, Q_rs = X'V⁻¹G_rV⁻¹G_sV⁻¹X and W = 2 I_E⁻¹ (I_E the REML expected information
of γ), the small-sample adjusted covariance of β̂ is Φ_A = Φ + 2Φ(Σ W_rs (Q_rs - P_rΦP_s))Φ
(Φ = (X'V⁻¹X)⁻¹; the second-derivative term vanishes because V is linear in γ). The
denominator df and the F scaling follow by matching moments (Kenward & Roger, eqs. 3.10-3.14).
Dense n x n algebra: meant for the moderate n of the tests and typical designed experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from lmepy.inference._common import as_solution, vcov_beta

__all__ = ["KRState", "kenward_roger", "kr_contest1d", "kr_contest_md"]

_MAX_N = 5000


@dataclass
class KRState:
    beta: np.ndarray
    Phi: np.ndarray  # vcov(β̂)
    PhiA: np.ndarray  # adjusted vcov(β̂)
    P: list[np.ndarray]
    W: np.ndarray
    sigma: float


def _g_matrices(sol: Any) -> tuple[list[np.ndarray], np.ndarray]:
    """G_r (dense n x n) and the current γ, term by term, then σ²."""
    model = sol.model
    n = model.n
    s2 = float(sol.sigma) ** 2
    Gs: list[np.ndarray] = []
    gam: list[float] = []
    pos = 0
    for t in model.reTrms.terms:
        k = t.k
        nth = k * (k + 1) // 2
        th = np.asarray(sol.theta[pos: pos + nth], dtype=float)
        pos += nth
        T = np.zeros((k, k))
        i, j = np.tril_indices(k)
        o = np.lexsort((i, j))  # column-major lower triangle, lme4's θ order
        T[i[o], j[o]] = th
        Psi = s2 * T @ T.T
        codes = np.asarray(t.codes)
        M = np.zeros((n, t.nlevels))
        M[np.arange(n), codes] = 1.0
        Zc = [M * np.asarray(t.rows[:, a], dtype=float)[:, None] for a in range(k)]
        for b in range(k):
            for a in range(b, k):
                G = Zc[a] @ Zc[b].T
                if a != b:
                    G = G + G.T
                Gs.append(G)
                gam.append(Psi[a, b])
    Gs.append(np.eye(n))
    gam.append(s2)
    return Gs, np.asarray(gam)


def kenward_roger(fit: Any) -> KRState:
    """Φ_A and the pieces the df need (pbkrtest's ``vcovAdj`` with its P and W)."""
    sol = as_solution(fit)
    cached = getattr(sol, "_lmepy_kr", None)
    if isinstance(cached, KRState):
        return cached
    if not sol.REML:
        raise ValueError("Kenward-Roger's method is only available for REML model fits")
    if sol.model.weights is not None:
        raise NotImplementedError("Kenward-Roger's method is not implemented for weighted fits")
    n = sol.model.n
    if n > _MAX_N:
        raise MemoryError(f"Kenward-Roger uses dense {n} x {n} matrices; at most {_MAX_N} rows")
    X = np.asarray(sol.model.X, dtype=float)
    Gs, gam = _g_matrices(sol)
    Sigma = sum(g * G for g, G in zip(gam, Gs, strict=True))
    cf = np.linalg.cholesky(Sigma)
    Linv = np.linalg.inv(cf)
    SigmaInv = Linv.T @ Linv
    Phi = vcov_beta(sol)
    TT = SigmaInv @ X
    HH = [G @ SigmaInv for G in Gs]
    OO = [H @ X for H in HH]
    m = len(Gs)
    P = []
    for r in range(m):
        Pr = -OO[r].T @ TT
        P.append((Pr + Pr.T) / 2.0)
    Q = {}
    for r in range(m):
        for s in range(r, m):
            Q[r, s] = OO[r].T @ SigmaInv @ OO[s]
    IE2 = np.zeros((m, m))
    for r in range(m):
        PhiPr = Phi @ P[r]
        for s in range(r, m):
            ktr = float(np.sum(HH[r].T * HH[s]))
            IE2[r, s] = IE2[s, r] = (ktr - 2.0 * float(np.sum(Phi * Q[r, s]))
                                     + float(np.sum(PhiPr * (P[s] @ Phi))))
    if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10:
        W = 2.0 * np.linalg.inv(IE2)
    else:
        W = 2.0 * np.linalg.pinv(IE2)
    W = (W + W.T) / 2.0
    U = np.zeros_like(Phi)
    for r in range(m - 1):
        for s in range(r + 1, m):
            U += W[r, s] * (Q[r, s] - P[r] @ Phi @ P[s])
    U = U + U.T
    for r in range(m):
        U += W[r, r] * (Q[r, r] - P[r] @ Phi @ P[r])
    PhiA = Phi + 2.0 * Phi @ U @ Phi
    state = KRState(beta=np.asarray(sol.beta, dtype=float), Phi=Phi, PhiA=PhiA, P=P, W=W,
                    sigma=float(sol.sigma))
    try:
        sol._lmepy_kr = state  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return state


def _kr_adjust(state: KRState, L: np.ndarray, betaH: np.ndarray | None = None
               ) -> dict[str, float]:
    """Denominator df, F scaling, and the (unscaled) Wald F for Lβ = 0."""
    Phi = state.Phi
    q = int(np.linalg.matrix_rank(L))
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    TP = Theta @ Phi
    u = [TP @ Pr @ Phi for Pr in state.P]
    tr = [float(np.trace(x)) for x in u]
    m = len(u)
    A1 = A2 = 0.0
    for i in range(m):
        for j in range(i, m):
            e = 1.0 if i == j else 2.0
            A1 += e * state.W[i, j] * tr[i] * tr[j]
            A2 += e * state.W[i, j] * float(np.sum(u[i] * u[j].T))
    B = (A1 + 6.0 * A2) / (2.0 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    den = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
    V0 = 1 + c1 * B
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    if abs(V0) < 1e-10:
        V0 = 0.0
    ratio = (1 - A2 / q) / V1 if V1 != 0 else np.inf
    rho = ratio ** 2 * V0 / V2 / q
    df2 = 4 + (q + 2) / (q * rho - 1)
    fscale = 1.0 if abs(df2 - 2) < 0.01 else df2 * (1 - A2 / q) / (df2 - 2)
    Lb = L @ (state.beta if betaH is None else state.beta - betaH)
    FU = float(Lb @ np.linalg.solve(L @ state.PhiA @ L.T, Lb)) / q
    return {"q": q, "ddf": float(df2), "F.scaling": float(fscale), "FstatU": FU}


def kr_contest1d(state: KRState, L: np.ndarray, rhs: float = 0.0) -> dict[str, float]:
    """t-test of L'β = rhs with the adjusted standard error and Kenward-Roger df."""
    L = np.asarray(L, dtype=float).reshape(1, -1)
    a = _kr_adjust(state, L)
    est = float(L[0] @ state.beta)
    se = float(np.sqrt(L[0] @ state.PhiA @ L[0]))
    t = (est - rhs) / se
    return {"Estimate": est, "Std. Error": se, "df": a["ddf"], "t value": t,
            "Pr(>|t|)": float(2.0 * stats.t.sf(abs(t), a["ddf"]))}


def kr_contest_md(state: KRState, L: np.ndarray, rhs: np.ndarray | float = 0.0
                  ) -> dict[str, float]:
    """lmerTest's anova row for Lβ = rhs by Kenward-Roger: Sum Sq and Mean Sq from the
    unscaled Wald F, the F value scaled."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (L.shape[0],))
    betaH = None if np.all(rhs == 0) else np.linalg.pinv(L) @ rhs
    a = _kr_adjust(state, L, betaH)
    ms = a["FstatU"] * state.sigma ** 2
    F = a["FstatU"] * a["F.scaling"]
    return {"Sum Sq": ms * a["q"], "Mean Sq": ms, "NumDF": a["q"], "DenDF": a["ddf"],
            "F value": F, "Pr(>F)": float(stats.f.sf(F, a["q"], a["ddf"]))}
