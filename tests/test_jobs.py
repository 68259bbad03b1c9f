"""The Slurm job scripts without Slurm: jobs/sweep.sbatch, jobs/sweep-array.sbatch
and jobs/submit-array.sh run under bash with stub srun, mpirun, scontrol,
squeue, sbatch, scancel and module commands that record their arguments.
What is checked: arguments reach tlsweep intact (no word splitting, no
globbing), --resume / --force on first and continued runs, the module hook,
the binary's fallbacks, requeue, resubmission where requeue is refused, the
array's per-part command and the merge, the submit helper's two sbatch calls,
and that the scripts parse (bash -n, shellcheck when installed) and agree on
their common part. jobs/sweep.sbatch under a real Slurm: tests/test_slurm.py.
"""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
JOBS = os.path.join(ROOT, "jobs")
SWEEP = os.path.join(JOBS, "sweep.sbatch")
ARRAY = os.path.join(JOBS, "sweep-array.sbatch")
SUBMIT = os.path.join(JOBS, "submit-array.sh")
SCRIPTS = [SWEEP, ARRAY, SUBMIT, os.path.join(JOBS, "local.sh")]

STUB = r"""#!/bin/bash
# records its name, arguments (NUL-separated) and environment, one file per call
name=$(basename "$0")
n=$(find "$STUB_CALLS" -maxdepth 1 -type f -name '*.args' | wc -l)
f=$(printf '%s/%03d-%s' "$STUB_CALLS" "$n" "$name")
printf '%s\0' "$@" >"$f.args"
env -0 >"$f.env"
case $name in
srun)
  if [ "${1-}" = --mpi=list ]; then echo "MPI plugin types are..."; echo "	pmix"; exit 0; fi
  exit "${STUB_RC:-0}" ;;
mpirun) exit "${STUB_RC:-0}" ;;
scontrol)
  case ${1-} in
  requeue) exit "${STUB_REQUEUE_RC:-0}" ;;
  show) echo "JobId=$3 JobName=tlsweep UserId=root(0) NumNodes=4 NumTasks=128 StdErr=/logs/tlsweep-12345.out StdIn=/dev/null StdOut=/logs/tlsweep-12345.out Power=" ;;
  esac ;;
squeue) echo "2-00:00:00" ;;
sbatch) echo "$((700 + n));cluster" ;;
fake-tlsweep | tlsweep) [ "${1-}" = status ] && exit "${STUB_STATUS_RC:-0}" ;;
esac
exit 0
"""

SLURM_ENV = dict(SLURM_JOB_ID="12345", SLURM_JOB_NODELIST="node[1-4]", SLURM_JOB_PARTITION="compute",
                 SLURM_JOB_ACCOUNT="proj42", SLURM_JOB_QOS="normal", SLURM_JOB_NUM_NODES="4",
                 SLURM_NTASKS_PER_NODE="32", SLURM_NTASKS="128", SLURM_CPUS_PER_TASK="1",
                 SLURM_JOB_NAME="tlsweep")


class Stubs:
    def __init__(self, tmp_path, commands=("srun", "mpirun", "scontrol", "squeue", "sbatch", "scancel")):
        self.dir = tmp_path / "stubbin"
        self.dir.mkdir()
        self.calls_dir = tmp_path / "calls"
        self.calls_dir.mkdir()
        self.work = tmp_path / "submit"
        self.work.mkdir()
        for c in commands:
            self.add(c)
        self.bin = str(self.dir / "fake-tlsweep")  # run by the script only for `status`
        self.add("fake-tlsweep")

    def add(self, name):
        p = self.dir / name
        p.write_text(STUB)
        p.chmod(0o755)

    def run(self, script, args=(), env=None, slurm=True):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "TLSWEEP_", "SBATCH_"))}
        e.update(PATH=f"{self.dir}:/usr/bin:/bin", STUB_CALLS=str(self.calls_dir),
                 SLURM_SUBMIT_DIR=str(self.work), TLSWEEP_BIN=self.bin, TLSWEEP_LAUNCHER="mpirun")
        if slurm:
            e.update(SLURM_ENV)
        e.update(env or {})
        e = {k: v for k, v in e.items() if v is not None}
        return subprocess.run(["bash", script] + list(args), capture_output=True, text=True, env=e,
                              cwd=str(self.work), timeout=60)

    def calls(self, name=None):
        """[(name, argv, env)] in call order."""
        out = []
        for f in sorted(self.calls_dir.glob("*.args")):
            cmd = f.name[4:-5]
            if name and cmd != name:
                continue
            argv = f.read_bytes().split(b"\0")[:-1]
            env = dict(x.split("=", 1) for x in f.with_suffix(".env").read_bytes().decode().split("\0") if "=" in x)
            out.append((cmd, [a.decode() for a in argv], env))
        return out

    def tlsweep_args(self):
        """The arguments the one mpirun call gave tlsweep (the binary itself: only `status`)."""
        runs = self.calls("mpirun")
        assert len(runs) == 1, runs
        argv = runs[0][1]
        i = argv.index(self.bin)
        return argv[:i], argv[i + 1:]


