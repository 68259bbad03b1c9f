"""Choosing lambda (or any axis) without the target test labels, in analysis/:
select(), summary_regret() and regret_overall() against a direct computation
from h5py on a real sweep with both holdouts; the report's regret figure and
its one sentence per score; the shift kinds in the report and in the figure of
analysis.shifts."""
import json
import os
import sys

import h5py
import numpy as np
import pytest
from scipy import stats

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
from analysis import SCORES, regret_overall, scores_in, select, summary_regret  # noqa: E402
from analysis.results import shift_kind  # noqa: E402

GRID = ["--set", "grid.shift=[0,90,180]", "--set", "grid.lambda=[0,0.5,2]", "--set", "grid.n_target=[10,20]",
        "--set", "grid.seed=[0,1,2,3]", "--set", "train.epochs=4", "--set", "train.finetune_epochs=4",
        "--set", "baselines.target_epochs=20", "--set", "data.n_source=120", "--set", "data.n_test=50",
        "--set", "selection.source_holdout=0.25", "--set", "selection.target_holdout=0.2"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sel") / "s.h5")
    mpirun(2, ["run", "-o", out] + GRID, extra_env={"OMPI_MCA_mpi_yield_when_idle": "1"})
    return out


def direct(path, score, method="mmd"):
    """The pick of every (shift, n_target, seed) by looping over the file's arrays."""
    var, direction, _ = SCORES[score]
    with h5py.File(path, "r") as f:
        acc, sc = f[f"acc_{method}"][()], f[var.format(m=method)][()]  # (shift, lambda, n_target, seed)
        lam = f["lambda"][()]
    out = {}
    for i, k, s in np.ndindex(acc.shape[0], acc.shape[2], acc.shape[3]):
        a, v = acc[i, :, k, s], sc[i, :, k, s] * direction
        ok = np.isfinite(a) & np.isfinite(v)
        if not ok.any():
            out[i, k, s] = (np.nan, np.nan, np.nan)
            continue
        best = max(v[ok])
        tied = [j for j in range(len(lam)) if ok[j] and v[j] == best]
        picked = np.mean([a[j] for j in tied])
        out[i, k, s] = (picked, np.nanmax(a), a[list(lam).index(0.0)])
    return out


def test_the_sweep_has_every_score(sweep):
    assert scores_in(sweep) == list(SCORES)  # entropy, snd, mmd2, pad, iwcv, dev, target_val, oracle


@pytest.mark.parametrize("score", ["entropy", "snd", "mmd2", "iwcv", "dev", "target_val", "oracle"])
def test_select_equals_a_direct_computation(sweep, score):
    got = select(sweep, score)
    want = direct(sweep, score)
    with h5py.File(sweep, "r") as f:
        shifts, nts, seeds = f["shift"][()], f["n_target"][()], f["seed"][()]
    assert len(got) == len(want)
    for (i, k, s), (picked, oracle, ref) in want.items():
        row = got.loc[(shifts[i], nts[k], seeds[s])]
        assert row["acc_picked"] == pytest.approx(picked, nan_ok=True)
        assert row["acc_oracle"] == pytest.approx(oracle, nan_ok=True)
        assert row["acc_reference"] == pytest.approx(ref, nan_ok=True)
        assert row["regret"] == pytest.approx(oracle - picked, nan_ok=True)
        assert not row["regret"] < 0
    if score == "oracle":
        assert (got["regret"].dropna() == 0).all()


def test_ties_first_gives_the_smallest_tied_value(sweep):
    mean, first = select(sweep, "target_val"), select(sweep, "target_val", ties="first")
    with h5py.File(sweep, "r") as f:
        acc, lam = f["acc_mmd"][()], list(f["lambda"][()])
    shifts = sorted(set(first.index.get_level_values("shift")))
    for (sh, nt, seed), row in first.iterrows():
        if row["n_tied"] > 0:
            i = shifts.index(sh)
            k = [10, 20].index(nt)
            assert row["acc_picked"] == acc[i, lam.index(row["picked"]), k, seed]
    tied = mean["n_tied"] > 1
    assert tied.any()  # a few held-out points: target validation often ties
    assert (first.loc[~tied, "acc_picked"] == mean.loc[~tied, "acc_picked"]).all()


def test_select_over_another_axis_and_several_scores(sweep):
    both = select(sweep, ["entropy", "target_val"])
    assert list(both.index.names) == ["score", "shift", "n_target", "seed"]
    # over n_target (any axis works the same): no reference value for it
    by_nt = select(sweep, "entropy", over="n_target")
    assert list(by_nt.index.names) == ["shift", "lambda", "seed"] and by_nt["acc_reference"].isna().all()
    assert set(by_nt["picked"].dropna()) <= {10, 20}
    with pytest.raises(KeyError):
        select(sweep, "entropy", over="train_lr")
    with pytest.raises(KeyError):
        select(sweep, "accuracy")


def test_summary_regret_is_the_paired_mean_over_seeds(sweep):
    sr = summary_regret(sweep)
    assert list(sr.index.names) == ["shift", "n_target"] and len(sr) == 6
    assert "seeds_reference" in sr and not [c for c in sr if c.startswith("n_")]  # n_target_val read as an axis
    want = direct(sweep, "entropy")
    with h5py.File(sweep, "r") as f:
        shifts, nts = f["shift"][()], f["n_target"][()]
    for i, k in np.ndindex(3, 2):
        reg = np.array([want[i, k, s][1] - want[i, k, s][0] for s in range(4)])
        gain = np.array([want[i, k, s][0] - want[i, k, s][2] for s in range(4)])
        row = sr.loc[(shifts[i], nts[k])]
        assert row["regret_entropy"] == pytest.approx(reg.mean())
        assert row["gain_entropy_vs_ref"] == pytest.approx(gain.mean())
        half = stats.t.ppf(0.975, 3) * reg.std(ddof=1) / 2
        assert row["regret_entropy_ci95"] == pytest.approx(half, abs=1e-12)
        never = np.array([want[i, k, s][1] - want[i, k, s][2] for s in range(4)])
        assert row["regret_reference"] == pytest.approx(never.mean())
        assert row["seeds_entropy"] == 4


def test_regret_overall_pools_seeds(sweep):
    ov = regret_overall(sweep)
    json.dumps(ov, allow_nan=False)
    assert set(ov) == set(SCORES) | {"reference"}
    sel = select(sweep, "snd")
    per_seed = sel["regret"].groupby(level="seed").mean()
    assert ov["snd"]["regret"] == pytest.approx(per_seed.mean())
    assert ov["oracle"]["regret"] == pytest.approx(0, abs=1e-12)
    assert ov["snd"]["worst_cell"].keys() == {"shift", "n_target"}


def test_report_has_the_regret_figure_and_a_sentence_per_score(sweep, tmp_path):
    from analysis import report
    out = tmp_path / "rep"
    assert report.main([sweep, "-o", str(out)]) == 0
    with open(out / "regret.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    head = page[page.index("<div class=\"headline\">"):page.index("<h2>Settings</h2>")]
    for label in ("prediction entropy", "soft neighbourhood density", "MMD² of the features",
                  "proxy A-distance of the features", "IWCV", "DEV", "target validation", "Never adapting"):
        assert head.count(label) == 1, label
    rep = json.loads((out / "report.json").read_text())
    assert rep["selection"]["entropy"]["n_seeds"] == 4
    assert (out / "regret.csv").exists()


