"""Figures and an HTML page for a tlsweep results file.

    python3 -m analysis.report results.h5 -o report/ [--config shift=45,lambda=0.5,n_target=50,seed=42]
    tlsweep-report results.h5 -o report/          (installed)

Works on any results file, complete, partial (an interrupted sweep) or with
failed configurations. index.html opens with a headline computed from the
data -- where transfer helps and where it hurts (the crossover shift per
n_target, with a bootstrap interval), which lambda is best, the share of
negative transfer -- then the settings behind it (configuration, version,
commit, hash, dates, how many configurations are done). The figures follow
the axes that vary: accuracy against shift (or n_target when the shift is
fixed) per n_target, the gain of transfer and where negative transfer
happens as heatmaps (cells whose 95% CI includes 0 hatched), the article's
rules of thumb tested on the sweep, an interactive view of the cube
(plotly, offline: plotly.js is written next to index.html), and the
article's four figures for one finished configuration (--config, default
the article's 45 deg, lambda 0.5, 50 labelled points, seed 42 or the
nearest finished one). Extra grid axes (e.g. train.lr) are faceted when
they have few values, otherwise the figures show their best value and say
so. Also writes summary.csv, summary.json and report.json (valid JSON: no
NaN). Progress goes to stderr; the files written to stdout, index.html
last. Exit status 0; 2 for bad arguments; 1 when a figure could not be
drawn (the page is written all the same and says which).
"""
import argparse
import html
import itertools
import os
import shutil
import sys
import time
import traceback

import numpy as np

# matplotlib and seaborn are imported in main(): --help stays fast

from . import results as R

ARTICLE = {"shift": 45.0, "lambda": 0.5, "n_target": 50, "seed": 42}
LABELS = {"scratch": "from scratch (SVM on the target labels)", "direct": "direct transfer (SVM trained on the source)",
          "mmd": "MMD transfer (MLP, CE + λ·MMD², fine-tuned)", "target_mlp": "the same MLP on the target labels only",
          "ensemble": "ensemble (mean of the MMD and target-only MLPs' softmax)"}
SHORT = {"scratch": "training from scratch", "direct": "direct transfer", "mmd": "MMD transfer"}
LEGEND = {"scratch": "scratch (SVM, target labels)", "direct": "direct (SVM trained on source)", "mmd": "MMD transfer",
          "target_mlp": "MLP, target labels only", "ensemble": "ensemble (MMD + target MLP)"}
# Okabe-Ito without its yellow, then Tol's muted colours: distinguishable for colour-blind readers; the
# orange comes late (next to the vermillion of the first line it is hard to tell apart)
PALETTE = ["#D55E00", "#009E73", "#0072B2", "#CC79A7", "#999933", "#56B4E9", "#000000", "#882255", "#E69F00",
           "#44AA99", "#AA4499", "#7F7F7F"]
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
DPI = 100
# what the shift axis means (data.shift_kind), set per file by shift_meaning()
SHIFT_TITLES = {"rotation": ("shift: target rotation (°)", "°"),
                "translation": ("shift: target translation (source class spreads)", ""),
                "scale": ("shift: factor of the target classes' spread", ""),
                "label": ("shift: share of class 0 in the target", ""),
                "conditional": ("shift: share of target labels swapped", ""),
                "mixed": ("shift (its meaning per data.shift_kind)", "")}
SHIFT = {"title": SHIFT_TITLES["rotation"][0], "unit": "°"}
METHOD_NAMES = (dict(LABELS), dict(SHORT), dict(LEGEND))  # before name_methods() renames mmd for a file


def shift_meaning(ds):
    SHIFT["title"], SHIFT["unit"] = SHIFT_TITLES.get(R.shift_kind(ds), SHIFT_TITLES["mixed"])


def shift_text(v, digits=0):
    """A shift in words: 45° for rotations, 0.35 otherwise."""
    return f"{v:.{digits}f}°" if SHIFT["unit"] == "°" else f"{v:.3g}"


def name_methods(ds):
    """The mmd method is the transfer network whatever align.loss aligns it
    with: call it MMD transfer only when the alignment is MMD throughout."""
    import re
    for names, defaults in zip((LABELS, SHORT, LEGEND), METHOD_NAMES):  # nothing left from the previous file
        names.clear()
        names.update(defaults)
    loss = re.search(r"^align:\s*\n(?:\s+.*\n)*?\s+loss:\s*(\S+)", str(ds.attrs.get("config_yaml", "")) + "\n", re.M)
    if "align_loss" in ds.dims or (loss and loss.group(1) != "mmd"):
        what = loss.group(1).upper() if loss and "align_loss" not in ds.dims else "aligned"
        SHORT["mmd"] = f"{what} transfer" if what != "NONE" else "transfer without alignment"
        LEGEND["mmd"] = SHORT["mmd"]
        LABELS["mmd"] = f"{SHORT['mmd']} (MLP, CE + λ·{'alignment loss' if what == 'aligned' else what}, fine-tuned)"
        LEGEND["ensemble"] = "ensemble (transfer + target MLP)"


def log(msg):
    print(f"report: {msg}", file=sys.stderr, flush=True)


def label(m):
    return LABELS.get(m, m)


def short(m):
    return SHORT.get(m, m)


def legend_label(m):
    return LEGEND.get(m, m)


def axis_title(ds, a):
    return {"shift": SHIFT["title"], "lambda": "λ (weight of MMD²)",
            "n_target": "n_target (labelled target points)", "seed": "seed"}.get(a, R.axis_key(ds, a))


def axis_name(ds, a):
    return {"lambda": "λ"}.get(a, R.axis_key(ds, a))


def fmt(ds, a, v):
    """A grid value as text: 45°, 0.5, 10, adam, true."""
    v = R._py(v)
    meanings = str(ds[a].attrs.get("flag_meanings", "")).split() if a in ds.coords else []
    if meanings and isinstance(v, int) and 0 <= v < len(meanings):  # a boolean axis: 0 false, 1 true
        return meanings[v]
    if isinstance(v, float):
        s = f"{v:g}"
    else:
        s = str(v)
    return s + SHIFT["unit"] if a == "shift" else s


def setting(ds, a, v):
    return f"{axis_name(ds, a)} = {fmt(ds, a, v)}"


def numeric(ds, a):
    return ds[a].values.dtype.kind in "iuf"


# ---------------------------------------------------------------- layout: which axes go where

class Layout:
    """Where the grid axes go in the sweep figures: x (shift, else n_target,
    else the first axis that varies), one line per value of lambda (for the
    methods lambda changes), one panel column per n_target, one panel row
    per value of one extra axis with at most 4 values; any other axis that
    varies is held at its best value for the transfer method (said in the
    figure and on the page; the interactive view has every value)."""

    def __init__(self, ds):
        cells = R.cell_axes(ds)
        self.vary = [a for a in cells if ds.sizes[a] > 1]
        order = ["shift", "n_target"] + [a for a in self.vary if a not in ("shift", "n_target")]
        self.x = next((a for a in order if a in self.vary), None)
        self.line = "lambda" if "lambda" in self.vary and self.x != "lambda" else None
        self.col = next((a for a in ("n_target", "shift") if a in self.vary and a not in (self.x, self.line)), None)
        rest = [a for a in self.vary if a not in (self.x, self.line, self.col)]
        self.row = next((a for a in rest if ds.sizes[a] <= 4), None)
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
            self.notes.append(f"{setting(ds, a, ds[a].values[i])} (the best of its {ds.sizes[a]} values for "
                              f"{short(trans)}; every value is in the interactive view)")
            self.short_notes.append(setting(ds, a, ds[a].values[i]))

    def selection_text(self):
        return "; ".join(self.notes)

    def figure_note(self):
        """For a figure's title: which values the held axes have."""
        return f"\n(at the best {', '.join(self.short_notes)})" if self.short_notes else ""


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
        import warnings
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
    trans = R.roles(ds)[1]
    best = lay.best_line if lay.line else None
    specs = []
    k = 0
    for m in R.approaches(ds):
        dep = lay.line and depends_on(ds, m, lay.line)
        if dep and (m == trans or every):
            for j, v in enumerate(ds[lay.line].values):
                specs.append((m, j, PALETTE[k % len(PALETTE)], STYLES[j % len(STYLES)], MARKERS[(j + 1) % len(MARKERS)],
                              f"{legend_label(m)}, {setting(ds, lay.line, v)}"))
                k += 1
        elif dep:
            specs.append((m, best, PALETTE[k % len(PALETTE)], "-", "o",
                          f"{legend_label(m)}, {setting(ds, lay.line, ds[lay.line].values[best])} (the best)"))
            k += 1
        else:
            specs.append((m, None, PALETTE[k % len(PALETTE)], "-", "o", legend_label(m)))
            k += 1
    return specs


def facet_values(ds, a):
    return list(range(ds.sizes[a])) if a else [None]


