"""What foresees negative transfer: the AUROC of each transferability score, domain
distance and article's rule for the configurations where transfer fell below the baseline and
for the cells decided `hurts`, one panel per shift kind (and one for all), with intervals over
seeds (analysis.predictors); predictors.csv and one sentence per score beside it. Drawn for
files with the ts_ variables of several shift kinds, or of one kind with at least MIN_SEEDS
seeds (then one panel per n_target)."""
import html
import os

import numpy as np

from ... import results as R
from ...predictors import KIND, score_names
from ..layout import fit_suptitle, save
from ..names import PALETTE

TITLE = "What foresees negative transfer"
MIN_SEEDS = 5  # one shift kind: fewer seeds give intervals over too few clusters to say anything
MIN_SIDE = 5  # decided cells harmed and not harmed: with fewer on a side a per-cell AUROC is not shown
LABELS = {"ts_leep": "LEEP", "ts_nleep": "N-LEEP", "ts_logme": "LogME", "ts_hscore": "H-score",
          "ts_hscore_shrink": "shrinkage H-score", "ts_nce": "NCE", "ts_gbc": "GBC", "ts_transrate": "TransRate",
          "ts_knn": "k-NN accuracy", "ts_ft_loss_rise": "fine-tuning loss rise",
          "ts_ft_loss_rebound": "fine-tuning loss rebound", "mmd2_input": "MMD², inputs",
          "pad_input": "A-distance, inputs", "mmd2_feat_before": "MMD², features at init",
          "mmd2_feat_after": "MMD², features after", "pad_feat": "A-distance, features after",
          "rule_mmd2_input": "rule: MMD² inputs ≥ 0.1", "rule_mmd2_feat_after": "rule: MMD² features ≥ 0.1",
          "rule_pad_input": "rule: A-dist. inputs > 0.5", "rule_pad_feat": "rule: A-dist. features > 0.5"}
# colour per when the score is known (analysis.predictors.when_known; the rules: black)
COLOURS = {"before fine-tuning": PALETTE[2], "inputs": PALETTE[1], "features at initialisation": PALETTE[1],
           "fine-tuning curve": "#7F7F7F", "features after fine-tuning": "#7F7F7F"}


def _has_scores(ds):
    return any(v.startswith("ts_") and not v.endswith("_reason") and bool(np.isfinite(ds[v].values).any())
               for v in ds.data_vars)


def _mixed(ctx):
    return R.shift_kind(ctx.ds) == "mixed"


def when(ctx):
    """Transferability scores in the file(s), a gain to predict, and several shift kinds or
    MIN_SEEDS seeds."""
    return (ctx.has_gain and ctx.base != ctx.trans and _has_scores(ctx.ds)
            and (_mixed(ctx) or ctx.ds.sizes.get("seed", 1) >= MIN_SEEDS))


def _slice_axis(ctx):
    """The panels' axis: the shift kind, or n_target when the file has one kind."""
    return KIND if _mixed(ctx) else "n_target"


def table(ctx):
    """analysis.predictors of the file's transfer against its baseline, per configuration and
    per shift kind (computed once per Context)."""
    if "_what_foresees" not in ctx.__dict__:
        from ... import predictors
        ctx._what_foresees = predictors(ctx.ds, f"{ctx.trans}:{ctx.base}", by=(KIND, "n_target"))
    return ctx._what_foresees


