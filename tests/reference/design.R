# Reference values for the design stage (lmepy/design): R's model.matrix() and lme4's
# lFormula() (X, y, offset, weights, Zt, cnms, flist levels, theta, lower, Gp) for a set of
# formulas, plus the error texts and R's string/number conventions the design stage mimics.
# Writes tests/reference/design.json. Run from the repo root:
#   Rscript tests/reference/design.R
# Reference versions: R 4.2.2, lme4 1.1-31, nlme 3.1-162. Doubles are written with 17
# significant digits (exact round trip); -Inf as -Infinity (Python's json reads it).
suppressPackageStartupMessages({
  library(lme4)
  library(nlme)
  library(jsonlite)
  library(splines)
})
stopifnot(packageVersion("lme4") == "1.1.31")

# ---- JSON helpers ---------------------------------------------------------------------------
num_json <- function(x) {
  x <- as.numeric(x)
  txt <- ifelse(is.na(x), "null",
                ifelse(is.infinite(x), ifelse(x > 0, "Infinity", "-Infinity"),
                       sprintf("%.17g", x)))
  structure(paste0("[", paste(txt, collapse = ","), "]"), class = "json")
}
# a numeric matrix as a list of its columns
mat_json <- function(m) lapply(seq_len(ncol(m)), function(j) num_json(m[, j]))
chr <- function(x) I(as.character(x))

# ---- inline data frames (stored in the JSON so the tests can rebuild them) --------------------
frames <- list()
frame_json <- function(d) {
  lapply(d, function(col) {
    if (is.factor(col)) {
      list(type = "factor", levels = chr(levels(col)), ordered = is.ordered(col),
           codes = I(ifelse(is.na(col), -1L, as.integer(col) - 1L)))
    } else if (is.logical(col)) {
      list(type = "logical", values = I(col))
    } else if (is.character(col)) {
      list(type = "character", values = I(col))
    } else {
      list(type = "numeric", values = num_json(col))
    }
  })
}
add_frame <- function(name, d) {
  frames[[name]] <<- list(columns = chr(names(d)), data = frame_json(d))
  d
}

# small data: three factors/numerics for (a + b + c)^2 and friends
small <- add_frame("small", data.frame(
  y = c(2.5, 3.1, 4.7, 1.2, 5.5, 6.3, 2.2, 3.9, 4.4, 5.0, 6.8, 7.1),
  a = factor(c("p", "q", "r", "p", "q", "r", "p", "q", "r", "p", "q", "r")),
  b = factor(c("lo", "lo", "hi", "hi", "lo", "hi", "hi", "lo", "lo", "hi", "hi", "lo"),
             levels = c("lo", "hi")),
  c = c(0.5, 1.5, 2.25, 3, 4.5, 5.75, 6, 7.5, 8, 9.25, 10, 11.5),
  x = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13),
  f = factor(c("u", "v", "w", "u", "v", "w", "u", "v", "w", "u", "v", "w")),
  stringsAsFactors = FALSE))

# strings, booleans, unused levels, missing values
mixed <- add_frame("mixed", data.frame(
  y = c(1.5, 2, 3, 4.2, NA, 6.1, 7, 8, 9.5, 10, 11.25, 12, 13.5, 14, 15.5, 16),
  x = c(1, 2, 3, 4, 5, NA, 7, 9, 10, 12, 13, 15, 16, 18, 19, 21),
  s = c("b", "a", "B", "a", "c", "b", "A", "c", "a", "b", NA, "B", "A", "c", "b", "a"),
  l = c(TRUE, FALSE, TRUE, TRUE, FALSE, FALSE, TRUE, FALSE, TRUE, TRUE, FALSE, FALSE, TRUE,
        FALSE, TRUE, FALSE),
  f = factor(c("u", "v", "w", "u", "v", "w", "u", "v", "w", "u", "v", "w", "u", "v", "w", "u"),
             levels = c("w", "v", "u", "z")),
  g = factor(c(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 1, 2, 3, 4)),
  h = c(3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3),
  w = c(1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2),
  o = c(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6),
  x2 = c(2, 4, 6, 8, 10, 12, 14, 18, 20, 24, 26, 30, 32, 36, 38, 42),
  stringsAsFactors = FALSE))

# ties in the number of levels (lme4 reorders with rev(order(nl)))
ties <- add_frame("ties", data.frame(
  y = c(1.1, 2.3, 2.9, 4.2, 5.1, 5.8, 7.3, 8.1, 9.4, 9.9, 11.2, 12.4),
  a = factor(rep(c("a1", "a2"), 6)),
  b = factor(rep(c("b1", "b2", "b3", "b4", "b5"), length.out = 12)),
  c = factor(rep(c("c1", "c2", "c3", "c4", "c5"), each = 1, length.out = 12)[c(2:12, 1)]),
  d = c(3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2),
  stringsAsFactors = FALSE))

