"""The interactive view of the cube (plotly, offline): every line of the
accuracy figure for every combination of the other axes, chosen from a
menu; plotly.js is written next to index.html."""
import itertools
import os
import traceback

import numpy as np

from .. import results as R
from .layout import line_specs
from .page import esc


def section(ctx, report):
    """The view's section of the page (a sweep figure's x axis is needed)."""
    if ctx.lay.x is None:
        return ""
    try:
        frag, note = interactive(ctx)
        if frag:
            write_plotlyjs(report.out)
            report.written.append(os.path.join(report.out, "plotly.js"))
            report.plotly = True
    except Exception as e:
        traceback.print_exc()
        report.errors.append(f"interactive view: {type(e).__name__}: {e}")
        frag, note = None, f"the interactive view could not be made: {type(e).__name__}: {e}"
    if frag:
        return ("<h2>The cube, interactively</h2><p class='caption'>Every cell of the grid: choose the "
                "setting of the other axes in the menu; click a legend entry to hide a line; hover for the "
                "numbers. Works offline (plotly.js is next to this page).</p>" + frag)
    if note:
        return f"<h2>The cube, interactively</h2><p class='caption'>{esc(note)}.</p>"
    return ""


def interactive(ctx):
    """An HTML fragment: every line of the accuracy figure for every
    combination of the other axes, chosen from a menu. None without plotly."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return None, "plotly is not installed (Debian: python3-plotly), so there is no interactive view"
    ds, cube, lay, n_ = ctx.ds, ctx.cube, ctx.lay, ctx.names
    others = [a for a in lay.vary if a not in (lay.x, lay.line)]
    combos = list(itertools.product(*[range(ds.sizes[a]) for a in others])) or [()]
    specs = line_specs(ds, lay, every=True)
    xv = [R._py(v) for v in ds[lay.x].values]
    fig = go.Figure()
    for ci, combo in enumerate(combos):
        sel = dict(zip(others, combo))
        sel.update({a: 0 for a in R.cell_axes(ds) if a not in others and a not in (lay.x, lay.line)})
        sub = cube.isel({k: v for k, v in sel.items() if k in cube.dims})
        for m, j, color, ls, mk, lab in specs:
            y, h, n = sub[f"acc_{m}"], sub[f"acc_{m}_ci95"], sub[f"n_{m}"]
            if lay.line:
                k = j if j is not None else n.fillna(0).argmax(lay.line)
                y, h, n = y.isel({lay.line: k}), h.isel({lay.line: k}), n.isel({lay.line: k})
            dash = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}[ls]
            fig.add_trace(go.Scatter(
                x=xv, y=[None if not np.isfinite(v) else float(v) for v in y.values],
                error_y=dict(type="data", array=[0 if not np.isfinite(v) else float(v) for v in h.values],
                             visible=True, thickness=1),
                customdata=[int(v) for v in n.values], mode="lines+markers", name=lab, visible=ci == 0,
                line=dict(color=color, dash=dash), legendgroup=lab,
                hovertemplate=f"{lab}<br>{n_.axis_name(lay.x)} = %{{x}}<br>accuracy %{{y:.3f}} ± "
                              f"%{{error_y.array:.3f}}<br>%{{customdata}} seeds<extra></extra>"))
    per = len(specs)
    buttons = []
    for ci, combo in enumerate(combos):
        vis = [False] * (per * len(combos))
        vis[ci * per:(ci + 1) * per] = [True] * per
        name = ", ".join(n_.setting(a, ds[a].values[i]) for a, i in zip(others, combo)) or "the grid"
        buttons.append(dict(label=name, method="update", args=[{"visible": vis}]))
    fig.update_layout(
        height=560, margin=dict(l=60, r=20, t=60, b=50), template="plotly_white",
        xaxis_title=n_.axis_title(lay.x), yaxis_title="target test accuracy (mean, 95% CI)",
        yaxis=dict(range=[0, 1.02]), legend=dict(font=dict(size=11)),
        updatemenus=[dict(buttons=buttons, direction="down", x=0, xanchor="left", y=1.13, yanchor="top",
                          showactive=True)] if len(combos) > 1 else [])
    frag = fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})
    return frag, ""


def write_plotlyjs(out):
    """plotly.js next to index.html, from the installed plotly package (no network at view time)."""
    from plotly.offline import get_plotlyjs
    with open(os.path.join(out, "plotly.js"), "w", encoding="utf-8") as f:
        f.write(get_plotlyjs())
