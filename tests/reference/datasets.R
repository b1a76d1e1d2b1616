# Exports R's example data sets into lmepy/datasets/data/ (run from the repo root:
#   Rscript tests/reference/datasets.R)
# Output:
#   lmepy/datasets/data/<name>.csv.gz  one per data set: a header line of R's column names, then
#                                      one line per row. Numbers are written with
#                                      sprintf("%.17g") so they round-trip exactly; factors and
#                                      character columns are quoted labels; logicals TRUE/FALSE;
#                                      missing values are the bare token NA.
#   lmepy/datasets/data/metadata.json  {name: {package, nrow, ncol, columns: [{name, class,
#                                      levels, ordered}]}}: class is one of numeric, integer,
#                                      factor, ordered, logical, character; levels in R's order.
#   tests/reference/datasets.json      small reference values for tests/test_datasets.py:
#                                      per data set dims, per numeric column sum / NA count, per
#                                      factor column nlevels, first/last 5 levels, largest
#                                      count, and (for <= 30 levels) all levels and counts.
#                                      wsum / code_wsum = sum(i * x[i]) over rows (1-based i;
#                                      factor codes 1-based) pin down the row order.
# nlme's groupedData attributes are dropped: each set is exported as a plain data.frame.
suppressPackageStartupMessages({
  library(jsonlite)
})
# JSON with exact doubles: jsonlite's digits = NA stops at 15 significant digits, so doubles
# are written as the shortest of %.15g/%.16g/%.17g that reads back identically (verbatim JSON).
source("tests/reference/_exact_json.R")

stopifnot(packageVersion("lme4") == "1.1.31", packageVersion("nlme") == "3.1.162")

sets <- list(
  sleepstudy = "lme4", Dyestuff = "lme4", Dyestuff2 = "lme4", Penicillin = "lme4",
  Pastes = "lme4", cake = "lme4", cbpp = "lme4", grouseticks = "lme4", InstEval = "lme4",
  Contraception = "mlmRev", Chem97 = "mlmRev",
  Ovary = "nlme", Orthodont = "nlme", BodyWeight = "nlme", Pixel = "nlme", Oxboys = "nlme"
)


col_class <- function(x) {
  if (is.ordered(x)) "ordered"
  else if (is.factor(x)) "factor"
  else if (is.logical(x)) "logical"
  else if (is.integer(x)) "integer"
  else if (is.numeric(x)) "numeric"
  else if (is.character(x)) "character"
  else stop("unsupported column class: ", paste(class(x), collapse = "/"))
}

fmt_col <- function(x) {
  cls <- col_class(x)
  s <- switch(cls,
    numeric = sprintf("%.17g", x),
    integer = sprintf("%d", x),
    logical = ifelse(x, "TRUE", "FALSE"),
    {
      lab <- as.character(x)
      if (any(!is.na(lab) & lab == "NA")) stop("a label 'NA' cannot be told from a missing value")
      paste0('"', gsub('"', '""', lab, fixed = TRUE), '"')
    })
  s[is.na(x)] <- "NA"
  s
}

outdir <- "lmepy/datasets/data"
dir.create(outdir, recursive = TRUE, showWarnings = FALSE)
meta <- list()
ref <- list()
for (name in names(sets)) {
  pkg <- sets[[name]]
  d <- load_set(name, pkg)
  cols <- lapply(d, fmt_col)
  lines <- c(paste0('"', names(d), '"', collapse = ","),
             do.call(paste, c(unname(cols), sep = ",")))
  con <- gzfile(file.path(outdir, paste0(name, ".csv.gz")), "wb", compression = 9)
  writeLines(lines, con, sep = "\n")
  close(con)
  meta[[name]] <- list(
    package = pkg, nrow = nrow(d), ncol = ncol(d),
    columns = lapply(names(d), function(v) {
      x <- d[[v]]
      list(name = v, class = col_class(x),
           levels = if (is.factor(x)) I(levels(x)) else NULL,
           ordered = is.ordered(x))
    }))
  ref[[name]] <- list(
    nrow = nrow(d), ncol = ncol(d), names = I(names(d)),
    columns = setNames(lapply(names(d), function(v) {
      x <- d[[v]]
      if (is.factor(x)) {
        tab <- table(x, useNA = "no")
        small <- nlevels(x) <= 30   # keep the fixture small: full levels/counts only for small factors
        list(class = col_class(x), nlevels = nlevels(x),
             levels = if (small) I(levels(x)) else NULL,
             head_levels = I(head(levels(x), 5)), tail_levels = I(tail(levels(x), 5)),
             counts = if (small) as.list(setNames(as.integer(tab), names(tab))) else NULL,
             max_count = max(as.integer(tab)),
             code_wsum = sum(as.numeric(as.integer(x)) * seq_along(x), na.rm = TRUE),
             n_na = sum(is.na(x)), first = as.character(x[1]), last = as.character(x[length(x)]))
      } else {
        list(class = col_class(x), sum = sum(as.numeric(x), na.rm = TRUE),
             wsum = sum(as.numeric(x) * seq_along(x), na.rm = TRUE),
             sumsq = sum(as.numeric(x)^2, na.rm = TRUE), n_na = sum(is.na(x)),
             first = x[1], last = x[length(x)])
      }
    }), names(d)))
}
writeLines(toJSON(meta, digits = NA, auto_unbox = TRUE, pretty = FALSE, null = "null"),
           file.path(outdir, "metadata.json"))
write_json17(ref, "tests/reference/datasets.json")
message("datasets: wrote ", length(sets), " sets to ", outdir)
