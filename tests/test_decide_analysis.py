"""analysis.decide (analysis/decide.py) and the report that speaks in decisions.

- The Python default rule is the C default (tls_decide_rule_default, through the decide_eval
  driver): the same decisions, checks and bounds on streams of every shape; other rules agree
  with the C module and with the NumPy reference written from the papers
  (tests/reference/decide_reference.py); a seed without a difference is skipped but counted.
- On a sequential file (decide.mode: sequential, with failed configurations), analysis.decide
  gives the file's own decisions cell by cell: decisions and seeds identical, bounds to 1e-12.
- On a grid file it gives the confidence sequence at the grid's seeds: the reference's on the
  same differences, at the file's round or another.
- The report of each file: the headline's counts are the counts of decisions taken directly
  from the file (or from the reference), every sign change it names lies between a decided
  helps and a decided hurts, it states no crossover from means, flags fewer than 5 seeds,
  calls lambda 0 fine-tuning without alignment and never optimises data.shift_kind; the
  decision map is drawn; the captions of the figures with 95% intervals flag fewer than 5 seeds;
  negative_transfer.png colours each cell by its decision on mmd:scratch (the file's own or the
  reference's) with the seeds it used, not a share of seeds."""
import html
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tlstest import ROOT, env, mpirun, run

sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import decide_reference as REF  # noqa: E402
from analysis import decide, decisions  # noqa: E402
from test_decide import DRIVER, run_c, streams_mixed  # noqa: E402

D = sys.modules["analysis.decide"]  # the module (analysis.decide is the function)
YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}
FAST = ["--set", "train.finetune_epochs=5", "--set", "baselines.target_epochs=30", "--set", "data.n_source=100",
        "--set", "data.n_test=50", "--set", "output.embeddings=false"]
# 4 classes in 8 dimensions: transfer helps at small rotations with few labelled points and hurts decisively beyond
# (effects of +0.1 to +0.3 and -0.1 to -0.8), fast (about 200 configurations a second on 2 ranks)
DATA = ["--set", "data.dim=8", "--set", "data.classes=4", "--set", "data.n_source=300", "--set", "data.n_test=50",
        "--set", "train.epochs=30", "--set", "train.finetune_epochs=20", "--set", "baselines.target_epochs=200",
        "--set", "output.embeddings=false"]
# 8 cells, 5 comparisons, 41 seeds in rounds of 4 (the budget is a check of its own); under the default rule cells
# are decided after 8 to 41 seeds or given up from 20, helps, hurts and sign changes along the shift occur; the MMD
# method fails at grid indices 1, 2 (cell 0: its seeds 1 and 2 give no difference with mmd), 169 and 290
SEQ = ["--set", "decide.mode=sequential", "--set", "grid.shift=[0,20,90,180]", "--set", "grid.lambda=[0.5]",
       "--set", "grid.n_target=[4,8]", "--set", "decide.max_seeds=41", "--set", "decide.round=4",
       "--set", "decide.compare=[mmd:target_mlp,mmd:scratch,direct:scratch,ensemble:mmd,target_mlp:scratch]"] + DATA
# the opt-in construction with a margin of 0.05: every decision occurs, some from 4 seeds
ASYM = SEQ + ["--set", "decide.cs=asymptotic", "--set", "decide.delta=0.05"]
EBH = SEQ + ["--set", "decide.multiplicity=ebh"]
FAULTS = "1,2,169,290"
# a boundary map of 13 shifts x 5 target sizes: measured, inferred, helps, hurts, undecided and given-up cells
MAP = ["--set", "decide.mode=boundary", "--set", "grid.shift=range(0,181,15)", "--set", "grid.n_target=[4,6,8,12,16]",
       "--set", "grid.lambda=[0.5]", "--set", "decide.max_seeds=24", "--set", "decide.round=4"] + DATA
# a smaller one cut by decide.max_trainings: cells not known too
CUT = ["--set", "decide.mode=boundary", "--set", "grid.shift=range(0,181,15)", "--set", "grid.n_target=[4,8,16]",
       "--set", "grid.lambda=[0.5]", "--set", "decide.max_seeds=24", "--set", "decide.round=4",
       "--set", "decide.max_trainings=300"] + DATA
# a grid of 24 seeds: decisions and futility stops at the grid's seeds
GRID = ["--set", "grid.shift=[0,45,90,180]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[4,16]",
        "--set", "grid.seed=range(0,24)"] + DATA
KINDS = ["--set", "grid.data.shift_kind=[rotation,label]", "--set", "grid.shift=[0.2,0.5,0.8]",
         "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[6]", "--set", "grid.seed=[0,1,2]",
         "--set", "train.epochs=4"] + FAST
RULE_ARGS = ("sign", "equiv", "c", "t_opt", "var_floor", "min_seeds", "min_seeds_eq", "asym_running", "futility",
             "futility_z")


def ref_rule(rule):
    return REF.Rule(**{k: getattr(rule, k) for k in RULE_ARGS})


def c_checks(streams, *keys):
    """The C module's checks per stream under tls_decide_rule_default, changed by keys ("sign=asymptotic", ...):
    decide_eval with those keys alone."""
    text = "\n".join(" ".join(f"{v:.17g}" for v in s) for s in streams) + "\n"
    p = subprocess.run([DRIVER, "stream", *keys], input=text, capture_output=True, text=True, check=True)
    out = [[] for _ in streams]
    for line in p.stdout.splitlines():
        v = line.split()
        out[int(v[0])].append(dict(t=int(v[1]), decision=int(v[2]), futile=int(v[3]), stopped_at=int(v[4]),
                                   cs_low=float(v[9]), cs_high=float(v[10]), mean=float(v[11]), evalue=float(v[12])))
    return out


