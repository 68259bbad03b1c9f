"""The gain of transfer over the baseline against shift: one line per
n_target at the best tuning setting, the mean over seeds with its 95% t
interval, each point marked by its cell's decision (filled: decided,
hollow: undecided). No crossover is drawn: where the sign changes is said
by the decisions (the decision map and the headline)."""
import numpy as np

from ..headline import rough
from ..layout import partial_note, save
from ..names import MARKERS, PALETTE, STYLES


def when(ctx):
    return ("shift" in ctx.lay.vary and "n_target" in ctx.ds.dims and ctx.has_gain
            and not ("data_shift_kind" in ctx.ds.dims and ctx.ds.sizes["data_shift_kind"] > 1))


def title(ctx):
    return f"Gain of {ctx.names.short(ctx.trans)} over {ctx.names.short(ctx.base)} against shift"


def caption(ctx):
    return (f"Paired gain {ctx.names.var(ctx.trans)} − {ctx.names.var(ctx.base)} per n_target at the best tuning setting: the mean over "
            f"seeds and its 95% t interval (shaded). Filled markers: cells decided (helps, hurts or equivalent) on "
            f"{ctx.trans}:{ctx.base}; hollow: undecided; a mean above or below 0 alone decides nothing.{rough(ctx)}")


def draw(ctx, path, plt):
    ds, n = ctx.ds, ctx.names
    base, trans = ctx.base, ctx.trans
    x = ds["shift"].values.astype(float)
    fig, ax = plt.subplots(figsize=(11, 5))
    sub = ctx.cube.isel({k: v for k, v in ctx.tuning.items() if k in ctx.cube.dims})
    comp = f"{trans}:{base}"
    dec = None
    if ctx.dec is not None and comp in [str(c) for c in ctx.dec["comparison"].values]:
        dec = ctx.dec.sel(comparison=comp).isel({k: v for k, v in ctx.tuning.items() if k in ctx.dec.dims})
    for k in range(ds.sizes["n_target"]):
        color = PALETTE[(k + 2) % len(PALETTE)]
        one = sub.isel(n_target=k)
        y = one[f"gain_{trans}_vs_{base}"].values.astype(float)
        h = np.nan_to_num(one[f"gain_{trans}_vs_{base}_ci95"].values.astype(float), nan=0.0)
        nt = ds["n_target"].values[k]
        marker = MARKERS[k % len(MARKERS)]
        ax.plot(x, y, linestyle=STYLES[k % len(STYLES)], color=color, label=f"n_target = {nt}")
        ax.fill_between(x, np.clip(y - h, -1, 1), np.clip(y + h, -1, 1), color=color, alpha=0.12, linewidth=0)
        decided = (np.ones(len(x), bool) if dec is None else
                   dec["decision"].isel(n_target=k).transpose("shift").values.astype(int) > 0)
        ax.plot(x[decided], y[decided], marker, color=color, linestyle="none")
        ax.plot(x[~decided], y[~decided], marker, color=color, markerfacecolor="white", linestyle="none")
    ax.axhline(0, color="black", linewidth=0.9)
    ax.set_xlim(x[0] - 0.03 * (np.ptp(x) or 1), x[-1] + 0.03 * (np.ptp(x) or 1))
    ax.set_xlabel(n.axis_title("shift"))
    ax.set_ylabel(f"gain: {n.var(trans)} − {n.var(base)}\n(mean over seeds, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    where = "; ".join(n.setting(a, ds[a].values[i]) for a, i in ctx.tuning.items() if ds.sizes[a] > 1)
    ax.set_title(f"{title(ctx)}: filled = decided, hollow = undecided"
                 + (f"\n(at {where}){partial_note(ds)}" if where else partial_note(ds))
                 + rough(ctx, "the 95% intervals", html=False), fontsize=11)
    fig.tight_layout()
    save(fig, path)
