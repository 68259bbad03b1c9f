"""The MMD method of torch_reference.py for K configurations at once, as a
careful PyTorch user would batch it: every tensor has a leading configuration
axis, the layers are torch.baddbmm, the per-configuration losses are summed
(so each configuration's gradient is its own loss's gradient: they do not
mix) and one torch.optim.Adam steps the stacked (K, ...) parameters, which is
elementwise, so each configuration evolves as it would alone. All K step in
lockstep: same n_source, n_test, n_target, batch size and epochs.

Configuration k has its own data, initialisation and batch order, drawn
exactly as torch_reference.run draws them for its seed (numpy's
default_rng(seed) through sample_domain, torch.manual_seed(seed) before
building the same nn.Linear layers, a torch.Generator seeded with the seed
for the epochs' permutations): with the same seed and settings the batched
run reproduces torch_reference.run's MMD method up to float rounding
(tests/test_torch_batched.py). Only the MMD method: no SVMs.

One thread and denormals flushed by default (torch.set_flush_denormal is
process-wide and has no getter: run_batched sets it for its run and turns
it off, PyTorch's default, when it returns).

    /usr/bin/python3 tests/reference/torch_batched.py --k 32 --seed0 0
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import sample_domain  # noqa: E402


def batched_mmd2(x, y, gamma):
    """Biased MMD^2 with k(a, b) = exp(-gamma |a - b|^2) per configuration:
    x (K, n, d), y (K, m, d) -> (K,): torch_reference.mmd2 on each slice, up
    to rounding. Two deviations from a literal batching, for speed: relu
    for clamp_min(0) (same values; relu's backward is one pass, clamp_min's
    a comparison and a `where`, 16% of a step in a profile at K = 32; the
    two differ only at a distance of exactly 0, where the true gradient is
    0), and a sum divided by n*m for mean (what mean computes; mean's
    backward materializes a division, 7% of that profile)."""
    xx = (x * x).sum(2)
    yy = (y * y).sum(2)
    def kmean(a, aa, b, bb):
        # |a|^2 + |b|^2 - 2 a.b in one baddbmm, as torch_reference.sq_dists
        d = torch.baddbmm(aa[:, :, None] + bb[:, None, :], a, b.transpose(1, 2), alpha=-2.0)
        return torch.exp(-gamma * torch.relu(d)).sum((1, 2)) / (a.shape[1] * b.shape[1])
    return kmean(x, xx, x, xx) + kmean(y, yy, y, yy) - 2.0 * kmean(x, xx, y, yy)


def make_data(shifts, n_target, seeds, n_source=1000, n_test=200):
    """Per configuration, torch_reference.run's data for its seed: source,
    target test, labelled target; stacked as (K, n, 2) float32 and (K, n) int64."""
    parts = []
    for shift, seed in zip(shifts, seeds):
        rng = np.random.default_rng(seed)
        xs, ys = sample_domain(rng, n_source, 2.0, 0.5, 0.0)
        xt, yt = sample_domain(rng, n_test, 1.0, 0.6, shift)
        xl, yl = sample_domain(rng, n_target, 1.0, 0.6, shift)
        parts.append((xs, ys, xt, yt, xl, yl))
    return [torch.from_numpy(np.stack(p)) if p[0].dtype == np.float32 else torch.from_numpy(np.stack(p)).long()
            for p in zip(*parts)]


def init_params(seeds, dim=2, hidden=32, features=16, classes=2):
    """PyTorch's default initialisation per configuration, drawn as
    torch_reference.run draws it (torch.manual_seed(seed), then the three
    nn.Linear in order), stacked: [W1 (K, hidden, dim), b1 (K, hidden), W2,
    b2, W3, b3], each a leaf requiring grad."""
    per = []
    for seed in seeds:
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(dim, hidden), torch.nn.Linear(hidden, features), torch.nn.Linear(features, classes)]
        per.append([t.detach() for l in layers for t in (l.weight, l.bias)])
    return [torch.stack(ts).requires_grad_() for ts in zip(*per)]


def features_of(p, x):
    W1, b1, W2, b2 = p[:4]
    h = torch.relu(torch.baddbmm(b1[:, None, :], x, W1.transpose(1, 2)))
    return torch.relu(torch.baddbmm(b2[:, None, :], h, W2.transpose(1, 2)))


def logits_of(p, f):
    return torch.baddbmm(p[5][:, None, :], f, p[4].transpose(1, 2))


def ce_per_config(logits, y):
    """Mean cross-entropy per configuration: logits (K, n, C), y (K, n) -> (K,)."""
    return F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)


def _as_list(v, K):
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * K


def run_batched(K, shift, lam, n_target, seeds, epochs=100, finetune_epochs=50, n_source=1000, n_test=200,
                batch_size=32, lr=1e-3, gamma=1.0, hidden=32, features=16, threads=1, flush_denormal=True,
                return_state=False):
    """Train K configurations of the MMD method in lockstep. shift and lam: a
    number or K of them; seeds: K seeds. Returns {"acc_mmd": [K accuracies],
    "seconds": elapsed (initialisation, training, fine-tuning, prediction; not
    the data sampling, as torch_reference's seconds_mmd), "seconds_per_config",
    and the same as the process's CPU time, "cpu_seconds", "cpu_seconds_per_config"}
    and with return_state the final parameters and test logits."""
    seeds = list(seeds)
    assert len(seeds) == K
    shifts, lams = _as_list(shift, K), _as_list(lam, K)
    assert len(shifts) == K and len(lams) == K
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush_denormal)
    try:
        Xs, Ys, Xt, Yt, Xl, Yl = make_data(shifts, n_target, seeds, n_source, n_test)
        lam_t = torch.tensor(lams, dtype=torch.float32)
        t0, c0 = time.perf_counter(), time.process_time()
        p = init_params(seeds, dim=Xs.shape[2], hidden=hidden, features=features)
        opt = torch.optim.Adam(p, lr=lr)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        rows = torch.arange(K)[:, None]
        for _ in range(epochs):
            order = torch.stack([torch.randperm(n_source, generator=g) for g in gens])  # (K, n_source)
            Xe, Ye = Xs[rows, order], Ys[rows, order]
            for b in range(0, n_source, batch_size):
                xb, yb = Xe[:, b:b + batch_size], Ye[:, b:b + batch_size]
                opt.zero_grad(set_to_none=True)
                fs = features_of(p, xb)
                loss_k = ce_per_config(logits_of(p, fs), yb) + lam_t * batched_mmd2(fs, features_of(p, Xt), gamma)
                loss_k.sum().backward()
                opt.step()
        for _ in range(finetune_epochs):
            opt.zero_grad(set_to_none=True)
            ce_per_config(logits_of(p, features_of(p, Xl)), Yl).sum().backward()
            opt.step()
        with torch.no_grad():
            logits = logits_of(p, features_of(p, Xt))
            acc = (logits.argmax(2) == Yt).double().mean(1)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        torch.set_num_threads(old_threads)
        if flush_denormal:
            torch.set_flush_denormal(False)
    out = {"K": K, "seeds": seeds, "acc_mmd": acc.tolist(), "seconds": elapsed, "seconds_per_config": elapsed / K,
           "cpu_seconds": cpu, "cpu_seconds_per_config": cpu / K}
    if return_state:
        out["params"] = [t.detach().clone() for t in p]
        out["logits"] = logits
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, default=32, help="configurations at once (seeds seed0 .. seed0+K-1)")
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--shift", type=float, default=45.0)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.5)
    ap.add_argument("--n-target", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--finetune-epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-flush-denormal", action="store_true", help="leave denormals on (PyTorch's default)")
    ap.add_argument("--per-config", action="store_true", help="print every configuration's accuracy")
    a = ap.parse_args()
    r = run_batched(a.k, a.shift, a.lam, a.n_target, range(a.seed0, a.seed0 + a.k), epochs=a.epochs,
                    finetune_epochs=a.finetune_epochs, threads=a.threads, flush_denormal=not a.no_flush_denormal)
    acc = r.pop("acc_mmd")
    r["mean_acc_mmd"] = float(np.mean(acc))
    if a.per_config:
        r["acc_mmd"] = acc
    else:
        r.pop("seeds")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