def at_decision(checks):
    """The check a comparison stops at: the one that decided or gave it up, else the last."""
    last = checks[-1]
    return next(c for c in checks if c["t"] == last["stopped_at"]) if last["stopped_at"] else last


# ---------------------------------------------------------------- the rule against C and the reference

@pytest.mark.parametrize("name", ["default", "asymptotic"])
def test_the_python_rules_are_the_c_rules(name):
    """DEFAULT is tls_decide_rule_default and ASYMPTOTIC tls_decide_rule_asymptotic (decide_eval without rule keys
    but the construction): on 600 streams of every shape, the same decision, futility and check that stopped each,
    the bounds, mean and e-value there."""
    streams = streams_mixed(600, seed=21 if name == "default" else 22)
    rule, keys = (D.DEFAULT, ()) if name == "default" else (D.ASYMPTOTIC, ("sign=asymptotic", "equiv=asymptotic"))
    assert rule == D.RULES["betting" if name == "default" else "asymptotic"]
    got = D.streams(np.array(streams), alpha=0.05, delta=0.01, round=5, max_seeds=100, rule=rule)
    seen = {"decided": 0, "futile": 0, "open": 0}
    for i, checks in enumerate(c_checks(streams, *keys)):
        c, last = at_decision(checks), checks[-1]
        assert got["decision"][i] == last["decision"] and got["futile"][i] == bool(last["futile"]), i
        assert got["stopped_at"][i] == last["stopped_at"], i
        assert got["checked"][i] == c["t"] and got["seeds_used"][i] == c["t"], i
        for k, v in (("cs_low", "cs_low"), ("cs_high", "cs_high"), ("mean_diff", "mean")):
            assert got[k][i] == pytest.approx(c[v], abs=1e-12), (i, k)
        assert got["evalue"][i] == pytest.approx(c["evalue"], rel=1e-9), i
        seen["decided" if last["decision"] else "futile" if last["futile"] else "open"] += 1
    assert all(v > 0 for v in seen.values()), seen  # decisions, futility stops and budgets all happen
    ref = REF.sequential(np.array(streams), round_=5, max_seeds=100, rule=ref_rule(rule))
    assert (got["decision"] == ref["decision"]).all() and (got["futile"] == ref["futile"]).all()


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


@pytest.mark.parametrize("alpha,cs", [(0.05, "betting"), (0.01, "betting"), (0.001, "betting"), (0.05, "asymptotic")])
def test_too_few_seeds_to_decide_anything_are_refused(alpha, cs):
    """decide.max_seeds below the seeds at which the largest effect there is (a difference of -1 at every seed) is
    decided -- n*, from the Python rule -- is refused with n*; n* itself is accepted (5 seeds ran and decided
    nothing)."""
    from analysis.decide import RULES, streams
    got = streams(-np.ones((1, 200)), alpha=alpha, round=1, rule=RULES[cs])
    assert got["decision"][0] == 2
    first = int(got["seeds_used"][0])
    base = ["config", "--set", "decide.mode=sequential", "--set", "decide.round=1", "--set", f"decide.alpha={alpha}",
            "--set", f"decide.cs={cs}"]
    if first > 1:
        p = run(base + ["--set", f"decide.max_seeds={first - 1}"], check=False)
        assert p.returncode == 2 and f"allowed: at least {first} seeds" in p.stderr, p.stderr
    assert run(base + ["--set", f"decide.max_seeds={first}"], check=False).returncode == 0


# ---------------------------------------------------------------- files

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("decide")
    out = {k: str(d / f"{k}.h5") for k in ("seq", "asym", "ebh", "map", "cut", "grid", "kinds")}
    for k, args in (("seq", SEQ), ("asym", ASYM), ("ebh", EBH)):
        cmd = ["mpirun", "-q", "-n", "2", "--oversubscribe", "-x", "TLSWEEP_FAULT", os.environ.get("TLSWEEP_BIN", "")
               or os.path.join(ROOT, "build", "tlsweep"), "run", "-o", out[k]] + args
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env(TLSWEEP_FAULT=FAULTS, **YIELD))
        assert p.returncode == 0, p.stderr
    for k, args in (("map", MAP), ("cut", CUT), ("grid", GRID), ("kinds", KINDS)):
        mpirun(2, ["run", "-o", out[k]] + args, extra_env=YIELD)
    return out


CELL = ("decision", "decision_source", "cs_low", "cs_high", "seeds_used", "mean_diff", "evalue", "stop_round",
        "stop_reason")


