# R's update(): formula algebra (update.formula) and update chains on lmer, glmer, lme, gls,
# lm and glm fits, with keyword overrides (REML, data, nAGQ, method, random, correlation,
# family). Run from the repo root (R 4.x, lme4 1.1-31, nlme 3.1-162):
#   Rscript tests/reference/update.R  -> tests/reference/update.json
# Schema: {"formulas": [[old, new, R's update(old, new)], ...],
#   "chains": {<id>: [step, ...]}: the first step is the fit {r, fun, args}, each later one
#   {r, update (the formula, or absent), overrides} applied to the step before it; every step records
#   formula (deparse(formula(fit))), estimates (fixef/coef, named), loglik.
suppressPackageStartupMessages({library(lme4); library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("lme4")) == "1.1.31")
source("tests/reference/_exact_json.R")
data(Orthodont, Ovary, package = "nlme")
Orthodont <- as.data.frame(Orthodont); Ovary <- as.data.frame(Ovary)

formulas <- list(
  c("Reaction ~ Days + (Days | Subject)", ". ~ . - Days"),
  c("Reaction ~ Days + (Days | Subject)", ". ~ . - (Days | Subject) + (1 | Subject)"),
  c("Reaction ~ Days + (Days | Subject)", ". ~ . - z"),
  c("Reaction ~ Days + (Days | Subject)", "log(.) ~ ."),
  c("Reaction ~ Days + (Days | Subject)", "~ . : x"),
  c("Reaction ~ Days + (Days | Subject)", ". ~ . + I(x^2)"),
  c("y ~ a*b", ". ~ . - a:b"),
  c("y ~ a*b + offset(w)", ". ~ . - a"),
  c("y ~ 0 + a", ". ~ . + b"),
  c("y ~ a + b -1", "~ . + 1"),
  c("y ~ a", ". ~ 1"),
  c("y ~ a", ". ~ . - 1"),
  c("y ~ a + (a || g)", ". ~ . - a"),
  c("y ~ a", "~ ."),
  c("y ~ a", "z ~ ."),
  c("cbind(s, f) ~ a", ". ~ . + b"),
  c("y ~ a + b", ". ~ .^2"),
  c("y ~ a", ". ~ . + (1|g/h)"),
  c("y ~ log(x) + b", ". ~ . - log(x)"),
  c("~ a + b", ". ~ . - b"),
  c("y ~ a", "~ . -a"),
  c("y ~ a", "~ . -a - 1"),
  c("y ~ a + b + c", ". ~ . - b + d:a"),
  c("y ~ x", ". ~ . * f")
)
formulas <- lapply(formulas, function(p)
  c(p, paste(deparse(update(as.formula(p[1]), as.formula(p[2]))), collapse = "")))

est <- function(fit) {
  if (inherits(fit, "merMod")) fixef(fit) else if (inherits(fit, "lme")) fixef(fit) else coef(fit)
}
record <- function(fit) {
  out <- list(formula = paste(deparse(formula(fit)), collapse = ""),
              estimates = as.list(est(fit)), loglik = as.numeric(logLik(fit)))
  # lm/glm print their call: update() rewrites it with the new formula and arguments
  if (class(fit)[1] %in% c("lm", "glm")) out$call <- deparse(fit$call)
  out
}

