"""The decision map: every cell coloured by its decision, one row of panels
per comparison, the ordered axes on x and y (shift × n_target typically),
a panel per value of the other axes; in each cell the seeds it used.
Okabe-Ito colours, told apart by colour-blind readers and in grey."""
import itertools
import textwrap

import numpy as np

from ...decide import CS_WORDS, EQUIVALENT, HELPS, HURTS, UNDECIDED
from ..headline import MIN_SEEDS, comparison_name, setting
from ..layout import legend_below, partial_note, save

# decision code -> (colour, text colour); -1: no seed finished yet
COLOURS = {HELPS: ("#0072B2", "white"), HURTS: ("#D55E00", "white"), EQUIVALENT: ("#F0E442", "black"),
           UNDECIDED: ("#DDDDDD", "black"), -1: ("#FFFFFF", "#555555")}
MAX_COLS = 4  # panels side by side before they wrap


def when(ctx):
    return ctx.dec is not None and ctx.lay.x is not None


def title(ctx):
    return "Decisions per cell"


def axes_of(ctx):
    """(x, y or None, the facet axes): x the primary ordered axis (else the layout's x), y the next
    ordered axis (n_target first), the facets every other axis that varies."""
    dec = ctx.dec
    vary = [a for a in dec["decision"].dims if a != "comparison" and dec.sizes[a] > 1]
    x = ctx.primary or ctx.lay.x
    ordered = [a for a in ctx.bounds if a != x]
    y = "n_target" if "n_target" in ordered else next(iter(ordered), None)
    return x, y, [a for a in vary if a not in (x, y)]


def caption(ctx):
    a = ctx.dec.attrs
    x, y, facets = axes_of(ctx)
    where = (f"x: {ctx.names.axis_name(x)}" + (f", y: {ctx.names.axis_name(y)}" if y else "")
             + (f"; a panel per {', '.join(ctx.names.axis_name(f) for f in facets)}" if facets else ""))
    how = ("the file's own decisions (the sequential run's)" if a["source"] == "file"
           else "the confidence sequence at the grid's fixed seeds")
    return (f"One row of panels per comparison A against B, {where}. <b>Blue</b>: A helps (its "
            f"{100 * (1 - a['alpha']):g}% {CS_WORDS[a['sign_cs']]} for the mean of acc_A − acc_B over the seeds "
            f"lies above 0); <b>vermillion</b>: A hurts (below 0); <b>yellow</b>: equivalent (inside "
            f"±{a['delta']:g}); <b>grey</b>: undecided. The number in a cell is the seeds it used; * marks a "
            f"decision from fewer than {MIN_SEEDS} seeds. From {how}.")


def draw(ctx, path, plt):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    dec, n_ = ctx.dec, ctx.names
    x, y, facets = axes_of(ctx)
    comps = [str(c) for c in dec["comparison"].values]
    combos = list(itertools.product(*[range(dec.sizes[f]) for f in facets]))
    ncols = min(len(combos), MAX_COLS)
    per_comp = -(-len(combos) // ncols)
    xv = dec[x].values
    yv = dec[y].values if y else [None]
    w, h = max(3.4, 0.6 * len(xv) + 1.8), max(2.3, 0.42 * len(yv) + 1.6)
    size = (min(16.0, max(6.5, w * ncols + 0.6)), h * len(comps) * per_comp + 0.6)
    fig, axes = plt.subplots(len(comps) * per_comp, ncols, figsize=size, squeeze=False, layout="constrained")
    codes = sorted(COLOURS)
    cmap = ListedColormap([COLOURS[k][0] for k in codes])
    seen = set()
    for ci, c in enumerate(comps):
        for k, combo in enumerate(combos):
            ax = axes[ci * per_comp + k // ncols][k % ncols]
            sel = dict(zip(facets, combo))
            one = dec.sel(comparison=c).isel(sel).isel({d: 0 for d in dec["decision"].dims
                                                        if d not in (x, y, "comparison", *facets)})
            dims = ([y] if y else []) + [x]
            M = one["decision"].transpose(*dims).values.astype(int).reshape(len(yv), len(xv))
            S = one["seeds_used"].transpose(*dims).values.astype(int).reshape(len(yv), len(xv))
            M = np.where(S > 0, M, -1)
            seen.update(np.unique(M).tolist())
            ax.imshow(np.vectorize(codes.index)(M), cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5, aspect="auto",
                      origin="lower", interpolation="nearest")
            for yi, xi in itertools.product(range(len(yv)), range(len(xv))):
                ax.text(xi, yi, seeds_text(M[yi, xi], S[yi, xi]), ha="center", va="center", fontsize=8,
                        color=COLOURS[int(M[yi, xi])][1])
            ax.set_xticks(range(len(xv)), [n_.fmt(x, v) for v in xv], rotation=45 if len(xv) > 8 else 0, fontsize=8)
            ax.set_xlabel(n_.axis_title(x), fontsize=9)
            if y:
                ax.set_yticks(range(len(yv)), [n_.fmt(y, v) for v in yv], fontsize=8)
                ax.set_ylabel(n_.axis_title(y), fontsize=9)
            else:
                ax.set_yticks([])
            where = ", ".join(setting(ctx, c, f, dec[f].values[i]) for f, i in sel.items())
            ax.set_title(textwrap.fill(comparison_name(ctx, c), int(13 * w)) + (
                "\n" + textwrap.fill(where, int(13 * w)) if where else ""), fontsize=8)
        for k in range(len(combos), per_comp * ncols):  # the empty places of a wrapped row
            axes[ci * per_comp + k // ncols][k % ncols].set_axis_off()
    names = {HELPS: "A helps", HURTS: "A hurts", EQUIVALENT: f"equivalent (±{dec.attrs['delta']:g})",
             UNDECIDED: "undecided", -1: "no finished seed"}
    handles = [Patch(facecolor=COLOURS[k][0], edgecolor="#777777", label=names[k]) for k in (1, 2, 3, 0, -1)
               if k in seen or k >= 0]
    fig.suptitle(f"Decisions per cell (α = {dec.attrs['alpha']:g} per cell and comparison)" + partial_note(ctx.ds),
                 fontsize=12)
    legend_below(fig, handles, SEEDS_LEGEND)
    save(fig, path)


SEEDS_LEGEND = f"number: seeds used; *: decided from fewer than {MIN_SEEDS} seeds"


def seeds_text(m, s):
    """A cell's text: the seeds s it used, * when decided (m) from fewer than MIN_SEEDS; a dash without any."""
    m, s = int(m), int(s)
    return "–" if m < 0 else f"{s}*" if m in (HELPS, HURTS, EQUIVALENT) and s < MIN_SEEDS else str(s)