def test_shift_kinds_in_the_report_and_the_figure(tmp_path):
    from analysis import report, shifts
    files = []
    for kind, grid in (("label", "[0.2,0.8]"), ("conditional", "[0,0.5]")):
        out = str(tmp_path / f"{kind}.h5")
        mpirun(1, ["run", "-o", out, "--set", f"data.shift_kind={kind}", "--set", f"grid.shift={grid}",
                   "--set", "grid.lambda=[0]", "--set", "grid.n_target=[10]", "--set", "grid.seed=[0,1]",
                   "--set", "train.epochs=0", "--set", "train.finetune_epochs=0", "--set", "baselines.target_epochs=0",
                   "--set", "data.n_source=100", "--set", "data.n_test=50"])
        assert shift_kind(out) == kind
        files.append(out)
    with h5py.File(files[0], "r") as f:
        assert f["shift"].attrs["units"] == b"1" or f["shift"].attrs["units"] == "1"
    rep = tmp_path / "rep"
    report.main([files[0], "-o", str(rep)])
    page = (rep / "index.html").read_text()
    assert ">0.2<" in page and "0.2°" not in page  # shares, not degrees
    png = str(tmp_path / "kinds.png")
    assert shifts.main(files + ["-o", png]) == 0
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_select_over_a_string_axis(tmp_path):
    """align.loss as the axis chosen: the reference is `none` (no alignment), the cells keep grid order."""
    out = str(tmp_path / "a.h5")
    mpirun(1, ["run", "-o", out, "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[10]",
               "--set", "grid.seed=[0,1]", "--set", "grid.align.loss=[mmd,none,coral]",
               "--set", "grid.finetune.strategy=[all,classifier]", "--set", "train.epochs=2",
               "--set", "train.finetune_epochs=2", "--set", "baselines.target_epochs=2",
               "--set", "data.n_source=80", "--set", "data.n_test=30"])
    sel = select(out, "entropy", over="align_loss")
    assert list(sel.index.names) == ["shift", "lambda", "n_target", "seed", "finetune_strategy"]
    assert set(sel["picked"]) <= {"mmd", "none", "coral"}
    with h5py.File(out, "r") as f:
        acc = f["acc_mmd"][()]  # (shift, lambda, n_target, seed, align_loss, finetune_strategy)
    row = sel.loc[(90.0, 0.5, 10, 1, "classifier")]
    assert row["acc_reference"] == acc[1, 0, 0, 1, 1, 1]  # align_loss none
    assert row["acc_oracle"] == acc[1, 0, 0, 1, :, 1].max()
    sr = summary_regret(out, over="align_loss")
    assert list(sr.index.get_level_values("finetune_strategy")[:2]) == ["all", "classifier"]  # as written
