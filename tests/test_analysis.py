"""analysis/ on four kinds of results file made with the real binary: a
complete sweep, an interrupted one (--time-limit: partial, configurations
pending), one where every configuration failed (TLSWEEP_FAULT on every grid
index: exit 3) and one with an extra grid axis (train.lr) and two failed
configurations. load, to_frame, summary, rules_of_thumb and
load_embeddings are checked against direct h5py computations; every function
takes str and pathlib.Path; every JSON written is valid (no NaN literals);
the report runs on each file, says how many configurations are done, and
every figure it links is a valid PNG; scripts/run.sh exits 75 after an
interrupted sweep even when the report fails."""
import json
import os
import struct
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

from tlstest import BIN, ROOT, env, mpirun

sys.path.insert(0, ROOT)
import analysis  # noqa: E402
from analysis import load, load_embeddings, rules_of_thumb, summary, to_frame  # noqa: E402

SMALL = ["--set", "train.finetune_epochs=4", "--set", "data.n_source=150", "--set", "data.n_test=60",
         "--set", "baselines.target_epochs=50"]
COMPLETE = ["--set", "grid.shift=[0,45,135]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
            "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=8"] + SMALL
EXTRA = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
         "--set", "grid.seed=[0,1,2]", "--set", "grid.train.lr=[0.001,0.01]", "--set", "train.epochs=5"] + SMALL
EXTRA_FAULTS = "3,10"
# 200 configurations, 5-10 s of work on 2 idle ranks: --time-limit 6 starts none after about 1 s
# (it keeps 5 s for writing the file), so some are done and most are pending however busy the cores are
PARTIAL = ["--set", "grid.shift=[0,45,90,135,180]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
           "--set", "grid.seed=[" + ",".join(map(str, range(10))) + "]", "--set", "train.epochs=80",
           "--set", "data.n_source=200", "--set", "data.n_test=200", "--set", "baselines.target_epochs=100",
           "--time-limit", "6"]
FAILED = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
          "--set", "grid.seed=[0,1]", "--set", "train.epochs=3"] + SMALL
KINDS = ("complete", "partial", "failed", "extra")
ARTICLE_FIGURES = ["domains.png", "methods.png", "tsne.png", "confusion.png", "learning_curves.png"]


YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}  # waiting ranks leave the core to the working one


def sweep_with_faults(out, args, faults):
    """mpirun with TLSWEEP_FAULT (grid indices whose MMD method fails) passed to every rank."""
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "TLSWEEP_FAULT", BIN, "run", "-o", out] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env(TLSWEEP_FAULT=faults, **YIELD))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("analysis")
    out = {k: str(d / f"{k}.h5") for k in KINDS}
    mpirun(2, ["run", "-o", out["complete"]] + COMPLETE, extra_env=YIELD)
    p = mpirun(2, ["run", "-o", out["partial"]] + PARTIAL, check=False, extra_env=YIELD)
    assert p.returncode == 75, p.stderr
    p = sweep_with_faults(out["failed"], FAILED, ",".join(map(str, range(8))))
    assert p.returncode == 3, p.stderr  # complete, every configuration failed
    p = sweep_with_faults(out["extra"], EXTRA, EXTRA_FAULTS)
    assert p.returncode == 0, p.stderr
    return out


# ---------------------------------------------------------------- the reference: h5py alone


TABLE = {"mmd": "transfer"}  # the tables' name of the file's transfer network (analysis/tables.py)


def reference(path):
    """What the file holds, read with h5py only: axes (names, values) in file
    order, methods, status, per-method status and accuracies."""
    with h5py.File(path, "r") as f:
        axes = [dim[0].name.lstrip("/") for dim in f["status"].dims]
        ref = {"axes": axes, "coords": {a: f[a][()] for a in axes},
               "methods": [m.decode() if isinstance(m, bytes) else str(m) for m in f["approach"][()]],
               "status": f["status"][()], "approach_status": f["approach_status"][()]}
        ref["acc"] = {m: f[f"acc_{m}"][()] for m in ref["methods"]}
        ref["attrs"] = {k: f.attrs[k] for k in ("n_configs", "n_done", "n_failed", "n_pending")}
    return ref


