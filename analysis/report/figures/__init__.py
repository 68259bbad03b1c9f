"""One module per figure of the report. Each has draw(ctx, path, plt), which
draws its figure for a Context into path with matplotlib's pyplot, and
whatever of when(ctx), title(ctx), caption(ctx) it needs; the page's table
(analysis/report/contents.py) puts them in order."""
