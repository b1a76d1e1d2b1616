"""fit stage: objectives, optimizers and solutions.

LMMs: ``lmepy.fit.lmm.make_devfun(model, REML)`` is lme4's devfun (profiled deviance or REML
criterion as a function of theta) and ``lmepy.fit.lmm.fit_lmm(model, REML, control)`` returns an
``LmmSolution``. Both rest on ``lmepy.fit.blocks``: ``cross_products(terms, X, y, weights)``
reduces the data rows once, ``BlockedCholesky`` factors for each theta (Cython kernels in
``lmepy/kernels/blocked.pyx``). ``lmepy.fit.optimize`` holds BOBYQA with lme4's settings and
lme4's post-fit checks. GLMMs: ``lmepy.fit.glmm``.
"""
