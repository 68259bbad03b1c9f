"""Reliability: a sweep killed with SIGKILL at any moment, or stopped by a
signal, resumes without losing or repeating work, and ends bitwise
identical to an uninterrupted run; failures are contained; a resume with a
different configuration or on a foreign file is refused with nothing
touched."""
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from tlstest import BIN, env, journal_bytes, mpirun, result_digest, run, tree_snapshot

GRID = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9]", "--set", "train.epochs=60", "--set", "train.finetune_epochs=5",
        "--set", "output.sync_seconds=0.05"]
N = 40
# the kill test's sweep: twice as many, so that its kills land before the last configurations on a
# fast machine
GRID80 = [x.replace("seed=[0,1,2,3,4,5,6,7,8,9]", "seed=range(0, 20)") for x in GRID]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("base") / "base.h5")
    mpirun(2, ["run", "-o", path] + GRID)
    return result_digest(path)


@pytest.fixture(scope="module")
def baseline80(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("base80") / "base.h5")
    mpirun(2, ["run", "-o", path] + GRID80)
    return result_digest(path)


def start(out, extra=(), grid=GRID, env_extra=None):
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + grid + list(extra)
    return subprocess.Popen(cmd, env=env(**(env_extra or {})), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def already_recorded(stderr):
    m = re.search(r"resuming .*: (\d+) of (\d+) configurations already recorded, (\d+) to compute", stderr)
    return (int(m.group(1)), int(m.group(3))) if m else None


def wait_for(cond, p, timeout=120):
    t = time.time()
    while not cond():
        if p.poll() is not None or time.time() - t > timeout:
            return False
        time.sleep(0.005)
    return True


def test_sigkill_at_many_moments_then_resume(baseline80, tmp_path):
    """SIGKILL the whole process group at moments keyed to progress: after
    new records of this run reach the journal (plus a delay), and once as
    soon as the HDF5 file is being written."""
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    recorded, kills = [], 0
    moments = [0.0, 0.3, 0.1, 0.6, 0.2, "write"]  # after a kill mid-write nothing is left to compute
    for moment in moments + [None]:
        resuming = os.path.exists(state) or os.path.exists(out)
        p = start(out, ["--resume"] if resuming else [], GRID80)
        if moment is None:
            so, se = p.communicate(timeout=300)
            assert p.returncode == 0, se
            recorded.append(already_recorded(se))
            break
        if moment == "write":
            hit = wait_for(lambda: os.path.exists(os.path.join(state, "partial.h5")), p)
        else:
            before = journal_bytes(state)
            hit = wait_for(lambda: journal_bytes(state) > before, p)
            time.sleep(moment)
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the whole process group, wherever it is
        except ProcessLookupError:
            pass  # it finished first
        so, se = p.communicate(timeout=60)
        kills += hit and p.returncode != 0
        if resuming:
            recorded.append(already_recorded(se))
    assert kills >= 5, f"only {kills} kills landed mid-run"
    assert result_digest(out) == baseline80
    assert not os.path.exists(state)  # a complete sweep leaves no state behind
    with h5py.File(out, "r") as f:
        assert (f["status"][()] == 1).all() and f.attrs["complete"] == 1
        assert f.attrs["runs"] >= 5
    # every resume computed exactly what was not recorded, and progress was never lost
    done = [r[0] for r in recorded if r]
    assert len(done) >= 5 and done == sorted(done), recorded
    for r in recorded:
        if r:
            assert r[0] + r[1] == 2 * N


def test_signal_drains_then_resume_is_identical(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    p = start(out)
    time.sleep(1.0)
    os.killpg(p.pid, signal.SIGUSR1)  # what Slurm sends before the time limit
    so, se = p.communicate(timeout=120)
    assert p.returncode == 75, se
    assert "signal received" in se
    # the interrupted file is readable, with pending configurations marked
    with h5py.File(out, "r") as f:
        st = f["status"][()]
        assert f.attrs["complete"] == 0 and (st == 0).any() and (st == 1).any()
        assert np.isnan(f["acc_mmd"][()][st == 0]).all()
    s = run(["status", out], check=False)
    assert s.returncode == 75 and "resumable" in s.stdout
    # damage the state as a kill mid-write would: a torn journal record and a torn partial file
    state = out + ".tlsweep.d"
    journal = sorted(x for x in os.listdir(state) if x.startswith("journal-"))[0]
    with open(os.path.join(state, journal), "ab") as f:
        f.write(b"TLSR" + os.urandom(100))
    with open(os.path.join(state, "partial.h5"), "wb") as f:
        f.write(os.urandom(4096))
    p = start(out, ["--resume"])
    so, se = p.communicate(timeout=300)
    assert p.returncode == 0, se
    assert result_digest(out) == baseline
    assert run(["status", out]).stdout.strip().endswith("complete")


def test_time_limit_stops_early_and_resumes(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    p = start(out, ["--time-limit", "6"])
    so, se = p.communicate(timeout=120)
    assert p.returncode == 75 and "time limit" in se, se
    p = start(out, ["--resume"])
    so, se = p.communicate(timeout=300)
    assert p.returncode == 0, se
    assert result_digest(out) == baseline


def test_failures_are_contained_and_retried(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    e = env()
    e["TLSWEEP_FAULT"] = "3,17"
    p = subprocess.run(["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "TLSWEEP_FAULT", BIN, "run",
                        "-o", out] + GRID, env=e, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "38 done, 2 failed, 0 pending" in p.stderr
    with h5py.File(out, "r") as f:
        st = f["status"][()].ravel()
        assert list(np.flatnonzero(st == 2)) == [3, 17]
        reasons = f["reason"][()].ravel()
        assert reasons[3] == b"mmd: fault injected by TLSWEEP_FAULT" and reasons[0] == b""
        assert np.isnan(f["acc_mmd"][()].ravel()[[3, 17]]).all()
        # the failed method's metrics only: the SVMs and the input-space distances stand
        for v in ("acc_scratch", "acc_direct", "mmd2_input", "pad_input"):
            assert np.isfinite(f[v][()].ravel()[[3, 17]]).all(), v
        names = [x.decode() if isinstance(x, bytes) else x for x in f["approach"][()]]
        ms = f["approach_status"][()].reshape(N, len(names))
        scratch, direct, mmd = (names.index(m) for m in ("scratch", "direct", "mmd"))
        assert (ms[[3, 17]][:, [scratch, direct, mmd]] == [1, 1, 2]).all()
        assert (np.delete(ms, [3, 17], axis=0) == 1).all()
        assert (f["negative_transfer"][()].ravel()[[3, 17]] == -1).all()
    s = run(["status", out], check=False)
    assert "2 failed" in s.stdout and s.stdout.count("  shift=") == 2
    assert s.stdout.count("mmd: fault injected by TLSWEEP_FAULT") == 2
    # a failed configuration is done: --resume alone has nothing to do ...
    p = mpirun(2, ["run", "-o", out, "--resume"] + GRID, check=False)
    assert p.returncode == 0 and "complete" in p.stderr
    # ... but --retry-failed recomputes the failed ones from the complete file
    # (its state is gone: the file's own statuses say which failed)
    p = mpirun(2, ["run", "-o", out, "--resume", "--retry-failed"] + GRID)
    assert "2 to compute" in p.stderr, p.stderr
    with h5py.File(out, "r") as f:
        assert (f["status"][()] == 1).all()
    assert result_digest(out) == baseline
    # and from an interrupted sweep's state
    out2 = str(tmp_path / "r2.h5")
    p = subprocess.Popen(["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "TLSWEEP_FAULT", BIN, "run",
                          "-o", out2, "--time-limit", "6"] + GRID, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    so, se = p.communicate(timeout=120)
    assert p.returncode == 75, se
    p = mpirun(2, ["run", "-o", out2, "--resume", "--retry-failed"] + GRID)
    with h5py.File(out2, "r") as f:
        assert (f["status"][()] == 1).all()
    assert result_digest(out2) == baseline


def test_resume_refuses_other_config_and_foreign_files(tmp_path):
    out = str(tmp_path / "r.h5")
    p = start(out, ["--time-limit", "4"])
    p.communicate(timeout=120)
    before = tree_snapshot(tmp_path)
    q = mpirun(1, ["run", "-o", out, "--resume"] + GRID + ["--set", "train.epochs=3"], check=False)
    assert q.returncode == 2 and "different configuration" in q.stderr
    assert len(q.stderr.strip().splitlines()) == 1
    assert tree_snapshot(tmp_path) == before
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    before = tree_snapshot(tmp_path)
    q = mpirun(1, ["run", "-o", str(foreign), "--resume"] + GRID, check=False)
    assert q.returncode == 2 and "not a tlsweep results file" in q.stderr
    assert tree_snapshot(tmp_path) == before


def test_a_second_run_on_the_same_state_is_refused(tmp_path):
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    hold = tmp_path / "hold"  # while it exists no configuration starts: the first run is still going
    hold.touch()
    p = start(out, env_extra={"TLSWEEP_HOLD": str(hold)})
    assert wait_for(lambda: os.path.isdir(state) and sum(x.startswith("journal-") for x in os.listdir(state)) == 2, p)
    # as an MPI singleton: a second mpirun launch can take >10 s while the first job keeps
    # both cores busy (Open MPI's core binding), and the lock is rank 0's business anyway
    q = run(["run", "-o", out, "--resume"] + GRID, check=False)
    assert p.poll() is None, "the first run ended before the second one was refused"
    assert q.returncode == 2 and "another tlsweep run is using" in q.stderr, q.stderr
    os.killpg(p.pid, signal.SIGUSR1)
    hold.unlink()
    so, se = p.communicate(timeout=120)
    assert p.returncode in (0, 75), se
