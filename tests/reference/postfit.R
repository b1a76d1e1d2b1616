# Reference values for lmepy's post-fit layer (issue 12 parts 5-6): performance 0.10.2's
# r2_nakagawa / icc and broom.mixed 0.2.9.4's tidy / glance / augment, plus lme4's
# as.data.frame(ranef(fit, condVar = TRUE)); written to tests/reference/postfit.json.
# Run from the repo root: Rscript tests/reference/postfit.R  (or through make_reference.R)
suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(insight)
  library(broom.mixed)
  library(jsonlite)
  library(Matrix)
  library(nlme)
})
source("tests/reference/_exact_json.R")

out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            performance = as.character(packageVersion("performance")),
                            insight = as.character(packageVersion("insight")),
                            broom.mixed = as.character(packageVersion("broom.mixed"))))

sleepstudy <- load_set("sleepstudy", "lme4")
cake <- load_set("cake", "lme4")
Dyestuff <- load_set("Dyestuff", "lme4")
Dyestuff2 <- load_set("Dyestuff2", "lme4")
cbpp <- load_set("cbpp", "lme4")
grouseticks <- load_set("grouseticks", "lme4")

quietly <- function(expr) suppressMessages(suppressWarnings(expr))
warns <- function(expr) {
  w <- character(0); m <- character(0)
  val <- withCallingHandlers(expr,
    warning = function(c) { w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning") },
    message = function(c) { m <<- c(m, conditionMessage(c)); invokeRestart("muffleMessage") })
  list(value = val, warnings = w, messages = m)
}
frame_of <- function(tb) {
  d <- as.data.frame(tb)
  lapply(d, function(col) if (is.factor(col)) as.character(col) else col)
}

cases <- list(
  fm1 = list(call = quote(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))),
  fm1ML = list(call = quote(lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE))),
  cake = list(call = quote(lmer(angle ~ recipe * temperature + (1 | recipe:replicate), cake))),
  dyestuff = list(call = quote(lmer(Yield ~ 1 + (1 | Batch), Dyestuff))),
  dyestuff2 = list(call = quote(lmer(Yield ~ 1 + (1 | Batch), Dyestuff2))),
  gm1 = list(call = quote(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                                cbpp, family = binomial))),
  gm1probit = list(call = quote(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                                      cbpp, family = binomial(link = "probit")))),
  gm1cloglog = list(call = quote(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                                       cbpp, family = binomial(link = "cloglog")))),
  grouse = list(call = quote(glmer(TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION), grouseticks,
                                   family = poisson)))
)

res <- list()
for (nm in names(cases)) {
  fit <- quietly(eval(cases[[nm]]$call))
  r <- list(call = paste(deparse(cases[[nm]]$call), collapse = " "))
  r2w <- warns(r2_nakagawa(fit))
  r$r2 <- list(R2_conditional = unname(r2w$value$R2_conditional),
               R2_marginal = unname(r2w$value$R2_marginal),
               printed = capture.output(print(r2w$value)),
               warnings = r2w$warnings, messages = r2w$messages)
  iw <- warns(icc(fit))
  r$icc <- if (is.list(iw$value)) list(ICC_adjusted = iw$value$ICC_adjusted,
                                       ICC_unadjusted = iw$value$ICC_unadjusted,
                                       printed = capture.output(print(iw$value)),
                                       warnings = iw$warnings)
           else list(ICC_adjusted = NA_real_, ICC_unadjusted = NA_real_,
                     printed = capture.output(print(iw$value)), warnings = iw$warnings)
  vv <- quietly(get_variance(fit))
  r$variance <- vv[c("var.fixed", "var.random", "var.residual", "var.distribution")]
  r$tidy <- frame_of(tidy(fit))
  r$tidy_ci <- frame_of(tidy(fit, conf.int = TRUE))
  r$tidy_ci90 <- frame_of(tidy(fit, effects = "fixed", conf.int = TRUE, conf.level = 0.9))
  r$tidy_ran_vals <- frame_of(tidy(fit, effects = "ran_vals"))
  r$tidy_ran_coefs <- frame_of(tidy(fit, effects = "ran_coefs"))
  r$glance <- frame_of(glance(fit))
  r$ranef_frame <- frame_of(as.data.frame(ranef(fit, condVar = TRUE)))
  a <- quietly(as.data.frame(augment(fit)))
  keep <- intersect(c(".fitted", ".resid", ".hat", ".cooksd", ".fixed", ".mu", ".offset",
                      ".sqrtXwt", ".sqrtrwt", ".weights", ".wtres", ".eta"), names(a))
  r$augment <- a[keep]
  r$augment_names <- names(a)
  if (isGLMM(fit)) {
    # lme4's hatvalues.merMod for a GLMM uses its stored Cholesky factor, whose weights are
    # those of the last PIRLS step; the same formula at the final weights (what lmepy computes)
    w <- fit@resp$sqrtXwt^2; pw <- fit@resp$weights
    LZ <- getME(fit, "Lambdat") %*% getME(fit, "Zt"); X <- getME(fit, "X")
    A12 <- LZ %*% (w * X)
    A <- rbind(cbind(LZ %*% Diagonal(x = w) %*% t(LZ) + Diagonal(nrow(LZ)), A12),
               cbind(t(A12), crossprod(X, w * X)))
    M <- rbind(LZ %*% Diagonal(x = sqrt(pw)), t(X * sqrt(pw)))
    h <- colSums(as.matrix(M * solve(A, M)))
    # and lme4's condVar for a GLMM from the same stale factor: diag(Λ A11⁻¹ Λ') at the final
    # weights, in the order of b (per term, level-major; the cases here have scalar terms)
    Lt <- getME(fit, "Lambdat")
    r$condsd_final_weights <- sqrt(diag(as.matrix(t(Lt) %*% solve(A[seq_len(nrow(LZ)), seq_len(nrow(LZ))], Lt))))
    pr <- residuals(fit, type = "pearson")
    r$hat_final_weights <- list(.hat = unname(h),
                                .cooksd = unname((pr / (1 - h))^2 * h / (sigma(fit)^2 * length(fixef(fit)))))
  }
  res[[nm]] <- r
}
fm1ML <- quietly(eval(cases$fm1ML$call))
res$fm1ML$tidy_profile <- frame_of(quietly(tidy(fm1ML, conf.int = TRUE, conf.method = "profile")))
fm1 <- quietly(eval(cases$fm1$call))
nd <- data.frame(Days = c(0, 5, 9), Subject = factor(c("308", "309", "372"),
                                                      levels = levels(sleepstudy$Subject)))