def ref_done(ref, m):
    """Accuracy of method m where its status is done, NaN elsewhere."""
    j = ref["methods"].index(m)
    return np.where(ref["approach_status"][..., j] == 1, ref["acc"][m], np.nan)


def mean_ci(x):
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, 0
    if x.size == 1:
        return x.mean(), np.nan, 1
    return x.mean(), stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size), x.size


def approx(v):
    return pytest.approx(v, nan_ok=True, rel=1e-9, abs=1e-12)


def strict_json(text):
    """json.loads that refuses NaN, Infinity and -Infinity."""
    def refuse(c):
        raise ValueError(f"invalid JSON constant {c}")
    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- the files themselves


def test_the_four_files(files):
    r = {k: reference(p) for k, p in files.items()}
    assert r["complete"]["attrs"]["n_done"] == 36 and r["complete"]["attrs"]["n_pending"] == 0
    a = r["partial"]["attrs"]
    assert a["n_pending"] > 0 and a["n_done"] + a["n_pending"] == a["n_configs"] == 200
    assert r["failed"]["attrs"]["n_failed"] == r["failed"]["attrs"]["n_configs"] == 8
    assert r["extra"]["axes"] == ["shift", "lambda", "n_target", "seed", "train_lr"]
    assert r["extra"]["attrs"]["n_failed"] == 2


# ---------------------------------------------------------------- load


@pytest.mark.parametrize("kind", KINDS)
def test_load_default_engine_h5netcdf_str_and_path(files, kind):
    ref = reference(files[kind])
    a = load(files[kind])                      # str, xarray's default engine (netCDF4)
    b = load(Path(files[kind]), engine="h5netcdf")
    for ds in (a, b):
        assert list(ds["status"].dims) == ref["axes"] == analysis.axes(ds)
        assert "approach" in ds.dims and "method" not in ds.dims
        assert analysis.approaches(ds) == ref["methods"]
        for m in ref["methods"]:
            np.testing.assert_array_equal(ds[f"acc_{m}"].values, ref["acc"][m])
    assert analysis.counts(a) == (int(ref["attrs"]["n_configs"]), int(ref["attrs"]["n_done"]),
                                  int(ref["attrs"]["n_failed"]), int(ref["attrs"]["n_pending"]))
    with pytest.raises(FileNotFoundError):
        load(Path(files[kind]).with_suffix(".missing"))


def test_format_1_file():
    """A file written by tlsweep 0.1.0 (tests/data/v0.1): fixed-length strings, which the default engine
    (netCDF-C) cannot read, so load() opens it with h5netcdf; three methods, no approach_status."""
    path = Path(ROOT) / "tests" / "data" / "v0.1" / "results-v0.1.h5"
    ds = load(path)
    assert analysis.approaches(ds) == ["scratch", "direct", "mmd"]
    s = summary(ds)
    assert len(s) and s["n_done"].sum() == int((ds["status"] == 1).sum())
    assert len(to_frame(path)) == int((ds["status"] != 0).sum()) * 3


# ---------------------------------------------------------------- to_frame


