"""Reliability, round 2: what an adversarial test broke. Each test shows a
promise kept: no work lost or misreported (long paths, a missing or
deleted state, disk full, durable completion, damaged and foreign
journals, interrupted clean-up), and bad input refused before any work."""
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import time
import zlib

import h5py
import numpy as np
import pytest

from tlstest import BIN, env, journal_bytes, mpirun, result_digest, run, tree_snapshot

GRID = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9]", "--set", "train.epochs=60", "--set", "train.finetune_epochs=5",
        "--set", "output.sync_seconds=0.05"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("base") / "base.h5")
    mpirun(2, ["run", "-o", path] + GRID)
    return result_digest(path)


def interrupted(out, seconds="6"):
    p = mpirun(2, ["run", "-o", out, "--time-limit", seconds] + GRID, check=False)
    assert p.returncode == 75, p.stderr
    with h5py.File(out, "r") as f:
        assert 0 < f.attrs["n_pending"] < 40
    return p


def one_line(p, code, *parts):
    lines = [x for x in p.stderr.strip().splitlines() if x.startswith("tlsweep") and "/40 done" not in x]
    assert p.returncode == code, (p.returncode, p.stderr)
    for part in parts:
        assert part in p.stderr, (part, p.stderr)
    return lines


# 1 -----------------------------------------------------------------------------------------

def test_long_output_path_completes_and_resumes(baseline, tmp_path):
    """Open MPI 4.1's shared-file-pointer component overflows a buffer for
    paths of about 225 characters: the results file is opened by a short
    relative name, whatever the path."""
    deep = tmp_path / "/".join(["d" * 60] * 5)
    deep.mkdir(parents=True)
    out = str(deep / "results.h5")
    assert len(out) > 300
    interrupted(out)
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert p.returncode == 0, p.stderr
    assert result_digest(out) == baseline


# 2 -----------------------------------------------------------------------------------------

