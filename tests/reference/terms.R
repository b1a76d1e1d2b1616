# Reference values for the formula language (R's terms(), deparse(), lme4 1.1-31's findbars /
# nobars / expandDoubleVerts, nlme 3.1-162's one-sided formulas, pdMat, corStruct, varFunc and
# reStruct), written to tests/reference/terms.json.
# Run from the repo root: Rscript tests/reference/terms.R  (or through make_reference.R)
suppressPackageStartupMessages({
  library(lme4)
  library(nlme)
  library(jsonlite)
})

dp <- function(x) paste(deparse(x, width.cutoff = 500L), collapse = " ")
# variables as they appear in term labels: non-syntactic names backquoted
dpv <- function(x) paste(deparse(x, width.cutoff = 500L, backtick = TRUE), collapse = " ")

formulas <- c(
  "Reaction ~ Days + (Days | Subject)",
  "Reaction~Days+(1|Subject)+(0+Days|Subject)",
  "Reaction ~ Days + (Days || Subject)",
  "  log(Reaction)~   Days ",
  "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  "y ~ a + b - a",
  "y ~ a*b",
  "y ~ a*b*c - a:b:c",
  "y ~ a/b",
  "y ~ (a + b)/c",
  "y ~ a/b/c",
  "y ~ b %in% a",
  "y ~ x %in% f",
  "y ~ a + b %in% a",
  "y ~ (a + b) %in% (c + d)",
  "y ~ (a + b + c)^2",
  "y ~ (a+b+c)^3 - a:b:c",
  "y ~ 0 + x",
  "y ~ x - 1",
  "y ~ 1 + x",
  "y ~ -1 + x + z",
  "y ~ x + 0",
  "y ~ 1",
  "y ~ 0",
  "y ~ b:a + a",
  "y ~ x + x + z:w + w:z",
  "y ~ x * (a + b)",
  "y ~ (a + b):(c + d)",
  "y ~ a^2 + b:b",
  "y ~ -(x + 1)",
  "y ~ x - 0 - 1",
  "y ~ x + (1 + x | g) - 1",
  "y ~ I(x^2) + I(x * 2 + 1) + I(x/z - 1)",
  "y ~ I(1e-3 * x) + I(100000 * x) + I(x^0.5) + I(-x)",
  "y ~ log(x) + log2(x) + log10(x) + exp(x) + sqrt(x) + abs(x)",
  "follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + tan(t)",
  "y ~ poly(x, 2) + poly(z, 3, raw = TRUE)",
  "y ~ scale(x) + factor(g) + as.numeric(h)",
  "y ~ log1p(x) + expm1(x) + asin(x) + acos(x) + atan(x) + sinh(x) + cosh(x) + tanh(x)",
  "y ~ floor(x) + ceiling(x) + round(x, 2) + sign(x) + trunc(x) + I(x - mean(x)) + I(x/sd(x))",
  "y ~ as.factor(g) + ordered(h) + relevel(f, ref = \"b\") + interaction(a, b) + as.integer(n)",
  "y ~ as.double(x) + I(x - median(x)) + I(var(x)) + I(x - min(x)) + I(max(x) - x)",
  "y ~ ns(x, 3) + bs(x, df = 4) + bs(z, knots = c(1, 2.5), degree = 2)",
  "y ~ x + offset(log(n))",
  "y ~ `my var` + `a-b`:x",
  "y ~ gr\u00f6\u00dfe + `a b` + ._x + .x2 + `_u` + `2x` + `if`",
  "strength ~ 1 + (1 | batch/cask)",
  "y ~ (1 | a/b/c)",
  "y ~ (1 | a:b) + (1 | a)",
  "y ~ x + (1 | g) + (1 | h)",
  "y ~ x + (x | g) + (1 | g:h)",
  "y ~ (x + z || g)",
  "y ~ (0 + x || g)",
  "y ~ f + (f || g)",
  "y ~ (x * z || g/h)",
  "y ~ a %in% b %in% c",
  "y ~ x + (1 | g)*z",
  "y ~ (1 | g)",
  "y ~ a*b*c*d*e - b:c:d + (a + b + c + d)^3"
)

