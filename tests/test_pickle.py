"""Every fit kind survives pickle and copy.deepcopy, and the copy answers as the original:
the same printed summary and print, the same predictions, the same refits (anova with
another model, confint). Compiled kernels are not pickled: they are rebuilt on first use
(lmepy.kernels.transient). A fit also comes back from a worker process.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fitted_models import fitted

import lmepy
from lmepy.errors import SingularFitWarning

ROUND_TRIPS: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda f: pickle.loads(pickle.dumps(f)),
    "pickle_v2": lambda f: pickle.loads(pickle.dumps(f, protocol=2)),
    "deepcopy": copy.deepcopy,
}


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


_CACHE: dict[str, Any] = {}


def _data(name: str) -> pd.DataFrame:
    return lmepy.datasets.load(name)


def _fits(kind: str) -> tuple[Any, Any]:
    """(fit, another fit of the same data for anova) of each kind, fitted once."""
    if kind in _CACHE:
        return _CACHE[kind]
    ss = _data("sleepstudy")
    if kind == "lmer":
        out = (fitted("fm1"),  # shared; anova needs the same data name on both fits
               lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=ss, data_name="sleepstudy"))
    elif kind == "lmer_ml":
        out = (lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=ss, REML=False),
               lmepy.lmer("Reaction ~ 1 + (Days | Subject)", data=ss, REML=False))
    elif kind == "glmer":
        cbpp = _data("cbpp")
        out = (fitted("gm1"),
               lmepy.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", data=cbpp,
                           family=lmepy.binomial()))
    elif kind == "lme":
        o = _data("Orthodont")
        out = (lmepy.lme("distance ~ age", data=o, random="~ age | Subject", method="ML"),
               lmepy.lme("distance ~ 1", data=o, random="~ age | Subject", method="ML"))
    elif kind == "lme_nested_ar1":
        px = _data("Pixel")
        out = (lmepy.lme("pixel ~ day", data=px, random={"Dog": "~ day", "Side": "~ 1"},
                         method="ML"),
               lmepy.lme("pixel ~ 1", data=px, random={"Dog": "~ day", "Side": "~ 1"},
                         method="ML"))
    elif kind == "gls":
        ov = _data("Ovary")
        out = (lmepy.gls("follicles ~ sin(2*pi*Time)", data=ov,
                         correlation="corAR1(form = ~ 1 | Mare)", method="ML"),
               lmepy.gls("follicles ~ 1", data=ov, correlation="corAR1(form = ~ 1 | Mare)",
                         method="ML"))
    elif kind == "lmer_cor":
        out = (_quiet(lambda: lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=ss,
                                         correlation="corAR1(form = ~ Days | Subject)")),
               None)
    elif kind == "lmer_cor_crossed":
        ss = ss.copy()
        ss["fDays"] = pd.Categorical(ss["Days"].astype(int).astype(str))
        out = (_quiet(lambda: lmepy.lmer("Reaction ~ Days + (1 | Subject) + (1 | fDays)",
                                         data=ss,
                                         correlation="corAR1(form = ~ Days | Subject)")),
               None)
    else:  # pragma: no cover
        raise KeyError(kind)
    _CACHE[kind] = out
    return out


KINDS = ["lmer", "lmer_ml", "glmer", "lme", "lme_nested_ar1", "gls", "lmer_cor",
         "lmer_cor_crossed"]


NEWDATA = {"lmer": "sleepstudy", "lmer_ml": "sleepstudy", "glmer": "cbpp", "lme": "Orthodont",
           "gls": "Ovary"}


def _predict(fit: Any, kind: str) -> np.ndarray:
    """Predictions for new data (the first rows of the data set) where the fit kind takes
    newdata, else the fitted data's."""
    if kind in NEWDATA:
        return np.asarray(fit.predict(_data(NEWDATA[kind]).iloc[:7]), dtype=float)
    return np.asarray(fit.predict(), dtype=float)


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_prints_and_predicts_identically(kind: str, how: str) -> None:
    fit, _ = _fits(kind)
    text, summ, pred = str(fit), str(fit.summary()), _predict(fit, kind)
    fixef = np.asarray(fit.fixef(), dtype=float)
    g = ROUND_TRIPS[how](fit)
    assert g is not fit
    assert str(g.summary()) == summ
    assert str(g) == text
    np.testing.assert_array_equal(_predict(g, kind), pred)
    np.testing.assert_array_equal(np.asarray(g.fixef(), dtype=float), fixef)
    assert float(g.logLik()) == float(fit.logLik())
    # the original is untouched by being copied
    assert str(fit.summary()) == summ


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
@pytest.mark.parametrize("kind", ["lmer", "lmer_ml", "glmer", "lme", "lme_nested_ar1", "gls"])
def test_copy_refits_identically(kind: str, how: str) -> None:
    """anova against another model (for a REML lmer: refitted by ML, lme4's refitML)."""
    fit, other = _fits(kind)
    names = ["other", "fit"]
    if kind in ("lme", "lme_nested_ar1", "gls"):
        ref = str(other.anova(fit, names=names))
        g = ROUND_TRIPS[how](fit)
        assert str(other.anova(g, names=names)) == ref
        assert str(ROUND_TRIPS[how](other).anova(g, names=names)) == ref
        return
    ref = str(_quiet(lambda: lmepy.anova(other, fit, model_names=names)))
    g = ROUND_TRIPS[how](fit)
    assert str(_quiet(lambda: lmepy.anova(other, g, model_names=names))) == ref
    if kind != "glmer":  # glmer has no confint yet (it raises TypeError for every method)
        pd.testing.assert_frame_equal(g.confint(method="Wald"), fit.confint(method="Wald"))


