"""Threads for the dense linear algebra: OpenBLAS's (behind numpy and scipy's cython_lapack,
which our kernels call) and the OpenMP threads of the LMM's dense factor.

The LMM's dense factor (``lmepy.kernels.blocked.potrf_lower``) shares fixed tiles among its own
threads while OpenBLAS runs one, so it rounds the same on any number of threads: threads only
change the speed. They do not always pay: idle threads spin while waiting, and on a machine
whose cores are busy with other work one evaluation can become many times slower. The LMM fit
therefore runs small dense parts single-threaded and larger ones through ``AdaptiveThreads``
(see ``lmepy.fit.lmm.LmmProblem.thread_mode``).

OpenBLAS's thread count is process-wide, so fits running in several Python threads at once
share it: ``limit_threads`` keeps one process-wide record of who holds a limit. The first
holder saves the libraries' counts, every change applies the smallest limit held, and the
last holder to leave restores the saved counts (threadpoolctl finds and sets the libraries).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

_lock = threading.Lock()
_held: list[int] = []  # the limits currently held, one entry per holder
_saved: list[tuple[Any, int]] = []  # (library controller, its count before the first holder)
_controllers: list[Any] | None = None


def _blas_controllers() -> list[Any]:
    """threadpoolctl's controllers of the BLAS libraries loaded (numpy's and scipy's
    OpenBLAS once scipy.linalg is imported; threadpoolctl knows their scipy_openblas names
    from 3.5), found once."""
    global _controllers
    if _controllers is None:
        try:
            from scipy.linalg import cython_lapack  # noqa: F401  (loads scipy's BLAS)
            from threadpoolctl import ThreadpoolController

            _controllers = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # pragma: no cover - no controllable BLAS: leave threads alone
            _controllers = []
    return _controllers


def get_num_threads() -> int | None:
    """Current thread count of the first BLAS library found (scipy's or numpy's OpenBLAS),
    or None when none can be controlled."""
    libs = _blas_controllers()
    return int(libs[0].num_threads) if libs else None


def _apply(n: int) -> None:
    for lib, _ in _saved:
        if lib.num_threads != n:
            lib.set_num_threads(n)


@contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Run the block with the BLAS libraries limited to n threads (None: unchanged).

    Safe when fits run in several Python threads: the limits held are counted under one
    lock, the smallest one is in force, and the counts found by the first holder are restored
    when the last one leaves."""
    if n is None:
        yield
        return
    n = int(n)
    if n < 1:
        raise ValueError(f"the number of BLAS threads must be at least 1, not {n}")
    with _lock:
        if not _held:
            _saved[:] = [(lib, int(lib.num_threads)) for lib in _blas_controllers()]
        _held.append(n)
        _apply(min(_held))
    try:
        yield
    finally:
        with _lock:
            _held.remove(n)
            if _held:
                _apply(min(_held))
            else:
                for lib, old in _saved:
                    if lib.num_threads != old:
                        lib.set_num_threads(old)
                _saved.clear()


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


class AdaptiveThreads:
    """Runs each call on ``most`` threads while that pays, else on one.

    ``apply(n)`` sets the thread count of whatever the calls run. The first call runs on one
    thread and sets the yardstick; later calls run multi-threaded for as long as they beat
    it. The first multi-threaded call that does not (the cores are busy with other work)
    switches to one thread for good, so a busy machine costs one slow call. Every call costs
    the same (one factorization), so one call's time is a fair yardstick. (No look at the load
    beforehand: the load average lags by a minute, and the instantaneous count of running
    tasks includes this process's own threads still spinning after the previous fit.)
    """

    def __init__(self, apply: Callable[[int], None], most: int | None = None,
                 start_multi: bool = True):
        self.apply = apply
        self.most = usable_cores() if most is None else int(most)
        self.multi = bool(start_multi) and self.most > 1
        self.single = float("inf")  # best single-thread time
        self.calls = 0

    def call(self, fn, *args):  # noqa: ANN001, ANN201 - a thin wrapper
        self.calls += 1
        if not self.multi or self.calls == 1:
            self.apply(1)
            t = time.perf_counter()
            out = fn(*args)
            self.single = min(self.single, time.perf_counter() - t)
            return out
        self.apply(self.most)
        t = time.perf_counter()
        out = fn(*args)
        if time.perf_counter() - t >= self.single:
            self.multi = False
        return out


def one_thread() -> AbstractContextManager[None]:
    """numpy's and scipy's OpenBLAS on one thread for the block: lme and gls fits make
    thousands of small products (tens to a few hundred rows), where OpenBLAS threads spin
    while they wait and, on a busy machine, turn microseconds into milliseconds."""
    return limit_threads(1)
