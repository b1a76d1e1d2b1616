# lme4's optimum for fits that issue 11 names outside lmer.json (bench/objective_vs_r.py and
# tests/test_fit_lmm.py read it): the flat-ridge fit Reaction ~ 0 + Days + (Days | Subject)
# (ML), where an optimizer stopping on ftol/xtol may end slightly above or below lme4, and
# the bench's Chem97 model; and R's var() of one column.
# Run from the repo root: Rscript tests/reference/objective_vs_r.R
suppressPackageStartupMessages({library(lme4); library(mlmRev)})
source("tests/reference/_exact_json.R")
stopifnot(packageVersion("lme4") == "1.1.31")
cases <- list(
  ss_noint_ml = list(formula = "Reaction ~ 0 + Days + (Days | Subject)", data = "sleepstudy",
                     pkg = "lme4", REML = FALSE),
  chem97_ml = list(formula = "score ~ gcsecnt + (1 | school) + (1 | lea)", data = "Chem97",
                   pkg = "mlmRev", REML = FALSE)
)
out <- list()
for (id in names(cases)) {
  cs <- cases[[id]]
  d <- load_set(cs$data, cs$pkg)
  m <- lmer(as.formula(cs$formula), data = d, REML = cs$REML)
  out[[id]] <- list(id = id, formula = cs$formula, data = cs$data, REML = cs$REML,
                    weights = NULL, data_extra = NULL,
                    objective = if (cs$REML) REMLcrit(m) else deviance(m),
                    feval = m@optinfo$feval, theta = I(unname(getME(m, "theta"))),
                    beta = as.list(fixef(m)))
}
# R's var() (long-double mean with correction): lmer's start for (1 | g) models uses it
ss <- load_set("sleepstudy", "lme4")
write_json17(list(lme4 = as.character(packageVersion("lme4")), lmer = out,
                  var = list(sleepstudy_Reaction = var(ss$Reaction))),
             "tests/reference/objective_vs_r.json")
