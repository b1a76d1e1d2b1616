# Reference values for GLM families and glmer() (lme4 1.1-31), written to tests/reference/glmer.json.
# Run from the repo root: Rscript tests/reference/glmer.R  (or through make_reference.R)
suppressPackageStartupMessages({
  library(lme4)
  library(mlmRev)
  library(jsonlite)
})

out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))))

## ---------------------------------------------------------------------------------------------
## 1. Families: every link function at many points, R's own functions.
eps <- .Machine$double.eps
eta_pts <- c(-800, -40, -30.5, -30, -29.9, -10, -2.5, -1, -0.3, -1e-8, 0, 1e-8, 0.3, 1, 2.5, 10,
             29.9, 30, 30.5, 40, 700, 800)
eta_pos <- c(1e-6, 0.01, 0.3, 1, 2.5, 10, 40, 800)
mu_unit <- c(1e-12, 1e-6, 0.01, 0.2, 0.5, 0.7, 0.99, 1 - 1e-6)
mu_pos <- c(1e-8, 0.01, 0.3, 1, 2.5, 10, 40, 800)

safe <- function(f, x) {
  r <- tryCatch(suppressWarnings(f(x)), error = function(e) rep(NA_real_, length(x)))
  as.numeric(r)
}

fam_case <- function(fam, eta, mu, y, wt, n = rep(1, length(y))) {
  dev <- sum(fam$dev.resids(y, mu, wt))
  list(
    family = fam$family, link = fam$link,
    eta = eta, linkinv = safe(fam$linkinv, eta), mu_eta = safe(fam$mu.eta, eta),
    valideta = fam$valideta(eta),
    mu = mu, linkfun = safe(fam$linkfun, mu), variance = fam$variance(mu),
    validmu = fam$validmu(mu),
    y = y, wt = wt, n = n, dev_resids = fam$dev.resids(y, mu, wt),
    aic = suppressWarnings(fam$aic(y, n, mu, wt, dev))
  )
}

fams <- list()
set.seed(1)
for (lk in c("logit", "probit", "cloglog", "cauchit", "log")) {
  f <- binomial(link = lk)
  yb <- c(0, 1, 0.25, 0.5, 1, 0, 0.75, 1)
  nb <- c(1, 1, 4, 2, 1, 1, 4, 1)
  fams[[length(fams) + 1]] <- fam_case(f, eta_pts, mu_unit, yb, nb, nb)
}
for (lk in c("log", "sqrt", "identity")) {
  f <- poisson(link = lk)
  fams[[length(fams) + 1]] <- fam_case(f, if (lk == "log") eta_pts else eta_pos, mu_pos,
                                       c(0, 1, 0, 2, 3, 7, 40, 790), c(1, 1, 2, 1, 0.5, 1, 1, 3))
}
for (lk in c("inverse", "log", "identity")) {
  f <- Gamma(link = lk)
  fams[[length(fams) + 1]] <- fam_case(f, if (lk == "log") eta_pts else eta_pos, mu_pos,
                                       c(0.1, 0.02, 0.5, 1.2, 2, 9, 45, 700), c(1, 1, 2, 1, 0.5, 1, 1, 3))
}
for (lk in c("1/mu^2", "inverse", "log", "identity")) {
  f <- inverse.gaussian(link = lk)
  fams[[length(fams) + 1]] <- fam_case(f, if (lk == "log") eta_pts else eta_pos, mu_pos,
                                       c(0.1, 0.02, 0.5, 1.2, 2, 9, 45, 700), c(1, 1, 2, 1, 0.5, 1, 1, 3))
}
for (lk in c("identity", "log", "inverse")) {
  f <- gaussian(link = lk)
  fams[[length(fams) + 1]] <- fam_case(f, if (lk == "log") eta_pts else eta_pos, mu_pos,
                                       c(-1, 0.02, 0.5, 1.2, 2, 9, 45, 700), c(1, 1, 2, 1, 0.5, 1, 1, 3))
}
out$families <- fams

