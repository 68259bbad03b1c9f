"""Where transfer stops helping: the gain over the baseline against shift,
one line per n_target at the best tuning setting, with the crossover and
its bootstrap interval."""
import numpy as np

from ..layout import partial_note, save
from ..names import MARKERS, PALETTE, STYLES


def when(ctx):
    return ctx.lay.x is not None and ctx.cross is not None and ctx.has_gain


def title(ctx):
    return f"Where {ctx.names.short(ctx.trans)} stops helping"


def caption(ctx):
    return (f"Paired gain {ctx.names.var(ctx.trans)} − {ctx.names.var(ctx.base)} per n_target at the best tuning setting; the crossover is "
            "interpolated between grid points, its interval is a bootstrap over seeds (seeds resampled jointly across "
            "shifts).")


def draw(ctx, path, plt):
    ds, n = ctx.ds, ctx.names
    base, trans = ctx.base, ctx.trans
    x = ds["shift"].values.astype(float)
    fig, ax = plt.subplots(figsize=(11, 5))
    sub = ctx.cube.isel({k: v for k, v in ctx.tuning.items() if k in ctx.cube.dims})
    for k in range(ds.sizes["n_target"]):
        color = PALETTE[(k + 2) % len(PALETTE)]
        one = sub.isel(n_target=k)
        y = one[f"gain_{trans}_vs_{base}"].values.astype(float)
        h = np.nan_to_num(one[f"gain_{trans}_vs_{base}_ci95"].values.astype(float), nan=0.0)
        nt = ds["n_target"].values[k]
        ax.plot(x, y, marker=MARKERS[k % len(MARKERS)], linestyle=STYLES[k % len(STYLES)], color=color,
                label=f"n_target = {nt}")
        ax.fill_between(x, np.clip(y - h, -1, 1), np.clip(y + h, -1, 1), color=color, alpha=0.12, linewidth=0)
        c = ctx.cross_row(k)
        if c is not None and c["kind"] == "crosses":
            ax.axvline(c["crossover"], color=color, linestyle=":", linewidth=1.5)
            lo = max(c["lo"], x[0]) if np.isfinite(c["lo"]) else x[0]
            hi = min(c["hi"], x[-1]) if np.isfinite(c["hi"]) else x[-1]
            if np.isfinite(c["lo"]) or np.isfinite(c["hi"]):
                ax.axvspan(lo, hi, color=color, alpha=0.07)
            ax.annotate(n.shift_text(c["crossover"]), (c["crossover"], 0), textcoords="offset points",
                        xytext=(4, 8 + 14 * k), color=color, fontsize=10, fontweight="bold")
    ax.axhline(0, color="black", linewidth=0.9)
    ax.set_xlim(x[0] - 0.03 * (np.ptp(x) or 1), x[-1] + 0.03 * (np.ptp(x) or 1))
    ax.set_xlabel(n.axis_title("shift"))
    ax.set_ylabel(f"gain: {n.var(trans)} − {n.var(base)}\n(mean over seeds, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    where = "; ".join(n.setting(a, ds[a].values[i]) for a, i in ctx.tuning.items() if ds.sizes[a] > 1)
    ax.set_title(f"Where {n.short(trans)} stops beating {n.short(base)}: dotted line = crossover, shaded = its 95% "
                 f"bootstrap interval" + (f"\n(at {where}){partial_note(ds)}" if where else partial_note(ds)),
                 fontsize=11)
    fig.tight_layout()
    save(fig, path)
