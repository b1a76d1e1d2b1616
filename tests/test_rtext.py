"""R's number formatting (lmepy.rtext) against R 4.2.2's own output
(tests/reference/rformat.json, written by tests/reference/rformat.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lmepy import rtext as rf

REF = json.loads((Path(__file__).parent / "reference" / "rformat.json").read_text())


def dec(s):
    """Inverse of rformat.R's enc(): 'NA' -> None (R's NA), 'NaN' -> nan, else float."""
    if s is None or s == "NA":
        return None
    return float(s)


def decv(v):
    return [dec(s) for s in (v if isinstance(v, list) else [v])]


def same(a, b):
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


CASES = list(range(len(REF["format"])))


@pytest.mark.parametrize("i", CASES)
def test_format_digits(i):
    case = REF["format"][i]
    x = decv(case["x"])
    for d, expected in case["digits"].items():
        expected = expected if isinstance(expected, list) else [expected]
        assert rf.format_num(x, digits=int(d)) == expected, (x, d)


@pytest.mark.parametrize("i", CASES)
def test_format_nsmall_and_single(i):
    case = REF["format"][i]
    x = decv(case["x"])
    for ns, expected in case["nsmall"].items():
        expected = expected if isinstance(expected, list) else [expected]
        assert rf.format_num(x, nsmall=int(ns)) == expected, (x, ns)
    exp3 = case["nsmall_d3"] if isinstance(case["nsmall_d3"], list) else [case["nsmall_d3"]]
    assert rf.format_num(x, digits=3, nsmall=2) == exp3
    single = case["single"] if isinstance(case["single"], list) else [case["single"]]
    assert [rf.format1(v) for v in x] == single


@pytest.mark.parametrize("i", CASES)
def test_round_signif_zapsmall(i):
    case = REF["format"][i]
    x = decv(case["x"])
    for k, expected in case["round"].items():
        got = [None if v is None else rf.r_round(v, int(k)) for v in x]
        assert all(same(g, e) for g, e in zip(got, decv(expected), strict=True)), (x, k, got)
    for k, expected in case["signif"].items():
        got = [None if v is None else rf.r_signif(v, int(k)) for v in x]
        assert all(same(g, e) for g, e in zip(got, decv(expected), strict=True)), (x, k, got)
    z = rf.zapsmall(x, 5)
    assert all(same(g, e) for g, e in zip(z, decv(case["zapsmall"]), strict=True))


@pytest.mark.parametrize("i", CASES)
def test_print_named_vector(i):
    case = REF["format"][i]
    x = decv(case["x"])
    names = [f"v{k + 1}" for k in range(len(x))]
    text = rf.print_named_num(x, names)
    assert [s.rstrip() for s in text.rstrip("\n").split("\n")] == [
        s.rstrip() for s in case["print_named"]]
    names4 = ["Min", "1Q", "Median", "3Q", "Max", "a", "b", "c"][: len(x)]
    text4 = rf.print_named_num(x, names4, digits=4)
    assert [s.rstrip() for s in text4.rstrip("\n").split("\n")] == [
        s.rstrip() for s in case["print_named_d4"]]


def test_print_named_trailing_gap_is_kept():
    # R ends every field with the gap: "    Min      1Q " (trailing space included)
    text = rf.print_named_num([-3.9536, 5.1793], ["Min", "Max"], digits=4)
    assert text == "   Min    Max \n-3.954  5.179 \n"


def test_round_ties():
    rc = REF["round"]
    for x, d, r in zip(rc["x"], rc["d"], rc["r"], strict=True):
        assert same(rf.r_round(dec(x), d), dec(r)), (x, d, r)


@pytest.mark.parametrize("i", range(len(REF["pval"])))
def test_format_pval(i):
    case = REF["pval"][i]
    p = decv(case["p"])
    for key, digits in (("d3", 3), ("d1", 1), ("d5", 5)):
        expected = case[key] if isinstance(case[key], list) else [case[key]]
        assert rf.format_pval(p, digits=digits) == expected, (p, digits)


@pytest.mark.parametrize("i", range(len(REF["quantile"])))
def test_quantile7(i):
    case = REF["quantile"][i]
    got = rf.quantile7(decv(case["x"]))
    exp = decv(case["q"])
    assert got == pytest.approx(exp, rel=1e-15, abs=0)


def test_abbreviate():
    ab = REF["abbreviate"]
    for key, m in (("m6", 6), ("m11", 11), ("m4", 4), ("m1", 1)):
        assert rf.abbreviate(ab["in_"], minlength=m) == ab[key], key


def test_formatC():
    fc = REF["formatC"]
    x = decv(fc["x"])
    assert rf.formatC(x, digits=3, format="g") == fc["g3"]
    assert rf.formatC(x, digits=2, format="f") == fc["f2"]
    assert rf.formatC(x, digits=4, format="e") == fc["e4"]
    assert rf.formatC(x, digits=1, format="f", width=10) == fc["f1w10"]
    assert rf.formatC(x, digits=5, format="g", flag="-", width=12) == fc["g5m"]


@pytest.mark.parametrize("i", range(len(REF["coefmat"])))
def test_print_coefmat(i):
    case = REF["coefmat"][i]
    rows = [decv(r) for r in case["x"]]
    text = rf.print_coefmat(rows, case["rownames"], case["colnames"], digits=case["digits"])
    got = [s.rstrip() for s in text.rstrip("\n").split("\n")]
    assert got == [s.rstrip() for s in case["text"]]


@pytest.mark.parametrize("key", list(REF["matrices"]))
def test_print_matrix(key):
    case = REF["matrices"][key]
    if key.startswith("char"):
        text = rf.print_matrix(case["cells"], case["rownames"], case["colnames"],
                               right=key.endswith("right"))
    else:
        cells = [decv(r) for r in case["cells"]]
        text = rf.print_num_matrix(cells, case["rownames"], case["colnames"],
                                   digits=3 if key.endswith("d3") else None)
    got = [s.rstrip() for s in text.rstrip("\n").split("\n")]
    assert got == [s.rstrip() for s in case["text"]]


def test_named_character_vector_gap2():
    case = REF["named_gap2"]
    vals = rf.format_num(decv(case["x"]), digits=4)
    text = rf.print_named(vals, case["names"], gap=2)
    got = [s.rstrip() for s in text.rstrip("\n").split("\n")]
    assert got == [s.rstrip() for s in case["text"]]


def test_cat_fill_wraps_at_width():
    assert rf.cat_fill(["Formula:", "y ~ x"]) == "Formula: y ~ x\n"
    # R: the separator is written before the width check, so it ends the broken line
    long = ["a" * 50, "b" * 40]
    assert rf.cat_fill(long) == "a" * 50 + " \n" + "b" * 40 + "\n"
    # a vector item: its elements are separated and broken the same way
    assert rf.cat_fill(["Formula:", ["x" * 66, "y" * 64]]) == (
        "Formula: " + "x" * 66 + " \n" + "y" * 64 + "\n")


def test_bulk_single_numbers():
    """~570 numbers of every magnitude (many short decimals, where R's long-double digit
    counting decides), each formatted alone at digits 1..8, rounded and signif'ed."""
    b = REF["bulk"]
    xs = decv(b["x"])
    for d, expected in enumerate(b["format"], start=1):
        got = [rf.format1(v, digits=d) for v in xs]
        bad = [(x, g, e) for x, g, e in zip(xs, got, expected, strict=True) if g != e]
        assert not bad, (d, bad[:5])
    for key, fn in (("round2", lambda v: rf.r_round(v, 2)),
                    ("round_m1", lambda v: rf.r_round(v, -1)),
                    ("signif3", lambda v: rf.r_signif(v, 3))):
        got = [fn(v) for v in xs]
        bad = [(x, g, e) for x, g, e in zip(xs, got, decv(b[key]), strict=True) if not same(g, e)]
        assert not bad, (key, bad[:5])


