# Reference for tests/test_cli.py: CSV files as R's read.csv() reads them, and lme4's summary of
# a fit to them (what `lmepy fit FORMULA --data FILE.csv` must print). Run from the repo root:
#   Rscript tests/reference/cli.R      (or make_reference.R, which runs every script)
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

csv_case <- function(name, df, formula, edit = identity) {
  path <- tempfile(fileext = ".csv")
  write.csv(df, path, row.names = FALSE)
  text <- edit(readLines(path))
  writeLines(text, path)
  d <- read.csv(path)
  assign(name, d)  # the summary's "Data:" line names the data as the CLI does: the file's stem
  fit <- eval(bquote(lmer(.(as.formula(formula)), data = .(as.name(name)))))
  list(file = paste0(name, ".csv"), csv = I(text), formula = formula,
       column_classes = lapply(d, function(x) class(x)[1]),
       print_summary = I(capture.output(print(summary(fit)))))
}

cases <- list()

# a text value in a numeric column: the column is text, a factor in the model (R >= 4.0)
ss_text <- sleepstudy
ss_text$Days <- as.character(ss_text$Days)
ss_text$Days[4] <- "abc"
cases$text_in_numeric <- csv_case("ss_text", ss_text, "Reaction ~ Days + (1 | Subject)")

# "NA" and an empty numeric field are missing values (rows dropped); a header that is not a
# syntactic name is made one ("Reaction time" -> Reaction.time)
ss_na <- sleepstudy
names(ss_na)[1] <- "Reaction time"
ss_na[[1]][c(5, 40)] <- NA
cases$na_and_names <- csv_case("ss_na", ss_na, "Reaction.time ~ Days + (Days | Subject)",
                               edit = function(lines) { lines[8] <- sub(",[0-9]+,", ",,", lines[8]); lines })

# R's type.convert(as.is = TRUE), which read.csv applies to each column of text
tc_inputs <- list(c("inf", "1"), c("nan", "1"), c("Infinity", "1"), c("INF", "-Inf"),
                  c("1 ", " 2"), c(" 1", "2"), c("+5", "05"), c("0x1A", "1"), c("1e5", "1."),
                  c(".5e-2", "1"), c("1d5", "2"), c("T", "F"), c("TRUE", "false"), c("TRUE", "F"), c("t", "f"),
                  c("1", "2147483647"), c("1", "-2147483648"), c("1", "NA", ""),
                  c("NA", ""), c("", "a", "NA"), c("1.5", "x"))
type_convert <- lapply(tc_inputs, function(v) {
  x <- type.convert(v, as.is = TRUE)
  list(input = I(v), class = class(x), na = I(is.na(x)),
       value = I(if (is.numeric(x)) ifelse(is.na(x), NA, as.character(x)) else as.character(x)))
})

# read.csv's check.names: make.names(unique = TRUE) of the header
mn_input <- c("a b", "if", "", "_x", ".5", ".a", "a", "a", "a.1", "TRUE", "function", "\u00e9",
              "1", "a-b", "...", "..1")
make_names <- list(input = I(mn_input), output = I(make.names(mn_input, unique = TRUE)))

out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
            cases = cases, type_convert = type_convert, make_names = make_names)
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE, digits = NA),
           "tests/reference/cli.json")
