"""Where negative transfer happens, as decided cells: per cell, whether the
transfer method was decided below the baseline (it hurts: negative
transfer), decided not below it (it helps, or is equivalent within ±δ) or
is undecided -- the comparison transfer:baseline of the decisions, as in
the decision map -- with the seeds the cell used written in it. Not a share
of seeds: a seed where transfer lands one test point below the baseline is
no negative transfer. As in the decision map, cells a boundary map inferred
are hatched and carry no number, cells not known are blank."""
import numpy as np

from ...decide import EQUIVALENT, HELPS, HURTS, MEANINGS, UNDECIDED, states
from ..headline import MIN_SEEDS
from ..layout import legend_below, save
from .decision_map import legend_marks, mark_cells, seeds_legend
from .heatmap import heat_panels, label, suptitle

# (what a class says, the decisions in it (-1: nothing to state), colour, text colour); Okabe-Ito as the map's
CLASSES = (("negative transfer (hurts)", (HURTS,), "#D55E00", "white"),
           ("not negative (helps or equivalent)", (HELPS, EQUIVALENT), "#0072B2", "white"),
           ("undecided", (UNDECIDED,), "#DDDDDD", "black"),
           ("not known", (-1,), "#FFFFFF", "#555555"))


def comparison(ctx):
    return f"{ctx.trans}:{ctx.base}"


def when(ctx):
    return (ctx.lay.x is not None and ctx.has_gain and ctx.dec is not None
            and comparison(ctx) in [str(c) for c in ctx.dec["comparison"].values])


def caption(ctx):
    n, a = ctx.names, ctx.dec.attrs
    return (f"Each cell's decision on {n.short(ctx.trans)} against {n.short(ctx.base)} ({comparison(ctx)}, as in the "
            f"decision map): <b>vermillion</b>, negative transfer: the {100 * (1 - a['alpha']):g}% confidence "
            f"sequence for the mean of {n.var(ctx.trans)} − {n.var(ctx.base)} over the seeds lies below 0; "
            f"<b>blue</b>: not negative (above 0, or inside ±{a['delta']:g}); <b>grey</b>: undecided. Only decided "
            "cells count: a seed where transfer lands a test point or two below the baseline is no negative "
            f"transfer. The number in a measured cell is the seeds it used; * marks a decision from fewer than "
            f"{MIN_SEEDS} seeds, × a comparison given up; "
            + ("<b>hatched</b> cells were not run: the boundary map inferred their decision; "
               if a["mode"] == "boundary" and a["source"] == "file" else "")
            + "<b>white</b>: not known." + ctx.lay.held_note())


def draw(ctx, path, plt):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    n = ctx.names
    dec = ctx.dec.sel(comparison=comparison(ctx))
    st = dec["decision"].copy(data=states(dec))
    codes = {m: k for k, m in enumerate(MEANINGS)} | {"given up": UNDECIDED, "no data": -1}
    klass = {code: i for i, c in enumerate(CLASSES) for code in c[1]}
    cmap = ListedColormap([c[2] for c in CLASSES])
    fig, axes, panels, matrix, yx = heat_panels(ctx, plt)
    seen, marks = set(), set()
    for p in panels:
        ax = axes[p.row][p.col]
        S = matrix(p, dec["seeds_used"]).astype(int)
        M = matrix(p, st.copy(data=np.vectorize(codes.get)(st.values))).astype(int)
        SRC = matrix(p, dec["decision_source"]).astype(int)
        G = matrix(p, st == "given up").astype(bool)
        K = np.vectorize(klass.get)(M)
        seen.update(np.unique(K).tolist())
        ax.imshow(K, cmap=cmap, vmin=-0.5, vmax=len(CLASSES) - 0.5, aspect="auto", origin="lower",
                  interpolation="nearest")
        marks |= mark_cells(ax, M, S, SRC, G, lambda m: CLASSES[klass[m]][3])
        label(ctx, ax, p, yx)
    suptitle(ctx, fig, f"Negative transfer as decided cells: {n.short(ctx.trans)} against {n.short(ctx.base)}")
    legend_below(fig, [Patch(facecolor=c[2], edgecolor="#777777", label=c[0]) for i, c in enumerate(CLASSES)
                       if i in seen or -1 not in c[1]] + legend_marks(marks), seeds_legend(marks))
    save(fig, path)
