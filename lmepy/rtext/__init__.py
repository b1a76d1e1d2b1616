"""R's text: how R formats numbers and prints vectors, matrices and coefficient tables.

The bottom layer that every printed result uses (lme4's and nlme's print methods, the
inference tables, gls and lme summaries); it imports nothing else from lmepy, so results and
inference can both stand on it. ``from lmepy import rtext as rf`` gives the whole toolkit:
:mod:`~lmepy.rtext.numbers` (``format``, ``round``, ``signif``, ``formatC``, ``format.pval``,
``zapsmall``, ``quantile``), :mod:`~lmepy.rtext.strings` (``format`` of strings,
``abbreviate``) and :mod:`~lmepy.rtext.printing` (``print.default``, ``cat(fill = TRUE)``,
``printCoefmat``).
"""

from lmepy.rtext.numbers import (
    DBL_EPS,
    R_DIGITS,
    R_WIDTH,
    encode_real,
    format1,
    format_info,
    format_num,
    format_pval,
    formatC,
    quantile7,
    r_round,
    r_signif,
    zapsmall,
)
from lmepy.rtext.printing import (
    cat_fill,
    print_coefmat,
    print_matrix,
    print_named,
    print_named_num,
    print_num_matrix,
    print_vector,
)
from lmepy.rtext.strings import abbreviate, format_str, make_unique

__all__ = [
    "DBL_EPS",
    "R_DIGITS",
    "R_WIDTH",
    "abbreviate",
    "cat_fill",
    "encode_real",
    "format1",
    "format_info",
    "format_num",
    "format_pval",
    "format_str",
    "formatC",
    "make_unique",
    "print_coefmat",
    "print_matrix",
    "print_named",
    "print_named_num",
    "print_num_matrix",
    "print_vector",
    "quantile7",
    "r_round",
    "r_signif",
    "zapsmall",
]
