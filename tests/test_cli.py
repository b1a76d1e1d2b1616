"""The `lmepy` command: the README's main job prints lme4 1.1-31's summary; CSV files read as
R's read.csv() reads them; every bad input ends with one clean message and the documented
exit status (2: usage/formula/data, 1: a model that cannot be fitted), never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rtext import last_digit_diffs, lines, rlines

import lmepy
from lmepy import cli
from lmepy.cli import main

REFDIR = Path(__file__).parent / "reference"
LMER = json.loads((REFDIR / "lmer.json").read_text())["cases"]
GLMER = json.loads((REFDIR / "glmer.json").read_text())["fits"]
CSV = json.loads((REFDIR / "cli.json").read_text())["cases"]
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------
# good paths


@pytest.mark.parametrize(
    ("argv", "case"),
    [
        (["fit"], "ss_full_reml"),
        (["fit", "Yield ~ 1 + (1 | Batch)", "--data", "Dyestuff", "--ml"], "dye_ml"),
    ],
)
def test_fit_prints_lme4_summary(capsys, argv, case):
    code, out, err = run(capsys, argv)
    assert code == 0 and err == ""
    assert lines(out) == rlines(LMER[case]["print_summary"])


def test_fit_reads_csv(tmp_path, capsys):
    path = tmp_path / "sleepstudy.csv"
    lmepy.datasets.load("sleepstudy").to_csv(path, index=False)
    code, out, _ = run(capsys, ["fit", "Reaction ~ Days + (Days | Subject)", "--data", str(path)])
    assert code == 0
    out = lines(out)
    # the Subject column is read back as integers and becomes the grouping factor as in R
    ref = rlines(LMER["ss_full_reml"]["print_summary"])
    assert out[:3] == ref[:3] and out[9:15] == ref[9:15]


@pytest.mark.parametrize("case", sorted(CSV))
def test_csv_as_read_csv_reads_it(tmp_path, capsys, case):
    """A text value in a numeric column makes it text (a factor in the model, as in R 4);
    "NA" and an empty numeric field are missing; "Reaction time" becomes Reaction.time."""
    c = CSV[case]
    path = tmp_path / c["file"]
    path.write_text("\n".join(c["csv"]) + "\n", encoding="utf-8")
    frame = cli.read_csv(path)
    kinds = {"numeric": "f", "integer": "i", "character": "O"}
    assert {k: frame[k].dtype.kind for k in frame} == \
        {k: kinds[v] for k, v in c["column_classes"].items()}
    code, out, err = run(capsys, ["fit", c["formula"], "--data", str(path)])
    assert code == 0, err
    last_digit_diffs(lines(out), rlines(c["print_summary"]))


@pytest.mark.parametrize(
    ("extra", "case"),
    [([], "cbpp_laplace"), (["--link", "probit"], "cbpp_probit"), (["--nAGQ", "9"], "cbpp_agq9"),
     (["--nAGQ", "0"], "cbpp_nagq0")],
)
def test_family_fits_glmer_and_prints_its_summary(capsys, extra, case):
    code, out, err = run(capsys, ["fit", CBPP, "--data", "cbpp", "--family", "binomial", *extra])
    assert code == 0 and err == ""
    ref = rlines(GLMER[case]["summary"])
    ref[4] = "   Data: cbpp"  # R's reference fitted `data`; the CLI names the dataset
    last_digit_diffs(lines(out), ref)


def test_gaussian_family_is_lmer_with_lme4s_warning(capsys):
    code, out, err = run(capsys, ["fit", "Reaction ~ Days + (Days | Subject)", "--data",
                                  "sleepstudy", "--family", "gaussian"])
    assert code == 0
    assert lines(out) == rlines(LMER["ss_full_reml"]["print_summary"])
    assert err == "lmepy fit: warning: calling glmer() with family=gaussian (identity link) as " \
                  "a shortcut to lmer() is deprecated; please call lmer() directly\n"


def test_version(capsys):
    code, out, _ = run(capsys, ["--version"])
    assert code == 0 and out == f"lmepy {lmepy.__version__}\n" == "lmepy 0.1.0\n"


def test_help_documents_the_exit_status(capsys):
    for argv in (["--help"], ["fit", "--help"]):
        code, out, _ = run(capsys, argv)
        assert code == 0
        assert "exit status:" in out
        assert "2    usage error" in out and "1    the model cannot be fitted" in out
    assert "--family {binomial,poisson,Gamma,inverse.gaussian,gaussian}" in out
    assert "--nAGQ N" in out and "--link LINK" in out


def test_lme4s_message_goes_to_stderr_as_one_line(capsys):
    """lme4's singular-fit message is printed once, in lme4's words, without the file and
    line of lmepy's code; the fit succeeds (exit 0) and prints lme4's summary."""
    code, out, err = run(capsys, ["fit", "Yield ~ 1 + (1 | Batch)", "--data", "Dyestuff2"])
    assert code == 0
    assert lines(out) == rlines(LMER["dye2_reml"]["print_summary"])
    assert err == "".join(f"lmepy fit: warning: {m}" for m in LMER["dye2_reml"]["messages"])
    assert err == "lmepy fit: warning: boundary (singular) fit: see help('isSingular')\n"


def test_warnings_are_lme4s_text_once_each(capsys):
    """A badly scaled binomial GLMM (tests/reference/warnings.R's "eigenvalue" case, whose
    warning does not depend on the numpy/scipy release): lme4's warning, once, multi-line as
    R prints it, and none of numpy's floating-point noise from the optimizer."""
    code, out, err = run(capsys, ["fit", "cbind(incidence, size - incidence) ~ "
                                  "I(as.numeric(period) * 100) + (1 | herd)", "--data",
                                  "cbpp", "--family", "binomial"])
    assert code == 0 and out.startswith("Generalized linear mixed model fit by maximum")
    assert " Family: binomial  ( logit )" in out
    assert "lmepy fit: warning: Model is nearly unidentifiable: very large eigenvalue\n" \
           " - Rescale variables?\n" in err
    heads = [line for line in err.splitlines() if not line.startswith(" - ")]
    assert all(line.startswith("lmepy fit: warning: ") for line in heads), err
    assert len(heads) == len(set(heads)) and ".py:" not in err
    assert "encountered in" not in err


