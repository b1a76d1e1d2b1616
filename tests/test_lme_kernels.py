"""lmepy/kernels/lme_single.pyx against its numpy reference (lmepy/kernels/lme_reference.py),
and the fast one-level lme objective against the general path and nlme's logLik.

Kernel and reference sum the same terms in another order: agreement to 1e-10 relative
(the summaries are sums of logs and squares of O(1..1e3) numbers). The fast objective is
checked at nlme's estimates against nlme's logLik (tests/reference/nlme.json, 1e-10 relative,
the tolerance of tests/test_lme.py's summary test).
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

import lmepy.datasets as D
import lmepy.kernels.lme_single as K  # a broken build fails here, never skips
from lmepy.kernels.lme_reference import (
    markov_cross_ref,
    markov_sums_ref,
    markov_update_ref,
    single_update_ref,
)
from lmepy.lme import LmeProblem, build_design, fit_lme

REF = json.loads((Path(__file__).parent / "reference" / "nlme.json").read_text())["lme"]


def _cross(rng: np.random.Generator, G: int, n: int, m: int) -> np.ndarray:
    P = rng.normal(size=(G, n, m))
    return np.ascontiguousarray(np.matmul(P.transpose(0, 2, 1), P))


@pytest.mark.parametrize("k,p", [(1, 1), (1, 3), (2, 3), (3, 2), (4, 1)])
def test_single_update_matches_reference(k: int, p: int) -> None:
    rng = np.random.default_rng(k * 10 + p)
    m = k + p + 1
    C = _cross(rng, 7, m + 4, m)
    T = np.tril(rng.normal(size=(k, k)))
    got = K.single_update(C, np.ascontiguousarray(T))
    exp = single_update_ref(C, T)
    np.testing.assert_allclose(got, exp, rtol=1e-10)


def test_single_update_diagonal_and_zero_factor() -> None:
    rng = np.random.default_rng(5)
    C = _cross(rng, 11, 8, 6)
    for T in (np.diag([0.8, 0.3]), np.zeros((2, 2)), np.diag([0.0, 2.0])):
        np.testing.assert_allclose(K.single_update(C, T), single_update_ref(C, T), rtol=1e-10)
    ld, _, _ = K.single_update(C, np.zeros((2, 2)))
    assert ld == 0.0


def test_not_positive_definite_gives_nan() -> None:
    """An indefinite [X y] corner, or an indefinite T'C_zz T + I, gives nans in both."""
    rng = np.random.default_rng(3)
    C = _cross(rng, 5, 6, 4)
    bad_corner = C.copy()
    bad_corner[:, 2, 2] = -10.0
    bad_z = C.copy()
    bad_z[:, 0, 0] = -10.0
    for CC in (bad_corner, bad_z):
        for got in (K.single_update(CC, np.eye(1)), single_update_ref(CC, np.eye(1))):
            assert all(math.isnan(v) for v in got)


def test_shape_errors() -> None:
    C = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match="k < m"):
        K.single_update(C, np.eye(3))
    with pytest.raises(ValueError, match="inconsistent"):
        K.markov_update(C, np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3)),
                        np.zeros((2, 2, 3, 3)), np.ones(1), np.ones(1), 0.5, np.eye(1))


@pytest.mark.parametrize("steps", [1, 3])
def test_markov_update_matches_reference(steps: int) -> None:
    rng = np.random.default_rng(steps)
    G, m = 9, 5
    P0 = _cross(rng, G, 1, m)
    S1 = np.stack([_cross(rng, G, 4, m) for _ in range(steps)])
    S2 = np.stack([_cross(rng, G, 4, m) for _ in range(steps)])
    Q = rng.normal(size=(steps, G, m, m))
    QQ = np.ascontiguousarray(Q + Q.transpose(0, 1, 3, 2))
    st = np.arange(1, steps + 1, dtype=float)
    counts = np.arange(3.0, 3.0 + steps)
    phi = 0.4
    r = np.power(phi, st)
    w = 1.0 / (1.0 - r * r)
    T = np.array([[0.7, 0.0], [0.2, 0.5]])
    C = markov_cross_ref(P0, S1, S2, QQ, r, w)
    if not np.all(np.linalg.eigvalsh(C) > 0):  # random lagged sums need not be a Gram matrix
        C = C + 50.0 * np.eye(m)
        P0 = np.ascontiguousarray(P0 + 50.0 * np.eye(m))
    got = K.markov_update(P0, S1, S2, QQ, st, counts, phi, T)
    np.testing.assert_allclose(got, markov_update_ref(P0, S1, S2, QQ, st, counts, phi, T),
                               rtol=1e-10)
    np.testing.assert_allclose(got[:3], K.single_update(np.ascontiguousarray(C), T),
                               rtol=1e-10)
    assert got[3] == pytest.approx(float(np.sum(counts * np.log(1.0 - r * r))), rel=1e-12)


