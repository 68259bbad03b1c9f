"""The methods compared in one configuration: a bar per method for this
seed, the mean ± sd over the cell's finished seeds."""
import textwrap

import numpy as np

from ... import results as R
from ..layout import save
from ..names import PALETTE


def when(ctx):
    return ctx.figure_config is not None


def draw(ctx, path, plt):
    ds, c, n_ = ctx.ds, ctx.figure_config, ctx.names
    ms = R.approaches(ds)
    one = ds.isel(c)
    cell = ds.isel({a: i for a, i in c.items() if a != "seed"})
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
    ax.set_xticks(range(len(ms)), [textwrap.fill(n_.legend(m), 18) for m in ms], fontsize=9)
    ax.set_ylim(0, 1.25)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"Methods compared: {n_.title_of(c)}", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", ncol=2, fontsize=9)
    fig.tight_layout()
    save(fig, path)
