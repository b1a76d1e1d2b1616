"""Fits from several Python threads share the process-wide BLAS thread counts: they must leave
them as they found them, and give the answers of fits run one at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import lmepy
from lmepy.datasets import load
from lmepy.kernels.blas_threads import get_num_threads, limit_threads


def _blas_counts() -> list[tuple[str, int]]:
    return sorted((d["filepath"], d["num_threads"]) for d in threadpool_info()
                  if d["user_api"] == "blas")


def test_interleaved_holders_restore_the_first_holders_counts() -> None:
    """A enters, B enters, A leaves, B leaves: the hand-written controllers restored A's saved
    count when A left (B then ran unlimited) and B's saved 1 when B left (left at 1)."""
    if get_num_threads() is None:
        pytest.skip("no controllable BLAS")
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        a = limit_threads(1)
        b = limit_threads(1)
        a.__enter__()
        b.__enter__()
        a.__exit__(None, None, None)
        assert get_num_threads() == 1  # B still holds its limit
        b.__exit__(None, None, None)
        assert _blas_counts() == before
        assert get_num_threads() == 2


def test_smallest_limit_held_is_in_force() -> None:
    if get_num_threads() is None:
        pytest.skip("no controllable BLAS")
    with threadpool_limits(limits=2, user_api="blas"):
        with limit_threads(2):
            assert get_num_threads() == 2
            with limit_threads(1):
                assert get_num_threads() == 1
            assert get_num_threads() == 2
        assert get_num_threads() == 2


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"), limit_threads(0):
        pass


def _fits(df, out: list) -> None:  # noqa: ANN001
    m = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=df)
    g = lmepy.lme("Reaction ~ Days", data=df, random="~ 1 | Subject")
    out.append((m.fixef().to_numpy(), m.sigma(), g.fixef().to_numpy(), g.logLik()))


def test_fits_from_threads_restore_blas_counts_and_match_serial_fits() -> None:
    df = load("sleepstudy")
    serial: list = []
    _fits(df, serial)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        barrier = threading.Barrier(4)
        results: list = []

        def work() -> None:
            barrier.wait()
            for _ in range(2):
                _fits(df, results)

        with ThreadPoolExecutor(4) as ex:
            for f in [ex.submit(work) for _ in range(4)]:
                f.result()
        assert _blas_counts() == before
    assert len(results) == 8
    for r in results:
        for a, b in zip(r, serial[0], strict=True):
            np.testing.assert_array_equal(a, b)
