"""Transferability scores in NumPy and scikit-learn, written from their papers
(and, where a paper leaves a constant to its code, from the authors' code),
independently of src/transfer.c: tests/test_transferability.py compares the
two. Each function takes the labelled target points -- features f (n, F),
the source softmax p (n, C) or the labels y (n) in 0..C-1 -- and returns
(value, reason): reason "ok", or why the value is NaN, with the names of
include/tlsweep/transfer.h's tls_ts_reason_names.

    leep            Nguyen et al. 2020, "LEEP: a new measure to evaluate
                    transferability of learned representations"
    nleep           Li et al. 2021, "Ranking neural checkpoints"
                    (PCA, then a Gaussian mixture of 5 components per class);
                    EM by scikit-learn's GaussianMixture, started from a
                    deterministic k-means (farthest-point seeds, Lloyd)
    logme           You et al. 2021, "LogME: practical assessment of
                    pre-trained models for transfer learning", Algorithm 1
                    (with the constants of the released each_evidence)
    hscore          Bao et al. 2019, "An information-theoretic approach to
                    transferability in task transfer learning"
    hscore_shrink   Ibrahim et al. 2022, "Newer is not always better":
                    scikit-learn's LedoitWolf covariance in the H-score
    nce             Tran et al. 2019, "Transferability and hardness of
                    supervised classification tasks"
    gbc             Pandy et al. 2022, "Transferability estimation using
                    Bhattacharyya class separability", diagonal
    transrate       Huang et al. 2022, "Frustratingly easy transferability
                    estimation", with its code's eps = 1e-4
    knn             leave-one-out weighted k-NN accuracy on cosine similarity
                    as in self-supervised feature evaluation (Wu et al. 2018;
                    Caron et al. 2021, DINO: k = 20, T = 0.07), the kind of
                    k-NN Sorkhei et al. 2025 found the best predictor
    ft_loss_rise, ft_loss_rebound   the article's FAQ Q4, on the fine-tuning
                    cross-entropy curve
"""
import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

PINV_RCOND = 1e-10
NLEEP_VARIANCE, NLEEP_PER_CLASS = 0.8, 5
GMM_REG, GMM_TOL, GMM_MAX_ITER, KMEANS_MAX_ITER = 1e-6, 1e-3, 100, 100
LOGME_EPS, LOGME_ROUNDS, LOGME_RTOL = 1e-5, 11, 0.01
GBC_FLOOR = 1e-4
TRANSRATE_EPS = 1e-4
KNN_TEMPERATURE = 0.07

NAN = float("nan")


def _check(x, y, C):
    """The reason every score shares, or None."""
    y = np.asarray(y)
    if C < 2 or np.any(y < 0) or np.any(y >= C):
        return "bad_input"
    if len(y) < 2:
        return "few_points"
    if x is not None and not np.all(np.isfinite(x)):
        return "nonfinite"
    if len(np.unique(y)) < 2:
        return "one_class"
    return None


def leep(p, y):
    """(1/n) sum_i log sum_z P(y_i|z) theta_z(x_i), with the empirical joint
    P(y, z) = (1/n) sum_{i: y_i = y} theta_z(x_i) of target labels and dummy
    (source) labels; source labels without mass are left out."""
    p = np.asarray(p, np.float64)
    n, C = p.shape
    why = _check(p, y, C)
    if why:
        return NAN, why
    joint = np.zeros((C, p.shape[1]))
    np.add.at(joint, y, p / n)
    pz = joint.sum(axis=0)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    eep = np.sum(p * cond[y], axis=1)
    return float(np.mean(np.log(eep))), "ok"


