"""nlme's variance functions: varIdent, varPower, varExp, varConstPower, varFixed.

A variance function gives each row a standard-deviation multiplier; nlme's `varWeights()` are
their inverses, and `logLik(varFunc)` is sum(log(weights)). Parameters live on nlme's
unconstrained scale, reported on both scales as `coef(vf, unconstrained = TRUE/FALSE)`.
Strata (`form = ~ x | g`) are labelled and ordered as nlme does: by first appearance in the
data, the first stratum being varIdent's reference unless the given values name it.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from lmepy.covariance._spec import Form, column, numeric_column, parse_form
from lmepy.covariance.base import Structure
from lmepy.errors import DataError


def _strata(data: pd.DataFrame, form: Form) -> tuple[np.ndarray, list[str]]:
    """Stratum codes per row and labels in order of first appearance (nested g1/g2 as
    "a*b" labels, as nlme's interaction)."""
    if not form.groups:
        return np.zeros(len(data), dtype=np.int64), []
    cols = [_labels(column(data, g, "variance stratum")) for g in form.groups]
    lab = cols[0] if len(cols) == 1 else np.array(["*".join(t) for t in zip(*cols, strict=True)])
    # labels are strings (never missing): factorize numbers them in order of first appearance
    codes, uniq = pd.factorize(lab)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniq]


def _labels(col: pd.Series) -> np.ndarray:
    """R's as.character() of each value (0.1 + 0.2 is "0.3"), as an object array. A
    Categorical is labelled per level and the labels taken by code (a missing value, code -1,
    gets the label of NaN, the last entry): the same labels as row by row."""
    from lmepy.design.values import level_label

    if isinstance(col.dtype, pd.CategoricalDtype):
        cat = col.array
        lut = np.array([level_label(c) for c in np.asarray(cat.categories, dtype=object)]
                       + [level_label(np.nan)], dtype=object)
        return lut[np.asarray(cat.codes, dtype=np.int64)]
    return np.array([level_label(v) for v in col], dtype=object)


