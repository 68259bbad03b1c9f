"""The sweep with the real binary under mpirun: results independent of the
rank count, a file that xarray / pandas / h5py / h5dump open as is, and
values equal to `tlsweep one` for the same configuration."""
import os
import subprocess

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import BIN, TINY, datasets, env, mpirun, one, result_digest, run


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    out = {}
    for n in (1, 2, 3):  # 3 ranks on 2 cores: oversubscribed
        path = str(d / f"r{n}.h5")
        p = mpirun(n, ["run", "-o", path] + TINY)
        assert "16 done, 0 failed, 0 pending" in p.stderr, p.stderr
        out[n] = path
    return out


def test_bitwise_identical_across_rank_counts(files):
    digests = {n: result_digest(p) for n, p in files.items()}
    assert digests[1] == digests[2] == digests[3], digests
    # and the ranks really shared the work
    with h5py.File(files[3], "r") as f:
        assert len(np.unique(f["rank"][()])) >= 2


def test_xarray_opens_labelled_cube(files):
    ds = xr.open_dataset(files[2], engine="h5netcdf")
    assert ds["acc_mmd"].dims == ("shift", "lambda", "n_target", "seed")
    np.testing.assert_array_equal(ds["shift"].values, [0, 90])
    np.testing.assert_array_equal(ds["lambda"].values, [0, 1])
    np.testing.assert_array_equal(ds["n_target"].values, [4, 10])
    np.testing.assert_array_equal(ds["seed"].values, [0, 1])
    assert list(ds["approach"].values) == ["scratch", "direct", "mmd", "target_mlp", "ensemble"]
    assert ds["confusion"].dims[-3:] == ("approach", "true_class", "pred_class")
    assert ds["ce_epoch"].sizes["epoch"] == 3
    assert (ds["status"].values == 1).all()
    assert int(ds.attrs["complete"]) == 1 and int(ds.attrs["n_done"]) == 16
    assert "grid:" in ds.attrs["config_yaml"]
    for m in ("scratch", "direct", "mmd"):
        acc = ds[f"acc_{m}"].values
        assert np.isfinite(acc).all() and ((acc >= 0) & (acc <= 1)).all()
        # confusion matrices add up to the test set and agree with the accuracy
        cm = ds["confusion"].sel(approach=m).values
        assert (cm.sum(axis=(-1, -2)) == 40).all()
        np.testing.assert_allclose(np.trace(cm, axis1=-2, axis2=-1) / 40, acc)
    df = ds[["acc_scratch", "acc_direct", "acc_mmd"]].to_dataframe()
    assert len(df) == 16 and list(df.index.names) == ["shift", "lambda", "n_target", "seed"]
    emb = xr.open_dataset(files[2], engine="h5netcdf", group="embeddings")
    assert emb["source_features"].shape == (2, 2, 2, 2, 120, 16)
    assert emb["target_x"].shape == (2, 2, 2, 2, 40, 2)


def test_values_equal_tlsweep_one(files):
    ds = xr.open_dataset(files[3], engine="h5netcdf")
    sets = []
    for a in TINY:
        if a != "--set":
            sets += ["--set", a]
    for shift, lam, nt, seed in [(90, 1, 4, 1), (0, 0, 10, 0)]:
        r = one("--shift", str(shift), "--lambda", str(lam), "--n-target", str(nt), "--seed", str(seed), *sets)
        cell = ds.sel(shift=shift, **{"lambda": lam}, n_target=nt, seed=seed)
        for k in ("acc_scratch", "acc_direct", "acc_mmd", "mmd2_input", "mmd2_feat_after", "pad_feat"):
            assert float(cell[k]) == r[k], (k, float(cell[k]), r[k])
        np.testing.assert_array_equal(cell["ce_epoch"].values, np.float32(r["ce_epoch"]))


def test_embeddings_are_the_inputs_and_features(files):
    with h5py.File(files[1], "r") as f:
        x = f["embeddings/source_x"][()]
        # the source set depends on the seed only: identical across shift, lambda, n_target
        assert (x == x[:1, :1, :1]).all()
        assert not (x[0, 0, 0, 0] == x[0, 0, 0, 1]).all()
        # target test inputs of shift 90 are those of shift 0 rotated by 90 degrees
        t0, t90 = f["embeddings/target_x"][0, 0, 0, 0], f["embeddings/target_x"][1, 0, 0, 0]
        np.testing.assert_allclose(t90[:, 0], -t0[:, 1], atol=1e-5)
        np.testing.assert_allclose(t90[:, 1], t0[:, 0], atol=1e-5)
        feats = f["embeddings/source_features"][()]
        assert (feats >= 0).all() and np.isfinite(feats).all()  # after ReLU


