"""What the heatmaps (gain_heatmap, negative_transfer) share: a value per
cell over (y: lambda, x: the layout's x), a panel per facet value, cells
without data grey; the gain's cells whose 95% CI includes 0 hatched."""
import itertools

import numpy as np

from ..layout import figure_grid, fit_suptitle, heat_axes, partial_note, save


def heat_panels(ctx, plt):
    """The heatmaps' figure and what each panel shows: (fig, axes, panels, matrix, yx) with panels the
    layout's facets, matrix(panel, da) da's (y, x) matrix in that panel (floats; da over the cell axes)
    and yx (y axis or None, its values or [None], x's values)."""
    ds, lay = ctx.ds, ctx.lay
    yax, pcol = heat_axes(lay)
    nrows, ncols = lay.facet_shape(col=pcol)
    xv = ds[lay.x].values
    yv = ds[yax].values if yax else [None]
    fig, axes = figure_grid(plt, nrows, ncols, w=max(4.4, 0.75 * len(xv) + 1.6),
                            h=max(2.6, 0.5 * len(yv) + 1.6), sharey=False)
    dims = ([yax] if yax else []) + [lay.x]

    def matrix(p, da):
        return p.pick(da).transpose(*dims).values.astype(float).reshape(len(yv), len(xv))
    return fig, axes, list(lay.facets(col=pcol)), matrix, (yax, yv, xv)


def label(ctx, ax, p, yx):
    """A panel's ticks, axis titles and title."""
    yax, yv, xv = yx
    ticks(ax, ctx, yax, xv, yv, first_col=p.col == 0)
    if p.title:
        ax.set_title(p.title, fontsize=11)


def suptitle(ctx, fig, title):
    """The figure's title, with the file's partial note and the held axes' values."""
    fit_suptitle(fig, title + partial_note(ctx.ds) + ctx.lay.figure_note(), fontsize=12)


def draw_heatmap(ctx, column, title, cbar, cmap, lim=None, hatch_ci=None, fmtv="{:+.2f}", path=None, plt=None):
    """column: the cube's variable shown; hatch_ci: its CI half-width variable (None: no hatching);
    lim: the colour range (None: symmetric around 0); fmtv: the format of a cell's number."""
    cube = ctx.cube
    fig, axes, panels, matrix, yx = heat_panels(ctx, plt)
    vals = cube[column].values
    if lim is None:
        m = np.nanmax(np.abs(vals)) if np.isfinite(vals).any() else 0.0
        lim = (-max(m, 0.01), max(m, 0.01))
    im = None
    for p in panels:
        ax = axes[p.row][p.col]
        M = matrix(p, cube[column])
        H = matrix(p, cube[hatch_ci]) if hatch_ci else None
        ax.set_facecolor("#dddddd")
        im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=lim[0], vmax=lim[1], aspect="auto",
                       origin="lower", interpolation="nearest")
        cells(ax, im, M, H, fmtv, small=M.size <= 200)
        label(ctx, ax, p, yx)
    suptitle(ctx, fig, title)
    fig.colorbar(im, ax=axes.ravel().tolist(), label=cbar, shrink=0.9)
    save(fig, path)


def cells(ax, im, M, H, fmtv, small):
    """Each cell's mark: a dash without data, hatching where the CI includes 0, its number when few cells."""
    from matplotlib.patches import Rectangle
    for yi, xi in itertools.product(range(M.shape[0]), range(M.shape[1])):
        v = M[yi, xi]
        if not np.isfinite(v):
            ax.text(xi, yi, "–", ha="center", va="center", fontsize=8, color="#555555")
            continue
        unsure = H is not None and not (np.isfinite(H[yi, xi]) and abs(v) > H[yi, xi])
        if unsure:
            ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, fill=False, hatch="///",
                                   edgecolor="#444444", linewidth=0))
        if small:
            red, green, blue, _ = im.cmap(im.norm(v))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(xi, yi, fmtv.format(v + 0.0 if abs(v) >= 0.005 else 0.0).replace("+0.00", "0.00"), ha="center",
                    va="center", fontsize=8, color="white" if dark and not unsure else "black",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.6) if unsure else None)


def ticks(ax, ctx, yax, xv, yv, first_col):
    lay, n = ctx.lay, ctx.names
    ax.set_xticks(range(len(xv)), [n.fmt(lay.x, v) for v in xv], rotation=45 if len(xv) > 8 else 0)
    ax.set_xlabel(n.axis_title(lay.x))
    if yax:
        ax.set_yticks(range(len(yv)), [n.fmt(yax, v) for v in yv])
        if first_col:
            ax.set_ylabel(n.axis_title(yax))
    else:
        ax.set_yticks([])
