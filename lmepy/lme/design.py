"""The lme design: X and y from the fixed formula, one random-effects level per nlme grouping
(outermost first) with its grouping codes, model rows and pdMat, and the bound correlation and
variance structures. Rows stay in the caller's order: nlme's reordering by groups only matters
for the position of a row within its group, and a stable grouping gives the same positions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lmepy.covariance import CorStruct, VarFunc, from_spec
from lmepy.covariance._spec import group_codes
from lmepy.design.compile import as_model_terms, model_matrix
from lmepy.design.evaluate import Evaluator, check_data_frame
from lmepy.design.frame import check_finite
from lmepy.design.values import level_label
from lmepy.errors import DataError, FormulaError, warn
from lmepy.formula import parse_formula
from lmepy.formula.nlme import PdSpec, parse_random
from lmepy.lme.pd import PdStruct


@dataclass(eq=False)
class Level:
    """One nlme grouping level: ``name`` as nlme prints it ("Side"), the grouping variables
    down to this level, codes per row, labels ("1/L"), the pdMat and its model rows."""

    name: str
    groups: tuple[str, ...]
    codes: np.ndarray
    labels: list[str]
    pd: PdStruct
    rows: np.ndarray

    @property
    def nlevels(self) -> int:
        return len(self.labels)


@dataclass(eq=False)
class LmeDesign:
    fixed_text: str
    response: str
    X: np.ndarray
    xnames: list[str]
    assign: list[int]
    term_labels: list[str]
    intercept: bool
    y: np.ndarray
    levels: list[Level]  # outermost first
    cor: CorStruct | None
    var: VarFunc | None
    cor_spec: object = None
    var_spec: object = None
    data: pd.DataFrame | None = field(default=None, repr=False)
    data_name: str = "data"

    @property
    def N(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]


@dataclass(frozen=True)
class _FixedCols:
    """The fixed-effects model matrix, to reuse its numeric columns as random-effects rows."""

    X: np.ndarray
    names: list[str]
    assign: list[int]
    labels: tuple[str, ...]
    intercept: bool


def _rows_from_fixed(terms: Any, fx: _FixedCols | None) -> tuple[list[str], np.ndarray] | None:
    """The random-effects model rows taken from the fixed-effects matrix when every term of
    the pdMat formula is a fixed term that made exactly one column named as the term (so a
    numeric covariate or expression, evaluated on the same rows: R's model.matrix gives the
    same column), and the intercept is in both. Saves evaluating the expressions again;
    anything else (factors, offsets, terms not in the fixed part) goes to model_matrix."""
    if fx is None or terms is None or terms.offsets:
        return None
    names: list[str] = []
    cols: list[int] = []
    if terms.intercept:
        if not fx.intercept or not fx.names or fx.names[0] != "(Intercept)":
            return None
        names.append("(Intercept)")
        cols.append(0)
    for lab in terms.term_labels:
        if lab not in fx.labels:
            return None
        ti = fx.labels.index(lab) + 1
        idx = [j for j, a in enumerate(fx.assign) if a == ti]
        if len(idx) != 1 or fx.names[idx[0]] != lab:
            return None
        names.append(lab)
        cols.append(idx[0])
    if not names:
        return None
    return names, np.ascontiguousarray(fx.X[:, cols])


def _pd_struct(spec: PdSpec, data: pd.DataFrame, fx: _FixedCols | None = None
               ) -> tuple[PdStruct, np.ndarray]:
    if spec.kind == "pdBlocked":
        blocks = []
        mats = []
        for b in spec.blocks:
            pb, m = _pd_struct(b, data, fx)
            blocks.append(pb)
            mats.append(m)
        cn = [c for b in blocks for c in b.cnms]
        if len(set(cn)) != len(cn):
            raise FormulaError("pdBlocked blocks must not share columns: " + ", ".join(cn))
        return PdStruct("pdBlocked", cn, "", blocks), np.hstack(mats)
    try:
        terms, ftext = _pd_terms(spec)
    except TypeError:  # a spec that cannot be hashed: no caching
        terms, ftext = spec.terms, str(spec.formula)
    got = _rows_from_fixed(terms, fx)
    if got is not None:
        return PdStruct(spec.kind, got[0], ftext), got[1]
    mm = model_matrix(terms, data)  # type: ignore[arg-type]
    if len(mm) != len(data):
        raise DataError("missing values in object (random-effects covariates)")
    check_finite({str(c): mm[c].to_numpy(dtype=float) for c in mm.columns})
    return PdStruct(spec.kind, list(mm.columns), ftext), np.asarray(mm, dtype=float)


@functools.lru_cache(maxsize=256)
def _parsed_structure(text: str) -> object:
    """Structure texts ("corAR1()") parse to immutable specs: once per process (a copy is
    handed out, so binding or editing it never reaches the cached one)."""
    return from_spec(text)


def resolve_structure(spec: object, want: str) -> object:
    if spec is None:
        return None
    if want == "var" and isinstance(spec, str) and spec.strip().startswith("~"):
        from lmepy.covariance import varFixed
        return varFixed(spec)
    if isinstance(spec, str):
        import copy
        out = copy.copy(_parsed_structure(spec))
    else:  # objects and dicts: gls's checks, one rule for both fitters
        from lmepy.gls.fit import resolve_cor, resolve_var
        out = resolve_cor(spec) if want == "cor" else resolve_var(spec)
    if want == "cor" and not isinstance(out, CorStruct):
        raise FormulaError(f"correlation must be a correlation structure (corAR1(), ...), "
                           f"not {spec}")
    if want == "var" and not isinstance(out, VarFunc):
        raise FormulaError(f"weights must be a variance function (varIdent(), ...), not {spec}")
    return out


@functools.lru_cache(maxsize=256)
def _model_terms(fixed: str) -> tuple[Any, str | None]:
    """Parsed formulas are immutable IR: parse each text once per process."""
    return as_model_terms(fixed)


@functools.lru_cache(maxsize=256)
def _deparse(fixed: str) -> str:
    return str(parse_formula(fixed))


@functools.lru_cache(maxsize=256)
def _term_labels(fixed: str) -> tuple[str, ...]:
    """The fixed formula's term labels (printing the IR is not free: once per text)."""
    return tuple(str(t) for t in _model_terms(fixed)[0].terms)


