"""Thread count of the OpenBLAS behind scipy's cython_lapack, which our kernels call.

A dense Cholesky of ~1000 rows gains little from a second thread, but OpenBLAS threads spin
while waiting: on a machine whose cores are busy with other work one evaluation can become
tens of times slower. The fit therefore runs the factorizations of small and medium dense
blocks single-threaded (see ``lmepy.fit.blocks.BlockedCholesky``).
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
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
