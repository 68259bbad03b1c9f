"""Real data: the digits benchmark built by analysis/datasets.py runs through
the real binary under mpirun, with accuracies far above chance at rotation
0, and bad data files get one clear line, exit 2 and nothing written."""
import os
import subprocess
import sys
import zlib

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import ROOT, mpirun, run, tree_snapshot


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    p = subprocess.run([sys.executable, "-m", "analysis.datasets", "digits", "-o", str(d)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return str(d / "digits_source.h5"), str(d / "digits_target.h5")


def data_sets(src, tgt):
    return ["--set", f"data.source={src}", "--set", f"data.target={tgt}"]


def test_dataset_script_writes_disjoint_halves(digits):
    with h5py.File(digits[0], "r") as s, h5py.File(digits[1], "r") as t:
        xs, xt = s["X"][()], t["X"][()]
        assert xs.shape == (898, 64) and xt.shape == (899, 64) and xs.dtype == np.float32
        assert set(s["y"][()]) == set(range(10)) == set(t["y"][()])
        assert list(s.attrs["image_shape"]) == [8, 8]
        rows = {r.tobytes() for r in xs}
        assert sum(r.tobytes() in rows for r in xt) < 5  # disjoint halves (a few digits repeat exactly)


def test_digits_sweep(digits, tmp_path):
    out = str(tmp_path / "digits.h5")
    cfg = os.path.join(ROOT, "configs", "digits-rotation.yaml")
    mpirun(2, ["run", cfg, "-o", out, "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0.5]",
               "--set", "grid.n_target=[50]", "--set", "grid.seed=[0,1]", "--set", "train.epochs=10"]
           + data_sets(*digits))
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert (ds["status"] == 1).all()
    at0 = ds.sel(shift=0)
    for m in ("scratch", "direct", "mmd"):
        assert float(at0[f"acc_{m}"].min()) > 0.6, m  # chance is 0.1
    assert float(ds["acc_direct"].sel(shift=90).max()) < 0.4  # a source SVM does not read rotated digits
    assert ds.attrs["data_mode"].startswith("image files")
    with open(digits[0], "rb") as f:
        assert ds.attrs["data_source_crc32"] == f"{zlib.crc32(f.read()):08x}"
    emb = xr.open_dataset(out, engine="h5netcdf", group="embeddings")
    assert emb["source_x"].shape[-2:] == (898, 64) and emb["target_x"].shape[-2:] == (400, 64)
    # labelled points are stratified: 5 of each class; the test set holds no labelled point
    y = emb["target_y"].values[0, 0, 0, 0]
    assert len(y) == 400 and set(y) == set(range(10))


def write(path, **arrays):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f[k] = v


BAD = {
    "no_y": (dict(X=np.zeros((50, 4), np.float32)), "no dataset y"),
    "no_X": (dict(y=np.zeros(50, np.int32)), "no dataset X"),
    "X_1d": (dict(X=np.zeros(50, np.float32), y=np.zeros(50, np.int32)), "X has 1 dimensions, not 2"),
    "rows_mismatch": (dict(X=np.zeros((50, 4), np.float32), y=np.zeros(40, np.int32)), "X has 50 rows but y has 40"),
    "nan": (dict(X=np.where(np.arange(200).reshape(50, 4) == 77, np.nan, 0).astype(np.float32),
                 y=np.arange(50, dtype=np.int32) % 2), "X[19, 1] is not finite"),
    "label_out_of_range": (dict(X=np.zeros((50, 4), np.float32), y=np.arange(50, dtype=np.int32) % 3),
                           "y[2] = 2 is outside 0..1"),
    "float_labels": (dict(X=np.zeros((50, 4), np.float32), y=np.zeros(50, np.float32)), "y is not an integer dataset"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_target_file(case, tmp_path):
    good = tmp_path / "good.h5"
    write(good, X=np.random.default_rng(0).random((60, 4), dtype=np.float32), y=np.arange(60, dtype=np.int32) % 2)
    arrays, message = BAD[case]
    bad = tmp_path / "bad.h5"
    write(bad, **arrays)
    out = tmp_path / "out"
    out.mkdir()
    before = tree_snapshot(tmp_path)
    p = run(["run", "-o", str(out / "r.h5"), "--set", "grid.n_target=[4]"] + data_sets(good, bad), check=False)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}: data.target: {message}" in lines[0] and "allowed" in lines[0], p.stderr
    assert tree_snapshot(tmp_path) == before


OTHER = [
    ("not_hdf5", "not an HDF5 file"),
    ("missing", "cannot read the file"),
    ("dim_mismatch", "X has 5 columns but the source file has 4"),
    ("too_few_per_class", "class 1 has 3 points, fewer than the 10 labelled points per class"),
    ("image_shape", "data.image_shape: [3, 3] is 9 pixels but the files have dim 4"),
    ("only_source", "data.target: missing"),
    ("n_source_too_many", "data.n_source: 100 but"),
]


@pytest.mark.parametrize("case,message", OTHER, ids=[c[0] for c in OTHER])
def test_bad_data_setup(case, message, tmp_path):
    good = tmp_path / "good.h5"
    write(good, X=np.random.default_rng(0).random((60, 4), dtype=np.float32), y=np.arange(60, dtype=np.int32) % 2)
    tgt, extra = str(good), ["--set", "grid.n_target=[4]"]
    if case == "not_hdf5":
        tgt = str(tmp_path / "text.h5")
        open(tgt, "w").write("hello")
    elif case == "missing":
        tgt = str(tmp_path / "nope.h5")
    elif case == "dim_mismatch":
        tgt = str(tmp_path / "five.h5")
        write(tgt, X=np.zeros((60, 5), np.float32), y=np.arange(60, dtype=np.int32) % 2)
    elif case == "too_few_per_class":
        tgt = str(tmp_path / "few.h5")
        write(tgt, X=np.zeros((33, 4), np.float32), y=(np.arange(33) >= 30).astype(np.int32))
        extra = ["--set", "grid.n_target=[20]"]
    elif case == "image_shape":
        extra += ["--set", "data.image_shape=[3,3]"]
    elif case == "n_source_too_many":
        extra += ["--set", "data.n_source=100"]
    args = ["run", "-o", str(tmp_path / "r.h5")] + extra
    args += ["--set", f"data.source={good}"] + ([] if case == "only_source" else ["--set", f"data.target={tgt}"])
    before = tree_snapshot(tmp_path)
    p = run(args, check=False)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "allowed" in lines[0], p.stderr
    assert tree_snapshot(tmp_path) == before
