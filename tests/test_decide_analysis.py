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


# ---------------------------------------------------------------- the report

def report(path, out):
    from analysis import report as rep
    assert rep.main([path, "-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    head = page[page.index("<div class=\"headline\">"):page.index("<h2>Settings</h2>")]
    items = [html.unescape(re.sub("<[^>]+>", "", h)) for h in re.findall(r"<li>(.*?)</li>", head, re.S)]
    return page, items, json.loads((out / "report.json").read_text())


def stated_counts(items, name):
    """(helps, hurts, equivalent, undecided) of the headline's sentence on a comparison."""
    line = next(i for i in items if i.lower().startswith(name.lower()))
    m = re.search(r"(\d+) cells? helps?, (\d+) hurts?, (\d+) equivalent, (\d+) undecided \(of (\d+)\)", line)
    return tuple(int(x) for x in m.groups()), line


def sign_changes(dec, coords, axes, fmt):
    """Every sign change along the first ordered axis, from the decisions alone: {(setting text, after, before)}."""
    out = set()
    ax = axes.index("shift")
    d = np.moveaxis(dec, ax, -1)
    for pos in np.ndindex(*d.shape[:-1]):
        last = None
        for i, v in enumerate(d[pos]):
            if v in (1, 2):
                if last is not None and d[pos][last] != v:
                    out.add((fmt(coords["shift"][last]), fmt(coords["shift"][i])))
                last = i
    return out


def check_headline(items, dec, comparisons, coords, axes, unit):
    """The counts per comparison, and the sign changes named: exactly those between decided cells."""
    text = " ".join(items)
    for bad in ("stops helping", "beats", "crossover", "hurts beyond", "bootstrap", "at the best λ = 0:"):
        assert bad not in text, bad
    fmt = lambda v: f"{v:g}{unit}"  # noqa: E731
    for k, c in enumerate(comparisons):
        a, b = c.split(":")
        names = {"mmd": "MMD transfer", "target_mlp": "the target-only MLP", "scratch": "training from scratch",
                 "ensemble": "the ensemble", "direct": "direct transfer"}
        got, line = stated_counts(items, f"{names[a]} against {names[b]}")
        d = dec[..., k]
        assert got == tuple(int((d == v).sum()) for v in (1, 2, 3, 0)) + (d.size,), (c, got)
        said = set(re.findall(r"between (\S+?) and (\S+?)(?= and between|\))", line.split("Along shift:")[1]))
        assert said == sign_changes(d, coords, axes, fmt), (c, said)
        for after, before in said:  # the cells between a named change are never helps or hurts
            assert after != before


def test_report_of_the_sequential_file(files, tmp_path):
    r = read(files["seq"])
    page, items, rep = report(files["seq"], tmp_path / "rep")
    check_headline(items, r["decision"], r["comparison"], r["coords"], r["axes"], "°")
    assert sum(i.count("the sign changes between") for i in items) >= 2  # the check above has something to check
    assert "The run took seeds cell by cell" in items[0] and "fewer than 5" not in items[0]
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
    dec = np.stack([REF.sequential((r["acc"][a] - r["acc"][b]).reshape(-1, 6), round_=5, max_seeds=6,
                                   rule=ref_rule(D.DEFAULT))["decision"].reshape(4, 2, 2)
                    for a, b in (c.split(":") for c in comps)], axis=-1)
    check_headline(items, dec, comps, r["coords"], r["axes"], "°")
    assert "This grid has 6 seeds per cell, fixed in advance" in items[0]
    assert "λ = 0 (fine-tuning without alignment)" in " ".join(items)
    assert rep["decisions"]["how"]["source"] == "computed" and "crossover" not in rep
    assert "decision_map.png" in re.findall(r"<img src='([^']+)'", page)


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


CLASS = {2: 0, 1: 1, 3: 1, 0: 2, -1: 3}  # hurts: negative; helps, equivalent: not negative; undecided; no seed


@pytest.mark.parametrize("kind", ["grid", "seq"])
def test_negative_transfer_figure_shows_decided_cells(files, tmp_path, monkeypatch, kind):
    """negative_transfer.png colours each cell by its decision on mmd:scratch (the file's own on the sequential
    file, the reference's confidence sequence on the grid) and writes the seeds it used, not a share of seeds
    where transfer is below scratch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis import load
    from analysis.report import Context
    from analysis.report.figures import negative_transfer as NT
    r = read(files[kind])
    if kind == "grid":
        d = REF.sequential((r["acc"]["mmd"] - r["acc"]["scratch"]).reshape(-1, 6), round_=5, max_seeds=6,
                           rule=ref_rule(D.DEFAULT))
        dec, seeds = d["decision"].reshape(4, 2, 2), d["seeds"].reshape(4, 2, 2)  # no failed seed: seeds = checks
    else:
        k = r["comparison"].index("mmd:scratch")
        dec, seeds = r["decision"][..., k], r["seeds_used"][..., k]
    dec = np.where(seeds > 0, dec, -1)
    assert {2, 0} <= set(np.unique(dec).tolist())  # something to tell apart
    figs = []
    monkeypatch.setattr(NT, "save", lambda fig, path: figs.append(fig))
    path = files[kind]
    ctx = Context(path, load(path))
    assert NT.when(ctx) and "share of" not in NT.caption(ctx).lower()
    NT.draw(ctx, str(tmp_path / "n.png"), plt)
    panels = [ax for ax in figs[0].axes if ax.images]
    # (shift, lambda, n_target): the grid's panels are n_target, each lambda x shift; the sequential file's
    # lambda is one value: one panel, n_target x shift
    want = ([(dec[:, :, j].T, seeds[:, :, j].T) for j in range(2)] if kind == "grid"
            else [(dec[:, 0, :].T, seeds[:, 0, :].T)])
    assert len(panels) == len(want)
    for ax, (m, s) in zip(panels, want):
        assert (np.asarray(ax.images[0].get_array()) == np.vectorize(CLASS.get)(m)).all()
        texts = [t.get_text() for t in ax.texts]
        assert texts == [("–" if v < 0 else f"{n}*" if v > 0 and n < 5 else str(n)) for v, n in zip(m.ravel(),
                                                                                                   s.ravel())]
    plt.close("all")
