"""The example notebook analysis/examples/mmd_crossover.ipynb, executed with
nbclient on Debian's python3 kernel (ipykernel) against a small results file
given through TLSWEEP_RESULTS: it runs without error and its answer (the
rotation at which MMD transfer stops helping with 10 labelled points) is
what analysis.crossover computes. The notebook in the repository is not
touched: the executed copy goes to the test's tmp dir."""
import os
import re
import sys

import pytest

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)
from analysis import best_values, crossover  # noqa: E402

NOTEBOOK = os.path.join(ROOT, "analysis", "examples", "mmd_crossover.ipynb")
GRID = ["--set", "grid.shift=[0,30,60,90,120,150]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[10,50]",
        "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=6", "--set", "train.finetune_epochs=6",
        "--set", "data.n_source=150", "--set", "data.n_test=60", "--set", "baselines.target_epochs=50",
        "--set", "output.embeddings=false"]


def test_notebook_answers_the_question(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    results = str(tmp_path / "results.h5")
    mpirun(2, ["run", "-o", results] + GRID, extra_env={"OMPI_MCA_mpi_yield_when_idle": "1"})
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
    assert "72 of 72 configurations done" in text, text
    answer = [line for line in text.splitlines() if line.startswith("With 10 labelled points")]
    assert len(answer) == 1, text
    lam = best_values(results, "lambda").index[0]
    c = crossover(results).loc[(lam, 10)]
    if c["kind"] == "crosses":
        assert re.search(rf"stops helping at a rotation of about {c['crossover']:.0f}°", answer[0]), answer
    elif c["kind"] == "helps everywhere":
        assert "helps at every rotation swept" in answer[0]
    else:
        assert "does not help at any rotation" in answer[0]
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])), "no figure"
