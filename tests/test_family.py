"""GLM families against R's stats::family values (tests/reference/glmer.R -> glmer.json)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from lmepy.errors import DataError
from lmepy.fit import family as fam

REF = json.loads((Path(__file__).parent / "reference" / "glmer.json").read_text())

_CTOR = {
    "binomial": fam.binomial,
    "poisson": fam.poisson,
    "Gamma": fam.Gamma,
    "inverse.gaussian": fam.inverse_gaussian,
    "gaussian": fam.gaussian,
}


def _num(v: object) -> np.ndarray:
    """JSON from R: 'NA'/'NaN' -> nan, 'Inf'/'-Inf' -> inf."""
    def conv(x: object) -> float:
        if isinstance(x, str):
            return {"Inf": math.inf, "-Inf": -math.inf}.get(x, math.nan)
        return float(x)
    if isinstance(v, list):
        return np.array([conv(x) for x in v], dtype=float)
    return np.array([conv(v)], dtype=float)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-13, atol: float = 0.0) -> None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert np.array_equal(nan_a, nan_b), (a, b)
    np.testing.assert_allclose(a[~nan_a], b[~nan_b], rtol=rtol, atol=atol)


CASES = [pytest.param(c, id=f"{c['family']}-{c['link']}") for c in REF["families"]]


@pytest.mark.parametrize("case", CASES)
def test_link_functions(case: dict) -> None:
    f = _CTOR[case["family"]](case["link"])
    eta, mu = _num(case["eta"]), _num(case["mu"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(f.linkinv(eta), _num(case["linkinv"]), rtol=1e-13)
        _close(f.mu_eta(eta), _num(case["mu_eta"]), rtol=1e-12)
        _close(f.linkfun(mu), _num(case["linkfun"]), rtol=1e-13)
    assert f.valideta(eta) == case["valideta"]


@pytest.mark.parametrize("case", CASES)
def test_variance_deviance_aic(case: dict) -> None:
    f = _CTOR[case["family"]](case["link"])
    mu, y, wt, n = _num(case["mu"]), _num(case["y"]), _num(case["wt"]), _num(case["n"])
    _close(f.variance(mu), _num(case["variance"]), rtol=1e-14)
    assert f.validmu(mu) == case["validmu"]
    dr = f.dev_resids(y, mu, wt)
    _close(dr, _num(case["dev_resids"]), rtol=1e-12, atol=1e-300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aic = f.aic(y, n, mu, wt, float(np.sum(dr)))
    _close(np.array([aic]), _num(case["aic"]), rtol=1e-11)


def test_valideta_restricted_links() -> None:
    for case in REF["valideta"]:
        f = _CTOR[case["family"]](case["link"])
        assert f.valideta(_num(case["eta"])) == case["value"]


@pytest.mark.parametrize("i", range(len(REF["initialize"])))
def test_initialize(i: int) -> None:
    case = REF["initialize"][i]
    f = _CTOR[case["family"]](case["link"])
    y = case["y_in"]
    y = np.array(y, dtype=float) if not isinstance(y, (int, float)) else np.array([y], float)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        init = f.initialize(y, np.array(case["weights_in"], dtype=float))
    _close(init.y, _num(case["y"]), rtol=1e-15)
    _close(init.mustart, _num(case["mustart"]), rtol=1e-15)
    _close(init.weights, _num(case["weights"]), rtol=1e-15)
    _close(init.n, _num(case["n"]), rtol=1e-15)
    expected = case["warnings"] if isinstance(case["warnings"], list) else [case["warnings"]]
    assert [str(w.message) for w in rec] == [m for m in expected if m]


def test_initialize_errors_use_r_wording() -> None:
    errs = REF["init_errors"]
    cases = [
        (fam.binomial(), np.array([0.0, 2.0]), errs["binomial_range"]),
        (fam.binomial(), np.array([[1.0, 2.0, 3.0]]), errs["binomial_cols"]),
        (fam.poisson(), np.array([-1.0, 2.0]), errs["poisson_negative"]),
        (fam.Gamma(), np.array([0.0, 2.0]), errs["gamma_nonpositive"]),
        (fam.inverse_gaussian(), np.array([0.0, 2.0]), errs["invgauss_nonpositive"]),
        (fam.gaussian("log"), np.array([0.0, 2.0]), errs["gaussian_log_start"]),
    ]
    for f, y, msg in cases:
        with pytest.raises(DataError) as ei:
            f.initialize(y)
        assert str(ei.value) == msg


def test_binomial_factor_response_is_not_first_level() -> None:
    import pandas as pd

    y = pd.Series(pd.Categorical(["N", "Y", "Y", "N"], categories=["N", "Y"]))
    init = fam.binomial().initialize(y)
    np.testing.assert_array_equal(init.y, [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(init.mustart, [0.25, 0.75, 0.75, 0.25])


def test_wrong_response_type() -> None:
    with pytest.raises(DataError, match="numeric"):
        fam.poisson().initialize(np.array(["a", "b"]))


def test_family_line_and_names() -> None:
    ctors = [fam.binomial(), fam.binomial("probit"), fam.poisson(), fam.Gamma("log"),
             fam.inverse_gaussian(), fam.gaussian("log")]
    for f, ref in zip(ctors, REF["family_print"], strict=True):
        assert (f.family, f.link) == (ref["family"], ref["link"])
        assert f.family_line() == ref["text"]


def test_family_by_name_and_bad_link() -> None:
    assert fam.get_family("binomial") == fam.binomial("logit")
    assert fam.get_family(fam.poisson) == fam.poisson()
    assert fam.get_family("Gamma").link == "inverse"
    with pytest.raises(ValueError, match="not available for poisson family"):
        fam.poisson("logit")
    with pytest.raises(ValueError, match="not found"):
        fam.get_family("negbin")
