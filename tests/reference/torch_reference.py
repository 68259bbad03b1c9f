"""An independent PyTorch implementation of the article's experiment, written
from its description (not from tlsweep's C code, not copied from the article):
two Gaussian domains, the target rotated; an RBF SVM from scratch on the
labelled target points; direct transfer of a source SVM; an MLP trained with
cross-entropy + lambda * MMD^2 (biased, RBF kernel) over source mini-batches
against all target test features, then fine-tuned full-batch on the
labelled target points with the same Adam optimizer.

The remedies against negative transfer, written from the issue's text
("Which remedy prevents negative transfer?"), not from tlsweep's C code:
  align      mmd (the article), coral (Deep CORAL: ||C_s - C_t||_F^2 / (4 d^2) of
             the feature covariances), dann (a discriminator Linear(F->disc_hidden)-
             ReLU-Linear(->1) on the features, binary cross-entropy, gradient
             reversal, weight lambda, in the same Adam), none
  target_batch   None (every target test point each step) or m drawn per step
  gammas     the MMD's RBF gammas, kernels summed (None: [gamma])
  bandwidth  fixed, or median: the gammas divided by the median squared
             distance of the pooled batch (not differentiated)
  estimator  biased, or unbiased (self pairs left out)
  strategy   fine-tuning: all, classifier (feature extractor frozen), l2sp
             (alpha/2 ||w - w_source||^2 on the feature extractor's parameters)
  target_mlp the same network from the same initialisation trained on the
             labelled target points alone (fresh Adam, target_epochs
             full-batch epochs); ensemble: the mean of the two networks'
             softmax outputs.

Its random numbers come from numpy and torch, so it agrees with tlsweep in
distribution, not draw by draw: compare means over seeds (compare.py).

    /usr/bin/python3 tests/reference/torch_reference.py --shift 45 --lambda 0.5 --seed 0
"""
import argparse
import copy
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


def mmd2_general(x, y, gammas, bandwidth="fixed", estimator="biased"):
    """MMD^2 with k = sum_q exp(-gamma_q |a - b|^2); median bandwidth: gamma_q /
    median of the pooled squared distances (a constant); unbiased: the self
    pairs left out of the x-x and y-y means."""
    g = list(gammas)
    if bandwidth == "median":
        with torch.no_grad():
            z = torch.cat([x, y])
            d2 = sq_dists(z, z)
            iu = torch.triu_indices(len(z), len(z), offset=1)
            med = float(d2[iu[0], iu[1]].median())
        if med > 0 and math.isfinite(med):
            g = [q / med for q in g]

    def kmean(a, b, self_pairs):
        d2 = sq_dists(a, b)
        k = sum(torch.exp(-q * d2) for q in g)
        if self_pairs and estimator == "unbiased":
            n = len(a)
            if n < 2:
                return k.sum() * 0.0
            return (k.sum() - torch.diagonal(k).sum()) / (n * (n - 1))
        return k.mean()

    return kmean(x, x, True) + kmean(y, y, True) - 2.0 * kmean(x, y, False)


def coral(xs, xt):
    """Deep CORAL: squared Frobenius distance of the (unbiased) feature
    covariances over 4 d^2."""
    d = xs.shape[1]

    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (len(x) - 1)

    return ((cov(xs) - cov(xt)) ** 2).sum() / (4.0 * d * d)


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -g


def softmax_accuracy(extractor, classifier, xt, yt):
    with torch.no_grad():
        logits = classifier(extractor(xt))
    return float((logits.argmax(1).numpy() == yt).mean()), torch.softmax(logits, 1)


