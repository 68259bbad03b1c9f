"""Benchmark (not a test): time per configuration of `tlsweep one` against the
PyTorch reference, both on one core (OPENBLAS_NUM_THREADS=1,
torch.set_num_threads(1)), at the article's setting, min and median over
--repeat runs, and their ratio measured side by side in the same run.

    /usr/bin/python3 tests/bench/bench_engine.py --repeat 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("TLSWEEP_BIN", os.path.join(HERE, "..", "..", "build", "tlsweep")))
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    args = ["one", "--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42"]
    c_times, c_engine = [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = subprocess.run([a.bin] + args, capture_output=True, text=True, env=env, check=True).stdout
        c_times.append(time.perf_counter() - t)
        r = json.loads(out)
        c_engine.append(r["seconds_scratch"] + r["seconds_direct"] + r["seconds_mmd"])
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


if __name__ == "__main__":
    main()