@pytest.fixture(scope="module")
def inferred() -> dict[str, Any]:
    """fm1/fm0 after anova (LRT, type III), a Kenward-Roger summary, profile and bootstrap
    intervals, with those results."""
    ss = _data("sleepstudy")
    fm1 = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=ss)
    fm0 = lmepy.lmer("Reaction ~ Days + (1 | Subject)", data=ss)
    return {"fm1": fm1, "fm0": fm0,
            "lrt": str(_quiet(lambda: lmepy.anova(fm0, fm1, model_names=["a", "b"]))),
            "a3": str(fm1.anova()), "kr": str(fm1.summary(ddf="Kenward-Roger")),
            "prof1": fm1.confint(method="profile"), "prof0": fm0.confint(method="profile"),
            "boot": fm0.confint(method="boot", nsim=4, seed=11)}


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
def test_lmer_after_anova_profile_and_bootstrap(how: str, inferred: dict[str, Any]) -> None:
    """The inference caches (ML refit, Satterthwaite and Kenward-Roger states) travel with
    the fit; a profile or a bootstrap on the copy gives the original's intervals."""
    fm1, fm0 = inferred["fm1"], inferred["fm0"]
    assert fm1.sol._lmepy_ml is not None  # anova cached the ML refit on the fit
    g1, g0 = ROUND_TRIPS[how](fm1), ROUND_TRIPS[how](fm0)
    assert g1.sol._lmepy_ml.objective == fm1.sol._lmepy_ml.objective
    assert str(_quiet(lambda: lmepy.anova(g0, g1, model_names=["a", "b"]))) == inferred["lrt"]
    assert str(g1.anova()) == inferred["a3"]
    assert str(g1.summary(ddf="Kenward-Roger")) == inferred["kr"]
    pd.testing.assert_frame_equal(g0.confint(method="profile"), inferred["prof0"])
    pd.testing.assert_frame_equal(g0.confint(method="boot", nsim=4, seed=11),
                                  inferred["boot"])
    if how == "pickle":  # the slowest refit, once
        pd.testing.assert_frame_equal(g1.confint(method="profile"), inferred["prof1"])
    np.testing.assert_array_equal(np.stack([r.to_numpy() for r in g1.ranef().values()]),
                                  np.stack([r.to_numpy() for r in fm1.ranef().values()]))


