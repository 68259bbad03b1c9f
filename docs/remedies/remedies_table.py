"""Tables of "Which remedy prevents negative transfer?" (docs/findings/remedies.md)
from a sweep over align.loss x finetune.strategy (configs/remedies.yaml,
configs/digits-remedies.yaml): per (n_target, lambda), rows = methods,
columns = shifts; each cell the mean target accuracy over seeds +- the
half-width of its 95% t interval, and the share of seeds in which the method
is below the scratch SVM / below the target-only MLP (negative transfer
against each baseline). Computed directly with xarray.

    /usr/bin/python3 docs/remedies/remedies_table.py remedies.h5 [--lambda 0.5] [--out FILE.md] [--plot FILE.png]
"""
import argparse

import numpy as np
import xarray as xr
from scipy import stats

STRATEGIES = ("all", "classifier", "l2sp")
ALIGNS = ("mmd", "coral", "dann")


def mean_ci(a):
    """a: (..., seed) -> mean, 95% t half-width over the last axis."""
    n = a.shape[-1]
    return a.mean(-1), stats.t.ppf(0.975, n - 1) * a.std(-1, ddof=1) / np.sqrt(n)


def rows_for(ds, nt, lam):
    """[(label, acc (shift, seed), acc_scratch, acc_target_mlp)]"""
    sel = ds.sel(n_target=nt, **{"lambda": lam})
    first = dict(align_loss="mmd", finetune_strategy="all")
    base = sel.isel(align_loss=0, finetune_strategy=0)
    sc = base["acc_scratch"].transpose("shift", "seed").values
    rows = [("scratch SVM", sc), ("direct SVM", base["acc_direct"].transpose("shift", "seed").values)]
    tm = base["acc_target_mlp"].transpose("shift", "seed").values
    rows.append(("target-only MLP", tm))
    for al in ALIGNS:
        for st in STRATEGIES:
            v = sel["acc_mmd"].sel(align_loss=al, finetune_strategy=st).transpose("shift", "seed").values
            label = f"{al} + {st}" + (" (article)" if (al, st) == tuple(first.values()) else "")
            rows.append((label, v))
    for al in ALIGNS:
        v = sel["acc_ensemble"].sel(align_loss=al, finetune_strategy="all").transpose("shift", "seed").values
        rows.append((f"ensemble ({al} + all, target-only MLP)", v))
    return rows, sc, tm


def table(ds, nt, lam):
    rows, sc, tm = rows_for(ds, nt, lam)
    shifts = ds["shift"].values
    out = ["| method | " + " | ".join(f"{s:g}°" for s in shifts) + " |",
           "|---|" + "---:|" * len(shifts)]
    for label, v in rows:
        m, h = mean_ci(v)
        cells = []
        for i in range(len(shifts)):
            c = f"{m[i]:.3f} ± {h[i]:.3f}"
            if label not in ("scratch SVM", "target-only MLP", "direct SVM"):
                nts = np.mean(v[i] < sc[i]) * 100
                ntm = np.mean(v[i] < tm[i]) * 100
                c += f" ({nts:.0f}% / {ntm:.0f}%)"
            elif label == "direct SVM":
                c += f" ({np.mean(v[i] < sc[i]) * 100:.0f}% / {np.mean(v[i] < tm[i]) * 100:.0f}%)"
            cells.append(c)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def overall(ds):
    """Share of negative transfer of each remedy pooled over shifts, seeds and
    the lambdas, per n_target: (against the SVM, against the target-only MLP)."""
    out = ["| method | " + " | ".join(f"n_target {nt}: below SVM / below MLP / mean acc."
                                      for nt in ds["n_target"].values) + " |",
           "|---|" + "---:|" * len(ds["n_target"].values)]
    labels = None
    cols = []
    for nt in ds["n_target"].values:
        col = {}
        for lam in ds["lambda"].values:
            rows, sc, tm = rows_for(ds, nt, lam)
            for label, v in rows:
                if label in ("scratch SVM", "target-only MLP"):
                    continue
                col.setdefault(label, []).append((v < sc, v < tm, v))
        cols.append(col)
        labels = list(col)
    for label in labels:
        cells = []
        for col in cols:
            a = np.concatenate([x[0].ravel() for x in col[label]]).mean() * 100
            b = np.concatenate([x[1].ravel() for x in col[label]]).mean() * 100
            acc = np.concatenate([x[2].ravel() for x in col[label]]).mean()
            cells.append(f"{a:.0f}% / {b:.0f}% / {acc:.3f}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(ds, lam, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    nts = ds["n_target"].values
    fig, axes = plt.subplots(1, len(nts), figsize=(6 * len(nts), 4.2), sharey=True)
    shifts = ds["shift"].values
    for ax, nt in zip(np.atleast_1d(axes), nts):
        rows, sc, tm = rows_for(ds, nt, lam)
        for label, v in rows:
            m, h = mean_ci(v)
            colors = {"mmd": "tab:blue", "coral": "tab:red", "dann": "tab:green"}
            al = next((a for a in ALIGNS if a in label), None)
            if label == "scratch SVM":
                style = dict(lw=2.2, ls="-", color="k")
            elif label == "target-only MLP":
                style = dict(lw=2.2, ls="--", color="k")
            elif label == "direct SVM":
                style = dict(lw=1.0, ls=":", color="grey")
            elif label.startswith("ensemble"):
                style = dict(lw=1.0, ls="-", color=colors[al], marker="o", ms=4, alpha=0.6)
            else:
                ls = "-" if "+ all" in label else ":" if "classifier" in label else "--"
                style = dict(lw=1.3, ls=ls, color=colors[al])
            ax.errorbar(shifts, m, yerr=h, label=label, capsize=2, **style)
        ax.set_title(f"n_target = {nt}, λ = {lam:g}")
        ax.set_xlabel("shift (°)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("target test accuracy (mean ± 95% CI)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--lambda", dest="lam", type=float, action="append")
    ap.add_argument("--out")
    ap.add_argument("--plot")
    a = ap.parse_args()
    ds = xr.open_dataset(a.results, engine="h5netcdf").load()
    n_fail = int((ds["status"] != 1).sum())
    parts = [f"{a.results}: {int(ds['status'].size)} configurations, {n_fail} not done; "
             f"{ds.sizes['seed']} seeds per cell. Cells: mean accuracy ± 95% CI "
             "(share of seeds below the scratch SVM / below the target-only MLP)."]
    for lam in a.lam or list(ds["lambda"].values):
        for nt in ds["n_target"].values:
            parts += ["", f"**n_target = {nt}, λ = {lam:g}**", "", table(ds, nt, lam)]
    parts += ["", "**Pooled over shifts, seeds and λ** (share below the scratch SVM / below the "
              "target-only MLP / mean accuracy)", "", overall(ds)]
    text = "\n".join(parts)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.plot:
        plot(ds, (a.lam or [0.5])[0], a.plot)


if __name__ == "__main__":
    main()
