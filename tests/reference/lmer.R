# lmer reference fixtures: run from the repo root (R 4.2.2, lme4 1.1-31, default control):
#   Rscript tests/reference/lmer.R          -> tests/reference/lmer.json
#
# Schema of lmer.json. Top level: {"meta": {...}, "cases": {<id>: <case>, ...}}.
#   meta: R / lme4 / Matrix versions, options("width") used for the printed text.
# Each <case> (all numbers are doubles written exactly: shortest of %.15g/%.16g/%.17g that
# reads back identically; NA/NaN -> null; matrices are arrays of rows):
#   id, formula (text as passed to lmer), formula_R (deparse(formula(fit))), data (the data set's
#   name in lmepy.datasets), REML (bool), weights (column name or null), data_extra (columns
#   added to the data set before fitting, {name: [values]}; the Python side must add them too)
#   messages, warnings       what lme4 said while fitting (text; e.g. the singular-fit message)
#   theta, theta_names       getME(fit, "theta") (array, and lme4's names for it)
#   lower                    getME(fit, "lower") (-Inf written as "-Inf")
#   beta                     fixef(fit), {name: value} in R's column order
#   se                       sqrt(diag(vcov(fit))), {name: value}
#   coef_table               coef(summary(fit)): {rownames, colnames, values}
#   vcov, fixef_corr         vcov(fit) and its correlation (cov2cor): {rownames, colnames, values}
#   sigma                    sigma(fit)
#   REMLcrit | deviance      REMLcrit(fit) for REML fits, deviance(fit) for ML fits
#   objective                the same number, whichever it is (fit@devcomp$cmp's REML or dev)
#   cmp                      fit@devcomp$cmp, {name: value} (ldL2, ldRX2, wrss, ussq, pwrss,
#                            drsum, REML, dev, sigmaML, sigmaREML, tolPwrss)
#   dims                     fit@devcomp$dims, {name: value}
#   logLik, logLik_df        as.numeric(logLik(fit)), attr(logLik(fit), "df")
#   AIC, BIC, df_resid, nobs
#   ngrps                    ngrps(fit), {factor: n} in lme4's factor order
#   cnms                     getME(fit, "cnms"), {factor: [column names]} in lme4's term order
#   isSingular, feval        isSingular(fit), fit@optinfo$feval
#   optimizer                fit@optinfo$optimizer
#   u                        getME(fit, "u") (spherical random effects; sampled when big, as fitted)
#   varcorr                  as.data.frame(VarCorr(fit)) as columns {grp, var1, var2, vcov, sdcor}
#   ranef                    {factor: {rownames, colnames, values, row_index, nrow}}
#   coef                     coef(fit), same layout as ranef
#       ranef/coef tables keep every row when nrow <= 200; otherwise only the rows at the 0-based
#       positions row_index (the first 20, every 100th, the last 20); nrow is the full count.
#   condVar                  {factor: [ {columns: [term's column names], values: [one q x q matrix
#                            per stored level (same row_index as ranef)]} , ... one per term]}
#                            from attr(ranef(fit, condVar = TRUE)[[f]], "postVar")
#   fitted, residuals        fitted(fit), residuals(fit) (response residuals) as arrays, or, when
#                            nobs > 5000, objects {n, index (0-based), values, sum, sumsq}
#   resid_quantiles          quantile of the scaled residuals shown by summary(): {Min, 1Q, Median,
#                            3Q, Max}
#   print_summary, print_fit, print_varcorr
#                            capture.output(print(summary(fit))), (print(fit)), (print(VarCorr(fit)))
#   print_summary_messages   text print(summary(fit)) sent through message() (R shows it on stderr;
#                            e.g. "Correlation matrix not shown by default, as p = 18 > 12." in
#                            cake_ml; it names the printed expression, here summary(fit)), as
#                            conditionMessage strings (with their newlines)
#   devfun                   the profiled objective (REML criterion if REML else deviance) from
#                            lmer(..., devFunOnly = TRUE): {labels: [start, opt, p1, p2],
#                            points: [theta vectors], values: [devfun(theta)]}; start is lme4's
#                            starting theta (pp$theta once the devfun is made: the template's
#                            1s and 0s, except that when every term is (1 | g) lme4 starts at
#                            sqrt(var(ave(y, g)) / (var(y) - sum of those)) when that is
#                            positive), opt the fitted theta, p1 = (start + opt) / 2,
#                            p2 = opt * 1.5 + 0.1 for bounded (lower = 0) elements, opt - 0.2 else
#   Zt_dim, Lambdat          (only case ss_full_reml) dim(getME(fit, "Zt")) and Lambdat's nonzero
#                            pattern: {dim, i, j (0-based, column-major order as dgCMatrix stores
#                            them), x (values at the optimum), Lind (1-based theta index per nonzero)}
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
stopifnot(packageVersion("lme4") == "1.1.31")

source("tests/reference/_exact_json.R")

