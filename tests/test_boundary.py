"""The boundary mode (decide.mode: boundary): a map over the ordered axes that runs a coarse
lattice of cells and refines the boxes whose corners disagree or are undecided. Which cells
run, which are inferred, every decision and every stored value are the same bits at any rank
count and after kills and resumes, with or without decide.max_trainings; the cells run and
inferred are those of the map written again from its description
(tests/reference/boundary_reference.py), given the decisions the file measured."""
import os
import re
import sys

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import FAST, baseline_run, mpirun, result_digest, run
from test_sequential import kill_once_recorded

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
import boundary_reference as ref  # noqa: E402

MAP = ["--set", "decide.mode=boundary", "--set", "grid.shift=range(0,181,15)", "--set", "grid.lambda=[0.5]",
       "--set", "grid.n_target=[6,9,12,20]", "--set", "decide.max_seeds=12", "--set", "decide.round=4",
       "--set", "decide.compare=[mmd:target_mlp, mmd:scratch]",
       ] + FAST
SHAPE = (13, 4)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return baseline_run(tmp_path_factory, MAP, "map.h5")


def measured(path):
    """{(shift index, n_target index): decisions} of the cells that stopped, and their seeds."""
    ds = xr.open_dataset(path)
    dec = ds.decision.isel(**{"lambda": 0}).values
    stop = ds.stop_reason.isel(**{"lambda": 0}).values[..., 0]
    seeds = (ds.status.isel(**{"lambda": 0}) == 1).sum("seed").values
    out = {}
    for i in range(SHAPE[0]):
        for j in range(SHAPE[1]):
            if stop[i, j] in (1, 2, 5):
                out[(i, j)] = tuple(int(x) for x in dec[i, j])
    return ds, out, seeds


def test_the_map_is_the_reference_map(baseline):
    """Cells run = the reference's needed cells; inferred cells and decisions = the reference's,
    given the decisions the file measured; nothing inferred is marked measured."""
    path, _, _ = baseline
    ds, dec, seeds = measured(path)
    level, ran, cut, inferred, boxes = ref.boundary_map(SHAPE, dec.get)
    stop = ds.stop_reason.isel(**{"lambda": 0}).values[..., 0]
    src = ds.decision_source.isel(**{"lambda": 0}).values
    d = ds.decision.isel(**{"lambda": 0}).values
    ran_c = {(i, j) for i in range(SHAPE[0]) for j in range(SHAPE[1]) if stop[i, j] != 3}
    assert ran_c == set(ran) and not cut
    assert 0 < len(ran_c) < SHAPE[0] * SHAPE[1], "the map ran every cell or none"
    for i in range(SHAPE[0]):
        for j in range(SHAPE[1]):
            if (i, j) in ran_c:
                assert (src[i, j] == 1).all() and seeds[i, j] > 0
            elif (i, j) in inferred:
                assert (src[i, j] == 2).all() and tuple(d[i, j]) == inferred[(i, j)]
                assert seeds[i, j] == 0
            else:
                assert (src[i, j] == 0).all() and (d[i, j] == -1).all()
    assert inferred, "nothing inferred: the test map is too small to test inference"
    with h5py.File(path, "r") as f:
        assert f.attrs["decide_mode"] in (b"boundary", "boundary")
        assert "no change of decision inside" in str(f.attrs["decide_inference"])
        assert int(f.attrs["complete"]) == 1


@pytest.mark.parametrize("ranks", [1, 3])
def test_same_bits_at_any_rank_count(baseline, tmp_path, ranks):
    out = str(tmp_path / "r.h5")
    mpirun(ranks, ["run", "-o", out] + MAP)
    assert result_digest(out) == baseline[1]


def test_kills_and_resumes_end_in_the_same_bits(baseline, tmp_path):
    import test_sequential
    out = str(tmp_path / "r.h5")
    saved, test_sequential.SEQ = test_sequential.SEQ, MAP
    try:
        for _ in range(4):
            kill_once_recorded(out, ["--resume"] if os.path.exists(out + ".tlsweep.d") else [])
            if os.path.exists(out) and not os.path.exists(out + ".tlsweep.d"):
                break
    finally:
        test_sequential.SEQ = saved
    if os.path.exists(out + ".tlsweep.d"):
        s = run(["status", out], check=False)
        assert s.returncode == 75 and "not run" in s.stdout, s.stdout
        mpirun(2, ["run", "-o", out, "--resume"])
    assert result_digest(out) == baseline[1]