@pytest.fixture
def stubs(tmp_path):
    return Stubs(tmp_path)


NASTY = ["--set", "grid.seed=[0, 1]", "--set", "data.source=my data/src file.h5", "--set", "grid.shift=[0,90]",
         "--set", "model.note=$HOME `id` *"]


def test_arguments_reach_tlsweep_intact(stubs):
    # files a glob would match: grid.shift=[0,90] matches "grid.shift=0", * matches everything
    (stubs.work / "grid.shift=0").write_text("")
    (stubs.work / "grid.seed=0").write_text("")
    p = stubs.run(SWEEP, ["configs/x.yaml", "-o", "out dir/r.h5"] + NASTY)
    assert p.returncode == 0, p.stdout + p.stderr
    flags, args = stubs.tlsweep_args()
    assert flags == ["-q"]
    assert args == ["run", "configs/x.yaml", "-o", "out dir/r.h5"] + NASTY
    # the log shows the command unambiguously
    assert "'grid.seed=[0, 1]'" in p.stdout


def test_tlsweep_args_split_like_a_shell(stubs):
    (stubs.work / "grid.seed=0").write_text("")
    p = stubs.run(SWEEP, ["--set", "train.lr=0.01"],
                  env=dict(TLSWEEP_ARGS="--set 'grid.seed=[0, 1]'  --set \"data.source=a b.h5\" --set grid.seed=[0,1]",
                           TLSWEEP_CONFIG="c.yaml", TLSWEEP_OUTPUT="t.h5"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert stubs.tlsweep_args()[1] == ["run", "c.yaml", "--set", "grid.seed=[0, 1]", "--set", "data.source=a b.h5",
                                       "--set", "grid.seed=[0,1]", "--set", "train.lr=0.01", "-o", "t.h5"]


def test_tlsweep_args_unbalanced_quote_is_refused(stubs):
    p = stubs.run(SWEEP, env=dict(TLSWEEP_ARGS="--set 'grid.seed=[0, 1]"))
    assert p.returncode == 2
    assert "TLSWEEP_ARGS: unbalanced quotes" in p.stdout
    assert not stubs.calls("mpirun")


@pytest.mark.parametrize("given, out, exists, env, expected", [
    ([], "results.h5", False, {}, ["-o", "results.h5"]),
    ([], "results.h5", True, {}, ["-o", "results.h5", "--resume"]),
    (["-oR.h5"], "R.h5", True, {}, ["-oR.h5", "--resume"]),
    (["--output=R.h5", "--resume", "--retry-failed"], "R.h5", True, {},
     ["--output=R.h5", "--resume", "--retry-failed"]),
    (["-o", "R.h5", "--force"], "R.h5", True, {}, ["-o", "R.h5", "--force"]),
    (["-o", "R.h5", "--dry-run"], "R.h5", True, {}, ["-o", "R.h5", "--dry-run"]),
    # a requeued run or a resubmitted link continues: the first run's --force becomes --resume
    (["-o", "R.h5", "--force"], "R.h5", True, {"SLURM_RESTART_COUNT": "1"}, ["-o", "R.h5", "--resume"]),
    (["-o", "R.h5", "--force"], "R.h5", True, {"TLSWEEP_LINK": "2"}, ["-o", "R.h5", "--resume"]),
    (["-o", "R.h5", "--force"], "R.h5", False, {"SLURM_RESTART_COUNT": "1"}, ["-o", "R.h5", "--force"]),
])
def test_resume_and_force(stubs, given, out, exists, env, expected):
    if exists:
        (stubs.work / (out + ".tlsweep.d")).mkdir()
    p = stubs.run(SWEEP, given, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert stubs.tlsweep_args()[1] == ["run"] + expected


def test_modules_are_loaded_first(stubs):
    stubs.add("module")
    p = stubs.run(SWEEP, env=dict(TLSWEEP_MODULES="openmpi/4.1  hdf5/1.14-mpi"))
    assert p.returncode == 0, p.stdout + p.stderr
    calls = stubs.calls()
    assert [c[0] for c in calls if c[0] in ("module", "mpirun")] == ["module", "mpirun"]
    assert calls[0][1] == ["load", "openmpi/4.1", "hdf5/1.14-mpi"]
    assert "module load openmpi/4.1 hdf5/1.14-mpi" in p.stdout


def test_modules_without_a_module_command_stop_the_job(stubs):
    p = stubs.run(SWEEP, env=dict(TLSWEEP_MODULES="openmpi"))
    assert p.returncode == 1
    assert "TLSWEEP_MODULES is set but" in p.stdout and "has no module command" in p.stdout
    assert not stubs.calls("mpirun")


def test_binary_fallbacks(stubs):
    stubs.add("tlsweep")  # on PATH, e.g. from a module or the .deb
    p = stubs.run(SWEEP, env=dict(TLSWEEP_BIN=None))
    assert p.returncode == 0, p.stdout + p.stderr
    assert stubs.calls("mpirun")[0][1][1] == str(stubs.dir / "tlsweep")
    build = stubs.work / "build"
    build.mkdir()
    (build / "tlsweep").write_text("#!/bin/sh\n")
    (build / "tlsweep").chmod(0o755)
    p = stubs.run(SWEEP, env=dict(TLSWEEP_BIN=None))
    assert stubs.calls("mpirun")[1][1][1] == str(build / "tlsweep")


def test_no_binary(stubs):
    p = stubs.run(SWEEP, env=dict(TLSWEEP_BIN=None))
    assert p.returncode == 1 and "no tlsweep binary" in p.stdout


def test_srun_with_pmix(stubs):
    p = stubs.run(SWEEP, ["--set", "grid.seed=[0, 1]"], env=dict(TLSWEEP_LAUNCHER=None))
    assert p.returncode == 0, p.stdout + p.stderr
    runs = [c for c in stubs.calls("srun") if c[1][0] != "--mpi=list"]
    assert len(runs) == 1
    assert runs[0][1] == ["--mpi=pmix", "--kill-on-bad-exit=0", stubs.bin, "run", "--set", "grid.seed=[0, 1]",
                          "-o", "results.h5"]
    assert runs[0][2]["OPENBLAS_NUM_THREADS"] == "1"


@pytest.mark.parametrize("var, value", [("TLSWEEP_REQUEUE", "always"), ("TLSWEEP_LAUNCHER", "aprun"),
                                        ("TLSWEEP_MAX_RESTARTS", "many")])
def test_bad_settings_stop_before_the_sweep(stubs, var, value):
    p = stubs.run(SWEEP, env={var: value})
    assert p.returncode == 2 and f"{var}={value}: allowed:" in p.stdout
    assert not stubs.calls("mpirun")


def test_geometry_warning(stubs):
    # --nodes=4 --ntasks-per-node=32 without --ntasks: the script's --ntasks=2 won
    p = stubs.run(SWEEP, env=dict(SLURM_NTASKS="2", SLURM_JOB_NUM_NODES="2"))
    assert "tlsweep job: warning: 2 tasks on 2 nodes, not 2 x 32" in p.stdout
    p = stubs.run(SWEEP)
    assert "tlsweep job: warning" not in p.stdout


@pytest.mark.parametrize("rc", [0, 1, 2])
def test_other_statuses_end_the_chain(stubs, rc):
    p = stubs.run(SWEEP, env=dict(STUB_RC=str(rc)))
    assert p.returncode == rc
    assert f"sweep exited with status {rc}" in p.stdout
    assert not stubs.calls("scontrol") and not stubs.calls("sbatch")


def test_launcher_success_with_an_incomplete_sweep_requeues(stubs):
    # srun can return 0 when the step never launched: tlsweep status has the last word
    p = stubs.run(SWEEP, ["-o", "r.h5"], env=dict(STUB_STATUS_RC="75"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "tlsweep status says r.h5 is incomplete: treating it as interrupted" in p.stdout
    assert [c[1] for c in stubs.calls("fake-tlsweep")] == [["status", "r.h5"]]
    assert [c[1] for c in stubs.calls("scontrol")] == [["requeue", "12345"]]
    p = stubs.run(ARRAY, ["--parts", "2", "--dir", "d"], env=dict(STUB_STATUS_RC="75", SLURM_ARRAY_TASK_ID="2"))
    assert "tlsweep status says d/part-2.h5 is incomplete" in p.stdout and "requeueing part 2" in p.stdout
    # status 0 (complete) or 2 (e.g. an older tlsweep without these codes): the status stands
    for code in ("0", "2"):
        p = stubs.run(SWEEP, env=dict(STUB_STATUS_RC=code))
        assert p.returncode == 0 and "treating it as interrupted" not in p.stdout
    # --dry-run writes nothing: no status
    n = len(stubs.calls("fake-tlsweep"))
    stubs.run(SWEEP, ["--dry-run"], env=dict(STUB_STATUS_RC="75"))
    assert len(stubs.calls("fake-tlsweep")) == n


def test_exit_75_requeues(stubs):
    p = stubs.run(SWEEP, env=dict(STUB_RC="75"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "requeueing job 12345" in p.stdout
    assert [c[1] for c in stubs.calls("scontrol")] == [["requeue", "12345"]]
    assert not stubs.calls("sbatch")


def test_refused_requeue_resubmits(stubs):
    args = ["configs/x.yaml", "-o", "big.h5", "--force"] + NASTY
    p = stubs.run(SWEEP, args, env=dict(STUB_RC="75", STUB_REQUEUE_RC="1", SLURM_RESTART_COUNT="0"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "scontrol requeue was refused: resubmitting instead" in p.stdout
    (sb,) = stubs.calls("sbatch")
    argv, env = sb[1], sb[2]
    i = argv.index(SWEEP)
    assert argv[i + 1:] == args  # the script's own arguments, as given
    assert argv[:i] == ["--parsable", "--dependency=afterany:12345", "--export=ALL,TLSWEEP_LINK=1",
                        "--partition=compute", "--account=proj42", "--qos=normal", "--nodes=4",
                        "--ntasks-per-node=32", "--ntasks=128", "--cpus-per-task=1", "--job-name=tlsweep",
                        "--time=2-00:00:00", "--output=/logs/tlsweep-12345.out"]
    assert not [k for k in env if k.startswith("SLURM_")], "this job's SLURM_* leaked into the new one"
    assert "resubmitted as job" in p.stdout and "run 2 of the chain" in p.stdout


def test_resubmit_mode_and_next_link(stubs):
    p = stubs.run(SWEEP, env=dict(STUB_RC="75", TLSWEEP_REQUEUE="resubmit", TLSWEEP_LINK="1"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert not stubs.calls("scontrol")[1:] and "requeue" not in [c[1][0] for c in stubs.calls("scontrol")]
    (sb,) = stubs.calls("sbatch")
    assert "--export=ALL,TLSWEEP_LINK=2" in sb[1] and "run 3 of the chain" in p.stdout


def test_failed_resubmission_exits_75(stubs):
    (stubs.dir / "sbatch").write_text("#!/bin/sh\necho 'sbatch: error: QOSMaxSubmitJobPerUserLimit' >&2\nexit 1\n")
    p = stubs.run(SWEEP, env=dict(STUB_RC="75", TLSWEEP_REQUEUE="resubmit"))
    assert p.returncode == 75
    assert "resubmission failed: submit again with the same arguments" in p.stdout


def test_requeue_none(stubs):
    p = stubs.run(SWEEP, env=dict(STUB_RC="75", TLSWEEP_REQUEUE="none"))
    assert p.returncode == 75
    assert not stubs.calls("scontrol") and not stubs.calls("sbatch")
    assert "submit again with the same arguments" in p.stdout


def test_outside_slurm(stubs):
    p = stubs.run(SWEEP, ["--set", "grid.seed=[0, 1]"], env=dict(STUB_RC="75", SLURM_SUBMIT_DIR=None), slurm=False)
    assert p.returncode == 75 and "not a Slurm job" in p.stdout
    assert stubs.tlsweep_args()[1] == ["run", "--set", "grid.seed=[0, 1]", "-o", "results.h5"]
    assert not stubs.calls("scontrol") and not stubs.calls("sbatch")


def test_max_restarts(stubs):
    p = stubs.run(SWEEP, env=dict(STUB_RC="75", SLURM_RESTART_COUNT="4", TLSWEEP_MAX_RESTARTS="5"))
    assert p.returncode == 75 and "5 runs so far" in p.stdout
    assert not stubs.calls("scontrol")


# ---- the job array


def test_array_part(stubs):
    p = stubs.run(ARRAY, ["--parts", "4", "--dir", "my parts", "--", "configs/x.yaml"] + NASTY,
                  env=dict(SLURM_ARRAY_TASK_ID="3"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert stubs.tlsweep_args()[1] == ["run", "configs/x.yaml"] + NASTY + ["--part", "3/4", "-o",
                                                                          "my parts/part-3.h5"]
    assert (stubs.work / "my parts").is_dir()


def test_array_part_resumes_and_requeues(stubs):
    (stubs.work / "d").mkdir()
    (stubs.work / "d" / "part-2.h5.tlsweep.d").mkdir()
    p = stubs.run(ARRAY, ["--parts=2", "--dir=d", "--", "--force"],
                  env=dict(SLURM_ARRAY_TASK_ID="2", SLURM_RESTART_COUNT="1", STUB_RC="75"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert stubs.tlsweep_args()[1] == ["run", "--part", "2/2", "-o", "d/part-2.h5", "--resume"]
    assert [c[1] for c in stubs.calls("scontrol")] == [["requeue", "12345"]]
    assert "requeueing part 2" in p.stdout


def test_array_part_where_requeue_is_refused(stubs):
    p = stubs.run(ARRAY, ["--parts", "2", "--dir", "d"],
                  env=dict(SLURM_ARRAY_TASK_ID="1", STUB_RC="75", STUB_REQUEUE_RC="1"))
    assert p.returncode == 75
    assert "run jobs/submit-array.sh again with the same arguments" in p.stdout
    assert not stubs.calls("sbatch")


@pytest.mark.parametrize("args, env, message", [
    (["--parts", "4", "--dir", "d", "--", "-o", "x.h5"], {"SLURM_ARRAY_TASK_ID": "1"}, "each part writes its own"),
    (["--parts", "4", "--dir", "d"], {}, "submit as an array"),
    (["--parts", "4", "--dir", "d"], {"SLURM_ARRAY_TASK_ID": "0"}, "submit as an array"),
    (["--parts", "4", "--dir", "d"], {"SLURM_ARRAY_TASK_ID": "5"}, "beyond --parts 4"),
    (["--parts", "0", "--dir", "d"], {"SLURM_ARRAY_TASK_ID": "1"}, "allowed: a whole number >= 1"),
    (["--dir", "d"], {"SLURM_ARRAY_TASK_ID": "1"}, "allowed: a whole number >= 1"),
    (["--parts", "4"], {"SLURM_ARRAY_TASK_ID": "1"}, "--dir is missing"),
    (["--parts", "4", "--dir", "d", "configs/x.yaml"], {"SLURM_ARRAY_TASK_ID": "1"}, "go after --"),
])
def test_array_mistakes(stubs, args, env, message):
    p = stubs.run(ARRAY, args, env=env)
    assert p.returncode == 2 and message in p.stdout, p.stdout
    assert not stubs.calls("mpirun")


def test_merge(stubs):
    p = stubs.run(ARRAY, ["--parts", "3", "--dir", "d", "--merge", "out file.h5", "--", "--force"])
    assert p.returncode == 0, p.stdout + p.stderr
    flags, args = stubs.tlsweep_args()
    assert flags == ["-q", "-n", "1"]
    assert args == ["merge", "d/part-1.h5", "d/part-2.h5", "d/part-3.h5", "-o", "out file.h5", "--force"]
    stubs.run(ARRAY, ["--parts", "2", "--dir", "d", "--merge", "o.h5"], env=dict(TLSWEEP_LAUNCHER="srun"))
    (srun,) = stubs.calls("srun")
    assert srun[1][:5] == ["--mpi=pmix", "--kill-on-bad-exit=0", "--nodes=1", "--ntasks=1", stubs.bin]


def test_submit_helper(stubs):
    p = stubs.run(SUBMIT, ["16%4", "big parts", "big.h5", "--ntasks=32", "--time=01:00:00", "--",
                           "configs/x.yaml"] + NASTY, slurm=False)
    assert p.returncode == 0, p.stdout + p.stderr
    array, merge = stubs.calls("sbatch")
    assert array[1] == ["--parsable", "--array=1-16%4", "--ntasks=32", "--time=01:00:00", ARRAY,
                        "--parts", "16", "--dir", "big parts", "--", "configs/x.yaml"] + NASTY
    array_id = p.stdout.split()[0]
    assert merge[1] == ["--parsable", f"--dependency=afterok:{array_id}", "--kill-on-invalid-dep=yes",
                        "--nodes=1", "--ntasks=1", "--job-name=tlsweep-merge", "--output=tlsweep-merge-%j.out",
                        ARRAY, "--parts", "16", "--dir", "big parts", "--merge", "big.h5"]
    assert p.stdout.split() == [array_id, str(int(array_id) + 1)]
    assert (stubs.work / "big parts").is_dir()
    # no throttle, no sbatch options, no tlsweep arguments
    p = stubs.run(SUBMIT, ["3", "d", "o.h5"], slurm=False)
    assert p.returncode == 0, p.stderr
    assert stubs.calls("sbatch")[2][1] == ["--parsable", "--array=1-3", ARRAY, "--parts", "3", "--dir", "d", "--"]


@pytest.mark.parametrize("spec", ["0", "x", "4%", "4%0", "%2", "4%2%1", "-1"])
def test_submit_helper_refuses_bad_counts(stubs, spec):
    p = stubs.run(SUBMIT, [spec, "d", "o.h5"], slurm=False)
    assert p.returncode == 2 and "allowed: PARTS or PARTS%MAX_RUNNING" in p.stderr
    assert not stubs.calls("sbatch")


# ---- the scripts as files


def test_local_launcher_yields_idle_ranks_and_names_itself(stubs):
    """jobs/local.sh: idle ranks yield their core (OMPI_MCA_mpi_yield_when_idle=1, unless set), and
    the resume hint names the script as it was started."""
    local = os.path.join(JOBS, "local.sh")
    p = stubs.run(local, ["configs/x.yaml", "-o", "r.h5"], slurm=False)
    assert p.returncode == 0, p.stdout + p.stderr
    (_, argv, env), = stubs.calls("mpirun")
    assert env["OMPI_MCA_mpi_yield_when_idle"] == "1" and env["TLSWEEP_RESUME_WITH"] == local
    assert argv[-4:] == ["run", "configs/x.yaml", "-o", "r.h5"]
    stubs.run(local, ["-o", "r.h5"], env={"OMPI_MCA_mpi_yield_when_idle": "0"}, slurm=False)
    assert stubs.calls("mpirun")[-1][2]["OMPI_MCA_mpi_yield_when_idle"] == "0"


def test_scripts_parse():
    for s in SCRIPTS:
        assert subprocess.run(["bash", "-n", s]).returncode == 0, s
        assert os.access(s, os.X_OK), f"{s} is not executable"


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed (scripts/setup.sh test)")
def test_shellcheck():
    p = subprocess.run(["shellcheck"] + SCRIPTS, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout


def common_part(path):
    text = open(path).read()
    m = re.search(r"^# ---- common to sweep\.sbatch and sweep-array\.sbatch.*?^# ---- end of the common part$",
                  text, re.S | re.M)
    assert m, f"{path}: no common part"
    return m.group(0)


def test_array_script_shares_the_common_part():
    assert common_part(SWEEP) == common_part(ARRAY), \
        "jobs/sweep.sbatch and jobs/sweep-array.sbatch differ between their '# ---- common' markers"


@pytest.mark.parametrize("path", [SWEEP, ARRAY])
def test_sbatch_directives(path):
    lines = open(path).read().splitlines()
    first_command = next(i for i, l in enumerate(lines) if i > 0 and l.strip() and not l.startswith("#"))
    directives = [i for i, l in enumerate(lines) if l.startswith("#SBATCH")]
    # Slurm reads #SBATCH lines only before the first command
    assert directives and max(directives) < first_command
    text = "\n".join(lines)
    for option in ("account", "partition", "qos"):
        assert re.search(rf"^##SBATCH --{option}=", text, re.M), f"no {option} placeholder"
    assert "#SBATCH --nodes" not in text  # the size comes from --ntasks (and the command line)
    for needed in ("--signal=B:USR1@90", "--requeue", "--open-mode=append"):
        assert f"#SBATCH {needed}" in text
