"""The languages lmepy reads, as Lark grammars: ``formula.lark`` is R's expression syntax as
model formulas use it (lme4's ``(x | g)``, ``||``, nlme's ``pdDiag(~ x)``,
``corAR1(form = ~ t | g)``, ``varIdent(form = ~ 1 | g)``).

This folder sits at the repository root, beside ``lmepy/``, so the language's specification
reads on its own; it is installed as the package ``lmepy.grammar`` (pyproject.toml maps the
package to this folder), so an installed lmepy finds its grammar wherever it runs.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["read"]


def read(name: str = "formula.lark") -> str:
    """The text of the grammar file `name` (package data of lmepy.grammar)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
