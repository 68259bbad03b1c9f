"""Analysis of tlsweep results files.

    from analysis import load, load_embeddings, to_frame, summary, rules_of_thumb
    ds = load("results.h5")            # xarray.Dataset: the (shift, lambda, n_target, seed) cube
    summary(ds)                         # per cell: means, 95% CIs, paired gains, negative-transfer share

Command line: python3 -m analysis.report results.h5 -o report/
"""
from .results import METHODS, load, load_embeddings, rules_of_thumb, summary, to_frame

__all__ = ["METHODS", "load", "load_embeddings", "to_frame", "summary", "rules_of_thumb"]
