"""nlme's pdMat classes as maps from free parameters to the lower Cholesky factor T of Ψ/σ².

The fit feeds T straight to the lmer blocked Cholesky (its column-major lower triangle, zeros
where a structure has none), so every structure only has to say how its parameters build T,
which bounds they have, and how nlme names and reports the resulting matrix.
"""

from __future__ import annotations

import math

import numpy as np

from lmepy.design.types import tril_colmajor


class PdStruct:
    """One pdMat over the columns ``cnms``; parameters on the fit's (bounded) scale."""

    def __init__(self, kind: str, cnms: list[str], formula_text: str = "",
                 blocks: list[PdStruct] | None = None):
        self.kind = kind
        self.cnms = list(cnms)
        self.k = len(cnms)
        self.formula_text = formula_text
        self.blocks = blocks or []

    # ---- parameters ------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        k = self.k
        if self.kind in ("pdLogChol", "pdSymm"):
            return k * (k + 1) // 2
        if self.kind == "pdDiag":
            return k
        if self.kind == "pdIdent":
            return 1
        if self.kind == "pdCompSymm":
            return 2 if k > 1 else 1
        return sum(b.n_params for b in self.blocks)

    def start(self) -> np.ndarray:
        """The identity (lme4's start); compound symmetry starts uncorrelated."""
        if self.kind in ("pdLogChol", "pdSymm"):
            i, j = tril_colmajor(self.k)
            return (i == j).astype(float)
        if self.kind == "pdDiag":
            return np.ones(self.k)
        if self.kind == "pdIdent":
            return np.ones(1)
        if self.kind == "pdCompSymm":  # correlation 0.2 (v = 0 is a flat point of v|v|)
            return np.array([math.sqrt(0.8), math.sqrt(0.2)]) if self.k > 1 else np.ones(1)
        return np.concatenate([b.start() for b in self.blocks])

    def lower(self) -> np.ndarray:
        if self.kind in ("pdLogChol", "pdSymm"):
            i, j = tril_colmajor(self.k)
            return np.where(i == j, 0.0, -np.inf)
        if self.kind in ("pdDiag", "pdIdent"):
            return np.zeros(self.n_params)
        if self.kind == "pdCompSymm":
            return np.array([0.0, -np.inf]) if self.k > 1 else np.zeros(1)
        return np.concatenate([b.lower() for b in self.blocks])

    def factor(self, par: np.ndarray) -> np.ndarray:
        """T (k x k lower) with T T' = Ψ/σ²."""
        k = self.k
        par = np.asarray(par, dtype=float)
        if self.kind in ("pdLogChol", "pdSymm"):
            T = np.zeros((k, k))
            i, j = tril_colmajor(k)
            T[i, j] = par
            return T
        if self.kind == "pdDiag":
            return np.diag(par)
        if self.kind == "pdIdent":
            return par[0] * np.eye(k)
        if self.kind == "pdCompSymm":
            # Ψ/σ² = s² I + v|v| J: s = 0 is correlation 1 (a bound the optimizer can reach),
            # v < 0 gives negative correlations down to -1/(k-1)
            if k == 1:
                return np.array([[par[0]]])
            P = np.full((k, k), par[1] * abs(par[1]))
            P[np.diag_indices(k)] += par[0] * par[0]
            if par[0] == 0.0:  # rank one: J's factor
                T = np.zeros((k, k))
                T[:, 0] = math.sqrt(max(par[1] * abs(par[1]), 0.0))
                return T
            return np.linalg.cholesky(P)
        T = np.zeros((k, k))
        pos = 0
        off = 0
        for b in self.blocks:
            T[off:off + b.k, off:off + b.k] = b.factor(par[pos:pos + b.n_params])
            pos += b.n_params
            off += b.k
        return T

    def relcov(self, par: np.ndarray) -> np.ndarray:
        T = self.factor(par)
        return T @ T.T

    # ---- nlme's names and values --------------------------------------------------------------
    def coef_constrained(self, par: np.ndarray) -> dict[str, float]:
        """nlme's ``coef(pdMat, unconstrained = FALSE)`` on the relative scale Ψ/σ²."""
        P = self.relcov(par)
        sd = np.sqrt(np.diag(P))
        cn = self.cnms
        if self.kind in ("pdLogChol", "pdSymm"):
            out: dict[str, float] = {}
            for j in range(self.k):
                for i in range(j + 1):
                    nm = f"var({cn[i]})" if i == j else f"cov({cn[j]},{cn[i]})"
                    out[nm] = float(P[i, j])
            return out
        if self.kind == "pdDiag":
            return {f"sd({c})": float(s) for c, s in zip(cn, sd, strict=True)}
        if self.kind == "pdIdent":
            return {f"sd({self.formula_text.lstrip('~').strip()})": float(sd[0])}
        if self.kind == "pdCompSymm":
            r = float(P[0, 1] / P[0, 0]) if self.k > 1 and P[0, 0] > 0 else 0.0
            return {"std. dev": float(sd[0]), "corr.": r}
        out = {}
        pos = 0
        for b in self.blocks:
            out.update(b.coef_constrained(par[pos:pos + b.n_params]))
            pos += b.n_params
        return out

    def from_coef(self, coef: dict[str, float]) -> np.ndarray:
        """Fit parameters from nlme's constrained coefficients (names as coef_constrained)."""
        k = self.k
        cn = self.cnms
        if self.kind in ("pdLogChol", "pdSymm"):
            P = np.zeros((k, k))
            for j in range(k):
                for i in range(j + 1):
                    nm = f"var({cn[i]})" if i == j else f"cov({cn[j]},{cn[i]})"
                    P[i, j] = P[j, i] = coef[nm]
            T = np.linalg.cholesky(P)
            i, j = tril_colmajor(k)
            return T[i, j]
        if self.kind in ("pdDiag", "pdIdent"):
            return np.array(list(coef.values()), dtype=float)
        if self.kind == "pdCompSymm":
            v = list(coef.values())
            return _cs_par(v[0], v[1]) if k > 1 else np.array(v[:1])
        out = []
        items = list(coef.items())
        pos = 0
        for b in self.blocks:
            m = len(b.coef_constrained(b.start()))
            out.append(b.from_coef(dict(items[pos:pos + m])))
            pos += m
        return np.concatenate(out)

    def natural(self, par: np.ndarray, sigma: float) -> np.ndarray:
        """nlme's natural parametrization of the absolute Ψ (used by apVar/intervals):
        log sd for every variance, log((1+r)/(1-r)) for every free correlation."""
        P = self.relcov(par) * sigma ** 2
        sd = np.sqrt(np.diag(P))
        if self.kind in ("pdLogChol", "pdSymm"):
            vals = list(np.log(sd))
            for j in range(self.k):
                for i in range(j):
                    r = P[i, j] / (sd[i] * sd[j])
                    vals.append(math.log((1 + r) / (1 - r)))
            return np.array(vals)
        if self.kind == "pdDiag":
            return np.log(sd)
        if self.kind == "pdIdent":
            return np.log(sd[:1])
        if self.kind == "pdCompSymm":
            if self.k == 1:
                return np.log(sd[:1])
            r = P[0, 1] / P[0, 0]
            lo = -1.0 / (self.k - 1)
            return np.array([math.log(sd[0]), math.log((r - lo) / (1 - r))])
        return np.concatenate([b.natural(par[sum(c.n_params for c in self.blocks[:i]):
                                                 sum(c.n_params for c in self.blocks[:i + 1])],
                                             sigma) for i, b in enumerate(self.blocks)])

    def from_natural(self, nat: np.ndarray, sigma: float) -> np.ndarray:
        """Fit parameters (relative to σ) from the natural parametrization."""
        nat = np.asarray(nat, dtype=float)
        k = self.k
        if self.kind in ("pdLogChol", "pdSymm"):
            sd = np.exp(nat[:k]) / sigma
            P = np.diag(sd ** 2)
            pos = k
            for j in range(k):
                for i in range(j):
                    e = math.exp(nat[pos])
                    r = (e - 1) / (e + 1)
                    P[i, j] = P[j, i] = r * sd[i] * sd[j]
                    pos += 1
            T = np.linalg.cholesky(P)
            i, j = tril_colmajor(k)
            return T[i, j]
        if self.kind == "pdDiag":
            return np.exp(nat) / sigma
        if self.kind == "pdIdent":
            return np.exp(nat[:1]) / sigma
        if self.kind == "pdCompSymm":
            if k == 1:
                return np.exp(nat[:1]) / sigma
            lo = -1.0 / (k - 1)
            e = math.exp(nat[1])
            r = (lo + e) / (1 + e)
            return _cs_par(math.exp(nat[0]) / sigma, r)
        out = []
        pos = 0
        for b in self.blocks:
            m = len(b.natural(b.start(), 1.0))
            out.append(b.from_natural(nat[pos:pos + m], sigma))
            pos += m
        return np.concatenate(out)

    def natural_names(self) -> list[str]:
        cn = self.cnms
        if self.kind in ("pdLogChol", "pdSymm"):
            names = [f"sd({c})" for c in cn]
            for j in range(self.k):
                for i in range(j):
                    names.append(f"cor({cn[i]},{cn[j]})")
            return names
        if self.kind == "pdDiag":
            return [f"sd({c})" for c in cn]
        if self.kind == "pdIdent":
            return [f"sd({self.formula_text.lstrip('~').strip()})"]
        if self.kind == "pdCompSymm":
            return ["std. dev", "corr."] if self.k > 1 else ["std. dev"]
        return [n for b in self.blocks for n in b.natural_names()]

    def natural_back(self, names: list[str], vals: np.ndarray) -> np.ndarray:
        """From the natural scale to what intervals() prints (sd, cor)."""
        out = []
        for nm, v in zip(names, vals, strict=True):
            if nm.startswith("cor(") or nm == "corr.":
                f = 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0  # e/(1+e), no overflow
                if nm == "corr." and self.k > 1:
                    lo = -1.0 / (self.k - 1)
                    out.append(lo + (1.0 - lo) * f)
                else:
                    out.append(2.0 * f - 1.0)
            else:
                out.append(math.exp(min(v, 700.0)))
        return np.array(out)


def _cs_par(sd: float, r: float) -> np.ndarray:
    """(s, v) of Ψ/σ² = s² I + v|v| J for standard deviation sd and correlation r."""
    c = sd * sd * r
    return np.array([math.sqrt(max(sd * sd * (1.0 - r), 0.0)),
                     math.copysign(math.sqrt(abs(c)), c)])
