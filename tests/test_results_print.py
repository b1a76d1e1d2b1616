"""lme4's printed text rebuilt from R's own full-precision numbers (tests/reference/lmer.json):
print(summary(fit)), print(fit) and print(VarCorr(fit)) must match R line for line (trailing
spaces aside)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lmepy.results import lme4print as lp

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())
CASES = REF["cases"]


def lines(text: str) -> list[str]:
    """Printed text as capture.output() lines: split at newlines, the final one dropped."""
    if text.endswith("\n"):
        text = text[:-1]
    return [s.rstrip() for s in text.split("\n")]


def rlines(seq: list[str]) -> list[str]:
    return [s.rstrip() for s in seq]


def print_data(c: dict) -> lp.PrintData:
    vc = c["varcorr"]
    groups, sigma = lp.groups_from_frame(vc["grp"], vc["var1"], vc["var2"], vc["sdcor"])
    if c["REML"]:
        aictab = {"REML": c["objective"]}
    else:
        aictab = {"AIC": c["AIC"], "BIC": c["BIC"], "logLik": c["logLik"],
                  "deviance": c["objective"], "df.resid": c["df_resid"]}
    rq = c["resid_quantiles"]
    ct = c["coef_table"]
    lme4_msgs = [m for m in c["messages"] if m.startswith("boundary (singular)")]
    formula = c["formula_R"]
    return lp.PrintData(
        REML=c["REML"], formula=formula, data=c["data"], aictab=aictab,
        resid_quantiles=[rq[k] for k in ("Min", "1Q", "Median", "3Q", "Max")],
        varcor=groups, sigma=sigma, nobs=int(c["nobs"]),
        ngrps={k: int(v) for k, v in c["ngrps"].items()},
        coef_names=ct["rownames"], coefficients=np.array(ct["values"], dtype=float),
        corr=np.array(c["fixef_corr"]["values"], dtype=float),
        optinfo=lp.OptInfo(optimizer=c["optimizer"], conv=0, lme4_messages=lme4_msgs),
        weights=c["weights"])


@pytest.mark.parametrize("cid", list(CASES))
def test_print_summary_text(cid):
    c = CASES[cid]
    out, msgs, _ = lp.summary_parts(print_data(c))
    assert lines(out) == rlines(c["print_summary"])
    assert msgs == "".join(c["print_summary_messages"])


@pytest.mark.parametrize("cid", list(CASES))
def test_print_fit_text(cid):
    c = CASES[cid]
    assert lines(lp.fit_text(print_data(c))) == rlines(c["print_fit"])


@pytest.mark.parametrize("cid", list(CASES))
def test_print_varcorr_text(cid):
    c = CASES[cid]
    d = print_data(c)
    assert lines(lp.varcorr_text(d.varcor, d.sigma, 5)) == rlines(c["print_varcorr"])
