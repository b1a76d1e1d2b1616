"""The formula parser and R's terms() expansion against R (tests/reference/terms.json, written
by tests/reference/terms.R with R 4.2.2, lme4 1.1-31). Texts are compared exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lmepy import FormulaError
from lmepy.formula import (
    expand_double_verts,
    findbars,
    model_terms,
    model_variables,
    nobars,
    parse_expr,
    parse_formula,
)
from lmepy.formula.ir import Formula, GroupTerm, Name

REF = json.loads((Path(__file__).parent / "reference" / "terms.json").read_text())
CASES = REF["terms"]
IDS = [c["text"].strip() for c in CASES]


def _list(x: object) -> list:
    """jsonlite writes a length-one character vector wrapped in I() as a list; be safe."""
    if x is None:
        return []
    return list(x) if isinstance(x, list) else [x]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_deparse_matches_r(case: dict) -> None:
    assert str(parse_formula(case["text"])) == case["deparse"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_terms_match_r(case: dict) -> None:
    mt = model_terms(case["text"])
    assert list(mt.term_labels) == _list(case["term_labels"])
    assert mt.intercept == bool(case["intercept"])
    assert (str(mt.response) if mt.response is not None else None) == case["response"]
    assert [str(v) for v in model_variables(mt)] == _list(case["variables"])
    assert [str(o) for o in mt.offsets] == _list(case["offset"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_findbars_nobars_match_r(case: dict) -> None:
    f = parse_formula(case["text"])
    assert [r.bar_text() for r in findbars(f)] == _list(case["findbars"])
    assert [r.bar_text() for r in model_terms(f).random] == _list(case["findbars"])
    assert str(nobars(f)) == case["nobars"]
    if case.get("expandDoubleVerts"):
        assert str(expand_double_verts(f)) == case["expandDoubleVerts"]
        assert all(r.double_bar for r in findbars(f))
    else:
        assert not any(r.double_bar for r in findbars(f))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_model_terms_round_trip(case: dict) -> None:
    mt = model_terms(case["text"])
    again = model_terms(str(mt))
    if [str(v) for v in model_variables(again)] == [str(v) for v in model_variables(mt)]:
        assert again == mt
        assert str(again) == str(mt)
    else:
        # R orders the variables of a label by first appearance in the formula, so printing
        # the terms sorted by order can reorder variables inside labels (R does the same):
        # the same model, labels spelled in the new order.
        assert {frozenset(map(str, t.factors)) for t in again.terms} == {
            frozenset(map(str, t.factors)) for t in mt.terms}
        assert (again.intercept, again.random, again.offsets) == (mt.intercept, mt.random,
                                                                   mt.offsets)


@pytest.mark.parametrize("case", REF["exprs"], ids=[c["text"] for c in REF["exprs"]])
def test_expression_deparse_matches_r(case: dict) -> None:
    assert str(parse_expr(case["text"])) == case["deparse"]


def test_reparse_of_deparse_is_same_tree() -> None:
    for case in CASES:
        f = parse_formula(case["text"])
        assert parse_formula(str(f)) == f


def test_lme4_group_names_and_factors() -> None:
    mt = model_terms("strength ~ 1 + (1 | batch/cask)")
    assert [r.group.label for r in mt.random] == ["cask:batch", "batch"]
    g = mt.random[0].group
    assert isinstance(g, GroupTerm)
    assert g.factors == (Name("cask"), Name("batch"))
    deep = model_terms("y ~ (1 | a/b/c)").random[0].group
    assert deep.label == "c:(b:a)"
    assert deep.factors == (Name("c"), Name("b"), Name("a"))


def test_double_bar_expansion_terms() -> None:
    mt = model_terms("Reaction ~ Days + (Days || Subject)")
    r1, r2 = mt.random
    assert (r1.terms.intercept, r1.terms.term_labels) == (True, ())
    assert (r2.terms.intercept, r2.terms.term_labels) == (False, ("Days",))
    assert str(mt) == "Reaction ~ Days + (Days || Subject)"
    assert str(model_terms("y ~ (x * z || g/h) + (0 + w || k)")) == (
        "y ~ 1 + (x + z + x:z || g/h) + (0 + w || k)")


_R_COL = re.compile(r"^<text>:(\d+):(\d+): unexpected (symbol|'\)'|INCOMPLETE_STRING|end of input)")


@pytest.mark.parametrize("case", REF["errors"], ids=[c["text"] for c in REF["errors"]])
def test_r_errors_are_formula_errors(case: dict) -> None:
    text = case["text"]
    assert case["r_error"] != "no error"
    with pytest.raises(FormulaError) as info:
        model_terms(text)
    err = info.value
    assert err.formula == text
    assert text in str(err)
    m = _R_COL.match(case["r_error"])
    if m:  # R's parser reports the same position (its column is 1-based; line 2 = end)
        line, col, _ = m.groups()
        assert err.pos == (len(text) if line == "2" else int(col) - 1)
        assert "unexpected" in err.message
    if case["r_error"] in ("invalid model formula in ExtractVars", "invalid power in formula"):
        assert err.message == case["r_error"]
    if case["r_error"].startswith("could not find function"):
        name = case["r_error"].split('"')[1]
        assert f"unknown function '{name}'" in err.message
        assert err.pos == text.index(name)


def test_caret_and_suggestions() -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ lg(x)")
    assert str(info.value) == (
        "unknown function 'lg' in formula. Did you mean 'log' or 'log2'?\n"
        "  y ~ lg(x)\n"
        "      ^^")
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ x +")
    assert str(info.value).splitlines()[-1] == "  " + " " * 7 + "^"


def test_code_injection_is_a_formula_error() -> None:
    for text in ["y ~ __import__('os').system('x')", "y ~ eval('1')", "y ~ exec(x)",
                 "y ~ x + getattr(x, 'y')", "y ~ (lambda: 1)()"]:
        with pytest.raises(FormulaError):
            model_terms(text)


def test_not_a_formula() -> None:
    with pytest.raises(FormulaError):
        parse_formula("y + x")
    assert isinstance(parse_formula("~ x"), Formula)


@pytest.mark.parametrize("case", REF["long"], ids=["1500 terms", "10-way interaction", "^3"])
def test_long_formulas_match_r(case: dict) -> None:
    mt = model_terms(case["text"])
    assert list(mt.term_labels) == case["term_labels"]
    assert mt.intercept == bool(case["intercept"])
    assert len(str(parse_formula(case["text"]))) > 0


def test_too_deep_is_a_formula_error() -> None:
    text = "y ~ " + "(" * 2500 + "x" + ")" * 2500
    with pytest.raises(FormulaError):
        model_terms(text)


@pytest.mark.parametrize("case", REF["random_terms"], ids=[c["text"] for c in REF["random_terms"]])
def test_random_formulas_match_r(case: dict) -> None:
    """R-generated random formulas over every operator (terms.R): same labels and intercept,
    or the same error R gives."""
    if "r_error" in case:
        with pytest.raises(FormulaError) as info:
            model_terms(case["text"])
        assert info.value.message == case["r_error"]
    else:
        mt = model_terms(case["text"])
        assert list(mt.term_labels) == _list(case["term_labels"])
        assert mt.intercept == bool(case["intercept"])
        again = model_terms(str(mt))  # printed back: the same model
        assert {frozenset(map(str, t.factors)) for t in again.terms} == {
            frozenset(map(str, t.factors)) for t in mt.terms}
        assert (again.intercept, again.offsets) == (mt.intercept, mt.offsets)


def _lme4_cannot(case: dict) -> bool:
    """lme4 1.1-31 fails on this formula: a parse error in its '||' expansion, or garbage
    group names from '/' nested in a call (which lFormula then cannot evaluate)."""
    if "r_error" in case:
        return True
    return any("`:`" in b or "`(`" in b for b in _list(case["findbars"]))


@pytest.mark.parametrize("case", REF["mixed_terms"], ids=[c["text"] for c in REF["mixed_terms"]])
def test_random_mixed_formulas_match_lme4(case: dict) -> None:
    """R-generated mixed-model formulas (terms.R): lme4's findbars and nobars, R's terms() of
    the fixed part; a FormulaError where lme4 fails."""
    if _lme4_cannot(case):
        with pytest.raises(FormulaError):
            model_terms(case["text"])
        return
    mt = model_terms(case["text"])
    assert [r.bar_text() for r in mt.random] == _list(case["findbars"])
    assert str(nobars(case["text"])) == case["nobars"]
    assert list(mt.term_labels) == _list(case["term_labels"])
    assert mt.intercept == bool(case["intercept"])
    again = model_terms(str(mt))  # printed back, the random terms expand the same way
    assert again.random == mt.random
    assert (again.intercept, len(again.terms)) == (mt.intercept, len(mt.terms))



@pytest.mark.parametrize(("text", "caret"), [
    ("y ~ x + 2", "        ^"),            # R: invalid model formula in ExtractVars
    ("y ~ poly(x, 2) + 2", "                 ^"),
    ("y ~ a^b", "      ^"),                # R: invalid power in formula
    ("y ~ x + 'a'", "        ^^^"),
    ("y ~ x + (1 || g)", "         ^^^^^^"),  # lme4 1.1-31 fails to expand it
])
def test_semantic_errors_have_a_caret(text: str, caret: str) -> None:
    with pytest.raises(FormulaError) as info:
        model_terms(text)
    lines = str(info.value).splitlines()
    assert lines[-2] == "  " + text
    assert lines[-1] == "  " + caret


def test_package_prefix_is_a_clear_error() -> None:
    # R accepts splines::ns(x, 3); lmepy does not (yet): say so, with a caret under '::'
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ splines::ns(x, 3)")
    assert "package prefixes" in info.value.message
    assert info.value.pos == len("y ~ splines")
