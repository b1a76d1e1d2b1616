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
#   resid_normalized, summary_text, VarCorr_text, intervals_text (null when nlme cannot).
# Numbers are written exactly (shortest of %.15g/%.16g/%.17g that reads back identically).
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
stopifnot(as.character(packageVersion("nlme")) == "3.1.162")

num_text <- function(x) {
  out <- character(length(x))
  for (i in seq_along(x)) {
    v <- x[i]
    out[i] <- if (is.na(v)) "null" else if (is.infinite(v)) (if (v > 0) '"Inf"' else '"-Inf"') else {
      s <- sprintf("%.15g", v)
      if (as.numeric(s) != v) s <- sprintf("%.16g", v)
      if (as.numeric(s) != v) s <- sprintf("%.17g", v)
      s
    }
  }
  out
}
j17 <- function(x) {
  if (is.null(x)) return(NULL)
  if (is.data.frame(x)) return(lapply(as.list(x), function(col) j17(I(col))))
  if (is.list(x)) { y <- lapply(x, j17); names(y) <- names(x); return(y) }
  if (is.factor(x)) x <- as.character(x)
  asis <- inherits(x, "AsIs")
  if (asis) class(x) <- setdiff(class(x), "AsIs")
  if (is.matrix(x)) return(lapply(seq_len(nrow(x)), function(i) j17(I(unname(x[i, ])))))
  if (is.double(x)) {
    t <- num_text(x)
    if (!is.null(names(x)) && !asis)
      return(lapply(setNames(as.list(t), names(x)), function(s) structure(s, class = "json")))
    if (length(x) == 1 && !asis) return(structure(t, class = "json"))
    return(structure(paste0("[", paste(t, collapse = ","), "]"), class = "json"))
  }
  if (!is.null(names(x)) && !asis) return(as.list(x))
  if (asis) return(I(unname(x)))
  x
}
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
    fitted0 = unname(fitted(fit, level = 0)),
    fitted = unname(fitted(fit)),
    resid_response = unname(resid(fit, type = "response")),
    resid_pearson = unname(resid(fit, type = "pearson")),
    resid_normalized = unname(resid(fit, type = "normalized")),
    summary_text = txt(s), VarCorr_text = txt(VarCorr(fit)),
    intervals_text = if (is.null(iv)) NULL else txt(iv))
}

# likelihood-ratio table of two nested ML fits (as anova(fit1, fit2) prints it with those names)
fit1 <- fits$orth_ml; fit2 <- fits$orth_ml_slope
an <- anova(fit1, fit2)
anova_out <- list(cases = c("orth_ml", "orth_ml_slope"), names = c("fit1", "fit2"),
                  text = txt(an), L.Ratio = an$L.Ratio[2], p = an$`p-value`[2])

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
            cases = out_cases, anova = anova_out, acf = acf_out, predict = pred_out)
writeLines(toJSON(j17(out), auto_unbox = TRUE, json_verbatim = TRUE, null = "null",
                  na = "null", pretty = TRUE, digits = NA), "tests/reference/lme.json")
