"""The selection scores (include/tlsweep/scores.h) against independent
computations: scipy's entr, scikit-learn's LogisticRegression and
accuracy_score, and NumPy versions of SND (Saito et al. 2021, eq. 1-3) and
DEV (You et al. 2019, Algorithm 1) written here from the papers; then the
engine end to end (tlsweep one): holdouts, shift kinds, and that the article's
settings are untouched."""
import os
import subprocess

import numpy as np
import pytest
from scipy.special import entr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from tlstest import one

DRIVER = os.environ.get("TLSWEEP_SCORES_EVAL",
                        os.path.join(os.path.dirname(__file__), "..", "build", "tests", "scores_eval"))


def evaluate(kind, *arrays):
    def number(v):  # float32 in 9 digits, float64 in 17: both read back exactly
        if isinstance(v, np.float32):
            return f"{v:.9g}"
        return f"{v:.17g}" if isinstance(v, (float, np.floating)) else str(v)
    text = " ".join(" ".join(number(v) for v in np.ravel(a)) for a in arrays)
    p = subprocess.run([DRIVER, kind], input=text, capture_output=True, text=True, check=True)
    return [np.array(line.split(), dtype=float) for line in p.stdout.strip().splitlines()]


def softmax_rows(rng, n, C, scale=3.0):
    z = rng.normal(size=(n, C)) * scale
    p = np.exp(z - z.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- entropy

@pytest.mark.parametrize("n,C,scale", [(200, 2, 3.0), (57, 10, 1.0), (5, 3, 30.0)])
def test_entropy_equals_scipy(n, C, scale):
    p = softmax_rows(np.random.default_rng(n), n, C, scale)
    got = evaluate("entropy", [n, C], p)[0][0]
    want = entr(p.astype(np.float64)).sum(axis=1).mean()  # -p log p elementwise, 0 log 0 = 0
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------- SND

def snd_from_the_paper(p, tau):
    """Saito et al. 2021: F = L2-normalised softmax outputs, M = F F^T with the
    diagonal left out, P = softmax(M / tau) per row, SND = mean row entropy."""
    f = p.astype(np.float64)
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    m = f @ f.T / tau
    n = len(p)
    out = 0.0
    for i in range(n):
        row = np.delete(m[i], i)
        q = np.exp(row - row.max())
        q /= q.sum()
        q = q[q > 0]  # 0 log 0 = 0: far neighbours at a small temperature
        out += -(q * np.log(q)).sum()
    return out / n


@pytest.mark.parametrize("n,C,tau", [(200, 2, 0.05), (60, 10, 0.05), (31, 4, 0.5), (40, 3, 0.001)])  # 0.001: the per-row shift
def test_snd_equals_numpy_from_the_paper(n, C, tau):
    p = softmax_rows(np.random.default_rng(7 + n), n, C)
    got = evaluate("snd", [n, C, tau], p)[0][0]
    assert got == pytest.approx(snd_from_the_paper(p, tau), rel=1e-10)


def test_snd_of_identical_outputs_is_log_n_minus_one():
    p = np.tile(np.array([[0.3, 0.7]], np.float32), (50, 1))
    assert evaluate("snd", [50, 2, 0.05], p)[0][0] == pytest.approx(np.log(49), rel=1e-12)


# ---------------------------------------------------------------- importance weights

@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::sklearn.exceptions.ConvergenceWarning",
                            "ignore::scipy.optimize._linesearch.LineSearchWarning")
@pytest.mark.parametrize("quad", [0, 1])
@pytest.mark.parametrize("n0,n1,d,shift", [(800, 200, 2, 1.5), (300, 450, 16, 0.4), (150, 60, 5, 4.0)])
def test_logistic_regression_and_weights_equal_sklearn(n0, n1, d, shift, quad):
    rng = np.random.default_rng(d)
    x0 = rng.normal(size=(n0, d)).astype(np.float32)
    x1 = (rng.normal(size=(n1, d)) * 0.8 + shift).astype(np.float32)
    xe = rng.normal(size=(40, d)).astype(np.float32)
    coef, w, it = evaluate("logreg", [n0, n1, d, quad, 1.0], x0, x1, [40], xe)

    def phi(x):  # the features: x, or (x, x*x)
        x = x.astype(np.float64)
        return np.hstack([x, x * x]) if quad else x
    X = np.vstack([phi(x0), phi(x1)])
    y = np.r_[np.zeros(n0), np.ones(n1)]
    lr = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    m = X.shape[1]
    assert np.allclose(coef[:m], lr.coef_[0], rtol=1e-6, atol=1e-8)
    assert coef[m] == pytest.approx(lr.intercept_[0], rel=1e-6, abs=1e-8)
    proba = lr.predict_proba(phi(xe))
    want = proba[:, 1] / proba[:, 0] * n0 / n1  # P(target|x) / P(source|x) * n_source / n_target
    assert np.allclose(w, want, rtol=1e-6)
    assert it[0] < 100  # converged


