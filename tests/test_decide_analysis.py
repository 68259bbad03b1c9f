"""analysis.decide (analysis/decide.py).

- The Python default rule is the C default (tls_decide_rule_default, through the decide_eval
  driver): the same decisions, checks and bounds on streams of every shape; other rules agree
  with the C module and with the NumPy reference written from the papers
  (tests/reference/decide_reference.py); a seed without a difference is skipped but counted.
- On a sequential file (decide.mode: sequential, with failed configurations), analysis.decide
  gives the file's own decisions cell by cell: decisions and seeds identical, bounds to 1e-12.
- On a grid file it gives the confidence sequence at the grid's seeds: the reference's on the
  same differences, at the file's round or another."""
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tlstest import ROOT, env, mpirun

sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import decide_reference as REF  # noqa: E402
from analysis import decide, decisions  # noqa: E402
from test_decide import DRIVER, run_c, streams_mixed  # noqa: E402

D = sys.modules["analysis.decide"]  # the module (analysis.decide is the function)
YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}
FAST = ["--set", "train.finetune_epochs=5", "--set", "baselines.target_epochs=30", "--set", "data.n_source=100",
        "--set", "data.n_test=50", "--set", "output.embeddings=false"]
# 8 cells, 5 comparisons, 41 seeds in rounds of 4 (the budget is a check of its own); cells decided after 4 to 41
# seeds, every decision and sign changes along the shift occur; the MMD method fails at grid indices 1, 2 (cell 0:
# its seeds 1 and 2 give no difference with mmd), 169 and 290
SEQ = ["--set", "decide.mode=sequential", "--set", "grid.shift=[0,20,90,180]", "--set", "grid.lambda=[0.5]",
       "--set", "grid.n_target=[2,6]", "--set", "decide.max_seeds=41", "--set", "decide.round=4",
       "--set", "decide.compare=[mmd:target_mlp,mmd:scratch,direct:scratch,ensemble:mmd,target_mlp:scratch]",
       "--set", "train.epochs=15"] + FAST
FAULTS = "1,2,169,290"
GRID = ["--set", "grid.shift=[0,45,90,180]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[6,20]",
        "--set", "grid.seed=[0,1,2,3,4,5]", "--set", "train.epochs=15"] + FAST
KINDS = ["--set", "grid.data.shift_kind=[rotation,label]", "--set", "grid.shift=[0.2,0.5,0.8]",
         "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[6]", "--set", "grid.seed=[0,1,2]",
         "--set", "train.epochs=4"] + FAST
RULE_ARGS = ("sign", "equiv", "c", "t_opt", "var_floor", "min_seeds", "min_seeds_eq")


def ref_rule(rule):
    return REF.Rule(**{k: getattr(rule, k) for k in RULE_ARGS})


def c_default(streams):
    """tls_decide_rule_default's checks per stream: decide_eval with no rule keys."""
    text = "\n".join(" ".join(f"{v:.17g}" for v in s) for s in streams) + "\n"
    p = subprocess.run([DRIVER, "stream"], input=text, capture_output=True, text=True, check=True)
    out = [[] for _ in streams]
    for line in p.stdout.splitlines():
        v = line.split()
        out[int(v[0])].append(dict(t=int(v[1]), decision=int(v[2]), decided_at=int(v[3]), cs_low=float(v[8]),
                                   cs_high=float(v[9]), mean=float(v[10])))
    return out


def at_decision(checks):
    """The check a cell stops at: its decision's, else the last."""
    last = checks[-1]
    return next(c for c in checks if c["t"] == last["decided_at"]) if last["decided_at"] else last


# ---------------------------------------------------------------- the rule against C and the reference

def test_the_default_rule_is_the_c_default():
    streams = streams_mixed(60)
    got = D.streams(np.array(streams), alpha=0.05, delta=0.01, round=5, max_seeds=100, rule=D.DEFAULT)
    decided = 0
    for i, checks in enumerate(c_default(streams)):
        c = at_decision(checks)
        assert got["decision"][i] == checks[-1]["decision"], i
        assert got["checked"][i] == c["t"] and got["seeds_used"][i] == c["t"], i
        assert got["cs_low"][i] == pytest.approx(c["cs_low"], abs=1e-12), i
        assert got["cs_high"][i] == pytest.approx(c["cs_high"], abs=1e-12), i
        assert got["mean_diff"][i] == pytest.approx(c["mean"], abs=1e-15), i
        decided += checks[-1]["decision"] != 0
    assert 0 < decided < len(streams)


@pytest.mark.parametrize("name", ["exact", "guarded", "mixed"])
def test_rules_agree_with_c_and_the_reference(name):
    rule = {"exact": D.EXACT,
            "guarded": D.Rule("asymptotic", "asymptotic", 0.5, 30.0, 1e-4, 10, 40),
            "mixed": D.Rule("asymptotic", "betting", 0.75, 20.0, 0.0, 0, 0)}[name]
    streams = streams_mixed(30, seed=3)
    got = D.streams(np.array(streams), round=5, max_seeds=100, rule=rule)
    ref = REF.sequential(np.array(streams), round_=5, max_seeds=100, rule=ref_rule(rule))
    c, _ = run_c(streams, ref_rule(rule))
    assert (got["decision"] == ref["decision"]).all() and (got["checked"] == ref["seeds"]).all()
    for k in ("cs_low", "cs_high", "evalue"):
        assert got[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-12), k
    for i, checks in enumerate(c):
        assert got["decision"][i] == checks[-1]["decision"]
        assert got["cs_low"][i] == pytest.approx(at_decision(checks)["cs_low"], abs=1e-12)


