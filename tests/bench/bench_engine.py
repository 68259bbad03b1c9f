"""Benchmark (not a test): time per configuration of `tlsweep one` against the
PyTorch reference, both on one core (OPENBLAS_NUM_THREADS=1,
torch.set_num_threads(1)), at the article's setting, min and median over
--repeat runs, and their ratio measured side by side in the same run.

Then the MMD method alone, per configuration: tlsweep's seconds_mmd, the
PyTorch loop's (torch_reference.py, one configuration at a time) and the
batched PyTorch implementation (torch_batched.py: K configurations in
lockstep, seeds 0..K-1, denormals flushed; per configuration = elapsed / K)
at each K of --batched-ks, min and median over --batched-repeat runs; the
ratios against tlsweep, and each one's FLOP rate against the single-core
SGEMM peak. --denormals adds the batched run at its best K without
flushing denormals and the loop with flushing (one run each).

    /usr/bin/python3 tests/bench/bench_engine.py --repeat 5
    /usr/bin/python3 tests/bench/bench_engine.py --quick     # smoke run, ~1 min

The full run is long, about 40 minutes: at 100 + 50 epochs the batched runs
take about 1.5, 5 and 30 minutes at K = 32, 128 and 512 (extrapolated from a
few steps on a 2-core Intel Xeon VM; per configuration K = 512 costs more
than K = 128: its (K, 200, 200) tensors are far beyond the caches).

The machine is often shared (2 cores): every time is also taken as CPU time
(the process's user + system time: tlsweep one as a child, PyTorch in this
process with one thread), which a load that comes and goes inflates far less
than wall time; both are printed, minima side by side. tlsweep's CPU row is
the whole tlsweep one process (start-up, the SVMs, distances, target-only
MLP): an upper bound of its MMD method's.

OpenBLAS picks its kernels by CPU model; where it does not know the model it
falls back to generic SSE3 ones ("Prescott"), which makes PyTorch's products
and the SGEMM "peak" slow (the benchmark prints the kernels it got and says
so); OPENBLAS_CORETYPE=Haswell or SkylakeX in the environment selects real ones.
tlsweep's engine does not call OpenBLAS at this setting.
"""
import argparse
import json
from types import SimpleNamespace
import math
import os
import resource
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


def openblas_core():
    """The kernel set OpenBLAS chose (numpy's and PyTorch's: Debian links both
    to libblas.so.3, OpenBLAS here), or None."""
    import ctypes
    import numpy  # noqa: F401  (loads it)
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.split()[-1]})
    for path in libs:
        try:
            f = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return f().decode()
    return None


def children_cpu():
    """User + system seconds of this process's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine():
    """CPU model and the vector extensions that matter here, from /proc/cpuinfo."""
    model, flags = "unknown", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and model == "unknown":
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    want = ["avx2", "fma", "avx512f", "avx512vl", "avx512dq", "avx512_fp16", "amx_tile"]
    return f"{model}, {os.cpu_count()} CPUs; " + " ".join(f for f in want if f in flags)


def options():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("TLSWEEP_BIN", os.path.join(HERE, "..", "..", "build", "tlsweep")))
    ap.add_argument("--repeat", type=int, default=None, help="runs of tlsweep one and of the loop (default 5)")
    ap.add_argument("--epochs", type=int, default=None, help="source epochs (default 100)")
    ap.add_argument("--finetune-epochs", type=int, default=None, help="fine-tuning epochs (default 50)")
    ap.add_argument("--batched-ks", default=None, help="K of the batched runs, comma-separated (default 32,128,512)")
    ap.add_argument("--batched-repeat", type=int, default=1, help="runs per K (default 1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 5 + 5 epochs, 2 runs, K = 4,16 (unless given explicitly)")
    ap.add_argument("--denormals", action="store_true",
                    help="also time the batched run at its best K without flushing denormals and the loop "
                         "with flushing (one run each)")
    a = ap.parse_args()
    quick = dict(repeat=2, epochs=5, finetune_epochs=5, batched_ks="4,16")
    full = dict(repeat=5, epochs=100, finetune_epochs=50, batched_ks="32,128,512")
    for key, val in (quick if a.quick else full).items():
        if getattr(a, key) is None:
            setattr(a, key, val)
    a.ks = [int(k) for k in a.batched_ks.split(",") if k]
    return a


def time_tlsweep(a):
    """tlsweep one at the article's point, a.repeat times: wall, engine, MMD method and CPU seconds."""
    args = ["one", "--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42",
            "--set", f"train.epochs={a.epochs}", "--set", f"train.finetune_epochs={a.finetune_epochs}"]
    m = SimpleNamespace(times=[], engine=[], mmd=[], cpu=[])
    for _ in range(a.repeat):
        t, c = time.perf_counter(), children_cpu()
        out = subprocess.run([a.bin] + args, capture_output=True, text=True, env=dict(os.environ), check=True).stdout
        m.times.append(time.perf_counter() - t)
        m.cpu.append(children_cpu() - c)
        r = json.loads(out)
        m.engine.append(r["seconds_scratch"] + r["seconds_direct"] + r["seconds_mmd"])
        m.mmd.append(r["seconds_mmd"])
    return m


