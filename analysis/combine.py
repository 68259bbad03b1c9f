"""Several results files together: concat() puts sweeps whose
configurations differ into one cube with an axis for the file, compare()
pairs two sweeps seed by seed.

    ds = concat(["mmd.h5", "coral.h5"])     # align.loss differs: an align_loss axis (mmd, coral)
    ds = concat(["a.h5", "b.h5", "c.h5"])   # several keys differ: a `file` axis (a, b, c)
    compare("a.h5", "b.h5")                  # per cell: b - a per method, paired where the seeds match

The result of concat() is a results dataset like load()'s: summary(),
to_frame(), decisions(), select() and the report take it (the report:
tlsweep-report A.h5 B.h5 -o DIR)."""
import os

import numpy as np
import pandas as pd
import xarray as xr

from . import results as R
from .tables import table, table_name

FILE_DIM = "file"  # the axis of the files when no single configuration key tells them apart
# configuration sections that say how a sweep ran, not what it computed
IGNORED = ("grid.", "output.")


class Files(os.PathLike):
    """Several results files that concat() combined, as the path of the
    combination: os.fspath() gives the first (its groups, e.g. whether there
    are embeddings), load_embeddings() the one the new axis's value names;
    str() lists them all."""

    def __init__(self, ds):
        self.paths = list(ds.attrs["concat_files"].split("\n"))
        self.dim = ds.attrs["concat_dim"]
        self.key = str(ds[self.dim].attrs.get("key", self.dim))
        self.values = [R._py(v) for v in ds[self.dim].values]

    def __fspath__(self):
        return self.paths[0]

    def __str__(self):
        return " + ".join(self.paths)

    def path_of(self, value):
        """The file whose configurations have value on the file's axis."""
        for v, p in zip(self.values, self.paths):
            if R._str(v) == R._str(value) or (not isinstance(v, str) and np.isclose(float(v), float(value))):
                return p
        raise KeyError(f"{self.dim}={value} is not in the grid; allowed: {self.values}")


def _fail(msg):
    raise ValueError(f"analysis.concat: {msg}")


def _settings(ds):
    """The file's configuration keys (dotted) -> value, grid and output left out."""
    import yaml
    text = str(ds.attrs.get("config_yaml", ""))
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    out = {}
    for section, keys in doc.items():
        if isinstance(keys, dict):
            for k, v in keys.items():
                out[f"{section}.{k}"] = v
    return {k: v for k, v in out.items() if not k.startswith(IGNORED)}


def differences(dsets):
    """The configuration keys whose value differs between the files: key ->
    [value per file] (keys every file states; grid and output left out)."""
    settings = [_settings(d) for d in dsets]
    common = set.intersection(*(set(s) for s in settings)) if settings else set()
    return {k: [s[k] for s in settings] for k in sorted(common) if len({repr(s[k]) for s in settings}) > 1}


def _label(path, taken):
    name = os.path.splitext(os.path.basename(os.fspath(path)))[0] or "file"
    label, k = name, 2
    while label in taken:
        label, k = f"{name}-{k}", k + 1
    taken.add(label)
    return label


def _hosts_by_name(ds):
    """host as the host's name rather than an index into hosts (which differ between files)."""
    if "host" in ds and ds["host"].dtype.kind in "iuf" and "hosts" in ds:
        names = np.array([R._str(h) for h in ds["hosts"].values] + [""], dtype=object)
        h = ds["host"].values
        idx = np.where(np.isfinite(h) & (h >= 0) & (h < len(names) - 1), np.nan_to_num(h, nan=-1), -1).astype(int)
        ds = ds.assign(host=(ds["host"].dims, names[idx], ds["host"].attrs))
    return ds.drop_vars("hosts", errors="ignore")


