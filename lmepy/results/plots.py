"""Diagnostic plots of lmer/glmer fits as lme4 draws them, and the data behind each plot.

* ``dotplot_ranef(fit)``: lme4's ``dotplot(ranef(fit, condVar = TRUE))`` caterpillar: one
  panel per term column, levels sorted by the first column's conditional mode, segments
  ±1.96 √postVar (lme4's literal 1.96);
* ``residual_plot(fit)``: lme4's ``plot(fit)``, Pearson residuals against fitted values with a
  reference line at zero;
* ``qqnorm_plot(fit)``: R's ``qqnorm(residuals(fit))`` (with ``qqline``);
* ``profile(fit)``: lme4's ``as.data.frame(profile(fit))`` (``.zeta``, every parameter, ``.par``,
  ``.focal``) of an lmer fit or a glmer fit without a scale parameter, and
  ``profile_plot(prof)``: lme4's ``xyplot(profile(fit))``, ζ against each parameter.

Every plot has a ``*_data`` twin that returns the plotted numbers as a DataFrame, so that a
user can redraw them with any library and the tests can check them against R. The figures are
``matplotlib.figure.Figure`` objects built without pyplot: no display and no global state is
needed (they render with the Agg canvas), and ``file=`` writes them (PNG, PDF, SVG by suffix).
matplotlib is an optional dependency (the ``plot`` extra): it is imported when a figure is
drawn, not when lmepy is imported.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["ranef_dotplot_data", "dotplot_ranef", "residual_plot_data", "residual_plot",
           "ppoints", "qqnorm", "qqnorm_plot", "profile", "profile_points", "profile_plot"]

#: lme4's dotplot.ranef.mer draws conditional modes ± 1.96 conditional standard deviations
CI_MULT = 1.96


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - matplotlib is in the plot/test extras
        raise ImportError("lmepy's plots need matplotlib: pip install 'lmepy[plot]'") from e
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Any, file: str | Path | None, dpi: int = 100) -> None:
    if file is not None:
        fig.savefig(str(file), dpi=dpi)


# ---------------------------------------------------------------------------------------------
# caterpillar plot of the conditional modes


def _r_level_order(values: np.ndarray, labels: Sequence[str]) -> list[int]:
    """Positions of the levels in R's ``reorder(factor(labels), values)`` order: by value,
    ties in the order of the sorted labels (factor()'s default levels)."""
    alpha = {lab: i for i, lab in enumerate(sorted(labels))}
    return sorted(range(len(labels)), key=lambda i: (values[i], alpha[labels[i]]))


def ranef_dotplot_data(fit: Any) -> dict[str, pd.DataFrame]:
    """Per grouping factor the caterpillar's numbers as lme4's internal ``asDf0``: one row per
    (term column, level) in R's ``stack()`` order, columns ``values`` (conditional mode),
    ``ind`` (the term column), ``.nn`` (the level: a Categorical whose categories are the
    plotting order, by the first column's modes), ``se`` (√postVar), and the interval ends
    ``lower``/``upper`` = values ∓ 1.96 se."""
    out: dict[str, pd.DataFrame] = {}
    for g, re in fit.ranef(condVar=True).items():
        labels = [str(i) for i in re.index]
        cols = [str(c) for c in re.columns]
        vals = re.to_numpy(dtype=float)
        order = _r_level_order(vals[:, 0], labels)
        pv = re.attrs.get("postVar", re.attrs.get("condVar"))
        if pv is None:  # no conditional variances: dots only, as lme4 without postVar
            se = np.full(vals.size, np.nan)
        else:
            se_cols: list[np.ndarray] = []
            for p in (pv if isinstance(pv, list) else [pv]):
                p = np.asarray(p, dtype=float)
                se_cols.extend(np.sqrt(p[:, j, j]) for j in range(p.shape[1]))
            se = np.concatenate(se_cols)
        values = vals.T.reshape(-1)
        nlev = len(labels)
        frame = pd.DataFrame({
            "values": values,
            "ind": pd.Categorical(np.repeat(cols, nlev), categories=cols),
            ".nn": pd.Categorical(labels * len(cols), categories=[labels[i] for i in order]),
            "se": se,
        })
        frame["lower"] = frame["values"] - CI_MULT * frame["se"]
        frame["upper"] = frame["values"] + CI_MULT * frame["se"]
        out[str(g)] = frame
    return out


def dotplot_ranef(fit: Any, file: str | Path | None = None, panel_width: float = 3.2,
                  row_height: float = 0.22) -> dict[str, Any]:
    """lme4's ``dotplot(ranef(fit, condVar = TRUE))``: per grouping factor a figure with one
    panel per term column (shared level axis, the first column's modes increasing upwards),
    dots at the conditional modes and segments ±1.96 √postVar. With ``file`` the figures are
    written: to ``file`` itself for one factor, else to ``<stem>_<factor><suffix>``."""
    data = ranef_dotplot_data(fit)
    figs: dict[str, Any] = {}
    for g, d in data.items():
        cols = list(d["ind"].cat.categories)
        levels = list(d[".nn"].cat.categories)
        fig = _figure(max(4.0, panel_width * len(cols)), max(2.5, 1.0 + row_height * len(levels)))
        axes = fig.subplots(1, len(cols), sharey=True, squeeze=False)[0]
        for ax, c in zip(axes, cols, strict=True):
            sub = d[d["ind"] == c]
            y = sub[".nn"].cat.codes.to_numpy()
            ax.hlines(np.arange(len(levels)), 0, 1, transform=ax.get_yaxis_transform(),
                      colors="0.85", linewidths=0.6, zorder=0)
            ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
            ax.hlines(y, sub["lower"].to_numpy(), sub["upper"].to_numpy(), colors="black",
                      linewidths=1.0, label="interval")
            ax.scatter(sub["values"].to_numpy(), y, s=14, color="#0080ff", zorder=3,
                       label="mode")
            ax.set_title(c, fontsize=10)
        axes[0].set_yticks(np.arange(len(levels)), levels, fontsize=7)
        axes[0].set_ylim(-0.7, len(levels) - 0.3)
        fig.suptitle(g)
        figs[g] = fig
    if file is not None:
        p = Path(file)
        for g, fig in figs.items():
            target = p if len(figs) == 1 else p.with_name(f"{p.stem}_{_safe(g)}{p.suffix}")
            _save(fig, target)
    return figs


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


# ---------------------------------------------------------------------------------------------
# residuals against fitted values


def residual_plot_data(fit: Any) -> pd.DataFrame:
    """``plot(fit)``'s numbers: ``fitted`` (fitted(fit)) and ``resid`` (resid(fit, type =
    "pearson")), indexed as the model frame."""
    f = fit.fitted()
    r = fit.residuals(type="pearson")
    return pd.DataFrame({"fitted": f.to_numpy(dtype=float), "resid": r.to_numpy(dtype=float)},
                        index=f.index)


def residual_plot(fit: Any, file: str | Path | None = None) -> Any:
    """lme4's ``plot(fit)``: Pearson residuals against fitted values, a line at zero."""
    d = residual_plot_data(fit)
    fig = _figure(5.5, 4.5)
    ax = fig.subplots()
    ax.scatter(d["fitted"].to_numpy(), d["resid"].to_numpy(), s=14, facecolors="none",
               edgecolors="#0080ff")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xlabel("fitted(.)")
    ax.set_ylabel('resid(., type = "pearson")')
    _save(fig, file)
    return fig


# ---------------------------------------------------------------------------------------------
# normal quantile-quantile plot


def ppoints(n: int) -> np.ndarray:
    """R's ``ppoints(n)``: (i - a) / (n + 1 - 2a), a = 3/8 for n <= 10, else 1/2."""
    n = int(n)
    if n <= 0:
        return np.zeros(0)
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def qqnorm(y: Any) -> pd.DataFrame:
    """R's ``qqnorm(y, plot.it = FALSE)``: ``x`` the theoretical quantiles qnorm(ppoints(n))
    placed by the ranks of y (ties in order of appearance), ``y`` the sample; NaN values keep
    their place and get NaN."""
    index = y.index if isinstance(y, pd.Series) else None
    v = np.asarray(y, dtype=float)
    ok = ~np.isnan(v)
    x = np.full(v.shape, np.nan)
    vv = v[ok]
    ranks = np.empty(len(vv), dtype=np.int64)
    ranks[np.argsort(vv, kind="stable")] = np.arange(len(vv))
    x[ok] = stats.norm.ppf(ppoints(len(vv)))[ranks]
    return pd.DataFrame({"x": x, "y": v}, index=index)


def _qqline(y: np.ndarray) -> tuple[float, float]:
    """R's ``qqline``: the line through the first and third quartiles (type 7)."""
    y = y[~np.isnan(y)]
    q = np.quantile(y, [0.25, 0.75])
    x = stats.norm.ppf([0.25, 0.75])
    slope = (q[1] - q[0]) / (x[1] - x[0])
    return float(q[0] - slope * x[0]), float(slope)


def qqnorm_plot(fit: Any, type: str | None = None, file: str | Path | None = None) -> Any:
    """R's ``qqnorm(residuals(fit)); qqline(residuals(fit))`` (``type``: the residuals' type,
    default as ``residuals(fit)``); `fit` may also be a vector of values."""
    if hasattr(fit, "residuals"):
        y = fit.residuals() if type is None else fit.residuals(type=type)
    else:
        y = fit
    d = qqnorm(y)
    fig = _figure(5.0, 5.0)
    ax = fig.subplots()
    ax.scatter(d["x"].to_numpy(), d["y"].to_numpy(), s=14, facecolors="none",
               edgecolors="black")
    a, b = _qqline(d["y"].to_numpy())
    ax.axline((0.0, a), slope=b, color="0.4", linewidth=0.8)
    ax.set_title("Normal Q-Q Plot")
    ax.set_xlabel("Theoretical Quantiles")
    ax.set_ylabel("Sample Quantiles")
    _save(fig, file)
    return fig


# ---------------------------------------------------------------------------------------------
# likelihood profile


class _Profile:
    """ζ and every parameter at a point of one parameter's profile (lme4's ``profile``): the
    ML fit (REML fits refitted by ML), variance parameters on the sd/cor scale with the
    others re-optimized and β profiled; fixed effects moved into the offset, θ re-optimized
    and σ, the other β profiled."""

    def __init__(self, fit: Any):
        from lmepy.inference._common import as_solution, xnames
        from lmepy.inference.confint import _Profiler, sdcor_names

        try:
            sol = as_solution(fit)
        except TypeError as e:
            raise TypeError("profile() is available for lmer fits (linear mixed models) "
                            "only") from e
        self.pr = _Profiler(sol)
        self.names = sdcor_names(sol) + xnames(sol)
        self.nv = len(self.pr.opt_v)
        self.p = len(self.pr.beta)
        self.opt = np.concatenate([self.pr.opt_v, self.pr.beta])
        self._fixed_probs: dict[int, Any] = {}

    def _beta_at(self, theta: np.ndarray) -> np.ndarray:
        bc = self.pr.prob.bc
        bc.update(theta)
        return np.asarray(bc.solve()[1], dtype=float)

    def _fixed_problem(self, j: int) -> tuple[Any, np.ndarray, np.ndarray]:
        if j not in self._fixed_probs:
            model = self.pr.ml.model
            X = model.X
            Xm = np.asarray(X, dtype=float)
            keep = [c for c in range(Xm.shape[1]) if c != j]
            Xd = X.iloc[:, keep] if isinstance(X, pd.DataFrame) else Xm[:, keep]
            off = np.zeros(model.n) if model.offset is None else np.asarray(model.offset,
                                                                            dtype=float)
            self._fixed_probs[j] = (Xd, off, Xm[:, j])
        return self._fixed_probs[j]

    def point(self, w: int, x: float, start: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """(row, start for the next point): row = [ζ, sd/cor..., σ, β...] with parameter w
        held at x."""
        from lmepy.inference.confint import _minimize, sdcor_to_theta, theta_to_sdcor

        pr = self.pr
        if w < self.nv:
            zeta, y = pr.zeta_var(w, float(x), start)
            v = np.empty(self.nv)
            others = [i for i in range(self.nv) if i != w]
            v[w] = x
            v[others] = y
            th = sdcor_to_theta(v, pr.ks)
            beta = self._beta_at(th) if th is not None else np.full(self.p, np.nan)
            return np.concatenate([[zeta], v, beta]), y
        j = w - self.nv
        from lmepy.fit.lmm import LmmProblem

        Xd, off, xj = self._fixed_problem(j)
        model = dataclasses.replace(pr.ml.model, X=Xd, offset=off + float(x) * xj)
        prob = LmmProblem(model, REML=False)
        dev = prob.make_devfun()
        th0 = np.asarray(pr.ml.theta, dtype=float) if start is None else start
        lower = np.asarray(pr.ml.model.reTrms.lower, dtype=float)
        val, th = _minimize(dev, th0, lower, np.full(len(th0), np.inf))
        _ld, _ldx, pw = prob.bc.update(th)
        sigma = math.sqrt(pw / prob.n)
        others = np.asarray(prob.bc.solve()[1], dtype=float)
        beta = np.empty(self.p)
        beta[j] = x
        beta[[i for i in range(self.p) if i != j]] = others
        zeta = math.copysign(math.sqrt(max(0.0, val - pr.base)), float(x) - pr.beta[j])
        return np.concatenate([[zeta], theta_to_sdcor(th, pr.ks, sigma), beta]), th

    def bounds(self, w: int) -> tuple[float, float]:
        if w < self.nv:
            return float(self.pr.lo[w]), float(self.pr.up[w])
        return -math.inf, math.inf

    def first_value(self, w: int, delta: float) -> float:
        """lme4's first step: 1% of a variance parameter (0.001 from 0), delta standard
        errors of a fixed effect."""
        est = float(self.opt[w])
        if w < self.nv:
            return 0.001 if est == 0 else est * 1.01
        return est + delta * float(self.pr.se[w - self.nv])


class _GlmmProfile:
    """The profile of a glmer fit (lme4's ``profile`` of a GLMM): the Laplace / AGQ deviance
    as a function of (sd/cor of the random effects, β); at each point every other parameter
    re-optimized (lme4 profiles a GLMM's fixed effects in the same way as its variance
    parameters). Families without a scale parameter (binomial, poisson)."""

    def __init__(self, fit: Any):
        from lmepy.fit.glmm import make_devfun
        from lmepy.inference.confint import _sdcor_bounds, theta_to_sdcor

        sol = fit.sol
        if sol.family.has_scale:
            raise ValueError("profile() of a glmer fit is available for families without a "
                             "scale parameter (binomial, poisson)")
        self.ks = [t.k for t in sol.model.reTrms.terms]
        self.nv = len(sol.theta)
        self.p = len(sol.beta)
        xn = [str(c) for c in sol.model.X.columns]
        self.names = [f".sig{i + 1:02d}" for i in range(self.nv)] + xn
        self.dev = make_devfun(sol.model, sol.family, nAGQ=max(1, int(sol.nAGQ)))
        self.theta = np.asarray(sol.theta, dtype=float)
        self.beta = np.asarray(sol.beta, dtype=float)
        self.opt = np.concatenate([theta_to_sdcor(self.theta, self.ks, 1.0)[:-1], self.beta])
        self.base = float(self.dev(np.concatenate([self.theta, self.beta])))
        lo, up = _sdcor_bounds(self.ks)
        self.lo = np.concatenate([lo[:-1], np.full(self.p, -np.inf)])
        self.up = np.concatenate([up[:-1], np.full(self.p, np.inf)])

    def _deviance(self, pars: np.ndarray) -> float:
        from lmepy.inference.confint import sdcor_to_theta

        th = sdcor_to_theta(np.concatenate([pars[: self.nv], [1.0]]), self.ks)
        if th is None:
            return float("inf")
        v = float(self.dev(np.concatenate([th, pars[self.nv:]])))
        return v if np.isfinite(v) else float("inf")

    def point(self, w: int, x: float, start: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        from lmepy.inference.confint import minimize_others

        others = [i for i in range(len(self.opt)) if i != w]
        val, y = minimize_others(self._deviance, self.opt, w, x, self.lo, self.up, start)
        zeta = math.copysign(math.sqrt(max(0.0, val - self.base)), float(x) - self.opt[w])
        row = np.empty(len(self.opt))
        row[w] = x
        row[others] = y
        return np.concatenate([[zeta], row]), y

    def bounds(self, w: int) -> tuple[float, float]:
        return float(self.lo[w]), float(self.up[w])

    def first_value(self, w: int, delta: float) -> float:
        """lme4's first step for a GLMM: 1% of the parameter (0.001 from 0)."""
        est = float(self.opt[w])
        return 0.001 if est == 0 else est * 1.01


def _make_profile(fit: Any) -> Any:
    from lmepy.fit.glmm import GlmmSolution

    if isinstance(getattr(fit, "sol", None), GlmmSolution):
        return _GlmmProfile(fit)
    return _Profile(fit)


def profile_points(fit: Any, par: str, values: Sequence[float]) -> pd.DataFrame:
    """Rows of the profile of `par` (lme4's name: ``.sig01``, ``.sigma``, ``(Intercept)``)
    at the given values: the columns of ``profile(fit)``. For checks and custom grids."""
    P = _make_profile(fit)
    if par not in P.names:
        raise ValueError(f"unknown parameter '{par}'; the parameters are "
                         + ", ".join(P.names))
    w = P.names.index(par)
    rows = [P.point(w, float(v))[0] for v in values]
    out = pd.DataFrame(rows, columns=[".zeta", *P.names])
    out[".par"] = par
    out[".focal"] = np.asarray(values, dtype=float)
    return out


def profile(fit: Any, which: Sequence[str] | str | None = None, alphamax: float = 0.01,
            maxpts: int = 100, delta_cutoff: float = 1 / 8, maxmult: float = 10.0
            ) -> pd.DataFrame:
    """lme4's ``as.data.frame(profile(fit))``: for each parameter (``which``: names, or
    "theta_" / "beta_"), points from the estimate outwards in both directions until
    |ζ| exceeds sqrt(qchisq(1 - alphamax, npar)) or a bound (sd 0, correlation ±1) is
    reached; steps aim at ζ increments of cutoff·delta_cutoff, as lme4's grid does (the
    points themselves differ from lme4's: compare ζ at equal parameter values).

    Columns ``.zeta``, every parameter (``.sig01``..., ``.sigma``, the fixed effects),
    ``.par`` (a Categorical in parameter order) and ``.focal`` (the profiled parameter's
    value); rows sorted by ``.focal`` within each parameter."""
    P = _make_profile(fit)
    names = P.names
    if which is None:
        ws = list(range(len(names)))
    else:
        from lmepy.inference.confint import _which

        ws = _which(which, names, P.nv)
    cutoff = math.sqrt(stats.chi2.ppf(1 - alphamax, len(names)))
    delta = cutoff * delta_cutoff
    opt_row = np.concatenate([[0.0], P.opt])
    frames = []
    for w in ws:
        est = float(P.opt[w])
        lo, up = P.bounds(w)
        first = min(up, max(lo, P.first_value(w, delta)))
        row1, start1 = P.point(w, first)
        rows = [opt_row, row1]
        # upwards and downwards from the two starting points, each a walk in parameter space
        for a, b, s in ((opt_row, row1, start1), (row1, opt_row, None)):
            if b is opt_row and est <= lo:
                continue
            walk = [a, b]
            start = s
            while len(walk) < maxpts:
                cur = walk[-1]
                if not (lo < cur[1 + w] < up) or abs(cur[0]) > cutoff:
                    break
                x = _next_value(walk[-2], walk[-1], w, delta, maxmult, lo, up)
                if x is None:
                    break
                row, start = P.point(w, x, start)
                walk.append(row)
            rows.extend(walk[2:])
        arr = np.unique(np.vstack(rows), axis=0)
        arr = arr[np.argsort(arr[:, 1 + w], kind="stable")]
        f = pd.DataFrame(arr, columns=[".zeta", *names])
        f[".par"] = names[w]
        f[".focal"] = arr[:, 1 + w]
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    used = [names[w] for w in ws]
    out[".par"] = pd.Categorical(out[".par"], categories=used)
    return out


def _next_value(prev: np.ndarray, cur: np.ndarray, w: int, delta: float, maxmult: float,
                lo: float, up: float, minstep: float = 1e-6) -> float | None:
    """The next parameter value: a step aiming at a ζ change of `delta` from the secant of
    the last two points, at most maxmult times the last step, inside the bounds."""
    dx = float(cur[1 + w] - prev[1 + w])
    dz = float(cur[0] - prev[0])
    if dx == 0:
        return None
    if dz * dx <= 0 or not np.isfinite(dz):
        # flat (ζ clamped at 0 next to the optimum) or noisy: repeat the last step
        step = max(abs(dx), minstep)
    else:
        step = min(delta * abs(dx / dz), maxmult * abs(dx))
    return float(min(up, max(lo, cur[1 + w] + math.copysign(step, dx))))


_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def profile_plot(prof: Any, file: str | Path | None = None,
                 levels: Sequence[float] = _LEVELS) -> Any:
    """lme4's ``xyplot(profile(fit))``: one panel per parameter, ζ against the parameter
    (an interpolating spline through the profile's points), dashed lines at ζ = ±z of the
    confidence `levels` and where they cross the curve. `prof` is ``profile(fit)``'s frame
    or a fit (then profiled)."""
    from scipy.interpolate import CubicSpline

    if not isinstance(prof, pd.DataFrame):
        prof = profile(prof)
    pars = [str(p) for p in prof[".par"].cat.categories] if isinstance(
        prof[".par"].dtype, pd.CategoricalDtype) else list(dict.fromkeys(prof[".par"]))
    ncol = min(len(pars), 4)
    nrow = int(math.ceil(len(pars) / ncol))
    fig = _figure(2.6 * ncol + 0.6, 2.6 * nrow + 0.4)
    axes = fig.subplots(nrow, ncol, sharey=True, squeeze=False).reshape(-1)
    zs = stats.norm.ppf(0.5 + np.asarray(levels) / 2)
    for ax, par in zip(axes, pars, strict=False):
        sub = prof[prof[".par"] == par]
        x = sub[".focal"].to_numpy(dtype=float)
        z = sub[".zeta"].to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(z)
        x, z = x[ok], z[ok]
        ax.plot(x, z, "o", markersize=2.5, color="#0080ff")
        if len(x) >= 4 and np.all(np.diff(x) > 0):
            xs = np.linspace(x[0], x[-1], 200)
            ax.plot(xs, CubicSpline(x, z)(xs), color="#0080ff", linewidth=1.0)
        else:
            ax.plot(x, z, color="#0080ff", linewidth=1.0)
        for zc in zs:
            for sgn in (-1, 1):
                ax.axhline(sgn * zc, color="0.8", linestyle="--", linewidth=0.6, zorder=0)
        ax.set_xlabel(par)
        ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)
    for ax in axes[len(pars):]:
        ax.set_visible(False)
    for r in range(nrow):
        axes[r * ncol].set_ylabel("\u03b6")
    _save(fig, file)
    return fig
