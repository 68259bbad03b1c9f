"""Per-step cost of the source phase against align.target_batch (m) on
rotated Fashion-MNIST (784 pixels, 784 -> 128 -> 32 network, 10 classes,
configs/fashion-mnist-rotation.yaml), with every image of the target half
not labelled as the target set (data.n_test: all, about 34 900): the
network method's wall time (seconds_mmd) at 1 and 21 source epochs of 20
batches (all: 1 and 2), the difference over the steps it adds.

    /usr/bin/python3 -m analysis.datasets fashion-mnist      # data/fashion-mnist_*.h5
    /usr/bin/python3 docs/remedies/target_batch_cost.py [--bin build/tlsweep] [--ms 64,256,1024,4096,all]
"""
import argparse
import json
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def seconds(binary, m, epochs):
    args = [binary, "one", os.path.join(ROOT, "configs", "fashion-mnist-rotation.yaml"), "--shift", "45",
            "--lambda", "0.5", "--n-target", "100", "--seed", "0",
            "--set", "data.n_source=640", "--set", "data.n_test=all", "--set", "mmd.distance_points=500",
            "--set", f"train.epochs={epochs}", "--set", "train.finetune_epochs=0",
            "--set", "baselines.target_epochs=0", "--set", f"align.target_batch={m}"]
    d = json.loads(subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
    return d["seconds_mmd"], d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "tlsweep"))
    ap.add_argument("--ms", default="64,256,1024,4096,all")
    a = ap.parse_args()
    print("| target points per step (m) | ms per source step | relative to m = 256 |")
    print("|---:|---:|---:|")
    rows = []
    for m in a.ms.split(","):
        e1, e2 = (1, 21) if m != "all" else (1, 2)
        t1, _ = seconds(a.bin, m, e1)
        t2, d = seconds(a.bin, m, e2)
        per = (t2 - t1) / (20 * (e2 - e1))
        rows.append((m, per))
    ref = dict(rows).get("256")
    for m, per in rows:
        print(f"| {m} | {1e3 * per:.2f} | {per / ref:.1f}x |" if ref else f"| {m} | {1e3 * per:.2f} | |")


if __name__ == "__main__":
    main()
