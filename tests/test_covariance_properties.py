"""Properties of the structures that hold for any parameter value: the unconstrained <->
constrained maps invert each other, correlation matrices are valid, whitening whitens, and
the Cython AR(1) kernel equals its numpy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import lmepy.covariance as cv
from lmepy.covariance.whiten_ref import bidiag_whiten, whiten

DATA = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 3 + ["c"] * 4,
                     "t": [1, 2, 4, 7, 8, 2, 3, 5, 1, 2, 3, 4],
                     "tc": [0.1, 0.5, 0.7, 1.9, 2.0, 0.3, 1.1, 1.2, 0.0, 0.4, 2.2, 3.0]})
unc = st.floats(-4, 4, allow_nan=False)


def _check(cs: cv.CorStruct) -> None:
    for rows, (_, C) in zip(cs.group_rows, cs.corMatrix().items(), strict=True):
        assert np.allclose(np.diag(C), 1.0)
        assert np.allclose(C, C.T)
        eye = np.zeros((len(DATA), len(rows)))
        eye[rows, np.arange(len(rows))] = 1.0
        W = cs.whiten(eye)[rows]
        assert np.allclose(W @ C @ W.T, np.eye(len(rows)), atol=1e-8)
    total = sum(np.linalg.slogdet(C)[1] for C in cs.corMatrix().values())
    assert np.isclose(cs.logdet(), total, rtol=1e-8, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(st.lists(unc, min_size=3, max_size=3), st.integers(0, 3))
def test_arma_roundtrip_and_validity(u: list[float], p: int) -> None:
    q = 3 - p
    cs = cv.corARMA(p=p, q=q, form="~ t | g").bind(DATA)
    cs.set_unconstrained(np.array(u))
    back = cv.corARMA(list(cs.coef().values()), p=p, q=q, form="~ t | g").bind(DATA)
    np.testing.assert_allclose(back.get_unconstrained(), u, rtol=1e-7, atol=1e-7)
    # with 0 < p < q nlme's correlations (reproduced, see arma_acf) are not always positive
    # definite; otherwise they are the textbook ARMA ones
    if p == 0 or q <= p:
        _check(cs)
        # visits 1..n_g: every group's factor is a leading block of the longest group's
        by_order = cv.corARMA(p=p, q=q, form="~ 1 | g").bind(DATA)
        assert by_order._leading is not None
        by_order.set_unconstrained(np.array(u))
        _check(by_order)


@settings(max_examples=40, deadline=None)
@given(st.lists(unc, min_size=6, max_size=6))
def test_corsymm_roundtrip_and_validity(u: list[float]) -> None:
    data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "k": [1, 2, 3, 4, 3, 1, 4, 2]})
    cs = cv.corSymm(form="~ k | g").bind(data)
    cs.set_unconstrained(np.array(u))
    back = cv.corSymm(list(cs.coef().values()), form="~ k | g").bind(data)
    np.testing.assert_allclose(back.get_unconstrained(), u, rtol=1e-6, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(unc)
def test_markov_and_compsymm_structures(u: float) -> None:
    for cs in (cv.corAR1(form="~ t | g"), cv.corAR1(form="~ 1 | g"),
               cv.corCAR1(form="~ tc | g"), cv.corCompSymm(form="~ 1 | g")):
        b = cs.bind(DATA)
        b.set_unconstrained(np.array([u]))
        _check(b)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.integers(1, 3), st.floats(-0.99, 0.99))
def test_kernel_equals_reference(n: int, k: int, phi: float) -> None:
    rng = np.random.default_rng(n * 7 + k)
    x = rng.normal(size=(n, k))
    r = np.full(n, phi)
    r[rng.random(n) < 0.2] = 0.0
    r[0] = 0.0
    np.testing.assert_allclose(whiten(x, r), bidiag_whiten(x, r), rtol=1e-13, atol=1e-13)
