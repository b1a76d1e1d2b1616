"""What the design stage hands to the fit stage: compact random-effects terms, compiled model.

A random-effects term is kept as a grouping index per row plus the term's own per-row model
row (N x k), never as a dense N x q matrix; ``Zt`` is built only when someone asks for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lmepy.formula.ir import ModelTerms


@functools.lru_cache(maxsize=64)
def tril_colmajor(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a k x k lower triangle in column-major order, θ's order
    within a term (lme4's). Read-only: cached, used at every evaluation of an objective."""
    i, j = np.tril_indices(k)
    o = np.lexsort((i, j))
    i, j = i[o], j[o]
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


@dataclass(eq=False)
class ReTerm:
    """One random-effects term ``(cnms | group)``.

    ``codes[i]`` is the level index of row i in ``levels``; ``rows[i]`` is row i of the term's
    own model matrix (columns named ``cnms``). Its q = nlevels * k columns of Z are ordered
    level-major, as lme4's: level 1's k columns, then level 2's, ...
    """

    group: str  # lme4's name of the grouping factor: "Subject", "cask:batch"
    levels: list[str]
    codes: np.ndarray  # int64, shape (N,)
    cnms: list[str]
    rows: np.ndarray  # float64, shape (N, k)
    term: object = None  # the RandomTerm of the IR it came from

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def k(self) -> int:
        return len(self.cnms)

    @property
    def q(self) -> int:
        return self.nlevels * self.k

    @property
    def ntheta(self) -> int:
        return self.k * (self.k + 1) // 2

    def theta0(self) -> np.ndarray:
        """lme4's start: the identity, as the column-wise lower triangle."""
        i, j = tril_colmajor(self.k)
        return (i == j).astype(float)

    def lower(self) -> np.ndarray:
        """Bounds of theta: 0 on the diagonal of the factor, -inf elsewhere (lme4)."""
        return np.where(self.theta0() == 1.0, 0.0, -np.inf)

    def Zt(self) -> sp.csc_matrix:
        n, k = self.rows.shape
        row_idx = (self.codes[:, None] * k + np.arange(k)[None, :]).ravel()
        col_idx = np.repeat(np.arange(n), k)
        z = sp.csc_matrix((self.rows.ravel(), (row_idx, col_idx)), shape=(self.q, n))
        z.eliminate_zeros()  # lme4's drop0(): structural zeros (e.g. Days == 0) are not stored
        return z


@dataclass(eq=False)
class ReTrms:
    """lme4's ``reTrms``: the terms in lme4's order (decreasing number of levels, stable)."""

    terms: list[ReTerm]

    @cached_property
    def Zt(self) -> sp.csc_matrix:
        if not self.terms:
            return sp.csc_matrix((0, 0))
        return sp.vstack([t.Zt() for t in self.terms]).tocsc()

    @property
    def cnms(self) -> dict[str, list[str]]:
        """As lme4's ``cnms``; a repeated group name (from ``||``) keeps only the last list
        here, use ``terms`` for the full list."""
        return {t.group: t.cnms for t in self.terms}

    @property
    def flist(self) -> dict[str, pd.Categorical]:
        out: dict[str, pd.Categorical] = {}
        for t in self.terms:
            if t.group not in out:
                out[t.group] = pd.Categorical.from_codes(t.codes, t.levels)
        return out

    @property
    def theta0(self) -> np.ndarray:
        return np.concatenate([t.theta0() for t in self.terms]) if self.terms else np.zeros(0)

    @property
    def lower(self) -> np.ndarray:
        return np.concatenate([t.lower() for t in self.terms]) if self.terms else np.zeros(0)

    @property
    def Gp(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([t.q for t in self.terms])]).astype(int)

    def _lambdat_pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, theta index) of Lambdat's nonzeros in lme4's storage order (by column
        of Lambdat, i.e. by row of the lower-triangular Lambda, then by Lambda's column)."""
        rows, cols, idx = [], [], []
        thoff, boff = 0, 0
        for t in self.terms:
            k = t.k
            ci, cj = np.tril_indices(k)  # Lambda's (r, c), r >= c, row-major: lme4's order
            # theta index of Lambda[r, c]: column-major position in the lower triangle
            order = np.lexsort((ci, cj))
            pos = np.empty(len(ci), dtype=np.int64)
            pos[order] = np.arange(len(ci))
            lv = np.arange(t.nlevels)[:, None] * k + boff
            rows.append((lv + cj[None, :]).ravel())  # Lambdat row = Lambda column
            cols.append((lv + ci[None, :]).ravel())  # Lambdat column = Lambda row
            idx.append(np.tile(pos + thoff, t.nlevels))
            thoff += t.ntheta
            boff += t.q
        if not rows:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(idx)

    @property
    def Lind(self) -> np.ndarray:
        """lme4's ``Lind`` (1-based): which theta each stored element of Lambdat takes."""
        return self._lambdat_pattern()[2] + 1

    def Lambdat(self, theta: np.ndarray | None = None) -> sp.csc_matrix:
        """lme4's ``Lambdat`` at ``theta`` (default: the start, theta0)."""
        th = self.theta0 if theta is None else np.asarray(theta, dtype=float)
        r, c, i = self._lambdat_pattern()
        q = int(self.Gp[-1])
        return sp.csc_matrix((th[i], (r, c)), shape=(q, q))


@dataclass(eq=False)
class CompiledModel:
    """lme4's ``lFormula()`` result: everything the fit needs, nothing it must recompute.

    ``X`` keeps R's column names; ``y`` is (N,) or, for ``cbind(s, f)``, (N, 2).
    ``weights`` and ``offset`` are None when absent.
    """

    terms: ModelTerms
    frame: pd.DataFrame  # the model frame (rows kept after na.omit, R's variable names)
    X: pd.DataFrame
    y: np.ndarray
    reTrms: ReTrms
    weights: np.ndarray | None = None
    offset: np.ndarray | None = None
    response_name: str = ""
    data_name: str = ""  # how summary() names the data ("sleepstudy")
    weights_name: str | None = None  # how summary() names the weights argument ("w")
    offset_name: str | None = None  # how summary() names the offset argument
    dropped_columns: list[str] = field(default_factory=list)  # rank-deficient X columns
    na_action: np.ndarray | None = None  # original row positions dropped by na.omit
    REML: bool = True
    na_action_type: str = "na.omit"  # or "na.exclude": pad residuals/fitted back with NA
    contrasts: dict | None = None  # the contrasts argument (variable -> contr.* name/matrix)
    model_frame: object = None  # design.frame.ModelFrame: typed variables, for new data

    @property
    def Zt(self) -> sp.csc_matrix:
        return self.reTrms.Zt

    @property
    def n(self) -> int:
        return int(self.X.shape[0])
