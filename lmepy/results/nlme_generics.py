"""What nlme's generics do alike for gls and lme fits."""

from __future__ import annotations

import warnings


def nlme_deviance(loglik: float, reml: bool) -> float | None:
    """nlme's deviance(): -2 logLik for an ML fit; for a REML fit a warning ("deviance
    undefined for REML fit") and NULL, here None."""
    if reml:
        warnings.warn("deviance undefined for REML fit", UserWarning, stacklevel=3)
        return None
    return -2.0 * loglik
