# Regenerates every reference fixture: run by hand where R is installed, from the repo root:
#   apt-get install -y r-base-core r-cran-lme4 r-cran-nlme r-cran-lmertest r-cran-mlmrev r-cran-jsonlite
#   Rscript tests/reference/make_reference.R
# Each tests/reference/<topic>.R script writes its own tests/reference/<topic>.json (or, for
# datasets.R, the bundled data under lmepy/datasets/data/). Reference versions: lme4 1.1-31,
# nlme 3.1-162.
scripts <- setdiff(list.files("tests/reference", pattern = "^[^_].*[.]R$", full.names = TRUE),
                   "tests/reference/make_reference.R")
scripts <- c(grep("datasets[.]R$", scripts, value = TRUE), grep("datasets[.]R$", scripts, value = TRUE, invert = TRUE))
for (s in scripts) {
  message("== ", s)
  local(source(s, local = TRUE))
}
