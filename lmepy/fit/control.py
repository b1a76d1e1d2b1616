"""``control=``: the names of lme4's lmerControl/glmerControl and nlme's lmeControl/glsControl
(R's dots spelled as underscores), plus lmepy's own documented settings.

Each key is one of three kinds: implemented (its value is checked), an R setting lmepy does not
implement (accepted only at R's default value, which is what lmepy does anyway; any other value
raises NotImplementedError naming it), or unknown (ValueError naming it, listing the valid
ones). Nothing is ever ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lmepy.args import check_bool, check_int, check_number
from lmepy.errors import close_matches

Check = Callable[[Any, str], Any]


def _bool(v: Any, k: str) -> bool:
    return check_bool(v, k)


def _bool_or_none(v: Any, k: str) -> bool | None:
    return None if v is None else _bool(v, k)


def _nonneg(v: Any, k: str) -> float:
    return check_number(v, k, lo=0.0)


def _pos(v: Any, k: str) -> float:
    return check_number(v, k, lo=0.0, lo_open=True)


def _posint(v: Any, k: str) -> int:
    return check_int(v, k, lo=1)


def _threads(v: Any, k: str) -> Any:
    if v is None or (isinstance(v, str) and v in ("auto", "adaptive")):
        return v
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ValueError("blas_threads must be a positive integer, 'auto', 'adaptive' or None, "
                         f"not {v!r} (in {k})")
    return int(v)


def _start(v: Any, k: str) -> np.ndarray:
    """A start vector: numbers, all finite (R's nloptr: "x0 contains NA"); its length and bounds
    are checked by check_start once the model's parameters are known."""
    if isinstance(v, Mapping):
        raise TypeError(f"{k} must be a vector of numbers (lmepy's start is θ "
                        "alone), not a dict")
    try:
        x = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{k} must be a vector of numbers, not {v!r}") from None
    if x.ndim > 1:
        raise ValueError(f"{k} must be a vector, not an array of shape {x.shape}")
    x = np.atleast_1d(x).copy()
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{k} contains NA/NaN/Inf values (nloptr: x0 contains NA): "
                         f"{x.tolist()}")
    return x


_NLOPT_KEYS = {"xtol_abs": _nonneg, "ftol_abs": _nonneg, "xtol_rel": _nonneg,
               "ftol_rel": _nonneg, "maxeval": _posint, "maxfun": _posint}


def _optctrl(v: Any, k: str) -> dict:
    """nlopt's settings (lme4's ``optCtrl``); ``maxfun`` (minqa's name) means ``maxeval``."""
    if not isinstance(v, Mapping):
        raise TypeError(f"{k} must be a dict of optimizer settings, not {v!r}")
    out: dict[str, Any] = {}
    for key, val in v.items():
        if key == "algorithm":  # lme4's nloptwrap default; other nlopt algorithms are not here
            if val != "NLOPT_LN_BOBYQA":
                raise NotImplementedError(f"{k}['algorithm'] = {val!r} is not implemented in "
                                          "lmepy: it fits with 'NLOPT_LN_BOBYQA'")
            continue
        if key not in _NLOPT_KEYS:
            raise ValueError(f"unknown optimizer setting {k}[{key!r}]; valid: "
                             f"{', '.join(sorted(_NLOPT_KEYS))}."
                             f"{close_matches(str(key), _NLOPT_KEYS)}".rstrip("."))
        out["maxeval" if key == "maxfun" else key] = _NLOPT_KEYS[key](val, f"{k}[{key!r}]")
    return out


def _optimizer(accepted: tuple) -> Check:
    def check(v: Any, k: str) -> Any:
        val = tuple(v) if isinstance(v, list | tuple) else v
        if val in accepted or (isinstance(val, tuple) and len(val) == 1 and val[0] in accepted):
            return v
        names = {"nloptwrap", "bobyqa", "Nelder_Mead", "nlminbwrap", "optimx", "nmkbw"}
        items = val if isinstance(val, tuple) else (val,)
        if all(isinstance(i, str) and i in names for i in items):
            raise NotImplementedError(
                f"{k} = {v!r} is not implemented in lmepy: it fits with "
                f"{accepted[0]!r}")
        raise ValueError(f"{k} must be one of lme4's optimizers "
                         f"({', '.join(sorted(names))}), not {v!r}")
    return check


