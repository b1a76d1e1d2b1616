"""`lmepy fit`: fit a mixed model from the shell and print lme4's summary (the README's main
job). Every failure ends with a one-paragraph message on stderr and an exit status that says
whose problem it is, never with a Python traceback."""

from __future__ import annotations

import argparse
import csv
import io
import linecache
import os
import re
import stat
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lmepy import __version__
from lmepy.rtext import make_unique

DEFAULT_FORMULA = "Reaction ~ Days + (Days | Subject)"
DEFAULT_DATA = "sleepstudy"

EXIT_OK = 0
EXIT_FIT = 1          # the model cannot be fitted (numerical failure), or an internal error
EXIT_USAGE = 2        # bad arguments, formula or data
EXIT_INTERRUPT = 130  # Ctrl-C, as a shell reports SIGINT

TRACEBACK_ENV = "LMEPY_TRACEBACK"

EXIT_STATUS_HELP = f"""\
exit status:
  {EXIT_OK}    the model was fitted and its summary printed (warnings such as lme4's
       convergence warnings go to stderr, as R prints them)
  {EXIT_FIT}    the model cannot be fitted (numerical failure, e.g. PIRLS step-halvings
       failed), or an internal error of lmepy (please report it)
  {EXIT_USAGE}    usage error: bad arguments, a formula that cannot be parsed or evaluated,
       or data that cannot be read or used (missing/empty/binary file, ragged CSV,
       unknown column, non-numeric response, ...)
  {EXIT_INTERRUPT}  interrupted (Ctrl-C)

Errors are printed on stderr as 'lmepy fit: ...' in lme4's words where lme4 has
words for them. Set {TRACEBACK_ENV}=1 (or pass --traceback) to see the Python
traceback of an internal error."""

FIT_EPILOG = f"""\
examples:
  lmepy fit
      REML fit of {DEFAULT_FORMULA!r} on the bundled sleepstudy data
  lmepy fit 'Yield ~ 1 + (1 | Batch)' --data Dyestuff --ml
  lmepy fit 'y ~ x + (1 | g)' --data my.csv
  lmepy fit 'cbind(incidence, size - incidence) ~ period + (1 | herd)' \\
      --data cbpp --family binomial

A CSV file is read as R's read.csv() reads it: a header line, comma separators,
"NA" and empty numeric fields are missing values, a column with any text in it is
text (a factor in the model), names made syntactic as make.names() makes them.

{EXIT_STATUS_HELP}"""

FAMILIES = ("binomial", "poisson", "Gamma", "inverse.gaussian", "gaussian")


class CliError(Exception):
    """An error the CLI reports as one message with an exit status (no traceback)."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is raised (so ``main`` returns 2 instead of exiting) and
    printed as '<prog>: <message>' like every other error."""

    def error(self, message: str):  # type: ignore[override]
        raise CliError(f"{message}\nTry '{self.prog} --help' for more information.")


# --------------------------------------------------------------------------------------------
# Reading a CSV file as R's read.csv() does


_LOGICAL = {"T": True, "TRUE": True, "F": False, "FALSE": False}  # not "true": R keeps it text
_INTEGER = r"\s*[-+]?\d+"  # as R: " 1" is an integer, "1 " a double
_DOUBLE = (r"\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?i:inf|infinity|nan)"
           r"|0[xX][0-9a-fA-F]+)\s*")
_INT_MAX = 2**31 - 1
_R_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE",
               "FALSE", "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_",
               "NA_character_", "NA_complex_", "in"}


def make_names(names: Sequence[str]) -> list[str]:
    """R's ``make.names(names, unique = TRUE)``: what read.csv's ``check.names`` does to a
    header, so that a formula names the columns as it would in R."""
    out = []
    for name in names:
        s = "".join(ch if (ch.isalnum() or ch in "._") else "." for ch in name)
        if not s or not (s[0].isalpha() or (s[0] == "." and not s[1:2].isdigit())):
            s = "X" + s
        if s in _R_RESERVED:
            s += "."
        out.append(s)
    # make.unique(): the second "a" becomes "a.1", never a name already taken
    return make_unique(out)


_PLAIN_INT = frozenset("0123456789+-")
_PLAIN_NUM = frozenset("0123456789+-.eE")


