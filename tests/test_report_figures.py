"""The report's table of figures (analysis/report/contents.py, PAGE) and
the page made from it: every module of analysis/report/figures/ that draws
is in the table once; the browser test's sweep gets every figure of the
table but the single-cell one (so the browser test, whose expected images
come from the same table, sees them all); a one-cell sweep gets the bar
chart instead of the sweep figures; the report of a small file (the
browser test's grid at a few epochs) shows exactly the table's figures for
it, in the table's order, with their headings; a figure added by one line
of the table appears where the line is; a figure that raises is said on
the page, the others are drawn and the exit status is 1."""
import dataclasses
import json
import os
import pkgutil
import re
import subprocess
import sys

import pytest

from tlstest import ROOT, mpirun
from test_report_browser import GRID

sys.path.insert(0, ROOT)
from analysis import Files, concat, load  # noqa: E402
from analysis import report  # noqa: E402
from analysis.report import FIGURES, Context, figure_files  # noqa: E402
import analysis.report.figures as figures_pkg  # noqa: E402

YIELD = {"OMPI_MCA_mpi_yield_when_idle": "1"}
FAST = ["--set", "train.epochs=2", "--set", "train.finetune_epochs=2", "--set", "baselines.target_epochs=10",
        "--set", "data.n_source=80", "--set", "data.n_test=40"]


@pytest.fixture(scope="module")
def browser_sweep(tmp_path_factory):
    """The browser test's grid (GRID) at a few epochs: the same figures, less work."""
    path = str(tmp_path_factory.mktemp("figures") / "browser.h5")
    mpirun(2, ["run", "-o", path] + GRID + FAST, extra_env=YIELD)
    return path


def context(path):
    ds = load(path).load()
    ds.close()
    return Context(path, ds)


