"""lmer(..., correlation=): lme4's isSingular rule, its singular-fit warning, and lme4's printed
layouts (print(fit) and summary()) with the residual structure's estimates added.

lme4 has no residual correlation, so R cannot print these fits. With the AR(1) parameter
fixed at 0 the model is lmer's, and then the printed text must be R's print of that lmer fit
(tests/reference/lmer.json) line for line, except the class tag and the structure's lines.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
from refdata import reference
from rtext import _TOKEN, last_digit_diffs, lines, rlines
from scipy.optimize import minimize

import lmepy
from lmepy.errors import SingularFitWarning

CASES = reference("lmer")["cases"]
SINGULAR = "boundary (singular) fit: see help('isSingular')"
SLEEP_AR1 = "corAR1(form = ~ Days | Subject)"


def _fm3(**kwargs):
    ss = lmepy.datasets.load("sleepstudy")
    return lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=ss, correlation=SLEEP_AR1,
                      **kwargs)


def _strip_structure(text_lines: list[str], head: str, nlines: int = 3) -> list[str]:
    """Our lines without the residual structure's block, with lme4's class tag."""
    i = text_lines.index(head)
    out = text_lines[:i] + text_lines[i + nlines:]
    out[0] = out[0].replace("['LmerCorFit']", "['lmerMod']")
    return out


def _same_layout(ours: list[str], theirs: list[str], rtol: float) -> None:
    """Line for line the same words and widths; numbers within rtol of R's (or one unit of
    R's last printed place): for a fit whose optimum lies along a flat direction, where the
    printed digits of two correct optimizers differ (see the test using it)."""
    assert len(ours) == len(theirs), (ours, theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert len(a) == len(b), f"line {i}: {a!r} != {b!r}"
        ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
        assert len(ta) == len(tb), f"line {i}: {a!r} != {b!r}"
        for x, y in zip(ta, tb, strict=True):
            if x == y:
                continue
            fx, fy = float(x), float(y)  # a word that differs raises here
            decimals = len(y.split(".")[1]) if "." in y else 0
            assert abs(fx - fy) <= max(rtol * abs(fy), 1.000001 * 10.0 ** -decimals), \
                f"line {i}: {a!r} != {b!r}"


# ---- the README's fm3: a boundary fit, reported as lme4 reports one ----------------------------

def test_fm3_warns_singular_at_the_callers_line() -> None:
    with pytest.warns(SingularFitWarning) as rec:
        _fm3()
    msgs = [w for w in rec if issubclass(w.category, SingularFitWarning)]
    assert [str(w.message) for w in msgs] == [SINGULAR]
    assert msgs[0].filename == __file__


def test_fm3_is_singular_by_lme4s_rule() -> None:
    with pytest.warns(SingularFitWarning):
        fm3 = _fm3()
    assert fm3.isSingular() is True
    assert lmepy.isSingular(fm3) is True
    theta = fm3.getME("theta")
    assert list(theta.index) == ["Subject.(Intercept)", "Subject.Days.(Intercept)",
                                 "Subject.Days"]
    np.testing.assert_array_equal(fm3.getME("lower"), [0.0, -np.inf, 0.0])
    # the slope's own factor element sits on its bound: correlation +1 between the terms
    assert 0.0 <= theta["Subject.Days"] < 1e-4
    assert theta["Subject.(Intercept)"] > 0.1
    # isSingular's tol is lme4's: a tolerance below that element says "not singular"
    assert fm3.isSingular(tol=theta["Subject.Days"] / 2) is False
    assert fm3.ngrps().to_dict() == {"Subject": 18}


def test_fm3_prints_lme4s_layout() -> None:
    with pytest.warns(SingularFitWarning):
        fm3 = _fm3(data_name="sleepstudy")
    out = lines(str(fm3))
    assert out[:4] == ["Linear mixed model fit by REML ['LmerCorFit']",
                       "Formula: Reaction ~ Days + (Days | Subject)",
                       "   Data: sleepstudy",
                       "REML criterion at convergence: 1724.117"]
    assert out[4:10] == ["Random effects:",
                         " Groups   Name        Std.Dev. Corr",
                         " Subject  (Intercept) 14.359",
                         "          Days         4.669   1.00",
                         " Residual             30.662",
                         "Number of obs: 180, groups:  Subject, 18"]
    assert out[10:13] == ["Correlation structure: corAR1, Formula: ~Days | Subject", "   Phi",
                          "0.4921"]
    assert out[13:] == ["Fixed Effects:", "(Intercept)         Days",
                        "     252.26        10.47",
                        "optimizer (nloptwrap) convergence code: 0 (OK) ; 0 optimizer "
                        "warnings; 1 lme4 warnings"]
    s = lines(str(fm3.summary()))
    assert s[0] == "Linear mixed model fit by REML ['LmerCorFit']"
    assert s[-2:] == ["optimizer (nloptwrap) convergence code: 0 (OK)", SINGULAR]
    assert "Scaled residuals:" in s and "Correlation of Fixed Effects:" in s
    np.testing.assert_allclose(fm3.summary().coefficients["t value"], [36.923, 6.878],
                               atol=1e-3)


def test_fm3_boundary_is_the_maximum_not_an_optimizer_artefact() -> None:
    """The profiled REML criterion, re-minimized over the other parameters with the slope's
    own factor element held at t, rises from t = 0: the maximum lies on the boundary
    (correlation +1). R's own dense REML maximization with an unbounded θ (optim, in
    tests/reference/lme.R) goes to the same boundary."""
    with pytest.warns(SingularFitWarning):
        fm3 = _fm3()
    work = copy.deepcopy(fm3)  # the profile moves the problem's state; keep fm3's intact
    prob = work.sol.problem
    x = np.asarray(work.sol.par, dtype=float)
    at_fit = prob.objective(x)
    assert at_fit == pytest.approx(-2 * fm3.logLik(), abs=1e-8)
    prof = []
    for t in (0.0, 0.02, 0.05, 0.1):
        def crit(z: np.ndarray, t: float = t) -> float:
            return prob.objective(np.array([z[0], z[1], t, z[2]]))
        r = minimize(crit, x[[0, 1, 3]], method="Nelder-Mead",
                     options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 5000})
        prof.append(r.fun)
    assert prof[0] == pytest.approx(at_fit, abs=1e-6)
    assert np.all(np.diff(prof) > 1e-3), prof
    r = reference("lme")["lmer_ar1"]["slope"]
    v = np.array(r["vcov_re"][0])
    assert v[0, 1] / math.sqrt(v[0, 0] * v[1, 1]) > 1 - 1e-6
    vc = fm3.VarCorr().value[0]
    assert vc.corr[1, 0] > 1 - 1e-6
    assert fm3.logLik() >= r["logLik"] - 1e-6 * abs(r["logLik"])


def test_not_singular_no_warning() -> None:
    ss = lmepy.datasets.load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingularFitWarning)
        fit = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=ss, correlation=SLEEP_AR1)
    assert fit.isSingular() is False
    assert "lme4 warnings" not in str(fit)
    assert lines(str(fit.summary()))[-3:-1] == ["Correlation of Fixed Effects:", "     (Intr)"]


def test_getme_unknown_name() -> None:
    with pytest.warns(SingularFitWarning):
        fm3 = _fm3()
    with pytest.raises(ValueError, match="getME: unknown name 'Zt'"):
        fm3.getME("Zt")


# ---- with φ fixed at 0 the fit is lmer's: R's printed text --------------------------------

FIXED0 = {"ss_full_reml": "corAR1(0, form = ~ Days | Subject, fixed = TRUE)",
          "ss_full_ml": "corAR1(0, form = ~ Days | Subject, fixed = TRUE)",
          "dye2_reml": "corAR1(0, form = ~ 1 | Batch, fixed = TRUE)"}
# ML on sleepstudy: the variance of the intercepts is flat at the optimum; this fit's
# log-likelihood is above lme4's (checked below) while its printed variance differs from
# lme4's by 7e-5 relative, beyond a last-digit rounding; there the layout is compared with
# the numbers to 2e-4 (an optimum located from function values is good to about sqrt(eps) in
# the criterion, less along flat directions)
FLAT = {"ss_full_ml": 2e-4}


def _fixed0_fit(cid: str):
    c = CASES[cid]
    df = lmepy.datasets.load(c["data"])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fit = lmepy.lmer(c["formula"], data=df, REML=c["REML"], correlation=FIXED0[cid],
                         data_name=c["data"])
    sing = [str(w.message) for w in rec if issubclass(w.category, SingularFitWarning)]
    return fit, sing


@pytest.mark.parametrize("cid", list(FIXED0))
def test_phi_fixed_at_zero_prints_as_lme4(cid: str) -> None:
    c = CASES[cid]
    fit, sing = _fixed0_fit(cid)
    assert fit.isSingular() is bool(c["isSingular"])
    assert sing == ([SINGULAR] if c["isSingular"] else [])
    form = "~1 | Batch" if cid.startswith("dye2") else "~Days | Subject"
    head = f"Correlation structure: corAR1, Formula: {form}"
    ours = lines(str(fit))
    i = ours.index(head)
    assert ours[i + 1:i + 3] == ["Phi", "  0"]
    summ = lines(str(fit.summary()))
    expected = rlines(c["print_summary"])
    if expected[-1] == "":  # R's .prt.warn ends with an empty line, which str() leaves off
        expected = expected[:-1]
    if cid in FLAT:
        assert fit.logLik() >= c["logLik"] - 1e-10 * abs(c["logLik"])
        _same_layout(_strip_structure(ours, head), rlines(c["print_fit"]), FLAT[cid])
        _same_layout(_strip_structure(summ, head), expected, FLAT[cid])
    else:
        last_digit_diffs(_strip_structure(ours, head), rlines(c["print_fit"]))
        last_digit_diffs(_strip_structure(summ, head), expected)
