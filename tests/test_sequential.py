"""The sequential mode (decide.mode: sequential): each cell runs its seeds in rounds until its
comparisons are decided. Which configurations run, every decision and every stored value are
the same bits at any rank count, as parts merged, and after kills and resumes; the file says
which configurations were not needed and what each cell decided."""
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import BIN, FAST, baseline_run, env, journal_records, mpirun, result_digest, run

SEQ = ["--set", "decide.mode=sequential", "--set", "grid.shift=[0,60,120,180]", "--set", "grid.lambda=[0.5]",
       "--set", "grid.n_target=[6,20]", "--set", "decide.max_seeds=20", "--set", "decide.round=4",
       ] + FAST


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return baseline_run(tmp_path_factory, SEQ, "seq.h5")


def test_runs_fewer_configurations_and_records_why(baseline):
    path, _, stderr = baseline
    with h5py.File(path, "r") as f:
        status = f["status"][()]
        n_done, unneeded = int(f.attrs["n_done"]), int(f.attrs["n_not_needed"])
        assert f.attrs["decide_mode"] in (b"sequential", "sequential") and int(f.attrs["complete"]) == 1
        assert [x.decode() if isinstance(x, bytes) else x for x in f["comparison"][()]] == \
            ["mmd:target_mlp", "mmd:scratch"]
    assert status.size == 4 * 2 * 20 and unneeded > 0 and n_done + unneeded == status.size
    assert set(np.unique(status)) <= {1, 3}
    assert f"{unneeded} not needed" in stderr
    ds = xr.open_dataset(path)
    assert ds.decision.dims == ("shift", "lambda", "n_target", "comparison")
    assert ds.seeds_used.dims == ds.decision.dims and ds.stop_reason.dims == ds.decision.dims
    assert set(np.unique(ds.stop_reason.values)) <= {1, 2, 5}  # decided, budget spent or given up: none open
    # a cell took exactly the seeds before its last round's end; the rest were not needed
    used = (ds.status == 1).sum("seed")
    assert (used == ds.seeds_used.max("comparison")).all()
    done = ds.status.values == 1
    assert np.isfinite(ds.acc_mmd.values[done]).all() and np.isnan(ds.acc_mmd.values[~done]).all()
    for c, stop in zip(range(2), (4, 4)):
        assert ((ds.seeds_used.isel(comparison=c) % 4 == 0) | (ds.seeds_used.isel(comparison=c) == 20)).all()


@pytest.mark.parametrize("ranks", [1, 3])
def test_same_bits_at_any_rank_count(baseline, tmp_path, ranks):
    out = str(tmp_path / "r.h5")
    mpirun(ranks, ["run", "-o", out] + SEQ)
    assert result_digest(out) == baseline[1]


@pytest.mark.parametrize("n", [2, 3])
def test_parts_decide_their_cells_and_merge_to_the_same_bits(baseline, tmp_path, n):
    parts = []
    for k in range(1, n + 1):
        out = str(tmp_path / f"part-{k}.h5")
        mpirun(2, ["run", "-o", out, "--part", f"{k}/{n}"] + SEQ)
        with h5py.File(out, "r") as f:
            assert f["cell"][()].tolist() == [c for c in range(8) if c % n == k - 1]
        parts.append(out)
    merged = str(tmp_path / "merged.h5")
    run(["merge"] + parts + ["-o", merged])
    assert result_digest(merged) == baseline[1]