# Long formulas (R deparses them over several lines, so only their terms are compared).
long_formulas <- c(
  paste("y ~", paste0("x", 0:1499, collapse = " + ")),
  paste("y ~", paste0("x", 0:9, collapse = " * "), "- 1"),
  paste("y ~ (", paste(letters[1:12], collapse = " + "), ")^3")
)
long_case <- function(s) {
  tt <- terms(as.formula(s))
  list(text = s, term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept"))
}

terms_case <- function(s) {
  f <- as.formula(s)
  dv <- "||" %in% all.names(f)
  nb <- nobars(f)
  tt <- terms(nb)
  vars <- vapply(as.list(attr(tt, "variables"))[-1], dpv, "")
  off <- attr(tt, "offset")
  list(
    text = s,
    deparse = dp(f),
    term_labels = I(attr(tt, "term.labels")),
    intercept = attr(tt, "intercept"),
    response = if (attr(tt, "response") == 1) dp(f[[2]]) else NULL,
    variables = I(vars),
    offset = I(if (is.null(off)) character(0) else vars[off]),
    findbars = I(vapply(findbars(f), dp, "")),
    nobars = dp(nb),
    expandDoubleVerts = if (dv) dp(lme4:::expandDoubleVerts(f)) else NULL
  )
}

# Text whose deparse we check on its own (expressions of the language, not model formulas).
exprs <- c("~ age | Subject", "~1|Mare", "corAR1(0.3, form = ~ t | g)", "varPower(form=~fitted(.))",
           "pdBlocked(list(pdSymm(~ a), pdIdent(~ b - 1)))", "-2^2", "a^-1", "-a:b", "a * -b",
           "x - -y", "1e5", "0.0001234", "0.00001234", "123456", "1L", "0x10", "'a'", "2.50",
           ".5", "1/3", "3.14159265358979", "12345678901234567", "1e15", "1e-300",
           "c(Female = 0.5, Male = 1)", "a %in% b", "!a", "a == b & c != d", "x^2^3",
           "`a b` + c", "I((x))", "poly(x,2,raw=TRUE)",
           "'a\\nb'", "'q\"x'", "c(\"t\\tz\\\\\")", "Inf", "1e400", "-0", "2L + 0x1FL")
expr_case <- function(s) list(text = s, deparse = dp(str2lang(s)))

# Text R refuses (at parse time, or when the model frame is built).
bad <- c("y ~ x +", "y ~ (x | g", "y ~ x $ z", "y ~ `x + z", "y ~ lg(x)", "y ~ sqr(x)",
         "y ~ __import__('os').system('x')", "y ~ x y", "y ~ x)", "y ~ log(x",
         "y ~ x + 2", "y ~ a^b", "y ~ x + 'a'", "y ~ x[1]")
d <- data.frame(y = 1:3, x = c(1, 2, 4), a = 1:3, b = 3:1)
bad_case <- function(s) {
  msg <- tryCatch({
    f <- as.formula(s)
    terms(f)
    model.frame(f, d)
    "no error"
  }, error = function(e) conditionMessage(e))
  list(text = s, r_error = msg)
}

# Random formulas over a few variables and every operator: a differential test of terms().
set.seed(20261122)
gen <- function(d) {
  if (d == 0 || runif(1) < 0.25)
    return(sample(c("a", "b", "c", "d", "a", "b", "1", "0", "log(a)", "I(b^2)", "offset(c)"), 1))
  op <- sample(c("+", "-", "*", "/", ":", "%in%", "^", "()", "-u", "+"), 1)
  switch(op,
    "^" = paste0("(", gen(d - 1), ")^", sample(1:3, 1)),
    "()" = paste0("(", gen(d - 1), ")"),
    "-u" = paste0("-", gen(d - 1)),
    paste(gen(d - 1), op, gen(d - 1)))
}
random_case <- function(s) {
  res <- tryCatch({
    tt <- terms(as.formula(s))
    list(text = s, term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept"))
  }, error = function(e) list(text = s, r_error = conditionMessage(e)))
  res
}
random_formulas <- unique(vapply(1:900, function(i) paste("y ~", gen(sample(2:5, 1))), ""))

# Random mixed-model formulas: lme4's findbars/nobars (with || and / expanded) and the fixed terms.
genbar <- function() {
  lhs <- sample(c("1", "x", "0 + x", "x + z", "1 + x", "x * z", "-1 + x", "log(x)", "x + I(x^2)",
                  "0 + f", "f", "x - 1"), 1)
  grp <- sample(c("g", "h", "g/h", "g:h", "g/h/k", "(g)", "g:h/k"), 1)
  paste0("(", lhs, sample(c(" | ", " || "), 1, prob = c(0.6, 0.4)), grp, ")")
}
mixed_case <- function(s) {
  tryCatch({
    f <- as.formula(s)
    tt <- terms(nobars(f))
    list(text = s, findbars = I(vapply(findbars(f), dp, "")), nobars = dp(nobars(f)),
         term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept"))
  }, error = function(e) list(text = s, r_error = conditionMessage(e)))
}
mixed_formulas <- unique(vapply(1:250, function(i) {
  parts <- c(replicate(sample(1:3, 1), genbar()), if (runif(1) < 0.8) gen(sample(1:3, 1)))
  paste("y ~", paste(sample(parts), collapse = " + "))
}, ""))

out <- list(
  mixed_terms = lapply(mixed_formulas, mixed_case),
  random_terms = lapply(random_formulas, random_case),
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  nlme = as.character(packageVersion("nlme"))),
  terms = lapply(formulas, terms_case),
  long = lapply(long_formulas, long_case),
  exprs = lapply(exprs, expr_case),
  errors = lapply(bad, bad_case)
)

## nlme's small languages -------------------------------------------------------------------
num <- function(x) if (length(x)) as.numeric(x) else numeric(0)
pd_case <- function(s) {
  pd <- eval(str2lang(s))
  one <- function(b) {
    tt <- terms(formula(b))
    list(class = class(b)[1], formula = dp(formula(b)),
         term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept"))
  }
  res <- list(text = s, class = class(pd)[1])
  if (inherits(pd, "pdBlocked")) res$blocks <- lapply(pd, one) else res <- c(res, one(pd)[-1])
  res
}
cor_case <- function(s) {
  cs <- eval(str2lang(s))
  f <- formula(cs)
  list(text = s, class = class(cs)[1], formula = dp(f),
       covariate = dp(getCovariateFormula(f)),
       groups = if (is.null(getGroupsFormula(f))) NULL else dp(getGroupsFormula(f)),
       value = I(tryCatch(num(coef(cs, unconstrained = FALSE)), error = function(e) numeric(0))),
       fixed = attr(cs, "fixed"),
       p = if (is.null(attr(cs, "p"))) 0 else attr(cs, "p"),
       q = if (is.null(attr(cs, "q"))) 0 else attr(cs, "q"))
}
var_case <- function(s) {
  vf <- eval(str2lang(s))
  f <- formula(vf)
  list(text = s, class = class(vf)[1], formula = dp(f),
       covariate = dp(getCovariateFormula(f)),
       groups = if (is.null(getGroupsFormula(f))) NULL else dp(getGroupsFormula(f)),
       value = I(if (inherits(vf, "varIdent")) numeric(0) else
         tryCatch(num(coef(vf, unconstrained = FALSE)), error = function(e) numeric(0))))
}
random_case <- function(label, r) {
  rs <- reStruct(r)
  lev <- rev(seq_along(rs))  # reStruct stores innermost first; we list outermost first
  list(spec = label, groups = I(names(rs)[lev]),
       class = I(vapply(lev, function(i) class(rs[[i]])[1], "")),
       formula = I(vapply(lev, function(i) dp(formula(rs[[i]])), "")))
}
err_case <- function(s) list(text = s, r_error = tryCatch({eval(str2lang(s)); "no error"},
                                                          error = function(e) conditionMessage(e)))

pds <- c("pdSymm(~ x)", "pdDiag(~ sin(2*pi*Time))", "pdIdent(~ b - 1)", "pdCompSymm(~ x)",
         "pdLogChol(~ age)", "pdDiag(form = ~ x + z)", "pdBlocked(list(pdSymm(~ a), pdIdent(~ b - 1)))",
         "pdBlocked(list(~ a, ~ b - 1))",
         "pdBlocked(list(~ a, ~ b - 1), pdClass = c(\"pdDiag\", \"pdIdent\"))")
cors <- c("corAR1()", "corAR1(0.3, form = ~ t | g)", "corAR1(form = ~ 1 | Mare)",
          "corCAR1(form = ~ Time)", "corCAR1(0.5, form = ~ Time | Subject)",
          "corARMA(p = 1, q = 1)", "corARMA(c(0.2, -0.3), form = ~ 1 | g, p = 1, q = 1)",
          "corARMA(p = 2)", "corCompSymm()", "corCompSymm(0.5, form = ~ 1 | g)", "corSymm()",
          "corSymm(form = ~ 1 | Subject)", "corAR1(0.5, fixed = TRUE)", "corAR1(0.2, form = ~ 1 | a/b)")
vars <- c("varIdent(form = ~ 1 | Sex)", "varIdent(c(Female = 0.5), form = ~ 1 | Sex)",
          "varPower()", "varPower(form = ~ fitted(.))", "varPower(0.5, form = ~ x)",
          "varExp(form = ~ x)", "varExp(form = ~ age | Sex)", "varConstPower()",
          "varConstPower(const = 1, power = 0.5)", "varFixed(~ x)", "varPower(fixed = 0.5)")
randoms <- list(
  list("~ x | g", ~ x | g),
  list("~ 1 | a/b", ~ 1 | a/b),
  list("~ age | Subject", ~ age | Subject),
  list("~ 1 | a/b/c", ~ 1 | a/b/c),
  list("list(Dog = ~ day, Side = ~ 1)", list(Dog = ~ day, Side = ~ 1)),
  list("list(Mare = pdDiag(~ sin(2*pi*Time)))", list(Mare = pdDiag(~ sin(2*pi*Time)))),
  list("list(Subject = pdDiag(~ age))", list(Subject = pdDiag(~ age)))
)
nlme_bad <- c("corAR1(1.5)", "corCAR1(-0.2)", "corARMA(0.2, p = 1, q = 1)", "corARMA(p = -1)",
              "corAR1(foo = 1)", "corAR1(0.1, ~ t, TRUE, 2)")

out$nlme <- list(
  pd = lapply(pds, pd_case),
  cor = lapply(cors, cor_case),
  var = lapply(vars, var_case),
  random = lapply(randoms, function(x) random_case(x[[1]], x[[2]])),
  errors = lapply(nlme_bad, err_case)
)

writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE, digits = NA, null = "null"),
           "tests/reference/terms.json")
