"""t-SNE of the learned features after fine-tuning: source (at most 500
points) and target embeddings of one configuration, by class."""
import numpy as np

from ..layout import save
from ..names import PALETTE


def when(ctx):
    return ctx.figure_config is not None and ctx.emb is not None


def draw(ctx, path, plt):
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits
    emb = ctx.emb
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
    ax.set_title(f"t-SNE of the learned features after fine-tuning{sub}\n"
                 f"{ctx.names.title_of(ctx.figure_config)}", fontsize=11)
    ax.set_xlabel("t-SNE 1 (arbitrary units)")
    ax.set_ylabel("t-SNE 2 (arbitrary units)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, path)
