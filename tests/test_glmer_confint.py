"""glmer's confint(): lme4's Wald intervals (tests/reference/glmer_confint.R); the profile and
bootstrap intervals lme4 has for GLMMs are not implemented and say so."""

import json
from pathlib import Path

import numpy as np
import pytest

import lmepy

REF = json.loads((Path(__file__).parent / "reference" / "glmer_confint.json").read_text())
FAMILIES = {"binomial": lmepy.binomial, "Gamma": lmepy.Gamma}


def _fit(case: dict):
    fam = FAMILIES[case["family"]](link=case["link"])
    return lmepy.glmer(case["formula"], data=lmepy.datasets.load(case["data"]), family=fam)


@pytest.mark.filterwarnings("ignore::lmepy.ConvergenceWarning")
@pytest.mark.parametrize("cid", sorted(REF))
def test_wald_intervals_as_lme4(cid):
    case = REF[cid]
    fit = _fit(case)
    ci = fit.confint(method="Wald", level=case["level"])
    assert list(ci.index) == case["rows"]
    assert list(ci.columns) == case["cols"]
    lower = np.array([np.nan if v is None else v for v in case["lower"]], dtype=float)
    upper = np.array([np.nan if v is None else v for v in case["upper"]], dtype=float)
    # lmepy's own fit: 1e-4 relative (the estimates agree with lme4's to about that)
    np.testing.assert_allclose(ci.iloc[:, 0].to_numpy(float), lower, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ci.iloc[:, 1].to_numpy(float), upper, rtol=1e-4, atol=1e-6)
    sub = fit.confint(parm="beta_", method="Wald", level=case["level"])
    assert list(sub.index) == [r for r in case["rows"] if not r.startswith(".")]


def test_profile_and_boot_say_not_implemented():
    fit = _fit(REF["cbpp"])
    for method in ("profile", "boot"):
        with pytest.raises(NotImplementedError, match="method='Wald'"):
            fit.confint(method=method)
