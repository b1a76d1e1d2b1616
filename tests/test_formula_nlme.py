"""nlme's small languages (pdMat, corStruct, varFunc, one-sided formulas, random=) against
nlme 3.1-162 (tests/reference/terms.json, section "nlme", written by tests/reference/terms.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmepy import FormulaError
from lmepy.formula.ir import Formula
from lmepy.formula.nlme import (
    CorSpec,
    PdSpec,
    VarSpec,
    parse_cor,
    parse_one_sided,
    parse_pd,
    parse_random,
    parse_var,
)

REF = json.loads((Path(__file__).parent / "reference" / "terms.json").read_text())["nlme"]


def _list(x: object) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, list) else [x]


def _groups_text(groups: tuple) -> str | None:
    return "~" + "/".join(str(g) for g in groups) if groups else None


def _check_block(pd: PdSpec, ref: dict) -> None:
    assert pd.kind == ref["class"]
    assert str(pd.formula) == ref["formula"]
    assert pd.terms is not None
    assert list(pd.terms.term_labels) == _list(ref["term_labels"])
    assert pd.terms.intercept == bool(ref["intercept"])


@pytest.mark.parametrize("case", REF["pd"], ids=[c["text"] for c in REF["pd"]])
def test_pd_matches_nlme(case: dict) -> None:
    pd = parse_pd(case["text"])
    assert pd.kind == case["class"]
    if case["class"] == "pdBlocked":
        assert len(pd.blocks) == len(case["blocks"])
        for b, ref in zip(pd.blocks, case["blocks"], strict=True):
            _check_block(b, ref)
    else:
        _check_block(pd, case)
    assert parse_pd(str(pd)) == pd


@pytest.mark.parametrize("case", REF["cor"], ids=[c["text"] for c in REF["cor"]])
def test_cor_matches_nlme(case: dict) -> None:
    cs = parse_cor(case["text"])
    assert isinstance(cs, CorSpec)
    assert cs.kind == case["class"]
    assert str(cs.form) == case["formula"]
    assert "~" + str(cs.covariate) == case["covariate"]
    assert _groups_text(cs.groups) == case["groups"]
    assert cs.fixed == case["fixed"]
    assert (cs.p, cs.q) == (case["p"], case["q"])
    ref_value = _list(case["value"])
    if ref_value:  # nlme knows the starting value before seeing data
        assert cs.initial == pytest.approx(ref_value, abs=0, rel=1e-15)
    else:
        assert cs.kind in ("corCompSymm", "corSymm")
    assert parse_cor(str(cs)) == cs


@pytest.mark.parametrize("case", REF["var"], ids=[c["text"] for c in REF["var"]])
def test_var_matches_nlme(case: dict) -> None:
    vf = parse_var(case["text"])
    assert isinstance(vf, VarSpec)
    assert vf.kind == case["class"]
    assert str(vf.form) == case["formula"]
    assert "~" + str(vf.covariate) == case["covariate"]
    assert _groups_text(vf.groups) == case["groups"]
    if vf.kind != "varIdent":
        assert list(vf.value) == pytest.approx(_list(case["value"]), abs=0, rel=1e-15)
    assert parse_var(str(vf)) == vf


@pytest.mark.parametrize("case", REF["random"], ids=[c["spec"] for c in REF["random"]])
def test_random_matches_nlme(case: dict) -> None:
    levels = parse_random(case["spec"])
    assert [lv.group for lv in levels] == _list(case["groups"])
    assert [lv.pd.kind for lv in levels] == _list(case["class"])
    assert [str(lv.pd.formula) for lv in levels] == _list(case["formula"])


def test_random_dict_forms_equal_list_forms() -> None:
    by_list = {c["spec"]: parse_random(c["spec"]) for c in REF["random"]}
    assert parse_random({"Dog": "~ day", "Side": "~ 1"}) == by_list[
        "list(Dog = ~ day, Side = ~ 1)"]
    assert parse_random({"Mare": "pdDiag(~ sin(2*pi*Time))"}) == by_list[
        "list(Mare = pdDiag(~ sin(2*pi*Time)))"]
    assert parse_random([("Subject", parse_pd("pdDiag(~ age)"))]) == by_list[
        "list(Subject = pdDiag(~ age))"]


@pytest.mark.parametrize("case", REF["errors"], ids=[c["text"] for c in REF["errors"]])
def test_nlme_errors(case: dict) -> None:
    with pytest.raises(FormulaError) as info:
        parse_cor(case["text"])
    assert info.value.message == case["r_error"]
    assert info.value.pos is not None  # a caret under the offending argument
    assert str(info.value).splitlines()[-2] == "  " + case["text"]


def test_one_sided() -> None:
    f = parse_one_sided("~ age | Subject")
    assert isinstance(f, Formula) and f.lhs is None
    assert str(f) == "~age | Subject"
    with pytest.raises(FormulaError):
        parse_one_sided("y ~ age")
    with pytest.raises(FormulaError):
        parse_random("~ age")
    with pytest.raises(FormulaError):
        parse_random({"g": "~ x | h"})
    with pytest.raises(FormulaError):
        parse_pd("pdDiag(~ x | g)")
    with pytest.raises(FormulaError):
        parse_cor("varPower()")
