"""The Cython kernels (lmepy/kernels/blocked.pyx) against their numpy references
(lmepy/kernels/reference.py) on random inputs, and the blocked factor against the dense one.

Tolerance: 1e-10 relative (both sides are exact algorithms in double precision).
"""

from __future__ import annotations

import numpy as np
import pytest

from lmepy.design.types import ReTerm
from lmepy.fit.blocks import BlockedCholesky, cross_products
from lmepy.kernels import blocked as K
from lmepy.kernels import reference as R

RTOL = 1e-10


def rand_lower(rng: np.random.Generator, k: int) -> np.ndarray:
    T = np.tril(rng.normal(size=(k, k)))
    T[np.diag_indices(k)] = np.abs(T[np.diag_indices(k)]) + 0.1
    return np.asfortranarray(T)


def rand_spd_blocks(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    G = rng.normal(size=(m, k, k + 2))
    return np.ascontiguousarray(np.einsum("mij,mkj->mik", G, G))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
def test_factor_first(k: int) -> None:
    rng = np.random.default_rng(k)
    A = rand_spd_blocks(rng, 7, k)
    T = rand_lower(rng, k)
    L = np.zeros((7, k, k))
    ld = K.factor_first(A, T, L)
    Lr, ldr = R.factor_first(A, T)
    np.testing.assert_allclose(L, Lr, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ld, ldr, rtol=RTOL)


def test_factor_first_not_positive_definite() -> None:
    A = -np.ones((2, 1, 1)) * 10.0
    assert np.isnan(K.factor_first(A, np.asfortranarray([[1.0]]), np.zeros((2, 1, 1))))


def random_pattern(rng: np.random.Generator, m: int, r: int, k: int):
    ptr = [0]
    idx = []
    for _ in range(m):
        rows = np.sort(rng.choice(r, size=rng.integers(1, r + 1), replace=False))
        idx.extend(rows.tolist())
        ptr.append(len(idx))
    V = rng.normal(size=(len(idx), k))
    return np.array(ptr, dtype=np.int64), np.array(idx, dtype=np.int64), V


@pytest.mark.parametrize("k", [1, 2, 3])
def test_downdate_rest(k: int) -> None:
    rng = np.random.default_rng(10 + k)
    m, r = 6, 9
    ptr, idx, V = random_pattern(rng, m, r, k)
    T = rand_lower(rng, k)
    A = rand_spd_blocks(rng, m, k)
    L = np.zeros((m, k, k))
    K.factor_first(A, T, L)
    S0 = rng.normal(size=(r, r))
    S0 = np.asfortranarray(S0 + S0.T)
    lam = rng.uniform(0.5, 2.0, size=r)
    S = S0.copy(order="F")
    D = np.zeros((int(np.diff(ptr).max()), k))
    K.downdate_rest(ptr, idx, V, T, L, S, D, lam)
    Sr, Dr = R.downdate_rest(ptr, idx, V, T, L, S0, lam)
    np.testing.assert_allclose(np.tril(S), np.tril(Sr), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(np.triu(S, 1), np.triu(S0, 1))  # upper triangle untouched
    # keep mode: D as long as V holds every level's block; d_only leaves S alone
    Dk = np.zeros_like(V)
    S2 = S0.copy(order="F")
    K.downdate_rest(ptr, idx, V, T, L, S2, Dk, lam, True)
    np.testing.assert_allclose(Dk, Dr, rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(S2, S0)


def test_scale_rest_mixed_terms() -> None:
    rng = np.random.default_rng(3)
    # later terms: (k=2, 3 levels), (k=1, 2 levels), (k=3, 2 levels); then 2 X columns and y
    spec = [(2, 3), (1, 2), (3, 2)]
    Ts = [rand_lower(rng, k) for k, _ in spec]
    Tflat = np.concatenate([T.ravel(order="F") for T in Ts] + [[1.0]])
    toffs = np.cumsum([0] + [k * k for k, _ in spec])
    blk, cmp, kk, toff = [], [], [], []
    pos = 0
    for (k, m), to in zip(spec, toffs[:-1], strict=False):
        for lev in range(m):
            for c in range(k):
                blk.append(pos + lev * k)
                cmp.append(c)
                kk.append(k)
                toff.append(to)
        pos += k * m
    nz = pos
    for a in range(3):
        blk.append(nz + a)
        cmp.append(0)
        kk.append(1)
        toff.append(len(Tflat) - 1)
    r = nz + 3
    arr = [np.array(v, dtype=np.int64) for v in (blk, cmp, kk, toff)]
    S = rng.normal(size=(r, r))
    S = np.asfortranarray(S + S.T)
    out = np.zeros((r, r), order="F")
    K.scale_rest(S, out, *arr, Tflat, nz)
    ref = R.scale_rest(S, *arr, Tflat, nz)
    np.testing.assert_allclose(np.tril(out), ref, rtol=RTOL, atol=1e-12)


def random_terms(rng: np.random.Generator, n: int, spec: list[tuple[int, int]]) -> list[ReTerm]:
    terms = []
    for g, (m, k) in enumerate(spec):
        codes = rng.integers(0, m, size=n)
        codes[:m] = np.arange(m)  # every level present
        rows = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(k - 1)])
        terms.append(ReTerm(group=f"g{g}", levels=[str(i) for i in range(m)], codes=codes,
                            cnms=[f"c{i}" for i in range(k)], rows=rows))
    return terms


SPECS = [
    [(12, 1)],
    [(9, 2)],
    [(10, 1), (4, 1)],
    [(8, 2), (5, 1), (3, 1)],
    [(7, 1), (4, 2)],  # a vector later term: the non-scalar path of the kernel
    [(6, 3), (4, 2), (2, 1)],
]


@pytest.mark.parametrize("spec", SPECS, ids=[str(s) for s in SPECS])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("downdate", ["sparse", "dense"])
def test_blocked_factor_matches_dense(spec, weighted: bool, downdate: str) -> None:
    rng = np.random.default_rng(len(spec) * 100 + sum(m * k for m, k in spec))
    n, p = 60, 3
    terms = random_terms(rng, n, spec)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = rng.normal(size=n) * 3 + 1
    w = rng.uniform(0.3, 3.0, size=n) if weighted else None
    bc = BlockedCholesky(cross_products(terms, X, y, w), downdate=downdate)
    for _ in range(3):
        theta = np.concatenate([_theta_of(rand_lower(rng, t.k)) for t in terms])
        got = bc.update(theta)
        ref = R.dense_components(terms, X, y, theta, w)
        np.testing.assert_allclose(got, ref, rtol=RTOL)
        # modes and beta from the dense normal equations
        A, rhs, Lam = _dense_system(terms, X, y, theta, w)
        sol = np.linalg.solve(A, rhs)
        for refine in (0, 1, 2):
            u, beta = bc.solve(refine=refine)
            q = len(u)
            np.testing.assert_allclose(u, sol[:q], rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(beta, sol[q:], rtol=1e-8, atol=1e-10)
        # the refinement's residual is the normal equations' residual, at any point
        xt = rng.normal(size=q + p)
        res1, resr = bc._residual(xt[: terms[0].q], xt[terms[0].q:])
        full = A @ xt - rhs
        np.testing.assert_allclose(np.concatenate([res1, resr]), full, rtol=1e-9,
                                   atol=1e-9 * np.abs(full).max())
        # (R_X'R_X)^-1 is the beta block of the inverse; condvar_u the u blocks with beta fixed
        np.testing.assert_allclose(bc.vcov_unscaled(), np.linalg.inv(A)[q:, q:], rtol=1e-8)
        Ainv_u = np.linalg.inv(A[:q, :q])
        pos = 0
        for t, cv in zip(terms, bc.condvar_u(), strict=True):
            for lev in range(t.nlevels):
                sl = slice(pos + lev * t.k, pos + (lev + 1) * t.k)
                np.testing.assert_allclose(cv[lev], Ainv_u[sl, sl], rtol=1e-8, atol=1e-12)
            pos += t.q
        Lt = bc.Lambdat().toarray()
        np.testing.assert_allclose(Lt, Lam.T)


def _theta_of(T: np.ndarray) -> np.ndarray:
    i, j = np.tril_indices(T.shape[0])
    o = np.lexsort((i, j))
    return T[i[o], j[o]]


def _dense_system(terms, X, y, theta, w):
    n = len(y)
    w = np.ones(n) if w is None else w
    Zs, blocks = [], []
    pos = 0
    for t in terms:
        Z = np.zeros((n, t.q))
        for c in range(t.k):
            Z[np.arange(n), t.codes * t.k + c] = t.rows[:, c]
        k = t.k
        T = np.zeros((k, k))
        i, j = np.tril_indices(k)
        o = np.lexsort((i, j))
        T[i[o], j[o]] = theta[pos: pos + len(o)]
        pos += len(o)
        Zs.append(Z)
        blocks.append(np.kron(np.eye(t.nlevels), T))
    Z = np.hstack(Zs)
    q = Z.shape[1]
    Lam = np.zeros((q, q))
    off = 0
    for B in blocks:
        Lam[off: off + len(B), off: off + len(B)] = B
        off += len(B)
    M = np.hstack([Z @ Lam, X]) * np.sqrt(w)[:, None]
    A = M.T @ M
    A[np.arange(q), np.arange(q)] += 1.0
    rhs = M.T @ (y * np.sqrt(w))
    return A, rhs, Lam


def test_downdate_dense_matches_sparse_kernel() -> None:
    rng = np.random.default_rng(21)
    for k in (1, 2, 3):
        m, r = 40, 11 if k < 3 else 450  # 450 rows: three column tiles
        ptr, idx, V = random_pattern(rng, m, r, k)
        T = rand_lower(rng, k)
        L = np.zeros((m, k, k))
        K.factor_first(rand_spd_blocks(rng, m, k), T, L)
        S0 = rng.normal(size=(r, r))
        S0 = np.asfortranarray(S0 + S0.T)
        lam = rng.uniform(0.5, 2.0, size=r)
        D = np.zeros((r, k))
        S1, S2 = S0.copy(order="F"), S0.copy(order="F")
        K.downdate_rest(ptr, idx, V, T, L, S1, D, lam)
        buf = np.zeros((r, 7 * k), order="F")  # chunks of 7 levels: several dsyrk calls
        K.downdate_dense(ptr, idx, V, T, L, S2, D, lam, buf)
        np.testing.assert_allclose(np.tril(S2), np.tril(S1), rtol=RTOL, atol=1e-12)
        assert not buf.any()  # left clean for the next evaluation
        S3 = S0.copy(order="F")
        K.downdate_dense(ptr, idx, V, T, L, S3, D, lam, buf, 3)
        np.testing.assert_array_equal(S3, S2)  # the same bits on three threads


def test_cross_products_do_not_touch_inputs() -> None:
    rng = np.random.default_rng(5)
    terms = random_terms(rng, 30, [(5, 2), (3, 1)])
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    y = rng.normal(size=30)
    w = rng.uniform(1, 2, size=30)
    copies = [a.copy() for a in (X, y, w, terms[0].rows, terms[0].codes)]
    cross_products(terms, X, y, w)
    for a, b in zip(copies, (X, y, w, terms[0].rows, terms[0].codes), strict=True):
        np.testing.assert_array_equal(a, b)


def test_limit_threads_restores_the_count() -> None:
    from lmepy.kernels.blas_threads import get_num_threads, limit_threads

    before = get_num_threads()
    with limit_threads(1):
        assert get_num_threads() in (1, None)
    assert get_num_threads() == before


def test_adaptive_threads_keeps_threads_only_while_they_pay() -> None:
    import time

    from lmepy.kernels.blas_threads import AdaptiveThreads

    durations = iter([0.02, 0.005, 0.005, 0.04, 0.001])

    def work() -> float:
        d = next(durations)
        time.sleep(d)
        return d

    applied: list[int] = []
    a = AdaptiveThreads(applied.append, most=2, start_multi=True)
    assert a.call(work) == 0.02 and a.multi  # first call: single-thread yardstick
    a.call(work)
    a.call(work)
    assert a.multi  # faster than the yardstick: keep the threads
    a.call(work)
    assert not a.multi  # slower: one thread for good
    a.call(work)
    assert not a.multi
    assert applied == [1, 2, 2, 2, 1]
    assert not AdaptiveThreads(applied.append, most=2, start_multi=False).multi
    assert not AdaptiveThreads(applied.append, most=1, start_multi=True).multi


def _spd(n: int, seed: int) -> np.ndarray:
    G = np.random.default_rng(seed).normal(size=(n, n + 3))
    return np.asfortranarray(G @ G.T / n + np.eye(n))


@pytest.mark.parametrize("n", [1, 5, 96, 97, 250, 431])
def test_potrf_lower_matches_reference(n: int) -> None:
    S = _spd(n, n)
    F = S.copy(order="F")
    assert K.potrf_lower(F) == 0
    np.testing.assert_allclose(np.tril(F), R.potrf_lower(S), rtol=RTOL, atol=1e-13)
    np.testing.assert_array_equal(np.triu(F, 1), np.triu(S, 1))  # upper triangle untouched


def test_potrf_lower_reports_the_failing_column() -> None:
    S = _spd(300, 1)
    S[200, 200] = -1.0  # the leading 201 x 201 minor is not positive definite
    assert K.potrf_lower(S.copy(order="F")) == 201  # LAPACK's info: 1-based column


def test_potrf_lower_is_the_same_on_any_number_of_threads() -> None:
    """The premise of running the dense factor on every core: the bits do not change."""
    from lmepy.kernels.blas_threads import limit_threads

    for n in (130, 437, 900, 1159):
        S = _spd(n, n)
        out = []
        for threads in (1, 2, 3):
            F = S.copy(order="F")
            with limit_threads(1):
                assert K.potrf_lower(F, threads) == 0
            out.append(F)
        np.testing.assert_array_equal(out[0], out[1])
        np.testing.assert_array_equal(out[0], out[2])
        np.testing.assert_allclose(np.tril(out[0]), R.potrf_lower(S), rtol=RTOL, atol=1e-13)


def test_scalar_downdate_is_the_same_on_any_number_of_threads() -> None:
    """k = 1 (InstEval's students): column ranges of S go to different threads."""
    rng = np.random.default_rng(5)
    m, r = 300, 500  # three column tiles
    ptr, idx, V = random_pattern(rng, m, r, 1)
    T = rand_lower(rng, 1)
    L = np.zeros((m, 1, 1))
    K.factor_first(rand_spd_blocks(rng, m, 1), T, L)
    S0 = rng.normal(size=(r, r))
    S0 = np.asfortranarray(S0 + S0.T)
    lam = rng.uniform(0.5, 2.0, size=r)
    D = np.zeros((int(np.diff(ptr).max()), 1))
    out = []
    for threads in (1, 2, 3):
        S = S0.copy(order="F")
        K.downdate_rest(ptr, idx, V, T, L, S, D, lam, False, threads)
        out.append(S)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    Sr, _ = R.downdate_rest(ptr, idx, V, T, L, S0, lam)
    np.testing.assert_allclose(np.tril(out[0]), np.tril(Sr), rtol=RTOL, atol=1e-10)