@pytest.mark.parametrize("key", list(REF["coefmat_args"]))
def test_print_coefmat_arguments(key):
    """zap.ind/tst.ind/cs.ind (an anova table), dig.tst, signif.stars, signif.legend and
    P.values, against R's printCoefmat."""
    case = REF["coefmat_args"][key]
    a = case["args"]

    def idx(v):  # R's 1-based column indices -> 0-based
        return [int(i) - 1 for i in (v if isinstance(v, list) else [v])]

    kw = {}
    if "zap.ind" in a:
        kw = {"zap_ind": idx(a["zap.ind"]), "tst_ind": idx(a["tst.ind"]),
              "cs_ind": idx(a["cs.ind"])}
    if "dig.tst" in a:
        kw["dig_tst"] = a["dig.tst"]
    if "signif.stars" in a:
        kw["signif_stars"] = a["signif.stars"]
    if "signif.legend" in a:
        kw["signif_legend"] = a["signif.legend"]
    if "P.values" in a:
        kw["P_values"] = a["P.values"]
    rows = [decv(r) for r in case["x"]]
    rn = case["rownames"] if key == "zap" else None  # R's matrix had no row names
    text = rf.print_coefmat(rows, rn, case["colnames"], **kw)
    got = [s.rstrip() for s in text.rstrip("\n").split("\n")]
    assert got == [s.rstrip() for s in case["text"]]


@pytest.mark.parametrize("i", CASES)
def test_print_plain_vector_and_scientific(i):
    case = REF["format"][i]
    x = decv(case["x"])
    def as_list(v):
        return v if isinstance(v, list) else [v]

    assert [s.rstrip() for s in rf.print_vector(x).rstrip("\n").split("\n")] == [
        s.rstrip() for s in as_list(case["print_plain"])]
    assert [s.rstrip() for s in rf.print_vector(x, digits=3).rstrip("\n").split("\n")] == [
        s.rstrip() for s in as_list(case["print_plain_d3"])]
    for key, sci in (("sci_true", True), ("sci_false", False), ("sci_pen3", 3)):
        exp = case[key] if isinstance(case[key], list) else [case[key]]
        assert rf.format_num(x, scientific=sci) == exp, key


@pytest.mark.parametrize("i", range(len(REF["long_vectors"])))
def test_print_long_vector_wraps_with_index_labels(i):
    case = REF["long_vectors"][i]
    text = rf.print_vector(decv(case["x"]))
    assert [s.rstrip() for s in text.rstrip("\n").split("\n")] == [
        s.rstrip() for s in case["text"]]
