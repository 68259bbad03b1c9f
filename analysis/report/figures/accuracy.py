"""Target accuracy against the x axis (shift, else n_target, ...): a line
per method (per lambda for the methods it changes) with its 95% band, a
panel per value of the facet axes."""
import html

import numpy as np

from ... import results as R
from ..layout import figure_grid, line_specs, partial_note, save


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
    return ("Mean target test accuracy over the finished seeds, 95% t interval (bands clipped to [0, 1])."
            + (f" One line per {n.axis_name(lay.line)} for the methods it changes." if lay.line else "")
            + (f" Panels: {facets}." if facets else "") + lay.held_note())


def draw(ctx, path, plt):
    ds, cube, lay, n = ctx.ds, ctx.cube, ctx.lay, ctx.names
    specs = line_specs(ds, lay)
    nrows, ncols = lay.facet_shape()
    fig, axes = figure_grid(plt, nrows, ncols, extra_h=0.6 + 0.25 * len(specs) / 2, constrained=False)
    xv = ds[lay.x].values
    xs = xv.astype(float) if n.numeric(lay.x) else np.arange(len(xv))
    for p in lay.facets():
        ax = axes[p.row][p.col]
        sub = p.pick(cube)
        for m, j, color, ls, mk, lab in specs:
            y, h = sub[f"acc_{m}"], sub[f"acc_{m}_ci95"]
            if lay.line:
                if j is None:  # the same for every lambda: the lambda with the most seeds per point
                    best = sub[f"n_{m}"].fillna(0).argmax(lay.line)
                    y, h = y.isel({lay.line: best}), h.isel({lay.line: best})
                else:
                    y, h = y.isel({lay.line: j}), h.isel({lay.line: j})
            y, h = y.values.astype(float), np.nan_to_num(h.values.astype(float), nan=0.0)
            ax.plot(xs, y, linestyle=ls, marker=mk, color=color, label=lab, linewidth=1.8, markersize=5)
            ax.fill_between(xs, np.clip(y - h, 0, 1), np.clip(y + h, 0, 1), color=color, alpha=0.08, linewidth=0)
        if p.title:
            ax.set_title(p.title, fontsize=11)
        x_axis(ax, ctx, xs, xv)
        if p.col == 0:
            ax.set_ylabel("target test accuracy\n(mean over seeds, 95% CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    width, height = fig.get_size_inches()
    ncol = max(1, min(len(labels), int(width // 2.7)))
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=ncol, fontsize=9,
               frameon=False)
    title_ = f"Target accuracy against {n.axis_title(lay.x).split(':')[0]}{partial_note(ds)}"
    title_ += lay.figure_note()
    fig.suptitle(title_, fontsize=12)
    legend_h = (0.15 + 0.22 * -(-len(labels) // ncol)) / height
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
