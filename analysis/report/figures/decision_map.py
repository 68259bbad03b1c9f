"""The decision map: every cell coloured by its decision, one row of panels
per comparison, the ordered axes on x and y (shift × n_target typically),
a panel per value of the other axes. Measured cells are plain, with the
seeds they used in them; cells a boundary map inferred (decision_source 2,
never run) are hatched and carry no number; cells not known are blank. The
boundary is drawn per row of a panel: a stroke between the last cell on one
side of each decided sign change and the first on the other, the strokes of
neighbouring rows joined into a polyline. Okabe-Ito colours, told apart by
colour-blind readers and in grey."""
import itertools
import textwrap

import numpy as np

from ...decide import CS_WORDS, EQUIVALENT, HELPS, HURTS, INFERRED, MEANINGS, MEASURED, UNDECIDED, changes, states
from ..headline import MIN_SEEDS, comparison_name, setting
from ..layout import legend_below, partial_note, save

# decision code -> (colour, text colour); -1: nothing to state (no seed finished, or not run and not inferred)
COLOURS = {HELPS: ("#0072B2", "white"), HURTS: ("#D55E00", "white"), EQUIVALENT: ("#F0E442", "black"),
           UNDECIDED: ("#DDDDDD", "black"), -1: ("#FFFFFF", "#555555")}
HATCH = "///"  # an inferred cell
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
    how = ("the file's own decisions (the run's)" if a["source"] == "file"
           else "the confidence sequence at the grid's fixed seeds")
    inferred = a["source"] == "file" and a["mode"] == "boundary"
    return (f"One row of panels per comparison A against B, {where}. <b>Blue</b>: A helps (its "
            f"{100 * (1 - a['alpha']):g}% {CS_WORDS[a['sign_cs']]} for the mean of acc_A − acc_B over the seeds "
            f"lies above 0); <b>vermillion</b>: A hurts (below 0); <b>yellow</b>: equivalent (inside "
            f"±{a['delta']:g}); <b>grey</b>: undecided; <b>white</b>: not known. The number in a measured cell is "
            f"the seeds it used; * marks a decision from fewer than {MIN_SEEDS} seeds, × a comparison given up (no "
            f"decision was reachable within {a['max_seeds']} seeds). "
            + ("<b>Hatched</b> cells were not run: the boundary map inferred their decision from the measured cells "
               "around them. " if inferred else "")
            + "The black line is the boundary of each row: between the last cell on one side of a decided sign "
            f"change (helps to hurts, measured or inferred) and the first on the other. From {how}.")


def draw(ctx, path, plt):
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
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
    seen, marks = set(), set()
    for ci, c in enumerate(comps):
        for k, combo in enumerate(combos):
            ax = axes[ci * per_comp + k // ncols][k % ncols]
            sel = dict(zip(facets, combo))
            one = dec.sel(comparison=c).isel(sel).isel({d: 0 for d in dec["decision"].dims
                                                        if d not in (x, y, "comparison", *facets)})
            M, S, SRC, G = panel(one, x, y, len(xv), len(yv))
            seen.update(np.unique(M).tolist())
            ax.imshow(np.vectorize(codes.index)(M), cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5, aspect="auto",
                      origin="lower", interpolation="nearest")
            marks |= mark_cells(ax, M, S, SRC, G, lambda m: COLOURS[m][1])
            for bx, by in boundary_lines(M):
                ax.plot(bx, by, color="black", linewidth=2.2, solid_capstyle="butt", gid="boundary")
                marks.add("boundary")
            ax.set_xlim(-0.5, len(xv) - 0.5)
            ax.set_ylim(-0.5, len(yv) - 0.5)
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
             UNDECIDED: "undecided", -1: "not known"}
    handles = [Patch(facecolor=COLOURS[k][0], edgecolor="#777777", label=names[k]) for k in (1, 2, 3, 0, -1)
               if k in seen or k >= 0]
    handles += legend_marks(marks)
    if "boundary" in marks:
        handles.append(Line2D([], [], color="black", linewidth=2.2, label="boundary (per row)"))
    fig.suptitle(f"Decisions per cell (α = {dec.attrs['alpha']:g} per cell and comparison)" + partial_note(ctx.ds),
                 fontsize=12)
    legend_below(fig, handles, seeds_legend(marks))
    save(fig, path)


