"""How precisely a fit's estimates are determined by an optimum located from function values.

lme4 stops BOBYQA when a step changes θ by less than xtol_rel = 1e-4 of it, so its estimates
sit slightly above the true minimum of the profiled objective (REML criterion or deviance),
and another optimizer path (another BLAS kernel's rounding is enough to change the path)
ends at another point equally close. tests/reference/optimum.R locates the true minimum m*
in R (BOBYQA run until rounding stops it, from lme4's estimate); lme4's own end point lies
δ_R = objective_R - m* above it, ours δ = objective - m*.

Near the minimum the objective is quadratic: f(θ) - m* = ½ Δθ' H Δθ with H its Hessian in
θ. Every estimate q(θ) (β, σ, standard errors, variance components: functions of θ, β and σ
being profiled) then moves by at most

    |Δq| <= sqrt(2 δ · J H⁻¹ J'),    J = dq/dθ,

over all Δθ with that excess (the worst direction; along the flat directions of H the bound
is large, which is the point). So two end points with excesses δ and δ_R give estimates
within (sqrt(δ) + sqrt(δ_R)) · sqrt(2 J H⁻¹ J') of each other. Objectives can be ordered
only to their rounding: the two programs' objectives at the same θ agree to ~3e-14 relative
(InstEval: 6.6e-9 on 2.4e5), so each excess is taken as at least 1e-13 relative
(ROUNDING): points closer to the minimum than that cannot be told apart by function values,
the usual "an optimum is located to about sqrt(eps)". H and J are central differences of
lmepy's objective (equal to lme4's to 1e-8 relative, tests/test_fit_lmm.py) and estimates at
θ* from R. θ elements on their bound (a singular fit) are not free; they are excluded.

The bound grows with our excess, so the excess itself is capped: MAX_EXCESS = 1e-5 on the
objective's own scale (a deviance difference, χ²-distributed: an excess δ moves an estimate
by at most sqrt(δ) of its standard error in the ML case, so 1e-5 keeps every estimate within
0.3 % of a standard error of the minimum). lme4's largest excess over the reference cases is
5.6e-6 (orth_reml, where ours is the same); ours is at most 1.0e-6 elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lmepy.fit.lmm import LmmProblem, LmmSolution, _solution

OPTIMA = json.loads((Path(__file__).parent / "reference" / "optimum.json").read_text())["cases"]
ROUNDING = 1e-13
MAX_EXCESS = 1e-5


def solution_at(model, REML: bool, theta: np.ndarray, prob: LmmProblem | None = None
                ) -> LmmSolution:
    """Everything lmer computes after the optimizer, at a given θ (no optimization). A
    `prob` passed in is reused (its factor is then shared with later calls: use the
    solution before the next one is made)."""
    prob = LmmProblem(model, REML) if prob is None else prob
    opt = {"feval": 0, "message": "", "conv": 0}
    return _solution(prob, np.asarray(theta, dtype=float), opt, False, [])


class Precision:
    """The tolerance of estimates computed at our end point against lme4's (see above)."""

    def __init__(self, cid: str, model, REML: bool, objective: float):
        ref = OPTIMA[cid]
        self.model, self.REML = model, REML
        self.prob = LmmProblem(model, REML)
        m = float(ref["objective_min"])
        floor = ROUNDING * abs(m)
        self.excess = float(objective) - m
        self.excess_R = float(ref["objective_lme4"]) - m
        assert self.excess <= MAX_EXCESS, f"{cid}: {self.excess:.3g} above the minimum"
        assert self.excess >= -1e-12 * abs(m), f"{cid}: below R's minimum by {-self.excess}"
        self.root = math.sqrt(max(self.excess, 0.0) + floor) + \
            math.sqrt(max(self.excess_R, 0.0) + floor)
        self.theta = np.asarray(ref["theta_min"], dtype=float)
        lower = np.asarray(model.reTrms.lower, dtype=float)
        self.h = 1e-3 * np.maximum(np.abs(self.theta), 0.05)
        self.free = np.flatnonzero(self.theta - lower > 10 * self.h)
        self.Hinv = np.linalg.inv(self._hessian()) if len(self.free) else None

    def _at(self, steps: dict[int, float]) -> np.ndarray:
        th = self.theta.copy()
        for i, s in steps.items():
            th[i] += s * self.h[i]
        return th

    def _hessian(self) -> np.ndarray:
        """Central-difference Hessian of the objective in the free elements of θ."""
        f = self.prob.make_devfun()
        idx = self.free
        k = len(idx)
        H = np.zeros((k, k))
        f0 = f(self.theta)
        for a, i in enumerate(idx):
            H[a, a] = (f(self._at({i: 1})) - 2 * f0 + f(self._at({i: -1}))) / self.h[i] ** 2
            for b in range(a):
                j = idx[b]
                H[a, b] = H[b, a] = (f(self._at({i: 1, j: 1})) - f(self._at({i: 1, j: -1}))
                                     - f(self._at({i: -1, j: 1}))
                                     + f(self._at({i: -1, j: -1}))) \
                    / (4 * self.h[i] * self.h[j])
        return H

    def tolerance(self, q: Callable[[LmmSolution], object]) -> np.ndarray:
        """Elementwise bound on |q(ours) - q(lme4's)|, q an array-valued function of a
        solution (evaluated at once: the solutions share one factor)."""
        def at(theta: np.ndarray) -> np.ndarray:
            return np.asarray(q(solution_at(self.model, self.REML, theta, self.prob)),
                              dtype=float)

        q0 = at(self.theta)
        if len(self.free) == 0:
            return np.zeros(q0.shape)
        J = np.empty((q0.size, len(self.free)))
        for a, i in enumerate(self.free):
            J[:, a] = (at(self._at({i: 1})) - at(self._at({i: -1}))).ravel() / (2 * self.h[i])
        spread = np.sqrt(2 * np.einsum("ia,ab,ib->i", J, self.Hinv, J))
        return (self.root * spread).reshape(q0.shape)
