# nlme reference values: correlation structures, variance functions, gls() and lme() fits.
# Run from the repo root (nlme 3.1-162):  Rscript tests/reference/nlme.R
# Writes tests/reference/nlme.json (numbers with 15 significant digits, jsonlite's maximum).
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")

txt <- function(x) paste(capture.output(print(x)), collapse = "\n")
named <- function(x) as.list(x)                      # named vector -> JSON object
mat <- function(m) list(rownames = rownames(m), colnames = colnames(m),
                        values = unname(lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))))
cormats <- function(cs) {
  cm <- corMatrix(cs)
  if (!is.list(cm)) cm <- list(`1` = cm)
  lapply(cm, function(m) unname(lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))))
}

# ---------------------------------------------------------------------------------------------
# Correlation structures on small data sets: corMatrix per group, coef on both scales, and
# log det of each group's correlation matrix (computed from corMatrix).
small <- data.frame(
  g = c("a", "a", "a", "a", "b", "b", "b"),
  t = c(1, 2, 4, 5, 1, 3, 4),                         # integer times with gaps
  tc = c(0.5, 1.2, 2.0, 3.7, 0.1, 0.4, 1.9),         # continuous times
  tu = c(2.0, 0.5, 3.1, 1.0, 0.2, 1.5, 0.7),         # continuous, unsorted within group
  x = c(1.5, 2, 3, 4.2, 5, 6, 7.5),
  s = c("c", "b", "a", "b", "c", "a", "b"),
  stringsAsFactors = FALSE)
small$fs <- factor(small$s, levels = c("b", "c", "a"))
sym4 <- data.frame(g = rep(c("a", "b"), each = 4), k = c(1, 2, 3, 4, 2, 1, 4, 3))
structs <- list(
  ar1_gaps   = list(data = small, cs = corAR1(0.3, form = ~ t | g)),
  ar1_rows   = list(data = small, cs = corAR1(-0.4, form = ~ 1 | g)),
  ar1_nogrp  = list(data = small, cs = corAR1(0.5)),
  car1       = list(data = small, cs = corCAR1(0.6, form = ~ tc | g)),
  car1_unsorted = list(data = small, cs = corCAR1(0.35, form = ~ tu | g)),
  arma11     = list(data = small, cs = corARMA(c(0.4, 0.2), p = 1, q = 1, form = ~ t | g)),
  arma20     = list(data = small, cs = corARMA(c(0.4, -0.2), p = 2, q = 0, form = ~ t | g)),
  arma02     = list(data = small, cs = corARMA(c(0.4, -0.2), p = 0, q = 2, form = ~ 1 | g)),
  arma21     = list(data = small, cs = corARMA(c(0.4, -0.2, 0.1), p = 2, q = 1, form = ~ 1 | g)),
  arma12     = list(data = small, cs = corARMA(c(0.4, -0.2, 0.1), p = 1, q = 2, form = ~ t | g)),
  arma32     = list(data = small, cs = corARMA(c(0.5, -0.3, 0.2, 0.3, -0.25), p = 3, q = 2, form = ~ t | g)),
  compsymm   = list(data = small, cs = corCompSymm(0.3, form = ~ 1 | g)),
  compsymm_neg = list(data = small, cs = corCompSymm(-0.2, form = ~ 1 | g)),
  symm4      = list(data = sym4, cs = corSymm(c(0.2, 0.1, -0.3, 0.25, 0.15, 0.05), form = ~ 1 | g)),
  symm4_idx  = list(data = sym4, cs = corSymm(c(0.2, 0.1, -0.3, 0.25, 0.15, 0.05), form = ~ k | g))
)
cor_out <- lapply(names(structs), function(nm) {
  s <- structs[[nm]]
  cs <- Initialize(s$cs, s$data)
  cm <- corMatrix(cs); if (!is.list(cm)) cm <- list(`1` = cm)
  list(class = class(cs)[1],
       form = paste(deparse(formula(cs)), collapse = ""),
       data = as.list(s$data),
       coef_constrained = named(coef(cs, unconstrained = FALSE)),
       coef_unconstrained = unname(coef(cs, unconstrained = TRUE)),
       corMatrix = cormats(cs),
       logdet = unname(sapply(cm, function(m) as.numeric(determinant(m)$modulus))))
})
names(cor_out) <- names(structs)

