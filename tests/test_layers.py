"""lmepy's layers (DESIGN.md, "The pipeline"): every import between lmepy's modules, lazy
ones inside functions included, points down the pipeline, never back, and no two modules
import each other through any chain. Also: no module is longer than 800 lines.

The import graph is read from the source (the AST of every module), not from an import run,
so an import inside a function that no test calls is checked as well.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import lmepy
import lmepy.grammar

PACKAGE = Path(lmepy.__file__).resolve().parent
ROOT = Path(__file__).resolve().parent.parent

# The pipeline, bottom first. A module may import modules of its own top-level folder and of
# folders in lower tiers; folders in one tier do not import each other. The bottom tiers are
# the utilities every stage stands on (errors; argument checks, R's call names, R's text,
# the compiled kernels, the datasets, the grammar); then DESIGN.md's stages in order
# (formula, then refit: the call record behind update(), which stands on the formula
# algebra alone; -> design -> covariance -> fit -> results, with inference between the fit and the
# fit objects that call it); nlme's gls and lme (fit and fit objects of their own, built on
# all of that; lme uses gls's solver); and at the top the public API, the package's
# namespace, the command line built on it and `python -m lmepy`.
TIERS: list[set[str]] = [
    {"errors"},
    {"args", "callnames", "rtext", "kernels", "datasets", "grammar"},
    {"formula"},
    {"refit"},
    {"design"},
    {"covariance"},
    {"fit"},
    {"inference"},
    {"lm"},
    {"results"},
    {"gls"},
    {"lme"},
    {"postfit"},
    {"api"},
    {"<lmepy>"},
    {"cli"},
    {"__main__"},
]
TIER = {name: k for k, names in enumerate(TIERS) for name in names}

# Imports that go against the pipeline today, each owned by an open change. The lead removes
# an entry when its change lands; the test fails on any other.
KNOWN_UPWARD: set[tuple[str, str]] = set()

MAX_LINES = 800
# Modules being split by other changes of issue 11; the lead removes them when the splits land.
KNOWN_LONG: set[str] = set()


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every Python module of the package: dotted name -> (file, is a package __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["lmepy", *path.relative_to(PACKAGE).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    # the grammar's loader: lmepy/grammar/ when installed, grammar/ at the root in a checkout
    spec = importlib.util.find_spec("lmepy.grammar")
    if "lmepy.grammar" not in out and spec is not None and spec.origin:
        out["lmepy.grammar"] = (Path(spec.origin), True)
    return out


MODULES = _modules()


def _known(name: str) -> str:
    """The module a dotted import name lands in: the longest prefix that is a module."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str) -> set[str]:
    """The lmepy modules `module` imports anywhere in its source: top-level, in functions,
    `import lmepy.x`, `from lmepy.x import y`, `from . import y` and `from ..x import y`
    (a name imported from a package counts as its submodule when it is one)."""
    path, is_pkg = MODULES[module]
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {_known(a.name) for a in node.names if a.name.split(".")[0] == "lmepy"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                source = ".".join(anchor + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "lmepy":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else _known(source))
    found.discard(module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def folder(module: str) -> str:
    """The top-level folder (or module) of lmepy that `module` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<lmepy>"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_graph_is_read() -> None:
    """The walker sees the imports it must see (guards against a walker that finds none):
    a plain, a lazy, a relative and a `from lmepy import module` import."""
    assert "lmepy.errors" in GRAPH["lmepy.formula.parser"]
    assert "lmepy.inference.tables" in GRAPH["lmepy.results.lmer"]  # inside a function
    assert "lmepy.design.evaluate" in GRAPH["lmepy.design.compile"]  # from .evaluate import
    assert "lmepy.rtext" in GRAPH["lmepy.results.lme4print"]  # from lmepy import rtext
    assert "lmepy.grammar" in GRAPH["lmepy.formula.parser"]  # import lmepy.grammar as grammar
    assert len(MODULES) > 70


def test_cycle_finder_finds_cycles() -> None:
    """The cycle finder itself, on a graph with a known knot."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    """No module reaches itself through lmepy's imports, lazy ones included."""
    assert cycles(GRAPH) == []


def test_every_folder_has_a_place_in_the_pipeline() -> None:
    """A new top-level folder or module has to be placed in TIERS (and so in DESIGN.md's
    pipeline) before it can be imported by anything."""
    assert sorted({folder(m) for m in MODULES} - set(TIER)) == []


def test_imports_point_down_the_pipeline() -> None:
    """formula never imports design/fit/results, design never imports fit/results, fit never
    imports inference/results, ...: every import stays in its folder or goes down a tier."""
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        for target in sorted(targets):
            a, b = folder(module), folder(target)
            if a == b or (module, target) in KNOWN_UPWARD:
                continue
            if TIER.get(b, len(TIERS)) >= TIER.get(a, -1):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_known_exceptions_are_still_real() -> None:
    """An exception that no longer happens is removed from the list, so it cannot hide a new
    one."""
    stale = [f"{a} -> {b}" for a, b in KNOWN_UPWARD if b not in GRAPH.get(a, set())]
    assert stale == []


def _lengths() -> dict[str, int]:
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyx"), *PACKAGE.rglob("*.pxd")]
    return {p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
            for p in files}


def test_no_module_over_800_lines() -> None:
    """A module that does one job fits in 800 lines (issue 11)."""
    lengths = _lengths()
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in KNOWN_LONG}
    assert long == {}
    # an exception is dropped once its module is short (or gone)
    assert sorted(n for n in KNOWN_LONG if lengths.get(n, 0) <= MAX_LINES) == []


def test_grammar_at_the_repository_root() -> None:
    """DESIGN.md: the grammar is a top-level folder of the repository (beside lmepy/ and
    tests/), installed into the package as lmepy.grammar; the installed copy is that file."""
    source = ROOT / "grammar" / "formula.lark"
    assert source.is_file()
    assert not (ROOT / "lmepy" / "grammar").exists()
    assert lmepy.grammar.read("formula.lark") == source.read_text(encoding="utf-8")
    assert "?start: expr" in lmepy.grammar.read()