## validity of eta for links with restricted range
out$valideta <- list(
  list(family = "Gamma", link = "inverse", eta = c(1, 0, 2), value = Gamma()$valideta(c(1, 0, 2))),
  list(family = "poisson", link = "sqrt", eta = c(1, -1), value = poisson("sqrt")$valideta(c(1, -1))),
  list(family = "inverse.gaussian", link = "1/mu^2", eta = c(1, -0.5),
       value = inverse.gaussian()$valideta(c(1, -0.5)))
)

## initialize (mustart, weights, n, y) as glm.fit runs it
init_case <- function(fam, y, weights) {
  y_in <- y; weights_in <- weights  # before initialize rewrites y and weights
  nobs <- NROW(y); etastart <- NULL; start <- NULL; mustart <- NULL; family <- fam
  msgs <- character(0)
  withCallingHandlers(eval(fam$initialize),
                      warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(family = fam$family, link = fam$link,
       y_in = if (is.matrix(y_in)) unname(split(y_in, row(y_in))) else y_in, weights_in = weights_in, y = as.numeric(y), mustart = mustart, weights = weights, n = n,
       warnings = msgs)
}
out$initialize <- list(
  init_case(binomial(), c(0, 1, 1, 0, 0.5), c(1, 1, 1, 1, 2)),
  init_case(binomial(), c(0, 1, 0.3), c(1, 1, 1)),
  init_case(binomial(), cbind(c(2, 0, 5), c(3, 4, 0)), c(1, 1, 1)),
  init_case(binomial(), cbind(c(2, 0, 0), c(3, 4, 0)), c(1, 2, 1)),
  init_case(binomial(), c(0.25, 0.5, 1), c(4, 2, 3)),
  init_case(poisson(), c(0, 3, 5), c(1, 1, 1)),
  init_case(Gamma(), c(0.5, 3, 5), c(1, 1, 1)),
  init_case(inverse.gaussian(), c(0.5, 3, 5), c(1, 1, 1)),
  init_case(gaussian(), c(-0.5, 3, 5), c(1, 1, 1))
)
err_msg <- function(expr) tryCatch({ expr; NA_character_ }, error = function(e) conditionMessage(e))
out$init_errors <- list(
  binomial_range = err_msg(init_case(binomial(), c(0, 2), c(1, 1))),
  binomial_cols = err_msg(init_case(binomial(), cbind(1, 2, 3), 1)),
  poisson_negative = err_msg(init_case(poisson(), c(-1, 2), c(1, 1))),
  gamma_nonpositive = err_msg(init_case(Gamma(), c(0, 2), c(1, 1))),
  invgauss_nonpositive = err_msg(init_case(inverse.gaussian(), c(0, 2), c(1, 1))),
  gaussian_log_start = err_msg(init_case(gaussian("log"), c(0, 2), c(1, 1)))
)

## lme4's printed family line pieces
out$family_print <- lapply(list(binomial(), binomial("probit"), poisson(), Gamma("log"),
                                inverse.gaussian(), gaussian("log")),
                           function(f) list(family = f$family, link = f$link,
                                            text = sprintf(" Family: %s  ( %s )", f$family, f$link)))

## Gauss-Hermite rules used by nAGQ
out$ghrule <- lapply(c(1, 2, 5, 9, 25), function(k) {
  g <- GHrule(k); list(n = k, z = g[, "z"], w = g[, "w"], ldnorm = g[, "ldnorm"])
})

## ---------------------------------------------------------------------------------------------
## 2. glmer fits
collect <- function(expr) {
  w <- character(0); m <- character(0)
  val <- withCallingHandlers(expr,
    warning = function(c) { w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning") },
    message = function(c) { m <<- c(m, conditionMessage(c)); invokeRestart("muffleMessage") })
  list(value = val, warnings = w, messages = m)
}

ranef_list <- function(fit) {
  re <- ranef(fit, condVar = FALSE)
  lapply(re, function(d) list(levels = rownames(d), columns = colnames(d),
                              values = unname(as.list(d))))
}

fit_record <- function(name, formula, data, family, nAGQ = 1, points = NULL, store_data = FALSE,
                       weights_col = NULL) {
  env <- environment()
  ## glmer(formula, data, family, nAGQ[, weights = <column>][, more arguments])
  mkcall <- function(...) {
    cl <- as.call(c(list(quote(glmer), formula = formula, data = quote(data), family = quote(family)),
                    list(...)))
    if (!is.null(weights_col)) cl$weights <- as.name(weights_col)
    cl
  }
  cl <- mkcall(nAGQ = nAGQ)
  res <- collect(eval(cl, env))
  fit <- res$value
  vc <- as.data.frame(VarCorr(fit))
  s <- summary(fit)
  ## the Laplace/AGQ deviance function over c(theta, beta) after lme4's nAGQ = 0 stage
  dfun <- suppressWarnings(eval(mkcall(nAGQ = nAGQ, devFunOnly = TRUE), env))
  par0 <- if (nAGQ == 0) getME(fit, "theta") else c(getME(fit, "theta"), fixef(fit))
  pts <- list(par0, par0 * 1.1, par0 + 0.05)
  if (!is.null(points)) pts <- c(pts, points)
  pts <- lapply(pts, function(p) { th <- seq_along(getME(fit, "theta")); p[th] <- pmax(p[th], getME(fit, "lower")); p })
  devvals <- sapply(pts, function(p) dfun(p))
  ## nAGQ = 0 stage's function of theta alone
  dfun0 <- suppressWarnings(eval(mkcall(nAGQ = 0, devFunOnly = TRUE), env))
  th0 <- getME(fit, "theta")
  pts0 <- list(th0, th0 * 0.5 + 0.1, th0 * 0 + 1)
  dev0 <- sapply(pts0, function(p) dfun0(p))
  ll <- logLik(fit)
  rec <- list(
    name = name, formula = deparse(formula, width.cutoff = 500), family = family$family,
    link = family$link, nAGQ = nAGQ, weights_col = weights_col,
    warnings = res$warnings, messages = res$messages,
    theta = unname(getME(fit, "theta")), lower = unname(getME(fit, "lower")),
    beta = unname(fixef(fit)), beta_names = names(fixef(fit)),
    se = unname(sqrt(diag(as.matrix(vcov(fit))))),
    vcov = unname(as.matrix(vcov(fit))),
    vcov_rx = unname(as.matrix(suppressWarnings(vcov(fit, use.hessian = FALSE)))),
    coefficients = unname(as.list(as.data.frame(coef(s)))), coef_columns = colnames(coef(s)),
    deviance = deviance(fit), logLik = as.numeric(ll), df = attr(ll, "df"),
    AIC = AIC(fit), BIC = BIC(fit), df_resid = df.residual(fit), nobs = nobs(fit),
    devcomp = as.list(fit@devcomp$cmp),
    u = unname(getME(fit, "u")), ranef = ranef_list(fit),
    varcorr = unname(as.list(vc)), varcorr_columns = colnames(vc),
    fitted = unname(fitted(fit)),
    residuals = list(deviance = unname(residuals(fit, type = "deviance")),
                     pearson = unname(residuals(fit, type = "pearson")),
                     working = unname(residuals(fit, type = "working")),
                     response = unname(residuals(fit, type = "response"))),
    feval = fit@optinfo$feval, optimizer = fit@optinfo$optimizer,
    derivs = list(gradient = fit@optinfo$derivs$gradient, Hessian = fit@optinfo$derivs$Hessian),
    devfun = list(points = pts, values = devvals),
    devfun0 = list(points = pts0, values = dev0),
    summary = capture.output(print(s)),
    print = capture.output(print(fit))
  )
  if (store_data) rec$data <- as.list(data)
  rec
}

fits <- list()
fits$cbpp_laplace <- fit_record("cbpp_laplace", cbind(incidence, size - incidence) ~ period + (1 | herd),
                                cbpp, binomial(), 1)
fits$cbpp_agq9 <- fit_record("cbpp_agq9", cbind(incidence, size - incidence) ~ period + (1 | herd),
                             cbpp, binomial(), 9)
fits$cbpp_probit <- fit_record("cbpp_probit", cbind(incidence, size - incidence) ~ period + (1 | herd),
                               cbpp, binomial(link = "probit"), 1)
## proportions with weights = trials: the same model as cbind()
cbpp_prop <- cbpp
cbpp_prop$prop <- cbpp$incidence / cbpp$size
fits$cbpp_weights <- fit_record("cbpp_weights", prop ~ period + (1 | herd), cbpp_prop, binomial(), 1,
                                weights_col = "size")
fits$grouseticks <- fit_record("grouseticks",
                               TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION),
                               grouseticks, poisson(), 1)
fits$contraception <- fit_record("contraception",
                                 use ~ age + I(age^2) + urban + livch + (urban | district),
                                 Contraception, binomial(), 1)

## A Poisson model with an offset: simulated counts with exposure, data stored in the fixture.
set.seed(20240607)
ng <- 25; per <- 8
sim <- data.frame(g = factor(rep(sprintf("g%02d", 1:ng), each = per)),
                  x = round(rnorm(ng * per), 3),
                  expo = round(runif(ng * per, 0.5, 5), 2))
b <- rnorm(ng, sd = 0.6)
sim$y <- rpois(nrow(sim), sim$expo * exp(-0.4 + 0.7 * sim$x + b[as.integer(sim$g)]))
fits$poisson_offset <- fit_record("poisson_offset", y ~ x + offset(log(expo)) + (1 | g), sim,
                                  poisson(), 1, store_data = TRUE)

## nAGQ = 0: lme4's first stage alone (theta by bobyqa, beta from PIRLS, vcov from R_X)
fits$cbpp_nagq0 <- fit_record("cbpp_nagq0", cbind(incidence, size - incidence) ~ period + (1 | herd),
                              cbpp, binomial(), 0)

## Gamma with a log link: a family with a scale parameter (sigma, t values)
set.seed(42)
ng <- 20; per <- 10
gam <- data.frame(g = factor(rep(sprintf("s%02d", 1:ng), each = per)), x = round(runif(ng * per), 3))
b <- rnorm(ng, sd = 0.4)
gam$y <- round(rgamma(nrow(gam), shape = 3, rate = 3 / exp(0.5 + 0.8 * gam$x + b[as.integer(gam$g)])), 4)
fits$gamma_log <- fit_record("gamma_log", y ~ x + (1 | g), gam, Gamma(link = "log"), 1, store_data = TRUE)
fits$gamma_log$sigma <- sigma(glmer(y ~ x + (1 | g), gam, family = Gamma(link = "log")))

## Bernoulli data without a group effect: a singular fit
set.seed(7)
sng <- data.frame(g = factor(sprintf("g%02d", rep(1:20, each = 10))), x = round(rnorm(200), 3))
sng$y <- rbinom(200, 1, plogis(-0.3 + 0.5 * sng$x))
fits$singular <- fit_record("singular", y ~ x + (1 | g), sng, binomial(), 1, store_data = TRUE)
out$fits <- fits

## ---------------------------------------------------------------------------------------------
## 3. Errors lme4 gives
cbpp2 <- cbpp; cbpp2$frac <- cbpp2$incidence / cbpp2$size * 2
gt2 <- grouseticks; gt2$neg <- gt2$TICKS; gt2$neg[1] <- -1
gt2$frac <- gt2$TICKS + 0.5
out$errors <- list(
  agq_two_terms = err_msg(glmer(TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION), grouseticks,
                                family = poisson, nAGQ = 5)),
  agq_vector_term = err_msg(glmer(use ~ age + (urban | district), Contraception,
                                  family = binomial, nAGQ = 5)),
  binomial_range = err_msg(glmer(frac ~ period + (1 | herd), cbpp2, family = binomial)),
  poisson_negative = err_msg(glmer(neg ~ YEAR + (1 | BROOD), gt2, family = poisson)),
  response_constant = err_msg(glmer(zero ~ period + (1 | herd), transform(cbpp, zero = 0),
                                    family = binomial))
)
w <- collect(suppressMessages(glmer(frac ~ YEAR + (1 | BROOD), gt2, family = poisson)))
out$warnings_noninteger_poisson <- head(unique(w$warnings), 3)
w <- collect(glmer(Reaction ~ Days + (1 | Subject), sleepstudy, family = gaussian))
out$warnings_gaussian <- w$warnings

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = FALSE),
           "tests/reference/glmer.json")
