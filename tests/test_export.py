"""tlsweep export: a results file as one tidy CSV table. Every cell of the table is checked
against h5py's reading of the same file (xarray's for the cube's coordinates): a sweep with a
string axis (align.loss) and a boolean axis, a part's file, a decide-mode file whose
not_needed configurations are rows with their status, and standard output."""
import csv
import io
import math
import os

import h5py
import numpy as np
import pytest
import xarray as xr

from tlstest import FAST, mpirun, run

GRID = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,0.5]", "--set", "grid.n_target=[6]",
        "--set", "grid.seed=[0,1]", "--set", "grid.align.loss=[mmd,coral]", "--set", "grid.svm.shrinking=[true,false]"
        ] + FAST
SEQ = ["--set", "decide.mode=sequential", "--set", "grid.shift=[0,120]", "--set", "grid.lambda=[0.5]",
       "--set", "grid.n_target=[6,20]", "--set", "decide.max_seeds=12", "--set", "decide.round=4"] + FAST
VOLATILE = {"seconds", "seconds_ts", "seconds_total", "rank", "host"}  # who computed, how long it took


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    mpirun(2, ["run", "-o", str(d / "r.h5")] + GRID)
    return d


def table(path, tmp):
    out = os.path.join(tmp, os.path.basename(path) + ".csv")
    run(["export", path, "-o", out, "--force"])
    with open(out, newline="") as f:
        return list(csv.reader(f))


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def expected(f, name, pos, ap, approaches):
    """The value the cell of column `name` holds for configuration pos and approach ap, from h5py:
    a string, a number, or None where the cell must be empty."""
    hosts = [text(h) for h in f["hosts"][()]]
    if name == "reason":
        return text(f["reason"][pos])
    per = f"{name}_{approaches[ap]}"
    if per in f:
        var, at = f[per], pos
    elif name in f and f[name].ndim == len(pos) + 1:  # along the approach dimension
        var, at = f[name], pos + (ap,)
    elif name in f:
        var, at = f[name], pos
    else:  # one variable per approach, not made for this one (an SVM's entropy)
        assert any(f"{name}_{a}" in f for a in approaches), name
        return None
    v = var[at]
    fill = var.attrs.get("_FillValue")
    if name == "host":
        return None if v == fill else hosts[v]
    if "flag_meanings" in var.attrs:
        values = [int(x) for x in np.ravel(var.attrs["flag_values"])] if not isinstance(
            var.attrs["flag_values"], (str, bytes)) else [int(x) for x in text(var.attrs["flag_values"]).split()]
        words = text(var.attrs["flag_meanings"]).split()
        return words[values.index(int(v))] if int(v) in values else None
    if var.dtype.kind == "f":
        return None if math.isnan(v) else float(v)
    return None if fill is not None and v == fill else int(v)


def check(rows, path, axes_of):
    """Every cell of the table against the file; axes_of(f, pos) gives the axes' values."""
    header, body = rows[0], rows[1:]
    with h5py.File(path, "r") as f:
        approaches = [text(a) for a in f["approach"][()]]
        shape = f["status"].shape
        assert len(body) == int(np.prod(shape)) * len(approaches)
        naxes = header.index("approach")
        # every variable with one value per configuration (and approach) has its column
        for name, var in f.items():
            scale = text(var.attrs.get("CLASS", b"")) == "DIMENSION_SCALE"  # a coordinate (a part's config)
            if isinstance(var, h5py.Dataset) and not scale and var.shape[:len(shape)] == shape and \
                    var.shape[len(shape):] in ((), (len(approaches),)):
                base = next((name[:-len(a) - 1] for a in approaches if name.endswith("_" + a)), name)
                assert base in header or name in header, name
        cells = 0
        for i, pos in enumerate(np.ndindex(*shape)):
            axes = axes_of(f, pos)
            for ap in range(len(approaches)):
                row = body[i * len(approaches) + ap]
                assert len(row) == len(header)
                assert row[:naxes] == axes, (row[:naxes], axes)
                assert row[naxes] == approaches[ap]
                for name, cell in zip(header[naxes + 1:], row[naxes + 1:]):
                    want = expected(f, name, pos, ap, approaches)
                    if want is None:
                        assert cell == "", (name, pos, ap, cell)
                    elif isinstance(want, str):
                        assert cell == want, (name, pos, ap, cell, want)
                    else:
                        assert float(cell) == want, (name, pos, ap, cell, want)  # exact: shortest round trip
                    cells += 1
        return header, body, cells


