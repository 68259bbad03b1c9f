"""Where negative transfer happens: the share of seeds per cell where
transfer is below the baseline."""
from .heatmap import draw_heatmap


def when(ctx):
    return ctx.lay.x is not None and ctx.has_gain


def caption(ctx):
    return "Share of the finished seeds of each cell where transfer is below the baseline." + ctx.lay.held_note()


def draw(ctx, path, plt):
    draw_heatmap(ctx, "negative_transfer_share", f"Share of seeds with {ctx.names.var(ctx.trans)} < {ctx.names.var(ctx.base)}",
                 "share of seeds", "Reds", (0, 1), None, "{:.2f}", path=path, plt=plt)
