"""The kinds of shift (data.shift_kind), drawn from points tlsweep sampled.

    python3 -m analysis.shifts FILE... -o shift_kinds.png

Each FILE is a results file with embeddings (output.embeddings: true): a
sweep over the shift with one data.shift_kind, or with a data_shift_kind
axis. The figure has one column per kind and one row per shift value (at
most 4 per kind, spread over its range): the source points in grey, the
target test points coloured by their label, from the first configuration of
every other axis. docs/selection/shift_kinds.sh makes the README's figure.
"""
import argparse
import os
import sys

import numpy as np

from . import results as R

KIND_TEXT = {"rotation": ("rotation", "{:g}°"), "translation": ("translation", "{:g} source spreads"),
             "scale": ("scale", "spread × {:g}"), "label": ("label", "class 0: {:.0%}"),
             "conditional": ("conditional", "{:.0%} of labels swapped")}
COLORS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#999933", "#56B4E9"]


def _rows(paths, max_shifts):
    """(kind, [(shift, source_x, source_y, target_x, target_y)]) per kind of the files."""
    import xarray as xr
    rows = []
    for p in paths:
        ds = R.load(p)
        grid = R.axes(ds)
        emb = xr.open_dataset(os.fspath(p), group="embeddings")
        kinds = ([R._str(v) for v in ds["data_shift_kind"].values] if "data_shift_kind" in ds.dims
                 else [R.shift_kind(ds)])
        shifts = ds["shift"].values
        pick = np.unique(np.linspace(0, len(shifts) - 1, min(max_shifts, len(shifts))).round().astype(int))
        for ki, kind in enumerate(kinds):
            panels = []
            for si in pick:
                idx = {a: 0 for a in grid}
                idx["shift"] = int(si)
                if "data_shift_kind" in grid:
                    idx["data_shift_kind"] = ki
                one = emb.isel(idx).load()
                labels = [np.where(np.isfinite(y), y, -1).astype(int) for y in (one.source_y.values,
                                                                                 one.target_y.values)]
                panels.append((float(shifts[si]), one.source_x.values[:, :2], labels[0],
                               one.target_x.values[:, :2], labels[1]))
            rows.append((kind, panels))
        emb.close()
    return rows


def plot_shift_kinds(paths, out, max_shifts=4):
    """Writes the figure of every kind in paths (see the module's doc) to out:
    one column per kind (in data.shift_kind's order), one row per shift."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    order = list(KIND_TEXT)
    cols = sorted(_rows(paths, max_shifts), key=lambda r: order.index(r[0]) if r[0] in order else len(order))
    if not cols:
        raise ValueError("no results file given")
    nrows = max(len(p) for _, p in cols)
    fig, axes = plt.subplots(nrows, len(cols), figsize=(2.9 * len(cols) + 0.3, 2.8 * nrows + 0.8), squeeze=False)
    for c, (kind, panels) in enumerate(cols):
        name, fmt_ = KIND_TEXT.get(kind, (kind, "{:g}"))
        pts = np.vstack([np.vstack([p[1], p[3]]) for p in panels])
        ok = np.isfinite(pts).all(1)
        lo, hi = pts[ok].min(0), pts[ok].max(0)
        span = 0.53 * (hi - lo).max()
        mid = (hi + lo) / 2
        for r in range(nrows):
            ax = axes[r][c]
            if r >= len(panels):
                ax.set_axis_off()
                continue
            shift, xs, ys, xt, yt = panels[r]
            for k in np.unique(ys[ys >= 0]):
                ax.scatter(xs[ys == k, 0], xs[ys == k, 1], s=5, color="#999999", alpha=0.25,
                           marker="o" if k % 2 == 0 else "s", linewidths=0)
            for k in np.unique(yt[yt >= 0]):
                ax.scatter(xt[yt == k, 0], xt[yt == k, 1], s=9, color=COLORS[k % len(COLORS)], alpha=0.8,
                           marker="o" if k % 2 == 0 else "s", linewidths=0, label=f"target class {k}")
            ax.set_xlim(mid[0] - span, mid[0] + span)
            ax.set_ylim(mid[1] - span, mid[1] + span)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.25)
            ax.set_title(f"{name}: {fmt_.format(shift)}", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Line2D([], [], marker="o", color="#999999", linestyle="", markersize=4))
    labels.append("source (both classes)")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle("The kinds of shift (data.shift_kind): the target test points as tlsweep draws them "
                 "(coloured by label), the source in grey; first two input coordinates", fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m analysis.shifts", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results files with embeddings")
    ap.add_argument("-o", "--out", default="shift_kinds.png", help="the figure (PNG)")
    ap.add_argument("--max-shifts", type=int, default=4, help="columns per kind (default 4)")
    a = ap.parse_args(argv)
    for p in a.results:
        if not os.path.exists(p):
            print(f"analysis.shifts: {p}: no such file", file=sys.stderr)
            return 2
    print(plot_shift_kinds(a.results, a.out, a.max_shifts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
