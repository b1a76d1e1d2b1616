"""design stage: IR + DataFrame -> model frame, X, y, weights, offset and compact
random-effects terms (lme4's ``lFormula``), and R's ``model.matrix()``."""

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
