# lme reference fixtures beyond nlme.R's six fits: ML, pdIdent/pdCompSymm/pdBlocked, ~ 1 | a/b,
# more variance functions, correlation + variance together, corARMA, anova(), ACF(), predict().
# Run from the repo root (R 4.2.2, nlme 3.1-162):  Rscript tests/reference/lme.R
#   -> tests/reference/lme.json
# Schema: {"meta": {...}, "cases": {<id>: <case>}, "anova": {...}, "acf": {...}}.
# Each <case>: call (the R call), py (the same model for lmepy.lme: fixed, data, random (string
#   or {group: spec} outer first), correlation, weights, method), logLik, df, AIC, BIC, sigma,
#   fixef, se, DF ({name: value}), modelStruct (coef(fit$modelStruct, unconstrained = FALSE)),
#   modelStruct_unconstrained, ranef ({level: {rownames, colnames, values}}), fitted0, fitted
#   (level 0 and the innermost level, data order), resid_response, resid_pearson,
#   resid_normalized, coef (coef(fit): innermost level), summary_text, print_text
#   (print(fit)), VarCorr_text,
#   intervals_text (null when nlme cannot).
# Numbers are written exactly (shortest of %.15g/%.16g/%.17g that reads back identically).
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")

source("tests/reference/_exact_json.R")
txt <- function(x) paste(capture.output(print(x)), collapse = "\n")
mat <- function(m) list(rownames = rownames(m), colnames = colnames(m), values = as.matrix(m))