def test_a_budget_cuts_the_map_in_its_canonical_order(baseline, tmp_path):
    """decide.max_trainings: cells start in (level, cell) order while every started cell's
    trainings (at most max_seeds each while it runs) and the next one's max_seeds fit; the
    same bits at 1 and 3 ranks; the cut is the reference's."""
    _, dec_full, seeds_full = measured(baseline[0])
    budget = 200
    outs = []
    for ranks in (1, 3):
        out = str(tmp_path / f"b{ranks}.h5")
        mpirun(ranks, ["run", "-o", out, "--set", f"decide.max_trainings={budget}"] + MAP)
        outs.append(out)
    assert result_digest(outs[0]) == result_digest(outs[1])
    ds, dec, seeds = measured(outs[0])
    assert int((ds.status == 1).sum()) <= budget
    level, ran, cut, inferred, _ = ref.boundary_map(SHAPE, dec.get, max_seeds=12, budget=budget,
                                                    seeds_of=lambda c: int(seeds[c]))
    stop = ds.stop_reason.isel(**{"lambda": 0}).values[..., 0]
    assert {c for c in np.ndindex(*SHAPE) if stop[c] == 4} == set(cut) and cut
    assert {c for c in np.ndindex(*SHAPE) if stop[c] in (1, 2, 5)} == set(ran)
    # a cell's own seeds do not depend on the budget: the same as in the map without it
    assert all(seeds[c] == seeds_full[c] for c in ran)
    s = run(["status", outs[0]])
    assert f"{len(cut)} left out by decide.max_trainings" in s.stdout, s.stdout


def test_status_counts_measured_inferred_and_unknown(baseline):
    path = baseline[0]
    s = run(["status", path])
    ds = xr.open_dataset(path)
    for k, name in enumerate(["mmd:target_mlp", "mmd:scratch"]):
        d = ds.decision.isel(comparison=k).values
        src = ds.decision_source.isel(comparison=k).values
        m = [int(((d == v) & (src == 1)).sum()) for v in (1, 2, 3, 0)]
        i = [int(((d == v) & (src == 2)).sum()) for v in (1, 2, 3, 0)]
        line = (f"{name}: {m[0]} helps, {m[1]} hurts, {m[2]} equivalent, {m[3]} undecided; inferred: "
                f"{i[0]} helps, {i[1]} hurts, {i[2]} equivalent, {i[3]} undecided; {int((src == 0).sum())} unknown")
        assert line in s.stdout, (line, s.stdout)
        assert sum(m) + sum(i) + int((src == 0).sum()) == d.size  # every cell counted once
    assert "decided by the betting confidence sequence at alpha 0.05 per cell and comparison" in s.stdout


def test_what_the_run_and_the_dry_run_say(tmp_path):
    """The run says how many of the grid's cells the map asks for (it said "21 cells" and ended at "24/24 cells"
    of a 39-cell grid); --dry-run names the mode, lists the per-cell variables and calls its size and time the
    worst case."""
    p = mpirun(2, ["run", "-o", str(tmp_path / "m.h5")] + MAP, extra_env={"TLSWEEP_PROGRESS": "lines"})
    first = next(line for line in p.stderr.splitlines() if "decisions cell by cell" in line)
    m = re.search(r"the map asks for (\d+) of the grid's 52 cells first", first)
    assert m and 0 < int(m.group(1)) < 52, first
    assert re.search(r"cells \(asked for by the map, of 52\) decided or spent", p.stderr), p.stderr
    d = run(["run", "-o", str(tmp_path / "d.h5"), "--dry-run"] + MAP).stdout
    assert "decide.mode boundary: seeds in rounds of 4, cell by cell, until decided or 12 are spent" in d, d
    assert "per cell and comparison: the dims without seed, then comparison=2" in d
    for v in ("decision", "decision_source", "cs_low", "cs_high", "seeds_used", "stop_reason"):
        assert re.search(rf"^  {v} +\(\.\.\., comparison=2\)$", d, re.M), v
    assert "size: at most about" in d and "at most about" in d.splitlines()[-1]


def test_parts_are_refused(tmp_path):
    out = str(tmp_path / "p.h5")
    p = run(["run", "-o", out, "--part", "1/2"] + MAP, check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "--part" in lines[0] and "boundary" in lines[0], p.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".tlsweep.d")