@functools.lru_cache(maxsize=256)
def _pd_terms(spec: PdSpec) -> tuple[Any, str]:
    """A pdMat formula's terms() and text; specs are immutable and come from the parse cache."""
    return spec.terms, str(spec.formula)


def _group_codes(df: pd.DataFrame, groups: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """group_codes (lmepy.covariance) with a shortcut for the common case, one grouping
    column that is a pandas Categorical without missing values: its codes with unused
    levels dropped, the levels' order kept, labels str(level) (what group_codes gives,
    without building new pandas objects)."""
    if len(groups) == 1 and groups[0] in df.columns:
        col = df[groups[0]]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = np.asarray(col.array.codes, dtype=np.int64)  # no .cat accessor objects
            cats = np.asarray(col.array.categories, dtype=object)  # fast to iterate
            if len(codes) and codes.min() >= 0:
                used = np.bincount(codes, minlength=len(cats)) > 0
                if used.all():
                    return codes, [level_label(v) for v in cats]
                newcode = np.cumsum(used) - 1
                return newcode[codes], [level_label(v)
                                        for v, u in zip(cats, used, strict=True) if u]
    return group_codes(df, groups)


@functools.lru_cache(maxsize=256)
def _parse_random_text(key: tuple[tuple[str, str], ...] | str) -> tuple[Any, ...]:
    return tuple(parse_random(key if isinstance(key, str) else dict(key)))


def _parse_random(random: object) -> list[Any]:
    if isinstance(random, str):
        return list(_parse_random_text(random))
    if isinstance(random, dict) and all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in random.items()):
        return list(_parse_random_text(tuple(random.items())))
    return parse_random(random)  # type: ignore[arg-type]


def _check_n_vs_q(inner: Level, nlevels: int, allow: bool | None) -> None:
    """nlme's check (lmeControl(allow.n.lt.q)): when every innermost group has fewer rows
    than the innermost level has random effects, the random effects are not identifiable and
    the optimizer wanders for minutes. False: an error (nlme's default), None: a warning,
    True: no check."""
    if allow is True:
        return
    q = int(np.asarray(inner.rows).shape[1]) if np.ndim(inner.rows) == 2 else 1
    sizes = np.bincount(np.asarray(inner.codes)[np.asarray(inner.codes) >= 0])
    if sizes.size and int(sizes.max()) < q:
        msg = f"fewer observations than random effects in all level {nlevels} groups"
        if allow is None:
            warn(msg)
        else:
            raise DataError(msg)


