"""Figures and an HTML page for a tlsweep results file.

    python3 -m analysis.report results.h5 -o report/ [--config shift=45,lambda=0.5,n_target=50,seed=42]

Writes, for one chosen configuration (default: the article's setting if it
is in the grid, else the first), the article's four figures -- the two
domains, the method comparison, a t-SNE of the embeddings, the confusion
matrices -- and the sweep's figures: accuracy against shift, the gain of
MMD transfer over scratch on shift x lambda, where negative transfer
happens, learning curves, and the article's rules of thumb tested on the
sweep. Then index.html with the summary table. Prints where it wrote them.
"""
import argparse
import html
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .results import METHODS, load, load_embeddings, rules_of_thumb, summary  # noqa: E402

COLORS = {"scratch": "#e4572e", "direct": "#4ecdc4", "mmd": "#2e86ab"}
LABELS = {"scratch": "From scratch (SVM on target labels)", "direct": "Direct transfer (SVM on source)",
          "mmd": "Feature transfer + MMD, fine-tuned"}
ARTICLE = {"shift": 45.0, "lambda": 0.5, "n_target": 50, "seed": 42}


def choose_config(ds, spec):
    want = dict(ARTICLE)
    if spec:
        for part in spec.split(","):
            k, _, v = part.partition("=")
            k = k.strip()
            if k not in want:
                raise SystemExit(f"analysis.report: --config: unknown key {k!r}; allowed: shift, lambda, n_target, seed")
            want[k] = float(v)
    chosen = {}
    for k, v in want.items():
        vals = ds[k].values.astype(float)
        hit = np.flatnonzero(np.isclose(vals, v))
        if hit.size == 0:
            if spec and k in spec:
                raise SystemExit(f"analysis.report: --config: {k}={v:g} is not in the grid; allowed: {list(vals)}")
            chosen[k] = ds[k].values[0]  # not the article's: the first grid value
        else:
            chosen[k] = ds[k].values[hit[0]]
    return chosen


def sel(ds, c):
    return ds.sel({"shift": c["shift"], "lambda": c["lambda"], "n_target": c["n_target"], "seed": c["seed"]})


def title_of(c):
    return f"shift {float(c['shift']):g}°, λ = {float(c['lambda']):g}, n_target = {int(c['n_target'])}, seed {int(c['seed'])}"


