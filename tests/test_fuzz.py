"""The fuzzers (tests/fuzz/, libFuzzer with AddressSanitizer and UBSan, built
in build-fuzz/ by scripts/test.sh): the configuration loader (files and
--set), the journal reader and the results-file reader, each for a fixed
time (TLSWEEP_FUZZ_SECONDS, default 45) from a seed corpus of the shipped
configurations, the bad-input corpus, a real sweep's journal and results
file. A crash, a hang (10 s for one input), a sanitizer report or a broken
property (a refusal that is not one line with "allowed", a canonical YAML
that does not load back) fails the test; the failing input is kept in the
test's directory."""
import glob
import os
import signal
import subprocess
import time

import pytest

from tlstest import BIN, ROOT, env, mpirun

FUZZ = os.environ.get("TLSWEEP_FUZZ_DIR", os.path.join(ROOT, "build-fuzz", "tests"))
SECONDS = int(os.environ.get("TLSWEEP_FUZZ_SECONDS", "45"))
SMALL = ["--set", "data.n_source=20", "--set", "data.n_test=10", "--set", "train.epochs=3",
         "--set", "train.finetune_epochs=2"]


def fuzz(name, corpus, tmp_path, extra_env=None):
    exe = os.path.join(FUZZ, "fuzz_" + name)
    if not os.path.exists(exe):
        pytest.fail(f"{exe} is missing: scripts/test.sh builds build-fuzz/ (CC=clang, -DTLSWEEP_FUZZ=ON)")
    work = tmp_path / "work"
    work.mkdir()
    e = dict(env(), **(extra_env or {}))
    e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"  # HDF5's library-lifetime allocations are not ours
    e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    p = subprocess.run([exe, f"-max_total_time={SECONDS}", "-timeout=10", "-rss_limit_mb=2048",
                        f"-artifact_prefix={tmp_path}/", str(work), str(corpus)],
                       capture_output=True, text=True, env=e, timeout=SECONDS + 300)
    found = glob.glob(str(tmp_path / "crash-*")) + glob.glob(str(tmp_path / "timeout-*")) + \
        glob.glob(str(tmp_path / "oom-*"))
    assert p.returncode == 0 and not found, f"fuzz_{name} found {found}:\n{p.stderr[-4000:]}"
    runs = [l for l in p.stderr.splitlines() if l.startswith("Done ")]
    assert runs, p.stderr[-2000:]
    print(runs[-1])


def test_fuzz_config(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = glob.glob(os.path.join(ROOT, "configs", "*.yaml")) + glob.glob(os.path.join(ROOT, "tests", "bad_input", "*.yaml"))
    for i, f in enumerate(files):
        (corpus / f"file-{i}").write_bytes(b"\x00" + open(f, "rb").read())
    sets = ["grid.seed=[0,1,2]\ntrain.lr=0.01", "grid.train.lr=[0.001,0.01]\ngrid.svm.gamma=[auto,scale]",
            "data.n_source=all", "grid.shift=[90,0,45]\nsvm.gamma=0.5", "train.epochs=5\noutput.embeddings=false"]
    for i, s in enumerate(sets):
        (corpus / f"set-{i}").write_bytes(b"\x01" + s.encode())
    fuzz("config", corpus, tmp_path)


def test_fuzz_journal(tmp_path):
    # a real sweep's journals, interrupted so that they stay: the seed corpus
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    args = ["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out, "--set", "output.embeddings=false",
            "--set", "output.sync_seconds=0.01", "--set", "grid.seed=[0,1,2,3,4,5,6,7]"] + SMALL
    p = subprocess.Popen(args, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t = time.time()
    while time.time() - t < 60 and not (os.path.isdir(state) and sum(
            os.path.getsize(os.path.join(state, n)) for n in os.listdir(state) if n.startswith("journal-")) > 20000):
        time.sleep(0.005)
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    journals = [n for n in os.listdir(state) if n.startswith("journal-")]
    assert journals
    for n in journals:
        (corpus / n).write_bytes(open(os.path.join(state, n), "rb").read())
    sweep_id = [l.split()[1] for l in open(os.path.join(state, "manifest")) if l.startswith("sweep_id")][0]
    fuzz("journal", corpus, tmp_path, {"TLSWEEP_FUZZ_SWEEP_ID": sweep_id})


def test_fuzz_store(tmp_path):
    base = str(tmp_path / "base.h5")
    mpirun(1, ["run", "-o", base, "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0]", "--set", "grid.seed=[0,1]",
               "--set", "grid.n_target=[4]"] + SMALL, extra_env={"TLSWEEP_FAULT": "1"})
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = [b"", b"\x04\x00" + bytes(range(8)), b"\x03\x01\x02\x03\x04\x01", b"\x00\x00grid: {seed: [0]}\x00",
             b"\x01\x01" + (10 ** 12).to_bytes(8, "little"), b"\x02\x05\x07", b"\x05\x06"]
    for i, s in enumerate(seeds):
        (corpus / f"edit-{i}").write_bytes(s)
    fuzz("store", corpus, tmp_path, {"TLSWEEP_FUZZ_FILE": base})
