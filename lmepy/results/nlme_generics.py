"""What nlme's generics do alike for gls and lme fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmepy import rtext as rf
from lmepy.errors import warn


def nlme_deviance(loglik: float, reml: bool) -> float | None:
    """nlme's deviance(): -2 logLik for an ML fit; for a REML fit a warning ("deviance
    undefined for REML fit") and NULL, here None."""
    if reml:
        warn("deviance undefined for REML fit")
        return None
    return -2.0 * loglik


class VarCov:
    """nlme's ``getVarCov()`` result: one matrix ("random.effects", gls's "marginal") or one
    per individual, each a DataFrame (``.matrices``: label -> DataFrame, or ``.matrix``);
    ``str()`` is nlme's ``print.VarCov`` (signif(x, 5), then the standard deviations)."""

    _TITLES = {"random.effects": "Random effects", "conditional": "Conditional",
               "marginal": "Marginal"}

    def __init__(self, type: str, matrices: dict[str, pd.DataFrame] | pd.DataFrame,
                 group: str | None = None, dimnames: bool = True):
        self.type = type
        self.group = group
        self.dimnames = dimnames
        if isinstance(matrices, pd.DataFrame):
            self.matrix: pd.DataFrame | None = matrices
            self.matrices: dict[str, pd.DataFrame] = {}
        else:
            self.matrix = None
            self.matrices = dict(matrices)

    def _one(self, m: pd.DataFrame) -> str:
        x = np.asarray(m, dtype=float)
        out = f"{self._TITLES[self.type]} variance covariance matrix\n"
        rows = [list(r) for r in rf.r_signif(x, 5)]
        names = (list(map(str, m.index)), list(map(str, m.columns))) if self.dimnames \
            else (None, None)
        out += rf.print_num_matrix(rows, names[0], names[1])
        sds = rf.r_signif(np.sqrt(np.diag(x)), 5)
        return out + "  Standard Deviations: " + " ".join(rf.format1(v, digits=7)
                                                          for v in sds) + " \n"

    def __str__(self) -> str:
        if self.matrix is not None:
            return self._one(self.matrix)
        head = f"{self.group} " if self.group else ""
        return "".join(f"{head}{nm} \n" + self._one(m) for nm, m in self.matrices.items())

    def __repr__(self) -> str:
        return str(self)
