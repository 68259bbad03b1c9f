"""The transferability scores (include/tlsweep/transfer.h) through their test
driver (tests/transfer_eval.c) against the NumPy / scikit-learn versions
written from the papers (tests/reference/transferability.py), to 1e-5
relative, on random and engine-like inputs of several sizes, class counts
(2, 3, 10) and feature widths; then a case with a known answer per score, the
undefined cases and their reasons, invariances, the k-NN subsample, and the
workspace (the driver exits 3 when a score writes past it)."""
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
import transferability as ref  # noqa: E402

DRIVER = os.environ.get("TLSWEEP_TRANSFER_EVAL",
                        os.path.join(os.path.dirname(__file__), "..", "build", "tests", "transfer_eval"))
FEATURE_SCORES = ("nleep", "logme", "hscore", "hscore_shrink", "gbc", "transrate")
PROB_SCORES = ("leep", "nce")
ALL = ("leep", "nleep", "logme", "hscore", "hscore_shrink", "nce", "gbc", "transrate", "knn")
RTOL = 1e-5


def number(v):
    if isinstance(v, np.floating) and v.dtype == np.float32:
        return f"{v:.9g}"  # reads back exactly
    return f"{v:.17g}" if isinstance(v, (float, np.floating)) else str(v)


def run(command, *arrays):
    text = " ".join(" ".join(number(v) for v in np.ravel(a)) for a in arrays)
    p = subprocess.run([DRIVER, command], input=text, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()


def c_scores(f, p, y, k=20, max_points=0, seed=1):
    """{name: (value, reason)} and the k-NN's subset, from the C code."""
    f, p = np.asarray(f, np.float32), np.asarray(p, np.float32)
    n, F = f.shape
    lines = run("scores", [n, F, p.shape[1], k, max_points, seed], f, p, np.asarray(y))
    out = {}
    for line in lines[:-1]:
        name, value, reason = line.split()
        out[name] = (float(value), reason)
    assert lines[-1].startswith("subset")
    return out, np.array(lines[-1].split()[1:], dtype=int)


def reference(f, p, y, k=20):
    """{name: (value, reason)} from the reference, on the float32 inputs the C code sees."""
    f64 = np.asarray(f, np.float32).astype(np.float64)
    p64 = np.asarray(p, np.float32).astype(np.float64)
    y = np.asarray(y)
    C = p64.shape[1]
    return {"leep": ref.leep(p64, y), "nleep": ref.nleep(f64, y), "logme": ref.logme(f64, y),
            "hscore": ref.hscore(f64, y), "hscore_shrink": ref.hscore_shrink(f64, y),
            "nce": ref.nce(p64, y), "gbc": ref.gbc(f64, y), "transrate": ref.transrate(f64, y),
            "knn": ref.knn(f64, y, k, C)}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def labels(rng, n, C):
    """n labels with every class present (n >= C), in random order."""
    y = np.r_[np.arange(C), rng.integers(0, C, n - C)]
    return rng.permutation(y)


def random_case(seed, n, F, C, shift=1.0):
    """Gaussian features with class-dependent means, random logits."""
    rng = np.random.default_rng(seed)
    y = labels(rng, n, C)
    centres = rng.normal(size=(C, F)) * shift
    f = (centres[y] + rng.normal(size=(n, F))).astype(np.float32)
    p = softmax(rng.normal(size=(n, C)) * 2 + 3 * np.eye(C)[y] * rng.random()).astype(np.float32)
    return f, p, y


def engine_like_case(seed, n, F, C, angle=45.0):
    """As the engine's: the article's target classes in the plane (rotated by
    `angle`) through a random 2 -> 32 -> F ReLU extractor (features on a 2-D
    sheet, dead units included) and a random classifier's softmax."""
    rng = np.random.default_rng(seed)
    y = labels(rng, n, C)
    phi = 5 * np.pi / 4 + 2 * np.pi * y / C
    mean = np.c_[np.cos(phi), np.sin(phi)] * np.sqrt(2) if C > 2 else np.where(y[:, None] == 0, -1.0, 1.0) * np.ones(2)
    x = mean + 0.6 * rng.normal(size=(n, 2))
    t = np.radians(angle)
    x = x @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    h = np.maximum(x @ rng.normal(size=(2, 32)) * np.sqrt(2 / 2), 0)
    f = np.maximum(h @ rng.normal(size=(32, F)) * np.sqrt(2 / 32), 0)
    p = softmax(f @ rng.normal(size=(F, C)) * np.sqrt(2 / F))
    return f.astype(np.float32), p.astype(np.float32), y


def assert_agree(got, want, names=ALL, rtol=RTOL, atol=1e-12):
    for name in names:
        (gv, gr), (wv, wr) = got[name], want[name]
        assert gr == wr, (name, got[name], want[name])
        if wr == "ok":
            assert gv == pytest.approx(wv, rel=rtol, abs=atol), (name, gv, wv)
        else:
            assert np.isnan(gv), (name, gv)


# ---------------------------------------------------------------- agreement with the reference

SHAPES = [(5, 16, 2), (10, 16, 2), (50, 16, 2), (200, 16, 2), (37, 8, 3), (60, 16, 3),
          (30, 16, 10), (200, 16, 10), (120, 4, 10), (400, 1, 3)]


@pytest.mark.parametrize("n,F,C", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_random_inputs_agree_with_the_reference(n, F, C, seed):
    f, p, y = random_case(100 * seed + n + F + C, n, F, C)
    got, subset = c_scores(f, p, y)
    assert_agree(got, reference(f, p, y))
    assert subset.sum() == n  # no subsample below max_points


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n,F,C,angle", [(10, 16, 2, 45), (50, 16, 2, 45), (50, 16, 2, 90), (200, 16, 2, 0),
                                         (20, 16, 3, 30), (90, 16, 3, 120), (100, 16, 10, 45),
                                         (300, 32, 10, 10)])