# R's settings with their defaults (lme4 1.1-31, nlme 3.1-162); dots are underscores
_MER_DEFAULTS: dict[str, Any] = {
    "optimizer": "nloptwrap", "restart_edge": True, "boundary_tol": 1e-5, "calc_derivs": True,
    "use_last_params": False, "sparseX": False, "standardize_X": False,
    "check_nobs_vs_rankZ": "ignore", "check_nobs_vs_nlev": "stop",
    "check_nlev_gtreq_5": "ignore", "check_nlev_gtr_1": "stop", "check_nobs_vs_nRE": "stop",
    "check_rankX": "message+drop.cols", "check_scaleX": "warning", "check_formula_LHS": "stop",
    "check_conv_grad": "warning", "check_conv_singular": "message", "check_conv_hess": "warning",
    "optCtrl": {}, "mod_type": "lmer"}
_GLMER_DEFAULTS: dict[str, Any] = {
    **_MER_DEFAULTS, "optimizer": ("bobyqa", "Nelder_Mead"), "restart_edge": False,
    "mod_type": "glmer", "tolPwrss": 1e-7, "compDev": True, "nAGQ0initStep": True,
    "check_response_not_const": "stop"}
_LME_DEFAULTS: dict[str, Any] = {
    "maxIter": 50, "msMaxIter": 50, "tolerance": 1e-6, "niterEM": 25, "msMaxEval": 200,
    "msTol": 1e-7, "msVerbose": False, "returnObject": False, "gradHess": True, "apVar": True,
    "_relStep": 6.055454e-06, "opt": "nlminb", "optimMethod": "BFGS", "minAbsParApVar": 0.05,
    "natural": True, "sigma": 0, "allow_n_lt_q": False}
_GLS_DEFAULTS: dict[str, Any] = {
    "maxIter": 50, "msMaxIter": 200, "tolerance": 1e-6, "msTol": 1e-7, "msVerbose": False,
    "singular_ok": False, "returnObject": False, "apVar": True, "minAbsParApVar": 0.05,
    "_relStep": 6.055454e-06, "opt": "nlminb", "optimMethod": "BFGS", "natural": True,
    "sigma": 0}

# what each fitter reads: R's names it implements and lmepy's own (documented in fit_lmm,
# fit_glmm, fit_lme and gls)
_IMPLEMENTED: dict[str, dict[str, Check]] = {
    "lmer": {"optimizer": _optimizer(("nloptwrap",)), "restart_edge": _bool,
             "boundary_tol": _nonneg, "calc_derivs": _bool_or_none, "optCtrl": _optctrl,
             "start": _start, "blas_threads": _threads},
    "glmer": {"optimizer": _optimizer(("bobyqa", ("bobyqa", "bobyqa"),
                                       ("bobyqa", "Nelder_Mead"))),
              "boundary_tol": _nonneg, "calc_derivs": _bool, "optCtrl": _optctrl,
              "tolPwrss": _pos, "blas_threads": _threads, "maxit": _posint, "exact": _bool,
              "theta0": _start, "xtol_abs": _nonneg, "ftol_abs": _nonneg, "whiten": _bool,
              "check_conv": _bool, "theta_step": _pos, "delta_step": _pos,
              "xtol_abs2": _nonneg, "ftol_abs2": _nonneg, "warm_start": _bool, "tol2": _pos},
    "lme": {"maxIter": _posint, "tolerance": _pos, "start": _start, "optCtrl": _optctrl,
            "at": _start, "polish": _bool, "restart": _bool, "allow_n_lt_q": _bool_or_none},
    "gls": {"maxIter": _posint, "tolerance": _pos, "optCtrl": _optctrl},
}
# lmer(correlation=) is fitted by lme's machinery: lmer's names, lme's implementation
_IMPLEMENTED["lmer_cor"] = {"optCtrl": _optctrl}
_R_DEFAULTS = {"lmer": _MER_DEFAULTS, "glmer": _GLMER_DEFAULTS, "lme": _LME_DEFAULTS,
               "gls": _GLS_DEFAULTS, "lmer_cor": _MER_DEFAULTS}
