"""Nothing silently wrong: inputs that once gave wrong results with exit status 0 are refused
with one line or handled by a stated rule, and the results stay what an untouched run gives."""
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from tlstest import BIN, env, mpirun, result_digest

GRID = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0,1,2,3,4,5]", "--set", "train.epochs=60", "--set", "train.finetune_epochs=5",
        "--set", "output.sync_seconds=0.05", "--set", "output.embeddings=false"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("base") / "base.h5")
    mpirun(2, ["run", "-o", path] + GRID)
    return result_digest(path)


def interrupted(out):
    """A sweep of GRID killed once some records are in its journals: its state stays."""
    state = out + ".tlsweep.d"
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + GRID
    p = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t = time.time()
    def whole_record():
        from tlstest import journal_records
        names = os.listdir(state) if os.path.isdir(state) else []
        return any(x.startswith("journal-0") and any(len(r[2]) == r[1][5] for r in
                                                     journal_records(os.path.join(state, x))) for x in names)
    while time.time() - t < 120 and p.poll() is None and not whole_record():
        time.sleep(0.005)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    assert os.path.isdir(state) and not os.path.exists(out), "the run finished before it could be killed"
    return state


@pytest.mark.parametrize("stray", ["journal-zzz.bin", "journal-nodeB-000001-000000.bin",
                                   "journal-1000000-000000.bin", "journal-000001-000000.bin.bak"])
def test_stray_journal_names_do_not_move_results(baseline, tmp_path, stray):
    """A file named like a journal but not one of the state's own names (sorting after the new
    run's journals) once shifted rank 0's file indices at collection: --resume exited 0 with
    seeds holding other seeds' results."""
    out = str(tmp_path / "r.h5")
    state = interrupted(out)
    own = sorted(x for x in os.listdir(state) if x.startswith("journal-0"))
    with open(os.path.join(state, own[0]), "rb") as f:
        data = f.read()
    with open(os.path.join(state, stray), "wb") as f:  # a copy of a real journal under a stray name
        f.write(data)
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    assert p.returncode == 0, p.stderr
    assert result_digest(out) == baseline
    assert f"ignored 1 file that is not its own ({stray})" in p.stderr, p.stderr


def set_attr(path, name, value):
    import h5py
    with h5py.File(path, "r+") as f:
        del f.attrs[name]
        f.attrs.create(name, value, dtype=h5py.string_dtype())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tiny") / "t.h5")
    mpirun(1, ["run", "-o", path, "--set", "grid.shift=[0]", "--set", "grid.lambda=[0]",
               "--set", "grid.n_target=[4]", "--set", "grid.seed=[0,1]", "--set", "train.epochs=1",
               "--set", "train.finetune_epochs=1", "--set", "output.embeddings=false"])
    return path


@pytest.mark.parametrize("name,value", [("part", "1/1junk"), ("part", "2/1"), ("part", "1/"),
                                        ("config_hash", "zz"), ("config_hash", "0123456789abcdef0")])
def test_malformed_metadata_is_refused_naming_it(tiny, tmp_path, name, value):
    """A results file's root attributes are parsed once and checked: '1/1junk' once read as part
    1/1 (an unchecked "%d/%d"), and merge said "part: '1/1' is not K/N" of a file whose
    config_hash was garbage."""
    import shutil
    from tlstest import run
    bad = str(tmp_path / "bad.h5")
    shutil.copy(tiny, bad)
    set_attr(bad, name, value)
    for args in (["status", bad], ["run", "-o", bad, "--resume"], ["merge", bad, "-o", str(tmp_path / "m.h5")]):
        p = run(args, check=False)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2 and len(lines) == 1, (args, p.stderr)
        assert f"{bad}: {name}: '{value}' is not" in lines[0] and "allowed" in lines[0], (args, lines[0])


def forged(tmp_path, edit):
    """An interrupted sweep whose first journal record is edited with its CRC made valid again,
    then resumed: what the results file holds."""
    import struct
    from tlstest import META_BYTES, rewrite_record
    out = str(tmp_path / "r.h5")
    state = interrupted(out)
    from tlstest import journal_records
    journal = [os.path.join(state, x) for x in sorted(os.listdir(state)) if x.startswith("journal-0")
               and any(len(r[2]) == r[1][5] for r in journal_records(os.path.join(state, x)))][0]
    rewrite_record(journal, 0, lambda p: edit(p, META_BYTES, struct))
    p = mpirun(2, ["run", "-o", out, "--resume"], check=False)
    return out, p


