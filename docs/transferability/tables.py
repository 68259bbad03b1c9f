"""The tables of docs/findings/transferability.md from the sweep's files (docs/transferability/run.sh):
which transferability score foresees negative transfer, per decided cell and per configuration, per
shift kind; thresholds fitted on four kinds and tested on the fifth; the article's rules as found;
what the scores say where a shift swaps the classes. Markdown on stdout.

    /usr/bin/python3 docs/transferability/tables.py DIR/transferability-*.h5 > docs/transferability/tables.md
    /usr/bin/python3 docs/transferability/tables.py --one-kind transferability-digits.h5 > docs/transferability/tables-digits.md
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis import concat, predictors  # noqa: E402
from analysis.predictors import KIND, SHIFT_KINDS, cells, configurations, within_cells  # noqa: E402
from analysis.decide import ASYMPTOTIC  # noqa: E402

# the cells' decisions: the asymptotic sequence (decide.cs: asymptotic); the default betting sequence decides 2 of
# the 240 cells at these 30 seeds, too few for an AUROC per cell (docs/findings/transferability.md)
RULE = ASYMPTOTIC

NAMES = {"ts_leep": "LEEP", "ts_nleep": "N-LEEP", "ts_logme": "LogME", "ts_hscore": "H-score",
         "ts_hscore_shrink": "shrinkage H-score", "ts_nce": "NCE", "ts_gbc": "GBC", "ts_transrate": "TransRate",
         "ts_knn": "k-NN accuracy", "ts_ft_loss_rise": "fine-tuning loss rise (last − first)",
         "ts_ft_loss_rebound": "fine-tuning loss rebound (last − lowest)", "mmd2_input": "MMD², inputs",
         "pad_input": "A-distance, inputs", "mmd2_feat_before": "MMD², features at initialisation",
         "mmd2_feat_after": "MMD², features after fine-tuning", "pad_feat": "A-distance, features after fine-tuning",
         "rule_mmd2_input": "article: MMD² inputs ≥ 0.1 → harm",
         "rule_mmd2_feat_after": "article: MMD² features ≥ 0.1 → harm",
         "rule_pad_input": "article: A-distance inputs > 0.5 → harm",
         "rule_pad_feat": "article: A-distance features > 0.5 → harm"}


def ci(r):
    if not np.isfinite(r["auroc"]):
        return "–"
    text = f"{r['auroc']:.2f} [{r['auroc_low']:.2f}, {r['auroc_high']:.2f}]"
    lo, hi = round(r["auroc_low"], 2), round(r["auroc_high"], 2)  # as shown
    return f"**{text}**" if lo > 0.5 or hi < 0.5 else text


def auroc_table(df, target):
    d = df[(df["target"] == target) & df["slice_axis"].isin(["", KIND])]
    slices = ["all"] + [f"{KIND}={k}" for k in SHIFT_KINDS if f"{KIND}={k}" in set(d["slice"])]
    head = ["score"] + [s.split("=", 1)[-1] for s in slices]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    counts = d[d["score"] == d["score"].iloc[0]].set_index("slice")
    lines.append("| *harmed / " + ("cells decided" if target == "cell" else "configurations") + "* | "
                 + " | ".join(f"*{int(counts.loc[s, 'n_harm'])} / {int(counts.loc[s, 'n'])}*" for s in slices) + " |")
    for name in dict.fromkeys(d["score"]):
        rows = d[d["score"] == name].set_index("slice")
        lines.append(f"| {NAMES.get(name, name)} | " + " | ".join(ci(rows.loc[s]) if s in rows.index else "–"
                                                                  for s in slices) + " |")
    return "\n".join(lines)


def loko_table(df):
    """Per score: the errors of its best threshold fitted on all kinds and on each kind's four
    others (tested on the fifth, pooled), against predicting the majority; then the same for the
    balanced error (0.5: chance)."""
    lines = ["| score | target | error: fitted on all | left-out kinds | majority | balanced error: fitted on all | "
             "left-out kinds |", "|---|---|---:|---:|---:|---:|---:|"]
    for name in dict.fromkeys(df["score"]):
        for target in ("cell", "configuration"):
            r = df[(df["target"] == target) & (df["score"] == name) & (df["slice"] == "all")]
            if len(r) == 0:
                continue
            r = r.iloc[0]
            lines.append(f"| {NAMES.get(name, name)} | {target} | {r['error']:.3f} | {r['loko_error']:.3f} | "
                         f"{r['base_error']:.3f} | {r['balanced_error']:.3f} | {r['loko_balanced_error']:.3f} |")
    return "\n".join(lines)


def n_target_table(df, target, names, pooled=False):
    """Per score, its AUROC per n_target (pooled: the "all" slice first)."""
    d = df[(df["target"] == target) & (df["slice_axis"] == "n_target")]
    vals = sorted(set(d["slice_value"]))
    whole = df[(df["target"] == target) & (df["slice"] == "all")].set_index("score")
    head = (["all"] if pooled else []) + [f"n_target {float(v):g}" for v in vals]
    lines = ["| score | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for name in names:
        rows = d[d["score"] == name].set_index("slice_value")
        cols = ([ci(whole.loc[name])] if pooled else []) + [ci(rows.loc[v]) if v in rows.index else "–" for v in vals]
        lines.append(f"| {NAMES.get(name, name)} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def rules_table(conf):
    lines = ["| rule | kind | configurations it flags | harmed among flagged | harmed among the others | error |",
             "|---|---|---:|---:|---:|---:|"]
    for dist, thr, strict in (("mmd2_input", 0.1, False), ("pad_input", 0.5, True), ("mmd2_feat_after", 0.1, False),
                              ("pad_feat", 0.5, True)):
        for kind in ("all",) + (SHIFT_KINDS if conf[KIND].nunique() > 1 else ()):
            c = conf if kind == "all" else conf[conf[KIND] == kind]
            if len(c) == 0:
                continue
            x = c[dist].values
            flag = x > thr if strict else x >= thr
            h = c["harm"].values
            share = lambda m: f"{h[m].mean():.2f} of {m.sum()}" if m.any() else "–"  # noqa: E731
            lines.append(f"| {NAMES['rule_' + dist].split(': ', 1)[1]} | {kind} | {flag.mean():.2f} | {share(flag)} | "
                         f"{share(~flag)} | {np.mean(flag != h):.3f} |")
    return "\n".join(lines)


def swap_table(conf):
    """The scores where a shift swaps the classes (rotation 180, conditional 1) against no shift."""
    cols = ["ts_leep", "ts_nce", "ts_knn", "ts_hscore_shrink", "ts_logme"]
    lines = ["| kind, λ | shift | gain mmd − scratch | harmed | " + " | ".join(NAMES[c] for c in cols) + " |",
             "|---|---|---:|---:|" + "---:|" * len(cols)]
    for kind, shifts in (("rotation", (0.0, 72.0, 144.0, 180.0)), ("conditional", (0.0, 0.5, 1.0))):
        for lam in sorted(set(conf["lambda"])):
            for s in shifts:
                c = conf[(conf[KIND] == kind) & (conf["lambda"] == lam) & np.isclose(conf["shift"], s)]
                if len(c) == 0:
                    continue
                lines.append(f"| {kind}, {lam:g} | {s:g} | {c['diff'].mean():+.3f} | {c['harm'].mean():.2f} | "
                             + " | ".join(f"{c[v].mean():.3f}" for v in cols) + " |")
    return "\n".join(lines)


def within_table(df, conf, names, strata):
    """Per score (its declared direction): what it knows beyond the cell's place in the grid, the
    within-cell AUROC (analysis.predictors.within_cells), with its 95% seed-bootstrap interval."""
    lines = ["| score | AUROC within cells | cells with both outcomes |", "|---|---:|---:|"]
    for name in names:
        r = df[(df["target"] == "configuration") & (df["score"] == name) & (df["slice"] == "all")]
        sign = int(r["direction"].iloc[0]) if len(r) else 1
        w = within_cells(conf, name, sign, strata)
        text = f"{w['auroc']:.2f} [{w['low']:.2f}, {w['high']:.2f}]"
        lines.append(f"| {NAMES.get(name, name)} | {f'**{text}**' if w['low'] > 0.5 or w['high'] < 0.5 else text} "
                     f"| {w['cells']} |")
    return "\n".join(lines)


KEEP = ["ts_leep", "ts_nce", "ts_knn", "ts_hscore_shrink", "ts_logme", "ts_gbc", "ts_ft_loss_rise", "mmd2_input",
        "pad_input"]


def one_kind(path):
    """A file of one shift kind (the rotated digits): decisions under both rules, the AUROCs pooled
    and per n_target, within cells, and the article's rules."""
    print(f"<!-- made by docs/transferability/tables.py --one-kind from {os.path.basename(path)} -->\n")
    for comp in ("mmd:scratch", "mmd:target_mlp"):
        df = predictors(path, comp, rule=RULE)
        conf = configurations(path, comp)
        print(f"## {comp}\n")
        for label, rule in (("the default (betting) sequence", None), ("the asymptotic sequence", RULE)):
            c = cells(path, comp, rule=rule)
            n = c["decision"].value_counts()
            print(f"Cells decided by {label}: {len(c)} cells, {int(n.get(1, 0))} help, {int(n.get(2, 0))} hurt, "
                  f"{int(n.get(3, 0))} equivalent, {int(n.get(0, 0))} undecided.\n")
        print(f"AUROCs: cells decided by {df.attrs['decided_by']}; intervals: {df.attrs['interval']}. Bold: the "
              "interval excludes 0.5.\n")
        for target, what in (("cell", "per decided cell"), ("configuration", "per configuration")):
            print(f"### AUROC {what}, pooled and per n_target\n")
            print(n_target_table(df, target, KEEP, pooled=True) + "\n")
        print("### Within cells (the seeds of one shift, λ and n_target)\n")
        print(within_table(df, conf, KEEP, ["shift", "lambda", "n_target"]) + "\n")
        print("### The article's rules, counted\n")
        print(rules_table(conf) + "\n")


