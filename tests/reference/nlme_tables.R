# nlme's tables as numbers (issue 14: "nlme's tables are text, not tables"): anova() of one
# lme or gls fit, intervals() of an lme fit, and the printed variance function of a varPower
# with strata in an lme summary.
# Run from the repo root (nlme 3.1-162):  Rscript tests/reference/nlme_tables.R
# Writes tests/reference/nlme_tables.json.
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")

txt <- function(x) paste(capture.output(print(x)), collapse = "\n")
frame <- function(a) {
  a <- as.data.frame(a)
  list(rownames = rownames(a), columns = names(a),
       values = lapply(a, function(v) if (is.factor(v)) as.character(v) else v))
}
ivtab <- function(m) list(rownames = rownames(m), values = unname(split(m, row(m))))

out <- list()
fm <- lme(distance ~ age * Sex, data = Orthodont, random = ~ 1 | Subject)
out$lme_anova <- c(frame(anova(fm)), text = txt(anova(fm)), logLik = as.numeric(logLik(fm)))
iv <- intervals(fm)
out$lme_intervals <- list(fixed = ivtab(iv$fixed),
                          reStruct = lapply(iv$reStruct, function(x) ivtab(as.matrix(x))),
                          sigma = as.numeric(iv$sigma))
g <- gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary,
         correlation = corAR1(form = ~ 1 | Mare))
out$gls_anova <- c(frame(anova(g)), text = txt(anova(g)))
vp <- lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject,
          weights = varPower(form = ~ age | Sex))
s <- capture.output(print(summary(vp)))
i <- grep("^Variance function:", s)
out$lme_varpower_strata <- list(logLik = as.numeric(logLik(vp)),
                                power = as.list(coef(vp$modelStruct$varStruct,
                                                     unconstrained = FALSE)),
                                varfunc_lines = s[i:(i + 2)])
cs <- lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject, correlation = corSymm())
p <- capture.output(print(cs))
i <- grep("^Correlation Structure", p)
out$lme_corsymm <- list(logLik = as.numeric(logLik(cs)), corstruct_lines = p[i:(i + 8)])
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           "tests/reference/nlme_tables.json")
