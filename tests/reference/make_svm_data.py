"""Writes tests/data/svm_parity.csv once: the article's source domain (1000
points), and at target rotations of 45 and 90 degrees a labelled target set
(50) and a test set (200). Values are float32-exact so that the C side
(float) and scikit-learn (float64) see the same numbers. Checked in; rerun
only to change the data set.

    /usr/bin/python3 tests/reference/make_svm_data.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import sample_domain  # noqa: E402

rng = np.random.default_rng(2024)
rows = []
xs, ys = sample_domain(rng, 1000, 2.0, 0.5, 0.0)
rows += [("source", y, *x) for x, y in zip(xs, ys)]
for shift in (45, 90):
    xl, yl = sample_domain(rng, 50, 1.0, 0.6, shift)
    xt, yt = sample_domain(rng, 200, 1.0, 0.6, shift)
    rows += [(f"labelled{shift}", y, *x) for x, y in zip(xl, yl)]
    rows += [(f"test{shift}", y, *x) for x, y in zip(xt, yt)]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "svm_parity.csv")
with open(out, "w") as f:
    f.write("role,label,x0,x1\n")
    for role, y, x0, x1 in rows:
        f.write(f"{role},{int(y)},{np.float32(x0)!r},{np.float32(x1)!r}\n".replace("np.float32(", "").replace(")", ""))
print(f"wrote {len(rows)} rows to {out}")
