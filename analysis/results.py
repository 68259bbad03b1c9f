"""Loading a results file and summarising it. The file is designed for
xarray (docs/FORMAT.md), so loading is little more than open_dataset."""
import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

METHODS = ("scratch", "direct", "mmd")
CELL = ("shift", "lambda", "n_target")


def load(path):
    """The results cube as an xarray.Dataset with dims shift, lambda, n_target, seed."""
    return xr.open_dataset(path, engine="h5netcdf")


def _index(ds, dim, value):
    vals = ds[dim].values
    hits = np.flatnonzero(np.isclose(vals.astype(float), float(value)))
    if hits.size == 0:
        raise KeyError(f"{dim}={value} is not in the grid; allowed: {list(vals)}")
    return int(hits[0])


def load_embeddings(path, shift, lambda_, n_target, seed):
    """Embeddings and inputs of one configuration as an xarray.Dataset:
    source_features (source_point, feature), target_features (test_point,
    feature), source_x / target_x (point, input_dim), source_y / target_y."""
    root = load(path)
    idx = dict(shift=_index(root, "shift", shift), n_target=_index(root, "n_target", n_target),
               seed=_index(root, "seed", seed))
    idx["lambda"] = _index(root, "lambda", lambda_)
    emb = xr.open_dataset(path, engine="h5netcdf", group="embeddings")
    one = emb.isel(idx).load()
    one.attrs.update(shift=float(shift), lambda_=float(lambda_), n_target=int(n_target), seed=int(seed),
                     status=int(root["status"].isel(idx)))
    return one


def to_frame(path_or_ds):
    """A tidy pandas.DataFrame: one row per configuration and method, with
    the configuration's distances and status."""
    ds = load(path_or_ds) if isinstance(path_or_ds, str) else path_or_ds
    scalars = [v for v in ("mmd2_input", "mmd2_feat_before", "mmd2_feat_after", "pad_input", "pad_feat",
                           "status", "negative_transfer") if v in ds]
    base = ds[scalars].to_dataframe().reset_index()
    rows = []
    for m in METHODS:
        f = base.copy()
        f.insert(4, "method", m)
        f.insert(5, "accuracy", ds[f"acc_{m}"].to_dataframe().reset_index()[f"acc_{m}"].values)
        rows.append(f)
    return pd.concat(rows, ignore_index=True)


def _ci(x, axis):
    """Mean and half-width of the 95% t confidence interval along axis, NaN-aware."""
    n = np.sum(np.isfinite(x), axis=axis)
    mean = np.nanmean(x, axis=axis)
    sd = np.nanstd(x, axis=axis, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return mean, np.where(n > 1, half, np.nan), n


def summary(ds):
    """Per (shift, lambda, n_target) cell, over seeds (done configurations only):
    mean accuracy of each method with a 95% CI; the paired gain of MMD
    transfer over scratch and over direct (per-seed differences, using the
    pairing common random numbers give) with a 95% CI; the fraction of seeds
    with negative transfer (acc_mmd < acc_scratch)."""
    done = ds["status"] == 1
    out = {}
    seed_axis = list(ds["acc_mmd"].dims).index("seed")
    for m in METHODS:
        acc = ds[f"acc_{m}"].where(done).values
        out[f"acc_{m}"], out[f"acc_{m}_ci95"], n = _ci(acc, seed_axis)
    out["n_seeds"] = n
    for other in ("scratch", "direct"):
        diff = (ds["acc_mmd"] - ds[f"acc_{other}"]).where(done).values
        out[f"gain_vs_{other}"], out[f"gain_vs_{other}_ci95"], _ = _ci(diff, seed_axis)
    neg = (ds["acc_mmd"] < ds["acc_scratch"]).where(done).values
    with np.errstate(invalid="ignore"):
        out["negative_transfer_share"] = np.nansum(neg, axis=seed_axis) / n
    coords = pd.MultiIndex.from_product([ds[c].values for c in CELL], names=list(CELL))
    return pd.DataFrame({k: np.asarray(v).ravel() for k, v in out.items()}, index=coords)


def rules_of_thumb(ds):
    """Tests the article's rules of thumb on the sweep's own data, per
    configuration: "MMD < 0.1 typically indicates transferability" and
    "A-distance too large (> 0.5)" signals negative transfer. Returns a dict:
    the correlation of each distance with the gain of MMD transfer over
    scratch, and the share of negative transfer on each side of the
    thresholds."""
    done = (ds["status"] == 1).values.ravel()
    gain = (ds["acc_mmd"] - ds["acc_scratch"]).values.ravel()[done]
    neg = gain < 0
    res = {"configurations": int(done.sum())}
    for name, thr in (("mmd2_input", 0.1), ("mmd2_feat_after", 0.1), ("pad_input", 0.5), ("pad_feat", 0.5)):
        x = ds[name].values.ravel()[done]
        ok = np.isfinite(x) & np.isfinite(gain)
        r = stats.pearsonr(x[ok], gain[ok])[0] if ok.sum() > 2 and np.ptp(x[ok]) > 0 and np.ptp(gain[ok]) > 0 else np.nan
        rho = stats.spearmanr(x[ok], gain[ok])[0] if ok.sum() > 2 and np.ptp(x[ok]) > 0 and np.ptp(gain[ok]) > 0 else np.nan
        below, above = ok & (x < thr), ok & (x >= thr)
        res[name] = {
            "threshold": thr, "pearson_r_with_gain": float(r), "spearman_rho_with_gain": float(rho),
            "n_below": int(below.sum()), "n_above": int(above.sum()),
            "negative_share_below": float(neg[below].mean()) if below.any() else float("nan"),
            "negative_share_above": float(neg[above].mean()) if above.any() else float("nan"),
            "mean_gain_below": float(gain[below].mean()) if below.any() else float("nan"),
            "mean_gain_above": float(gain[above].mean()) if above.any() else float("nan"),
        }
    return res
