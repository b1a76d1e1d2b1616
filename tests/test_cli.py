"""The README's main job, `lmepy fit`, prints lme4 1.1-31's summary of the same fit."""

import json
from pathlib import Path

import pytest

from lmepy.cli import main

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())["cases"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


@pytest.mark.parametrize(
    ("argv", "case"),
    [
        (["fit"], "ss_full_reml"),
        (["fit", "Yield ~ 1 + (1 | Batch)", "--data", "Dyestuff", "--ml"], "dye_ml"),
    ],
)
def test_fit_prints_lme4_summary(capsys, argv, case):
    assert main(argv) == 0
    assert _lines(capsys.readouterr().out) == [s.rstrip() for s in REF[case]["print_summary"]]


def test_fit_reads_csv(tmp_path, capsys):
    import lmepy

    path = tmp_path / "sleepstudy.csv"
    lmepy.datasets.load("sleepstudy").to_csv(path, index=False)
    assert main(["fit", "Reaction ~ Days + (Days | Subject)", "--data", str(path)]) == 0
    out = _lines(capsys.readouterr().out)
    # the Subject column is read back as integers and becomes the grouping factor as in R
    assert out[:3] == [s.rstrip() for s in REF["ss_full_reml"]["print_summary"][:3]]
    assert out[9:15] == [s.rstrip() for s in REF["ss_full_reml"]["print_summary"][9:15]]


def test_fit_bad_formula_is_a_clear_error(capsys):
    assert main(["fit", "Reaction ~ Dayz + (Days | Subject)", "--data", "sleepstudy"]) == 2
    err = capsys.readouterr().err
    assert "Dayz" in err and "Days" in err


def test_fit_unknown_dataset():
    with pytest.raises(SystemExit, match="no bundled dataset or file named 'nosuch'"):
        main(["fit", "y ~ x + (1 | g)", "--data", "nosuch"])
