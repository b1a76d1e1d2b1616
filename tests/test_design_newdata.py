"""The design on new data (what predict(newdata=) needs) against lme4 1.1-31's predict():
with R's own fixed effects and conditional modes, X_new @ beta (+ Z_new b) must give R's
predictions, which checks the fitted levels, poly()/scale() coefficients, new levels and
re.form handling of the design stage alone.

Fixtures: tests/reference/design.json (tests/reference/design.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from refdata import floats, frame_from_spec

from lmepy.datasets import load
from lmepy.design import lFormula, new_design
from lmepy.errors import DataError

REF = json.loads((Path(__file__).parent / "reference" / "design.json").read_text())
TOL = dict(rtol=1e-12, atol=1e-10)


def inline_frame(name: str) -> pd.DataFrame:
    return frame_from_spec(REF["frames"][name])



def frame(name: str) -> pd.DataFrame:
    return inline_frame(name) if name in REF["frames"] else load(name)


CASES = {**REF["newdata"], **REF["newdata_splines"]}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_new_design_reproduces_r_predictions(case_id: str) -> None:
    case = CASES[case_id]
    model = lFormula(case["formula"], frame(case["data"]))
    assert list(model.X.columns) == case["beta_names"]
    nd = new_design(model, frame(case["newdata"]), re_form=case["re_form"],
                    allow_new_levels=case["allow_new_levels"])
    beta = floats(case["beta"])
    fixed = nd.X.to_numpy() @ beta
    np.testing.assert_allclose(fixed, floats(case["predict_fixed"]), **TOL)
    full = fixed.copy()
    for r in nd.reterms:
        t = model.reTrms.terms[r.index]
        re = case["ranef"][t.group]
        assert re["levels"] == t.levels
        b = np.column_stack([floats(re["values"][c]) for c in t.cnms])
        contrib = np.einsum("ij,ij->i", r.rows, b[np.maximum(r.codes, 0)])
        full += np.where(r.codes >= 0, contrib, 0.0)
    np.testing.assert_allclose(full, floats(case["predict"]), **TOL)


def test_new_levels_error_uses_lme4_wording() -> None:
    model = lFormula("Reaction ~ Days + (1 | Subject)", load("sleepstudy"))
    with pytest.raises(DataError) as info:
        new_design(model, inline_frame("sleep_new"))
    assert str(info.value) == REF["newdata_errors"]["new_levels"]


def test_new_fixed_factor_level_uses_r_wording() -> None:
    model = lFormula("angle ~ recipe + (1 | replicate)", load("cake"))
    nd = pd.DataFrame({"recipe": ["D"], "replicate": ["1"]})
    with pytest.raises(DataError) as info:
        new_design(model, nd)
    assert str(info.value) == REF["newdata_errors"]["new_fixed_level"]


def test_re_form_na_gives_no_random_terms() -> None:
    case = REF["newdata"]["sleep_poly_new_levels"]
    model = lFormula(case["formula"], load("sleepstudy"))
    nd = new_design(model, inline_frame("sleep_new"), re_form="~0")
    assert nd.reterms == []
    np.testing.assert_allclose(nd.X.to_numpy() @ floats(case["beta"]),
                               floats(case["predict_fixed"]), **TOL)