def test_engine_like_inputs_agree_with_the_reference(n, F, C, angle):
    f, p, y = engine_like_case(n + C + angle, n, F, C, angle)
    got, _ = c_scores(f, p, y)
    assert_agree(got, reference(f, p, y))


def test_engine_like_inputs_have_singular_covariances():
    """What the cases above exercise: dead units (a zero feature column) and
    n <= F leave the feature covariance singular, the H-score's pseudo-inverse
    path, and the features lie near a 2-D sheet (NLEEP's PCA keeps 2 or 3 axes)."""
    f, _, y = engine_like_case(10 + 2 + 45, 10, 16, 2, 45)
    assert (f == 0).all(axis=0).sum() >= 1
    S = np.cov(f.astype(np.float64), rowvar=False)
    assert np.linalg.matrix_rank(S) < 16
    (_, reason), info = ref.nleep(f.astype(np.float64), y, return_details=True)
    assert reason == "ok" and info["dims"] in (2, 3)


def test_nleep_reference_runs_em_for_real():
    """The cases above exercise the mixture: several PCA dimensions, EM
    iterations beyond the first (the reference reports scikit-learn's)."""
    f, p, y = random_case(5, 200, 16, 3, shift=0.5)
    (value, reason), info = ref.nleep(f.astype(np.float64), y, return_details=True)
    assert reason == "ok" and info["dims"] >= 3 and info["iterations"] >= 3 and info["components"] == 15
    got, _ = c_scores(f, p, y)
    assert got["nleep"][0] == pytest.approx(value, rel=RTOL)


# ---------------------------------------------------------------- known answers

def balanced(n_per, C):
    return np.repeat(np.arange(C), n_per)


def test_leep_and_nce_known_answers():
    y = balanced(10, 3)
    n = len(y)
    entropy_y = np.log(3)  # balanced labels
    # the same softmax for every point: P(y|z) = P(y), LEEP = -H(Y); one argmax: NCE = -H(Y)
    p = np.tile(np.array([[0.25, 0.5, 0.25]], np.float32), (n, 1))  # sums to 1 exactly
    f = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    got, _ = c_scores(f, p, y)
    assert got["leep"][0] == pytest.approx(-entropy_y, rel=1e-12)
    assert got["nce"][0] == pytest.approx(-entropy_y, rel=1e-12)
    # one-hot softmax equal to the label (a permutation of it does as well): both 0
    p = np.eye(3, dtype=np.float32)[(y + 1) % 3]
    got, _ = c_scores(f, p, y)
    assert got["leep"] == (0.0, "ok") and got["nce"] == (0.0, "ok")
    # hard labels that tell only class 0 apart: H(Y|Z) = P(z=1) log 2
    p = np.eye(3, dtype=np.float32)[np.minimum(y, 1)]
    got, _ = c_scores(f, p, y)
    assert got["nce"][0] == pytest.approx(-(2 / 3) * np.log(2), rel=1e-12)


