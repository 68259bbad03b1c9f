"""Everything the report says about one results file, computed once before
anything is drawn: a Context holds the file's names and layout, its
summaries, the best tuning values, the selection regret,
the decisions per cell, the counts and the headline (with what the
transferability scores foresee), and the
configuration of the article's figures (with its embeddings)."""
import sys
import traceback

import numpy as np

from ..decide import boundaries, decisions, ordered_axes
from .. import results as R
from .figures import what_foresees
from .headline import headline, selection_sentences
from .layout import Layout, best_index
from .names import Names

ARTICLE = {"shift": 45.0, "lambda": 0.5, "n_target": 50, "seed": 42}
# what the sweep asks about, never optimised over: results are given per value (the tuning axes, lambda and
# the extra axes, are held at their best value in the figures that need one value)
QUESTION_AXES = ("shift", "n_target", "data_shift_kind")


def log(msg):
    print(f"report: {msg}", file=sys.stderr, flush=True)


class Context:
    """One results file, summarised. path: the file; ds: its loaded
    dataset; config: --config's text or None. Raises SystemExit (with the
    message) for a --config that names no axis or a value not in the grid.

    names, lay        the file's Names and Layout
    base, trans       the baseline and the transfer method (results.roles)
    counts            (configurations, done, failed, pending)
    cube, summ        results.summary_cube and results.summary
    rules, best       rules_of_thumb; axis -> best_values for each tuning axis that varies
    tuning            axis -> index of its best value for trans (every cell axis but the QUESTION_AXES)
    dec               analysis.decisions: per cell and comparison (the file's own in the decide modes); None
                      without a pair of approaches
    primary           the ordered axis the headline reads the decisions along (the layout's x when it is
                      one), or None
    bounds            ordered axis -> analysis.boundaries of dec along it
    gcol, has_gain    the gain variable's name; whether it has any finite value
    info              counts, per-method done/failed, the most frequent failure
    heads             the headline sentences (HTML)
    sel_names, regret_sum, regret_all   the selection scores judged (none: [], None, {})
    figure_config     axis -> index of the article's figures' configuration, or None; figure_config_note
    emb, emb_error    its embeddings (None without); (message, traceback) when they could not be read"""

    def __init__(self, path, ds, config=None):
        self.path, self.ds = path, ds
        self.figure_config, self.figure_config_note = choose_config(ds, config)  # axis -> index, or None
        self.counts = R.counts(ds)  # (configurations, done, failed, pending)
        n, done, failed, pending = self.counts
        log(f"{n} configurations: {done} done, {failed} failed, {pending} pending" + (" (partial)" if pending else ""))
        self.base, self.trans = R.roles(ds)
        self.names = Names(ds)
        self.lay = Layout(ds, self.names)
        self._summarise()
        self.info = {"counts": self.counts, "methods": self._methods(), "top_reason": self._top_reason()}
        self.heads = headline(self)
        self._selection()
        self._foresee()
        self._embeddings()

    def _summarise(self):
        ds, trans = self.ds, self.trans
        self.cube = R.summary_cube(ds)
        self.summ = R.summary(ds)
        self.rules = R.rules_of_thumb(ds)
        self.tuning = {ax: best_index(ds, ax, trans) for ax in R.cell_axes(ds) if ax not in QUESTION_AXES}
        self.best = {ax: R.best_values(ds, ax, trans) for ax in self.tuning if ds.sizes[ax] > 1}
        log("decisions per cell")
        self.dec = decisions(ds)
        ordered = ordered_axes(self.dec) if self.dec is not None else []
        self.primary = self.lay.x if self.lay.x in ordered else next(iter(ordered), None)
        self.bounds = {ax: boundaries(self.dec, ax) for ax in ordered}
        self.gcol = f"gain_{trans}_vs_{self.base}"
        self.has_gain = self.gcol in self.cube and bool(np.isfinite(self.cube[self.gcol].values).any())

    def _methods(self):
        """method -> (configurations done, configurations where it failed)."""
        ds = self.ds
        return {m: (int(R.method_done(ds, m).sum()),
                    int((ds["approach_status"].sel(approach=m) == R.FAILED).sum()) if "approach_status" in ds else 0)
                for m in R.approaches(ds)}

    def _top_reason(self):
        reasons = {}
        if "reason" in self.ds:
            for r in self.ds["reason"].values.ravel():
                if isinstance(r, (str, bytes)) and R._str(r):
                    reasons[R._str(r)] = reasons.get(R._str(r), 0) + 1
        return max(reasons, key=reasons.get) if reasons else ""

    def _selection(self):
        """The regret of choosing lambda by each label-free score, when lambda varies."""
        self.sel_names = selection_scores(self.ds)
        self.regret_sum, self.regret_all = None, {}
        if self.sel_names:
            log("selection scores: what choosing lambda without target labels would give")
            self.regret_sum = R.summary_regret(self.ds, scores=self.sel_names)
            self.regret_all = R.regret_overall(self.ds, scores=self.sel_names)
            self.heads += selection_sentences(self, self.regret_all, "lambda")

    def _foresee(self):
        """What the transferability scores foresee, in one headline sentence, when the file can say."""
        if what_foresees.when(self):
            log("transferability scores: what foresees negative transfer")
            text = what_foresees.headline_sentence(self)
            if text:
                self.heads.append(text)

    def _embeddings(self):
        """The embeddings of the figure configuration, when the file has them.
        A failure is kept (message, traceback) for the page to report in place."""
        self.emb, self.emb_error = None, None
        if self.figure_config is None or "embeddings" not in groups(self.path):
            return
        try:
            where = {ax: self.ds[ax].values[i] for ax, i in self.figure_config.items()}
            self.emb = R.load_embeddings(self.path, **where)
        except Exception as e:
            self.emb_error = (f"embeddings: {type(e).__name__}: {e}", traceback.format_exc())


