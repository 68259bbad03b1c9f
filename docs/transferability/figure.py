"""docs/img/transferability_what_foresees.png: the report's what-foresees figure for the combined
transferability file, its cells decided by the rule of tables.py (the asymptotic sequence).

    /usr/bin/python3 docs/transferability/figure.py DIR/transferability.h5 docs/img/transferability_what_foresees.png
"""
import os
import sys

import matplotlib
import matplotlib.pyplot as plt
import xarray as xr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis import predictors  # noqa: E402
from analysis.predictors import KIND  # noqa: E402
from analysis.report.context import Context  # noqa: E402
from analysis.report.figures import what_foresees  # noqa: E402
from tables import RULE  # noqa: E402

matplotlib.use("Agg")

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ctx = Context(sys.argv[1], xr.open_dataset(sys.argv[1]))
    ctx._what_foresees = predictors(ctx.ds, f"{ctx.trans}:{ctx.base}", by=(KIND, "n_target"), rule=RULE)
    what_foresees.draw(ctx, sys.argv[2], plt)