def test_hdf5_tools_read_it(files):
    for tool in (["h5dump", "-H"], ["h5ls", "-r"]):
        p = subprocess.run(tool + [files[2]], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "acc_mmd" in p.stdout


def test_existing_output_is_never_overwritten(files, tmp_path):
    target = tmp_path / "keep.h5"
    target.write_bytes(b"precious")
    p = mpirun(1, ["run", "-o", str(target)] + TINY, check=False)
    assert p.returncode == 2
    assert target.read_bytes() == b"precious"
    assert "--force" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = mpirun(1, ["run", "-o", str(target), "--force"] + TINY)
    with h5py.File(target, "r") as f:
        assert f.attrs["complete"] == 1


def test_dry_run_writes_nothing(tmp_path):
    out = tmp_path / "r.h5"
    p = mpirun(1, ["run", "--dry-run", "-o", str(out)])
    assert "120 configurations" in p.stdout and "estimate" in p.stdout
    assert list(tmp_path.iterdir()) == []


def test_mpiio_hints_are_passed_and_change_nothing(files, tmp_path):
    """Valid TLSWEEP_MPIIO_HINTS reach MPI-IO (collective buffering on for
    writes) and the file holds the same results."""
    path = str(tmp_path / "hints.h5")
    mpirun(2, ["run", "-o", path] + TINY,
           extra_env={"TLSWEEP_MPIIO_HINTS": "romio_cb_write=enable,cb_buffer_size=1048576"})
    assert result_digest(path) == result_digest(files[2])


def test_near_empty_configurations_at_scale(tmp_path):
    """No source training, no fine-tuning (dimensions of length 0), 3000
    configurations handed out in batches: the file is complete and every
    variable of a configuration reads back."""
    out = str(tmp_path / "r.h5")
    p = mpirun(2, ["run", "-o", out, "--batch", "64", "--set", "grid.seed=[" + ",".join(map(str, range(1000))) + "]",
                   "--set", "grid.shift=[0,90,180]", "--set", "grid.lambda=[0]", "--set", "grid.n_target=[2]",
                   "--set", "train.epochs=0", "--set", "train.finetune_epochs=0", "--set", "data.n_source=10",
                   "--set", "data.n_test=10"])
    assert "3000 done, 0 failed, 0 pending" in p.stderr, p.stderr
    ds = xr.open_dataset(out)
    assert ds.sizes["epoch"] == 0 and (ds.status.values == 1).all()
    assert np.isfinite(ds.acc_mmd.values).all() and np.isfinite(ds.acc_scratch.values).all()


@pytest.mark.parametrize("kind,shift,says", [
    ("rotation", "45", "the shift rotates the target"),
    ("translation", "1.5", "translates the target along (1, -1)/sqrt(2), in source class spreads"),
    ("scale", "2", "multiplies the target classes' spread"),
    ("label", "0.2", "class 0's share of the target test and labelled points (label shift)"),
    ("conditional", "0.3", "whose label becomes (y + 1) mod classes (conditional shift)"),
    ("[rotation, translation]", "1", "the shift is as data_shift_kind says"),
])
def test_data_mode_says_what_the_shift_does(tmp_path, kind, shift, says):
    """The root attribute data_mode says what the shift does for the configuration's
    data.shift_kind (it said 'rotates the target' whatever the kind), or, with the kind swept,
    that the data_shift_kind coordinate says."""
    key = f"grid.data.shift_kind={kind}" if kind.startswith("[") else f"data.shift_kind={kind}"
    path = str(tmp_path / "k.h5")
    run(["run", "-o", path, "--set", key, "--set", f"grid.shift=[{shift}]", "--set", "grid.lambda=[0]",
         "--set", "grid.n_target=[4]", "--set", "grid.seed=[0]", "--set", "train.epochs=1",
         "--set", "train.finetune_epochs=1", "--set", "baselines.target_epochs=2", "--set", "data.n_source=40",
         "--set", "data.n_test=20", "--set", "output.embeddings=false"])
    with h5py.File(path, "r") as f:
        mode = f.attrs["data_mode"]
    mode = mode.decode() if isinstance(mode, bytes) else mode
    assert mode.startswith("synthetic Gaussian domains: ") and says in mode, mode
    assert ("rotates" in mode) == (kind == "rotation")
