"""Writes the report directory for a Context: the parts of the page in the
order of contents.PAGE (a figure that cannot be drawn is said on the page
and the rest goes on), the data files (summary.csv, summary.json,
report.json), then index.html."""
import html
import os
import re
import traceback

from ..decide import tally
from .. import results as R
from ..tables import table_name
from .contents import PAGE, Figure
from .context import log
from .page import esc, write_index


class Report:
    """What has been written into out so far."""

    def __init__(self, out):
        self.out = out  # the report directory
        self.written = []  # paths, in the order written (index.html not among them)
        self.errors = []  # "what: why" for each part that could not be made
        self.plotly = False  # plotly.js is next to index.html
        self.headline = []  # the headline as plain text
        self.index = None  # index.html's path, once written


def write(ctx, out, plt, banner="", refresh=None, shown=None):
    """Everything into the directory out (which exists). Returns the Report.
    banner: HTML under the title; refresh: seconds after which the page
    reloads itself (--watch); shown: the results file the page names, when
    ctx's is another (a snapshot of it)."""
    report = Report(out)
    sections = []
    for part in PAGE:
        if isinstance(part, Figure):
            if not part.when(ctx):
                continue
            sections.append(figure(ctx, report, part, plt))
            text = part.after(ctx, report) if part.after else ""
        else:
            text = part.html(ctx, report)
        if text:
            sections.append(text)
    if report.errors:
        sections.insert(0, "<p class='error'>Some parts could not be made: " + esc("; ".join(report.errors)) + "</p>")
    data_files(ctx, report, shown)
    report.index = write_index(ctx, out, sections, report.plotly, banner=banner, refresh=refresh, shown=shown)
    return report


def figure(ctx, report, fig, plt):
    """Draws one figure; returns its part of the page (the error, when it could not be drawn)."""
    name, title, caption = fig.name(ctx), fig.heading(ctx), fig.caption_html(ctx)
    p = os.path.join(report.out, name)
    log(f"figure {name}")
    try:
        fig.draw(ctx, path=p, plt=plt)
    except Exception as e:  # the page is written all the same and says so
        traceback.print_exc()
        report.errors.append(f"{name}: {type(e).__name__}: {e}")
        plt.close("all")
        return (f"<h2>{esc(title)}</h2><p class='error'>This figure could not be drawn: "
                f"{esc(type(e).__name__)}: {esc(e)}</p>")
    report.written.append(p)
    return (f"<h2>{esc(title)}</h2><img src='{esc(name)}' alt='{esc(title)}'>"
            + (f"<p class='caption'>{caption}</p>" if caption else ""))


def decisions_json(ctx):
    """The decisions for report.json: how they were made, the counts per comparison and, along each ordered
    axis, every line's decisions and sign changes."""
    if ctx.dec is None:
        return None
    return {"how": dict(ctx.dec.attrs), "counts": tally(ctx.dec),
            "lines": {ax: b.drop(columns=["runs"]).to_dict(orient="records") for ax, b in ctx.bounds.items()}}


def data_files(ctx, report, shown=None):
    """summary.csv, summary.json and report.json (valid JSON: no NaN)."""
    ds, out, c = ctx.ds, report.out, ctx.figure_config
    n, done, failed, pending = ctx.counts
    ctx.summ.to_csv(os.path.join(out, "summary.csv"))
    with open(os.path.join(out, "summary.json"), "w") as f:
        f.write(R.dumps(ctx.summ, indent=1))
    report.headline = [html.unescape(re.sub("<[^>]+>", "", h)) for h in ctx.heads]
    files = [os.path.abspath(p) for p in getattr(ctx.path, "paths", [ctx.path])]
    data = {"file": os.path.abspath(shown or files[0]), "n_configs": n, "n_done": done, "n_failed": failed,
            "n_pending": pending, "complete": pending == 0, "headline": report.headline, "rules_of_thumb": ctx.rules,
            "decisions": decisions_json(ctx), "figure_configuration":
                {ax: R._py(ds[ax].values[i]) for ax, i in c.items()} if c else None,
            "best": {R.axis_key(ds, k): v for k, v in ctx.best.items()}, "selection": ctx.regret_all,
            "transfer": {"approach_in_file": ctx.trans, "name_in_tables": table_name(ctx.trans),
                         "alignment": R.alignment(ds) or "per configuration: the align_loss axis"},
            "errors": report.errors}
    if len(files) > 1:  # several files as one cube
        data["files"] = files
        data["files_axis"] = R.axis_key(ds, ctx.path.dim)
    if shown:
        data["snapshot"] = os.path.abspath(ctx.path)
    with open(os.path.join(out, "report.json"), "w") as f:
        f.write(R.dumps(data, indent=1))
    report.written += [os.path.join(out, f) for f in ("summary.csv", "summary.json", "report.json")]
