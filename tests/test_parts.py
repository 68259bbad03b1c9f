"""Several jobs feed one sweep: `run --part K/N` computes a share of the
grid, `merge` writes the one file a one-job run writes (same bits), and
refuses parts that do not make one sweep. Also: any key is an axis, and a
sub-cube of a swept grid equals the plain sweep; `status` of a running
sweep and `snapshot` of its results so far."""
import os
import re
import shutil
import socket
import subprocess
import time
import zlib

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import BIN, env, journal_bytes, mpirun, result_digest, run, tree_snapshot

GRID = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0,1,2]", "--set", "grid.train.lr=[0.001,0.01]", "--set", "train.epochs=4",
        "--set", "train.finetune_epochs=3", "--set", "data.n_source=120", "--set", "data.n_test=40"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("parts")
    whole = str(d / "whole.h5")
    mpirun(2, ["run", "-o", whole] + GRID)
    parts = []
    for k, ranks in ((1, 1), (2, 2), (3, 3)):  # any rank count per part
        path = str(d / f"part-{k}.h5")
        mpirun(ranks, ["run", "-o", path, "--part", f"{k}/3"] + GRID)
        parts.append(path)
    return d, whole, parts


def test_parts_share_the_grid_and_merge_to_the_one_job_result(sweep):
    d, whole, parts = sweep
    seen = []
    for k, path in enumerate(parts, 1):
        with h5py.File(path, "r") as f:
            assert f.attrs["part"] == f"{k}/3" and f.attrs["complete"] == 1
            idx = list(f["config"][()])
            assert idx == list(range(k - 1, 24, 3))  # balanced: 8 each
            seen += idx
    assert sorted(seen) == list(range(24))
    s = run(["status", parts[1]])
    assert "(part 2/3): 8 configurations: 8 done" in s.stdout
    out = str(d / "merged.h5")
    p = mpirun(2, ["merge"] + parts[::-1] + ["-o", out])  # in any order
    assert "merged 3 parts: 24 configurations: 24 done" in p.stderr
    assert result_digest(out) == result_digest(whole)
    with h5py.File(out, "r") as f:
        assert f.attrs["part"] == "1/1" and f.attrs["runs"] == 4  # three parts and the merge
        assert any("merge" in (c.decode() if isinstance(c, bytes) else c) for c in f.attrs["run_command"])
    # the merged file is a results file like any other
    assert run(["status", out]).stdout.strip().endswith("complete")


