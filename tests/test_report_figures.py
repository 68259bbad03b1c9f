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
from analysis import load  # noqa: E402
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


def test_the_browser_sweep_gets_every_figure(browser_sweep):
    """test_report_browser.py expects figure_files(ctx) of its sweep: every figure but the one-cell bar chart."""
    ctx = context(browser_sweep)
    every = [f.name(ctx) for f in FIGURES if f.file != "accuracy.png"]
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
