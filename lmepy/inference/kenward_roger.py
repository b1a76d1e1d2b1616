"""Kenward-Roger (1997) inference for fixed effects of REML fits, as pbkrtest computes it.

The marginal covariance is linear in the variance-covariance parameters γ (the elements of
each term's covariance matrix Ψ and σ²): V = Σ γ_r G_r, with G_r = Z_i Z_j' + Z_j Z_i' for the
(i, j) element of a term's Ψ (Z_i Z_i' on the diagonal) and G = I for σ². With P_r =
-X'V⁻¹G_rV⁻¹X, Q_rs = X'V⁻¹G_rV⁻¹G_sV⁻¹X and W = 2 I_E⁻¹ (I_E the REML expected information
of γ), the small-sample adjusted covariance of β̂ is Φ_A = Φ + 2Φ(Σ W_rs (Q_rs - P_rΦP_s))Φ
(Φ = (X'V⁻¹X)⁻¹; the second-derivative term vanishes because V is linear in γ). The
denominator df and the F scaling follow by matching moments (Kenward & Roger, eqs. 3.10-3.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import stats

from lmepy.inference._common import as_solution, vcov_beta

__all__ = ["KRState", "kenward_roger", "kr_contest1d", "kr_contest_md"]

_MAX_NQ = 50_000_000  # elements of the dense n x q matrices (Z, V⁻¹Z)


@dataclass
class KRState:
    beta: np.ndarray
    Phi: np.ndarray  # vcov(β̂)
    PhiA: np.ndarray  # adjusted vcov(β̂)
    P: list[np.ndarray]
    W: np.ndarray
    sigma: float


def _parameters(sol: Any) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Each covariance parameter's G = Σ Z_u Z_v' as a list of (u, v) column-index pairs of
    Z: the (a, b) element of a term's Ψ gives Z_a Z_b' + Z_b Z_a' (Z_a Z_a' on the
    diagonal), Z_a being the term's columns of component a, one per level. In lme4's θ
    order; σ² (G = I) is handled apart."""
    out = []
    pos = 0
    for t in sol.model.reTrms.terms:
        k, m = t.k, t.nlevels
        cols = [pos + np.arange(m) * k + a for a in range(k)]
        for b in range(k):
            for a in range(b, k):
                if a == b:
                    out.append([(cols[a], cols[a])])
                else:
                    out.append([(cols[a], cols[b]), (cols[b], cols[a])])
        pos += t.q
    return out


def kenward_roger(fit: Any) -> KRState:
    """Φ_A and the pieces the df need (pbkrtest's ``vcovAdj`` with its P and W).

    V⁻¹ is never formed: V = σ²(I + ZΛΛ'Z'), so V⁻¹M = (M - ZΛ(Λ'Z'ZΛ + I)⁻¹Λ'Z'M)/σ²,
    and every trace reduces to q x q blocks of Z'V⁻¹Z and (V⁻¹Z)'(V⁻¹Z); the cost is
    O(n q² + q³) per fit rather than O(n³)."""
    sol = as_solution(fit)
    cached = getattr(sol, "_lmepy_kr", None)
    if isinstance(cached, KRState):
        return cached
    if not sol.REML:
        raise ValueError("Kenward-Roger's method is only available for REML model fits")
    if sol.model.weights is not None:
        raise NotImplementedError("Kenward-Roger's method is not implemented for weighted fits")
    n = sol.model.n
    Zs = sp.csc_matrix(sol.model.reTrms.Zt.T)
    q = Zs.shape[1]
    if n * q > _MAX_NQ:
        raise MemoryError(f"Kenward-Roger needs dense n x q = {n} x {q} matrices; at most "
                          f"{_MAX_NQ} elements")
    X = np.asarray(sol.model.X, dtype=float)
    s2 = float(sol.sigma) ** 2
    ZL = (Zs @ sp.csc_matrix(sol.Lambdat).T).tocsc()
    Mq = (ZL.T @ ZL).toarray() + np.eye(q)
    cf = sla.cho_factor(Mq, lower=True)

    def Vinv(M: np.ndarray) -> np.ndarray:
        return (M - ZL @ sla.cho_solve(cf, ZL.T @ M)) / s2

    Z = Zs.toarray()
    TT = Vinv(X)
    VZ = Vinv(Z)
    C = Z.T @ VZ  # Z'V⁻¹Z
    D2 = VZ.T @ VZ  # Z'V⁻²Z
    ZtTT = Z.T @ TT
    K = sla.cho_solve(cf, (ZL.T @ ZL).toarray())
    tr_V2 = (n - 2.0 * np.trace(K) + float(np.sum(K * K.T))) / s2 ** 2  # tr(V⁻²)
    pars = _parameters(sol)
    m = len(pars) + 1  # + σ²
    OO = []
    for pr in pars:
        O = np.zeros_like(TT)
        for u, v in pr:
            O += Z[:, u] @ ZtTT[v]
        OO.append(O)
    OO.append(TT)  # G = I
    SO = [Vinv(O) for O in OO]
    Phi = vcov_beta(sol)
    P = []
    for r in range(m):
        Pr = -OO[r].T @ TT
        P.append((Pr + Pr.T) / 2.0)
    Q = {}
    for r in range(m):
        for s_ in range(r, m):
            Q[r, s_] = OO[r].T @ SO[s_]

    def ktrace(r: int, s_: int) -> float:
        """tr(V⁻¹G_r V⁻¹G_s)."""
        last = m - 1
        if r == last and s_ == last:
            return tr_V2
        if r == last or s_ == last:
            pr = pars[s_ if r == last else r]
            return float(sum(np.trace(D2[np.ix_(v, u)]) for u, v in pr))
        tot = 0.0
        for u, v in pars[r]:
            for u2, v2 in pars[s_]:
                tot += float(np.sum(C[np.ix_(v, u2)] * C[np.ix_(v2, u)].T))
        return tot

    IE2 = np.zeros((m, m))
    for r in range(m):
        PhiPr = Phi @ P[r]
        for s_ in range(r, m):
            IE2[r, s_] = IE2[s_, r] = (ktrace(r, s_) - 2.0 * float(np.sum(Phi * Q[r, s_]))
                                       + float(np.sum(PhiPr * (P[s_] @ Phi))))
    if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10:
        W = 2.0 * np.linalg.inv(IE2)
    else:
        W = 2.0 * np.linalg.pinv(IE2)
    W = (W + W.T) / 2.0
    U = np.zeros_like(Phi)
    for r in range(m - 1):
        for s_ in range(r + 1, m):
            U += W[r, s_] * (Q[r, s_] - P[r] @ Phi @ P[s_])
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
