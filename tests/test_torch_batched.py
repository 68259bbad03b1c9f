"""tests/reference/torch_batched.py, K configurations in lockstep, gives
each configuration what it gets alone: against a plain loop (nn.Linear,
torch.optim.Adam, torch_reference.mmd2) with the same data, initialisation
and batch order, against torch_reference.run itself, and against its own
K = 1 runs. Tiny sizes (60 steps, parameters move 5e-2 to 8e-2; the plain loop
agrees to ~2e-7); a partial last batch (70 = 2 x 32 + 6)."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import torch_batched as B  # noqa: E402
import torch_reference as R  # noqa: E402

SEEDS = [3, 11, 12]
SHIFTS = [45.0, 0.0, 90.0]
LAMS = [0.5, 0.0, 1.0]
SIZES = dict(n_target=10, epochs=20, finetune_epochs=5, n_source=70, n_test=20)  # accuracies 0.9-0.95


def loop_one(shift, lam, seed, n_target, epochs, finetune_epochs, n_source, n_test, batch_size=32, gamma=1.0):
    """One configuration, written the plain way (torch_reference.run's MMD
    method, returning its final parameters and test logits)."""
    rng = np.random.default_rng(seed)
    xs, ys = R.sample_domain(rng, n_source, 2.0, 0.5, 0.0)
    xt, yt = R.sample_domain(rng, n_test, 1.0, 0.6, shift)
    xl, yl = R.sample_domain(rng, n_target, 1.0, 0.6, shift)
    torch.manual_seed(seed)
    ext = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16), torch.nn.ReLU())
    cls = torch.nn.Linear(16, 2)
    params = list(ext.parameters()) + list(cls.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ce = torch.nn.CrossEntropyLoss()
    Xs, Ys, Xt = torch.from_numpy(xs), torch.from_numpy(ys).long(), torch.from_numpy(xt)
    Xl, Yl = torch.from_numpy(xl), torch.from_numpy(yl).long()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n_source, generator=g)
        for b in range(0, n_source, batch_size):
            idx = order[b:b + batch_size]
            opt.zero_grad()
            fs = ext(Xs[idx])
            (ce(cls(fs), Ys[idx]) + lam * R.mmd2(fs, ext(Xt), gamma)).backward()
            opt.step()
    for _ in range(finetune_epochs):
        opt.zero_grad()
        ce(cls(ext(Xl)), Yl).backward()
        opt.step()
    with torch.no_grad():
        logits = cls(ext(Xt))
    return [t.detach() for t in params], logits, float((logits.argmax(1).numpy() == yt).mean())


@pytest.fixture(scope="module")
def batched():
    return B.run_batched(3, SHIFTS, LAMS, SIZES["n_target"], SEEDS, epochs=SIZES["epochs"],
                         finetune_epochs=SIZES["finetune_epochs"], n_source=SIZES["n_source"],
                         n_test=SIZES["n_test"], return_state=True)


def flushed(fn, *args, **kw):
    """Run fn as run_batched runs: one thread, denormals flushed."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        return fn(*args, **kw)
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(old)


def test_mmd2_per_slice():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 7, 16, generator=g), torch.randn(3, 9, 16, generator=g) + 0.3
    got = B.batched_mmd2(x, y, 1.0)
    want = torch.stack([R.mmd2(x[k], y[k], 1.0) for k in range(3)])
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-7)


def test_batched_equals_loop(batched):
    assert batched["K"] == 3 and len(batched["acc_mmd"]) == 3
    for k in range(3):
        params, logits, acc = flushed(loop_one, SHIFTS[k], LAMS[k], SEEDS[k], **SIZES)
        for got, want in zip(batched["params"], params):
            assert got[k].shape == want.shape
            assert torch.allclose(got[k], want, rtol=1e-5, atol=1e-5), (k, (got[k] - want).abs().max())
        assert torch.allclose(batched["logits"][k], logits, rtol=1e-5, atol=1e-5)
        assert batched["acc_mmd"][k] == acc


def test_batched_equals_torch_reference(batched):
    for k in range(3):
        r = flushed(R.run, SHIFTS[k], LAMS[k], SIZES["n_target"], SEEDS[k], n_source=SIZES["n_source"],
                    n_test=SIZES["n_test"], epochs=SIZES["epochs"], finetune_epochs=SIZES["finetune_epochs"])
        assert batched["acc_mmd"][k] == r["acc_mmd"]


def test_batched_equals_k1(batched):
    """Each configuration of the K = 3 run as it runs alone through the same code."""
    for k in range(3):
        one = B.run_batched(1, SHIFTS[k], LAMS[k], SIZES["n_target"], [SEEDS[k]], epochs=SIZES["epochs"],
                            finetune_epochs=SIZES["finetune_epochs"], n_source=SIZES["n_source"],
                            n_test=SIZES["n_test"], return_state=True)
        for got, want in zip(batched["params"], one["params"]):
            assert torch.allclose(got[k], want[0], rtol=1e-6, atol=1e-6)
        assert torch.allclose(batched["logits"][k], one["logits"][0], rtol=1e-6, atol=1e-6)
        assert batched["acc_mmd"][k] == one["acc_mmd"][0]


def test_configurations_differ(batched):
    """Own data, initialisation and order: no two configurations alike."""
    w = batched["params"][0]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