def test_quadratic_weights_see_a_change_of_spread():
    """Source N(0, 1), target N(0, 0.5^2) in 2-D: the same mean, so linear
    weights are flat, while (x, x*x) weights recover the true density ratio's
    shape (large near 0, small in the tails)."""
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(2000, 2)).astype(np.float32)
    x1 = (rng.normal(size=(2000, 2)) * 0.5).astype(np.float32)
    xe = np.array([[0, 0], [1, 1], [2, 0]], np.float32)
    _, w_lin, _ = evaluate("logreg", [2000, 2000, 2, 0, 1.0], x0, x1, [3], xe)
    _, w_quad, _ = evaluate("logreg", [2000, 2000, 2, 1, 1.0], x0, x1, [3], xe)
    true = np.exp(-np.sum(xe.astype(float) ** 2, 1) * (1 / (2 * 0.25) - 1 / 2)) / 0.25
    assert np.ptp(np.log(w_lin)) < 0.3
    assert np.allclose(np.log(w_quad), np.log(true), atol=0.35)


# ---------------------------------------------------------------- IWCV and DEV

def dev_from_the_paper(w, err):
    """You et al. 2019, Algorithm 1: L = w * err, eta = -Cov(L, W) / Var(W),
    risk = mean(L) + eta * mean(W) - eta (sample covariance and variance)."""
    L = w * err
    eta = -np.cov(L, w, ddof=1)[0, 1] / np.var(w, ddof=1)
    return L.mean() + eta * w.mean() - eta


@pytest.mark.parametrize("n", [2, 37, 500])
def test_iwcv_and_dev_equal_numpy(n):
    rng = np.random.default_rng(n)
    w = np.exp(rng.normal(size=n))
    err = (rng.random(n) < 0.3).astype(int)
    iwcv = evaluate("iwcv", [n], w, err)[0][0]
    dev = evaluate("dev", [n], w, err)[0][0]
    assert iwcv == pytest.approx(np.mean(w * err), rel=1e-12)  # Sugiyama et al. 2007
    assert dev == pytest.approx(dev_from_the_paper(w, err), rel=1e-9, abs=1e-12)


def test_accuracy_equals_sklearn():
    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 3, 91), rng.integers(0, 3, 91)
    assert evaluate("accuracy", [91], pred, y)[0][0] == pytest.approx(accuracy_score(y, pred), rel=1e-15)


# ---------------------------------------------------------------- end to end

def test_article_settings_compute_only_the_label_free_scores():
    d = one("--set", "train.epochs=5")
    nets, svms = ("mmd", "target_mlp", "ensemble"), ("scratch", "direct")
    for m in nets:
        assert 0 <= d[f"score_entropy_{m}"] <= np.log(2)
        assert 0 < d[f"score_snd_{m}"] <= np.log(199)  # at most uniform over the other 199 test points
    for m in svms:  # no probabilities: no such score
        assert f"score_entropy_{m}" not in d and f"score_snd_{m}" not in d
    for m in nets + svms:  # nothing held out
        assert d[f"score_target_val_{m}"] is None
    assert d["score_iwcv"] is None and d["score_dev"] is None


def test_holdouts_give_validation_scores_on_the_held_out_points():
    # 20 labelled points, 10 per class: 0.25 holds out 2 per class, so accuracies are multiples of 1/4
    d = one("--n-target", "20", "--set", "train.epochs=5", "--set", "selection.target_holdout=0.25",
            "--set", "selection.source_holdout=0.2")
    for m in ("scratch", "direct", "mmd", "target_mlp", "ensemble"):
        v = d[f"score_target_val_{m}"]
        assert v is not None and 0 <= v <= 1 and (4 * v) == int(4 * v), (m, v)
    assert d["score_iwcv"] >= 0 and d["score_dev"] is not None
    # the training sets shrank: fine-tuning sees 16 labelled points, the source phase 800 source points
    base = one("--n-target", "20", "--set", "train.epochs=5")
    assert d["finetune_ce"] != base["finetune_ce"] and d["ce_epoch"] != base["ce_epoch"]


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """A sweep over every shift kind at shifts 0, 0.5, 1 (valid for each) with embeddings."""
    import xarray as xr

    from tlstest import mpirun
    out = str(tmp_path_factory.mktemp("kinds") / "k.h5")
    mpirun(2, ["run", "-o", out, "--set", "grid.shift=[0,0.5,1]", "--set",
               "grid.data.shift_kind=[rotation,translation,scale,label,conditional]", "--set", "grid.lambda=[0]",
               "--set", "grid.n_target=[10]", "--set", "grid.seed=[3]", "--set", "train.epochs=1",
               "--set", "train.finetune_epochs=1", "--set", "baselines.target_epochs=1",
               "--set", "data.n_source=60", "--set", "data.n_test=40", "--set", "selection.source_holdout=0.2"])
    ds = xr.open_dataset(out).load()
    emb = xr.open_dataset(out, group="embeddings").load()
    return ds, emb.assign_coords({d: ds[d] for d in ds.status.dims})  # the group has the dims, not their values


