# Reference values for the plots of issue 6 and glmer's simulate(), written to
# tests/reference/plots.json. Run from the repo root: Rscript tests/reference/plots.R
#
#   profile      as.data.frame(profile(fit)) (lme4's own grid): .zeta, the parameters, .par
#   qqnorm       qqnorm(residuals(fit)) x and y, and qqnorm of small vectors (ppoints' a = 3/8
#                for n <= 10, ties)
#   dotplot      lme4:::asDf0(ranef(fit, condVar = TRUE), f): values, ind, level order of .nn,
#                se (the caterpillar's points and half-widths 1.96 * se)
#   resid_fitted plot(fit)'s data: fitted(fit) and resid(fit, type = "pearson")
#   simulate     implied moments of glmer simulate(): conditional (use.u = TRUE: mu and the
#                family's variance) and marginal (use.u = FALSE: integrals over the random
#                intercept, b ~ N(0, theta^2) as lme4's simulate draws it, unscaled by sigma)
suppressPackageStartupMessages({
  library(lme4)
  library(mlmRev)
  library(jsonlite)
})

out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))))

fm1 <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
fmd <- lmer(Yield ~ 1 + (1 | Batch), Dyestuff)
fmp <- lmer(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin)
fmd2 <- lmer(Yield ~ 1 + (1 | Batch), Dyestuff2)
ssw <- sleepstudy
ssw$w <- 1 + ((seq_len(nrow(ssw)) * 7) %% 11) / 10
fmw <- lmer(Reaction ~ Days + (Days | Subject), ssw, weights = w)
gm1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)
# profile() of a GLMM leaves its fit's internal state at the last profiled point (ranef() after
# it is off): profile a fit of its own
gm1p <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)

prof_out <- function(fit) {
  pr <- as.data.frame(profile(fit))
  cols <- setdiff(names(pr), c(".par", ".focal"))
  list(columns = cols, values = lapply(cols, function(c) pr[[c]]),
       par = as.character(pr$.par), focal = pr$.focal)
}
out$profile <- list(
  sleepstudy = c(list(formula = "Reaction ~ Days + (Days | Subject)", data = "sleepstudy",
                      REML = TRUE), prof_out(fm1)),
  Dyestuff = c(list(formula = "Yield ~ 1 + (1 | Batch)", data = "Dyestuff", REML = TRUE),
               prof_out(fmd)),
  # singular fit: .sig01 = 0 at the estimate, profiled upwards only
  Dyestuff2 = c(list(formula = "Yield ~ 1 + (1 | Batch)", data = "Dyestuff2", REML = TRUE),
                prof_out(fmd2)),
  # prior weights w = 1 + ((1:180 * 7) %% 11) / 10, as in tests/reference/lmer.R
  sleepstudy_weights = c(list(formula = "Reaction ~ Days + (Days | Subject)",
                              data = "sleepstudy", REML = TRUE), prof_out(fmw)),
  # a GLMM: the Laplace deviance over (sd, beta)
  cbpp = c(list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                data = "cbpp", family = "binomial"), prof_out(gm1p)))

# lme4 1.1-31's profile of a fixed effect in a weighted fit is wrong (zeta of +-17 one hundredth
# of a standard error away from the estimate): the reference for it is the definition, ML refits
# with the effect's column moved into the offset, zeta = sign(x - est) sqrt(dev(x) - dev(est))
mlw <- update(fmw, REML = FALSE)
fe_check <- function(term, rest, k = c(-3, -1.5, -0.5, 0.5, 1.5, 3)) {
  est <- fixef(mlw)[[term]]
  se <- sqrt(diag(vcov(mlw)))[[term]]
  xs <- est + k * se
  z <- vapply(xs, function(x) {
    d <- ssw
    d$off <- x * (if (term == "(Intercept)") 1 else d[[term]])
    m <- lmer(as.formula(paste("Reaction ~", rest, "+ (Days | Subject)")), d, weights = w,
              offset = off, REML = FALSE)
    sign(x - est) * sqrt(max(0, deviance(m) - deviance(mlw)))
  }, 0)
  list(values = xs, zeta = z)
}
out$profile_fixed_weights <- list(Days = fe_check("Days", "1"),
                                  `(Intercept)` = fe_check("(Intercept)", "0 + Days"))

qq_out <- function(y) {
  q <- qqnorm(y, plot.it = FALSE)
  list(y = as.numeric(y), x = as.numeric(q$x), ppoints = ppoints(length(y)))
}
out$qqnorm <- list(
  sleepstudy = qq_out(residuals(fm1)),
  Dyestuff = qq_out(residuals(fmd)),
  small_ties = qq_out(c(3, 1, 2, 2, 5, -1, 2)),
  ten = qq_out(c(0.5, 2, -1, 4, 3, 8, -2, 0, 1, 6)),
  eleven = qq_out(c(0.5, 2, -1, 4, 3, 8, -2, 0, 1, 6, 7)))

dot_out <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  lapply(setNames(names(re), names(re)), function(nx) {
    ss <- lme4:::asDf0(re, nx)
    list(values = ss$values, ind = as.character(ss$ind), level = as.character(ss$.nn),
         level_order = levels(ss$.nn), se = ss$se)
  })
}
fmdiag <- lmer(Reaction ~ Days + (Days || Subject), sleepstudy)  # two terms, one factor
out$dotplot <- list(sleepstudy = dot_out(fm1), Penicillin = dot_out(fmp),
                    sleepstudy_diag = dot_out(fmdiag), cbpp = dot_out(gm1))
