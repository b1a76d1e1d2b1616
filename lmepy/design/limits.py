"""Resource limits for what a formula asks the design stage to allocate.

Formula text may come from an untrusted file or web form, and a few characters can ask for an
enormous matrix (``poly(x, 1e9, raw = TRUE)``, ``ns(x, df = 1e8)``, an interaction of factors
with thousands of levels each). R tries and fails after exhausting memory ("cannot allocate
vector of size 670.6 Gb"); lmepy checks the size first and says what asked for it.

The rule: a formula-made block may have at most as many columns as the data have rows, or
``MAX_FREE_COLUMNS``, whichever is larger (beyond the rows the columns are necessarily
collinear, and a small data set may still ask for a moderately wide basis, as R allows), and
no matrix may need more than half of the machine's memory.
"""

from __future__ import annotations

import math
import os

MAX_FREE_COLUMNS = 10_000
# the largest B-spline degree accepted: the recurrence costs degree^2 vector operations, and
# bases of higher degree are numerically meaningless
MAX_SPLINE_DEGREE = 100


def _memory_bytes() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no sysconf (Windows)
        return 16.0 * 2 ** 30


def size_problem(nrows: int, ncols: float, what: str) -> str | None:
    """Why an ``nrows`` x ``ncols`` matrix made for ``what`` is refused, or None if it fits."""
    if not math.isfinite(ncols):
        return f"{what} would have infinitely many columns"
    cap = max(int(nrows), MAX_FREE_COLUMNS)
    if ncols > cap:
        return (f"{what} would have {ncols:.0f} columns for {nrows} rows: more than lmepy "
                f"allows (the number of rows, or {MAX_FREE_COLUMNS} for smaller data)")
    need = 8.0 * max(int(nrows), 1) * ncols
    if need > _memory_bytes() / 2:
        return (f"{what} would need a {nrows} x {ncols:.0f} matrix ({need / 2 ** 30:.1f} GiB), "
                "more than half of this machine's memory")
    return None
