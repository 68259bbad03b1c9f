"""The page, top to bottom: one line per figure (Figure) and per part that
is not a figure (Section). The page's order, which figures a results file
gets (figure_files(ctx)) and the images tests/test_report_browser.py expects all
come from PAGE.

To add a figure: a module in figures/ with draw(ctx, path, plt) and, as it
needs them, when(ctx), title(ctx), caption(ctx); its name in the import
below; one Figure line in PAGE where it goes on the page."""
from dataclasses import dataclass
from typing import Callable, Optional, Union

from . import interactive, page
from .figures import (accuracy, confusion, decision_map, domains, gain_curve, gain_heatmap, learning_curves, methods,
                      methods_single, negative_transfer, regret, rules, tsne, what_foresees)

Text = Union[str, Callable]  # a text, or ctx -> text


@dataclass(frozen=True)
class Figure:
    """A figure: its file, its heading, whether a results file gets it,
    how it is drawn, the caption under it (HTML) and what follows it on the
    page whether it could be drawn or not (a table, a data file)."""
    file: Text  # the PNG's name in the report directory
    title: Text  # its heading (text: it is escaped)
    when: Callable  # ctx -> bool
    draw: Callable  # (ctx, path, plt) -> None; raises when it cannot draw
    caption: Text = ""  # HTML
    after: Optional[Callable] = None  # (ctx, report) -> HTML ("" for nothing)

    def name(self, ctx):
        return _text(self.file, ctx)

    def heading(self, ctx):
        return _text(self.title, ctx)

    def caption_html(self, ctx):
        return _text(self.caption, ctx)


@dataclass(frozen=True)
class Section:
    """A part of the page that is not a figure."""
    html: Callable  # (ctx, report) -> HTML ("" for nothing)


def _text(t, ctx):
    return t(ctx) if callable(t) else t


PAGE = (
    Figure("accuracy.png", "Methods compared", methods_single.when, methods_single.draw),
    Figure(accuracy.file, accuracy.title, accuracy.when, accuracy.draw, accuracy.caption),
    Figure("decision_map.png", decision_map.title, decision_map.when, decision_map.draw, decision_map.caption,
           page.decisions_section),
    Section(page.no_gain),
    Figure("gain_vs_shift.png", gain_curve.title, gain_curve.when, gain_curve.draw, gain_curve.caption),
    Figure("gain_heatmap.png", gain_heatmap.title, gain_heatmap.when, gain_heatmap.draw, gain_heatmap.caption),
    Figure("negative_transfer.png", "Where negative transfer happens", negative_transfer.when, negative_transfer.draw,
           negative_transfer.caption),
    Section(interactive.section),
    Figure("regret.png", "Regret of label-free selection", regret.when, regret.draw, regret.caption, regret.write_csv),
    Figure("rules_of_thumb.png", "The article's rules of thumb on this sweep", rules.when, rules.draw, rules.CAPTION,
           page.rules_section),
    Figure("what_foresees.png", what_foresees.TITLE, what_foresees.when, what_foresees.draw, what_foresees.caption,
           what_foresees.write_csv),
    Section(page.one_configuration),
    Figure("domains.png", "Source and target domains", domains.when, domains.draw),
    Figure("methods.png", "Methods compared", methods.when, methods.draw),
    Figure("tsne.png", "t-SNE of source and target embeddings", tsne.when, tsne.draw),
    Figure("confusion.png", "Confusion matrices", confusion.when, confusion.draw),
    Figure("learning_curves.png", "Learning curves", learning_curves.when, learning_curves.draw),
    Section(page.failures),
    Section(page.summary),
)
FIGURES = tuple(p for p in PAGE if isinstance(p, Figure))


def figure_files(ctx):
    """The file names of the figures ctx's results file gets, in page order."""
    return [f.name(ctx) for f in FIGURES if f.when(ctx)]