_R_FUNCTION = {"lmer": "lme4::lmerControl", "glmer": "lme4::glmerControl",
               "lme": "nlme::lmeControl", "gls": "nlme::glsControl",
               "lmer_cor": "lme4::lmerControl"}


def valid_keys(kind: str) -> list[str]:
    """Every name ``control=`` accepts for a fitter (``kind``: lmer, glmer, lme, gls)."""
    return sorted(set(_R_DEFAULTS[kind]) | set(_IMPLEMENTED[kind]), key=str.lower)


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(default, tuple | list):
        return isinstance(value, tuple | list) and tuple(value) == tuple(default)
    if isinstance(default, dict):
        return isinstance(value, Mapping) and dict(value) == default
    if isinstance(default, bool):
        return isinstance(value, bool | np.bool_) and bool(value) == default
    if isinstance(default, str):
        return value == default
    return (not isinstance(value, bool) and isinstance(value, int | float | np.number)
            and abs(float(value) - default) <= 1e-6 * abs(default))


def check_control(control: Any, kind: str) -> dict[str, Any]:
    """The checked ``control`` for fitter ``kind`` ("lmer", "glmer", "lme", "gls",
    "lmer_cor"): a new dict holding the implemented settings (values normalized), never the
    caller's."""
    if control is None:
        return {}
    if not isinstance(control, Mapping):
        raise TypeError(f"'control' must be a dict of settings ({_R_FUNCTION[kind]}'s names), "
                        f"not {type(control).__name__}")
    impl, defaults = _IMPLEMENTED[kind], _R_DEFAULTS[kind]
    out: dict[str, Any] = {}
    for key, value in control.items():
        if not isinstance(key, str):
            raise TypeError(f"control keys must be strings, not {key!r}")
        if key in impl:
            out[key] = impl[key](value, f"control[{key!r}]")
        elif key in defaults:
            if not _is_default(value, defaults[key]):
                raise NotImplementedError(
                    f"control['{key}'] ({_R_FUNCTION[kind]}'s "
                    f"{key.replace('_', '.') if not key[0] == '_' else '.' + key[1:]}) is not "
                    f"implemented in lmepy; only R's default {defaults[key]!r} is accepted")
        else:
            valid = valid_keys(kind)
            hint = close_matches(key.replace(".", "_"), valid)
            if key.replace(".", "_") in valid:
                hint = f" Python spells R's {key!r} as {key.replace('.', '_')!r}."
            raise ValueError(f"unknown control setting {key!r} for {_R_FUNCTION[kind]}.{hint}"
                             f"\nValid settings: {', '.join(valid)}")
    return out


def check_start(start: np.ndarray, lower: np.ndarray, what: str = "control['start']",
                objective: Callable[[np.ndarray], float] | None = None) -> np.ndarray:
    """A start vector against the model's parameters: its length and lower bounds (lme4:
    "incorrect number of theta components", bounds as nloptr's "at least one element in x0 <
    lb") and, given the ``objective``, a finite value there (nloptr: "objective in x0 returns
    NA")."""
    x = np.asarray(start, dtype=float)
    lower = np.asarray(lower, dtype=float)
    if x.shape != lower.shape:
        raise ValueError(f"{what} has {x.size} values, the model has {lower.size} parameters "
                         "(lme4: incorrect number of theta components)")
    bad = np.flatnonzero(x < lower)
    if len(bad):
        raise ValueError(f"{what}: value {bad[0] + 1} ({x[bad[0]]:g}) is below its lower bound "
                         f"{lower[bad[0]]:g} (nloptr: at least one element in x0 < lb)")
    if objective is not None:
        with np.errstate(all="ignore"):
            try:
                val = float(objective(x.copy()))
            except (ArithmeticError, np.linalg.LinAlgError):
                val = math.nan
        if not math.isfinite(val):
            raise ValueError(f"{what}: the objective is not finite at {x.tolist()} (nloptr: "
                             "objective in x0 returns NA); start nearer the data's scale")
    return x