def _kmeans_labels(Z, V):
    """Deterministic k-means: the point nearest the mean (Z is centred), then
    each time the point farthest from the seeds (first on ties); Lloyd's
    iterations until no label changes, empty clusters keeping their centres."""
    first = int(np.argmin(np.sum(Z * Z, axis=1)))
    centres = [Z[first]]
    mind = np.sum((Z - Z[first]) ** 2, axis=1)
    for _ in range(1, V):
        far = int(np.argmax(mind))
        centres.append(Z[far])
        mind = np.minimum(mind, np.sum((Z - Z[far]) ** 2, axis=1))
    centres = np.array(centres)
    labels = np.full(len(Z), -1)
    for _ in range(KMEANS_MAX_ITER):
        new = np.argmin(np.sum((Z[:, None, :] - centres[None]) ** 2, axis=2), axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for v in range(V):
            if np.any(labels == v):
                centres[v] = Z[labels == v].mean(axis=0)
    return labels


def nleep(f, y, return_details=False):
    """LEEP with the posteriors of a Gaussian mixture on the PCA-reduced
    features in place of the softmax (Li et al. 2021)."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    n, F = f.shape
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    K = len(np.unique(y))
    V = K * min(NLEEP_PER_CLASS, (n - 1) // K)
    if V < 1:
        return NAN, "few_points"
    if np.all(np.ptp(f, axis=0) == 0):
        return NAN, "no_variance"
    Z = PCA(n_components=NLEEP_VARIANCE, svd_solver="full").fit_transform(f)
    labels = _kmeans_labels(Z, V)
    # scikit-learn's own initialisation from responsibilities, here the one-hot k-means labels
    resp = np.eye(V)[labels]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ Z / nk[:, None]
    covs = np.array([(resp[:, v] * (Z - means[v]).T) @ (Z - means[v]) / nk[v]
                     + GMM_REG * np.eye(Z.shape[1]) for v in range(V)])
    gmm = GaussianMixture(n_components=V, covariance_type="full", tol=GMM_TOL, reg_covar=GMM_REG,
                          max_iter=GMM_MAX_ITER, weights_init=nk / n, means_init=means,
                          precisions_init=np.linalg.inv(covs))
    try:
        gmm.fit(Z)
    except ValueError:  # a covariance not positive definite
        return NAN, "singular"
    score = leep(gmm.predict_proba(Z), y)
    if return_details:
        return score, {"dims": Z.shape[1], "components": V, "iterations": gmm.n_iter_}
    return score


def logme(f, y):
    """Mean over the classes k of the maximum log evidence per point of
    y_k = 1[y = k] under y_k ~ N(f w, 1/beta), w ~ N(0, I/alpha), found by
    the fixed-point iteration of You et al.'s Algorithm 1."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    n, D = f.shape
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    v, s, vh = np.linalg.svd(f.T @ f)  # f^T f = V diag(s) V^T
    evidences = []
    for k in np.unique(y):
        yk = (y == k).astype(np.float64)
        proj = vh @ (f.T @ yk)
        alpha, beta = 1.0, 1.0
        lam = alpha / beta
        for _ in range(LOGME_ROUNDS):
            gamma = np.sum(s / (s + lam))
            m = v @ (proj * beta / (alpha + beta * s))
            mm = m @ m
            alpha = gamma / (mm + LOGME_EPS)
            res = np.sum((yk - f @ m) ** 2)
            beta = (n - gamma) / (res + LOGME_EPS)
            new_lam = alpha / beta
            if abs(new_lam - lam) / lam < LOGME_RTOL:
                break
            lam = new_lam
        ev = (D / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * s))
              - beta / 2 * (res + LOGME_EPS) - alpha / 2 * (mm + LOGME_EPS) - n / 2 * np.log(2 * np.pi))
        evidences.append(ev / n)
    return float(np.mean(evidences)), "ok"


def _class_mean_cov(f, y):
    """cov(E[f|y]) over the points (divisor n)."""
    g = np.empty_like(f)
    for k in np.unique(y):
        g[y == k] = f[y == k].mean(axis=0)
    return np.atleast_2d(np.cov(g, rowvar=False, bias=True))


def hscore(f, y):
    """tr(cov(f)^-1 cov(E[f|y])), the inverse a pseudo-inverse (eigenvalues
    below 1e-10 of the largest dropped)."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    S = np.atleast_2d(np.cov(f, rowvar=False, bias=True))
    if np.trace(S) <= 0:
        return NAN, "no_variance"
    return float(np.trace(np.linalg.pinv(S, rcond=PINV_RCOND, hermitian=True) @ _class_mean_cov(f, y))), "ok"


def hscore_shrink(f, y):
    """(1 - a) tr(cov_a(f)^-1 cov(E[f|y])), cov_a the Ledoit-Wolf covariance
    with shrinkage a."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    if np.all(np.ptp(f, axis=0) == 0):
        return NAN, "no_variance"
    lw = LedoitWolf().fit(f)
    a = lw.shrinkage_
    Sa = lw.covariance_
    return float((1 - a) * np.trace(np.linalg.pinv(Sa, rcond=PINV_RCOND, hermitian=True) @ _class_mean_cov(f, y))), "ok"


