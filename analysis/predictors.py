"""Which transferability score foresees negative transfer, and where?

Each configuration records scores computed before paying for the transfer (ts_<score>: LEEP,
N-LEEP, LogME, H-scores, NCE, GBC, TransRate, k-NN accuracy on the labelled target points,
include/tlsweep/transfer.h), the article's domain distances (mmd2_*, pad_*) and its loss-curve
signal (ts_ft_loss_rise, ts_ft_loss_rebound: read after fine-tuning). predictors() asks of each
how well it separates the configurations where transfer hurt from the others:

    predictors(ds)                        # mmd:scratch, the article's negative transfer
    predictors(ds, "mmd:target_mlp")      # the same network without the source as the baseline
    predictors(["rot.h5", "scale.h5"])    # files of one kind each: concat() makes a shift-kind axis
    configurations(ds), cells(ds)         # the tables the AUROCs are computed from
    within_cells(configurations(ds), "ts_leep", -1)   # among the seeds of each cell

The target. Per configuration: harm when the paired gain acc_A - acc_B < 0 (strictly, as the
engine's negative_transfer flag; a tie, acc_A == acc_B, counts as no harm unless ties="drop",
which leaves tied configurations out; n_ties says how many there were). Per cell (the grid
without its seed axis): harm when the cell is decided `hurts`, no harm when it is decided
`helps` or `equivalent` (analysis.decide: undecided cells are left out); the cell's score is the
mean of its seeds' scores.

The AUROC is the probability that a harmful configuration's score lies on the harm side of a
harmless one's (ties count one half: the Mann-Whitney statistic), the harm side being the
score's declared direction (`direction`, +1: higher predicts harm; from the variable's long_name
"higher: better"/"higher: worse", and +1 for the distances) -- so an AUROC below 0.5 says the
score points the wrong way. direction="fitted" takes, per slice, the side that gives an AUROC
>= 0.5 instead (optimistic).

The interval (auroc_low, auroc_high) is over seeds: the seeds are the independent draws (data,
labelled points, initialisation), while the configurations of one seed share them (common
random numbers), so the seed is the unit of resampling, not the configuration. Per
configuration (interval="clustered", the default): the clustered Mann-Whitney/DeLong variance
of Obuchowski (Biometrics 1997), the seeds as clusters, with a Student t quantile on seeds - 1
degrees of freedom, clipped to [0, 1]; interval="bootstrap": the percentile interval of n_boot
AUROCs of samples of seeds drawn with replacement (every configuration of a drawn seed taken as
often as it is drawn), which covers less at few seeds. tests/test_predictors.py simulates 300
sweeps with seed effects at level 0.95: the clustered interval covers 0.94 at 10 seeds and 0.97
at 30, the bootstrap 0.89 and 0.95, an interval that treats the configurations as independent
0.76 and 0.83. Per cell: the seed bootstrap, the seeds drawn making each cell's mean score, the
cells' decisions held fixed (so it leaves out the decisions' own uncertainty). Within cells
(within_cells): the AUROC among the seeds of each cell, averaged over the cells where both
outcomes occur -- what a score knows beyond the cell's place in the grid, which the pooled
AUROCs mix in.

The threshold (threshold, rule, error) is the one that misclassifies fewest points of the slice
(in-sample: optimistic); base_error is the error of predicting the majority everywhere. Leave
one shift kind out (loko_threshold, loko_error): on a kind's row, the threshold fitted on the
configurations of every other kind and its error on this kind; on the row of all, the errors of
all kinds pooled. Where harm is rare, no threshold may beat the majority (error == base_error
however good the AUROC): balanced_threshold, balanced_error and loko_balanced_error are the same
for the balanced error, the mean of the shares of harmful and of harmless points misclassified
(0.5: chance, whatever the prevalence). The article's rules (MMD^2 >= 0.1: no longer "typically
transferable"; A-distance > 0.5: negative transfer) are rows of their own (score
rule_<distance>): a fixed yes/no prediction, whose AUROC is its balanced accuracy and whose
threshold is the article's.
"""
import math
import re

import numpy as np
import pandas as pd
import xarray as xr

from . import results as R

