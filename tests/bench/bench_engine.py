"""Benchmark (not a test): time per configuration of `tlsweep one` against the
PyTorch reference, both on one core (OPENBLAS_NUM_THREADS=1,
torch.set_num_threads(1)), at the article's setting, min and median over
--repeat runs, and their ratio measured side by side in the same run.

    /usr/bin/python3 tests/bench/bench_engine.py --repeat 5
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))


def flops_per_config(n_source=1000, n_test=200, dim=2, hidden=32, features=16, classes=2, batch=32,
                     epochs=100, finetune_epochs=50, n_target=50, rows=6):
    """Floating-point operations of the MMD method per configuration, counted
    from the algorithm (a multiply-add is 2): per source step the batch's and
    the target set's forward and backward passes, the three MMD^2 kernel
    blocks (distances, exponentials at ~15 operations each, the two gradient
    products; a self block over its diagonal squares of `rows` rows and what
    lies right of them, as src/mmd.c computes it), and Adam; then fine-tuning.
    Padding lanes and the SVMs are not counted."""
    layer = dim * hidden + hidden * features + features * classes       # MACs per point
    steps = epochs * math.ceil(n_source / batch)
    def upper(n):  # kernel entries a self block computes
        return sum(min(rows, n - i0) * (n - i0) for i0 in range(0, n, rows))
    per_entry = 2 * features + 15 + 2 * 2 * features   # distance, exp, K b and K^T a
    per_step = (2 * layer * batch * 3                 # batch forward + backward (2x)
                + 2 * (dim * hidden + hidden * features) * n_test * 3  # target forward + backward
                + (upper(n_test) + batch * n_test + upper(batch)) * per_entry
                + 10 * (layer + hidden + features + classes))          # Adam
    return steps * per_step + finetune_epochs * 2 * layer * n_target * 3


def sgemm_peak():
    """Single-core OpenBLAS SGEMM rate on large matrices: the practical peak."""
    import numpy as np
    a = np.random.rand(2048, 2048).astype(np.float32)
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        best = max(best, 2 * 2048 ** 3 / (time.perf_counter() - t))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("TLSWEEP_BIN", os.path.join(HERE, "..", "..", "build", "tlsweep")))
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS too, for the peak
    env = dict(os.environ)
    args = ["one", "--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42"]
    c_times, c_engine, c_mmd = [], [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = subprocess.run([a.bin] + args, capture_output=True, text=True, env=env, check=True).stdout
        c_times.append(time.perf_counter() - t)
        r = json.loads(out)
        c_engine.append(r["seconds_scratch"] + r["seconds_direct"] + r["seconds_mmd"])
        c_mmd.append(r["seconds_mmd"])
    import torch
    torch.set_num_threads(1)
    import torch_reference
    p_times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        torch_reference.run(45.0, 0.5, 50, 42)
        p_times.append(time.perf_counter() - t)
    rows = [("tlsweep one (process, incl. start-up and distances)", c_times),
            ("tlsweep engine: the three methods", c_engine),
            ("PyTorch reference: the three methods", p_times)]
    print(f"per-configuration time at the article's setting, one core, {a.repeat} runs")
    print(f"{'':55s} {'min s':>8s} {'median s':>9s}")
    for name, ts in rows:
        print(f"{name:55s} {min(ts):8.3f} {statistics.median(ts):9.3f}")
    print(f"speed-up of the engine over PyTorch: min {min(p_times) / min(c_engine):.1f}x, "
          f"median {statistics.median(p_times) / statistics.median(c_engine):.1f}x")
    print(f"speed-up of the whole tlsweep one process: median {statistics.median(p_times) / statistics.median(c_times):.1f}x")
    import numpy  # noqa: F401  (its OpenBLAS, one thread: OPENBLAS_NUM_THREADS=1 below)
    flops = flops_per_config()
    mmd_s = min(c_mmd)
    peak = sgemm_peak()
    print(f"MMD method: {flops / 1e9:.2f} GFLOP per configuration in {mmd_s:.3f} s = {flops / mmd_s / 1e9:.1f} GFLOP/s; "
          f"single-core SGEMM peak measured now {peak / 1e9:.1f} GFLOP/s: {100 * flops / mmd_s / peak:.0f}% of it")


if __name__ == "__main__":
    main()
