"""Target accuracy against the x axis (shift, else n_target, ...): a line
per method (per lambda for the methods it changes) with its 95% band, a
panel per value of the facet axes. Direct transfer (the source's SVM,
which sees no target label) falls with the shift far below the methods
that learn from the target points; where it would stretch the y axis to
hold it (the others then overlap in one band at the top), it gets a strip
of its own under each panel, with the full 0-1 scale, and the panels'
y axis fits the other methods."""
import html

import numpy as np

from ... import results as R
from ..headline import rough
from ..layout import fit_legend, fit_suptitle, line_specs, partial_note, save

APART = ("direct",)  # the methods that may get a strip of their own
STRIP = 0.36  # a strip's height, relative to its panel's


def when(ctx):
    return ctx.lay.x is not None


def file(ctx):
    return f"accuracy_vs_{ctx.lay.x}.png"


def title(ctx):
    return f"Accuracy against {ctx.names.axis_name(ctx.lay.x)}"


def caption(ctx):
    ds, lay, n = ctx.ds, ctx.lay, ctx.names
    facets = ", ".join(f"{'columns' if k == 'col' else 'rows'}: {html.escape(str(R.axis_key(ds, v)))}"
                       for k, v in (("col", lay.col), ("row", lay.row)) if v)
    apart = apart_methods(ctx, line_specs(ds, lay))
    return ("Mean target test accuracy over the finished seeds, 95% t interval (bands clipped to [0, 1])."
            + (f" One line per {n.axis_name(lay.line)} for the methods it changes." if lay.line else "")
            + (f" Panels: {facets}." if facets else "")
            + (f" {html.escape(n.legend(apart[0]).capitalize())} (no target label) falls far below the other methods: "
               "it has a strip of its own under each panel, on the whole 0–1 scale, and the panels' y axis fits the "
               "other methods." if apart else "") + lay.held_note() + rough(ctx, "the bands"))


def curves(ctx, specs):
    """((row, col) of the panel, spec) -> (y, half-width) arrays along x, for every panel and line."""
    cube, lay = ctx.cube, ctx.lay
    out = {}
    for p in lay.facets():
        sub = p.pick(cube)
        for spec in specs:
            m, j = spec[0], spec[1]
            y, h = sub[f"acc_{m}"], sub[f"acc_{m}_ci95"]
            if lay.line:
                if j is None:  # the same for every lambda: the lambda with the most seeds per point
                    best = sub[f"n_{m}"].fillna(0).argmax(lay.line)
                    y, h = y.isel({lay.line: best}), h.isel({lay.line: best})
                else:
                    y, h = y.isel({lay.line: j}), h.isel({lay.line: j})
            out[(p.row, p.col), spec] = (y.values.astype(float), np.nan_to_num(h.values.astype(float), nan=0.0))
    return out


def apart_methods(ctx, specs, data=None):
    """The methods of APART to draw in a strip of their own: those without
    which the other lines' range (means, over every panel) is less than half
    of the whole range, a whole range of at least 0.2."""
    data = data if data is not None else curves(ctx, specs)
    out = []
    for m in APART:
        mine = [y for (p, s), (y, h) in data.items() if s[0] == m]
        rest = [y for (p, s), (y, h) in data.items() if s[0] != m]
        if not mine or not rest:
            continue
        mine, rest = np.concatenate(mine), np.concatenate(rest)
        if not np.isfinite(mine).any() or not np.isfinite(rest).any():
            continue
        whole = max(np.nanmax(mine), np.nanmax(rest)) - min(np.nanmin(mine), np.nanmin(rest))
        if whole >= 0.2 and np.nanmax(rest) - np.nanmin(rest) < 0.5 * whole:
            out.append(m)
    return out


