# The warnings and messages lme4 1.1-31 and nlme 3.1-162 give, in order, for the cases of
# tests/test_warnings.py (each lmepy warning class is triggered once through the public API).
# Run from the repo root:  Rscript tests/reference/warnings.R  -> tests/reference/warnings.json
# Schema: {"meta": {...}, "cases": {<id>: {"call": R code, "conditions": [{"type": "warning" |
#   "message", "text": conditionMessage without a trailing newline, "n": how many times R
#   gave it}], "error": message or null}}} (each distinct condition once, in R's order).
# The models are written with formulas that lmepy reads the same way (no data preparation).
suppressPackageStartupMessages({library(lme4); library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("lme4")) == "1.1.31",
          as.character(packageVersion("nlme")) == "3.1.162")

collect <- function(code) {
  conds <- list()
  keep <- function(type) function(c) {
    conds[[length(conds) + 1]] <<- list(type = type, text = sub("\n$", "", conditionMessage(c)))
    invokeRestart(if (type == "warning") "muffleWarning" else "muffleMessage")
  }
  err <- tryCatch({
    withCallingHandlers(eval(parse(text = code), envir = globalenv()),
                        warning = keep("warning"), message = keep("message"))
    NULL
  }, error = function(e) conditionMessage(e))
  key <- vapply(conds, function(c) paste(c$type, c$text), "")
  first <- conds[!duplicated(key)]
  for (i in seq_along(first))
    first[[i]]$n <- sum(key == paste(first[[i]]$type, first[[i]]$text))
  list(call = code, conditions = first, error = err)
}

fm1 <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
fm0 <- lmer(Reaction ~ 1 + (Days | Subject), sleepstudy)
fitS <- suppressMessages(lmer(Yield ~ 1 + (1 | Batch), Dyestuff2))
lm1 <- lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject)
lm2 <- lme(distance ~ age + Sex, data = Orthodont, random = ~ 1 | Subject)

cases <- list(
  singular = "lmer(Yield ~ 1 + (1 | Batch), data = Dyestuff2)",
  singular_confint = "confint(fitS, oldNames = FALSE)",
  rank = "lmer(Reaction ~ Days + I(2 * Days) + (1 | Subject), data = sleepstudy)",
  scale = "lmer(Reaction ~ I(Days * 1e6) + (1 | Subject), data = sleepstudy)",
  refit = "anova(fm0, fm1)",
  eigenvalue = "glmer(cbind(incidence, size - incidence) ~ I(as.numeric(period) * 100) + (1 | herd), data = cbpp, family = binomial)",
  nans = "lmer(Reaction ~ sqrt(Days - 1) + (1 | Subject), data = sleepstudy)",
  deviance_reml = "deviance(fm1)",
  glmer_gaussian = "glmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, family = gaussian)",
  lme_anova_reml = "anova(lm1, lm2)",
  summary_after_singular = "summary(fitS)",
  poisson_noninteger = "glmer(I(incidence + 0.5) ~ period + (1 | herd), data = cbpp, family = poisson)"
)
out <- lapply(cases, collect)
meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             nlme = as.character(packageVersion("nlme")))
writeLines(toJSON(list(meta = meta, cases = out), auto_unbox = TRUE, pretty = TRUE, null = "null"),
           "tests/reference/warnings.json")
