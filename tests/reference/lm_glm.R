# Reference values for lm() and glm() (R's stats), written to tests/reference/lm_glm.json.
# Run from the repo root: Rscript tests/reference/lm_glm.R  (or through make_reference.R)
source("tests/reference/_exact_json.R")
suppressPackageStartupMessages(library(lme4))

sleepstudy <- load_set("sleepstudy", "lme4")
cake <- load_set("cake", "lme4")
cbpp <- load_set("cbpp", "lme4")

txt <- function(x) paste(capture.output(print(x)), collapse = "\n")

anova_rec <- function(a) list(rownames = I(rownames(a)), colnames = I(colnames(a)),
                              values = lapply(as.list(a), function(col) I(as.numeric(col))),
                              text = txt(a))

case <- function(name, m, kind, code, nd = NULL) {
  s <- summary(m)
  cf <- coef(m)
  rec <- list(
    code = code, kind = kind,
    coef_names = I(names(cf)), coef = I(unname(cf)),
    coefmat = list(rownames = I(rownames(coef(s))), colnames = I(colnames(coef(s))),
                   values = lapply(seq_len(ncol(coef(s))), function(j) I(unname(coef(s)[, j])))),
    vcov = unname(vcov(m)),
    deviance = deviance(m), logLik = as.numeric(logLik(m)), logLik_df = attr(logLik(m), "df"),
    AIC = AIC(m), BIC = BIC(m), nobs = nobs(m), df_residual = df.residual(m),
    fitted = I(unname(fitted(m))),
    summary_text = txt(s),
    print_text = txt(m),
    anova = anova_rec(if (kind == "lm") anova(m) else anova(m, test = "Chisq")),
    confint = I(unname(if (kind == "lm") confint(m) else confint.default(m)))
  )
  if (kind == "glm") rec$confint_profile <- unname(suppressMessages(confint(m)))
  if (kind == "lm") {
    rec$residuals <- list(response = I(unname(residuals(m))))
    rec$sigma <- sigma(m)
  } else {
    rec$residuals <- lapply(c(deviance = "deviance", pearson = "pearson", working = "working",
                              response = "response"),
                            function(t) I(unname(residuals(m, type = t))))
  }
  if (!is.null(nd)) {
    rec$newdata_rows <- I(nd)
    newd <- get(sub("[,)].*", "", sub(".*data = ", "", code)))[nd, ]
    if (kind == "lm") {
      p <- predict(m, newd, se.fit = TRUE)
      rec$predict <- list(fit = I(unname(p$fit)), se_fit = I(unname(p$se.fit)),
                          df = p$df, residual_scale = p$residual.scale)
      pc <- predict(m, newd, interval = "confidence")
      pp <- suppressWarnings(predict(m, newd, interval = "prediction"))
      rec$predict$confidence <- lapply(1:3, function(j) I(unname(pc[, j])))
      rec$predict$prediction <- lapply(1:3, function(j) I(unname(pp[, j])))
    } else {
      p <- predict(m, newd, se.fit = TRUE)
      pr <- predict(m, newd, se.fit = TRUE, type = "response")
      rec$predict <- list(fit = I(unname(p$fit)), se_fit = I(unname(p$se.fit)),
                          residual_scale = p$residual.scale,
                          fit_response = I(unname(pr$fit)), se_fit_response = I(unname(pr$se.fit)))
    }
  }
  rec
}

ev <- function(code) eval(parse(text = code))
cases <- list()
add <- function(name, code, kind, nd = NULL) {
  m <- ev(code)
  cases[[name]] <<- case(name, m, kind, code, nd)
  m
}

m_sleep <- add("lm_sleep", "lm(Reaction ~ Days, data = sleepstudy)", "lm", c(1, 5, 30, 180))
m_cake <- add("lm_cake", "lm(angle ~ recipe * temperature, data = cake)", "lm", c(1, 20, 100, 270))
m_w <- add("lm_weighted", "lm(incidence/size ~ period, data = cbpp, weights = size)", "lm",
           c(1, 2, 3, 4))
m_rd <- add("lm_rankdef", "lm(log(Reaction) ~ Days + I(2 * Days) + Subject, data = sleepstudy)", "lm",
            c(1, 11, 100))