@pytest.mark.parametrize("kind", KINDS)
def test_to_frame_against_h5py(files, kind):
    ref = reference(files[kind])
    df = to_frame(Path(files[kind]))
    assert list(df.columns[:len(ref["axes"]) + 3]) == ref["axes"] + ["approach", "accuracy", "approach_status"]
    not_pending = int((ref["status"] != 0).sum())
    assert len(df) == not_pending * len(ref["methods"])
    assert (df["status"] != 0).all()  # pending configurations left out
    for m in ref["methods"]:
        sub = df[df["approach"] == m]
        idx = tuple(np.searchsorted(ref["coords"][a], sub[a].to_numpy()) for a in ref["axes"])
        np.testing.assert_array_equal(sub["accuracy"].to_numpy(), ref["acc"][m][idx])
        j = ref["methods"].index(m)
        np.testing.assert_array_equal(sub["approach_status"].to_numpy(), ref["approach_status"][..., j][idx])
        np.testing.assert_array_equal(sub["status"].to_numpy(), ref["status"][idx])
    with h5py.File(files[kind], "r") as f:  # the selection scores: the row's method's, iwcv and dev the transfer's
        for col, var in (("score_entropy", "score_entropy_{m}"), ("score_snd", "score_snd_{m}"),
                         ("score_target_val", "score_target_val_{m}"), ("score_iwcv", "score_iwcv"),
                         ("score_dev", "score_dev")):
            assert col in df, col
            for m in ref["methods"]:
                sub = df[df["approach"] == TABLE.get(m, m)]
                idx = tuple(np.searchsorted(ref["coords"][a], sub[a].to_numpy()) for a in ref["axes"])
                v = var.format(m=m)
                if v in f and ("{m}" in var or m == "mmd"):
                    np.testing.assert_array_equal(sub[col].to_numpy(), f[v][()][idx], err_msg=f"{col} {m}")
                else:
                    assert sub[col].isna().all(), (col, m)
    assert set(df["alignment"]) == {"mmd"}
    full = to_frame(files[kind], include_pending=True)
    assert len(full) == ref["status"].size * len(ref["methods"])
    assert int((full["status"] == 0).sum()) == int((ref["status"] == 0).sum()) * len(ref["methods"])
    # valid JSON: pandas writes NaN as null, and so does analysis.dumps
    strict_json(df.to_json(orient="records"))
    strict_json(analysis.dumps(df))


def test_to_frame_failed_rows(files):
    df = to_frame(files["extra"])
    bad = df[df["status"] == 2]
    assert len(bad) == 2 * len(analysis.approaches(files["extra"]))
    assert set(bad["reason"]) == {"mmd: fault injected by TLSWEEP_FAULT"}
    assert bad[bad["approach"] == "transfer"]["accuracy"].isna().all()  # the file's mmd: named for what it is
    assert (bad[bad["approach"] == "transfer"]["approach_status"] == 2).all()
    assert bad[bad["approach"] != "transfer"]["accuracy"].notna().all()  # the SVMs ran
    assert set(df["host"]) == {os.uname().nodename}


# ---------------------------------------------------------------- summary


@pytest.mark.parametrize("kind", KINDS)
def test_summary_against_h5py(files, kind):
    ref = reference(files[kind])
    s = summary(files[kind] if kind != "extra" else Path(files[kind]))
    axes = ref["axes"]
    cells = [a for a in axes if a != "seed"]
    assert list(s.index.names) == cells
    assert len(s) == int(np.prod([len(ref["coords"][a]) for a in cells]))
    k = axes.index("seed")
    acc = {m: np.moveaxis(ref_done(ref, m), k, -1) for m in ref["methods"]}
    status = np.moveaxis(ref["status"], k, -1)
    for pos in np.ndindex(*[len(ref["coords"][a]) for a in cells]):
        key = tuple(ref["coords"][a][i] for a, i in zip(cells, pos))
        row = s.loc[key]
        assert row["n_done"] == (status[pos] == 1).sum() and row["n_pending"] == (status[pos] == 0).sum()
        assert row["n_failed"] == (status[pos] == 2).sum()
        for m in ref["methods"]:
            mean, half, n = mean_ci(acc[m][pos])
            t = TABLE.get(m, m)
            assert row[f"acc_{t}"] == approx(mean) and row[f"acc_{t}_ci95"] == approx(half), (key, m)
            assert row[f"seeds_{t}"] == n
        for a, b in (("mmd", "scratch"), ("direct", "scratch"), ("mmd", "direct")):
            mean, half, _ = mean_ci(acc[a][pos] - acc[b][pos])
            a = TABLE.get(a, a)
            assert row[f"gain_{a}_vs_{b}"] == approx(mean) and row[f"gain_{a}_vs_{b}_ci95"] == approx(half)
        d = acc["mmd"][pos] - acc["scratch"][pos]
        d = d[np.isfinite(d)]
        assert row["negative_transfer_share"] == approx((d < 0).mean() if d.size else np.nan)
    strict_json(analysis.dumps(s))
    if kind == "failed":
        assert s["acc_transfer"].isna().all() and s["acc_scratch"].notna().all()