# --------------------------------------------------------------------------------------------
# bad inputs: (files written into tmp_path, argv, exit status, text the message must contain)

BINARY = bytes(range(256)) * 4
RAGGED = "a,b,c\n1,2,3\n4,5\n6,7,8\n"
SS = "Reaction,Days,Subject\n" + "".join(
    f"{250 + 3 * i + (i % 7)},{i % 10},{i // 10}\n" for i in range(60))

BAD = {
    "missing file": ({}, ["fit", "y ~ x + (1 | g)", "--data", "{tmp}/nosuch.csv"], 2,
                     "cannot open file '{tmp}/nosuch.csv': No such file or directory"),
    "unknown dataset, close name": ({}, ["fit", "y ~ x + (1 | g)", "--data", "sleepstudi"], 2,
                                    "Did you mean 'sleepstudy'?"),
    "empty file": ({"e.csv": b""}, ["fit", "y ~ x + (1 | g)", "--data", "{tmp}/e.csv"], 2,
                   "is empty: no lines available in input"),
    "blank lines only": ({"e.csv": b"\n\n\n"}, ["fit", "y ~ x + (1 | g)", "--data",
                                               "{tmp}/e.csv"], 2, "is empty"),
    "directory": ({}, ["fit", "y ~ x + (1 | g)", "--data", "{tmp}"], 2,
                  "cannot open file '{tmp}': it is a directory"),
    "binary file": ({"b.csv": BINARY}, ["fit", "y ~ x + (1 | g)", "--data", "{tmp}/b.csv"], 2,
                    "is not a text CSV file: line 1 contains embedded nulls"),
    "latin-1 file": ({"l.csv": "y,x,g\n1,2,caf\xe9\n".encode("latin-1")},
                     ["fit", "y ~ x + (1 | g)", "--data", "{tmp}/l.csv"], 2,
                     "is not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8"),
    "header only": ({"h.csv": b"y,x,g\n"}, ["fit", "y ~ x + (1 | g)", "--data", "{tmp}/h.csv"],
                    2, "has a header but no data rows"),
    "ragged rows": ({"r.csv": RAGGED.encode()}, ["fit", "a ~ b + (1 | c)", "--data",
                                                 "{tmp}/r.csv"], 2,
                    "bad CSV file '{tmp}/r.csv': line 3 has 2 fields, the header (line 1) has 3"),
    "semicolon-separated": ({"s.csv": b"y;x;g\n1,5;2;a\n"}, ["fit", "y ~ x + (1 | g)", "--data",
                                                             "{tmp}/s.csv"], 2,
                            "it looks separated by semicolons; lmepy reads comma-separated"),
    "unclosed quote": ({"q.csv": b'a,b\n1,"2\n'}, ["fit", "a ~ 1 + (1 | b)", "--data",
                                                    "{tmp}/q.csv"], 2, "bad CSV file"),
    "text response": ({"t.csv": SS.replace("\n250,", "\nabc,", 1).encode()},
                      ["fit", "Reaction ~ Days + (1 | Subject)", "--data", "{tmp}/t.csv"], 2,
                      "response must be numeric"),
    "text in a numeric predictor used in arithmetic": (
        {"t.csv": SS.replace(",1,0\n", ",one,0\n", 1).encode()},
        ["fit", "Reaction ~ log(Days + 1) + (1 | Subject)", "--data", "{tmp}/t.csv"], 2,
        "non-numeric argument to binary operator"),
    "formula syntax error": ({}, ["fit", "Reaction ~ Days + ((1 | Subject)", "--data",
                                  "sleepstudy"], 2, "unexpected end of input"),
    "empty formula": ({}, ["fit", "", "--data", "sleepstudy"], 2, "invalid formula: empty"),
    "unknown variable": ({}, ["fit", "Reaction ~ Dayz + (Days | Subject)", "--data",
                              "sleepstudy"], 2, "Dayz"),
    "no random effects": ({}, ["fit", "Reaction ~ Days", "--data", "sleepstudy"], 2,
                          "No random effects terms specified in formula"),
    "cbind response in lmer": ({}, ["fit", "cbind(Reaction, Days) ~ Days + (1 | Subject)",
                                    "--data", "sleepstudy"], 2,
                               "response must be numeric with one column: cbind(Reaction, "
                               "Days) has 2 columns"),
    "response all NA": ({"n.csv": ("n,Days,Subject\n" + "NA,1,1\nNA,2,2\n" * 5).encode()},
                        ["fit", "n ~ Days + (1 | Subject)", "--data", "{tmp}/n.csv"], 2,
                        "0 (non-NA) cases"),
    "constant response in lmer": ({}, ["fit", "c ~ Days + (1 | Subject)", "--data",
                                       "{tmp}/c.csv"], 2, "Response is constant"),
    "constant response in glmer": ({}, ["fit", "c ~ Days + (1 | Subject)", "--data",
                                        "{tmp}/c.csv", "--family", "poisson"], 2,
                                    "Response is constant"),
    "unknown family": ({}, ["fit", CBPP, "--data", "cbpp", "--family", "binomal"], 2,
                       "argument --family: invalid choice: 'binomal'"),
    "bad link for family": ({}, ["fit", CBPP, "--data", "cbpp", "--family", "poisson",
                                 "--link", "logit"], 2,
                            'link "logit" not available for poisson family'),
    "binomial response out of range": ({}, ["fit", "Reaction ~ Days + (1 | Subject)", "--data",
                                            "sleepstudy", "--family", "binomial"], 2,
                                       "y values must be 0 <= y <= 1"),
    "nAGQ without family": ({}, ["fit", "--nAGQ", "2"], 2, "--nAGQ needs --family"),
    "nAGQ not an integer": ({}, ["fit", CBPP, "--data", "cbpp", "--family", "binomial",
                                 "--nAGQ", "two"], 2, "argument --nAGQ: invalid int value"),
    "nAGQ > 1 with two terms": ({}, ["fit", "Reaction ~ Days + (1 | Subject) + (0 + Days | "
                                     "Subject)", "--data", "sleepstudy", "--family", "poisson",
                                     "--nAGQ", "5"], 2,
                                "nAGQ > 1 is only available for models with a single, scalar "
                                "random-effects term"),
    "link without family": ({}, ["fit", "--link", "probit"], 2, "--link needs --family"),
    "ml with family": ({}, ["fit", CBPP, "--data", "cbpp", "--family", "binomial", "--ml"], 2,
                       "--ml is for lmer"),
    "data without formula": ({}, ["fit", "--data", "{tmp}/c.csv"], 2,
                             "--data needs a FORMULA"),
    "formula without data": ({}, ["fit", "Reaction ~ Days + (1 | Subject)"], 2,
                             "a formula needs --data"),
    "no command": ({}, [], 2, "a COMMAND is required"),
    "unknown option": ({}, ["fit", "--reml"], 2, "unrecognized arguments: --reml"),
}


