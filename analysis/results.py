"""Loading a results file and summarising it. The file is designed for
xarray (docs/FORMAT.md), so loading is little more than open_dataset.

Nothing here names the methods or the grid axes beyond the file's own
vocabulary: the methods are the `approach` coordinate (those with an
acc_<approach> variable), the grid axes are the dimensions of `status`
(shift, lambda, n_target, seed and any extra axis such as train_lr, whose
`key` attribute is the configuration key, e.g. "train.lr"). Two methods have
a role: the baseline that transfer is judged against (`scratch`) and the
transfer method whose gain is the article's question (`mmd`); files without
them fall back to the first and the last approach.

Pending configurations (status 0) and failed ones (2) hold NaN in every
metric; a method that failed in a configuration whose other methods ran is
marked in approach_status. Every statistic here uses, per method, only the
configurations where that method is done.
"""
import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .tables import summary_renames, table, table_name

NAMED_AXES = ("shift", "lambda", "n_target", "seed")
DISTANCES = ("mmd2_input", "mmd2_feat_before", "mmd2_feat_after", "pad_input", "pad_feat")
# The selection scores of docs/FORMAT.md: name -> (variable, {m} = the method; direction: +1 when
# higher is better, -1 when lower is; what it is). "oracle" is the target test accuracy itself.
SCORES = {
    "entropy": ("score_entropy_{m}", -1, "prediction entropy on the unlabelled target points"),
    "snd": ("score_snd_{m}", +1, "soft neighbourhood density (Saito et al. 2021)"),
    "mmd2": ("mmd2_feat_after", -1, "MMD² between source and target features after training"),
    "pad": ("pad_feat", -1, "proxy A-distance in feature space after training"),
    "iwcv": ("score_iwcv", -1, "importance-weighted validation on held-out source points (Sugiyama et al. 2007)"),
    "dev": ("score_dev", -1, "deep embedded validation (You et al. 2019)"),
    "target_val": ("score_target_val_{m}", +1, "accuracy on held-out labelled target points"),
    "oracle": ("acc_{m}", +1, "target test accuracy (the oracle)"),
}
# what no adaptation means along an axis, for select()'s reference value
REFERENCE = {"lambda": 0.0, "align_loss": "none"}
RULES = (("mmd2_input", 0.1), ("mmd2_feat_after", 0.1), ("pad_input", 0.5), ("pad_feat", 0.5))
PENDING, DONE, FAILED = 0, 1, 2


# ---------------------------------------------------------------- loading

def load(path, engine=None, **kwargs):
    """The results cube as an xarray.Dataset. path: str or os.PathLike (an
    xarray.Dataset is returned as it is). engine: any xarray engine that reads
    netCDF-4/HDF5 (None: xarray's default, netCDF4 when installed;
    "h5netcdf" also works)."""
    if isinstance(path, xr.Dataset):
        return path
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if engine is None and _format(path) == 1:
        engine = "h5netcdf"  # format 1 has fixed-length strings, which netCDF-C (the default engine) cannot read
    ds = xr.open_dataset(path, engine=engine, **kwargs)
    if "status" not in ds:
        ds.close()
        raise ValueError(f"{path}: not a tlsweep results file (no 'status' variable)")
    return ds


def _format(path):
    """The tlsweep results format of a file (1, 2, ...; 0 when it says none)."""
    import h5py
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format", b"")
    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    return int(fmt.split()[0].rsplit("-", 1)[1]) if fmt.startswith("tlsweep-results-") else 0


def axes(ds):
    """The grid axes in file order: the dimensions of `status` (shift,
    lambda, n_target, seed, then any extra axis)."""
    return list(load(ds)["status"].dims)


def cell_axes(ds):
    """The axes of a cell of summary(): every grid axis but seed."""
    return [a for a in axes(ds) if a != "seed"]


def extra_axes(ds):
    return [a for a in axes(ds) if a not in NAMED_AXES]


def axis_key(ds, dim):
    """The configuration key of a grid axis: "train.lr" for train_lr."""
    return str(load(ds)[dim].attrs.get("key", dim))


