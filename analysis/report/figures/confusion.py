"""The confusion matrix of every method on the test points of one configuration."""
import itertools

import numpy as np

from ... import results as R
from ..layout import save


def when(ctx):
    return ctx.figure_config is not None and "confusion" in ctx.ds


def draw(ctx, path, plt):
    ds, c = ctx.ds, ctx.figure_config
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
        ax.set_title(f"{ctx.names.legend(m)}\naccuracy {acc:.3f}", fontsize=9)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    fig.suptitle(f"Confusion matrices (test points): {ctx.names.title_of(c)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)