# corARMA correlations by lag (first row of corMatrix on 9 equally spaced times) for several
# orders, including q > p where nlme's moving-average terms differ from the textbook ACF.
arma_pq <- list(c(1, 2), c(1, 3), c(2, 4), c(0, 3), c(2, 3), c(3, 4), c(1, 4), c(2, 2), c(3, 1))
arma_out <- lapply(arma_pq, function(pq) {
  v <- c(0.4, -0.2, 0.15, 0.1, -0.3, 0.2, 0.05)[seq_len(sum(pq))]
  cs <- Initialize(corARMA(v, p = pq[1], q = pq[2]), data.frame(t = 1:9))
  list(p = pq[1], q = pq[2], coef = unname(coef(cs, unconstrained = FALSE)),
       coef_unconstrained = unname(coef(cs, unconstrained = TRUE)),
       acf = unname(corMatrix(cs)[1, ]))
})

# Variance functions: coef on both scales, varWeights, and logLik(varFunc) = sum(log(weights)).
vfs <- list(
  ident_chr  = list(data = small, vf = varIdent(form = ~ 1 | s)),
  ident_fac  = list(data = small, vf = varIdent(form = ~ 1 | fs)),
  ident_val  = list(data = small, vf = varIdent(c(a = 2, c = 0.5), form = ~ 1 | s)),
  ident_val3 = list(data = small, vf = varIdent(c(b = 1.5, a = 0.7), form = ~ 1 | s)),
  power_x    = list(data = small, vf = varPower(0.5, form = ~ x)),
  power_xg   = list(data = small, vf = varPower(c(a = 0.5, b = -0.2), form = ~ x | g)),
  exp_x      = list(data = small, vf = varExp(0.3, form = ~ x)),
  constpower = list(data = small, vf = varConstPower(const = 2, power = 0.5, form = ~ x)),
  fixed_x    = list(data = small, vf = varFixed(~ x)),
  ident_fixed = list(data = small, vf = varIdent(c(b = 1.5), form = ~ 1 | s, fixed = c(a = 0.7))),
  power_fixed = list(data = small, vf = varPower(form = ~ x, fixed = 0.5)),
  constpower_fixed = list(data = small, vf = varConstPower(const = 2, form = ~ x, fixed = list(power = 0.3)))
)
vf_out <- lapply(names(vfs), function(nm) {
  s <- vfs[[nm]]
  vf <- Initialize(s$vf, s$data)
  # Initialize() leaves varConstPower's weights at 1; assigning the coefficients recomputes them
  if (length(coef(vf, unconstrained = TRUE))) coef(vf) <- coef(vf, unconstrained = TRUE)
  list(class = class(vf)[1],
       data = as.list(s$data),
       coef_constrained = named(coef(vf, unconstrained = FALSE)),
       coef_unconstrained = unname(coef(vf, unconstrained = TRUE)),
       coef_unconstrained_names = names(coef(vf, unconstrained = TRUE)),
       coef_all = named(coef(vf, unconstrained = FALSE, allCoef = TRUE)),
       weights = unname(varWeights(vf)),
       logLik = as.numeric(logLik(vf)))
})
names(vf_out) <- names(vfs)

