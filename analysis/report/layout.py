"""Where the grid axes go in the sweep figures (Layout), the panels over
the axes given their own row or column (Layout.facets), the lines of the
accuracy figure and the helpers every figure uses to make and save itself."""
import html
import warnings
from typing import NamedTuple

import numpy as np

from .. import results as R
from .names import DPI, MARKERS, PALETTE, STYLES, Names

_COL = object()  # facets(): the layout's own column axis


class Panel(NamedTuple):
    """One panel of a faceted figure: its place in the grid of axes, the
    cube's indices it shows (the held axes too) and its title."""
    row: int  # index into the figure's rows of axes
    col: int  # index into the figure's columns of axes
    select: dict  # axis -> index into the grid
    title: str  # "train.lr = 0.01, n_target = 10" ("" for a single panel)

    def pick(self, cube):
        """The part of a cube (dataset over the cell axes) this panel shows."""
        return cube.isel({k: v for k, v in self.select.items() if k in cube.dims})


class Layout:
    """Where the grid axes go in the sweep figures: x (shift, else n_target,
    else the first axis that varies), one line per value of lambda (for the
    methods lambda changes), one panel column per n_target, one panel row
    per value of one extra axis with at most 4 values; any other axis that
    varies is held at its best value for the transfer method (said in the
    figure and on the page; the interactive view has every value)."""

    def __init__(self, ds, names=None):
        names = names or Names(ds)
        self.ds, self.names = ds, names
        cells = R.cell_axes(ds)
        self.vary = [a for a in cells if ds.sizes[a] > 1]
        order = ["shift", "n_target"] + [a for a in self.vary if a not in ("shift", "n_target")]
        self.x = next((a for a in order if a in self.vary), None)
        self.line = "lambda" if "lambda" in self.vary and self.x != "lambda" else None
        self.col = next((a for a in ("n_target", "shift") if a in self.vary and a not in (self.x, self.line)), None)
        rest = [a for a in self.vary if a not in (self.x, self.line, self.col)]
        # the kind of shift is a question, never held at a "best" value: it gets the rows whatever its size
        self.row = next((a for a in rest if a == "data_shift_kind"), None) or next(
            (a for a in rest if ds.sizes[a] <= 4), None)
        if self.col is None and self.row is not None:  # side by side rather than stacked
            self.col, self.row = self.row, None
        self.fixed = {}  # axis -> index
        self.best_line = best_index(ds, self.line, R.roles(ds)[1]) if self.line else None
        self.notes = []
        self.short_notes = []
        trans = R.roles(ds)[1]
        for a in cells:
            if a in (self.x, self.line, self.col, self.row):
                continue
            if ds.sizes[a] == 1:
                self.fixed[a] = 0
                continue
            i = best_index(ds, a, trans)
            self.fixed[a] = i
            self.notes.append(f"{names.setting(a, ds[a].values[i])} (the best of its {ds.sizes[a]} values for "
                              f"{names.short(trans)}; every value is in the interactive view)")
            self.short_notes.append(names.setting(a, ds[a].values[i]))

    def selection_text(self):
        return "; ".join(self.notes)

    def held_note(self):
        """For a caption (HTML): which values the held axes have."""
        return f" Held fixed: {html.escape(self.selection_text())}." if self.notes else ""

    def figure_note(self):
        """For a figure's title: which values the held axes have."""
        return f"\n(at the best {', '.join(self.short_notes)})" if self.short_notes else ""

    def facet_shape(self, col=_COL):
        """(rows, columns) of panels: one row per value of the row axis, one
        column per value of col (the layout's column axis unless given)."""
        col = self.col if col is _COL else col
        return len(_values(self.ds, self.row)), len(_values(self.ds, col))

    def facets(self, col=_COL):
        """The panels, row by row: each value of the row axis times each value
        of col (the layout's column axis unless given; None: one column), the
        other axes at their held values."""
        col = self.col if col is _COL else col
        ds, names = self.ds, self.names
        for ri, r in enumerate(_values(ds, self.row)):
            for ci, c in enumerate(_values(ds, col)):
                sel = dict(self.fixed)
                if col:
                    sel[col] = c
                if self.row:
                    sel[self.row] = r
                title = ", ".join(([names.setting(self.row, ds[self.row].values[r])] if self.row else [])
                                  + ([names.setting(col, ds[col].values[c])] if col else []))
                yield Panel(ri, ci, sel, title)


def _values(ds, a):
    return list(range(ds.sizes[a])) if a else [None]


def best_index(ds, axis, method):
    try:
        b = R.best_values(ds, axis, method)
        v = b.index[0]
        if np.isfinite(b["accuracy"].iloc[0]):
            return R._index(ds, axis, v)
    except Exception:  # no finished configuration: the first value
        pass
    return 0


