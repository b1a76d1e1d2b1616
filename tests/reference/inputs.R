# Reference values for input handling (tests/test_inputs.py), written to tests/reference/inputs.json.
# Run from the repo root: Rscript tests/reference/inputs.R  (or through make_reference.R).
# R 4.x, lme4 1.1-31, nlme 3.1-162.
suppressPackageStartupMessages({
  library(lme4)
  library(nlme)
})
source("tests/reference/_exact_json.R")

err <- function(expr) tryCatch({ expr; NA_character_ }, error = function(e) conditionMessage(e))
out <- list()

## control names (Python spelling: dots -> underscores)
out$control_names <- list(
  lmerControl = names(formals(lme4::lmerControl)),
  glmerControl = names(formals(lme4::glmerControl)),
  lmeControl = names(nlme::lmeControl()),
  glsControl = names(nlme::glsControl()))

## a Date predictor: R uses the number of days since 1970-01-01
ss <- load_set("sleepstudy", "lme4")
ss$Date <- as.Date("2020-01-01") + ss$Days
m <- lmer(Reaction ~ Date + (1 | Subject), ss)
out$date <- list(origin_days = as.numeric(as.Date("2020-01-01")), fixef = fixef(m),
                 logLik = as.numeric(logLik(m)), theta = unname(getME(m, "theta")),
                 sigma = sigma(m))

## factor() of doubles: levels are as.character() (15 significant digits)
x <- c(0.1 + 0.2, 0.3, 1 / 3, 1 - 2 / 3, 2)
out$float_levels <- list(x = x, levels = levels(factor(x)), codes = as.integer(factor(x)))
ss$g <- rep(c(0.1 + 0.2, 0.3, 0.7, 1 / 3, 1 - 2 / 3, 2), length.out = nrow(ss))
m <- lmer(Reaction ~ Days + (1 | g), ss)
out$float_grouping <- list(g = ss$g, ngrps = unname(ngrps(m)), levels = levels(m@flist$g),
                           logLik = as.numeric(logLik(m)), fixef = fixef(m))
## nlme's grouping by a double column
m <- lme(Reaction ~ Days, ss, random = ~ 1 | g)
out$float_grouping_lme <- list(levels = rownames(ranef(m)), logLik = as.numeric(logLik(m)))

## glmer(binomial) responses: character is an error, factor (first level = failure) and
## logical are fitted
cb <- load_set("cbpp", "lme4")
cb$ychr <- ifelse(cb$incidence > 0, "yes", "no")
cb$yfac <- factor(cb$ychr)
out$binomial_response <- list(
  character_error = err(glmer(ychr ~ period + (1 | herd), cb, family = binomial)),
  factor_fixef = fixef(glmer(yfac ~ period + (1 | herd), cb, family = binomial)),
  y = cb$ychr)

## non-finite values: R stops
ss2 <- ss
ss2$Days[3] <- Inf
out$inf_predictor_error <- err(lmer(Reaction ~ Days + (1 | Subject), ss2))
ss3 <- ss
ss3$w <- 1e300
out$huge_weights_error <- err(lmer(Reaction ~ Days + (1 | Subject), ss3, weights = w))

## a variance covariate with one huge value: nlme fits it
ot <- load_set("Orthodont", "nlme")
ot$v <- as.numeric(ot$age)
ot$v[4] <- 1e300
m <- lme(distance ~ age, ot, random = ~ 1 | Subject, weights = varPower(form = ~ v))
out$huge_variance_covariate <- list(logLik = as.numeric(logLik(m)),
                                    power = unname(coef(m$modelStruct$varStruct,
                                                        unconstrained = FALSE)))

write_json17(out, "tests/reference/inputs.json")
