"""The article's first figure for one configuration: the source and the
target domain (test set), coloured by class."""
import numpy as np

from ..layout import save
from ..names import PALETTE


def when(ctx):
    return ctx.figure_config is not None and ctx.emb is not None


def draw(ctx, path, plt):
    emb = ctx.emb
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
    fig.suptitle(f"Domains: {ctx.names.title_of(ctx.figure_config)}")
    fig.tight_layout()
    save(fig, path)