def test_summary_names_counts_as_counts_and_reads_old_names(files):
    """summary.csv had the axis n_target next to n_target_mlp, a count of
    seeds, and acc_mmd holding CORAL results when align.loss said so: the
    counts are seeds_<method>, the transfer network is transfer; the old
    names still read, with a DeprecationWarning naming the new one."""
    s = summary(files["extra"])
    cols = list(s.columns)
    assert "seeds_target_mlp" in cols and "n_target_mlp" not in cols and "seeds_transfer" in cols
    assert not [c for c in cols if "mmd" in c], cols
    assert {"n_done", "n_failed", "n_pending"} <= set(cols)  # counts of configurations, not an axis's look-alike
    with pytest.warns(DeprecationWarning, match="seeds_transfer"):
        np.testing.assert_array_equal(s["n_mmd"].to_numpy(), s["seeds_transfer"].to_numpy())
    with pytest.warns(DeprecationWarning, match="gain_transfer_vs_scratch"):
        old = s[["acc_mmd", "gain_mmd_vs_scratch"]]
    assert list(old.columns) == ["acc_transfer", "gain_transfer_vs_scratch"]
    row = s.reset_index().iloc[0]
    with pytest.warns(DeprecationWarning):
        assert row["acc_mmd"] == row["acc_transfer"] or np.isnan(row["acc_transfer"])
    with pytest.raises(KeyError):
        s["acc_nothing"]
    assert s.attrs["alignment"] == "mmd"


# ---------------------------------------------------------------- rules of thumb, best values


@pytest.mark.parametrize("kind", KINDS)
def test_rules_of_thumb(files, kind):
    ref = reference(files[kind])
    r = rules_of_thumb(Path(files[kind]) if kind == "partial" else files[kind])
    both = np.isfinite(ref_done(ref, "mmd")) & np.isfinite(ref_done(ref, "scratch"))
    assert r["configurations"] == int(both.sum())
    with h5py.File(files[kind], "r") as f:
        for name, thr in (("mmd2_input", 0.1), ("pad_feat", 0.5)):
            x = f[name][()][both]
            gain = (ref_done(ref, "mmd") - ref_done(ref, "scratch"))[both]
            ok = np.isfinite(x)
            assert r[name]["n_below"] == int((x[ok] < thr).sum()) and r[name]["n_above"] == int((x[ok] >= thr).sum())
            if ok.sum() > 2 and np.ptp(x[ok]) > 0 and np.ptp(gain[ok]) > 0:
                assert r[name]["pearson_r_with_gain"] == pytest.approx(stats.pearsonr(x[ok], gain[ok])[0])
            else:
                assert r[name]["pearson_r_with_gain"] is None
    strict_json(analysis.dumps(r))


def test_best_values(files):
    ref = reference(files["extra"])
    b = analysis.best_values(files["extra"], "train_lr")
    acc = ref_done(ref, "mmd")
    complete = np.isfinite(acc).all(axis=4)
    means = [acc[..., i][complete].mean() for i in range(2)]
    assert b.index[0] == ref["coords"]["train_lr"][int(np.argmax(means))]
    assert b["accuracy"].iloc[0] == pytest.approx(max(means))
    assert b["diff_to_best"].iloc[1] == pytest.approx(min(means) - max(means))


# ---------------------------------------------------------------- embeddings


def test_load_embeddings(files):
    e = load_embeddings(files["complete"], shift=135, lambda_=0.5, n_target=50, seed=2)
    assert e["source_features"].shape == (150, 16) and e["target_x"].shape == (60, 2)
    with h5py.File(files["complete"], "r") as f:
        np.testing.assert_array_equal(e["target_features"].values, f["embeddings/target_features"][2, 1, 1, 2])
    assert e.attrs["shift"] == 135 and e.attrs["status"] == 1
    with pytest.raises(KeyError, match="not in the grid"):
        load_embeddings(files["complete"], shift=7, lambda_=0.5, n_target=50, seed=2)
    # an extra axis: by its dimension name or its key; Path; n_target has one value and may be left out
    a = load_embeddings(Path(files["extra"]), shift=90, lambda_=1, seed=1, train_lr=0.01)
    b = load_embeddings(files["extra"], shift=90, lambda_=1, seed=1, **{"train.lr": 0.01})
    with h5py.File(files["extra"], "r") as f:
        want = f["embeddings/source_features"][1, 1, 0, 1, 1]
    np.testing.assert_array_equal(a["source_features"].values, want)
    np.testing.assert_array_equal(b["source_features"].values, want)
    assert a.attrs["train_lr"] == 0.01
    with pytest.raises(TypeError, match="train_lr"):
        load_embeddings(files["extra"], shift=90, lambda_=1, seed=1)


