# Reference values for lmepy/results/rformat.py: R's format(), round(), signif(), formatC(),
# format.pval(), zapsmall(), quantile(type = 7), abbreviate(), print.default of named vectors
# and matrices, and printCoefmat(), on many numbers (tiny, huge, negative, NA, NaN, Inf,
# integers, ties). Run from the repo root: Rscript tests/reference/rformat.R
suppressMessages(library(jsonlite))
`%||%` <- function(a, b) if (is.null(a)) b else a
options(width = 80, digits = 7, scipen = 0, OutDec = ".")
set.seed(20231)

enc <- function(x) {
  # JSON cannot hold NA/NaN/Inf as numbers: encode each element as a string R reads back.
  ifelse(is.na(x) & !is.nan(x), "NA", ifelse(is.nan(x), "NaN", sprintf("%.17g", x)))
}

vectors <- list(
  c(1, 10, 100),
  c(0.1, 0.25, 1/3),
  c(123456789, 0.001),
  c(1e-20, 1, 1e20),
  c(-1.5, 2.25, -3.125),
  c(0, 0, 0),
  c(NA, 1.5, -2),
  c(NaN, 1, Inf, -Inf),
  c(0.15, 0.25, 0.35, 0.45),
  c(9995, 9996, 99999),
  c(1e5, 1e-5),
  c(100000, 123456),
  c(1234567, 12345678),
  c(0.1 + 0.2, 0.3),
  c(2/3, 5/7, 1e-10),
  c(-0.000012345, 0.5),
  c(612.0903, 35.07, 654.941),
  c(24.74066, 5.92214, 25.59182),
  c(251.405105, 10.467286),
  c(1e-300, 5e-324, 1e300),
  c(1.7976931348623157e308),
  c(3.14159265358979),
  c(-0.9999999, 0.99999999),
  c(0.5, 1.5, 2.5, -0.5),
  c(1e15, 1e16, 123456789012),
  c(7.0e-05, 0.0032, 0.047),
  c(1763.939, 1783.097, -875.9697, 1751.939),
  c(1, 2, 3, 4, 5) * 1e-8,
  c(-1.5e-8, 2e-7),
  c(99.5, 999.5, 0.995),
  round(rnorm(8) * 10^sample(-6:6, 8, replace = TRUE), 6),
  rnorm(6),
  rnorm(5) * 1e6,
  rexp(7) * 1e-4,
  c(17, 42, -3),
  c(123.456, NA, NaN, -Inf),
  c(1e-300),
  c(1e-150, 1e150),
  c(1e-200, 1e200)
)

fmt <- list()
for (i in seq_along(vectors)) {
  x <- vectors[[i]]
  res <- list(x = enc(x), digits = list(), nsmall = list())
  for (d in 1:15) res$digits[[as.character(d)]] <- format(x, digits = d)
  for (ns in c(1, 3)) res$nsmall[[as.character(ns)]] <- format(x, nsmall = ns)
  res$nsmall_d3 <- format(x, digits = 3, nsmall = 2)
  res$single <- vapply(x, function(v) format(v), "")
  res$round <- lapply(c(-2, 0, 1, 2, 3, 5), function(k) enc(round(x, k)))
  names(res$round) <- as.character(c(-2, 0, 1, 2, 3, 5))
  res$signif <- lapply(c(1, 2, 3, 6), function(k) enc(signif(x, k)))
  names(res$signif) <- as.character(c(1, 2, 3, 6))
  res$zapsmall <- enc(zapsmall(x, 5))
  res$print_named <- capture.output(print(setNames(x, paste0("v", seq_along(x)))))
  res$print_plain <- capture.output(print(x))
  res$print_plain_d3 <- capture.output(print(x, digits = 3))
  res$sci_true <- format(x, scientific = TRUE)
  res$sci_false <- format(x, scientific = FALSE)
  res$sci_pen3 <- format(x, scientific = 3)
  res$print_named_d4 <- capture.output(print(setNames(x, c("Min", "1Q", "Median", "3Q", "Max", "a", "b", "c")[seq_along(x)]), digits = 4))
  fmt[[i]] <- res
}