def caption(ctx):
    n = ctx.names
    return (f"Filled: per configuration, negative transfer is {n.var(ctx.trans)} &lt; {n.var(ctx.base)} (a tie counts "
            "as none). Hollow: per cell, the cells decided <i>hurts</i> against those decided <i>helps</i> or "
            "<i>equivalent</i> (undecided cells left out), each with its mean score. "
            "The AUROC is the chance that a harmed configuration (cell) has a score on the harm side of one "
            "without, the side each score declares (its long_name: lower LEEP, higher distance, ...): 0.5 is chance, "
            "below 0.5 the score points the wrong way. Bars: 95% interval over seeds (per configuration clustered "
            "DeLong, the seeds as clusters; per cell a seed bootstrap of the cells' mean scores, the decisions held). "
            "Blue: known before fine-tuning from the source network on the labelled target points; green: "
            "from the inputs or the untrained features; grey: read during or after fine-tuning. The article's rules "
            "(black squares) are yes/no predictions: their AUROC is the balanced accuracy. No hollow mark where "
            f"fewer than {MIN_SIDE} decided cells are harmed or fewer than {MIN_SIDE} are not. Pooled over the grid, "
            "a score that follows the size of the shift foresees harm wherever the shift decides it; whether it "
            "tells the harmed seeds of one cell from the others is another question (docs/findings/"
            "transferability.md: within a cell none did). Every slice (n_target too), the best thresholds and "
            "their errors when fitted on the other kinds: predictors.csv.")


def _few(r):
    """The side of a per-cell row with fewer than MIN_SIDE cells, in words, or None."""
    if r["target"] != "cell":
        return None
    harmed, other = int(r["n_harm"]), int(r["n"]) - int(r["n_harm"])
    if min(harmed, other) >= MIN_SIDE:
        return None
    return f"{harmed} harmed" if harmed < other else f"{other} not harmed"


def _interval(r):
    """'0.96 [0.95, 0.97]: foresees harm' and the like, from a predictors row."""
    a, lo, hi = r["auroc"], r["auroc_low"], r["auroc_high"]
    if not np.isfinite(a):
        return None
    if _few(r) is not None:
        return None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{a:.2f} (no interval: too few seeds), not decided"
    verdict = ("foresees harm" if lo > 0.5 else "points the wrong way" if hi < 0.5 else
               "not told from chance")
    return f"{a:.2f} [{lo:.2f}, {hi:.2f}]: {verdict}"


def sentences(ctx):
    """One sentence (HTML) per score, pooled over the file: its AUROC per configuration and per
    decided cell, with the 95% interval and what it says."""
    df = table(ctx)
    df = df[df["slice"] == "all"]
    out = []
    cells = df[(df["target"] == "cell") & (df["n"] > 0)]
    if not len(cells):
        out.append("Per decided cell: no AUROC, no cell is decided.")
    elif (few := _few(cells.iloc[0])) is not None:
        out.append(f"Per decided cell: no AUROC, {few} of the {int(cells.iloc[0]['n'])} decided cells (fewer than "
                   f"{MIN_SIDE}).")
    for name in dict.fromkeys(df["score"]):
        rows = df[df["score"] == name]
        parts = []
        for target, what in (("configuration", "per configuration"), ("cell", "per decided cell")):
            for _, r in rows[rows["target"] == target].iterrows():
                if (text := _interval(r)) is not None:
                    parts.append(f"{what} {text} ({int(r['n_harm'])} of {int(r['n'])} harmed)")
        if not parts:
            continue
        r = rows.iloc[0]
        known = "a yes/no rule; its AUROC is its balanced accuracy" if name.startswith("rule_") else \
            f"known {r['when']}" if r["when"].startswith(("before", "after")) else f"from the {r['when']}"
        out.append(f"<b>{html.escape(LABELS.get(name, name))}</b> ({known}): " + "; ".join(parts) + ".")
    return out


def headline_sentence(ctx):
    """What the scores known before fine-tuning foresee, per configuration, in one sentence."""
    df = table(ctx)
    df = df[(df["slice"] == "all") & (df["target"] == "configuration") & (df["when"] == "before fine-tuning")]
    df = df[np.isfinite(df["auroc_low"]) & np.isfinite(df["auroc_high"])]
    if not len(df):
        return None
    ahead, wrong = df[df["auroc_low"] > 0.5], df[df["auroc_high"] < 0.5]
    best = df.loc[df["auroc"].idxmax()] if len(ahead) else None
    text = (f"<b>Foreseeing negative transfer</b> before fine-tuning: of {len(df)} transferability scores "
            f"{len(ahead)} foresee a configuration's harm beyond chance, pooled over the grid (95% intervals over "
            "seeds)")
    if best is not None:
        text += (f", best {html.escape(LABELS.get(best['score'], best['score']))} AUROC {best['auroc']:.2f} "
                 f"[{best['auroc_low']:.2f}, {best['auroc_high']:.2f}]")
    if len(wrong):
        text += f"; {len(wrong)} point the wrong way"
    return text + " (each score under “What foresees negative transfer”)."


