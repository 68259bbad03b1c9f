"""Several results files together (analysis/combine.py), on sweeps made
with the real binary: concat() of two sweeps that differ only in
align.loss gives an align_loss axis (key align.loss) holding each file's
values bit for bit; three that differ in more than one key a `file` axis,
the union of their seeds with the configurations a file lacks pending;
files whose grid axes differ are refused with one line. compare() pairs
two sweeps seed by seed (the same seed is the same data in both: the
baselines agree exactly), checked against h5py. The report takes several
files (tlsweep-report A.h5 B.h5 -o DIR), its one-configuration figures
from the file the configuration belongs to."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
import analysis  # noqa: E402
from analysis import compare, concat, summary, to_frame  # noqa: E402

YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}
GRID = ["--set", "grid.shift=[0,60,120]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10]",
        "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=4", "--set", "train.finetune_epochs=3",
        "--set", "baselines.target_epochs=20", "--set", "data.n_source=80", "--set", "data.n_test=40"]
SWEEPS = {"mmd": ["--set", "align.loss=mmd"], "coral": ["--set", "align.loss=coral"],
          # another alignment, more epochs and seeds 1-3: two keys differ, and the seeds only in part
          "dann": ["--set", "align.loss=dann", "--set", "train.epochs=6", "--set", "grid.seed=[1,2,3]"],
          # another grid: an extra axis
          "lr": ["--set", "grid.train.lr=[0.001,0.01]", "--set", "output.embeddings=false"]}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("combine")
    out = {}
    for k, extra in SWEEPS.items():
        out[k] = str(d / f"{k}.h5")
        mpirun(2, ["run", "-o", out[k]] + GRID + extra, extra_env=YIELD)
    return out


def acc(path, m="mmd"):
    with h5py.File(path, "r") as f:
        return f[f"acc_{m}"][()], f["seed"][()]


def test_two_sweeps_that_differ_in_align_loss(files):
    ds = concat([files["mmd"], files["coral"]])
    assert analysis.axes(ds) == ["shift", "lambda", "n_target", "seed", "align_loss"]
    assert ds["align_loss"].attrs["key"] == "align.loss" and list(ds["align_loss"].values) == ["mmd", "coral"]
    for i, k in enumerate(("mmd", "coral")):
        for m in analysis.approaches(ds):
            want, _ = acc(files[k], m)
            np.testing.assert_array_equal(ds[f"acc_{m}"].isel(align_loss=i).values, want)
    assert analysis.counts(ds) == (36, 36, 0, 0)
    assert analysis.alignment(ds) is None  # per configuration: the axis says it
    s = summary(ds)
    assert s.index.names[-1] == "align_loss" and len(s) == 12
    df = to_frame(ds)
    assert (df["alignment"] == df["align_loss"]).all()
    from analysis.report import Names
    assert Names(ds).short("mmd") == "aligned transfer"


def test_three_sweeps_get_a_file_axis_and_the_union_of_seeds(files):
    ds = concat([files["mmd"], files["coral"], files["dann"]])
    assert analysis.axes(ds)[-1] == "file" and list(ds["file"].values) == ["mmd", "coral", "dann"]
    assert "align.loss: mmd, coral, dann" in ds.attrs["concat_differences"]
    assert "train.epochs: 4, 4, 6" in ds.attrs["concat_differences"]
    assert list(ds["seed"].values) == [0, 1, 2, 3]
    n, done, failed, pending = analysis.counts(ds)
    assert (n, done, failed, pending) == (72, 54, 0, 18)  # seed 3 not in mmd and coral, seed 0 not in dann
    st = ds["status"].sel(file="dann")
    assert (st.sel(seed=0) == analysis.PENDING).all() and (st.sel(seed=[1, 2, 3]) == analysis.DONE).all()
    want, _ = acc(files["dann"])
    np.testing.assert_array_equal(ds["acc_mmd"].sel(file="dann", seed=[1, 2, 3]).values, want)
    df = to_frame(ds)
    assert {f: set(g) for f, g in df.groupby("file")["alignment"]} == {"mmd": {"mmd"}, "coral": {"coral"},
                                                                        "dann": {"dann"}}
    labelled = concat([files["mmd"], files["coral"]], dim="run", labels=["first", "second"])
    assert list(labelled["run"].values) == ["first", "second"]


def test_what_cannot_be_aligned_is_refused_with_one_line(files):
    with pytest.raises(ValueError) as e:
        concat([files["mmd"], files["lr"]])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("analysis.concat: ") and "lr.h5" in msg and "train_lr" in msg
    assert "grid.train.lr=[0.01]" in msg  # the way out: an axis of one value
    with pytest.raises(ValueError, match="two or more"):
        concat([files["mmd"]])
    with pytest.raises(ValueError, match="one distinct value per file"):
        concat([files["mmd"], files["coral"]], labels=["a", "a"])
    with pytest.raises(ValueError, match="the grid axes differ"):
        compare(files["mmd"], files["lr"])


def test_compare_pairs_the_seeds_both_have(files):
    c = compare(files["mmd"], files["dann"])
    assert list(c.index.names) == ["shift", "lambda", "n_target"]
    a, seeds_a = acc(files["mmd"])
    b, seeds_b = acc(files["dann"])
    ia = [list(seeds_a).index(s) for s in (1, 2)]  # the seeds both have
    ib = [list(seeds_b).index(s) for s in (1, 2)]
    d = b[..., ib] - a[..., ia]  # (shift, lambda, n_target, 2)
    np.testing.assert_allclose(c["diff_transfer"].to_numpy(), d.mean(-1).ravel(), rtol=1e-12)
    np.testing.assert_allclose(c["acc_transfer_a"].to_numpy(), a[..., ia].mean(-1).ravel(), rtol=1e-12)
    assert (c["seeds_transfer"] == 2).all()
    # the same seed is the same data in both sweeps: the SVM trained from scratch does not see the alignment
    assert (c["diff_scratch"] == 0).all() and (c["diff_scratch_ci95"] == 0).all()
    only = compare(files["mmd"], files["dann"], methods=["transfer"])
    assert [x for x in only.columns] == ["acc_transfer_a", "acc_transfer_b", "diff_transfer", "diff_transfer_ci95",
                                         "seeds_transfer"]


def test_the_report_of_several_files(files, tmp_path):
    from analysis import report
    out = tmp_path / "report"
    assert report.main([files["mmd"], files["coral"], "-o", str(out), "--config",
                        "align.loss=coral,shift=60,lambda=0.5,seed=1"]) == 0
    page = (out / "index.html").read_text()
    assert "mmd.h5 + coral.h5" in page and "align.loss = coral" in page
    rep = json.loads((out / "report.json").read_text())
    assert rep["files"] == [os.path.abspath(files["mmd"]), os.path.abspath(files["coral"])]
    assert rep["files_axis"] == "align.loss" and rep["errors"] == [] and rep["n_done"] == 36
    assert rep["figure_configuration"]["align_loss"] == "coral"
    assert (out / "tsne.png").is_file()  # the embeddings of the configuration, from coral.h5
    from analysis.combine import Files
    e = analysis.load_embeddings(Files(concat([files["mmd"], files["coral"]])), shift=60, lambda_=0.5, n_target=10,
                                 seed=1, align_loss="coral")
    with h5py.File(files["coral"], "r") as f:
        np.testing.assert_array_equal(e["target_features"].values, f["embeddings/target_features"][1, 1, 0, 1])
    p = subprocess.run([sys.executable, "-m", "analysis.report", files["mmd"], files["lr"], "-o", str(tmp_path / "no")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("analysis.concat: "), p.stderr
