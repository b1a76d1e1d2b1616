"""Pins every dependency of lmepy to the lowest version pyproject.toml declares.

    python .ci/lowest_constraints.py [--extra test ...] > lowest.txt
    pip install -c lowest.txt -e ".[test]"

Each requirement `name>=X` of [project].dependencies (and of the named optional extras)
becomes `name==X`, so CI installs exactly the oldest releases the bounds promise to support
and a bound that has gone stale shows up in CI rather than on a user's machine. A
requirement without a `>=` lower bound is an error: every dependency must state one.
Markers (`; python_version < ...`) are carried over unchanged. Only the standard library is
used (tomllib, Python >= 3.11; CI runs this with the interpreter that makes the venvs).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def lowest_pin(req: str) -> str:
    """`numpy>=1.26` -> `numpy==1.26`; `x>=1,<3; python_version<'3.12'` keeps its marker."""
    m = _REQ.match(req)
    if not m:
        raise ValueError(f"cannot read the requirement {req!r}")
    name, _extras, spec, marker = m.groups()
    lows = [s.strip()[2:].strip() for s in spec.split(",") if s.strip().startswith(">=")]
    if len(lows) != 1:
        raise ValueError(f"requirement {req!r} needs exactly one '>=' lower bound")
    return f"{name}=={lows[0]}" + (f" {marker}" if marker else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pyproject", default=Path(__file__).resolve().parent.parent
                    / "pyproject.toml", type=Path)
    ap.add_argument("--extra", action="append", default=[],
                    help="an optional-dependencies group to pin too (repeatable)")
    args = ap.parse_args(argv)
    project = tomllib.loads(args.pyproject.read_text())["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in args.extra:
        if extra not in optional:
            raise SystemExit(f"no optional-dependencies group {extra!r} in {args.pyproject}")
        reqs += optional[extra]
    pins: dict[str, str] = {}
    for r in reqs:
        pin = lowest_pin(r)
        key = re.split(r"[=\s]", pin, maxsplit=1)[0].lower().replace("_", "-")
        if key in pins and pins[key] != pin:
            raise SystemExit(f"{key} is declared twice with different lower bounds")
        pins[key] = pin
    sys.stdout.write("".join(p + "\n" for p in pins.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
