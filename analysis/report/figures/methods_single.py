"""When no axis but seed varies: one bar per method with its 95% CI."""
import numpy as np

from ... import results as R
from ..layout import save
from ..names import PALETTE


def when(ctx):
    return ctx.lay.x is None


def draw(ctx, path, plt):
    ds, cube, n = ctx.ds, ctx.cube, ctx.names
    ms = R.approaches(ds)
    fig, ax = plt.subplots(figsize=(9, 4.8))
    one = cube.squeeze()
    for i, m in enumerate(ms):
        y, h = float(one[f"acc_{m}"]), float(one[f"acc_{m}_ci95"])
        ax.bar(i, y if np.isfinite(y) else 0, color=PALETTE[i % len(PALETTE)], alpha=0.85)
        if np.isfinite(h):
            ax.errorbar(i, y, yerr=[[min(h, y)], [min(h, 1 - y)]], color="black", capsize=6)
        ax.text(i, (y if np.isfinite(y) else 0) + 0.02, f"{y:.3f}" if np.isfinite(y) else "no data", ha="center")
    ax.set_xticks(range(len(ms)), [n.label(m).replace(" (", "\n(") for m in ms], fontsize=9)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("target test accuracy (mean, 95% CI)")
    ax.set_title("Methods compared (the only cell of the grid)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save(fig, path)
