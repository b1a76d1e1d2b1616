"""Draw the example pictures of docs/plots.md (one of each kind) into docs/.

Run from the repository root: ``python docs/make_plots.py``. Headless: the figures are
matplotlib Figure objects rendered by the Agg canvas, no display needed.
"""

from __future__ import annotations

from pathlib import Path

import lmepy
from lmepy import datasets
from lmepy.results import plots

HERE = Path(__file__).parent


def main() -> None:
    """Fit lme4's sleepstudy model and write the four kinds of plot."""
    fit = lmepy.lmer("Reaction ~ Days + (Days | Subject)", data=datasets.load("sleepstudy"))
    plots.dotplot_ranef(fit, file=HERE / "caterpillar_sleepstudy.png")
    plots.residual_plot(fit, file=HERE / "resid_fitted_sleepstudy.png")
    plots.qqnorm_plot(fit, file=HERE / "qqnorm_sleepstudy.png")
    plots.profile_plot(plots.profile(fit), file=HERE / "profile_sleepstudy.png")


if __name__ == "__main__":
    main()
