"""analysis.predictors: which transferability score foresees negative transfer.

The AUROC against scikit-learn's roc_auc_score (random scores with ties, and every score of a
real sweep read with h5py alone); the intervals' coverage by simulation with seed effects (the
clustered interval near its level, the cluster bootstrap a little below, an interval that
treats the configurations as independent well below); the best threshold against a brute
force; leave one shift kind out against a direct fit; the article's rules as counted by hand;
the cells' table against a direct mean; the within-cell AUROC and its seed bootstrap against
roc_auc_score per cell on seeds repeated as drawn."""
import math
import os
import sys

import h5py
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
from analysis import predictors  # noqa: E402
from analysis.predictors import (auroc, balanced_error, best_threshold, bootstrap_auroc, cells,  # noqa: E402
                                 clustered_auroc_interval, configurations, predict, within_cells)

YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}
SMALL = ["--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[10,30]", "--set", "grid.seed=range(0,8)",
         "--set", "train.epochs=30", "--set", "train.finetune_epochs=20", "--set", "baselines.target_epochs=100",
         "--set", "data.n_source=200", "--set", "data.n_test=100", "--set", "output.embeddings=false"]
KINDS = {"rotation": "[0,90,180]", "conditional": "[0,0.5,1]"}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """Two small sweeps, one kind each: 3 shifts x 2 n_target x 8 seeds."""
    d = tmp_path_factory.mktemp("predictors")
    out = {}
    for kind, shifts in KINDS.items():
        out[kind] = str(d / f"{kind}.h5")
        mpirun(2, ["run", "-o", out[kind], "--set", f"data.shift_kind={kind}", "--set", f"grid.shift={shifts}"]
               + SMALL, extra_env=YIELD)
    return out


def direct(path, name, a="mmd", b="scratch"):
    """(score, harm, seed) per configuration where both approaches are done, read with h5py."""
    with h5py.File(path, "r") as f:
        acc_a, acc_b, x = f[f"acc_{a}"][()], f[f"acc_{b}"][()], f[name][()].astype(float)
        seeds = np.broadcast_to(f["seed"][()], acc_a.shape)  # seed is the last grid axis
        status = f["status"][()]
        long_name = f[name].attrs.get("long_name", b"")
    ok = (status == 1) & np.isfinite(acc_a) & np.isfinite(acc_b) & np.isfinite(x)
    text = long_name.decode() if isinstance(long_name, bytes) else str(long_name)
    return x[ok], (acc_a - acc_b)[ok] < 0, seeds[ok], text


# ---------------------------------------------------------------- the statistics

@pytest.mark.parametrize("n,levels", [(7, 3), (50, 4), (400, 1000)])
def test_auroc_is_scikit_learns(n, levels):
    rng = np.random.default_rng(n)
    for _ in range(20):
        y = rng.random(n) < 0.4
        y[:2] = [True, False]
        s = rng.integers(0, levels, n) + 0.3 * y  # ties within and across the labels
        assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert math.isnan(auroc([1.0, 2.0], [True, True]))


def test_the_pair_sums_give_the_auroc_of_any_seed_weights():
    """bootstrap_auroc's shortcut: the AUROC of a sample of seeds drawn with replacement, each
    configuration as often as its seed, is w U w / ((w n1)(w n0)); against the sample itself."""
    from analysis.predictors import _pair_sums
    rng = np.random.default_rng(3)
    s, y, c = rng.integers(0, 6, 120).astype(float), rng.random(120) < 0.5, rng.integers(0, 5, 120)
    U, n1, n0 = _pair_sums(s, y, c, 5)
    for _ in range(10):
        w = rng.integers(0, 3, 5).astype(float)
        take = np.repeat(np.arange(120), w[c].astype(int))
        if y[take].all() or not y[take].any():
            continue
        assert w @ U @ w / ((w @ n1) * (w @ n0)) == pytest.approx(roc_auc_score(y[take], s[take]), abs=1e-12)


def simulate(rng, seeds, per_seed, tau, noise):
    """Configurations sharing a seed share its draw u (as common random numbers make them):
    harm and score both follow z = u + e."""
    u = np.repeat(rng.normal(0.0, tau, seeds), per_seed)
    z = u + rng.normal(0.0, 1.0, seeds * per_seed)
    harm = z + rng.normal(0.0, 0.5, z.size) > 0.5
    return z + rng.normal(0.0, noise, z.size), harm, np.repeat(np.arange(seeds), per_seed)


