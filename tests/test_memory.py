"""Memory checks of the real binary.

valgrind memcheck: `tlsweep one` has no errors and no definite leaks; a small
sweep under mpirun has no error and no definite leak of tlsweep's own: every
report must come from inside Open MPI, PMIx or HDF5 (their start-up
allocations, HDF5's uninitialised metadata padding, PMIx's event thread).

AddressSanitizer + UndefinedBehaviorSanitizer: a build with
-DTLSWEEP_SANITIZE=ON (scripts/test.sh makes it in build-sanitize/) runs the
numerical tests, `tlsweep one` with leak detection, and a sweep under mpirun.
"""
import glob
import os
import re
import shutil
import subprocess

import h5py
import pytest

from tlstest import BIN, ROOT, env

TINY = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0]", "--set", "train.epochs=2", "--set", "train.finetune_epochs=2",
        "--set", "data.n_source=100", "--set", "data.n_test=40"]
FOREIGN = re.compile(r"ompi_mpi_init|orte_init|PMPI_Init|PMPI_Finalize|ompi_mpi_finalize|mca_|opal_|pmix|"
                     r"libhwloc|libevent|libopen-|libmpi\.so|libhdf5|H5F__accum|H5FD_|libmunge|_dl_|dlopen")
SAN = os.environ.get("TLSWEEP_SANITIZE_BUILD", os.path.join(ROOT, "build-sanitize"))


def reports(text):
    """(first line, stack frames) of every error and definite leak in a valgrind log."""
    out, cur = [], None
    for line in text.splitlines():
        m = re.match(r"==\d+== ?(.*)", line)
        if not m:
            continue
        s = m.group(1).strip()
        if "are definitely lost" in s or re.match(r"(Invalid|Conditional|Use of uninit|Syscall param|Mismatched|"
                                               r"Source and destination overlap)", s):
            cur = (s, [])
            out.append(cur)
        elif cur and s.startswith(("at ", "by ")):
            cur[1].append(s)
        elif not s:
            cur = None
    return out


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed (scripts/setup.sh test installs it)")
def test_valgrind_one_is_clean():
    p = subprocess.run(["valgrind", "--error-exitcode=9", "--leak-check=full", "--errors-for-leak-kinds=definite",
                        BIN, "one", "--set", "train.epochs=3", "--set", "train.finetune_epochs=3"],
                       capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "ERROR SUMMARY: 0 errors" in p.stderr


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_valgrind_sweep_has_nothing_of_its_own(tmp_path):
    out = tmp_path / "r.h5"
    log = str(tmp_path / "vg.%p.log")
    supp = "/usr/share/openmpi/openmpi-valgrind.supp"
    vg = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite", f"--log-file={log}"]
    if os.path.exists(supp):
        vg.append(f"--suppressions={supp}")
    p = subprocess.run(["mpirun", "-q", "-n", "2", "--oversubscribe"] + vg + [BIN, "run", "-o", str(out)] + TINY,
                       capture_output=True, text=True, env=env(), timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1
    logs = glob.glob(str(tmp_path / "vg.*.log"))
    assert len(logs) >= 2
    ours, total = [], 0
    for path in logs:
        for first, frames in reports(open(path).read()):
            total += 1
            if not any(FOREIGN.search(f) for f in frames):
                ours.append(first + "\n  " + "\n  ".join(frames[:10]))
    assert not ours, f"{len(ours)} of {total} reports are tlsweep's own:\n" + "\n".join(ours[:5])


@pytest.mark.skipif(not os.path.exists(os.path.join(SAN, "tlsweep")), reason="no sanitizer build (scripts/test.sh makes build-sanitize/)")
def test_sanitizers(tmp_path):
    e = env()
    e["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    e["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    p = subprocess.run([os.path.join(SAN, "tests", "test_numerics")], capture_output=True, text=True, env=e)
    assert p.returncode == 0 and "0 failed" in p.stdout, p.stdout + p.stderr
    p = subprocess.run([os.path.join(SAN, "tlsweep"), "one", "--set", "train.epochs=5"], capture_output=True,
                       text=True, env=e)
    assert p.returncode == 0 and '"status": "done"' in p.stdout, p.stderr[-3000:]
    assert "runtime error" not in p.stderr
    # under MPI, leaks are Open MPI's (see above): leak detection off, every other check on
    e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    out = tmp_path / "r.h5"
    p = subprocess.run(["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "ASAN_OPTIONS", "-x", "UBSAN_OPTIONS",
                        os.path.join(SAN, "tlsweep"), "run", "-o", str(out)] + TINY,
                       capture_output=True, text=True, env=e, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "runtime error" not in p.stderr and "AddressSanitizer" not in p.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1
