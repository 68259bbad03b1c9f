"""Benchmarks (not tests) of the sweep, each printing a table with the
ratios measured side by side in the same run:

  throughput   configurations/s of the default sweep at 1 and 2 ranks (fastest of 3), parallel efficiency
  coordinator  configurations/s rank 0 hands out and collects when each does almost nothing
               (train.epochs=0, tiny sets), with 2, 8, 32 and 64 ranks oversubscribed
  hdf5         share of wall time spent writing the results file, embeddings on
  memory       peak resident memory of one configuration at the article's setting
  scaling      cost of one configuration against n_test, n_source and dim, and the exponent
  store        10^4, 10^5 and 10^6 near-empty configurations at 2 and 16 ranks, with and without
               embeddings: wall time, file writing and its share, rank 0's peak memory and per
               configuration, file size; the same grid in 4 parts and their merge; status and the
               resume scan of a 10^6 sweep (--sizes 1e4,1e5 for a shorter run)

    /usr/bin/python3 tests/bench/bench_sweep.py [throughput coordinator hdf5 memory scaling store]
"""
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("TLSWEEP_BIN", os.path.join(HERE, "..", "..", "build", "tlsweep"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1",
           OMPI_MCA_mpi_yield_when_idle="1", TLSWEEP_REPORT_MEMORY="1")
NEAR_EMPTY = ["--set", "train.epochs=0", "--set", "train.finetune_epochs=0", "--set", "baselines.target_epochs=0",
              "--set", "data.n_source=10", "--set", "data.n_test=10"]


def sweep(n, args, out):
    t = time.perf_counter()
    p = subprocess.run(["mpirun", "-q", "-n", str(n), "--oversubscribe", BIN, "run", "-o", out, "--force",
                        "--progress-seconds", "1000"] + args, env=ENV, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    m = re.search(r"file writing ([0-9.]+) s", p.stderr)
    return wall, float(m.group(1)), p.stderr


def throughput(d, rounds=3):
    print(f"\n## sweep throughput, default sweep (120 configurations), fastest of {rounds} rounds "
          "(1 and 2 ranks alternating, so that a load that comes and goes falls on both)")
    walls = {1: [], 2: []}
    for _ in range(rounds):
        for n in (1, 2):
            wall, _, _ = sweep(n, [], os.path.join(d, f"t{n}.h5"))
            walls[n].append(wall)
    res = {}
    for n in (1, 2):
        w = sorted(walls[n])
        res[n] = 120 / w[0]
        print(f"{n} rank{'s' if n > 1 else ' '}: {w[0]:7.1f} s  {res[n]:6.2f} configurations/s "
              f"(all rounds: {', '.join(f'{x:.1f}' for x in walls[n])} s)")
    print(f"parallel efficiency at 2 ranks: {res[2] / (2 * res[1]):.3f} (speed-up {res[2] / res[1]:.2f}x)")


def coordinator(d):
    print("\n## coordinator capacity (configurations that do almost nothing, 20000 of them)")
    tiny = ["--set", "train.epochs=0", "--set", "train.finetune_epochs=0", "--set", "baselines.target_epochs=0",
            "--set", "data.n_source=4", "--set", "data.n_test=4", "--set", "output.embeddings=false",
            "--set", "grid.shift=[" +
            ",".join(str(i) for i in range(50)) + "]", "--set", "grid.lambda=[0,1,2,3]",
            "--set", "grid.n_target=[2]", "--set", "grid.seed=[" + ",".join(str(i) for i in range(100)) + "]"]
    print("(rate: the tool's compute phase, from its last progress line; wall: the whole mpirun)")
    print(f"{'ranks':>5s} {'batch':>6s} {'wall s':>8s} {'handed out and collected / s':>30s}")
    for n in (2, 8, 32, 64):
        for batch in (1, 64):
            wall, write, err = sweep(n, tiny + ["--batch", str(batch)], os.path.join(d, "c.h5"))
            rate = float(re.findall(r"([0-9.]+) cfg/s", err)[-1])
            print(f"{n:5d} {batch:6d} {wall:8.2f} {rate:30.0f}")


def hdf5(d):
    print("\n## HDF5 writing, default sweep with embeddings, 2 ranks")
    wall, write, _ = sweep(2, [], os.path.join(d, "h.h5"))
    size = os.path.getsize(os.path.join(d, "h.h5"))
    print(f"wall {wall:.1f} s, writing the file {write:.2f} s = {100 * write / wall:.1f}% ({size / 2**20:.1f} MiB)")


def peak_rss_mib(args):
    """Peak RSS of one run of the binary, measured in a fresh child process."""
    p = subprocess.run([sys.executable, "-c",
                        "import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True,check=True);"
                        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"] + args,
                       env=ENV, capture_output=True, text=True, check=True)
    return int(p.stdout) / 1024


def memory(d):
    print("\n## peak resident memory of one configuration, one process (= one rank's engine)")
    print(f"article setting (tlsweep one): {peak_rss_mib([BIN, 'one']):.1f} MiB (target < 64 MiB)")
    for nt in (2000, 20000):
        rss = peak_rss_mib([BIN, "one", "--set", f"data.n_test={nt}", "--set", "train.epochs=1",
                            "--set", "train.finetune_epochs=1"])
        print(f"n_test={nt}: {rss:.1f} MiB (an n_test x n_test float matrix alone would be "
              f"{nt * nt * 4 / 2**20:.0f} MiB)")


def one_seconds(sets):
    args = [BIN, "one", "--set", "train.epochs=1", "--set", "train.finetune_epochs=1"]
    for s in sets:
        args += ["--set", s]
    t = time.perf_counter()
    r = json.loads(subprocess.run(args, env=ENV, capture_output=True, text=True, check=True).stdout)
    return time.perf_counter() - t, r


def scaling(d):
    print("\n## cost of one configuration (1 source epoch, 1 fine-tuning epoch), one core")
    for key, values in (("data.n_test", (200, 2000, 20000)), ("data.n_source", (1000, 10000, 100000)),
                        ("data.dim", (2, 28, 784))):
        print(f"{key:14s} {'total s':>9s} {'scratch':>8s} {'direct':>8s} {'mmd':>8s}   exponent of total")
        prev = None
        for v in values:
            t, r = one_seconds([f"{key}={v}"])
            exp = "" if prev is None else f"{math.log(t / prev[1]) / math.log(v / prev[0]):.2f}"
            print(f"{v:14d} {t:9.3f} {r['seconds_scratch']:8.3f} {r['seconds_direct']:8.3f} {r['seconds_mmd']:8.3f}   {exp}")
            prev = (v, t)


def grid_file(d, n):
    path = os.path.join(d, f"grid{n}.yaml")
    with open(path, "w") as f:
        # a range, not a written-out list: libyaml would take ~200 B per list element while parsing
        f.write(f"grid: {{shift: [0], lambda: [0], n_target: [2], seed: 'range(0, {n})'}}\n")
    return path


def timed(args):
    t = time.perf_counter()
    p = subprocess.run(args, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - t, p


SIZES = [10 ** 4, 10 ** 5, 10 ** 6]


def store(d):
    print("\n## the store at scale: near-empty configurations (no training, 10 points per domain)")
    print("(wall: the whole mpirun; writing: the run's 'file writing' (journals -> file); rank 0 memory: its peak RSS)")
    print(f"{'configs':>9s} {'ranks':>5s} {'emb':>4s} {'wall s':>8s} {'writing s':>9s} {'share':>6s} "
          f"{'rank 0 MiB':>10s} {'B/config':>8s} {'file MiB':>9s}")
    for n in SIZES:
        g = grid_file(d, n)
        for ranks in (2, 16):
            for emb in ("false", "true"):
                out = os.path.join(d, "s.h5")
                wall, write, err = sweep(ranks, [g, "--batch", "64", "--set", f"output.embeddings={emb}"] + NEAR_EMPTY, out)
                rss = float(re.search(r"rank 0 peak memory ([0-9.]+) MiB", err).group(1))
                size = os.path.getsize(out) / 2 ** 20
                print(f"{n:9d} {ranks:5d} {emb[0]:>4s} {wall:8.1f} {write:9.2f} {100 * write / wall:5.1f}% "
                      f"{rss:10.1f} {rss * 2 ** 20 / n:8.1f} {size:9.1f}", flush=True)
                os.remove(out)
        # the same grid as 4 parts, then their merge (2 ranks each)
        parts = []
        for k in range(1, 5):
            path = os.path.join(d, f"part-{k}.h5")
            sweep(2, [g, "--part", f"{k}/4", "--batch", "64", "--set", "output.embeddings=true"] + NEAR_EMPTY, path)
            parts.append(path)
        out = os.path.join(d, "merged.h5")
        wall, p = timed(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "merge"] + parts + ["-o", out])
        m = re.search(r"file writing ([0-9.]+) s", p.stderr)
        print(f"{n:9d} merge of 4 parts, 2 ranks, embeddings: wall {wall:.1f} s, writing {float(m.group(1)):.2f} s, "
              f"{os.path.getsize(out) / 2 ** 20:.1f} MiB", flush=True)
        if n == SIZES[-1]:
            t, _ = timed([BIN, "status", out])
            print(f"{n:9d} tlsweep status of the merged file: {t:.2f} s")
            # a resume scan: an interrupted sweep's journals read again
            out2 = os.path.join(d, "i.h5")
            wall, p = timed(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", g, "-o", out2, "--batch", "64",
                             "--time-limit", "40", "--set", "output.embeddings=false"] + NEAR_EMPTY)
            t, q = timed([BIN, "status", out2])
            print(f"{n:9d} status of an interrupted sweep (journals): {t:.2f} s: {q.stdout.splitlines()[0]}")
            t, q = timed(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out2, "--resume",
                          "--batch", "64"])
            m = re.search(r"resuming .*", q.stderr)
            print(f"{n:9d} resume to completion: {t:.1f} s ({m.group(0) if m else q.stderr[-200:]})")
        for p in parts + [out]:
            os.remove(p)


def main():
    global SIZES
    args = sys.argv[1:]
    if "--sizes" in args:
        i = args.index("--sizes")
        SIZES = [int(float(x)) for x in args[i + 1].split(",")]
        del args[i:i + 2]
    names = ["throughput", "coordinator", "hdf5", "memory", "scaling", "store"]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    bad = [a for a in args if a not in names]
    if bad:
        sys.exit(f"bench_sweep.py: unknown benchmark {bad[0]!r}; allowed: {', '.join(names)}, --sizes N,N,...")
    which = args or names
    with tempfile.TemporaryDirectory(dir=os.environ.get("TLSWEEP_BENCH_DIR")) as d:
        for w in which:
            globals()[w](d)


if __name__ == "__main__":
    main()