def test_resume_without_state_takes_over_the_file(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    interrupted(out)
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    shutil.copy(out, copy / "r.h5")  # the file alone, as on another machine
    shutil.rmtree(out + ".tlsweep.d")
    for path in (out, str(copy / "r.h5")):
        s = run(["status", path], check=False)
        assert s.returncode == 75 and "pending" in s.stdout and s.stdout.split("\n")[1].startswith("incomplete")
        p = mpirun(2, ["run", "-o", path, "--resume"], check=False)  # no CONFIG: the file's own
        assert p.returncode == 0, p.stderr
        assert "took over the results the file holds" in p.stderr and "already recorded" in p.stderr
        assert result_digest(path) == baseline
        with h5py.File(path, "r") as f:
            assert f.attrs["runs"] == 2  # the interrupted run and this one, from the file's provenance


@pytest.mark.parametrize("left", [["lock"], ["lock", "config.yaml", "runs.txt"], ["lock", "manifest", "config.yaml"]])
def test_every_instant_of_clean_up_reads_as_complete(baseline, tmp_path, left):
    """Clean-up removes the state only after the complete file is in place:
    whatever a kill leaves of the state, status says complete and --resume
    finishes at once, recomputing nothing."""
    out = str(tmp_path / "r.h5")
    interrupted(out)
    state = out + ".tlsweep.d"
    saved = {n: open(os.path.join(state, n), "rb").read() for n in os.listdir(state) if n in left}
    assert mpirun(2, ["run", "-o", out, "--resume"], check=False).returncode == 0
    assert not os.path.exists(state)
    os.mkdir(state)
    for n, b in saved.items():
        open(os.path.join(state, n), "wb").write(b)
    s = run(["status", out], check=False)
    assert s.returncode == 0 and s.stdout.strip().endswith("complete"), s.stdout
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert p.returncode == 0 and "complete: nothing to resume" in p.stderr, p.stderr
    assert not os.path.exists(state)
    assert result_digest(out) == baseline


# 3 -----------------------------------------------------------------------------------------

def test_deleted_state_during_a_run_is_said_and_kept(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    hold = tmp_path / "hold"  # made once something is recorded: the sweep then starts nothing more
    p = subprocess.Popen(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + GRID,
                         env=env(TLSWEEP_HOLD=str(hold)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    t = time.time()
    while not journal_bytes(state):
        assert p.poll() is None and time.time() - t < 60
        time.sleep(0.01)
    hold.touch()
    shutil.rmtree(state)
    hold.unlink()
    so, se = p.communicate(timeout=120)
    assert p.returncode == 75, se
    said = [x for x in se.splitlines() if "was deleted" in x]
    assert len(said) == 1 and state in said[0], se
    assert "HDF5" not in se and "resumable from" not in se
    with h5py.File(out, "r") as f:
        kept = int(f.attrs["n_done"])
    assert kept > 0  # this run's results were saved again
    q = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert q.returncode == 0, q.stderr
    m = re.search(r"(\d+) of 40 configurations already recorded", q.stderr)
    assert m and int(m.group(1)) >= kept
    assert result_digest(out) == baseline


# 4 -----------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    d = tmp_path / "disk"
    d.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(d)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def test_disk_full_while_writing_is_one_line_and_resumable(small_disk):
    out = str(small_disk / "r.h5")
    grid = ["--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9,10,11]", "--set", "grid.shift=[0,90]",
            "--set", "grid.lambda=[0]", "--set", "grid.n_target=[10]", "--set", "train.epochs=2",
            "--set", "train.finetune_epochs=2", "--set", "data.n_source=900"]
    # the journals fit, the results file beside them does not: --force skips the space check
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (2560 * 1024))
    p = mpirun(2, ["run", "-o", out, "--force"] + grid, check=False)
    assert p.returncode == 1, p.stderr
    lines = [x for x in p.stderr.splitlines() if "cannot write" in x]
    assert lines and all(re.search(r"rank \d: cannot write partial.h5: .*(space|No space|write failed)", x, re.I)
                         for x in lines), p.stderr
    assert "HDF5-DIAG" not in p.stderr and "Segmentation" not in p.stderr and "signal" not in p.stderr
    assert len(p.stderr.splitlines()) <= 8, p.stderr
    state = out + ".tlsweep.d"
    assert any(n.startswith("journal-") for n in os.listdir(state))
    # the free-space check runs on --resume too
    r = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert r.returncode == 2 and "free" in r.stderr, r.stderr
    ballast.unlink()
    r = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert r.returncode == 0, r.stderr
    assert "0 of 24 configurations" not in r.stderr  # nothing was recomputed ...
    assert re.search(r"24 of 24 configurations already recorded", r.stderr), r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1


def test_disk_full_while_journalling_is_one_line_naming_rank_host_file_and_cause(small_disk):
    """A journal that cannot be written printed 6 to 8 lines with source paths and a C expression
    and named no rank: now one line, the first failing rank's, and the sweep resumes."""
    out = str(small_disk / "r.h5")
    grid = ["--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9,10,11]", "--set", "grid.shift=[0,90]",
            "--set", "grid.lambda=[0]", "--set", "grid.n_target=[10]", "--set", "train.epochs=2",
            "--set", "train.finetune_epochs=2", "--set", "data.n_source=900"]
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (5900 * 1024))  # not even the journals fit: --force skips the check
    p = mpirun(2, ["run", "-o", out, "--force"] + grid, check=False)
    assert p.returncode == 1, p.stderr
    said = [x for x in p.stderr.splitlines() if x.startswith("tlsweep:")
            and not re.search(r"\d+/24 done|configurations on 2 ranks", x)]
    assert len(said) == 1, p.stderr
    host = socket.gethostname()
    assert re.search(rf"rank \d on {re.escape(host)}: cannot (append to|sync) \S+/journal-000001-00000\d\.bin: "
                     r"No space left on device; the sweep is resumable", said[0]), said[0]
    assert ".c:" not in p.stderr and "failed (code" not in p.stderr, p.stderr
    ballast.unlink()
    r = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1


# 5 -----------------------------------------------------------------------------------------

def test_completion_is_durable_in_order(tmp_path):
    """fsync of the new file, rename into place, fsync of the directory, and
    only then the journals go."""
    if not shutil.which("strace"):
        pytest.skip("strace not installed")
    out = str(tmp_path / "r.h5")
    trace = str(tmp_path / "trace")
    args = ["run", "-o", out, "--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.seed=[0]",
            "--set", "train.epochs=1", "--set", "train.finetune_epochs=1"]
    p = subprocess.run(["strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat",
                        "-o", trace, BIN] + args, env=env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    events = []
    for line in open(trace):
        if "partial.h5" in line and line.split()[1].startswith("fsync"):
            events.append("fsync-file")
        elif re.search(r"rename\w*\(.*partial\.h5.*r\.h5", line):
            events.append("rename")
        elif line.split()[1].startswith("fsync") and re.search(rf"<{re.escape(str(tmp_path))}>\)", line):
            events.append("fsync-dir")
        elif "unlink" in line and "journal-" in line:
            events.append("unlink-journal")
    first = {e: events.index(e) for e in set(events)}
    assert {"fsync-file", "rename", "fsync-dir", "unlink-journal"} <= set(first), events
    assert first["fsync-file"] < first["rename"] < first["fsync-dir"] < first["unlink-journal"], events


# 6 -----------------------------------------------------------------------------------------

def records(path):
    """(offset, header) of the records of a journal file (40-byte headers)."""
    data = open(path, "rb").read()
    out, at = [], 0
    while at + 40 <= len(data):
        magic, version, hdr, sid, idx, payload, crc, zero = struct.unpack_from("<IHHQqQII", data, at)
        assert magic == 0x52534C54
        out.append((at, (sid, idx, payload)))
        at += 40 + payload
    return out, data


def test_flipped_byte_loses_one_record_and_foreign_journals_are_refused(baseline, tmp_path):
    out = str(tmp_path / "r.h5")
    interrupted(out)
    state = out + ".tlsweep.d"
    journal = os.path.join(state, sorted(n for n in os.listdir(state) if n.startswith("journal-"))[0])
    recs, data = records(journal)
    assert len(recs) >= 3
    at = recs[1][0] + 40 + 100  # inside the second record's payload
    data = bytearray(data)
    data[at] ^= 0xFF
    open(journal, "wb").write(bytes(data))
    # a journal of another sweep copied in: a valid record, another sweep's identity
    other = str(tmp_path / "other.h5")
    interrupted(other)
    ostate = other + ".tlsweep.d"
    foreign = sorted(n for n in os.listdir(ostate) if n.startswith("journal-"))[0]
    shutil.copy(os.path.join(ostate, foreign), os.path.join(state, "journal-000001-000099.bin"))
    with h5py.File(out, "r") as f:
        done_before = int(f.attrs["n_done"])
    s = run(["status", out], check=False)
    assert s.returncode == 75 and "of another sweep refused" in s.stdout
    m = re.search(r"(\d+) done", s.stdout)
    assert int(m.group(1)) == done_before - 1, s.stdout  # exactly the damaged record is lost
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert p.returncode == 0 and "of another sweep refused" in p.stderr, p.stderr
    assert re.search(rf"{done_before - 1} of 40 configurations already recorded", p.stderr), p.stderr
    assert result_digest(out) == baseline


def test_holes_in_a_journal_are_skipped_unread(baseline, tmp_path):
    """A journal with 8 GiB of holes (a sparse file: never written, zeros when read) before its
    records and 4 GiB between them: the scan for the next record skipped nothing and read every
    zero (20 s); now it seeks past the holes, and every record is found."""
    out = str(tmp_path / "r.h5")
    interrupted(out)
    state = out + ".tlsweep.d"
    journal = os.path.join(state, sorted(n for n in os.listdir(state) if n.startswith("journal-"))[0])
    recs, data = records(journal)
    assert len(recs) >= 2
    with open(journal, "wb") as f:
        f.seek(8 << 30)
        f.write(data[:recs[1][0]])
        f.seek(4 << 30, os.SEEK_CUR)
        f.write(data[recs[1][0]:])
    assert os.stat(journal).st_blocks * 512 < 1 << 30  # sparse indeed
    with h5py.File(out, "r") as f:
        done_before = int(f.attrs["n_done"])
    t = time.monotonic()
    s = run(["status", out], check=False)
    assert time.monotonic() - t < 5
    assert s.returncode == 75 and f"{done_before} done" in s.stdout, s.stdout
    p = mpirun(2, ["run", "-o", out, "--resume"])
    assert re.search(rf"{done_before} of 40 configurations already recorded", p.stderr), p.stderr
    assert result_digest(out) == baseline


# 11 ----------------------------------------------------------------------------------------

def test_crafted_journal_record_outside_the_grid_is_refused(tmp_path):
    out = str(tmp_path / "r.h5")
    interrupted(out)
    state = out + ".tlsweep.d"
    journal = os.path.join(state, sorted(n for n in os.listdir(state) if n.startswith("journal-"))[0])
    recs, data = records(journal)
    at, (sid, idx, payload) = recs[0]
    body = bytearray(data[at + 40:at + 40 + payload])
    struct.pack_into("<q", body, 0, 10 ** 9)  # the meta's index
    version = struct.unpack_from("<IH", data, at)[1]  # the journal format this build writes
    header = struct.pack("<IHHQqQII", 0x52534C54, version, 40, sid, 10 ** 9, payload, 0, 0)
    crc = zlib.crc32(bytes(body), zlib.crc32(header))
    header = struct.pack("<IHHQqQII", 0x52534C54, version, 40, sid, 10 ** 9, payload, crc, 0)
    with open(journal, "ab") as f:
        f.write(header + bytes(body))
    s = run(["status", out], check=False)
    assert s.returncode == 75 and "40 configurations" in s.stdout
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert p.returncode == 0, p.stderr


def test_crafted_results_file_is_refused(tmp_path):
    out = str(tmp_path / "r.h5")
    mpirun(1, ["run", "-o", out, "--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.seed=[0,1]",
               "--set", "train.epochs=1", "--set", "train.finetune_epochs=1"])
    for crafted in ("status", "config_yaml"):
        bad = str(tmp_path / f"{crafted}.h5")
        shutil.copy(out, bad)
        with h5py.File(bad, "a") as f:
            if crafted == "status":
                del f["status"]
                f.create_dataset("status", data=np.ones((1000, 1000), dtype=np.int8))
            else:
                f.attrs["config_yaml"] = "grid: {seed: [" + ", ".join(map(str, range(5000))) + "]}\n"
        s = run(["status", bad], check=False)
        assert s.returncode == 2 and len(s.stderr.strip().splitlines()) == 1, s.stderr
        assert "allowed" in s.stderr
        p = mpirun(1, ["run", "-o", bad, "--resume"], check=False)
        assert p.returncode == 2 and "allowed" in p.stderr, p.stderr


def test_edited_configuration_text_is_refused(tmp_path):
    """A file whose config_yaml was edited into another grid of the same shape
    (seeds 1, 2 in place of 0, 1) no longer hashes to its config_hash:
    status and merge refuse it in one line (they used to label the results
    with the edited seeds, and merge gave the edit a new, valid hash)."""
    tiny = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.n_target=[10]",
            "--set", "grid.seed=[0,1]", "--set", "train.epochs=0", "--set", "train.finetune_epochs=0"]
    parts = [str(tmp_path / f"p{k}.h5") for k in (1, 2)]
    for k, part in enumerate(parts, 1):
        mpirun(1, ["run", "-o", part, "--part", f"{k}/2"] + tiny)
    with h5py.File(parts[0], "a") as f:
        text = f.attrs["config_yaml"]
        text = text.decode() if isinstance(text, bytes) else text
        assert "  seed: [0, 1]\n" in text
        f.attrs["config_yaml"] = text.replace("  seed: [0, 1]\n", "  seed: [1, 2]\n")
    s = run(["status", parts[0]], check=False)
    assert s.returncode == 2 and len(s.stderr.strip().splitlines()) == 1, s.stderr
    assert "config_yaml" in s.stderr and "config_hash" in s.stderr and "allowed" in s.stderr
    m = mpirun(1, ["merge"] + parts + ["-o", str(tmp_path / "m.h5")], check=False)
    assert m.returncode == 2 and "config_hash" in m.stderr, m.stderr
    assert not (tmp_path / "m.h5").exists()
    assert run(["status", parts[1]], check=False).returncode == 0


def test_a_run_started_in_the_background_outlives_its_shell(tmp_path):
    """tlsweep run started from a shell that then ends (setsid -f, nohup ...
    &) runs to the end: only a launcher's child dies with its parent. It
    used to end at once without a word (parent already gone) or be killed
    with the shell."""
    out, log = tmp_path / "bg.h5", tmp_path / "bg.log"
    cmd = (f"setsid -f {BIN} run -o {out} --set 'grid.shift=[0]' --set 'grid.lambda=[0]' "
           f"--set 'grid.seed=[0]' --set train.epochs=2 > {log} 2>&1")
    subprocess.run(["bash", "-c", cmd], check=True, env=env())
    for _ in range(600):
        if out.exists() and "wrote" in log.read_text():
            break
        time.sleep(0.1)
    assert "2 done" in log.read_text(), log.read_text()
    assert run(["status", str(out)]).returncode == 0


def test_ranks_die_with_a_killed_launcher(tmp_path):
    """SIGKILL of mpirun leaves no rank running on (writing journals that a
    resumed run would also write). With Open MPI 4.1 the ranks also lose
    their daemon and end; PR_SET_PDEATHSIG (set for a launcher's children
    only, see the test above) covers launchers that do not end them."""
    out = tmp_path / "k.h5"
    p = subprocess.Popen(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", str(out),
                          "--set", "train.epochs=200"], env=env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def ranks():
        mine = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"tlsweep") and str(out).encode() in argv:
                mine.append(pid)
        return mine

    for _ in range(300):
        if len(ranks()) == 2:
            break
        time.sleep(0.1)
    assert len(ranks()) == 2
    time.sleep(1)
    p.kill()
    p.wait()
    for _ in range(100):
        if not ranks():
            break
        time.sleep(0.1)
    assert not ranks(), "ranks outlived their launcher"


# 10, 12 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["empty", "directory", "slash", "long-name"])
def test_bad_outputs_are_refused_before_any_work(tmp_path, case):
    target = {"empty": "", "directory": str(tmp_path), "slash": str(tmp_path / "x") + "/",
              "long-name": str(tmp_path / ("r" * 250 + ".h5"))}[case]
    before = tree_snapshot(tmp_path)
    t = time.time()
    p = mpirun(1, ["run", "-o", target] + GRID, check=False)
    assert p.returncode == 2 and "allowed" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert tree_snapshot(tmp_path) == before


def test_seeds_stay_exact_and_options_are_checked(tmp_path):
    c = run(["config", "--set", "grid.seed=[9007199254740993,9007199254740992]"]).stdout
    assert "seed: [9007199254740992, 9007199254740993]" in c
    a = run(["one", "--seed", "9007199254740993", "--set", "train.epochs=1"]).stdout
    b = run(["one", "--seed", "9007199254740992", "--set", "train.epochs=1"]).stdout
    assert '"seed": 9007199254740993' in a and a != b
    for args, part in ((["run", "--time-limit", "0x10"], "--time-limit"),
                       (["run", "--retry-failed"], "needs --resume"),
                       (["run", "--force", "--resume"], "--force and --resume together"),
                       (["run", "--dryrun"], "did you mean --dry-run"),
                       (["one", "--part", "1/2"], "not an option of one")):
        p = run(args + ["-o", str(tmp_path / "x.h5")], check=False)
        assert p.returncode == 2 and part in p.stderr and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
    assert list(tmp_path.iterdir()) == []


def test_distance_points_does_not_size_buffers(tmp_path):
    """mmd.distance_points = 10^8 with 1000 points: nothing of 10^8 rows is allocated."""
    p = subprocess.run(["bash", "-c", f"ulimit -v 1500000; exec {BIN} one --set mmd.distance_points=100000000 "
                                      "--set train.epochs=1 --set train.finetune_epochs=1"],
                       capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 0, p.stderr


def test_fifo_and_directory_as_config_or_data(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (str(fifo), str(tmp_path)):
        p = run(["config", path], check=False)
        assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr
        p = run(["one", "--set", f"data.source={path}", "--set", f"data.target={path}"], check=False)
        assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr


@pytest.mark.parametrize("name,refused_by", [("journal-000001-000007.bin", "status resume"),
                                             ("manifest", "status resume"), ("lock", "resume"),
                                             ("config.yaml", "status"), ("runs.txt", ""), ("manifest.tmp", "")])
def test_a_fifo_in_the_state_directory_blocks_nothing(tmp_path, name, refused_by):
    """Opening a FIFO waits for a writer: status and --resume hung for ever on one named like a
    journal or a state file. Nothing but a regular file is opened: refused (naming it), or passed
    over where the file is optional or rewritten."""
    out = str(tmp_path / "r.h5")
    # a limit of 5 s admits no configuration: the sweep ends interrupted, its state kept
    p = mpirun(2, ["run", "-o", out, "--time-limit", "5", "--set", "output.embeddings=false"], check=False)
    assert p.returncode == 75, p.stderr
    fifo = os.path.join(out + ".tlsweep.d", name)
    if os.path.exists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)
    st = run(["status", out], check=False, timeout=30)
    rs = mpirun(1, ["run", "-o", out, "--resume", "--time-limit", "5"], check=False, timeout=60)
    for what, q in (("status", st), ("resume", rs)):
        text = q.stdout + q.stderr
        if what in refused_by:
            assert q.returncode in (1, 2) and "not a regular file" in text and name in text, (what, text)
            # one line: the journal reader's, without a second, vaguer one from its caller
            assert sum(l.startswith("tlsweep:") for l in text.splitlines()) == 1, (what, text)
        else:
            assert q.returncode == 75, (what, text)


def test_status_and_resume_read_a_damaged_state_alike(baseline, tmp_path):
    """A state that lost config.yaml: status says how to restore it and --resume writes it again (status read it
    as broken while --resume went on). A state that lost its manifest: status and --resume say the same line, exit
    2, nothing touched (status said the sweep may not have started, --resume that the directory did not exist)."""
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    interrupted(out)
    os.remove(os.path.join(state, "config.yaml"))
    s = run(["status", out], check=False)
    assert s.returncode == 2 and "--resume with the sweep's configuration writes it again" in s.stderr, s.stderr
    p = mpirun(2, ["run", "-o", out, "--resume", "--time-limit", "1"] + GRID, check=False)
    assert p.returncode == 75, p.stderr
    s = run(["status", out], check=False)
    assert s.returncode == 75 and "pending" in s.stdout, s.stdout + s.stderr
    os.remove(os.path.join(state, "manifest"))
    before = tree_snapshot(tmp_path)
    said = "manifest: missing, but the directory holds journals: a sweep's state that lost its manifest"
    s = run(["status", out], check=False)
    r = mpirun(2, ["run", "-o", out, "--resume"] + GRID, check=False)
    assert s.returncode == 2 and r.returncode == 2 and said in s.stderr and said in r.stderr, (s.stderr, r.stderr)
    assert s.stderr.split(": ", 2)[2] == [x for x in r.stderr.splitlines() if said in x][0].split(": ", 1)[1] + "\n"
    assert tree_snapshot(tmp_path) == before
    p = mpirun(2, ["run", "-o", out, "--force"] + GRID)
    assert result_digest(out) == baseline


def test_a_journal_of_run_999999_is_not_the_sweeps(tmp_path):
    """journal-999999-000000.bin made the next run 1 000 000 (a runs.txt of 143 MB, 22 s, and a
    journal name of 7 digits). Run numbers stop at 9999: a later journal is a stray, ignored with
    one line, and a state whose next run would pass 9999 is refused."""
    out = str(tmp_path / "r.h5")
    # a limit of 5 s admits no configuration: the sweep ends interrupted, its state kept
    p = mpirun(2, ["run", "-o", out, "--time-limit", "5", "--set", "output.embeddings=false"], check=False)
    assert p.returncode == 75, p.stderr
    state = out + ".tlsweep.d"
    shutil.copy(os.path.join(state, "journal-000001-000000.bin"), os.path.join(state, "journal-999999-000000.bin"))
    t = time.monotonic()
    q = mpirun(1, ["run", "-o", out, "--resume", "--time-limit", "5"], check=False)
    assert time.monotonic() - t < 20 and q.returncode == 75, q.stderr
    assert "ignored 1 file that is not its own (journal-999999-000000.bin)" in q.stderr, q.stderr
    assert os.path.exists(os.path.join(state, "journal-000002-000000.bin"))
    assert os.path.getsize(os.path.join(state, "runs.txt")) < 10_000
    os.remove(os.path.join(state, "journal-999999-000000.bin"))
    shutil.copy(os.path.join(state, "journal-000001-000000.bin"), os.path.join(state, "journal-009999-000000.bin"))
    q = mpirun(1, ["run", "-o", out, "--resume", "--time-limit", "5"], check=False)
    assert q.returncode == 2 and "this would be run 10000 of the sweep; allowed: at most 9999 runs" in q.stderr
    assert len(q.stderr.strip().splitlines()) == 1, q.stderr


def test_deeply_nested_yaml_is_one_line_at_once(tmp_path):
    """libyaml scans nested lists in time quadratic in the depth (100 000 levels took 57 s): the
    nesting is bounded at 64, refused as soon as it is passed, in a file, in --set and in a map."""
    flow = tmp_path / "deep.yaml"
    flow.write_text("grid:\n  seed: " + "[" * 100_000 + "1" + "]" * 100_000 + "\n")
    maps = tmp_path / "maps.yaml"
    maps.write_text("train:\n  epochs: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n")
    for args in (["config", str(flow)], ["config", str(maps)],
                 ["config", "--set", "train.epochs=" + "[" * 50_000 + "1" + "]" * 50_000]):  # one argument < 128 KiB
        t = time.monotonic()
        p = run(args, check=False, timeout=60)
        assert time.monotonic() - t < 5, args[:2]
        assert p.returncode == 2 and "nested more than 64 deep; allowed: at most 64" in p.stderr, p.stderr[:300]
        assert len(p.stderr.strip().splitlines()) == 1
    assert ":2: (syntax)" in run(["config", str(flow)], check=False).stderr
    ok = tmp_path / "ok.yaml"  # what a configuration nests stays allowed
    ok.write_text("grid:\n  seed: [0, 1]\n  train.lr: [0.01]\ntrain: {epochs: 3}\n")
    assert run(["config", str(ok)]).returncode == 0


def test_a_snapshot_is_not_written_where_the_sweep_deletes_or_writes(tmp_path):
    """A snapshot written into the state directory (or below it) went with it when the sweep
    completed; onto the sweep's own output it would stand in for the sweep's file."""
    out = str(tmp_path / "r.h5")
    # a limit of 5 s admits no configuration: the sweep ends interrupted, its state kept
    p = mpirun(2, ["run", "-o", out, "--time-limit", "5", "--set", "output.embeddings=false"], check=False)
    assert p.returncode == 75, p.stderr
    state = out + ".tlsweep.d"
    os.mkdir(os.path.join(state, "sub"))
    cases = [(os.path.join(state, "snap.h5"), "inside the sweep's state directory"),
             (os.path.join(state, "sub", "snap.h5"), "inside the sweep's state directory"),
             (os.path.join(state, "..", "r.h5.tlsweep.d", "s.h5"), "inside the sweep's state directory"),
             (out, "the sweep's own output")]
    for dest, words in cases:
        before = tree_snapshot(tmp_path)
        q = mpirun(1, ["snapshot", out, "-o", dest, "--force"], check=False)
        assert q.returncode == 2 and words in q.stderr and len(q.stderr.strip().splitlines()) == 1, q.stderr
        assert tree_snapshot(tmp_path) == before
    mpirun(1, ["snapshot", out, "-o", str(tmp_path / "snap.h5")])


def test_long_lists_load_in_n_log_n(tmp_path):
    """The duplicate check of 2 million seeds: O(n^2) would take hours."""
    cfg = tmp_path / "big.yaml"
    cfg.write_text("grid:\n  shift: [0]\n  lambda: [0]\n  n_target: [10]\n  seed: [" +
                   ", ".join(str(i) for i in range(2_000_000, 0, -1)) + "]\n")
    p = subprocess.run([BIN, "config", str(cfg)], capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 0 and "= 2000000 configurations" in p.stdout, p.stderr[-300:]
    cfg.write_text("grid:\n  seed: [" + ", ".join(str(i % 1_999_999) for i in range(2_000_000)) + "]\n")
    p = subprocess.run([BIN, "config", str(cfg)], capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 2 and "element 2000000 (0) repeats element 1" in p.stderr, p.stderr


def test_a_grid_too_large_is_refused_before_its_values_are_built(tmp_path):
    """Short range(...) texts stand for millions of values: once the axes
    held at once exceed what any grid of 10^8 configurations holds, the next
    axis is refused before it is built (six axes of 10^7 took 1.3 GB and 24 s
    before the grid's size was checked). Here the second axis is refused
    unbuilt: the peak stays near one axis's memory."""
    script = ("import resource, subprocess, sys\n"
              "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
              "print(p.stderr, end='')\n")
    p = subprocess.run(["/usr/bin/python3", "-c", script, BIN, "config",
                        "--set", "grid.seed=range(0, 5000000)",
                        "--set", "grid.data.n_source=range(2, 5200002)"],
                       capture_output=True, text=True, env=env(), timeout=300)
    first, err = p.stdout.split("\n", 1)
    rc, kib = map(int, first.split())
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "grid.data.n_source: 5200000 values, with the other axes' 5000010" in err, err
    assert "allowed: at most 100000000 configurations" in err
    assert kib < 450 * 1024, f"peak {kib / 1024:.0f} MiB: the second axis was built"


# a write error inside the final write ---------------------------------------------------------

SHIM = os.environ.get("TLSWEEP_WRITE_FAIL_SHIM",
                      os.path.join(os.path.dirname(BIN), "tests", "libwrite_fail_shim.so"))
SMALL = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
         "--set", "grid.seed=[0,1,2,3]", "--set", "train.epochs=2", "--set", "train.finetune_epochs=2",
         "--set", "output.embeddings=false"]


def failing_write(out, after, rank=None, count=None):
    """A 2-rank run of SMALL whose writes to partial.h5 fail with ENOSPC after `after` of them (on
    `rank` only, or on every rank), through tests/write_fail_shim.c."""
    extra = {"LD_PRELOAD": SHIM, "TLSWEEP_FAIL_NAME": "partial.h5", "TLSWEEP_FAIL_AFTER": str(after),
             "TLSWEEP_FAIL_RANK": "" if rank is None else str(rank), "TLSWEEP_FAIL_COUNT": count or "",
             "TLSWEEP_HDF5_WAIT_SECONDS": "5"}
    args = ["run", "-o", out] + SMALL + (["--resume"] if os.path.isdir(out + ".tlsweep.d") else [])
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe"] + sum((["-x", f"{k}={v}"] for k, v in extra.items()), [])
    return subprocess.run(cmd + [BIN] + args, capture_output=True, text=True, env=env(), timeout=120)


def test_a_write_error_inside_the_final_write_is_one_line_and_resumable(tmp_path):
    """A disk that stops taking writes (ENOSPC after the first ones) while the results file is
    written, wherever that happens -- creating the variables, writing them, flushing, closing, the
    strings rank 0 writes alone -- on every rank or on one: one line naming the rank, the file and
    the cause, exit status 1, the journals intact, and --resume then writes the file an untouched
    run writes. HDF5 1.10 once crashed in MPI_Finalize (a failed H5Fclose leaves it a freed file),
    and a failure on one rank left the others waiting forever inside HDF5."""
    if not os.path.exists(SHIM):
        pytest.skip("tests/write_fail_shim.c not built (cmake --build build)")
    clean = str(tmp_path / "clean.h5")
    counts = str(tmp_path / "writes")
    p = failing_write(clean, 10 ** 9, count=counts)
    assert p.returncode == 0, p.stderr
    writes = min(int(line.split()[1]) for line in open(counts))  # the fewest of a rank's writes
    assert writes > 20, writes
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    for after, rank in [(0, None), (writes // 3, None), (2 * writes // 3, None), (writes - 1, None),
                        (writes // 2, 1), (writes - 1, 0)]:
        p = failing_write(out, after, rank)
        said = [x for x in p.stderr.splitlines() if x.startswith("tlsweep") and "done (" not in x
                and "configurations on" not in x and "resuming" not in x]
        assert p.returncode == 1, (after, rank, p.returncode, p.stderr)
        assert not re.search(r"Segmentation|signal|HDF5-DIAG|infinite loop|\.c:\d", p.stderr), (after, p.stderr)
        assert re.fullmatch(r"tlsweep: rank \d: cannot write partial\.h5: No space left on device.*", said[0]), said
        if len(said) == 2:  # the way on, with the command that resumes the sweep
            assert said[1].endswith(f"then: mpirun -n 2 {BIN} run -o {out} --resume"), said
        else:  # one rank's failure left the others inside HDF5: the job ended
            assert len(said) == 1 and "the job ends here" in said[0], said
        assert not os.path.exists(out) and any(n.startswith("journal-") for n in os.listdir(state))
    r = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert r.returncode == 0 and "8 of 8 configurations already recorded" in r.stderr, r.stderr
    assert result_digest(out) == result_digest(clean)
