"""lmepy: mixed-effects models for Python that speak R (lme4 and nlme formulas, numbers, output)."""

from lmepy import datasets
from lmepy.errors import (
    ConvergenceWarning,
    DataError,
    FormulaError,
    LmepyError,
    SingularFitWarning,
)

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "FormulaError",
    "LmepyError",
    "SingularFitWarning",
    "datasets",
]
__version__ = "0.1.0"