# ---------------------------------------------------------------------------------------------
# gls fits.
ms_coef <- function(fit, unconstrained) {
  ms <- fit$modelStruct
  out <- list()
  for (nm in names(ms)) out[[nm]] <- named(coef(ms[[nm]], unconstrained = unconstrained))
  out
}
intervals_list <- function(iv) {
  lapply(iv, function(x) if (is.matrix(x)) mat(x) else named(x))
}
gls_out <- function(fit, data_name, call_text) {
  s <- summary(fit)
  iv <- tryCatch(intervals(fit), error = function(e) NULL)
  list(call = call_text, data = data_name, method = fit$method,
       logLik = as.numeric(logLik(fit)), df = attr(logLik(fit), "df"),
       AIC = AIC(fit), BIC = BIC(fit), sigma = fit$sigma,
       coef = named(coef(fit)), vcov = mat(vcov(fit)),
       tTable = mat(s$tTable),
       modelStruct = ms_coef(fit, FALSE),
       modelStruct_unconstrained = ms_coef(fit, TRUE),
       fitted = unname(as.numeric(fitted(fit))),
       residuals_response = unname(as.numeric(residuals(fit, type = "response"))),
       residuals_pearson = unname(as.numeric(residuals(fit, type = "pearson"))),
       residuals_normalized = unname(as.numeric(residuals(fit, type = "normalized"))),
       apVar = if (is.matrix(fit$apVar)) mat(fit$apVar) else NULL,
       intervals = if (is.null(iv)) NULL else intervals_list(iv),
       intervals_text = if (is.null(iv)) NULL else txt(iv),
       summary_text = txt(s),
       print_text = txt(fit),
       confint = mat(confint(fit)),
       deviance = if (fit$method == "ML") as.numeric(deviance(fit)) else NULL,
       anova = {a <- anova(fit); list(rownames = rownames(a), numDF = a$numDF, Fvalue = a[["F-value"]],
                                      pvalue = a[["p-value"]], text = txt(a))})
}
# nlme's apVar is a finite-difference Hessian with step .Machine$double.eps^(1/3); for several
# of these fits that step is so small that rounding noise moves the variance-covariance
# intervals by up to several percent. For a stable reference, the same Hessian of nlme's own
# function (nlme:::glsApVar.fullGlsLogLik, at nlme's estimates, in nlme's parametrization) by
# central differences with Richardson extrapolation, and the intervals that follow from it
# exactly as nlme's intervals.gls computes them.
richardson_hessian <- function(f, x, h0 = 1e-3) {
  n <- length(x)
  hess_h <- function(h) {
    hh <- h * pmax(abs(x), 0.1)
    H <- matrix(0, n, n)
    f0 <- f(x)
    for (i in seq_len(n)) {
      ei <- replace(numeric(n), i, hh[i])
      H[i, i] <- (f(x + ei) - 2 * f0 + f(x - ei)) / hh[i]^2
      for (j in seq_len(i - 1)) {
        ej <- replace(numeric(n), j, hh[j])
        H[i, j] <- H[j, i] <- (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) /
          (4 * hh[i] * hh[j])
      }
    }
    H
  }
  (4 * hess_h(h0 / 2) - hess_h(h0)) / 3
}
stable_intervals <- function(fit, level = 0.95) {
  glsSt <- fit$modelStruct
  if (!length(coef(glsSt))) return(NULL)
  cSt <- glsSt[["corStruct"]]
  natural <- !is.null(cSt) && inherits(cSt, "corSymm")
  if (natural) {
    r <- coef(cSt, unconstrained = FALSE)
    class(cSt) <- c("corNatural", "corStruct")
    coef(cSt) <- log((1 + r) / (1 - r))
    glsSt[["corStruct"]] <- cSt
  }
  # the transformed data nlme's gls keeps for apVar, rebuilt as gls() builds it
  mf <- model.frame(formula(fit), getData(fit))
  X <- model.matrix(formula(fit), mf)
  y <- model.response(mf)
  grp <- if (!is.null(fit$groups)) fit$groups else NULL
  ord <- if (is.null(grp)) seq_along(y) else order(grp)
  conLin <- list(Xy = array(c(X[ord, ], y[ord]), c(length(y), ncol(X) + 1)),
                 dims = list(N = length(y), p = ncol(X), REML = as.integer(fit$method == "REML")),
                 logLik = 0, sigma = 0, fixedSigma = FALSE)
  dims <- conLin$dims
  N <- dims$N - dims$REML * dims$p
  Pars <- c(coef(glsSt), lSigma = log(fit$sigma))
  attr(glsSt, "fixedSigma") <- FALSE
  f <- function(p) nlme:::glsApVar.fullGlsLogLik(p, glsSt, conLin, dims, N)
  H <- richardson_hessian(f, Pars)
  aV <- solve(-H)
  len <- -qnorm((1 - level) / 2) * sqrt(diag(aV))
  aux <- cbind(lower = Pars - len, est. = Pars, upper = Pars + len)
  np <- nrow(aux)
  sig <- exp(aux[np, ])
  aux <- aux[-np, , drop = FALSE]
  st <- glsSt
  rn <- names(coef(st, FALSE))
  for (i in 1:3) { coef(st) <- aux[, i]; aux[, i] <- coef(st, unconstrained = FALSE) }
  rownames(aux) <- rn
  list(apVar = unname(lapply(seq_len(nrow(aV)), function(i) unname(aV[i, ]))),
       structure = mat(aux), sigma = named(sig))
}
gls_calls <- list(
  ovary_ar1 = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1(form = ~ 1 | Mare))",
  ovary_ar1_ml = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1(form = ~ 1 | Mare), method = \"ML\")",
  ovary_compsymm = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corCompSymm(form = ~ 1 | Mare))",
  ovary_arma11 = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corARMA(p = 1, q = 1, form = ~ 1 | Mare))",
  ovary_ols = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary)",
  orthodont_varident = "gls(distance ~ age * Sex, Orthodont, weights = varIdent(form = ~ 1 | Sex))",
  orthodont_varident_ml = "gls(distance ~ age * Sex, Orthodont, weights = varIdent(form = ~ 1 | Sex), method = \"ML\")",
  orthodont_corsymm = "gls(distance ~ age * Sex, Orthodont, correlation = corSymm(form = ~ 1 | Subject))",
  orthodont_varexp = "gls(distance ~ age * Sex, Orthodont, weights = varExp(form = ~ age))",
  bodyweight_car1 = "gls(weight ~ Time * Diet, BodyWeight, correlation = corCAR1(form = ~ Time | Rat))",
  bodyweight_varpower = "gls(weight ~ Time * Diet, BodyWeight, weights = varPower())",
  bodyweight_varpower_time = "gls(weight ~ Time * Diet, BodyWeight, weights = varPower(form = ~ Time))",
  bodyweight_ar1_varpower = "gls(weight ~ Time * Diet, BodyWeight, correlation = corAR1(form = ~ 1 | Rat), weights = varPower())",
  orthodont_ar1_gaps = "gls(distance ~ age * Sex, Orthodont, correlation = corAR1(form = ~ age | Subject))",
  orthodont_varfixed = "gls(distance ~ age * Sex, Orthodont, weights = varFixed(~ age))",
  ovary_ar1_nogroup = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1())",
  orthodont_varident_fixed = "gls(distance ~ age * Sex, Orthodont, weights = varIdent(form = ~ 1 | Sex, fixed = c(Female = 0.8)))",
  ovary_ar1_fixed = "gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1(0.5, form = ~ 1 | Mare, fixed = TRUE))",
  orthodont_varexp_log = "gls(distance ~ age * Sex, Orthodont, weights = varExp(form = ~ log(age)))",
  orthodont_varexp_strata = "gls(distance ~ age * Sex, Orthodont, weights = varExp(form = ~ age | Sex))",
  bodyweight_varpower_diet = "gls(weight ~ Time * Diet, BodyWeight, weights = varPower(form = ~ fitted(.) | Diet))",
  orthodont_varident_cs = "gls(distance ~ age * Sex, Orthodont, correlation = corCompSymm(form = ~ 1 | Subject), weights = varIdent(form = ~ 1 | Sex))"
)
gls_fits <- lapply(names(gls_calls), function(nm) {
  cl <- gls_calls[[nm]]
  fit <- eval(parse(text = cl))
  out <- gls_out(fit, sub("^gls\\([^,]*, ([A-Za-z]+),.*$", "\\1", sub("\\)$", ",)", cl)), cl)
  out$stable <- tryCatch(stable_intervals(fit), error = function(e) NULL, warning = function(w) NULL)
  out
})
names(gls_fits) <- names(gls_calls)