def test_a_seed_without_a_difference_is_skipped_but_counted():
    s = np.array(streams_mixed(12, T=23, seed=4))
    holes = s.copy()
    holes[:, [1, 7]] = np.nan  # seeds 1 and 7 gave no difference (a failed method)
    got = D.streams(holes, round=5, max_seeds=23, rule=D.EXACT)
    ref = REF.sequential(np.delete(s, [1, 7], axis=1), round_=5, max_seeds=23, rule=REF.EXACT)
    assert (got["decision"] == ref["decision"]).all()
    assert got["cs_low"] == pytest.approx(ref["cs_low"], abs=1e-12)
    assert (got["checked"] == ref["seeds"]).all()  # differences at the check; 21 < 23: no budget check
    want = np.where(ref["decision"] > 0, ref["seeds"] + (ref["seeds"] >= 2) + (ref["seeds"] >= 7), 23)
    assert (got["seeds_used"] == want).all()
    ran = np.ones(s.shape, bool)
    ran[:, 10] = False  # seed 10 not run yet: the cell's seeds end there
    cut = D.streams(s, ran, round=5, max_seeds=23, rule=D.EXACT)
    first = REF.sequential(s[:, :10], round_=5, max_seeds=23, rule=REF.EXACT)
    assert (cut["decision"] == first["decision"]).all()
    assert (cut["seeds_used"] == np.where(first["decision"] > 0, first["seeds"], 10)).all()


# ---------------------------------------------------------------- files

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("decide")
    out = {k: str(d / f"{k}.h5") for k in ("seq", "grid", "kinds")}
    cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "TLSWEEP_FAULT", os.environ.get("TLSWEEP_BIN", "")
           or os.path.join(ROOT, "build", "tlsweep"), "run", "-o", out["seq"]] + SEQ
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env(TLSWEEP_FAULT=FAULTS, **YIELD))
    assert p.returncode == 0, p.stderr
    mpirun(2, ["run", "-o", out["grid"]] + GRID, extra_env=YIELD)
    mpirun(2, ["run", "-o", out["kinds"]] + KINDS, extra_env=YIELD)
    return out


def read(path):
    """What the file holds, with h5py alone."""
    with h5py.File(path, "r") as f:
        r = {"axes": [dim[0].name.lstrip("/") for dim in f["status"].dims], "status": f["status"][()]}
        r["coords"] = {a: f[a][()] for a in r["axes"]}
        r["acc"] = {k[4:]: f[k][()] for k in f if k.startswith("acc_")}
        if "comparison" in f:
            r["comparison"] = [c.decode() if isinstance(c, bytes) else str(c) for c in f["comparison"][()]]
            for k in ("decision", "cs_low", "cs_high", "seeds_used", "mean_diff", "evalue", "stop_round"):
                r[k] = f[k][()]
    return r


def test_decide_on_a_sequential_file_is_the_files_decisions(files):
    r = read(files["seq"])
    assert int((r["status"] == 2).sum()) == 4  # the failed seeds are in the cells
    for k, c in enumerate(r["comparison"]):
        a, b = c.split(":")
        got = decide(files["seq"], a, b)
        assert got.attrs["round"] == 4 and got.attrs["max_seeds"] == 41
        assert list(got["decision"].dims) == ["shift", "lambda", "n_target"]
        for v in ("decision", "seeds_used", "stop_round"):
            assert (got[v].values == r[v][..., k]).all(), (c, v)
        for v in ("cs_low", "cs_high", "mean_diff", "evalue"):
            np.testing.assert_allclose(got[v].values, r[v][..., k], rtol=1e-12, atol=1e-12, err_msg=f"{c} {v}")
    assert set(np.unique(r["decision"])) == {0, 1, 2, 3}  # every decision occurs in this file
    assert (r["status"][0, 0, 0, 1:3] == 2).all()  # cell 0's seeds 1 and 2 gave no difference with mmd
    own = decisions(files["seq"])
    assert own.attrs["source"] == "file" and [str(c) for c in own["comparison"].values] == r["comparison"]


@pytest.mark.parametrize("round_", [None, 2])
def test_decide_on_a_grid_is_the_reference_at_its_seeds(files, round_):
    r = read(files["grid"])
    got = decide(files["grid"], "mmd", "target_mlp", round=round_)
    assert got.attrs["round"] == (round_ or 5) and got.attrs["max_seeds"] == 6
    diff = (r["acc"]["mmd"] - r["acc"]["target_mlp"]).reshape(-1, 6)  # (shift, lambda, n_target) x seed
    ref = REF.sequential(diff, round_=round_ or 5, max_seeds=6, rule=ref_rule(D.DEFAULT))
    assert (got["decision"].values.ravel() == ref["decision"]).all()
    assert (got["seeds_used"].values.ravel() == ref["seeds"]).all()
    for v in ("cs_low", "cs_high", "evalue"):
        np.testing.assert_allclose(got[v].values.ravel(), ref[v], rtol=1e-12, atol=1e-12, err_msg=v)
    exact = decide(files["grid"], "mmd", "scratch", alpha=0.1, delta=0.02, round=round_, rule=D.EXACT)
    diff = (r["acc"]["mmd"] - r["acc"]["scratch"]).reshape(-1, 6)
    ref = REF.sequential(diff, alpha=0.1, delta=0.02, round_=round_ or 5, max_seeds=6, rule=REF.EXACT)
    assert (exact["decision"].values.ravel() == ref["decision"]).all()
    np.testing.assert_allclose(exact["cs_low"].values.ravel(), ref["cs_low"], atol=1e-12)
    with pytest.raises(KeyError, match="allowed"):
        decide(files["grid"], "mmd", "nothing")
