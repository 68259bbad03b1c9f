"""The learning curves of one configuration (source cross-entropy, the
alignment loss, fine-tuning, the target-only MLP), one line per lambda."""
import numpy as np

from ... import results as R
from ..layout import save
from ..names import PALETTE, STYLES

PANELS = [("ce_epoch", "epoch", "Source cross-entropy", "nats"),
          ("mmd2_epoch", "epoch", "Alignment loss", "per align.loss (names.ALIGN_TITLES)"),
          ("finetune_ce", "finetune_epoch", "Fine-tuning cross-entropy", "nats (labelled target points)"),
          ("target_mlp_ce", "target_epoch", "Target-only MLP cross-entropy", "nats (labelled target points)")]


def when(ctx):
    return ctx.figure_config is not None


def draw(ctx, path, plt):
    ds, c, n = ctx.ds, ctx.figure_config, ctx.names
    panels = [(v, d, n.align_title[1], n.align_title[2]) if v == "mmd2_epoch" else (v, d, t, y)
              for v, d, t, y in PANELS if v in ds and ds.sizes.get(d, 0)]
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
        lab = n.setting(lam, ds[lam].values[j]) if lam else None
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
    fig.suptitle(f"Learning curves: {n.title_of(rest)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)
