"""libsvm parity: the scratch and direct SVMs of tlsweep (its libsvm wrapper
with scikit-learn's SVC defaults) predict exactly what scikit-learn's
SVC(kernel='rbf', gamma='auto') predicts, point for point, on a fixed data
set written once by tests/reference/make_svm_data.py."""
import os
import subprocess

import numpy as np
import pytest
from sklearn.svm import SVC

from tlstest import ROOT

DATA = os.path.join(ROOT, "tests", "data", "svm_parity.csv")
DRIVER = os.environ["TLSWEEP_SVC_PREDICT"]


def load():
    rows = np.genfromtxt(DATA, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return rows


@pytest.mark.parametrize("shift", [45, 90])
@pytest.mark.parametrize("method,train", [("scratch", "labelled"), ("direct", "source")])
def test_predictions_equal_sklearn(shift, method, train):
    rows = load()
    train_role = train if train == "source" else f"labelled{shift}"
    test_role = f"test{shift}"
    tr, te = rows[rows["role"] == train_role], rows[rows["role"] == test_role]
    X = lambda r: np.column_stack([r["x0"], r["x1"]]).astype(np.float64)
    want = SVC(kernel="rbf", gamma="auto").fit(X(tr), tr["label"]).predict(X(te))
    out = subprocess.run([DRIVER, DATA, train_role, test_role], capture_output=True, text=True, check=True)
    got = np.array(out.stdout.split(), dtype=int)
    assert len(got) == len(te) == 200
    mismatch = np.flatnonzero(got != want)
    assert mismatch.size == 0, f"{method} at {shift} deg: {mismatch.size} of 200 predictions differ: {mismatch}"
    # the data set is not trivial: the SVM makes some mistakes at 90 degrees
    if shift == 90 and method == "direct":
        assert (want != te["label"]).sum() > 10
