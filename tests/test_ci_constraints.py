"""The lowest-version constraints CI installs (.ci/lowest_constraints.py): every dependency
declares a '>=' lower bound, and the pins are exactly those bounds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
ROOT = Path(__file__).resolve().parent.parent


def _module():
    spec = importlib.util.spec_from_file_location("lowest_constraints",
                                                  ROOT / ".ci" / "lowest_constraints.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pins_are_the_declared_lower_bounds(capsys) -> None:
    mod = _module()
    assert mod.main(["--extra", "test"]) == 0
    pins = capsys.readouterr().out.splitlines()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    assert len(pins) == len(reqs)
    for req, pin in zip(reqs, pins, strict=True):
        name, low = req.split(">=")
        assert pin == f"{name}=={low}"
    assert "numpy==1.26" in pins and "scipy==1.11.1" in pins and "nlopt==2.7.1" in pins


@pytest.mark.parametrize("req, pin", [("numpy>=1.26", "numpy==1.26"),
                                      ("a_b[x]>=2.0,<3", "a_b==2.0"),
                                      ("c >= 1.1 ; python_version < '3.12'",
                                       "c==1.1 ; python_version < '3.12'")])
def test_lowest_pin(req: str, pin: str) -> None:
    assert _module().lowest_pin(req) == pin


@pytest.mark.parametrize("req", ["numpy", "numpy<2", "numpy==1.26", "x>=1,>=2"])
def test_a_requirement_without_one_lower_bound_is_an_error(req: str) -> None:
    with pytest.raises(ValueError, match="needs exactly one '>=' lower bound"):
        _module().lowest_pin(req)


def test_an_unknown_extra_is_an_error() -> None:
    with pytest.raises(SystemExit, match="no optional-dependencies group 'nope'"):
        _module().main(["--extra", "nope"])