# the domain distances and what each is measured on (a higher distance is taken to predict harm)
DISTANCES = {
    "mmd2_input": "inputs",
    "pad_input": "inputs",
    "mmd2_feat_before": "features at initialisation",
    "mmd2_feat_after": "features after fine-tuning",
    "pad_feat": "features after fine-tuning",
}
CURVE_SCORES = ("ts_ft_loss_rise", "ts_ft_loss_rebound")
# the article's rules of thumb: (distance, threshold, the side that predicts harm, in words)
RULES = (("mmd2_input", 0.1, ">=", "MMD² < 0.1 typically indicates transferability"),
         ("mmd2_feat_after", 0.1, ">=", "MMD² < 0.1 typically indicates transferability"),
         ("pad_input", 0.5, ">", "A-distance > 0.5 signals negative transfer"),
         ("pad_feat", 0.5, ">", "A-distance > 0.5 signals negative transfer"))
SHIFT_KINDS = ("rotation", "translation", "scale", "label", "conditional")  # data.shift_kind's values, in order
KIND = "shift_kind"  # the column of the configurations' and cells' tables that names the kind
COLUMNS = ("target", "score", "slice", "slice_axis", "slice_value", "when", "direction", "direction_from", "auroc",
           "auroc_low", "auroc_high", "threshold", "rule", "error", "base_error", "loko_threshold", "loko_error",
           "balanced_threshold", "balanced_error", "loko_balanced_error", "n", "n_harm", "n_ties", "n_seeds",
           "n_missing")


# ---------------------------------------------------------------- the statistics

