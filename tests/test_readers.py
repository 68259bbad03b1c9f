"""The results file opens in every reader users have, and they all read the
same values: xarray with its default engine (netCDF4, since python3-netcdf4
is installed), engine="netcdf4" and engine="h5netcdf"; netCDF-C's ncdump
(-h, and -v of every variable); netCDF4.Dataset; h5py; h5dump. On a
complete file, a partial one (interrupted by --time-limit), one with failed
configurations, and one with extra axes of every type (number, integer,
boolean, string). Pending entries are fill values everywhere; numeric axes
ascending; provenance in the root attributes."""
import os
import re
import subprocess

import h5py
import netCDF4
import numpy as np
import pytest
import xarray as xr

from tlstest import BIN, env, mpirun

SMALL = ["--set", "train.epochs=3", "--set", "train.finetune_epochs=2", "--set", "data.n_source=60",
         "--set", "data.n_test=30"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("readers")
    out = {}
    out["complete"] = str(d / "complete.h5")
    mpirun(2, ["run", "-o", out["complete"], "--set", "grid.shift=[90,0,45]", "--set", "grid.lambda=[0.5,0]",
               "--set", "grid.n_target=[4]", "--set", "grid.seed=[0,1]"] + SMALL)
    out["axes"] = str(d / "axes.h5")
    mpirun(2, ["run", "-o", out["axes"], "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0.5]",
               "--set", "grid.n_target=[4]", "--set", "grid.seed=[0]",
               "--set", "grid.train.lr=[0.01,0.001]", "--set", "grid.train.batch_size=[64,32]",
               "--set", "grid.svm.shrinking=[true,false]", "--set", "grid.svm.gamma=[scale,auto,0.5]"] + SMALL)
    out["failed"] = str(d / "failed.h5")
    mpirun(2, ["run", "-o", out["failed"], "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]",
               "--set", "grid.n_target=[4]", "--set", "grid.seed=[0,1]"] + SMALL,
           extra_env={"TLSWEEP_FAULT": "1,6"}, check=True)
    # partial: interrupted by the time limit after a few configurations
    out["partial"] = str(d / "partial.h5")
    p = mpirun(2, ["run", "-o", out["partial"], "--time-limit", "6", "--set", "grid.shift=[0,90]",
                   "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
                   "--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9]", "--set", "train.epochs=60"], check=False)
    assert p.returncode == 75, p.stderr
    return out


def h5_values(path):
    """Every variable through h5py, fill values turned into NaN (floats) or kept (ints)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        dec = lambda x: np.array([v.decode() if isinstance(v, bytes) else ("" if v is None or v != v else str(v))
                                  for v in np.ravel(x)])
        return np.array_equal(dec(a), dec(b))
    return a.shape == b.shape and np.allclose(a.astype(float), b.astype(float), equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["complete", "axes", "failed", "partial"])
def test_every_reader_reads_the_same_values(files, kind):
    path = files[kind]
    raw = h5_values(path)
    fills = {}
    with h5py.File(path, "r") as f:
        for name, arr in raw.items():
            if "_FillValue" in f[name].attrs:
                fills[name] = f[name].attrs["_FillValue"]
    # every variable has a fill value but the coordinates
    with h5py.File(path, "r") as f:
        for name in raw:
            if "CLASS" not in f[name].attrs:  # not a dimension scale
                assert name in fills, f"{name} has no _FillValue"
    nc = netCDF4.Dataset(path)
    views = [xr.open_dataset(path), xr.open_dataset(path, engine="netcdf4"), xr.open_dataset(path, engine="h5netcdf")]
    groups = [xr.open_dataset(path, group="embeddings"), xr.open_dataset(path, group="embeddings", engine="h5netcdf")]
    for name, arr in raw.items():
        group, _, var = name.rpartition("/")
        ref = arr
        if name in fills and arr.dtype.kind in "iuf":
            fv = fills[name]
            ref = np.where(arr == fv, np.nan, arr.astype(float)) if arr.dtype.kind in "iu" else arr
        ncv = (nc.groups[group] if group else nc)[var][...]
        ncv = np.ma.filled(ncv.astype(float), np.nan) if np.ma.isMaskedArray(ncv) and ncv.dtype.kind in "iuf" else ncv
        assert same(ref, ncv), f"netCDF4.Dataset differs on {name}"
        for ds in (groups if group else views):
            assert same(ref, ds[var].values), f"xarray differs on {name}"
    nc.close()


@pytest.mark.parametrize("kind", ["complete", "axes", "failed", "partial"])
def test_ncdump_and_h5dump_read_every_variable(files, kind):
    path = files[kind]
    h = subprocess.run(["ncdump", "-h", path], capture_output=True, text=True, timeout=60)
    assert h.returncode == 0 and "dimensions:" in h.stdout, h.stderr
    names = re.findall(r"^\t\S+ (\w+)\(", h.stdout, flags=re.M)
    group_vars = re.findall(r"^\t\t\S+ (\w+)\(", h.stdout.split("group: embeddings")[-1], flags=re.M) \
        if "group: embeddings" in h.stdout else []
    assert {"acc_mmd", "status", "reason", "approach", "hosts"} <= set(names)
    for v in names + ["embeddings/" + g for g in group_vars]:
        p = subprocess.run(["ncdump", "-v", v, path], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and re.search(rf"\b{v.split('/')[-1]} =", p.stdout), (v, p.stderr[-500:])
    p = subprocess.run(["h5dump", path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "h5dump error" not in p.stdout + p.stderr


def test_pending_entries_are_fill_values_everywhere(files):
    ds = xr.open_dataset(files["partial"])
    st = ds.status.values
    pending, done = st == 0, st == 1
    assert pending.any() and done.any()
    assert int(ds.attrs["n_pending"]) == pending.sum() and int(ds.attrs["complete"]) == 0
    for v in ds.data_vars:
        if v in ("status", "approach_status", "reason"):
            continue
        vals = ds[v].values
        cube = vals.reshape(pending.shape + vals.shape[pending.ndim:])
        assert np.isnan(cube[pending].astype(float)).all(), f"{v} holds numbers for pending configurations"
    # the mean of negative_transfer over what is done, without the analysis package
    h = h5py.File(files["partial"], "r")
    nt = h["negative_transfer"][()]
    assert set(np.unique(nt[pending])) == {-1}
    assert np.isclose(float(ds.negative_transfer.mean()), nt[done].mean())
    emb = xr.open_dataset(files["partial"], group="embeddings")
    assert np.isnan(emb.source_features.values[pending]).all() and not np.isnan(emb.source_features.values[done]).any()


def test_failed_method_leaves_the_others_recorded(files):
    ds = xr.open_dataset(files["failed"])
    st = ds.status.values.ravel()
    assert list(np.flatnonzero(st == 2)) == [1, 6]
    assert np.isfinite(ds.acc_scratch.values.ravel()[[1, 6]]).all()
    assert np.isfinite(ds.mmd2_input.values.ravel()[[1, 6]]).all()
    assert np.isnan(ds.acc_mmd.values.ravel()[[1, 6]]).all()
    ms = ds.approach_status.sel(approach="mmd").values.ravel()
    assert list(ms[[1, 6]]) == [2, 2] and (np.delete(ms, [1, 6]) == 1).all()
    reasons = ds.reason.values.ravel()
    assert reasons[1] == "mmd: fault injected by TLSWEEP_FAULT"


def test_axes_of_every_type_and_ascending(files):
    ds = xr.open_dataset(files["complete"])
    assert list(ds["shift"].values) == [0, 45, 90] and list(ds["lambda"].values) == [0, 0.5]
    assert len(ds.sel(shift=slice(0, 45))["shift"]) == 2
    ax = xr.open_dataset(files["axes"])
    assert ax.acc_mmd.dims == ("shift", "lambda", "n_target", "seed", "train_lr", "train_batch_size",
                               "svm_shrinking", "svm_gamma")
    assert list(ax.train_lr.values) == [0.001, 0.01] and ax.train_lr.attrs["key"] == "train.lr"
    assert list(ax.train_batch_size.values) == [32, 64] and ax.train_batch_size.dtype == np.int64
    assert list(ax.svm_shrinking.values) == [0, 1] and ax.svm_shrinking.attrs["flag_meanings"] == "false true"
    assert list(ax.svm_gamma.values) == ["scale", "auto", "0.5"]  # strings keep the order written
    assert (ax.status.values == 1).all()


def test_provenance_and_conventions(files):
    with h5py.File(files["complete"], "r") as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    for k in ("Conventions", "history", "tlsweep_version", "tlsweep_commit", "compiler", "cflags",
              "config_yaml", "config_hash", "started", "finished", "run_command", "run_hosts", "run_cpus",
              "run_started", "run_finished", "run_slurm_job", "hdf5_version", "mpi_version"):
        assert k in a, k
    assert a["Conventions"].startswith("CF-")
    assert "tlsweep run -o" in a["history"]
    assert len(a["tlsweep_commit"]) >= 7
    assert a["run_cpus"][0] and "(2 ranks)" in a["run_hosts"][0]
    with open("/proc/cpuinfo") as c:
        model = re.search(r"model name\s*: (.*)", c.read())
    if model:
        assert model.group(1).strip() in a["run_cpus"][0]
    v = subprocess.run([BIN, "--version"], capture_output=True, text=True, env=env()).stdout
    assert re.match(r"tlsweep \d+\.\d+\.\d+ \(commit \S+\)", v), v
