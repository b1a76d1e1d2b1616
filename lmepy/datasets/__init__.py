"""Offline copies of R's example data (lme4, nlme, mlmRev), so examples and tests need no R.

The files under ``data/`` are written by ``tests/reference/datasets.R``: one gzipped CSV per data
set (numbers with 17 significant digits, so they round-trip exactly) and ``metadata.json``
giving each column's R class and, for factors, R's levels in R's order.
"""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from lmepy.errors import close_matches

__all__ = ["UnknownDatasetError", "load", "names"]


class UnknownDatasetError(KeyError):
    """A data set name lmepy does not bundle; the message lists close names."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@lru_cache(maxsize=1)
def _metadata() -> dict[str, Any]:
    text = resources.files(__name__).joinpath("data", "metadata.json").read_text("utf-8")
    return json.loads(text)


def names() -> list[str]:
    """Names of the bundled data sets, in the order R's packages are listed in metadata."""
    return list(_metadata())


def _read_rows(name: str) -> tuple[list[str], list[list[str | None]]]:
    """Read the CSV keeping R's distinction between a quoted label and the bare NA token."""
    raw = resources.files(__name__).joinpath("data", f"{name}.csv.gz").read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    rows: list[list[str | None]] = []
    # QUOTE_NONNUMERIC is not usable (labels like "1" must stay text); parse with a reader that
    # reports quoting: a field is missing exactly when it is the bare token NA.
    for line, fields in zip(lines[1:], csv.reader(lines[1:]), strict=True):
        if "NA" in fields:
            bare = _bare_fields(line)
            fields = [None if (f == "NA" and b) else f for f, b in zip(fields, bare, strict=True)]
        rows.append(fields)
    return header, rows


def _bare_fields(line: str) -> list[bool]:
    """For each comma-separated field of ``line``, whether it was written without quotes."""
    out: list[bool] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            i += 1
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        i += 2
                        continue
                    i += 1
                    break
                i += 1
            out.append(False)
        else:
            while i < n and line[i] != ",":
                i += 1
            out.append(True)
        if i >= n:
            return out
        i += 1  # the comma


def _column(values: list[str | None], spec: dict[str, Any]) -> Any:
    cls = spec["class"]
    has_na = any(v is None for v in values)
    if cls == "numeric":
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if cls == "integer":
        if has_na:
            return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        return np.array([int(v) for v in values], dtype=np.int64)  # type: ignore[arg-type]
    if cls == "logical":
        vals = [None if v is None else v == "TRUE" for v in values]
        if has_na:
            return pd.array(vals, dtype="boolean")
        return np.array(vals, dtype=bool)
    if cls in ("factor", "ordered"):
        levels = list(spec["levels"] or [])
        return pd.Categorical(values, categories=levels, ordered=cls == "ordered")
    if cls == "character":
        return pd.array(values, dtype=object)
    raise ValueError(f"unsupported column class {cls!r} in the bundled metadata")


def load(name: str) -> pd.DataFrame:
    """A fresh copy of R's data set ``name`` as a DataFrame.

    Factors become ``pd.Categorical`` with R's levels in R's order (``ordered=True`` for R's
    ordered factors), integers int64 (``Int64`` when NA is present), numerics float64 and
    logicals bool (``boolean`` when NA is present); column names are exactly R's.
    """
    meta = _metadata()
    if name not in meta:
        raise UnknownDatasetError(
            f"no bundled data set named {name!r}." + close_matches(name, meta)
            + " Available: " + ", ".join(meta) + "."
        )
    return _load_cached(name).copy(deep=True)


@cache
def _load_cached(name: str) -> pd.DataFrame:
    spec = _metadata()[name]
    header, rows = _read_rows(name)
    cols = [c["name"] for c in spec["columns"]]
    if header != cols or len(rows) != spec["nrow"]:
        raise ValueError(f"bundled data file for {name!r} does not match its metadata")
    data = {}
    for j, colspec in enumerate(spec["columns"]):
        data[colspec["name"]] = _column([r[j] for r in rows], colspec)
    return pd.DataFrame(data, columns=cols)