# each chain: the fit, then updates; `formula`/`overrides` are the Python side of each update
chains <- list(
  lmer_drop_fixed = list(
    list(r = "lmer(Reaction ~ Days + (Days | Subject), sleepstudy)", fun = "lmer",
         args = list(formula = "Reaction ~ Days + (Days | Subject)", data = "sleepstudy")),
    list(r = "update(prev, . ~ . - Days)", update = ". ~ . - Days"),
    list(r = "update(prev, . ~ . + Days, REML = FALSE)", update = ". ~ . + Days",
         overrides = list(REML = FALSE))),
  lmer_swap_random = list(
    list(r = "lmer(Reaction ~ Days + (Days | Subject), sleepstudy)", fun = "lmer",
         args = list(formula = "Reaction ~ Days + (Days | Subject)", data = "sleepstudy")),
    list(r = "update(prev, . ~ . - (Days | Subject) + (1 | Subject))",
         update = ". ~ . - (Days | Subject) + (1 | Subject)"),
    list(r = "update(prev, . ~ . + (0 + Days | Subject))", update = ". ~ . + (0 + Days | Subject)")),
  lmer_absent_term_and_subset = list(
    list(r = "lmer(Reaction ~ Days + (Days | Subject), sleepstudy)", fun = "lmer",
         args = list(formula = "Reaction ~ Days + (Days | Subject)", data = "sleepstudy")),
    list(r = "update(prev, . ~ . - z)", update = ". ~ . - z"),
    list(r = "update(prev, data = subset(sleepstudy, Days >= 2))",
         overrides = list(data = list(dataset = "sleepstudy", query = "Days >= 2"))),
    list(r = "update(prev, REML = FALSE)", overrides = list(REML = FALSE))),
  lmer_log_response = list(
    list(r = "lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE)", fun = "lmer",
         args = list(formula = "Reaction ~ Days + (1 | Subject)", data = "sleepstudy", REML = FALSE)),
    list(r = "update(prev, log(.) ~ . + I(Days^2))", update = "log(.) ~ . + I(Days^2)")),
  glmer_cbpp = list(
    list(r = "glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)",
         fun = "glmer", args = list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                    data = "cbpp", family = "binomial")),
    list(r = "update(prev, . ~ . - period)", update = ". ~ . - period"),
    list(r = "update(prev, nAGQ = 5)", overrides = list(nAGQ = 5))),
  lme_orthodont = list(
    list(r = "lme(distance ~ age, data = Orthodont, random = ~ age | Subject)", fun = "lme",
         args = list(fixed = "distance ~ age", data = "Orthodont", random = "~ age | Subject")),
    list(r = "update(prev, . ~ . + Sex)", update = ". ~ . + Sex"),
    list(r = "update(prev, method = 'ML')", overrides = list(method = "ML")),
    list(r = "update(prev, random = ~ 1 | Subject)", overrides = list(random = "~ 1 | Subject"))),
  gls_ovary = list(
    list(r = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary)", fun = "gls",
         args = list(model = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary")),
    list(r = "update(prev, correlation = corAR1(form = ~ 1 | Mare))",
         overrides = list(correlation = "corAR1(form = ~ 1 | Mare)")),
    list(r = "update(prev, . ~ . - cos(2 * pi * Time))", update = ". ~ . - cos(2*pi*Time)")),
  lm_sleep = list(
    list(r = "lm(Reaction ~ Days, sleepstudy)", fun = "lm",
         args = list(formula = "Reaction ~ Days", data = "sleepstudy")),
    list(r = "update(prev, log(.) ~ .)", update = "log(.) ~ ."),
    list(r = "update(prev, . ~ . + I(Days^2))", update = ". ~ . + I(Days^2)"),
    list(r = "update(prev, ~ . : Subject)", update = "~ . : Subject")),
  lmer_weights = list(
    list(r = "lmer(Reaction ~ Days + (1 | Subject), sleepstudy)", fun = "lmer",
         args = list(formula = "Reaction ~ Days + (1 | Subject)", data = "sleepstudy")),
    list(r = "update(prev, weights = Days + 1)",
         overrides = list(weights = list(array = sleepstudy$Days + 1))),
    list(r = "update(prev, . ~ . + I(Days^2))", update = ". ~ . + I(Days^2)")),
  glm_cbpp = list(
    list(r = "glm(cbind(incidence, size - incidence) ~ period, binomial, cbpp)", fun = "glm",
         args = list(formula = "cbind(incidence, size - incidence) ~ period", data = "cbpp",
                     family = "binomial")),
    list(r = "update(prev, family = binomial(link = 'probit'))",
         overrides = list(family = list(family = "binomial", link = "probit"))),
    list(r = "update(prev, . ~ 1)", update = ". ~ 1"))
)

out_chains <- lapply(chains, function(steps) {
  prev <- NULL
  lapply(steps, function(s) {
    fit <- eval(parse(text = s$r))
    prev <<- fit
    c(s[setdiff(names(s), "r")], list(r = s$r), record(fit))
  })
})

write_json17(list(meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                       nlme = as.character(packageVersion("nlme"))),
                  formulas = formulas, chains = out_chains), "tests/reference/update.json")