# ---------------------------------------------------------------- the report


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def run_report(results, out, *extra):
    """The report as a user runs it: python3 -m analysis.report."""
    return subprocess.run([sys.executable, "-m", "analysis.report", str(results), "-o", str(out)] + list(extra),
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def report_main(results, out, *extra):
    """The report in this process (analysis.report:main, the tlsweep-report entry point): faster."""
    from analysis import report
    return report.main([results, "-o", str(out)] + list(extra))


def check_page(out):
    """Every image the page links is a valid PNG of sensible size; no
    address outside the report directory; the JSON files are valid."""
    page = (out / "index.html").read_text()
    imgs = re.findall(r"<img src='([^']+)'", page)
    for name in imgs:
        w, h = png_size(out / name)
        assert w >= 500 and h >= 250, (name, w, h)
    for src in re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page):  # nothing from the network
        assert "://" not in src and (out / src).is_file(), src
    for j in ("summary.json", "report.json"):
        strict_json((out / j).read_text())
    return page, imgs


def test_report_complete(files, tmp_path):
    out = tmp_path / "report"
    p = run_report(files["complete"], out, "--config", "shift=135,lambda=0.5,n_target=10,seed=1")
    assert p.returncode == 0, p.stderr
    assert str(out / "index.html") in p.stdout.splitlines()[-1]
    assert "Traceback" not in p.stderr and "report: reading" in p.stderr  # it says that it is working
    page, imgs = check_page(out)
    for name in ARTICLE_FIGURES + ["accuracy_vs_shift.png", "gain_vs_shift.png", "gain_heatmap.png",
                                   "negative_transfer.png", "rules_of_thumb.png"]:
        assert name in imgs, name
    assert "shift = 135°, λ = 0.5, n_target = 10, seed = 1" in page
    assert "36 of 36 done" in page and "(partial)" not in page
    assert "Best λ for MMD transfer" in page and "Negative transfer" in page
    assert "<script src='plotly.js'" in page and (out / "plotly.js").stat().st_size > 1_000_000
    rep = strict_json((out / "report.json").read_text())
    assert rep["n_done"] == 36 and rep["complete"] and rep["errors"] == []
    assert rep["figure_configuration"] == {"shift": 135.0, "lambda": 0.5, "n_target": 10, "seed": 1}
    bad = run_report(files["complete"], tmp_path / "bad", "--config", "shift=7")
    assert bad.returncode == 2 and "not in the grid" in bad.stderr
    afile = tmp_path / "afile"
    afile.write_text("")
    bad = run_report(files["complete"], afile)  # -o a file: one line, exit 2 (was a traceback)
    assert bad.returncode == 2 and "not a directory" in bad.stderr and "Traceback" not in bad.stderr


def test_report_partial(files, tmp_path):
    ref = reference(files["partial"])
    out = tmp_path / "report"
    assert report_main(Path(files["partial"]), out) == 0
    page, imgs = check_page(out)
    done = int(ref["attrs"]["n_done"])
    assert f"{done} of 200 done (partial)" in page
    if done:
        assert all(f in imgs for f in ARTICLE_FIGURES)  # a finished configuration was found for them
        rep = strict_json((out / "report.json").read_text())
        fc = rep["figure_configuration"]
        i = tuple(int(np.flatnonzero(ref["coords"][a] == fc[a])[0]) for a in ref["axes"])
        assert ref["status"][i] == 1
    else:
        assert "no configuration is finished yet" in page