# bulk: single numbers of every magnitude, many of them short decimals (ties such as 0.15 or
# 2.675 sit exactly where R's long-double digit counting matters), each formatted alone at
# digits 1..8, plus round() and signif() of them
set.seed(424242)
bulk_x <- c(signif(rnorm(300) * 10^sample(-8:8, 300, replace = TRUE), sample(1:6, 300, replace = TRUE)),
            round(runif(150, -100, 100), sample(0:4, 150, replace = TRUE)) + 0.005 * sample(c(0, 1), 150, replace = TRUE),
            (1:50) / 40, 10^(-5:5) * 0.95, 10^(-5:5) * 0.995, 10^(-5:5) * 9.9995)
bulk <- list(x = enc(bulk_x),
             format = lapply(1:8, function(d) vapply(bulk_x, function(v) format(v, digits = d), "")),
             round2 = enc(round(bulk_x, 2)), round_m1 = enc(round(bulk_x, -1)),
             signif3 = enc(signif(bulk_x, 3)))

# long unnamed vectors: [k] labels at each wrapped line
long_vectors <- list(seq(0.5, 40, by = 0.75), c(rnorm(30) * 1000, NA), (1:120) * 1e-3)
long_out <- lapply(long_vectors, function(x) list(x = enc(x), text = capture.output(print(x))))

# round() ties and representation edge cases
round_cases <- list(
  x = enc(c(0.125, 0.375, 2.675, 1.005, 0.285, 5.5, 6.5, -2.5, 0.45, 1234.5678, 1e-7, 0.0049999999)),
  d = c(2, 2, 2, 2, 2, 0, 0, 0, 1, -2, 6, 2)
)
round_cases$r <- enc(mapply(round, as.numeric(round_cases$x), round_cases$d))

pvals <- list(
  c(0.5, 0.049, 1e-20),
  c(2e-16, 1e-3, 0.9),
  c(1e-5, 1e-4, 0.01234),
  c(0.00012, 0.2),
  c(1e-300, 1e-17),
  c(NA, 0.03, 1),
  c(0.0523, 0.00089)
)
pval_out <- lapply(pvals, function(p) list(p = enc(p), d3 = format.pval(p, digits = 3),
                                           d1 = format.pval(p, digits = 1),
                                           d5 = format.pval(p)))

set.seed(7)
quant <- lapply(list(rnorm(10), c(1, 2), 5, c(3, 1, 2, 2, 10), rnorm(180) * 3, c(-1, NA, 4, 2)),
                function(x) list(x = enc(x), q = enc(unname(quantile(x, na.rm = TRUE)))))

abbrev_in <- c("(Intercept)", "Days", "age", "SexFemale", "age:SexFemale", "recipeB",
               "temperature.L", "recipeB:temperature.L", "service1", "x", "log(dose)",
               "poly(Days, 2)1", "poly(Days, 2)2", "treatmentplacebo", "treatmentdrug",
               "periodTwo", "I(x^2)", "AB CD EF", "aaaa", "aaab", "Sex", "SexMale",
               "group2:time", "group3:time", "HIGHUPPER", "a b")
abbrev_out <- list(in_ = abbrev_in,
                   m6 = unname(abbreviate(abbrev_in, minlength = 6)),
                   m11 = unname(abbreviate(abbrev_in, minlength = 11)),
                   m4 = unname(abbreviate(abbrev_in, minlength = 4)),
                   m1 = unname(abbreviate(abbrev_in, minlength = 1)))

fc_x <- c(3.14159, -2.5, 1e-10, 123456.789, 0)
formatc <- list(x = enc(fc_x),
                g3 = formatC(fc_x, digits = 3, format = "g"),
                f2 = formatC(fc_x, digits = 2, format = "f"),
                e4 = formatC(fc_x, digits = 4, format = "e"),
                f1w10 = formatC(fc_x, digits = 1, format = "f", width = 10),
                g5m = formatC(fc_x, digits = 5, format = "g", flag = "-", width = 12))