def _type_convert(col: pd.Series) -> pd.Series:
    """R's ``type.convert(as.is = TRUE)`` of one column of strings: logical, integer, double,
    else character. "NA" is missing everywhere; an empty field is missing except in text."""
    texts = col.tolist()
    na = np.fromiter((t == "NA" for t in texts), dtype=bool, count=len(texts))
    missing = na | np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
    vals = [t for t, m in zip(texts, missing, strict=True) if not m]
    index, name = col.index, col.name
    if not vals:  # nothing but NA: R's logical NA
        return pd.Series(pd.NA, index=index, name=name, dtype="boolean")
    if all(v in _LOGICAL for v in vals):
        out = pd.Series([None if m else _LOGICAL[t] for t, m in zip(texts, missing, strict=True)],
                        index=index, name=name, dtype="boolean")
        return out if missing.any() else out.astype(bool)
    numbers = _numbers(vals)
    if numbers is not None:
        values, integer = numbers
        if integer:
            out = pd.Series(pd.NA, index=index, name=name, dtype="Int64")
            out[~missing] = values.astype(np.int64)
            return out if missing.any() else out.astype(np.int64)
        full = np.full(len(texts), np.nan)
        full[~missing] = values
        return pd.Series(full, index=index, name=name)
    out_obj = pd.Series(texts, index=index, name=name, dtype=object)
    out_obj[na] = np.nan
    return out_obj


def _numbers(vals: list[str]) -> tuple[np.ndarray, bool] | None:
    """The values as numbers and whether R would make them integer, or None for text. Plain
    digits go through numpy at C speed; the rest (whitespace, Inf, NaN, hex) through R's
    number syntax one by one."""
    chars = set().union(*vals)
    if chars <= _PLAIN_NUM:
        try:
            if chars <= _PLAIN_INT:
                ints = np.array(vals).astype(np.int64)
                if np.abs(ints).max() <= _INT_MAX:
                    return ints.astype(np.float64), True
            return np.array(vals).astype(np.float64), False
        except (ValueError, OverflowError):
            pass  # e.g. "1-2", "1.2.3", "-", or beyond int64: R's syntax decides below
    series = pd.Series(vals, dtype=object)
    if series.str.fullmatch(_INTEGER).all():
        nums = [int(v) for v in vals]
        if max(abs(v) for v in nums) <= _INT_MAX:
            return np.array(nums, dtype=np.float64), True
    if series.str.fullmatch(_DOUBLE).all():
        return np.array([_r_double(v) for v in vals]), False
    return None


def _r_double(text: str) -> float:
    t = text.strip()
    sign = -1.0 if t.startswith("-") else 1.0
    body = t.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        return sign * float(int(body, 16))
    return float(t)