def test_report_all_failed(files, tmp_path):
    out = tmp_path / "report"
    assert report_main(files["failed"], out) == 0
    page, imgs = check_page(out)
    assert "0 of 8 done" in page and "No configuration is finished" in page
    assert "no configuration is finished yet" in page  # instead of the article's figures
    assert not any(f in imgs for f in ARTICLE_FIGURES)
    assert "fault injected by TLSWEEP_FAULT" in page
    assert "accuracy_vs_shift.png" in imgs  # the SVMs ran: their accuracies are shown


def test_report_extra_axis(files, tmp_path):
    from analysis import report
    out = tmp_path / "report"
    assert report_main(files["extra"], out, "--config", "train.lr=0.001,shift=0,seed=2,lambda=0") == 0
    page, imgs = check_page(out)
    assert "22 of 24 done" in page and "2 failed" in page
    assert "train.lr" in page and "train.lr = 0.001" in page  # faceted: one row of panels per value
    assert "accuracy_vs_shift.png" in imgs and "gain_heatmap.png" in imgs
    assert "n_target" not in report.Layout(load(files["extra"])).vary  # a single value: not a facet
    rep = strict_json((out / "report.json").read_text())
    assert rep["figure_configuration"]["train_lr"] == 0.001 and rep["figure_configuration"]["seed"] == 2
    assert "train.lr" in rep["best"]


def test_layout_follows_the_axes(files):
    from analysis.report import Layout
    lay = Layout(load(files["complete"]))
    assert (lay.x, lay.line, lay.col, lay.row, lay.notes) == ("shift", "lambda", "n_target", None, [])
    lay = Layout(load(files["extra"]))
    assert (lay.x, lay.line, lay.col, lay.row) == ("shift", "lambda", "train_lr", None)  # n_target: one value


def test_report_over_n_target_at_one_shift(tmp_path):
    """A sweep over n_target at one shift: accuracy against n_target, and
    the headline says where transfer helps per n_target."""
    path = str(tmp_path / "nt.h5")
    mpirun(2, ["run", "-o", path, "--set", "grid.shift=[45]", "--set", "grid.lambda=[0.5]",
               "--set", "grid.n_target=[4,10,30]", "--set", "grid.seed=[0,1]", "--set", "train.epochs=3",
               "--set", "output.embeddings=false"] + SMALL, extra_env={"OMPI_MCA_mpi_yield_when_idle": "1"})
    out = tmp_path / "report"
    assert report_main(path, out) == 0
    page, imgs = check_page(out)
    assert "accuracy_vs_n_target.png" in imgs and "gain_vs_shift.png" not in imgs
    assert "n_target = 30" in page and "6 of 6 done" in page


def test_report_heatmaps_with_a_row_of_panels(tmp_path):
    """n_target in the columns and an extra axis in the rows: the heatmaps
    are drawn, each panel titled with its row and column (the panel's row
    index was overwritten by a cell's colour: IndexError, exit 1)."""
    from analysis.report import Layout
    path = str(tmp_path / "rows.h5")
    mpirun(2, ["run", "-o", path, "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]",
               "--set", "grid.n_target=[4,10]", "--set", "grid.seed=[0,1]", "--set", "grid.train.lr=[0.001,0.01]",
               "--set", "train.epochs=3", "--set", "output.embeddings=false"] + SMALL, extra_env=YIELD)
    lay = Layout(load(path))
    assert (lay.x, lay.line, lay.col, lay.row) == ("shift", "lambda", "n_target", "train_lr")
    out = tmp_path / "report"
    assert report_main(path, out) == 0
    page, imgs = check_page(out)
    assert "gain_heatmap.png" in imgs and "negative_transfer.png" in imgs
    assert "could not be drawn" not in page
    assert strict_json((out / "report.json").read_text())["errors"] == []


# ---------------------------------------------------------------- scripts/run.sh


