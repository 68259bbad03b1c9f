"""tlsweep across nodes: a real three-node Slurm cluster on this machine
(tests/slurm/multinode.sh: each node a network namespace with its own address,
hostname, /tmp and /dev/shm, one slurmd per node, one slurmctld), Open MPI over TCP
between the nodes, started by the job scripts users run.

1. a sweep on 3 nodes x 2 ranks (jobs/sweep.sbatch, under srun and under
   mpirun) equals the same sweep under one mpirun on one node, bit for bit,
   and its `hosts` coordinate lists the three nodes;
2. a 3-part job array (jobs/submit-array.sh) runs its parts on three
   different nodes and merges to the one-job file;
3. a node that fails mid-run (its link cut, every process on it killed):
   Slurm finds it not responding, requeues the job, and once the node is back
   the job resumes to the uninterrupted file;
4. data files in each node's own /tmp: the same on every node gives the
   one-node file; a different copy on one node is refused, one line naming
   the file and the host (expected to fail until every rank checks its data
   against the manifest: issue 24, item 3);
5. each node's /tmp and /dev/shm are its own; a sweep job whose ranks died
   inside MPI_Init (Open MPI under srun, before tlsweep runs: mpi_init_crash)
   is submitted again, at most twice, with a warning.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
import zlib

import h5py
import numpy as np
import pytest

from tlstest import BIN, ROOT, TINY, journal_bytes, mpirun, result_digest

MULTINODE = os.path.join(ROOT, "tests", "slurm", "multinode.sh")
SBATCH = os.path.join(ROOT, "jobs", "sweep.sbatch")
SUBMIT_ARRAY = os.path.join(ROOT, "jobs", "submit-array.sh")
NODES = ["node1", "node2", "node3"]
SIZE = ["--nodes=3", "--ntasks-per-node=2", "--ntasks=6"]  # 3 nodes x 2 ranks
# long enough (~10 s on 6 ranks) that a node fails while it computes
LONG = ["--set", "grid.shift=[0,90]", "--set", "grid.seed=[0,1,2,3]", "--set", "train.epochs=200"]
END = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")


class Cluster:
    def __init__(self, d, env):
        self.dir = d
        self.env = env

    def workdir(self, name):
        w = os.path.join(self.dir, "work", name)  # the cluster's shared file system
        os.makedirs(w)
        return w

    def node_tmp(self, node):
        """The directory that is /tmp on `node` (and only there)."""
        return os.path.join(self.dir, "nodes", node, "tmp")

    def script(self, *args, check=True):
        p = subprocess.run([MULTINODE, args[0], self.dir] + list(args[1:]), capture_output=True, text=True)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    def slurm(self, *args):
        return subprocess.run(list(args), capture_output=True, text=True, env=self.env).stdout

    def job_field(self, job, field):
        m = re.search(rf"\b{field}=(\S+)", self.slurm("scontrol", "show", "job", str(job)))
        return m.group(1) if m else None

    def node_states(self):
        return dict(line.split() for line in self.slurm("sinfo", "-h", "-N", "-o", "%N %t").splitlines())

    def diagnose(self, job, logs=()):
        out = [f"scontrol show job {job}:\n" + self.slurm("scontrol", "show", "job", str(job)),
               "sinfo:\n" + self.slurm("sinfo", "-N")]
        for log in logs:
            out.append(f"--- {log}\n" + (open(log).read() if os.path.exists(log) else "(none)"))
        logdir = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(logdir)):
            if name.endswith(".log") and name != "munged.log":
                out.append(f"--- {name} (tail)\n" + "".join(open(os.path.join(logdir, name)).readlines()[-12:]))
        return "\n".join(out)

    def wait(self, job, timeout=240, on_running=None):
        """The job's end state, once it has lasted 3 s (a requeued job passes
        through end states on its way back to PENDING)."""
        t = time.time()
        ended_at, last = None, None
        while time.time() - t < timeout:
            state = self.job_field(job, "JobState")
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
        text = self.diagnose(job)
        self.slurm("scancel", str(job))  # not to hold the nodes from the next tests
        raise AssertionError(f"job {job} did not end in {timeout} s\n" + text)

    def sweep(self, workdir, args, **variables):
        """Submits jobs/sweep.sbatch and waits for it: (job, end state, its log). A job whose
        ranks died inside MPI_Init (mpi_init_crash) is submitted again, at most twice, from a
        clean working directory, with a warning: that crash is Open MPI's, before tlsweep runs
        (late in the whole suite it struck about one 3-node srun start in nine: three in a row,
        about one in 700)."""
        for attempt in (1, 2, 3):
            job = self.sbatch(workdir, args, **variables)
            log = os.path.join(workdir, f"tlsweep-{job}.out")
            state = self.wait(job)
            text = open(log).read() if os.path.exists(log) else ""
            if attempt == 3 or state != "FAILED" or not mpi_init_crash(text):
                return job, state, log
            warnings.warn(f"job {job}: a rank died inside MPI_Init (Open MPI, before tlsweep ran); "
                          f"submitting it again\n" + text)
            shutil.rmtree(workdir)  # what the crashed start left: nothing to keep
            os.makedirs(workdir)

    def sbatch(self, workdir, args, **variables):
        e = dict(self.env, TLSWEEP_BIN=BIN)
        e.update(variables)
        p = subprocess.run(["sbatch", "--parsable"] + SIZE + [SBATCH] + args, capture_output=True, text=True,
                           env=e, cwd=workdir)
        assert p.returncode == 0, p.stderr
        return int(p.stdout.strip().split(";")[0])


def mpi_init_crash(text):
    """Whether a job's log shows a rank that died inside MPI_Init. Open MPI 4.1.4 started by
    srun --mpi=pmix (Slurm 22.05, PMIx 4.2.2) on this cluster does so rarely, more often late in
    the whole suite (here: 1 of 120 srun starts of a small sweep in a loop; 0 of 370 starts of a
    plain MPI program; in 3 of the 9 latest whole-suite runs, once each): the
    rank is still in MPI_Init's modex fence when another rank, past MPI_Init, sends it its first
    message, and the TCP transport calls the PML's receive callback, not yet registered (a core
    dump: a call through a null pointer in mca_btl_tcp, from opal_progress in ompi_mpi_init).
    Its mark: a segmentation fault at address (nil) whose backtrace has no frame of tlsweep's."""
    return ("Signal: Segmentation fault" in text and "Failing at address: (nil)" in text
            and not re.search(r"\] \[ *\d+\] \S*tlsweep\(", text))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the multi-node cluster needs root (network namespaces, slurmd); run the suite as root")
    for tool in ("slurmctld", "slurmd", "munged", "ip", "unshare", "nsenter", "flock"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            pytest.skip(f"{tool} is not installed (scripts/setup.sh test installs slurm-wlm, munge, iproute2)")
    # every node has a /tmp of its own: a clone or build under /tmp is bound into each at its own path
    shares = sorted({p for p in (os.path.realpath(ROOT), os.path.dirname(os.path.realpath(BIN)))
                     if p.startswith("/tmp/")})
    # not under /tmp: this is the nodes' shared file system
    d = tempfile.mkdtemp(prefix="tlsweep-multinode-", dir=os.environ.get("TLSWEEP_MULTINODE_DIR", "/var/tmp"))
    shm_before = set(os.listdir("/dev/shm"))
    p = subprocess.run([MULTINODE, "start", d], capture_output=True, text=True,
                       env=dict(os.environ, TLSWEEP_MULTINODE_SHARE=":".join(shares)))
    instance = os.path.join(d, "instance")
    k = open(instance).read().strip() if os.path.exists(instance) else None
    run = os.path.join(d, "run")
    pidfiles = [os.path.join(run, x) for x in (os.listdir(run) if os.path.isdir(run) else [])] + [
        os.path.join(d, "munge", "munged.pid")]
    daemons = {f: int(open(f).read()) for f in pidfiles if os.path.exists(f)}
    try:
        assert p.returncode == 0, p.stderr
        env = dict(os.environ, OMPI_MCA_mpi_yield_when_idle="1")  # 6 ranks share this machine's cores
        env.pop("TMPDIR", None)  # a node's /tmp is its own: a directory under the machine's is not there
        env.update(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
        yield Cluster(d, env)
    finally:
        subprocess.run([MULTINODE, "stop", d])
        # the logs, jobs' outputs and results outlive the directory in pytest's own temporary tree
        keep = tmp_path_factory.mktemp("multinode")
        for sub in ("log", "work"):
            if os.path.isdir(os.path.join(d, sub)):
                shutil.copytree(os.path.join(d, sub), keep / sub, ignore=shutil.ignore_patterns("*.tlsweep.d"))
        stopped = not os.path.exists(instance)
        shutil.rmtree(d, ignore_errors=True)
        assert stopped, "multinode.sh stop left the cluster registered"
        assert len(daemons) == 5 or p.returncode != 0, daemons  # munged, slurmctld, 3 slurmd
        for f, pid in daemons.items():
            assert not os.path.exists(f"/proc/{pid}"), f"{f}: {pid} still running"
        # a node's shared memory is its own, as on separate machines: Open MPI's segments of the
        # ranks killed with a node are not left in the machine's /dev/shm, nor seen by another node
        shm_left = sorted(x for x in set(os.listdir("/dev/shm")) - shm_before if any(n in x for n in NODES))
        assert not shm_left, f"the cluster's nodes wrote into the machine's /dev/shm: {shm_left}"
        if k is not None:
            left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert f"tlsmn{k}-" not in left, left
            assert subprocess.run(["ip", "link", "show", f"tlsmn{k}"], capture_output=True).returncode != 0


@pytest.fixture(scope="module")
def tiny_baseline(tmp_path_factory):
    """TINY under one mpirun (6 ranks) on this machine, outside the cluster."""
    out = str(tmp_path_factory.mktemp("baseline") / "tiny.h5")
    mpirun(6, ["run", "-o", out] + TINY)
    return result_digest(out)


def hosts_of(path):
    with h5py.File(path, "r") as f:
        return sorted(x.decode() if isinstance(x, bytes) else x for x in f["hosts"][()])


def test_mpi_init_crash_is_told_from_a_crash_of_tlsweep():
    """The one failure the tests submit again: a log of it from this cluster (an srun start
    of 3 nodes x 2 ranks, rank 3 on node2 dead in MPI_Init); not a crash in tlsweep's code,
    nor a sweep that failed or completed."""
    crash = open(os.path.join(ROOT, "tests", "data", "multinode", "mpi-init-crash.log")).read()
    assert mpi_init_crash(crash)
    ours = crash.replace("[node2:18312] *** End of error message ***",
                         "[node2:18312] [ 1] /opt/tlsweep/bin/tlsweep(+0x1d2e7)[0x559c23c112e7]\n"
                         "[node2:18312] *** End of error message ***")
    assert not mpi_init_crash(ours)
    assert not mpi_init_crash("tlsweep: 16 configurations: 16 done, 0 failed, 0 pending; wrote t.h5\n")
    assert not mpi_init_crash("tlsweep: rank 2 on node2: /tmp/tls-source.h5 differs\nsweep exited with status 2\n")


def test_a_sweep_that_died_in_mpi_init_is_submitted_again(cluster, tiny_baseline):
    """The resubmission itself, on the cluster: the first job's ranks die as that crash's do
    (its log lines, then SIGSEGV, before tlsweep starts); the second job computes the sweep."""
    bindir = cluster.workdir("mpi-init-crash-bin")  # outside the sweep's directory, which is cleaned
    first = os.path.join(bindir, "first")
    log_lines = os.path.join(ROOT, "tests", "data", "multinode", "mpi-init-crash.log")
    wrapper = os.path.join(bindir, "tlsweep")
    with open(wrapper, "w") as f:
        f.write(f"""#!/bin/sh
if [ "$1" = run ]; then
  mkdir {first} 2>/dev/null && echo "$SLURM_JOB_ID" > {first}/job.tmp && mv {first}/job.tmp {first}/job
  while [ ! -s {first}/job ]; do sleep 0.1; done
  if [ "$(cat {first}/job)" = "$SLURM_JOB_ID" ]; then
    [ "$SLURM_PROCID" = 3 ] && sed -n 2,7p {log_lines} >&2
    kill -SEGV $$
  fi
fi
exec {BIN} "$@"
""")
    os.chmod(wrapper, 0o755)
    w = cluster.workdir("mpi-init-crash")
    with pytest.warns(UserWarning, match="died inside MPI_Init"):
        job, state, log = cluster.sweep(w, ["-o", "t.h5"] + TINY, TLSWEEP_BIN=wrapper)
    assert state == "COMPLETED", cluster.diagnose(job, [log])
    assert int(open(os.path.join(first, "job")).read()) < job  # a second job computed it
    assert result_digest(os.path.join(w, "t.h5")) == tiny_baseline


def test_each_node_has_its_own_tmp_and_shared_memory(cluster):
    """What one node writes to /tmp and /dev/shm (Open MPI's shared-memory segments) every
    command on that node sees, and no other node nor the machine: as separate machines."""
    probe = f"tls-probe-{os.getpid()}"
    for d in ("/tmp", "/dev/shm"):
        cluster.script("exec", "node1", "sh", "-c", f"echo node1 > {d}/{probe}")
        assert cluster.script("exec", "node1", "cat", f"{d}/{probe}").stdout == "node1\n"
        for node in ("node2", "node3"):
            assert cluster.script("exec", node, "test", "!", "-e", f"{d}/{probe}", check=False).returncode == 0, (node, d)
        assert not os.path.exists(f"{d}/{probe}"), d


@pytest.mark.parametrize("launcher", ["srun", "mpirun"])
def test_sweep_on_three_nodes_equals_one_node(cluster, tiny_baseline, launcher):
    w = cluster.workdir(f"sweep-{launcher}")
    job, state, log = cluster.sweep(w, ["-o", "t.h5"] + TINY, TLSWEEP_LAUNCHER=launcher)
    assert state == "COMPLETED", cluster.diagnose(job, [log])
    assert cluster.job_field(job, "Restarts") == "0"
    text = open(log).read()
    assert f"on node[1-3]: '{launcher}'" in text, text
    assert "16 configurations on 6 ranks" in text and "16 done, 0 failed, 0 pending" in text, text
    out = os.path.join(w, "t.h5")
    assert hosts_of(out) == NODES
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and f.attrs["nranks"] == 6
    assert result_digest(out) == tiny_baseline


def test_array_parts_on_three_nodes_merge_to_the_one_job_file(cluster, tiny_baseline):
    w = cluster.workdir("array")
    e = dict(cluster.env, TLSWEEP_BIN=BIN)
    # each part: 2 tasks, a whole node (2 CPUs): the three parts run at once on three nodes
    p = subprocess.run([SUBMIT_ARRAY, "3", "parts", "merged.h5", "--ntasks=2", "--"] + TINY, capture_output=True,
                       text=True, env=e, cwd=w)
    assert p.returncode == 0, p.stderr
    array, merge = (int(x) for x in p.stdout.split())
    state = cluster.wait(merge)
    logs = [os.path.join(w, x) for x in sorted(os.listdir(w)) if x.endswith(".out")]
    assert state == "COMPLETED", cluster.diagnose(merge, logs)
    text = "".join(open(x).read() for x in logs)
    assert "merged 3 parts" in text, text
    parts = [hosts_of(os.path.join(w, "parts", f"part-{k}.h5")) for k in (1, 2, 3)]
    assert sorted(h for part in parts for h in part) == NODES, parts  # one node each, all different
    assert result_digest(os.path.join(w, "merged.h5")) == tiny_baseline


def test_node_failure_requeues_and_resumes(cluster, tmp_path):
    """node2 fails silently mid-run (link down first, so that no connection is
    closed: a power loss, not a shutdown). Slurm marks it DOWN after
    SlurmdTimeout and requeues the job (JobRequeue=1); the job waits for three
    nodes; node2 comes back, the job resumes the sweep from the journals."""
    w = cluster.workdir("crash")
    # mpirun: under srun --mpi=pmix, Slurm 22.05 cannot start the requeued job's step on the failed
    # node (its PMIx plugin finds the dead step's socket, SlurmdSpoolDir/stepd.slurm.pmix.JOB.0, and
    # does not replace it: "Address already in use"), and the chain ends FAILED
    # once some configurations are recorded the hold file stops every rank from starting more
    # (TLSWEEP_HOLD): the node fails with work done and work left, however fast the machine
    hold = os.path.join(w, "hold")
    job = cluster.sbatch(w, ["-o", "t.h5"] + LONG, TLSWEEP_LAUNCHER="mpirun", TLSWEEP_HOLD=hold)
    log = os.path.join(w, f"tlsweep-{job}.out")
    state = os.path.join(w, "t.h5.tlsweep.d")
    crashed, booted = [], []

    def crash_once_computing():
        # keyed to progress, not to a clock: some configurations recorded
        if journal_bytes(state) > 0:
            open(hold, "w").close()
            cluster.script("crash", "node2")
            crashed.append(time.time())
            return True
        return False

    try:
        t = time.time()
        while time.time() - t < 240:
            s = cluster.job_field(job, "JobState")
            if s == "RUNNING" and not crashed:
                crash_once_computing()
            if crashed and not booted and int(cluster.job_field(job, "Restarts") or 0) >= 1:
                assert cluster.node_states()["node2"].startswith("down"), cluster.diagnose(job, [log])
                requeued_after = time.time() - crashed[0]
                os.unlink(hold)  # before the requeued job can start: it waits for node2
                cluster.script("boot", "node2")
                booted.append(time.time())
            if booted and s in END:
                break
            time.sleep(0.5)
        final = cluster.wait(job, timeout=120)
    finally:  # the next tests need all three nodes
        if os.path.exists(hold):
            os.unlink(hold)
        if crashed and not booted:
            cluster.script("boot", "node2", check=False)
        if cluster.job_field(job, "JobState") not in END:
            cluster.slurm("scancel", str(job))
    assert crashed, "the job never started computing\n" + cluster.diagnose(job, [log])
    assert booted, "Slurm never requeued the job\n" + cluster.diagnose(job, [log])
    assert final == "COMPLETED", cluster.diagnose(job, [log])
    text = open(log).read()
    assert "DUE TO NODE FAILURE" in text, text
    assert f"tlsweep job {job} (restart 1) on node[1-3]" in text, text
    m = re.search(r"resuming t\.h5: (\d+) of 48 configurations already recorded, (\d+) to compute", text)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, text  # killed mid-run: some done, some lost
    print(f"requeued {requeued_after:.0f} s after the node failed")
    out = os.path.join(w, "t.h5")
    assert hosts_of(out) == NODES
    reference = str(tmp_path / "baseline.h5")
    mpirun(6, ["run", "-o", reference] + LONG)
    assert result_digest(out) == result_digest(reference)


def write_data(path, seed, n=160, dim=4):
    """Two classes in `dim` dimensions, in tlsweep's data file format."""
    r = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int32)
    with h5py.File(path, "w") as f:
        f["X"] = (r.normal(size=(n, dim)) + 1.5 * y[:, None]).astype(np.float32)
        f["y"] = y


DATA = ["--set", "data.source=/tmp/tls-source.h5", "--set", "data.target=/tmp/tls-target.h5",
        "--set", "data.n_test=40"]


def node_local_data(cluster, odd_node=None):
    """data.source and data.target in each node's own /tmp; `odd_node` gets
    another source file (a stale copy) at the same path."""
    for node in NODES:
        write_data(os.path.join(cluster.node_tmp(node), "tls-source.h5"), 2 if node == odd_node else 0)
        write_data(os.path.join(cluster.node_tmp(node), "tls-target.h5"), 1)


def test_node_local_data_the_same_on_every_node(cluster, tmp_path):
    node_local_data(cluster)
    w = cluster.workdir("data-same")
    job, state, log = cluster.sweep(w, ["-o", "t.h5"] + TINY + DATA)
    assert state == "COMPLETED", cluster.diagnose(job, [log])
    with open(os.path.join(cluster.node_tmp("node3"), "tls-source.h5"), "rb") as f:
        crc = f"{zlib.crc32(f.read()):08x}"
    with h5py.File(os.path.join(w, "t.h5"), "r") as f:
        assert f.attrs["data_source_crc32"] == crc
    write_data(tmp_path / "tls-source.h5", 0)
    write_data(tmp_path / "tls-target.h5", 1)
    reference = str(tmp_path / "reference.h5")
    mpirun(6, ["run", "-o", reference] + TINY + [x.replace("/tmp/", f"{tmp_path}/") for x in DATA])
    assert result_digest(os.path.join(w, "t.h5")) == result_digest(reference)


def test_different_node_local_data_is_refused(cluster):
    node_local_data(cluster, odd_node="node2")
    w = cluster.workdir("data-differs")
    job, state, log = cluster.sweep(w, ["-o", "t.h5"] + TINY + DATA)
    text = open(log).read()
    assert state == "FAILED", cluster.diagnose(job, [log])
    assert re.search(r"sweep exited with status [1-9]", text) and "requeueing" not in text, text
    lines = [x for x in text.splitlines() if "node2" in x and "/tmp/tls-source.h5" in x]
    assert len(lines) == 1, text  # one line, naming the host and the file
    out = os.path.join(w, "t.h5")
    if os.path.exists(out):  # nothing computed
        with h5py.File(out, "r") as f:
            assert not (f["status"][()] == 1).any()
