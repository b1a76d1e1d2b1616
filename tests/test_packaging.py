"""Packaging rules that are cheap to check on every run (the sdist and wheel themselves are
built and inspected by .ci/check_dist.sh): setup.py refuses a tree without its Cython kernels,
and the license metadata is in the SPDX form with the LICENSE file it names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _root_file(name: str) -> Path:
    path = ROOT / name
    if not path.is_file():
        pytest.skip(f"{name} is not here: the tests run outside a checkout or sdist")
    return path


def test_setup_py_fails_loudly_without_pyx_sources(tmp_path):
    """An sdist that lost the .pyx kernels once installed an lmepy that could not be
    imported; setup.py now stops, naming what is missing, before it imports anything."""
    shutil.copy(_root_file("setup.py"), tmp_path / "setup.py")
    (tmp_path / "lmepy" / "kernels").mkdir(parents=True)
    (tmp_path / "lmepy" / "kernels" / "__init__.py").write_text("")
    run = subprocess.run([sys.executable, "setup.py", "build_ext"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "no Cython sources lmepy/kernels/*.pyx" in run.stderr
    assert "would install an lmepy that cannot be imported" in run.stderr


def test_license_metadata_is_spdx():
    text = _root_file("pyproject.toml").read_text()
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert re.search(r'^license-files = \["LICENSE"\]$', text, re.M)
    # the SPDX string needs setuptools >= 77 (older ones reject it or warn about the table form)
    requires = re.search(r"^requires = \[(.*)\]$", text, re.M).group(1)
    assert '"setuptools>=77"' in requires
    lic = _root_file("LICENSE").read_text()
    assert lic.startswith("MIT License\n\nCopyright (c) 2026 the lmepy developers\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in lic