@pytest.mark.parametrize("seeds,noise", [(10, 1.0), (30, 0.3)])
def test_the_intervals_cover_the_true_auroc(seeds, noise):
    """Over 300 simulated sweeps the clustered interval covers the population AUROC about 95% of
    the time, the cluster bootstrap at least 88%; treating the configurations as independent
    (one cluster each) covers much less: the seeds are the unit."""
    rng = np.random.default_rng(seeds)
    s, h, _ = simulate(rng, 300000, 1, 1.5, noise)  # every configuration its own seed: the population
    true = auroc(s, h)
    sims, hits = 300, {"clustered": 0, "bootstrap": 0, "independent": 0}
    for k in range(sims):
        s, h, c = simulate(rng, seeds, 24, 1.5, noise)
        _, lo, hi = clustered_auroc_interval(s, h, c)
        hits["clustered"] += lo <= true <= hi
        lo, hi = bootstrap_auroc(s, h, c, n_boot=400, random_state=k)
        hits["bootstrap"] += lo <= true <= hi
        _, lo, hi = clustered_auroc_interval(s, h, np.arange(s.size))
        hits["independent"] += lo <= true <= hi
    cover = {k: v / sims for k, v in hits.items()}
    assert 0.92 <= cover["clustered"] <= 0.985, cover
    assert 0.86 <= cover["bootstrap"] <= 0.985, cover
    assert cover["independent"] <= 0.88, cover


def test_balanced_error_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0], bool)
    p = np.array([1, 0, 1, 0, 0, 0], bool)
    assert balanced_error(p, y) == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert balanced_error(p[2:], y[2:]) == pytest.approx(1 / 4)  # no harmful point: the harmless share only


def test_best_threshold_is_the_brute_force_minimum():
    rng = np.random.default_rng(5)
    for _ in range(50):
        s = np.round(rng.normal(size=40), 1)
        y = rng.random(40) < 1 / (1 + np.exp(-2 * s))
        for d in (+1, -1):
            t, err, dd = best_threshold(s, y, d)
            cands = np.concatenate([[-np.inf, np.inf], np.unique(s) + 0.05, np.unique(s) - 0.05])
            brute = min(np.mean(predict(s, c, d) != y) for c in cands)
            assert dd == d and err == pytest.approx(brute) and np.mean(predict(s, t, d) != y) == pytest.approx(err)
            t, err, _ = best_threshold(s, y, d, balanced=True)
            brute = min(balanced_error(predict(s, c, d), y) for c in cands)
            assert err == pytest.approx(brute) and balanced_error(predict(s, t, d), y) == pytest.approx(err)
        t, err, dd = best_threshold(s, y)  # both directions tried
        assert err <= min(best_threshold(s, y, +1)[1], best_threshold(s, y, -1)[1]) + 1e-12


# ---------------------------------------------------------------- on a sweep

def test_every_scores_auroc_is_scikit_learns_on_the_file(sweeps):
    """The issue's check: the AUROC of each score in the table equals roc_auc_score on the same
    file read with h5py, its direction the long_name's."""
    path = sweeps["rotation"]
    df = predictors(path, targets=("configuration",), by=())
    rows = df[df["slice"] == "all"].set_index("score")
    ts = [n for n in rows.index if n.startswith("ts_")]
    assert {"ts_leep", "ts_nleep", "ts_logme", "ts_hscore", "ts_hscore_shrink", "ts_nce", "ts_gbc", "ts_transrate",
            "ts_knn", "ts_ft_loss_rise", "ts_ft_loss_rebound"} <= set(ts)
    for name in ts + ["mmd2_input", "pad_input", "mmd2_feat_after", "pad_feat"]:
        x, harm, seeds, text = direct(path, name)
        sign = -1 if "higher: better" in text else +1
        r = rows.loc[name]
        assert r["direction"] == sign, name
        assert r["n"] == x.size and r["n_harm"] == harm.sum() and r["n_seeds"] == 8
        assert r["auroc"] == pytest.approx(roc_auc_score(harm, sign * x), abs=1e-12), name
        assert r["auroc_low"] <= r["auroc"] <= r["auroc_high"]
    assert rows.loc["ts_leep", "direction"] == -1 and rows.loc["ts_ft_loss_rise", "direction"] == +1


