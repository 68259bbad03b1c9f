"""Figures and an HTML page for a tlsweep results file.

    python3 -m analysis.report results.h5 -o report/ [--config shift=45,lambda=0.5,n_target=50,seed=42]
    tlsweep-report results.h5 -o report/          (installed)

Works on any results file, complete, partial (an interrupted sweep) or with
failed configurations. index.html opens with a headline computed from the
data in decisions (analysis.decide): per comparison the cells where one
approach helps, hurts, is equivalent or is undecided against another,
where the decided sign changes along each ordered axis, negative transfer
as decided cells, which lambda is best -- then the settings behind it
(configuration, version, commit, hash, dates, how many configurations are
done). The figures follow the axes that vary: accuracy against shift (or
n_target when the shift is fixed) per n_target, the decision map (every
cell coloured by its decision, the seeds it used), the gain of transfer and where negative transfer
happens as heatmaps (cells whose 95% CI includes 0 hatched), the article's
rules of thumb tested on the sweep, an interactive view of the cube
(plotly, offline: plotly.js is written next to index.html), and the
article's four figures for one finished configuration (--config, default
the article's 45 deg, lambda 0.5, 50 labelled points, seed 42 or the
nearest finished one). Extra grid axes (e.g. train.lr) are faceted when
they have few values, otherwise the figures show their best value and say
so. Also writes summary.csv, summary.json and report.json (valid JSON: no
NaN). Progress goes to stderr; the files written to stdout, index.html
last. Exit status 0; 2 for bad arguments; 1 when a figure could not be
drawn (the page is written all the same and says which).
"""
import argparse
import os
import sys
import time

from .. import results as R
from .context import Context, log
from .write import write

# matplotlib and seaborn are imported in main(): --help stays fast


def arguments(argv):
    ap = argparse.ArgumentParser(prog="python3 -m analysis.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="a tlsweep results file")
    ap.add_argument("-o", "--out", default="report", help="output directory (default report/)")
    ap.add_argument("--config", help="the configuration of the article's figures, e.g. "
                                     "shift=45,lambda=0.5,n_target=50,seed=42 (extra axes by key: train.lr=0.01)")
    return ap.parse_args(None if argv is None else [os.fspath(x) for x in argv])  # paths may be os.PathLike


def bad_paths(a):
    """The one-line error for a results file or -o that cannot be used, or None (-o is made)."""
    if not os.path.exists(a.results):
        return f"analysis.report: {a.results}: no such file"
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        return (f"analysis.report: -o {a.out}: exists and is not a directory; allowed: a directory "
                "(made if missing)")
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        return (f"analysis.report: -o {a.out}: cannot make the directory: {e.strerror}; allowed: a "
                "directory that can be written")
    return None


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11})
    return plt


def main(argv=None):
    """The command (tlsweep-report): 0 done, 1 a part could not be made, 2 bad arguments."""
    a = arguments(argv)
    error = bad_paths(a)
    if error:
        print(error, file=sys.stderr)
        return 2
    t0 = time.time()
    log(f"reading {a.results}")
    try:
        ds = R.load(a.results)
    except Exception as e:  # not a results file, or one no engine reads
        print(f"analysis.report: {a.results}: cannot read it: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    ds = ds.load()
    ds.close()
    try:
        ctx = Context(a.results, ds, a.config)
    except SystemExit as e:  # a --config that names no axis or a value not in the grid
        print(e, file=sys.stderr)
        return 2
    report = write(ctx, a.out, pyplot())
    for h in report.headline:
        log(h)
    for p in report.written:
        print(p)
    print(f"report: {report.index}")
    log(f"done in {time.time() - t0:.1f} s" + (f"; {len(report.errors)} part(s) failed" if report.errors else ""))
    return 1 if report.errors else 0
