"""Analysis of tlsweep results files.

    from analysis import load, load_embeddings, to_frame, summary, rules_of_thumb
    ds = load("results.h5")            # xarray.Dataset: the grid cube (shift, lambda, n_target, seed, extra axes)
    summary("results.h5")              # per cell: means, 95% CIs, paired gains, negative-transfer share
    decide("results.h5", "mmd", "target_mlp")  # per cell: helps / hurts / equivalent / undecided, the
                                       # confidence sequence of the file's rule and the seeds it used
    boundaries(decisions("results.h5"), "shift")  # per line along the shift: where the decided sign changes
    select("results.h5", "entropy")    # per cell and seed: the lambda a label-free score picks, its regret
    summary_regret("results.h5")       # per cell: every score's mean regret over seeds, paired 95% CIs
    concat(["a.h5", "b.h5"])           # sweeps that differ in configuration as one cube: an axis for the file
    compare("a.h5", "b.h5")            # per cell and method: b - a, paired where the seeds match
    predictors("results.h5")           # per score and slice: how well it foresees negative transfer (AUROC, CI)

Every function takes a path (str or os.PathLike) or an already loaded dataset.
Command line: python3 -m analysis.report results.h5 -o report/ (installed: tlsweep-report)
"""
from ._needs import check as _check

_check()  # one line naming what this Python lacks, rather than a ModuleNotFoundError from inside pandas
from .combine import Files, compare, concat  # noqa: E402
from .decide import boundaries, decide, decisions  # noqa: E402
from .results import (DONE, FAILED, PENDING, SCORES, alignment, approaches, axes, axis_key,  # noqa: E402
                      best_values, cell_axes, counts, dumps, extra_axes, jsonable, load, load_embeddings,
                      regret_overall, roles, rules_of_thumb, scores_in, select, shift_kind, summary, summary_cube,
                      summary_regret, to_frame)

__all__ = ["load", "load_embeddings", "to_frame", "summary", "summary_cube", "rules_of_thumb", "decide", "decisions",
           "boundaries", "best_values", "select", "summary_regret", "regret_overall", "scores_in",
           "SCORES", "approaches", "roles", "axes", "cell_axes", "extra_axes", "axis_key", "counts", "jsonable",
           "dumps", "alignment", "shift_kind", "concat", "compare", "Files", "PENDING", "DONE", "FAILED"]
from .predictors import predictors  # noqa: E402  (which transferability score foresees negative transfer)

__all__ += ["predictors"]