def separated(n_per, C, F=16, spread=1e-3, seed=0):
    """Tight, far-apart classes: class c around 10 * (e_c + 1)."""
    rng = np.random.default_rng(seed)
    y = balanced(n_per, C)
    f = 10.0 * (np.eye(F)[y] + 1.0) + spread * rng.normal(size=(len(y), F))
    return f.astype(np.float32), y


def identical(n_per, C, F=16, seed=0):
    """Every class the same points: identical class distributions."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_per, F))
    return np.tile(base, (C, 1)).astype(np.float32), balanced(n_per, C)


def uniform_p(n, C):
    return np.full((n, C), 1.0 / C, np.float32)


@pytest.mark.parametrize("C", [2, 3])
def test_perfectly_separated_classes(C):
    f, y = separated(20, C)
    got, _ = c_scores(f, uniform_p(len(y), C), y, k=5)
    assert got["knn"] == (1.0, "ok")
    assert got["gbc"][0] == pytest.approx(0.0, abs=1e-12)  # Bhattacharyya coefficients vanish
    assert got["nleep"][0] == pytest.approx(0.0, abs=1e-9)  # each component within one class
    # zero within-class scatter: cov(f) = cov(E[f|y]), tr(S^+ S) = rank = K - 1
    fz, _ = separated(20, C, spread=0.0)
    got0, _ = c_scores(fz, uniform_p(len(y), C), y)
    assert got0["hscore"][0] == pytest.approx(C - 1, rel=1e-9)
    # LogME: far higher than for the same points with identical classes
    fi, yi = identical(20, C)
    same, _ = c_scores(fi, uniform_p(len(yi), C), yi)
    assert got["logme"][0] > same["logme"][0] + 1.0


def test_transrate_of_classes_in_orthogonal_directions():
    """Class 0 at +-a e_0, class 1 at +-b e_1 (means 0, so the centring does
    nothing): Z^T Z is diagonal and the coding rates have closed forms,
    R(Z) = 1/2 [log(1 + n0 a^2 / (n eps)) + log(1 + n1 b^2 / (n eps))],
    R(Z_0) = 1/2 log(1 + a^2 / eps), R(Z_1) = 1/2 log(1 + b^2 / eps)."""
    a, b, half, eps = 1.0, 2.0, 5, 1e-4
    f = np.zeros((4 * half, 3), np.float32)
    f[:half, 0], f[half:2 * half, 0] = a, -a
    f[2 * half:3 * half, 1], f[3 * half:, 1] = b, -b
    y = np.repeat([0, 1], 2 * half)
    n0 = n1 = 2 * half
    n = n0 + n1
    rz = 0.5 * (np.log1p(n0 * a * a / (n * eps)) + np.log1p(n1 * b * b / (n * eps)))
    rzy = 0.5 * (0.5 * np.log1p(a * a / eps) + 0.5 * np.log1p(b * b / eps))
    got, _ = c_scores(f, uniform_p(n, 2), y)
    assert got["transrate"][0] == pytest.approx(rz - rzy, rel=1e-12)
    assert got["transrate"][0] > 4  # two directions in all, one in each class


@pytest.mark.parametrize("C", [2, 3])
def test_identical_class_distributions(C):
    f, y = identical(25, C)
    got, _ = c_scores(f, uniform_p(len(y), C), y)
    assert got["hscore"][0] == pytest.approx(0.0, abs=1e-9)  # the class means coincide
    assert got["hscore_shrink"][0] == pytest.approx(0.0, abs=1e-9)
    assert got["gbc"][0] == pytest.approx(-C * (C - 1), rel=1e-12)  # every coefficient is 1
    assert got["transrate"][0] == pytest.approx(0.0, abs=1e-9)  # R(Z) = R(Z_k) for every k
    assert got["leep"][0] == pytest.approx(-np.log(C), rel=1e-7)  # the labels' entropy (1/3 in float)
    assert_agree(got, reference(f, uniform_p(len(y), C), y))


def test_shrinkage_vanishes_for_two_points():
    """Two points: the Ledoit-Wolf shrinkage is 0 and the shrinkage H-score is
    the H-score, tr(S^+ S) = 1."""
    f = np.array([[1, 2, 3, 0], [2, 0, 1, 5]], np.float32)
    got, _ = c_scores(f, uniform_p(2, 2), [0, 1])
    assert got["hscore"][0] == pytest.approx(1.0, rel=1e-9)
    assert got["hscore_shrink"][0] == pytest.approx(1.0, rel=1e-9)


def test_knn_with_every_neighbour_of_the_other_class():
    """Points on a circle with alternating labels: each point's nearest
    neighbours (k = 1, 2) are of the other class."""
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    f = np.c_[np.cos(angles), np.sin(angles)].astype(np.float32)
    y = np.arange(16) % 2
    for k in (1, 2):
        got, _ = c_scores(f, uniform_p(16, 2), y, k=k)
        assert got["knn"] == (0.0, "ok")
    # k = 3: two neighbours of the other class, one (farther, lighter vote) of its own
    got, _ = c_scores(f, uniform_p(16, 2), y, k=3)
    assert got["knn"] == (0.0, "ok")


def test_fine_tuning_curve():
    def curve(ce):
        out = {}
        for line in run("curve", [len(ce)], np.asarray(ce, np.float32)):
            name, value, reason = line.split()
            out[name] = (float(value), reason)
        return out
    rising = [0.3, 0.2, 0.25, 0.5]
    got = curve(rising)
    assert got["ft_loss_rise"][0] == pytest.approx(float(np.float32(0.5)) - float(np.float32(0.3)), rel=1e-12)
    assert got["ft_loss_rebound"][0] == pytest.approx(float(np.float32(0.5)) - float(np.float32(0.2)), rel=1e-12)
    falling = list(0.7 * np.exp(-0.1 * np.arange(50)))
    got = curve(falling)
    assert got["ft_loss_rise"][0] < 0 and got["ft_loss_rebound"] == (0.0, "ok")
    for ce in (rising, falling):
        got = curve(ce)
        assert got["ft_loss_rise"][0] == pytest.approx(ref.ft_loss_rise(ce)[0], rel=1e-12)
        assert got["ft_loss_rebound"][0] == pytest.approx(ref.ft_loss_rebound(ce)[0], rel=1e-12, abs=0)
    for ce, why in (([0.5], "short_curve"), ([], "short_curve"), ([0.5, float("nan")], "nonfinite")):
        got = curve(ce)
        assert all(np.isnan(v) and r == why for v, r in got.values()), (ce, got)
        assert ref.ft_loss_rise(ce)[1] == why


# ---------------------------------------------------------------- undefined cases

def test_a_single_class_is_undefined_for_every_score():
    f, p, _ = random_case(3, 20, 16, 2)
    got, _ = c_scores(f, p, np.zeros(20, int))
    assert all(np.isnan(v) and r == "one_class" for v, r in got.values()), got
    assert all(r == "one_class" for _, r in reference(f, p, np.zeros(20, int)).values())


def test_reasons_of_the_other_undefined_cases():
    f, p, y = random_case(4, 20, 16, 3)
    got, _ = c_scores(f[:1], p[:1], y[:1])  # one point
    assert all(np.isnan(v) and r == "few_points" for v, r in got.values()), got
    bad = y.copy()
    bad[3] = 3  # a label outside 0..C-1
    got, _ = c_scores(f, p, bad)
    assert all(r == "bad_input" for _, r in got.values()), got
    nan_f = f.copy()
    nan_f[2, 5] = np.nan
    got, _ = c_scores(nan_f, p, y)
    assert all(r == "nonfinite" for n, (_, r) in got.items() if n not in PROB_SCORES), got
    assert all(r == "ok" for n, (_, r) in got.items() if n in PROB_SCORES), got
    nan_p = p.copy()
    nan_p[0, 0] = np.inf
    got, _ = c_scores(f, nan_p, y)
    assert got["leep"][1] == got["nce"][1] == "nonfinite" and got["gbc"][1] == "ok"
    # constant features: nothing to separate in feature space
    const = np.ones_like(f)
    got, _ = c_scores(const, p, y)
    for name in ("nleep", "hscore", "hscore_shrink"):
        assert got[name][1] == "no_variance", (name, got[name])
    assert got["gbc"][0] == pytest.approx(-6.0)  # every class the same Gaussian
    assert got["transrate"][0] == pytest.approx(0.0, abs=1e-12)  # no rate at all
    assert_agree(got, reference(const, p, y))
    # NLEEP: as many points as classes leave no component to fit
    got, _ = c_scores(f[:3], p[:3], [0, 1, 2])
    assert got["nleep"][1] == "few_points" and got["leep"][1] == "ok"
    assert ref.nleep(f[:3].astype(np.float64), np.array([0, 1, 2]))[1] == "few_points"


# ---------------------------------------------------------------- invariances

def test_rotation_invariance_of_the_covariance_and_cosine_scores():
    f, p, y = random_case(8, 80, 6, 3)
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    g = (f.astype(np.float64) @ Q).astype(np.float32)
    a, _ = c_scores(f, p, y, k=7)
    b, _ = c_scores(g, p, y, k=7)
    for name in ("nleep", "logme", "hscore", "hscore_shrink", "transrate", "knn"):
        assert a[name][0] == pytest.approx(b[name][0], rel=1e-4), name


# ---------------------------------------------------------------- the k-NN subsample

def test_knn_subsample_is_deterministic_and_exact_on_its_points():
    f, p, y = random_case(9, 300, 16, 3)
    got, subset = c_scores(f, p, y, k=10, max_points=100, seed=5)
    assert subset.sum() == 100
    again, subset2 = c_scores(f, p, y, k=10, max_points=100, seed=5)
    other, subset3 = c_scores(f, p, y, k=10, max_points=100, seed=6)
    assert np.array_equal(subset, subset2) and got["knn"] == again["knn"]
    assert not np.array_equal(subset, subset3)
    used = subset.astype(bool)
    want = ref.knn(f[used].astype(np.float64), y[used], 10, 3)
    assert got["knn"][0] == pytest.approx(want[0], abs=0) and got["knn"][1] == "ok"
    # the other scores use every point
    assert_agree(got, reference(f, p, y), names=("leep", "logme", "hscore", "gbc"))


# ---- the engine's scores: the right network, points and moment ----------------

TLSWEEP = os.environ.get("TLSWEEP_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "tlsweep"))
TS = ALL + ("ft_loss_rise", "ft_loss_rebound")


def engine_one(shift, seed, n_target=20, epochs=20):
    import json
    p = subprocess.run([TLSWEEP, "one", "--shift", str(shift), "--n-target", str(n_target), "--seed",
                        str(seed), "--set", f"train.epochs={epochs}"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_curve_scores_are_the_stored_fine_tuning_curve():
    """ts_ft_loss_rise and _rebound are read off the finetune_ce tlsweep
    reports, exactly (the float curve's values in double)."""
    for shift in (0, 135):
        d = engine_one(shift, 3)
        ce = np.array(d["finetune_ce"], np.float32)
        assert d["ts_ft_loss_rise"] == float(ce[-1]) - float(ce[0])
        assert d["ts_ft_loss_rebound"] == float(ce[-1]) - float(ce.min())
        assert d["ts_ft_loss_rise_reason"] == "ok"


def test_a_failed_transfer_network_has_no_scores():
    """A network whose loss turns non-finite computes no score: NaN (null)
    and not_computed, the other methods' results kept."""
    p = subprocess.run([TLSWEEP, "one", "--set", "train.lr=1000", "--set", "mmd.gamma=1000000",
                        "--set", "train.epochs=30"], capture_output=True, text=True)
    import json
    d = json.loads(p.stdout)
    if d["status_mmd"] != "failed":
        pytest.skip("this configuration did not fail here")
    for s in TS:
        assert d["ts_" + s] is None and d[f"ts_{s}_reason"] == "not_computed"


@pytest.mark.parametrize("shift", [0, 135])
def test_engine_scores_agree_with_the_torch_reference_in_distribution(shift):
    """The PyTorch reference (tests/reference/torch_reference.py) computes
    the scores with transferability.py on its own network's features and
    softmax of the labelled target points after source training; its random
    numbers are not tlsweep's, so the means over seeds are compared (within
    4 standard errors of the difference, or 0.02 of the score's spread). A
    score taken after fine-tuning, on the test points or on a softmax never
    computed would be off by far more (shift 135: the source network swaps
    the classes, which fine-tuning undoes)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
    import torch
    import torch_reference
    torch.set_num_threads(1)
    seeds = range(8)
    c = [engine_one(shift, s) for s in seeds]
    r = [torch_reference.run(shift, 0.5, 20, s, epochs=20, scores=True) for s in seeds]
    for s in TS:
        a = np.array([x["ts_" + s] for x in c], float)
        b = np.array([x["ts_" + s] for x in r], float)
        assert np.isfinite(a).all() and np.isfinite(b).all(), (s, a, b)
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        spread = max(np.ptp(np.concatenate([a, b])), 1e-12)
        assert abs(a.mean() - b.mean()) <= max(4 * se, 0.02 * spread, 1e-6), (s, a.mean(), b.mean(), se)