def kill_once_recorded(out, extra=()):
    """Starts the sweep and SIGKILLs its process group once a journal holds a record."""
    state = out + ".tlsweep.d"
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + SEQ + list(extra)
    p = subprocess.Popen(cmd, env=env(OMPI_MCA_mpi_yield_when_idle="1"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    t = time.time()
    while time.time() - t < 120 and p.poll() is None:
        names = os.listdir(state) if os.path.isdir(state) else []
        if any(n.startswith("journal-0") and journal_records(os.path.join(state, n)) for n in names):
            break
        time.sleep(0.002)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def test_kills_and_resumes_end_in_the_same_bits(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    kills = 0
    for _ in range(4):
        kill_once_recorded(out, ["--resume"] if os.path.exists(out + ".tlsweep.d") else [])
        kills += 1
        if os.path.exists(out) and not os.path.exists(out + ".tlsweep.d"):
            break
    s = run(["status", out], check=False)
    if os.path.exists(out + ".tlsweep.d"):
        assert s.returncode == 75 and "cells: 8:" in s.stdout and "open" in s.stdout, s.stdout
        assert re.search(r"\d+ configurations: \d+ done, 0 failed, \d+ pending", s.stdout), s.stdout
        p = mpirun(2, ["run", "-o", out, "--resume"])
        assert "resuming" in p.stderr
    assert kills >= 1 and result_digest(out) == baseline[1]


def test_status_counts_cells_and_not_needed(baseline):
    path = baseline[0]
    s = run(["status", path])
    with h5py.File(path, "r") as f:
        unneeded = int(f.attrs["n_not_needed"])
    assert f"{unneeded} not needed" in s.stdout and "cells: 8: " in s.stdout, s.stdout
    ds = xr.open_dataset(path)
    for k, name in enumerate(["mmd:target_mlp", "mmd:scratch"]):
        d = ds.decision.isel(comparison=k).values
        counts = [int((d == v).sum()) for v in (1, 2, 3, 0)]
        assert f"{name}: {counts[0]} helps, {counts[1]} hurts, {counts[2]} equivalent, {counts[3]} undecided" \
            in s.stdout, s.stdout
    # the cells by why they stopped, in words that say what they are (a cell that only gave up was counted as
    # "decided or given up")
    stop = ds.stop_reason.values[..., 0]
    by = {v: int((stop == v).sum()) for v in range(6)}
    assert (f"cells: 8: {by[1]} decided, {by[5]} stopped with a comparison given up (no decision reachable within "
            f"max_seeds), {by[2]} with the seed budget spent, {by[0]} open") in s.stdout, s.stdout
    assert "decided by the betting confidence sequence at alpha 0.05 per cell and comparison" in s.stdout


def test_format_md_lists_the_cell_variables(baseline):
    from test_format_doc import CELLS, documented
    ds = xr.open_dataset(baseline[0])
    cell_vars = {n for n in ds.data_vars if "comparison" in ds[n].dims} | {"comparison"}
    assert documented(CELLS) == cell_vars | {"cell"}, (documented(CELLS), cell_vars)


def cell_streams(ds, k):
    """Per cell (shift, lambda, n_target), comparison k's differences over the seeds run."""
    a, b = str(ds.comparison.values[k]).split(":")
    d = (ds[f"acc_{a}"] - ds[f"acc_{b}"]).transpose("shift", "lambda", "n_target", "seed").values
    return d.reshape(-1, d.shape[-1])


@pytest.mark.parametrize("cs", ["betting", "asymptotic"])
def test_decisions_are_the_references_for_each_construction(baseline, tmp_path, cs):
    """decide.cs picks the confidence sequence: each cell's decisions equal the NumPy reference's
    (tests/reference/decide_reference.py, written from the papers) on the same differences, with
    the rule decide.h names for it; the file says which rule decided."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
    import decide_reference as R
    rule = R.Rule(sign=cs, equiv=cs, c=0.9, var_floor=1e-4, asym_running=False, futility=20)
    path = baseline[0]
    if cs != "betting":
        path = str(tmp_path / "asym.h5")
        mpirun(2, ["run", "-o", path, "--set", f"decide.cs={cs}"] + SEQ)
    ds = xr.open_dataset(path)
    with h5py.File(path, "r") as f:
        assert str(f.attrs["decide_rule"]).startswith(cs)
    for k in range(ds.sizes["comparison"]):
        d = cell_streams(ds, k)
        got = ds.decision.isel(comparison=k).values.ravel()
        used = ds.seeds_used.isel(comparison=k).values.ravel()
        for i in range(d.shape[0]):
            x = d[i, :int(used[i])]  # the seeds this comparison took
            ref = R.sequential(x, alpha=0.05, delta=0.01, round_=4, max_seeds=20, rule=rule)
            assert got[i] == int(ref["decision"][0]), (cs, k, i, x)


def test_ebh_across_cells_keeps_the_signs_ebh_rejects(baseline, tmp_path):
    """decide.multiplicity ebh: the same configurations run; a helps or hurts counts only where
    e-BH over every cell and comparison's e-value (the reference's e-BH) rejects, the others are
    undecided; the file and status say how many were kept."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
    import decide_reference as R
    out = str(tmp_path / "ebh.h5")
    mpirun(2, ["run", "-o", out, "--set", "decide.multiplicity=ebh"] + SEQ)
    base, e = xr.open_dataset(baseline[0]), xr.open_dataset(out)
    assert (base.status.values == e.status.values).all()
    rej = R.ebh(base.evalue.values.ravel(), 0.05)
    want = base.decision.values.ravel().copy()
    sign = (want == 1) | (want == 2)
    want[sign & ~rej] = 0
    assert (e.decision.values.ravel() == want).all()
    kept = int((sign & rej).sum())
    with h5py.File(out, "r") as f:
        assert f"{kept} of {int(sign.sum())} helps / hurts decisions kept" in str(f.attrs["decide_multiplicity"])
    s = run(["status", out])
    assert f"e-BH across cells at alpha 0.05: {kept} of {int(sign.sum())} helps / hurts kept" in s.stdout, s.stdout
