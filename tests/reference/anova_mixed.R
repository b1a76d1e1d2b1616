# nlme's anova() across gls and lme fits (anova.gls hands several fits to anova.lme), and
# nlme's and lme4's messages for the robustness cases of tests/test_fuzz_formulas.py and
# tests/test_anova_mixed.py.
# Run from the repo root (nlme 3.1-162, lme4 1.1-31):  Rscript tests/reference/anova_mixed.R
# Writes tests/reference/anova_mixed.json.
suppressPackageStartupMessages({library(nlme); library(lme4); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")

txt <- function(x) paste(capture.output(print(x)), collapse = "\n")
tab <- function(a) {
  a <- as.data.frame(a)
  list(rownames = rownames(a),
       columns = names(a)[-1],
       values = lapply(a[-1], function(v) if (is.factor(v)) as.character(v) else v))
}
err <- function(expr) tryCatch({expr; NA_character_}, error = function(e) conditionMessage(e))
warn <- function(expr) {
  w <- character(0)
  # nlme 3.1-162 then fails on its own row names when it deleted a fit: the warning is kept
  tryCatch(withCallingHandlers(expr, warning = function(x) {
    w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning")}), error = function(e) NULL)
  w
}

ovf <- follicles ~ sin(2*pi*Time) + cos(2*pi*Time)
cases <- list()
# the standard workflow: is a random effect needed? (REML, same fixed effects)
fm1 <- gls(distance ~ age, data = Orthodont)
fm2 <- lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject)
a <- anova(fm1, fm2); cases$orthodont_gls_lme <- c(tab(a), text = txt(a))
a <- anova(fm2, fm1); cases$orthodont_lme_gls <- c(tab(a), text = txt(a))
g <- gls(ovf, data = Ovary, correlation = corAR1(form = ~ 1 | Mare))
l <- lme(ovf, data = Ovary, random = ~ 1 | Mare)
l2 <- lme(ovf, data = Ovary, random = ~ 1 | Mare, correlation = corAR1())
a <- anova(g, l, l2); cases$ovary_gls_lme_lme <- c(tab(a), text = txt(a))
# ML, different fixed effects
m1 <- gls(distance ~ age, data = Orthodont, method = "ML")
m2 <- lme(distance ~ age + Sex, data = Orthodont, random = ~ 1 | Subject, method = "ML")
a <- anova(m1, m2); cases$orthodont_ml <- c(tab(a), text = txt(a))
# equal df: no test columns
s1 <- lme(Reaction ~ Days, data = sleepstudy[1:90, ], random = ~ 1 | Subject, method = "ML")
s2 <- lme(Reaction ~ Days, data = sleepstudy[91:180, ], random = ~ 1 | Subject, method = "ML")
a <- anova(s1, s2); cases$equal_df <- c(tab(a), text = txt(a))

s3 <- lme(Reaction ~ Days, data = sleepstudy[1:100, ], random = ~ 1 | Subject, method = "ML")
r1 <- lme(log(Reaction) ~ Days, data = sleepstudy, random = ~ 1 | Subject)
r2 <- lme(Reaction ~ Days, data = sleepstudy, random = ~ 1 | Subject)
r3 <- lme(Reaction ~ 1, data = sleepstudy, random = ~ 1 | Subject)
messages <- list(
  different_n = err(anova(s1, s3)),
  different_n_gls = err(anova(gls(Reaction ~ Days, data = sleepstudy[1:90, ], method = "ML"), s3)),
  method = err(anova(m1, fm2)),
  first_response = err(anova(r1, r2)),
  response_dropped = warn(anova(r2, r1, r3)),
  reml_fixed = warn(anova(r2, r3)))

ss <- sleepstudy
ss$g <- factor(ss$Days %% 3); ss$h <- factor(ss$Days %% 4)
messages$n_lt_q <- err(lme(Reaction ~ Days, data = ss, random = ~ g/h | Subject))
messages$n_lt_q_nested <- err(lme(distance ~ age, data = Orthodont,
                                  random = list(Sex = ~ 1, Subject = ~ factor(age) + I(age^2))))
messages$zero_re <- err(lmer(Reaction ~ Days + (0 | Subject), data = sleepstudy))
messages$poly_inf <- err(lmer(Reaction ~ poly(Days, Inf) + (1 | Subject), data = sleepstudy))
messages$bs_degree <- err(lmer(Reaction ~ splines::bs(Days, degree = -1) + (1 | Subject), data = sleepstudy))
messages$boot_nsim0 <- err(confint(lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy), method = "boot", nsim = 0))
round_inf <- list(x = c(1.234, -5.5), inf = round(c(1.234, -5.5), Inf), minf = round(c(1.234, -5.5), -Inf),
                  d400 = round(c(1.234, -5.5), 400))
zero_re_fix <- fixef(lmer(Reaction ~ Days + (1 | Subject) + (0 | Days), data = sleepstudy))

out <- list(nlme_version = as.character(packageVersion("nlme")), cases = cases, messages = messages,
            round_inf = round_inf, zero_re_fixef = as.list(zero_re_fix))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           "tests/reference/anova_mixed.json")