def _check_separator(header: list[str], shown: str) -> None:
    """A header of one field holding ';' or tabs is a file of another dialect."""
    if len(header) == 1:
        for sep, what in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                raise CliError(f"'{shown}' has a single column named {header[0]!r}: it looks "
                               f"separated by {what}; lmepy reads comma-separated files, as "
                               "R's read.csv()")


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as R's ``read.csv()`` reads it (header, comma, '"' quotes, "NA" missing,
    blank lines skipped, text columns kept as text), with a :class:`CliError` for anything
    that is not a readable, rectangular, UTF-8 CSV file."""
    shown = str(path)
    try:
        st = path.stat()
    except OSError as err:
        raise CliError(f"cannot open file '{shown}': {err.strerror or err}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CliError(f"cannot open file '{shown}': it is a directory")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise CliError(f"cannot open file '{shown}': it is not a regular file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as err:
        raise CliError(f"cannot open file '{shown}': {err.strerror or err}") from None
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise CliError(f"'{shown}' is not a text CSV file: line {line} contains embedded nulls")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise CliError(f"'{shown}' is not UTF-8 text (byte 0x{raw[err.start]:02x} on line "
                       f"{line}); save it as UTF-8") from None
    rows: list[list[str]] = []
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank.lines.skip = TRUE
            if header is None:
                header, header_line = row, reader.line_num
                _check_separator(header, shown)
                continue
            if len(row) != len(header):
                raise CliError(
                    f"bad CSV file '{shown}': line {reader.line_num} has {len(row)} field"
                    f"{'s' if len(row) != 1 else ''}, the header (line {header_line}) has "
                    f"{len(header)}")
            rows.append(row)
    except csv.Error as err:
        raise CliError(f"bad CSV file '{shown}': line {reader.line_num}: {err}") from None
    if header is None:
        raise CliError(f"'{shown}' is empty: no lines available in input")
    if not rows:
        raise CliError(f"'{shown}' has a header but no data rows")
    names = make_names(header)
    columns = zip(*rows, strict=True)  # every row has the header's length (checked above)
    return pd.DataFrame({name: _type_convert(pd.Series(list(values), dtype=object))
                         for name, values in zip(names, columns, strict=True)})


def load_data(spec: str) -> tuple[pd.DataFrame, str]:
    """A bundled dataset by name, or a CSV file by path; with the name lme4's summary shows
    on its ``Data:`` line."""
    from lmepy import datasets
    from lmepy.errors import close_matches

    if spec in datasets.names():
        return datasets.load(spec), spec
    path = Path(spec)
    if not os.path.lexists(path):
        raise CliError(f"cannot open file '{spec}': No such file or directory (nor is it a "
                       f"bundled dataset: {', '.join(datasets.names())})."
                       + close_matches(spec, datasets.names()))
    return read_csv(path), path.stem or spec


# --------------------------------------------------------------------------------------------
# The command line


def _parser() -> _Parser:
    parser = _Parser(prog="lmepy", description="Fit mixed-effects models written in lme4's "
                     "formulas and print lme4's summary: 'lmepy fit --help'.",
                     epilog=EXIT_STATUS_HELP,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lmepy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    fit = sub.add_parser(
        "fit", help="fit a linear or generalized linear mixed model and print its summary",
        description="Fit a model as lme4's lmer() (or glmer() with --family) and print "
                    "lme4's summary.", epilog=FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("formula", nargs="?", default=None, metavar="FORMULA",
                     help="an lme4 formula; without FORMULA and options, "
                          f"{DEFAULT_FORMULA!r} on the bundled sleepstudy data")
    fit.add_argument("--data", default=None, metavar="NAME_OR_CSV",
                     help="a bundled dataset name (lmepy.datasets.names()) or a CSV file path")
    fit.add_argument("--ml", action="store_true",
                     help="lmer: maximum likelihood instead of REML (R's REML = FALSE)")
    fit.add_argument("--family", choices=FAMILIES, default=None,
                     help="fit a GLMM as glmer() with this family")
    fit.add_argument("--link", default=None,
                     help="the family's link (e.g. probit, cloglog, log); default: its "
                          "canonical link")
    fit.add_argument("--nAGQ", type=int, default=None, metavar="N",
                     help="glmer: points per axis of adaptive Gauss-Hermite quadrature "
                          "(1: Laplace, the default; 0: faster, less exact)")
    fit.add_argument("--traceback", action="store_true",
                     help=f"show the Python traceback of an internal error (or set "
                          f"{TRACEBACK_ENV}=1)")
    return parser


def _check_args(args: argparse.Namespace) -> None:
    """Combinations argparse cannot express, as usage errors."""
    def usage(message: str) -> None:
        raise CliError(f"{message}\nTry 'lmepy fit --help' for more information.")

    if args.formula is None and args.data is not None:
        usage("--data needs a FORMULA, e.g. lmepy fit 'y ~ x + (1 | g)' --data "
              f"{args.data} (the default formula is for the bundled sleepstudy only)")
    if args.formula is not None and args.data is None:
        usage("a formula needs --data NAME_OR_CSV")
    if args.family is None:
        if args.link is not None:
            usage("--link needs --family")
        if args.nAGQ is not None:
            usage("--nAGQ needs --family: adaptive Gauss-Hermite quadrature is for glmer; "
                  "an lmer fit is exact")
    elif args.ml:
        usage("--ml is for lmer: a glmer fit (--family) is always by maximum likelihood")
    elif args.formula is None:
        usage("--family needs a FORMULA and --data")


def _fit(args: argparse.Namespace) -> object:
    import lmepy

    formula = DEFAULT_FORMULA if args.formula is None else args.formula
    data, name = load_data(args.data or DEFAULT_DATA)
    if args.family is None:
        return lmepy.lmer(formula, data=data, REML=not args.ml, data_name=name)
    make = getattr(lmepy, args.family.replace(".", "_"))
    family = make() if args.link is None else make(link=args.link)
    nagq = 1 if args.nAGQ is None else args.nAGQ
    return lmepy.glmer(formula, data=data, family=family, nAGQ=nagq, data_name=name)


def _raised_by_lmepy(err: BaseException) -> bool:
    """True when a ``raise`` statement of lmepy's own code raised ``err`` (a deliberate message
    about the input); False when it came out of numpy, scipy, pandas or Python itself, also
    when a numpy method called from lmepy's code failed (``x.reshape(...)`` has no frame of
    its own: the last frame is lmepy's, but its line is no ``raise``)."""
    tb = err.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    filename = last.tb_frame.f_code.co_filename
    package = str(Path(__file__).resolve().parent)
    if not str(Path(filename).resolve()).startswith(package):
        return False
    return re.search(r"\braise\b", linecache.getline(filename, last.tb_lineno)) is not None