out$resid_fitted <- list(
  sleepstudy = list(fitted = unname(fitted(fm1)),
                    pearson = unname(resid(fm1, type = "pearson"))),
  cbpp = list(fitted = unname(fitted(gm1)), pearson = unname(resid(gm1, type = "pearson"))))

## ---- simulate: implied moments --------------------------------------------------------------
# E[h(eta0 + s z)], z ~ N(0, 1), by adaptive quadrature on [-15, 15] (the tails beyond
# carry less than 1e-49 of the mass)
ez <- function(h, eta0, s) {
  vapply(eta0, function(e) integrate(function(z) h(e + s * z) * dnorm(z), -15, 15, subdivisions = 1000L,
                                     rel.tol = 1e-10)$value, 0)
}
sim_case <- function(fit, name, formula, data, family, link, counts = FALSE) {
  fam <- family(fit)
  s <- unname(getME(fit, "theta"))
  stopifnot(length(s) == 1)
  eta0 <- unname(predict(fit, re.form = NA))  # fixed part (offset included)
  mu <- unname(fitted(fit))
  w <- unname(weights(fit))
  sig <- sigma(fit)
  inv <- fam$linkinv
  m1 <- ez(inv, eta0, s)
  m2 <- ez(function(e) inv(e)^2, eta0, s)
  fam_name <- fam$family
  if (fam_name == "binomial") {
    # counts (cbind) or proportions: Y = K / w, K ~ Binomial(w, p)
    cvar <- mu * (1 - mu) / w
    mvar <- (m1 - m2) / w + (m2 - m1^2)
  } else if (fam_name == "poisson") {
    cvar <- mu
    mvar <- m1 + (m2 - m1^2)
  } else if (fam_name == "Gamma") {
    # lme4 1.1-31 simulates Gamma with shape = sigma(fit) * weights
    cvar <- mu^2 / (sig * w)
    mvar <- m2 / (sig * w) + (m2 - m1^2)
  } else if (fam_name == "gaussian") {
    cvar <- rep(sig^2, length(mu))
    mvar <- sig^2 + (m2 - m1^2)
  }
  sc <- if (counts) w else rep(1, length(mu))  # cbind: moments of the success counts
  res <- list(formula = formula, data = data, family = family, link = link,
              theta = s, sigma = sig, weights = w,
              cond_mean = mu * sc, cond_var = cvar * sc^2,
              marg_mean = m1 * sc, marg_var = mvar * sc^2)
  if (fam_name == "Gamma" && fam$link == "log") {
    # log Y = eta0 + s z + log G / k, G ~ Gamma(k, 1): light-tailed moments of the simulation
    k <- sig * w
    res$marg_logmean <- eta0 + digamma(k) - log(k)
    res$marg_logvar <- trigamma(k) + s^2
  }
  res
}
cbpp$obs <- factor(seq_len(nrow(cbpp)))
Contraception$use01 <- as.numeric(Contraception$use == "Y")
gp <- glmer(incidence ~ period + (1 | herd) + offset(log(size)), cbpp, poisson)
gb <- glmer(use ~ age + urban + (1 | district), Contraception, binomial)
gg <- glmer(Reaction ~ Days + (1 | Subject), sleepstudy, Gamma(link = "log"))
gn <- glmer(Reaction ~ Days + (1 | Subject), sleepstudy, gaussian(link = "log"))
gprop <- glmer(incidence / size ~ period + (1 | herd), cbpp, binomial, weights = size)
out$simulate <- list(
  cbpp_cbind = sim_case(gm1, "cbpp_cbind", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                        "cbpp", "binomial", "logit", counts = TRUE),
  cbpp_prop = sim_case(gprop, "cbpp_prop", "incidence / size ~ period + (1 | herd)", "cbpp",
                       "binomial", "logit"),
  cbpp_poisson = sim_case(gp, "cbpp_poisson", "incidence ~ period + (1 | herd) + offset(log(size))",
                          "cbpp", "poisson", "log"),
  contraception = sim_case(gb, "contraception", "use ~ age + urban + (1 | district)",
                           "Contraception", "binomial", "logit"),
  sleep_gamma = sim_case(gg, "sleep_gamma", "Reaction ~ Days + (1 | Subject)", "sleepstudy",
                         "Gamma", "log"),
  sleep_gaussian_log = sim_case(gn, "sleep_gaussian_log", "Reaction ~ Days + (1 | Subject)",
                                "sleepstudy", "gaussian", "log"))
# shapes and names of lme4's simulate() output
s_cb <- simulate(gm1, nsim = 2, seed = 1)
s_fac <- simulate(gb, nsim = 2, seed = 1)
out$simulate_shape <- list(
  cbind = list(names = names(s_cb), colnames = colnames(s_cb$sim_1), dim = dim(s_cb$sim_1),
               rownames = rownames(s_cb)),
  factor = list(names = names(s_fac), class = class(s_fac$sim_1), levels = levels(s_fac$sim_1),
                nrow = nrow(s_fac)),
  poisson = list(names = names(simulate(gp, nsim = 3, seed = 1)),
                 class = class(simulate(gp, nsim = 3, seed = 1)$sim_1)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           "tests/reference/plots.json")
