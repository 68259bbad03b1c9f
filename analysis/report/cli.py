"""Figures and an HTML page for a tlsweep results file.

    tlsweep-report results.h5 -o report/ [--config shift=45,lambda=0.5,n_target=50,seed=42]
    tlsweep-report a.h5 b.h5 -o report/         several sweeps as one cube (analysis.concat): an axis for the file
    tlsweep-report --watch results.h5 -o report/ [--every 60]
                                                 while the sweep runs: the report of a snapshot, every 60 s
    python3 -m analysis.report ...               the same, from the repository

Works on any results file, complete, partial (an interrupted sweep) or with
failed configurations. index.html opens with a headline computed from the
data in decisions (analysis.decide): per comparison the cells where one
approach helps, hurts, is equivalent or is undecided against another,
where the decided sign changes along each ordered axis (a boundary map's
boundary per target size, measured and inferred cells said apart), negative
transfer as decided cells, which lambda is best -- then the settings behind
it (configuration, version, commit, hash, dates, how many configurations are
done). The figures follow the axes that vary: accuracy against shift (or
n_target when the shift is fixed) per n_target, the decision map (every
cell coloured by its decision, the seeds a measured cell used, inferred
cells hatched, the boundary per row drawn), the gain of transfer (cells
whose 95% CI includes 0 hatched) and where negative transfer happens (decided
cells) as heatmaps, the article's
rules of thumb tested on the sweep, an interactive view of the cube
(plotly, offline: plotly.js is written next to index.html; its x axis and
colour chosen among the axes), and the article's four figures for one
finished configuration (--config, default the article's 45 deg, lambda 0.5,
50 labelled points, seed 42 or the nearest finished one). Extra grid axes
(e.g. train.lr) are faceted when they have few values, otherwise the
figures show their best value and say so. Also writes summary.csv,
summary.json and report.json (valid JSON: no NaN). Several files are put
together by analysis.concat (an axis named after the one configuration key
that tells them apart, else `file`); files whose grid axes differ are
refused with one line.

--watch FILE: while the sweep writing FILE runs, `tlsweep snapshot FILE`
every --every seconds and the report of the snapshot (the page reloads
itself); when the sweep is complete, the report of FILE itself, and the
command ends with its status. Before the sweep has started it waits; after
an interruption it keeps the last report and waits for a resume (Ctrl-C
ends it). tlsweep is found by --tlsweep, TLSWEEP_BIN, next to this command,
in the repository's build/ or on PATH.

Progress goes to stderr; the files written to stdout, index.html last.
Exit status 0; 2 for bad arguments; 1 when a figure could not be drawn (the
page is written all the same and says which); 130 when --watch is
interrupted.
"""
import argparse
import os
import sys
import time

from .. import results as R
from .context import Context, log
from .write import write

# matplotlib and seaborn are imported in main(): --help stays fast


def prog():
    """What the command is called: tlsweep-report when run as that, else python3 -m analysis.report."""
    return "tlsweep-report" if os.path.basename(sys.argv[0] or "") == "tlsweep-report" else "python3 -m analysis.report"


def arguments(argv):
    ap = argparse.ArgumentParser(prog=prog(), description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="a tlsweep results file, or several (one cube: an axis for the file)")
    ap.add_argument("-o", "--out", default="report", help="output directory (default report/)")
    ap.add_argument("--config", help="the configuration of the article's figures, e.g. "
                                     "shift=45,lambda=0.5,n_target=50,seed=42 (extra axes by key: train.lr=0.01)")
    ap.add_argument("--watch", action="store_true", help="refresh the report from snapshots while the sweep of "
                                                         "the (one) results file runs, until it is complete")
    ap.add_argument("--every", type=float, default=60.0, metavar="SECONDS",
                    help="with --watch: seconds between two reports (default 60)")
    ap.add_argument("--tlsweep", metavar="PATH", help="with --watch: the tlsweep program (for its snapshot command)")
    a = ap.parse_args(None if argv is None else [os.fspath(x) for x in argv])  # paths may be os.PathLike
    if a.watch and len(a.results) != 1:
        ap.error("--watch takes one results file")
    if a.every <= 0:
        ap.error(f"--every {a.every:g}: allowed: seconds > 0")
    return a


def bad_paths(a, must_exist=True):
    """The one-line error for a results file or -o that cannot be used, or None (-o is made)."""
    for r in a.results if must_exist else []:
        if not os.path.exists(r):
            return f"{prog()}: {r}: no such file"
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        return (f"{prog()}: -o {a.out}: exists and is not a directory; allowed: a directory "
                "(made if missing)")
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        return (f"{prog()}: -o {a.out}: cannot make the directory: {e.strerror}; allowed: a "
                "directory that can be written")
    return None


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11})
    return plt


def read(results):
    """(path, dataset) of one results file or of several put together; raises ValueError with one line."""
    from ..combine import Files, concat
    if len(results) > 1:
        log(f"reading {', '.join(results)}")
        ds = concat(results)
        log(f"{len(results)} files as one cube: the axis {R.axis_key(ds, ds.attrs['concat_dim'])}"
            + (f" ({ds.attrs['concat_differences']})" if ds.attrs.get("concat_differences") else ""))
        return Files(ds), ds
    log(f"reading {results[0]}")
    try:
        ds = R.load(results[0])
    except Exception as e:  # not a results file, or one no engine reads
        raise ValueError(f"{results[0]}: cannot read it: {type(e).__name__}: {e}")
    loaded = ds.load()
    ds.close()
    return results[0], loaded


def report(results, out, config, plt, banner="", refresh=None, shown=None):
    """The report of results (a list of paths) into out: its exit status (0, 1 a part failed, 2 bad input).
    banner: HTML said under the title; refresh: seconds after which the page reloads itself; shown: the
    results file the page names (a snapshot's: the file of the sweep)."""
    t0 = time.time()
    try:
        path, ds = read(results)
    except ValueError as e:
        print(f"{prog()}: {e}" if not str(e).startswith("analysis.") else str(e), file=sys.stderr)
        return 2
    try:
        ctx = Context(path, ds, config)
    except SystemExit as e:  # a --config that names no axis or a value not in the grid
        print(e, file=sys.stderr)
        return 2
    rep = write(ctx, out, plt, banner=banner, refresh=refresh, shown=shown)
    for h in rep.headline:
        log(h)
    for p in rep.written:
        print(p)
    print(f"report: {rep.index}", flush=True)
    log(f"done in {time.time() - t0:.1f} s" + (f"; {len(rep.errors)} part(s) failed" if rep.errors else ""))
    return 1 if rep.errors else 0


def main(argv=None):
    """The command (tlsweep-report): 0 done, 1 a part could not be made, 2 bad arguments."""
    a = arguments(argv)
    error = bad_paths(a, must_exist=not a.watch)
    if error:
        print(error, file=sys.stderr)
        return 2
    if a.watch:
        from .watch import watch
        return watch(a, pyplot(), report)
    return report(a.results, a.out, a.config, pyplot())