def classify(err: BaseException) -> tuple[int, str]:
    """The exit status and message for an exception out of a fit: 2 for the user's input,
    1 for a model that cannot be fitted, 1 with 'internal error' for a bug of lmepy."""
    from lmepy.errors import DataError, FormulaError, LmepyError

    text = str(err).strip() or type(err).__name__
    if isinstance(err, (DataError, FormulaError)):
        return EXIT_USAGE, text
    if isinstance(err, LmepyError):  # lme4's errors of a fit: PIRLS failures and the like
        return EXIT_FIT, text
    if isinstance(err, (np.linalg.LinAlgError, FloatingPointError)):
        return EXIT_FIT, f"the model cannot be fitted (numerical failure): {text}"
    if isinstance(err, MemoryError):
        return EXIT_FIT, text if _raised_by_lmepy(err) else "not enough memory to fit the model"
    if isinstance(err, (ValueError, TypeError, KeyError, NotImplementedError)) \
            and _raised_by_lmepy(err):
        if isinstance(err, KeyError) and err.args:
            text = str(err.args[0])
        return EXIT_USAGE, text
    return EXIT_FIT, (f"internal error: {type(err).__name__}: {text}\n"
                      f"  Please report this with the command and data that caused it; run "
                      f"again with --traceback (or {TRACEBACK_ENV}=1) to see where it "
                      f"happened.")


class _WarningPrinter:
    """Warnings (lme4's convergence and singular-fit messages among them) on stderr as
    'lmepy fit: warning: <lme4's text>', without the file and line of lmepy's code that
    raised them, each distinct text once (an optimizer can raise numpy's floating-point
    warnings hundreds of times)."""

    def __init__(self) -> None:
        self.seen: set[tuple[type, str]] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        key = (category, str(message))
        if key in self.seen:
            return
        self.seen.add(key)
        print(f"lmepy fit: warning: {message}", file=sys.stderr)


def _print(text: str) -> None:
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `lmepy fit | head`: the reader has what it wanted
        # no flush of a closed pipe at exit (which would print an exception)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _run(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("a COMMAND is required: 'lmepy fit' fits the README's sleepstudy model")
    _check_args(args)
    show_tb = args.traceback or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")
    with warnings.catch_warnings():
        warnings.showwarning = _WarningPrinter()  # the filters stay Python's (or the user's)
        # numpy's floating-point events while the optimizer tries extreme parameters
        # ("overflow encountered in exp"): lme4's C++ has none to show; what they mean for
        # the fit, lme4's convergence checks say
        warnings.filterwarnings("ignore", message=".* encountered in ", category=RuntimeWarning)
        try:
            model = _fit(args)
            text = str(model.summary())  # type: ignore[attr-defined]
        except CliError:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001 - every failure gets a clean message
            code, message = classify(err)
            if show_tb:
                traceback.print_exception(err)
            raise CliError(message, code) from None
    _print(text)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The ``lmepy`` command; returns the exit status (see ``lmepy --help``)."""
    prog = "lmepy fit" if (sys.argv[1:] if argv is None else argv)[:1] == ["fit"] else "lmepy"
    try:
        return _run(argv)
    except CliError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return err.code
    except SystemExit as err:  # --help, --version
        return err.code if isinstance(err.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPT


if __name__ == "__main__":
    sys.exit(main())