def transferability_scores(extractor, classifier, Xl, yl):
    """The scores of transferability.py on the network's features and softmax of the labelled
    target points (in double precision), as ts_<name>."""
    import transferability as ts
    with torch.no_grad():
        fl = extractor(Xl)
        pl = torch.softmax(classifier(fl), 1)
    f64, p64 = fl.numpy().astype(np.float64), pl.numpy().astype(np.float64)
    out = {"ts_" + name: float(getattr(ts, name)(p64, yl)[0]) for name in ("leep", "nce")}
    for name in ("nleep", "logme", "hscore", "hscore_shrink", "gbc", "transrate"):
        out["ts_" + name] = float(getattr(ts, name)(f64, yl)[0])
    out["ts_knn"] = float(ts.knn(f64, yl, 20)[0])
    return out


def alignment(align, fs, ft, gamma, gammas, bandwidth, estimator, disc):
    """The alignment loss between a source batch's features fs and the target's ft (before lambda)."""
    if align == "mmd":
        if gammas is None and bandwidth == "fixed" and estimator == "biased":
            return mmd2(fs, ft, gamma)
        return mmd2_general(fs, ft, list(gammas) if gammas else [gamma], bandwidth, estimator)
    if align == "coral":
        return coral(fs, ft)
    if align == "dann":
        z = GradReverse.apply(torch.cat([fs, ft]))
        lab = torch.cat([torch.zeros(len(fs)), torch.ones(len(ft))])
        return torch.nn.BCEWithLogitsLoss()(disc(z).squeeze(1), lab)
    raise ValueError(align)


