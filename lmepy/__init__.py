"""lmepy: mixed-effects models for Python that speak R (lme4 and nlme formulas, numbers, output)."""

# The lme, gls and lm subpackages load first: a submodule loaded later would rebind the names
# `lmepy.lme` / `lmepy.gls` / `lmepy.lm` from the functions to the packages.
import lmepy.gls
import lmepy.lm
import lmepy.lme  # noqa: F401
from lmepy import datasets
from lmepy.api import glmer, gls, lme, lmer
from lmepy.covariance import (
    corAR1,
    corARMA,
    corCAR1,
    corCompSymm,
    corSymm,
    varConstPower,
    varExp,
    varFixed,
    varIdent,
    varPower,
)
from lmepy.design import glFormula, lFormula, model_matrix
from lmepy.errors import (
    ConvergenceWarning,
    DataError,
    EvaluationWarning,
    FormulaError,
    LmepyError,
    LmepyWarning,
    RankDeficiencyWarning,
    RefitMLMessage,
    ScaleWarning,
    SingularFitWarning,
    UnfittableError,
)
from lmepy.fit.family import Gamma, binomial, gaussian, inverse_gaussian, poisson
from lmepy.lm import glm, lm
from lmepy.postfit import augment, get_variance, glance, hatvalues, icc, r2_nakagawa, tidy
from lmepy.postfit.anova_car import Anova
from lmepy.refit import update
from lmepy.results.generics import (
    AIC,
    BIC,
    REMLcrit,
    VarCorr,
    anova,
    coef,
    confint,
    deviance,
    fitted,
    fixef,
    formula,
    getME,
    getVarCov,
    intervals,
    isSingular,
    logLik,
    modelStruct,
    ngrps,
    nobs,
    predict,
    ranef,
    resid,
    residuals,
    sigma,
    simulate,
    summary,
    vcov,
    weights,
)

__all__ = [
    "Anova",
    "AIC", "BIC", "ConvergenceWarning", "DataError", "EvaluationWarning", "FormulaError",
    "Gamma", "LmepyError", "LmepyWarning", "RankDeficiencyWarning", "REMLcrit", "RefitMLMessage",
    "ScaleWarning", "SingularFitWarning", "UnfittableError", "VarCorr", "anova", "augment",
    "binomial",
    "coef", "confint",
    "corAR1", "corARMA", "corCAR1", "corCompSymm", "corSymm", "datasets", "deviance", "fitted",
    "fixef", "formula", "gaussian", "getME", "getVarCov", "get_variance", "glFormula", "glance",
    "glm", "glmer", "gls", "hatvalues", "icc",
    "intervals", "inverse_gaussian", "isSingular", "lFormula", "lm", "lme", "lmer", "logLik",
    "modelStruct", "model_matrix", "ngrps", "nobs", "poisson", "predict", "r2_nakagawa", "ranef",
    "resid",
    "residuals", "sigma", "simulate", "summary", "tidy", "varConstPower", "varExp", "varFixed",
    "update", "varIdent", "varPower", "vcov", "weights",
]
__version__ = "0.1.0"
