"""One BLAS thread during an lme or gls fit.

The fit makes thousands of small matrix products (tens to a few hundred rows); OpenBLAS threads
spin while they wait, so on a machine whose cores are busy a 300 x 50 product can take tens of
milliseconds instead of microseconds. numpy's and scipy's OpenBLAS are limited for the duration
of the fit and restored afterwards, through the process-wide, thread-safe limiter of
``lmepy.kernels.blas_threads``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from lmepy.kernels.blas_threads import limit_threads


def one_thread() -> AbstractContextManager[None]:
    """Run the block with numpy's and scipy's OpenBLAS on one thread."""
    return limit_threads(1)