datasets <- list(sleepstudy = lme4::sleepstudy, cake = lme4::cake, Orthodont = nlme::Orthodont,
                 Pastes = lme4::Pastes, InstEval = lme4::InstEval, cbpp = lme4::cbpp, small = small,
                 mixed = mixed, ties = ties)

# ---- cases --------------------------------------------------------------------------------------
capture <- function(expr) {
  msgs <- character(); warns <- character()
  val <- withCallingHandlers(expr,
    message = function(m) { msgs <<- c(msgs, sub("\n$", "", conditionMessage(m))); invokeRestart("muffleMessage") },
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, messages = msgs, warnings = warns)
}

mm_cases <- list()
mm_case <- function(id, formula, data, contrasts = NULL) {
  d <- datasets[[data]]
  r <- capture(model.matrix(as.formula(formula), d, contrasts.arg = contrasts))
  X <- r$value
  mm_cases[[id]] <<- list(formula = formula, data = data, contrasts = contrasts,
                          colnames = chr(colnames(X)),
                          rownames = chr(rownames(X)), X = mat_json(X),
                          assign = I(attr(X, "assign")), warnings = chr(r$warnings))
}

mm_case("cake_recipe_temperature", "angle ~ recipe * temperature", "cake")
mm_case("orthodont_age_sex", "distance ~ age * Sex", "Orthodont")
mm_case("sleep_poly", "Reaction ~ poly(Days, 2)", "sleepstudy")
mm_case("sleep_poly4", "Reaction ~ poly(Days, degree = 4)", "sleepstudy")
mm_case("sleep_poly_raw", "Reaction ~ poly(Days, 3, raw = TRUE)", "sleepstudy")
mm_case("sleep_log_I", "log(Reaction) ~ Days + I(Days^2)", "sleepstudy")
mm_case("sleep_scale", "Reaction ~ scale(Days)", "sleepstudy")
mm_case("sleep_math", "Reaction ~ log(Days + 1, 2) + exp(Days/10) + sqrt(Days) + sin(2*pi*Days/9) + log10(Days + 1) + abs(Days - 4)", "sleepstudy")
mm_case("cake_recipe_temp_nomargin", "angle ~ recipe:temp", "cake")
mm_case("cake_recipe_temp_noint", "angle ~ 0 + recipe:temp", "cake")
mm_case("cake_recipe_temperature_noint", "angle ~ 0 + recipe:temperature", "cake")
mm_case("cake_temperature_recipe", "angle ~ temperature:recipe", "cake")
mm_case("small_cube2", "y ~ (a + b + c)^2", "small")
mm_case("small_cube3_noint", "y ~ 0 + (a + b + c)^3", "small")
mm_case("small_in", "y ~ x %in% f", "small")
mm_case("small_f_in", "y ~ f + x %in% f", "small")
mm_case("small_ab", "y ~ a:b", "small")
mm_case("small_ab_noint", "y ~ 0 + a:b", "small")
mm_case("small_x_f_noint", "y ~ 0 + x + f", "small")
mm_case("small_xf", "y ~ x:f", "small")
mm_case("small_a_slash", "y ~ a/x", "small")
mm_case("small_factor_numeric", "y ~ factor(x) + as.numeric(f)", "small")
mm_case("small_minus", "y ~ a * b - a", "small")
mm_case("mixed_string_bool", "y ~ s + l", "mixed")
mm_case("mixed_unused_level", "y ~ f + x", "mixed")
mm_case("mixed_bool_int", "y ~ l * x", "mixed")
mm_case("mixed_logical_expr", "y ~ I(x > 5)", "mixed")
mm_case("mixed_interaction_strings", "y ~ 0 + l:s", "mixed")
mm_case("orthodont_nested", "distance ~ Sex/age - 1", "Orthodont")
mm_case("cake_dot", "log(angle) ~ . - temp", "cake")
mm_case("small_factor_compare", "y ~ a + I(a == \"p\")", "small")
mm_case("small_log_by_factor", "y ~ log(x):f", "small")
mm_case("small_poly_by_factor", "y ~ poly(x, 2):f", "small")
mm_case("small_poly_times_factor", "y ~ poly(c, 2) * b", "small")
mm_case("small_num_factor_call", "y ~ factor(x > 6):c + b", "small")
mm_case("small_minus_one", "y ~ -1 + f", "small")
mm_case("small_intercept_only", "y ~ 1", "small")
mm_case("small_offset_excluded", "y ~ offset(x) + f", "small")
mm_case("small_unary_minus", "y ~ exp(-x/10) + x^2", "small")
mm_case("small_square_minus", "y ~ (a + b)^2 - a:b", "small")
mm_case("mixed_logical_by_factor", "y ~ l * f", "mixed")
mm_case("small_three_way_nomargin", "y ~ a:b:c", "small")
mm_case("small_scale_product", "y ~ scale(x) * scale(c)", "small")
# functions the evaluator knows beyond the parser's list (the tests build these terms by hand)
mm_case("small_mean_centre", "y ~ I(x - mean(x)) + I(c/sd(c))", "small")
mm_case("small_relevel", "y ~ relevel(f, \"w\") + relevel(a, 2)", "small")
mm_case("small_interaction_fun", "y ~ interaction(a, b)", "small")
mm_case("small_round_sign", "y ~ round(c) + sign(x - 5) + trunc(c)", "small")
mm_case("small_median_max", "y ~ I(x > median(x)) + I(c/max(c)) + I(x - min(x))", "small")
mm_case("sleep_ns", "Reaction ~ ns(Days, 3)", "sleepstudy")
mm_case("sleep_bs", "Reaction ~ bs(Days, df = 5)", "sleepstudy")
mm_case("sleep_bs_knots", "Reaction ~ bs(Days, knots = c(3, 6), degree = 2)", "sleepstudy")
mm_case("sleep_ns_intercept", "Reaction ~ 0 + ns(Days, df = 4, intercept = TRUE)", "sleepstudy")
mm_case("small_ns_by_factor", "y ~ ns(c, df = 4) * b", "small")
mm_case("small_bs_boundary", "y ~ bs(x, df = 4, Boundary.knots = c(0, 15))", "small")
mm_case("small_contr_sum", "y ~ a * b", "small", contrasts = list(a = "contr.sum", b = "contr.helmert"))
mm_case("small_contr_sas", "y ~ a + x", "small", contrasts = list(a = "contr.SAS"))
mm_case("cake_contr_treatment_ordered", "angle ~ temperature", "cake",
        contrasts = list(temperature = "contr.treatment"))