def cube_axes(path):
    ds = xr.open_dataset(path)
    dims = list(ds.status.dims)

    def axes_of(f, pos):
        out = []
        for d, i in zip(dims, pos):
            v = ds[d].values[i]
            out.append(text(v) if ds[d].dtype.kind in "OSU" else format_number(v))
        return out
    return dims, axes_of


def format_number(v):
    return str(int(v)) if np.issubdtype(type(v), np.integer) else repr(float(v)).removesuffix(".0")


def test_the_table_is_the_file(sweep):
    path = str(sweep / "r.h5")
    rows = table(path, sweep)
    dims, axes_of = cube_axes(path)
    header, body, cells = check(rows, path, axes_of)
    assert header[:len(dims)] == ["shift", "lambda", "n_target", "seed", "align_loss", "svm_shrinking"]
    assert header[len(dims):len(dims) + 4] == ["approach", "status", "approach_status", "acc"]
    for col in ("mmd2_input", "pad_feat", "score_entropy", "score_iwcv", "ts_leep", "ts_leep_reason",
                "negative_transfer", "seconds", "reason"):
        assert col in header, col
    assert cells >= 32 * 5 * 40  # 32 configurations x 5 approaches x every column
    assert {r[4] for r in body} == {"mmd", "coral"} and {r[5] for r in body} == {"0", "1"}
    # a configuration's SVM rows have no entropy (no softmax), its networks' rows have one
    ent = header.index("score_entropy")
    assert all((r[ent] == "") == (r[len(dims)] in ("scratch", "direct")) for r in body)


def test_standard_output_and_refusals(sweep):
    path = str(sweep / "r.h5")
    p = run(["export", path, "-o", "-"])
    assert list(csv.reader(io.StringIO(p.stdout))) == table(path, sweep)
    again = run(["export", path, "-o", str(sweep / "r.h5.csv")], check=False)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert run(["export", path, "-o", str(sweep / "r.h5.csv"), "--force"]).returncode == 0
    for args, why in ([["export", path], "missing -o OUT"], [["export", "-o", "x.csv"], "expected one FILE"],
                      [["export", str(sweep / "none.h5"), "-o", "-"], "no such file"]):
        p = run(args, check=False)
        assert p.returncode == 2 and why in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "pyarrow" in run(["export", "--help"]).stdout and "export" in run(["--help"]).stdout


def test_a_parts_file_is_its_rows_of_the_whole(sweep):
    """A part's file (run --part 2/3): its rows are the whole sweep's rows of its configurations,
    value for value (who computed them and how long it took aside), and its numeric axes are its
    auxiliary coordinates along config."""
    part = str(sweep / "p2.h5")
    run(["run", "-o", part, "--part", "2/3"] + GRID)
    rows = table(part, sweep)
    whole = table(str(sweep / "r.h5"), sweep)
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h not in VOLATILE]
    with h5py.File(part, "r") as f:
        index = f["config"][()]
        n = len(f["approach"])
    want = [whole[1 + int(i) * n + a] for i in index for a in range(n)]
    assert [[r[k] for k in keep] for r in rows[1:]] == [[r[k] for k in keep] for r in want]

    def axes_of(f, pos):
        return [format_number(f[d][pos]) if d in f else rows[1 + pos[0] * n][j]
                for j, d in enumerate(header[:header.index("approach")])]
    check(rows, part, axes_of)


def test_a_decide_mode_file_has_its_not_needed_rows(tmp_path):
    path = str(tmp_path / "seq.h5")
    mpirun(2, ["run", "-o", path] + SEQ)
    rows = table(path, tmp_path)
    _, axes_of = cube_axes(path)
    header, body, _ = check(rows, path, axes_of)
    status = [r[header.index("status")] for r in body]
    assert set(status) == {"done", "not_needed"}
    with h5py.File(path, "r") as f:
        assert status.count("not_needed") == 5 * int(f.attrs["n_not_needed"])
    acc = header.index("acc")
    assert all((r[acc] == "") == (s == "not_needed") for r, s in zip(body, status))