def read(path):
    """What the file holds, with h5py alone."""
    with h5py.File(path, "r") as f:
        r = {"axes": [dim[0].name.lstrip("/") for dim in f["status"].dims], "status": f["status"][()]}
        r["coords"] = {a: f[a][()] for a in r["axes"]}
        r["acc"] = {k[4:]: f[k][()] for k in f if k.startswith("acc_")}
        r["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        if "comparison" in f:
            r["comparison"] = [c.decode() if isinstance(c, bytes) else str(c) for c in f["comparison"][()]]
            for k in CELL:
                r[k] = f[k][()]
    return r


@pytest.mark.parametrize("kind", ["seq", "asym"])
def test_decide_on_a_sequential_file_is_the_files_decisions(files, kind):
    """decide() from the file's accuracies, under the rule the file names (decide_rule), gives the run's own
    decisions cell by cell; decisions() reads them, with given_up where the run gave a comparison up."""
    r = read(files[kind])
    assert r["attrs"]["decide_rule"].startswith("betting" if kind == "seq" else "asymptotic")
    assert int((r["status"] == 2).sum()) == 4  # the failed seeds are in the cells
    own = decisions(files[kind])
    assert own.attrs["source"] == "file" and [str(c) for c in own["comparison"].values] == r["comparison"]
    assert own.attrs["rule_name"] == ("betting" if kind == "seq" else "asymptotic")
    for k, c in enumerate(r["comparison"]):
        a, b = c.split(":")
        got = decide(files[kind], a, b)  # the file's alpha, delta and round (it took 0.05 and 0.01 whatever the file)
        assert got.attrs["round"] == 4 and got.attrs["max_seeds"] == 41
        assert (got.attrs["alpha"], got.attrs["delta"]) == (0.05, 0.01 if kind == "seq" else 0.05)
        assert list(got["decision"].dims) == ["shift", "lambda", "n_target"]
        for v in ("decision", "decision_source", "seeds_used", "stop_round"):
            assert (got[v].values == r[v][..., k]).all(), (c, v)
        for v in ("cs_low", "cs_high", "mean_diff", "evalue"):
            np.testing.assert_allclose(got[v].values, r[v][..., k], rtol=1e-12, atol=1e-12, err_msg=f"{c} {v}")
        # the cell gives up only when every comparison is decided or given up; then its undecided ones were
        futile_cell = (r["stop_reason"][..., k] == D.FUTILE) & (r["decision"][..., k] == 0)
        assert (own["given_up"].sel(comparison=c).values == got["given_up"].values).all(), c
        assert (got["given_up"].values[futile_cell]).all(), c
    codes = set(np.unique(r["decision"]).tolist())
    if kind == "seq":  # the default rule: no equivalence at +-0.01 within 41 seeds, but given-up comparisons
        assert codes == {0, 1, 2} and int(own["given_up"].sum()) > 0
    else:
        assert codes == {0, 1, 2, 3} and (r["seeds_used"][r["decision"] > 0] < 5).any()
    assert (r["status"][0, 0, 0, 1:3] == 2).all()  # cell 0's seeds 1 and 2 gave no difference with mmd


def test_decisions_with_ebh_are_the_runs(files):
    """decide.multiplicity: ebh -- the decisions computed again from the file's accuracies with e-BH over the
    measured cells' e-values are the run's own, and say what e-BH kept in the run's words."""
    r = read(files["ebh"])
    own = decisions(files["ebh"])
    again = decisions(files["ebh"], compare=r["comparison"])
    assert again.attrs["source"] == "computed" and own.attrs["source"] == "file"
    assert again.attrs["multiplicity"] == own.attrs["multiplicity"] == r["attrs"]["decide_multiplicity"]
    assert (again["decision"].values == own["decision"].values).all()
    plain = decisions(files["seq"])  # the same run without e-BH: e-BH only ever demotes a sign to undecided
    demoted = (plain["decision"].values != own["decision"].values)
    assert (own["decision"].values[demoted] == 0).all() and np.isin(plain["decision"].values[demoted], (1, 2)).all()


@pytest.mark.parametrize("kind", ["map", "cut"])
def test_decisions_of_a_boundary_map(files, kind):
    """A boundary map's decisions are the file's own: measured cells (decide() from the accuracies gives the same)
    and inferred ones (never run: no seed, no bounds), decision_source saying which; cells neither run nor inferred
    (a budget's cut) have nothing to state. boundaries() carries the sources along each line."""
    r = read(files[kind])
    own = decisions(files[kind])
    assert own.attrs["mode"] == "boundary" and own.attrs["inference"] == r["attrs"]["decide_inference"]
    src = r["decision_source"]
    assert (own["decision_source"].values == src).all()
    assert (own["decision"].values == r["decision"]).all()  # the file's codes, -1 (not known) included
    assert {1, 2} <= set(np.unique(src).tolist())
    for k, c in enumerate(r["comparison"]):
        got = decide(files[kind], *c.split(":"))
        m = src[..., k] == 1
        for v in ("decision", "seeds_used", "stop_round"):
            assert (got[v].values[m] == r[v][..., k][m]).all(), (c, v)
        # at the file's settings the map's inferred cells are the file's (they read undecided, source unknown)
        i = src[..., k] == 2
        assert (got["decision_source"].values == np.where(src[..., k] == 2, 2, got["decision_source"].values)).all()
        assert (got["decision"].values[i] == r["decision"][..., k][i]).all(), c
        with pytest.warns(UserWarning, match="cells of this boundary map did not run"):
            other = decide(files[kind], *c.split(":"), alpha=0.1)
        assert (other["decision_source"].values[i] == 0).all() and (other["decision"].values[i] == D.NOT_KNOWN).all()
        for v in ("cs_low", "cs_high", "evalue"):
            np.testing.assert_allclose(got[v].values[m], r[v][..., k][m], rtol=1e-12, atol=1e-12, err_msg=v)
        assert (got["seeds_used"].values[~m] == 0).all()  # the accuracies of a cell not run: none
    inferred = src == 2
    assert (own["seeds_used"].values[inferred] == 0).all()
    assert np.isin(own["decision"].values[inferred], (0, 1, 2, 3)).all()  # undecided is an answer too
    st = D.states(own)
    assert (st[inferred] != "no data").all() and (st[src == 0] == "no data").all()
    if kind == "cut":
        assert (src == 0).any() and (r["stop_reason"] == D.MAX_TRAININGS).any()
        assert (own["decision"].values[src == 0] == D.NOT_KNOWN).all()
    b = D.boundaries(own, "shift")
    for _, row in b.iterrows():
        k = r["comparison"].index(row["comparison"])
        j = list(r["coords"]["n_target"]).index(row["n_target"])
        assert row["sources"] == [D.SOURCES[v] for v in src[:, 0, j, k]]
    t = D.tally(own)
    for k, c in enumerate(r["comparison"]):
        assert t[c]["inferred"] == int((src[..., k] == 2).sum())
        assert t[c]["no_data"] == int((st[..., k] == "no data").sum())
        assert sum(t[c][m] for m in ("helps", "hurts", "equivalent", "undecided", "no_data")) == t[c]["cells"]


@pytest.mark.parametrize("round_", [None, 2])
def test_decide_on_a_grid_is_the_reference_at_its_seeds(files, round_):
    r = read(files["grid"])
    got = decide(files["grid"], "mmd", "target_mlp", round=round_)
    assert got.attrs["round"] == (round_ or 5) and got.attrs["max_seeds"] == 24 and got.attrs["rule_name"] == "betting"
    diff = (r["acc"]["mmd"] - r["acc"]["target_mlp"]).reshape(-1, 24)  # (shift, lambda, n_target) x seed
    ref = REF.sequential(diff, round_=round_ or 5, max_seeds=24, rule=ref_rule(D.DEFAULT))
    assert (got["decision"].values.ravel() == ref["decision"]).all()
    assert (got["given_up"].values.ravel() == ref["futile"]).all()
    assert (got["seeds_used"].values.ravel() == ref["seeds"]).all()
    assert {1, 2} <= set(ref["decision"].tolist()) and ref["futile"].any()  # decided and given-up cells
    for v in ("cs_low", "cs_high", "evalue"):
        np.testing.assert_allclose(got[v].values.ravel(), ref[v], rtol=1e-12, atol=1e-12, err_msg=v)
    exact = decide(files["grid"], "mmd", "scratch", alpha=0.1, delta=0.02, round=round_, rule=D.EXACT)
    diff = (r["acc"]["mmd"] - r["acc"]["scratch"]).reshape(-1, 24)
    ref = REF.sequential(diff, alpha=0.1, delta=0.02, round_=round_ or 5, max_seeds=24, rule=REF.EXACT)
    assert (exact["decision"].values.ravel() == ref["decision"]).all()
    np.testing.assert_allclose(exact["cs_low"].values.ravel(), ref["cs_low"], atol=1e-12)
    asym = decide(files["grid"], "mmd", "scratch", round=round_, rule=D.ASYMPTOTIC)
    ref = REF.sequential(diff, round_=round_ or 5, max_seeds=24, rule=ref_rule(D.ASYMPTOTIC))
    assert (asym["decision"].values.ravel() == ref["decision"]).all() and asym.attrs["rule_name"] == "asymptotic"
    with pytest.raises(KeyError, match="allowed"):
        decide(files["grid"], "mmd", "nothing")
    named = decide(files["grid"], "transfer", "target_mlp", round=round_)  # the tables' name of mmd
    assert named.attrs["comparison"] == "mmd:target_mlp" and named.equals(got)
    both = decisions(files["grid"], compare=["transfer:target_mlp"], round=round_)
    assert [str(c) for c in both["comparison"].values] == ["mmd:target_mlp"]


# ---------------------------------------------------------------- lines in words

def test_a_line_in_words_names_only_decided_sign_changes():
    """The words of a line of cells come from its decisions alone: runs, and a sign change only between a decided
    helps and a decided hurts, with the band between; a label share is read from the prior 0.5 outwards."""
    import types
    import xarray as xr
    from analysis.report.headline import line_text
    from analysis.report.names import Names
    shifts = [0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0]
    codes = [1, 0, 0, 2, 3, 2, 1]
    dec = xr.Dataset({"decision": (("shift", "comparison"), np.array(codes, np.int8)[:, None]),
                      "seeds_used": (("shift", "comparison"), np.full((7, 1), 20))},
                     coords={"shift": shifts, "comparison": ["mmd:scratch"]})
    ctx = types.SimpleNamespace(names=Names(xr.Dataset(coords={"shift": shifts})))
    row = D.boundaries(dec, "shift").iloc[0]
    assert row["changes"] == [{"from": "helps", "to": "hurts", "after": 0.0, "before": 90.0, "between": [30.0, 60.0]},
                              {"from": "hurts", "to": "helps", "after": 150.0, "before": 180.0, "between": []}]
    assert line_text(ctx, "shift", row, "rotation") == (
        "helps at 0°, is undecided at 30°–60°, hurts at 90°, is equivalent at 120°, hurts at 150°, helps at 180° "
        "(the sign changes between 0° and 90° and between 150° and 180°)")
    flat = dec.assign(decision=dec["decision"] * 0)
    assert line_text(ctx, "shift", D.boundaries(flat, "shift").iloc[0], "rotation") == \
        "is undecided at every shift swept (0°–180°)"
    shares = [0.0, 0.25, 0.5, 0.75, 1.0]
    dec = xr.Dataset({"decision": (("shift", "comparison"), np.array([[2], [0], [3], [1], [1]], np.int8))},
                     coords={"shift": shares, "comparison": ["mmd:scratch"]})
    label = xr.Dataset(coords={"shift": shares}, attrs={"config_yaml": "data:\n  shift_kind: label\n"})
    ctx = types.SimpleNamespace(names=Names(label))
    text = line_text(ctx, "shift", D.boundaries(dec, "shift").iloc[0], "label")
    assert text == ("from 0.5 above: is equivalent at 0.5, helps at 0.75–1 and "
                    "from 0.5 below: is equivalent at 0.5, is undecided at 0.25, hurts at 0"), text


def test_the_boundary_in_words():
    """A map's lines along the shift, per target size, from decided cells only: the lines with one sign change as
    'helps up to A–B' (A the last helps, B the first hurts, measured or inferred: an inferred end said), grouped;
    what lies between said once (undecided, given up); the other lines in runs, a cell not run 'not known'."""
    import types
    import xarray as xr
    from analysis.report.headline import along_texts
    from analysis.report.names import Names
    shifts = [0.0, 15.0, 30.0, 45.0, 60.0, 75.0]
    code = np.array([[1, 1, 0, 0, 2, 2], [1, 0, 2, 2, 2, 2], [0, 0, 2, 2, 0, 2]])  # n_target 4, 8, 16 x shift
    src = np.array([[1, 2, 1, 1, 1, 2], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 2]])
    given = np.zeros(code.shape, bool)
    given[0, 2] = True
    dims = ("n_target", "shift", "comparison")
    dec = xr.Dataset({"decision": (dims, code[..., None].astype(np.int8)),
                      "decision_source": (dims, src[..., None].astype(np.int8)),
                      "seeds_used": (dims, np.where(src == 1, 20, 0)[..., None]), "given_up": (dims, given[..., None])},
                     coords={"n_target": [4, 8, 16], "shift": shifts, "comparison": ["mmd:scratch"]},
                     attrs={"mode": "boundary"})
    ds = xr.Dataset(coords={"shift": shifts, "n_target": [4, 8, 16]})
    ctx = types.SimpleNamespace(names=Names(ds), dec=dec, ds=ds, trans="mmd",
                                bounds={"shift": D.boundaries(dec, "shift")})
    assert along_texts(ctx, "mmd:scratch", "shift") == (
        "helps up to 15°–60° (15° inferred) at 4 labelled target points, up to 0°–30° at 8; hurts beyond; undecided "
        "or given up between. At 16 labelled target points: is undecided up to 15°, hurts at 30°–45°, is not known "
        "(not run) at 60°, hurts at 75° (inferred)")
    flipped = dec.assign(decision=dec["decision"].copy(data=np.where(code > 0, 3 - code, 0)[..., None].astype(np.int8)))
    ctx.dec, ctx.bounds = flipped, {"shift": D.boundaries(flipped, "shift")}
    assert along_texts(ctx, "mmd:scratch", "shift").startswith(
        "hurts up to 15°–60° (15° inferred) at 4 labelled target points, up to 0°–30° at 8; helps beyond;")


