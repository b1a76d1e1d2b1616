"""The PIRLS kernels (lmepy/kernels/pirls.pyx: one pwrssUpdate loop over the scalar-term and
nested-tree predictors) called directly, against their numpy reference: ``_Glmm.pirls``'s
general loop with the blocked factor (lmepy/fit/glmm.py), which shares no code with them
but the family definitions. Also the loop's status codes and argument checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import lmepy
from lmepy.design import lFormula
from lmepy.fit import family as fam
from lmepy.fit.glmm import PirlsError, _Glmm, _prepare_response
from lmepy.kernels import glm_family as gf
from lmepy.kernels import pirls as pk


def _cbpp_glmm(family: fam.Family) -> _Glmm:
    d = lmepy.datasets.load("cbpp")
    m = lFormula("cbind(incidence, size - incidence) ~ period + (1 | herd)", d, family=family)
    return _Glmm(m, _prepare_response(m, family, None, None))


def _gamma_glmm(link: str) -> _Glmm:
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(15), 8)
    x = rng.normal(size=g.size)
    mu = np.exp(0.5 + 0.3 * x + rng.normal(scale=0.4, size=15)[g])
    d = pd.DataFrame({"y": rng.gamma(4.0, mu / 4.0), "x": x,
                      "g": pd.Categorical([f"s{i:02d}" for i in g])})
    family = fam.Gamma(link)
    m = lFormula("y ~ x + (1 | g)", d, family=family)
    return _Glmm(m, _prepare_response(m, family, None, None))


def _kernel_single(g: _Glmm, theta: np.ndarray, beta: np.ndarray, eta0: np.ndarray,
                   maxit: int | None = None) -> tuple:
    resp = g.resp
    fc, lc = gf.codes(resp.family.family, resp.family.link)
    codes, rows = g._term_rows[0]
    xb = g.X @ beta
    return pk.pirls_single(fc, lc, float(theta[0]), resp.offset + xb, xb, resp.offset,
                           np.ascontiguousarray(eta0), resp.y, resp.weights, codes,
                           np.ascontiguousarray(rows[:, 0]), g.q, g.tol,
                           g.maxit if maxit is None else maxit)


CASES = [("binomial-logit", lambda: _cbpp_glmm(fam.binomial())),
         ("binomial-probit", lambda: _cbpp_glmm(fam.binomial("probit"))),
         ("binomial-cloglog", lambda: _cbpp_glmm(fam.binomial("cloglog"))),
         ("Gamma-log", lambda: _gamma_glmm("log")),
         ("Gamma-inverse", lambda: _gamma_glmm("inverse"))]


@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_single_term_kernel_matches_the_general_loop(name: str, make) -> None:
    """Any family and link through the scalar-term kernel: the same iterate count, u, μ,
    deviance and log-determinant as the blocked-factor loop, at several θ."""
    g = make()
    g._single_kernel = False  # the reference: the general loop
    st1 = g.pirls(np.array([0.6]), None)  # stage 1 gives a β to hold fixed
    beta = st1.beta
    for th in (0.0, 0.3, 0.64, 2.5):
        theta = np.array([th])
        ref = g.pirls(theta, beta, eta0=g.lp0)
        status, u, eta, mu, dr, ld, it, w = _kernel_single(g, theta, beta, g.lp0)
        assert status == 0
        assert it == ref.iterations
        np.testing.assert_allclose(u, ref.u, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(mu, ref.mu, rtol=1e-10)
        np.testing.assert_allclose(eta, ref.eta, rtol=1e-10, atol=1e-12)
        assert dr == pytest.approx(ref.drsum, rel=1e-10)
        assert ld == pytest.approx(ref.ldL2, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(w, ref.working_weights, rtol=1e-9)


def test_fit_code_uses_the_kernel_for_fused_families() -> None:
    g = _cbpp_glmm(fam.binomial())
    assert g._single_kernel
    st = g.pirls(np.array([0.64]), np.array([-1.4, -1.0, -1.1, -1.6]))
    # the same bits as the kernel called directly (the general loop rounds differently)
    ref = _kernel_single(g, np.array([0.64]), np.array([-1.4, -1.0, -1.1, -1.6]), g.lp0)
    np.testing.assert_array_equal(st.u, ref[1])
    assert st.drsum == ref[4] and st.iterations == ref[6]


def test_status_codes() -> None:
    g = _cbpp_glmm(fam.binomial())
    beta = np.array([-1.4, -1.0, -1.1, -1.6])
    status, *_, it, _w = _kernel_single(g, np.array([0.64]), beta, g.lp0, maxit=1)
    assert status == 2 and it == 1  # no convergence in maxit
    g.maxit = 1
    with pytest.raises(PirlsError, match=r"pwrssUpdate did not converge in \(maxit\)"):
        g.pirls(np.array([0.64]), beta)


def test_nested_kernels_match_the_general_loop() -> None:
    """Three nested scalar terms (grouseticks' INDEX in BROOD in LOCATION) through the tree
    kernels, for u alone and for u and β, against the general loop."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import test_glmer as tg

    m, family, _ = tg._model("grouseticks")
    g = _Glmm(m, _prepare_response(m, family, None, None))
    nodes, xs, anc, node_term = g._nest
    ref_g = _Glmm(m, _prepare_response(m, family, None, None))
    ref_g._nest = None
    resp = g.resp
    fc, lc = gf.codes("poisson", "log")
    for th in ([0.0, 0.7, 0.5], [1.2, 0.4, 0.9]):
        theta = np.asarray(th)
        st, ub, b, eta, mu, dr, ld, ldx, it, w = pk.pirls_nested_joint(
            fc, lc, theta, resp.offset, g.lp0, resp.y, resp.weights, nodes, xs, anc,
            node_term, g.X, g.q, g.tol, g.maxit)
        ref = ref_g.pirls(theta, None, eta0=ref_g.lp0)
        assert st == 0 and it == ref.iterations
        np.testing.assert_allclose(b, ref.beta, rtol=1e-8)
        np.testing.assert_allclose(ub, ref.u, rtol=1e-8, atol=1e-9)
        assert ld == pytest.approx(ref.ldL2, rel=1e-10)
        assert ldx == pytest.approx(ref.ldRX2, rel=1e-10)
        assert dr == pytest.approx(ref.drsum, rel=1e-10)
        xb = g.X @ ref.beta
        st, u, eta, mu, dr, ld, it, w = pk.pirls_nested(
            fc, lc, theta, resp.offset + xb, xb, resp.offset, g.lp0, resp.y, resp.weights,
            nodes, xs, anc, node_term, g.q, g.tol, g.maxit)
        ref = ref_g.pirls(theta, ref.beta, eta0=ref_g.lp0)
        assert st == 0 and it == ref.iterations
        np.testing.assert_allclose(u, ref.u, rtol=1e-8, atol=1e-9)
        assert ld == pytest.approx(ref.ldL2, rel=1e-10)
        assert dr == pytest.approx(ref.drsum, rel=1e-10)


def test_joint_tree_reports_a_singular_schur_complement() -> None:
    """Two identical X columns: R_X'R_X is singular, status 3 (the fit code then falls back
    to the general loop, which reports it its own way)."""
    # a two-level nesting: 30 rows, 10 inner levels in 5 outer
    rng = np.random.default_rng(3)
    n = 30
    inner = np.repeat(np.arange(10), 3)
    outer = inner // 2
    nodes = np.ascontiguousarray(np.stack([inner, 10 + outer]).astype(np.int64))
    xs = np.ones((2, n))
    anc = np.full((15, 1), -1, dtype=np.int64)
    anc[:10, 0] = 10 + np.arange(10) // 2
    node_term = np.repeat(np.arange(2, dtype=np.int64), [10, 5])
    x = rng.normal(size=n)
    X = np.ascontiguousarray(np.column_stack([np.ones(n), x, x]))
    y = rng.poisson(2.0, size=n).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pk.pirls_nested_joint(1, 4, np.array([0.5, 0.5]), np.zeros(n),
                                    np.log(y + 0.1), y, np.ones(n), nodes, xs, anc,
                                    node_term, X, 15, 1e-7, 50)
    assert out[0] == 3


def test_argument_lengths_are_checked() -> None:
    g = _cbpp_glmm(fam.binomial())
    resp = g.resp
    codes, rows = g._term_rows[0]
    with pytest.raises(ValueError, match="one value per row"):
        pk.pirls_single(0, 0, 0.5, resp.offset, resp.offset, resp.offset, g.lp0[:-1],
                        resp.y, resp.weights, codes, np.ascontiguousarray(rows[:, 0]), g.q,
                        1e-7, 10)


@pytest.mark.parametrize("family", [fam.binomial(), fam.binomial("probit")],
                         ids=["logit-kernel-family", "probit-numpy-family"])
def test_general_loop_kernel_and_numpy_twin_agree_to_the_bit(family: fam.Family,
                                                             monkeypatch) -> None:
    """The general penalized solve through the Cython loop (pirls.pyx's pirls_general) and
    through its numpy twin (lmepy/fit/pirls.py's pwrss_reference): the same steps in the same
    order, so the same bits, for a kernel family and a numpy-twin family, stage 1 and 2."""
    import lmepy.fit.pirls as pirls_mod

    g = _cbpp_glmm(family)
    g._single_kernel = False
    beta = np.array([-1.4, -1.0, -1.1, -1.6])
    runs = []
    for pk_mod in (pk, None):
        monkeypatch.setattr(pirls_mod, "_pk", pk_mod)
        g._lp0_cache = None
        runs.append([g.pirls(np.array([th]), b, eta0=g.lp0)
                     for th in (0.0, 0.64, 3.0) for b in (None, beta)])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.u, b.u)
        np.testing.assert_array_equal(a.beta, b.beta)
        np.testing.assert_array_equal(a.eta, b.eta)
        np.testing.assert_array_equal(a.working_weights, b.working_weights)
        assert (a.drsum, a.ldL2, a.ldRX2, a.iterations) == (b.drsum, b.ldL2, b.ldRX2,
                                                             b.iterations)


def test_general_loop_raises_the_solves_error() -> None:
    """An exception in the penalized solve (a Python callback) ends the Cython loop and
    reaches the caller unchanged."""
    g = _cbpp_glmm(fam.binomial())
    resp = g.resp

    def bad_solve(w, z):
        raise PirlsError("Downdated VtV is not positive definite")

    with pytest.raises(PirlsError, match="Downdated VtV"):
        pk.pirls_general(pk.code_response(resp.fam_code, resp.link_code, resp.offset,
                                          resp.y, resp.weights),
                         bad_solve, lambda u, b: g.lp0, g.lp0, np.zeros(g.q), np.zeros(g.p),
                         True, None, 1e-7, 10)
    with pytest.raises(PirlsError, match="Downdated VtV"):  # the numpy-twin family
        pk.pirls_general(resp, bad_solve, lambda u, b: g.lp0, g.lp0, np.zeros(g.q),
                         np.zeros(g.p), True, None, 1e-7, 10)
