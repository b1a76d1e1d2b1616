"""Hand-built CompiledModels for the fit tests (no design compiler needed); no tests here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmepy import datasets
from lmepy.design.types import CompiledModel, ReTerm, ReTrms


def term(df: pd.DataFrame, group: str | list[str], cols: list[str]) -> ReTerm:
    """One (cols | group) term; group may be a list (interaction, lme4's "a:b" naming)."""
    if isinstance(group, list):
        key = df[group[0]].astype(str)
        for g in group[1:]:
            key = key + ":" + df[g].astype(str)
        cat = pd.Categorical(key)
        name = ":".join(group)
    else:
        cat = df[group]
        if not isinstance(cat.dtype, pd.CategoricalDtype):
            cat = pd.Categorical(cat)
        cat = pd.Categorical(cat)
        name = group
    cat = cat.remove_unused_categories()
    rows = np.column_stack([np.ones(len(df)) if c == "(Intercept)" else
                            np.asarray(df[c], dtype=float) for c in cols])
    return ReTerm(group=name, levels=[str(v) for v in cat.categories],
                  codes=np.asarray(cat.codes, dtype=np.int64), cnms=list(cols), rows=rows)


def model(df: pd.DataFrame, y: str, X: pd.DataFrame, terms: list[ReTerm],
          weights: np.ndarray | None = None, offset: np.ndarray | None = None) -> CompiledModel:
    terms = sorted(terms, key=lambda t: -t.nlevels)  # stable: lme4's order
    return CompiledModel(terms=None, frame=df, X=X, y=np.asarray(df[y], dtype=float),
                         reTrms=ReTrms(terms), weights=weights, offset=offset,
                         response_name=y)


def sleepstudy(kind: str = "full") -> CompiledModel:
    df = datasets.load("sleepstudy")
    X = pd.DataFrame({"(Intercept)": 1.0, "Days": df["Days"].astype(float)})
    if kind == "full":
        ts = [term(df, "Subject", ["(Intercept)", "Days"])]
    elif kind == "int":
        ts = [term(df, "Subject", ["(Intercept)"])]
    elif kind == "diag":
        ts = [term(df, "Subject", ["(Intercept)"]), term(df, "Subject", ["Days"])]
    elif kind == "slope":
        ts = [term(df, "Subject", ["Days"])]
    else:
        raise ValueError(kind)
    return model(df, "Reaction", X, ts)


def poly_contrasts(n: int) -> np.ndarray:
    """R's contr.poly(n): orthonormal polynomial scores, sign as R's (Q_j * sign(R_jj))."""
    x = np.arange(1, n + 1, dtype=float)
    x = x - x.mean()
    V = np.vander(x, n, increasing=True)
    Q, R = np.linalg.qr(V)
    Z = Q * np.sign(np.diag(R))[None, :]
    return Z[:, 1:]


def group_term(df: pd.DataFrame, group: list[str], cols: list[str],
               levels: list[str] | None = None) -> ReTerm:
    """(cols | g1:g2:...) with the levels in the given order (lme4's), else sorted by the
    factors' own orders, first factor slowest."""
    key = df[group[0]].astype(str)
    for g in group[1:]:
        key = key + ":" + df[g].astype(str)
    if levels is None:
        parts = [df[g].cat.codes.to_numpy() for g in group]
        order = np.lexsort(parts[::-1])
        seen: dict[str, int] = {}
        for i in order:
            seen.setdefault(key.iloc[i], len(seen))
        levels = list(seen)
    pos = {lv: i for i, lv in enumerate(levels)}
    codes = np.array([pos[v] for v in key], dtype=np.int64)
    rows = np.column_stack([np.ones(len(df)) if c == "(Intercept)" else
                            np.asarray(df[c], dtype=float) for c in cols])
    return ReTerm(group=":".join(group), levels=list(levels), codes=codes, cnms=list(cols),
                  rows=rows)


def _levels(case: dict, factor: str) -> list[str] | None:
    tab = case["ranef"][factor]
    return tab["rownames"] if len(tab["rownames"]) == tab["nrow"] else None


def from_case(case: dict) -> CompiledModel:
    """The CompiledModel of one lmer.json case, built by hand (as lFormula would)."""
    cid = case["id"]
    df = datasets.load(case["data"]).copy()
    for name, vals in (case.get("data_extra") or {}).items():
        df[name] = np.asarray(vals, dtype=float)
    one = np.ones(len(df))

    def T(group: list[str], cols: list[str], fac: str | None = None) -> ReTerm:
        return group_term(df, group, cols, _levels(case, fac or ":".join(group)))

    if case["data"] == "sleepstudy":
        X = pd.DataFrame({"(Intercept)": one, "Days": df["Days"].astype(float)})
        kind = {"ss_int": "int", "ss_diag": "diag", "ss_slope": "slope"}.get(cid, "full")
        ts = {"full": [T(["Subject"], ["(Intercept)", "Days"])],
              "int": [T(["Subject"], ["(Intercept)"])],
              "diag": [T(["Subject"], ["(Intercept)"]), T(["Subject"], ["Days"])],
              "slope": [T(["Subject"], ["Days"])]}[kind]
        w = np.asarray(df["w"], dtype=float) if case.get("weights") else None
        off = np.asarray(df["off"], dtype=float) if cid == "ss_offset_reml" else None
        return model(df, "Reaction", X, ts, weights=w, offset=off)
    if case["data"] in ("Dyestuff", "Dyestuff2"):
        return model(df, "Yield", pd.DataFrame({"(Intercept)": one}),
                     [T(["Batch"], ["(Intercept)"])])
    if cid == "pen_reml":
        return model(df, "diameter", pd.DataFrame({"(Intercept)": one}),
                     [T(["plate"], ["(Intercept)"]), T(["sample"], ["(Intercept)"])])
    if cid == "pastes_reml":
        return model(df, "strength", pd.DataFrame({"(Intercept)": one}),
                     [T(["cask", "batch"], ["(Intercept)"]), T(["batch"], ["(Intercept)"])])
    if cid == "orth_reml":
        fem = (df["Sex"] == "Female").to_numpy(dtype=float)
        age = df["age"].to_numpy(dtype=float)
        X = pd.DataFrame({"(Intercept)": one, "age": age, "SexFemale": fem,
                          "age:SexFemale": age * fem})
        return model(df, "distance", X, [T(["Subject"], ["(Intercept)", "age"])])
    if cid == "cake_ml":
        P = poly_contrasts(6)[df["temperature"].cat.codes.to_numpy()]
        names = [".L", ".Q", ".C", "^4", "^5"]
        cols = {"(Intercept)": one}
        rB = (df["recipe"] == "B").to_numpy(dtype=float)
        rC = (df["recipe"] == "C").to_numpy(dtype=float)
        cols["recipeB"], cols["recipeC"] = rB, rC
        for j, nm in enumerate(names):
            cols["temperature" + nm] = P[:, j]
        for j, nm in enumerate(names):
            cols["recipeB:temperature" + nm] = rB * P[:, j]
            cols["recipeC:temperature" + nm] = rC * P[:, j]
        return model(df, "angle", pd.DataFrame(cols),
                     [T(["recipe", "replicate"], ["(Intercept)"])])
    if cid == "insteval_ml":
        X = pd.DataFrame({"(Intercept)": one,
                          "service1": (df["service"] == "1").to_numpy(dtype=float)})
        return model(df, "y", X, [T(["s"], ["(Intercept)"]), T(["d"], ["(Intercept)"]),
                                  T(["dept", "service"], ["(Intercept)"])])
    raise KeyError(cid)
