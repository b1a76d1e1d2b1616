"""Every warning lmepy emits names the user's line, has a class exported at top level, says
what lme4/nlme say (tests/reference/warnings.json, written by warnings.R) and comes once.

Each case is a lambda on its own line of this file: the warning must carry this file's name
and that line's number, as Python's own warnings name the line that called the library."""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from fitted_models import fitted
from refdata import reference

import lmepy
import lmepy.errors as E

REF = reference("warnings")["cases"]
HERE = os.path.abspath(__file__)


@pytest.fixture(scope="module")
def fits(fm1, fm0) -> dict:  # noqa: ANN001 - LmerMod fits of tests/conftest.py
    """The fits the cases call methods on, fitted quietly once (the lmer ones shared with
    other test files: tests/fitted_models.py)."""
    orth = lmepy.datasets.load("Orthodont")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "fm1": fm1,
            "fm0": fm0,
            "fitS": fitted("dyestuff2"),
            "lm1": lmepy.lme("distance ~ age", data=orth, random="~ 1 | Subject"),
            "lm2": lmepy.lme("distance ~ age + Sex", data=orth, random="~ 1 | Subject"),
        }


def _data(name: str):  # noqa: ANN202 - a DataFrame
    return lmepy.datasets.load(name)


RANK = "Reaction ~ Days + I(2 * Days) + (1 | Subject)"
SLOPES = "Reaction ~ Days + (Days | Subject)"
AR1 = "corAR1(form = ~ Days | Subject)"  # the README's fm3: lmer with a residual AR(1), singular
EIGEN = "cbind(incidence, size - incidence) ~ I(as.numeric(period) * 100) + (1 | herd)"

# (R case in warnings.json, the lmepy class its warnings have, the call through the public API)
CASES: list[tuple[str, type[Warning] | None, Callable]] = [
    ("singular", lmepy.SingularFitWarning,
     lambda f: lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=_data("Dyestuff2"))),
    ("singular", lmepy.SingularFitWarning,  # lmepy only: lme4's text, as lme4's lmer would
     lambda f: lmepy.lmer(SLOPES, _data("sleepstudy"), correlation=AR1)),
    ("rank", lmepy.RankDeficiencyWarning,
     lambda f: lmepy.lmer(RANK, _data("sleepstudy"))),
    ("rank", lmepy.RankDeficiencyWarning,
     lambda f: lmepy.lFormula(RANK, _data("sleepstudy"))),
    ("scale", lmepy.ScaleWarning,
     lambda f: lmepy.lmer("Reaction ~ I(Days * 1e6) + (1 | Subject)", data=_data("sleepstudy"))),
    ("refit", lmepy.RefitMLMessage, lambda f: lmepy.anova(f["fm0"], f["fm1"])),
    ("refit", lmepy.RefitMLMessage, lambda f: f["fm0"].anova(f["fm1"])),
    ("eigenvalue", lmepy.ConvergenceWarning,
     lambda f: lmepy.glmer(EIGEN, data=_data("cbpp"), family=lmepy.binomial())),
    ("nans", lmepy.EvaluationWarning,
     lambda f: lmepy.lmer("Reaction ~ sqrt(Days - 1) + (1 | Subject)", data=_data("sleepstudy"))),
    ("deviance_reml", lmepy.LmepyWarning, lambda f: f["fm1"].deviance()),
    ("deviance_reml", lmepy.LmepyWarning, lambda f: lmepy.deviance(f["fm1"])),
    ("glmer_gaussian", lmepy.LmepyWarning,
     lambda f: lmepy.glmer("Reaction ~ Days + (1 | Subject)", _data("sleepstudy"), "gaussian")),
    ("lme_anova_reml", lmepy.LmepyWarning, lambda f: f["lm1"].anova(f["lm2"])),
    # a singular fit warned when it was fitted; its summary and profile intervals (an ML
    # refit, as lme4's refitML, which checks nothing) do not repeat it
    ("summary_after_singular", None, lambda f: str(f["fitS"].summary())),
    ("singular_confint", None, lambda f: f["fitS"].confint()),
]