def test_a_boundary_maps_line_reads_as_its_boundary():
    """A boundary map's line without a decided sign change is said by its boundary alone: given-up cells are
    undecided there (the counts say how many were given up), and a run partly inferred says so, not cell by cell;
    lines with one boundary then read alike (and group). A run wholly inferred stays '(inferred)'."""
    import types
    import xarray as xr
    from analysis.report.headline import line_groups
    from analysis.report.names import Names
    shifts = [0.0, 15.0, 30.0, 45.0, 60.0, 75.0]
    code = np.array([[0, 0, 0, 2, 2, 2], [0, 0, 0, 2, 2, 2], [0, 0, 2, 2, 2, 2]])  # n_target 4, 8, 16 x shift
    src = np.array([[1, 2, 1, 1, 2, 1], [1, 1, 2, 1, 1, 2], [1, 1, 1, 2, 2, 2]])
    given = np.zeros(code.shape, bool)
    given[0, 0] = given[1, 2] = True
    dims = ("n_target", "shift", "comparison")
    dec = xr.Dataset({"decision": (dims, code[..., None].astype(np.int8)),
                      "decision_source": (dims, src[..., None].astype(np.int8)),
                      "seeds_used": (dims, np.where(src == 1, 20, 0)[..., None]), "given_up": (dims, given[..., None])},
                     coords={"n_target": [4, 8, 16], "shift": shifts, "comparison": ["mmd:scratch"]},
                     attrs={"mode": "boundary"})
    ds = xr.Dataset(coords={"shift": shifts, "n_target": [4, 8, 16]})
    ctx = types.SimpleNamespace(names=Names(ds), dec=dec, ds=ds, trans="mmd",
                                bounds={"shift": D.boundaries(dec, "shift")})
    assert line_groups(ctx, "mmd:scratch", "shift") == [
        "at 4 and 8 labelled target points: is undecided up to 30° (partly inferred), hurts from 45° on (partly "
        "inferred)",
        "at 16 labelled target points: is undecided up to 15°, hurts from 30° on (partly inferred)"]