# anova() comparing fits (likelihood-ratio tests), REML fits with the same fixed effects and
# ML fits with different ones.
anova_out <- function(a) list(rownames = rownames(a), df = a$df, AIC = a$AIC, BIC = a$BIC,
                              logLik = a$logLik, L.Ratio = a$L.Ratio, pvalue = a[["p-value"]],
                              text = txt(a))
f1 <- gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary)
f2 <- gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1(form = ~ 1 | Mare))
f3 <- gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corARMA(p = 1, q = 1, form = ~ 1 | Mare))
m1 <- gls(follicles ~ sin(2*pi*Time), Ovary, correlation = corAR1(form = ~ 1 | Mare), method = "ML")
m2 <- gls(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), Ovary, correlation = corAR1(form = ~ 1 | Mare), method = "ML")
# The same CAR(1) fit on BodyWeight with its rows shuffled (data not sorted by group or time):
# the permutation is stored so the test can rebuild the data.
set.seed(20261122)
shuffle <- sample(nrow(BodyWeight))
bw_shuffled <- as.data.frame(BodyWeight)[shuffle, ]
fs <- gls(weight ~ Time * Diet, bw_shuffled, correlation = corCAR1(form = ~ Time | Rat))
gls_shuffled <- list(permutation = shuffle, logLik = as.numeric(logLik(fs)), coef = named(coef(fs)),
                     modelStruct = named(coef(fs$modelStruct, unconstrained = FALSE)),
                     sigma = fs$sigma,
                     residuals_normalized = unname(as.numeric(residuals(fs, type = "normalized"))),
                     residuals_pearson = unname(as.numeric(residuals(fs, type = "pearson"))))