# ---- data: the same plain data.frames that tests/reference/datasets.R bundles ---------------

n_ss <- 180
extra_w <- list(w = 1 + ((seq_len(n_ss) * 7) %% 11) / 10)
extra_off <- list(off = 10 * sin(seq_len(n_ss)))

cases <- list(
  list(id = "ss_full_reml", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE),
  list(id = "ss_full_ml", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (Days | Subject)", REML = FALSE),
  list(id = "ss_int", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (1 | Subject)", REML = TRUE),
  list(id = "ss_diag", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (Days || Subject)", REML = TRUE),
  list(id = "ss_slope", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (0 + Days | Subject)", REML = TRUE),
  list(id = "dye_reml", data = "Dyestuff", pkg = "lme4",
       formula = "Yield ~ 1 + (1 | Batch)", REML = TRUE),
  list(id = "dye_ml", data = "Dyestuff", pkg = "lme4",
       formula = "Yield ~ 1 + (1 | Batch)", REML = FALSE),
  list(id = "dye2_reml", data = "Dyestuff2", pkg = "lme4",
       formula = "Yield ~ 1 + (1 | Batch)", REML = TRUE),
  list(id = "pen_reml", data = "Penicillin", pkg = "lme4",
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", REML = TRUE),
  list(id = "pastes_reml", data = "Pastes", pkg = "lme4",
       formula = "strength ~ 1 + (1 | batch/cask)", REML = TRUE),
  list(id = "orth_reml", data = "Orthodont", pkg = "nlme",
       formula = "distance ~ age * Sex + (age | Subject)", REML = TRUE),
  list(id = "cake_ml", data = "cake", pkg = "lme4",
       formula = "angle ~ recipe * temperature + (1 | recipe:replicate)", REML = FALSE),
  list(id = "insteval_ml", data = "InstEval", pkg = "lme4",
       formula = "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)", REML = FALSE),
  list(id = "ss_weights_reml", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, weights = "w",
       extra = extra_w),
  list(id = "ss_offset_reml", data = "sleepstudy", pkg = "lme4",
       formula = "Reaction ~ Days + (Days | Subject) + offset(off)", REML = TRUE,
       extra = extra_off)
)

mat_out <- function(m) {
  m <- as.matrix(m)
  list(rownames = I(rownames(m)), colnames = I(colnames(m)), values = unname(m))
}
vec_out <- function(x) {
  x <- unname(as.numeric(x))
  n <- length(x)
  if (n <= 5000) return(I(x))
  idx <- sort(unique(c(1:50, seq(1, n, by = 1000), (n - 49):n)))
  list(n = n, index = I(as.numeric(idx - 1)), values = I(x[idx]), sum = sum(x), sumsq = sum(x^2))
}
row_sel <- function(n) {
  if (n <= 200) seq_len(n) else sort(unique(c(1:20, seq(1, n, by = 100), (n - 19):n)))
}
table_out <- function(df) {
  sel <- row_sel(nrow(df))
  m <- as.matrix(df)
  list(rownames = I(rownames(df)[sel]), colnames = I(colnames(df)),
       values = unname(m[sel, , drop = FALSE]),
       row_index = I(as.numeric(sel - 1)), nrow = nrow(df))
}
condvar_out <- function(re_f) {
  pv <- attr(re_f, "postVar")
  sel <- row_sel(nrow(re_f))
  per_level <- function(a) lapply(sel, function(k) a[, , k, drop = FALSE][, , 1, drop = TRUE] |>
                                     matrix(nrow = dim(a)[1], ncol = dim(a)[2]))
  if (is.list(pv)) {
    # several terms share this grouping factor (e.g. (Days || Subject)): one array per term
    cols <- colnames(re_f)
    pos <- 1
    out <- list()
    for (t in seq_along(pv)) {
      q <- dim(pv[[t]])[1]
      out[[t]] <- list(columns = I(cols[pos:(pos + q - 1)]), values = per_level(pv[[t]]))
      pos <- pos + q
    }
    out
  } else {
    list(list(columns = I(colnames(re_f)), values = per_level(pv)))
  }
}

# printed text (stdout lines) and any message() text emitted while printing (stderr in R)
capture_text <- function(expr) {
  msg <- character(0)
  out <- withCallingHandlers(capture.output(expr),
    message = function(m) { msg <<- c(msg, conditionMessage(m)); invokeRestart("muffleMessage") })
  list(out = out, msg = msg)
}

fit_call <- function(cs, dataname, devFunOnly = FALSE) {
  f <- as.formula(cs$formula)
  w <- if (is.null(cs$weights)) NULL else as.name(cs$weights)
  cl <- bquote(lmer(.(f), data = .(as.name(dataname)), REML = .(cs$REML)))
  if (!is.null(w)) cl$weights <- w
  if (devFunOnly) cl$devFunOnly <- TRUE
  cl
}

run_case <- function(cs) {
  message("-- ", cs$id)
  d <- load_set(cs$data, cs$pkg)
  if (!is.null(cs$extra)) for (nm in names(cs$extra)) d[[nm]] <- cs$extra[[nm]]
  env <- new.env()
  assign(cs$data, d, envir = env)
  msgs <- character(0)
  warns <- character(0)
  fit <- withCallingHandlers(
    eval(fit_call(cs, cs$data), envir = env),
    message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") },
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })

  theta <- getME(fit, "theta") + 0
  lower <- getME(fit, "lower")
  vc <- vcov(fit)
  vcm <- as.matrix(vc)
  ll <- logLik(fit)
  re <- ranef(fit, condVar = TRUE)
  cf <- coef(fit)
  vcdf <- as.data.frame(VarCorr(fit))
  ss <- summary(fit)
  sres <- ss$residuals
  rq <- quantile(sres, na.rm = TRUE)
  names(rq) <- c("Min", "1Q", "Median", "3Q", "Max")

  # profiled objective at chosen theta values
  devfun <- eval(fit_call(cs, cs$data, devFunOnly = TRUE), envir = env)
  # "+ 0" forces copies: lme4 updates pp$theta's memory in place when devfun is called
  start <- as.numeric(environment(devfun)$pp$theta) + 0
  opt <- as.numeric(theta) + 0
  p1 <- (start + opt) / 2
  p2 <- ifelse(lower == 0, opt * 1.5 + 0.1, opt - 0.2)
  pts <- list(start, opt, p1, p2)
  vals <- vapply(pts, function(th) as.numeric(devfun(th)), 0)

  pst <- capture_text(print(summary(fit)))

  objname <- if (cs$REML) "REMLcrit" else "deviance"
  objval <- if (cs$REML) REMLcrit(fit) else deviance(fit)

  out <- list(
    id = cs$id, formula = cs$formula, formula_R = paste(deparse(formula(fit)), collapse = " "),
    data = cs$data, REML = cs$REML,
    weights = if (is.null(cs$weights)) NULL else cs$weights,
    data_extra = if (is.null(cs$extra)) NULL else lapply(cs$extra, I),
    messages = I(msgs), warnings = I(warns),
    theta = I(unname(as.numeric(theta))), theta_names = I(names(theta)),
    lower = I(as.numeric(lower)),
    beta = fixef(fit), se = setNames(sqrt(diag(vcm)), colnames(vcm)),
    coef_table = mat_out(coef(ss)),
    vcov = mat_out(vcm), fixef_corr = mat_out(cov2cor(vcm)),
    sigma = sigma(fit),
    objective = objval,
    cmp = fit@devcomp$cmp, dims = as.list(fit@devcomp$dims),
    logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
    AIC = AIC(fit), BIC = BIC(fit), df_resid = df.residual(fit), nobs = nobs(fit),
    ngrps = as.list(ngrps(fit)),
    cnms = lapply(getME(fit, "cnms"), I),
    isSingular = isSingular(fit), feval = fit@optinfo$feval,
    optimizer = fit@optinfo$optimizer,
    u = vec_out(getME(fit, "u")),
    varcorr = list(grp = I(vcdf$grp), var1 = I(vcdf$var1), var2 = I(vcdf$var2),
                   vcov = I(vcdf$vcov), sdcor = I(vcdf$sdcor)),
    ranef = lapply(re, function(t) table_out(as.data.frame(t))),
    coef = lapply(cf, function(t) table_out(as.data.frame(t))),
    condVar = lapply(re, condvar_out),
    fitted = vec_out(fitted(fit)), residuals = vec_out(residuals(fit)),
    resid_quantiles = rq,
    print_summary = I(pst$out),
    print_summary_messages = I(pst$msg),
    print_fit = I(capture.output(print(fit))),
    print_varcorr = I(capture.output(print(VarCorr(fit)))),
    devfun = list(labels = I(c("start", "opt", "p1", "p2")), points = lapply(pts, I),
                  values = I(vals))
  )
  out[[objname]] <- objval
  if (cs$id == "ss_full_reml") {
    Lt <- getME(fit, "Lambdat")
    out$Zt_dim <- I(as.numeric(dim(getME(fit, "Zt"))))
    out$Lambdat <- list(dim = I(as.numeric(dim(Lt))), i = I(as.numeric(Lt@i)),
                        j = I(as.numeric(rep(seq_len(ncol(Lt)) - 1, diff(Lt@p)))),
                        x = I(Lt@x), Lind = I(as.numeric(getME(fit, "Lind"))))
  }
  out
}

only <- strsplit(Sys.getenv("LMER_CASES", ""), ",")[[1]]
todo <- if (length(only)) Filter(function(cs) cs$id %in% only, cases) else cases
res <- list()
for (cs in todo) res[[cs$id]] <- run_case(cs)
meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             Matrix = as.character(packageVersion("Matrix")), width = getOption("width"))
write_json17(list(meta = meta, cases = res), "tests/reference/lmer.json")
message("lmer: wrote ", length(res), " cases")