def selection_scores(ds, over="lambda"):
    """The label-free (and held-out) scores to judge, when `over` varies: the
    file's scores but the oracle; [] when there is nothing to select."""
    if over not in ds.dims or ds.sizes[over] < 2:
        return []
    return [n for n in R.scores_in(ds) if n != "oracle"]


def choose_config(ds, spec):
    """The configuration of the article's figures: a finished one, nearest to
    the article's (45°, λ 0.5, 50 labelled points, seed 42) or to --config.
    Returns (indices or None, note)."""
    grid = R.axes(ds)
    given = _given(ds, spec) if spec else {}
    done = (ds["status"] == R.DONE).transpose(*grid).values
    if not done.any():
        return None, "no configuration is finished yet, so there are no figures of one configuration"
    cost = np.zeros(done.shape)
    for d, a in enumerate(grid):
        shape = [1] * len(grid)
        shape[d] = ds.sizes[a]
        if a in given:
            c = (np.arange(ds.sizes[a]) != given[a]) * 1000.0
        elif a in ARTICLE and ds[a].values.dtype.kind in "iuf":
            v = ds[a].values.astype(float)
            c = np.abs(v - ARTICLE[a]) / (np.ptp(v) or 1.0)
        else:
            c = np.arange(ds.sizes[a]) * 1e-6  # no preference: the first value
        cost = cost + c.reshape(shape)
    cost[~done] = np.inf
    flat = int(np.argmin(cost))
    idx = dict(zip(grid, np.unravel_index(flat, done.shape)))
    idx = {a: int(i) for a, i in idx.items()}
    note = ""
    if given and any(idx[a] != i for a, i in given.items()):
        note = "the configuration asked for with --config is not finished: these figures show the nearest finished one"
    return idx, note


def _given(ds, spec):
    """--config's text (shift=45,lambda=0.5,train.lr=0.01) as axis -> index."""
    grid = R.axes(ds)
    by_key = {R.axis_key(ds, a): a for a in grid}
    given = {}
    for part in spec.split(","):
        k, eq, v = part.partition("=")
        k = by_key.get(k.strip(), k.strip())
        if k == "lambda_":
            k = "lambda"
        if not eq or k not in grid:
            raise SystemExit(f"analysis.report: --config: unknown key {k!r}; the axes are "
                             f"{', '.join(R.axis_key(ds, a) for a in grid)}")
        try:
            given[k] = R._index(ds, k, v.strip())
        except KeyError as e:
            raise SystemExit(f"analysis.report: --config: {e.args[0]}")
    return given


def groups(path):
    import h5py
    with h5py.File(path, "r") as f:
        return [k for k in f.keys() if isinstance(f[k], h5py.Group)]
