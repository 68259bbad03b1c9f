"""The example notebook analysis/examples/transfer_decisions.ipynb, executed
with nbclient on Debian's python3 kernel (ipykernel) against small results
files given through TLSWEEP_RESULTS: it runs without error and its answer
(with 10 labelled points, where transfer helps, hurts or is undecided
against scratch along the rotation, and where the decided sign changes) is
what analysis.decisions and analysis.boundaries give for that line of
cells, independently selected here. Two files: the article's axes only, and one
with a string axis (align.loss), a shift-kind axis (data.shift_kind, a
question axis: read at rotation, never tuned) and a one-value axis
(train.lr) -- the notebook crashed on string axes (`v.item()` of a str).
The notebook in the repository is not touched: the executed copy goes to
the test's tmp dir."""
import os
import sys

import pytest

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
from analysis import best_values, boundaries, decisions, load  # noqa: E402

NOTEBOOK = os.path.join(ROOT, "analysis", "examples", "transfer_decisions.ipynb")
GRID = ["--set", "grid.shift=[0,30,60,90,120,150]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
        "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=6", "--set", "train.finetune_epochs=6",
        "--set", "data.n_source=150", "--set", "data.n_test=60", "--set", "baselines.target_epochs=50",
        "--set", "output.embeddings=false"]


# a string axis, a shift-kind axis and a one-value axis
MIXED = ["--set", "grid.shift=[0,30,60,90]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
         "--set", "grid.seed=[0,1,2]", "--set", "grid.align.loss=[mmd,coral]",
         "--set", "grid.data.shift_kind=[rotation,translation]", "--set", "grid.train.lr=[0.01]",
         "--set", "train.epochs=4", "--set", "train.finetune_epochs=4", "--set", "data.n_source=100",
         "--set", "data.n_test=40", "--set", "baselines.target_epochs=30", "--set", "output.embeddings=false"]
FILES = {"article": (GRID, 72), "mixed": (MIXED, 192)}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_notebook_answers_the_question(tmp_path, monkeypatch, kind):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    results = str(tmp_path / "results.h5")
    grid, n = FILES[kind]
    mpirun(2, ["run", "-o", results] + grid, extra_env={"OMPI_MCA_mpi_yield_when_idle": "1"})
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # kept without outputs
    monkeypatch.setenv("TLSWEEP_RESULTS", results)
    monkeypatch.setenv("TLSWEEP_ROOT", ROOT)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel's debugger warning on stderr
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
    client.execute()
    nbformat.write(nb, str(tmp_path / "executed.ipynb"))
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert f"{n} of {n} configurations done" in text, text
    answer = [line for line in text.splitlines() if line.startswith("With 10 labelled points")]
    assert len(answer) == 1, text
    ds = load(results)
    key = {}
    if kind == "mixed":  # the question's kind, not the best one; the other axes at their best for transfer
        assert "data.shift_kind = rotation (the file sweeps rotation, translation)" in text, text
        assert "train.lr = 0.01 (its only value)" in text, text
        ds = ds.sel(data_shift_kind=["rotation"])
        key["data_shift_kind"] = "rotation"
    for a in ("lambda", "align_loss", "train_lr"):
        if a in ds.dims:
            key[a] = best_values(ds, a).index[0]
    key["n_target"] = 10
    line = boundaries(decisions(ds, compare=["mmd:scratch"]), "shift")
    for a, v in key.items():
        line = line[line[a] == v]
    assert len(line) == 1, line
    row = line.iloc[0]
    name = f"{(key.get('align_loss') or 'mmd').upper()} transfer"
    assert answer[0].startswith(f"With 10 labelled points, {name} against training from scratch "), answer
    said = {"helps": "helps", "hurts": "hurts", "equivalent": "is equivalent", "undecided": "is undecided",
            "no data": "has no data"}
    at = 0
    for m, a, b, k in row["runs"]:  # every run of equal decisions along the shift, in order
        where = f"{a:.0f}°" if a == b else f"{a:.0f}°–{b:.0f}°"
        at = answer[0].find(f"{said[m]} at {where}", at)
        assert at >= 0, (row["runs"], answer)
    for c in row["changes"]:
        assert f"from {c['from']} to {c['to']} between {c['after']:.0f}° and {c['before']:.0f}°" in answer[0], answer
    if not row["changes"]:
        assert "no decided sign change along the rotation" in answer[0], answer
    assert "crossover" not in text and "stops helping" not in text, text
    assert "fewer than 5" in answer[0]  # 3 seeds per cell: said
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])), "no figure"