def test_journal_negative_transfer_mlp_out_of_range_is_refused(baseline, tmp_path):
    """The journal's range check once left out negative_transfer_mlp (the store's had it): a
    record with 7 there reached the results file."""
    from tlstest import SCALAR
    out, p = forged(tmp_path, lambda b, m, st: st.pack_into("<i", b, m + SCALAR["negative_transfer_mlp"], 7))
    assert p.returncode == 0, p.stderr
    assert result_digest(out) == baseline  # the forged record was refused and computed again


def test_swept_shape_keys_size_the_file_by_their_largest_value(tmp_path):
    """A swept train.epochs, model.features or data.n_source once took the default's length (an
    epoch dimension of 100 for [2, 5], embeddings 25 times too large) and the disk estimate with it."""
    from tlstest import run
    grid = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[4]",
            "--set", "grid.seed=[0]", "--set", "grid.train.epochs=[2,5]", "--set", "grid.model.features=[4,8]",
            "--set", "grid.data.n_source=[50,80]", "--set", "train.finetune_epochs=2",
            "--set", "baselines.target_epochs=3", "--set", "data.n_test=20"]
    p = run(["run", "--dry-run", "-o", str(tmp_path / "x.h5")] + grid)
    assert "epoch=5)" in p.stdout and "source_point=80, feature=8)" in p.stdout, p.stdout
    out = str(tmp_path / "r.h5")
    mpirun(2, ["run", "-o", out] + grid)
    import h5py
    with h5py.File(out, "r") as f:
        assert f["ce_epoch"].shape[-1] == 5 and f["embeddings/source_features"].shape[-2:] == (80, 8)
        ce = f["ce_epoch"][()]  # epochs [2, 5]: the 2-epoch configurations hold 3 fill values
        assert np.isnan(ce[..., 0, :, :, 2:]).all() and np.isfinite(ce[..., 1, :, :, :]).all()


def write_data(path, n=60, dim=2, classes=3, seed=0):
    import h5py
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = (rng.normal(size=(n, dim)) + 3 * np.eye(dim)[y % dim]).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["X"] = X
        f["y"] = y.astype(np.int32)


