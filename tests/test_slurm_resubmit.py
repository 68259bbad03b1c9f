"""jobs/sweep.sbatch where `scontrol requeue` is not allowed, against a real
single-node Slurm (tests/slurm/cluster.sh, as tests/test_slurm.py): the job is
submitted with --no-requeue, so Slurm refuses the script's requeue; the
script resubmits itself (same arguments, passed as script arguments, one of
them with a space), the new job starts after the old one ends, resumes, and
the final file equals an uninterrupted run.
"""
import re
import subprocess

from test_slurm import SBATCH, diagnose, interrupt_held, job_field, slurm, wait  # noqa: F401 (slurm: fixture)
from tlstest import BIN, mpirun, result_digest

ARGS = ["-o", "t.h5", "--set", "grid.shift=[0, 90]", "--set", "grid.seed=[0,1,2,3]", "--set", "train.epochs=100"]


def test_refused_requeue_resubmits_and_resumes(slurm, tmp_path):  # noqa: F811
    # mpirun: concurrent test clusters on one machine share srun's PMIx
    # directories (/tmp/spmix_appdir_UID_JOB.STEP) for equal job ids
    hold = tmp_path / "hold"
    hold.touch()
    env = dict(slurm, TLSWEEP_BIN=BIN, TLSWEEP_LAUNCHER="mpirun", TLSWEEP_HOLD=str(hold))
    p = subprocess.run(["sbatch", "--parsable", "--no-requeue", SBATCH] + ARGS, capture_output=True, text=True,
                       env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    job = int(p.stdout.strip().split(";")[0])
    log = tmp_path / f"tlsweep-{job}.out"
    computing = interrupt_held(slurm, str(job), tmp_path / "t.h5.tlsweep.d", hold,
                               lambda: log.read_text() if log.exists() else "")

    assert wait(slurm, job, on_running=computing) == "COMPLETED", diagnose(slurm, job, log)
    text = log.read_text()
    assert "exited with status 75" in text and "scontrol requeue was refused: resubmitting instead" in text, text
    m = re.search(r"resubmitted as job (\d+) \(run 2 of the chain\)", text)
    assert m, text
    second = int(m.group(1))
    assert job_field(slurm, job, "Restarts") == "0"
    assert wait(slurm, second) == "COMPLETED", diagnose(slurm, second, log)
    text = log.read_text()  # the new job appends to the same log
    assert f"tlsweep job {second} (restart 0, link 1) on " in text, text
    assert "resuming t.h5" in text, text
    reference = str(tmp_path / "baseline.h5")
    mpirun(2, ["run", "-o", reference] + ARGS[2:])
    assert result_digest(str(tmp_path / "t.h5")) == result_digest(reference)