def depends_on(ds, m, axis):
    """Whether method m's accuracy changes along axis (lambda changes the
    MMD method, not the SVMs)."""
    if axis is None:
        return False
    acc = R.accuracy(ds, m).values
    ax = list(R.accuracy(ds, m).dims).index(axis)
    with np.errstate(invalid="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmax(acc, axis=ax) - np.nanmin(acc, axis=ax)
    if not np.isfinite(spread).any():
        return m == R.roles(ds)[1]  # no data: draw the transfer method per lambda all the same
    return bool(np.nanmax(spread) > 1e-12)


def line_specs(ds, lay, every=False):
    """(method, line-axis index or None, colour, linestyle, marker, label) of
    every line: the transfer method once per lambda (style and marker per
    lambda, a colour each); another method that lambda changes at the best
    lambda (every=True: per lambda too); the others once."""
    n = lay.names
    trans = R.roles(ds)[1]
    best = lay.best_line if lay.line else None
    specs = []
    k = 0
    for m in R.approaches(ds):
        dep = lay.line and depends_on(ds, m, lay.line)
        if dep and (m == trans or every):
            for j, v in enumerate(ds[lay.line].values):
                specs.append((m, j, PALETTE[k % len(PALETTE)], STYLES[j % len(STYLES)], MARKERS[(j + 1) % len(MARKERS)],
                              f"{n.legend(m)}, {n.setting(lay.line, v)}"))
                k += 1
        elif dep:
            specs.append((m, best, PALETTE[k % len(PALETTE)], "-", "o",
                          f"{n.legend(m)}, {n.setting(lay.line, ds[lay.line].values[best])} (the best)"))
            k += 1
        else:
            specs.append((m, None, PALETTE[k % len(PALETTE)], "-", "o", n.legend(m)))
            k += 1
    return specs


def heat_axes(lay):
    """(y axis, panel column axis) of the heatmaps: rows lambda, columns x,
    one panel per n_target (or, without lambda, n_target as rows)."""
    if lay.line:
        return lay.line, lay.col
    if lay.col:
        return lay.col, None
    return None, None


def partial_note(ds):
    n, done, failed, pending = R.counts(ds)
    return f" (partial: {done} of {n} done)" if pending else ""


def figure_grid(plt, nrows, ncols, w=4.6, h=3.9, sharey=True, extra_w=1.2, extra_h=1.0, constrained=True):
    width = min(14.0, w * ncols + extra_w)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, h * nrows + extra_h), squeeze=False, sharey=sharey,
                             layout="constrained" if constrained else None)
    return fig, axes


def fit_suptitle(fig, text, fontsize=12, margin=0.97):
    """The figure's title, a line wider than the figure wrapped at words
    into lines of about equal length (a centred title wider than a
    one-panel figure was cut off at both ends)."""
    import math
    import textwrap
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width * margin
    t = fig.suptitle(text, fontsize=fontsize)
    for shrink in (1.0, 0.9, 0.8, 0.7):
        if t.get_window_extent(renderer).width <= width:
            break
        lines = []
        for line in text.split("\n"):
            t.set_text(line)
            w = t.get_window_extent(renderer).width
            parts = math.ceil(w / (width * shrink))
            lines.append(textwrap.fill(line, math.ceil(len(line) / parts) + 2) if parts > 1 else line)
        t.set_text("\n".join(lines))
    return t


def fit_legend(fig, handles, labels, fontsize=9, margin=0.98, ncol=None, **kw):
    """A legend under the panels in as many columns as fit the figure's
    width (at most ncol, default one per 2.7 inches); returns it and its
    height as a fraction of the figure's. kw: more of fig.legend's options."""
    width, height = fig.get_size_inches()
    renderer = fig.canvas.get_renderer()
    ncol = max(1, min(len(labels), int(width // 2.7) if ncol is None else ncol))
    while True:
        leg = fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=ncol,
                         fontsize=fontsize, frameon=False, **kw)
        bb = leg.get_window_extent(renderer)
        if bb.width <= fig.bbox.width * margin or ncol == 1:
            return leg, (bb.height + 0.1 * fig.dpi) / fig.bbox.height
        leg.remove()
        ncol -= 1


def legend_below(fig, handles, title):
    """A legend of handles (with their labels) under the panels of a constrained-layout figure, in as
    many columns as fit its width (one row if it can); the figure grows by the legend's height."""
    h = fig.get_figheight()
    leg, frac = fit_legend(fig, handles, [x.get_label() for x in handles], ncol=len(handles), title=title,
                           title_fontsize=9)
    grown = h * (1 + frac)
    fig.set_figheight(grown)
    fig.get_layout_engine().set(rect=(0, frac * h / grown, 1, h / grown))
    return leg


def save(fig, path):
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt
    plt.close(fig)