def _yaml_value(text, section, key):
    """A key's value in a file's canonical configuration text, or None (swept: a comment there)."""
    import re
    m = re.search(rf"^{section}:\s*\n(?:[ \t]+.*\n)*?[ \t]+{key}:\s*(\S+)", text + "\n", re.M)
    return m.group(1) if m else None


def setting(ds, dim, section, key, default):
    """The value of the configuration key section.key per configuration: the
    axis dim where the grid sweeps it (a DataArray), per file of a concat()
    of files that differ in it (a DataArray over the files' axis), else the
    file's value (a str; default for files from before the key)."""
    ds = load(ds)
    if dim in ds.dims:
        return ds[dim]
    if "file_config_yaml" in ds.attrs and ds.attrs.get("concat_dim") in ds.dims:
        texts = str(ds.attrs["file_config_yaml"]).split("\n---\n")
        vals = [_yaml_value(t, section, key) or default for t in texts]
        if len(set(vals)) > 1:
            cdim = ds.attrs["concat_dim"]
            return xr.DataArray(np.array(vals, dtype=object), dims=cdim, coords={cdim: ds[cdim]})
        return vals[0]
    return _yaml_value(str(ds.attrs.get("config_yaml", "")), section, key) or default


def _one(v):
    """A setting's single value, or None where it varies."""
    if isinstance(v, str):
        return v
    vals = {_str(x) for x in np.ravel(v.values)}
    return vals.pop() if len(vals) == 1 else None


def shift_kind(ds):
    """What the shift axis means: the file's data.shift_kind (rotation,
    translation, scale, label, conditional), "mixed" when the grid sweeps
    several kinds; "rotation" for files from before the key."""
    return _one(setting(ds, "data_shift_kind", "data", "shift_kind", "rotation")) or "mixed"


def alignment(ds):
    """What aligns the transfer network (the approach the file calls mmd):
    the file's align.loss (mmd, coral, dann, none); None when it varies
    (the grid sweeps align.loss: its align_loss axis says it per
    configuration; setting() gives it per configuration); "mmd" for files
    from before the key."""
    return _one(setting(ds, "align_loss", "align", "loss", "mmd"))


def approaches(ds):
    """The methods of the file, in file order: the `approach` coordinate,
    keeping those that have an acc_<approach> variable."""
    ds = load(ds)
    if "approach" in ds.coords or "approach" in ds:
        names = [_str(a) for a in ds["approach"].values]
    else:
        names = [v[4:] for v in ds.data_vars if v.startswith("acc_")]
    return [m for m in names if f"acc_{m}" in ds]


def roles(ds):
    """(baseline, transfer): the method transfer is judged against and the
    transfer method of the article's question (scratch and mmd)."""
    ms = approaches(ds)
    if not ms:
        return None, None
    base = "scratch" if "scratch" in ms else ms[0]
    trans = "mmd" if "mmd" in ms else ms[-1]
    return base, trans


def method_done(ds, m):
    """Boolean DataArray over the grid axes: method m ran to completion."""
    ds = load(ds)
    if "approach_status" in ds:
        ok = ds["approach_status"].sel(approach=m) == DONE
        ok = ok.drop_vars("approach", errors="ignore")
    else:
        ok = ds["status"] == DONE
    return ok & np.isfinite(ds[f"acc_{m}"])


def accuracy(ds, m):
    """acc_<m> where method m is done, NaN elsewhere."""
    ds = load(ds)
    return ds[f"acc_{m}"].where(method_done(ds, m))


def counts(ds):
    """(n_configs, n_done, n_failed, n_pending) counted from `status`."""
    st = load(ds)["status"].values
    return int(st.size), int(np.sum(st == DONE)), int(np.sum(st == FAILED)), int(np.sum(st == PENDING))


def _str(v):
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


def _index(ds, dim, value):
    vals = ds[dim].values
    if vals.dtype.kind in "OSU":
        hits = np.flatnonzero(np.array([_str(v) for v in vals]) == _str(value))
    else:
        try:
            hits = np.flatnonzero(np.isclose(vals.astype(float), float(value), rtol=1e-9, atol=1e-12))
        except (TypeError, ValueError):
            hits = np.array([], dtype=int)
    if hits.size == 0:
        raise KeyError(f"{dim}={value} is not in the grid; allowed: {[_py(v) for v in vals]}")
    return int(hits[0])