lf_cases <- list()
zt_full <- function(Zt) {
  s <- summary(as(Zt, "generalMatrix"))
  o <- order(s$j, s$i)
  list(i = I(s$i[o] - 1L), j = I(s$j[o] - 1L), x = num_json(s$x[o]))
}
zt_summary <- function(Zt, reTrms, nfirst = 300) {
  s <- summary(as(Zt, "generalMatrix"))
  o <- order(s$j, s$i)
  s <- s[o[seq_len(nfirst)], ]
  rn <- rownames(Zt)
  firsts <- lapply(seq_along(reTrms$Gp[-1]), function(k) chr(rn[reTrms$Gp[k] + seq_len(5)]))
  list(row_nnz = I(as.integer(diff(as(Zt, "RsparseMatrix")@p))),
       first_i = I(s$i - 1L), first_j = I(s$j - 1L), first_x = num_json(s$x),
       rownames_firsts = unname(firsts))
}
lf_case <- function(id, formula, data, full_zt = TRUE, weights = NULL, offset = NULL,
                    subset = NULL, contrasts = NULL) {
  d <- datasets[[data]]
  cl <- list(as.formula(formula), data = d)
  if (!is.null(contrasts)) cl$contrasts <- contrasts
  if (!is.null(weights)) cl$weights <- d[[weights]]
  if (!is.null(offset)) cl$offset <- d[[offset]]
  if (!is.null(subset)) cl$subset <- eval(parse(text = subset), d)
  r <- capture(do.call(lFormula, cl))
  lf <- r$value
  X <- lf$X
  fr <- lf$fr
  rt <- lf$reTrms
  nx <- if (full_zt) nrow(X) else 200L  # large data: the first rows and the column sums
  out <- list(formula = formula, data = data, weights = weights, offset = offset,
              subset = subset, contrasts = contrasts, n = nrow(fr), rownames = chr(rownames(fr)[seq_len(nx)]),
              colnames = chr(colnames(X)), X = mat_json(X[seq_len(nx), , drop = FALSE]),
              X_colsums = num_json(colSums(X)), assign = I(attr(X, "assign")),
              col_dropped = chr(names(attr(X, "col.dropped"))),
              y = if (is.matrix(model.response(fr))) mat_json(model.response(fr)) else
                num_json(model.response(fr)[seq_len(nx)]),
              offset_values = if (is.null(model.offset(fr))) NULL else num_json(model.offset(fr)),
              weights_values = if (is.null(model.weights(fr))) NULL else num_json(model.weights(fr)),
              messages = chr(r$messages), warnings = chr(r$warnings),
              cnms_names = chr(names(rt$cnms)), cnms = unname(lapply(rt$cnms, chr)),
              flist_names = chr(names(rt$flist)),
              flist_levels = unname(lapply(rt$flist, function(f) chr(levels(f)))),
              flist_assign = I(attr(rt$flist, "assign")),
              theta = num_json(rt$theta), lower = num_json(rt$lower), Gp = I(rt$Gp),
              Lind = I(rt$Lind), nl = I(unname(rt$nl)),
              Zt_dim = I(dim(rt$Zt)), Ztlist_names = chr(names(rt$Ztlist)))
  if (full_zt) {
    out$Zt <- zt_full(rt$Zt)
    out$Zt_rownames <- chr(rownames(rt$Zt))
  } else {
    out$Zt_summary <- zt_summary(rt$Zt, rt)
  }
  lf_cases[[id]] <<- out
}