def within_by_hand(path, name, sign, draws):
    """The within-cell AUROC read with h5py: per cell (every grid axis but the last, seed), the
    seeds `draws` (indices, repeats repeated) taken, roc_auc_score of sign * score where both
    outcomes occur among >= 5 finite scores, averaged weighted by those scores."""
    with h5py.File(path, "r") as f:
        acc_a, acc_b, x = f["acc_mmd"][()], f["acc_scratch"][()], f[name][()].astype(float)
    aucs, weights = [], []
    for cell in np.ndindex(*x.shape[:-1]):
        xs, d = x[cell][draws], (acc_a[cell] - acc_b[cell])[draws]
        ok = np.isfinite(xs) & np.isfinite(d)
        h = d[ok] < 0
        if ok.sum() >= 5 and 0 < h.sum() < ok.sum():
            aucs.append(roc_auc_score(h, sign * xs[ok]))
            weights.append(ok.sum())
    return (np.average(aucs, weights=weights) if aucs else math.nan), len(aucs)


@pytest.mark.parametrize("kind", list(KINDS))
def test_within_cells_is_the_weighted_mean_of_scikit_learns_per_cell(sweeps, kind):
    """within_cells: the point AUROC and the bootstrap's percentiles against per-cell roc_auc_score
    on the file read with h5py, the bootstrap samples made by repeating the drawn seeds' values."""
    path = sweeps[kind]
    conf = configurations(path)
    checked = 0
    for name, sign in (("ts_leep", -1), ("ts_knn", -1), ("mmd2_feat_after", 1), ("ts_ft_loss_rise", 1)):
        w = within_cells(conf, name, sign, n_boot=40)
        a, n = within_by_hand(path, name, sign, np.arange(8))
        assert w["cells"] == n
        if n == 0:
            assert math.isnan(w["auroc"])
            continue
        checked += 1
        assert w["auroc"] == pytest.approx(a, abs=1e-12), name
        rng = np.random.default_rng(0)
        boots = [within_by_hand(path, name, sign, rng.choice(8, 8))[0] for _ in range(40)]
        np.testing.assert_allclose([w["low"], w["high"]], np.nanpercentile(boots, [2.5, 97.5]), atol=1e-12)
    assert checked >= 1, "no cell with both outcomes: the test checked nothing"


def test_fitted_direction_never_goes_below_a_half(sweeps):
    df = predictors(sweeps["rotation"], targets=("configuration",), by=("n_target",), direction="fitted", rules=False)
    a = df["auroc"].dropna()
    assert len(a) and (a >= 0.5).all()


def test_the_articles_rules_as_counted_by_hand(sweeps):
    path = sweeps["rotation"]
    df = predictors(path, targets=("configuration",), by=())
    for dist, thr, strict in (("mmd2_input", 0.1, False), ("pad_input", 0.5, True)):
        x, harm, _, _ = direct(path, dist)
        flag = x > thr if strict else x >= thr
        r = df[(df["score"] == f"rule_{dist}") & (df["slice"] == "all")].iloc[0]
        assert r["error"] == pytest.approx(np.mean(flag != harm))
        assert r["threshold"] == thr and r["balanced_error"] == pytest.approx(balanced_error(flag, harm))
        if harm.any() and not harm.all():
            balanced = (np.mean(flag[harm]) + np.mean(~flag[~harm])) / 2
            assert r["auroc"] == pytest.approx(balanced)