def target(emb, kind, shift):
    one = emb.sel(data_shift_kind=kind, shift=shift).squeeze()
    return one.target_x.values.astype(np.float64), one.target_y.values


def test_shift_kinds_transform_the_same_draws(kinds):
    ds, emb = kinds
    assert (ds.status == 1).all()
    x0, y0 = target(emb, "rotation", 0.0)  # the article's target, unshifted
    for kind, s in (("translation", 0.0), ("scale", 1.0), ("conditional", 0.0)):
        x, y = target(emb, kind, s)
        assert np.array_equal(x, x0) and np.array_equal(y, y0), kind
    # translation: shift * source_std along (1, -1)/sqrt(2)
    x, y = target(emb, "translation", 1.0)
    assert np.allclose(x - x0, 0.5 * np.array([1, -1]) / np.sqrt(2), atol=1e-6) and np.array_equal(y, y0)
    # scale: the spread about the class means (+-(1, 1)) multiplied; 0 puts every point on its mean
    mean = np.where(y0[:, None] == 0, -1.0, 1.0) * np.ones(2)
    x, _ = target(emb, "scale", 0.5)
    assert np.allclose(x - mean, 0.5 * (x0 - mean), atol=1e-6)
    x, _ = target(emb, "scale", 0.0)
    assert np.allclose(x, mean)
    # label: class 0's share of the 40 test points
    for s in (0.0, 0.5, 1.0):
        _, y = target(emb, "label", s)
        assert np.sum(y == 0) == round(40 * s), s
    # conditional: the same points, exactly round(40 * share) labels swapped
    for s in (0.5, 1.0):
        x, y = target(emb, "conditional", s)
        assert np.array_equal(x, x0) and np.sum(y != y0) == round(40 * s)


def test_source_holdout_keeps_the_points_and_puts_the_held_out_last(kinds):
    ds, emb = kinds
    one = emb.isel(shift=0, data_shift_kind=0).squeeze()
    y = one.source_y.values
    # 30 points per class, 6 of each held out and stored last
    assert np.sum(y[:48] == 0) == 24 and np.sum(y[48:] == 0) == 6
    assert np.isfinite(ds.score_iwcv.values).all() and np.isfinite(ds.score_dev.values).all()


def test_label_and_conditional_shift_with_data_files(tmp_path):
    import sys

    import xarray as xr

    from tlstest import ROOT, mpirun, run
    p = subprocess.run([sys.executable, "-m", "analysis.datasets", "digits", "-o", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    files = ["--set", f"data.source={tmp_path}/digits_source.h5", "--set", f"data.target={tmp_path}/digits_target.h5"]
    cfg = os.path.join(ROOT, "configs", "digits-rotation.yaml")
    out = str(tmp_path / "d.h5")
    mpirun(2, ["run", cfg, "-o", out, "--set", "grid.shift=[0,0.5]", "--set",
               "grid.data.shift_kind=[rotation,label,conditional]", "--set", "grid.lambda=[0]",
               "--set", "grid.n_target=[20]", "--set", "grid.seed=[0]", "--set", "data.n_test=100",
               "--set", "train.epochs=1", "--set", "train.finetune_epochs=1"] + files)
    ds = xr.open_dataset(out).load()
    emb = xr.open_dataset(out, group="embeddings").load().assign_coords({d: ds[d] for d in ds.status.dims})
    y = {(k, s): emb.target_y.sel(data_shift_kind=k, shift=s).values.ravel() for k in ("rotation", "label", "conditional")
         for s in (0.0, 0.5)}
    x = {(k, s): emb.target_x.sel(data_shift_kind=k, shift=s).values for k in ("rotation", "conditional") for s in (0.0, 0.5)}
    assert np.sum(y["label", 0.5] == 0) == 50 and np.sum(y["label", 0.0] == 0) == 0  # stratified resampling
    assert np.array_equal(x["conditional", 0.5], x["rotation", 0.0])  # the same images ...
    assert np.sum(y["conditional", 0.5] != y["rotation", 0.0]) == 50  # ... half of their labels moved on
    assert np.array_equal((y["rotation", 0.0] + 1) % 10 == y["conditional", 0.5], y["conditional", 0.5] != y["rotation", 0.0])
    # translation and scale have no meaning there, and label needs a test set every share can supply
    for bad, msg in ((["--set", "data.shift_kind=scale", "--shift", "1"], "defined on the synthetic domains only"),
                     (["--set", "data.shift_kind=label", "--shift", "0.9", "--set", "data.n_test=400"],
                      "that the label shift 0.9 needs"),
                     (["--set", "data.shift_kind=label", "--shift", "0.5", "--set", "data.n_test=all"],
                      "data.n_test: all, with data.shift_kind label")):
        p = run(["one", cfg] + files + bad, check=False)
        assert p.returncode == 2 and msg in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