def main(files):
    ds = concat(files) if len(files) > 1 else files[0]
    print(f"<!-- made by docs/transferability/tables.py from {len(files)} files -->\n")
    for comp in ("mmd:scratch", "mmd:target_mlp"):
        df = predictors(ds, comp, rule=RULE)
        conf = configurations(ds, comp)
        print(f"## {comp}\n")
        print(f"Cells decided by {df.attrs['decided_by']}; intervals: {df.attrs['interval']}. Bold: the interval "
              "excludes 0.5.\n")
        print("### AUROC per decided cell (hurts against helps or equivalent; the cell's mean score)\n")
        print(auroc_table(df, "cell") + "\n")
        print("### AUROC per configuration (acc_A < acc_B; a tie is no harm)\n")
        print(f"Ties: {int(conf['tie'].sum())} of {len(conf)} configurations.\n")
        print(auroc_table(df, "configuration") + "\n")
        print("### Thresholds: fitted on all kinds, and on each kind's four others then tested on it (pooled)\n")
        print(loko_table(df) + "\n")
        print("### Within cells (the seeds of one shift kind, shift, λ and n_target)\n")
        print(within_table(df, conf, KEEP, [KIND, "shift", "lambda", "n_target"]) + "\n")
        print("### Per n_target (all kinds)\n")
        keep = ["ts_leep", "ts_nce", "ts_knn", "ts_hscore_shrink", "ts_logme", "ts_ft_loss_rise", "mmd2_input"]
        print("Per decided cell:\n\n" + n_target_table(df, "cell", keep) + "\n")
        print("Per configuration:\n\n" + n_target_table(df, "configuration", keep) + "\n")
        if comp == "mmd:scratch":
            print("### The article's rules, counted\n")
            print(rules_table(conf) + "\n")
            print("### Where the shift swaps the classes (means over seeds and n_target)\n")
            print(swap_table(conf) + "\n")
            c = cells(ds, comp, rule=RULE)
            print(f"Cells per decision (1 helps, 2 hurts, 3 equivalent), {comp}:\n")
            tab = c.groupby(KIND)["decision"].value_counts().unstack().fillna(0).astype(int)
            print("| kind | helps | hurts | equivalent |\n|---|---:|---:|---:|")
            for k in SHIFT_KINDS:
                if k in tab.index:
                    print(f"| {k} | " + " | ".join(str(int(tab.loc[k].get(v, 0))) for v in (1, 2, 3)) + " |")
            print()


if __name__ == "__main__":
    if len(sys.argv) < 2 or (sys.argv[1] == "--one-kind" and len(sys.argv) != 3):
        sys.exit(__doc__)
    one_kind(sys.argv[2]) if sys.argv[1] == "--one-kind" else main(sys.argv[1:])
