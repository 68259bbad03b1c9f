"""Analysis of tlsweep results files.

    from analysis import load, load_embeddings, to_frame, summary, rules_of_thumb
    ds = load("results.h5")            # xarray.Dataset: the grid cube (shift, lambda, n_target, seed, extra axes)
    summary("results.h5")              # per cell: means, 95% CIs, paired gains, negative-transfer share
    crossover("results.h5")            # where transfer stops helping, per n_target, with a bootstrap interval

Every function takes a path (str or os.PathLike) or an already loaded dataset.
Command line: python3 -m analysis.report results.h5 -o report/ (installed: tlsweep-report)
"""
from .results import (DONE, FAILED, PENDING, approaches, axes, axis_key, best_values, cell_axes, counts, crossover,
                      dumps, extra_axes, jsonable, load, load_embeddings, roles, rules_of_thumb, summary,
                      summary_cube, to_frame)

__all__ = ["load", "load_embeddings", "to_frame", "summary", "summary_cube", "rules_of_thumb", "crossover",
           "best_values", "approaches", "roles", "axes", "cell_axes", "extra_axes", "axis_key", "counts", "jsonable",
           "dumps", "PENDING", "DONE", "FAILED"]
