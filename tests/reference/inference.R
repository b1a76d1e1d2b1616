# Inference reference fixtures (issue 6): run from the repo root (R 4.2.2, lme4 1.1-31,
# lmerTest 3.1-3, pbkrtest 0.5.2):
#   OPENBLAS_NUM_THREADS=1 Rscript tests/reference/inference.R     -> tests/reference/inference.json
# (with threaded BLAS some fits, e.g. Penicillin, differ from run to run in the 10th digit)
#
# Schema of inference.json (numbers written exactly as in lmer.R; NA -> null; matrices are
# arrays of rows; tables are {rownames, colnames, values}):
#   meta: versions, options("width")
#   fits: {<id>: fit}, each fitted with lmerTest::lmer (default control):
#     id, formula, data, REML, theta, sigma, beta, vcov
#     fit_messages       messages lmer gave while fitting (the singular-fit message)
#     weights            (when present) the prior-weights column, w = 1 + ((i * 7) %% 11) / 10
#                        added to the data set (i the row number), as lmer.R does
#     drop_rows          (when present) 1-based rows of the data set removed before fitting;
#                        the printed "Data:" line then names <data>_sub
#     varpar_vcov        lmerTest's fit@vcov_varpar (2 * inverse Hessian of the deviance in
#                        varpar = (theta, sigma), numDeriv Richardson)
#     jac_list           lmerTest's fit@Jac_list: d vcov(beta) / d varpar_i, one p x p each
#     coef_satterthwaite coef(summary(fit, ddf = "Satterthwaite"))
#     coef_kr            coef(summary(fit, ddf = "Kenward-Roger"))  (REML fits only)
#     coef_none          coef(summary(fit, ddf = "lme4"))
#     vcov_kr            as.matrix(pbkrtest::vcovAdj(fit))          (REML fits only)
#     anova_satterthwaite anova(fit) (type III, Satterthwaite), as a table
#     anova_kr           anova(fit, ddf = "Kenward-Roger")          (REML fits only)
#     anova_lme4, print_anova_lme4  anova(fit, ddf = "lme4"): lme4's sequential table
#     anova_type1, anova_type2, print_anova_type1   anova(fit, type = 1 | 2) (Satterthwaite)
#     anova_type1_kr, anova_type2_kr                the same with ddf = "Kenward-Roger" (REML)
#     print_summary_satterthwaite, print_summary_kr, print_anova_satterthwaite,
#     print_anova_kr     capture.output(print(...)) of those
#   lrt: {<id>: {models: [fit ids as named in R], formulas, data, table (anova(m1, m2, ...)),
#                messages, print, family (GLMM cases)}}  lme4::anova on lme4::lmer/glmer fits
#   confint: {<id>: {fit (as in fits), method, table (confint(fit, method = ...)),
#                    messages, warnings, print (print() of the table)}}
#   zeta_fixed: {<fit id>: {<coefficient>: {x, zeta}}}  the fixed-effect profile ζ at x by
#            explicit ML refits with the coefficient in an offset (see the comment there)
#   contest: {<id>: {fit (orth_fit: orth_reml's model, cake_fit: cake_unbal_reml's), L, rhs,
#                    ddf, joint (contest(fit, L, rhs, joint = TRUE)), each (joint = FALSE;
#                    only when rhs is 0)}}
#   boot_ci: {t0, names, t (99 x 4 replicate matrix, one NA), perc, basic, norm, perc90}:
#            lme4's confint() of a bootMer object built from those fixed replicates
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})
stopifnot(packageVersion("lme4") == "1.1.31", packageVersion("lmerTest") == "3.1.3")

source("tests/reference/_exact_json.R")

# ---- data: the same plain data.frames that tests/reference/datasets.R bundles ---------------

# printed text (stdout lines) and any message() text emitted while printing (stderr in R)
capture_text <- function(expr) {
  msg <- character(0)
  out <- withCallingHandlers(capture.output(expr),
    message = function(m) { msg <<- c(msg, conditionMessage(m)); invokeRestart("muffleMessage") })
  list(out = out, msg = msg)
}

sleepstudy <- load_set("sleepstudy", "lme4")
Orthodont <- load_set("Orthodont", "nlme")
cake <- load_set("cake", "lme4")
Penicillin <- load_set("Penicillin", "lme4")
Dyestuff2 <- load_set("Dyestuff2", "lme4")