def fig_domains(emb, c, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True)
    for ax, x, y, name in ((axes[0], emb.source_x.values, emb.source_y.values.astype(int), "Source domain"),
                           (axes[1], emb.target_x.values, emb.target_y.values.astype(int), "Target domain (test set)")):
        for k in np.unique(y):
            ax.scatter(x[y == k, 0], x[y == k, 1], s=12, alpha=0.6, label=f"class {k}")
        ax.set_title(name)
        ax.set_xlabel("x₀ (input units)")
        ax.set_ylabel("x₁ (input units)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Domains: {title_of(c)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_methods(ds, c, path):
    one = sel(ds, c)
    cell = ds.sel({"shift": c["shift"], "lambda": c["lambda"], "n_target": c["n_target"]})
    fig, ax = plt.subplots(figsize=(9, 5.5))
    accs = [float(one[f"acc_{m}"]) for m in METHODS]
    bars = ax.bar([LABELS[m].replace(" (", "\n(").replace(", ", ",\n") for m in METHODS], accs,
                  color=[COLORS[m] for m in METHODS], alpha=0.85, label="this seed")
    for b, a in zip(bars, accs):
        ax.text(b.get_x() + b.get_width() / 2, a + 0.01, f"{a:.3f}", ha="center", va="bottom", fontweight="bold")
    means = [float(cell[f"acc_{m}"].mean("seed")) for m in METHODS]
    sds = [float(cell[f"acc_{m}"].std("seed")) for m in METHODS]
    ax.errorbar(range(3), means, yerr=sds, fmt="o", color="black", capsize=6,
                label=f"mean ± sd over {cell.sizes['seed']} seeds")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"Methods compared: {title_of(c)}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_tsne(emb, c, path):
    from sklearn.manifold import TSNE
    fs, ft = emb.source_features.values, emb.target_features.values
    both = np.vstack([fs, ft]).astype(np.float64)
    xy = TSNE(n_components=2, random_state=0, init="pca", learning_rate="auto",
              perplexity=min(30, max(5, len(both) // 4))).fit_transform(both)
    s, t = xy[:len(fs)], xy[len(fs):]
    ys, yt = emb.source_y.values.astype(int), emb.target_y.values.astype(int)
    fig, ax = plt.subplots(figsize=(9, 7.5))
    palette = sns.color_palette("tab10")
    for k in np.unique(ys):
        ax.scatter(s[ys == k, 0], s[ys == k, 1], s=14, alpha=0.35, marker="o", color=palette[k % 10],
                   label=f"source class {k}")
    for k in np.unique(yt):
        ax.scatter(t[yt == k, 0], t[yt == k, 1], s=40, alpha=0.9, marker="^", color=palette[k % 10],
                   edgecolor="black", linewidth=0.4, label=f"target class {k}")
    ax.set_title(f"t-SNE of the learned features after fine-tuning: {title_of(c)}")
    ax.set_xlabel("t-SNE 1 (arbitrary units)")
    ax.set_ylabel("t-SNE 2 (arbitrary units)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_confusion(ds, c, path):
    one = sel(ds, c)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, m, cmap in zip(axes, METHODS, ("Reds", "Greens", "Blues")):
        cm = np.nan_to_num(one["confusion"].sel(approach=m).values, nan=-1).astype(int)
        sns.heatmap(cm, annot=True, fmt="d", cmap=cmap, ax=ax, cbar_kws={"label": "test points"})
        ax.set_title(f"{LABELS[m]}\naccuracy {float(one[f'acc_{m}']):.3f}", fontsize=10)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    fig.suptitle(f"Confusion matrices: {title_of(c)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_accuracy_vs_shift(ds, summ, path):
    nts = ds["n_target"].values
    fig, axes = plt.subplots(1, len(nts), figsize=(6 * len(nts), 4.8), sharey=True, squeeze=False)
    lams = ds["lambda"].values
    blues = sns.color_palette("Blues", len(lams) + 2)[2:]
    for ax, nt in zip(axes[0], nts):
        cell = summ.xs(nt, level="n_target")
        for m in ("scratch", "direct"):
            s = cell.xs(lams[0], level="lambda")
            x = s.index.values
            ax.plot(x, s[f"acc_{m}"], "o-", color=COLORS[m], label=LABELS[m])
            ax.fill_between(x, s[f"acc_{m}"] - s[f"acc_{m}_ci95"], s[f"acc_{m}"] + s[f"acc_{m}_ci95"],
                            color=COLORS[m], alpha=0.15)
        for lam, col in zip(lams, blues):
            s = cell.xs(lam, level="lambda")
            x = s.index.values
            ax.plot(x, s["acc_mmd"], "s-", color=col, label=f"MMD transfer, λ = {lam:g}")
            ax.fill_between(x, s["acc_mmd"] - s["acc_mmd_ci95"], s["acc_mmd"] + s["acc_mmd_ci95"], color=col, alpha=0.12)
        ax.set_title(f"n_target = {nt}")
        ax.set_xlabel("shift: target rotation (degrees)")
        ax.set_ylim(-0.02, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("target test accuracy (mean, 95% CI)")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.suptitle("Accuracy against domain shift")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _grid_heatmaps(ds, summ, column, path, title, cbar, cmap, center=None, vmin=None, vmax=None, fmt=".2f"):
    nts = ds["n_target"].values
    fig, axes = plt.subplots(1, len(nts), figsize=(5.5 * len(nts) + 1, 4.8), squeeze=False)
    small = ds.sizes["shift"] <= 12 and ds.sizes["lambda"] <= 12
    for ax, nt in zip(axes[0], nts):
        grid = summ[column].xs(nt, level="n_target").unstack("shift")
        grid.index = [f"{v:g}" for v in grid.index]
        grid.columns = [f"{v:g}" for v in grid.columns]
        sns.heatmap(grid, ax=ax, cmap=cmap, center=center, vmin=vmin, vmax=vmax, annot=small, fmt=fmt,
                    cbar_kws={"label": cbar}, annot_kws={"fontsize": 8})
        ax.set_title(f"n_target = {nt}")
        ax.set_xlabel("shift: target rotation (degrees)")
        ax.set_ylabel("λ (weight of MMD²)")
        ax.tick_params(axis="x", rotation=45)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_learning_curves(ds, c, path):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    pal = sns.color_palette("viridis", ds.sizes["lambda"])
    for lam, col in zip(ds["lambda"].values, pal):
        one = sel(ds, dict(c, **{"lambda": lam}))
        if ds.sizes.get("epoch", 0):
            axes[0].plot(ds["epoch"], one["ce_epoch"], color=col, label=f"λ = {lam:g}")
            axes[1].plot(ds["epoch"], one["mmd2_epoch"], color=col, label=f"λ = {lam:g}")
        if ds.sizes.get("finetune_epoch", 0):
            axes[2].plot(ds["finetune_epoch"], one["finetune_ce"], color=col, label=f"λ = {lam:g}")
    for ax, t, y in zip(axes, ("Source cross-entropy", "MMD² (source batch vs target features)",
                               "Fine-tuning cross-entropy (labelled target)"), ("nats", "MMD²", "nats")):
        ax.set_title(t)
        ax.set_xlabel("epoch")
        ax.set_ylabel(y)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Learning curves, shift {float(c['shift']):g}°, n_target = {int(c['n_target'])}, seed {int(c['seed'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_rules(ds, rules, path):
    done = (ds["status"] == 1).values.ravel()
    gain = (ds["acc_mmd"] - ds["acc_scratch"]).values.ravel()[done]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6), sharey=True)
    for ax, (name, label) in zip(axes, (("mmd2_input", "MMD² in input space"),
                                        ("mmd2_feat_after", "MMD² in feature space after training"),
                                        ("pad_input", "proxy A-distance, input space"),
                                        ("pad_feat", "proxy A-distance, feature space"))):
        x = ds[name].values.ravel()[done]
        r = rules[name]
        ax.scatter(x, gain, s=10, alpha=0.5, c=np.where(gain < 0, "#e4572e", "#2e86ab"))
        ax.axvline(r["threshold"], color="black", linestyle="--", linewidth=1,
                   label=f"article's threshold {r['threshold']:g}")
        ax.axhline(0, color="gray", linewidth=0.8)
        ax.set_xlabel(f"{label} (1)")
        ax.set_title(f"Pearson r = {r['pearson_r_with_gain']:.2f}, Spearman ρ = {r['spearman_rho_with_gain']:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("gain: acc_mmd − acc_scratch (red: negative transfer)")
    fig.suptitle("The article's rules of thumb on this sweep: do domain distances predict the gain of transfer?")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_index(out, figures, summ, rules, c, path):
    rows = []
    for name, thr in (("mmd2_input", 0.1), ("mmd2_feat_after", 0.1), ("pad_input", 0.5), ("pad_feat", 0.5)):
        r = rules[name]
        rows.append(f"<tr><td>{name}</td><td>{thr:g}</td><td>{r['pearson_r_with_gain']:.3f}</td>"
                    f"<td>{r['spearman_rho_with_gain']:.3f}</td><td>{r['n_below']}</td><td>{r['negative_share_below']:.3f}</td>"
                    f"<td>{r['mean_gain_below']:+.4f}</td><td>{r['n_above']}</td><td>{r['negative_share_above']:.3f}</td>"
                    f"<td>{r['mean_gain_above']:+.4f}</td></tr>")
    imgs = "\n".join(f'<h2>{html.escape(t)}</h2><img src="{f}" alt="{html.escape(t)}" style="max-width:100%">'
                     for f, t in figures)
    table = summ.reset_index().to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="–")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tlsweep report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1500px}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>
<h1>tlsweep report: {html.escape(os.path.basename(path))}</h1>
<p>{rules['configurations']} configurations done. Article figures for {html.escape(title_of(c))}.</p>
<h2>The article's rules of thumb on this sweep</h2>
<p>"MMD &lt; 0.1 typically indicates transferability"; "A-distance too large (&gt; 0.5)" signals negative
transfer. Correlation of each distance with the gain acc_mmd − acc_scratch, and the share of negative
transfer below and above the threshold.</p>
<table><tr><th>distance</th><th>threshold</th><th>Pearson r</th><th>Spearman ρ</th><th>n below</th>
<th>negative share below</th><th>mean gain below</th><th>n above</th><th>negative share above</th><th>mean gain above</th></tr>
{''.join(rows)}</table>
{imgs}
<h2>Summary per cell (means over seeds, 95% confidence half-widths, paired gains)</h2>
{table}
</body></html>"""
    p = os.path.join(out, "index.html")
    with open(p, "w") as f:
        f.write(page)
    return p


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m analysis.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="a tlsweep results file")
    ap.add_argument("-o", "--out", default="report", help="output directory (default report/)")
    ap.add_argument("--config", help="the configuration of the article's figures, e.g. shift=45,lambda=0.5,n_target=50,seed=42")
    a = ap.parse_args(argv)
    if not os.path.exists(a.results):
        raise SystemExit(f"analysis.report: {a.results}: no such file")
    ds = load(a.results).load()
    if not (ds["status"] == 1).any():
        raise SystemExit(f"analysis.report: {a.results}: no configuration is done yet")
    os.makedirs(a.out, exist_ok=True)
    c = choose_config(ds, a.config)
    summ = summary(ds)
    rules = rules_of_thumb(ds)
    figures = []

    def add(name, title, fn, *args):
        path = os.path.join(a.out, name)
        fn(*args, path)
        figures.append((name, title))

    has_emb = "embeddings" in open_groups(a.results)
    if has_emb:
        emb = load_embeddings(a.results, c["shift"], c["lambda"], c["n_target"], c["seed"])
        add("domains.png", "Source and target domains", fig_domains, emb, c)
    add("methods.png", "Methods compared", fig_methods, ds, c)
    if has_emb:
        add("tsne.png", "t-SNE of source and target embeddings", fig_tsne, emb, c)
    add("confusion.png", "Confusion matrices", fig_confusion, ds, c)
    add("accuracy_vs_shift.png", "Accuracy against shift", fig_accuracy_vs_shift, ds, summ)
    path = os.path.join(a.out, "gain_heatmap.png")
    lim = float(np.nanmax(np.abs(summ["gain_vs_scratch"].values))) or 0.01
    _grid_heatmaps(ds, summ, "gain_vs_scratch", path, "Gain of MMD transfer over scratch (mean over seeds)",
                   "acc_mmd − acc_scratch", "RdBu", center=0, vmin=-lim, vmax=lim, fmt="+.2f")
    figures.append(("gain_heatmap.png", "Gain of MMD transfer over scratch"))
    path = os.path.join(a.out, "negative_transfer.png")
    _grid_heatmaps(ds, summ, "negative_transfer_share", path,
                   "Where negative transfer happens: share of seeds with acc_mmd < acc_scratch",
                   "share of seeds", "Reds", vmin=0, vmax=1)
    figures.append(("negative_transfer.png", "Where negative transfer happens"))
    add("learning_curves.png", "Learning curves", fig_learning_curves, ds, c)
    add("rules_of_thumb.png", "Rules of thumb: domain distances against the gain", fig_rules, ds, rules)
    index = write_index(a.out, figures, summ, rules, c, a.results)
    print(json.dumps({k: v for k, v in rules.items() if k != "configurations"}, indent=1))
    for f, _ in figures:
        print(os.path.join(a.out, f))
    print(f"report: {index}")
    return 0


def open_groups(path):
    import h5py
    with h5py.File(path, "r") as f:
        return [k for k in f.keys() if isinstance(f[k], h5py.Group)]


if __name__ == "__main__":
    sys.exit(main())
