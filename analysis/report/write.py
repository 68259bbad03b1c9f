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


def write(ctx, out, plt):
    """Everything into the directory out (which exists). Returns the Report."""
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
    data_files(ctx, report)
    report.index = write_index(ctx, out, sections, report.plotly)
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


def data_files(ctx, report):
    """summary.csv, summary.json and report.json (valid JSON: no NaN)."""
    ds, out, c = ctx.ds, report.out, ctx.figure_config
    n, done, failed, pending = ctx.counts
    ctx.summ.to_csv(os.path.join(out, "summary.csv"))
    with open(os.path.join(out, "summary.json"), "w") as f:
        f.write(R.dumps(ctx.summ, indent=1))
    report.headline = [html.unescape(re.sub("<[^>]+>", "", h)) for h in ctx.heads]
    data = {"file": os.path.abspath(ctx.path), "n_configs": n, "n_done": done, "n_failed": failed,
            "n_pending": pending, "complete": pending == 0, "headline": report.headline, "rules_of_thumb": ctx.rules,
            "decisions": decisions_json(ctx), "figure_configuration":
                {ax: R._py(ds[ax].values[i]) for ax, i in c.items()} if c else None,
            "best": {R.axis_key(ds, k): v for k, v in ctx.best.items()}, "selection": ctx.regret_all,
            "errors": report.errors}
    with open(os.path.join(out, "report.json"), "w") as f:
        f.write(R.dumps(data, indent=1))
    report.written += [os.path.join(out, f) for f in ("summary.csv", "summary.json", "report.json")]