def indices(ds, **where):
    """Grid indices of one configuration from values given by keyword for
    every axis: shift=, lambda_= (or "lambda"), n_target=, seed=, and each
    extra axis by its dimension name (train_lr=) or, through a dict, its
    key ({"train.lr": ...}). Axes with a single value may be left out."""
    ds = load(ds)
    grid = axes(ds)
    by_key = {axis_key(ds, a): a for a in grid}
    want = {}
    for k, v in where.items():
        if v is None:
            continue
        name = "lambda" if k == "lambda_" else k
        name = by_key.get(name, name)
        if name not in grid:
            raise TypeError(f"unknown grid axis {k!r}; the axes are {grid}")
        want[name] = v
    idx = {}
    missing = []
    for a in grid:
        if a in want:
            idx[a] = _index(ds, a, want[a])
        elif ds.sizes[a] == 1:
            idx[a] = 0
        else:
            missing.append(a)
    if missing:
        raise TypeError(f"give a value for every axis with more than one value; missing: {missing}")
    return idx


def load_embeddings(path, shift=None, lambda_=None, n_target=None, seed=None, engine=None, **extra):
    """Embeddings and inputs of one configuration as an xarray.Dataset:
    source_features (source_point, feature), target_features (test_point,
    feature), source_x / target_x (point, input_dim), source_y / target_y.
    The configuration is selected by keyword for every axis: shift, lambda_,
    n_target, seed and each extra axis (train_lr=0.01, or
    **{"train.lr": 0.01}); axes with a single value may be left out.
    Raises KeyError for a value not in the grid. path may be the files of
    a concat() (combine.Files): the value of its new axis chooses the file."""
    if hasattr(path, "path_of"):  # several files combined: the one the new axis's value names
        value = extra.pop(path.dim, extra.pop(path.key, None))
        if value is None:
            raise TypeError(f"give a value of {path.key} to choose among the files {path.values}")
        path = path.path_of(value)
    root = load(path, engine=engine)
    idx = indices(root, shift=shift, lambda_=lambda_, n_target=n_target, seed=seed, **extra)
    if engine is None and _format(path) == 1:
        engine = "h5netcdf"
    emb = xr.open_dataset(os.fspath(path), engine=engine, group="embeddings")
    one = emb.isel(idx).load()
    emb.close()
    for k in ("source_y", "target_y"):  # labels: integers where the configuration ran
        if k in one and np.all(np.isfinite(one[k].values)):
            one[k] = one[k].astype(np.int64)
    one.attrs.update({a: _py(root[a].values[i]) for a, i in idx.items()})
    one.attrs["status"] = int(root["status"].isel(idx))
    return one


# ---------------------------------------------------------------- tables

