# Shared by the reference scripts (sourced, never run on its own; make_reference.R skips
# files starting with "_"): exact-number JSON and the plain data.frames lmepy bundles.
suppressPackageStartupMessages(library(jsonlite))

# ---- exact-number JSON (jsonlite's digits = NA stops at 15 significant digits) -------------
# each double is written as the shortest of %.15g/%.16g/%.17g that reads back identically
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
write_json17 <- function(obj, path) {
  writeLines(toJSON(j17(obj), auto_unbox = TRUE, json_verbatim = TRUE, null = "null",
                    na = "null", pretty = TRUE, digits = NA), path)
}

# ---- data: the same plain data.frames that tests/reference/datasets.R bundles ---------------
# (factor levels and class kept; groupedData and any other attributes dropped)
load_set <- function(name, pkg) {
  e <- new.env()
  data(list = name, package = pkg, envir = e)
  d <- get(name, envir = e)
  out <- data.frame(lapply(d, function(x) {
    keep <- if (is.factor(x)) c("levels", "class") else character(0)
    attributes(x) <- attributes(x)[intersect(names(attributes(x)), keep)]
    x
  }), check.names = FALSE, stringsAsFactors = FALSE)
  names(out) <- names(d)
  out
}
