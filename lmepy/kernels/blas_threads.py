"""Threads for the dense linear algebra: OpenBLAS's (behind scipy's cython_lapack, which our
kernels call) and the OpenMP threads of the LMM's dense factor.

The LMM's dense factor (``lmepy.kernels.blocked.potrf_lower``) shares fixed tiles among its own
threads while OpenBLAS runs one, so it rounds the same on any number of threads: threads only
change the speed. They do not always pay: idle threads spin while waiting, and on a machine
whose cores are busy with other work one evaluation can become many times slower. The LMM fit
therefore runs small dense parts single-threaded and larger ones through ``AdaptiveThreads``
(see ``lmepy.fit.lmm.LmmProblem.thread_mode``).
"""

from __future__ import annotations

import ctypes
import glob
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lib = None
_tried = False


def _openblas() -> ctypes.CDLL | None:
    global _lib, _tried
    if _tried:
        return _lib
    _tried = True
    try:
        import scipy
        from scipy.linalg import cython_lapack  # noqa: F401  (loads the library)

        base = os.path.dirname(scipy.__file__)
        paths = glob.glob(os.path.join(base + ".libs", "libscipy_openblas*.so*"))
        paths += glob.glob(os.path.join(base, "..", "scipy_openblas*", "lib", "*.so*"))
        for p in paths:
            lib = ctypes.CDLL(p)
            if hasattr(lib, "scipy_openblas_set_num_threads") and hasattr(
                    lib, "scipy_openblas_get_num_threads"):
                lib.scipy_openblas_get_num_threads.restype = ctypes.c_int
                _lib = lib
                break
    except Exception:  # pragma: no cover - any other BLAS: leave its threads alone
        _lib = None
    return _lib


def get_num_threads() -> int | None:
    """Current thread count of scipy's OpenBLAS, or None when it cannot be controlled."""
    lib = _openblas()
    return None if lib is None else int(lib.scipy_openblas_get_num_threads())


@contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Run the block with scipy's OpenBLAS limited to n threads (None: unchanged), restoring
    the previous count afterwards."""
    lib = _openblas()
    if n is None or lib is None:
        yield
        return
    old = int(lib.scipy_openblas_get_num_threads())
    if old == n:
        yield
        return
    lib.scipy_openblas_set_num_threads(ctypes.c_int(n))
    try:
        yield
    finally:
        lib.scipy_openblas_set_num_threads(ctypes.c_int(old))


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