def _r_warnings(case: str) -> list[str]:
    """lme4's/nlme's warning and message texts of a case, each condition once (warnings.json
    keeps R's count: R evaluates a formula's calls twice and says "NaNs produced" twice;
    lmepy says it once), without R's progress messages, which are not warnings."""
    return [c["text"] for c in REF[case]["conditions"]
            if not c["text"].startswith("Computing profile confidence intervals")]


@pytest.mark.parametrize("case,cls,call", CASES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_warning_at_callers_line_once_with_lme4s_text(fits: dict, case: str,
                                                      cls: type[Warning] | None,
                                                      call: Callable) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(fits)
    got = [(w.category, str(w.message)) for w in caught]
    expected = [(cls, text) for text in _r_warnings(case)]
    assert got == expected
    for w in caught:  # the lambda's line (each is one line) in this file, not one in lmepy
        assert (os.path.abspath(w.filename), w.lineno) == (HERE, call.__code__.co_firstlineno)
    assert REF[case]["error"] is None


def test_a_condition_r_repeats_per_element_and_evaluation_warns_once() -> None:
    """R's dpois() warns for every non-integer count at every deviance evaluation (thousands of
    warnings); lmepy warns once, with R's first text. (lme4 records "Gradient contains NAs"
    in the fit's messages without warning; lmepy warns it, as the fit did not move.)"""
    cbpp = _data("cbpp")
    r_first = REF["poisson_noninteger"]["conditions"][0]
    assert r_first["n"] > 100
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _lineno() + 1
        lmepy.glmer("I(incidence + 0.5) ~ period + (1 | herd)", data=cbpp, family="poisson")
    mine = [str(w.message) for w in caught if w.category is lmepy.LmepyWarning]
    assert mine == [r_first["text"]]
    assert {(os.path.abspath(w.filename), w.lineno) for w in caught} == {(HERE, line)}


def test_quiet_drops_lmepys_warnings_in_its_own_thread_only() -> None:
    """errors.quiet() (internal refits, bootstrap replicates) is per thread: unlike
    warnings.catch_warnings it does not swallow a warning another thread gives meanwhile."""
    dy2 = _data("Dyestuff2")
    inside, release = threading.Event(), threading.Event()

    def quiet_worker() -> None:
        with E.quiet():
            E.warn("dropped")
            inside.set()
            release.wait(30)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = threading.Thread(target=quiet_worker)
        t.start()
        assert inside.wait(30)
        lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=dy2)
        release.set()
        t.join(30)
        with E.quiet():
            lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=dy2)
    assert [(w.category, str(w.message)) for w in caught] == [
        (lmepy.SingularFitWarning, "boundary (singular) fit: see help('isSingular')")]


def test_every_warning_class_is_exported_and_documented() -> None:
    classes = {n: c for n, c in vars(E).items()
               if isinstance(c, type) and issubclass(c, Warning)}
    assert set(classes) == {"LmepyWarning", "ConvergenceWarning", "SingularFitWarning",
                            "RankDeficiencyWarning", "ScaleWarning", "RefitMLMessage",
                            "EvaluationWarning"}
    assert set(classes.values()) == set(E.WARNING_CLASSES)
    for name, cls in classes.items():
        assert name in lmepy.__all__
        assert getattr(lmepy, name) is cls
        assert issubclass(cls, lmepy.LmepyWarning) and issubclass(cls, UserWarning)
        assert f"``{name}``" in E.__doc__
    assert issubclass(lmepy.EvaluationWarning, RuntimeWarning)
    # the old homes still answer, as the same classes
    from lmepy.design.compile import RankDeficiencyWarning, ScaleWarning
    from lmepy.inference import RefitMLMessage
    assert (RankDeficiencyWarning, ScaleWarning, RefitMLMessage) == (
        lmepy.RankDeficiencyWarning, lmepy.ScaleWarning, lmepy.RefitMLMessage)


def test_no_warning_bypasses_the_one_mechanism() -> None:
    """Every warning goes through lmepy.errors.warn (which finds the user's line); a direct
    warnings.warn with a hand-counted stacklevel would point into lmepy from some entry."""
    root = Path(lmepy.__file__).parent
    offenders = [f"{p.relative_to(root)}:{i + 1}"
                 for p in sorted(root.rglob("*.py*")) if p.suffix in (".py", ".pyx")
                 and p.name != "errors.py"
                 for i, line in enumerate(p.read_text().splitlines())
                 if re.search(r"warnings\.warn(_explicit)?\(|stacklevel", line)]
    assert offenders == []


