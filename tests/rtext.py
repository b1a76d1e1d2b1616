"""Comparing our printed output with R's when the numbers come from our own fit.

Formatting is tested exactly elsewhere, by feeding R's own numbers to the printers. An
end-to-end fit agrees with lme4/nlme at the issue's stated tolerances (1e-5 .. 1e-4
relative), and where a printed number sits on a rounding edge that agreement can flip its
last digit. So here every line must equal R's, except that a numeric token may differ from
R's by at most one unit in its last printed place; the words, layout, widths and every other
digit must match.
"""

from __future__ import annotations

import re


def lines(text: str) -> list[str]:
    """Printed text as capture.output() lines: split at newlines, the final one dropped,
    trailing spaces removed."""
    if text.endswith("\n"):
        text = text[:-1]
    return [s.rstrip() for s in text.split("\n")]


def rlines(seq: list[str]) -> list[str]:
    """R's captured lines with trailing spaces removed."""
    return [s.rstrip() for s in seq]


_TOKEN = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?|\S")


def _unit(tok: str) -> float:
    mant, _, exp = tok.partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** (-decimals) * (10.0 ** int(exp) if exp else 1.0)


def last_digit_diffs(ours: list[str], theirs: list[str], rtol: float = 0.0
                     ) -> list[tuple[int, str, str]]:
    """Asserts the two texts agree but for last-digit rounding; returns those differences.
    rtol > 0 also lets a number differ by that fraction of R's value: for numbers printed to
    more significant digits than the fit's stated tolerance determines them (a t value
    96.108 to 5 digits from a standard error known to 1e-4)."""
    assert len(ours) == len(theirs), (ours, theirs)
    diffs = []
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if a == b:
            continue
        assert len(a) == len(b), f"line {i}: {a!r} != {b!r}"
        ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
        assert len(ta) == len(tb), f"line {i}: {a!r} != {b!r}"
        for x, y in zip(ta, tb, strict=True):
            if x == y:
                continue
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                raise AssertionError(f"line {i}: {a!r} != {b!r}") from None
            unit = _unit(y)
            assert _unit(x) == unit and abs(fx - fy) <= unit * 1.000001 + rtol * abs(fy), \
                f"line {i}: {x} vs R's {y} is more than a last-digit rounding: {a!r} != {b!r}"
            diffs.append((i, x, y))
    return diffs