def auroc(score, harm):
    """The AUROC of score for the 0/1 labels harm (higher score: harm), ties one half; NaN
    without both labels. The Mann-Whitney U of the ranks, as sklearn.metrics.roc_auc_score."""
    from scipy.stats import rankdata
    s, y = np.asarray(score, float), np.asarray(harm, bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _pair_sums(score, harm, cluster, n_clusters):
    """U (n_clusters, n_clusters): U[s, t] = sum over harmful points i of cluster s and harmless
    points j of cluster t of 1[score_i > score_j] + 1/2 1[score_i == score_j]; n1, n0: the harmful
    and harmless points per cluster. Then for cluster weights w, the AUROC of the weighted
    sample is w U w / ((w n1)(w n0))."""
    s, y, c = np.asarray(score, float), np.asarray(harm, bool), np.asarray(cluster, int)
    U = np.zeros((n_clusters, n_clusters))
    n1 = np.bincount(c[y], minlength=n_clusters).astype(float)
    n0 = np.bincount(c[~y], minlength=n_clusters).astype(float)
    s1, c1 = s[y], c[y]
    for t in range(n_clusters):
        neg = np.sort(s[~y & (c == t)])
        if neg.size == 0 or s1.size == 0:
            continue
        lo = np.searchsorted(neg, s1, side="left")
        hi = np.searchsorted(neg, s1, side="right")
        U[:, t] = np.bincount(c1, weights=lo + 0.5 * (hi - lo), minlength=n_clusters)
    return U, n1, n0


def _seed_weights(n_clusters, n_boot, rng):
    """(n_boot, n_clusters): how often each cluster is drawn in each bootstrap sample."""
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    return np.stack([np.bincount(d, minlength=n_clusters) for d in draws]).astype(float)


def bootstrap_auroc(score, harm, cluster, n_boot=1000, level=0.95, random_state=0):
    """The percentile interval (low, high) of the AUROC under a cluster bootstrap: the clusters
    (labels in cluster, e.g. seeds) drawn with replacement, every point of a drawn cluster taken
    as often as it is drawn. Samples without both labels are left out; (NaN, NaN) when fewer
    than half of the n_boot samples have both."""
    s, y = np.asarray(score, float), np.asarray(harm, bool)
    _, c = np.unique(np.asarray(cluster), return_inverse=True)
    k = int(c.max()) + 1 if c.size else 0
    if k == 0 or y.all() or not y.any():
        return math.nan, math.nan
    U, n1, n0 = _pair_sums(s, y, c, k)
    W = _seed_weights(k, n_boot, np.random.default_rng(random_state))
    den = (W @ n1) * (W @ n0)
    ok = den > 0
    if ok.sum() < n_boot / 2:
        return math.nan, math.nan
    a = np.einsum("bs,st,bt->b", W[ok], U, W[ok]) / den[ok]
    q = (1.0 - level) / 2.0
    return float(np.quantile(a, q)), float(np.quantile(a, 1.0 - q))


def clustered_auroc_interval(score, harm, cluster, level=0.95):
    """(auroc, low, high): the AUROC and its interval from the clustered variance of Obuchowski
    (1997): with V_s the summed placements of cluster s's harmful points (the share of harmless
    points below each, ties one half) and W_s those of its harmless points, m1_s and m0_s their
    counts, N1 and N0 the totals and K clusters, var = K/(K-1) sum_s [(V_s - m1_s A)^2 / N1^2 +
    (W_s - m0_s A)^2 / N0^2 + 2 (V_s - m1_s A)(W_s - m0_s A) / (N1 N0)]; the interval A +- t_{K-1}
    sqrt(var), clipped to [0, 1]. NaN without both labels or with fewer than 2 clusters."""
    from scipy.stats import t as student
    s, y = np.asarray(score, float), np.asarray(harm, bool)
    _, c = np.unique(np.asarray(cluster), return_inverse=True)
    k = int(c.max()) + 1 if c.size else 0
    if k == 0 or y.all() or not y.any():
        return math.nan, math.nan, math.nan
    U, n1, n0 = _pair_sums(s, y, c, k)
    N1, N0 = n1.sum(), n0.sum()
    a = float(U.sum() / (N1 * N0))
    if k < 2:
        return a, math.nan, math.nan
    dv = U.sum(axis=1) / N0 - n1 * a
    dw = U.sum(axis=0) / N1 - n0 * a
    var = k / (k - 1) * ((dv ** 2).sum() / N1 ** 2 + (dw ** 2).sum() / N0 ** 2 + 2 * (dv * dw).sum() / (N1 * N0))
    half = float(student.ppf(0.5 + level / 2, k - 1) * math.sqrt(max(var, 0.0)))
    return a, max(a - half, 0.0), min(a + half, 1.0)


def within_cells(frame, score, direction=1, strata=None, min_points=5, n_boot=200, level=0.95, random_state=0):
    """What a score knows beyond a cell's place in the grid: the AUROC of direction * score among
    the configurations of each cell (rows of configurations() with equal strata; default: the
    shift kind and every grid axis but seed) where both outcomes occur among at least min_points
    finite scores, averaged over those cells weighted by their points. The interval: the
    percentile interval of n_boot such averages over seeds drawn with replacement (the same
    draws for every cell; a seed drawn twice counts twice). Returns dict(auroc, low, high,
    cells: how many cells had both outcomes); NaN where no cell has."""
    strata = list(strata) if strata is not None else [KIND] + [c for c in frame.attrs.get("axes", []) if c != "seed"]
    ok = np.isfinite(frame[score].to_numpy(float))
    f = frame[ok]
    seeds, seed_of = np.unique(f["seed"].to_numpy(), return_inverse=True)
    k = len(seeds)
    W = np.vstack([np.ones(k), _seed_weights(k, n_boot, np.random.default_rng(random_state))])
    num, den = np.zeros(len(W)), np.zeros(len(W))
    cells_with_both = 0
    for rows in f.groupby(strata).indices.values():  # positions in f
        x, y = direction * f[score].to_numpy(float)[rows], f["harm"].to_numpy(bool)[rows]
        U, n1, n0 = _pair_sums(x, y, seed_of[rows], k)
        m1, m0 = W @ n1, W @ n0
        use = (m1 > 0) & (m0 > 0) & (m1 + m0 >= min_points)
        cells_with_both += bool(use[0])
        a = np.einsum("bs,st,bt->b", W[use], U, W[use]) / (m1[use] * m0[use])
        num[use] += a * (m1 + m0)[use]
        den[use] += (m1 + m0)[use]
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = num / den
    boot = avg[1:]
    q = 100 * (1.0 - level) / 2.0
    low, high = (np.nanpercentile(boot, [q, 100 - q]) if np.isfinite(boot).any() else (math.nan, math.nan))
    return dict(auroc=float(avg[0]), low=float(low), high=float(high), cells=cells_with_both)


def best_threshold(score, harm, direction=None, balanced=False):
    """The threshold that misclassifies fewest points when harm is predicted on the harm side
    of it: score > t for direction +1, score < t for -1 (None: both tried, the better kept;
    ties to +1). Thresholds lie midway between consecutive distinct scores, or beyond every
    score (predict one label everywhere: +-inf). balanced: the threshold of the least balanced
    error, the mean of the shares of harmful and of harmless points misclassified (1 - Youden's
    J over 2; NaN unless both labels occur). Returns (threshold, its error, direction)."""
    s, y = np.asarray(score, float), np.asarray(harm, bool)
    if s.size == 0 or (balanced and (y.all() or not y.any())):
        return math.nan, math.nan, direction
    best = None
    for d in ((+1, -1) if direction is None else (direction,)):
        v = d * s
        u, inv = np.unique(v, return_inverse=True)
        h = np.bincount(inv, weights=y, minlength=u.size)
        g = np.bincount(inv, weights=~y, minlength=u.size)
        # threshold below u[0], between u[i] and u[i+1], above u[-1]: harm predicted above it
        missed = np.concatenate([[0.0], np.cumsum(h)])  # harmful at or below the threshold
        false = g.sum() - np.concatenate([[0.0], np.cumsum(g)])  # harmless above it
        err = (missed / h.sum() + false / g.sum()) * s.size / 2.0 if balanced else missed + false
        i = int(np.argmin(err))
        t = -np.inf if i == 0 else np.inf if i == u.size else (u[i - 1] + u[i]) / 2.0
        if best is None or err[i] < best[1]:
            best = (d * t, err[i], d)
    return float(best[0]), float(best[1] / s.size), best[2]


def balanced_error(predicted, harm):
    """The mean of the shares of harmful and of harmless points misclassified (of those that
    occur; NaN without points)."""
    p, y = np.asarray(predicted, bool), np.asarray(harm, bool)
    rates = [np.mean(~p[y])] if y.any() else []
    rates += [np.mean(p[~y])] if (~y).any() else []
    return float(np.mean(rates)) if rates else math.nan


def predict(score, threshold, direction):
    """Harm predicted: score > threshold (direction +1) or score < threshold (-1)."""
    s = np.asarray(score, float)
    return s > threshold if direction > 0 else s < threshold


# ---------------------------------------------------------------- the tables

def _dataset(ds):
    if isinstance(ds, (list, tuple)):
        from .combine import concat
        return concat(ds)
    return R.load(ds)


def score_names(ds):
    """The predictors the file has: its ts_<score> variables (not the reasons), then the
    distances, in file order."""
    ds = R.load(ds)
    ts = [v for v in ds.data_vars if v.startswith("ts_") and not v.endswith("_reason")]
    return ts + [v for v in DISTANCES if v in ds]


def declared_direction(ds, name):
    """+1 when higher values of variable name predict harm, -1 when lower do, 0 unknown: the
    long_name's "higher: better" / "higher: worse" (the ts_ variables); +1 for the distances."""
    if name in DISTANCES:
        return +1
    text = str(R.load(ds)[name].attrs.get("long_name", ""))
    if re.search(r"higher:\s*worse", text):
        return +1
    if re.search(r"higher:\s*better", text):
        return -1
    return 0


def when_known(name):
    """When the score can be known: before any training, before fine-tuning, or after it."""
    if name in DISTANCES:
        return DISTANCES[name]
    if name in CURVE_SCORES:
        return "fine-tuning curve"
    return "before fine-tuning"


def _kinds(ds, dims):
    """The shift kind per configuration, a DataArray over dims (str values)."""
    k = R.setting(ds, "data_shift_kind", "data", "shift_kind", "rotation")
    if isinstance(k, str):
        return xr.DataArray(np.full([ds.sizes[d] for d in dims], k, dtype=object), dims=dims)
    k = xr.DataArray(np.array([R._str(v) for v in np.ravel(k.values)], dtype=object).reshape(k.shape), dims=k.dims)
    return k.broadcast_like(ds["status"]).transpose(*dims)


def _parse(ds, comparison):
    a, sep, b = str(comparison).partition(":")
    have = R.approaches(ds)
    if not sep or a not in have or b not in have or a == b:
        raise ValueError(f"comparison {comparison!r}: give A:B, two approaches of the file ({', '.join(have)})")
    return a, b


def configurations(ds, comparison="mmd:scratch", ties="not_harm"):
    """One row per configuration where both approaches of comparison (A:B) are done: the grid
    axes, shift_kind, diff = acc_A - acc_B, harm (diff < 0), tie (diff == 0) and every score of
    score_names(ds) (NaN where undefined). ties: "not_harm" (a tie is no harm) or "drop" (tied
    configurations left out)."""
    if ties not in ("not_harm", "drop"):
        raise ValueError(f"ties={ties!r}; allowed: not_harm, drop")
    ds = _dataset(ds)
    a, b = _parse(ds, comparison)
    dims = list(ds["status"].dims)
    diff = (R.accuracy(ds, a) - R.accuracy(ds, b)).transpose(*dims)
    cols = {"diff": diff, KIND: _kinds(ds, dims)}
    for v in score_names(ds):
        cols[v] = ds[v].astype(float).broadcast_like(ds["status"]).transpose(*dims)
    frame = xr.Dataset({k: (dims, np.asarray(v.values)) for k, v in cols.items()},
                       coords={d: ds[d].values for d in dims}).to_dataframe().reset_index()
    frame = frame[np.isfinite(frame["diff"].astype(float))]
    frame["harm"] = frame["diff"] < 0
    frame["tie"] = frame["diff"] == 0
    if ties == "drop":
        frame = frame[~frame["tie"]]
    frame = frame.reset_index(drop=True)
    frame.attrs.update(comparison=f"{a}:{b}", ties=ties, axes=dims)
    return frame


def _decisions(ds, a, b, alpha, delta, rule=None):
    """(decision per cell as an xarray.DataArray over the cell axes, how it was decided); rule: analysis.decide's
    (None: its default)."""
    try:
        from .decide import decide
    except ImportError:
        decide = None
    if decide is not None:
        dec = decide(ds, a, b, alpha=alpha, delta=delta, rule=rule)
        return dec["decision"], f"analysis.decide ({dec.attrs.get('rule', '')})"
    return _t_decisions(ds, a, b, alpha, delta), "t interval at the file's seeds (analysis.decide is not installed)"


def _t_decisions(ds, a, b, alpha, delta):
    """A stand-in for analysis.decide where it is missing: the (1 - alpha) t interval of the
    mean paired difference at the cell's seeds (fixed, not sequential): 1 helps (above 0), 2
    hurts (below 0), 3 equivalent (inside +-delta), 0 otherwise."""
    import warnings

    from scipy import stats
    d = (R.accuracy(ds, a) - R.accuracy(ds, b))
    n = d.count("seed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells of one seed or none: no interval
        mean, sd = d.mean("seed", skipna=True), d.std("seed", ddof=1, skipna=True)
    q = xr.apply_ufunc(lambda k: stats.t.ppf(1 - alpha / 2, np.maximum(k - 1, 1)), n)
    half = (q * sd / np.sqrt(n.where(n > 1))).where(n > 1)
    lo, hi = mean - half, mean + half
    out = xr.zeros_like(mean, dtype=np.int8)
    out = xr.where(lo > 0, 1, out)
    out = xr.where(hi < 0, 2, out)
    out = xr.where((lo > -delta) & (hi < delta), 3, out)
    return out.astype(np.int8)


def cells(ds, comparison="mmd:scratch", alpha=0.05, delta=0.01, rule=None):
    """One row per decided cell (hurts, helps or equivalent) of comparison A:B: the cell axes,
    shift_kind, decision (1 helps, 2 hurts, 3 equivalent), harm (decided hurts), seeds (how
    many configurations with both approaches done) and every score's mean over those seeds.
    attrs["per_seed"]: score -> (cells, seeds) array of the seeds' scores (NaN where missing),
    attrs["seeds"]: the seed values of its columns."""
    ds = _dataset(ds)
    a, b = _parse(ds, comparison)
    dec, how = _decisions(ds, a, b, alpha, delta, rule)
    conf = configurations(ds, comparison)
    cell_ax = [d for d in ds["status"].dims if d != "seed"]
    seeds = np.unique(conf["seed"].values)
    dec_frame = dec.to_dataframe(name="decision").reset_index()
    dec_frame = dec_frame[dec_frame["decision"].isin([1, 2, 3])]
    key = conf[cell_ax].apply(tuple, axis=1) if cell_ax else pd.Series([()] * len(conf))
    rows, per_seed = [], {v: [] for v in score_names(ds)}
    groups = {k: g for k, g in conf.groupby(key)} if len(conf) else {}
    col = {s: i for i, s in enumerate(seeds)}
    for _, r in dec_frame.iterrows():
        k = tuple(r[c] for c in cell_ax)
        g = groups.get(k)
        if g is None or len(g) == 0:
            continue
        row = {c: r[c] for c in cell_ax}
        row.update({KIND: g[KIND].iloc[0], "decision": int(r["decision"]), "harm": int(r["decision"]) == 2,
                    "seeds": len(g)})
        for v in per_seed:
            m = np.full(seeds.size, np.nan)
            m[[col[s] for s in g["seed"]]] = g[v].values
            per_seed[v].append(m)
            row[v] = float(np.nanmean(m)) if np.isfinite(m).any() else math.nan
        rows.append(row)
    out = pd.DataFrame(rows, columns=cell_ax + [KIND, "decision", "harm", "seeds"] + list(per_seed))
    out.attrs.update(comparison=f"{a}:{b}", decided_by=how, alpha=alpha, delta=delta, seeds=seeds,
                     per_seed={v: np.array(m).reshape(len(rows), seeds.size) for v, m in per_seed.items()})
    return out


def _cell_bootstrap(per_seed, harm, transform, n_boot, level, random_state):
    """The percentile interval of the cells' AUROC when the seeds that make each cell's mean
    score are drawn with replacement (decisions held fixed). per_seed (cells, seeds): the
    seeds' scores, NaN where missing; transform: the cells' means -> what the AUROC is of
    (the sign, or a rule's 0/1)."""
    y = np.asarray(harm, bool)
    if y.all() or not y.any() or per_seed.shape[0] == 0:
        return math.nan, math.nan
    ok = np.isfinite(per_seed)
    X = np.where(ok, per_seed, 0.0)
    W = _seed_weights(per_seed.shape[1], n_boot, np.random.default_rng(random_state))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (W @ X.T) / (W @ ok.T)
    f = np.isfinite(means)
    v = np.where(f, transform(np.where(f, means, 0.0)), np.nan)
    # per sample: the Mann-Whitney sum over (harmful, harmless) pairs of cells with a mean in both
    a, b = v[:, y], v[:, ~y]
    fa, fb = f[:, y], f[:, ~y]
    u = np.zeros(n_boot)
    for i in range(a.shape[1]):  # one harmful cell at a time: (n_boot, harmless) at once
        gt = (a[:, i:i + 1] > b) + 0.5 * (a[:, i:i + 1] == b)
        u += np.where(fa[:, i], (gt * fb).sum(axis=1), 0.0)
    den = fa.sum(axis=1) * fb.sum(axis=1)
    vals = u[den > 0] / den[den > 0]
    if len(vals) < n_boot / 2:
        return math.nan, math.nan
    q = (1.0 - level) / 2.0
    return float(np.quantile(vals, q)), float(np.quantile(vals, 1.0 - q))


# ---------------------------------------------------------------- the table of predictors

class _Slice:
    """One target's table and how to make intervals on it. frame: configurations() or cells();
    clusters: the seed of each configuration (None for cells); kinds: the shift kind per row."""

    def __init__(self, target, frame, interval, n_boot, level, random_state):
        self.target, self.frame = target, frame
        self.clusters = frame["seed"].values if target == "configuration" and len(frame) else None
        self.kinds = frame[KIND].values if len(frame) else np.array([], dtype=object)
        self.y = frame["harm"].values.astype(bool) if len(frame) else np.array([], bool)
        self.interval, self.n_boot, self.level, self.random_state = interval, n_boot, level, random_state

    def ci(self, x, mask, per_seed=None, transform=None):
        """The interval of the AUROC of x (the rows mask: finite); cells: per_seed, the seeds'
        values of the score, and transform, what makes x of a cell's mean."""
        y = self.y[mask]
        if self.target == "cell":
            return _cell_bootstrap(per_seed, y, transform, self.n_boot, self.level, self.random_state)
        c = self.clusters[mask]
        if self.interval == "clustered":
            return clustered_auroc_interval(x, y, c, self.level)[1:]
        return bootstrap_auroc(x, y, c, self.n_boot, self.level, self.random_state)

    def seeds(self, name, mask):
        if self.target == "configuration":
            return int(np.unique(self.clusters[mask]).size)
        return int(np.isfinite(self.frame.attrs["per_seed"][name][mask]).any(axis=0).sum())

    def slices(self, by):
        """(name, axis, value, mask) for all, then each value of each axis in by the table has."""
        out = [("all", "", "", np.ones(len(self.frame), bool))]
        for ax in by:
            if ax not in self.frame:
                continue
            vals = self.frame[ax].values
            uniq = list(dict.fromkeys(vals)) if vals.dtype == object else sorted(set(vals.tolist()))
            if ax == KIND:  # data.shift_kind's order
                uniq.sort(key=lambda k: (SHIFT_KINDS.index(k) if k in SHIFT_KINDS else len(SHIFT_KINDS), str(k)))
            out += [(f"{ax}={R._py(v)}", ax, R._py(v), vals == v) for v in uniq]
        return out

    def counts(self, m):
        ties = int(self.frame["tie"].values[m].sum()) if "tie" in self.frame else 0
        return {"n_ties": ties}


def _rule_text(name, t, sign):
    if not np.isfinite(t):
        return "harm everywhere" if (t < 0) == (sign > 0) else "no harm anywhere"
    return f"harm if {name} {'>' if sign > 0 else '<'} {t:.4g}"


def _base_error(y):
    return min(float(y.mean()), 1.0 - float(y.mean())) if y.size else math.nan


def predictors(ds, comparison="mmd:scratch", scores=None, by=(KIND, "n_target"), targets=("configuration", "cell"),
               ties="not_harm", direction="declared", interval="clustered", n_boot=1000, level=0.95, alpha=0.05,
               delta=0.01, rules=True, random_state=0, rule=None):
    """How well each score foresees that A does worse than B (comparison "A:B"): a pandas
    DataFrame, one row per target ("configuration", "cell"), score and slice ("all", then
    "shift_kind=<kind>" and "n_target=<n>" for each value, as `by` lists), with the columns of
    COLUMNS (the module's text says what each means and how the interval is made).

    ds: a results file or dataset, or a list of files (analysis.concat: one kind per file
    gives a shift-kind axis). scores: the variables to judge (default score_names(ds));
    direction: "declared" (the variable's long_name) or "fitted" (per slice); interval:
    "clustered" or "bootstrap" (per configuration; cells: the bootstrap); ties, n_boot, level,
    alpha, delta and rule (of the cells' decisions: analysis.decide's, None its default), random_state (of the
    bootstraps): as the module's text says. rules: add the article's rules (score rule_<distance>). attrs: comparison, ties,
    decided_by, interval, level."""
    if direction not in ("declared", "fitted"):
        raise ValueError(f"direction={direction!r}; allowed: declared, fitted")
    if interval not in ("clustered", "bootstrap"):
        raise ValueError(f"interval={interval!r}; allowed: clustered, bootstrap")
    ds = _dataset(ds)
    names = list(scores) if scores is not None else score_names(ds)
    missing = [v for v in names if v not in ds]
    if missing:
        raise KeyError(f"{missing}: not variables of the file; allowed: {', '.join(score_names(ds))}")
    rows, decided_by = [], ""
    for target in targets:
        if target == "configuration":
            frame = configurations(ds, comparison, ties)
        elif target == "cell":
            frame = cells(ds, comparison, alpha, delta, rule)
            decided_by = frame.attrs["decided_by"]
        else:
            raise ValueError(f"target {target!r}; allowed: configuration, cell")
        sl = _Slice(target, frame, interval, n_boot, level, random_state)
        if len(frame) == 0:
            continue
        for name in names:
            decl = declared_direction(ds, name)
            rows += _score_rows(sl, name, decl, "fitted" if direction == "fitted" or decl == 0 else "declared", by)
        if rules:
            rows += [r for dist, thr, side, words in RULES if dist in ds
                     for r in _rule_rows(sl, dist, thr, side, words, by)]
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs.update(comparison=str(comparison), ties=ties, decided_by=decided_by, level=level,
                     interval={"clustered": "clustered DeLong (Obuchowski 1997) over seeds, Student t",
                               "bootstrap": f"percentile cluster bootstrap over seeds, {n_boot} samples"}[interval]
                     + f"; cells: percentile seed bootstrap, {n_boot} samples")
    return out


def _score_rows(sl, name, decl, how, by):
    """The rows of one score: every slice of sl."""
    x_all = sl.frame[name].values.astype(float)
    fin = np.isfinite(x_all)
    per_seed = sl.frame.attrs["per_seed"][name] if sl.target == "cell" else None
    loko = _loko(x_all, sl.y, fin, sl.kinds, decl if how == "declared" else None)
    rows = []
    for sname, ax, val, m in sl.slices(by):
        mask = m & fin
        x, y = x_all[mask], sl.y[mask]
        sign = decl if decl else +1
        a = auroc(sign * x, y)
        if how == "fitted" and np.isfinite(a) and a < 0.5:
            sign, a = -sign, 1.0 - a
        lo, hi = (sl.ci(sign * x, mask, None if per_seed is None else per_seed[mask], lambda v, s=sign: s * v)
                  if np.isfinite(a) else (math.nan, math.nan))
        t, err, _ = best_threshold(x, y, sign)
        tb, eb, _ = best_threshold(x, y, sign, balanced=True)
        lt, le, lb = loko.get((ax, val), (math.nan, math.nan, math.nan))
        rows.append({"target": sl.target, "score": name, "slice": sname, "slice_axis": ax, "slice_value": val,
                     "when": when_known(name), "direction": sign, "direction_from": how, "auroc": a,
                     "auroc_low": lo, "auroc_high": hi, "threshold": t, "rule": _rule_text(name, t, sign),
                     "error": err, "base_error": _base_error(y), "loko_threshold": lt, "loko_error": le,
                     "balanced_threshold": tb, "balanced_error": eb, "loko_balanced_error": lb,
                     "n": int(y.size), "n_harm": int(y.sum()), "n_seeds": sl.seeds(name, mask),
                     "n_missing": int((m & ~fin).sum()), **sl.counts(m)})
    return rows


def _loko(x, y, fin, kinds, direction):
    """Leave one shift kind out: {(KIND, kind): (threshold fitted on the other kinds, its error
    on this kind, the balanced error on this kind of the balanced threshold fitted there)}, and
    {("", ""): (NaN, both errors over every kind's held-out predictions pooled)}; empty with one
    kind."""
    uniq = list(dict.fromkeys(kinds))
    if len(uniq) < 2:
        return {}
    out, plain, bal, truth = {}, [], [], []
    for k in uniq:
        test, train = (kinds == k) & fin, (kinds != k) & fin
        if not test.any() or not train.any():
            continue
        t, _, d = best_threshold(x[train], y[train], direction)
        tb, _, db = best_threshold(x[train], y[train], direction, balanced=True)
        p = predict(x[test], t, d)
        pb = predict(x[test], tb, db) if np.isfinite(tb) else np.zeros(int(test.sum()), bool)
        out[(KIND, k)] = (t, float(np.mean(p != y[test])), balanced_error(pb, y[test]) if np.isfinite(tb) else
                          math.nan)
        plain.append(p), bal.append(pb), truth.append(y[test])
    if truth:
        p, pb, yy = np.concatenate(plain), np.concatenate(bal), np.concatenate(truth)
        out[("", "")] = (math.nan, float(np.mean(p != yy)), balanced_error(pb, yy))
    return out


def _rule_rows(sl, dist, thr, side, words, by):
    """The article's rule on dist as a binary score (1 where it predicts harm): nothing is
    fitted, so its error on a kind is also its leave-one-kind-out error."""
    x_all = sl.frame[dist].values.astype(float)
    fin = np.isfinite(x_all)

    def flag(x):
        return np.where(np.isfinite(x), (x >= thr) if side == ">=" else (x > thr), np.nan)

    f_all = flag(x_all)
    per_seed = sl.frame.attrs["per_seed"][dist] if sl.target == "cell" else None
    several = len(set(sl.kinds)) > 1
    rows = []
    for sname, ax, val, m in sl.slices(by):
        mask = m & fin
        f, y = f_all[mask], sl.y[mask]
        a = auroc(f, y)
        lo, hi = (sl.ci(f, mask, None if per_seed is None else per_seed[mask], flag) if np.isfinite(a)
                  else (math.nan, math.nan))
        err = float(np.mean((f > 0.5) != y)) if y.size else math.nan
        bal = balanced_error(f > 0.5, y)
        loko = (err, bal) if several and ax in ("", KIND) else (math.nan, math.nan)
        rows.append({"target": sl.target, "score": f"rule_{dist}", "slice": sname, "slice_axis": ax,
                     "slice_value": val, "when": DISTANCES[dist], "direction": +1, "direction_from": "article",
                     "auroc": a, "auroc_low": lo, "auroc_high": hi, "threshold": thr,
                     "rule": f"harm if {dist} {side} {thr:g} (article: {words})", "error": err,
                     "base_error": _base_error(y), "loko_threshold": thr if several and ax == KIND else math.nan,
                     "loko_error": loko[0], "balanced_threshold": thr, "balanced_error": bal,
                     "loko_balanced_error": loko[1], "n": int(y.size), "n_harm": int(y.sum()),
                     "n_seeds": sl.seeds(dist, mask),
                     "n_missing": int((m & ~fin).sum()), **sl.counts(m)})
    return rows
