"""design stage: IR + DataFrame -> model frame, X, y, weights, offset and compact
random-effects terms (lme4's ``lFormula``), and R's ``model.matrix()``.

* ``model_matrix(formula, data, contrasts=None, subset=None, na_action="na.omit")``: R's
  ``model.matrix()`` as a DataFrame (``.attrs``: assign, contrasts, na_action);
* ``lFormula(formula, data, REML, weights, offset, subset, contrasts, family, na_action)``
  and ``glFormula(...)``: the ``CompiledModel`` the fit stage takes;
* ``new_design(model, newdata, re_form, allow_new_levels)``: X and random-effects rows of a
  compiled model on new data (fitted levels, poly/scale/spline coefficients), for predict().

Variables are evaluated by a whitelisted evaluator (``evaluate.py``), never Python's eval.
"""

from lmepy.design.compile import (
    RankDeficiencyWarning,
    ScaleWarning,
    build_reterms,
    glFormula,
    lFormula,
    model_matrix,
)
from lmepy.design.evaluate import Evaluator, orthopoly
from lmepy.design.frame import ModelFrame, build_frame
from lmepy.design.newdata import NewDesign, NewReTerm, new_design
from lmepy.design.types import CompiledModel, ReTerm, ReTrms

__all__ = [
    "CompiledModel",
    "Evaluator",
    "ModelFrame",
    "NewDesign",
    "NewReTerm",
    "RankDeficiencyWarning",
    "ReTerm",
    "ReTrms",
    "ScaleWarning",
    "build_frame",
    "build_reterms",
    "glFormula",
    "lFormula",
    "model_matrix",
    "new_design",
    "orthopoly",
]
