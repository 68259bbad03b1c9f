"""The report of a tlsweep results file: figures, an HTML page and the
tables as data (python3 -m analysis.report RESULTS -o DIR; installed:
tlsweep-report; cli.py says what it writes).

    cli        the command: arguments, reading the file, exit status
    context    Context: everything the page says about one file, computed once
    names      Names: what the page calls the methods, axes and shift of a file; colours
    layout     Layout: where the axes go in the sweep figures, and its panels (facets)
    headline   the sentences at the top, in decisions (analysis.decide): counts per comparison, where
               the decided sign changes (a boundary map's boundary per target size, inferred cells said),
               never a crossover from means; intervals from < 5 seeds flagged
    contents   PAGE: the page top to bottom, one line per figure or section
    figures/   one module per figure
    interactive  the plotly view
    page       the tables, the sections between the figures, index.html
    write      walks PAGE into the report directory
"""
from .._needs import REPORT, check

check(REPORT)
from .cli import main  # noqa: E402
from .contents import FIGURES, PAGE, Figure, Section, figure_files
from .context import Context
from .layout import Layout
from .names import SCORE_LABELS, Names

__all__ = ["main", "Context", "Names", "Layout", "Figure", "Section", "PAGE", "FIGURES", "figure_files", "fmt",
           "SCORE_LABELS"]


def fmt(ds, a, v):
    """A grid value of the file ds's axis a as text: 45°, 0.5, 10, adam, true."""
    return Names(ds).fmt(a, v)