def build_design(fixed: str, data: object, random: object, correlation: object = None,
                 weights: object = None, data_name: str = "data",
                 allow_n_lt_q: bool | None = False) -> LmeDesign:
    """Everything the fit needs, from nlme's arguments; errors name the offending piece."""
    df = check_data_frame(data)
    if not isinstance(fixed, str):
        raise FormulaError("fixed must be a two-sided formula such as 'y ~ x'")
    mt, text = _model_terms(fixed)
    if mt.response is None:
        raise FormulaError("fixed-effects model must be a formula of the form \"resp ~ pred\"",
                           text, 0)
    if getattr(mt, "random", None):
        raise FormulaError("random effects go in random =, not in the fixed formula", text, 0)
    if random is None:
        raise FormulaError("random = is required (e.g. '~ 1 | g'): lmepy has no groupedData")
    if not (isinstance(random, str | Mapping) or (
            isinstance(random, list | tuple) and all(isinstance(i, list | tuple) and len(i) == 2
                                                     for i in random))):
        raise TypeError("'random' must be a formula text such as \"~ 1 | g\" or a dict such "
                        f"as {{\"g\": \"pdDiag(~ x)\"}}, not {type(random).__name__}")
    levels_spec = _parse_random(random)
    n = len(df)
    if n == 0:
        raise DataError("0 (non-NA) cases")
    ev = Evaluator(df, text)
    yv = ev.value(mt.response)
    y = np.asarray(yv.data, dtype=float).reshape(-1)
    if y.shape[0] != n or yv.data.ndim != 1:
        raise DataError("the response must be a numeric vector")
    if np.isnan(y).any():
        raise DataError(f"missing values in object (response '{mt.response}')")
    check_finite({str(mt.response): y})
    Xdf = model_matrix(mt, df)
    if len(Xdf) != n:
        raise DataError("missing values in object (fixed-effects covariates)")
    X = np.asarray(Xdf, dtype=float)
    check_finite({str(c): X[:, j] for j, c in enumerate(Xdf.columns)})
    assign = list(Xdf.attrs.get("assign", []))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError("Singularity in backsolve: the fixed-effects model matrix is rank "
                        "deficient")
    fx = _FixedCols(X, list(Xdf.columns), assign, _term_labels(fixed), bool(mt.intercept)) \
        if len(assign) == X.shape[1] else None
    levels: list[Level] = []
    gvars: list[str] = []
    for lv in levels_spec:
        gvars.append(lv.group)
        for g in gvars:
            if g not in df.columns:
                from lmepy.errors import close_matches
                raise DataError(f"object '{g}' not found (grouping variable)"
                                + close_matches(g, map(str, df.columns)))
        codes, labels = _group_codes(df, tuple(gvars))
        pd_, rows = _pd_struct(lv.pd, df, fx)
        levels.append(Level(lv.group, tuple(gvars), codes, labels, pd_, rows))
    for lv in levels:
        if np.ndim(lv.rows) == 2 and np.shape(lv.rows)[1] == 0:
            # nlme: "'data' must be of a vector type, was 'NULL'"
            raise DataError(f"the random effects for '{lv.name}' have no columns (such as "
                            "'~ 0 | g'): give at least one term, e.g. '~ 1 | g'")
    inner = levels[-1]
    _check_n_vs_q(inner, len(levels), allow_n_lt_q)
    cor = resolve_structure(correlation, "cor")
    bcor = None
    if cor is not None:
        assert isinstance(cor, CorStruct)
        if cor.form.groups:
            gl = list(cor.form.groups)
            if gl != gvars[:len(gl)]:
                raise FormulaError("incompatible formulas for groups in 'random' and "
                                   "'correlation'")
            if len(gl) < len(gvars):  # nlme's rule: the correlation groups are the innermost
                import copy

                from lmepy.covariance import Form
                warn("cannot use smaller level of grouping for 'correlation' than "
                     "for 'random'. Replacing the former with the latter.")
                cor = copy.copy(cor)
                cov = cor.form.covariate
                cor.form = Form(cov, tuple(gvars),
                                f"~{'1' if cov is None else cov} | {'/'.join(gvars)}")
            bcor = cor.bind(df)
        else:
            bcor = cor.bind(df, inner.codes, inner.labels)
    var = resolve_structure(weights, "var")
    bvar = var.bind(df) if var is not None else None  # type: ignore[union-attr]
    term_labels = list(_term_labels(fixed))
    return LmeDesign(fixed_text=_deparse(fixed), response=str(mt.response), X=X,
                     xnames=list(Xdf.columns), assign=assign, term_labels=term_labels,
                     intercept=bool(mt.intercept), y=y, levels=levels, cor=bcor,
                     var=bvar, cor_spec=cor, var_spec=var, data=df, data_name=data_name)
