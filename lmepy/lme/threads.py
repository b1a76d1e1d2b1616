"""One BLAS thread during an lme fit.

The fit makes thousands of small matrix products (tens to a few hundred rows); OpenBLAS threads
spin while they wait, so on a machine whose cores are busy a 300 x 50 product can take tens of
milliseconds instead of microseconds. numpy and scipy each bundle their own OpenBLAS; both are
limited for the duration of the fit and restored afterwards.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager

_LIBS: list[tuple[ctypes.CDLL, str, str]] | None = None


def _libs() -> list[tuple[ctypes.CDLL, str, str]]:
    global _LIBS
    if _LIBS is not None:
        return _LIBS
    out: list[tuple[ctypes.CDLL, str, str]] = []
    try:
        import numpy
        import scipy

        paths = glob.glob(os.path.dirname(numpy.__file__) + ".libs/*openblas*.so*")
        paths += glob.glob(os.path.dirname(scipy.__file__) + ".libs/*openblas*.so*")
        for p in paths:
            lib = ctypes.CDLL(p)
            for setter, getter in (("scipy_openblas_set_num_threads64_",
                                    "scipy_openblas_get_num_threads64_"),
                                   ("scipy_openblas_set_num_threads",
                                    "scipy_openblas_get_num_threads"),
                                   ("openblas_set_num_threads", "openblas_get_num_threads")):
                if hasattr(lib, setter) and hasattr(lib, getter):
                    getattr(lib, getter).restype = ctypes.c_int
                    out.append((lib, setter, getter))
                    break
    except Exception:  # pragma: no cover - another BLAS: leave it alone
        out = []
    _LIBS = out
    return out


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with numpy's and scipy's OpenBLAS on one thread."""
    saved = []
    for lib, setter, getter in _libs():
        try:
            old = int(getattr(lib, getter)())
            getattr(lib, setter)(ctypes.c_int(1))
            saved.append((lib, setter, old))
        except Exception:  # pragma: no cover
            continue
    try:
        yield
    finally:
        for lib, setter, old in saved:
            getattr(lib, setter)(ctypes.c_int(old))