def train_target_only(extractor, classifier, init_state, Xl, Yl, lr, target_epochs):
    """The target-only network: the same initialisation, a fresh Adam, the labelled target points only."""
    extractor.load_state_dict(init_state[0])
    classifier.load_state_dict(init_state[1])
    for p in extractor.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(list(extractor.parameters()) + list(classifier.parameters()), lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    for _ in range(target_epochs):
        opt.zero_grad(set_to_none=True)
        loss = ce(classifier(extractor(Xl)), Yl)
        loss.backward()
        opt.step()


def run(shift, lam, n_target, seed, n_source=1000, n_test=200, epochs=100, finetune_epochs=50,
        batch_size=32, lr=1e-3, gamma=1.0, hidden=32, features=16, align="mmd", target_batch=None,
        gammas=None, bandwidth="fixed", estimator="biased", disc_hidden=32, strategy="all",
        l2sp_alpha=0.1, target_epochs=500, scores=False):
    """One configuration; with `scores`, the transferability scores too
    (ts_<name>, from transferability.py on the source-trained network's
    features and softmax on the labelled target points, before fine-tuning,
    and from the fine-tuning cross-entropy curve)."""
    rng = np.random.default_rng(seed)
    xs, ys = sample_domain(rng, n_source, 2.0, 0.5, 0.0)
    xt, yt = sample_domain(rng, n_test, 1.0, 0.6, shift)
    xl, yl = sample_domain(rng, n_target, 1.0, 0.6, shift)
    out = {"shift": shift, "lambda": lam, "n_target": n_target, "seed": seed}
    t0 = time.perf_counter()
    out["acc_scratch"] = float((SVC(kernel="rbf", gamma="auto").fit(xl, yl).predict(xt) == yt).mean())
    out["acc_direct"] = float((SVC(kernel="rbf", gamma="auto").fit(xs, ys).predict(xt) == yt).mean())
    t1, c1 = time.perf_counter(), time.process_time()

    torch.manual_seed(seed)
    extractor = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, features), torch.nn.ReLU())
    classifier = torch.nn.Linear(features, 2)
    init_state = (copy.deepcopy(extractor.state_dict()), copy.deepcopy(classifier.state_dict()))
    params = list(extractor.parameters()) + list(classifier.parameters())
    if align == "dann":
        disc = torch.nn.Sequential(torch.nn.Linear(features, disc_hidden), torch.nn.ReLU(),
                                   torch.nn.Linear(disc_hidden, 1))
        params += list(disc.parameters())
    else:
        disc = None
    opt = torch.optim.Adam(params, lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    Xs, Ys = torch.from_numpy(xs), torch.from_numpy(ys).long()
    Xt = torch.from_numpy(xt)
    Xl, Yl = torch.from_numpy(xl), torch.from_numpy(yl).long()
    g = torch.Generator().manual_seed(seed)
    gt = torch.Generator().manual_seed(seed + 1000003)  # the target batches' own stream
    for _ in range(epochs):
        order = torch.randperm(n_source, generator=g)
        for b in range(0, n_source, batch_size):
            idx = order[b:b + batch_size]
            opt.zero_grad(set_to_none=True)
            fs = extractor(Xs[idx])
            loss = ce(classifier(fs), Ys[idx])
            if align != "none" and lam != 0:
                Xtb = Xt
                if target_batch is not None and target_batch < n_test:
                    Xtb = Xt[torch.randperm(n_test, generator=gt)[:target_batch]]
                ft = extractor(Xtb)
                loss = loss + lam * alignment(align, fs, ft, gamma, gammas, bandwidth, estimator, disc)
            loss.backward()
            opt.step()
    if scores:
        out.update(transferability_scores(extractor, classifier, Xl, yl))
    ft_curve = []
    # fine-tuning, same optimizer: frozen or regularized feature extractor
    if strategy == "classifier":
        for p in extractor.parameters():
            p.requires_grad_(False)
    source_w = [p.detach().clone() for p in extractor.parameters()]
    for _ in range(finetune_epochs):
        opt.zero_grad(set_to_none=True)
        loss = ce(classifier(extractor(Xl)), Yl)
        ft_curve.append(float(loss))
        if strategy == "l2sp":
            loss = loss + 0.5 * l2sp_alpha * sum(((p - w0) ** 2).sum()
                                                 for p, w0 in zip(extractor.parameters(), source_w))
        loss.backward()
        opt.step()
    if scores:
        import transferability as ts
        out["ts_ft_loss_rise"] = float(ts.ft_loss_rise(np.array(ft_curve))[0])
        out["ts_ft_loss_rebound"] = float(ts.ft_loss_rebound(np.array(ft_curve))[0])
    out["acc_mmd"], p_mmd = softmax_accuracy(extractor, classifier, Xt, yt)
    t2, c2 = time.perf_counter(), time.process_time()

    train_target_only(extractor, classifier, init_state, Xl, Yl, lr, target_epochs)
    out["acc_target_mlp"], p_tgt = softmax_accuracy(extractor, classifier, Xt, yt)
    out["acc_ensemble"] = float((((p_mmd + p_tgt) / 2).argmax(1).numpy() == yt).mean())
    out["seconds_svm"] = t1 - t0
    out["seconds_mmd"] = t2 - t1
    out["cpu_seconds_mmd"] = c2 - c1  # CPU time of the process (all its threads)
    out["seconds_target_mlp"] = time.perf_counter() - t2
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
    ap.add_argument("--align", default="mmd", choices=["mmd", "coral", "dann", "none"])
    ap.add_argument("--target-batch", type=int, default=None)
    ap.add_argument("--gammas", type=lambda v: [float(x) for x in v.split(",")], default=None)
    ap.add_argument("--bandwidth", default="fixed", choices=["fixed", "median"])
    ap.add_argument("--estimator", default="biased", choices=["biased", "unbiased"])
    ap.add_argument("--strategy", default="all", choices=["all", "classifier", "l2sp"])
    ap.add_argument("--l2sp-alpha", type=float, default=0.1)
    ap.add_argument("--target-epochs", type=int, default=500)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(json.dumps(run(a.shift, a.lam, a.n_target, a.seed, epochs=a.epochs, finetune_epochs=a.finetune_epochs,
                         align=a.align, target_batch=a.target_batch, gammas=a.gammas, bandwidth=a.bandwidth,
                         estimator=a.estimator, strategy=a.strategy, l2sp_alpha=a.l2sp_alpha,
                         target_epochs=a.target_epochs)))


if __name__ == "__main__":
    main()