def _py(v):
    """A numpy scalar as a plain Python value (JSON-ready)."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def to_frame(path_or_ds, include_pending=False):
    """A tidy pandas.DataFrame: one row per configuration and method. Columns:
    every grid axis, approach (the file's approaches, the transfer network
    named transfer: see analysis/tables.py), accuracy, approach_status (0
    pending, 1 done, 2 failed), then the configuration's status, reason,
    distances, negative_transfer, seconds_total, rank and host (name), then
    per row: seconds (of that method), the selection scores of that method
    -- score_entropy, score_snd (networks only), score_target_val -- and of
    the transfer network score_iwcv and score_dev (NaN on the other rows;
    columns only where the file has the variables), and alignment (what
    aligns the transfer network in that configuration: align.loss). Pending
    configurations are left out unless include_pending; failed methods keep
    their row with accuracy NaN."""
    ds = load(path_or_ds)
    grid = axes(ds)
    ms = approaches(ds)
    per_config = [v for v in ("status",) + DISTANCES + ("negative_transfer", "seconds_total", "rank", "host", "reason")
                  if v in ds and tuple(ds[v].dims) == tuple(grid)]
    base = ds[per_config].to_dataframe(dim_order=grid).reset_index()
    base["status"] = base["status"].fillna(PENDING).astype(np.int8)
    if "reason" in base:
        base["reason"] = base["reason"].map(lambda r: _str(r) if isinstance(r, (str, bytes)) else "")
    if "host" in base and base["host"].dtype.kind in "iuf":  # an index into hosts (format 1: the name itself)
        hosts = [_str(h) for h in ds["hosts"].values] if "hosts" in ds else []
        base["host"] = base["host"].map(lambda h: hosts[int(h)] if np.isfinite(h) and 0 <= h < len(hosts) else "")
    elif "host" in base:
        base["host"] = base["host"].map(lambda h: _str(h) if isinstance(h, (str, bytes)) else "")
    if "rank" in base:
        base["rank"] = base["rank"].astype("Int32")
    keep = np.ones(len(base), bool) if include_pending else (base["status"] != PENDING).to_numpy()
    trans = roles(ds)[1]
    per_method = [("seconds", "seconds_{m}")] + [(f"score_{n}", f"score_{n}_{{m}}") for n in
                                                ("entropy", "snd", "target_val")]
    per_method += [(f"score_{n}", f"score_{n}") for n in ("iwcv", "dev")]
    have = [(col, var) for col, var in per_method if any(var.format(m=m) in ds for m in ms)]
    align = setting(ds, "align_loss", "align", "loss", "mmd")

    def values(var):
        return ds[var].transpose(*grid).values.ravel()[keep] if var in ds and tuple(ds[var].dims) == tuple(grid) \
            else np.full(int(keep.sum()), np.nan)
    frames = []
    for m in ms:
        f = base[keep].copy()
        f.insert(len(grid), "approach", table_name(m))
        f.insert(len(grid) + 1, "accuracy", ds[f"acc_{m}"].transpose(*grid).values.ravel()[keep])
        if "approach_status" in ds:
            st = ds["approach_status"].sel(approach=m).transpose(*grid).values.ravel()[keep]
        else:
            st = f["status"].to_numpy()
        f.insert(len(grid) + 2, "approach_status", np.nan_to_num(st, nan=PENDING).astype(np.int8))
        for col, var in have:
            if "{m}" in var or m == trans:  # score_iwcv and score_dev: the transfer network's
                f[col] = values(var.format(m=m))
            else:
                f[col] = np.nan
        f["alignment"] = (align.broadcast_like(ds["status"]).transpose(*grid).values.ravel()[keep]
                          if isinstance(align, xr.DataArray) else align)
        frames.append(f)
    if not frames:
        return base[keep].reset_index(drop=True)
    out = pd.concat(frames, ignore_index=True)
    if "alignment" in out:
        out["alignment"] = out["alignment"].map(_str)
    cols = grid + ["approach", "accuracy", "approach_status", "status", "reason"]
    cols = [c for c in cols if c in out] + [c for c in out if c not in cols]
    return out[cols]


def _mean_ci(da, dim="seed"):
    """Mean, half-width of the 95% t confidence interval and count along dim,
    ignoring NaN (half-width NaN below 2 values)."""
    n = da.count(dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = da.mean(dim, skipna=True)
        sd = da.std(dim, ddof=1, skipna=True)
    tq = xr.apply_ufunc(lambda k: stats.t.ppf(0.975, np.maximum(k - 1, 1)), n)
    half = (tq * sd / np.sqrt(n.where(n > 0))).where(n > 1)
    return mean, half, n


def summary_cube(path_or_ds):
    """summary() as an xarray.Dataset over the cell axes, in the file's
    names: acc_<m>, n_<m> seeds, gain_mmd_vs_<m> (summary() renames them)."""
    ds = load(path_or_ds)
    cells = cell_axes(ds)
    ms = approaches(ds)
    base, trans = roles(ds)
    st = ds["status"]
    cols = {"n_done": (st == DONE).sum("seed"), "n_failed": (st == FAILED).sum("seed"),
            "n_pending": (st == PENDING).sum("seed")}
    acc = {m: accuracy(ds, m) for m in ms}
    for m in ms:
        cols[f"acc_{m}"], cols[f"acc_{m}_ci95"], cols[f"n_{m}"] = _mean_ci(acc[m])
    pairs = [(m, base) for m in ms if m != base] + [(trans, o) for o in ms if o not in (base, trans)]
    for a, b in pairs:
        cols[f"gain_{a}_vs_{b}"], cols[f"gain_{a}_vs_{b}_ci95"], _ = _mean_ci(acc[a] - acc[b])
    if base and trans and base != trans:
        both = np.isfinite(acc[trans]) & np.isfinite(acc[base])
        neg = (acc[trans] < acc[base]).where(both)
        k = both.sum("seed")
        cols["negative_transfer_share"] = (neg.sum("seed") / k.where(k > 0))
    return xr.Dataset({k: v.transpose(*cells) if cells else v for k, v in cols.items()})


def summary(path_or_ds):
    """Per cell (every grid axis but seed: shift, lambda, n_target and any
    extra axis), over seeds: n_done, n_failed, n_pending configurations; for
    each method m, acc_<m> (mean accuracy where m is done), acc_<m>_ci95
    (half-width of the 95% t interval) and seeds_<m> (how many seeds); the
    paired gain of every method over the baseline (gain_<m>_vs_scratch) and
    of the transfer method over every other (gain_transfer_vs_<m>), from
    per-seed differences (common random numbers pair the seeds), with _ci95;
    and negative_transfer_share, the share of seeds where both ran and
    transfer is below scratch. The transfer network, the file's mmd, is
    called transfer whatever aligns it (alignment(ds), or the align_loss
    axis); the old names (acc_mmd, n_mmd, gain_mmd_vs_scratch) still read:
    analysis/tables.py. A Table (a pandas.DataFrame) indexed by the cell
    axes, in file order (summary_cube: the same as an xarray.Dataset, in
    the file's names)."""
    ds = load(path_or_ds)
    out = summary_cube(ds)
    cols = list(out.data_vars)
    if not cell_axes(ds):
        df = pd.DataFrame({k: [float(v)] for k, v in out.items()})
    else:
        df = out.to_dataframe(dim_order=cell_axes(ds))
        df = df[[c for c in cols if c in df]]  # drop coordinates xarray carried along (approach)
    for c in df:
        if c.startswith("n_"):
            df[c] = df[c].astype(np.int64)
    t = table(df, summary_renames(df.columns))
    t.attrs["alignment"] = alignment(ds)
    return t


def rules_of_thumb(path_or_ds):
    """Tests the article's rules of thumb on the sweep's own data, per
    configuration where both the transfer method and the baseline ran:
    "MMD < 0.1 typically indicates transferability" and "A-distance too
    large (> 0.5)" signals negative transfer. Returns a dict: the correlation
    of each distance with the gain of transfer over the baseline, and the
    share of negative transfer on each side of the thresholds (None where
    there is nothing to compute: JSON-ready)."""
    ds = load(path_or_ds)
    base, trans = roles(ds)
    res = {"configurations": 0, "transfer": trans, "baseline": base}
    if not base or base == trans:
        return res
    gain_da = accuracy(ds, trans) - accuracy(ds, base)
    gain = gain_da.values.ravel()
    ok_gain = np.isfinite(gain)
    res["configurations"] = int(ok_gain.sum())
    for name, thr in RULES:
        if name not in ds:
            continue
        x = ds[name].transpose(*gain_da.dims).values.ravel()
        ok = ok_gain & np.isfinite(x)
        xs, g = x[ok], gain[ok]
        vary = ok.sum() > 2 and np.ptp(xs) > 0 and np.ptp(g) > 0
        below, above = xs < thr, xs >= thr
        res[name] = {
            "threshold": thr,
            "pearson_r_with_gain": _num(stats.pearsonr(xs, g)[0]) if vary else None,
            "spearman_rho_with_gain": _num(stats.spearmanr(xs, g)[0]) if vary else None,
            "n_below": int(below.sum()), "n_above": int(above.sum()),
            "negative_share_below": _num(np.mean(g[below] < 0)) if below.any() else None,
            "negative_share_above": _num(np.mean(g[above] < 0)) if above.any() else None,
            "mean_gain_below": _num(g[below].mean()) if below.any() else None,
            "mean_gain_above": _num(g[above].mean()) if above.any() else None,
        }
    return res


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def best_values(path_or_ds, axis, method=None):
    """Which value of a tuning axis (lambda, or an extra axis) gives the
    transfer method its highest accuracy, judged on configurations where
    every value of the axis is done (paired by common random numbers).
    Returns a DataFrame indexed by the axis value: mean accuracy over those
    configurations, the paired difference to the best value with its 95% CI
    over seeds (per seed, the difference averaged over the other axes), the
    number of configurations per value; sorted best first."""
    ds = load(path_or_ds)
    method = method or roles(ds)[1]
    acc = accuracy(ds, method)
    complete = np.isfinite(acc).all(axis)
    acc = acc.where(complete)
    rest = [a for a in acc.dims if a not in (axis, "seed")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = acc.mean([a for a in acc.dims if a != axis], skipna=True)
        order = np.argsort(-np.nan_to_num(mean.values, nan=-np.inf), kind="stable")
        best = acc.isel({axis: int(order[0])})
        rows = []
        for i in order:
            diff = acc.isel({axis: int(i)}) - best
            _, h, _ = _mean_ci(diff.mean(rest, skipna=True))  # seeds are the independent units
            rows.append({axis: _py(ds[axis].values[i]), "accuracy": float(mean.values[i]),
                         "diff_to_best": float(diff.mean(skipna=True)), "diff_to_best_ci95": float(h),
                         "configurations": int(complete.sum()) if complete.ndim else int(complete)})
    return pd.DataFrame(rows).set_index(axis)


# ---------------------------------------------------------------- choosing without target labels

def scores_in(ds, method=None):
    """The selection scores the file has values of for the transfer method (or
    method), in SCORES order: e.g. ["entropy", "snd", "mmd2", "pad", "oracle"]
    when nothing was held out (iwcv, dev and target_val are then all NaN)."""
    ds = load(ds)
    method = method or roles(ds)[1]
    out = []
    for name, (var, _, _) in SCORES.items():
        v = var.format(m=method)
        if v in ds and bool(np.isfinite(ds[v].values).any()):
            out.append(name)
    return out


def _select_one(ds, score, over, method, reference, ties):
    var, direction, _ = SCORES[score]
    acc = accuracy(ds, method)
    sc = ds[var.format(m=method)].where(np.isfinite(acc))
    others = [a for a in acc.dims if a != over]
    A = acc.transpose(*others, over).values.astype(float)
    S = sc.transpose(*others, over).values.astype(float) * direction
    ok = np.isfinite(S) & np.isfinite(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        best = np.nanmax(np.where(ok, S, np.nan), axis=-1, keepdims=True)
        tied = ok & (S == best)
        k = tied.sum(-1)
        picked = np.argmax(tied, -1)
        if ties == "first":
            picked_acc = np.where(k > 0, np.take_along_axis(A, picked[..., None], -1)[..., 0], np.nan)
        else:
            picked_acc = np.where(k > 0, np.nansum(np.where(tied, A, 0.0), -1) / np.maximum(k, 1), np.nan)
        oracle = np.nanmax(np.where(np.isfinite(A), A, np.nan), -1)
        oracle_at = np.argmax(np.where(np.isfinite(A), A, -np.inf), -1)
    vals = ds[over].values
    ref = np.full(A.shape[:-1], np.nan)
    if reference is not None:
        try:
            ref = A[..., _index(ds, over, reference)]
        except KeyError:
            pass
    has = k > 0
    idx = pd.MultiIndex.from_product([ds[a].values for a in others], names=others) if others else None
    df = pd.DataFrame({
        "picked": np.where(has, np.array([_py(v) for v in vals], dtype=object)[picked], None).ravel(),
        "n_tied": k.ravel(),
        "acc_picked": picked_acc.ravel(),
        "acc_oracle": oracle.ravel(),
        "oracle_value": np.where(np.isfinite(oracle), np.array([_py(v) for v in vals], dtype=object)[oracle_at],
                                 None).ravel(),
        "acc_reference": ref.ravel(),
        "n_candidates": ok.sum(-1).ravel(),
    }, index=idx)
    df["regret"] = df["acc_oracle"] - df["acc_picked"]
    df["gain_vs_reference"] = df["acc_picked"] - df["acc_reference"]
    return df


def select(path_or_ds, score=None, over="lambda", method=None, reference="default", ties="mean"):
    """What choosing the value of a grid axis (`over`: lambda, or an extra
    axis such as align_loss, mmd_gammas, finetune_strategy, train_lr) by a
    selection score would have given, per cell of the other axes and seed.

    score: a name of SCORES (entropy, snd, mmd2, pad, iwcv, dev, target_val,
    oracle), a list of them, or None for every score the file has values of.
    For each cell the score's best value along `over` (its direction: lower
    entropy, MMD², A-distance, IWCV and DEV; higher SND, target validation,
    accuracy) is picked among the values where both the score and the
    method's accuracy exist; ties share the pick (acc_picked is the mean
    accuracy of the tied values: a random choice among them; `picked` names
    the first), or with ties="first" the first tied value in grid order
    takes it (for lambda: the smallest, the most conservative). Columns: picked, n_tied, acc_picked, acc_oracle (the best
    accuracy along `over`), oracle_value, acc_reference (the accuracy at the
    reference value: lambda 0, align_loss none, or `reference`; NaN when the
    grid lacks it), n_candidates, regret = acc_oracle - acc_picked and
    gain_vs_reference = acc_picked - acc_reference. Rows with no candidate
    hold NaN. Indexed by the other axes and seed; with several scores, by
    score first. method: default the transfer method (mmd)."""
    ds = load(path_or_ds)
    method = method or roles(ds)[1]
    if over not in axes(ds):
        raise KeyError(f"{over!r} is not an axis of the grid; the axes are {axes(ds)}")
    if reference == "default":
        reference = REFERENCE.get(over)
    if ties not in ("mean", "first"):
        raise ValueError(f"ties={ties!r}; allowed: 'mean' or 'first'")
    names = scores_in(ds, method) if score is None else [score] if isinstance(score, str) else list(score)
    for n in names:
        if n not in SCORES:
            raise KeyError(f"unknown score {n!r}; allowed: {', '.join(SCORES)}")
    frames = {n: _select_one(ds, n, over, method, reference, ties) for n in names}
    if isinstance(score, str):
        return frames[score]
    return pd.concat(frames, names=["score"])


def summary_regret(path_or_ds, over="lambda", scores=None, method=None, reference="default", ties="mean"):
    """Per cell of the axes other than `over` and seed (e.g. shift x n_target
    for over="lambda"), for every selection score: the mean regret over seeds
    (regret_<score>, with _ci95: a 95% t interval over seeds of the per-seed
    regrets, each the difference of two accuracies of the same seed, i.e.
    paired), the mean gain of the pick over the reference value
    (gain_<score>_vs_ref, _ci95: paired per seed), and seeds_<score> (how
    many seeds; n_<score> still reads: analysis/tables.py). The
    pseudo-score "reference" is always picking the reference value (lambda
    0: no alignment), so regret_reference is what not adapting costs. A
    DataFrame indexed by the cell axes. (summary() keeps its cells over
    every axis but seed, lambda included; selecting lambda removes that
    axis, hence this separate table.)"""
    ds = load(path_or_ds)
    method = method or roles(ds)[1]
    sel = select(ds, scores if scores is not None else scores_in(ds, method), over=over, method=method,
                 reference=reference, ties=ties)
    if isinstance(sel.index, pd.MultiIndex) and "score" not in sel.index.names:
        sel = pd.concat({scores: sel}, names=["score"])
    cells = [a for a in axes(ds) if a not in (over, "seed")]
    cols = {}

    def stats(v):  # per cell over seeds: mean, 95% t half-width, count
        da = xr.DataArray.from_series(v)
        m, h, n = _mean_ci(da, "seed")
        return m.to_series(), h.to_series(), n.to_series()
    first = None
    for name, df in sel.groupby(level="score", sort=False):
        df = df.droplevel("score")
        if first is None:
            first = df
        for col, out in (("regret", f"regret_{name}"), ("gain_vs_reference", f"gain_{name}_vs_ref")):
            m, h, n = stats(df[col].astype(float))
            cols[out], cols[f"{out}_ci95"] = m, h
            if col == "regret":
                cols[f"n_{name}"] = n
    if first is not None:  # never adapting: the reference value itself
        m, h, n = stats((first["acc_oracle"] - first["acc_reference"]).astype(float))
        cols["regret_reference"], cols["regret_reference_ci95"], cols["n_reference"] = m, h, n
    out = pd.DataFrame(cols)
    if cells:  # the cells in grid order (strings as written, numbers ascending)
        out = out.reorder_levels(cells) if out.index.nlevels > 1 else out
        grid = (pd.MultiIndex.from_product([ds[a].values for a in cells], names=cells) if len(cells) > 1
                else pd.Index(ds[cells[0]].values, name=cells[0]))
        out = out.reindex(grid)
    for c in out:
        if c.startswith("n_"):
            out[c] = out[c].fillna(0).astype(np.int64)
    return table(out, summary_renames(out.columns))


def regret_overall(path_or_ds, over="lambda", scores=None, method=None, reference="default", ties="mean"):
    """Per score, pooled over every cell: the mean regret (each seed's mean
    over the cells, then a 95% t interval over seeds: the seeds are the
    independent units), the same for the gain over the reference value, the
    share of cells x seeds where the pick is below the reference, and the
    cell with the largest mean regret. JSON-ready dict by score name."""
    ds = load(path_or_ds)
    method = method or roles(ds)[1]
    names = scores if scores is not None else scores_in(ds, method)
    sel = select(ds, list(names), over=over, method=method, reference=reference, ties=ties)
    cells = [a for a in axes(ds) if a not in (over, "seed")]
    res = {}
    for name in list(names) + ["reference"]:
        df = sel.xs(names[0] if name == "reference" else name, level="score")
        if name == "reference":
            df = df.assign(regret=df["acc_oracle"] - df["acc_reference"], gain_vs_reference=0.0,
                           acc_picked=df["acc_reference"])
        out = {"score": name, "description": SCORES[name][2] if name in SCORES else "never adapt: always the reference value"}
        for col, key in (("regret", "regret"), ("gain_vs_reference", "gain")):
            per_seed = df[col].astype(float).groupby(level="seed").mean()
            m, h, n = _mean_ci(xr.DataArray(per_seed.values, dims="seed"), "seed")
            out[key], out[f"{key}_ci95"], out["n_seeds"] = _num(m), _num(h), int(n)
        ok = np.isfinite(df["acc_picked"]) & np.isfinite(df["acc_reference"])
        out["share_below_reference"] = _num(np.mean(df["acc_picked"][ok] < df["acc_reference"][ok])) if ok.any() else None
        out["n"] = int(np.isfinite(df["regret"].astype(float)).sum())
        by_cell = df["regret"].astype(float).groupby(level=cells).mean() if cells else None
        if by_cell is not None and by_cell.notna().any():
            worst = by_cell.idxmax()
            worst = worst if isinstance(worst, tuple) else (worst,)
            out["worst_cell"] = {a: _py(v) for a, v in zip(cells, worst)}
            out["worst_regret"] = _num(by_cell.max())
        res[name] = out
    return res


# ---------------------------------------------------------------- JSON

def jsonable(obj):
    """obj with NaN and infinities as None and numpy and pandas values as
    plain Python, so that json.dumps(..., allow_nan=False) accepts it."""
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.reset_index().to_dict(orient="records") if not isinstance(obj.index, pd.RangeIndex)
                        else obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(_py(k)): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if obj is pd.NA or obj is pd.NaT:
        return None
    obj = _py(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kw):
    """JSON text of obj with no NaN or Infinity literals (they become null)."""
    return json.dumps(jsonable(obj), allow_nan=False, **kw)
