"""The interactive view of the cube (plotly, offline): the mean accuracy
(95% interval as error bars) against any axis that varies, one line per
method or per value of any other axis, every other axis at a chosen value.
Its menus hold one entry per axis and per value -- a sum over the axes, not
the product of their sizes (a menu of every combination of the other axes
had 125 entries for 3 axes of 5 values). The cube's means go into the page
as JSON; a small script draws them with plotly.js, which is written next to
index.html."""
import json
import os
import traceback

import numpy as np

from .. import results as R
from ..tables import table_name
from .names import PALETTE
from .page import esc

METHOD = "method"  # the colour menu's entry for one line per method


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
        return ("<h2>The cube, interactively</h2><p class='caption'>Choose the x axis and what the lines are (the "
                "methods, or the values of another axis for one method); every other axis is at the value chosen "
                "in its menu (to begin with, the figures' setting). Mean over the finished seeds with its 95% t "
                "interval; click a legend entry to hide a line; hover for the numbers. Works offline (plotly.js "
                "is next to this page).</p>" + frag)
    if note:
        return f"<h2>The cube, interactively</h2><p class='caption'>{esc(note)}.</p>"
    return ""


def cube_data(ctx):
    """The view's data (JSON-ready): the axes that vary (name, title, value labels, numeric positions), the
    methods (name, label, colour), per method the means, half-widths and seed counts over those axes (C
    order), and the starting choice."""
    ds, cube, lay, n_ = ctx.ds, ctx.cube, ctx.lay, ctx.names
    vary = lay.vary
    one = {a: 0 for a in cube.dims if a not in vary}
    sub = cube.isel(one).transpose(*vary) if vary else cube.isel(one)

    def flat(da, nd=4):
        v = np.asarray(da.values, float).ravel()
        return [None if not np.isfinite(x) else round(float(x), nd) for x in v]
    axes = []
    for a in vary:
        vals = ds[a].values
        axes.append({"name": a, "title": n_.axis_title(a), "short": n_.axis_name(a),
                     "labels": [n_.fmt(a, v) for v in vals],
                     "x": [float(v) for v in vals] if n_.numeric(a) else None})
    methods = []
    for k, m in enumerate(R.approaches(ds)):
        methods.append({"name": table_name(m), "label": n_.legend(m), "color": PALETTE[k % len(PALETTE)],
                        "mean": flat(sub[f"acc_{m}"]), "ci": flat(sub[f"acc_{m}_ci95"]),
                        "n": [int(x) if x is not None else 0 for x in flat(sub[f"n_{m}"], 0)]})
    held = {a: int(lay.fixed.get(a, 0)) for a in vary}
    if lay.line:
        held[lay.line] = int(lay.best_line or 0)
    colour = METHOD
    return {"axes": axes, "shape": [ds.sizes[a] for a in vary], "methods": methods, "x": lay.x, "colour": colour,
            "method": table_name(ctx.trans), "held": held, "palette": PALETTE,
            "ytitle": "target test accuracy (mean, 95% CI)"}


def interactive(ctx):
    """An HTML fragment: the menus, the plot's place and the script that
    draws it; None (and why) without plotly."""
    try:
        import plotly  # noqa: F401  (plotly.js comes from the package)
    except ImportError:
        return None, "plotly is not installed (Debian: python3-plotly), so there is no interactive view"
    data = cube_data(ctx)
    blob = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return (f"<div class='tls-view'><div class='tls-menus'></div><div class='tls-plot' style='height:560px'></div>"
            f"<script type='application/json' class='tls-data'>{blob}</script><script>{SCRIPT}</script></div>"), ""