cases <- list(
  orth_ml = list(call = 'lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject, method = "ML")',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = "~ 1 | Subject", method = "ML")),
  orth_ml_slope = list(call = 'lme(distance ~ age, data = Orthodont, random = ~ age | Subject, method = "ML")',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = "~ age | Subject", method = "ML")),
  orth_pdident = list(call = 'lme(distance ~ age, data = Orthodont, random = list(Subject = pdIdent(~ age)))',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = list(Subject = "pdIdent(~ age)"))),
  orth_pdblocked = list(call = 'lme(distance ~ age, data = Orthodont, random = list(Subject = pdBlocked(list(pdIdent(~ 1), pdIdent(~ age - 1)))))',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = list(Subject = "pdBlocked(list(pdIdent(~ 1), pdIdent(~ age - 1)))"))),
  orth_pdcompsymm = list(call = 'lme(distance ~ age * Sex, data = Orthodont, random = list(Subject = pdCompSymm(~ age)))',
    py = list(fixed = "distance ~ age * Sex", data = "Orthodont", random = list(Subject = "pdCompSymm(~ age)"))),
  pixel_slash = list(call = 'lme(pixel ~ day + I(day^2), data = Pixel, random = ~ 1 | Dog/Side)',
    py = list(fixed = "pixel ~ day + I(day^2)", data = "Pixel", random = "~ 1 | Dog/Side")),
  pixel_ml = list(call = 'lme(pixel ~ day + I(day^2), data = Pixel, random = list(Dog = ~ day, Side = ~ 1), method = "ML")',
    py = list(fixed = "pixel ~ day + I(day^2)", data = "Pixel", random = list(Dog = "~ day", Side = "~ 1"), method = "ML")),
  ovary_arma11 = list(call = 'lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, random = ~ 1 | Mare, correlation = corARMA(p = 1, q = 1))',
    py = list(fixed = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary", random = "~ 1 | Mare", correlation = "corARMA(p = 1, q = 1)")),
  ovary_ar1_form = list(call = 'lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare), method = "ML")',
    py = list(fixed = "follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data = "Ovary", random = "~ 1 | Mare", correlation = "corAR1(form = ~ 1 | Mare)", method = "ML")),
  bw_varexp = list(call = 'lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, weights = varExp(form = ~ Time))',
    py = list(fixed = "weight ~ Time * Diet", data = "BodyWeight", random = "~ Time | Rat", weights = "varExp(form = ~ Time)")),
  bw_varpower_time = list(call = 'lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, weights = varPower(form = ~ Time))',
    py = list(fixed = "weight ~ Time * Diet", data = "BodyWeight", random = "~ Time | Rat", weights = "varPower(form = ~ Time)")),
  bw_car1_varident = list(call = 'lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, correlation = corCAR1(form = ~ Time), weights = varIdent(form = ~ 1 | Diet))',
    py = list(fixed = "weight ~ Time * Diet", data = "BodyWeight", random = "~ Time | Rat", correlation = "corCAR1(form = ~ Time)", weights = "varIdent(form = ~ 1 | Diet)")),
  orth_varfixed = list(call = 'lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject, weights = varFixed(~ age))',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = "~ 1 | Subject", weights = "varFixed(~ age)")),
  pixel_ar1_coarse = list(call = 'lme(pixel ~ day + I(day^2), data = Pixel, random = ~ 1 | Dog/Side, correlation = corAR1(form = ~ 1 | Dog))',
    py = list(fixed = "pixel ~ day + I(day^2)", data = "Pixel", random = "~ 1 | Dog/Side", correlation = "corAR1(form = ~ 1 | Dog)")),
  orth_constpower = list(call = 'lme(distance ~ age, data = Orthodont, random = ~ 1 | Subject, weights = varConstPower(form = ~ age))',
    py = list(fixed = "distance ~ age", data = "Orthodont", random = "~ 1 | Subject", weights = "varConstPower(form = ~ age)"))
)

ranef_out <- function(re) {
  if (is.data.frame(re)) re <- list(re)
  lapply(re, function(r) list(rownames = rownames(r), colnames = colnames(r), values = as.matrix(r)))
}
fits <- list()
out_cases <- list()
for (nm in names(cases)) {
  cs <- cases[[nm]]
  fit <- tryCatch(eval(parse(text = cs$call)), error = function(e) e)
  if (inherits(fit, "error")) { message(nm, ": ", conditionMessage(fit)); next }
  fits[[nm]] <- fit
  s <- summary(fit)
  iv <- tryCatch(intervals(fit), error = function(e) NULL)
  re <- ranef(fit)
  if (is.data.frame(re)) { re <- list(re); names(re) <- names(fit$groups)[1] }
  out_cases[[nm]] <- list(
    call = cs$call, py = cs$py, method = fit$method,
    logLik = as.numeric(logLik(fit)), df = attr(logLik(fit), "df"),
    AIC = AIC(fit), BIC = BIC(fit), sigma = fit$sigma,
    fixef = fixef(fit), se = s$tTable[, "Std.Error"], DF = s$tTable[, "DF"],
    modelStruct = coef(fit$modelStruct, unconstrained = FALSE),
    modelStruct_unconstrained = coef(fit$modelStruct, unconstrained = TRUE),
    ranef = ranef_out(re),
    coef = list(rownames = rownames(coef(fit)), colnames = colnames(coef(fit)),
                values = as.matrix(coef(fit))),
    fitted0 = unname(fitted(fit, level = 0)),
    fitted = unname(fitted(fit)),
    resid_response = unname(resid(fit, type = "response")),
    resid_pearson = unname(resid(fit, type = "pearson")),
    resid_normalized = unname(resid(fit, type = "normalized")),
    summary_text = txt(s), print_text = txt(fit), VarCorr_text = txt(VarCorr(fit)),
    intervals_text = if (is.null(iv)) NULL else txt(iv))
}

# likelihood-ratio table of two nested ML fits (as anova(fit1, fit2) prints it with those names)
fit1 <- fits$orth_ml; fit2 <- fits$orth_ml_slope
an <- anova(fit1, fit2)
anova_out <- list(cases = c("orth_ml", "orth_ml_slope"), names = c("fit1", "fit2"),
                  text = txt(an), L.Ratio = an$L.Ratio[2], p = an$`p-value`[2])

# anova() of one fit: nlme's sequential F tests (text), for nlme.R's orthodont and
# bodyweight_car1 fits and this file's pixel_ml fit
anova_single <- list(
  orthodont = txt(anova(lme(distance ~ age * Sex, data = Orthodont, random = ~ age | Subject))),
  bodyweight_car1 = txt(anova(lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat,
                                  correlation = corCAR1(form = ~ Time)))),
  pixel_ml = txt(anova(fits$pixel_ml)))

# ACF of the pearson residuals (default maxLag and maxLag = 5) of nlme.R's Ovary fit
ov <- lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary,
          random = pdDiag(~sin(2*pi*Time)), correlation = corAR1())
acf_out <- list(default = list(lag = ACF(ov)$lag, ACF = ACF(ov)$ACF),
                lag5_normalized = list(lag = ACF(ov, maxLag = 5, resType = "normalized")$lag,
                                       ACF = ACF(ov, maxLag = 5, resType = "normalized")$ACF))

