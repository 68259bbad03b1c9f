"""The article's rules of thumb on the sweep: does each domain distance
predict the gain of transfer? One scatter per distance with the article's
threshold."""
import numpy as np

from ... import results as R
from ..layout import save
from ..names import PALETTE

CAPTION = ("\"MMD &lt; 0.1 typically indicates transferability\"; \"A-distance too large (&gt; 0.5)\" "
           "signals negative transfer. Each dot is a configuration where both methods finished.")


def when(ctx):
    return ctx.rules["configurations"] > 0 and any(k in ctx.rules for k, _ in R.RULES)


def draw(ctx, path, plt):
    ds, rules = ctx.ds, ctx.rules
    base, trans = ctx.base, ctx.trans
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
    axes[0][0].set_ylabel(f"gain {ctx.names.var(trans)} − {ctx.names.var(base)}\n(vermillion: negative transfer)")
    fig.suptitle("The article's rules of thumb on this sweep: do domain distances predict the gain of transfer?",
                 fontsize=12)
    fig.tight_layout()
    save(fig, path)
