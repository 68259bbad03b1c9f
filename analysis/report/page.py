"""The page: its style, the settings and summary tables, the sections
between the figures (the decisions along each ordered axis, the rules
table, failures, the summary per cell) and index.html itself."""
import html
import os
import sys
import time

import numpy as np

from .. import results as R
from ..tables import table_name
from .headline import ROW_COLUMNS, comparison_name, kind_of, line_text, rough, setting
from .names import pct, signed

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1.2em 2em;max-width:1400px;
     color:#222;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin:.2em 0 .4em} h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
.headline{background:#f3f7fb;border-left:5px solid #0072B2;padding:.6em 1.2em;margin:1em 0}
.headline li{margin:.35em 0}
.status{display:inline-block;padding:.15em .6em;border-radius:4px;font-weight:600}
.complete{background:#dff3e4;color:#1b5e20} .partial{background:#fff1d6;color:#8a5300} .none{background:#fde0dc;color:#a01b0b}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
td,th{border:1px solid #d5d5d5;padding:3px 8px} th{background:#f4f4f4;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.pos{background:#e3f1fb} td.neg{background:#fbe5dc}
table.settings td:first-child{font-weight:600;white-space:nowrap;vertical-align:top}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
.caption{color:#555;font-size:13px;margin:.2em 0 1.2em}
.error{color:#a01b0b;font-weight:600}
.tls-menu{margin-right:1.2em;font-size:13px;white-space:nowrap} .tls-menus{margin:.4em 0}
.banner{background:#fff1d6;border-left:5px solid #8a5300;padding:.4em 1em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
code{font-size:13px}
"""


def esc(s):
    return html.escape(str(s))


# ---------------------------------------------------------------- sections between the figures: (ctx, report) -> HTML

def no_gain(ctx, report):
    if ctx.lay.x is None or ctx.has_gain:
        return ""
    n = ctx.names
    return (f"<h2>Gain of {esc(n.short(ctx.trans))} over {esc(n.short(ctx.base))}</h2><p class='caption'>No "
            f"configuration where both finished: no gain to show.</p>")


def decisions_section(ctx, report):
    """Under the decision map: every line of cells along each ordered axis in words."""
    body = decisions_html(ctx)
    return ("<p class='caption'>Every line of cells along each ordered axis, from the decisions only (a sign "
            "change is named between a decided helps and a decided hurts; the cells between are the band where it "
            "lies):</p>" + body) if body else ""


def rules_section(ctx, report):
    return rules_html(ctx.rules)


def one_configuration(ctx, report):
    """The heading of the article's figures, and which configuration they show."""
    out = "<h2>One configuration, as in the article</h2>"
    if ctx.figure_config is None:
        return out + f"<p class='caption'>{esc(ctx.figure_config_note)}.</p>"
    out += (f"<p class='caption'>{esc(ctx.names.title_of(ctx.figure_config))}"
            + (f" — {esc(ctx.figure_config_note)}" if ctx.figure_config_note else "") + ".</p>")
    if ctx.emb_error:  # reported here, where the figures that need them would come
        message, trace = ctx.emb_error
        print(trace, end="", file=sys.stderr)
        report.errors.append(message)
    return out


def failures(ctx, report):
    failed = ctx.counts[2]
    return f"<h2>Failed configurations ({failed})</h2>" + failures_table(ctx) if failed else ""


def summary(ctx, report):
    return ("<h2>Summary per cell</h2><p class='caption'>Mean over the finished seeds ± half-width of the "
            "95% t interval; the gain is paired per seed; blue/red: its interval excludes 0 (the decisions per cell "
            f"are in the decision map).{rough(ctx)}</p>" + summary_table(ctx))


# ---------------------------------------------------------------- tables

def settings_table(ctx, shown=None):
    ds, n_ = ctx.ds, ctx.names
    path = shown or ctx.path
    a = ds.attrs
    n, done, failed, pending = ctx.counts
    files = getattr(path, "paths", None)
    if files:  # several files as one cube (analysis.concat)
        rows = [("results files", " &nbsp;·&nbsp; ".join(
            f"<code>{esc(os.path.abspath(p))}</code>: {esc(R.axis_key(ds, path.dim))} = {esc(n_.fmt(path.dim, v))}"
            for p, v in zip(files, path.values))
            + (f"<br>they differ in {esc(a['concat_differences'])}" if a.get("concat_differences") else ""))]
        path = files[0]
    else:
        rows = [("results file", f"<code>{esc(os.path.abspath(path))}</code>")]
    state = f"{done} of {n} done" + (" (partial)" if pending else " (all failed)" if failed == n else " (complete)")
    if failed:
        state += f", {failed} failed"
    if pending and files:
        state += f", {pending} pending (in a file, or not in it: the files' grids differ there)"
    elif pending:
        state += (f", {pending} pending: resume with <code>mpirun -n P tlsweep run -o {esc(os.path.basename(path))} "
                  f"--resume</code> (or <code>scripts/run.sh -o {esc(os.path.basename(path))} ... --resume</code>)")
    rows.append(("configurations", state))
    grid = []
    for ax in R.axes(ds):
        vals = ", ".join(n_.fmt(ax, v) for v in ds[ax].values)
        extra = " (extra axis)" if ax not in R.NAMED_AXES else ""
        grid.append(f"<code>{esc(R.axis_key(ds, ax))}</code>{extra}: {esc(vals)}")
    rows.append(("grid", " &nbsp;·&nbsp; ".join(grid)))
    rows.append(("methods", " &nbsp;·&nbsp; ".join(
        f"<code>{esc(table_name(m))}</code>: {esc(n_.label(m))}" + (
            f" (the file's <code>acc_{esc(m)}</code>)" if table_name(m) != m else "") for m in R.approaches(ds))))
    commit = str(a.get("tlsweep_commit", ""))
    rows.append(("tlsweep", f"version {esc(a.get('tlsweep_version', '?'))}, commit <code title='{esc(commit)}'>"
                            f"{esc(commit[:12] or '?')}</code>" + (f", {esc(a['compiler'])}" if "compiler" in a else "")
                            + f" &nbsp;·&nbsp; configuration hash <code>{esc(a.get('config_hash', '?'))}</code> from "
                              f"{esc(a.get('config_source', '?'))}"))
    rows.append(("date (UTC)", f"started {esc(a.get('started', '?'))}, finished {esc(a.get('finished', '?'))}"
                               f"; {esc(a.get('runs', 1))} run(s) on {esc(a.get('nranks', '?'))} rank(s)"))
    libs = ", ".join(f"{k.replace('_version', '')} {esc(a[k])}" for k in ("hdf5_version", "mpi_version",
                                                                        "libsvm_version", "mmd_kernel") if k in a)
    if "data_mode" in a or libs:
        rows.append(("data, libraries", " &nbsp;·&nbsp; ".join(x for x in (esc(a.get("data_mode", "")), libs) if x)))
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    runs = run_table(ds)
    yaml = a.get("config_yaml", "")
    hist = a.get("history", "")
    return (f"<table class='settings'>{body}</table>{runs}"
            f"<details><summary>effective configuration (YAML)</summary><pre>{esc(yaml)}</pre></details>"
            + (f"<details><summary>history</summary><pre>{esc(hist)}</pre></details>" if hist else ""))


def run_table(ds):
    cols = ["run_started", "run_finished", "run_command", "run_ranks", "run_hosts", "run_slurm_job",
            "run_exit_status", "run_version"]
    have = [c for c in cols if c in ds.attrs]
    if not have:
        return ""
    arrays = {c: [str(R._py(v)) for v in np.atleast_1d(ds.attrs[c])] for c in have}
    n = max(len(v) for v in arrays.values())
    head = "".join(f"<th>{esc(c[4:].replace('_', ' '))}</th>" for c in have)
    body = "".join("<tr>" + "".join(f"<td>{esc(arrays[c][i]) if i < len(arrays[c]) else ''}</td>" for c in have)
                   + "</tr>" for i in range(n))
    return f"<details><summary>runs ({n})</summary><table><tr>{head}</tr>{body}</table></details>"


def summary_table(ctx):
    """The summary, readable: mean ± CI per method, the gain of transfer, the
    negative-transfer share, counts; cells coloured where the gain's CI
    excludes 0."""
    ds, summ, n_ = ctx.ds, ctx.summ, ctx.names
    ms = [table_name(m) for m in R.approaches(ds)]
    gcol = f"gain_{table_name(ctx.trans)}_vs_{table_name(ctx.base)}"
    cells = list(summ.index.names) if summ.index.nlevels > 1 or summ.index.name else []
    df = summ.reset_index() if cells else summ
    heads = [esc(n_.axis_name(a)) for a in cells] + ["done"] + [f"acc {esc(m)}" for m in ms]
    if gcol in df:
        heads.append(f"gain {esc(table_name(ctx.trans))} − {esc(table_name(ctx.base))}")
    if "negative_transfer_share" in df:  # per seed, not a decision: named for what it counts
        heads.append(f"seeds with {esc(table_name(ctx.trans))} &lt; {esc(table_name(ctx.base))}")
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    for _, r in df.iterrows():
        tds = [f"<td class='num'>{esc(n_.fmt(a, r[a]))}</td>" for a in cells]
        tot = int(r["n_done"] + r["n_failed"] + r["n_pending"])
        d = f"{int(r['n_done'])}/{tot}"
        if r["n_failed"]:
            d += f", {int(r['n_failed'])} failed"
        tds.append(f"<td class='num'>{d}</td>")
        for m in ms:
            v, h = r[f"acc_{m}"], r[f"acc_{m}_ci95"]
            tds.append(f"<td class='num'>{'–' if not np.isfinite(v) else f'{v:.3f}'}"
                       f"{'' if not np.isfinite(h) else f' ± {h:.3f}'}</td>")
        if gcol in df:
            g, h = r[gcol], r[f"{gcol}_ci95"]
            cls = "pos" if np.isfinite(h) and g - h > 0 else "neg" if np.isfinite(h) and g + h < 0 else ""
            tds.append(f"<td class='num {cls}'>{'–' if not np.isfinite(g) else signed(g)}"
                       f"{'' if not np.isfinite(h) else f' ± {h:.3f}'}</td>")
        if "negative_transfer_share" in df:
            v = r["negative_transfer_share"]
            tds.append(f"<td class='num'>{'–' if not np.isfinite(v) else pct(v)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "".join(out)


def failures_table(ctx, limit=50):
    ds, n_ = ctx.ds, ctx.names
    st = ds["status"]
    grid = R.axes(ds)
    bad = np.argwhere(st.transpose(*grid).values == R.FAILED)
    if not len(bad):
        return ""
    reason = ds["reason"].transpose(*grid).values if "reason" in ds else None
    head = "".join(f"<th>{esc(R.axis_key(ds, a))}</th>" for a in grid) + "<th>reason</th>"
    rows = []
    for pos in bad[:limit]:
        r = reason[tuple(pos)] if reason is not None else ""
        r = R._str(r) if isinstance(r, (str, bytes)) else ""
        rows.append("<tr>" + "".join(f"<td class='num'>{esc(n_.fmt(a, ds[a].values[i]))}</td>" for a, i in
                                     zip(grid, pos)) + f"<td>{esc(r)}</td></tr>")
    more = f"<p class='caption'>and {len(bad) - limit} more (tlsweep status lists all).</p>" if len(bad) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def rules_html(rules):
    rows = []
    for name, thr in R.RULES:
        if name not in rules:
            continue
        r = rules[name]

        def f(v, spec):
            return "–" if v is None else format(v, spec)
        rows.append(f"<tr><td>{name}</td><td class='num'>{thr:g}</td><td class='num'>{f(r['pearson_r_with_gain'], '.3f')}</td>"
                    f"<td class='num'>{f(r['spearman_rho_with_gain'], '.3f')}</td><td class='num'>{r['n_below']}</td>"
                    f"<td class='num'>{f(r['negative_share_below'], '.3f')}</td><td class='num'>{f(r['mean_gain_below'], '+.4f')}</td>"
                    f"<td class='num'>{r['n_above']}</td><td class='num'>{f(r['negative_share_above'], '.3f')}</td>"
                    f"<td class='num'>{f(r['mean_gain_above'], '+.4f')}</td></tr>")
    return ("<table><tr><th>distance</th><th>threshold</th><th>Pearson r</th><th>Spearman ρ</th><th>n below</th>"
            "<th>negative share below</th><th>mean gain below</th><th>n above</th><th>negative share above</th>"
            f"<th>mean gain above</th></tr>{''.join(rows)}</table>")


def decisions_html(ctx):
    """A table per ordered axis: comparison, the other axes that vary, the line in words. Along the
    primary axis every line; along the others the lines where the sign changes."""
    if ctx.dec is None or not ctx.bounds:
        return ""
    out = []
    for ax, b in ctx.bounds.items():
        rows = b if ax == ctx.primary else b[b["changes"].map(len) > 0]
        if not len(rows):
            continue
        others = [a for a in b.columns if a not in ROW_COLUMNS and ctx.dec.sizes[a] > 1]
        head = ("<th>comparison</th>" + "".join(f"<th>{esc(ctx.names.axis_name(a))}</th>" for a in others)
                + f"<th>along {esc(ctx.names.axis_name(ax))}</th>")
        body = []
        for _, r in rows.iterrows():
            c = r["comparison"]
            body.append(f"<tr><td>{esc(comparison_name(ctx, c))}</td>"
                        + "".join(f"<td class='num'>{esc(setting(ctx, c, a, r[a]).split(' = ', 1)[1])}</td>"
                                  for a in others)
                        + f"<td>{line_text(ctx, ax, r, kind_of(ctx, r))}</td></tr>")
        out.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
    return "".join(out)


# ---------------------------------------------------------------- index.html

def write_index(ctx, out, sections, plotly, banner="", refresh=None, shown=None):
    """index.html in out: the status, the headline, the settings, then the
    sections in order. plotly: whether plotly.js is next to it; banner:
    HTML under the title; refresh: seconds after which the page reloads
    itself; shown: the results file the page names (else ctx's)."""
    path = shown or ctx.path
    name = " + ".join(os.path.basename(p) for p in getattr(path, "paths", [path]))
    n, done, failed, pending = ctx.counts
    if done == 0:
        cls, state = "none", f"{done} of {n} done" + (" (partial)" if pending else "")
    elif pending:
        cls, state = "partial", f"{done} of {n} done (partial)"
    else:
        cls, state = "complete", f"{done} of {n} done"
    if failed:
        state += f", {failed} failed"
    head_js = "<script src='plotly.js' charset='utf-8'></script>" if plotly else ""
    reload = f"<meta http-equiv='refresh' content='{int(refresh)}'>" if refresh else ""
    note = f"<p class='banner'>{banner}</p>" if banner else ""
    body = "".join(sections)
    items = "".join(f"<li>{h}</li>" for h in ctx.heads)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlsweep report: {esc(name)}</title>{reload}
<style>{CSS}</style>{head_js}</head><body>
<h1>tlsweep report: {esc(name)} <span class="status {cls}">{esc(state)}</span></h1>{note}
<div class="headline"><ul>{items}</ul></div>
<h2>Settings</h2>
{settings_table(ctx, shown)}
{body}
<p class="caption">Written by analysis.report at {esc(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()))}.
Tables as data: <a href="summary.csv">summary.csv</a>, <a href="summary.json">summary.json</a>,
<a href="report.json">report.json</a>.</p>
</body></html>
"""
    p = os.path.join(out, "index.html")
    with open(p, "w", encoding="utf-8") as f:
        f.write(page)
    return p
