"""R's ``splines::bs()`` and ``splines::ns()`` bases (B-splines, natural cubic splines), with
the knots placed as R places them (quantiles of x), so spline terms in a formula give R's
columns. Evaluation follows de Boor's recurrence as R's ``splineDesign`` does."""

from __future__ import annotations

import math

import numpy as np

from lmepy.errors import warn


def quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's default ``quantile(type = 7)``, with R's arithmetic ((1 - h) x[lo] + h x[hi])."""
    xs = np.sort(x)
    n = xs.shape[0]
    index = 1 + max(n - 1, 0) * np.asarray(probs, dtype=np.float64)
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    qs = xs[lo - 1].copy()
    xhi = xs[hi - 1]
    i = (index > lo) & (xhi != qs)
    h = (index - lo)[i]
    qs[i] = (1 - h) * qs[i] + h * xhi[i]
    return qs


def spline_design(knots: np.ndarray, x: np.ndarray, ord: int) -> np.ndarray:
    """B-spline basis (len(x) x (len(knots) - ord)) at x inside the knots' range."""
    knots = np.asarray(knots, dtype=np.float64)
    nk = knots.shape[0]
    ncoef = nk - ord
    x = np.asarray(x, dtype=np.float64)
    # cursor: first knot > x; at the right boundary, the last legitimate interval
    curs = np.searchsorted(knots, x, side="right")
    last = nk - ord
    curs = np.where((curs > last) & (x == knots[last]), last, curs)
    if np.any(x < knots[ord - 1]) or np.any(x > knots[last]):
        raise ValueError("the 'x' data must be in the range of the inner knots")
    n = x.shape[0]
    b = np.zeros((n, ord))
    b[:, 0] = 1.0
    rdel = np.stack([knots[np.minimum(curs + i, nk - 1)] - x for i in range(ord - 1)], axis=1) \
        if ord > 1 else np.zeros((n, 0))
    ldel = np.stack([x - knots[np.maximum(curs - (i + 1), 0)] for i in range(ord - 1)], axis=1) \
        if ord > 1 else np.zeros((n, 0))
    for j in range(1, ord):
        saved = np.zeros(n)
        for r in range(j):
            den = rdel[:, r] + ldel[:, j - 1 - r]
            ok = den != 0
            term = np.where(ok, b[:, r] / np.where(ok, den, 1.0), 0.0)
            new_br = np.where(ok, saved + rdel[:, r] * term, saved)
            new_saved = np.where(ok, ldel[:, j - 1 - r] * term, 0.0)
            if r == 0:
                # R keeps b[0] when the denominator is zero and rdel[0] == 0
                keep = ~ok & (rdel[:, r] == 0)
                new_br = np.where(keep, b[:, r], new_br)
            b[:, r] = new_br
            saved = new_saved
        b[:, j] = saved
    out = np.zeros((n, ncoef))
    offsets = curs - ord
    rows = np.repeat(np.arange(n), ord)
    cols = (offsets[:, None] + np.arange(ord)[None, :]).ravel()
    valid = (cols >= 0) & (cols < ncoef)
    np.add.at(out, (rows[valid], cols[valid]), b.ravel()[valid])
    return out


def spline_deriv_row(knots: np.ndarray, x: float, ord: int, nder: int) -> np.ndarray:
    """Row of ``splineDesign(knots, x, ord, derivs = nder)``: the ``nder``-th derivative of
    every B-spline at x, taken on the knot interval R's cursor picks (inside the range)."""
    nk = knots.shape[0]
    ncoef = nk - ord
    curs = int(np.searchsorted(knots, x, side="right"))
    last = nk - ord
    boundary = False
    if curs > last and x == knots[last]:
        boundary, curs = True, last
    row = np.zeros(ncoef)
    offset = curs - ord
    for ii in range(ord):
        if boundary and nder == ord - 1:
            val = 0.0
        else:
            a = np.zeros(ord + 1)
            a[ii] = 1.0
            outer = ord - 1
            for _ in range(nder):
                for s_ in range(outer):
                    a[s_] = outer * (a[s_ + 1] - a[s_]) / (knots[curs + s_]
                                                          - knots[curs - outer + s_])
                outer -= 1
            rdel = [knots[curs + i] - x for i in range(outer)]
            ldel = [x - knots[curs - (i + 1)] for i in range(outer)]
            for o in range(outer - 1, -1, -1):
                for s_ in range(o + 1):
                    a[s_] = (a[s_ + 1] * ldel[o - s_] + a[s_] * rdel[s_]) \
                        / (rdel[s_] + ldel[o - s_])
            val = a[0]
        j = offset + ii
        if 0 <= j < ncoef:
            row[j] = val
    return row