# predict() on new data, levels 0 and 1 (an unknown Subject gives NA at level 1)
ofit <- lme(distance ~ age * Sex, data = Orthodont, random = ~ age | Subject)
nd <- data.frame(age = c(8, 10, 14, 9), Sex = factor(c("Male", "Female", "Female", "Male"), levels = c("Male", "Female")),
                 Subject = c("M01", "F02", "F11", "X99"))
pr <- predict(ofit, nd, level = 0:1)
pred_out <- list(newdata = as.list(transform(nd, Sex = as.character(Sex))),
                 predict0 = pr$predict.fixed, predict1 = pr$predict.Subject)

out <- list(meta = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                        width = getOption("width")),
            cases = out_cases, anova = anova_out, anova_single = anova_single, acf = acf_out,
            predict = pred_out)
writeLines(toJSON(j17(out), auto_unbox = TRUE, json_verbatim = TRUE, null = "null",
                  na = "null", pretty = TRUE, digits = NA), "tests/reference/lme.json")

# ---------------------------------------------------------------------------------------------
# lmer with a residual AR(1) (lmepy.lme.lmer_residual) on sleepstudy, corAR1(form = ~ Days | Subject).
# (a) nested-compatible Reaction ~ Days + (1 | Subject): the same model as nlme's lme();
# (b) Reaction ~ Days + (Days | Subject), where nlme's lme() stops with "nlminb problem,
#     convergence error code = 1" (default control and larger iteration limits alike), and
# (c) crossed terms Reaction ~ Days + (1 | Subject) + (1 | fDays), fDays = factor(Days):
#     for (b) and (c) R's own dense REML log-likelihood with Λ_t = I ⊗ T_t (T_t lower
#     triangular, lme4's θ) and C(phi) the AR(1) correlation within Subject,
#       V/σ² = Z Λ Λ' Z' + C,  l = -1/2 [log|V| + log|X'V⁻¹X| + (n-p)(1 + log(2π rss/(n-p)))],
#     maximized with optim (Nelder-Mead, then BFGS from its answer).
suppressPackageStartupMessages(library(lme4))
ss <- as.data.frame(sleepstudy)
a1 <- lme(Reaction ~ Days, data = ss, random = ~ 1 | Subject,
          correlation = corAR1(form = ~ Days | Subject))
ar1_nested <- list(formula = "Reaction ~ Days + (1 | Subject)",
                   correlation = "corAR1(form = ~ Days | Subject)",
                   logLik = as.numeric(logLik(a1)), fixef = fixef(a1), sigma = a1$sigma,
                   Phi = unname(coef(a1$modelStruct$corStruct, unconstrained = FALSE)),
                   sd_Subject = unname(sqrt(getVarCov(a1)[1, 1])))
