# lme4 1.1-31's Wald intervals of glmer fits (tests/test_glmer_confint.py).
# Run from the repo root:  Rscript tests/reference/glmer_confint.R  -> tests/reference/glmer_confint.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
stopifnot(as.character(packageVersion("lme4")) == "1.1.31")
ci <- function(fit, level) {
  x <- suppressWarnings(confint(fit, method = "Wald", level = level))
  list(rows = rownames(x), cols = colnames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
}
gm1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp,
             family = binomial)
gm2 <- suppressWarnings(glmer(Reaction ~ Days + (1 | Subject), sleepstudy,
                              family = Gamma(link = "log")))
out <- list(
  cbpp = c(list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                data = "cbpp", family = "binomial", link = "logit", level = 0.95,
                fixef = unname(fixef(gm1))), ci(gm1, 0.95)),
  sleep_gamma = c(list(formula = "Reaction ~ Days + (1 | Subject)", data = "sleepstudy",
                       family = "Gamma", link = "log", level = 0.9,
                       fixef = unname(fixef(gm2))), ci(gm2, 0.9)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/glmer_confint.json")
