"""jobs/sweep.sbatch against a real Slurm: a single-node cluster (munged,
slurmctld, slurmd from Debian's slurm-wlm and munge) started in a temporary
directory by tests/slurm/cluster.sh and stopped by process id afterwards.

1. a tiny sweep completes, identical to the same sweep under mpirun;
2. Slurm's own warning signal (scancel --signal=USR1 --batch) interrupts a
   sweep, the job requeues itself and the final file is identical to an
   uninterrupted run;
3. a bad config fails once, with the clear error in the job log, and does
   not requeue.
"""
import os
import re
import shutil
import subprocess
import time

import h5py
import pytest

from tlstest import BIN, ROOT, mpirun, result_digest

CLUSTER = os.path.join(ROOT, "tests", "slurm", "cluster.sh")
SBATCH = os.path.join(ROOT, "jobs", "sweep.sbatch")
QUICK = "--set grid.shift=[0,90] --set grid.seed=[0,1] --set train.epochs=5"
LONG = "--set grid.shift=[0,90] --set grid.seed=[0,1,2,3] --set train.epochs=100"


def diagnose(env, job, log):
    """Everything worth seeing when a job did not end as expected."""
    show = subprocess.run(["scontrol", "show", "job", str(job)], capture_output=True, text=True, env=env).stdout
    conf = env["SLURM_CONF"]
    logs = ""
    for name in ("slurmctld.log", "slurmd.log"):
        path = os.path.join(os.path.dirname(conf), "log", name)
        if os.path.exists(path):
            logs += f"--- {name} (tail)\n" + "".join(open(path).readlines()[-15:])
    text = log.read_text() if log.exists() else "(no job log)"
    return f"job log:\n{text}\nscontrol show job:\n{show}\n{logs}"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the Slurm test starts slurmd, which needs root; run the suite as root to include it")
    if not shutil.which("slurmctld") or not shutil.which("munged"):
        pytest.skip("slurm-wlm and munge are not installed (scripts/setup.sh test installs them)")
    d = str(tmp_path_factory.mktemp("slurm"))
    p = subprocess.run([CLUSTER, "start", d], capture_output=True, text=True)
    env = dict(os.environ, SLURM_CONF=os.path.join(d, "slurm.conf"))
    try:
        assert p.returncode == 0, p.stderr
        yield env
    finally:
        subprocess.run([CLUSTER, "stop", d])
        for pidfile in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            path = os.path.join(d, pidfile)
            if os.path.exists(path):
                pid = int(open(path).read())
                assert not os.path.exists(f"/proc/{pid}"), f"{pidfile} still running"


def job_field(env, job, field):
    out = subprocess.run(["scontrol", "show", "job", str(job)], capture_output=True, text=True, env=env).stdout
    m = re.search(rf"\b{field}=(\S+)", out)
    return m.group(1) if m else None


def submit(env, workdir, **variables):
    e = dict(env, TLSWEEP_BIN=BIN, **variables)
    p = subprocess.run(["sbatch", "--parsable", SBATCH], capture_output=True, text=True, env=e, cwd=workdir)
    assert p.returncode == 0, p.stderr
    return int(p.stdout.strip().split(";")[0])


END = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")


def wait(env, job, timeout=300, on_running=None):
    """Waits for the job to end: an end state that lasts 3 s. Slurm holds a
    requeued job until the old run's credential expires (Reason=BeginTime):
    cluster.sh sets cred_expire=10, so it starts again after ~11 s by itself.
    (Releasing it earlier makes Slurm kill it: "Job credential revoked".)"""
    t = time.time()
    ended_at, last = None, None
    while time.time() - t < timeout:
        state = job_field(env, job, "JobState")
        if state == "RUNNING" and on_running and on_running():
            on_running = None
        if state in END:
            if state != last or ended_at is None:
                ended_at = time.time()
            elif time.time() - ended_at >= 3:
                return state
        else:
            ended_at = None
        last = state
        time.sleep(0.5)
    raise AssertionError(f"job {job} did not end in {timeout} s")


def interrupt_held(slurm, target, state, hold, log_text):
    """A step, called until it returns True, that sends Slurm's warning signal to `target` once
    its sweep has opened its journals (TLSWEEP_HOLD naming `hold`, which exists, keeps it from
    starting any configuration), then removes `hold` once the sweep's log says it got the
    signal: the sweep is interrupted with everything still to do, however fast the machine.
    (After 20 s without that line the hold goes anyway, before the sweep's 25 s drain bound.)"""
    signalled = []

    def step():
        if not signalled and state.is_dir() and len(list(state.glob("journal-*"))) >= 2:
            subprocess.run(["scancel", "--signal=USR1", "--batch", target], env=slurm, check=True)
            signalled.append(time.time())
        if signalled and hold.exists() and ("no new configurations" in log_text()
                                            or time.time() - signalled[0] > 20):
            hold.unlink()
        return bool(signalled) and not hold.exists()
    return step


