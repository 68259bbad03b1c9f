"""analysis/: load, to_frame, summary and the report on a small results file
made with the real binary; the summary numbers are checked against a direct
h5py computation, and every expected figure is a valid PNG of sensible size."""
import os
import struct
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy import stats

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
from analysis import load, load_embeddings, rules_of_thumb, summary, to_frame  # noqa: E402

GRID = ["--set", "grid.shift=[0,45,135]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
        "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=8", "--set", "train.finetune_epochs=4",
        "--set", "data.n_source=200", "--set", "data.n_test=80"]
FIGURES = ["domains.png", "methods.png", "tsne.png", "confusion.png", "accuracy_vs_shift.png", "gain_heatmap.png",
           "negative_transfer.png", "learning_curves.png", "rules_of_thumb.png"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("analysis") / "r.h5")
    mpirun(2, ["run", "-o", path] + GRID)
    return path


def test_load_and_frame(results):
    ds = load(results)
    assert dict(ds["acc_mmd"].sizes) == {"shift": 3, "lambda": 2, "n_target": 2, "seed": 3}
    df = to_frame(results)
    assert len(df) == 36 * 3 and set(df["method"]) == {"scratch", "direct", "mmd"}
    row = df[(df["shift"] == 45) & (df["lambda"] == 0.5) & (df["n_target"] == 10) & (df["seed"] == 1)
             & (df["method"] == "mmd")]
    assert float(row["accuracy"].iloc[0]) == float(ds["acc_mmd"].sel({"shift": 45, "lambda": 0.5, "n_target": 10, "seed": 1}))


def test_summary_against_h5py(results):
    s = summary(load(results))
    with h5py.File(results, "r") as f:
        shifts, lams, nts = f["shift"][()], f["lambda"][()], f["n_target"][()]
        acc = {m: f[f"acc_{m}"][()] for m in ("scratch", "direct", "mmd")}
    for i, sh in enumerate(shifts):
        for j, lam in enumerate(lams):
            for k, nt in enumerate(nts):
                row = s.loc[(sh, lam, nt)]
                for m in acc:
                    x = acc[m][i, j, k, :]
                    assert row[f"acc_{m}"] == pytest.approx(x.mean())
                    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
                    assert row[f"acc_{m}_ci95"] == pytest.approx(half, nan_ok=True)
                d = acc["mmd"][i, j, k, :] - acc["scratch"][i, j, k, :]
                assert row["gain_vs_scratch"] == pytest.approx(d.mean())
                assert row["gain_vs_direct"] == pytest.approx((acc["mmd"][i, j, k, :] - acc["direct"][i, j, k, :]).mean())
                assert row["negative_transfer_share"] == pytest.approx((d < 0).mean())
                assert row["n_seeds"] == 3


def test_rules_of_thumb_and_embeddings(results):
    r = rules_of_thumb(load(results))
    assert r["configurations"] == 36
    for name in ("mmd2_input", "mmd2_feat_after", "pad_input", "pad_feat"):
        assert r[name]["n_below"] + r[name]["n_above"] == 36
        assert -1 <= r[name]["pearson_r_with_gain"] <= 1
    e = load_embeddings(results, shift=135, lambda_=0.5, n_target=50, seed=2)
    assert e["source_features"].shape == (200, 16) and e["target_x"].shape == (80, 2)
    with h5py.File(results, "r") as f:
        np.testing.assert_array_equal(e["target_features"].values, f["embeddings/target_features"][2, 1, 1, 2])
    with pytest.raises(KeyError):
        load_embeddings(results, shift=7, lambda_=0.5, n_target=50, seed=2)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_report_writes_every_figure(results, tmp_path):
    out = tmp_path / "report"
    p = subprocess.run([sys.executable, "-m", "analysis.report", results, "-o", str(out),
                        "--config", "shift=135,lambda=0.5,n_target=10,seed=1"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert str(out / "index.html") in p.stdout
    page = (out / "index.html").read_text()
    for name in FIGURES:
        w, h = png_size(out / name)
        assert w >= 600 and h >= 300, (name, w, h)
        assert os.path.getsize(out / name) > 10000, name
        assert f'src="{name}"' in page
    assert "shift 135°, λ = 0.5, n_target = 10, seed 1" in page
    assert "Pearson" in page and "<table" in page
    bad = subprocess.run([sys.executable, "-m", "analysis.report", results, "-o", str(out), "--config", "shift=7"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "not in the grid" in bad.stderr