def write_csv(ctx, report):
    """predictors.csv next to the figure; on the page, one sentence per score."""
    p = os.path.join(report.out, "predictors.csv")
    table(ctx).to_csv(p, index=False)
    report.written.append(p)
    items = "".join(f"<li>{t}</li>" for t in sentences(ctx))
    return f"<ul class='scores'>{items}</ul>" if items else ""


def _marks(ax, sub, names, ys, hollow):
    """One mark and interval per score of sub (a slice's rows, indexed by score)."""
    for y, s in zip(ys, names):
        if s not in sub.index or not np.isfinite(sub.loc[s, "auroc"]):
            continue
        r = sub.loc[s]
        colour = "black" if s.startswith("rule_") else COLOURS.get(r["when"], PALETTE[0])
        if np.isfinite(r["auroc_low"]) and np.isfinite(r["auroc_high"]):
            ax.plot([r["auroc_low"], r["auroc_high"]], [y, y], color=colour, linewidth=1.0 if hollow else 1.6,
                    alpha=0.6 if hollow else 1.0, solid_capstyle="butt")
        ax.plot(r["auroc"], y, marker="s" if s.startswith("rule_") else "o", color=colour, markersize=5,
                markerfacecolor="white" if hollow else colour)


def draw(ctx, path, plt):
    df = table(ctx)
    axis = _slice_axis(ctx)
    df = df[df["slice_axis"].isin(["", axis])]
    conf, cell = df[df["target"] == "configuration"], df[df["target"] == "cell"]
    names = [s for s in score_names(ctx.ds) if s in set(df["score"])] + \
        [s for s in dict.fromkeys(df["score"]) if s.startswith("rule_")]
    panels = ["all"] + [s for s in dict.fromkeys(conf["slice"]) if s != "all"]
    ncols = len(panels)
    fig, axes = plt.subplots(1, ncols, figsize=(min(15.0, 2.3 * ncols + 2.4), 0.36 * len(names) + 2.4),
                             sharey=True, squeeze=False, layout="constrained")
    ys = np.arange(len(names))[::-1].astype(float)
    for ax, panel in zip(axes[0], panels):
        a, b = conf[conf["slice"] == panel].set_index("score"), cell[cell["slice"] == panel].set_index("score")
        _marks(ax, a, names, ys + 0.15, hollow=False)
        _marks(ax, b[[_few(r) is None for _, r in b.reset_index().iterrows()]], names, ys - 0.15, hollow=True)
        ax.axvline(0.5, color="black", linewidth=0.8, linestyle="--")
        ax.set_xlim(0, 1)
        ax.grid(axis="x", alpha=0.3)
        label = ("all kinds" if axis == KIND else "all") if panel == "all" else \
            panel.split("=", 1)[1] if axis == KIND else f"n_target {float(panel.split('=', 1)[1]):g}"
        counts = [f"{int(t['n_harm'].max())}/{int(t['n'].max())} {what}" for t, what in
                  ((a, "configurations"), (b, "cells")) if len(t)]
        ax.set_title("\n".join([label] + counts) + " harmed", fontsize=8.5)
        ax.set_xlabel("AUROC", fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(ys, [LABELS.get(s, s) for s in names], fontsize=8)
    fit_suptitle(fig, f"{TITLE}: does the score tell in advance where {ctx.names.short(ctx.trans)} falls below "
                 f"{ctx.names.short(ctx.base)}? AUROC by {'shift kind' if axis == KIND else 'n_target'} "
                 "(filled: per configuration; hollow: per "
                 "decided cell)", fontsize=11)
    save(fig, path)