def test_every_figure_module_is_in_the_table():
    drawn = [f.draw.__module__ for f in FIGURES]
    assert len(drawn) == len(set(drawn)), drawn  # one line per figure
    modules = {f"{figures_pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(figures_pkg.__path__)}
    draws = {m for m in modules if callable(getattr(__import__(m, fromlist=["draw"]), "draw", None))}
    assert set(drawn) == draws  # a module that draws but has no line in the table is missing from the page
    static = [f.file for f in FIGURES if isinstance(f.file, str)]
    assert len(static) == len(set(static)) and all(n.endswith(".png") for n in static)
    assert all(callable(f.when) and callable(f.draw) for f in FIGURES)


def test_what_foresees_on_one_shift_kind(tmp_path, monkeypatch):
    """One shift kind with MIN_SEEDS seeds gets the figure too (it was drawn only for several
    kinds): a panel for all and one per n_target; under it one sentence per score whose AUROC and
    interval are predictors' own; a headline sentence; no per-cell AUROC from fewer than MIN_SIDE
    decided cells on a side (said once, no hollow mark)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis import predictors
    from analysis.report.figures import what_foresees
    path = str(tmp_path / "one-kind.h5")
    seeds = what_foresees.MIN_SEEDS
    mpirun(2, ["run", "-o", path, "--set", "grid.shift=[0,180]", "--set", "grid.lambda=[0.5]",
               "--set", "grid.n_target=[10,20]", "--set", f"grid.seed=range(0,{seeds})",
               "--set", "output.embeddings=false"] + FAST + ["--set", "train.epochs=20"], extra_env=YIELD)
    ctx = context(path)
    assert "what_foresees.png" in figure_files(ctx)
    few = ["--set", f"grid.seed=range(0,{seeds - 1})"]
    fewer = str(tmp_path / "fewer.h5")
    mpirun(2, ["run", "-o", fewer, "--set", "grid.shift=[0]", "--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[10]",
               "--set", "output.embeddings=false"] + few + FAST, extra_env=YIELD)
    assert "what_foresees.png" not in figure_files(context(fewer))
    figs, hollows = {}, []
    with monkeypatch.context() as m:
        m.setattr(what_foresees, "save", lambda fig, p: figs.setdefault("f", fig))
        real = what_foresees._marks
        m.setattr(what_foresees, "_marks", lambda ax, sub, names, ys, hollow: (
            hollows.append(len(sub)) if hollow else None, real(ax, sub, names, ys, hollow)))
        what_foresees.draw(ctx, os.devnull, plt)
    assert [a.get_title().split("\n")[0] for a in figs["f"].axes] == ["all", "n_target 10", "n_target 20"]
    plt.close(figs["f"])
    df = predictors(ctx.ds, f"{ctx.trans}:{ctx.base}", by=("shift_kind", "n_target"))
    cell = df[(df["target"] == "cell") & (df["slice"] == "all")]
    side = min(int(cell["n_harm"].iloc[0]), int(cell["n"].iloc[0] - cell["n_harm"].iloc[0])) if len(cell) else 0
    text = " ".join(what_foresees.sentences(ctx))
    leep = df[(df["target"] == "configuration") & (df["slice"] == "all") & (df["score"] == "ts_leep")].iloc[0]
    assert f"<b>LEEP</b> (known before fine-tuning): per configuration {leep['auroc']:.2f} " \
           f"[{leep['auroc_low']:.2f}, {leep['auroc_high']:.2f}]" in text, text
    if side < what_foresees.MIN_SIDE:  # these few cells: no per-cell AUROC anywhere
        assert text.startswith("Per decided cell: no AUROC") and "per decided cell" not in text
        assert sum(hollows) == 0
    assert ctx.heads[-1].startswith("<b>Foreseeing negative transfer</b> before fine-tuning: of 9")
    out = tmp_path / "report"
    assert report.main([path, "-o", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert "<h2>What foresees negative transfer</h2><img src='what_foresees.png'" in html
    assert html.count("<li><b>") >= 9 and "Foreseeing negative transfer" in html


def test_what_foresees_says_too_few_decided_cells_once(monkeypatch):
    """31 of 33 decided cells harmed: the 2 others are too few for a per-cell AUROC, said once
    (each score's sentence keeps its per-configuration AUROC, without a per-cell one)."""
    import pandas as pd
    from analysis.report.figures import what_foresees
    rows = [dict(target=t, score=sc, slice="all", when="before fine-tuning", auroc=0.9, auroc_low=0.8,
                 auroc_high=0.95, n=n, n_harm=h) for sc in ("ts_leep", "ts_nce")
            for t, n, h in (("configuration", 1920, 1477), ("cell", 33, 31))]
    monkeypatch.setattr(what_foresees, "table", lambda ctx: pd.DataFrame(rows))
    got = what_foresees.sentences(None)
    assert got[0] == "Per decided cell: no AUROC, 2 not harmed of the 33 decided cells (fewer than 5)."
    assert got[1] == ("<b>LEEP</b> (known before fine-tuning): per configuration 0.90 [0.80, 0.95]: foresees harm "
                      "(1477 of 1920 harmed).") and len(got) == 3
    rows[1].update(n=40, n_harm=31)
    rows[3].update(n=40, n_harm=31)
    assert "per decided cell 0.90 [0.80, 0.95]: foresees harm (31 of 40 harmed)" in what_foresees.sentences(None)[0]


def test_the_browser_sweep_gets_every_figure(browser_sweep):
    """test_report_browser.py expects figure_files(ctx) of its sweep: every figure but the one-cell bar chart
    and what foresees negative transfer (it needs several shift kinds)."""
    ctx = context(browser_sweep)
    every = [f.name(ctx) for f in FIGURES if f.file not in ("accuracy.png", "what_foresees.png")]  # one shift kind
    assert figure_files(ctx) == every
    assert every[0] == "accuracy_vs_shift.png" and "tsne.png" in every and "regret.png" in every


def test_one_cell_gets_the_bar_chart(tmp_path):
    path = str(tmp_path / "one.h5")
    mpirun(1, ["run", "-o", path, "--set", "grid.shift=[45]", "--set", "grid.lambda=[0.5]",
               "--set", "grid.n_target=[10]", "--set", "grid.seed=[0,1]", "--set", "output.embeddings=false"] + FAST)
    got = figure_files(context(path))
    assert got[0] == "accuracy.png" and not any(n.startswith(("accuracy_vs_", "gain_", "negative")) for n in got)
    assert "methods.png" in got and "tsne.png" not in got  # one configuration's figures; no embeddings, no t-SNE


def test_report_of_a_small_file(browser_sweep, tmp_path):
    out = tmp_path / "report"
    p = subprocess.run([sys.executable, "-m", "analysis.report", browser_sweep, "-o", str(out)], capture_output=True,
                       text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    ctx = context(browser_sweep)
    expected = figure_files(ctx)
    page = (out / "index.html").read_text()
    assert re.findall(r"<img src='([^']+)'", page) == expected
    titles = [f.heading(ctx) for f in FIGURES if f.when(ctx)]
    heads = re.findall(r"<h2>([^<]+)</h2><img", page)
    assert heads == [t.replace("'", "&#x27;") for t in titles]
    for name in expected:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    rep = json.loads((out / "report.json").read_text())
    assert rep["errors"] == [] and rep["n_done"] == 90
    assert p.stdout.splitlines()[-1] == f"report: {out / 'index.html'}"
    listed = p.stdout.splitlines()[:-1]
    assert [os.path.basename(x) for x in listed if x.endswith(".png")] == expected


def test_the_page_follows_its_table(browser_sweep, tmp_path, monkeypatch):
    """A figure added by one line of the table appears where the line is; a
    figure that raises is said in its place, the others are drawn, exit 1."""
    import analysis.report.write as write
    from analysis.report import Figure

    def boom(ctx, path, plt):
        raise RuntimeError("no ink")

    def spread(ctx, path, plt):  # a new figure: the spread of the transfer method's accuracy
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(ctx.ds[f"acc_{ctx.trans}"].values.ravel(), bins=10)
        fig.savefig(path, dpi=50)
        plt.close(fig)
    new = Figure("spread.png", "Spread of the accuracy", lambda ctx: True, spread, "One bar per tenth.")
    page = []
    for p in write.PAGE:
        name = getattr(p, "file", None)
        if name in ("tsne.png", "domains.png"):  # not needed here: skip their work
            continue
        page.append(dataclasses.replace(p, draw=boom) if name == "methods.png" else p)
        if name == "gain_heatmap.png":
            page.append(new)
    monkeypatch.setattr(write, "PAGE", tuple(page))
    out = tmp_path / "report"
    assert report.main([browser_sweep, "-o", str(out)]) == 1
    html = (out / "index.html").read_text()
    ctx = context(browser_sweep)
    expected = [p.name(ctx) for p in page if isinstance(p, Figure) and p.when(ctx) and p.file != "methods.png"]
    assert re.findall(r"<img src='([^']+)'", html) == expected
    assert expected.index("spread.png") == expected.index("gain_heatmap.png") + 1
    assert ("<h2>Spread of the accuracy</h2><img src='spread.png' alt='Spread of the accuracy'>"
            "<p class='caption'>One bar per tenth.</p>") in html
    assert "<h2>Methods compared</h2><p class='error'>This figure could not be drawn: RuntimeError: no ink</p>" in html
    assert "Some parts could not be made: methods.png: RuntimeError: no ink" in html
    assert not (out / "methods.png").exists() and (out / "spread.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "report.json").read_text())["errors"] == ["methods.png: RuntimeError: no ink"]


# ---------------------------------------------------------------- every figure fits its canvas; direct transfer apart

# one panel of two shifts and a long name (CORAL transfer): the gain heatmap's title was wider than the figure
ONE_PANEL = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[10]",
             "--set", "grid.seed=[0,1]", "--set", "align.loss=coral", "--set", "output.embeddings=false"] + FAST
# direct transfer falls to about 0.01 at 120-180 degrees while the methods that see the target labels stay above
# 0.75: on one 0-1 axis the five others overlapped in one band
FAR = ["--set", "grid.shift=[0,60,120,180]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[20,50]",
       "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=5", "--set", "train.finetune_epochs=40",
       "--set", "baselines.target_epochs=40", "--set", "data.n_source=100", "--set", "data.n_test=60",
       "--set", "output.embeddings=false"]
# the decide modes on 4 classes in 8 dimensions (transfer helps at small rotations, hurts beyond): a sequential run,
# and a boundary map cut by decide.max_trainings (measured, inferred and cells not known)
DECIDED = ["--set", "data.dim=8", "--set", "data.classes=4", "--set", "data.n_source=200", "--set", "data.n_test=40",
           "--set", "train.epochs=20", "--set", "train.finetune_epochs=10", "--set", "baselines.target_epochs=100",
           "--set", "output.embeddings=false", "--set", "grid.lambda=[0.5]", "--set", "decide.max_seeds=24",
           "--set", "decide.round=4"]
SEQUENTIAL = (["--set", "decide.mode=sequential", "--set", "grid.shift=[0,30,60,120]", "--set", "grid.n_target=[4,8]"]
              + DECIDED)
BOUNDARY = ["--set", "decide.mode=boundary", "--set", "grid.shift=range(0,181,15)", "--set", "grid.n_target=[4,8,16]",
            "--set", "decide.max_trainings=400"] + DECIDED


def drawn_figures(path, monkeypatch):
    """Every figure of the report of path, drawn but not saved: {file name: matplotlib figure}."""
    import importlib
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ctx = context(path)
    figs = {}
    for f in FIGURES:
        if not f.when(ctx):
            continue
        name = f.name(ctx)
        for mod in {f.draw.__module__, "analysis.report.figures.heatmap"}:
            monkeypatch.setattr(importlib.import_module(mod), "save", lambda fig, p, name=name: figs.setdefault(name, fig),
                                raising=False)
        f.draw(ctx, path=os.devnull, plt=plt)
    return ctx, figs


@pytest.mark.parametrize("grid", ["one_panel", "far", "sequential", "boundary"])
def test_nothing_is_drawn_outside_the_canvas(grid, tmp_path, monkeypatch):
    """Every figure's ink (titles, legends, labels) lies within its canvas:
    with one panel the gain heatmap's centred title was cut off at both ends,
    and the accuracy figure's legend at both sides. The files of the decide
    modes get every figure of a grid and the decision map (with its
    hatching, boundary and legend of marks on the map)."""
    import matplotlib.pyplot as plt
    path = str(tmp_path / f"{grid}.h5")
    args = {"one_panel": ONE_PANEL, "far": FAR, "sequential": SEQUENTIAL, "boundary": BOUNDARY}[grid]
    mpirun(2, ["run", "-o", path] + args, extra_env=YIELD)
    ctx, figs = drawn_figures(path, monkeypatch)
    assert "gain_heatmap.png" in figs and "accuracy_vs_shift.png" in figs
    if grid in ("sequential", "boundary"):
        assert {"decision_map.png", "negative_transfer.png"} <= set(figs)
        marks = {t.get_text() for ax in figs["decision_map.png"].axes for t in ax.texts}
        hatched = [p for ax in figs["decision_map.png"].axes for p in ax.patches if p.get_gid() == "inferred"]
        assert bool(hatched) == (grid == "boundary") and marks
    for name, fig in figs.items():
        fig.canvas.draw()  # as savefig does: the constrained layout is made at drawing
        inside = fig.get_tightbbox(fig.canvas.get_renderer())
        canvas = fig.bbox_inches
        assert (inside.x0 >= canvas.x0 - 0.02 and inside.x1 <= canvas.x1 + 0.02 and inside.y0 >= canvas.y0 - 0.02
                and inside.y1 <= canvas.y1 + 0.02), (name, inside.extents, canvas.extents)
        plt.close(fig)


def test_direct_transfer_gets_a_strip_of_its_own(tmp_path, monkeypatch):
    """Where direct transfer falls far below the others, it is drawn in a
    strip under each panel (0-1) and the panels' y axis fits the methods
    that learn from the target points; where it stays among them, one axis."""
    import matplotlib.pyplot as plt
    from analysis import summary
    from analysis.report.figures import accuracy
    path = str(tmp_path / "far.h5")
    mpirun(2, ["run", "-o", path] + FAR, extra_env=YIELD)
    s = summary(path)
    others = s[[c for c in s if c.startswith("acc_") and not c.endswith("_ci95") and c != "acc_direct"]]
    assert s["acc_direct"].min() < 0.1 and others.min().min() > 0.6  # the case of the figure: one band + direct
    ctx, figs = drawn_figures(path, monkeypatch)
    fig = figs["accuracy_vs_shift.png"]
    assert len(fig.axes) == 4  # two panels (n_target), each with a strip under it
    with_direct = [ax for ax in fig.axes if any(ln.get_label().startswith("direct") for ln in ax.get_lines())]
    assert len(with_direct) == 2
    for ax in with_direct:
        assert ax.get_ylim() == (0, 1.02) and len(ax.get_lines()) == 1
    for ax in fig.axes:
        if ax not in with_direct:
            lo, hi = ax.get_ylim()
            assert lo > 0.3 and hi <= 1.02 and len(ax.get_lines()) == 5  # scratch, transfer at 2 λ, MLP, ensemble
    assert "has a strip of its own" in accuracy.caption(ctx)
    plt.close("all")
    near = str(tmp_path / "near.h5")  # small shifts: direct transfer stays with the others, one axis per panel
    mpirun(2, ["run", "-o", near] + ONE_PANEL[:2] + ["--set", "grid.shift=[0,20]"] + ONE_PANEL[4:], extra_env=YIELD)
    ctx, figs = drawn_figures(near, monkeypatch)
    assert len(figs["accuracy_vs_shift.png"].axes) == 1 and "strip" not in accuracy.caption(ctx)
    plt.close("all")


def test_the_interactive_view_holds_the_cube_not_its_combinations(tmp_path):
    """The view's data: every axis that varies with its values (its menus:
    one entry per value, a sum over the axes; the old view enumerated every
    combination of the other axes, 3 x 3 x 3 = 27 menu entries here), and
    per method the cube's means in C order over those axes."""
    import numpy as np
    from analysis import summary
    from analysis.report import interactive
    path = str(tmp_path / "three.h5")
    mpirun(2, ["run", "-o", path, "--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,0.5,1]",
               "--set", "grid.n_target=[10]", "--set", "grid.seed=[0,1]", "--set", "grid.train.lr=[0.001,0.01,0.1]",
               "--set", "grid.align.loss=[mmd,coral,none]", "--set", "output.embeddings=false"] + FAST, extra_env=YIELD)
    ctx = context(path)
    data = interactive.cube_data(ctx)
    assert [a["name"] for a in data["axes"]] == ["shift", "lambda", "train_lr", "align_loss"]  # n_target: one value
    assert data["shape"] == [2, 3, 3, 3] and data["x"] == "shift" and data["colour"] == "method"
    assert [a["labels"] for a in data["axes"]][3] == ["mmd", "coral", "none"]
    s = summary(path)
    for m in data["methods"]:
        assert len(m["mean"]) == 54
        want = s[f"acc_{m['name']}"].to_numpy()  # summary's cells: shift, lambda, n_target (one), train_lr, align_loss
        got = np.array([np.nan if v is None else v for v in m["mean"]])
        np.testing.assert_allclose(got, want, atol=1e-4, equal_nan=True)
    frag, _ = interactive.interactive(ctx)
    assert "updatemenus" not in frag and "tls-x" in frag


# ---------------------------------------------------------------- what foresees negative transfer

def test_what_foresees_negative_transfer(tmp_path, monkeypatch):
    """Files of two shift kinds with the transferability scores get the figure (a panel for all
    kinds and one per kind, inside its canvas) and predictors.csv (the AUROC per score and
    slice); one kind, or files without the ts_ variables (older files), do not."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from analysis.report.figures import what_foresees
    files = []
    for kind, shifts in (("rotation", "[0,180]"), ("conditional", "[0,1]")):
        files.append(str(tmp_path / f"{kind}.h5"))
        mpirun(2, ["run", "-o", files[-1], "--set", f"data.shift_kind={kind}", "--set", f"grid.shift={shifts}",
                   "--set", "grid.lambda=[0.5]", "--set", "grid.n_target=[10]", "--set", "grid.seed=[0,1,2,3]",
                   "--set", "output.embeddings=false"] + FAST + ["--set", "train.epochs=20"], extra_env=YIELD)
    ds = concat(files)
    ctx = Context(Files(ds), ds)
    assert "what_foresees.png" in figure_files(ctx)
    assert "what_foresees.png" not in figure_files(context(files[0]))
    old = ds.drop_vars([v for v in ds.data_vars if v.startswith("ts_")])
    assert "what_foresees.png" not in figure_files(Context(Files(old), old))
    figs = {}
    with monkeypatch.context() as m:
        m.setattr(what_foresees, "save", lambda fig, p: figs.setdefault("f", fig))
        what_foresees.draw(ctx, os.devnull, plt)
    fig = figs["f"]
    assert [a.get_title().split("\n")[0] for a in fig.axes] == ["all kinds", "rotation", "conditional"]
    fig.canvas.draw()
    inside, canvas = fig.get_tightbbox(fig.canvas.get_renderer()), fig.bbox_inches
    assert inside.x0 >= canvas.x0 - 0.02 and inside.x1 <= canvas.x1 + 0.02 and inside.y1 <= canvas.y1 + 0.02
    plt.close(fig)
    out = tmp_path / "report"
    assert report.main(files + ["-o", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert "<h2>What foresees negative transfer</h2><img src='what_foresees.png'" in html
    assert (out / "what_foresees.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(out / "predictors.csv")
    kinds = table[(table["score"] == "ts_leep") & (table["slice_axis"] == "shift_kind")
                  & (table["target"] == "configuration")]
    assert list(kinds["slice_value"]) == ["rotation", "conditional"] and kinds["n"].sum() == 16
