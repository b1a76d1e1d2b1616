"""Reading the R reference fixtures (tests/reference/*.json) back into Python objects."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

REFDIR = Path(__file__).parent / "reference"


@cache
def reference(name: str) -> dict:
    """tests/reference/<name>.json, parsed once per test session."""
    return json.loads((REFDIR / f"{name}.json").read_text())


def floats(values: list) -> np.ndarray:
    """A JSON array with nulls (R's NA) as a float array with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def frame_from_spec(spec: dict) -> pd.DataFrame:
    """A data frame stored by design.R ({columns, data: {col: {type, ...}}}) with R's types:
    factors as Categoricals with R's levels and orderedness, characters as objects."""
    cols: dict[str, object] = {}
    for col in spec["columns"]:
        c = spec["data"][col]
        if c["type"] == "factor":
            cols[col] = pd.Categorical.from_codes(c["codes"], c["levels"], ordered=c["ordered"])
        elif c["type"] == "logical":
            cols[col] = np.array(c["values"], dtype=bool)
        elif c["type"] == "character":
            cols[col] = pd.Series(c["values"], dtype=object)
        else:
            cols[col] = floats(c["values"])
    return pd.DataFrame(cols)
