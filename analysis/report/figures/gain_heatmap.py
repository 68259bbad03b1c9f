"""The gain of transfer over the baseline per cell (mean over seeds), blue
where it helps, red where it hurts, hatched where its 95% CI includes 0."""
from .heatmap import draw_heatmap


def when(ctx):
    return ctx.lay.x is not None and ctx.has_gain


def title(ctx):
    return f"Gain of {ctx.names.short(ctx.trans)} over {ctx.names.short(ctx.base)}"


def caption(ctx):
    return ("Blue: transfer helps, red: it hurts. <b>Hatched cells: the 95% CI of the gain includes 0</b> "
            "(or cannot be computed, with one seed); grey with a dash: no finished configuration."
            + ctx.lay.held_note())


def draw(ctx, path, plt):
    draw_heatmap(ctx, ctx.gcol, f"{title(ctx)} (mean over seeds)", f"{ctx.names.var(ctx.trans)} − {ctx.names.var(ctx.base)}", "RdBu", None,
                 f"{ctx.gcol}_ci95", path=path, plt=plt)
