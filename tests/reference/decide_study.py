"""The design study of the decision constructions on a dense reference (docs/decisions-study.md).

The dense file has 200 seeds per cell. Seeds 0-99 feed the sequential procedure; seeds
100-199 are the independent reference. For each candidate construction (decide_coverage.
CANDIDATES and EXTRA below) and each comparison, the procedure runs on the seeds 0-99 of every
cell, in seed order (the run tlsweep would make) and in R random orders of the same seeds
(resamples: how the figures vary with the draw), with rounds of 5 and max_seeds 100; a cell
stops when every comparison requested is decided or at 100 seeds. Reported per candidate:

  trainings   seeds summed over cells, against the fixed design (100 seeds per cell): the
              ratio 'fewer' = 100 * cells / seeds used
  decided     share of (cell, comparison) pairs decided
  wrong sign  share of the decided pairs called helps where the reference's 95% interval lies
              below 0, or hurts where it lies above 0 (also per sign-decided pair)
  wrong eq    share of the 'equivalent' pairs whose reference interval lies outside
              (-delta, delta) entirely (and, softer, whose reference mean lies outside)

The reference interval: mean +- t_{0.975, n-1} sd / sqrt(n) over seeds 100-199.

    /usr/bin/python3 tests/reference/decide_study.py --file /work/dense/dense19x6.h5
    /usr/bin/python3 tests/reference/decide_study.py --file F --resamples 200 --map asymptotic
"""
import argparse
import os
import sys
import time

import numpy as np
import xarray as xr
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_coverage as C  # noqa: E402
import decide_reference as R  # noqa: E402

COMPARISONS = (("mmd", "target_mlp"), ("mmd", "scratch"))
N_SEQ = 100  # seeds 0 .. 99 for the procedure, the rest for the reference


def load(path, comparisons=COMPARISONS):
    """{comparison name: D (cells, seeds)}, the cell labels [(shift, n_target, ...)], and the
    number of cells left out for missing values."""
    ds = xr.open_dataset(path)
    out, labels, dropped = {}, None, 0
    for a, b in comparisons:
        d = ds[f"acc_{a}"] - ds[f"acc_{b}"]
        other = [k for k in d.dims if k != "seed"]
        d = d.transpose(*other, "seed")
        stacked = d.stack(cell=other).transpose("cell", "seed")
        out[f"{a}:{b}"] = stacked.values
        if labels is None:
            labels = [tuple(float(v) for v in c) for c in stacked["cell"].values]
            names = other
    ok = np.ones(len(labels), dtype=bool)
    for v in out.values():
        ok &= np.isfinite(v).all(axis=1)
    dropped = int((~ok).sum())
    out = {k: v[ok] for k, v in out.items()}
    labels = [c for c, k in zip(labels, ok) if k]
    ds.close()
    return out, labels, names, dropped


def reference(d_ref, delta=C.DELTA):
    """Per cell: mean, lo, hi of the reference's 95% t interval."""
    n = d_ref.shape[1]
    m = d_ref.mean(axis=1)
    se = d_ref.std(axis=1, ddof=1) / np.sqrt(n)
    q = stats.t.ppf(0.975, n - 1)
    return m, m - q * se, m + q * se


def run(data, rule, resamples, seed=7, round_=C.ROUND, max_seeds=C.MAX_SEEDS, alpha=C.ALPHA,
        delta=C.DELTA):
    """Decisions (R+1, comparisons, cells) and seeds per cell (R+1, cells); index 0 is the seed
    order itself, 1 .. R random orders of the same seeds."""
    names = list(data)
    cells = data[names[0]].shape[0]
    rng = np.random.default_rng(seed)
    orders = [np.arange(N_SEQ)] + [None] * resamples
    perms = np.stack([np.arange(N_SEQ)] + [rng.permutation(N_SEQ) for _ in range(resamples)])
    dec = np.zeros((resamples + 1, len(names), cells), dtype=int)
    used = np.zeros((resamples + 1, len(names), cells), dtype=int)
    for j, k in enumerate(names):
        seq = data[k][:, :N_SEQ]
        streams = seq[:, perms].transpose(1, 0, 2).reshape(-1, N_SEQ)  # (R+1)*cells
        d, s = R.decisions_fast(streams, alpha, delta, round_, max_seeds, rule)
        dec[:, j] = d.reshape(resamples + 1, cells)
        used[:, j] = s.reshape(resamples + 1, cells)
    del orders
    return dec, used.max(axis=1), used


