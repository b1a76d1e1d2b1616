# Reference values for car::Anova (car 3.1-1), written to tests/reference/anova_car.json.
# Run from the repo root: Rscript tests/reference/anova_car.R  (or through make_reference.R)
source("tests/reference/_exact_json.R")
suppressPackageStartupMessages({library(lme4); library(nlme); library(car)})

sleepstudy <- load_set("sleepstudy", "lme4")
cake <- load_set("cake", "lme4")
cbpp <- load_set("cbpp", "lme4")
Orthodont <- load_set("Orthodont", "nlme")

txt <- function(x) paste(capture.output(print(x)), collapse = "\n")
out <- list()
case <- function(name, code, fit, ...) {
  warn <- character(0)
  a <- withCallingHandlers(Anova(fit, ...), warning = function(w) {
    warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning")})
  b <- if (inherits(fit, "merMod")) fixef(fit) else if (inherits(fit, "lme")) fixef(fit) else coef(fit)
  out[[name]] <<- list(code = code, rownames = I(rownames(a)), colnames = I(colnames(a)),
                       values = lapply(as.list(a), function(col) I(as.numeric(col))),
                       heading = I(attr(a, "heading")), text = txt(a), warnings = I(warn),
                       coef_names = I(names(b)), coef = I(unname(b)),
                       vcov = unname(as.matrix(vcov(fit))),
                       theta = if (inherits(fit, "lmerMod")) I(unname(getME(fit, "theta"))))
}

fs <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
case("sleep_2", "Reaction ~ Days + (Days | Subject)", fs)
case("sleep_3", "Reaction ~ Days + (Days | Subject)", fs, type = 3)
case("sleep_3F", "Reaction ~ Days + (Days | Subject)", fs, type = 3, test.statistic = "F")
f0 <- lmer(Reaction ~ 0 + Days + (1 | Subject), sleepstudy)
case("sleep_noint_2", "Reaction ~ 0 + Days + (1 | Subject)", f0)
case("sleep_noint_3F", "Reaction ~ 0 + Days + (1 | Subject)", f0, type = 3, test.statistic = "F")
fc <- lmer(angle ~ recipe * temperature + (1 | recipe:replicate), cake)
case("cake_2", "angle ~ recipe * temperature + (1 | recipe:replicate)", fc)
case("cake_3", "angle ~ recipe * temperature + (1 | recipe:replicate)", fc, type = 3)
case("cake_2F", "angle ~ recipe * temperature + (1 | recipe:replicate)", fc, type = 2,
     test.statistic = "F")
fcs <- lmer(angle ~ recipe * temperature + (1 | recipe:replicate), cake,
            contrasts = list(recipe = "contr.sum", temperature = "contr.sum"))
case("cake_sum_3", "angle ~ recipe * temperature + (1 | recipe:replicate)", fcs, type = 3)
case("cake_sum_3F", "angle ~ recipe * temperature + (1 | recipe:replicate)", fcs, type = 3,
     test.statistic = "F")
ou <- Orthodont[-c(3, 10, 11, 30, 57, 58, 80), ]
fu <- lmer(distance ~ age * Sex + (age | Subject), ou)
case("orth_unbal_2", "distance ~ age * Sex + (age | Subject)", fu)
case("orth_unbal_2F", "distance ~ age * Sex + (age | Subject)", fu, test.statistic = "F")
case("orth_unbal_3F", "distance ~ age * Sex + (age | Subject)", fu, type = 3, test.statistic = "F")
gb <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)
case("cbpp_2", "cbind(incidence, size - incidence) ~ period + (1 | herd)", gb)
case("cbpp_3", "cbind(incidence, size - incidence) ~ period + (1 | herd)", gb, type = 3)
lc <- lm(angle ~ recipe * temp, cake)
case("lm_cake_2", "angle ~ recipe * temp", lc)
case("lm_cake_3", "angle ~ recipe * temp", lc, type = 3)
ls <- lm(Reaction ~ Days + Subject, sleepstudy)
case("lm_sleep_2", "Reaction ~ Days + Subject", ls)
gp <- glm(incidence ~ period + offset(log(size)), cbpp, family = poisson)
case("glm_pois_2", "incidence ~ period + offset(log(size))", gp)
case("glm_pois_3", "incidence ~ period + offset(log(size))", gp, type = 3)
case("glm_pois_wald", "incidence ~ period + offset(log(size))", gp, test.statistic = "Wald")
gl <- glm(cbind(incidence, size - incidence) ~ period * herd2, 
          transform(cbpp, herd2 = factor(as.integer(herd) %% 2)), family = binomial)
case("glm_binom_2", "cbind(incidence, size - incidence) ~ period * herd2", gl)
case("glm_binom_3", "cbind(incidence, size - incidence) ~ period * herd2", gl, type = 3)
case("glm_binom_wald3", "cbind(incidence, size - incidence) ~ period * herd2", gl, type = 3,
     test.statistic = "Wald")
gg <- glm(Reaction ~ Days + Subject, sleepstudy, family = Gamma(link = "log"))
case("glm_gamma_2", "Reaction ~ Days + Subject", gg)
case("glm_gamma_F2", "Reaction ~ Days + Subject", gg, test.statistic = "F")
case("glm_gamma_F3", "Reaction ~ Days + Subject", gg, type = 3, test.statistic = "F")
lo <- lme(distance ~ age * Sex, data = Orthodont, random = ~ 1 | Subject)
case("lme_orth_2", "distance ~ age * Sex", lo)
case("lme_orth_3", "distance ~ age * Sex", lo, type = 3)
go <- gls(distance ~ age + Sex, data = Orthodont, correlation = corCompSymm(form = ~ 1 | Subject))
case("gls_orth_2", "distance ~ age + Sex", go)
case("gls_orth_3", "distance ~ age + Sex", go, type = 3)
lr <- lm(log(Reaction) ~ Days + I(2 * Days) + Subject, sleepstudy)
case("lm_rankdef_2", "log(Reaction) ~ Days + I(2 * Days) + Subject", lr)
write_json17(out, "tests/reference/anova_car.json")