# ---------------------------------------------------------------- the report

def report(path, out):
    from analysis import report as rep
    assert rep.main([path, "-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    head = page[page.index("<div class=\"headline\">"):page.index("<h2>Settings</h2>")]
    items = [html.unescape(re.sub("<[^>]+>", "", h)) for h in re.findall(r"<li>(.*?)</li>", head, re.S)]
    return page, items, json.loads((out / "report.json").read_text())


def stated_counts(items, name):
    """(helps, hurts, equivalent, undecided, cells) of the headline's sentence on a comparison, and the sentence."""
    line = next(i for i in items if i.lower().startswith(name.lower()))
    m = re.search(r"(\d+) cells? helps?, (\d+) hurts?, (\d+) equivalent, (\d+) undecided \(of (\d+)\)", line)
    return tuple(int(x) for x in m.groups()), line


def sign_changes(dec, src, coords, axes, fmt):
    """The sign changes along the shift, from the decisions alone (codes; -1 nothing to state) and where they come
    from (decision_source): the lines with one change as {(after, before, {its ends that are inferred})}, the
    lines with several as {(after, before)}, values as text."""
    one, several = set(), set()
    ax = axes.index("shift")
    d, sr = np.moveaxis(dec, ax, -1), np.moveaxis(src, ax, -1)
    xs = [fmt(v) for v in coords["shift"]]
    for pos in np.ndindex(*d.shape[:-1]):
        last, found = None, []
        for i, v in enumerate(d[pos]):
            if v in (1, 2):
                if last is not None and d[pos][last] != v:
                    found.append((xs[last], xs[i], frozenset(xs[k] for k in (last, i) if sr[pos][k] == 2)))
                last = i
        if len(found) == 1:
            one |= set(found)
        else:
            several |= {f[:2] for f in found}
    return one, several