def test_run_sh_exits_75_when_interrupted_even_if_the_report_fails(tmp_path):
    out = tmp_path / "r.h5"
    env = dict(os.environ, TLSWEEP_NO_SETUP="1", TLSWEEP_BIN=BIN, TLSWEEP_RANKS="2",
               OMPI_MCA_mpi_yield_when_idle="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TLSWEEP_PYTHON="/bin/false")  # a report that fails
    args = ["-o", str(out)] + PARTIAL
    p = subprocess.run([os.path.join(ROOT, "scripts", "run.sh")] + args, capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 75, p.stderr
    assert "writing the analysis report" in p.stderr and "the report exited with status 1" in p.stderr
    assert "--resume" in p.stderr


def test_boolean_axis_values_read_as_words():
    """A boolean axis (int8, flag_meanings 'false true') is labelled true and
    false in the report, not 1 and 0."""
    import numpy as np
    import xarray as xr
    from analysis import report
    ds = xr.Dataset(coords={"svm_shrinking": ("svm_shrinking", np.array([0, 1], dtype=np.int8),
                                              {"key": "svm.shrinking", "flag_meanings": "false true"}),
                            "train_lr": ("train_lr", [0.001, 0.01], {"key": "train.lr"})})
    assert [report.fmt(ds, "svm_shrinking", v) for v in ds.svm_shrinking.values] == ["false", "true"]
    assert report.fmt(ds, "train_lr", ds.train_lr.values[1]) == "0.01"


def test_report_names_the_methods_of_its_own_file(files, tmp_path):
    """Two reports in one process (tlsweep-report's main, as a notebook or
    these tests call it): the second file's transfer method is named by its
    own alignment, not by the first file's (CORAL stayed for an MMD file)."""
    coral = str(tmp_path / "coral.h5")
    mpirun(1, ["run", "-o", coral, "--set", "grid.shift=[0]", "--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[10]",
               "--set", "grid.seed=[0,1]", "--set", "align.loss=coral", "--set", "train.epochs=2",
               "--set", "output.embeddings=false"] + SMALL)
    assert report_main(coral, tmp_path / "coral") == 0
    assert "CORAL transfer" in (tmp_path / "coral" / "index.html").read_text()
    assert report_main(files["complete"], tmp_path / "mmd") == 0
    page = (tmp_path / "mmd" / "index.html").read_text()
    assert "CORAL" not in page and "MMD transfer (MLP, CE + λ·MMD², fine-tuned)" in page


def test_report_on_string_shift_kind_and_one_value_axes(tmp_path):
    """The report of a sweep over align.loss (a string axis), data.shift_kind
    and a one-value train.lr: every figure drawn, the tables name the
    transfer network for what it is (its alignment varies: transfer, never
    acc_mmd), and no sentence lost its words (the crossover table printed
    "not pinned down: the spans the whole grid")."""
    from test_notebook import MIXED
    path = str(tmp_path / "mixed.h5")
    mpirun(2, ["run", "-o", path] + MIXED, extra_env=YIELD)
    out = tmp_path / "report"
    assert report_main(path, out) == 0
    page, imgs = check_page(out)
    assert "could not be drawn" not in page and "192 of 192 done" in page
    assert "the spans" not in page and "the 95% interval spans" not in page
    assert "aligned transfer" in page and "MMD transfer" not in page
    rep = strict_json((out / "report.json").read_text())
    assert rep["errors"] == [] and rep["transfer"]["alignment"].startswith("per configuration")
    head = (out / "summary.csv").read_text().splitlines()[0].split(",")
    assert head[:3] == ["shift", "lambda", "n_target"] and {"align_loss", "data_shift_kind", "train_lr"} <= set(head)
    assert "acc_transfer" in head and "seeds_target_mlp" in head and not [c for c in head if "mmd" in c]


def test_the_readme_plot_runs(files, tmp_path, monkeypatch):
    """README.md's three-line plot (to_frame + seaborn.relplot over two axes) runs as written on a results file."""
    pytest.importorskip("seaborn")
    import matplotlib
    matplotlib.use("Agg")
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "relplot" in b]
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) == 3, blocks
    monkeypatch.chdir(tmp_path)
    exec(blocks[0].replace('"results.h5"', repr(files["extra"])), {})
    w, h = png_size(tmp_path / "acc.png")
    assert w > 300 and h > 200
