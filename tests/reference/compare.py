"""Pipeline parity: tlsweep against the independent PyTorch reference.

Runs the same cells (shift x lambda, n_target) over many seeds with both,
and compares the mean accuracy of each method per cell. The two use
different random number generators, so single configurations differ; the
means over seeds must agree within --tol (0.03 by default, the engine
issue's criterion). With --tol-se K the bound is max(tol, K standard errors
of the paired difference of means), for quick runs with few seeds.

    /usr/bin/python3 tests/reference/compare.py                  # full: 4 shifts x 2 lambdas x 10 seeds
    /usr/bin/python3 tests/reference/compare.py --out tests/reference/parity.md
    /usr/bin/python3 tests/reference/compare.py --settings all --shifts 0,90,135   # every remedy

--settings names the remedies to check, each a tlsweep sweep and the same
cells in the reference (SETTINGS below: the keys set in tlsweep and the
reference's arguments); every setting compares all five methods (scratch,
direct, mmd: the transfer network with that setting, target_mlp, ensemble).

The reference's results depend only on its arguments (and the torch and
scikit-learn versions): --reference-cache FILE keeps them in a JSON file, so
that checking a changed engine again takes seconds instead of minutes.
"""
import json
import argparse
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool

import numpy as np
import xarray as xr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_reference  # noqa: E402

METHODS = ("scratch", "direct", "mmd", "target_mlp", "ensemble")

# name: (tlsweep --set keys, torch_reference.run arguments)
SETTINGS = {
    "mmd": ({}, {}),
    "coral": ({"align.loss": "coral"}, {"align": "coral"}),
    "dann": ({"align.loss": "dann"}, {"align": "dann"}),
    "classifier": ({"finetune.strategy": "classifier"}, {"strategy": "classifier"}),
    "l2sp": ({"finetune.strategy": "l2sp"}, {"strategy": "l2sp"}),
    "mmd-variants": ({"mmd.gammas": "[0.5,1,2]", "mmd.bandwidth": "median", "mmd.estimator": "unbiased",
                      "align.target_batch": "64"},
                     {"gammas": [0.5, 1.0, 2.0], "bandwidth": "median", "estimator": "unbiased",
                      "target_batch": 64}),
}


def torch_job(args):
    import torch
    torch.set_num_threads(1)
    shift, lam, nt, seed, epochs, ft, setting = args
    return torch_reference.run(shift, lam, nt, seed, epochs=epochs, finetune_epochs=ft, **SETTINGS[setting][1])


