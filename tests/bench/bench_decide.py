"""Decided answers against brute force: the sequential mode (decide.mode: sequential) on a grid
of cells against a fixed design of max_seeds seeds per cell, and its decisions against a dense
reference run on other seeds.

    # the dense reference: every cell with 200 seeds (about 1 h 45 min on 2 cores)
    mpirun -n 2 build/tlsweep run dense.yaml -o dense.h5
    # the sequential mode on the same cells, seeds 0 .. 99 (about 20 min on 2 cores)
    mpirun -n 2 build/tlsweep run seq.yaml -o seq.h5
    /usr/bin/python3 tests/bench/bench_decide.py --dense dense.h5 --seq seq.h5 [--markdown]

dense.yaml: grid.shift range(0, 181, 10), grid.lambda [0.5], grid.n_target [5, 10, 20, 50, 100,
200], grid.seed range(0, 200), output.embeddings false. seq.yaml: the same grid without seed,
decide.mode sequential, decide.compare [mmd:target_mlp, mmd:scratch], decide.max_seeds 100.

Prints the trainings of each design, the cells decided per comparison and decision, and
against the dense run's seeds 100 .. 199 (which the sequential mode never sees): the wrong
signs (a decided helps or hurts whose reference mean has the other sign; 'sure': its 95% t
interval excludes 0 as well) and the wrong equivalents (the reference's 95% interval outside
+-delta). It also checks that every configuration the sequential run computed holds the dense
run's accuracies bit for bit (a configuration's result depends on its settings only)."""
import argparse
import sys

import numpy as np
import xarray as xr
from scipy import stats

NAMES = {0: "undecided", 1: "helps", 2: "hurts", 3: "equivalent"}


def reference(dense, a, b, seeds):
    d = (dense[f"acc_{a}"] - dense[f"acc_{b}"]).sel(seed=seeds)
    d = d.transpose(..., "seed").values
    n = np.isfinite(d).sum(-1)
    m = np.nanmean(d, -1)
    half = stats.t.ppf(0.975, n - 1) * np.nanstd(d, -1, ddof=1) / np.sqrt(n)
    return m, m - half, m + half


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dense", required=True)
    ap.add_argument("--seq", required=True)
    ap.add_argument("--markdown", action="store_true")
    o = ap.parse_args()
    dense, seq = xr.open_dataset(o.dense), xr.open_dataset(o.seq)
    cells = int(np.prod([seq.sizes[d] for d in seq.decision.dims if d != "comparison"]))
    max_seeds = seq.sizes["seed"]
    run = seq.status.values == 1
    trainings = int(run.sum())
    delta = 0.01  # decide.delta of seq.yaml

    # the sequential run's configurations are the dense run's, bit for bit
    same = True
    for m in ("scratch", "direct", "mmd", "target_mlp", "ensemble"):
        x = seq[f"acc_{m}"].values  # both files: (shift, lambda, n_target, seed)
        y = dense[f"acc_{m}"].sel(seed=seq.seed.values).values
        same &= bool(np.array_equal(x[run], y[run], equal_nan=True))
    out = [f"cells: {cells}; fixed design: {cells * max_seeds} trainings ({max_seeds} seeds a cell); "
           f"sequential: {trainings} ({trainings / cells:.1f} seeds a cell on average), "
           f"{cells * max_seeds / trainings:.2f}x fewer",
           f"the sequential run's {trainings} configurations equal the dense run's bit for bit: {same}"]
    rows = []
    ref_seeds = [s for s in dense.seed.values if s >= max_seeds]
    for k, comp in enumerate(seq.comparison.values):
        comp = comp.decode() if isinstance(comp, bytes) else str(comp)
        a, b = comp.split(":")
        dec = seq.decision.isel(comparison=k).values
        m, lo, hi = reference(dense, a, b, ref_seeds)
        counts = {NAMES[v]: int((dec == v).sum()) for v in NAMES}
        signs = (dec == 1) | (dec == 2)
        wrong = ((dec == 1) & (m < 0)) | ((dec == 2) & (m > 0))
        sure = ((dec == 1) & (hi < 0)) | ((dec == 2) & (lo > 0))
        eq = dec == 3
        wrong_eq = eq & ((lo > delta) | (hi < -delta))
        decided = int((dec != 0).sum())
        rows.append((comp, counts, decided, int(signs.sum()), int(wrong.sum()), int(sure.sum()),
                     int(eq.sum()), int(wrong_eq.sum()), len(ref_seeds)))
    if o.markdown:
        print("\n".join("* " + line for line in out))
        print()
        print("| comparison | helps | hurts | equivalent | undecided | decided | wrong signs (sure) | wrong equivalents |")
        print("|---|---|---|---|---|---|---|---|")
        for comp, c, dcd, ns, w, s, ne, we, _ in rows:
            print(f"| {comp} | {c['helps']} | {c['hurts']} | {c['equivalent']} | {c['undecided']} | "
                  f"{dcd} of {cells} ({100 * dcd / cells:.0f}%) | {w} of {ns} ({s}) | {we} of {ne} |")
    else:
        print("\n".join(out))
        for comp, c, dcd, ns, w, s, ne, we, nref in rows:
            print(f"{comp}: {c}; decided {dcd} of {cells}; against the reference's {nref} other seeds: "
                  f"{w} of {ns} signs wrong ({s} surely), {we} of {ne} equivalents wrong")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
