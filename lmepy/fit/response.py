"""The response of a generalized linear mixed model (lme4's ``glmResp``): the family and link,
the prior weights, the offset and y, and every per-row quantity PIRLS needs from them: μ,
the working weights and residuals, the deviance residuals and the aic.

The per-row arithmetic is the one Cython family layer (lmepy/kernels/glmrow.pxd through
glm_family.pyx) or, for the families whose fits it would move in the last bits, the numpy
twin in lmepy/fit/family.py (see ``_Response``). The predictor (the penalized solve) is
lmepy/fit/predictor.py; the iteration joining the two is lmepy/fit/pirls.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lmepy.design.types import CompiledModel
from lmepy.errors import DataError, quiet, warn
from lmepy.fit.family import Family

try:  # Cython kernels; the family's numpy methods are the twin and the fallback
    from lmepy.kernels import glm_family as _gf
    from lmepy.kernels import glm_kernels as _gk
except ImportError:  # pragma: no cover - only when the extension is not built
    _gf = _gk = None


_FUSED = {("binomial", "logit"), ("poisson", "log")}


@dataclass(eq=False)
class _Response:
    """y, prior weights, trials and offset with the family: the per-row quantities (μ, working
    weights and response, deviance residuals, aic) through the one Cython family layer
    (lmepy/kernels/glm_family.pyx) or the family's numpy twin (lmepy/fit/family.py).

    The kernels serve the pairs they served before the layer was shared (binomial-logit and
    Poisson-log for μ and the working pair; binomial and Poisson for deviance residuals and
    aic); the other families keep the numpy twin, whose SIMD exp/log may differ from libm's
    in the last bit: routing them through the kernels moves the Gamma-log reference fit by
    1e-9 relative (bench/README.md), a change to make deliberately, not in passing."""

    family: Family
    y: np.ndarray
    weights: np.ndarray  # prior weights (times trials for binomial), as glm.fit's initialize
    n: np.ndarray
    offset: np.ndarray
    mustart: np.ndarray
    integer_y: bool = False  # the counts (trials x proportion, or Poisson y) are whole
    fam_code: int = -1  # the kernels' family code (glm_family.codes), -1: numpy twin
    link_code: int = -1
    fused: bool = False  # binomial-logit or Poisson-log: kernels for μ, working pair, PIRLS
    _aic_m: np.ndarray | None = None  # binomial aic's m (trials, or the weights for 0/1)

    def __post_init__(self) -> None:
        self.y = np.ascontiguousarray(self.y, dtype=float)
        self.weights = np.ascontiguousarray(self.weights, dtype=float)
        self.offset = np.ascontiguousarray(self.offset, dtype=float)
        self.n = np.ascontiguousarray(self.n, dtype=float)
        fam = self.family
        self.fam_code = self.link_code = -1
        if _gf is not None and _gk is not None:
            self.fam_code, self.link_code = _gf.codes(fam.family, fam.link)
        self.fused = self.fam_code >= 0 and (fam.family, fam.link) in _FUSED
        if self.family.family == "poisson":
            self.integer_y = bool(np.all(self.y == np.round(self.y)) and np.all(self.y >= 0))
        elif self.family.family == "binomial":
            self.integer_y = True  # R's aic rounds m y and m

    def working(self, eta: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PIRLS working weights and working response (without the offset)."""
        if self.fused:
            return _gf.working(self.fam_code, self.link_code, eta, mu, self.y, self.weights,
                               self.offset)
        fam = self.family
        mueta = fam.mu_eta(eta)
        var = fam.variance(mu)
        w = self.weights * mueta * mueta / var
        z = eta - self.offset + (self.y - mu) / mueta
        return w, z

    def mu_dev(self, eta: np.ndarray) -> tuple[np.ndarray, float]:
        """μ = linkinv(η) and the sum of deviance residuals."""
        if self.fused:
            return _gf.mu_dev(self.fam_code, self.link_code, eta, self.y, self.weights)
        mu = self.family.linkinv(eta)
        return mu, float(np.sum(self.dev_resids(mu)))

    def mu_dev_working(self, eta: np.ndarray) -> tuple[np.ndarray, float, Any]:
        """``mu_dev`` plus, when a kernel does both in one pass, the next working weights and
        response as a pair (else None: call ``working``)."""
        if self.fused:
            mu, dr, w, z = _gf.mu_dev_working(self.fam_code, self.link_code, eta, self.y,
                                              self.weights, self.offset)
            return mu, dr, (w, z)
        mu, dr = self.mu_dev(eta)
        return mu, dr, None

    def dev_resids(self, mu: np.ndarray) -> np.ndarray:
        if self.fam_code >= 0 and self.family.family in ("binomial", "poisson"):
            return _gf.dev_resids(self.fam_code, self.y, mu, self.weights)
        return self.family.dev_resids(self.y, mu, self.weights)

    def group_dev(self, eta: np.ndarray, codes: np.ndarray, m: int) -> np.ndarray:
        """Per-level sums of the deviance residuals at μ = linkinv(η)."""
        if self.fused:
            return _gf.group_dev(self.fam_code, self.link_code, eta, self.y, self.weights,
                                 np.ascontiguousarray(codes, dtype=np.int64), m)
        return np.bincount(codes, self.dev_resids(self.family.linkinv(eta)), minlength=m)

    def aic(self, mu: np.ndarray, dev: float) -> float:
        fam = self.family
        if self.fam_code >= 0 and self.integer_y:
            if fam.family == "binomial":
                if self._aic_m is None:
                    m = self.n if np.any(self.n > 1) else self.weights
                    self._aic_m = np.ascontiguousarray(m, dtype=float)
                return _gf.binomial_aic(self.y, self._aic_m, mu, self.weights)
            if fam.family == "poisson":
                return _gf.poisson_aic(self.y, mu, self.weights)
        with quiet(), np.errstate(all="ignore"):  # initialize() has warned already
            return self.family.aic(self.y, self.n, mu, self.weights, dev)


def _prepare_response(model: CompiledModel, family: Family, weights: np.ndarray | None,
                      offset: np.ndarray | None) -> _Response:
    nobs = model.n
    w = weights if weights is not None else model.weights
    off = model.offset
    if offset is not None:  # an offset argument adds to the formula's offset() terms
        extra = np.asarray(offset, dtype=float).reshape(-1)
        off = extra if off is None else np.asarray(off, dtype=float) + extra
    y = model.y
    if isinstance(y, (pd.Series, pd.DataFrame)):
        y = y.to_numpy() if not isinstance(getattr(y, "dtype", None), pd.CategoricalDtype) else y
    init = family.initialize(y, None if w is None else np.asarray(w, dtype=float))
    if np.unique(init.y).size < 2:  # lme4's checkResponse
        raise DataError("Response is constant")
    if off is None:
        off = np.zeros(nobs)
    off = np.asarray(off, dtype=float).reshape(-1)
    if off.shape[0] != nobs:
        raise DataError(f"number of offsets is {off.shape[0]}, should equal {nobs} "
                        "(number of observations)")
    if family.family == "poisson":
        yv = init.y
        bad = np.abs(yv - np.round(yv)) > 1e-7 * np.maximum(1.0, np.abs(yv))
        if np.any(bad):
            warn(f"non-integer x = {yv[bad][0]:.6f}")
    return _Response(family, init.y, init.weights, init.n, off, init.mustart)