def run_tlsweep(binary, shifts, lambdas, nt, seeds, epochs, ft, jobs, out, keys):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    lst = lambda v: "[" + ",".join(str(x) for x in v) + "]"
    cmd = ["mpirun", "-q", "-n", str(jobs), "--oversubscribe", binary, "run", "-o", out, "--force",
           "--set", f"grid.shift={lst(shifts)}", "--set", f"grid.lambda={lst(lambdas)}",
           "--set", f"grid.n_target=[{nt}]", "--set", f"grid.seed={lst(seeds)}",
           "--set", f"train.epochs={epochs}", "--set", f"train.finetune_epochs={ft}",
           "--set", "output.embeddings=false"]
    for k, v in keys.items():
        cmd += ["--set", f"{k}={v}"]
    subprocess.run(cmd, check=True, env=env, stderr=subprocess.DEVNULL)
    return xr.open_dataset(out, engine="h5netcdf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("TLSWEEP_BIN", os.path.join(HERE, "..", "..", "build", "tlsweep")))
    ap.add_argument("--shifts", default="0,45,90,135")
    ap.add_argument("--lambdas", default="0,0.5")
    ap.add_argument("--n-target", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed ... first-seed + seeds - 1")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--finetune-epochs", type=int, default=50)
    ap.add_argument("--tol", type=float, default=0.03)
    ap.add_argument("--tol-se", type=float, default=0.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--out", help="also write the table as Markdown to this file")
    ap.add_argument("--reference-cache", help="JSON file of reference results to reuse and extend")
    ap.add_argument("--settings", default="mmd",
                    help="comma-separated remedies to check, or all: " + ", ".join(SETTINGS))
    a = ap.parse_args()
    settings = list(SETTINGS) if a.settings == "all" else a.settings.split(",")
    for st in settings:
        if st not in SETTINGS:
            ap.error(f"unknown setting {st}; allowed: {', '.join(SETTINGS)} or all")
    shifts = [float(s) for s in a.shifts.split(",")]
    lambdas = [float(s) for s in a.lambdas.split(",")]
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))

    t0 = time.time()
    ds = {}
    with tempfile.TemporaryDirectory() as d:
        for st in settings:
            ds[st] = run_tlsweep(a.bin, shifts, lambdas, a.n_target, seeds, a.epochs, a.finetune_epochs,
                                 a.jobs, os.path.join(d, f"parity-{st}.h5"), SETTINGS[st][0]).load()
    t_c = time.time() - t0
    t0 = time.time()
    jobs = [(s, l, a.n_target, seed, a.epochs, a.finetune_epochs, st)
            for st in settings for s in shifts for l in lambdas for seed in seeds]
    cache = {}
    if a.reference_cache and os.path.exists(a.reference_cache):
        with open(a.reference_cache) as f:
            cache = json.load(f)
    # the article's setting keeps its old cache keys (no setting name)
    key = lambda job: json.dumps(list(job[:6]) if job[6] == "mmd" else list(job))
    todo = [j for j in jobs if key(j) not in cache]
    if todo:
        with Pool(a.jobs) as pool:
            for j, r in zip(todo, pool.map(torch_job, todo, chunksize=1)):
                cache[key(j)] = r
        if a.reference_cache:
            with open(a.reference_cache, "w") as f:
                json.dump(cache, f)
    ref = {j: cache[key(j)] for j in jobs}
    t_ref = time.time() - t0

    rows, bad = [], 0
    for st in settings:
        for s in shifts:
            for l in lambdas:
                for m in METHODS:
                    c = ds[st][f"acc_{m}"].sel({"shift": s, "lambda": l, "n_target": a.n_target}).values
                    r = np.array([ref[j][f"acc_{m}"] for j in jobs if j[6] == st and j[0] == s and j[1] == l])
                    diff = c.mean() - r.mean()
                    se = np.sqrt(c.var(ddof=1) / len(c) + r.var(ddof=1) / len(r))
                    tol = max(a.tol, a.tol_se * se)
                    ok = abs(diff) <= tol
                    bad += not ok
                    rows.append((st, s, l, m, c.mean(), r.mean(), diff, se, tol, ok))
    head = (f"tlsweep vs PyTorch reference: settings {', '.join(settings)}; n_target={a.n_target}, "
            f"{len(seeds)} seeds per cell ({seeds[0]}-{seeds[-1]}), "
            f"epochs={a.epochs}, finetune_epochs={a.finetune_epochs}; wall time tlsweep {t_c:.1f} s, "
            f"reference {t_ref:.1f} s on {a.jobs} processes"
            + (f" ({len(jobs) - len(todo)} of {len(jobs)} reference runs from the cache)" if len(todo) < len(jobs) else ""))
    lines = [head, "", "| setting | shift | lambda | method | tlsweep mean | reference mean | difference | std. error | bound | ok |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for st, s, l, m, cm, rm, diff, se, tol, ok in rows:
        lines.append(f"| {st} | {s:g} | {l:g} | {m} | {cm:.4f} | {rm:.4f} | {diff:+.4f} | {se:.4f} | {tol:.4f} | {'yes' if ok else 'NO'} |")
    lines.append("")
    lines.append(f"{len(rows) - bad} passed, {bad} failed")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write("# Pipeline parity\n\nProduced by `/usr/bin/python3 tests/reference/compare.py "
                    + " ".join(sys.argv[1:]) + "`.\n\n" + text + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
