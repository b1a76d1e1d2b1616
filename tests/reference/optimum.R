# How precise lme4's own optimum is: for every case of lmer.json, lme4's objective minimized
# again from lme4's fitted theta with BOBYQA stopped only by rounding (nloptr, xtol_rel 1e-12,
# ftol_abs 0, restarted from its own end point until it no longer moves). Run from the repo
# root after lmer.R (it reads tests/reference/lmer.json):
#   Rscript tests/reference/optimum.R        -> tests/reference/optimum.json
#
# Why: lme4 stops BOBYQA at xtol_rel 1e-4, so its estimates sit a little above the true minimum
# of the objective; another optimizer path (another BLAS kernel's rounding is enough) ends at
# another point equally close. tests/test_fit_lmm.py measures how far each end point is above
# the minimum found here and derives the tolerance of the estimates from that excess and the
# standard errors.
#
# Schema: {"meta": {...}, "cases": {<id>: {objective_lme4 (lme4's fitted objective, as in
#   lmer.json), objective_min, theta_min, beta_min (fixef at theta_min: pp$beta(1)), feval}}};
#   for each REML case also "<id>:refitML": the same for lme4's refitML(fit) (the ML fit that
#   profile() starts from; objective_lme4 = deviance(refitML(fit))).
suppressPackageStartupMessages({
  library(lme4)
  library(nloptr)
  library(jsonlite)
})
stopifnot(packageVersion("lme4") == "1.1.31")
source("tests/reference/_exact_json.R")

ref <- fromJSON("tests/reference/lmer.json", simplifyVector = FALSE)$cases
pkg_of <- c(Orthodont = "nlme")

# minimize devfun again from theta until BOBYQA no longer moves (stopped by rounding only)
polish <- function(devfun, theta, lower) {
  best <- theta
  fbest <- devfun(theta)
  feval <- 0
  repeat {
    o <- nloptr(best, function(x) devfun(x), lb = lower,
                opts = list(algorithm = "NLOPT_LN_BOBYQA", xtol_rel = 1e-12, xtol_abs = 0,
                            ftol_abs = 0, ftol_rel = 0, maxeval = 10000))
    feval <- feval + o$iterations
    if (!(o$objective < fbest)) break
    moved <- max(abs(o$solution - best))
    best <- o$solution
    fbest <- o$objective
    if (moved == 0) break
  }
  fbest <- devfun(best)
  list(objective_min = fbest, theta_min = I(best),
       beta_min = I(as.numeric(environment(devfun)$pp$beta(1))), feval = feval)
}

res <- list()
for (id in names(ref)) {
  cs <- ref[[id]]
  message("-- ", id)
  pkg <- if (cs$data %in% names(pkg_of)) pkg_of[[cs$data]] else "lme4"
  d <- load_set(cs$data, pkg)
  if (!is.null(cs$data_extra)) for (nm in names(cs$data_extra)) d[[nm]] <- unlist(cs$data_extra[[nm]])
  env <- new.env()
  assign(cs$data, d, envir = env)
  call_of <- function(REML, devFunOnly) {
    cl <- bquote(lmer(.(as.formula(cs$formula)), data = .(as.name(cs$data)), REML = .(REML)))
    if (devFunOnly) cl$devFunOnly <- TRUE
    if (!is.null(cs$weights)) cl$weights <- as.name(cs$weights)
    cl
  }
  theta <- as.numeric(unlist(cs$theta))
  lower <- vapply(cs$lower, function(v) if (identical(v, "-Inf")) -Inf else as.numeric(v), 0)
  p <- polish(eval(call_of(cs$REML, TRUE), envir = env), theta, lower)
  res[[id]] <- c(list(objective_lme4 = cs$objective), p)
  message(sprintf("   lme4 - min = %.3g (%.3g relative), %d evaluations",
                  cs$objective - p$objective_min, (cs$objective - p$objective_min) /
                    abs(p$objective_min), p$feval))
  if (cs$REML) {
    # the ML refit that profile() and anova() start from: lme4's refitML(fit)
    fit <- suppressMessages(suppressWarnings(eval(call_of(TRUE, FALSE), envir = env)))
    ml <- suppressMessages(suppressWarnings(refitML(fit)))
    p <- polish(eval(call_of(FALSE, TRUE), envir = env), as.numeric(getME(ml, "theta")), lower)
    res[[paste0(id, ":refitML")]] <- c(list(objective_lme4 = deviance(ml)), p)
    message(sprintf("   refitML: lme4 - min = %.3g", deviance(ml) - p$objective_min))
  }
}
meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             nloptr = as.character(packageVersion("nloptr")))
write_json17(list(meta = meta, cases = res), "tests/reference/optimum.json")