def stated_changes(line):
    """The sign changes a comparison's sentence names along the shift: {(after, before, {ends said inferred})}
    from 'up to A–B (A inferred)' and {(after, before)} from 'between A and B'."""
    along = line.split("Along shift:")[1]
    spans = re.findall(r"up to (\S+?)–(\S+?)(?: \(([^)]*?) inferred\))?(?=[ ,;.])", along)
    one = {(a, b, frozenset(note.split(" and ") if note else ())) for a, b, note in spans}
    return one, set(re.findall(r"between (\S+?) and (\S+?)(?= and between|\))", along))


NAMES = {"mmd": "MMD transfer", "target_mlp": "the target-only MLP", "scratch": "training from scratch",
         "ensemble": "the ensemble", "direct": "direct transfer"}


def check_headline(items, dec, comparisons, coords, axes, unit, src=None, given_up=None):
    """The counts per comparison (decided cells measured or inferred; undecided among the cells with something to
    state; given up), and the sign changes named: exactly those between decided cells, an inferred end said
    (src: decision_source per cell and comparison, None: all measured)."""
    text = " ".join(items)
    for bad in ("stops helping", "beats", "crossover", "bootstrap", "at the best λ = 0:"):
        assert bad not in text, bad
    fmt = lambda v: f"{v:g}{unit}"  # noqa: E731
    src = np.ones(dec.shape, int) if src is None else src
    for k, c in enumerate(comparisons):
        a, b = c.split(":")
        got, line = stated_counts(items, f"{NAMES[a]} against {NAMES[b]}")
        d = dec[..., k]
        assert got == tuple(int((d == v).sum()) for v in (1, 2, 3, 0)) + (d.size,), (c, got)
        inferred = int((src[..., k] == 2).sum())
        if inferred:
            assert f"{int((src[..., k] == 1).sum())} measured and {inferred} inferred by the map" in line, line
        else:
            assert "inferred" not in line
        if (d < 0).any():
            assert f"; {int((d < 0).sum())} not known" in line
        if given_up is not None:
            g = int(given_up[..., k].sum())
            assert (f"; {g} of the undecided given up" in line) == (g > 0), line
        said = stated_changes(line)
        assert said == sign_changes(d, src[..., k], coords, axes, fmt), (c, said)
    return text


def file_given_up(path, comparisons):
    """Per cell and comparison: the comparison was given up (decide() on the file's accuracies, which
    test_decide_on_a_sequential_file_is_the_files_decisions holds to the run's decisions)."""
    return np.stack([decide(path, *c.split(":"))["given_up"].values for c in comparisons], axis=-1)