mk_coef <- function(est, se, df = NULL, p = TRUE, z = FALSE) {
  tv <- est / se
  m <- cbind(Estimate = est, `Std. Error` = se)
  if (!is.null(df)) m <- cbind(m, df = df)
  m <- cbind(m, tv)
  colnames(m)[ncol(m)] <- if (z) "z value" else "t value"
  if (p) {
    pv <- if (is.null(df)) 2 * pnorm(-abs(tv)) else 2 * pt(-abs(tv), df)
    m <- cbind(m, pv)
    colnames(m)[ncol(m)] <- if (z) "Pr(>|z|)" else "Pr(>|t|)"
  }
  m
}
coefmats <- list(
  list(m = mk_coef(c(251.405105, 10.467286), c(6.824597, 1.545790), p = FALSE, df = NULL), digits = 4),
  list(m = mk_coef(c(251.405105, 10.467286), c(6.824597, 1.545790), df = c(17, 17)), digits = 4),
  list(m = mk_coef(c(-2.5, 0.0003, 12.1, 0), c(0.5, 0.0001, 100.2, 0.3), z = TRUE), digits = 4),
  list(m = mk_coef(c(1527.5, 1e-9), c(19.38, 3.2e-10), p = FALSE), digits = 4),
  list(m = mk_coef(c(33.12222, -1.47778, 6.43033), c(1.67794, 2.37297, 1.1286), df = c(42, 42, 210)), digits = 5),
  list(m = mk_coef(c(0.5, -0.1), c(0.1, 10), z = TRUE), digits = 3),
  list(m = mk_coef(c(12, NA), c(2, NA), z = TRUE), digits = 4),
  list(m = mk_coef(c(3.28258, -0.09259), c(0.02841, 0.01338), df = c(2000, 70000)), digits = 4)
)
coefmat_out <- lapply(coefmats, function(cm) {
  list(x = lapply(seq_len(nrow(cm$m)), function(i) enc(cm$m[i, ])),
       rownames = if (nrow(cm$m) == 2) c("(Intercept)", "Days") else paste0("b", seq_len(nrow(cm$m))),
       colnames = colnames(cm$m), digits = cm$digits,
       text = {
         mm <- cm$m
         rownames(mm) <- if (nrow(mm) == 2) c("(Intercept)", "Days") else paste0("b", seq_len(nrow(mm)))
         capture.output(printCoefmat(mm, digits = cm$digits))
       })
})

# printCoefmat's other arguments: zap.ind, dig.tst, signif.stars/legend, P.values, cs.ind
cm_extra_m <- cbind(Df = c(1, 2, 1), `Sum Sq` = c(1234.5678, 1e-12, 0.00345),
                    `Mean Sq` = c(1234.5678, 5e-13, 0.00345), `F value` = c(45.853, 0.01234, 2.5),
                    `Pr(>F)` = c(3.26e-06, 0.98, 0.114))
rownames(cm_extra_m) <- c("Days", "x", "Days:x")
cm_args <- list(
  zap = list(args = list(zap.ind = 2:3, tst.ind = 4, cs.ind = integer()),
             text = capture.output(printCoefmat(cm_extra_m, zap.ind = 2:3, tst.ind = 4, cs.ind = integer()))),
  dig_tst = list(args = list(dig.tst = 2),
                 text = capture.output(printCoefmat(coefmats[[2]]$m, dig.tst = 2))),
  no_stars = list(args = list(signif.stars = FALSE),
                  text = capture.output(printCoefmat(coefmats[[3]]$m, signif.stars = FALSE))),
  no_legend = list(args = list(signif.legend = FALSE),
                   text = capture.output(printCoefmat(coefmats[[3]]$m, signif.legend = FALSE))),
  no_p = list(args = list(P.values = FALSE),
              text = capture.output(printCoefmat(coefmats[[3]]$m, P.values = FALSE))))