# na.action = na.omit: missing values in the response, a covariate of the model and the
# structure's covariate
od_na <- as.data.frame(Orthodont)
od_na$distance[c(3, 10)] <- NA
od_na$age2 <- od_na$age
od_na$age2[c(17)] <- NA
fna <- gls(distance ~ age * Sex, od_na, weights = varIdent(form = ~ 1 | Sex),
           correlation = corCAR1(form = ~ age2 | Subject), na.action = na.omit)
gls_na <- list(na_rows = c(3, 10), na_age2 = 17, logLik = as.numeric(logLik(fna)),
               coef = named(coef(fna)), modelStruct = named(coef(fna$modelStruct, unconstrained = FALSE)),
               nobs = nobs(fna), fitted = unname(as.numeric(fitted(fna))),
               residuals_normalized = unname(as.numeric(residuals(fna, type = "normalized"))))

# predict() on new data (factor levels as strings, a subset of the levels)
gls_predict <- list(
  ovary_ar1 = list(newdata = list(Time = c(0, 0.25, 0.5, 1.1)),
                   fit = as.numeric(predict(f2, newdata = data.frame(Time = c(0, 0.25, 0.5, 1.1))))),
  orthodont_varident = {
    nd <- data.frame(age = c(8, 11.5, 14), Sex = c("Female", "Male", "Female"))
    fo <- gls(distance ~ age * Sex, Orthodont, weights = varIdent(form = ~ 1 | Sex))
    list(newdata = as.list(nd), fit = as.numeric(predict(fo, newdata = nd)))
  })
gls_anova <- list(
  reml_f1_f2_f3 = anova_out(anova(f1, f2, f3)),
  ml_m1_m2 = c(anova_out(anova(m1, m2)), list(m1_logLik = as.numeric(logLik(m1))))
)