def test_report_of_the_sequential_file(files, tmp_path):
    r = read(files["seq"])
    page, items, rep = report(files["seq"], tmp_path / "rep")
    given_up = file_given_up(files["seq"], r["comparison"])
    check_headline(items, r["decision"], r["comparison"], r["coords"], r["axes"], "°", given_up=given_up)
    assert sum(len(x) for i in items if "Along shift:" in i for x in stated_changes(i)) >= 2  # something to check
    assert given_up.any() and "given up" in " ".join(items)
    assert "The run took seeds cell by cell" in items[0] and "fewer than 5" not in items[0]
    assert "given up (undecided for good)" in items[0]
    assert rep["decisions"]["counts"]["mmd:scratch"]["hurts"] == int((r["decision"][..., 1] == 2).sum())
    neg = next(i for i in items if i.startswith("Negative transfer"))
    k = r["comparison"].index("mmd:scratch")
    assert f"in {int((r['decision'][..., k] == 2).sum())} of 8 cells" in neg
    assert "decision_map.png" in re.findall(r"<img src='([^']+)'", page)
    assert (tmp_path / "rep" / "decision_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_of_a_grid_file(files, tmp_path):
    r = read(files["grid"])
    page, items, rep = report(files["grid"], tmp_path / "rep")
    comps = ["mmd:target_mlp", "mmd:scratch"]
    refs = [REF.sequential((r["acc"][a] - r["acc"][b]).reshape(-1, 24), round_=5, max_seeds=24,
                           rule=ref_rule(D.DEFAULT)) for a, b in (c.split(":") for c in comps)]
    dec = np.stack([x["decision"].reshape(4, 2, 2) for x in refs], axis=-1)
    futile = np.stack([x["futile"].reshape(4, 2, 2) for x in refs], axis=-1)
    check_headline(items, dec, comps, r["coords"], r["axes"], "°", given_up=futile)
    assert "This grid has 24 seeds per cell, fixed in advance" in items[0]
    assert "λ = 0 (fine-tuning without alignment)" in " ".join(items)
    assert rep["decisions"]["how"]["source"] == "computed" and "crossover" not in rep
    assert rep["decisions"]["how"]["rule_name"] == "betting"
    assert "decision_map.png" in re.findall(r"<img src='([^']+)'", page)


@pytest.mark.parametrize("kind", ["map", "cut"])
def test_report_of_a_boundary_map(files, tmp_path, kind):
    """The headline of a boundary map: the cells measured and inferred, counts of decided cells (inferred ones
    said), the boundary per target size in words from decided cells only -- 'helps up to A–B at n labelled
    target points ...; hurts beyond; ... between' where A is the last helps and B the first hurts of the line --
    an inferred end said, given-up cells said, cells not known counted apart."""
    r = read(files[kind])
    page, items, rep = report(files[kind], tmp_path / "rep")
    src = np.where(r["decision"] < 0, 0, r["decision_source"])
    given_up = file_given_up(files[kind], r["comparison"])
    text = check_headline(items, r["decision"], r["comparison"], r["coords"], r["axes"], "°", src=src,
                          given_up=given_up)
    cells = r["decision"].shape[0] * r["decision"].shape[2]
    measured = int((src == 1).any(axis=-1).sum())
    inferred = int(((src == 2).any(axis=-1) & ~(src == 1).any(axis=-1)).sum())
    assert f"measured {measured} of the {cells} cells" in items[0] and f"inferred {inferred} from" in items[0]
    assert "decide.mode boundary" in items[0] and "the map assumes no sign change inside such a box" in items[0]
    if kind == "map":  # the question the map answers, per target size
        line = stated_counts(items, "MMD transfer against training from scratch")[1]
        assert re.search(r"Along shift: helps up to \S+–\S+ at 4 labelled target points", line), line
        assert "; hurts beyond" in line and "given up" in text
    else:
        assert (r["decision"] < 0).any() and "is not known (not run)" in text
    counts = rep["decisions"]["counts"]["mmd:scratch"]
    k = r["comparison"].index("mmd:scratch")
    assert counts["inferred"] == int((src[..., k] == 2).sum())
    assert counts["no_data"] == int((r["decision"][..., k] < 0).sum())
    assert "decision_map.png" in re.findall(r"<img src='([^']+)'", page)
    assert "Hatched" in caption_of(page, "decision_map.png")


def test_report_flags_few_seeds_and_asks_per_kind_of_shift(files, tmp_path):
    page, items, rep = report(files["kinds"], tmp_path / "rep")
    text = " ".join(items)
    assert "3 seeds per cell" in items[0] and "fewer than 5" in items[0]
    assert "shift_kind" not in "".join(i for i in items if i.startswith("Best"))  # a question, never optimised
    assert not re.search(r"± [0-9.]+ \(95% CI over 3 seeds\)", text)  # every interval from 3 seeds is flagged
    lines = [i for i in items if " against " in i and "Along shift" in i]
    assert lines and all("data.shift_kind = label" in i for i in lines)
    label = [seg for i in lines for seg in i.split("; at ") if "data.shift_kind = label" in seg]
    assert label and all("from 0.5 above" in s and "from 0.5 below" in s for s in label)  # 0.5: the prior


def caption_of(page, png):
    """The caption under a figure of the page ('' without one)."""
    m = re.search(rf"<img src='{re.escape(png)}'[^>]*>(?:<p class='caption'>(.*?)</p>)?", page, re.S)
    assert m, png
    return m.group(1) or ""


def test_intervals_from_fewer_than_5_seeds_are_flagged_in_the_figures(files, tmp_path):
    """The captions of the figures that show 95% intervals (accuracy bands, the gain heatmap's hatching, the
    regret's intervals) and the summary say when a cell has fewer than 5 seeds; with 6 seeds they do not."""
    figures = ("accuracy_vs_shift.png", "gain_heatmap.png", "regret.png")
    page, items, rep = report(files["kinds"], tmp_path / "kinds")
    for png in figures:
        assert "From 3 seeds per cell at most: fewer than 5" in caption_of(page, png), png
    summary = page[page.index("<h2>Summary per cell</h2>"):]
    assert "From 3 seeds per cell at most: fewer than 5" in summary
    page, items, rep = report(files["grid"], tmp_path / "grid")
    for png in figures + ("gain_vs_shift.png",):
        assert "fewer than 5" not in caption_of(page, png), png


CLASS = {2: 0, 1: 1, 3: 1, 0: 2, -1: 3}  # hurts: negative; helps, equivalent: not negative; undecided; not known


def expected_cells(files, kind, comparisons):
    """Per comparison, from the file alone (h5py; on the grid the reference's confidence sequence at its seeds):
    decision codes (-1: nothing to state), seeds used, decision_source and given up, over (shift, lambda,
    n_target, comparison)."""
    r = read(files[kind])
    if kind == "grid":
        refs = [REF.sequential((r["acc"][a] - r["acc"][b]).reshape(-1, 24), round_=5, max_seeds=24,
                               rule=ref_rule(D.DEFAULT)) for a, b in (c.split(":") for c in comparisons)]
        shape = r["status"].shape[:-1]
        dec = np.stack([x["decision"].reshape(shape) for x in refs], axis=-1)
        seeds = np.stack([x["seeds"].reshape(shape) for x in refs], axis=-1)  # no failed seed: seeds = checks
        src = np.ones(dec.shape, int)
        given = np.stack([x["futile"].reshape(shape) for x in refs], axis=-1)
    else:
        ks = [r["comparison"].index(c) for c in comparisons]
        dec, seeds, src = (r[v][..., ks] for v in ("decision", "seeds_used", "decision_source"))
        given = file_given_up(files[kind], comparisons)
    dec = np.where((src == 2) | ((src == 1) & (seeds > 0)), dec, -1)
    return dec, seeds, src, given & (dec == 0)


def cell_marks(ax):
    """A panel's marks: {(x, y): text}, the hatched (inferred) cells {(x, y)}."""
    texts = {tuple(np.round(t.get_position(), 6)): t.get_text() for t in ax.texts}
    hatched = {tuple(np.round(np.asarray(p.get_xy()) + 0.5, 6)) for p in ax.patches if p.get_gid() == "inferred"}
    return texts, hatched


def want_marks(m, s, src, g):
    """What a panel (matrices (y, x)) must show: texts on measured cells with something to state (* decided
    from fewer than 5 seeds, × given up), hatching on the inferred ones, nothing on the others."""
    texts, hatched = {}, set()
    for yi, xi in np.ndindex(m.shape):
        if m[yi, xi] < 0:
            continue
        if src[yi, xi] == 2:
            hatched.add((float(xi), float(yi)))
        elif src[yi, xi] == 1:
            n = int(s[yi, xi])
            texts[(float(xi), float(yi))] = (f"{n}*" if m[yi, xi] > 0 and n < 5 else f"{n}×" if g[yi, xi]
                                             else str(n))
    return texts, hatched


@pytest.mark.parametrize("kind", ["grid", "seq", "map", "cut"])
def test_negative_transfer_figure_shows_decided_cells(files, tmp_path, monkeypatch, kind):
    """negative_transfer.png colours each cell by its decision on mmd:scratch (the file's own in the decide modes,
    the reference's confidence sequence on the grid) and writes the seeds a measured cell used, not a share of
    seeds where transfer is below scratch; inferred cells hatched, cells not known blank."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis import load
    from analysis.report import Context
    from analysis.report.figures import negative_transfer as NT
    dec, seeds, src, given = (x[..., 0] for x in expected_cells(files, kind, ["mmd:scratch"]))
    assert {2, 0} <= set(np.unique(dec).tolist())  # something to tell apart
    figs = []
    monkeypatch.setattr(NT, "save", lambda fig, path: figs.append(fig))
    path = files[kind]
    ctx = Context(path, load(path))
    assert NT.when(ctx) and "share of" not in NT.caption(ctx).lower()
    NT.draw(ctx, str(tmp_path / "n.png"), plt)
    panels = [ax for ax in figs[0].axes if ax.images]
    # (shift, lambda, n_target): the grid's panels are n_target, each lambda x shift; the other files' lambda is one
    # value: one panel, n_target x shift
    pick = ([(lambda a, j=j: a[:, :, j].T) for j in range(2)] if kind == "grid" else [lambda a: a[:, 0, :].T])
    assert len(panels) == len(pick)
    for ax, f in zip(panels, pick):
        assert (np.asarray(ax.images[0].get_array()) == np.vectorize(CLASS.get)(f(dec))).all()
        assert cell_marks(ax) == want_marks(f(dec), f(seeds), f(src), f(given))
    plt.close("all")


@pytest.mark.parametrize("kind", ["grid", "seq", "map", "cut"])
def test_decision_map_shows_measured_inferred_and_the_boundary(files, tmp_path, monkeypatch, kind):
    """decision_map.png: per comparison and panel, each cell coloured by its decision (white: nothing to state),
    the seeds on measured cells only, inferred cells hatched, and the boundary per row: a stroke halfway between
    the last cell on one side of each decided sign change and the first on the other (measured or inferred),
    the strokes of neighbouring rows joined into polylines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis import load
    from analysis.report import Context
    from analysis.report.figures import decision_map as DM
    figs = []
    monkeypatch.setattr(DM, "save", lambda fig, path: figs.append(fig))
    path = files[kind]
    ctx = Context(path, load(path))
    comps = [str(c) for c in ctx.dec["comparison"].values]
    dec, seeds, src, given = expected_cells(files, kind, comps)
    DM.draw(ctx, str(tmp_path / "m.png"), plt)
    panels = [ax for ax in figs[0].axes if ax.images]
    nl = dec.shape[1]  # lambda: a panel per value when it varies
    assert len(panels) == len(comps) * nl
    strokes_seen = 0
    for i, ax in enumerate(panels):
        k, j = divmod(i, nl)
        m, s, sr, g = (x[:, j, :, k].T for x in (dec, seeds, src, given))  # (n_target, shift)
        assert (np.asarray(ax.images[0].get_array()) == m + 1).all()  # the colour index: codes -1 .. 3
        assert cell_marks(ax) == want_marks(m, s, sr, g)
        want = set()
        for yi in range(m.shape[0]):
            signs = [(xi, v) for xi, v in enumerate(m[yi]) if v in (1, 2)]
            want |= {((x0 + x1) / 2, yi) for (x0, v0), (x1, v1) in zip(signs, signs[1:]) if v0 != v1}
        got = set()
        for line in ax.lines:
            if line.get_gid() != "boundary":
                continue
            xy = np.asarray(line.get_xydata())
            assert (np.diff(xy, axis=0) != 0).sum(axis=1).max() <= 1  # a polyline of vertical and horizontal steps
            got |= {(float(a[0]), float(a[1] + 0.5)) for a, b in zip(xy, xy[1:]) if a[0] == b[0] and b[1] == a[1] + 1}
        assert got == want, (comps[k], got, want)
        strokes_seen += len(got)
        if kind in ("map", "cut"):
            assert (sr == 2).any() and ((sr == 2) & (m >= 0)).sum() == len(cell_marks(ax)[1])
    assert strokes_seen > 0 or kind == "cut"
    plt.close("all")