def test_factor_is_rebuilt_on_demand() -> None:
    """The compiled evaluator and the view T1 of Tflat are left out of the state; the copy
    rebuilds them on first use, with T1 again a view, and evaluates as the original."""
    fit, _ = _fits("lmer")
    bc = fit.sol._factor
    state = bc.__getstate__()
    assert not {"_evaluator", "_run", "_args", "T1"} & set(state)
    bc.threads = 2
    try:
        a, b = copy.deepcopy(bc), pickle.loads(pickle.dumps(bc))
    finally:
        bc.threads = 1
    for c in (a, b):
        assert "_evaluator" not in c.__dict__
        assert c.threads == 2
        assert np.shares_memory(c.T1, c.Tflat)
        assert c._evaluator.nthreads == 2
        c.threads = 1
    theta = np.array([0.9, 0.02, 0.2])
    c1, c2 = copy.deepcopy(bc), copy.deepcopy(bc)  # leave the fit's own factor at its θ
    assert a.update(theta) == c1.update(theta) == b.update(theta) == c2.update(theta)
    with pytest.raises(AttributeError, match="no_such"):
        _ = a.no_such


def _fit_in_worker(seed: int) -> Any:
    """A module-level worker: a small lmer fit made in another process."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(8), 5)
    x = np.tile(np.arange(5.0), 8)
    y = 1.0 + 0.5 * x + rng.normal(0, 1, 8)[g] + rng.normal(0, 0.5, 40)
    df = pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g.astype(str))})
    return df, lmepy.lmer("y ~ x + (1 | g)", data=df, data_name="df")


def test_fit_returned_from_a_process_pool() -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        df, remote = ex.submit(_fit_in_worker, 3).result(timeout=300)
    local = lmepy.lmer("y ~ x + (1 | g)", data=df, data_name="df")
    assert str(remote.summary()) == str(local.summary())
    np.testing.assert_array_equal(remote.predict(df.iloc[:6]), local.predict(df.iloc[:6]))
    ml = lmepy.lmer("y ~ 1 + (1 | g)", data=df, data_name="df")
    assert str(_quiet(lambda: lmepy.anova(ml, remote, model_names=["a", "b"]))) == \
        str(_quiet(lambda: lmepy.anova(ml, local, model_names=["a", "b"])))
    pd.testing.assert_frame_equal(remote.confint(method="profile"),
                                  local.confint(method="profile"))


def test_singular_lmer_cor_fit_keeps_its_report_after_copying() -> None:
    fit, _ = _fits("lmer_cor")
    g = pickle.loads(pickle.dumps(fit))
    assert g.isSingular() is True
    assert str(g).endswith("1 lme4 warnings ")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingularFitWarning)  # unpickling does not refit
        pickle.loads(pickle.dumps(fit))


def test_factor_rebuilt_once_under_threads() -> None:
    """Threads reading a freshly unpickled factor all see one rebuilt evaluator."""
    from concurrent.futures import ThreadPoolExecutor

    fit, _ = _fits("lmer")
    bc = pickle.loads(pickle.dumps(fit.sol._factor))
    with ThreadPoolExecutor(max_workers=4) as ex:
        evs = list(ex.map(lambda _: bc._evaluator, range(8)))
    assert all(e is evs[0] for e in evs)
    np.testing.assert_array_equal(bc.Lambdat().toarray(), fit.sol.Lambdat.toarray())


def test_transient_mixin_contract() -> None:
    from lmepy.kernels.transient import Transient

    class Cached(Transient):
        _transient = ("square",)

        def __init__(self, x: float):
            self.x = x
            self.builds = 0
            self._bind()

        def _bind(self) -> None:
            self.builds += 1
            self.square = self.x * self.x

    class Broken(Transient):
        _transient = ("a",)

        def _bind(self) -> None:
            self.a = self.a + 1  # reads itself while binding

    c = copy.deepcopy(Cached(3.0))
    assert "square" not in c.__dict__ and c.builds == 1
    assert c.square == 9.0 and c.builds == 2
    assert c.square == 9.0 and c.builds == 2  # built once
    with pytest.raises(AttributeError, match="'Broken' object has no attribute 'a'"):
        _ = Broken().a
    with pytest.raises(AttributeError, match="no attribute 'other'"):
        _ = c.other
    with pytest.raises(NotImplementedError):
        Transient()._bind()