def concat(paths, dim=None, labels=None):
    """One results dataset from several files of sweeps that differ in
    configuration, with a new grid axis for the file (last in grid order):
    named after the one configuration key that tells the files apart (two
    sweeps that differ only in align.loss: an align_loss axis with key
    align.loss and the files' values, as if the grid had swept it), else
    `file`, its values the files' names (or labels). dim, labels: name the
    axis and its values yourself.

    The files must have the same grid axes (in any order: the first file's
    is kept); a key held fixed in one and swept in another can be made an
    axis of one value there (grid.train.lr=[0.01]). Where the values of an
    axis differ, the cube is their union, and the configurations a file
    lacks are pending (status 0), as in a partial file. Anything else
    raises ValueError with one line. Attributes: the first file's, plus
    concat_files (the paths, one a line), concat_dim and concat_differences
    (key: value per file)."""
    paths = list(paths)
    if len(paths) < 2:
        _fail(f"give two or more results files (got {len(paths)})")
    dsets, names = [], []
    for p in paths:
        d = R.load(p)
        names.append(os.fspath(p) if not isinstance(p, xr.Dataset) else str(p.attrs.get("concat_files", "dataset")))
        dsets.append(d.load() if not isinstance(p, xr.Dataset) else d)
        if not isinstance(p, xr.Dataset):
            d.close()
    grid = R.axes(dsets[0])
    for n, d in zip(names[1:], dsets[1:]):
        if set(R.axes(d)) != set(grid):
            _fail(f"{n} has the grid axes {R.axes(d)}, {names[0]} {grid}: they cannot be aligned; sweep every file "
                  "over the same axes (a key held fixed in one can be an axis of one value: grid.train.lr=[0.01])")
    diff = differences(dsets)
    values = None
    if dim is None and labels is None:  # the one key that tells the files apart, if there is one
        one = list(diff)[0] if len(diff) == 1 else None
        values = diff[one] if one else None
        if one and len({repr(v) for v in values}) == len(values) and one.replace(".", "_") not in grid:
            dim, key = one.replace(".", "_"), one
        else:
            values = None
    if values is None:
        dim = dim or FILE_DIM
        key = dim
        taken = set()
        values = list(labels) if labels is not None else [_label(n, taken) for n in names]
    if len(values) != len(dsets) or len({repr(v) for v in values}) != len(values):
        _fail(f"{dim}: one distinct value per file is needed, got {values}")
    if dim in grid:
        _fail(f"{dim} is already an axis of the files; name the new axis with dim=")
    dsets = [_hosts_by_name(d.transpose(*grid, ...)) for d in dsets]
    every = {}
    for d in dsets:
        for v in d.data_vars:
            every.setdefault(v, d[v])
    for i, d in enumerate(dsets):  # a variable one file lacks (an older version): NaN there
        missing = {v: xr.full_like(a, np.nan, dtype=float) if a.dtype.kind in "iufb" else xr.full_like(a, "")
                   for v, a in every.items() if v not in d}
        if missing:
            dsets[i] = d.assign(missing)
    kind = "U" if all(isinstance(v, str) for v in values) else None
    index = pd.Index(np.array(values, dtype=object) if kind else np.array(values), name=dim)
    out = xr.concat(dsets, dim=index, data_vars="all", coords="minimal", compat="override", join="outer",
                    combine_attrs="override", fill_value=np.nan)
    out[dim].attrs["key"] = key
    for v in ("status", "approach_status"):
        if v in out:
            out[v] = out[v].fillna(R.PENDING)
    order = grid + [dim]
    for v in out.data_vars:
        if set(order) <= set(out[v].dims):
            out[v] = out[v].transpose(*order, ...)
    for v in ("reason", "host"):
        if v in out:
            out[v] = out[v].fillna("")
    for a in ("n_configs", "n_grid", "n_done", "n_failed", "n_pending", "complete"):
        out.attrs.pop(a, None)
    out.attrs["concat_files"] = "\n".join(os.path.abspath(n) if os.path.exists(n) else n for n in names)
    out.attrs["concat_dim"] = dim
    out.attrs["concat_differences"] = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in diff.items())
    out.attrs["file_config_yaml"] = "\n---\n".join(str(d.attrs.get("config_yaml", "")) for d in dsets)
    return out


def compare(a, b, methods=None):
    """Sweep b against sweep a, per cell (every grid axis but seed, on the
    values both files have) and method: acc_<m>_a and acc_<m>_b, the mean
    accuracies over the seeds both files have done, diff_<m> = b - a and
    diff_<m>_ci95 (95% t interval of the per-seed differences: paired, as
    common random numbers make the same seed the same data in both), and
    seeds_<m>, how many seeds paired (0: none matches, the rest NaN). A
    Table indexed by the cell axes; methods: the methods of both files
    (default), by the file's or the tables' names (transfer for mmd).
    Raises ValueError with one line when the grid axes differ."""
    A, B = R.load(a), R.load(b)
    ga, gb = R.axes(A), R.axes(B)
    if set(ga) != set(gb):
        raise ValueError(f"analysis.compare: the grid axes differ ({ga} and {gb}): compare sweeps over the same axes")
    A, B = xr.align(A.transpose(*ga, ...), B.transpose(*ga, ...), join="inner", exclude=set(A.dims) - set(ga))
    common = [m for m in R.approaches(A) if m in R.approaches(B)]
    if methods is not None:
        want = [m if m in common else {table_name(x): x for x in common}.get(m, m) for m in methods]
        bad = [m for m in want if m not in common]
        if bad:
            raise KeyError(f"analysis.compare: {bad} is not a method of both files; allowed: {common}")
        common = want
    cells = [x for x in ga if x != "seed"]
    cols = {}
    for m in common:
        x, y = R.accuracy(A, m), R.accuracy(B, m)
        both = np.isfinite(x) & np.isfinite(y)
        x, y = x.where(both), y.where(both)
        t = table_name(m)
        with np.errstate(invalid="ignore"):
            cols[f"acc_{t}_a"] = x.mean("seed", skipna=True)
            cols[f"acc_{t}_b"] = y.mean("seed", skipna=True)
        cols[f"diff_{t}"], cols[f"diff_{t}_ci95"], cols[f"seeds_{t}"] = R._mean_ci(y - x)
    cube = xr.Dataset(cols)
    df = cube.to_dataframe(dim_order=cells) if cells else pd.DataFrame({k: [float(v)] for k, v in cube.items()})
    df = df[[c for c in cols if c in df]]
    for c in df:
        if c.startswith("seeds_"):
            df[c] = df[c].astype(np.int64)
    out = table(df, {})
    out.attrs.update(a=str(a) if not isinstance(a, xr.Dataset) else "a", b=str(b) if not isinstance(b, xr.Dataset)
                     else "b")
    return out
