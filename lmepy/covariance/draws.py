"""Residuals drawn from a fitted residual structure, for ``simulate()`` of gls and lme fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmepy.covariance.corstruct import CorStruct


def residual_draws(n: int, sigma: float, cor: CorStruct | None, weights: np.ndarray | None,
                   nsim: int, rng: np.random.Generator) -> np.ndarray:
    """(n, nsim) errors sigma * g * (L z): z standard normal, L the Cholesky factor of each
    group's correlation matrix (identity without a structure), g = 1 / weights the variance
    function's standard-deviation factor (1 without one). Structures at their current
    parameters."""
    e = rng.standard_normal((n, nsim)) if cor is None else cor.draw(nsim, rng)
    if weights is not None:
        e = e / np.asarray(weights, dtype=float)[:, None]
    return sigma * e


def sim_frame(draws: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame:
    """Columns ``sim_1``, ... as lme4's simulate() names them."""
    return pd.DataFrame({f"sim_{i + 1}": draws[:, i] for i in range(draws.shape[1])},
                        index=index)
