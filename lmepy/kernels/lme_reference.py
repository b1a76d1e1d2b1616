"""numpy references for lmepy/kernels/lme_single.pyx: the same summaries of the one-level lme
system, written as plainly as possible (a loop over groups, LAPACK Cholesky), so the kernel
can be checked against them and used without a compiler."""

from __future__ import annotations

import math

import numpy as np

_NAN3 = (math.nan, math.nan, math.nan)


def single_update_ref(C: np.ndarray, T: np.ndarray) -> tuple[float, float, float]:
    """(log|L|², log|R_X|², pwrss) for cross-products C (G, m, m) of [Z X y] and factor T."""
    C = np.asarray(C, dtype=float)
    T = np.asarray(T, dtype=float)
    k = T.shape[0]
    q = C.shape[1] - k
    D = np.zeros((q, q))
    ld = 0.0
    for Cg in C:
        A = T.T @ Cg[:k, :k] @ T + np.eye(k)
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return _NAN3
        W = np.linalg.solve(L, T.T @ Cg[:k, k:])
        D += Cg[k:, k:] - W.T @ W
        ld += 2.0 * float(np.sum(np.log(np.diag(L))))
    try:
        R = np.linalg.cholesky(D)
    except np.linalg.LinAlgError:
        return _NAN3
    rd = np.diag(R)
    return ld, 2.0 * float(np.sum(np.log(rd[:-1]))), float(rd[-1] ** 2)


def markov_cross_ref(P0: np.ndarray, S1: np.ndarray, S2: np.ndarray, QQ: np.ndarray,
                     r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Every group's whitened cross-products from AR(1)/CAR(1) lagged sums."""
    C = np.array(P0, dtype=float)
    for j in range(len(r)):
        C += w[j] * (S1[j] - r[j] * QQ[j] + r[j] * r[j] * S2[j])
    return C


def markov_update_ref(P0: np.ndarray, S1: np.ndarray, S2: np.ndarray, QQ: np.ndarray,
                      steps: np.ndarray, counts: np.ndarray, phi: float, T: np.ndarray
                      ) -> tuple[float, float, float, float]:
    """single_update_ref on the cross-products formed from the lagged sums with
    r = phi^steps, w = 1/(1 - r²), plus the log det of the correlation matrices."""
    r = np.power(phi, np.asarray(steps, dtype=float))
    rr = r * r
    w = 1.0 / (1.0 - rr)
    ldC = float(np.dot(counts, np.log1p(-rr)))
    return single_update_ref(markov_cross_ref(P0, S1, S2, QQ, r, w), T) + (ldC,)


def markov_sums_ref(Ms: np.ndarray, gs: np.ndarray, cls: np.ndarray, G: int, L: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lagged sums (P0, S1, S2, Q) row by row: rows sorted by group, cls the step class of
    the link into each row (-1 at a group's first row)."""
    Ms = np.asarray(Ms, dtype=float)
    m = Ms.shape[1]
    P0 = np.zeros((G, m, m))
    S1, S2, Q = (np.zeros((L, G, m, m)) for _ in range(3))
    for i, (g, c) in enumerate(zip(gs, cls, strict=True)):
        x = Ms[i]
        if c < 0:
            P0[g] += np.outer(x, x)
        else:
            xp = Ms[i - 1]
            S1[c, g] += np.outer(x, x)
            S2[c, g] += np.outer(xp, xp)
            Q[c, g] += np.outer(x, xp)
    return P0, S1, S2, Q