g_logit <- add("glm_logit", "glm(cbind(incidence, size - incidence) ~ period, family = binomial, data = cbpp)",
               "glm", c(1, 2, 3, 4))
g_probit <- add("glm_probit", "glm(incidence/size ~ period, family = binomial(link = \"probit\"), data = cbpp, weights = size)",
                "glm", c(1, 2, 3, 4))
g_pois <- add("glm_poisson_offset", "glm(incidence ~ period + offset(log(size)), family = poisson, data = cbpp)",
              "glm", c(1, 2, 3, 4))
g_gamma <- add("glm_gamma_log", "glm(Reaction ~ Days, family = Gamma(link = \"log\"), data = sleepstudy)",
               "glm", c(1, 5, 30, 180))
g_gauss <- add("glm_gaussian", "glm(Reaction ~ Days, data = sleepstudy)", "glm", c(1, 5))
g_ig <- add("glm_invgauss", "glm(Reaction ~ Days + Subject, family = inverse.gaussian(link = \"log\"), data = sleepstudy)",
            "glm", c(1, 5))

# no intercept; intercept only
m_noint <- add("lm_noint", "lm(Reaction ~ 0 + Days, data = sleepstudy)", "lm", c(1, 5))
m_int <- add("lm_intercept_only", "lm(Reaction ~ 1, data = sleepstudy)", "lm", c(1, 5))
g_int <- add("glm_intercept_only", "glm(cbind(incidence, size - incidence) ~ 1, family = binomial, data = cbpp)",
             "glm", c(1, 2))
g_noint <- add("glm_poisson_noint", "glm(incidence ~ 0 + period, family = poisson(link = \"sqrt\"), data = cbpp)",
               "glm", c(1, 2))

# missing values (na.omit) and subset
sleepNA <- sleepstudy
na_rows <- c(3L, 50L, 51L)
sleepNA$Reaction[na_rows] <- NA
m_na <- add("lm_subset_na", "lm(Reaction ~ Days, data = sleepNA, subset = Days >= 2)", "lm", c(3, 5))
m_excl <- add("lm_na_exclude", "lm(Reaction ~ Days, data = sleepNA, na.action = na.exclude)", "lm", c(3, 5))
g_excl <- add("glm_na_exclude", "glm(Reaction ~ Days, family = Gamma(link = \"log\"), data = sleepNA, na.action = na.exclude)",
              "glm", c(3, 5))
g_na <- add("glm_na", "glm(Reaction ~ Days, family = Gamma(link = \"log\"), data = sleepNA)", "glm", c(1, 3))

# comparisons
m_sleep0 <- lm(Reaction ~ 1, data = sleepstudy)
m_sleep2 <- lm(Reaction ~ Days + Subject, data = sleepstudy)
g_logit0 <- glm(cbind(incidence, size - incidence) ~ 1, family = binomial, data = cbpp)
g_gamma2 <- glm(Reaction ~ Days + Subject, family = Gamma(link = "log"), data = sleepstudy)
fm1 <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
fm_lm <- m_sleep
gm1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
gm_glm <- g_logit
comparisons <- list(
  lmer_lm = anova_rec(suppressMessages(anova(fm1, fm_lm))),
  glmer_glm = anova_rec(anova(gm1, gm_glm)),
  lm_F = anova_rec(anova(m_sleep0, m_sleep, m_sleep2)),
  lm_Chisq = anova_rec(anova(m_sleep, m_sleep2, test = "Chisq")),
  glm_Chisq = anova_rec(anova(g_logit0, g_logit, test = "Chisq")),
  glm_LRT = anova_rec(anova(g_logit0, g_logit, test = "LRT")),
  glm_none = anova_rec(anova(g_logit0, g_logit)),
  glm_F = anova_rec(anova(g_gamma, g_gamma2, test = "F")),
  glm_seq_F = anova_rec(anova(g_gamma2, test = "F")),
  glm_seq_none = anova_rec(anova(g_pois))
)

profile_period2_90 <- I(unname(suppressMessages(confint(g_logit, parm = "period2", level = 0.9))))
write_json17(list(versions = list(R = R.version.string), na_rows = I(na_rows),
                  profile_period2_90 = profile_period2_90, cases = cases, comparisons = comparisons),
             "tests/reference/lm_glm.json")