nlme_slope_error <- tryCatch({
  lme(Reaction ~ Days, data = ss, random = ~ Days | Subject,
      correlation = corAR1(form = ~ Days | Subject)); NULL
}, error = function(e) conditionMessage(e))
ss$fDays <- factor(ss$Days)
X <- model.matrix(~ Days, ss); y <- ss$Reaction; n <- nrow(X); p <- ncol(X)
grp <- as.integer(ss$Subject)
Cmat <- function(phi) {
  C <- matrix(0, n, n)
  for (g in unique(grp)) { i <- which(grp == g); tt <- ss$Days[i]; C[i, i] <- phi^abs(outer(tt, tt, "-")) }
  C
}
# terms: list of (Z_t: n x (levels*k) in level-major order, k)
zterm <- function(f, g) {
  M <- model.matrix(f, ss); lv <- levels(g); k <- ncol(M)
  Z <- matrix(0, n, length(lv) * k)
  for (j in seq_len(k)) Z[cbind(seq_len(n), (as.integer(g) - 1) * k + j)] <- M[, j]
  list(Z = Z, k = k, m = length(lv))
}
lambda <- function(terms, th) {
  blocks <- list(); pos <- 0
  for (t in terms) {
    k <- t$k; T <- matrix(0, k, k); nt <- k * (k + 1) / 2
    T[lower.tri(T, diag = TRUE)] <- th[pos + seq_len(nt)]; pos <- pos + nt
    blocks[[length(blocks) + 1]] <- kronecker(diag(t$m), T)
  }
  as.matrix(Matrix::bdiag(blocks))
}
dense_fit <- function(terms, start) {
  Z <- do.call(cbind, lapply(terms, `[[`, "Z"))
  fn <- function(par) {
    nth <- length(par) - 1
    L <- lambda(terms, par[1:nth]); phi <- tanh(par[nth + 1])
    ZL <- Z %*% L
    V <- tcrossprod(ZL) + Cmat(phi)
    R <- chol(V)
    Xt <- backsolve(R, X, transpose = TRUE); yt <- backsolve(R, y, transpose = TRUE)
    qx <- qr(Xt); rss <- sum(qr.resid(qx, yt)^2)
    -0.5 * (2 * sum(log(diag(R))) + 2 * sum(log(abs(diag(qr.R(qx))))) +
            (n - p) * (1 + log(2 * pi * rss / (n - p))))
  }
  o1 <- optim(start, fn, control = list(fnscale = -1, reltol = 1e-14, maxit = 20000))
  o2 <- optim(o1$par, fn, method = "BFGS", control = list(fnscale = -1, reltol = 1e-15, maxit = 2000))
  par <- o2$par; nth <- length(par) - 1
  L <- lambda(terms, par[1:nth]); phi <- tanh(par[nth + 1])
  V <- tcrossprod(Z %*% L) + Cmat(phi); Vi <- solve(V)
  beta <- solve(t(X) %*% Vi %*% X, t(X) %*% Vi %*% y)
  r <- y - X %*% beta; sigma <- sqrt(drop(t(r) %*% Vi %*% r) / (n - p))
  # random-effect covariance per term on the absolute scale
  vc <- list(); pos <- 0
  for (t in terms) {
    k <- t$k; T <- matrix(0, k, k); nt <- k * (k + 1) / 2
    T[lower.tri(T, diag = TRUE)] <- par[pos + seq_len(nt)]; pos <- pos + nt
    vc[[length(vc) + 1]] <- sigma^2 * tcrossprod(T)
  }
  list(logLik = o2$value, Phi = phi, sigma = sigma, beta = setNames(drop(beta), colnames(X)),
       vcov_re = vc, convergence = o2$convergence)
}
slope <- dense_fit(list(zterm(~ Days, ss$Subject)), c(1, 0, 0.2, 0.5))
slope$formula <- "Reaction ~ Days + (Days | Subject)"
slope$correlation <- "corAR1(form = ~ Days | Subject)"
slope$nlme_error <- nlme_slope_error
crossed <- dense_fit(list(zterm(~ 1, ss$Subject), zterm(~ 1, ss$fDays)), c(1, 0.3, 0.5))
crossed$formula <- "Reaction ~ Days + (1 | Subject) + (1 | fDays)"
crossed$correlation <- "corAR1(form = ~ Days | Subject)"
# (d) simulated: 40 subjects x 8 visits, each visit scored by one of 6 raters (crossed with
# subject), AR(1) errors within subject (phi 0.6); the data go into the fixture.
set.seed(20240501)
ns <- 40; nv <- 8
sim <- data.frame(subj = factor(rep(sprintf("s%02d", 1:ns), each = nv)), visit = rep(0:(nv - 1), ns),
                  rater = factor(sprintf("r%d", sample(1:6, ns * nv, replace = TRUE))))
u_s <- rnorm(ns, 0, 3); u_r <- rnorm(6, 0, 2)
e <- unlist(lapply(1:ns, function(i) as.numeric(arima.sim(list(ar = 0.6), nv, sd = 2 * sqrt(1 - 0.36)))))
sim$score <- 50 + 0.8 * sim$visit + u_s[as.integer(sim$subj)] + u_r[as.integer(sim$rater)] + e
sim$score <- round(sim$score, 4)
ss <- sim; ss$Days <- ss$visit; ss$Subject <- ss$subj
X <- model.matrix(~ visit, ss); y <- ss$score; n <- nrow(X); p <- ncol(X)
grp <- as.integer(ss$subj)
raters <- dense_fit(list(zterm(~ 1, ss$subj), zterm(~ 1, ss$rater)), c(1, 1, 0.5))
raters$formula <- "score ~ visit + (1 | subj) + (1 | rater)"
raters$correlation <- "corAR1(form = ~ visit | subj)"
raters$data <- list(subj = as.character(sim$subj), visit = sim$visit,
                    rater = as.character(sim$rater), score = sim$score)
out$lmer_ar1 <- list(nested = ar1_nested, slope = slope, crossed = crossed, raters = raters)
writeLines(toJSON(j17(out), auto_unbox = TRUE, json_verbatim = TRUE, null = "null",
                  na = "null", pretty = TRUE, digits = NA), "tests/reference/lme.json")