# Draws the view: menus for x, colour, the method (when the colour is an axis) and each other axis; one trace
# per line with error bars. Plotly.react redraws in place on every change.
SCRIPT = r"""
(function () {
  var root = document.currentScript.parentNode;
  var D = JSON.parse(root.querySelector('.tls-data').textContent);
  var menus = root.querySelector('.tls-menus'), plot = root.querySelector('.tls-plot');
  var state = {x: D.x, colour: D.colour, method: D.method, held: Object.assign({}, D.held)};
  var byName = {};
  D.axes.forEach(function (a, i) { byName[a.name] = i; });
  function select(cls, label, options, value, onchange) {
    var span = document.createElement('label');
    span.className = 'tls-menu';
    span.textContent = label + ' ';
    var s = document.createElement('select');
    s.className = cls;
    options.forEach(function (o) {
      var e = document.createElement('option');
      e.value = o[0]; e.textContent = o[1];
      if (String(o[0]) === String(value)) { e.selected = true; }
      s.appendChild(e);
    });
    s.addEventListener('change', function () { onchange(s.value); draw(); });
    span.appendChild(s);
    menus.appendChild(span);
    return s;
  }
  function offset(idx) {  // C order over D.shape
    var k = 0;
    for (var i = 0; i < D.shape.length; i++) { k = k * D.shape[i] + idx[i]; }
    return k;
  }
  function build() {
    menus.textContent = '';
    select('tls-x', 'x axis', D.axes.map(function (a) { return [a.name, a.short]; }), state.x,
           function (v) { state.x = v; if (state.colour === v) { state.colour = 'method'; } build(); });
    var colours = [['method', 'the methods']].concat(D.axes.filter(function (a) { return a.name !== state.x; })
        .map(function (a) { return [a.name, a.short]; }));
    select('tls-colour', 'lines', colours, state.colour, function (v) { state.colour = v; build(); });
    if (state.colour !== 'method') {
      select('tls-method', 'of', D.methods.map(function (m) { return [m.name, m.label]; }), state.method,
             function (v) { state.method = v; });
    }
    D.axes.forEach(function (a) {
      if (a.name === state.x || a.name === state.colour) { return; }
      select('tls-axis', a.short, a.labels.map(function (l, i) { return [i, l]; }), state.held[a.name],
             function (v) { state.held[a.name] = parseInt(v, 10); });
    });
  }
  function line(m, fixed, name, colour) {
    var ax = D.axes[byName[state.x]];
    var idx = D.axes.map(function (a) { return fixed[a.name] || 0; });
    var xs = [], ys = [], es = [], ns = [];
    for (var i = 0; i < ax.labels.length; i++) {
      idx[byName[state.x]] = i;
      var k = offset(idx);
      xs.push(ax.x ? ax.x[i] : ax.labels[i]); ys.push(m.mean[k]); es.push(m.ci[k] || 0); ns.push(m.n[k]);
    }
    return {x: xs, y: ys, error_y: {type: 'data', array: es, visible: true, thickness: 1}, customdata: ns,
            mode: 'lines+markers', name: name, line: {color: colour},
            hovertemplate: name + '<br>' + ax.short + ' = %{x}<br>accuracy %{y:.3f} \u00b1 %{error_y.array:.3f}' +
                           '<br>%{customdata} seeds<extra></extra>'};
  }
  function draw() {
    var traces = [];
    if (state.colour === 'method') {
      D.methods.forEach(function (m) { traces.push(line(m, state.held, m.label, m.color)); });
    } else {
      var m = D.methods.filter(function (q) { return q.name === state.method; })[0] || D.methods[0];
      var c = D.axes[byName[state.colour]];
      c.labels.forEach(function (l, j) {
        var fixed = Object.assign({}, state.held);
        fixed[c.name] = j;
        traces.push(line(m, fixed, m.label + ', ' + c.short + ' = ' + l, D.palette[j % D.palette.length]));
      });
    }
    var ax = D.axes[byName[state.x]];
    var xaxis = {title: {text: ax.title}};
    if (ax.x) { xaxis.tickvals = ax.x; xaxis.ticktext = ax.labels; } else { xaxis.type = 'category'; }
    xaxis.gridcolor = '#e5e5e5';
    Plotly.react(plot, traces, {margin: {l: 60, r: 20, t: 20, b: 50}, plot_bgcolor: 'white', xaxis: xaxis,
                                yaxis: {title: {text: D.ytitle}, range: [0, 1.02], gridcolor: '#e5e5e5'},
                                legend: {font: {size: 11}}},
                 {displaylogo: false, responsive: true});
  }
  build();
  draw();
})();
"""


def write_plotlyjs(out):
    """plotly.js next to index.html, from the installed plotly package (no network at view time)."""
    from plotly.offline import get_plotlyjs
    with open(os.path.join(out, "plotly.js"), "w", encoding="utf-8") as f:
        f.write(get_plotlyjs())