def _ovary_design():  # type: ignore[no-untyped-def]
    return build_design("follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", D.load("Ovary"),
                        {"Mare": "pdDiag(~ sin(2*pi*Time))"}, "corAR1()")


def _at(case: str, d):  # type: ignore[no-untyped-def]
    return LmeProblem(d).x_from_nlme(REF[case]["modelStruct"],
                                     REF[case]["modelStruct_unconstrained"])


def test_fast_objective_is_nlme_loglik_ovary() -> None:
    """The kernel path (AR(1) lagged sums) gives nlme's REML logLik at nlme's estimates."""
    d = _ovary_design()
    prob = LmeProblem(d)
    assert prob.fast is not None and prob.markov is not None
    x = _at("ovary_pddiag_ar1", d)
    assert -0.5 * prob.objective(x) == pytest.approx(REF["ovary_pddiag_ar1"]["logLik"],
                                                     rel=1e-10)


@pytest.mark.parametrize("case,spec", [
    ("orthodont", ("distance ~ age * Sex", "Orthodont", "~ age | Subject", None, None)),
    ("orthodont_varident", ("distance ~ age * Sex", "Orthodont", "~ age | Subject", None,
                            "varIdent(form = ~ 1 | Sex)")),
    ("bodyweight_car1", ("weight ~ Time * Diet", "BodyWeight", "~ Time | Rat",
                         "corCAR1(form = ~ Time)", None)),
])
def test_fast_objective_is_nlme_loglik(case: str, spec: tuple) -> None:
    """The kernel path on whitened rows (and the lagged sums for CAR(1)) gives nlme's
    logLik at nlme's estimates, and the same value as the general numpy path."""
    fixed, data, random, cor, var = spec
    d = build_design(fixed, D.load(data), random, cor, var)
    prob = LmeProblem(d)
    assert prob.fast is not None
    x = _at(case, d)
    v = prob.objective(x)
    assert -0.5 * v == pytest.approx(REF[case]["logLik"], rel=1e-10)
    slow = LmeProblem(d)
    slow.fast = None
    assert slow.objective(x) == pytest.approx(v, rel=1e-12)


def test_fit_without_kernel_same_answer() -> None:
    """The numpy path (no compiled kernel) reaches the same Ovary fit."""
    fitmod = importlib.import_module("lmepy.lme.fit")
    d = _ovary_design()
    a = fit_lme(d)
    saved = fitmod._KERNEL
    try:
        fitmod._KERNEL = None
        b = fit_lme(_ovary_design())
    finally:
        fitmod._KERNEL = saved
    assert a.logLik == pytest.approx(REF["ovary_pddiag_ar1"]["logLik"], rel=1e-9)
    assert b.logLik == pytest.approx(a.logLik, rel=1e-10)
    np.testing.assert_allclose(a.beta, list(REF["ovary_pddiag_ar1"]["fixef"].values()),
                               rtol=1e-5)


def test_markov_sums_matches_reference() -> None:
    rng = np.random.default_rng(11)
    Ms = rng.normal(size=(12, 4))
    gs = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 4, 4], dtype=np.int64)  # group 3 empty
    cls = np.array([-1, 0, 1, -1, 1, -1, 0, 1, 0, 0, -1, 0], dtype=np.int64)
    got = K.markov_sums(Ms, gs, cls, 5, 2)
    exp = markov_sums_ref(Ms, gs, cls, 5, 2)
    for a, b in zip(got, exp, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="out of range"):
        K.markov_sums(Ms, gs, cls, 4, 2)


def test_markov_sums_class_kernel_and_numpy_agree() -> None:
    """MarkovSums (BodyWeight, CAR(1) over unequal time steps) the same with and without
    the kernel."""
    single = importlib.import_module("lmepy.lme.single")
    d = build_design("weight ~ Time * Diet", D.load("BodyWeight"), "~ Time | Rat",
                     "corCAR1(form = ~ Time)")
    a = LmeProblem(d).markov
    saved = single._KERNEL
    try:
        single._KERNEL = None
        b = LmeProblem(d).markov
    finally:
        single._KERNEL = saved
    assert a is not None and b is not None and len(a.steps) > 1
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.counts, b.counts)
    for name in ("P0", "S1", "S2", "QQ"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12,
                                   atol=1e-9)