def baseline(tmp_path, args):
    out = str(tmp_path / "baseline.h5")
    mpirun(2, ["run", "-o", out] + args.split())
    return result_digest(out)


def test_sweep_completes(slurm, tmp_path):
    job = submit(slurm, tmp_path, TLSWEEP_OUTPUT="t.h5", TLSWEEP_ARGS=QUICK, TLSWEEP_LAUNCHER="mpirun")
    assert wait(slurm, job) == "COMPLETED"
    assert job_field(slurm, job, "Restarts") == "0"
    log = (tmp_path / f"tlsweep-{job}.out").read_text()
    assert "24 done, 0 failed, 0 pending" in log, log
    # inside a job the sweep reads the time the job has left (#SBATCH --time=01:00:00)
    assert re.search(rf"Slurm job {job} has (59:[0-5]\d|1:00:00) left", log), log
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert f.attrs["complete"] == 1 and f.attrs["nranks"] == 2
    assert result_digest(str(tmp_path / "t.h5")) == baseline(tmp_path, QUICK)


def test_slurm_warning_signal_requeues_and_resumes(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    job = submit(slurm, tmp_path, TLSWEEP_OUTPUT="t.h5", TLSWEEP_ARGS=LONG, TLSWEEP_HOLD=str(hold))
    log = tmp_path / f"tlsweep-{job}.out"
    computing = interrupt_held(slurm, str(job), tmp_path / "t.h5.tlsweep.d", hold,
                               lambda: log.read_text() if log.exists() else "")
    state = wait(slurm, job, on_running=computing)
    assert state == "COMPLETED", diagnose(slurm, job, log)
    text = log.read_text()
    assert int(job_field(slurm, job, "Restarts")) >= 1, text
    assert "exited with status 75" in text and "requeueing" in text, text
    assert "resuming t.h5" in text, text
    assert result_digest(str(tmp_path / "t.h5")) == baseline(tmp_path, LONG)


def test_bad_config_fails_once_without_requeue(slurm, tmp_path):
    bad = os.path.join(ROOT, "tests", "bad_input", "lr_zero.yaml")
    job = submit(slurm, tmp_path, TLSWEEP_OUTPUT="t.h5", TLSWEEP_CONFIG=bad)
    assert wait(slurm, job) == "FAILED"
    assert job_field(slurm, job, "Restarts") == "0"
    text = (tmp_path / f"tlsweep-{job}.out").read_text()
    assert f"{bad}:3: train.lr: 0 is out of range; allowed: a number in (0, 1000]" in text, text
    assert "exited with status 2" in text and "requeueing" not in text
    assert not (tmp_path / "t.h5").exists()


def test_job_array_with_an_interrupted_part_merges_to_the_one_job_result(slurm, tmp_path):
    """jobs/submit-array.sh: three parts as a job array, part 2 interrupted
    by Slurm's warning signal and requeued, then the merge job (afterok):
    the merged file equals a one-job run of the same configuration."""
    submit_array = os.path.join(ROOT, "jobs", "submit-array.sh")
    # while hold-2 exists part 2 starts no configuration (the other parts have no such file):
    # it is signalled with everything still to do, whatever the machine's speed
    hold = tmp_path / "hold-2"
    hold.touch()
    e = dict(slurm, TLSWEEP_BIN=BIN, TLSWEEP_LAUNCHER="mpirun", TLSWEEP_HOLD=str(tmp_path / "hold-%a"))
    p = subprocess.run([submit_array, "3", "parts", "merged.h5", "--"] + LONG.split(), capture_output=True,
                       text=True, env=e, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    ids = re.findall(r"\d+", p.stdout)
    array, merge = int(ids[0]), int(ids[-1])

    def part_2_logs():
        return "".join(x.read_text() for x in tmp_path.glob("tlsweep-*.out") if "--part' '2/3'" in x.read_text())

    interrupt_part_2 = interrupt_held(slurm, f"{array}_2", tmp_path / "parts" / "part-2.h5.tlsweep.d", hold,
                                      part_2_logs)
    t = time.time()
    while time.time() - t < 400 and job_field(slurm, merge, "JobState") not in END:
        interrupt_part_2()
        time.sleep(0.2)
    state = wait(slurm, merge, timeout=60)
    logs = "\n".join(x.read_text() for x in tmp_path.glob("tlsweep-*.out"))
    assert state == "COMPLETED", logs + diagnose(slurm, merge, tmp_path / f"tlsweep-merge-{merge}.out")
    assert not hold.exists(), "part 2 never started"
    assert "exited with status 75" in logs and "requeueing" in logs, logs
    assert "merged 3 parts" in logs, logs
    assert result_digest(str(tmp_path / "merged.h5")) == baseline(tmp_path, LONG)
    with h5py.File(tmp_path / "merged.h5", "r") as f:
        jobs = [x.decode() if isinstance(x, bytes) else x for x in f.attrs["run_slurm_job"]]
    assert any(f"{array}_2" in j and "restart" in j for j in jobs), jobs  # each link of part 2's chain
