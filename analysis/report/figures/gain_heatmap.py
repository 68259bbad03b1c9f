"""The gain of transfer over the baseline per cell (mean over seeds), blue
where the mean is above 0, red where it is below, hatched where its 95% CI
includes 0 (a mean decides nothing: the decision map has the decisions)."""
from ..headline import rough
from .heatmap import draw_heatmap


def when(ctx):
    return ctx.lay.x is not None and ctx.has_gain


def title(ctx):
    return f"Gain of {ctx.names.short(ctx.trans)} over {ctx.names.short(ctx.base)}"


def caption(ctx):
    return ("Blue: the mean gain over the seeds is above 0, red: below (a mean alone decides nothing: the decision "
            "map has each cell's decision). <b>Hatched cells: the 95% CI of the gain includes 0</b> "
            "(or cannot be computed, with one seed); grey with a dash: no finished configuration."
            + ctx.lay.held_note() + rough(ctx, "the intervals behind the hatching"))


def draw(ctx, path, plt):
    n = ctx.names
    draw_heatmap(ctx, ctx.gcol, f"{title(ctx)} (mean over seeds)" + rough(ctx, "the hatching's 95% intervals", html=False),
                 f"{n.var(ctx.trans)} − {n.var(ctx.base)}", "RdBu", None, f"{ctx.gcol}_ci95", path=path, plt=plt)