def draw(ctx, path, plt):
    ds, lay, n = ctx.ds, ctx.lay, ctx.names
    specs = line_specs(ds, lay)
    data = curves(ctx, specs)
    apart = apart_methods(ctx, specs, data)
    nrows, ncols = lay.facet_shape()
    k = 2 if apart else 1
    width = min(14.0, 4.6 * ncols + 1.2)
    fig, grid = plt.subplots(nrows * k, ncols, figsize=(width, (3.9 + (1.4 if apart else 0)) * nrows + 1.0
                                                        + 0.6 + 0.25 * len(specs) / 2),
                             squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": [1, STRIP] * nrows} if apart else None)
    xv = ds[lay.x].values
    xs = xv.astype(float) if n.numeric(lay.x) else np.arange(len(xv))
    main_y = []
    for p in lay.facets():
        ax = grid[p.row * k][p.col]
        strip = grid[p.row * k + 1][p.col] if apart else None
        for spec in specs:
            m, j, color, ls, mk, lab = spec
            y, h = data[(p.row, p.col), spec]
            where = strip if m in apart else ax
            where.plot(xs, y, linestyle=ls, marker=mk, color=color, label=lab, linewidth=1.8, markersize=5)
            lo, hi = np.clip(y - h, 0, 1), np.clip(y + h, 0, 1)
            where.fill_between(xs, lo, hi, color=color, alpha=0.08, linewidth=0)
            if m not in apart:
                main_y += [lo, hi]
        if p.title:
            ax.set_title(p.title, fontsize=11)
        x_axis(ax, ctx, xs, xv)
        if p.col == 0:
            ax.set_ylabel("target test accuracy\n(mean over seeds, 95% CI)")
        if strip is not None:
            x_axis(strip, ctx, xs, xv)
            strip.set_yticks([0, 0.5, 1])
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
            if p.col == 0:
                strip.set_ylabel(", ".join(n.short(m) for m in apart).replace(" ", "\n", 1), fontsize=9)
    if apart:  # the panels fit the methods that stay in them, all on one scale
        ys = np.concatenate(main_y)
        ys = ys[np.isfinite(ys)]
        if ys.size:
            lo, hi = float(ys.min()), float(ys.max())
            pad = max(0.02, 0.06 * (hi - lo))
            for r in range(0, nrows * k, k):
                for c in range(ncols):
                    grid[r][c].set_ylim(max(0.0, lo - pad), min(1.02, hi + pad))
    handles, labels = [], []
    for ax in grid.ravel():
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in labels:
                handles.append(hd)
                labels.append(lb)
    order = [s[5] for s in specs]
    pairs = sorted(zip(handles, labels), key=lambda t: order.index(t[1]) if t[1] in order else len(order))
    leg, legend_h = fit_legend(fig, [a for a, _ in pairs], [b for _, b in pairs])
    title_ = (f"Target accuracy against {n.axis_title(lay.x).split(':')[0]}{partial_note(ds)}" + lay.figure_note()
              + rough(ctx, "the 95% bands", html=False))
    fit_suptitle(fig, title_, fontsize=12)
    fig.tight_layout(rect=(0, legend_h, 1, 1))
    save(fig, path)


def x_axis(ax, ctx, xs, xv):
    """A panel's x axis (log for n_target over a decade), y range and grid."""
    lay, n = ctx.lay, ctx.names
    ax.set_xlabel(n.axis_title(lay.x))
    if not n.numeric(lay.x):
        ax.set_xticks(xs, [n.fmt(lay.x, v) for v in xv])
    elif lay.x == "n_target" and xs.min() > 0 and xs.max() / xs.min() >= 8:
        ax.set_xscale("log")
        ax.set_xticks(xs, [n.fmt(lay.x, v) for v in xv])
    ax.set_ylim(0, 1.02)
    if n.numeric(lay.x):  # the whole grid, also where a partial sweep has nothing yet
        pad = 0.04 * (xs.max() - xs.min() or 1) if ax.get_xscale() == "linear" else 0
        ax.set_xlim(xs.min() - pad, xs.max() + pad) if ax.get_xscale() == "linear" else None
    ax.grid(alpha=0.3)