lf_case("sleep_slope", "Reaction ~ Days + (Days | Subject)", "sleepstudy")
lf_case("sleep_double_bar", "Reaction ~ Days + (Days || Subject)", "sleepstudy")
lf_case("sleep_poly", "Reaction ~ poly(Days, 2) + (1 | Subject)", "sleepstudy")
lf_case("sleep_log_I", "log(Reaction) ~ Days + I(Days^2) + (1 | Subject)", "sleepstudy")
lf_case("sleep_scale", "Reaction ~ scale(Days) + (scale(Days) | Subject)", "sleepstudy")
lf_case("sleep_poly_raw", "Reaction ~ poly(Days, 2, raw = TRUE) + (1 | Subject)", "sleepstudy")
lf_case("sleep_two_terms", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy")
lf_case("pastes_nested", "strength ~ 1 + (1 | batch/cask)", "Pastes")
lf_case("pastes_sample", "strength ~ (1 | sample) + (1 | batch)", "Pastes")
lf_case("cake_rr", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake")
lf_case("orthodont", "distance ~ age * Sex + (1 | Subject)", "Orthodont")
lf_case("orthodont_slope", "distance ~ age + (age | Subject)", "Orthodont")
lf_case("insteval", "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)", "InstEval",
        full_zt = FALSE)
lf_case("mixed_na", "y ~ x + s + l + (1 | g)", "mixed")
lf_case("mixed_unused", "y ~ f + (1 | g)", "mixed")
lf_case("mixed_rank", "y ~ x + x2 + (1 | g)", "mixed")
lf_case("mixed_rank2", "y ~ f + l + x + x2 + I(2 * x + 1) + (1 | g)", "mixed")
lf_case("mixed_offset_weights", "y ~ x + offset(log(o)) + (1 | g)", "mixed", weights = "w",
        offset = "o")
lf_case("mixed_subset", "y ~ x + (1 | g)", "mixed", subset = "x > 2")
lf_case("mixed_numeric_group", "y ~ x + (1 | h)", "mixed")
lf_case("mixed_string_group", "y ~ x + (1 | s)", "mixed")
lf_case("mixed_factor_lhs", "y ~ x + (0 + l | g)", "mixed")
lf_case("mixed_group_interaction_num", "y ~ x + (1 | g:h)", "mixed")
lf_case("ties_order", "y ~ d + (1 | a) + (1 | b) + (1 | c)", "ties")
lf_case("mixed_factor_lhs_intercept", "y ~ x + (l | g)", "mixed")
lf_case("mixed_poly_lhs", "y ~ x + (x + I(x^2) | l)", "mixed")
lf_case("small_interaction_group_unused", "y ~ x + (1 | a:b) + (1 | f)", "small")
lf_case("small_three_way_group", "y ~ x + (1 | a:b:f)", "small")
lf_case("mixed_contrasts_fixed_only", "y ~ f + (f | h)", "mixed",
        contrasts = list(f = "contr.sum"))
lf_case("sleep_dot", "Reaction ~ . + (1 | Subject)", "sleepstudy")
lf_case("cbpp_cbind", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp")
lf_case("orthodont_subset", "distance ~ age + (1 | Subject)", "Orthodont",
        subset = "Sex == \"Female\"")
lf_case("mixed_scale_warning", "y ~ I(x * 1e6) + (1 | g)", "mixed")
lf_case("ties_order2", "y ~ d + (1 | b) + (1 | c) + (d | a) + (1 | a:b)", "ties")

# ---- new data (predict.merMod): fitted coefficients from R, so only the design is tested ------
nd_cases <- list()
sleep_new <- add_frame("sleep_new", data.frame(
  Days = c(0.5, 3, 11, 2, 7, 0), Subject = factor(c("308", "999", "372", "335", "308", "999")),
  stringsAsFactors = FALSE))
cake_new <- add_frame("cake_new", data.frame(
  recipe = factor(c("C", "A", "C", "B")), replicate = factor(c("1", "2", "15", "3")),
  temperature = factor(c("205", "175", "225", "215"), ordered = TRUE),
  temp = c(205, 175, 225, 215), stringsAsFactors = FALSE))
ortho_new <- add_frame("ortho_new", data.frame(
  age = c(8, 9.5, 14, 11), Sex = c("Female", "Male", "Male", "Female"),
  Subject = c("F01", "M02", "M99", "F11"), stringsAsFactors = FALSE))
datasets$sleep_new <- sleep_new; datasets$cake_new <- cake_new; datasets$ortho_new <- ortho_new
ranef_json <- function(fit) {
  lapply(ranef(fit, condVar = FALSE), function(df) list(levels = chr(rownames(df)),
         columns = chr(names(df)), values = lapply(df, num_json)))
}
nd_spline_cases <- list()  # kept apart: they need ns()/bs(), which the parser may not list
nd_case <- function(id, formula, data, newdata, re_form = NULL, allow = FALSE, splines = FALSE) {
  d <- datasets[[data]]
  nd <- datasets[[newdata]]
  fit <- lmer(as.formula(formula), d, REML = TRUE)
  rf <- if (is.null(re_form)) NULL else as.formula(re_form)
  p <- predict(fit, newdata = nd, re.form = rf, allow.new.levels = allow)
  p0 <- predict(fit, newdata = nd, re.form = NA)
  case <- list(formula = formula, data = data, newdata = newdata, re_form = re_form,
               allow_new_levels = allow, beta = num_json(fixef(fit)),
               beta_names = chr(names(fixef(fit))), ranef = ranef_json(fit),
               predict = num_json(p), predict_fixed = num_json(p0))
  if (splines) nd_spline_cases[[id]] <<- case else nd_cases[[id]] <<- case
}
sleep_new2 <- add_frame("sleep_new2", data.frame(
  Days = c(0.5, 3, 8.75, 2, 7, 0, 9), Subject = factor(c("308", "309", "372", "335", "308", "999", "350")),
  stringsAsFactors = FALSE))
datasets$sleep_new2 <- sleep_new2
nd_case("sleep_ns_new", "Reaction ~ ns(Days, 3) + (Days | Subject)", "sleepstudy", "sleep_new2",
        allow = TRUE, splines = TRUE)
nd_case("sleep_ns_outside", "Reaction ~ ns(Days, 3) + (Days | Subject)", "sleepstudy",
        "sleep_new", allow = TRUE, splines = TRUE)
mm_case("small_bs_boundary_inside", "y ~ bs(x, df = 5, Boundary.knots = c(2, 10))", "small")
mm_case("small_ns_boundary_inside", "y ~ ns(x, df = 3, Boundary.knots = c(2, 10))", "small")
nd_case("sleep_bs_outside", "Reaction ~ bs(Days, df = 5) + (1 | Subject)", "sleepstudy",
        "sleep_new", allow = TRUE, splines = TRUE)
nd_case("sleep_bs_new", "Reaction ~ bs(Days, df = 4) + (1 | Subject)", "sleepstudy", "sleep_new2",
        allow = TRUE, splines = TRUE)
nd_case("sleep_poly_new_levels", "Reaction ~ poly(Days, 2) + (Days | Subject)", "sleepstudy",
        "sleep_new", allow = TRUE)
nd_case("sleep_scale_new_levels", "Reaction ~ scale(Days) + (1 | Subject) + (0 + Days | Subject)",
        "sleepstudy", "sleep_new", allow = TRUE)
nd_case("cake_new", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake", "cake_new",
        allow = TRUE)
nd_case("ortho_re_form", "distance ~ age * Sex + (age | Subject)", "Orthodont", "ortho_new",
        re_form = "~ (1 | Subject)", allow = TRUE)
nd_errors <- list(
  new_levels = tryCatch(predict(lmer(Reaction ~ Days + (1 | Subject), sleepstudy),
                                newdata = sleep_new), error = conditionMessage),
  # lme4's predict() fails later with "non-conformable arguments"; R's model.frame() says:
  new_fixed_level = tryCatch(model.frame(~ recipe, data.frame(recipe = factor("D")),
                                         xlev = list(recipe = levels(cake$recipe))),
                             error = conditionMessage))

# ---- errors ---------------------------------------------------------------------------------
err_cases <- list()
err_case <- function(id, call) {
  msg <- tryCatch({ force(call); NA_character_ }, error = function(e) conditionMessage(e))
  err_cases[[id]] <<- list(message = msg)
}
g10 <- data.frame(y = c(0.3, 1.2, 2.5, 2.9, 4.4, 5.1, 6.8, 7.2, 8.9, 9.3), g = factor(1:10),
                  x = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 11), h = factor(rep(1:5, 2)),
                  one = factor(rep("a", 10)), n = rep(NA_real_, 10))
invisible(add_frame("g10", g10))
datasets$g10 <- g10
err_case("nlev_ge_n", lFormula(y ~ x + (1 | g), g10))
err_case("nlev_one", lFormula(y ~ x + (1 | one), g10))
err_case("nobs_vs_nre", lFormula(y ~ x + (x | h), g10))
err_case("zero_cases", lFormula(y ~ x + (1 | n), g10))
err_case("response_numeric", lmer(one ~ x + (1 | h), g10))
err_case("unknown_var", lFormula(y ~ xx + (1 | h), g10))
err_case("unknown_group", lFormula(y ~ x + (1 | hh), g10))
err_case("unknown_fun", lFormula(y ~ foo(x) + (1 | h), g10))
err_case("contrasts_one_level", model.matrix(y ~ one, g10))
err_case("poly_na", model.matrix(y ~ poly(n, 2), g10))
err_case("poly_degree", model.matrix(y ~ poly(x, 10), g10))
err_case("no_bars", lFormula(y ~ x, g10))
g10$w <- c(1, 1, -1, 1, 1, 1, 1, 1, 1, 1)
g10$z <- c(1, 0, 2, 3, 1, 2, 3, 1, 2, 3)
invisible(add_frame("g10", g10))
datasets$g10 <- g10
g10$yb <- c(0, 1, 1, 0, 1, 0, 0, 1, 1, 0)
g10$fb <- factor(c("no", "yes", "yes", "no", "yes", "no", "no", "yes", "yes", "no"))
g10$g11 <- factor(c(1:9, 9))
invisible(add_frame("g10", g10))
datasets$g10 <- g10
err_case("glmer_nlev_gt_n", glFormula(yb ~ x + (1 | g) + (1 | g:h), g10, family = binomial))
err_case("glmer_nobs_vs_nre", glFormula(yb ~ x + (x | g11), g10, family = binomial))
gl_ok <- glFormula(fb ~ x + (1 | g), g10, family = binomial)
glmer_ok <- list(y = num_json(model.response(gl_ok$fr)), nl = I(unname(gl_ok$reTrms$nl)))
err_case("na_fail", lFormula(y ~ x + (1 | h), transform(g10, x = replace(x, 2, NA)),
                             na.action = na.fail))
err_case("y_not_finite", lmer(log(z) ~ x + (1 | h), g10))
err_case("negative_weights", lmer(y ~ x + (1 | h), g10, weights = w))

# ---- formulas drawn at random (by a small grammar; the list is fixed here) on a small frame
# with a missing value, a character and a logical column, and unused factor levels: R's
# model.matrix() or its error
fz <- lme4::sleepstudy[c(1:10, 31:40, 91:100, 171:180), ]
fz$Days[4] <- NA
fz$s <- as.character(fz$Subject)
fz$s[8] <- NA
fz$b <- fz$Days > 4
fz$b[is.na(fz$b)] <- FALSE
rownames(fz) <- NULL
invisible(add_frame("fuzz", fz))
random_formulas <- c(
  "log(Reaction) ~ log(pi, Days + 2) + Subject - I(0)",
  "Reaction ~ b^log(factor(b), 2)",
  "log(Reaction) ~ abs(Reaction)",
  "Reaction ~ -1",
  "Reaction ~ abs((sin(2.5)))",
  "log(Reaction) ~ (as.numeric(I(b)))",
  "Reaction ~ abs(scale((Subject)))",
  "Reaction ~ sqrt((2))",
  "log(Reaction) ~ 2.5",
  "Reaction ~ (scale(1))",
  "log(Reaction) ~ as.numeric(Subject)",
  "log(Reaction) ~ log2(Reaction)",
  "log(Reaction) ~ 0",
  "log(Reaction) ~ 2",
  "log(Reaction) ~ Subject",
  "log(Reaction) ~ Reaction",
  "Reaction ~ (as.numeric(2))",
  "log(Reaction) ~ sqrt(0 - 0 * s)",
  "Reaction ~ b",
  "Reaction ~ sin(Reaction)",
  "Reaction ~ pi",
  "log(Reaction) ~ scale(abs(2.5) > (2.5))",
  "log(Reaction) ~ factor(2.5)",
  "Reaction ~ exp(Days)",
  "Reaction ~ s",
  "Reaction ~ exp(s > 1) / exp(2)",
  "log(Reaction) ~ poly(Subject, 3)",
  "log(Reaction) ~ log10(Days)",
  "Reaction ~ sqrt(log(Reaction)) %in% Reaction",
  "log(Reaction) ~ I(cos(2.5)) * cos(b == b)",
  "Reaction ~ scale((2 - -1))",
  "log(Reaction) ~ log10(b + b - -1)",
  "Reaction ~ log2(2.5)",
  "Reaction ~ 0 %in% (s)",
  "log(Reaction) ~ (0)",
  "log(Reaction) ~ exp((s))",
  "Reaction ~ 2",
  "Reaction ~ sin(scale(pi) * 2.5)",
  "Reaction ~ sqrt(I(Reaction * b))",
  "Reaction ~ 1",
  "log(Reaction) ~ abs(abs(s))",
  "Reaction ~ (cos(s)) * log10(Days)",
  "log(Reaction) ~ abs(cos((Days)))",
  "Reaction ~ Days",
  "Reaction ~ abs(Subject)",
  "log(Reaction) ~ pi",
  "Reaction ~ as.numeric(cos(I(Reaction)))",
  "Reaction ~ Subject - exp(factor(2.5))",
  "log(Reaction) ~ (2.5^poly(2, 2))",
  "Reaction ~ as.numeric(2.5)",
  "Reaction ~ 0",
  "log(Reaction) ~ b",
  "log(Reaction) ~ 1",
  "log(Reaction) ~ (abs(abs(Subject)))",
  "Reaction ~ Reaction:s",
  "log(Reaction) ~ (Reaction - pi / scale(Days))",
  "Reaction ~ b + Subject",
  "log(Reaction) ~ s + I(Reaction + Reaction)",
  "log(Reaction) ~ I(pi)",
  "log(Reaction) ~ Days",
  "Reaction ~ I(2.5 / abs(0))",
  "log(Reaction) ~ I(2.5)",
  "Reaction ~ scale(2.5 > 0 * 2.5)",
  "log(Reaction) ~ poly(log10(2), 2) * Days",
  "log(Reaction) ~ scale(I(Reaction) * log(Subject))",
  "Reaction ~ Subject",
  "Reaction ~ log(poly(b, 1))",
  "Reaction ~ log10((cos(2)))",
  "log(Reaction) ~ (pi %in% cos(2.5))",
  "Reaction ~ exp(as.numeric(log2(pi)))",
  "Reaction ~ log(exp((pi)), Days + 2)",
  "Reaction ~ (cos(Reaction))",
  "Reaction ~ (2.5)",
  "log(Reaction) ~ (log2(-1))",
  "Reaction ~ 2.5",
  "log(Reaction) ~ sqrt(Days)",
  "Reaction ~ log2(log10(as.numeric(Subject)))",
  "Reaction ~ poly(b, 1) / pi:2.5 / Subject",
  "log(Reaction) ~ factor(s)",
  "Reaction ~ 1 %in% I((Reaction))",
  "log(Reaction) ~ factor(sin(0))",
  "log(Reaction) ~ Days %in% log2(Reaction / b)",
  "log(Reaction) ~ (log(pi^Subject, Days + 2))",
  "log(Reaction) ~ cos(Reaction)",
  "log(Reaction) ~ as.numeric(s^Subject * Subject)",
  "Reaction ~ (factor(b)) - Days",
  "Reaction ~ abs(I(b))",
  "log(Reaction) ~ as.numeric(poly(Days * 2, 2, raw = TRUE))",
  "log(Reaction) ~ Subject * pi",
  "Reaction ~ (cos(Subject)) / (s)",
  "Reaction ~ log(poly(pi > Subject, 1), Days + 2)",
  "Reaction ~ I((pi))",
  "log(Reaction) ~ 1^pi * log(2.5)",
  "log(Reaction) ~ Days^0",
  "log(Reaction) ~ I(Reaction)",
  "log(Reaction) ~ (2)",
  "Reaction ~ Reaction",
  "Reaction ~ sqrt(2.5 + s) - Days",
  "Reaction ~ log10(0)",
  "log(Reaction) ~ (s):2.5 / (2.5)",
  "log(Reaction) ~ exp(Reaction) + exp(b) - poly(Days > 1, 2, raw = TRUE)",
  "Reaction ~ I((Days) / Days)",
  "log(Reaction) ~ scale(poly(1, 3) - -1)",
  "Reaction ~ as.numeric(poly(2, 2) / Reaction)",
  "Reaction ~ scale(cos(Subject)^s)",
  "Reaction ~ log2(pi)",
  "Reaction ~ Subject * 2",
  "log(Reaction) ~ s",
  "log(Reaction) ~ log2(pi)",
  "Reaction ~ (Reaction)",
  "log(Reaction) ~ log10(2)",
  "log(Reaction) ~ I(exp(Days)) + b",
  "log(Reaction) ~ Reaction * b",
  "Reaction ~ sqrt(poly(2.5, 1)) + log10(I(1))",
  "Reaction ~ log2(0 > -1 - Days)",
  "log(Reaction) ~ exp(cos(abs(pi)))",
  "Reaction ~ factor(factor(0 + -1))",
  "log(Reaction) ~ log(b / b + sqrt(Subject))",
  "Reaction ~ factor(-1)",
  "log(Reaction) ~ (1)"

)
rf_cases <- lapply(random_formulas, function(f) {
  r <- tryCatch(suppressWarnings(model.matrix(as.formula(f), fz)), error = function(e) e)
  if (inherits(r, "error")) return(list(formula = f, error = conditionMessage(r)))
  list(formula = f, colnames = chr(colnames(r)), rownames = chr(rownames(r)), X = mat_json(r))
})

# ---- R's qr(X, tol = 1e-7, LAPACK = FALSE): rank and pivot (lme4's chkRank.drop.cols) -------
qr_cases <- list()
qr_case <- function(id, X) {
  q <- qr(X, tol = 1e-7, LAPACK = FALSE)
  qr_cases[[id]] <<- list(X = mat_json(X), rank = q$rank, pivot = I(q$pivot - 1L))
}
set.seed(20240601)
B <- matrix(round(rnorm(20 * 4), 3), 20, 4)
qr_case("full", B)
qr_case("dup_middle", cbind(B[, 1:2], B[, 1] + 2 * B[, 2], B[, 3:4]))
qr_case("zero_column", cbind(B[, 1], 0, B[, 2:4]))
qr_case("near_dependent_1e-9", cbind(B, B[, 1] - B[, 2] + 1e-9 * (1:20)))
qr_case("near_dependent_1e-5", cbind(B, B[, 1] - B[, 2] + 1e-5 * (1:20)))
qr_case("two_dependent", cbind(B[, 1], B[, 1] * 3, B[, 2], B[, 2] + B[, 1], B[, 3:4]))
qr_case("scales", cbind(1, B[, 1] * 1e6, B[, 2] * 1e-6, B[, 1] * 1e6 + B[, 2] * 1e-6))
qr_case("wide", cbind(B[1:3, ], B[1:3, 1]))

# ---- R conventions --------------------------------------------------------------------------
strings <- c("b", "a", "B", "A", "_a", "a b", "ab", "a-b", "a10", "a9", "A1", "Z", "z", "10",
             "9", "a.b", "a_b", "(x)", "x1", "X1", "x01", "beta", "Beta", "alpha2", "alpha10",
             "", " a", "M01", "F10", "F02", "m01")
numbers <- c(10, 2, 1.5, 0.1, 1e-20, 123456789012, 1/3, -1, 1e5, 1e15, 1e16, 100000.5,
             0.0001, 1234567.1, 175, 2.5e-7, -0.5)

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4"))),
  frames = frames,
  model_matrix = mm_cases,
  lFormula = lf_cases,
  errors = err_cases,
  newdata = nd_cases,
  newdata_splines = nd_spline_cases,
  qr = qr_cases,
  random_formulas = rf_cases,
  newdata_errors = nd_errors,
  glmer_ok = glmer_ok,
  sort_strings = list(input = chr(strings), sorted = chr(sort(strings)),
                      factor_levels = chr(levels(factor(strings)))),
  number_labels = list(input = num_json(numbers), labels = chr(as.character(numbers))),
  contr_poly = lapply(2:14, function(k) list(n = k, colnames = chr(colnames(contr.poly(k))),
                                            values = mat_json(contr.poly(k))))
)
writeLines(toJSON(out, auto_unbox = TRUE, json_verbatim = TRUE, null = "null", na = "null",
                  digits = NA), "tests/reference/design.json")
