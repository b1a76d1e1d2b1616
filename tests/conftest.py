"""Which lmepy the tests import.

In a checkout with compiled kernels (`pip install -e .`) that is the source tree. In an
unpacked sdist the source tree has no compiled kernels: `pytest` imports the installed lmepy
anyway, but `python -m pytest` puts the current directory first on sys.path and would import
the uncompiled tree. Then the tree is taken off sys.path so the installed lmepy is tested, or,
with none installed, the run stops with what to do instead of an ImportError in every module.
The fixtures are found next to the test files (tests/reference), wherever lmepy comes from.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
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
    """Takes an uncompiled source tree off sys.path; the reason to stop, if nothing is left."""
    if "lmepy" in sys.modules or not (ROOT / "lmepy" / "__init__.py").is_file():
        return None
    spec = importlib.util.find_spec("lmepy")
    origin = Path(spec.origin).resolve().parent if spec and spec.origin else None
    if origin != ROOT / "lmepy" or _compiled(origin):
        return None
    sys.path[:] = [p for p in sys.path if not _is_root(p)]
    importlib.invalidate_caches()
    if importlib.util.find_spec("lmepy") is None:
        return (
            f"lmepy's kernels are not compiled in {ROOT / 'lmepy'} and no lmepy is installed: "
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