# ---------------------------------------------------------------------------------------------
# lme fits (for the lme developer).
ranef_out <- function(re) {
  one <- function(r) list(rownames = rownames(r), columns = lapply(as.list(r), unname))
  if (is.data.frame(re)) one(re) else lapply(re, one)
}
lme_out <- function(fit, call_text) {
  s <- summary(fit)
  iv <- tryCatch(intervals(fit), error = function(e) NULL)
  tt <- s$tTable
  list(call = call_text, method = fit$method,
       logLik = as.numeric(logLik(fit)), df = attr(logLik(fit), "df"),
       AIC = AIC(fit), BIC = BIC(fit), sigma = fit$sigma,
       fixef = named(fixef(fit)), se = named(tt[, "Std.Error"]), DF = named(tt[, "DF"]),
       tTable = mat(tt), vcov = mat(vcov(fit)),
       ranef = ranef_out(ranef(fit)),
       modelStruct = named(coef(fit$modelStruct, unconstrained = FALSE)),
       modelStruct_unconstrained = named(coef(fit$modelStruct, unconstrained = TRUE)),
       VarCorr_text = txt(VarCorr(fit)),
       intervals = if (is.null(iv)) NULL else lapply(iv, function(x) {
         if (is.matrix(x) || is.data.frame(x)) mat(as.matrix(x))
         else if (is.list(x)) lapply(x, function(y) if (is.matrix(y) || is.data.frame(y)) mat(as.matrix(y)) else named(y))
         else named(x)
       }),
       intervals_text = if (is.null(iv)) NULL else txt(iv),
       summary_text = txt(s))
}
lme_calls <- list(
  ovary_pddiag_ar1 = "lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), data = Ovary, random = pdDiag(~sin(2*pi*Time)), correlation = corAR1())",
  orthodont = "lme(distance ~ age * Sex, data = Orthodont, random = ~ age | Subject)",
  orthodont_varident = "lme(distance ~ age * Sex, data = Orthodont, random = ~ age | Subject, weights = varIdent(form = ~ 1 | Sex))",
  bodyweight_car1 = "lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, correlation = corCAR1(form = ~ Time))",
  bodyweight_varpower = "lme(weight ~ Time * Diet, data = BodyWeight, random = ~ Time | Rat, weights = varPower())",
  pixel = "lme(pixel ~ day + I(day^2), data = Pixel, random = list(Dog = ~ day, Side = ~ 1))"
)
# nlme's lme apVar has the same small-step finite-difference noise as gls's; "stable" holds
# apVar and intervals computed by nlme itself with only its fdHess swapped for the
# Richardson-extrapolated central differences above.
stable_fdHess <- function(pars, fun, ..., .relStep = NULL, minAbsPar = 0) {
  f <- function(p) fun(p, ...)
  list(mean = f(pars), gradient = NULL, Hessian = richardson_hessian(f, as.numeric(pars)))
}
with_stable_hessian <- function(expr) {
  orig <- get("fdHess", envir = asNamespace("nlme"))
  assignInNamespace("fdHess", stable_fdHess, "nlme")
  on.exit(assignInNamespace("fdHess", orig, "nlme"))
  expr
}
lme_fits <- lapply(names(lme_calls), function(nm) {
  out <- lme_out(eval(parse(text = lme_calls[[nm]])), lme_calls[[nm]])
  out$stable <- tryCatch(with_stable_hessian({
    fit <- eval(parse(text = lme_calls[[nm]]))
    iv <- intervals(fit)
    list(apVar = if (is.matrix(fit$apVar)) mat(fit$apVar) else NULL,
         intervals = lapply(iv, function(x) {
           if (is.matrix(x) || is.data.frame(x)) mat(as.matrix(x))
           else if (is.list(x)) lapply(x, function(y) if (is.matrix(y) || is.data.frame(y)) mat(as.matrix(y)) else named(y))
           else named(x)
         }),
         intervals_text = txt(iv))
  }), error = function(e) NULL)
  out
})
names(lme_fits) <- names(lme_calls)

out <- list(nlme_version = as.character(packageVersion("nlme")),
            corStruct = cor_out, corARMA_acf = arma_out, varFunc = vf_out, gls = gls_fits, gls_anova = gls_anova, gls_predict = gls_predict, gls_shuffled = gls_shuffled, gls_na = gls_na, lme = lme_fits)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           "tests/reference/nlme.json")
