"""tlsweep-report --watch FILE while a real sweep runs: started before the
sweep, it waits for it; while it runs, the report of a snapshot (tlsweep
snapshot) is remade every --every seconds, its page saying so and
reloading itself; once the sweep is complete, the report of the file
itself, no snapshot left behind, and the watch ends with exit status 0.
A --tlsweep that is not a program: one line, exit 2. Also: --help names
the command as it was called."""
import json
import subprocess
import sys
import time

from tlstest import BIN, ROOT, env, journal_bytes

# about 25 s on 2 cores (12 s idle); once a record is in, the sweep is held (TLSWEEP_HOLD) until
# the page of a snapshot was seen, however fast the machine
SLOW = ["--set", "grid.shift=[0,45,90,135,180]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
        "--set", "grid.seed=[0,1,2,3,4,5,6,7]", "--set", "train.epochs=300", "--set", "data.n_source=600",
        "--set", "data.n_test=200", "--set", "output.embeddings=false"]


def test_watch_follows_a_running_sweep(tmp_path):
    results = str(tmp_path / "results.h5")
    out = tmp_path / "report"
    watch = subprocess.Popen([sys.executable, "-m", "analysis.report", "--watch", results, "-o", str(out),
                              "--every", "1", "--tlsweep", BIN], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env(MPLBACKEND="Agg"))
    sweep = None
    seen_snapshot_page = False
    state, hold = results + ".tlsweep.d", tmp_path / "hold"
    held = False
    try:
        time.sleep(2)  # the watch starts first: nothing to report yet
        sweep = subprocess.Popen(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", results] + SLOW,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=env(OMPI_MCA_mpi_yield_when_idle="1", TLSWEEP_HOLD=str(hold)))
        deadline = time.monotonic() + 600
        while watch.poll() is None:
            assert time.monotonic() < deadline, "the watch did not end"
            page = out / "index.html"
            if page.exists():
                text = page.read_text(errors="replace")
                seen_snapshot_page |= "A snapshot of" in text and "http-equiv='refresh'" in text
            if not held and journal_bytes(state):
                hold.touch()
                held = True
            if hold.exists() and seen_snapshot_page:
                hold.unlink()
            time.sleep(0.3)
        stdout, stderr = watch.communicate()
        assert sweep.wait(timeout=600) == 0, sweep.stderr.read()
    finally:
        if hold.exists():
            hold.unlink()
        for p in (watch, sweep):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert watch.returncode == 0, stderr
    assert "watch: waiting for the sweep to start" in stderr, stderr
    assert "the report of a snapshot taken at" in stderr and "(running)" in stderr, stderr
    assert "the report of the file itself" in [x for x in stderr.splitlines() if "watch:" in x][-1], stderr
    assert seen_snapshot_page, "no page of a snapshot was seen while the sweep ran"
    page = (out / "index.html").read_text()
    assert "A snapshot of" not in page and "http-equiv='refresh'" not in page and "160 of 160 done" in page
    rep = json.loads((out / "report.json").read_text())
    assert rep["file"] == results and "snapshot" not in rep and rep["complete"]
    assert not (out / ".snapshot.h5").exists()
    assert stdout.splitlines()[-1] == f"report: {out / 'index.html'}"


def test_watch_without_a_tlsweep_and_help_names_the_command(tmp_path):
    p = subprocess.run([sys.executable, "-m", "analysis.report", "--watch", str(tmp_path / "r.h5"), "-o",
                        str(tmp_path / "out"), "--tlsweep", str(tmp_path / "nothing")], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "--tlsweep" in p.stderr and "not an executable file" in p.stderr
    p = subprocess.run([sys.executable, "-m", "analysis.report", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("usage: python3 -m analysis.report"), p.stdout[:200]
    # called as tlsweep-report (the installed command, the venv's entry point): its own name
    fake = tmp_path / "bin" / "tlsweep-report"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {ROOT!r})\n"
                    "from analysis.report import main\nsys.exit(main())\n")
    fake.chmod(0o755)
    p = subprocess.run([str(fake), "--help"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("usage: tlsweep-report"), p.stdout[:200]
    assert "--watch" in p.stdout
    p = subprocess.run([str(fake), "a.h5", "b.h5", "--watch", "-o", str(tmp_path / "o")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and "tlsweep-report: error: --watch takes one results file" in p.stderr, p.stderr
