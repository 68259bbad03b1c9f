"""The boundary map against the sequential mode on every cell, on the fine map of the article's
setting: shift range(0, 181, 5) (37) x n_target [5, 7, 10, 14, 20, 30, 50, 70, 100, 140, 200]
(11) at lambda 0.5, comparisons mmd:target_mlp and mmd:scratch, max_seeds 100.

    mpirun -n 2 build/tlsweep run map.yaml -o map.h5        # decide.mode: boundary
    mpirun -n 2 build/tlsweep run seqmap.yaml -o seqmap.h5  # the same grid, decide.mode: sequential
    /usr/bin/python3 tests/bench/bench_map.py --map map.h5 --seq seqmap.h5 [--dense dense.h5] [--markdown]

(map.yaml and seqmap.yaml: docs/boundary-map.md.) Prints the trainings of each; the cells the
map measured, inferred and left unknown; against the sequential mode's decided cells, the share
of the map's decisions (measured or inferred) of the other sign or kind; per row (n_target) and
comparison the boundary -- the least shift from which every cell is decided hurts -- and
whether the map's is within one grid step of the sequential mode's; and with --dense (a
200-seed run over a subset of the cells, e.g. shift range(0, 181, 10) x n_target [5, 10, 20,
50, 100, 200]) the wrong signs against its seeds 100 .. 199, which neither mode sees: a decided
helps or hurts whose reference 95% t interval lies on the other side of 0."""
import argparse
import sys

import numpy as np
import xarray as xr
from scipy import stats

NAMES = {-1: "unknown", 0: "undecided", 1: "helps", 2: "hurts", 3: "equivalent"}


def grid2(ds, name, k):
    """(shift, n_target) array of a cell variable for comparison k (lambda has one value)."""
    return ds[name].isel(comparison=k).squeeze("lambda").transpose("shift", "n_target").values


def boundary(dec, shifts):
    """Per column (n_target): the least shift from which every cell is hurts (NaN: none)."""
    out = []
    for j in range(dec.shape[1]):
        col, b = dec[:, j], np.nan
        for i in range(len(shifts) - 1, -1, -1):
            if col[i] != 2:
                break
            b = shifts[i]
        out.append(b)
    return np.array(out)


def dense_reference(dense, a, b):
    d = (dense[f"acc_{a}"] - dense[f"acc_{b}"]).sel(seed=[s for s in dense.seed.values if s >= 100])
    d = d.squeeze("lambda").transpose("shift", "n_target", "seed").values
    n = np.isfinite(d).sum(-1)
    m = np.nanmean(d, -1)
    h = stats.t.ppf(0.975, n - 1) * np.nanstd(d, -1, ddof=1) / np.sqrt(n)
    return m - h, m + h


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", required=True)
    ap.add_argument("--seq", required=True)
    ap.add_argument("--dense")
    ap.add_argument("--markdown", action="store_true")
    o = ap.parse_args()
    mp, sq = xr.open_dataset(o.map), xr.open_dataset(o.seq)
    dense = xr.open_dataset(o.dense) if o.dense else None
    shifts, nts = mp["shift"].values, mp["n_target"].values
    t_map, t_seq = int((mp.status == 1).sum()), int((sq.status == 1).sum())
    ncell = len(shifts) * len(nts)
    lines = [f"cells {ncell} ({len(shifts)} shifts x {len(nts)} n_target); trainings: boundary map {t_map}, "
             f"sequential on every cell {t_seq}: {t_seq / t_map:.2f}x fewer ({100 * t_map / t_seq:.0f}%)"]
    rows = []
    for k, comp in enumerate(mp.comparison.values):
        comp = comp.decode() if isinstance(comp, bytes) else str(comp)
        a, b = comp.split(":")
        dm, src = grid2(mp, "decision", k), grid2(mp, "decision_source", k)
        ds_ = grid2(sq, "decision", k)
        measured, inferred, unknown = int((src == 1).sum()), int((src == 2).sum()), int((src == 0).sum())
        ref = ds_ != 0  # the sequential mode's decided cells
        known = ref & (src > 0)
        wrong = known & (dm != ds_)
        wrong_inf = wrong & (src == 2)
        bm, bs = boundary(dm, shifts), boundary(ds_, shifts)
        step = float(np.diff(shifts).min())
        both = ~np.isnan(bs)
        close = np.abs(bm - bs) <= step + 1e-9
        rows_ok = int((close & both).sum() + ((np.isnan(bm)) & (~both)).sum())
        dense_txt = ""
        if dense is not None:
            d_sh = [s for s in dense["shift"].values if s in shifts]  # the cells of both
            d_nt = [n for n in dense["n_target"].values if n in nts]
            lo, hi = dense_reference(dense.sel(shift=d_sh, n_target=d_nt), a, b)
            ds_sub = [list(shifts).index(s) for s in d_sh]
            nt_sub = [list(nts).index(n) for n in d_nt]
            sub = dm[np.ix_(ds_sub, nt_sub)]
            sub_src = src[np.ix_(ds_sub, nt_sub)]
            sign = (sub == 1) | (sub == 2)
            sure = ((sub == 1) & (hi < 0)) | ((sub == 2) & (lo > 0))
            dense_txt = (f"; against the dense run's seeds 100-199 on {sub.size} cells: {int(sure.sum())} of "
                         f"{int(sign.sum())} signs surely wrong ({int((sign & (sub_src == 2)).sum())} of them inferred)")
        rows.append(dict(comp=comp, measured=measured, inferred=inferred, unknown=unknown, ref=int(ref.sum()),
                         known=int(known.sum()), wrong=int(wrong.sum()), wrong_inf=int(wrong_inf.sum()),
                         rows_ok=rows_ok, nrows=len(nts), bm=bm, bs=bs, dense=dense_txt))
    for r in rows:
        lines.append(f"{r['comp']}: measured {r['measured']}, inferred {r['inferred']}, unknown {r['unknown']}; "
                     f"of the {r['ref']} cells the sequential mode decided, the map knows {r['known']} and "
                     f"disagrees on {r['wrong']} ({100 * r['wrong'] / max(r['known'], 1):.1f}%; {r['wrong_inf']} "
                     f"inferred){r['dense']}; boundary within one step in {r['rows_ok']} of {r['nrows']} rows")
        lines.append("  boundary per n_target (map / sequential): " + ", ".join(
            f"{n}: {fmt(x)}/{fmt(y)}" for n, x, y in zip(nts, r["bm"], r["bs"])))
    print(("\n".join("* " + x for x in lines)) if o.markdown else "\n".join(lines))


def fmt(x):
    return "-" if np.isnan(x) else f"{x:g}"


if __name__ == "__main__":
    sys.exit(main())
