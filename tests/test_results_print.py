"""lme4's printed text rebuilt from R's own full-precision numbers (tests/reference/lmer.json):
print(summary(fit)), print(fit) and print(VarCorr(fit)) must match R line for line (trailing
spaces aside)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rtext import lines, rlines

from lmepy.results import lme4print as lp

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())
CASES = REF["cases"]


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
    # message() text ends with the newline message() adds; lme4 keeps the text without it
    lme4_msgs = [m.rstrip("\n") for m in c["messages"] if m.startswith("boundary (singular)")]
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


# ---- extra lme4 cases from tests/reference/rformat.R (rank-deficient X, a long formula, the
# cake correlation table on request) and R's deparse of formulas -------------------------------

RF = json.loads((Path(__file__).parent / "reference" / "rformat.json").read_text())


def extra_data(c: dict) -> lp.PrintData:
    vc = c["varcorr"]
    groups, sigma = lp.groups_from_frame(vc["grp"], vc["var1"], vc["var2"], vc["sdcor"])
    if c["REML"]:
        aictab = {"REML": c["objective"]}
    else:
        aictab = {"AIC": c["AIC"], "BIC": c["BIC"], "logLik": c["logLik"],
                  "deviance": c["objective"], "df.resid": c["df_resid"]}
    fit_msgs = c["fit_msgs"] if isinstance(c["fit_msgs"], list) else [c["fit_msgs"]]
    return lp.PrintData(
        REML=c["REML"], formula=c["formula_deparse"], data=c["data"], aictab=aictab,
        resid_quantiles=c["resid_quantiles"], varcor=groups, sigma=sigma,
        nobs=int(c["nobs"]), ngrps={k: int(v) for k, v in c["ngrps"].items()},
        coef_names=c["coef_rownames"], coefficients=np.array(c["coef_values"], dtype=float),
        corr=np.array(c["corr"], dtype=float), fit_msgs=[m for m in fit_msgs if m])


@pytest.mark.parametrize("cid", list(RF["lme4"]))
def test_extra_summary_and_fit_text(cid):
    c = RF["lme4"][cid]
    d = extra_data(c)
    out, _, _ = lp.summary_parts(d, correlation=c["correlation"])
    assert lines(out) == rlines(c["print_summary"])
    assert lines(lp.fit_text(d)) == rlines(c["print_fit"])


def test_correlation_on_request_message():
    d = extra_data(RF["lme4"]["cake_correlation"])
    out, msgs, pos = lp.summary_parts(d, correlation=True)
    assert msgs == "\nCorrelation of fixed effects could have been required in summary()\n"
    assert out[pos:].startswith("\nCorrelation of Fixed Effects:\n")


@pytest.mark.parametrize("i", range(len(RF["deparse"])))
def test_deparse_formula_lines(i):
    from lmepy.formula import parse_formula
    from lmepy.formula.deparse import deparse_lme4_formula

    case = RF["deparse"][i]
    expected = case["deparse"] if isinstance(case["deparse"], list) else [case["deparse"]]
    assert deparse_lme4_formula(parse_formula(case["formula"])) == expected


# ---- glmer: lme4's GLMM text from R's numbers (tests/reference/glmer.json) --------------------

GREF = json.loads((Path(__file__).parent / "reference" / "glmer.json").read_text())["fits"]


def _na(v):
    return None if v == "NA" else v


def glmer_data(c: dict) -> lp.PrintData:
    from lmepy.rtext import quantile7

    vc = c["varcorr"]
    cols = [v if isinstance(v, list) else [v] for v in vc]
    groups, sigma = lp.groups_from_frame(cols[0], [_na(v) for v in cols[1]],
                                         [_na(v) for v in cols[2]], cols[4])
    coefs = np.array([v if isinstance(v, list) else [v] for v in c["coefficients"]],
                     dtype=float).T
    names = c["beta_names"] if isinstance(c["beta_names"], list) else [c["beta_names"]]
    vcov = np.array(c["vcov"], dtype=float).reshape(len(names), len(names))
    sd = np.sqrt(np.diag(vcov))
    msgs: list[str] = []
    for w in np.atleast_1d(c["messages"]):  # message() text carries message()'s newline
        if w:
            msgs.append(str(w).rstrip("\n"))
    for w in np.atleast_1d(c["warnings"]):
        if w:
            msgs.extend(str(w).split(";"))
    weights = c["weights_col"] if isinstance(c["weights_col"], str) else None
    scale = 1.0 if sigma is None else sigma  # scaled residuals: pearson / sigma
    return lp.PrintData(
        REML=False, formula=c["formula"], data="data",
        aictab={"AIC": c["AIC"], "BIC": c["BIC"], "logLik": c["logLik"],
                "deviance": c["devcomp"]["dev"], "df.resid": c["df_resid"]},
        resid_quantiles=quantile7(np.asarray(c["residuals"]["pearson"]) / scale),
        varcor=groups, sigma=sigma,
        nobs=int(c["nobs"]), ngrps={g.name: 0 for g in groups}, coef_names=names,
        coefficients=coefs, corr=vcov / np.outer(sd, sd),
        optinfo=lp.OptInfo(optimizer=c["optimizer"], conv=0, lme4_messages=msgs),
        weights=weights, cls="glmerMod", coef_colnames=tuple(c["coef_columns"]),
        title=lp.meth_title(False, int(c["nAGQ"])), family=c["family"], link=c["link"])


def _ngrps_from_text(text: list[str]) -> dict[str, int]:
    line = next(s for s in text if s.startswith("Number of obs:"))
    out = {}
    for part in line.split("groups:")[1].split(";"):
        k, v = part.strip().rsplit(", ", 1)
        out[k] = int(v)
    return out


@pytest.mark.parametrize("cid", list(GREF))
def test_glmer_summary_and_fit_text(cid):
    c = GREF[cid]
    d = glmer_data(c)
    d.ngrps = _ngrps_from_text(c["summary"])  # glmer.json keeps ngrps only in the text
    out, msgs, _ = lp.summary_parts(d)
    assert lines(out) == rlines(c["summary"])
    assert msgs == ""
    assert lines(lp.fit_text(d)) == rlines(c["print"])


@pytest.mark.parametrize("cid", list(RF["ranef_print"]))
def test_ranef_and_coef_print(cid):
    """print(ranef(fit)) and print(coef(fit)) from R's own values."""
    import pandas as pd

    from lmepy.results.lmer import CoefDict, RanefDict

    c = RF["ranef_print"][cid]

    def frames(spec, cls, condvar):
        out = cls()
        for g, t in spec.items():
            cols = t["colnames"] if isinstance(t["colnames"], list) else [t["colnames"]]
            vals = np.array([v if isinstance(v, list) else [v] for v in t["values"]])
            df = pd.DataFrame(vals, index=t["rownames"], columns=cols)
            if condvar:
                df.attrs["postVar"] = np.zeros((len(df), len(cols), len(cols)))
            out[g] = df
        return out

    # str() leaves out the final newline that print() adds
    assert lines(str(frames(c["ranef"], RanefDict, True)) + "\n") == rlines(c["print_ranef"])
    assert lines(str(frames(c["ranef"], RanefDict, False)) + "\n") == rlines(
        c["print_ranef_nocv"])
    assert lines(str(frames(c["coef"], CoefDict, False)) + "\n") == rlines(c["print_coef"])