def _knots(xo: np.ndarray, n_inner: int | None, knots: np.ndarray | None,
           boundary: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """bs()'s and ns()'s knots: the given ones, else `n_inner` inner knots at quantiles of
    the x inside the boundary knots (the range of x unless given), as R places them."""
    bk = np.array([xo.min(), xo.max()]) if boundary is None else np.sort(boundary)
    if knots is None:
        knots = np.zeros(0)
        if n_inner is not None and n_inner > 0:
            probs = np.linspace(0, 1, n_inner + 2)[1:-1]
            inside = xo[(xo >= bk[0]) & (xo <= bk[1])]
            knots = quantile7(inside, probs)
    return knots, bk


def bs_basis(x: np.ndarray, df: int | None = None, knots: np.ndarray | None = None,
             degree: int = 3, intercept: bool = False,
             boundary: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """R's ``bs()``: the basis on the non-missing x (NA rows stay NA) and its attributes
    (knots, Boundary.knots) for new data."""
    ord_ = degree + 1
    ok = ~np.isnan(x)
    xo = x[ok]
    n_inner = None if df is None else int(df) - ord_ + (1 - int(intercept))
    knots, bk = _knots(xo, n_inner, knots, boundary)
    aknots = np.sort(np.concatenate([np.repeat(bk, ord_), knots]))
    basis = _bs_raw(aknots, xo, bk, ord_)
    if not intercept:
        basis = basis[:, 1:]
    out = np.full((x.shape[0], basis.shape[1]), np.nan)
    out[ok] = basis
    return out, {"knots": knots, "Boundary.knots": bk, "degree": degree,
                 "intercept": intercept}


def ns_basis(x: np.ndarray, df: int | None = None, knots: np.ndarray | None = None,
             intercept: bool = False, boundary: np.ndarray | None = None
             ) -> tuple[np.ndarray, dict]:
    """R's ``ns()``: cubic B-splines projected onto the space with zero second derivative at
    both boundary knots (the QR step of R)."""
    ok = ~np.isnan(x)
    xo = x[ok]
    knots, bk = _knots(xo, None if df is None else int(df) - 1 - int(intercept), knots,
                       boundary)
    aknots = np.sort(np.concatenate([np.repeat(bk, 4), knots]))
    basis = _ns_raw(aknots, xo, bk)
    const = np.vstack([spline_deriv_row(aknots, float(b), 4, 2) for b in bk])
    if not intercept:
        const = const[:, 1:]
        basis = basis[:, 1:]
    q, _ = np.linalg.qr(const.T, mode="complete")
    proj = (q.T @ basis.T).T[:, 2:]
    out = np.full((x.shape[0], proj.shape[1]), np.nan)
    out[ok] = proj
    return out, {"knots": knots, "Boundary.knots": bk, "intercept": intercept}


def _ns_raw(aknots: np.ndarray, x: np.ndarray, bk: np.ndarray) -> np.ndarray:
    """Cubic B-splines inside the boundary knots; outside, R's ns() continues each basis
    function linearly from its value and slope at the nearer boundary knot."""
    left, right = x < bk[0], x > bk[1]
    inside = ~(left | right)
    out = np.zeros((x.shape[0], aknots.shape[0] - 4))
    if inside.any():
        out[inside] = spline_design(aknots, x[inside], 4)
    for mask, pivot in ((left, bk[0]), (right, bk[1])):
        if mask.any():
            value = spline_design(aknots, np.array([pivot]), 4)[0]
            slope = spline_deriv_row(aknots, float(pivot), 4, 1)
            out[mask] = value[None, :] + (x[mask] - pivot)[:, None] * slope[None, :]
    return out


def _bs_raw(aknots: np.ndarray, x: np.ndarray, bk: np.ndarray, ord_: int) -> np.ndarray:
    """B-splines inside the boundary knots; outside, R's bs() Taylor expansion about a pivot
    a quarter of the way into the first (last) knot interval, with R's warning."""
    left, right = x < bk[0], x > bk[1]
    if not (left.any() or right.any()):
        return spline_design(aknots, x, ord_)
    warn("some 'x' values beyond boundary knots may cause ill-conditioned bases")
    degree = ord_ - 1
    e = 0.25
    out = np.zeros((x.shape[0], aknots.shape[0] - ord_))
    inside = ~(left | right)
    if inside.any():
        out[inside] = spline_design(aknots, x[inside], ord_)
    fact = np.array([math.gamma(d + 1) for d in range(ord_)])
    pivots = ((1 - e) * bk[0] + e * aknots[ord_], (1 - e) * bk[1] + e * aknots[-ord_ - 1])
    for mask, pivot in ((left, pivots[0]), (right, pivots[1])):
        if mask.any():
            tt = np.vstack([spline_deriv_row(aknots, float(pivot), ord_, d)
                            for d in range(ord_)])
            powers = (x[mask] - pivot)[:, None] ** np.arange(degree + 1)[None, :]
            out[mask] = powers @ (tt / fact[:, None])
    return out
