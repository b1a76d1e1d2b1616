"""The faster paths of issue 11 against the slower code they replace (numpy twins kept here),
to the bit, and the bench's Chem97 model against lme4 (tests/reference/objective_vs_r.json,
written by objective_vs_r.R). Tolerances: objective no more than 1e-6 relative above lme4's,
beta 1e-5 relative, as tests/test_fit_lmm.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmepy
from lmepy.covariance import varIdent, varPower
from lmepy.design import lFormula
from lmepy.errors import FormulaError
from lmepy.fit.lmm import _r_group_means, _r_group_means_numpy, _r_var, _r_var_numpy
from lmepy.formula.parser import parse_formula
from lmepy.kernels import rstats
from lmepy.lme.single import SingleLevel

EXTRA = json.loads((Path(__file__).parent / "reference" / "objective_vs_r.json").read_text())


def _group_means_loop(y: np.ndarray, codes: np.ndarray, m: int) -> np.ndarray:
    """The replaced implementation: R's mean() group by group, sequential long-double sums
    (cumsum) and the second-pass correction."""
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    ys = y[order].astype(np.longdouble)
    cnt = np.bincount(codes, minlength=m)
    present = np.flatnonzero(cnt)
    starts = np.searchsorted(cs, present)
    ends = np.append(starts[1:], len(cs))
    out = np.zeros(m)
    for g, a, b in zip(present, starts, ends, strict=True):
        seg = ys[a:b]
        mu = np.cumsum(seg)[-1] / (b - a)
        mu = mu + np.cumsum(seg - mu)[-1] / (b - a)
        out[g] = float(mu)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_group_means_match_the_sequential_loop_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 3000)), int(rng.integers(1, 200))
    codes = rng.integers(0, m, n)  # some groups may be empty
    y = rng.normal(rng.normal() * 10 ** rng.uniform(0, 4), 10 ** rng.uniform(-3, 3), n)
    if seed % 3 == 0:
        y = np.round(y, 1)  # ties and exact decimals, as scores are
    got = _r_group_means(y, codes, m)  # the kernel
    want = _group_means_loop(y, codes, m)
    assert np.array_equal(got, want)
    assert np.array_equal(_r_group_means_numpy(y, codes, m), want)
    assert np.all(got[np.bincount(codes, minlength=m) == 0] == 0.0)
    assert _r_var(y) == _r_var_numpy(y)
    spread = want[codes]
    assert _r_var(spread) == _r_var_numpy(spread)


def test_r_var_matches_r_on_known_values() -> None:
    """var() of values whose sample variance is exact, and R's var(sleepstudy$Reaction)
    (tests/reference/objective_vs_r.json)."""
    assert _r_var(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(5.0 / 3.0, rel=1e-16)
    assert _r_var(np.array([2.5, 2.5])) == 0.0
    y = lmepy.datasets.load("sleepstudy")["Reaction"].to_numpy(dtype=float)
    assert _r_var(y) == pytest.approx(EXTRA["var"]["sleepstudy_Reaction"], rel=1e-15)


def test_rstats_kernel_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="at least two"):
        rstats.r_var(np.array([1.0]))
    with pytest.raises(ValueError, match="outside"):
        rstats.r_group_means(np.ones(3), np.array([0, 1, 5], dtype=np.int64), 2)
    with pytest.raises(ValueError, match="length"):
        rstats.r_group_means(np.ones(3), np.array([0, 1], dtype=np.int64), 2)


def test_parsed_formula_is_reused_and_errors_repeat() -> None:
    text = "Reaction ~ Days + (Days | Subject)"
    assert parse_formula(text) is parse_formula(text)
    bad = "y ~ x + (1 | )"
    msgs = []
    for _ in range(2):  # a failure is not remembered: the same error every time
        with pytest.raises(FormulaError) as err:
            parse_formula(bad)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    assert "y ~ x + (1 | )" in msgs[0]


def test_model_frame_factors_keep_levels_and_order() -> None:
    df = lmepy.datasets.load("sleepstudy")
    a = lFormula("Reaction ~ Days + (Days | Subject)", df).frame
    b = lFormula("Reaction ~ Days + (1 | Subject)", df).frame
    assert list(a["Subject"].cat.categories) == list(df["Subject"].cat.categories)
    assert not a["Subject"].cat.ordered
    assert a["Subject"].dtype == b["Subject"].dtype
    assert np.array_equal(a["Subject"].cat.codes.to_numpy(), df["Subject"].cat.codes.to_numpy())
    o = pd.DataFrame({"y": np.arange(6.0), "g": pd.Categorical(list("abcabc"),
                                                                categories=list("cba"),
                                                                ordered=True)})
    f = lFormula("y ~ 1 + (1 | g)", o).frame
    assert list(f["g"].cat.categories) == ["c", "b", "a"] and f["g"].cat.ordered


def test_weighted_rows_equal_the_general_path_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    n, p, k, G = 61, 3, 2, 9
    codes = rng.integers(0, G, n)
    M = rng.normal(size=(n, p + 1 + k))
    for _ in range(3):
        w = np.exp(rng.normal(size=n))
        a = SingleLevel(codes, G, k, p)
        a.set_rows(M * w[:, None])
        b = SingleLevel(codes, G, k, p)
        b.set_rows_weighted(M, w)
        b.set_rows_weighted(M, w)  # the kept sorted rows, reused
        assert np.array_equal(a.C, b.C) and np.array_equal(a.D, b.D)


@pytest.mark.parametrize("make", [lambda: varIdent(form="~ 1 | Sex"),
                                  lambda: varPower(form="~ age")])
def test_log_weights_sum_follows_the_parameters(make) -> None:
    df = lmepy.datasets.load("Orthodont")
    vf = make().bind(df)
    for u in ([0.3], [-1.1], [0.3]):
        vf.set_unconstrained(np.array(u))
        assert vf.log_weights_sum() == float(np.sum(np.log(vf.weights())))
        assert vf.logLik() == vf.log_weights_sum()
    with pytest.raises(ValueError, match="wrong number of parameters"):
        vf.set_unconstrained(np.array([0.1, 0.2]))


def test_chem97_matches_lme4() -> None:
    case = EXTRA["lmer"]["chem97_ml"]
    fit = lmepy.lmer(case["formula"], lmepy.datasets.load("Chem97"), REML=False)
    obj = case["objective"]
    assert fit.deviance() <= obj + 1e-6 * obj
    assert fit.deviance() >= obj - 1e-4 * obj
    np.testing.assert_allclose(fit.fixef().values, list(case["beta"].values()), rtol=1e-5)
    np.testing.assert_allclose(fit.getME("theta").values, case["theta"], rtol=1e-4)
    assert fit.sol.optinfo["feval"] == case["feval"]
