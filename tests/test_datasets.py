"""Bundled data sets against R-produced reference values (tests/reference/datasets.json,
written by tests/reference/datasets.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmepy import datasets

REF = json.loads((Path(__file__).parent / "reference" / "datasets.json").read_text())
ALL = [
    "sleepstudy", "Dyestuff", "Dyestuff2", "Penicillin", "Pastes", "cake", "cbpp",
    "grouseticks", "InstEval", "Contraception", "Chem97", "Ovary", "Orthodont", "BodyWeight",
    "Pixel", "Oxboys",
]


def test_names_lists_every_set() -> None:
    assert sorted(datasets.names()) == sorted(ALL)
    assert sorted(REF) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_dims_names_and_columns(name: str) -> None:
    ref = REF[name]
    df = datasets.load(name)
    assert df.shape == (ref["nrow"], ref["ncol"])
    assert list(df.columns) == ref["names"]
    for col, cref in ref["columns"].items():
        s = df[col]
        cls = cref["class"]
        if cls in ("factor", "ordered"):
            assert isinstance(s.dtype, pd.CategoricalDtype)
            assert s.cat.ordered == (cls == "ordered")
            cats = list(s.cat.categories)
            assert len(cats) == cref["nlevels"]
            assert cats[:5] == cref["head_levels"]
            assert cats[-5:] == cref["tail_levels"]
            if cref.get("levels") is not None:
                assert cats == cref["levels"]
            counts = s.value_counts(sort=False)
            assert int(counts.max()) == cref["max_count"]
            codes = s.cat.codes.to_numpy().astype(np.float64) + 1.0
            rows = np.arange(1, len(s) + 1, dtype=np.float64)
            assert float(np.sum(codes * rows)) == cref["code_wsum"]  # exact: integers < 2**53
            if cref.get("counts") is not None:
                assert {k: int(v) for k, v in counts.items()} == cref["counts"]
            assert int(s.isna().sum()) == cref["n_na"]
            assert s.iloc[0] == cref["first"]
            assert s.iloc[-1] == cref["last"]
        elif cls == "numeric":
            assert s.dtype == np.float64
            vals = s.to_numpy()
            assert math.isclose(np.nansum(vals), cref["sum"], rel_tol=1e-12, abs_tol=1e-12)
            assert math.isclose(np.nansum(vals**2), cref["sumsq"], rel_tol=1e-12, abs_tol=1e-12)
            rows = np.arange(1, len(vals) + 1, dtype=np.float64)
            assert math.isclose(np.nansum(vals * rows), cref["wsum"], rel_tol=1e-12, abs_tol=1e-12)
            assert int(np.isnan(vals).sum()) == cref["n_na"]
            assert vals[0] == cref["first"]  # exact: 17 significant digits round-trip
            assert vals[-1] == cref["last"]
        elif cls == "integer":
            assert s.dtype == (np.int64 if cref["n_na"] == 0 else pd.Int64Dtype())
            assert int(s.sum()) == cref["sum"]
            rows = np.arange(1, len(s) + 1, dtype=np.int64)
            assert int(np.sum(s.to_numpy(dtype=np.int64) * rows)) == cref["wsum"]
            assert int(s.iloc[0]) == cref["first"]
            assert int(s.iloc[-1]) == cref["last"]
        else:  # pragma: no cover - no such columns in the bundled sets yet
            pytest.fail(f"unexpected class {cls}")


def test_specific_values_and_levels() -> None:
    ss = datasets.load("sleepstudy")
    assert math.isclose(ss["Reaction"].sum(), REF["sleepstudy"]["columns"]["Reaction"]["sum"],
                        rel_tol=1e-12)
    assert list(ss["Subject"].cat.categories[:3]) == ["308", "309", "310"]
    cake = datasets.load("cake")
    assert cake["temperature"].cat.ordered
    assert list(cake["temperature"].cat.categories) == ["175", "185", "195", "205", "215", "225"]
    orth = datasets.load("Orthodont")
    assert orth["Subject"].cat.ordered
    # nlme orders Orthodont's Subject levels by the within-subject maximum distance
    assert list(orth["Subject"].cat.categories) == REF["Orthodont"]["columns"]["Subject"]["levels"]
    assert list(orth["Sex"].cat.categories) == ["Male", "Female"]
    ins = datasets.load("InstEval")
    assert ins["studage"].cat.ordered and ins["lectage"].cat.ordered
    assert not ins["service"].cat.ordered


def test_fresh_copy_each_call() -> None:
    a = datasets.load("Dyestuff")
    a.loc[0, "Yield"] = -1.0
    b = datasets.load("Dyestuff")
    assert b.loc[0, "Yield"] == REF["Dyestuff"]["columns"]["Yield"]["first"]


def test_unknown_name_lists_close_names() -> None:
    with pytest.raises(KeyError) as exc:
        datasets.load("sleepstudyy")
    assert "Did you mean 'sleepstudy'?" in str(exc.value)
    with pytest.raises(KeyError, match="Available: sleepstudy"):
        datasets.load("nope")