res$fm1$augment_newdata <- as.data.frame(augment(fm1, newdata = nd))[c(".fitted")]
# lmerTest's fit: df and p.value (Satterthwaite by default, Kenward-Roger by ddf), t-based
# Wald intervals; every part stacked, with intervals (ran_vals: Wald from condsd)
fm1T <- quietly(lmerTest::lmer(Reaction ~ Days + (Days | Subject), sleepstudy))
res$fm1$tidy_lmertest <- frame_of(tidy(fm1T, conf.int = TRUE))
res$fm1$tidy_lmertest_kr <- frame_of(tidy(fm1T, conf.int = TRUE, ddf = "Kenward-Roger"))
res$fm1$tidy_all <- frame_of(quietly(tidy(fm1, effects = c("fixed", "ran_pars", "ran_vals",
                                                             "ran_coefs"), conf.int = TRUE)))
cake_fit <- quietly(eval(cases$cake$call))
res$cake$tidy_vals_pars <- frame_of(tidy(cake_fit, effects = c("ran_vals", "ran_pars"),
                                         conf.int = TRUE, conf.level = 0.8))
# augment with an offset: .fixed includes it, .offset holds it, the frame keeps offset()
fo <- quietly(lmer(Reaction ~ Days + offset(2 * Days) + (1 | Subject), sleepstudy))
ao <- as.data.frame(augment(fo))
res$offset_augment <- list(names = names(ao),
                           values = ao[c(".fitted", ".resid", ".hat", ".cooksd", ".fixed",
                                         ".offset", ".wtres")])
# nlme: broom.mixed's tidy.lme / glance.lme and tidy.gls / glance.gls
Orthodont <- load_set("Orthodont", "nlme")
Ovary <- load_set("Ovary", "nlme")
lme1 <- lme(distance ~ age + Sex, data = Orthodont, random = ~ 1 | Subject)
lme2 <- lme(distance ~ age, data = Orthodont, random = ~ age | Subject)
gls1 <- gls(follicles ~ sin(2 * pi * Time), Ovary, correlation = corAR1(form = ~ 1 | Mare))
res$nlme <- list(
  lme1_tidy = frame_of(tidy(lme1)),
  lme1_tidy_fixed_ci = frame_of(tidy(lme1, effects = "fixed", conf.int = TRUE)),
  lme1_glance = frame_of(glance(lme1)),
  lme2_tidy_ci = frame_of(tidy(lme2, conf.int = TRUE)),  # (its conf.level is ignored)
  lme2_glance = frame_of(glance(lme2)),
  gls1_tidy_ci = frame_of(tidy(gls1, conf.int = TRUE)),
  gls1_glance = frame_of(glance(gls1)),
  lme1_r2 = unname(unlist(r2_nakagawa(lme1))), lme1_icc = unlist(icc(lme1)[c("ICC_adjusted", "ICC_unadjusted")]),
  lme2_r2 = unname(unlist(r2_nakagawa(lme2))), lme2_icc = unlist(icc(lme2)[c("ICC_adjusted", "ICC_unadjusted")]),
  lme2_r2_printed = capture.output(print(r2_nakagawa(lme2))))
# performance's NA printing and the formatting of small values
res$print_edge <- list(
  r2 = capture.output(print(structure(list(R2_conditional = c(`Conditional R2` = 1e-5),
                                           R2_marginal = c(`Marginal R2` = 0.99951)),
                                      class = "r2_nakagawa"))),
  icc = capture.output(print(structure(list(ICC_adjusted = 0.0005, ICC_unadjusted = 1),
                                       class = c("icc", "list")))))
out$cases <- res
write_json17(out, "tests/reference/postfit.json")