def test_every_grid_point_sees_all_the_labels(tmp_path):
    """grid.data.classes [2, 3] with 3-class files once exited 0: the classes = 2 configurations
    trained and scored on label 2 and their confusion matrices counted 18 of 30 test points."""
    from tlstest import run
    src, tgt = str(tmp_path / "s.h5"), str(tmp_path / "t.h5")
    write_data(src), write_data(tgt, seed=1)
    files = ["--set", f"data.source={src}", "--set", f"data.target={tgt}", "--set", "grid.n_target=[6]"]
    p = run(["run", "-o", str(tmp_path / "r.h5"), "--set", "grid.data.classes=[2,3]"] + files, check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "labels go up to 2, but grid.data.classes includes 2" in lines[0] and "allowed" in lines[0]
    assert not os.path.exists(tmp_path / "r.h5")
    run(["run", "--dry-run", "-o", str(tmp_path / "r.h5"), "--set", "grid.data.classes=[3]"] + files)


def test_different_data_on_different_ranks_is_refused(tmp_path):
    """A stale node-local copy at the same path: 7 of 16 configurations were once computed on
    other data, and the file's data_source_crc32 was rank 1's. Here the two ranks run in
    different directories (mpirun's MPMD form) and read the relative path data/t.h5 there."""
    for d, seed in (("a", 1), ("b", 2)):
        (tmp_path / d / "data").mkdir(parents=True)
        write_data(str(tmp_path / d / "data" / "s.h5"))
        write_data(str(tmp_path / d / "data" / "t.h5"), seed=1 if d == "a" else seed)
    out = str(tmp_path / "r.h5")
    args = ["run", "-o", out, "--set", "data.source=data/s.h5", "--set", "data.target=data/t.h5",
            "--set", "data.classes=3", "--set", "grid.n_target=[6]", "--set", "grid.shift=[0]",
            "--set", "grid.lambda=[0]", "--set", "train.epochs=1", "--set", "train.finetune_epochs=1"]
    cmd = ["mpirun", "-q", "--oversubscribe", "-n", "1", "-wdir", str(tmp_path / "a"), BIN] + args + \
          [":", "-n", "1", "-wdir", str(tmp_path / "b"), BIN] + args
    p = subprocess.run(cmd, env=env(OMPI_MCA_mpi_yield_when_idle="1"), capture_output=True, text=True,
                       timeout=300)
    lines = [x for x in p.stderr.splitlines() if x.startswith("tlsweep")]
    assert p.returncode != 0 and len(lines) == 1, p.stderr
    assert "data/t.h5: data.target: rank 1 on " in lines[0] and "differs between ranks" in lines[0], lines[0]
    assert not os.path.exists(out) and not os.path.exists(out + ".tlsweep.d")
    # the same data everywhere runs
    write_data(str(tmp_path / "b" / "data" / "t.h5"), seed=1)
    p = subprocess.run(cmd, env=env(OMPI_MCA_mpi_yield_when_idle="1"), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("what", ["acc 5.0", "acc NaN though done", "negative confusion count"])
def test_journal_values_out_of_range_are_refused(baseline, tmp_path, what):
    """Journal records with a valid CRC once carried acc 5.0, NaN with status done and negative
    confusion counts into the results file. One range check per field (result.h's table), used
    wherever results are read: such a record is refused and computed again."""
    from tlstest import META_BYTES, SCALAR, SCALARS_BYTES
    scalars = META_BYTES
    arrays = scalars + SCALARS_BYTES
    edits = {"acc 5.0": lambda b, m, st: st.pack_into("<d", b, m + SCALAR["acc"] + 16, 5.0),
             "acc NaN though done": lambda b, m, st: st.pack_into("<d", b, m + SCALAR["acc"] + 16, float("nan")),
             "negative confusion count": lambda b, m, st: st.pack_into("<i", b, arrays, -5)}
    out, p = forged(tmp_path, edits[what])
    assert p.returncode == 0, p.stderr
    assert result_digest(out) == baseline


def set_value(path, name, index, value):
    import h5py
    with h5py.File(path, "r+") as f:
        d = f[name][()]
        d.flat[index] = value
        f[name][...] = d


def reseal(path, names):
    """Recomputes the crc32 attributes of numeric variables `names` (docs/FORMAT.md) and the counts
    from `status`: a file as a tlsweep with a bug could write it, past merge's checksums."""
    import zlib
    import h5py
    text = lambda x: x.decode() if isinstance(x, bytes) else str(x)
    with h5py.File(path, "r+") as f:
        for name in names:
            a = f[name][()]
            head = (f"tlsweep crc32 config_hash={text(f.attrs['config_hash'])} part={text(f.attrs['part'])} "
                    f"variable={name}\n").encode()
            f[name].attrs["crc32"] = f"{zlib.crc32(a.astype(a.dtype.newbyteorder('<')).tobytes(), zlib.crc32(head)):08x}"
        st = f["status"][()].ravel()
        f.attrs["n_done"], f.attrs["n_failed"] = np.int64((st == 1).sum()), np.int64((st == 2).sum())
        f.attrs["n_pending"] = np.int64((st == 0).sum())
        f.attrs["complete"] = np.int64((st == 0).sum() == 0)


@pytest.mark.parametrize("name,value", [("acc_mmd", 7.5), ("status", 9), ("acc_scratch", -0.5)])
def test_results_file_values_out_of_range_are_refused(tiny, tmp_path, name, value):
    """merge once took a part with acc_mmd 7.5 or status 9, and --resume took over a results file
    with acc_mmd 7.5, with exit status 0; out-of-range values gave exit 1 and source lines."""
    import shutil
    from tlstest import run
    bad = str(tmp_path / "bad.h5")
    shutil.copy(tiny, bad)
    set_value(bad, name, 1, value)
    set_value(bad, "status", 0, 0)  # one configuration pending: --resume takes over the others
    reseal(bad, sorted({name, "status"}))  # past merge's checksums: the range check's turn
    for args in (["merge", "--allow-partial", bad, "-o", str(tmp_path / "m.h5")], ["run", "-o", bad, "--resume"]):
        p = run(args, check=False)
        lines = [x for x in p.stderr.strip().splitlines()]
        assert p.returncode == 2 and len(lines) == 1, (args, p.stderr)
        assert f"{bad}: (values): " in lines[0] and "out of range" in lines[0] and "seed=1" in lines[0], lines[0]
        assert ".c:" not in lines[0] and not os.path.exists(bad + ".tlsweep.d")
        assert not os.path.exists(tmp_path / "m.h5")
