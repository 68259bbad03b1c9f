"""The selection tables and figure (docs/findings/selection.md) from the sweeps of
docs/selection/run.sh.

    /usr/bin/python3 docs/selection/tables.py DIR/selection-*.h5

Prints the markdown of docs/findings/selection.md (the regret of each score per kind, pooled over
shift x n_target; the rules of thumb per kind), writes every cell with its
95% interval to docs/selection/regret.md and the regret maps to
docs/img/selection_regret.png. Uses only the analysis package.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from analysis import load, regret_overall, rules_of_thumb, summary_regret  # noqa: E402
from analysis.report import SCORE_LABELS  # noqa: E402
from analysis.results import accuracy, roles, scores_in, shift_kind  # noqa: E402

ORDER = ["rotation", "translation", "scale", "label", "conditional"]
UNITS = {"rotation": "°", "translation": " spreads", "scale": "×", "label": " class 0", "conditional": " swapped"}
SHORT = {"entropy": "entropy", "snd": "SND", "mmd2": "MMD² (features)", "pad": "A-distance (features)",
         "iwcv": "IWCV", "dev": "DEV", "target_val": "target validation", "reference": "never align (λ = 0)"}


def pm(m, h, signed=False):
    if m is None or not np.isfinite(m):
        return "–"
    s = f"{m:+.3f}" if signed else f"{m:.3f}"
    s = s.replace("-", "−")
    return s + (f" ± {h:.3f}" if h is not None and np.isfinite(h) else "")


def shift_label(kind, v):
    return f"{v:g}{UNITS[kind]}" if kind in ("rotation", "scale") else f"{v:g}"


def main(paths):
    files = {}
    for p in paths:
        ds = load(p).load()
        files[shift_kind(ds)] = ds
    kinds = [k for k in ORDER if k in files]
    names = [n for n in scores_in(files[kinds[0]]) if n != "oracle"]
    out = []
    # 1. pooled regret per score and kind
    over = {k: regret_overall(files[k], scores=names + ["oracle"]) for k in kinds}
    out.append("| choose λ by | " + " | ".join(kinds) + " |")
    out.append("|---|" + "---:|" * len(kinds))
    for n in names:
        out.append(f"| {SHORT[n]} | " + " | ".join(pm(over[k][n]["regret"], over[k][n]["regret_ci95"]) for k in kinds) + " |")
    first = {k: regret_overall(files[k], scores=["iwcv", "dev", "target_val"], ties="first") for k in kinds}
    for n in ("iwcv", "dev", "target_val"):
        out.append(f"| {SHORT[n]}, ties to the smallest λ | " + " | ".join(
            pm(first[k][n]["regret"], first[k][n]["regret_ci95"]) for k in kinds) + " |")
    out.append(f"| {SHORT['reference']} | " + " | ".join(
        pm(over[k]["reference"]["regret"], over[k]["reference"]["regret_ci95"]) for k in kinds) + " |")
    out.append("| *the oracle's gain over λ = 0* | " + " | ".join(
        pm(over[k]["oracle"]["gain"], over[k]["oracle"]["gain_ci95"], True) for k in kinds) + " |")
    out.append("")
    # 2. gain over never aligning, and how often the pick is below it
    out.append("| choose λ by: gain over λ = 0 (share of cells × seeds below it) | " + " | ".join(kinds) + " |")
    out.append("|---|" + "---:|" * len(kinds))
    for n in names:
        out.append(f"| {SHORT[n]} | " + " | ".join(
            f"{pm(over[k][n]['gain'], over[k][n]['gain_ci95'], True)} ({100 * over[k][n]['share_below_reference']:.0f}%)"
            for k in kinds) + " |")
    out.append("")
    # 3. per n_target, pooled over shifts and kinds: where realistic selection keeps the gain
    sr = {k: summary_regret(files[k], scores=names) for k in kinds}
    nts = sorted(set(np.concatenate([files[k]["n_target"].values for k in kinds])))
    out.append("| mean regret, all kinds and shifts | " + " | ".join(f"n_target {int(v)}" for v in nts) + " |")
    out.append("|---|" + "---:|" * len(nts))
    for n in names + ["reference"]:
        cells = []
        for v in nts:
            vals = np.concatenate([sr[k].xs(v, level="n_target")[f"regret_{n}"].values for k in kinds])
            cells.append(f"{np.nanmean(vals):.3f}")
        out.append(f"| {SHORT[n]} | " + " | ".join(cells) + " |")
    out.append("")
    # 4. rules of thumb per kind
    out.append("| kind | MMD² (input) < 0.1: configurations, negative transfer below / above | "
               "MMD² (features) < 0.1: same | A-distance (input) > 0.5: negative transfer above / below | "
               "A-distance (features) > 0.5: same | Spearman ρ of gain with MMD² / A-distance (features) |")
    out.append("|---|---|---|---|---|---|")
    for k in kinds:
        r = rules_of_thumb(files[k])

        def mmd(name):
            x = r[name]
            return (f"{x['n_below']} / {x['n_above']}: {pct(x['negative_share_below'])} / "
                    f"{pct(x['negative_share_above'])}")

        def pad(name):
            x = r[name]
            return (f"{x['n_above']} / {x['n_below']}: {pct(x['negative_share_above'])} / "
                    f"{pct(x['negative_share_below'])}")
        rho = " / ".join(f"{r[n]['spearman_rho_with_gain']:+.2f}".replace("-", "−")
                         if r[n]["spearman_rho_with_gain"] is not None else "–" for n in ("mmd2_feat_after", "pad_feat"))
        out.append(f"| {k} | {mmd('mmd2_input')} | {mmd('mmd2_feat_after')} | {pad('pad_input')} | "
                   f"{pad('pad_feat')} | {rho} |")
    out.append("")
    # 5. negative transfer per kind and shift, for the reader
    out.append("| kind: shift → | share of configurations with acc_mmd < acc_scratch, per shift (all λ, n_target) |")
    out.append("|---|---|")
    for k in kinds:
        ds = files[k]
        base, trans = roles(ds)
        neg = (accuracy(ds, trans) < accuracy(ds, base)).mean([d for d in ds["status"].dims if d != "shift"])
        out.append(f"| {k} | " + ", ".join(f"{shift_label(k, float(s))}: {100 * float(v):.0f}%"
                                          for s, v in zip(ds["shift"].values, neg.values)) + " |")
    print("\n".join(out))
    write_cells(files, kinds, names, sr)
    figure(files, kinds, names, sr)


def pct(v):
    return "–" if v is None else f"{100 * v:.0f}%"


def write_cells(files, kinds, names, sr):
    lines = ["# Regret of choosing λ by each score, every cell",
             "",
             "Written by `docs/selection/tables.py` from the sweeps of `docs/selection/run.sh`",
             "(`configs/selection.yaml` once per `data.shift_kind`; [*Could λ have been chosen without",
             "target labels?*](../findings/selection.md)). Each cell: the mean over 10 seeds of the regret (the best target accuracy over",
             "λ ∈ {0, 0.1, 0.5, 2} minus the accuracy at the λ the score picks) ± the half-width of its 95% t",
             "interval over seeds. 0 is the oracle.", ""]
    for k in kinds:
        ds = files[k]
        lines += [f"## {k}", ""]
        nts = ds["n_target"].values
        lines.append("| score | shift | " + " | ".join(f"n_target {int(v)}" for v in nts) + " |")
        lines.append("|---|---:|" + "---:|" * len(nts))
        for n in names + ["reference"]:
            for s in ds["shift"].values:
                row = sr[k].xs(s, level="shift")
                lines.append(f"| {SHORT[n]} | {shift_label(k, float(s))} | " + " | ".join(
                    pm(row.loc[v, f"regret_{n}"], row.loc[v, f"regret_{n}_ci95"]) for v in nts) + " |")
        lines.append("")
    with open(os.path.join(HERE, "regret.md"), "w") as f:
        f.write("\n".join(lines))


ROW_LABELS = {"rotation": "rotation (°)", "translation": "translation\n(source spreads)",
              "scale": "scale (× spread)", "label": "label\n(class-0 share)", "conditional": "conditional\n(share swapped)"}


def figure(files, kinds, names, sr):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = names + ["reference"]
    fig, axes = plt.subplots(len(kinds), len(panels), figsize=(1.55 * len(panels) + 1.6, 1.45 * len(kinds) + 0.9),
                             squeeze=False, layout="constrained")
    vmax = max(np.nanmax(sr[k][f"regret_{n}"].values) for k in kinds for n in panels)
    im = None
    for r, k in enumerate(kinds):
        ds = files[k]
        sh, nts = ds["shift"].values, ds["n_target"].values
        for c, n in enumerate(panels):
            ax = axes[r][c]
            M = np.array([[sr[k].loc[(s, v), f"regret_{n}"] for s in sh] for v in nts], float)
            im = ax.imshow(M, cmap="Reds", vmin=0, vmax=vmax, origin="lower", aspect="auto", interpolation="nearest")
            ax.set_xticks(range(len(sh)), [f"{float(s):g}" for s in sh], fontsize=6, rotation=90)
            ax.set_yticks(range(len(nts)), [str(int(v)) for v in nts] if c == 0 else [], fontsize=6)
            if r == 0:
                ax.set_title(SHORT[n], fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{ROW_LABELS[k]}\nn_target", fontsize=7)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="regret (oracle − picked accuracy)")
    fig.suptitle("Regret of choosing λ by each score: one row per kind of shift (x: the shift, y: n_target), "
                 "mean over 10 seeds", fontsize=10)
    fig.savefig(os.path.join(ROOT, "docs", "img", "selection_regret.png"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1:])
