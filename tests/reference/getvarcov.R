# nlme's getVarCov() and its printing, for lme and gls fits.
# Run from the repo root (R 4.2.2, nlme 3.1-162):  Rscript tests/reference/getvarcov.R
#   -> tests/reference/getvarcov.json
# Schema: {"meta": {...}, "cases": {<id>: {fit (key of a fit below), args ({individuals,
#   individual, type}), text (print(getVarCov(fit, ...))), values ({name: matrix rows}) or
#   error (the message)}}, "fits": {<key>: {call, py, modelStruct, modelStruct_unconstrained}}}.
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")
source("tests/reference/_exact_json.R")
txt <- function(x) paste(capture.output(print(x)), collapse = "\n")

fits <- list(
  orth = list(call = "lme(distance ~ age, data = Orthodont, random = ~ age | Subject)",
    py = list(fixed = "distance ~ age", data = "Orthodont", random = "~ age | Subject")),
  ovary = list(call = "lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, random = pdDiag(~sin(2*pi*Time)), correlation = corAR1())",
    py = list(fixed = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary",
              random = list(Mare = "pdDiag(~ sin(2*pi*Time))"), correlation = "corAR1()")),
  bw = list(call = "lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, weights = varIdent(form = ~ 1 | Diet))",
    py = list(fixed = "weight ~ Time * Diet", data = "BodyWeight", random = "~ Time | Rat",
              weights = "varIdent(form = ~ 1 | Diet)")),
  pixel = list(call = "lme(pixel ~ day, data = Pixel, random = ~ 1 | Dog/Side)",
    py = list(fixed = "pixel ~ day", data = "Pixel", random = "~ 1 | Dog/Side")),
  gls_ar1 = list(call = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, correlation = corAR1(form = ~ 1 | Mare), weights = varPower())",
    py = list(model = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary",
              correlation = "corAR1(form = ~ 1 | Mare)", weights = "varPower()")),
  gls_ar1_plain = list(call = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, correlation = corAR1(form = ~ 1 | Mare))",
    py = list(model = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary",
              correlation = "corAR1(form = ~ 1 | Mare)")),
  gls_iid = list(call = "gls(distance ~ age, data = Orthodont)",
    py = list(model = "distance ~ age", data = "Orthodont"))
)
fitted <- lapply(fits, function(f) eval(parse(text = f$call)))
cases <- list(
  orth_re = list(fit = "orth", args = list()),
  orth_cond = list(fit = "orth", args = list(individuals = "M01", type = "conditional")),
  orth_marg = list(fit = "orth", args = list(individuals = c("M01", "F02"), type = "marginal")),
  orth_marg_num = list(fit = "orth", args = list(individuals = c(3, 20), type = "marginal")),
  ovary_cond = list(fit = "ovary", args = list(individuals = 1, type = "conditional")),
  ovary_marg = list(fit = "ovary", args = list(individuals = "5", type = "marginal")),
  bw_marg = list(fit = "bw", args = list(individuals = c("1", "9"), type = "marginal")),
  pixel_re = list(fit = "pixel", args = list()),
  gls_ar1 = list(fit = "gls_ar1", args = list(individual = 2)),
  gls_ar1_default = list(fit = "gls_ar1", args = list()),
  gls_ar1_plain = list(fit = "gls_ar1_plain", args = list(individual = "3")),
  gls_iid = list(fit = "gls_iid", args = list())
)
out_cases <- lapply(cases, function(cs) {
  v <- tryCatch(do.call(getVarCov, c(list(fitted[[cs$fit]]), cs$args)),
                error = function(e) e)
  if (inherits(v, "error")) return(c(cs, list(error = conditionMessage(v))))
  ms <- if (is.list(v)) unclass(v) else list(unclass(v))
  vals <- lapply(seq_along(ms), function(i) unname(as.matrix(ms[[i]])))
  c(cs, list(text = txt(v), values = vals))
})
out_fits <- lapply(names(fits), function(k) {
  f <- fitted[[k]]
  c(fits[[k]], list(modelStruct = as.list(coef(f$modelStruct, unconstrained = FALSE)),
                    modelStruct_unconstrained = as.list(coef(f$modelStruct, unconstrained = TRUE)),
                    logLik = as.numeric(logLik(f))))
})
names(out_fits) <- names(fits)
write_json17(list(meta = list(R = R.version.string, nlme = as.character(packageVersion("nlme"))),
                  cases = out_cases, fits = out_fits), "tests/reference/getvarcov.json")
