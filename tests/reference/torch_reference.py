"""An independent PyTorch implementation of the article's experiment, written
from its description (not from tlsweep's C code, not copied from the article):
two Gaussian domains, the target rotated; an RBF SVM from scratch on the
labelled target points; direct transfer of a source SVM; an MLP trained with
cross-entropy + lambda * MMD^2 (biased, RBF kernel) over source mini-batches
against all target test features, then fine-tuned full-batch on the
labelled target points with the same Adam optimizer.

Its random numbers come from numpy and torch, so it agrees with tlsweep in
distribution, not draw by draw: compare means over seeds (compare.py).

    /usr/bin/python3 tests/reference/torch_reference.py --shift 45 --lambda 0.5 --seed 0
"""
import argparse
import json
import math
import time

import numpy as np
import torch
from sklearn.svm import SVC


def sample_domain(rng, n, mean_scale, std, theta_deg, classes=2, dim=2):
    """n points in `classes` contiguous blocks; class means +-(a, a) for two
    classes; the first two coordinates rotated by theta."""
    k = (np.arange(n) * classes) // n
    if classes == 2:
        means = np.zeros((2, dim))
        means[0, :2] = -mean_scale
        means[1, :2] = mean_scale
    else:
        phi = 1.25 * math.pi + 2 * math.pi * np.arange(classes) / classes
        means = np.zeros((classes, dim))
        means[:, 0] = mean_scale * math.sqrt(2) * np.cos(phi)
        means[:, 1] = mean_scale * math.sqrt(2) * np.sin(phi)
    X = rng.standard_normal((n, dim)) * std + means[k]
    t = math.radians(theta_deg)
    R = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    X[:, :2] = X[:, :2] @ R.T
    return X.astype(np.float32), k


def sq_dists(a, b):
    return ((a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * a @ b.T).clamp_min(0.0)


def mmd2(x, y, gamma):
    """Biased MMD^2 with k(a, b) = exp(-gamma |a - b|^2)."""
    kxx = torch.exp(-gamma * sq_dists(x, x)).mean()
    kyy = torch.exp(-gamma * sq_dists(y, y)).mean()
    kxy = torch.exp(-gamma * sq_dists(x, y)).mean()
    return kxx + kyy - 2.0 * kxy


def run(shift, lam, n_target, seed, n_source=1000, n_test=200, epochs=100, finetune_epochs=50,
        batch_size=32, lr=1e-3, gamma=1.0, hidden=32, features=16):
    rng = np.random.default_rng(seed)
    xs, ys = sample_domain(rng, n_source, 2.0, 0.5, 0.0)
    xt, yt = sample_domain(rng, n_test, 1.0, 0.6, shift)
    xl, yl = sample_domain(rng, n_target, 1.0, 0.6, shift)
    out = {"shift": shift, "lambda": lam, "n_target": n_target, "seed": seed}
    t0 = time.perf_counter()
    out["acc_scratch"] = float((SVC(kernel="rbf", gamma="auto").fit(xl, yl).predict(xt) == yt).mean())
    out["acc_direct"] = float((SVC(kernel="rbf", gamma="auto").fit(xs, ys).predict(xt) == yt).mean())
    t1 = time.perf_counter()

    torch.manual_seed(seed)
    extractor = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, features), torch.nn.ReLU())
    classifier = torch.nn.Linear(features, 2)
    params = list(extractor.parameters()) + list(classifier.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    Xs, Ys = torch.from_numpy(xs), torch.from_numpy(ys).long()
    Xt = torch.from_numpy(xt)
    Xl, Yl = torch.from_numpy(xl), torch.from_numpy(yl).long()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n_source, generator=g)
        for b in range(0, n_source, batch_size):
            idx = order[b:b + batch_size]
            opt.zero_grad()
            fs = extractor(Xs[idx])
            loss = ce(classifier(fs), Ys[idx]) + lam * mmd2(fs, extractor(Xt), gamma)
            loss.backward()
            opt.step()
    for _ in range(finetune_epochs):
        opt.zero_grad()
        loss = ce(classifier(extractor(Xl)), Yl)
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = classifier(extractor(Xt)).argmax(1).numpy()
    out["acc_mmd"] = float((pred == yt).mean())
    out["seconds_svm"] = t1 - t0
    out["seconds_mmd"] = time.perf_counter() - t1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shift", type=float, default=45.0)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.5)
    ap.add_argument("--n-target", type=int, default=50)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--finetune-epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(json.dumps(run(a.shift, a.lam, a.n_target, a.seed, epochs=a.epochs, finetune_epochs=a.finetune_epochs)))


if __name__ == "__main__":
    main()
