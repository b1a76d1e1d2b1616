"""Which lmepy the tests import.

In a checkout with compiled kernels (`pip install -e .`) that is the source tree. In an
unpacked sdist the source tree has no compiled kernels: `pytest` imports the installed lmepy
anyway, but `python -m pytest` puts the current directory first on sys.path and would import
the uncompiled tree, as would `python -m lmepy` started by a test from this directory. Then the
tree is taken off sys.path (and PYTHONSAFEPATH set for child processes) so the installed lmepy
is tested, or, with none installed, the run stops with what to do instead of an ImportError in
every module.
The fixtures are found next to the test files (tests/reference), wherever lmepy comes from.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _compiled(package_dir: Path) -> bool:
    """True when package_dir/kernels holds a compiled extension for this interpreter."""
    kernels = package_dir / "kernels"
    return any(any(kernels.glob(f"*{suffix}")) for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _is_root(entry: str) -> bool:
    try:
        return Path(entry or ".").resolve() == ROOT
    except OSError:
        return False


def _use_built_lmepy() -> str | None:
    """Keeps an uncompiled source tree from being imported, here and in the Python processes
    tests start from this directory (`python -m lmepy`); the reason to stop, if no other
    lmepy is left to import."""
    tree = ROOT / "lmepy"
    if "lmepy" in sys.modules or not (tree / "__init__.py").is_file() or _compiled(tree):
        return None
    os.environ["PYTHONSAFEPATH"] = "1"  # Python >= 3.11: children do not put the cwd first
    sys.path[:] = [p for p in sys.path if not _is_root(p)]
    importlib.invalidate_caches()
    if importlib.util.find_spec("lmepy") is None:
        return (
            f"lmepy's kernels are not compiled in {tree} and no lmepy is installed: "
            "`pip install .` (or `pip install -e .`) first"
        )
    return None


_PROBLEM = _use_built_lmepy()


def pytest_configure(config: pytest.Config) -> None:
    """Stops before collection, with one line, when there is no lmepy to test."""
    if _PROBLEM:
        raise pytest.UsageError(_PROBLEM)


def pytest_report_header(config: pytest.Config) -> str:
    """Says which lmepy is under test (the source tree or an installed copy)."""
    import lmepy

    return f"lmepy from {Path(lmepy.__file__).parent}"


# ---- fitted models shared by test files (tests/fitted_models.py), once per session ----------
# (imported inside the fixtures: lmepy must not be imported before _use_built_lmepy has run)


@pytest.fixture(scope="session")
def fm1():  # noqa: ANN201 - an LmerMod
    """lme4's fm1: lmer(Reaction ~ Days + (Days | Subject), sleepstudy), REML."""
    from fitted_models import fitted

    return fitted("fm1")


@pytest.fixture(scope="session")
def fm0():  # noqa: ANN201 - an LmerMod
    """lmer(Reaction ~ 1 + (Days | Subject), sleepstudy), REML: fm1 without Days."""
    from fitted_models import fitted

    return fitted("fm0")


@pytest.fixture(scope="session")
def gm1():  # noqa: ANN201 - a GlmerMod
    """lme4's gm1: glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
    binomial)."""
    from fitted_models import fitted

    return fitted("gm1")
