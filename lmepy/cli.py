"""`lmepy fit`: fit a model from the shell and print lme4's summary (the README's main job)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

DEFAULT_FORMULA = "Reaction ~ Days + (Days | Subject)"
DEFAULT_DATA = "sleepstudy"


def _load(spec: str) -> pd.DataFrame:
    """A bundled dataset by name, or a CSV file by path (strings become factors as in R)."""
    from lmepy import datasets

    if spec in datasets.names():
        return datasets.load(spec)
    path = Path(spec)
    if path.exists():
        return pd.read_csv(path)
    raise SystemExit(
        f"lmepy fit: no bundled dataset or file named {spec!r}; "
        f"bundled datasets: {', '.join(datasets.names())}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmepy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a linear mixed model and print its summary")
    fit.add_argument("formula", nargs="?", default=None,
                     help=f"an lme4 formula (default: {DEFAULT_FORMULA!r} on sleepstudy)")
    fit.add_argument("--data", default=None, help="a bundled dataset name or a CSV path")
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    args = parser.parse_args(argv)

    from lmepy.api import lmer
    from lmepy.errors import LmepyError

    formula = args.formula or DEFAULT_FORMULA
    data_spec = args.data or DEFAULT_DATA
    if args.formula and not args.data:
        parser.error("a formula needs --data NAME_OR_CSV")
    data = _load(data_spec)
    name = Path(data_spec).stem if data_spec.endswith(".csv") else data_spec
    try:
        model = lmer(formula, data=data, REML=not args.ml, data_name=name)
    except LmepyError as err:
        print(f"lmepy fit: {err}", file=sys.stderr)
        return 2
    try:
        print(model.summary())
    except BrokenPipeError:  # `lmepy fit | head`: the reader has what it wanted
        sys.stdout = None  # type: ignore[assignment]  # no flush of a closed pipe at exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