def nce(p, y):
    """-H(Y|Z), Z = argmax of the source softmax."""
    p = np.asarray(p, np.float64)
    y = np.asarray(y)
    why = _check(p, y, p.shape[1])
    if why:
        return NAN, why
    z = np.argmax(p, axis=1)
    n, C = p.shape
    joint = np.zeros((C, C))
    np.add.at(joint, (y, z), 1.0 / n)
    pz = joint.sum(axis=0)
    nz = joint > 0
    h = -np.sum(joint[nz] * np.log((joint / np.where(pz > 0, pz, 1.0))[nz]))
    return float(-h), "ok"


def gbc(f, y):
    """-sum over ordered pairs of classes of exp(-D_B) of the classes'
    diagonal Gaussians (variances floored at 1e-4)."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    stats = {k: (f[y == k].mean(axis=0), np.maximum(f[y == k].var(axis=0), GBC_FLOOR)) for k in np.unique(y)}
    total = 0.0
    for i, (m1, s1) in stats.items():
        for j, (m2, s2) in stats.items():
            if i == j:
                continue
            s = (s1 + s2) / 2
            db = np.sum((m1 - m2) ** 2 / s) / 8 + 0.5 * (np.sum(np.log(s)) - 0.5 * np.sum(np.log(s1))
                                                          - 0.5 * np.sum(np.log(s2)))
            total += np.exp(-db)
    return float(-total), "ok"


def _coding_rate(Z):
    n, d = Z.shape
    sign, logdet = np.linalg.slogdet(np.eye(d) + Z.T @ Z / (n * TRANSRATE_EPS))
    return 0.5 * logdet


def transrate(f, y):
    """R(Z) - R(Z|Y): coding rates of the centred features and the mean of
    the classes' (Huang et al. 2022; the centring and eps of their code)."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    why = _check(f, y, max(2, int(y.max()) + 1) if len(y) else 2)
    if why:
        return NAN, why
    Z = f - f.mean(axis=0)
    return float(_coding_rate(Z) - np.mean([_coding_rate(Z[y == k]) for k in np.unique(y)])), "ok"


def knn(f, y, k, C=None):
    """Leave-one-out accuracy of the k-NN on cosine similarity, each of the k
    most similar other points voting exp(sim / 0.07) for its class."""
    f = np.asarray(f, np.float64)
    y = np.asarray(y)
    C = C or max(2, int(y.max()) + 1)
    why = _check(f, y, C)
    if why:
        return NAN, why
    m = len(y)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    X = np.divide(f, norm, out=np.zeros_like(f), where=norm > 0)
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    k = min(k, m - 1)
    near = np.argsort(-S, axis=1, kind="stable")[:, :k]  # ties: the lower index first
    right = 0
    for i in range(m):
        votes = np.bincount(y[near[i]], weights=np.exp(S[i, near[i]] / KNN_TEMPERATURE), minlength=C)
        right += int(np.argmax(votes) == y[i])
    return right / m, "ok"


def ft_loss_rise(ce):
    """Last minus first value of the fine-tuning cross-entropy curve."""
    ce = np.asarray(ce, np.float32).astype(np.float64)
    if len(ce) < 2:
        return NAN, "short_curve"
    if not np.all(np.isfinite(ce)):
        return NAN, "nonfinite"
    return float(ce[-1] - ce[0]), "ok"


def ft_loss_rebound(ce):
    """Last value minus the minimum of the fine-tuning cross-entropy curve."""
    ce = np.asarray(ce, np.float32).astype(np.float64)
    if len(ce) < 2:
        return NAN, "short_curve"
    if not np.all(np.isfinite(ce)):
        return NAN, "nonfinite"
    return float(ce[-1] - ce.min()), "ok"
