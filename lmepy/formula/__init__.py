"""formula stage: formula text -> expression tree -> R's terms() (+ lme4's findbars/nobars),
and nlme's small languages (pdMat, corStruct, varFunc, random=)."""

from lmepy.formula import ir  # the IR dataclasses: lmepy.formula.ir.Formula, .Term, ...
from lmepy.formula.nlme import (
    CorSpec,
    PdSpec,
    RandomLevel,
    VarSpec,
    parse_cor,
    parse_one_sided,
    parse_pd,
    parse_random,
    parse_var,
    split_form,
)
from lmepy.formula.parser import (
    FUNCTIONS,
    MODEL_FUNCTIONS,
    format_number,
    parse_expr,
    parse_formula,
)
from lmepy.formula.terms import (
    expand_double_verts,
    expand_slash,
    findbars,
    fixed_terms,
    model_terms,
    model_variables,
    nobars,
)

__all__ = [
    "FUNCTIONS", "MODEL_FUNCTIONS", "ir",
    "expand_double_verts", "expand_slash", "findbars", "fixed_terms", "format_number",
    "model_terms", "model_variables", "nobars",
    "parse_expr", "parse_formula", "CorSpec", "PdSpec", "RandomLevel", "VarSpec", "parse_cor",
    "parse_one_sided", "parse_pd", "parse_random", "parse_var", "split_form",
]