def pick(cube, ds, lay, col_i, row_i):
    sel = dict(lay.fixed)
    if lay.col:
        sel[lay.col] = col_i
    if lay.row:
        sel[lay.row] = row_i
    return cube.isel({k: v for k, v in sel.items() if k in cube.dims})


def facet_title(ds, lay, ci, ri):
    parts = []
    if lay.row:
        parts.append(setting(ds, lay.row, ds[lay.row].values[ri]))
    if lay.col:
        parts.append(setting(ds, lay.col, ds[lay.col].values[ci]))
    return ", ".join(parts)


def figure_grid(plt, nrows, ncols, w=4.6, h=3.9, sharey=True, extra_w=1.2, extra_h=1.0, constrained=True):
    width = min(14.0, w * ncols + extra_w)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, h * nrows + extra_h), squeeze=False, sharey=sharey,
                             layout="constrained" if constrained else None)
    return fig, axes


def save(fig, path):
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt
    plt.close(fig)


# ---------------------------------------------------------------- sweep figures

def fig_accuracy(ds, cube, lay, path, plt):
    specs = line_specs(ds, lay)
    rows, cols = facet_values(ds, lay.row), facet_values(ds, lay.col)
    fig, axes = figure_grid(plt, len(rows), len(cols), extra_h=0.6 + 0.25 * len(specs) / 2, constrained=False)
    xv = ds[lay.x].values
    xs = xv.astype(float) if numeric(ds, lay.x) else np.arange(len(xv))
    for ri, r in enumerate(rows):
        for ci, c in enumerate(cols):
            ax = axes[ri][ci]
            sub = pick(cube, ds, lay, c, r)
            for m, j, color, ls, mk, lab in specs:
                y, h = sub[f"acc_{m}"], sub[f"acc_{m}_ci95"]
                if lay.line:
                    if j is None:  # the same for every lambda: the lambda with the most seeds per point
                        n = sub[f"n_{m}"].fillna(0)
                        best = n.argmax(lay.line)
                        y, h = y.isel({lay.line: best}), h.isel({lay.line: best})
                    else:
                        y, h = y.isel({lay.line: j}), h.isel({lay.line: j})
                y, h = y.values.astype(float), np.nan_to_num(h.values.astype(float), nan=0.0)
                ax.plot(xs, y, linestyle=ls, marker=mk, color=color, label=lab, linewidth=1.8, markersize=5)
                ax.fill_between(xs, np.clip(y - h, 0, 1), np.clip(y + h, 0, 1), color=color, alpha=0.08, linewidth=0)
            t = facet_title(ds, lay, c, r)
            if t:
                ax.set_title(t, fontsize=11)
            ax.set_xlabel(axis_title(ds, lay.x))
            if not numeric(ds, lay.x):
                ax.set_xticks(xs, [fmt(ds, lay.x, v) for v in xv])
            elif lay.x == "n_target" and xs.min() > 0 and xs.max() / xs.min() >= 8:
                ax.set_xscale("log")
                ax.set_xticks(xs, [fmt(ds, lay.x, v) for v in xv])
            ax.set_ylim(0, 1.02)
            if numeric(ds, lay.x):  # the whole grid, also where a partial sweep has nothing yet
                pad = 0.04 * (xs.max() - xs.min() or 1) if ax.get_xscale() == "linear" else 0
                ax.set_xlim(xs.min() - pad, xs.max() + pad) if ax.get_xscale() == "linear" else None
            ax.grid(alpha=0.3)
            if ci == 0:
                ax.set_ylabel("target test accuracy\n(mean over seeds, 95% CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    width, height = fig.get_size_inches()
    ncol = max(1, min(len(labels), int(width // 2.7)))
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=ncol, fontsize=9,
               frameon=False)
    title = f"Target accuracy against {axis_title(ds, lay.x).split(':')[0]}{partial_note(ds)}"
    title += lay.figure_note()
    fig.suptitle(title, fontsize=12)
    legend_h = (0.15 + 0.22 * -(-len(labels) // ncol)) / height
    fig.tight_layout(rect=(0, legend_h, 1, 1))
    save(fig, path)


def fig_methods_single(ds, cube, path, plt):
    """When no axis but seed varies: one bar per method with its 95% CI."""
    ms = R.approaches(ds)
    fig, ax = plt.subplots(figsize=(9, 4.8))
    one = cube.squeeze()
    for i, m in enumerate(ms):
        y, h = float(one[f"acc_{m}"]), float(one[f"acc_{m}_ci95"])
        ax.bar(i, y if np.isfinite(y) else 0, color=PALETTE[i % len(PALETTE)], alpha=0.85)
        if np.isfinite(h):
            ax.errorbar(i, y, yerr=[[min(h, y)], [min(h, 1 - y)]], color="black", capsize=6)
        ax.text(i, (y if np.isfinite(y) else 0) + 0.02, f"{y:.3f}" if np.isfinite(y) else "no data", ha="center")
    ax.set_xticks(range(len(ms)), [label(m).replace(" (", "\n(") for m in ms], fontsize=9)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("target test accuracy (mean, 95% CI)")
    ax.set_title("Methods compared (the only cell of the grid)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save(fig, path)


def heat_axes(ds, lay):
    """(y axis, panel column axis) of the heatmaps: rows lambda, columns x,
    one panel per n_target (or, without lambda, n_target as rows)."""
    if lay.line:
        return lay.line, lay.col
    if lay.col:
        return lay.col, None
    return None, None


def fig_heatmap(ds, cube, lay, column, title, cbar, cmap, lim=None, hatch_ci=None, fmtv="{:+.2f}", path=None, plt=None):
    from matplotlib.patches import Rectangle
    yax, pcol = heat_axes(ds, lay)
    rows, cols = facet_values(ds, lay.row), facet_values(ds, pcol)
    xv = ds[lay.x].values
    yv = ds[yax].values if yax else [None]
    fig, axes = figure_grid(plt, len(rows), len(cols), w=max(4.4, 0.75 * len(xv) + 1.6),
                            h=max(2.6, 0.5 * len(yv) + 1.6), sharey=False)
    vals = cube[column].values
    if lim is None:
        m = np.nanmax(np.abs(vals)) if np.isfinite(vals).any() else 0.0
        lim = (-max(m, 0.01), max(m, 0.01))
    small = len(xv) * len(yv) <= 200
    im = None
    for ri, r in enumerate(rows):
        for ci, c in enumerate(cols):
            ax = axes[ri][ci]
            sel = dict(lay.fixed)
            if pcol:
                sel[pcol] = c
            if lay.row:
                sel[lay.row] = r
            sub = cube.isel({k: v for k, v in sel.items() if k in cube.dims})
            dims = ([yax] if yax else []) + [lay.x]
            M = sub[column].transpose(*dims).values.astype(float).reshape(len(yv), len(xv))
            H = (sub[hatch_ci].transpose(*dims).values.astype(float).reshape(len(yv), len(xv))
                 if hatch_ci else None)
            ax.set_facecolor("#dddddd")
            im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=lim[0], vmax=lim[1], aspect="auto",
                           origin="lower", interpolation="nearest")
            for yi, xi in itertools.product(range(len(yv)), range(len(xv))):
                v = M[yi, xi]
                if not np.isfinite(v):
                    ax.text(xi, yi, "–", ha="center", va="center", fontsize=8, color="#555555")
                    continue
                unsure = H is not None and not (np.isfinite(H[yi, xi]) and abs(v) > H[yi, xi])
                if unsure:
                    ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, fill=False, hatch="///",
                                           edgecolor="#444444", linewidth=0))
                if small:
                    red, green, blue, _ = im.cmap(im.norm(v))  # not r: the row index of the panel title below
                    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                    ax.text(xi, yi, fmtv.format(v + 0.0 if abs(v) >= 0.005 else 0.0).replace("+0.00", "0.00"), ha="center", va="center", fontsize=8,
                            color="white" if dark and not unsure else "black",
                            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.6) if unsure else None)
            ax.set_xticks(range(len(xv)), [fmt(ds, lay.x, v) for v in xv], rotation=45 if len(xv) > 8 else 0)
            ax.set_xlabel(axis_title(ds, lay.x))
            if yax:
                ax.set_yticks(range(len(yv)), [fmt(ds, yax, v) for v in yv])
                if ci == 0:
                    ax.set_ylabel(axis_title(ds, yax))
            else:
                ax.set_yticks([])
            t = ", ".join(s for s in ([setting(ds, lay.row, ds[lay.row].values[r])] if lay.row else []) +
                          ([setting(ds, pcol, ds[pcol].values[c])] if pcol else []))
            if t:
                ax.set_title(t, fontsize=11)
    fig.colorbar(im, ax=axes.ravel().tolist(), label=cbar, shrink=0.9)
    sup = title + partial_note(ds) + lay.figure_note()
    fig.suptitle(sup, fontsize=12)
    save(fig, path)


def partial_note(ds):
    n, done, failed, pending = R.counts(ds)
    return f" (partial: {done} of {n} done)" if pending else ""


def fig_gain_curve(ds, gain_cube, cross, lay, tuning, path, plt):
    """Gain of transfer over the baseline against shift, one line per
    n_target, at the best tuning setting, with the crossover and its interval."""
    base, trans = R.roles(ds)
    x = ds["shift"].values.astype(float)
    fig, ax = plt.subplots(figsize=(11, 5))
    nts = range(ds.sizes["n_target"])
    sub = gain_cube.isel({k: v for k, v in tuning.items() if k in gain_cube.dims})
    for k in nts:
        color = PALETTE[(k + 2) % len(PALETTE)]
        one = sub.isel(n_target=k)
        y = one[f"gain_{trans}_vs_{base}"].values.astype(float)
        h = np.nan_to_num(one[f"gain_{trans}_vs_{base}_ci95"].values.astype(float), nan=0.0)
        nt = ds["n_target"].values[k]
        ax.plot(x, y, marker=MARKERS[k % len(MARKERS)], linestyle=STYLES[k % len(STYLES)], color=color,
                label=f"n_target = {nt}")
        ax.fill_between(x, np.clip(y - h, -1, 1), np.clip(y + h, -1, 1), color=color, alpha=0.12, linewidth=0)
        c = cross_row(ds, cross, tuning, k)
        if c is not None and c["kind"] == "crosses":
            ax.axvline(c["crossover"], color=color, linestyle=":", linewidth=1.5)
            lo = max(c["lo"], x[0]) if np.isfinite(c["lo"]) else x[0]
            hi = min(c["hi"], x[-1]) if np.isfinite(c["hi"]) else x[-1]
            if np.isfinite(c["lo"]) or np.isfinite(c["hi"]):
                ax.axvspan(lo, hi, color=color, alpha=0.07)
            ax.annotate(shift_text(c["crossover"]), (c["crossover"], 0), textcoords="offset points",
                        xytext=(4, 8 + 14 * k), color=color, fontsize=10, fontweight="bold")
    ax.axhline(0, color="black", linewidth=0.9)
    ax.set_xlim(x[0] - 0.03 * (np.ptp(x) or 1), x[-1] + 0.03 * (np.ptp(x) or 1))
    ax.set_xlabel(axis_title(ds, "shift"))
    ax.set_ylabel(f"gain: acc_{trans} − acc_{base}\n(mean over seeds, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    where = "; ".join(setting(ds, a, ds[a].values[i]) for a, i in tuning.items() if ds.sizes[a] > 1)
    ax.set_title(f"Where {short(trans)} stops beating {short(base)}: dotted line = crossover, shaded = its 95% "
                 f"bootstrap interval" + (f"\n(at {where}){partial_note(ds)}" if where else partial_note(ds)), fontsize=11)
    fig.tight_layout()
    save(fig, path)


def cross_row(ds, cross, tuning, nt_index):
    """The crossover row for n_target index nt_index at the tuning setting."""
    if cross is None or len(cross) == 0:
        return None
    key = []
    for a in cross.index.names:
        i = nt_index if a == "n_target" else tuning.get(a, 0)
        key.append(R._py(ds[a].values[i]))
    try:
        row = cross.loc[tuple(key) if len(key) > 1 else key[0]]
    except KeyError:
        return None
    return row.to_dict()


def fig_rules(ds, rules, path, plt):
    base, trans = R.roles(ds)
    gain = (R.accuracy(ds, trans) - R.accuracy(ds, base))
    g = gain.values.ravel()
    names = [(n, t) for n, t in (("mmd2_input", "MMD² in input space"),
                                 ("mmd2_feat_after", "MMD² in feature space after training"),
                                 ("pad_input", "proxy A-distance, input space"),
                                 ("pad_feat", "proxy A-distance, feature space")) if n in rules]
    fig, axes = plt.subplots(1, len(names), figsize=(14, 4.2), sharey=True, squeeze=False)
    for ax, (name, lab) in zip(axes[0], names):
        x = ds[name].transpose(*gain.dims).values.ravel()
        ok = np.isfinite(x) & np.isfinite(g)
        r = rules[name]
        ax.scatter(x[ok], g[ok], s=10, alpha=0.5, c=np.where(g[ok] < 0, PALETTE[0], PALETTE[2]))
        ax.axvline(r["threshold"], color="black", linestyle="--", linewidth=1,
                   label=f"article's threshold {r['threshold']:g}")
        ax.axhline(0, color="gray", linewidth=0.8)
        ax.set_xlabel(lab, fontsize=9)
        pr, sr = r["pearson_r_with_gain"], r["spearman_rho_with_gain"]
        ax.set_title("r = " + (f"{pr:.2f}" if pr is not None else "n/a") + ", ρ = " +
                     (f"{sr:.2f}" if sr is not None else "n/a"), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(f"gain acc_{trans} − acc_{base}\n(vermillion: negative transfer)")
    fig.suptitle("The article's rules of thumb on this sweep: do domain distances predict the gain of transfer?",
                 fontsize=12)
    fig.tight_layout()
    save(fig, path)


# ---------------------------------------------------------------- choosing lambda without target labels

SCORE_LABELS = {"entropy": "prediction entropy", "snd": "soft neighbourhood density (SND)",
                "mmd2": "MMD² of the features", "pad": "proxy A-distance of the features",
                "iwcv": "importance-weighted validation (IWCV)", "dev": "deep embedded validation (DEV)",
                "target_val": "target validation (held-out labelled target points)",
                "reference": "never aligning (λ = 0)"}


def selection_scores(ds, over="lambda"):
    """The label-free (and held-out) scores to judge, when `over` varies: the
    file's scores but the oracle; [] when there is nothing to select."""
    if over not in ds.dims or ds.sizes[over] < 2:
        return []
    return [n for n in R.scores_in(ds) if n != "oracle"]


def regret_axes(ds, over):
    cells = [a for a in R.axes(ds) if a not in (over, "seed")]
    x = "shift" if "shift" in cells else (cells[0] if cells else None)
    y = "n_target" if "n_target" in cells and x != "n_target" else next((a for a in cells if a != x), None)
    return cells, x, y


def fig_regret(ds, sr, names, lay, over, path, plt):
    """Mean regret over seeds of choosing `over` by each score, as heatmaps
    over (y: n_target, x: shift), one panel per score and one for never
    adapting; other axes at the layout's held values."""
    import xarray as xr
    cells, x, y = regret_axes(ds, over)
    cube = xr.Dataset.from_dataframe(sr) if cells else None
    fixed = {a: lay.fixed.get(a, 0) for a in cells if a not in (x, y)}
    panels = list(names) + ["reference"]
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
        ax.set_xticks(range(len(xv)), [fmt(ds, x, v) for v in xv] if x else [], fontsize=8,
                      rotation=45 if len(xv) > 6 else 0)
        ax.set_yticks(range(len(yv)), [fmt(ds, y, v) for v in yv] if y else [], fontsize=8)
        if x and k // ncols == nrows - 1:
            ax.set_xlabel(axis_title(ds, x), fontsize=8)
        if y and k % ncols == 0:
            ax.set_ylabel(axis_name(ds, y))
        mean = np.nanmean(M) if np.isfinite(M).any() else np.nan
        ax.set_title(f"{SCORE_LABELS.get(n, n)}\nmean regret {mean:.3f}", fontsize=9)
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].set_axis_off()
    fig.colorbar(im, ax=axes.ravel().tolist(), label=f"regret: oracle − picked accuracy (mean over seeds)", shrink=0.9)
    held = "; ".join(setting(ds, a, ds[a].values[i]) for a, i in fixed.items() if ds.sizes[a] > 1)
    fig.suptitle(f"Regret of label-free selection of {axis_name(ds, over)}" + (f" (at {held})" if held else "")
                 + partial_note(ds), fontsize=12)
    save(fig, path)


def selection_sentences(ds, overall, over):
    """One sentence per score (HTML): its mean regret, its gain over never
    adapting, and where it does worst; then never adapting itself."""
    out = []
    ref = R.REFERENCE.get(over)
    ref_txt = f"{axis_name(ds, over)} = {ref:g}" if isinstance(ref, float) else f"{axis_name(ds, over)} = {ref}"

    def pm(v, h):
        return signed(v) + (f" ± {h:.3f}" if h is not None else "")
    for n, o in overall.items():
        if n == "oracle" or o["regret"] is None:
            continue
        where = ""
        if o.get("worst_cell"):
            where = "; worst at " + ", ".join(setting(ds, a, v) for a, v in o["worst_cell"].items()) \
                + f" ({o['worst_regret']:.3f})"
        if n == "reference":
            out.append(f"<b>Never adapting</b> ({ref_txt} always) loses <b>{o['regret']:.3f}</b>"
                       + (f" ± {o['regret_ci95']:.3f}" if o["regret_ci95"] is not None else "")
                       + f" to the oracle{where}.")
            continue
        gain = (f"; against {ref_txt} {pm(o['gain'], o['gain_ci95'])}"
                f" (below it in {pct(o['share_below_reference'])} of the cells × seeds)"
                if o["gain"] is not None and o["share_below_reference"] is not None else "")
        out.append(f"Choosing {axis_name(ds, over)} by <b>{esc(SCORE_LABELS.get(n, n))}</b>: regret "
                   f"<b>{o['regret']:.3f}</b>" + (f" ± {o['regret_ci95']:.3f}" if o["regret_ci95"] is not None else "")
                   + f" (oracle − picked accuracy, mean over the cells, 95% CI over {o['n_seeds']} seeds){gain}{where}.")
    return out


# ---------------------------------------------------------------- one configuration (the article's figures)

def choose_config(ds, spec):
    """The configuration of the article's figures: a finished one, nearest to
    the article's (45°, λ 0.5, 50 labelled points, seed 42) or to --config.
    Returns (indices or None, note)."""
    grid = R.axes(ds)
    by_key = {R.axis_key(ds, a): a for a in grid}
    given = {}
    if spec:
        for part in spec.split(","):
            k, eq, v = part.partition("=")
            k = by_key.get(k.strip(), k.strip())
            if k == "lambda_":
                k = "lambda"
            if not eq or k not in grid:
                raise SystemExit(f"analysis.report: --config: unknown key {k!r}; the axes are "
                                 f"{', '.join(R.axis_key(ds, a) for a in grid)}")
            try:
                given[k] = R._index(ds, k, v.strip())
            except KeyError as e:
                raise SystemExit(f"analysis.report: --config: {e.args[0]}")
    done = (ds["status"] == R.DONE).transpose(*grid).values
    if not done.any():
        return None, "no configuration is finished yet, so there are no figures of one configuration"
    cost = np.zeros(done.shape)
    for d, a in enumerate(grid):
        shape = [1] * len(grid)
        shape[d] = ds.sizes[a]
        if a in given:
            c = (np.arange(ds.sizes[a]) != given[a]) * 1000.0
        elif a in ARTICLE and numeric(ds, a):
            v = ds[a].values.astype(float)
            c = np.abs(v - ARTICLE[a]) / (np.ptp(v) or 1.0)
        else:
            c = np.arange(ds.sizes[a]) * 1e-6  # no preference: the first value
        cost = cost + c.reshape(shape)
    cost[~done] = np.inf
    flat = int(np.argmin(cost))
    idx = dict(zip(grid, np.unravel_index(flat, done.shape)))
    idx = {a: int(i) for a, i in idx.items()}
    note = ""
    if given and any(idx[a] != i for a, i in given.items()):
        note = "the configuration asked for with --config is not finished: these figures show the nearest finished one"
    return idx, note


def title_of(ds, c):
    return ", ".join(setting(ds, a, ds[a].values[i]) for a, i in c.items())


def fig_domains(ds, emb, c, path, plt):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True)
    for ax, x, y, name in ((axes[0], emb.source_x.values, emb.source_y.values, "Source domain"),
                           (axes[1], emb.target_x.values, emb.target_y.values, "Target domain (test set)")):
        y = y.astype(int)
        for k in np.unique(y):
            ax.scatter(x[y == k, 0], x[y == k, 1], s=12, alpha=0.6, color=PALETTE[(k * 2) % len(PALETTE)],
                       label=f"class {k}")
        ax.set_title(name)
        ax.set_xlabel("x₀ (input units)")
        ax.set_ylabel("x₁ (input units)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Domains: {title_of(ds, c)}")
    fig.tight_layout()
    save(fig, path)


def fig_methods(ds, c, path, plt):
    ms = R.approaches(ds)
    one = ds.isel(c)
    cell = ds.isel({a: i for a, i in c.items() if a != "seed"})
    import textwrap
    fig, ax = plt.subplots(figsize=(min(14, 2.0 * len(ms) + 2), 5.2))
    accs = [R.accuracy(cell, m) for m in ms]
    means = [float(x.mean(skipna=True)) if x.count() else np.nan for x in accs]
    sds = [float(x.std(skipna=True, ddof=1)) if x.count() > 1 else 0.0 for x in accs]
    for i, m in enumerate(ms):
        a = float(one[f"acc_{m}"])
        ax.bar(i, a if np.isfinite(a) else 0, color=PALETTE[i % len(PALETTE)], alpha=0.85,
               label="this seed" if i == 0 else None)
        top = max(a if np.isfinite(a) else 0, (means[i] + sds[i]) if np.isfinite(means[i]) else 0)
        ax.text(i + 0.2, top + 0.015, f"{a:.3f}" if np.isfinite(a) else "failed", ha="left",
                va="bottom", fontweight="bold")
    n = int(cell["status"].count())
    ax.errorbar(range(len(ms)), means, yerr=sds, fmt="o", color="black", capsize=6,
                label=f"mean ± sd over the finished seeds of this cell ({n} seeds)")
    ax.set_xticks(range(len(ms)), [textwrap.fill(legend_label(m), 18) for m in ms], fontsize=9)
    ax.set_ylim(0, 1.25)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"Methods compared: {title_of(ds, c)}", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", ncol=2, fontsize=9)
    fig.tight_layout()
    save(fig, path)


def fig_tsne(ds, emb, c, path, plt):
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits
    fs, ft = emb.source_features.values, emb.target_features.values
    rng = np.random.default_rng(0)  # at most 500 source points: t-SNE's cost grows faster than n
    keep = np.sort(rng.choice(len(fs), size=min(len(fs), 500), replace=False))
    fs, ys = fs[keep], emb.source_y.values[keep].astype(int)
    yt = emb.target_y.values.astype(int)
    both = np.vstack([fs, ft]).astype(np.float64)
    with threadpool_limits(1):  # one thread: several OpenMP threads on busy cores are slower (2-3x here)
        xy = TSNE(n_components=2, random_state=0, init="pca", learning_rate="auto", n_iter=500,
                  perplexity=min(30, max(5, len(both) // 4))).fit_transform(both)
    s, t = xy[:len(fs)], xy[len(fs):]
    fig, ax = plt.subplots(figsize=(9, 7))
    for k in np.unique(ys):
        ax.scatter(s[ys == k, 0], s[ys == k, 1], s=14, alpha=0.35, marker="o", color=PALETTE[(k * 2) % len(PALETTE)],
                   label=f"source class {k}")
    for k in np.unique(yt):
        ax.scatter(t[yt == k, 0], t[yt == k, 1], s=40, alpha=0.9, marker="^", color=PALETTE[(k * 2) % len(PALETTE)],
                   edgecolor="black", linewidth=0.4, label=f"target class {k}")
    sub = f" ({len(fs)} of {len(emb.source_features)} source points)" if len(fs) < len(emb.source_features) else ""
    ax.set_title(f"t-SNE of the learned features after fine-tuning{sub}\n{title_of(ds, c)}", fontsize=11)
    ax.set_xlabel("t-SNE 1 (arbitrary units)")
    ax.set_ylabel("t-SNE 2 (arbitrary units)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, path)


def fig_confusion(ds, c, path, plt):
    ms = R.approaches(ds)
    one = ds.isel(c)
    fig, axes = plt.subplots(1, len(ms), figsize=(min(14, 4.6 * len(ms)), 4.4), squeeze=False)
    for ax, m in zip(axes[0], ms):
        cm = one["confusion"].sel(approach=m).values
        acc = float(one[f"acc_{m}"])
        if not np.isfinite(cm).all():
            ax.text(0.5, 0.5, f"{m}: failed", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        cm = cm.astype(int)
        ax.imshow(cm, cmap="Greys", vmin=0)
        for i, j in itertools.product(range(cm.shape[0]), range(cm.shape[1])):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=10)
        ax.set_xticks(range(cm.shape[1]))
        ax.set_yticks(range(cm.shape[0]))
        ax.set_title(f"{legend_label(m)}\naccuracy {acc:.3f}", fontsize=9)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    fig.suptitle(f"Confusion matrices (test points): {title_of(ds, c)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)


def fig_learning_curves(ds, c, path, plt):
    panels = [("ce_epoch", "epoch", "Source cross-entropy", "nats"),
              ("mmd2_epoch", "epoch", "Alignment loss (MMD²)", "MMD² (source batch vs target)"),
              ("finetune_ce", "finetune_epoch", "Fine-tuning cross-entropy", "nats (labelled target points)"),
              ("target_mlp_ce", "target_epoch", "Target-only MLP cross-entropy", "nats (labelled target points)")]
    panels = [p for p in panels if p[0] in ds and ds.sizes.get(p[1], 0)]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(14, 4.7 * len(panels)), 4.3), squeeze=False)
    axes = axes[0]
    lam = "lambda" if "lambda" in ds.dims else None
    values = range(ds.sizes[lam]) if lam else [None]
    for j in values:
        cc = dict(c)
        if lam:
            cc[lam] = j
        one = ds.isel(cc)
        if int(one["status"].fillna(0)) != R.DONE:
            continue
        lab = setting(ds, lam, ds[lam].values[j]) if lam else None
        kw = dict(color=PALETTE[(j or 0) % len(PALETTE)], linestyle=STYLES[(j or 0) % len(STYLES)], label=lab)
        for ax, (var, dim, _, _) in zip(axes, panels):
            ax.plot(ds[dim], one[var], **kw)
    for ax, (_, _, t, y) in zip(axes, panels):
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(y)
        ydata = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()] or [np.array([])])
        ydata = ydata[np.isfinite(ydata)]
        if ydata.size and np.all(ydata > 0) and ydata.max() / ydata.min() > 20:  # log only over decades
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax.get_lines() and lam:
            ax.legend(fontsize=8)
    rest = {a: i for a, i in c.items() if a != lam}
    fig.suptitle(f"Learning curves: {title_of(ds, rest)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)


# ---------------------------------------------------------------- the interactive view (plotly, offline)

def interactive(ds, cube, lay):
    """An HTML fragment: every line of the accuracy figure for every
    combination of the other axes, chosen from a menu. None without plotly."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return None, "plotly is not installed (Debian: python3-plotly), so there is no interactive view"
    others = [a for a in lay.vary if a not in (lay.x, lay.line)]
    combos = list(itertools.product(*[range(ds.sizes[a]) for a in others])) or [()]
    specs = line_specs(ds, lay, every=True)
    xv = [R._py(v) for v in ds[lay.x].values]
    fig = go.Figure()
    for ci, combo in enumerate(combos):
        sel = dict(zip(others, combo))
        sel.update({a: 0 for a in R.cell_axes(ds) if a not in others and a not in (lay.x, lay.line)})
        sub = cube.isel({k: v for k, v in sel.items() if k in cube.dims})
        for m, j, color, ls, mk, lab in specs:
            y, h, n = sub[f"acc_{m}"], sub[f"acc_{m}_ci95"], sub[f"n_{m}"]
            if lay.line:
                k = j if j is not None else n.fillna(0).argmax(lay.line)
                y, h, n = y.isel({lay.line: k}), h.isel({lay.line: k}), n.isel({lay.line: k})
            dash = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}[ls]
            fig.add_trace(go.Scatter(
                x=xv, y=[None if not np.isfinite(v) else float(v) for v in y.values],
                error_y=dict(type="data", array=[0 if not np.isfinite(v) else float(v) for v in h.values],
                             visible=True, thickness=1),
                customdata=[int(v) for v in n.values], mode="lines+markers", name=lab, visible=ci == 0,
                line=dict(color=color, dash=dash), legendgroup=lab,
                hovertemplate=f"{lab}<br>{axis_name(ds, lay.x)} = %{{x}}<br>accuracy %{{y:.3f}} ± "
                              f"%{{error_y.array:.3f}}<br>%{{customdata}} seeds<extra></extra>"))
    per = len(specs)
    buttons = []
    for ci, combo in enumerate(combos):
        vis = [False] * (per * len(combos))
        vis[ci * per:(ci + 1) * per] = [True] * per
        name = ", ".join(setting(ds, a, ds[a].values[i]) for a, i in zip(others, combo)) or "the grid"
        buttons.append(dict(label=name, method="update", args=[{"visible": vis}]))
    fig.update_layout(
        height=560, margin=dict(l=60, r=20, t=60, b=50), template="plotly_white",
        xaxis_title=axis_title(ds, lay.x), yaxis_title="target test accuracy (mean, 95% CI)",
        yaxis=dict(range=[0, 1.02]), legend=dict(font=dict(size=11)),
        updatemenus=[dict(buttons=buttons, direction="down", x=0, xanchor="left", y=1.13, yanchor="top",
                          showactive=True)] if len(combos) > 1 else [])
    frag = fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})
    return frag, ""


def write_plotlyjs(out):
    """plotly.js next to index.html, from the installed plotly package (no network at view time)."""
    from plotly.offline import get_plotlyjs
    with open(os.path.join(out, "plotly.js"), "w", encoding="utf-8") as f:
        f.write(get_plotlyjs())


# ---------------------------------------------------------------- the headline, in words

def pct(x):
    return f"{100 * x:.0f}%"


def signed(x):
    t = f"{x:+.3f}"
    return "0.000" if t in ("+0.000", "-0.000") else t.replace("-", "−")


def interval_text(c, unit=None, seeds=True):
    """The bootstrap interval of a crossover in words."""
    unit = SHIFT["unit"] if unit is None else unit
    lo, hi = c["lo"], c["hi"]
    if np.isnan(lo) or np.isnan(hi):
        return "no interval with fewer than 2 seeds"
    over = f", bootstrap over {c['n_seeds']} seeds" if seeds else ""
    if lo == -np.inf and hi == np.inf:
        return "not pinned down: the 95% interval spans the whole grid" + over
    def bound(v):
        return (f"{c['first']:g}{unit} or earlier" if v == -np.inf else f"beyond {c['last']:g}{unit}"
                if v == np.inf else shift_text(v) if unit == SHIFT["unit"] else f"{v:.0f}{unit}")
    a, b = bound(lo), bound(hi)
    if a == b:
        return f"95% interval {a}" + over
    return f"95% interval {a} to {b}" + over


def covered(ds, c):
    """"at every shift ..." for a crossover row: all of the grid, or (partial) those with data."""
    a, b = fmt(ds, "shift", c["data_first"]), fmt(ds, "shift", c["data_last"])
    if c["n_points"] == ds.sizes["shift"]:
        return f"at every shift swept</b> ({a}–{b}"
    if c["n_points"] == 1:
        return f"at the only shift finished so far</b> ({a}, of {fmt(ds, 'shift', c['first'])}–{fmt(ds, 'shift', c['last'])}"
    return (f"at every shift finished so far</b> ({c['n_points']} of {ds.sizes['shift']}: {a}–{b}, of "
            f"{fmt(ds, 'shift', c['first'])}–{fmt(ds, 'shift', c['last'])}")


def headline(ds, cube, lay, cross, best, tuning, info):
    """Sentences (HTML) that say what the sweep found, computed from the data."""
    base, trans = R.roles(ds)
    out = []
    n, done, failed, pending = info["counts"]
    if done == 0:
        why = " and ".join(x for x in (f"{failed} failed" if failed else "", f"{pending} pending" if pending else "") if x)
        out.append(f"<b>No configuration is finished</b> (0 of {n} done: {why}), so there is nothing to conclude yet.")
        if failed:
            out.append(f"The most frequent reason for failing: <i>{html.escape(info['top_reason'])}</i>.")
        ran = [m for m, (d, f) in info["methods"].items() if d]
        if ran:
            out.append("What did run: " + ", ".join(f"{short(m)} in {info['methods'][m][0]} configurations"
                                                   for m in ran) + " (the accuracy figure shows them).")
        return out
    gcol = f"gain_{trans}_vs_{base}"
    tun = ", ".join(setting(ds, a, ds[a].values[i]) for a, i in tuning.items() if ds.sizes[a] > 1)
    at = f" at the best {tun}" if tun else ""
    lead = (f"From the {done} finished configurations" + (f" (of {n}: partial)" if pending else "")
            + (f", at the best {tun}" if tun else "") + ": ")
    if "shift" in lay.vary and cross is not None:
        parts = []
        for k in range(ds.sizes["n_target"]):
            c = cross_row(ds, cross, tuning, k)
            nt = ds["n_target"].values[k]
            who = f"with n_target = {nt}" if ds.sizes["n_target"] > 1 else f"with {nt} labelled target points"
            if c is None or c["kind"] == "no data":
                parts.append(f"{who}: no finished pair of {short(trans)} and {short(base)}")
            elif c["kind"] == "crosses":
                parts.append(f"{who}, {short(trans)} beats {short(base)} up to a shift of about "
                             f"<b>{shift_text(c['crossover'])}</b> and hurts beyond it ({interval_text(c)})")
            else:
                verb = f"beats {short(base)}" if c["kind"] == "helps everywhere" else f"is below {short(base)}"
                iv = f"; {interval_text(c)}" if c["n_points"] > 1 else ""
                parts.append(f"{who}, {short(trans)} <b>{verb} {covered(ds, c)}{iv})")
        out.append(lead + "; ".join(parts) + ".")
    else:
        sub = cube.isel({k: v for k, v in tuning.items() if k in cube.dims})
        parts = []
        fixed = [a for a in sub[gcol].dims if sub.sizes[a] == 1]
        if fixed:
            lead += "at " + ", ".join(setting(ds, a, sub[a].values[0]) for a in fixed) + ", "
        for idx in np.ndindex(*[sub.sizes[a] for a in sub[gcol].dims]):
            d = dict(zip(sub[gcol].dims, idx))
            g, h = float(sub[gcol].isel(d)), float(sub[f"{gcol}_ci95"].isel(d))
            where = ", ".join(setting(ds, a, sub[a].values[i]) for a, i in d.items() if a not in fixed) or "the only cell"
            if not np.isfinite(g):
                parts.append(f"at {where}: no finished pair")
            elif np.isfinite(h) and g - h > 0:
                parts.append(f"at {where} it <b>helps</b> ({signed(g)} ± {h:.3f})")
            elif np.isfinite(h) and g + h < 0:
                parts.append(f"at {where} it <b>hurts</b> ({signed(g)} ± {h:.3f})")
            else:
                parts.append(f"at {where} it makes no clear difference ({signed(g)}"
                             + (f" ± {h:.3f})" if np.isfinite(h) else ", one seed)"))
        out.append(lead + f"{short(trans)} against {short(base)}: " + "; ".join(parts) + ".")
    for a, b in best.items():
        if ds.sizes[a] < 2 or not np.isfinite(b["accuracy"].iloc[0]):
            continue
        first = b.index[0]
        rest = ", ".join(f"{setting(ds, a, v)} is {abs(r['diff_to_best']):.3f} lower"
                         + (f" (± {r['diff_to_best_ci95']:.3f})" if np.isfinite(r["diff_to_best_ci95"]) else "")
                         for v, r in b.iloc[1:].iterrows() if np.isfinite(r["accuracy"]))
        out.append(f"Best {axis_name(ds, a)} for {short(trans)}: <b>{setting(ds, a, first)}</b>, mean accuracy "
                   f"{b['accuracy'].iloc[0]:.3f} over the {int(b['configurations'].iloc[0])} configurations "
                   f"where every {axis_name(ds, a)} finished" + (f"; {rest} (paired, 95% CI over seeds)." if rest else "."))
    if failed:
        bad = [f"{short(m)} in {f}" for m, (d, f) in info["methods"].items() if f]
        out.append(f"{failed} configuration{'s' if failed > 1 else ''} failed"
                   + (f" ({', '.join(bad)})" if bad else "") + f"; most often: <i>{html.escape(info['top_reason'])}</i> "
                   "(listed below).")
    neg = info["negative"]
    if neg["pairs"]:
        s = (f"<b>Negative transfer</b> ({short(trans)} below {short(base)}) in <b>{pct(neg['share'])}</b> of the "
             f"{neg['pairs']} configurations where both finished")
        if neg.get("pairs_best") and tun:
            s += f"; {pct(neg['share_best'])} of {neg['pairs_best']}{at}"
        out.append(s + ".")
    if lay.notes:
        out.append("Extra axes: the figures show " + html.escape(lay.selection_text()) + ".")
    return out


def negative_info(ds, tuning):
    base, trans = R.roles(ds)
    a, b = R.accuracy(ds, trans), R.accuracy(ds, base)
    both = np.isfinite(a) & np.isfinite(b)
    res = {"pairs": int(both.sum()), "share": float(((a < b) & both).sum() / max(int(both.sum()), 1))}
    sel = {k: v for k, v in tuning.items() if ds.sizes[k] > 1}
    if sel:
        bb = both.isel(sel)
        res["pairs_best"] = int(bb.sum())
        res["share_best"] = float(((a < b).isel(sel) & bb).sum() / max(int(bb.sum()), 1))
    return res


# ---------------------------------------------------------------- the page

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1.2em 2em;max-width:1400px;
     color:#222;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin:.2em 0 .4em} h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
.headline{background:#f3f7fb;border-left:5px solid #0072B2;padding:.6em 1.2em;margin:1em 0}
.headline li{margin:.35em 0}
.status{display:inline-block;padding:.15em .6em;border-radius:4px;font-weight:600}
.complete{background:#dff3e4;color:#1b5e20} .partial{background:#fff1d6;color:#8a5300} .none{background:#fde0dc;color:#a01b0b}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
td,th{border:1px solid #d5d5d5;padding:3px 8px} th{background:#f4f4f4;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.pos{background:#e3f1fb} td.neg{background:#fbe5dc}
table.settings td:first-child{font-weight:600;white-space:nowrap;vertical-align:top}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
.caption{color:#555;font-size:13px;margin:.2em 0 1.2em}
.error{color:#a01b0b;font-weight:600}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
code{font-size:13px}
"""


def esc(s):
    return html.escape(str(s))


def settings_table(ds, path, info):
    a = ds.attrs
    n, done, failed, pending = info["counts"]
    rows = [("results file", f"<code>{esc(os.path.abspath(path))}</code>")]
    state = f"{done} of {n} done" + (" (partial)" if pending else " (all failed)" if failed == n else " (complete)")
    if failed:
        state += f", {failed} failed"
    if pending:
        state += (f", {pending} pending: resume with <code>mpirun -n P tlsweep run -o {esc(os.path.basename(path))} "
                  f"--resume</code> (or <code>scripts/run.sh -o {esc(os.path.basename(path))} ... --resume</code>)")
    rows.append(("configurations", state))
    grid = []
    for ax in R.axes(ds):
        vals = ", ".join(fmt(ds, ax, v) for v in ds[ax].values)
        extra = " (extra axis)" if ax not in R.NAMED_AXES else ""
        grid.append(f"<code>{esc(R.axis_key(ds, ax))}</code>{extra}: {esc(vals)}")
    rows.append(("grid", " &nbsp;·&nbsp; ".join(grid)))
    rows.append(("methods", " &nbsp;·&nbsp; ".join(f"<code>{esc(m)}</code>: {esc(label(m))}" for m in R.approaches(ds))))
    commit = str(a.get("tlsweep_commit", ""))
    rows.append(("tlsweep", f"version {esc(a.get('tlsweep_version', '?'))}, commit <code title='{esc(commit)}'>"
                            f"{esc(commit[:12] or '?')}</code>" + (f", {esc(a['compiler'])}" if "compiler" in a else "")
                            + f" &nbsp;·&nbsp; configuration hash <code>{esc(a.get('config_hash', '?'))}</code> from "
                              f"{esc(a.get('config_source', '?'))}"))
    rows.append(("date (UTC)", f"started {esc(a.get('started', '?'))}, finished {esc(a.get('finished', '?'))}"
                               f"; {esc(a.get('runs', 1))} run(s) on {esc(a.get('nranks', '?'))} rank(s)"))
    libs = ", ".join(f"{k.replace('_version', '')} {esc(a[k])}" for k in ("hdf5_version", "mpi_version",
                                                                        "libsvm_version", "mmd_kernel") if k in a)
    if "data_mode" in a or libs:
        rows.append(("data, libraries", " &nbsp;·&nbsp; ".join(x for x in (esc(a.get("data_mode", "")), libs) if x)))
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    runs = run_table(ds)
    yaml = a.get("config_yaml", "")
    hist = a.get("history", "")
    return (f"<table class='settings'>{body}</table>{runs}"
            f"<details><summary>effective configuration (YAML)</summary><pre>{esc(yaml)}</pre></details>"
            + (f"<details><summary>history</summary><pre>{esc(hist)}</pre></details>" if hist else ""))


def run_table(ds):
    cols = ["run_started", "run_finished", "run_command", "run_ranks", "run_hosts", "run_slurm_job",
            "run_exit_status", "run_version"]
    have = [c for c in cols if c in ds.attrs]
    if not have:
        return ""
    arrays = {c: [str(R._py(v)) for v in np.atleast_1d(ds.attrs[c])] for c in have}
    n = max(len(v) for v in arrays.values())
    head = "".join(f"<th>{esc(c[4:].replace('_', ' '))}</th>" for c in have)
    body = "".join("<tr>" + "".join(f"<td>{esc(arrays[c][i]) if i < len(arrays[c]) else ''}</td>" for c in have)
                   + "</tr>" for i in range(n))
    return f"<details><summary>runs ({n})</summary><table><tr>{head}</tr>{body}</table></details>"


def summary_table(ds, summ):
    """The summary, readable: mean ± CI per method, the gain of transfer, the
    negative-transfer share, counts; cells coloured where the gain's CI
    excludes 0."""
    base, trans = R.roles(ds)
    ms = R.approaches(ds)
    cells = list(summ.index.names) if summ.index.nlevels > 1 or summ.index.name else []
    df = summ.reset_index() if cells else summ
    heads = [esc(axis_name(ds, a)) for a in cells] + ["done"] + [f"acc {esc(m)}" for m in ms]
    gcol = f"gain_{trans}_vs_{base}"
    if gcol in df:
        heads.append(f"gain {esc(trans)} − {esc(base)}")
    if "negative_transfer_share" in df:
        heads.append("negative transfer")
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    for _, r in df.iterrows():
        tds = [f"<td class='num'>{esc(fmt(ds, a, r[a]))}</td>" for a in cells]
        tot = int(r["n_done"] + r["n_failed"] + r["n_pending"])
        d = f"{int(r['n_done'])}/{tot}"
        if r["n_failed"]:
            d += f", {int(r['n_failed'])} failed"
        tds.append(f"<td class='num'>{d}</td>")
        for m in ms:
            v, h = r[f"acc_{m}"], r[f"acc_{m}_ci95"]
            tds.append(f"<td class='num'>{'–' if not np.isfinite(v) else f'{v:.3f}'}"
                       f"{'' if not np.isfinite(h) else f' ± {h:.3f}'}</td>")
        if gcol in df:
            g, h = r[gcol], r[f"{gcol}_ci95"]
            cls = "pos" if np.isfinite(h) and g - h > 0 else "neg" if np.isfinite(h) and g + h < 0 else ""
            tds.append(f"<td class='num {cls}'>{'–' if not np.isfinite(g) else signed(g)}"
                       f"{'' if not np.isfinite(h) else f' ± {h:.3f}'}</td>")
        if "negative_transfer_share" in df:
            v = r["negative_transfer_share"]
            tds.append(f"<td class='num'>{'–' if not np.isfinite(v) else pct(v)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "".join(out)


def failures_table(ds, limit=50):
    st = ds["status"]
    grid = R.axes(ds)
    bad = np.argwhere(st.transpose(*grid).values == R.FAILED)
    if not len(bad):
        return ""
    reason = ds["reason"].transpose(*grid).values if "reason" in ds else None
    head = "".join(f"<th>{esc(R.axis_key(ds, a))}</th>" for a in grid) + "<th>reason</th>"
    rows = []
    for pos in bad[:limit]:
        r = reason[tuple(pos)] if reason is not None else ""
        r = R._str(r) if isinstance(r, (str, bytes)) else ""
        rows.append("<tr>" + "".join(f"<td class='num'>{esc(fmt(ds, a, ds[a].values[i]))}</td>" for a, i in
                                     zip(grid, pos)) + f"<td>{esc(r)}</td></tr>")
    more = f"<p class='caption'>and {len(bad) - limit} more (tlsweep status lists all).</p>" if len(bad) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def rules_html(rules):
    rows = []
    for name, thr in R.RULES:
        if name not in rules:
            continue
        r = rules[name]

        def f(v, spec):
            return "–" if v is None else format(v, spec)
        rows.append(f"<tr><td>{name}</td><td class='num'>{thr:g}</td><td class='num'>{f(r['pearson_r_with_gain'], '.3f')}</td>"
                    f"<td class='num'>{f(r['spearman_rho_with_gain'], '.3f')}</td><td class='num'>{r['n_below']}</td>"
                    f"<td class='num'>{f(r['negative_share_below'], '.3f')}</td><td class='num'>{f(r['mean_gain_below'], '+.4f')}</td>"
                    f"<td class='num'>{r['n_above']}</td><td class='num'>{f(r['negative_share_above'], '.3f')}</td>"
                    f"<td class='num'>{f(r['mean_gain_above'], '+.4f')}</td></tr>")
    return ("<table><tr><th>distance</th><th>threshold</th><th>Pearson r</th><th>Spearman ρ</th><th>n below</th>"
            "<th>negative share below</th><th>mean gain below</th><th>n above</th><th>negative share above</th>"
            f"<th>mean gain above</th></tr>{''.join(rows)}</table>")


def crossover_html(ds, cross):
    if cross is None or not len(cross):
        return ""
    df = cross.reset_index()
    names = list(cross.index.names)
    head = "".join(f"<th>{esc(axis_name(ds, a))}</th>" for a in names) + "<th>transfer stops helping at</th><th>95% interval</th><th>seeds</th>"
    rows = []
    for _, r in df.iterrows():
        c = r.to_dict()
        if c["kind"] == "crosses":
            where = shift_text(c["crossover"], 1)
        else:
            u = SHIFT["unit"]
            where = {"no data": "no data", "helps everywhere": f"helps everywhere up to {c['data_last']:g}{u}",
                     "hurts everywhere": f"hurts from {c['data_first']:g}{u} on"}[c["kind"]]
            if c["kind"] != "no data" and c["n_points"] < ds.sizes["shift"]:
                where += f" ({c['n_points']} of {ds.sizes['shift']} shifts finished)"
        iv = interval_text(c, seeds=False).replace("95% interval ", "") if c["kind"] != "no data" else ""
        rows.append("<tr>" + "".join(f"<td class='num'>{esc(fmt(ds, a, c[a]))}</td>" for a in names)
                    + f"<td class='num'>{esc(where)}</td><td class='num'>{esc(iv)}</td><td class='num'>{c['n_seeds']}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def write_index(out, path, ds, info, heads, settings, sections):
    n, done, failed, pending = info["counts"]
    if done == 0:
        cls, state = "none", f"{done} of {n} done" + (" (partial)" if pending else "")
    elif pending:
        cls, state = "partial", f"{done} of {n} done (partial)"
    else:
        cls, state = "complete", f"{done} of {n} done"
    if failed:
        state += f", {failed} failed"
    head_js = "<script src='plotly.js' charset='utf-8'></script>" if info.get("plotly") else ""
    body = "".join(sections)
    items = "".join(f"<li>{h}</li>" for h in heads)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlsweep report: {esc(os.path.basename(path))}</title>
<style>{CSS}</style>{head_js}</head><body>
<h1>tlsweep report: {esc(os.path.basename(path))} <span class="status {cls}">{esc(state)}</span></h1>
<div class="headline"><ul>{items}</ul></div>
<h2>Settings</h2>
{settings}
{body}
<p class="caption">Written by analysis.report at {esc(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()))}.
Tables as data: <a href="summary.csv">summary.csv</a>, <a href="summary.json">summary.json</a>,
<a href="report.json">report.json</a>.</p>
</body></html>
"""
    p = os.path.join(out, "index.html")
    with open(p, "w", encoding="utf-8") as f:
        f.write(page)
    return p


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m analysis.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="a tlsweep results file")
    ap.add_argument("-o", "--out", default="report", help="output directory (default report/)")
    ap.add_argument("--config", help="the configuration of the article's figures, e.g. "
                                     "shift=45,lambda=0.5,n_target=50,seed=42 (extra axes by key: train.lr=0.01)")
    a = ap.parse_args(None if argv is None else [os.fspath(x) for x in argv])  # paths may be os.PathLike
    if not os.path.exists(a.results):
        print(f"analysis.report: {a.results}: no such file", file=sys.stderr)
        return 2
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        print(f"analysis.report: -o {a.out}: exists and is not a directory; allowed: a directory "
              "(made if missing)", file=sys.stderr)
        return 2
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        print(f"analysis.report: -o {a.out}: cannot make the directory: {e.strerror}; allowed: a "
              "directory that can be written", file=sys.stderr)
        return 2
    t0 = time.time()
    log(f"reading {a.results}")
    try:
        ds = R.load(a.results)
    except Exception as e:  # not a results file, or one no engine reads
        print(f"analysis.report: {a.results}: cannot read it: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    ds = ds.load()
    ds.close()
    try:
        c, c_note = choose_config(ds, a.config)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11})

    counts = R.counts(ds)
    n, done, failed, pending = counts
    log(f"{n} configurations: {done} done, {failed} failed, {pending} pending"
        + (" (partial)" if pending else ""))
    base, trans = R.roles(ds)
    name_methods(ds)
    shift_meaning(ds)
    lay = Layout(ds)
    cube = R.summary_cube(ds)
    summ = R.summary(ds)
    rules = R.rules_of_thumb(ds)
    tuning = {ax: best_index(ds, ax, trans) for ax in R.cell_axes(ds) if ax not in ("shift", "n_target")}
    best = {ax: R.best_values(ds, ax, trans) for ax in tuning if ds.sizes[ax] > 1}
    cross = None
    if "shift" in lay.vary:
        log("where transfer stops helping (bootstrap over seeds)")
        cross = R.crossover(ds)
    reasons = {}
    if "reason" in ds:
        for r in ds["reason"].values.ravel():
            if isinstance(r, (str, bytes)) and R._str(r):
                reasons[R._str(r)] = reasons.get(R._str(r), 0) + 1
    methods = {m: (int(R.method_done(ds, m).sum()),
                   int((ds["approach_status"].sel(approach=m) == R.FAILED).sum()) if "approach_status" in ds else 0)
               for m in R.approaches(ds)}
    info = {"counts": counts, "negative": negative_info(ds, tuning), "methods": methods,
            "top_reason": max(reasons, key=reasons.get) if reasons else ""}
    heads = headline(ds, cube, lay, cross, best, tuning, info)
    sel_names = selection_scores(ds)
    regret_sum, regret_all = None, {}
    if sel_names:
        log("selection scores: what choosing lambda without target labels would give")
        regret_sum = R.summary_regret(ds, scores=sel_names)
        regret_all = R.regret_overall(ds, scores=sel_names)
        heads += selection_sentences(ds, regret_all, "lambda")

    errors = []
    written = []
    sections = []

    def figure(name, title, fn, *args, caption=""):
        p = os.path.join(a.out, name)
        log(f"figure {name}")
        try:
            fn(*args, path=p, plt=plt)
        except Exception as e:  # the page is written all the same and says so
            traceback.print_exc()
            errors.append(f"{name}: {type(e).__name__}: {e}")
            plt.close("all")
            sections.append(f"<h2>{esc(title)}</h2><p class='error'>This figure could not be drawn: "
                            f"{esc(type(e).__name__)}: {esc(e)}</p>")
            return
        written.append(p)
        sections.append(f"<h2>{esc(title)}</h2><img src='{esc(name)}' alt='{esc(title)}'>"
                        + (f"<p class='caption'>{caption}</p>" if caption else ""))

    sel_note = (f" Held fixed: {esc(lay.selection_text())}." if lay.notes else "")
    if lay.x is None:
        figure("accuracy.png", "Methods compared", fig_methods_single, ds, cube)
    else:
        facets = ", ".join(f"{'columns' if k == 'col' else 'rows'}: {esc(R.axis_key(ds, v))}"
                           for k, v in (("col", lay.col), ("row", lay.row)) if v)
        figure(f"accuracy_vs_{lay.x}.png", f"Accuracy against {axis_name(ds, lay.x)}", fig_accuracy, ds, cube, lay,
               caption=f"Mean target test accuracy over the finished seeds, 95% t interval (bands clipped to [0, 1])."
                       + (f" One line per {axis_name(ds, lay.line)} for the methods it changes." if lay.line else "")
                       + (f" Panels: {facets}." if facets else "") + sel_note)
        gcol = f"gain_{trans}_vs_{base}"
        has_gain = gcol in cube and bool(np.isfinite(cube[gcol].values).any())
        if not has_gain:
            sections.append(f"<h2>Gain of {esc(short(trans))} over {esc(short(base))}</h2><p class='caption'>No "
                            f"configuration where both finished: no gain to show.</p>")
        if cross is not None and has_gain:
            figure("gain_vs_shift.png", f"Where {short(trans)} stops helping", fig_gain_curve, ds, cube, cross, lay,
                   tuning, caption=f"Paired gain acc_{trans} − acc_{base} per n_target at the best tuning setting; "
                                   "the crossover is interpolated between grid points, its interval is a bootstrap "
                                   "over seeds (seeds resampled jointly across shifts).")
            sections.append("<p class='caption'>The crossover for every setting:</p>" + crossover_html(ds, cross))
        if has_gain:
            figure("gain_heatmap.png", f"Gain of {short(trans)} over {short(base)}", fig_heatmap, ds, cube, lay,
                   gcol, f"Gain of {short(trans)} over {short(base)} (mean over seeds)", f"acc_{trans} − acc_{base}",
                   "RdBu", None, f"{gcol}_ci95",
                   caption="Blue: transfer helps, red: it hurts. <b>Hatched cells: the 95% CI of the gain includes 0</b> "
                           "(or cannot be computed, with one seed); grey with a dash: no finished configuration." + sel_note)
            figure("negative_transfer.png", "Where negative transfer happens", fig_heatmap, ds, cube, lay,
                   "negative_transfer_share", f"Share of seeds with acc_{trans} < acc_{base}", "share of seeds",
                   "Reds", (0, 1), None, "{:.2f}", caption="Share of the finished seeds of each cell where transfer "
                                                       "is below the baseline." + sel_note)
    frag, note = (None, "")
    if lay.x is not None:
        try:
            frag, note = interactive(ds, cube, lay)
            if frag:
                write_plotlyjs(a.out)
                written.append(os.path.join(a.out, "plotly.js"))
                info["plotly"] = True
        except Exception as e:
            traceback.print_exc()
            errors.append(f"interactive view: {type(e).__name__}: {e}")
            frag, note = None, f"the interactive view could not be made: {type(e).__name__}: {e}"
    if frag:
        sections.append("<h2>The cube, interactively</h2><p class='caption'>Every cell of the grid: choose the "
                        "setting of the other axes in the menu; click a legend entry to hide a line; hover for the "
                        "numbers. Works offline (plotly.js is next to this page).</p>" + frag)
    elif note:
        sections.append(f"<h2>The cube, interactively</h2><p class='caption'>{esc(note)}.</p>")
    if regret_sum is not None:
        figure("regret.png", "Regret of label-free selection", fig_regret, ds, regret_sum, sel_names, lay, "lambda",
               caption="For each cell and seed, λ is chosen by the score alone (lower entropy, MMD², A-distance, "
                       "IWCV and DEV error; higher SND and target validation accuracy; ties share the pick); the "
                       "regret is the best accuracy over λ (the oracle's choice, with the target test labels) "
                       "minus the chosen λ's. The last panel never adapts (λ = 0 always). Per cell with 95% "
                       "intervals: regret.csv.")
        regret_sum.to_csv(os.path.join(a.out, "regret.csv"))
        written.append(os.path.join(a.out, "regret.csv"))
    if rules["configurations"] > 0 and any(k in rules for k, _ in R.RULES):
        figure("rules_of_thumb.png", "The article's rules of thumb on this sweep", fig_rules, ds, rules,
               caption="\"MMD &lt; 0.1 typically indicates transferability\"; \"A-distance too large (&gt; 0.5)\" "
                       "signals negative transfer. Each dot is a configuration where both methods finished.")
        sections.append(rules_html(rules))
    # the article's figures, for one finished configuration
    sections.append("<h2>One configuration, as in the article</h2>")
    if c is None:
        sections.append(f"<p class='caption'>{esc(c_note)}.</p>")
    else:
        sections.append(f"<p class='caption'>{esc(title_of(ds, c))}"
                        + (f" — {esc(c_note)}" if c_note else "") + ".</p>")
        emb = None
        if "embeddings" in groups(a.results):
            try:
                emb = R.load_embeddings(a.results, **{ax: ds[ax].values[i] for ax, i in c.items()})
            except Exception as e:
                traceback.print_exc()
                errors.append(f"embeddings: {type(e).__name__}: {e}")
        if emb is not None:
            figure("domains.png", "Source and target domains", fig_domains, ds, emb, c)
        figure("methods.png", "Methods compared", fig_methods, ds, c)
        if emb is not None:
            figure("tsne.png", "t-SNE of source and target embeddings", fig_tsne, ds, emb, c)
        if "confusion" in ds:
            figure("confusion.png", "Confusion matrices", fig_confusion, ds, c)
        figure("learning_curves.png", "Learning curves", fig_learning_curves, ds, c)
    if failed:
        sections.append(f"<h2>Failed configurations ({failed})</h2>" + failures_table(ds))
    sections.append("<h2>Summary per cell</h2><p class='caption'>Mean over the finished seeds ± half-width of the "
                    "95% t interval; the gain is paired per seed; blue/red: its interval excludes 0.</p>"
                    + summary_table(ds, summ))
    if errors:
        sections.insert(0, "<p class='error'>Some parts could not be made: " + esc("; ".join(errors)) + "</p>")

    summ.to_csv(os.path.join(a.out, "summary.csv"))
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        f.write(R.dumps(summ, indent=1))
    plain = [html.unescape(__import__("re").sub("<[^>]+>", "", h)) for h in heads]
    report = {"file": os.path.abspath(a.results), "n_configs": n, "n_done": done, "n_failed": failed,
              "n_pending": pending, "complete": pending == 0, "headline": plain, "rules_of_thumb": rules,
              "crossover": cross if cross is not None else [], "figure_configuration":
                  {ax: R._py(ds[ax].values[i]) for ax, i in c.items()} if c else None,
              "best": {R.axis_key(ds, k): v for k, v in best.items()}, "selection": regret_all,
              "errors": errors}
    with open(os.path.join(a.out, "report.json"), "w") as f:
        f.write(R.dumps(report, indent=1))
    written += [os.path.join(a.out, f) for f in ("summary.csv", "summary.json", "report.json")]
    index = write_index(a.out, a.results, ds, info, heads, settings_table(ds, a.results, info), sections)
    for h in plain:
        log(h)
    for p in written:
        print(p)
    print(f"report: {index}")
    log(f"done in {time.time() - t0:.1f} s" + (f"; {len(errors)} part(s) failed" if errors else ""))
    return 1 if errors else 0


def groups(path):
    import h5py
    with h5py.File(path, "r") as f:
        return [k for k in f.keys() if isinstance(f[k], h5py.Group)]


if __name__ == "__main__":
    sys.exit(main())
