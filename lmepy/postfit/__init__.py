"""After the fit: what an R analysis calls next on a fitted mixed model.

This stage sits above the fit objects (lmepy/results, lmepy/lme) and below the public API.
Each module has one job and one R counterpart:

* :mod:`.variance`: insight's ``get_variance`` (the variance components of Nakagawa et al.),
* :mod:`.r2`: performance's ``r2_nakagawa`` and ``icc``,
* :mod:`.tidy`: broom.mixed's ``tidy`` and ``glance``,
* :mod:`.augment`: broom.mixed's ``augment`` (with lme4's ``hatvalues`` and
  ``cooks.distance``),
* :mod:`.anova_car`: car's ``Anova`` (type II/III Wald, F and likelihood-ratio tests).
"""

from lmepy.postfit.anova_car import Anova
from lmepy.postfit.augment import augment, hatvalues
from lmepy.postfit.r2 import ICC, R2Nakagawa, icc, r2_nakagawa
from lmepy.postfit.tidy import glance, tidy
from lmepy.postfit.variance import get_variance

__all__ = ["Anova", "ICC", "R2Nakagawa", "augment", "get_variance", "glance", "hatvalues", "icc",
           "r2_nakagawa", "tidy"]