def measures(dec, seeds, refs, delta=C.DELTA, max_seeds=C.MAX_SEEDS):
    """Figures per resample (arrays over R+1) for the decisions dec (R+1, comparisons, cells)."""
    m = np.stack([r[0] for r in refs])[None]  # (1, comparisons, cells)
    lo = np.stack([r[1] for r in refs])[None]
    hi = np.stack([r[2] for r in refs])[None]
    decided = dec != R.UNDECIDED
    sign = (dec == R.HELPS) | (dec == R.HURTS)
    eq = dec == R.EQUIVALENT
    wrong_sign = ((dec == R.HELPS) & (hi < 0)) | ((dec == R.HURTS) & (lo > 0))
    wrong_eq = eq & ((lo > delta) | (hi < -delta))
    wrong_eq_soft = eq & (np.abs(m) >= delta)
    ax = (1, 2)
    n_dec = decided.sum(axis=ax)
    cells = dec.shape[2]

    def ratio(a, b):
        return np.where(b > 0, a / np.maximum(b, 1), np.nan)
    return dict(
        decided=decided.mean(axis=ax),
        helps=(dec == R.HELPS).mean(axis=ax), hurts=(dec == R.HURTS).mean(axis=ax), equivalent=eq.mean(axis=ax),
        wrong_sign=ratio(wrong_sign.sum(axis=ax), n_dec),
        wrong_sign_of_signs=ratio(wrong_sign.sum(axis=ax), sign.sum(axis=ax)),
        wrong_eq=ratio(wrong_eq.sum(axis=ax), eq.sum(axis=ax)),
        wrong_eq_soft=ratio(wrong_eq_soft.sum(axis=ax), eq.sum(axis=ax)),
        seeds_per_cell=seeds.mean(axis=1),
        fewer=max_seeds * cells / seeds.sum(axis=1),
        per_comparison_decided=decided.mean(axis=2),
    )


def summarize(fig):
    """Seed order, and the mean and 90% range over the resamples."""
    out = {}
    for k, v in fig.items():
        v = np.asarray(v)
        res = v[1:]
        if res.ndim == 1:
            out[k] = (float(v[0]), float(np.nanmean(res)), float(np.nanpercentile(res, 5)),
                      float(np.nanpercentile(res, 95)))
        else:
            out[k] = (v[0].tolist(), np.nanmean(res, axis=0).tolist())
    return out


def decision_map(dec, seeds, labels, names, comparison, axis_names):
    """Text map: rows shift, columns n_target; the seed-order decision letter and seeds."""
    letters = {R.UNDECIDED: ".", R.HELPS: "+", R.HURTS: "-", R.EQUIVALENT: "="}
    j = comparison
    shifts = sorted({c[axis_names.index("shift")] for c in labels})
    nts = sorted({c[axis_names.index("n_target")] for c in labels})
    idx = {(c[axis_names.index("shift")], c[axis_names.index("n_target")]): i for i, c in enumerate(labels)}
    lines = ["shift \\ n_target " + " ".join(f"{int(n):>7d}" for n in nts)]
    for s in shifts:
        row = []
        for n in nts:
            i = idx.get((s, n))
            row.append("      ?" if i is None else f"{letters[dec[0, j, i]]:>3s}{seeds[0, i]:>4d}")
        lines.append(f"{int(s):>17d} " + " ".join(row))
    return "\n".join(lines)


EXTRA = {}