def test_warning_as_error_raises_in_the_users_code() -> None:
    dy2 = _data("Dyestuff2")
    with warnings.catch_warnings():
        warnings.simplefilter("error", lmepy.SingularFitWarning)
        with pytest.raises(lmepy.SingularFitWarning,
                           match=re.escape("boundary (singular) fit: see help('isSingular')")):
            lmepy.lmer("Yield ~ 1 + (1 | Batch)", data=dy2)
        lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=_data("sleepstudy"))  # no warning


def _as_if_in_lmepy(source: str, name: str, scope: dict) -> Callable:
    """A function compiled with a file name inside the lmepy package: its frames count as
    lmepy's, as an objective function's do when scipy calls it back."""
    path = os.path.join(os.path.dirname(lmepy.__file__), "_fake_for_test.py")
    exec(compile(source, path, "exec"), scope)
    return scope[name]


def test_warning_from_a_callback_names_the_outermost_call_into_lmepy() -> None:
    """user -> lmepy -> another library -> lmepy (a callback) -> warn: the user's line."""
    scope: dict = {"warn": E.warn, "library": lambda f: f()}
    inner = _as_if_in_lmepy("def inner():\n    warn('from a callback', ConvergenceWarning)\n",
                            "inner", {**scope, "ConvergenceWarning": lmepy.ConvergenceWarning})
    outer = _as_if_in_lmepy("def outer(library, inner):\n    return library(inner)\n",
                            "outer", scope)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _lineno() + 1
        outer(scope["library"], inner)
    assert [(w.category, str(w.message)) for w in caught] == [
        (lmepy.ConvergenceWarning, "from a callback")]
    assert (os.path.abspath(caught[0].filename), caught[0].lineno) == (HERE, line)


def test_warn_called_from_outside_lmepy_names_its_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _lineno() + 1
        E.warn("direct")
    assert [(w.category, str(w.message), w.lineno) for w in caught] == [
        (lmepy.LmepyWarning, "direct", line)]
    assert os.path.abspath(caught[0].filename) == HERE


def _lineno() -> int:
    import inspect

    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def test_the_usual_workflow_lets_no_library_warning_through() -> None:
    """numpy's, scipy's and pandas's warnings raised inside lmepy (overflow, deprecations of a
    newer release) would name a line inside lmepy and mean nothing to the user: the README's
    workflow and the common follow-ups give none, and no warning at all on these fits."""
    ss, cbpp, ovary = _data("sleepstudy"), _data("cbpp"), _data("Ovary")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fm1 = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=ss)
        fm0 = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=ss, REML=False)
        str(fm1.summary()), str(fm1.summary(ddf="Kenward-Roger")), str(fm1.anova())
        fm1.ranef(condVar=True), fm1.VarCorr().to_frame(), fm1.confint(method="Wald")
        fm1.predict(ss.head(), re_form="~0"), fm1.simulate(2, seed=1)
        str(lmepy.anova(fm0, lmepy.lmer("Reaction ~ Days + (Days | Subject)", ss, REML=False)))
        gm1 = lmepy.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                          family=lmepy.binomial())
        str(gm1.summary()), gm1.predict(cbpp.head(), type="response"), gm1.simulate(1, seed=1)
        fm2 = lmepy.lme("follicles ~ sin(2*pi*Time) + cos(2*pi*Time)", data=ovary,
                        random={"Mare": "pdDiag(~ sin(2*pi*Time))"}, correlation="corAR1()")
        str(fm2.summary()), lmepy.intervals(fm2), fm2.predict(ovary.head(), level=0)
        gl = lmepy.gls("follicles ~ sin(2*pi*Time)", data=ovary,
                       correlation="corAR1(form = ~ 1 | Mare)")
        str(gl.summary()), gl.predict(ovary.head())
        lmepy.model_matrix("~ poly(Days, 2) + ns(Days, df = 3)", ss)
    assert [(w.category, str(w.message), w.filename) for w in caught] == []