def _values(value: object) -> tuple[list[float], dict[str, float]]:
    """Initial values as (plain list, named dict)."""
    if value is None:
        return [], {}
    if isinstance(value, dict):
        return [], {str(k): float(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return [], {str(k): float(v) for k, v in value.items()}
    return [float(v) for v in np.ravel(np.asarray(value, dtype=float))], {}


class VarFunc(Structure):
    """Base class."""

    nlme_class = "varFunc"
    default_form = "~fitted(.)"

    def __init__(self, value: object = None, form: object = None, fixed: object = None):
        self.form: Form = parse_form(form, self.default_form)
        self.value = value
        self.fixed = fixed
        self._u: np.ndarray | None = None
        self.bound = False

    @property
    def needs_fitted(self) -> bool:
        """True when the covariate is fitted(.): gls/lme alternate fits and updates."""
        return self.form.covariate == "fitted(.)"

    def bind(self, data: pd.DataFrame, fitted: np.ndarray | None = None) -> VarFunc:
        """A copy attached to `data`; `fitted` supplies fitted(.) (absent: weights are 1, as in
        nlme before the first fit)."""
        new = copy.copy(self)
        new._setup(data, fitted)
        if fitted is not None or not new.needs_fitted:
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                w = new.weights()
            bad = ~(np.isfinite(w) & (w > 0))
            if bad.any():  # nlme: "NA/NaN/Inf in foreign function call" or a singular fit
                raise DataError(
                    f"{new.nlme_class}(form = {new.form}) gives {int(bad.sum())} row"
                    f"{'s' if bad.sum() > 1 else ''} an infinite or zero weight at its initial "
                    "values (a covariate of 0 or an extreme value): the model cannot be fitted; "
                    "drop those rows or use another variance function")
        return new

    def _setup(self, data: pd.DataFrame, fitted: np.ndarray | None) -> None:
        self.n = len(data)
        self.strata, self.strata_labels = _strata(data, self.form)
        self.covariate: np.ndarray | None = None
        if self.form.covariate is not None:
            if self.needs_fitted:
                self.covariate = None if fitted is None else np.asarray(fitted, dtype=float)
            else:
                self.covariate = numeric_column(data, self.form.covariate, "variance covariate",
                                                "variance covariate")
        self._u = self._initial_u()
        self._free = self._free_mask()
        self._nfree = int(np.sum(self._free))
        self._wcache: tuple[bytes, np.ndarray] | None = None
        self._lwcache: tuple[np.ndarray, float] | None = None
        names = self.coef_names()
        for k, v in self._fixed_values().items():
            self._u[names.index(k)] = self._to_unconstrained(k, v)
        self.bound = True

    def _to_unconstrained(self, name: str, value: float) -> float:
        """A constrained parameter value on the unconstrained scale."""
        return value

    def _fixed_values(self) -> dict[str, float]:
        """`fixed` as {parameter name: constrained value}; a bare number fixes every
        parameter of a one-parameter-per-stratum function."""
        fx = self.fixed
        if fx is None or fx is False:
            return {}
        if isinstance(fx, dict):
            return {str(k): float(v) for k, v in fx.items()}
        if isinstance(fx, pd.Series):
            return {str(k): float(v) for k, v in fx.items()}
        vals = [float(v) for v in np.ravel(np.asarray(fx, dtype=float))]
        names = self.coef_names()
        if len(vals) == 1:
            return dict.fromkeys(names, vals[0])
        if len(vals) != len(names):
            raise ValueError(f"fixed values for {self.nlme_class} must have length 1 or "
                             f"{len(names)}")
        return dict(zip(names, vals, strict=True))

    def _free_mask(self) -> np.ndarray:
        fixed = self._fixed_values()
        names = self.coef_names()
        unknown = [k for k in fixed if k not in names]
        if unknown:
            raise DataError(f"fixed values name unknown parameters of {self.nlme_class}: "
                            f"{', '.join(unknown)}")
        return np.array([k not in fixed for k in names], dtype=bool)

    def update_fitted(self, fitted: np.ndarray) -> None:
        """New fitted values for a fitted(.) covariate."""
        if self.needs_fitted:
            self.covariate = np.asarray(fitted, dtype=float)
            self._wcache = None

    def _estimated(self) -> np.ndarray:
        return self._free

    def initial_step(self) -> np.ndarray:
        """An optimizer's first steps on the unconstrained parameters: small enough that
        exp(step * covariate) or |v|^step stays near 1 (varExp over times up to 64 would
        otherwise leap to weights of e^±64); 0.25 where the covariate plays no part."""
        cov = self.covariate
        scale = 1.0
        if cov is not None and len(cov):
            a = np.abs(np.asarray(cov, dtype=float))
            if self.nlme_class == "varExp":
                scale = max(1.0, float(a.max()))
            elif self.nlme_class in ("varPower", "varConstPower"):
                la = np.abs(np.log(a[a > 0])) if np.any(a > 0) else np.zeros(1)
                scale = max(1.0, float(la.max()))
        st = np.full(self.n_params, 0.25 / scale)
        if self.nlme_class == "varConstPower" and len(st):
            st[0] = 0.25
        return st

    def constrained(self) -> np.ndarray:
        """All parameters (fixed ones included) on nlme's constrained scale."""
        assert self._u is not None
        return self._u.copy()

    def coef(self, unconstrained: bool = False) -> dict[str, float] | np.ndarray:
        """nlme's `coef(vf, unconstrained = ...)`."""
        self._need_bound()
        if unconstrained:
            return self.get_unconstrained()
        return {k: float(v) for k, v, f in zip(self.coef_names(), self.constrained(),
                                                self._free, strict=True) if f}

    def coef_all(self) -> dict[str, float]:
        """All parameters, fixed ones included (nlme's allCoef = TRUE)."""
        self._need_bound()
        return dict(zip(self.coef_names(), map(float, self.constrained()), strict=True))

    def sd_factor(self) -> np.ndarray:
        """Standard-deviation multiplier per row (1 / weights)."""
        raise NotImplementedError

    def weights(self) -> np.ndarray:
        """nlme's `varWeights()` (read-only: kept for the current parameters and covariate,
        as the fit asks for them several times per evaluation)."""
        self._need_bound()
        assert self._u is not None
        key = self._u.tobytes()
        cached = getattr(self, "_wcache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        w = 1.0 / self.sd_factor()
        w.flags.writeable = False
        self._wcache = (key, w)
        return w

    def log_weights_sum(self) -> float:
        """sum(log(weights)) at the current parameters, kept with the weights it was taken
        from (an optimizer needs it twice per evaluation)."""
        w = self.weights()
        cached = getattr(self, "_lwcache", None)
        if cached is not None and cached[0] is w:
            return cached[1]
        s = float(np.sum(np.log(w)))
        self._lwcache = (w, s)
        return s

    def logLik(self) -> float:
        """nlme's `logLik(varFunc)`: sum(log(weights))."""
        return self.log_weights_sum()

    def __repr__(self) -> str:
        vals = ""
        if self.bound and self.n_params:
            vals = ", ".join(f"{k} = {v:.7g}" for k, v in self.coef().items())  # type: ignore[union-attr]
        return f"{self.nlme_class}({vals}{', ' if vals else ''}form = {self.form})"


class varIdent(VarFunc):
    """A standard-deviation ratio per stratum against a reference stratum (ratio 1)."""

    nlme_class = "varIdent"
    default_form = "~1"

    def _setup(self, data: pd.DataFrame, fitted: np.ndarray | None) -> None:
        if not self.form.groups:
            raise DataError("varIdent needs a grouping: form = ~ 1 | g")
        super()._setup(data, fitted)

    def _initial_u(self) -> np.ndarray:
        plain, named = _values(self.value)
        labels = self.strata_labels
        if plain:
            if len(plain) != len(labels) - 1:
                raise ValueError("initial values for \"varIdent\" should be of length "
                                 f"{len(labels) - 1}")
            named = dict(zip(labels[1:], plain, strict=True))
        fixed = {} if self.fixed in (None, False) else {
            str(k): float(v) for k, v in dict(self.fixed).items()}  # type: ignore[call-overload]
        unknown = [k for k in list(named) + list(fixed) if k not in labels]
        if unknown:
            raise DataError(f"nonexistent groups names for initial values in varIdent: "
                            f"{', '.join(unknown)}")
        free = [lab for lab in labels if lab not in named and lab not in fixed]
        if not free:
            raise ValueError("initial values for \"varIdent\" must leave one stratum as reference")
        self.reference = free[0]
        self._names = list(named) + list(fixed) + free[1:]
        vals = [fixed.get(k, named.get(k, 1.0)) for k in self._names]
        if any(v <= 0 for v in vals):
            raise ValueError("initial values for \"varIdent\" must be positive")
        self._index = np.array([-1 if lab == self.reference else self._names.index(lab)
                                for lab in labels], dtype=np.int64)
        return np.log(np.array(vals, dtype=float))

    def coef_names(self) -> list[str]:
        return list(self._names)

    def _to_unconstrained(self, name: str, value: float) -> float:
        if value <= 0:
            raise ValueError("fixed values for \"varIdent\" must be positive")
        return math.log(value)

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        return np.exp(self._u)

    def sd_factor(self) -> np.ndarray:
        assert self._u is not None
        ratio = np.concatenate([np.exp(self._u), [1.0]])
        return ratio[self._index[self.strata]]

    def ratios(self) -> dict[str, float]:
        """nlme's allCoef: the reference stratum's 1, then every ratio (fixed ones too) in
        coefficient order; what summary() prints."""
        return {self.reference: 1.0, **self.coef_all()}


class _Stratified(VarFunc):
    """One parameter per stratum (or a single one when the form has no strata)."""

    pname = "power"
    default_value = 0.0

    def _initial_u(self) -> np.ndarray:
        plain, named = _values(self.value)
        labels = self.strata_labels
        if not labels:
            self._names = [self.pname]
            v = plain[0] if plain else (next(iter(named.values())) if named
                                        else self.default_value)
            return np.array([v])
        self._names = list(labels)
        if named:
            missing = [lab for lab in labels if lab not in named]
            if missing:
                raise DataError(f"initial values missing for strata: {', '.join(missing)}")
            return np.array([named[lab] for lab in labels])
        if plain and len(plain) not in (1, len(labels)):
            raise ValueError(f"initial values must have length 1 or {len(labels)}")
        v = plain if len(plain) == len(labels) else [plain[0] if plain else self.default_value] \
            * len(labels)
        return np.array(v, dtype=float)

    def coef_names(self) -> list[str]:
        return list(self._names)

    def _per_row(self) -> np.ndarray:
        assert self._u is not None
        return self._u[self.strata] if self.strata_labels else np.full(self.n, self._u[0])

    def _cov(self) -> np.ndarray | None:
        return self.covariate


class varPower(_Stratified):
    """sd multiplier |v|^power, v the covariate (fitted values by default)."""

    nlme_class = "varPower"
    pname = "power"

    def _setup(self, data: pd.DataFrame, fitted: np.ndarray | None) -> None:
        super()._setup(data, fitted)
        if self.covariate is not None and not self.needs_fitted and np.any(self.covariate == 0):
            raise DataError(f"variance covariate '{self.form.covariate}' has zero values: "
                            "varPower would give them zero (or infinite) variance; use "
                            "varConstPower or varExp")

    def sd_factor(self) -> np.ndarray:
        v = self._cov()
        if v is None:
            return np.ones(self.n)
        return np.abs(v) ** self._per_row()


class varExp(_Stratified):
    """sd multiplier exp(expon * v)."""

    nlme_class = "varExp"
    pname = "expon"

    def sd_factor(self) -> np.ndarray:
        v = self._cov()
        if v is None:
            return np.ones(self.n)
        return np.exp(self._per_row() * v)


class varConstPower(VarFunc):
    """sd multiplier const + |v|^power; const > 0 is estimated on the log scale."""

    nlme_class = "varConstPower"

    def __init__(self, const: float = 1.0, power: float = 0.0, form: object = None,
                 fixed: object = None):
        super().__init__((const, power), form, fixed)

    def _initial_u(self) -> np.ndarray:
        if self.form.groups:
            raise NotImplementedError("varConstPower with strata is not supported yet")
        const, power = self.value  # type: ignore[misc]
        if const <= 0:
            raise ValueError("initial value of const in varConstPower must be positive")
        return np.array([math.log(const), float(power)])

    def coef_names(self) -> list[str]:
        return ["const", "power"]

    def _to_unconstrained(self, name: str, value: float) -> float:
        if name == "const":
            if value <= 0:
                raise ValueError("const in varConstPower must be positive")
            return math.log(value)
        return value

    def constrained(self) -> np.ndarray:
        assert self._u is not None
        return np.array([math.exp(self._u[0]), self._u[1]])

    def sd_factor(self) -> np.ndarray:
        v = self.covariate
        if v is None:
            return np.ones(self.n)
        c, p = self.constrained()
        return c + np.abs(v) ** p


class varFixed(VarFunc):
    """Known variance proportional to a covariate: sd multiplier sqrt(|v|); no parameters."""

    nlme_class = "varFixed"

    def __init__(self, value: object = "~1", form: object = None, fixed: object = None):
        super().__init__(None, value if form is None else form)
        if self.form.covariate is None or self.needs_fitted:
            raise DataError("varFixed needs a covariate: varFixed(~ x)")

    def _initial_u(self) -> np.ndarray:
        return np.zeros(0)

    def coef_names(self) -> list[str]:
        return []

    def sd_factor(self) -> np.ndarray:
        assert self.covariate is not None
        return np.sqrt(np.abs(self.covariate))