def test_merge_refuses_what_is_not_one_sweep(sweep, tmp_path):
    d, whole, parts = sweep
    not_hdf5 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_parts.py")
    other = str(tmp_path / "other-1.h5")
    mpirun(1, ["run", "-o", other, "--part", "1/3"] + GRID + ["--set", "train.epochs=3"])
    two = str(tmp_path / "two-1.h5")
    mpirun(1, ["run", "-o", two, "--part", "1/2"] + GRID)
    cases = [(parts[:2], "2 files given but"),  # missing part: --allow-partial merges what there is
             ([parts[0], parts[1], parts[1]], "given twice"),
             ([other, parts[1], parts[2]], "another configuration"),
             ([two, parts[1], parts[2]], "is part 1 of 2"),
             ([parts[0], parts[1], str(tmp_path / "missing.h5")], "missing.h5: (file): no such file"),
             ([parts[0], parts[1], str(d)], "(file): is a directory"),
             ([parts[0], parts[1], not_hdf5], "not a tlsweep results file (not an HDF5 file)")]
    for files, part in cases:
        before = tree_snapshot(tmp_path)
        p = mpirun(1, ["merge"] + files + ["-o", str(tmp_path / "m.h5")], check=False)
        assert p.returncode == 2 and part in p.stderr, (files, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and "allowed" in p.stderr, p.stderr
        assert tree_snapshot(tmp_path) == before


def _flip_byte(path, name):
    with h5py.File(path, "r+") as f:
        a = f[name][()]
        b = a.view(np.uint8).reshape(-1).copy()
        b[b.size // 2] ^= 0x10
        f[name][...] = b.view(a.dtype).reshape(a.shape)


def _swap_datasets(path, x, y):
    with h5py.File(path, "r+") as f:
        a, b = f[x][()], f[y][()]
        f[x][...], f[y][...] = b, a


def _swap_parts(path, other):
    with h5py.File(path, "r+") as f, h5py.File(other, "r+") as g:
        f.attrs["part"], g.attrs["part"] = g.attrs["part"], f.attrs["part"]


def _strip_sums(path):  # what a part written before checksums looks like
    with h5py.File(path, "r+") as f:
        f.visititems(lambda n, o: o.attrs.__delitem__("crc32") if "crc32" in o.attrs else None)


def _forge_count(path, name, value):
    with h5py.File(path, "r+") as f:
        f.attrs[name] = np.int64(value)


def test_merge_refuses_parts_changed_since_written(sweep, tmp_path):
    """Every variable of a part carries the CRC-32 of its values (FORMAT.md), and merge checks it:
    one flipped byte, two datasets swapped, two parts' `part` attributes swapped or a forged count
    is one line naming the file and the variable, exit 2, nothing written."""
    d, whole, parts = sweep
    with h5py.File(parts[1], "r") as f:  # the sum as FORMAT.md defines it, from the values
        text = lambda x: x.decode() if isinstance(x, bytes) else str(x)
        for name in ("acc_mmd", "confusion", "embeddings/target_x"):
            a = f[name][()]
            head = (f"tlsweep crc32 config_hash={text(f.attrs['config_hash'])} part={text(f.attrs['part'])} "
                    f"variable={name.split('/')[-1]}\n").encode()
            crc = zlib.crc32(a.astype(a.dtype.newbyteorder("<")).tobytes(), zlib.crc32(head))
            assert text(f[name].attrs["crc32"]) == f"{crc:08x}", name
    cases = [(lambda p: _flip_byte(p[1], "acc_mmd"), 1, "acc_mmd"),
             (lambda p: _flip_byte(p[0], "embeddings/source_features"), 0, "source_features"),
             (lambda p: _flip_byte(p[2], "confusion"), 2, "confusion"),
             (lambda p: _swap_datasets(p[1], "acc_mmd", "acc_scratch"), 1, "acc_"),
             (lambda p: _swap_parts(p[0], p[2]), None, "CRC-32"),
             (lambda p: _forge_count(p[1], "n_failed", 2), 1, "n_failed: 2, but its status variable says 0"),
             (lambda p: _strip_sums(p[2]), 2, "no crc32 attribute")]
    for i, (damage, which, words) in enumerate(cases):
        work = tmp_path / f"case-{i}"
        work.mkdir()
        copies = [str(work / os.path.basename(p)) for p in parts]
        for p, c in zip(parts, copies):
            shutil.copy(p, c)
        damage(copies)
        before = tree_snapshot(work)
        for ranks in (1, 2):
            p = mpirun(ranks, ["merge"] + copies + ["-o", str(work / "m.h5")], check=False)
            assert p.returncode == 2 and words in p.stderr, (i, p.stderr)
            assert len(p.stderr.strip().splitlines()) == 1, p.stderr
            named = copies if which is None else [copies[which]]
            assert any(c + ":" in p.stderr for c in named), p.stderr
            assert tree_snapshot(work) == before
    # undamaged copies merge (the check is of the values, not of where the file lies)
    work = tmp_path / "intact"
    work.mkdir()
    copies = [shutil.copy(p, str(work / os.path.basename(p))) for p in parts]
    mpirun(2, ["merge"] + copies + ["-o", str(work / "m.h5")])
    assert result_digest(str(work / "m.h5")) == result_digest(whole)


def test_a_merge_removes_what_killed_merges_left(sweep, tmp_path):
    """A merge writes .OUT.tmp-PID@HOST and renames it; killed, it leaves that file (14 MB in the
    field). The next write of OUT removes the ones of this host whose process is gone, and keeps a
    live process's and another host's."""
    d, whole, parts = sweep
    host = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f".m.h5.tmp-{gone.pid}@{host}"
    stale.write_bytes(b"\0" * 3_000_000)
    kept = [tmp_path / f".m.h5.tmp-{os.getpid()}@{host}", tmp_path / f".m.h5.tmp-{gone.pid}@elsewhere",
            tmp_path / f".other.h5.tmp-{gone.pid}@{host}"]
    for k in kept:
        k.write_bytes(b"x")
    p = mpirun(2, ["merge"] + parts + ["-o", str(tmp_path / "m.h5")])
    assert not stale.exists() and all(k.exists() for k in kept)
    assert f"removed {stale} (3.0 MB), left by a write that was killed" in p.stderr, p.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(["m.h5"] + [k.name for k in kept])


def test_missing_parts_merge_only_when_allowed(sweep, tmp_path):
    """Too few parts: the refusal names --allow-partial, which merges the parts there are, the
    missing part's configurations pending (fill values) and the others' as in the whole sweep."""
    d, whole, parts = sweep
    out = str(tmp_path / "m.h5")
    p = mpirun(1, ["merge", parts[0], parts[2], "-o", out], check=False)
    assert p.returncode == 2 and "2 files given but" in p.stderr and "--allow-partial" in p.stderr, p.stderr
    p = mpirun(2, ["merge", "--allow-partial", parts[2], parts[0], "-o", out])
    assert "merged 2 parts (the others missing): 24 configurations: 16 done, 0 failed, 8 pending" in p.stderr
    a, b = xr.open_dataset(out), xr.open_dataset(whole)
    st = a.status.values.ravel()
    assert (st[1::3] == 0).all() and (st[0::3] == 1).all() and (st[2::3] == 1).all()  # part 2 is every 3rd
    assert int(a.attrs["complete"]) == 0 and int(a.attrs["n_pending"]) == 8
    for v in ("acc_mmd", "acc_scratch", "mmd2_input"):
        x, y = a[v].values.reshape(-1), b[v].values.reshape(-1)
        assert np.isnan(x[1::3]).all() and np.array_equal(np.delete(x, np.s_[1::3]), np.delete(y, np.s_[1::3]))
    st = run(["status", out], check=False)
    assert st.returncode == 75 and "8 pending" in st.stdout


def test_incomplete_parts_merge_only_when_allowed(sweep, tmp_path):
    d, whole, parts = sweep
    slow = GRID
    partial = str(tmp_path / "part-2.h5")
    # a limit of 5 s admits no configuration whatever the engine's speed (the
    # scheduler keeps 5 s for writing the file): the part ends all pending
    p = mpirun(2, ["run", "-o", partial, "--part", "2/3", "--time-limit", "5"] + slow, check=False)
    assert p.returncode == 75, p.stderr
    assert "time limit: nothing starts in its last 5 s, kept for writing the file" in p.stderr, p.stderr
    # the hints name the part: a resume without it is another sweep
    assert f"-o {partial} --part 2/3 --resume" in p.stderr, p.stderr
    st = run(["status", partial], check=False)
    assert st.returncode == 75 and f"-o {partial} --part 2/3 --resume" in st.stdout, st.stdout
    q = mpirun(1, ["run", "-o", partial, "--resume"], check=False)
    assert q.returncode == 2 and "began as part 2/3" in q.stderr and "--part 2/3" in q.stderr, q.stderr
    done = [str(tmp_path / f"part-{k}.h5") for k in (1, 3)]
    for k, path in zip((1, 3), done):
        mpirun(2, ["run", "-o", path, "--part", f"{k}/3"] + slow)
    files = [done[0], partial, done[1]]
    p = mpirun(1, ["merge"] + files + ["-o", str(tmp_path / "m.h5")], check=False)
    assert p.returncode == 2 and "pending" in p.stderr and "--allow-partial" in p.stderr, p.stderr
    out = str(tmp_path / "m.h5")
    mpirun(1, ["merge", "--allow-partial"] + files + ["-o", out])
    ds = xr.open_dataset(out)
    st = ds.status.values
    assert (st == 0).any() and (st == 1).any() and int(ds.attrs["complete"]) == 0
    assert np.isnan(ds.acc_mmd.values[st == 0]).all()
    # the part resumes like a whole sweep, and then the merge is complete
    mpirun(2, ["run", "-o", partial, "--part", "2/3", "--resume"])
    os.remove(out)
    mpirun(1, ["merge"] + files + ["-o", out])
    ref = str(tmp_path / "ref.h5")
    mpirun(2, ["run", "-o", ref] + slow)
    assert result_digest(out) == result_digest(ref)


def test_a_sub_cube_of_a_swept_grid_equals_the_plain_sweep(tmp_path):
    """Keys that do not change the data leave every draw and the
    initialisation alone: the cube's lr=0.001, gamma=1 slice is the
    four-axis sweep, bit for bit."""
    base = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
            "--set", "grid.seed=[0,1]", "--set", "train.epochs=4", "--set", "train.finetune_epochs=3",
            "--set", "data.n_source=120", "--set", "data.n_test=40"]
    plain, cube = str(tmp_path / "plain.h5"), str(tmp_path / "cube.h5")
    mpirun(2, ["run", "-o", plain] + base)
    mpirun(2, ["run", "-o", cube, "--set", "grid.train.lr=[0.01,0.001]", "--set", "grid.mmd.gamma=[0.5,1,2]"] + base)
    a, b = xr.open_dataset(plain), xr.open_dataset(cube)
    sub = b.sel(train_lr=0.001, mmd_gamma=1.0)
    for v in a.data_vars:
        if v.startswith("seconds") or v in ("rank", "host", "reason"):
            continue
        x, y = a[v].values, sub[v].values
        assert x.shape == y.shape and np.array_equal(x.view(np.uint8) if x.dtype.kind == "f" else x,
                                                     y.view(np.uint8) if y.dtype.kind == "f" else y), v
    # and the data-side results do not depend on training keys: paired comparisons
    assert (b.acc_scratch.std("train_lr") == 0).all() and (b.mmd2_input.std("mmd_gamma") >= 0).all()
    assert np.array_equal(b.acc_direct.sel(train_lr=0.01).values, b.acc_direct.sel(train_lr=0.001).values)


def test_status_of_a_running_sweep_and_its_snapshot(tmp_path):
    out = str(tmp_path / "r.h5")
    state = out + ".tlsweep.d"
    slow = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
            "--set", "grid.seed=range(0,20)", "--set", "train.epochs=100", "--set", "output.sync_seconds=0.05"]
    hold = tmp_path / "hold"  # made once something is recorded: the sweep then starts nothing more
    p = subprocess.Popen(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + slow,
                         env=env(TLSWEEP_HOLD=str(hold)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    t = time.time()
    while not journal_bytes(state):
        assert p.poll() is None and time.time() - t < 60
        time.sleep(0.01)
    hold.touch()
    s = run(["status", out], check=False)
    assert s.returncode == 4, s.stdout + s.stderr
    assert re.search(r"running now: pid \d+ on \S+ since \S+; [\d.]+ configurations/s", s.stdout), s.stdout
    assert "resumable" not in s.stdout and "interrupted" not in s.stdout
    # the ETA: the configurations left x the mean wall time of this run's configurations / its ranks
    eta = re.search(r"ETA: about (.+) \((\d+) configurations left x ([\d.e+-]+) s per configuration, "
                    r"the mean of this run's (\d+), / 2 ranks\)", s.stdout)
    assert eta, s.stdout
    pending = int(re.search(r"(\d+) pending", s.stdout).group(1))
    assert int(eta.group(2)) == pending > 0 and int(eta.group(4)) == 80 - pending
    mean = float(eta.group(3))
    h, m, sec = (["0", "0"] + eta.group(1).split(":"))[-3:]  # M:SS or H:MM:SS
    said = 3600 * int(h) + 60 * int(m) + int(sec)
    snap = str(tmp_path / "snap.h5")
    q = run(["snapshot", out, "-o", snap], check=False)
    assert q.returncode == 0, q.stderr
    assert p.poll() is None, "the snapshot disturbed the running sweep"
    hold.unlink()
    so, se = p.communicate(timeout=300)
    assert p.returncode == 0, se
    a, b = xr.open_dataset(snap), xr.open_dataset(out)
    assert set(a.variables) == set(b.variables) and a.acc_mmd.dims == b.acc_mmd.dims  # the final layout
    # the mean is that of the configurations finished when status ran: within the file's range
    assert b.seconds_total.min() * 0.999 <= mean <= b.seconds_total.max() * 1.001, (mean, s.stdout)
    assert abs(said - pending * mean / 2) <= 1 + 0.01 * said, (said, pending, mean)  # mean has 3 digits
    done = a.status.values == 1
    assert done.any() and (a.status.values == 0).any()
    assert np.array_equal(a.acc_mmd.values[done], b.acc_mmd.values[done])
    assert np.isnan(a.acc_mmd.values[~done]).all()
