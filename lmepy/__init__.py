"""lmepy: mixed-effects models for Python that speak R (lme4's and nlme's formulas, numbers and output)."""

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