def panel(one, x, y, nx, ny):
    """A panel's matrices (ny, nx) from one comparison's decisions over (y, x): the decision codes (-1: nothing
    to state), seeds used, decision_source, given up."""
    one = one.transpose(*([y] if y else []), x)
    st = states(one)

    def mat(v):
        return np.asarray(v).reshape(ny, nx)
    code = {m: k for k, m in enumerate(MEANINGS)} | {"given up": UNDECIDED, "no data": -1}
    M = mat(np.vectorize(code.get)(st).astype(int))
    S = mat(one["seeds_used"].values.astype(int))
    SRC = mat(one["decision_source"].values.astype(int))
    G = mat(st == "given up")
    return M, S, SRC, G


def mark_cells(ax, M, S, SRC, G, text_colour):
    """The marks of a panel's cells: inferred cells hatched (no number), measured cells with something to state
    their seeds (seeds_text), cells not known left blank. Returns the kinds of mark made ({'inferred', 'few',
    'given up'})."""
    from matplotlib.patches import Rectangle
    made = set()
    for yi, xi in itertools.product(range(M.shape[0]), range(M.shape[1])):
        m = int(M[yi, xi])
        if m < 0:
            continue
        if SRC[yi, xi] == INFERRED:
            ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, fill=False, hatch=HATCH, edgecolor="#222222",
                                   linewidth=0, gid="inferred"))
            made.add("inferred")
            continue
        if SRC[yi, xi] != MEASURED:
            continue
        text = seeds_text(m, S[yi, xi], G[yi, xi])
        made |= {"few"} if text.endswith("*") else {"given up"} if text.endswith("×") else set()
        ax.text(xi, yi, text, ha="center", va="center", fontsize=8, color=text_colour(m))
    return made


def legend_marks(marks):
    from matplotlib.patches import Patch
    return ([Patch(facecolor="white", edgecolor="#222222", hatch=HATCH, label="inferred by the map (not run)")]
            if "inferred" in marks else [])


def seeds_legend(marks):
    """The legend's title: what the numbers and their marks mean."""
    said = ([f"*: decided from fewer than {MIN_SEEDS} seeds"] if "few" in marks else []) + (
        ["×: given up (no decision reachable)"] if "given up" in marks else [])
    return "number: seeds used (measured cells)" + ("\n" + "; ".join(said) if said else "")


SEEDS_LEGEND = seeds_legend({"few"})


def seeds_text(m, s, given_up=False):
    """A measured cell's text: the seeds s it used, * when decided (m) from fewer than MIN_SEEDS, × when given
    up; '' with nothing to state (m < 0)."""
    m, s = int(m), int(s)
    if m < 0:
        return ""
    return f"{s}*" if m in (HELPS, HURTS, EQUIVALENT) and s < MIN_SEEDS else f"{s}×" if given_up else str(s)


def boundary_lines(M):
    """The boundary of a panel per row, from its decision codes M (rows y, columns x; -1 nothing to state):
    for every sign change along a row (decide.changes: from a decided helps to the next decided hurts or back,
    measured or inferred alike), a vertical stroke through the row midway between the last cell on one side
    and the first on the other; the strokes of consecutive rows with the same changes (count and directions)
    joined in order at the rows' border. Returns polylines [(xs, ys)] in cell coordinates."""
    rows = []
    for yi in range(M.shape[0]):
        ms = [MEANINGS[v] if v >= 0 else "no data" for v in M[yi]]
        rows.append([((ch["after"] + ch["before"]) / 2, ch["from"], ch["to"])
                     for ch in changes(list(range(M.shape[1])), ms)])
    lines, prev = [], {}
    for yi, row in enumerate(rows):
        same = yi > 0 and [r[1:] for r in rows[yi - 1]] == [r[1:] for r in row]
        now = {}
        for k, (bx, *_) in enumerate(row):
            line = prev[k] if same and k in prev else None
            if line is None:
                line = ([], [])
                lines.append(line)
            line[0].extend([bx, bx])
            line[1].extend([yi - 0.5, yi + 0.5])
            now[k] = line
        prev = now
    return lines