def time_torch(a):
    """The PyTorch loop (a.repeat runs) and the batched runs at each K."""
    import torch
    torch.set_num_threads(1)
    import torch_reference
    import torch_batched
    m = SimpleNamespace(times=[], mmd=[], cpu=[], cpu_mmd=[], b_cfg={}, b_acc={}, b_cpu={})
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        r = torch_reference.run(45.0, 0.5, 50, 42, epochs=a.epochs, finetune_epochs=a.finetune_epochs)
        m.times.append(time.perf_counter() - t)
        m.cpu.append(time.process_time() - c)
        m.mmd.append(r["seconds_mmd"])
        m.cpu_mmd.append(r["cpu_seconds_mmd"])
    for K in a.ks:
        runs = [torch_batched.run_batched(K, 45.0, 0.5, 50, range(K), epochs=a.epochs,
                                          finetune_epochs=a.finetune_epochs) for _ in range(a.batched_repeat)]
        m.b_cfg[K] = [r["seconds_per_config"] for r in runs]
        m.b_cpu[K] = [r["cpu_seconds_per_config"] for r in runs]
        m.b_acc[K] = sum(runs[0]["acc_mmd"]) / K
    return m


def print_whole(a, c, p):
    """Per-configuration times of the three methods; returns the MMD method's FLOPs and the peak."""
    setting = ("the article's setting" if (a.epochs, a.finetune_epochs) == (100, 50)
               else f"the article's setting but {a.epochs} + {a.finetune_epochs} epochs")
    rows = [("tlsweep one (process, incl. start-up and distances)", c.times),
            ("tlsweep engine: the three methods", c.engine),
            ("PyTorch reference: the three methods", p.times)]
    print(f"per-configuration time at {setting}, one core, runs: {a.repeat}")
    print(f"{'':55s} {'min s':>8s} {'median s':>9s}")
    for name, ts in rows:
        print(f"{name:55s} {min(ts):8.3f} {statistics.median(ts):9.3f}")
    print(f"speed-up of the engine over PyTorch: min {min(p.times) / min(c.engine):.1f}x, "
          f"median {statistics.median(p.times) / statistics.median(c.engine):.1f}x")
    print(f"speed-up of the whole tlsweep one process: median {statistics.median(p.times) / statistics.median(c.times):.1f}x")
    print(f"CPU time (user + system), min: tlsweep one process {min(c.cpu):.3f} s, PyTorch reference {min(p.cpu):.3f} s: "
          f"{min(p.cpu) / min(c.cpu):.1f}x")
    import numpy  # noqa: F401  (its OpenBLAS, one thread: OPENBLAS_NUM_THREADS=1 above)
    flops = flops_per_config(epochs=a.epochs, finetune_epochs=a.finetune_epochs)
    mmd_s = min(c.mmd)
    peak = sgemm_peak()
    print(f"MMD method: {flops / 1e9:.2f} GFLOP per configuration in {mmd_s:.3f} s = {flops / mmd_s / 1e9:.1f} GFLOP/s; "
          f"single-core SGEMM peak measured now {peak / 1e9:.1f} GFLOP/s: {100 * flops / mmd_s / peak:.0f}% of it")
    core = openblas_core()
    print(f"OpenBLAS kernels: {core} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    if core in ("Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom") and " avx2" in open("/proc/cpuinfo").read():
        print("  OpenBLAS did not recognise this AVX2 CPU and uses generic SSE3 kernels: the SGEMM peak above and "
              "PyTorch's products are below what the CPU does; rerun with OPENBLAS_CORETYPE=Haswell (AVX2) or "
              "SkylakeX (AVX-512) set to measure with its real kernels")
    return flops, peak


def print_mmd(a, c, p, flops, peak):
    """The MMD method alone: tlsweep, the PyTorch loop and the batched runs."""
    ks = a.ks
    print()
    print(f"the MMD method alone, per configuration (runs: {a.repeat}; batched: {a.batched_repeat} per K, "
          f"seeds 0..K-1, denormals flushed, elapsed / K); {flops / 1e9:.2f} GFLOP per configuration "
          f"(counted for tlsweep's algorithm), against the SGEMM peak above")
    print(f"{'':40s} {'min s':>8s} {'median s':>9s} {'vs tlsweep':>11s} {'GFLOP/s':>8s} {'of peak':>8s}")
    mmd_rows = [("tlsweep engine", c.mmd), ("PyTorch loop (torch_reference)", p.mmd)]
    mmd_rows += [(f"PyTorch batched, K = {K}", p.b_cfg[K]) for K in ks]
    c_min = min(c.mmd)
    for name, ts in mmd_rows:
        lo, med = min(ts), statistics.median(ts)
        print(f"{name:40s} {lo:8.3f} {med:9.3f} {lo / c_min:10.1f}x {flops / lo / 1e9:8.1f} {100 * flops / lo / peak:7.1f}%")
    if not ks:
        return
    best = min(ks, key=lambda K: min(p.b_cfg[K]))
    b_min = min(p.b_cfg[best])
    print(f"tlsweep engine vs the PyTorch loop: {min(p.mmd) / c_min:.1f}x; vs PyTorch batched at its best K "
          f"({best}): {b_min / c_min:.1f}x; batching gains PyTorch {min(p.mmd) / b_min:.1f}x (mins)")
    print("mean acc_mmd of the batched runs: " + ", ".join(f"K = {K}: {p.b_acc[K]:.3f}" for K in ks))
    cbest = min(ks, key=lambda K: min(p.b_cpu[K]))
    c_up = min(c.cpu)
    print(f"CPU time per configuration, min: the whole tlsweep one process {c_up:.3f} s (an upper bound of its MMD "
          f"method); the PyTorch loop's MMD method {min(p.cpu_mmd):.3f} s: {min(p.cpu_mmd) / c_up:.1f}x; "
          + "; ".join(f"PyTorch batched K = {K} {min(p.b_cpu[K]):.3f} s: {min(p.b_cpu[K]) / c_up:.1f}x" for K in ks))
    print(f"  tlsweep vs PyTorch batched at its best K by CPU time ({cbest}): {min(p.b_cpu[cbest]) / c_up:.1f}x; "
          f"rate of the whole process {flops / c_up / 1e9:.1f} GFLOP/s = {100 * flops / c_up / peak:.0f}% of the SGEMM peak")
    if a.denormals:
        print_denormals(a, best, b_min, min(p.mmd))


def print_denormals(a, best, b_min, p_mmd_min):
    import torch
    import torch_batched
    import torch_reference
    nf = torch_batched.run_batched(best, 45.0, 0.5, 50, range(best), epochs=a.epochs,
                                   finetune_epochs=a.finetune_epochs, flush_denormal=False)
    torch.set_flush_denormal(True)
    try:
        lf = torch_reference.run(45.0, 0.5, 50, 42, epochs=a.epochs, finetune_epochs=a.finetune_epochs)
    finally:
        torch.set_flush_denormal(False)
    print(f"denormals not flushed, batched at K = {best}: {nf['seconds_per_config']:.3f} s per configuration, "
          f"{nf['seconds_per_config'] / b_min:.2f}x the flushed min (one run)")
    print(f"denormals flushed, PyTorch loop: {lf['seconds_mmd']:.3f} s, "
          f"{lf['seconds_mmd'] / p_mmd_min:.2f}x the unflushed min (one run)")


def main():
    a = options()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS too, for the peak
    print(f"machine: {machine()}")
    c = time_tlsweep(a)
    p = time_torch(a)
    flops, peak = print_whole(a, c, p)
    print_mmd(a, c, p, flops, peak)


if __name__ == "__main__":
    main()
