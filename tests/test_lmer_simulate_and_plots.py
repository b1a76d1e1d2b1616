"""lmer's simulate(use_u=) against the fitted model's moments, and the plot methods."""

import json
from pathlib import Path

import numpy as np

import lmepy

REF = json.loads((Path(__file__).parent / "reference" / "lmer.json").read_text())["cases"]


def test_simulate_use_u_centres_on_the_fitted_values(fm1):
    fit = fm1
    sims = lmepy.simulate(fit, nsim=4000, seed=1, use_u=True).to_numpy()
    fitted = np.asarray(REF["ss_full_reml"]["fitted"])
    sigma = REF["ss_full_reml"]["sigma"]
    se = sigma / np.sqrt(4000)
    assert np.max(np.abs(sims.mean(axis=1) - fitted)) < 5 * se
    assert abs(sims.std(axis=1, ddof=1).mean() / sigma - 1) < 0.01


def test_simulate_new_effects_have_the_marginal_variance(fm1):
    fit = fm1
    sims = fit.simulate(nsim=4000, seed=2).to_numpy()
    c = REF["ss_full_reml"]
    vc = {(r["var1"], r["var2"]): r for r in
          [dict(zip(c["varcorr"], vals, strict=True)) for vals in zip(*c["varcorr"].values(),
                                                                     strict=True)]}
    v0 = vc[("(Intercept)", None)]["vcov"]
    v1 = vc[("Days", None)]["vcov"]
    c01 = vc[("(Intercept)", "Days")]["vcov"]
    days = lmepy.datasets.load("sleepstudy")["Days"].to_numpy()
    implied = v0 + 2 * c01 * days + v1 * days ** 2 + c["sigma"] ** 2
    got = sims.var(axis=1, ddof=1)
    assert np.max(np.abs(got / implied - 1)) < 0.15  # 4000 draws: sd of a variance ~2.2 %
    assert abs(got.mean() / implied.mean() - 1) < 0.02


def test_plot_methods_write_pngs(tmp_path, fm1):
    fit = fm1
    for name, call in [("resid", fit.plot), ("cater", fit.dotplot_ranef),
                       ("qq", lambda file: fit.qqnorm(file=file))]:
        path = tmp_path / f"{name}.png"
        call(file=path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