cm_args$zap$x <- lapply(1:3, function(i) enc(cm_extra_m[i, ]))
cm_args$zap$rownames <- rownames(cm_extra_m)
cm_args$zap$colnames <- colnames(cm_extra_m)
for (k in c("dig_tst", "no_stars", "no_legend", "no_p")) {
  m <- if (k == "dig_tst") coefmats[[2]]$m else coefmats[[3]]$m
  cm_args[[k]]$x <- lapply(seq_len(nrow(m)), function(i) enc(m[i, ]))
  cm_args[[k]]$rownames <- rownames(m) %||% paste0("[", seq_len(nrow(m)), ",]")
  cm_args[[k]]$colnames <- colnames(m)
}

mat_char <- matrix(c("a", "bbbb", "", "-0.138", "cc", "d"), 2,
                   dimnames = list(c("row1", "r2"), c("(Intr)", "x", "longname")))
mat_num <- matrix(c(1.5, -2.25, 1e-8, 3, NA, 100), 2,
                  dimnames = list(c("A", "Bb"), c("c1", "c2", "c3")))
wide <- matrix(round(rnorm(3 * 14), 4), 3,
               dimnames = list(paste0("r", 1:3), paste0("column_", 1:14)))
matrices <- list(
  char_left = list(cells = lapply(1:2, function(i) mat_char[i, ]), rownames = rownames(mat_char),
                   colnames = colnames(mat_char), text = capture.output(print(mat_char, quote = FALSE))),
  char_right = list(cells = lapply(1:2, function(i) mat_char[i, ]), rownames = rownames(mat_char),
                    colnames = colnames(mat_char), text = capture.output(print(mat_char, quote = FALSE, right = TRUE))),
  num = list(cells = lapply(1:2, function(i) enc(mat_num[i, ])), rownames = rownames(mat_num),
             colnames = colnames(mat_num), text = capture.output(print(mat_num))),
  num_d3 = list(cells = lapply(1:2, function(i) enc(mat_num[i, ])), rownames = rownames(mat_num),
                colnames = colnames(mat_num), text = capture.output(print(mat_num, digits = 3))),
  wide = list(cells = lapply(1:3, function(i) enc(wide[i, ])), rownames = rownames(wide),
              colnames = colnames(wide), text = capture.output(print(wide)))
)

long_names <- setNames(c(33.12222, -1.47778, -1.52222, 6.43033, -0.71285, -2.32551, -3.35128),
                       c("(Intercept)", "recipeB", "recipeC", "temperature.L", "temperature.Q",
                         "temperature.C", "recipeB:temperature^4"))
named_gap2 <- list(x = enc(long_names), names = names(long_names),
                   text = capture.output(print.default(format(long_names, digits = 4),
                                                       print.gap = 2L, quote = FALSE)))

# deparse() of formulas with R's line breaking at width.cutoff = 60, after lme4's `||` expansion
suppressMessages(library(lme4))
formulas <- c(
  "Reaction ~ Days + (Days | Subject)",
  "Reaction ~ Days + (Days || Subject)",
  "y ~ x + (x*z || g) + (0 + x || h)",
  "y ~ x + (log(x) || g)",
  "Reaction ~ Days + aaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbb + aaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbb + (Days|Subject)",
  "y ~ poly(Days, 2, raw = TRUE) + I(a^2) + x %in% z + (1 | g/h) + offset(log(yyyyyyyyyyyyyyyyyyyyyyy)) + eeeeeeeeeeeeeeeee - 1",
  "y ~ poly(aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccc, raw = dddddddddd) + (1 | g)",
  "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  "y ~ 0 + x + (1 + x | g) + (-1 + z | h)",
  "y ~ (x - 1 || g) + (0 + x || (g)) + 0",
  "y ~ x + (x + I(x^2) || g:h) + (1 | h)"
)
deparse_out <- lapply(formulas, function(f) list(
  formula = f, deparse = deparse(lme4:::expandDoubleVerts(as.formula(f)))))

