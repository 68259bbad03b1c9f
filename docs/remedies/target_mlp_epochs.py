"""How many epochs the target-only MLP needs: its training loss (and test
accuracy) against full-batch epochs at the article's setting (45 deg,
n_target 10 and 50, seeds 0-9), from `tlsweep one`'s target_mlp_ce.
Writes docs/img/target_mlp_loss.png and prints the table of
docs/findings/remedies.md.

    /usr/bin/python3 docs/remedies/target_mlp_epochs.py [--bin build/tlsweep]
"""
import argparse
import json
import os
import subprocess

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MARKS = [50, 100, 200, 300, 500, 1000, 2000, 3000]


def one(binary, nt, seed, epochs):
    out = subprocess.run([binary, "one", "--n-target", str(nt), "--seed", str(seed), "--set", "train.epochs=0",
                          "--set", "train.finetune_epochs=0", "--set", f"baselines.target_epochs={epochs}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "tlsweep"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "target_mlp_loss.png"))
    a = ap.parse_args()
    curves, accs = {}, {}
    for nt in (10, 50):
        curves[nt] = np.array([one(a.bin, nt, s, 3000)["target_mlp_ce"] for s in range(10)])
        accs[nt] = {e: np.mean([one(a.bin, nt, s, e)["acc_target_mlp"] for s in range(10)]) for e in MARKS}
    print("| epochs | " + " | ".join(f"loss, n_target {nt} (max over seeds) | accuracy, n_target {nt}" for nt in (10, 50)) + " |")
    print("|---:|" + "---:|---:|" * 2)
    for e in MARKS:
        cells = []
        for nt in (10, 50):
            c = curves[nt][:, e - 1]
            cells += [f"{c.mean():.4f} ({c.max():.4f})", f"{accs[nt][e]:.4f}"]
        print(f"| {e} | " + " | ".join(cells) + " |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for nt, col in ((10, "tab:orange"), (50, "tab:blue")):
        x = np.arange(1, curves[nt].shape[1] + 1)
        for c in curves[nt]:
            ax.plot(x, c, color=col, alpha=0.25, lw=0.8)
        ax.plot(x, curves[nt].mean(0), color=col, lw=2, label=f"n_target = {nt} (mean of 10 seeds)")
    ax.axvline(500, color="k", ls="--", lw=1)
    ax.text(520, 0.3, "default: 500", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("full-batch epoch")
    ax.set_ylabel("training cross-entropy (nats)")
    ax.set_title("Target-only MLP at the article's setting (45°): training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)


if __name__ == "__main__":
    main()