def _constant_csv(tmp: Path) -> None:
    rows = "".join(f"5,{i % 10},{i // 10}\n" for i in range(60))
    (tmp / "c.csv").write_text("c,Days,Subject\n" + rows, encoding="utf-8")


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_clean_message(tmp_path, capsys, name):
    files, argv, status, text = BAD[name]
    for fname, content in files.items():
        (tmp_path / fname).write_bytes(content)
    _constant_csv(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(capsys, argv)
    assert code == status, err
    assert "Traceback" not in err and out == ""
    assert err.startswith("lmepy fit: " if argv[:1] == ["fit"] else "lmepy: "), err
    assert text.replace("{tmp}", str(tmp_path)) in err


def test_permission_denied(tmp_path, capsys, monkeypatch):
    """(Simulated: the tests may run as root, who can read anything.)"""
    path = tmp_path / "locked.csv"
    path.write_text("y,x,g\n1,2,a\n")
    real_open = open

    def locked(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", locked)
    code, _, err = run(capsys, ["fit", "y ~ x + (1 | g)", "--data", str(path)])
    assert code == 2
    assert err == f"lmepy fit: cannot open file '{path}': Permission denied\n"


def test_a_fit_that_fails_numerically_exits_1(capsys, monkeypatch):
    """lme4's PIRLS failure (an LmepyError of the fit, not of the input) is exit status 1."""
    from lmepy.fit import glmm, predictor

    def fail(*args, **kwargs):
        raise predictor.PirlsError(predictor._HALVING_FAILED)

    monkeypatch.setattr(glmm, "fit_glmm", fail)
    monkeypatch.setattr("lmepy.api.fit_glmm", fail, raising=False)
    code, out, err = run(capsys, ["fit", CBPP, "--data", "cbpp", "--family", "binomial"])
    assert (code, out) == (1, "")
    assert err == "lmepy fit: PIRLS step-halvings failed to reduce deviance in pwrssUpdate\n"


def test_internal_error_is_reported_without_traceback(capsys, monkeypatch):
    """An exception from inside numpy (not a message of lmepy's) is an internal error: exit 1,
    a request to report it, and the traceback only when asked for."""
    import numpy as np

    def broken(*args, **kwargs):
        return np.column_stack([np.zeros(3), np.zeros(4)])

    monkeypatch.setattr("lmepy.fit.lmm.fit_lmm", broken)
    argv = ["fit", "Reaction ~ Days + (1 | Subject)", "--data", "sleepstudy"]
    code, out, err = run(capsys, argv)
    assert (code, out) == (1, "")
    assert err.startswith("lmepy fit: internal error: ValueError: all the input array "
                          "dimensions")
    assert "please report" in err.lower() and "Traceback" not in err
    code, _, err = run(capsys, [*argv, "--traceback"])
    assert code == 1 and "Traceback (most recent call last)" in err
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    code, _, err = run(capsys, argv)
    assert code == 1 and "Traceback (most recent call last)" in err


def test_classify_tells_lmepys_messages_from_internal_errors():
    """A ValueError raised by lmepy's own ``raise`` is a message about the input (2); one out
    of numpy is an internal error (1)."""
    import numpy as np

    with pytest.raises(ValueError) as own:
        lmepy.binomial(link="foo")
    assert cli.classify(own.value) == (2, str(own.value))
    with pytest.raises(ValueError) as numpys:
        np.zeros(3).reshape(2)
    code, message = cli.classify(numpys.value)
    assert code == 1 and message.startswith("internal error: ValueError: cannot reshape")
    assert cli.classify(np.linalg.LinAlgError("Matrix is not positive definite")) == \
        (1, "the model cannot be fitted (numerical failure): Matrix is not positive definite")


def test_keyboard_interrupt_exits_130(capsys, monkeypatch):
    def interrupted(spec):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_data", interrupted)
    code, out, err = run(capsys, ["fit"])
    assert (code, out) == (130, "") and "Traceback" not in err


def test_the_callers_file_is_not_modified(tmp_path, capsys):
    path = tmp_path / "ss.csv"
    path.write_text(SS)
    assert main(["fit", "Reaction ~ Days + (1 | Subject)", "--data", str(path)]) == 0
    assert path.read_text() == SS


# --------------------------------------------------------------------------------------------
# R's read.csv conventions


def test_read_csv_types_and_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('"my var",1x,a,a,flag,n,s\n'
                    '1.5,1,x,2,TRUE,NA,""\n'
                    'Inf,,y,3,F,NA,NA\n'
                    '-2e3,4,NA,0x10,NA,NA,z\n', encoding="utf-8")
    d = cli.read_csv(path)
    assert list(d) == ["my.var", "X1x", "a", "a.1", "flag", "n", "s"]
    assert d["my.var"].tolist() == [1.5, float("inf"), -2000.0]
    assert str(d["X1x"].dtype) == "Int64" and d["X1x"].isna().tolist() == [False, True, False]
    assert d["a"].tolist()[:2] == ["x", "y"] and d["a"].isna().tolist() == [False, False, True]
    assert d["a.1"].tolist() == [2.0, 3.0, 16.0]
    assert d["flag"].tolist()[:2] == [True, False] and d["flag"].isna().tolist()[2]
    assert d["n"].isna().all()
    assert d["s"].tolist()[0] == "" and d["s"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize("case", json.loads((REFDIR / "cli.json").read_text())["type_convert"],
                         ids=lambda c: "|".join(c["input"]))
def test_column_types_as_rs_type_convert(case):
    """Each column of text becomes what R's type.convert(as.is = TRUE) makes of it."""
    col = cli._type_convert(pd.Series(case["input"], dtype=object))
    kind = {"b": "logical", "i": "integer", "f": "numeric", "O": "character"}[col.dtype.kind]
    assert kind == case["class"]
    assert col.isna().tolist() == case["na"]
    for got, want, na in zip(col.tolist(), case["value"], case["na"], strict=True):
        if na:
            continue
        if kind == "numeric":
            assert got == float(want)
        elif kind == "integer":
            assert got == int(want)
        elif kind == "logical":
            assert got == (want == "TRUE")
        else:
            assert got == want


def test_make_names_is_rs():
    ref = json.loads((REFDIR / "cli.json").read_text())["make_names"]
    assert cli.make_names(ref["input"]) == ref["output"]
    assert ref["output"][:9] == ["a.b", "if.", "X", "X_x", "X.5", ".a", "a", "a.2", "a.1"]


# --------------------------------------------------------------------------------------------
# as a real process


def test_subprocess_module_and_exit_status(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != cli.TRACEBACK_ENV}
    ok = subprocess.run([sys.executable, "-m", "lmepy", "fit"], capture_output=True, text=True,
                        env=env, timeout=300)
    assert ok.returncode == 0 and ok.stderr == ""
    assert lines(ok.stdout) == rlines(LMER["ss_full_reml"]["print_summary"])
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    bad = subprocess.run([sys.executable, "-m", "lmepy.cli", "fit", "y ~ x + (1 | g)",
                          "--data", str(empty)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == f"lmepy fit: '{empty}' is empty: no lines available in input\n"


def test_subprocess_broken_pipe():
    """`lmepy fit | head -0`: the reader has gone before the summary is written; no
    BrokenPipeError traceback or message."""
    proc = subprocess.Popen([sys.executable, "-m", "lmepy", "fit"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert err == b""
