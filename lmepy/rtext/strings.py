"""R's character-vector helpers for printed text: ``format()`` of strings (padding and
justification), ``abbreviate()`` (the names in nlme's and lme4's correlation tables) and
``make.unique()`` (lme4's ``Subject.1``, read.csv's repeated headers)."""

from __future__ import annotations

from collections.abc import Sequence


def format_str(x: Sequence[str], justify: str = "left", width: int = 0) -> list[str]:
    """R's ``format()`` of a character vector: pad to a common width."""
    w = max([len(s) for s in x] + [width])
    if justify == "left":
        return [s.ljust(w) for s in x]
    if justify == "right":
        return [s.rjust(w) for s in x]
    if justify == "centre":
        return [_centre(s, w) for s in x]
    return list(x)


def _centre(s: str, w: int) -> str:
    pad = w - len(s)
    left = pad // 2
    return " " * left + s + " " * (pad - left)


# ---------------------------------------------------------------------------------------------
# abbreviate()


def _abbrev1(s: str, minlen: int) -> str:
    """One string through R's abbreviation passes (ASCII rules of ``abbreviate``)."""
    if len(s) <= minlen:
        return s
    b = list(s)
    nspace = 0

    def is_space(c: str) -> bool:
        return c in " \t\n\r\f\v"

    def first_char(i: int) -> bool:  # previous char is a space: i starts a word
        return is_space(b[i - 1])

    def last_char(i: int) -> bool:  # i ends a word
        return (not is_space(b[i - 1])) and (i + 1 >= len(b) or is_space(b[i + 1]))

    def done() -> bool:
        return len(b) - nspace <= minlen

    def finish() -> str:
        if len(b) > minlen:
            for i in range(len(b) - 1, 0, -1):
                if i < len(b) and is_space(b[i]):
                    del b[i]
        return "".join(b)

    trailing = True
    for i in range(len(b) - 1, 0, -1):
        if is_space(b[i]):
            if trailing:
                del b[i:]
            else:
                nspace += 1
        else:
            trailing = False
        if done():
            return finish()

    vowels = set("aeiou")
    passes = [
        lambda i: b[i] in vowels and last_char(i),
        lambda i: b[i] in vowels and not first_char(i),
        lambda i: b[i].islower() and b[i].isascii() and last_char(i),
        lambda i: b[i].islower() and b[i].isascii() and not first_char(i),
        lambda i: not first_char(i) and not is_space(b[i]),
    ]
    for test in passes:
        for i in range(len(b) - 1, 0, -1):
            if i < len(b) and test(i):
                del b[i]
            if done():
                return finish()
    return finish()


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's ``abbreviate(names, minlength)`` (method "left.kept", use.classes = TRUE):
    lengthens the abbreviation of duplicates until all are unique."""
    if minlength <= 0:
        return [""] * len(names)
    old = [n.strip(" ") for n in names]
    uniq: list[str] = []
    for n in old:
        if n not in uniq:
            uniq.append(n)
    x = list(uniq)
    dup2 = [True] * len(uniq)
    ml = minlength
    while True:
        for i, d in enumerate(dup2):
            if d:
                x[i] = _abbrev1(uniq[i], ml)
        seen: set[str] = set()
        dup = []
        for v in x:
            dup.append(v in seen)
            seen.add(v)
        if not any(dup):
            break
        ml += 1
        dupvals = {x[i] for i, d in enumerate(dup) if d}
        dup2 = [d or (x[i] in dupvals) for i, d in enumerate(dup)]
    lookup = dict(zip(uniq, x, strict=True))
    return [lookup[n] for n in old]


def make_unique(names: Sequence[str]) -> list[str]:
    """R's ``make.unique``: repeated names get ``.1``, ``.2``, ..."""
    seen: dict[str, int] = {}
    used = set(names)
    out = []
    for n in names:
        if n not in seen:
            seen[n] = 0
            out.append(n)
            continue
        k = seen[n]
        while True:
            k += 1
            cand = f"{n}.{k}"
            if cand not in used:
                break
        seen[n] = k
        used.add(cand)
        out.append(cand)
    return out
