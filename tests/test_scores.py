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
        out += -(q * np.log(q)).sum()
    return out / n


@pytest.mark.parametrize("n,C,tau", [(200, 2, 0.05), (60, 10, 0.05), (31, 4, 0.5)])
def test_snd_equals_numpy_from_the_paper(n, C, tau):
    p = softmax_rows(np.random.default_rng(7 + n), n, C)
    got = evaluate("snd", [n, C, tau], p)[0][0]
    assert got == pytest.approx(snd_from_the_paper(p, tau), rel=1e-10)


def test_snd_of_identical_outputs_is_log_n_minus_one():
    p = np.tile(np.array([[0.3, 0.7]], np.float32), (50, 1))
    assert evaluate("snd", [50, 2, 0.05], p)[0][0] == pytest.approx(np.log(49), rel=1e-12)


# ---------------------------------------------------------------- importance weights

@pytest.mark.parametrize("n0,n1,d,shift", [(800, 200, 2, 1.5), (300, 450, 16, 0.4), (150, 60, 5, 4.0)])
def test_logistic_regression_and_weights_equal_sklearn(n0, n1, d, shift):
    rng = np.random.default_rng(d)
    x0 = rng.normal(size=(n0, d)).astype(np.float32)
    x1 = (rng.normal(size=(n1, d)) * 0.8 + shift).astype(np.float32)
    xe = rng.normal(size=(40, d)).astype(np.float32)
    coef, w, it = evaluate("logreg", [n0, n1, d, 1.0], x0, x1, [40], xe)
    X = np.vstack([x0, x1]).astype(np.float64)
    y = np.r_[np.zeros(n0), np.ones(n1)]
    lr = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    assert np.allclose(coef[:d], lr.coef_[0], rtol=1e-6, atol=1e-8)
    assert coef[d] == pytest.approx(lr.intercept_[0], rel=1e-6, abs=1e-8)
    proba = lr.predict_proba(xe.astype(np.float64))
    want = proba[:, 1] / proba[:, 0] * n0 / n1  # P(target|x) / P(source|x) * n_source / n_target
    assert np.allclose(w, want, rtol=1e-6)
    assert it[0] < 100  # converged


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