mat_out <- function(m) {
  m <- as.matrix(m)
  list(rownames = I(rownames(m)), colnames = I(colnames(m)), values = unname(m))
}
tab_out <- function(df) {
  m <- as.matrix(as.data.frame(df))
  list(rownames = I(rownames(df)), colnames = I(colnames(df)), values = unname(m))
}
quiet <- function(expr) {
  msgs <- character(0)
  warns <- character(0)
  val <- withCallingHandlers(expr,
    message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") },
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, messages = I(msgs), warnings = I(warns))
}

fit_cases <- list(
  list(id = "ss_reml", data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE),
  list(id = "ss_ml", data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)", REML = FALSE),
  list(id = "orth_reml", data = "Orthodont", formula = "distance ~ age * Sex + (age | Subject)", REML = TRUE),
  list(id = "cake_reml", data = "cake",
       formula = "angle ~ recipe * temperature + (1 | recipe:replicate)", REML = TRUE),
  list(id = "ss_diag_reml", data = "sleepstudy", formula = "Reaction ~ Days + (Days || Subject)",
       REML = TRUE),
  list(id = "pen_reml", data = "Penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)",
       REML = TRUE),
  # prior weights (Kenward-Roger is not computed for weighted fits)
  list(id = "ss_weights_reml", data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)",
       REML = TRUE, weights = "w"),
  # singular fit (theta = 0)
  list(id = "dye2_reml", data = "Dyestuff2", formula = "Yield ~ 1 + (1 | Batch)", REML = TRUE),
  # unbalanced: nine rows dropped (1-based row numbers in drop_rows)
  list(id = "cake_unbal_reml", data = "cake", drop = c(1, 5, 50, 100, 101, 200, 201, 202, 260),
       formula = "angle ~ recipe * temperature + (1 | recipe:replicate)", REML = TRUE)
)

run_fit <- function(cs) {
  message("-- ", cs$id)
  dname <- cs$data
  if (!is.null(cs$drop)) {
    dname <- paste0(cs$data, "_sub")
    assign(dname, get(cs$data)[-cs$drop, ], envir = globalenv())
  }
  cl <- bquote(lmerTest::lmer(.(as.formula(cs$formula)), data = .(as.name(dname)), REML = .(cs$REML)))
  if (!is.null(cs$weights)) {
    dname <- paste0(cs$data, "_w")
    d <- get(cs$data)
    d$w <- 1 + ((seq_len(nrow(d)) * 7) %% 11) / 10
    assign(dname, d, envir = globalenv())
    cl <- bquote(lmerTest::lmer(.(as.formula(cs$formula)), data = .(as.name(dname)),
                                REML = .(cs$REML), weights = w))
  }
  fitq <- quiet(eval(cl))
  fit <- fitq$value
  out <- list(id = cs$id, fit_messages = fitq$messages, formula = cs$formula, data = cs$data, REML = cs$REML,
              drop_rows = if (is.null(cs$drop)) NULL else I(as.numeric(cs$drop)),
              weights = if (is.null(cs$weights)) NULL else cs$weights,
              theta = I(unname(getME(fit, "theta") + 0)), sigma = sigma(fit),
              beta = fixef(fit), vcov = mat_out(vcov(fit)),
              varpar_vcov = unname(fit@vcov_varpar),
              jac_list = lapply(fit@Jac_list, function(J) unname(as.matrix(J))),
              coef_satterthwaite = mat_out(coef(summary(fit, ddf = "Satterthwaite"))),
              coef_none = mat_out(coef(summary(fit, ddf = "lme4"))),
              anova_satterthwaite = tab_out(anova(fit)),
              anova_lme4 = tab_out(anova(fit, ddf = "lme4")),
              anova_type1 = tab_out(anova(fit, type = 1)),
              anova_type2 = tab_out(anova(fit, type = 2)),
              print_anova_type1 = I(capture_text(print(anova(fit, type = 1)))$out),
              print_anova_lme4 = I(capture_text(print(anova(fit, ddf = "lme4")))$out),
              print_summary_satterthwaite = I(capture_text(print(summary(fit)))$out),
              print_anova_satterthwaite = I(capture_text(print(anova(fit)))$out))
  if (cs$REML && is.null(cs$weights)) {
    out$coef_kr <- mat_out(coef(summary(fit, ddf = "Kenward-Roger")))
    out$vcov_kr <- unname(as.matrix(pbkrtest::vcovAdj(fit)))
    out$anova_kr <- tab_out(anova(fit, ddf = "Kenward-Roger"))
    out$anova_type1_kr <- tab_out(anova(fit, type = 1, ddf = "Kenward-Roger"))
    out$anova_type2_kr <- tab_out(anova(fit, type = 2, ddf = "Kenward-Roger"))
    out$print_summary_kr <- I(capture_text(print(summary(fit, ddf = "Kenward-Roger")))$out)
    out$print_anova_kr <- I(capture_text(print(anova(fit, ddf = "Kenward-Roger")))$out)
  }
  out
}
fits <- list()
for (cs in fit_cases) fits[[cs$id]] <- run_fit(cs)