def test_two_kinds_slices_and_leave_one_kind_out(sweeps):
    files = [sweeps["rotation"], sweeps["conditional"]]
    df = predictors(files, targets=("configuration",))
    conf = configurations(files)
    assert set(conf["shift_kind"]) == {"rotation", "conditional"} and len(conf) == 2 * 48
    leep = df[df["score"] == "ts_leep"].set_index("slice")
    assert {"all", "shift_kind=rotation", "shift_kind=conditional", "n_target=10", "n_target=30"} <= set(leep.index)
    assert leep.loc["shift_kind=rotation", "n"] + leep.loc["shift_kind=conditional", "n"] == leep.loc["all", "n"]
    # leave one kind out: the threshold fitted on the other kind, its error here
    errors, pooled, truth = 0, [], []
    for kind, other in (("rotation", "conditional"), ("conditional", "rotation")):
        train, test = conf[conf["shift_kind"] == other], conf[conf["shift_kind"] == kind]
        t, _, d = best_threshold(train["ts_leep"], train["harm"], -1)
        err = np.mean(predict(test["ts_leep"], t, d) != test["harm"])
        errors += err * len(test)
        assert leep.loc[f"shift_kind={kind}", "loko_error"] == pytest.approx(err)
        assert leep.loc[f"shift_kind={kind}", "loko_threshold"] == pytest.approx(t)
        tb, _, _ = best_threshold(train["ts_leep"], train["harm"], -1, balanced=True)
        p = predict(test["ts_leep"], tb, -1)
        assert leep.loc[f"shift_kind={kind}", "loko_balanced_error"] == pytest.approx(balanced_error(p, test["harm"]))
        pooled.append(p), truth.append(test["harm"].values)
    assert leep.loc["all", "loko_error"] == pytest.approx(errors / len(conf))
    assert leep.loc["all", "loko_balanced_error"] == pytest.approx(
        balanced_error(np.concatenate(pooled), np.concatenate(truth)))
    assert np.isnan(leep.loc["n_target=10", "loko_error"])


def test_ties_are_no_harm_or_left_out(sweeps):
    path = sweeps["rotation"]
    keep = predictors(path, targets=("configuration",), by=(), rules=False)
    drop = predictors(path, targets=("configuration",), by=(), rules=False, ties="drop")
    k, d = keep.iloc[0], drop.iloc[0]
    assert k["n_ties"] > 0  # 100 test points: equal accuracies happen
    assert d["n"] == k["n"] - k["n_ties"] and d["n_harm"] == k["n_harm"] and d["n_ties"] == 0


def test_cells_are_the_decided_ones_with_their_mean_score(sweeps):
    path = sweeps["rotation"]
    c = cells(path)
    conf = configurations(path)
    assert len(c) and set(c["decision"]) <= {1, 2, 3}
    assert (c["harm"] == (c["decision"] == 2)).all()
    for _, r in c.iterrows():
        one = conf[(conf["shift"] == r["shift"]) & (conf["n_target"] == r["n_target"])]
        assert r["seeds"] == len(one)
        assert r["ts_leep"] == pytest.approx(one["ts_leep"].mean())
    df = predictors(path, targets=("cell",), by=())
    row = df[(df["score"] == "ts_knn") & (df["slice"] == "all")].iloc[0]
    assert row["n"] == len(c) and row["n_harm"] == c["harm"].sum()
    if c["harm"].any() and not c["harm"].all():
        assert row["auroc"] == pytest.approx(roc_auc_score(c["harm"], -c["ts_knn"]))


def test_cells_follow_the_decide_rule_given(sweeps):
    """rule= reaches analysis.decide: the cells are those it decides under that rule, not its default."""
    from analysis.decide import ASYMPTOTIC, DEFAULT, decide
    path = sweeps["rotation"]
    for rule in (DEFAULT, ASYMPTOTIC):
        dec = decide(path, "mmd", "scratch", rule=rule)["decision"]
        c = cells(path, rule=rule)
        assert len(c) == int(np.isin(dec.values, (1, 2, 3)).sum())
        for _, r in c.iterrows():
            assert r["decision"] == int(dec.sel(shift=r["shift"], n_target=r["n_target"]).squeeze())
        assert f"sign {rule.sign}," in c.attrs["decided_by"]
        df = predictors(path, targets=("cell",), by=(), rule=rule)
        assert df[df["slice"] == "all"]["n"].max() == len(c)


def test_refusals(sweeps):
    with pytest.raises(ValueError, match="comparison"):
        predictors(sweeps["rotation"], "mmd:nothing")
    with pytest.raises(KeyError, match="not variables"):
        predictors(sweeps["rotation"], scores=["ts_nothing"])
    assert os.path.exists(sweeps["rotation"])
