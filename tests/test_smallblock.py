"""The small-block primitives of lmepy/kernels/smallblock.pxd (Cholesky, triangular solves,
log-determinant, rank-1 update), each called directly and checked against numpy/scipy and
against its numpy twin (lmepy/kernels/smallblock_reference.py) on random inputs. The kernel
and the twin do the same operations in the same order, so they agree to the bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from lmepy.kernels import smallblock_reference as ref
from lmepy.kernels import smallblock_wrap as sb

SIZES = [1, 2, 3, 5, 8, 13]


def _spd(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n + 2))
    return M @ M.T + 0.1 * np.eye(n)


def _lower(n: int, seed: int) -> np.ndarray:
    return np.linalg.cholesky(_spd(n, seed))


@pytest.mark.parametrize("n", SIZES)
def test_cholesky(n: int) -> None:
    A = _spd(n, n)
    A_in = A.copy()
    L, info = sb.cholesky(A)
    assert info == 0
    np.testing.assert_array_equal(A, A_in)  # the input is not modified
    np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-12, atol=1e-12)
    Lr, info_r = ref.cholesky(A)
    assert info_r == 0
    np.testing.assert_array_equal(L, Lr)


def test_cholesky_reads_only_the_lower_triangle() -> None:
    A = _spd(4, 7)
    junk = A + np.triu(np.full((4, 4), 1e6), 1)
    np.testing.assert_array_equal(sb.cholesky(junk)[0], sb.cholesky(A)[0])


@pytest.mark.parametrize("bad, col", [(np.diag([1.0, -2.0, 3.0]), 2),
                                      (np.diag([0.0, 1.0, 1.0]), 1),
                                      (np.diag([1.0, 1.0, np.nan]), 3),
                                      (np.array([[1.0, 2.0], [2.0, 1.0]]), 2)])
def test_cholesky_reports_the_failing_pivot(bad: np.ndarray, col: int) -> None:
    assert sb.cholesky(bad)[1] == col
    assert ref.cholesky(bad)[1] == col


@pytest.mark.parametrize("n", SIZES)
def test_logdet(n: int) -> None:
    L = _lower(n, 10 + n)
    want = np.linalg.slogdet(L @ L.T)[1]
    assert sb.logdet(L) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert sb.logdet(L, 1.5) == ref.logdet(L, 1.5)
    assert sb.logdet(L, 1.5) == pytest.approx(1.5 + want, rel=1e-12)


@pytest.mark.parametrize("n", SIZES)
def test_triangular_solves(n: int) -> None:
    L = _lower(n, 20 + n)
    x = np.random.default_rng(n).standard_normal(n)
    fwd = sb.solve_lower(L, x)
    np.testing.assert_allclose(fwd, sla.solve_triangular(L, x, lower=True), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_array_equal(fwd, ref.solve_lower(L, x))
    back = sb.solve_lower_t(L, x)
    np.testing.assert_allclose(back, sla.solve_triangular(L, x, lower=True, trans="T"),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(back, ref.solve_lower_t(L, x))
    # both together solve A x = b with A = L L'
    b = sla.cho_solve((L, True), x)
    np.testing.assert_allclose(sb.solve_lower_t(L, sb.solve_lower(L, x)), b, rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("alpha", [1.0, -0.37, 2.5])
def test_rank1_update(n: int, alpha: float) -> None:
    A = _spd(n, 30 + n)
    x = np.random.default_rng(40 + n).standard_normal(n)
    got = sb.rank1_update(A, alpha, x)
    np.testing.assert_allclose(got, np.tril(A + alpha * np.outer(x, x)), rtol=1e-13,
                               atol=1e-13)
    np.testing.assert_array_equal(got, ref.rank1_update(A, alpha, x))
    # a downdate by -f is, element by element, A - (f x_i) x_j
    f = 0.37
    np.testing.assert_array_equal(sb.rank1_update(A, -f, x),
                                  np.tril(A - (f * x)[:, None] * x[None, :]))


def test_empty_blocks() -> None:
    L, info = sb.cholesky(np.zeros((0, 0)))
    assert L.shape == (0, 0) and info == 0
    assert sb.logdet(np.zeros((0, 0)), 2.0) == 2.0
    assert sb.solve_lower(np.zeros((0, 0)), np.zeros(0)).shape == (0,)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="square"):
        sb.cholesky(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="as long as L"):
        sb.solve_lower(np.eye(3), np.zeros(2))