# ---- user contrasts (lmerTest's contest) ---------------------------------------------------
orth_fit <- lmerTest::lmer(distance ~ age * Sex + (age | Subject), data = Orthodont)
cake_fit <- lmerTest::lmer(angle ~ recipe * temperature + (1 | recipe:replicate),
                           data = cake[-c(1, 5, 50, 100, 101, 200, 201, 202, 260), ])
Lo <- rbind(c(0, 1, 0, 0.5), c(0, 0, 1, 10))
Lc <- matrix(0, 3, 18); Lc[1, 2] <- 1; Lc[2, 3] <- 1; Lc[2, 4] <- 0.5; Lc[3, 9] <- 1; Lc[3, 10] <- -1
ct_out <- function(fitid, L, rhs, ddf) {
  list(fit = fitid, L = L, rhs = I(rhs), ddf = ddf,
       joint = tab_out(contest(get(fitid), L, rhs = rhs, joint = TRUE, ddf = ddf)),
       # lmerTest's contest(joint = FALSE) takes only a scalar rhs
       each = if (all(rhs == 0)) tab_out(contest(get(fitid), L, joint = FALSE, ddf = ddf)))
}
contests <- list(
  orth_satt = ct_out("orth_fit", Lo, c(0, 0), "Satterthwaite"),
  orth_kr = ct_out("orth_fit", Lo, c(0, 0), "Kenward-Roger"),
  orth_rhs = ct_out("orth_fit", Lo, c(0.7, 1), "Satterthwaite"),
  orth_rhs_kr = ct_out("orth_fit", Lo, c(0.7, 1), "Kenward-Roger"),
  cake_satt = ct_out("cake_fit", Lc, c(0, 0, 0), "Satterthwaite"),
  cake_kr = ct_out("cake_fit", Lc, c(0, 0, 0), "Kenward-Roger")
)