def test_correlation_rules_follow_lme4():
    """print.summary.merMod: the table shows by default only when summary() computed it and
    p <= 12; print(correlation=TRUE) forces it, with lme4's message when summary() had not."""
    d = extra_data(RF["lme4"]["cake_correlation"])  # p = 18
    out, msgs, _ = lp.summary_parts(d)
    assert "Correlation of Fixed Effects" not in out and "not shown by default" in msgs
    out, msgs, _ = lp.summary_parts(d, has_cor=True)  # summary(fit, correlation = TRUE)
    assert "Correlation of Fixed Effects" not in out and "not shown by default" in msgs
    out, msgs, _ = lp.summary_parts(d, correlation=True, has_cor=True)
    assert "Correlation of Fixed Effects" in out and msgs == ""
    d2 = print_data(CASES["orth_reml"])  # p = 4
    out, msgs, _ = lp.summary_parts(d2, has_cor=False)  # summary(fit, correlation = FALSE)
    assert "Correlation of Fixed Effects" not in out and msgs == ""


@pytest.mark.parametrize("cid", list(RF["lme4"]))
def test_print_arguments(cid):
    """print(summary(fit), digits = 3, ranef.comp = "Std.Dev.", signif.stars = FALSE) and
    print(fit, digits = 6, ranef.comp = c("Variance", "Std.Dev."))."""
    c = RF["lme4"][cid]
    d = extra_data(c)
    out, _, _ = lp.summary_parts(d, digits=3, ranef_comp=("Std.Dev.",), signif_stars=False)
    assert lines(out) == rlines(c["print_summary_d3_sd"])
    text = lp.fit_text(d, digits=6, ranef_comp=("Variance", "Std.Dev."))
    assert lines(text) == rlines(c["print_fit_d6_var"])
