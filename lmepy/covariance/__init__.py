"""covariance stage: nlme's correlation structures and variance functions.

Constructors are named as nlme's (`lmepy.corAR1(form="~ 1 | Mare")`); each also accepts the R
text of the call through `from_spec("corAR1(form = ~ 1 | Mare)")`, or a parsed spec from
lmepy.formula (anything whose str() is the R call).
"""

from __future__ import annotations

from lmepy.covariance._spec import Form, parse_form
from lmepy.covariance.corstruct import (
    CorStruct,
    arma_acf,
    corAR1,
    corARMA,
    corCAR1,
    corCompSymm,
    corSymm,
)
from lmepy.covariance.varfunc import (
    VarFunc,
    varConstPower,
    varExp,
    varFixed,
    varIdent,
    varPower,
)
from lmepy.errors import FormulaError

__all__ = [
    "CorStruct", "Form", "VarFunc", "arma_acf", "corAR1", "corARMA", "corCAR1", "corCompSymm",
    "corSymm", "from_spec", "parse_form", "varConstPower", "varExp", "varFixed", "varIdent",
    "varPower",
]

# nlme's argument order for positional arguments.
_SIGNATURES: dict[str, tuple[type, tuple[str, ...]]] = {
    "corAR1": (corAR1, ("value", "form", "fixed")),
    "corCAR1": (corCAR1, ("value", "form", "fixed")),
    "corARMA": (corARMA, ("value", "form", "p", "q", "fixed")),
    "corCompSymm": (corCompSymm, ("value", "form", "fixed")),
    "corSymm": (corSymm, ("value", "form", "fixed")),
    "varIdent": (varIdent, ("value", "form", "fixed")),
    "varPower": (varPower, ("value", "form", "fixed")),
    "varExp": (varExp, ("value", "form", "fixed")),
    "varConstPower": (varConstPower, ("const", "power", "form", "fixed")),
    "varFixed": (varFixed, ("value",)),
}


def _build(name: str, args: list[object], kwargs: dict[str, object], text: str) -> object:
    if name not in _SIGNATURES:
        raise FormulaError(f"unknown correlation or variance structure '{name}'", text, 0,
                           len(name))
    cls, params = _SIGNATURES[name]
    if len(args) > len(params):
        raise FormulaError(f"too many arguments to {name}()", text, 0, len(name))
    kw = dict(zip(params, args, strict=False))
    for k, v in kwargs.items():
        if k not in params:
            raise FormulaError(f"unused argument ({k}) in {name}()", text,
                               max(text.find(k), 0), len(k))
        kw[k] = v
    if "p" in kw:
        kw["p"] = int(kw["p"])  # type: ignore[call-overload]
    if "q" in kw:
        kw["q"] = int(kw["q"])  # type: ignore[call-overload]
    if name == "varConstPower":
        for k in ("const", "power"):
            v = kw.get(k)
            if isinstance(v, list):
                kw[k] = v[0] if v else (1.0 if k == "const" else 0.0)
        kw.setdefault("const", 1.0)
        kw.setdefault("power", 0.0)
    return cls(**kw)


def _from_parsed(spec: object) -> CorStruct | VarFunc:
    """From lmepy.formula.nlme's CorSpec / VarSpec."""
    kind = str(spec.kind)  # type: ignore[attr-defined]
    form = spec.form  # type: ignore[attr-defined]
    form_text = None if form is None else str(form)
    value = tuple(getattr(spec, "value", ()))
    if kind.startswith("cor"):
        kw: dict[str, object] = {"value": list(value) or None, "form": form_text or "~1",
                                 "fixed": bool(getattr(spec, "fixed", False))}
        if kind == "corARMA":
            kw["p"], kw["q"] = int(spec.p), int(spec.q)  # type: ignore[attr-defined]
        return _SIGNATURES[kind][0](**kw)
    pairs = tuple(getattr(spec, "fixed", ()))
    fixed: object = None
    if pairs:
        fixed = dict(pairs) if all(k for k, _ in pairs) else [v for _, v in pairs]
    names = tuple(getattr(spec, "names", ()))
    if kind == "varFixed":
        return varFixed(form_text)
    if kind == "varConstPower":
        d = dict(zip(names, value, strict=True))
        return varConstPower(d.get("const", 1.0), d.get("power", 0.0), form=form_text,
                             fixed=fixed)
    v: object = None
    if value:
        v = dict(zip(names, value, strict=True)) if names and all(names) else list(value)
    return _SIGNATURES[kind][0](value=v, form=form_text, fixed=fixed)


def _from_any(spec: object) -> CorStruct | VarFunc:
    if isinstance(spec, CorStruct | VarFunc):
        return spec
    if isinstance(spec, dict):
        d = dict(spec)
        name = str(d.pop("name"))
        return _build(name, list(d.pop("args", [])), d, name)  # type: ignore[return-value]
    if hasattr(spec, "kind") and hasattr(spec, "form"):
        return _from_parsed(spec)
    # R text goes through the formula stage's grammar (R's argument matching, nlme's messages)
    from lmepy.formula.nlme import parse_cor, parse_var

    text = str(spec).strip()
    if text.startswith("var"):
        return _from_parsed(parse_var(text))
    return _from_parsed(parse_cor(text))


def from_spec(spec: object) -> CorStruct | VarFunc:
    """A structure from its R text ("varIdent(form = ~ 1 | Sex)"), a parsed spec or a dict
    {"name": "corAR1", "value": 0.3, "form": "~ 1 | g"}."""
    return _from_any(spec)