# ---- likelihood-ratio tables (lme4) ------------------------------------------------------
fm1 <- lme4::lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy)
fm2 <- lme4::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy)
fm3 <- lme4::lmer(Reaction ~ Days + (Days || Subject), data = sleepstudy)
fm1ml <- lme4::lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = FALSE)
fm2ml <- lme4::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy, REML = FALSE)
lrt_case <- function(expr, models, formulas, REML) {
  cap <- capture_text(print(a <- eval(expr)))
  q <- quiet(eval(expr))
  list(models = I(models), formulas = I(formulas), REML = I(REML),
       data = sub("^Data: ", "", cap$out[1]),
       table = tab_out(q$value), messages = q$messages, warnings = q$warnings,
       print = I(cap$out))
}
cbpp <- load_set("cbpp", "lme4")
gm0 <- glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), data = cbpp, family = binomial)
gm1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
lrt <- list(
  ss_int_vs_full = lrt_case(quote(anova(fm1, fm2)), c("fm1", "fm2"),
                            c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
                            c(TRUE, TRUE)),
  ss_three = lrt_case(quote(anova(fm2, fm1, fm3)), c("fm2", "fm1", "fm3"),
                      c("Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)",
                        "Reaction ~ Days + (Days || Subject)"), c(TRUE, TRUE, TRUE)),
  ss_ml = lrt_case(quote(anova(fm1ml, fm2ml)), c("fm1ml", "fm2ml"),
                   c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
                   c(FALSE, FALSE)),
  cbpp_glmer = c(lrt_case(quote(anova(gm1, gm0)), c("gm1", "gm0"),
                          c("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                            "cbind(incidence, size - incidence) ~ 1 + (1 | herd)"),
                          c(FALSE, FALSE)), list(family = "binomial"))
)

# ---- confidence intervals (lme4) ---------------------------------------------------------
ci_case <- function(fitid, fit, method) {
  q <- quiet(confint(fit, method = method))
  list(fit = fitid, method = method, table = mat_out(q$value), messages = q$messages,
       warnings = q$warnings, print = I(capture.output(print(q$value))))
}
confints <- list(
  ss_reml_profile = ci_case("ss_reml", fm2, "profile"),
  ss_ml_profile = ci_case("ss_ml", fm2ml, "profile"),
  ss_int_profile = ci_case("ss_int_reml", fm1, "profile"),
  ss_reml_wald = ci_case("ss_reml", fm2, "Wald"),
  ss_diag_profile = ci_case("ss_diag_reml", fm3, "profile"),
  ss_weights_profile = ci_case("ss_weights_reml", lme4::lmer(Reaction ~ Days + (Days | Subject),
                                                             data = sleepstudy_w, weights = w),
                               "profile"),
  pen_reml_profile = ci_case("pen_reml", lme4::lmer(diameter ~ 1 + (1 | plate) + (1 | sample),
                                                    data = Penicillin), "profile"),
  orth_reml_profile = ci_case("orth_reml", lme4::lmer(distance ~ age * Sex + (age | Subject),
                                                      data = Orthodont), "profile")
)

# ---- bootstrap intervals from given replicates (lme4's confint of a bootMer object) ------
# The replicates are fixed numbers (R's RNG is not reproduced in Python): this checks how the
# intervals are computed from them (boot.ci's perc / basic / norm), one NA as a failed refit.
set.seed(101)
bt0 <- c(.sig01 = 24.7, .sigma = 25.6, "(Intercept)" = 251.4, Days = 10.47)
btm <- cbind(rgamma(99, 20, 20 / 24), rnorm(99, 25.6, 1.4), rnorm(99, 251.4, 6.8),
             rnorm(99, 10.47, 1.5))
btm[7, 1] <- NA
colnames(btm) <- names(bt0)
bb <- structure(list(t0 = bt0, t = btm, R = nrow(btm), sim = "parametric", stype = "i",
                     call = quote(bootMer()), data = NULL, seed = .Random.seed,
                     statistic = function(x) x, strata = rep(1, 10), weights = rep(0.1, 10)),
                class = c("bootMer", "boot"))
boot_ci <- list(t0 = I(unname(bt0)), names = I(names(bt0)), t = unname(btm),
                perc = mat_out(confint(bb, type = "perc")),
                basic = mat_out(confint(bb, type = "basic")),
                norm = mat_out(confint(bb, type = "norm")),
                perc90 = mat_out(confint(bb, type = "perc", level = 0.9)))

# ---- ζ of the fixed-effect profile at chosen values, by explicit ML refits ---------------
# (lme4 1.1-31's profile() is off for the fixed effects of a weighted fit: its deviance
# differences there leave out the log-weights term, so confint() gives far too narrow
# fixed-effect intervals. These refits give the profile independently: for β_j = x, the
# column moves into an offset and the model is refitted by ML; ζ = sign(x - β̂) √(dev - dev̂).)
zeta_grid <- function(fit, data, wts, coefs) {
  ml <- refitML(fit)
  base <- -2 * c(logLik(ml))
  est <- fixef(ml)
  se <- sqrt(diag(as.matrix(vcov(ml))))
  out <- list()
  for (cf in coefs) {
    xs <- est[[cf]] + c(-2.5, -1, 0.5, 2) * se[[cf]]
    z <- vapply(xs, function(x) {
      d <- data
      d$.off <- x * (if (cf == "(Intercept)") 1 else d[[cf]])
      f <- if (cf == "(Intercept)") Reaction ~ 0 + Days + (Days | Subject) + offset(.off)
           else Reaction ~ 1 + (Days | Subject) + offset(.off)
      m <- if (is.null(wts)) lmer(f, data = d, REML = FALSE)
           else lmer(f, data = d, REML = FALSE, weights = d[[wts]])
      sign(x - est[[cf]]) * sqrt(max(0, -2 * c(logLik(m)) - base))
    }, 0)
    out[[cf]] <- list(x = I(unname(xs)), zeta = I(z))
  }
  out
}
zeta_fixed <- list(
  ss_reml = zeta_grid(fm2, sleepstudy, NULL, c("(Intercept)", "Days")),
  ss_weights_reml = zeta_grid(lme4::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy_w,
                                         weights = w), sleepstudy_w, "w", c("(Intercept)", "Days"))
)

meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             lmerTest = as.character(packageVersion("lmerTest")),
             pbkrtest = as.character(packageVersion("pbkrtest")),
             width = getOption("width"))
write_json17(list(meta = meta, fits = fits, lrt = lrt, confint = confints, boot_ci = boot_ci,
                  contest = contests, zeta_fixed = zeta_fixed),
             "tests/reference/inference.json")
message("inference: wrote ", length(fits), " fits, ", length(lrt), " LRT tables, ",
        length(confints), " interval tables")