# lme4 printed text beyond tests/reference/lmer.json's cases: a rank-deficient X ("fit
# warnings:"), a formula long enough for deparse to break it, and the 18 x 18 correlation
# table of cake printed on request (wrapped into column blocks at width 80)
lme4_case <- function(fit, data_name, correlation = NULL) {
  ss <- summary(fit)
  vcdf <- as.data.frame(VarCorr(fit))
  rq <- quantile(ss$residuals, na.rm = TRUE)
  vcm <- as.matrix(vcov(fit))
  list(REML = isREML(fit), formula_deparse = deparse(formula(fit)), data = data_name,
       objective = if (isREML(fit)) REMLcrit(fit) else deviance(fit),
       AIC = AIC(fit), BIC = BIC(fit), logLik = as.numeric(logLik(fit)),
       df_resid = df.residual(fit), nobs = nobs(fit), ngrps = as.list(ngrps(fit)),
       varcorr = list(grp = vcdf$grp, var1 = vcdf$var1, var2 = vcdf$var2, vcov = vcdf$vcov,
                      sdcor = vcdf$sdcor),
       resid_quantiles = unname(rq),
       coef_rownames = rownames(coef(ss)), coef_values = lapply(seq_len(nrow(coef(ss))), function(i) unname(coef(ss)[i, ])),
       corr = lapply(seq_len(nrow(vcm)), function(i) unname(cov2cor(vcm)[i, ])),
       fit_msgs = lme4:::.merMod.msgs(fit),
       correlation = if (is.null(correlation)) NA else correlation,
       print_summary = capture.output(print(ss, correlation = correlation)),
       print_fit = capture.output(print(fit)),
       # other arguments of the print methods
       print_summary_d3_sd = capture.output(print(ss, digits = 3, ranef.comp = "Std.Dev.",
                                                  signif.stars = FALSE)),
       print_fit_d6_var = capture.output(print(fit, digits = 6,
                                               ranef.comp = c("Variance", "Std.Dev."))))
}
ssx <- sleepstudy
ssx$D2 <- 2 * ssx$Days
set.seed(11)
ssx$aaaaaaaaaaaaaaa <- round(rnorm(180), 2)
ssx$bbbbbbbbbbbbbbbbbbbbbbbbb <- round(rnorm(180), 2)
fit_rd <- suppressMessages(lmer(Reaction ~ Days + D2 + (1 | Subject), ssx))
fit_long <- lmer(Reaction ~ Days + aaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbb +
                   aaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbb + (Days | Subject), ssx)
fit_cake <- lmer(angle ~ recipe * temperature + (1 | recipe:replicate), cake, REML = FALSE)
lme4_cases <- list(rank_deficient = lme4_case(fit_rd, "ssx"),
                   long_formula = lme4_case(fit_long, "ssx"),
                   cake_correlation = lme4_case(fit_cake, "cake", correlation = TRUE))

# print(ranef(fit)) and print(coef(fit)): lists of data frames, 7 significant digits per column
fit_dbar <- lmer(Reaction ~ Days + (Days || Subject), sleepstudy)
fit_pen <- lmer(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin)
frames_of <- function(lst) lapply(lst, function(df) list(
  rownames = rownames(df), colnames = colnames(df),
  values = lapply(seq_len(nrow(df)), function(i) unname(as.numeric(df[i, ])))))
ranef_print <- list(
  dbar = list(ranef = frames_of(ranef(fit_dbar)), coef = frames_of(coef(fit_dbar)),
              print_ranef = capture.output(print(ranef(fit_dbar, condVar = TRUE))),
              print_ranef_nocv = capture.output(print(ranef(fit_dbar, condVar = FALSE))),
              print_coef = capture.output(print(coef(fit_dbar)))),
  pen = list(ranef = frames_of(ranef(fit_pen)), coef = frames_of(coef(fit_pen)),
             print_ranef = capture.output(print(ranef(fit_pen, condVar = TRUE))),
             print_ranef_nocv = capture.output(print(ranef(fit_pen, condVar = FALSE))),
             print_coef = capture.output(print(coef(fit_pen)))))

out <- list(format = fmt, bulk = bulk, long_vectors = long_out, round = round_cases, pval = pval_out, quantile = quant,
            abbreviate = abbrev_out, formatC = formatc, coefmat = coefmat_out,
            matrices = matrices, named_gap2 = named_gap2, deparse = deparse_out,
            lme4 = lme4_cases, ranef_print = ranef_print, coefmat_args = cm_args,
            R_version = R.version.string)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/rformat.json")
