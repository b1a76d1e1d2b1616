"""getVarCov() for lme and gls fits against nlme 3.1-162 (tests/reference/getvarcov.json,
written by getvarcov.R): the printed text at nlme's estimates (lme: evaluated there; gls: the
correlation fixed at nlme's value; gls fits with a variance function of the fitted values
cannot be held at nlme's point and are checked by number only), the matrices from lmepy's
own fits within 1e-4 relative (the estimates differ from nlme's in their last digits, see
tests/test_lme.py), and nlme's errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lmepy
import lmepy.datasets as D
from lmepy.errors import LmepyError
from lmepy.gls import gls
from lmepy.lme import LmeFit, LmeProblem, build_design, fit_lme, lme

REF = json.loads((Path(__file__).parent / "reference" / "getvarcov.json").read_text())
CASES = REF["cases"]


def _own(key: str):  # noqa: ANN202 - an lme or a gls fit
    py = dict(REF["fits"][key]["py"])
    data = D.load(py.pop("data"))
    if "model" in py:
        return gls(py.pop("model"), data, **py)
    return lme(data=data, **py)


def _at_nlme(key: str):  # noqa: ANN202
    f = REF["fits"][key]
    py = dict(f["py"])
    data = D.load(py.pop("data"))
    if "model" in py:  # the correlation fixed at nlme's value: only β and σ are estimated
        cor = lmepy.corAR1(f["modelStruct"]["corStruct.Phi"], form="~ 1 | Mare", fixed=True)
        return gls(py["model"], data, correlation=cor)
    d = build_design(data=data, **py)
    x = LmeProblem(d).x_from_nlme(f["modelStruct"], f["modelStruct_unconstrained"])
    return LmeFit(fit_lme(d, control={"at": x}))


def _args(c: dict) -> dict:
    return dict(c["args"] or {})


def _held_at_nlme(fit_key: str) -> bool:
    py = REF["fits"][fit_key]["py"]
    return "model" not in py or "weights" not in py


@pytest.mark.parametrize("cid", [k for k, c in CASES.items()
                                 if "text" in c and _held_at_nlme(c["fit"])])
def test_text_at_nlme_estimates(cid: str) -> None:
    c = CASES[cid]
    fit = _at_nlme(c["fit"])
    if hasattr(fit, "sol"):
        assert fit.logLik() == pytest.approx(REF["fits"][c["fit"]]["logLik"], rel=1e-10)
    assert str(fit.getVarCov(**_args(c))) == c["text"] + "\n"


@pytest.mark.parametrize("cid", [k for k, c in CASES.items() if "text" in c])
def test_matrices_from_own_fit(cid: str) -> None:
    c = CASES[cid]
    v = _own(c["fit"]).getVarCov(**_args(c))
    mats = [v.matrix] if v.matrix is not None else list(v.matrices.values())
    assert len(mats) == len(c["values"])
    for m, want in zip(mats, c["values"], strict=True):
        want = np.array(want, dtype=float)
        np.testing.assert_allclose(m.to_numpy(), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("cid", [k for k, c in CASES.items() if "error" in c])
def test_nlme_errors(cid: str) -> None:
    c = CASES[cid]
    with pytest.raises(LmepyError, match=c["error"]):
        _own(c["fit"]).getVarCov(**_args(c))


def test_individual_labels_and_bad_input() -> None:
    fit = _own("orth")
    v = fit.getVarCov(individuals=["M01", "F02"], type="conditional")
    assert list(v.matrices) == ["M01", "F02"] and list(v.matrices["M01"].index) == list("1234")
    with pytest.raises(LmepyError, match="individual \u2018Z99\u2019 was not used in the fit"):
        fit.getVarCov(individuals="Z99", type="marginal")
    with pytest.raises(ValueError, match="'type' should be one of"):
        fit.getVarCov(type="joint")
    assert str(lmepy.getVarCov(fit)) == str(fit.getVarCov())