def fmt(v, pct=False, digits=3):
    """'seed order; resample mean [5%, 95%]'"""
    if all(np.isnan(x) for x in v):
        return "-"
    f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.{digits}f}")
    return f"{f(v[0])}; {f(v[1])} [{f(v[2])}, {f(v[3])}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default="/work/dense/dense19x6.h5")
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--only", help="comma-separated candidate names")
    ap.add_argument("--match", help="only the candidates whose name contains this")
    ap.add_argument("--delta", type=float, default=C.DELTA, help="equivalence margin (0.01)")
    ap.add_argument("--map", help="print the seed-order decision map of this candidate")
    ap.add_argument("--grid", action="store_true", help="also the wider family (decide_coverage.grid_candidates)")
    args = ap.parse_args()
    t0 = time.time()
    data, labels, axis_names, dropped = load(args.file)
    names = list(data)
    refs = [reference(data[k][:, N_SEQ:]) for k in names]
    dl = args.delta
    print(f"{args.file}: {len(labels)} cells x {len(names)} comparisons ({dropped} cells left out:"
          f" missing values); reference: seeds {N_SEQ}..{data[names[0]].shape[1] - 1}; delta {dl}")
    for k, (m, lo, hi) in zip(names, refs):
        print(f"  {k}: reference interval above 0 in {(lo > 0).sum()}, below 0 in {(hi < 0).sum()},"
              f" inside +-delta in {((lo > -dl) & (hi < dl)).sum()},"
              f" outside +-delta in {((lo > dl) | (hi < -dl)).sum()} cells;"
              f" |mean| >= 0.03 in {(np.abs(m) >= 0.03).sum()}")
    cands = {**C.CANDIDATES, **EXTRA, **(C.grid_candidates() if args.grid else {})}
    if args.only:
        cands = {k: cands[k] for k in args.only.split(",")}
    if args.match:
        cands = {k: v for k, v in cands.items() if args.match in k}
    rows = []
    with np.errstate(invalid="ignore"):
        import warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        for cname, rule in cands.items():
            dec, seeds, each = run(data, rule, args.resamples, delta=dl)
            s = summarize(measures(dec, seeds, refs, delta=dl))
            cells = each.shape[2]
            s["alone"] = [float(np.mean(C.MAX_SEEDS * cells / each[1:, j].sum(axis=1))) for j in range(len(names))]
            s["alone_decided"] = [float((dec[1:, j] != R.UNDECIDED).mean()) for j in range(len(names))]
            rows.append((cname, s))
            if args.map == cname:
                for j, k in enumerate(names):
                    print(f"\n{cname}, {k} (seed order; + helps, - hurts, = equivalent, . undecided;"
                          " then the cell's seeds):")
                    print(decision_map(dec, seeds, labels, names, j, axis_names))
    head = ["candidate", "fewer trainings", "decided", "wrong sign / decided", "wrong sign / signs",
            "wrong equivalent", "equivalent, mean outside", "helps / hurts / equivalent"]
    print("\n| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for cname, s in rows:
        cells = [cname, fmt(s["fewer"], digits=2), fmt(s["decided"], True), fmt(s["wrong_sign"], True),
                 fmt(s["wrong_sign_of_signs"], True), fmt(s["wrong_eq"], True), fmt(s["wrong_eq_soft"], True),
                 "{:.0f}% / {:.0f}% / {:.0f}%".format(100 * s["helps"][1], 100 * s["hurts"][1],
                                                     100 * s["equivalent"][1])]
        print("| " + " | ".join(cells) + " |")
    print("\nEach comparison alone (resample means): fewer trainings, decided")
    print("\n| candidate | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for cname, s in rows:
        print(f"| {cname} | " + " | ".join(f"{a:.2f}x, {100 * b:.0f}%" for a, b in zip(s["alone"], s["alone_decided"])) + " |")
    print(f"\n(each figure: the seeds in order 0..99; the mean [5%, 95%] over {args.resamples}"
          f" random orders of the same seeds; {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
