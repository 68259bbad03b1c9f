"""The regret of choosing lambda by each label-free score: heatmaps over
(y: n_target, x: shift), one panel per score and one for never adapting;
regret.csv beside it."""
import itertools
import os

import numpy as np

from ... import results as R
from ..headline import rough
from ..layout import partial_note, save

OVER = "lambda"  # the axis chosen by the scores
CAPTION = ("For each cell and seed, λ is chosen by the score alone (lower entropy, MMD², A-distance, IWCV and DEV "
           "error; higher SND and target validation accuracy; ties share the pick); the regret is the best accuracy "
           "over λ (the oracle's choice, with the target test labels) minus the chosen λ's. The last panel never "
           "adapts (λ = 0 always). Per cell with 95% intervals: regret.csv.")


def caption(ctx):
    return CAPTION + rough(ctx, "the intervals in regret.csv")


def when(ctx):
    return ctx.regret_sum is not None


def write_csv(ctx, report):
    """regret.csv next to the figure (drawn or not); nothing on the page."""
    ctx.regret_sum.to_csv(os.path.join(report.out, "regret.csv"))
    report.written.append(os.path.join(report.out, "regret.csv"))
    return ""


def regret_axes(ds, over):
    cells = [a for a in R.axes(ds) if a not in (over, "seed")]
    x = "shift" if "shift" in cells else (cells[0] if cells else None)
    y = "n_target" if "n_target" in cells and x != "n_target" else next((a for a in cells if a != x), None)
    return cells, x, y


def draw(ctx, path, plt):
    """Mean regret over seeds of choosing OVER by each score, as heatmaps
    over (y: n_target, x: shift), one panel per score and one for never
    adapting; other axes at the layout's held values."""
    import xarray as xr
    ds, n_ = ctx.ds, ctx.names
    cells, x, y = regret_axes(ds, OVER)
    cube = xr.Dataset.from_dataframe(ctx.regret_sum) if cells else None
    fixed = {a: ctx.lay.fixed.get(a, 0) for a in cells if a not in (x, y)}
    panels = list(ctx.sel_names) + ["reference"]
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    xv = ds[x].values if x else [None]
    yv = ds[y].values if y else [None]
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(15, 3.6 * ncols + 1.2), (0.45 * len(yv) + 1.6) * nrows + 0.9),
                             squeeze=False, layout="constrained")
    mats = {}
    for n in panels:
        da = cube[f"regret_{n}"] if cube is not None else None
        if da is not None:
            da = da.isel({a: i for a, i in fixed.items() if a in da.dims})
            da = da.transpose(*[a for a in (y, x) if a])
        mats[n] = np.asarray(da.values, float).reshape(len(yv), len(xv)) if da is not None else np.full((1, 1), np.nan)
    vmax = max(0.01, max((np.nanmax(m) for m in mats.values() if np.isfinite(m).any()), default=0.01))
    im = None
    for k, n in enumerate(panels):
        ax = axes[k // ncols][k % ncols]
        M = mats[n]
        ax.set_facecolor("#dddddd")
        im = ax.imshow(np.ma.masked_invalid(M), cmap="Reds", vmin=0, vmax=vmax, aspect="auto", origin="lower",
                       interpolation="nearest")
        for yi, xi in itertools.product(range(M.shape[0]), range(M.shape[1])):
            v = M[yi, xi]
            if np.isfinite(v):
                ax.text(xi, yi, f"{v:.3f}", ha="center", va="center", fontsize=7.5,
                        color="white" if v > 0.6 * vmax else "black")
        ax.set_xticks(range(len(xv)), [n_.fmt(x, v) for v in xv] if x else [], fontsize=8,
                      rotation=45 if len(xv) > 6 else 0)
        ax.set_yticks(range(len(yv)), [n_.fmt(y, v) for v in yv] if y else [], fontsize=8)
        if x and k // ncols == nrows - 1:
            ax.set_xlabel(n_.axis_title(x), fontsize=8)
        if y and k % ncols == 0:
            ax.set_ylabel(n_.axis_name(y))
        mean = np.nanmean(M) if np.isfinite(M).any() else np.nan
        ax.set_title(f"{n_.score(n)}\nmean regret {mean:.3f}", fontsize=9)
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].set_axis_off()
    fig.colorbar(im, ax=axes.ravel().tolist(), label="regret: oracle − picked accuracy (mean over seeds)", shrink=0.9)
    held = "; ".join(n_.setting(a, ds[a].values[i]) for a, i in fixed.items() if ds.sizes[a] > 1)
    fig.suptitle(f"Regret of label-free selection of {n_.axis_name(OVER)}" + (f" (at {held})" if held else "")
                 + partial_note(ds), fontsize=12)
    save(fig, path)
